//! The generic cell rate algorithm, as pure arithmetic on integer microseconds, shared by the
//! in-process limiter and (as the same steps in Lua) the Redis one.
//!
//! A limit of `count` per `period` emits one cell every `T = period / count` and tolerates a
//! burst of `count`. The state is one number per key, the theoretical arrival time (TAT).
//! A request at `now` is admitted iff `max(TAT, now) + T − period ≤ now`; then
//! `TAT ← max(TAT, now) + T`. Unlike a fixed window, no burst of 2×count fits across a window
//! edge.

/// A limit in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    pub count: u32,
    pub period_us: i64,
}

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// The TAT to store (unchanged when refused).
    pub tat_us: i64,
    pub limit: u32,
    /// Requests that could still be admitted right now.
    pub remaining: u32,
    /// Seconds until the full burst is available again (`RateLimit-Reset`).
    pub reset_secs: u64,
    /// When refused: whole seconds until a request is admitted (`Retry-After`), rounded up,
    /// so a request exactly then is admitted and one a second earlier is not.
    pub retry_after_secs: u64,
}

impl Gcra {
    pub fn interval_us(&self) -> i64 {
        (self.period_us / i64::from(self.count.max(1))).max(1)
    }

    /// Decides a request at `now_us` given the stored TAT (`None`: never seen).
    pub fn check(&self, stored_tat_us: Option<i64>, now_us: i64) -> Verdict {
        let t = self.interval_us();
        let tat = stored_tat_us.unwrap_or(now_us).max(now_us);
        let new_tat = tat + t;
        let allow_at = new_tat - self.period_us;
        if now_us >= allow_at {
            self.verdict(true, new_tat, now_us)
        } else {
            self.verdict(false, tat, now_us)
        }
    }

    /// Builds the verdict from a decision and the resulting TAT (also used for Redis replies).
    pub fn verdict(&self, allowed: bool, tat_us: i64, now_us: i64) -> Verdict {
        let t = self.interval_us();
        let ahead = (tat_us - now_us).max(0);
        let remaining = ((self.period_us - ahead) / t).clamp(0, i64::from(self.count));
        let retry_after_us = if allowed {
            0
        } else {
            (tat_us + t - self.period_us - now_us).max(0)
        };
        Verdict {
            allowed,
            tat_us,
            limit: self.count,
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset_secs: ceil_secs(ahead),
            retry_after_secs: ceil_secs(retry_after_us),
        }
    }
}

fn ceil_secs(us: i64) -> u64 {
    u64::try_from((us + 999_999) / 1_000_000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: i64 = 1_000_000;

    fn five_per_minute() -> Gcra {
        Gcra {
            count: 5,
            period_us: 60 * SEC,
        }
    }

    #[test]
    fn a_full_burst_is_admitted_then_the_next_is_refused() {
        let g = five_per_minute();
        let mut tat = None;
        for i in 0..5 {
            let v = g.check(tat, 0);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 4 - i);
            tat = Some(v.tat_us);
        }
        let v = g.check(tat, 0);
        assert!(!v.allowed);
        assert_eq!(v.remaining, 0);
        assert_eq!(v.retry_after_secs, 12);
    }

    #[test]
    fn retry_after_is_exact_a_second_earlier_is_refused() {
        let g = five_per_minute();
        let mut tat = None;
        for _ in 0..5 {
            tat = Some(g.check(tat, 0).tat_us);
        }
        let refused = g.check(tat, 3 * SEC + 250_000);
        assert!(!refused.allowed);
        let at = 3 * SEC + 250_000 + i64::try_from(refused.retry_after_secs).expect("small") * SEC;
        assert!(!g.check(tat, at - SEC).allowed);
        assert!(g.check(tat, at).allowed);
    }

    proptest! {
        #[test]
        fn never_more_than_the_burst_plus_one_per_interval(
            count in 1u32..20,
            period_s in 1i64..3600,
            gaps in proptest::collection::vec(0i64..5_000_000, 1..120),
        ) {
            let g = Gcra { count, period_us: period_s * SEC };
            let (mut tat, mut now, mut admitted) = (None, 0i64, Vec::new());
            for gap in gaps {
                now += gap;
                let v = g.check(tat, now);
                if v.allowed {
                    tat = Some(v.tat_us);
                    admitted.push(now);
                } else {
                    prop_assert!(v.retry_after_secs >= 1);
                }
            }
            // The GCRA bound: between any two admitted requests, at most the burst plus one
            // cell per interval elapsed.
            let t = g.interval_us();
            for (i, a) in admitted.iter().enumerate() {
                for (j, b) in admitted.iter().enumerate().skip(i) {
                    let n = i64::try_from(j - i + 1).unwrap_or(i64::MAX);
                    prop_assert!(n <= i64::from(count) + (b - a) / t, "{n} admitted in {}us", b - a);
                }
            }
        }
    }
}
