//! The two load shapes: open loop at a fixed rate, closed loop at saturation.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::client::Driver;

/// Most operations in flight in an open-loop run; past it, sends are shed and counted as errors.
const MAX_IN_FLIGHT: usize = 20_000;

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Latency in nanoseconds of every successful operation.
    pub hist: Histogram<u64>,
    /// Operations that succeeded.
    pub ok: u64,
    /// Operations that failed (HTTP error, JSON-RPC error, timeout, shed).
    pub errors: u64,
    /// The first error seen, for the log.
    pub first_error: Option<String>,
    /// Wall time from the first send to the last answer.
    pub elapsed: Duration,
}

impl Measured {
    /// Successful operations per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at `q` (0..=100), in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_percentile(q) as f64 / 1e6
    }
}

#[expect(
    clippy::expect_used,
    reason = "the bounds are constants that hdrhistogram accepts"
)]
/// An empty latency histogram: 1 ns to 60 s, three significant digits.
pub fn new_hist() -> Histogram<u64> {
    // 1 ns .. 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn fail(&self, why: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        first.get_or_insert(why);
    }
}

/// Open loop: starts operation `i` at `start + i / rate` whether or not earlier ones have
/// finished, and measures each from that intended start, so a stall shows in the latencies
/// of everything queued behind it (no coordinated omission).
///
/// A dedicated OS thread paces the sends with `nanosleep` (timer slack lowered to 1 µs) and
/// spawns each operation onto the runtime; the tokio timer's 1 ms granularity would otherwise
/// add up to a millisecond of pacing error to every latency.
pub async fn open_loop(driver: Arc<Driver>, rate: u64, duration: Duration) -> Measured {
    let mut measured = open_loop_interleaved(&[driver], rate, duration).await;
    measured
        .pop()
        .unwrap_or_else(|| finish(new_hist(), &Tally::default(), duration))
}

/// Open loop over several drivers at once, each at `rate` operations per second, their
/// starts interleaved (with two drivers, one starts every `1 / (2 × rate)` s, alternately):
/// both see the same machine at the same moments, so their latencies compare closely.
/// One [`Measured`] per driver, in order.
pub async fn open_loop_interleaved(
    drivers: &[Arc<Driver>],
    rate: u64,
    duration: Duration,
) -> Vec<Measured> {
    let handle = tokio::runtime::Handle::current();
    let n = drivers.len().max(1);
    let tallies: Arc<Vec<Tally>> = Arc::new((0..n).map(|_| Tally::default()).collect());
    let hists: Arc<Vec<Mutex<Histogram<u64>>>> =
        Arc::new((0..n).map(|_| Mutex::new(new_hist())).collect());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let total = (rate as f64 * duration.as_secs_f64()).round() as u64 * n as u64;
    let interval = Duration::from_secs_f64(1.0 / (rate.max(1) * n as u64) as f64);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let start = Instant::now() + Duration::from_millis(5);
    {
        let (tallies, hists, in_flight) = (tallies.clone(), hists.clone(), in_flight.clone());
        let drivers = drivers.to_vec();
        std::thread::spawn(move || {
            let _ = nix::sys::prctl::set_timerslack(1_000);
            for i in 0..total {
                let intended = start + interval.mul_f64(i as f64);
                let now = Instant::now();
                if intended > now {
                    std::thread::sleep(intended - now);
                }
                let which = (i % n as u64) as usize;
                if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                    tallies[which].fail("shed: too many operations in flight".into());
                    continue;
                }
                in_flight.fetch_add(1, Ordering::Relaxed);
                let (driver, tallies, hists, in_flight) = (
                    drivers[which].clone(),
                    tallies.clone(),
                    hists.clone(),
                    in_flight.clone(),
                );
                handle.spawn(async move {
                    match driver.one().await {
                        Ok(()) => {
                            let ns = intended.elapsed().as_nanos() as u64;
                            let _ = hists[which].lock().map(|mut h| h.saturating_record(ns));
                            tallies[which].ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tallies[which].fail(e),
                    }
                    in_flight.fetch_sub(1, Ordering::Release);
                });
            }
            let _ = done_tx.send(());
        });
    }
    let _ = done_rx.await;
    while in_flight.load(Ordering::Acquire) > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = start.elapsed();
    (0..n)
        .map(|k| {
            let hist = hists[k]
                .lock()
                .map(|h| h.clone())
                .unwrap_or_else(|_| new_hist());
            finish(hist, &tallies[k], elapsed)
        })
        .collect()
}

/// Closed loop: `concurrency` workers each send, wait for the answer, and send again, for
/// `duration`. Latency is measured per operation from its send.
pub async fn closed_loop(driver: Arc<Driver>, concurrency: usize, duration: Duration) -> Measured {
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let end = start + duration;
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (driver, tally) = (driver.clone(), tally.clone());
            tokio::spawn(async move {
                let mut hist = new_hist();
                while Instant::now() < end {
                    let t0 = Instant::now();
                    match driver.one().await {
                        Ok(()) => {
                            hist.saturating_record(t0.elapsed().as_nanos() as u64);
                            tally.ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tally.fail(e),
                    }
                }
                hist
            })
        })
        .collect();
    let mut hist = new_hist();
    for w in workers {
        if let Ok(h) = w.await {
            let _ = hist.add(&h);
        }
    }
    finish(hist, &tally, start.elapsed())
}

fn finish(hist: Histogram<u64>, tally: &Tally, elapsed: Duration) -> Measured {
    Measured {
        hist,
        ok: tally.ok.load(Ordering::Relaxed),
        errors: tally.errors.load(Ordering::Relaxed),
        first_error: tally.first_error.lock().ok().and_then(|mut f| f.take()),
        elapsed,
    }
}
