//! Watch fan-out: many watchers of one namespace, each event's delivery timed from its send.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::run::{Run, configmap, configmaps};
use crate::client::Error;
use crate::process::Sampler;
use crate::stats::Latencies;

impl Run {
    /// Watch delivery p99 in ms and the number of lost events.
    pub async fn watch(
        &self,
        watchers: usize,
        events: usize,
        rate: u32,
    ) -> Result<(f64, usize), Error> {
        let namespace = self.namespace("watch").await?;
        let path = configmaps(&namespace);
        let mut writer = self.target.connect().await?;
        let (status, body) = writer.request(Method::GET, &path, None).await?;
        if status != StatusCode::OK {
            return Err(format!("list: {status}"));
        }
        let list: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let rv = list["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();

        // Send times, by object index, shared with the readers on this one thread.
        let sent: Rc<RefCell<Vec<Option<Instant>>>> = Rc::new(RefCell::new(vec![None; events]));
        let received = Rc::new(RefCell::new(Latencies::default()));
        let open_started = Instant::now();
        let local = tokio::task::LocalSet::new();
        let mut bodies = Vec::with_capacity(watchers);
        for _ in 0..watchers {
            let mut conn = self.target.connect().await?;
            let watch = format!(
                "{path}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=3600"
            );
            bodies.push((conn.stream(&watch).await?, conn));
        }
        let opened = open_started.elapsed();
        let seen = Rc::new(RefCell::new(vec![0usize; watchers]));
        for (w, (mut body, conn)) in bodies.into_iter().enumerate() {
            let (sent, received, seen) = (sent.clone(), received.clone(), seen.clone());
            local.spawn_local(async move {
                let _conn = conn;
                let finder = memchr::memmem::Finder::new(b"\"name\":\"w-");
                let mut buf: Vec<u8> = Vec::new();
                while let Some(Ok(frame)) = body.frame().await {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    buf.extend_from_slice(&data);
                    while let Some(end) = memchr::memchr(b'\n', &buf) {
                        let line: Vec<u8> = buf.drain(..=end).collect();
                        if !line.starts_with(b"{\"type\":\"ADDED\"") {
                            continue;
                        }
                        let Some(at) = finder.find(&line) else {
                            continue;
                        };
                        let digits = &line[at + 10..];
                        let n = digits
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                        if let Some(Some(t)) = sent.borrow().get(n) {
                            received.borrow_mut().record(t.elapsed());
                            seen.borrow_mut()[w] += 1;
                        }
                    }
                }
            });
        }
        let sampler = Sampler::start(self.server_pid);
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let expected = watchers * events;
        let mut posts = Latencies::default();
        local
            .run_until(async {
                let mut tick = tokio::time::interval(interval);
                for i in 0..events {
                    tick.tick().await;
                    let body = configmap(&namespace, &format!("w-{i}"), "");
                    let t = Instant::now();
                    sent.borrow_mut()[i] = Some(t);
                    let (status, _) = writer.request(Method::POST, &path, Some(body)).await?;
                    posts.record(t.elapsed());
                    if status != StatusCode::CREATED {
                        return Err(format!("watch writer: {status}"));
                    }
                }
                // Let the last deliveries arrive.
                let deadline = Instant::now() + Duration::from_secs(10);
                while received.borrow().len() < expected && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok::<_, Error>(())
            })
            .await?;
        let report = sampler.finish();
        let mut lat = received.replace(Latencies::default());
        let got = lat.len();
        let lost = expected.saturating_sub(got);
        let p99 = lat.percentile_ms(99.0);
        println!(
            "watch   W={watchers} E={events} R={rate}/s: opened in {:.2}s, received {got}/{expected} (lost {lost}), delivery from send ms p50/p90/p99/max {}, POST ms {}; {report}",
            opened.as_secs_f64(),
            lat.summary(),
            posts.summary()
        );
        Ok((p99, lost))
    }
}
