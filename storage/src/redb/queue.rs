//! The writers' queue in front of the committer, bounded in bytes: under overload writers wait
//! for room instead of piling their requests up in memory. Room is taken before a request is
//! queued and given back when the committer takes it off the queue (a batch in progress is
//! bounded by the committer's batch limits).

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use tokio::sync::oneshot;

use crate::error::Result;
use crate::types::{Revision, Txn, TxnOp, TxnOutcome};

/// What writers ask of the committer.
pub(crate) enum Request {
    Txn(Txn, oneshot::Sender<Result<TxnOutcome>>),
    Compact(Revision, oneshot::Sender<Result<()>>),
    /// Answered once everything committed is in redb and compacted history is swept.
    Checkpoint(oneshot::Sender<Result<()>>),
}

/// What a queued request costs besides its keys and values (its structures, its reply
/// channel), so that many empty requests also fill the queue.
const REQUEST_OVERHEAD: usize = 256;

type Item = (Request, OwnedSemaphorePermit);

pub(crate) struct Queue {
    requests: mpsc::Sender<Item>,
    room: Arc<Semaphore>,
    capacity: usize,
}

pub(crate) struct Inbox {
    requests: mpsc::Receiver<Item>,
    room: Arc<Semaphore>,
}

/// The queue is gone: the committer has stopped.
#[derive(Debug)]
pub(crate) struct Closed;

/// A queue of at most `capacity` bytes of requests.
pub(crate) fn bounded(capacity: usize) -> (Queue, Inbox) {
    let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let room = Arc::new(Semaphore::new(capacity));
    let (tx, rx) = mpsc::channel();
    let queue = Queue {
        requests: tx,
        room: room.clone(),
        capacity,
    };
    (queue, Inbox { requests: rx, room })
}

/// The keys and values a request carries.
pub(crate) fn request_bytes(request: &Request) -> usize {
    match request {
        Request::Txn(txn, _) => txn
            .ops
            .iter()
            .map(|op| match op {
                TxnOp::Put { key, value } => key.len() + value.len(),
                TxnOp::Delete { key } => key.len(),
            })
            .sum(),
        Request::Compact(..) | Request::Checkpoint(_) => 0,
    }
}

fn cost(request: &Request) -> usize {
    request_bytes(request) + REQUEST_OVERHEAD
}

impl Queue {
    /// Queues `request` once there is room for it (a request larger than the whole queue
    /// waits for an empty queue).
    pub(crate) async fn push(&self, request: Request) -> Result<(), Closed> {
        let cost = cost(&request).min(self.capacity);
        let permits = u32::try_from(cost).unwrap_or(u32::MAX);
        let room = self
            .room
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| Closed)?;
        self.requests.send((request, room)).map_err(|_| Closed)
    }

    /// Bytes queued now (including room taken by requests about to be queued).
    #[cfg(test)]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.capacity - self.room.available_permits()
    }
}

impl Inbox {
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Result<Request, RecvTimeoutError> {
        self.requests
            .recv_timeout(timeout)
            .map(|(request, _)| request)
    }

    pub(crate) fn try_recv(&self) -> Result<Request, TryRecvError> {
        self.requests.try_recv().map(|(request, _)| request)
    }
}

impl Drop for Inbox {
    /// Writers waiting for room learn that the committer is gone.
    fn drop(&mut self) {
        self.room.close();
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::sync::oneshot;

    use super::*;
    use crate::types::Txn;

    fn put(bytes: usize) -> Request {
        let txn = Txn {
            compares: vec![],
            ops: vec![TxnOp::Put {
                key: "/k".into(),
                value: Bytes::from(vec![0; bytes]),
            }],
        };
        Request::Txn(txn, oneshot::channel().0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_writers_waits_for_room() {
        let request = cost(&put(1000));
        let (queue, inbox) = bounded(10 * request);
        let queue = Arc::new(queue);
        let writers: Vec<_> = (0..100)
            .map(|_| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.push(put(1000)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(queue.queued_bytes(), 10 * request, "full, not past full");
        assert_eq!(writers.iter().filter(|w| w.is_finished()).count(), 10);
        // Each request taken makes room for one more.
        for _ in 0..100 {
            inbox.recv_timeout(Duration::from_secs(5)).unwrap();
            assert!(queue.queued_bytes() <= 10 * request);
        }
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn a_request_larger_than_the_queue_waits_for_an_empty_queue() {
        let (queue, inbox) = bounded(cost(&put(100)));
        queue.push(put(100)).await.unwrap();
        let queue = Arc::new(queue);
        let big = tokio::spawn({
            let queue = queue.clone();
            async move { queue.push(put(5000)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!big.is_finished());
        inbox.try_recv().unwrap();
        big.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn waiting_writers_fail_when_the_committer_is_gone() {
        let (queue, inbox) = bounded(cost(&put(100)));
        queue.push(put(100)).await.unwrap();
        let queue = Arc::new(queue);
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.push(put(100)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(inbox);
        assert!(waiting.await.unwrap().is_err());
    }
}
