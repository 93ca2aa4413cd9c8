//! The workloads: each prepares its own fresh namespace, runs, and prints one report line.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::client::{Conn, Error, Target};
use crate::process::Sampler;
use crate::stats::Latencies;

pub struct Run {
    pub target: Arc<Target>,
    pub server_pid: Option<u32>,
}

/// What a throughput workload measured.
pub struct Throughput {
    pub ok_per_second: f64,
}

/// A 1 KiB ConfigMap, as the reference measurements use; `extra` is appended to its
/// metadata (e.g. `,"ownerReferences":[...]`).
fn configmap(namespace: &str, name: &str, extra: &str) -> Bytes {
    let payload = "x".repeat(1024);
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"{namespace}"{extra}}},"data":{{"payload":"{payload}"}}}}"#
    ))
}

fn configmaps(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/configmaps")
}

/// Counts of response statuses, printed as `200×N 409×M`.
#[derive(Default)]
struct Statuses(BTreeMap<u16, usize>);

impl Statuses {
    fn add(&mut self, status: StatusCode) {
        *self.0.entry(status.as_u16()).or_default() += 1;
    }
    fn merge(&mut self, other: Statuses) {
        for (code, n) in other.0 {
            *self.0.entry(code).or_default() += n;
        }
    }
    fn ok(&self) -> usize {
        self.0
            .iter()
            .filter(|(c, _)| (200..300).contains(*c))
            .map(|(_, n)| n)
            .sum()
    }
}

impl std::fmt::Display for Statuses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(c, n)| format!("{c}x{n}")).collect();
        f.write_str(&parts.join(" "))
    }
}

/// The latencies and statuses of every client task, merged.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<Result<(Latencies, Statuses), Error>>>,
) -> Result<(Latencies, Statuses), Error> {
    let (mut lat, mut statuses) = (Latencies::default(), Statuses::default());
    for task in tasks {
        let (l, s) = task.await.map_err(|e| e.to_string())??;
        lat.extend(l);
        statuses.merge(s);
    }
    Ok((lat, statuses))
}

/// One client connection's state while it runs operations.
struct Worker {
    conn: Conn,
    rng: XorShift,
    lat: Latencies,
    statuses: Statuses,
}

/// Runs operations `0..count` over `conns`, each client taking the next index and calling
/// `op` with its worker (handed back when done); merges what the workers measured. `seed`
/// gives each worker its own sequence of picks.
async fn drive<F, Fut>(
    conns: Vec<Conn>,
    count: usize,
    seed: u64,
    op: F,
) -> Result<(Latencies, Statuses), Error>
where
    F: Fn(Worker, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Worker, Error>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (n, conn) in conns.into_iter().enumerate() {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut worker = Worker {
                conn,
                rng: XorShift(seed ^ (n as u64 + 1)),
                lat: Latencies::default(),
                statuses: Statuses::default(),
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                worker = op(worker, i).await?;
            }
            Ok::<_, Error>((worker.lat, worker.statuses))
        }));
    }
    gather(tasks).await
}

/// A small deterministic generator for picking objects.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

impl Run {
    /// A fresh namespace for one workload.
    async fn namespace(&self, purpose: &str) -> Result<String, Error> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let name = format!("load-{purpose}-{stamp}");
        let mut conn = self.target.connect().await?;
        let body =
            format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#);
        let (status, body) = conn
            .request(Method::POST, "/api/v1/namespaces", Some(Bytes::from(body)))
            .await?;
        if !status.is_success() {
            return Err(format!(
                "creating namespace {name}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(name)
    }

    /// `clients` connections, opened before timing starts.
    async fn connections(&self, clients: usize) -> Result<Vec<Conn>, Error> {
        let mut conns = Vec::with_capacity(clients);
        for _ in 0..clients {
            conns.push(self.target.connect().await?);
        }
        Ok(conns)
    }

    /// Creates `count` ConfigMaps named `<prefix>-<i>` with `clients` connections.
    async fn create_in(
        &self,
        namespace: &str,
        prefix: &str,
        count: usize,
        clients: usize,
    ) -> Result<(Latencies, Statuses, Duration), Error> {
        self.create_with(namespace, prefix, count, clients, "")
            .await
    }

    /// `create_in` with `extra` in each object's metadata.
    async fn create_with(
        &self,
        namespace: &str,
        prefix: &str,
        count: usize,
        clients: usize,
        extra: &str,
    ) -> Result<(Latencies, Statuses, Duration), Error> {
        let conns = self.connections(clients).await?;
        let started = Instant::now();
        let (namespace, prefix, extra): (Arc<str>, Arc<str>, Arc<str>) =
            (namespace.into(), prefix.into(), extra.into());
        let (lat, statuses) = drive(conns, count, 1, move |mut w, i| {
            let (namespace, prefix, extra) = (namespace.clone(), prefix.clone(), extra.clone());
            async move {
                let body = configmap(&namespace, &format!("{prefix}-{i}"), &extra);
                let t = Instant::now();
                let path = configmaps(&namespace);
                let (status, _) = w.conn.request(Method::POST, &path, Some(body)).await?;
                w.lat.record(t.elapsed());
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        Ok((lat, statuses, started.elapsed()))
    }

    pub async fn create(&self, count: usize, clients: usize) -> Result<Throughput, Error> {
        let namespace = self.namespace("create").await?;
        let sampler = Sampler::start(self.server_pid);
        let (mut lat, statuses, elapsed) = self.create_in(&namespace, "c", count, clients).await?;
        let rate = statuses.ok() as f64 / elapsed.as_secs_f64();
        println!(
            "create  N={count} C={clients}: {rate:.0}/s, latency ms p50/p90/p99/max {}, {statuses}; {}",
            lat.summary(),
            sampler.finish()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }

    pub async fn get(
        &self,
        objects: usize,
        count: usize,
        clients: usize,
    ) -> Result<Throughput, Error> {
        let namespace = self.namespace("get").await?;
        self.create_in(&namespace, "g", objects, 32).await?;
        let conns = self.connections(clients).await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let namespace: Arc<str> = namespace.into();
        let (mut lat, statuses) = drive(conns, count, 0x9E37_79B9_7F4A_7C15, move |mut w, _| {
            let namespace = namespace.clone();
            async move {
                let path = format!("{}/g-{}", configmaps(&namespace), w.rng.below(objects));
                let t = Instant::now();
                let (status, _) = w.conn.request(Method::GET, &path, None).await?;
                w.lat.record(t.elapsed());
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        let rate = statuses.ok() as f64 / started.elapsed().as_secs_f64();
        println!(
            "get     K={objects} N={count} C={clients}: {rate:.0}/s, latency ms p50/p90/p99/max {}, {statuses}; {}",
            lat.summary(),
            sampler.finish()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }

    pub async fn update(
        &self,
        objects: usize,
        count: usize,
        clients: usize,
    ) -> Result<Throughput, Error> {
        let namespace = self.namespace("update").await?;
        self.create_in(&namespace, "u", objects, 32).await?;
        let conns = self.connections(clients).await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let namespace: Arc<str> = namespace.into();
        // Each round reads an object and puts it back relabelled; the PUT is what is timed.
        let (mut lat, statuses) = drive(conns, count, 0xD1B5_4A32_D192_ED03, move |mut w, i| {
            let namespace = namespace.clone();
            async move {
                let path = format!("{}/u-{}", configmaps(&namespace), w.rng.below(objects));
                let (status, body) = w.conn.request(Method::GET, &path, None).await?;
                if status != StatusCode::OK {
                    w.statuses.add(status);
                    return Ok(w);
                }
                let mut obj: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                obj["metadata"]["labels"] = serde_json::json!({"round": i.to_string()});
                let body = Bytes::from(obj.to_string());
                let t = Instant::now();
                let (status, _) = w.conn.request(Method::PUT, &path, Some(body)).await?;
                w.lat.record(t.elapsed());
                w.statuses.add(status);
                Ok(w)
            }
        })
        .await?;
        let rate =
            statuses.0.get(&200).copied().unwrap_or(0) as f64 / started.elapsed().as_secs_f64();
        println!(
            "update  K={objects} N={count} C={clients}: {rate:.0} PUT/s, PUT latency ms p50/p90/p99/max {}, {statuses}; {}",
            lat.summary(),
            sampler.finish()
        );
        Ok(Throughput {
            ok_per_second: rate,
        })
    }

    /// Full LIST p50 in ms.
    pub async fn list(&self, objects: usize, repeat: usize) -> Result<f64, Error> {
        let namespace = self.namespace("list").await?;
        self.create_in(&namespace, "l", objects, 32).await?;
        let mut conn = self.target.connect().await?;
        let path = configmaps(&namespace);
        let sampler = Sampler::start(self.server_pid);
        let (mut full, mut bytes) = (Latencies::default(), 0);
        for _ in 0..repeat {
            let t = Instant::now();
            let (status, body) = conn.request(Method::GET, &path, None).await?;
            full.record(t.elapsed());
            if status != StatusCode::OK {
                return Err(format!("list: {status}"));
            }
            bytes = body.len();
        }
        let full_report = sampler.finish();
        let mut paged = Latencies::default();
        let mut pages = 0;
        for _ in 0..repeat {
            let (t, mut token, mut count) = (Instant::now(), String::new(), 0);
            pages = 0;
            loop {
                let page_path = match token.is_empty() {
                    true => format!("{path}?limit=500"),
                    false => format!("{path}?limit=500&continue={token}"),
                };
                let (status, body) = conn.request(Method::GET, &page_path, None).await?;
                if status != StatusCode::OK {
                    return Err(format!("list page: {status}"));
                }
                let page: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                count += page["items"].as_array().map_or(0, Vec::len);
                pages += 1;
                token = page["metadata"]["continue"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if token.is_empty() {
                    break;
                }
            }
            paged.record(t.elapsed());
            if count != objects {
                return Err(format!("paginated list saw {count} of {objects} objects"));
            }
        }
        let p50 = full.percentile_ms(50.0);
        println!(
            "list    K={objects} x{repeat}: full LIST ms p50/p90/p99/max {} ({:.2} MB); {pages} pages of 500, traversal ms {}; {full_report}",
            full.summary(),
            bytes as f64 / 1e6,
            paged.summary()
        );
        Ok(p50)
    }

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

    /// Polls `path` every 50 ms until `done` says so; the time it took from `started`.
    async fn until(
        &self,
        path: &str,
        started: Instant,
        done: impl Fn(StatusCode, &[u8]) -> bool,
    ) -> Result<Duration, Error> {
        let mut conn = self.target.connect().await?;
        loop {
            let (status, body) = conn.request(Method::GET, path, None).await?;
            if done(status, &body) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(format!("{path}: not done after 10 minutes"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Seconds for the garbage collector to delete `dependents` ConfigMaps of one owner
    /// deleted in the background.
    pub async fn gc(&self, dependents: usize) -> Result<f64, Error> {
        let namespace = self.namespace("gc").await?;
        let path = configmaps(&namespace);
        let mut conn = self.target.connect().await?;
        let (status, body) = conn
            .request(
                Method::POST,
                &path,
                Some(configmap(&namespace, "owner", "")),
            )
            .await?;
        let owner: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let uid = owner["metadata"]["uid"].as_str().unwrap_or_default();
        if !status.is_success() || uid.is_empty() {
            return Err(format!("creating the owner: {status}"));
        }
        let extra = format!(
            r#","ownerReferences":[{{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":"{uid}"}}]"#
        );
        self.create_with(&namespace, "d", dependents, 32, &extra)
            .await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let (status, _) = conn
            .request(
                Method::DELETE,
                &format!("{path}/owner"),
                Some(Bytes::from(r#"{"propagationPolicy":"Background"}"#)),
            )
            .await?;
        if !status.is_success() {
            return Err(format!("deleting the owner: {status}"));
        }
        let took = self
            .until(&format!("{path}?limit=1"), started, |status, body| {
                status == StatusCode::OK
                    && serde_json::from_slice::<Value>(body)
                        .is_ok_and(|l| l["items"].as_array().is_some_and(Vec::is_empty))
            })
            .await?;
        println!(
            "gc      N={dependents}: dependents of a deleted owner collected in {:.1} s ({:.0}/s); {}",
            took.as_secs_f64(),
            dependents as f64 / took.as_secs_f64(),
            sampler.finish()
        );
        Ok(took.as_secs_f64())
    }

    /// Seconds to delete a namespace holding `objects` ConfigMaps, until it is gone.
    pub async fn namespace_deletion(&self, objects: usize) -> Result<f64, Error> {
        let namespace = self.namespace("nsdel").await?;
        self.create_in(&namespace, "n", objects, 32).await?;
        let mut conn = self.target.connect().await?;
        let sampler = Sampler::start(self.server_pid);
        let started = Instant::now();
        let path = format!("/api/v1/namespaces/{namespace}");
        let (status, _) = conn.request(Method::DELETE, &path, None).await?;
        if !status.is_success() {
            return Err(format!("deleting the namespace: {status}"));
        }
        let took = self
            .until(&path, started, |status, _| status == StatusCode::NOT_FOUND)
            .await?;
        println!(
            "nsdel   N={objects}: namespace deleted with its content in {:.1} s ({:.0} objects/s); {}",
            took.as_secs_f64(),
            objects as f64 / took.as_secs_f64(),
            sampler.finish()
        );
        Ok(took.as_secs_f64())
    }

    /// The suite of the performance targets, then a summary against them.
    pub async fn all(&self) -> Result<(), Error> {
        if let Some(pid) = self.server_pid {
            println!(
                "server idle RSS {:.1} MiB",
                crate::process::rss_mib(pid).unwrap_or(0.0)
            );
        }
        let create = self.create(20_000, 64).await?;
        let get = self.get(1000, 50_000, 32).await?;
        let update = self.update(1000, 20_000, 16).await?;
        let list_1k = self.list(1000, 20).await?;
        let list_10k = self.list(10_000, 10).await?;
        let (watch_100, lost_100) = self.watch(100, 500, 50).await?;
        let (watch_1k, lost_1k) = self.watch(1000, 500, 50).await?;
        let gc = self.gc(10_000).await?;
        let nsdel = self.namespace_deletion(10_000).await?;
        println!();
        println!("| workload | measured | target | kube-apiserver reference |");
        println!("|---|---|---|---|");
        println!(
            "| create, 64 clients | {:.0}/s | >= 10,000/s | ~1,300/s |",
            create.ok_per_second
        );
        println!(
            "| get by name, 32 clients | {:.0}/s | >= 15,000/s | 2,292/s |",
            get.ok_per_second
        );
        println!(
            "| get + PUT, 16 clients | {:.0} PUT/s | >= 5,000 PUT/s | 629 PUT/s |",
            update.ok_per_second
        );
        println!("| list 1,000 p50 | {list_1k:.1} ms | <= 8 ms | 25.7 ms |");
        println!("| list 10,000 p50 | {list_10k:.1} ms | <= 60 ms | 182 ms |");
        println!(
            "| watch 100 x 50/s p99 | {watch_100:.1} ms, lost {lost_100} | - | 6.9 ms, 0 lost |"
        );
        println!(
            "| watch 1,000 x 50/s p99 | {watch_1k:.1} ms, lost {lost_1k} | <= 20 ms, 0 lost | 101-246 ms, 0 lost |"
        );
        println!("| garbage-collect 10,000 dependents | {gc:.1} s | <= 30 s | - |");
        println!("| delete a namespace of 10,000 objects | {nsdel:.1} s | <= 30 s | - |");
        Ok(())
    }
}
