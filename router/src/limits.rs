//! `rate-limit-connections` as HAProxy's stick table of a route: per source address, the
//! connections it has open on the route (`conn_cur`), the connections it began on it in the
//! last 3 s (`conn_rate(3s)`) and its requests in the last 10 s (`http_req_rate(10s)`). A
//! connection or request is counted first and then compared (`ge`), as `track-sc2` then
//! `reject if { … ge N }` do; entries idle for 30 s are forgotten (`expire 30s`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::annotations::RateLimits;

const EXPIRE: Duration = Duration::from_secs(30);
const CONN_PERIOD: Duration = Duration::from_secs(3);
const HTTP_PERIOD: Duration = Duration::from_secs(10);
/// Entries kept at most (HAProxy's `size 100k`); past it, idle ones are swept.
const SIZE: usize = 100_000;

/// Events per period, as HAProxy's frequency counters: this period's count plus the last
/// period's, weighted by how much of it still lies within one period from now.
#[derive(Clone, Copy, Debug)]
struct Rate {
    started: Instant,
    current: u64,
    previous: u64,
}

impl Rate {
    fn new(now: Instant) -> Rate {
        Rate {
            started: now,
            current: 0,
            previous: 0,
        }
    }

    fn roll(&mut self, now: Instant, period: Duration) {
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed >= period * 2 {
            *self = Rate::new(now);
        } else if elapsed >= period {
            self.previous = self.current;
            self.current = 0;
            self.started += period;
        }
    }

    fn add(&mut self, now: Instant, period: Duration) -> u64 {
        self.roll(now, period);
        self.current += 1;
        self.value(now, period)
    }

    fn value(&self, now: Instant, period: Duration) -> u64 {
        let into = now.saturating_duration_since(self.started).as_secs_f64();
        let left = (1.0 - into / period.as_secs_f64()).clamp(0.0, 1.0);
        self.current + (self.previous as f64 * left) as u64
    }
}

#[derive(Debug)]
struct Track {
    open: u64,
    connections: Rate,
    requests: Rate,
    seen: Instant,
}

/// One route's table.
#[derive(Debug)]
pub struct Limiter {
    limits: RateLimits,
    table: Mutex<HashMap<IpAddr, Track>>,
}

/// A connection counted as open on a route until it is dropped.
#[derive(Debug)]
pub struct Open {
    limiter: Arc<Limiter>,
    ip: IpAddr,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut table = self.limiter.lock();
        if let Some(track) = table.get_mut(&self.ip) {
            track.open = track.open.saturating_sub(1);
            track.seen = Instant::now();
        }
    }
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Arc<Limiter> {
        Arc::new(Limiter {
            limits,
            table: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Track>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection from `ip` starts using the route: counted, and refused (`None`) when
    /// over a limit (it then counts as closed again).
    pub fn connect(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Option<Open> {
        let mut table = self.lock();
        if table.len() >= SIZE {
            table.retain(|_, t| t.open > 0 || now.saturating_duration_since(t.seen) < EXPIRE);
        }
        let track = table.entry(ip).or_insert_with(|| Track {
            open: 0,
            connections: Rate::new(now),
            requests: Rate::new(now),
            seen: now,
        });
        track.seen = now;
        track.open += 1;
        let rate = track.connections.add(now, CONN_PERIOD);
        let over = self.limits.concurrent_tcp.is_some_and(|n| track.open >= n)
            || self.limits.rate_tcp.is_some_and(|n| rate >= n)
            || self
                .limits
                .rate_http
                .is_some_and(|n| track.requests.value(now, HTTP_PERIOD) >= n);
        drop(table);
        let open = Open {
            limiter: self.clone(),
            ip,
        };
        (!over).then_some(open)
    }

    /// A request from `ip` on an open connection: counted; false when over a limit.
    pub fn request(&self, ip: IpAddr, now: Instant) -> bool {
        let mut table = self.lock();
        let Some(track) = table.get_mut(&ip) else {
            return true;
        };
        track.seen = now;
        let rate = track.requests.add(now, HTTP_PERIOD);
        let over = self.limits.rate_http.is_some_and(|n| rate >= n)
            || self.limits.concurrent_tcp.is_some_and(|n| track.open >= n)
            || self
                .limits
                .rate_tcp
                .is_some_and(|n| track.connections.value(now, CONN_PERIOD) >= n);
        !over
    }
}

/// The routes a client connection has been counted on (`track-sc2` once per connection),
/// released when the connection ends.
#[derive(Debug, Default)]
pub struct Tracked(Mutex<Vec<Open>>);

impl Tracked {
    /// Counts a request from `ip` (and the connection, on its first request to the route);
    /// false when the route's limits refuse it.
    pub fn admit(&self, limiter: &Arc<Limiter>, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut opens = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !opens.iter().any(|o| Arc::ptr_eq(&o.limiter, limiter)) {
            match limiter.connect(ip, now) {
                Some(open) => opens.push(open),
                None => return false,
            }
        }
        drop(opens);
        limiter.request(ip, now)
    }
}

/// Each route's limiter, by route key, kept from one table to the next while its limits stay
/// the same.
#[derive(Debug, Default)]
pub struct Limiters(HashMap<String, Arc<Limiter>>);

impl Limiters {
    pub fn for_route(&mut self, key: &str, limits: RateLimits) -> Arc<Limiter> {
        match self.0.get(key) {
            Some(l) if l.limits == limits => l.clone(),
            _ => {
                let l = Limiter::new(limits);
                self.0.insert(key.to_string(), l.clone());
                l
            }
        }
    }

    /// Forgets a route's limiter.
    pub fn forget(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// Forgets the limiters of routes no longer limited.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn concurrent_connections_are_limited_while_open() {
        let l = Limiter::new(RateLimits {
            concurrent_tcp: Some(3),
            ..Default::default()
        });
        let t = Instant::now();
        let a = l.connect(ip(), t).unwrap();
        let _b = l.connect(ip(), t).unwrap();
        assert!(l.connect(ip(), t).is_none(), "the third reaches the limit");
        // Another source has its own count.
        assert!(l.connect("10.0.0.1".parse().unwrap(), t).is_some());
        drop(a);
        assert!(l.connect(ip(), t).is_some());
    }

    #[test]
    fn connection_rates_are_per_three_seconds() {
        let l = Limiter::new(RateLimits {
            rate_tcp: Some(3),
            ..Default::default()
        });
        let t = Instant::now();
        assert!(l.connect(ip(), t).is_some());
        assert!(l.connect(ip(), t).is_some());
        assert!(l.connect(ip(), t).is_none());
        // Two periods later the rate has gone down.
        assert!(l.connect(ip(), t + Duration::from_secs(7)).is_some());
    }

    #[test]
    fn request_rates_are_per_ten_seconds() {
        let l = Limiter::new(RateLimits {
            rate_http: Some(4),
            ..Default::default()
        });
        let t = Instant::now();
        let _open = l.connect(ip(), t).unwrap();
        assert!(l.request(ip(), t));
        assert!(l.request(ip(), t));
        assert!(l.request(ip(), t));
        assert!(!l.request(ip(), t));
        // Half a period into the next one, half of the last one still counts.
        let later = t + Duration::from_secs(15);
        assert!(l.request(ip(), later));
        assert!(!l.request(ip(), later));
        // A new connection is refused while the request rate is over.
        assert!(l.connect(ip(), later).is_none());
        assert!(l.request(ip(), t + Duration::from_secs(40)));
    }
}
