//! Controllers run as tasks of their own: they work in parallel on the runtime's threads, and
//! a change wakes only the controller it concerns (one future joining every controller would
//! run them all on one thread and poll each of them at every wake of any). Dropped, the set
//! stops them all (a manager that lost its lease); a panic in one is raised by `join`, as
//! if it had run inline.

use std::future::Future;

use tokio::task::JoinSet;

#[derive(Default)]
pub struct Tasks(JoinSet<()>);

impl Tasks {
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) -> &mut Self {
        self.0.spawn(task);
        self
    }

    /// Waits until every task has ended.
    pub async fn join(mut self) {
        while let Some(ended) = self.0.join_next().await {
            if let Err(error) = ended
                && error.is_panic()
            {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// The tasks run apart, and dropping the set stops those still running.
    #[tokio::test]
    async fn tasks_run_apart_and_stop_with_the_set() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stopped = Arc::new(AtomicBool::new(true));
        let running = Arc::clone(&stopped);
        let mut tasks = Tasks::default();
        tasks.spawn(async move {
            running.store(false, Ordering::SeqCst);
            let _ = tx.send(());
            std::future::pending::<()>().await;
        });
        rx.await.unwrap();
        assert!(!stopped.load(Ordering::SeqCst));
        let joined = tokio::time::timeout(Duration::from_millis(50), tasks.join()).await;
        assert!(joined.is_err(), "a task that never ends was joined");
    }

    #[tokio::test]
    #[should_panic(expected = "controller bug")]
    async fn a_panic_is_raised_by_join() {
        let mut tasks = Tasks::default();
        tasks.spawn(async { panic!("controller bug") });
        tasks.join().await;
    }
}
