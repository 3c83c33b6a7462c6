//! The generator's random numbers: SplitMix64 (Steele, Lea & Flood 2014), written out here so
//! that a seed produces the same data set with every version of every dependency.
//!
//! - **Generator.** SplitMix64 adds the golden-ratio constant `0x9E37_79B9_7F4A_7C15` to a 64-bit
//!   state and returns the state passed through the `mix64` finaliser (variant 13 of
//!   Stafford's MurmurHash3 mixer). It passes BigCrush, needs one `u64` of state, and any state
//!   is valid, which makes deriving independent streams trivial.
//! - **Streams.** Every part of the data set draws from its own stream, keyed by
//!   (seed, purpose tag, entity key): `Rng::stream(seed, "sim", "u-000042")`. A user's
//!   activity therefore depends only on the seed, the user and the static catalogue, never on
//!   how many numbers other users consumed, which is what lets events be generated lazily per
//!   user. String keys are hashed with 64-bit FNV-1a.
//! - **Distributions.** Uniforms use the top 53 bits; integers below `n` use Lemire's
//!   multiply-shift (bias < n/2⁶⁴, irrelevant here); normals use Box–Muller; Poisson uses
//!   Knuth's product method (small means only). Box–Muller and the exponential call the
//!   platform's `ln`/`cos`, so bit-identical output is guaranteed for one platform (all of
//!   ours are x86_64/aarch64 Linux with the same libm results in practice), not across every
//!   conceivable libm.

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 / MurmurHash3 finaliser.
pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64-bit FNV-1a of a string.
pub(super) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub(super) struct Rng {
    state: u64,
}

impl Rng {
    /// The stream for `(seed, tag, key)`.
    pub(super) fn stream(seed: u64, tag: &str, key: &str) -> Rng {
        let h = mix64(seed ^ mix64(fnv1a(tag) ^ mix64(fnv1a(key).wrapping_add(GAMMA))));
        Rng { state: h }
    }

    /// The stream for `(seed, tag, numeric key)`.
    pub(super) fn stream_n(seed: u64, tag: &str, key: u64) -> Rng {
        let h = mix64(seed ^ mix64(fnv1a(tag) ^ mix64(key.wrapping_add(GAMMA))));
        Rng { state: h }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// Uniform in \[0, 1).
    pub(super) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1\] (safe for `ln`).
    fn f64_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in \[lo, hi).
    pub(super) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in \[0, n); 0 when n = 0.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a slice of length `n` (0 when empty).
    pub(super) fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// Uniform integer in \[lo, hi\].
    pub(super) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + self.below(span) as i64
    }

    /// True with probability `p`.
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box–Muller, one value per call).
    pub(super) fn normal(&mut self) -> f64 {
        let u1 = self.f64_open0();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Normal with mean `mu` and standard deviation `sd`.
    pub(super) fn gauss(&mut self, mu: f64, sd: f64) -> f64 {
        mu + sd * self.normal()
    }

    /// Log-normal whose logarithm has mean `ln(median)` and standard deviation `sigma`.
    pub(super) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with the given mean.
    pub(super) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.f64_open0().ln()
    }

    /// Poisson with a small mean (Knuth); capped at 64.
    pub(super) fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean.max(0.0)).exp();
        let mut k = 0u32;
        let mut p = 1.0;
        loop {
            p *= self.f64();
            if p <= limit || k >= 64 {
                return k;
            }
            k += 1;
        }
    }

    /// An index drawn with probability proportional to `weights` (0 when all are ≤ 0).
    pub(super) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if total <= 0.0 {
            return 0;
        }
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if *w > 0.0 {
                if x < *w {
                    return i;
                }
                x -= *w;
            }
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// Fisher–Yates shuffle.
    pub(super) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

/// The logistic function.
pub(super) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference: state 0, first outputs of the C implementation (Vigna, prng.di.unimi.it).
        let mut r = Rng { state: 0 };
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn streams_are_keyed_and_reproducible() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::stream(7, "sim", "u1");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::stream(7, "sim", "u1");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            Rng::stream(7, "sim", "u1").next_u64(),
            Rng::stream(7, "sim", "u2").next_u64()
        );
        assert_ne!(
            Rng::stream(7, "sim", "u1").next_u64(),
            Rng::stream(8, "sim", "u1").next_u64()
        );
        assert_ne!(
            Rng::stream(7, "sim", "u1").next_u64(),
            Rng::stream(7, "enroll", "u1").next_u64()
        );
    }

    #[test]
    fn distributions_have_their_moments() {
        let mut r = Rng::stream(1, "test", "moments");
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
        let p: f64 = (0..n).map(|_| f64::from(r.poisson(2.5))).sum::<f64>() / n as f64;
        assert!((p - 2.5).abs() < 0.03, "{p}");
        let e: f64 = (0..n).map(|_| r.exponential(3.0)).sum::<f64>() / n as f64;
        assert!((e - 3.0).abs() < 0.05, "{e}");
        let u: Vec<u64> = (0..n).map(|_| r.below(10)).collect();
        assert!(u.iter().all(|x| *x < 10));
        let w = [0.0, 1.0, 3.0];
        let hits = (0..n).filter(|_| r.weighted(&w) == 2).count() as f64 / n as f64;
        assert!((hits - 0.75).abs() < 0.01, "{hits}");
    }
}
