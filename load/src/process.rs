//! Resident memory and CPU time of a server process, from `/proc`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Resident set size in MiB, `None` if the process is gone.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// User plus system CPU time consumed so far.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Time into the phase and the RSS then (MiB).
type Samples = Arc<Mutex<Vec<(Duration, f64)>>>;

/// CPU use and peak memory of a process over a phase, sampled every 100 ms.
pub struct Sampler {
    pid: Option<u32>,
    start: Instant,
    cpu_start: Duration,
    pub rss_before: f64,
    peak: Arc<AtomicU64>,
    samples: Samples,
    stop: Arc<AtomicBool>,
}

impl Sampler {
    pub fn start(pid: Option<u32>) -> Sampler {
        let start = Instant::now();
        let rss_before = pid.and_then(rss_mib).unwrap_or(0.0);
        let peak = Arc::new(AtomicU64::new(rss_before.to_bits()));
        let samples = Samples::default();
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(pid) = pid {
            let (peak, samples, stop) = (peak.clone(), samples.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = rss_mib(pid) {
                        let old = f64::from_bits(peak.load(Ordering::Relaxed));
                        if rss > old {
                            peak.store(rss.to_bits(), Ordering::Relaxed);
                        }
                        let mut samples = samples.lock().unwrap_or_else(|e| e.into_inner());
                        samples.push((start.elapsed(), rss));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        Sampler {
            pid,
            start,
            cpu_start: pid.and_then(cpu_time).unwrap_or_default(),
            rss_before,
            peak,
            samples,
            stop,
        }
    }

    /// The highest RSS of each `step` of the phase so far, in MiB: "112 160 171 ...".
    pub fn peaks_every(&self, step: Duration) -> String {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let mut peaks: Vec<f64> = Vec::new();
        for (at, rss) in samples.iter() {
            let i = (at.as_secs_f64() / step.as_secs_f64().max(1e-3)) as usize;
            if peaks.len() <= i {
                peaks.resize(i + 1, 0.0);
            }
            peaks[i] = peaks[i].max(*rss);
        }
        let peaks: Vec<String> = peaks.iter().map(|p| format!("{p:.0}")).collect();
        peaks.join(" ")
    }

    /// The server's CPU time since the phase began (zero without a pid).
    pub fn cpu_used(&self) -> Duration {
        self.pid
            .and_then(cpu_time)
            .unwrap_or_default()
            .saturating_sub(self.cpu_start)
    }

    /// "server CPU x% of a core, RSS before → peak MiB", empty without a pid.
    pub fn finish(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        let Some(pid) = self.pid else {
            return String::new();
        };
        let cpu = cpu_time(pid)
            .unwrap_or_default()
            .saturating_sub(self.cpu_start);
        let share = cpu.as_secs_f64() / self.start.elapsed().as_secs_f64().max(1e-9) * 100.0;
        let peak = f64::from_bits(self.peak.load(Ordering::Relaxed));
        format!(
            "server CPU {share:.0}% of a core, RSS {:.1} -> peak {peak:.1} MiB",
            self.rss_before
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(rss_mib(me).is_some_and(|m| m > 0.0));
        assert!(cpu_time(me).is_some());
        assert_eq!(rss_mib(u32::MAX), None);
    }
}
