//! A circuit breaker per source service (sources.md "Resilience"), with an injectable clock.
//!
//! - **Closed**: calls pass; the last `window` outcomes are kept. Once at least `min_calls`
//!   are recorded, the breaker opens when failures reach `failure_rate` or slow calls (taking
//!   `slow_call` or longer) reach `slow_rate` of the window.
//! - **Open**: calls are refused without touching the service, for `open_for`.
//! - **Half-open**: after that, exactly `half_open_probes` calls are let through. All probes
//!   succeeding closes the breaker with an empty window; any probe failing — or being slow,
//!   since slowness may be why it opened — opens it again for a fresh `open_for`. A further
//!   caller meanwhile is refused ([`CircuitBreaker::acquire`]) or waits up to `probe_wait_ms`
//!   for the probes' verdict ([`CircuitBreaker::acquire_or_wait`], what the source clients
//!   use): it then calls the service if they closed the breaker and is refused if they
//!   opened it. So the read that carries the probes gets live data once the service is back,
//!   instead of fallback data for every call but the probes.
//!
//! What counts as a failure is the caller's classification ([`Outcome`]): 5xx, timeouts,
//! transport errors and unparseable bodies fail; 4xx other than 429 are the caller's fault and
//! count as successes. A permit dropped without an outcome (the request was cancelled) is
//! ignored and, in half-open, frees its probe slot.
//!
//! Durations are measured on the injected clock, so tests drive slowness and the open period
//! without sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use crate::clock::Clock;

/// Breaker settings (`[sources.breaker]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Outcomes remembered while closed.
    pub window: usize,
    /// Outcomes needed before the rates are judged.
    pub min_calls: usize,
    /// Opens at or above this share of failures…
    pub failure_rate: f64,
    /// …or of slow calls.
    pub slow_rate: f64,
    /// A call taking this long or longer is slow.
    pub slow_call_ms: u64,
    /// How long the breaker stays open before probing.
    pub open_secs: u64,
    /// Probe calls let through when half-open; all must succeed to close.
    pub half_open_probes: u32,
    /// How long a caller that finds every probe slot taken waits for the probes' verdict.
    pub probe_wait_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: 20,
            min_calls: 10,
            failure_rate: 0.5,
            slow_rate: 0.5,
            slow_call_ms: 2000,
            open_secs: 30,
            half_open_probes: 3,
            probe_wait_ms: 500,
        }
    }
}

/// The state as reported by `GET /system/sources` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }

    /// 0 closed, 1 half-open, 2 open: the gauge value in `/metrics`.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

/// A snapshot of a breaker for status pages.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerStatus {
    pub state: BreakerState,
    /// Failures in the current window.
    pub failure_count: u32,
    /// Failures / outcomes in the current window (0 when empty).
    pub failure_rate: f64,
    pub opened_at: Option<DateTime<Utc>>,
    /// When an open breaker lets its next probes through.
    pub next_probe_at: Option<DateTime<Utc>>,
}

/// How a call ended, as the caller classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Debug, Clone, Copy)]
struct Recorded {
    failed: bool,
    slow: bool,
}

#[derive(Debug)]
enum State {
    Closed,
    Open { until: DateTime<Utc> },
    HalfOpen { issued: u32, succeeded: u32 },
}

#[derive(Debug)]
struct Inner {
    state: State,
    window: VecDeque<Recorded>,
    opened_at: Option<DateTime<Utc>>,
    /// Bumped at every transition, so permits from an earlier state are not counted.
    epoch: u64,
}

/// One service's breaker. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
    /// Woken when a half-open round ends (closed or reopened) or a probe slot frees.
    round_over: tokio::sync::Notify,
}

/// The call was refused: the breaker is open, or half-open with every probe slot taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open")]
pub struct Rejected;

/// Why [`CircuitBreaker::try_acquire`] refused.
enum Refusal {
    Open,
    /// Half-open and every probe slot is taken: the verdict is pending.
    ProbesBusy,
}

/// Permission for one call; report its end with [`Permit::record`].
#[must_use = "a permit must be recorded, or the call is ignored"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    epoch: u64,
    probe: bool,
    started: DateTime<Utc>,
    done: bool,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> CircuitBreaker {
        CircuitBreaker {
            config,
            clock,
            inner: Mutex::new(Inner {
                state: State::Closed,
                window: VecDeque::new(),
                opened_at: None,
                epoch: 0,
            }),
            round_over: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_for(&self) -> TimeDelta {
        TimeDelta::seconds(i64::try_from(self.config.open_secs).unwrap_or(i64::MAX / 1000))
    }

    /// Asks to make a call now.
    pub fn acquire(&self) -> Result<Permit<'_>, Rejected> {
        self.try_acquire().map_err(|_| Rejected)
    }

    /// Asks to make a call; when half-open with every probe slot taken, waits for the probes'
    /// verdict, at most `probe_wait_ms` and never past `deadline`.
    pub async fn acquire_or_wait(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<Permit<'_>, Rejected> {
        // Every source call comes here: only a call behind busy probes registers to wait.
        match self.try_acquire() {
            Err(Refusal::ProbesBusy) => {}
            decided => return decided.map_err(|_| Rejected),
        }
        let give_up = deadline
            .min(tokio::time::Instant::now() + Duration::from_millis(self.config.probe_wait_ms));
        loop {
            // Registered before trying, so a verdict between the try and the wait is not lost.
            let verdict = self.round_over.notified();
            let mut verdict = std::pin::pin!(verdict);
            verdict.as_mut().enable();
            match self.try_acquire() {
                Ok(permit) => return Ok(permit),
                Err(Refusal::Open) => return Err(Rejected),
                Err(Refusal::ProbesBusy) => {
                    if tokio::time::timeout_at(give_up, verdict).await.is_err() {
                        return Err(Rejected);
                    }
                }
            }
        }
    }

    fn try_acquire(&self) -> Result<Permit<'_>, Refusal> {
        let now = self.clock.now();
        let mut inner = self.lock();
        if let State::Open { until } = inner.state {
            if now < until {
                return Err(Refusal::Open);
            }
            inner.state = State::HalfOpen {
                issued: 0,
                succeeded: 0,
            };
            inner.epoch += 1;
        }
        let probe = match &mut inner.state {
            State::Closed => false,
            State::HalfOpen { issued, .. } => {
                if *issued >= self.config.half_open_probes {
                    return Err(Refusal::ProbesBusy);
                }
                *issued += 1;
                true
            }
            State::Open { .. } => return Err(Refusal::Open),
        };
        Ok(Permit {
            breaker: self,
            epoch: inner.epoch,
            probe,
            started: now,
            done: false,
        })
    }

    fn finish(&self, epoch: u64, probe: bool, started: DateTime<Utc>, outcome: Option<Outcome>) {
        let now = self.clock.now();
        let slow_after = TimeDelta::milliseconds(
            i64::try_from(self.config.slow_call_ms).unwrap_or(i64::MAX / 2),
        );
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return; // a permit of an earlier state: its outcome no longer matters
        }
        let Some(outcome) = outcome else {
            // Cancelled: a probe slot becomes free again.
            if let (true, State::HalfOpen { issued, .. }) = (probe, &mut inner.state) {
                *issued = issued.saturating_sub(1);
                self.round_over.notify_waiters();
            }
            return;
        };
        let failed = outcome == Outcome::Failure;
        let slow = now - started >= slow_after;
        match &mut inner.state {
            State::HalfOpen { succeeded, .. } => {
                if failed || slow {
                    self.trip(&mut inner, now);
                    self.round_over.notify_waiters();
                } else {
                    *succeeded += 1;
                    if *succeeded >= self.config.half_open_probes {
                        inner.state = State::Closed;
                        inner.window.clear();
                        inner.opened_at = None;
                        inner.epoch += 1;
                        self.round_over.notify_waiters();
                    }
                }
            }
            State::Closed => {
                inner.window.push_back(Recorded { failed, slow });
                while inner.window.len() > self.config.window.max(1) {
                    inner.window.pop_front();
                }
                let n = inner.window.len();
                if n >= self.config.min_calls.max(1) {
                    let failures = inner.window.iter().filter(|r| r.failed).count();
                    let slows = inner.window.iter().filter(|r| r.slow).count();
                    let rate = |k: usize| k as f64 / n as f64;
                    if rate(failures) >= self.config.failure_rate
                        || rate(slows) >= self.config.slow_rate
                    {
                        self.trip(&mut inner, now);
                    }
                }
            }
            State::Open { .. } => {}
        }
    }

    fn trip(&self, inner: &mut Inner, now: DateTime<Utc>) {
        inner.state = State::Open {
            until: now + self.open_for(),
        };
        inner.opened_at = Some(now);
        inner.window.clear();
        inner.epoch += 1;
    }

    pub fn status(&self) -> BreakerStatus {
        let now = self.clock.now();
        let inner = self.lock();
        let failures = inner.window.iter().filter(|r| r.failed).count();
        let n = inner.window.len();
        let (state, next_probe_at) = match inner.state {
            State::Closed => (BreakerState::Closed, None),
            // An open breaker whose period is over probes at the next call.
            State::Open { until } if now >= until => (BreakerState::HalfOpen, Some(until)),
            State::Open { until } => (BreakerState::Open, Some(until)),
            State::HalfOpen { .. } => (BreakerState::HalfOpen, None),
        };
        BreakerStatus {
            state,
            failure_count: u32::try_from(failures).unwrap_or(u32::MAX),
            failure_rate: if n == 0 {
                0.0
            } else {
                failures as f64 / n as f64
            },
            opened_at: inner.opened_at,
            next_probe_at,
        }
    }

    /// How long the slow-call threshold is, for callers that set deadlines.
    pub fn slow_call(&self) -> Duration {
        Duration::from_millis(self.config.slow_call_ms)
    }
}

impl Permit<'_> {
    /// Reports how the call ended.
    pub fn record(mut self, outcome: Outcome) {
        self.done = true;
        self.breaker
            .finish(self.epoch, self.probe, self.started, Some(outcome));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker
                .finish(self.epoch, self.probe, self.started, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use chrono::TimeZone;

    fn setup() -> (FakeClock, CircuitBreaker) {
        let clock = FakeClock::new(
            Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0)
                .single()
                .expect("time"),
        );
        let breaker = CircuitBreaker::new(BreakerConfig::default(), Arc::new(clock.clone()));
        (clock, breaker)
    }

    fn call(b: &CircuitBreaker, outcome: Outcome) -> Result<(), Rejected> {
        b.acquire().map(|p| p.record(outcome))
    }

    #[test]
    fn opens_exactly_at_the_failure_rate_after_the_minimum_calls() {
        let (_, b) = setup();
        // 9 failures: below the minimum of 10 calls, still closed.
        for _ in 0..9 {
            call(&b, Outcome::Failure).expect("closed");
        }
        assert_eq!(b.status().state, BreakerState::Closed);
        assert_eq!(b.status().failure_count, 9);
        call(&b, Outcome::Failure).expect("the 10th call passes");
        assert_eq!(b.status().state, BreakerState::Open);
        assert_eq!(call(&b, Outcome::Success), Err(Rejected));
    }

    #[test]
    fn stays_closed_just_below_the_rate_and_opens_at_it() {
        let (_, b) = setup();
        // Window of 20: 10 successes then 9 failures = 47 %: closed. The 20th, a failure: 50 %.
        for _ in 0..10 {
            call(&b, Outcome::Success).expect("closed");
        }
        for _ in 0..9 {
            call(&b, Outcome::Failure).expect("closed");
        }
        assert_eq!(b.status().state, BreakerState::Closed);
        assert!((b.status().failure_rate - 9.0 / 19.0).abs() < 1e-12);
        call(&b, Outcome::Failure).expect("passes");
        assert_eq!(b.status().state, BreakerState::Open);
    }

    #[test]
    fn the_window_forgets_old_outcomes() {
        let (_, b) = setup();
        for _ in 0..4 {
            call(&b, Outcome::Failure).expect("closed");
        }
        for _ in 0..16 {
            call(&b, Outcome::Success).expect("closed");
        }
        assert_eq!(b.status().failure_count, 4, "all 20 remembered");
        for _ in 0..4 {
            call(&b, Outcome::Success).expect("closed");
        }
        assert_eq!(b.status().failure_count, 0, "the oldest 4 are forgotten");
        assert_eq!(b.status().state, BreakerState::Closed);
    }

    #[test]
    fn slow_calls_open_it() {
        let (clock, b) = setup();
        for _ in 0..10 {
            let p = b.acquire().expect("closed");
            clock.advance(TimeDelta::milliseconds(2000));
            p.record(Outcome::Success);
        }
        assert_eq!(b.status().state, BreakerState::Open);
    }

    #[test]
    fn after_the_open_period_exactly_the_probes_pass_and_their_success_closes_it() {
        let (clock, b) = setup();
        for _ in 0..10 {
            call(&b, Outcome::Failure).expect("closed");
        }
        let status = b.status();
        assert_eq!(status.state, BreakerState::Open);
        assert_eq!(
            status.next_probe_at,
            Some(clock.now() + TimeDelta::seconds(30))
        );
        clock.advance(TimeDelta::seconds(29));
        assert!(b.acquire().is_err(), "still open at 29 s");
        clock.advance(TimeDelta::seconds(1));
        let probes: Vec<_> = (0..3).map(|_| b.acquire().expect("probe")).collect();
        assert!(
            b.acquire().is_err(),
            "a fourth concurrent caller is refused"
        );
        assert_eq!(b.status().state, BreakerState::HalfOpen);
        for p in probes {
            p.record(Outcome::Success);
        }
        assert_eq!(b.status().state, BreakerState::Closed);
        call(&b, Outcome::Success).expect("closed again");
    }

    #[test]
    fn a_failed_probe_reopens_it_for_a_fresh_period() {
        let (clock, b) = setup();
        for _ in 0..10 {
            call(&b, Outcome::Failure).expect("closed");
        }
        clock.advance(TimeDelta::seconds(30));
        let first = b.acquire().expect("probe");
        let second = b.acquire().expect("probe");
        first.record(Outcome::Failure);
        assert_eq!(b.status().state, BreakerState::Open);
        assert_eq!(
            b.status().next_probe_at,
            Some(clock.now() + TimeDelta::seconds(30))
        );
        // The other probe's late success belongs to the old half-open state: ignored.
        second.record(Outcome::Success);
        assert_eq!(b.status().state, BreakerState::Open);
    }

    #[test]
    fn a_cancelled_probe_frees_its_slot() {
        let (clock, b) = setup();
        for _ in 0..10 {
            call(&b, Outcome::Failure).expect("closed");
        }
        clock.advance(TimeDelta::seconds(30));
        let held: Vec<_> = (0..3).map(|_| b.acquire().expect("probe")).collect();
        assert!(b.acquire().is_err());
        drop(held);
        assert!(b.acquire().is_ok(), "slots came back");
    }

    /// Opens `b` with 10 failures and lets its open period pass.
    fn past_the_open_period(clock: &FakeClock, b: &CircuitBreaker) {
        for _ in 0..10 {
            call(b, Outcome::Failure).expect("closed");
        }
        clock.advance(TimeDelta::seconds(30));
    }

    fn far() -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn a_caller_behind_the_probes_waits_for_their_success_then_calls() {
        let (clock, b) = setup();
        past_the_open_period(&clock, &b);
        let probes: Vec<_> = (0..3).map(|_| b.acquire().expect("probe")).collect();
        let mut waiting = std::pin::pin!(b.acquire_or_wait(far()));
        assert!(futures::poll!(&mut waiting).is_pending(), "no verdict yet");
        for p in probes {
            p.record(Outcome::Success);
        }
        let permit = futures::poll!(&mut waiting);
        let std::task::Poll::Ready(Ok(permit)) = permit else {
            panic!("the probes closed the breaker, so the waiting caller calls");
        };
        assert!(!permit.probe, "a call of the closed breaker, not a probe");
        permit.record(Outcome::Success);
        assert_eq!(b.status().state, BreakerState::Closed);
    }

    #[tokio::test]
    async fn a_caller_behind_the_probes_is_refused_as_soon_as_one_fails() {
        let (clock, b) = setup();
        past_the_open_period(&clock, &b);
        let mut probes: Vec<_> = (0..3).map(|_| b.acquire().expect("probe")).collect();
        let mut waiting = std::pin::pin!(b.acquire_or_wait(far()));
        assert!(futures::poll!(&mut waiting).is_pending());
        probes.pop().expect("probe").record(Outcome::Failure);
        assert!(
            matches!(
                futures::poll!(&mut waiting),
                std::task::Poll::Ready(Err(Rejected))
            ),
            "refused at the verdict, without waiting further"
        );
        assert_eq!(b.status().state, BreakerState::Open);
    }

    #[tokio::test]
    async fn a_caller_waits_for_the_verdict_at_most_probe_wait() {
        let clock = FakeClock::new(Utc::now());
        let b = CircuitBreaker::new(
            BreakerConfig {
                probe_wait_ms: 20,
                ..BreakerConfig::default()
            },
            Arc::new(clock.clone()),
        );
        past_the_open_period(&clock, &b);
        let _probes: Vec<_> = (0..3).map(|_| b.acquire().expect("probe")).collect();
        let waited = tokio::time::timeout(Duration::from_secs(10), b.acquire_or_wait(far()))
            .await
            .expect("gave up after probe_wait_ms, long before 10 s");
        assert!(waited.is_err(), "still no verdict: refused");
    }

    #[test]
    fn exactly_the_configured_probes_pass_under_one_hundred_concurrent_callers() {
        let (clock, b) = setup();
        for _ in 0..10 {
            call(&b, Outcome::Failure).expect("closed");
        }
        clock.advance(TimeDelta::seconds(30));
        let b = Arc::new(b);
        let tried = Arc::new(std::sync::Barrier::new(100));
        let handles: Vec<_> = (0..100)
            .map(|_| {
                let (b, tried) = (b.clone(), tried.clone());
                std::thread::spawn(move || {
                    let permit = b.acquire();
                    let admitted = permit.is_ok();
                    // Every permit is held until all 100 callers have tried.
                    tried.wait();
                    drop(permit);
                    admitted
                })
            })
            .collect();
        let admitted = handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .filter(|a| *a)
            .count();
        assert_eq!(admitted, 3);
    }
}
