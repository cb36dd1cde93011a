//! Seeded randomness that replays. The generator is ChaCha8 (rand_chacha), whose output for a
//! given seed and stream is fixed by its specification, and every draw below is written out
//! here rather than taken from `rand`'s distributions, whose algorithms may change between
//! versions. One seed therefore gives the same decisions on every firedrill version that keeps
//! these functions.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Independent streams drawn from one seed, so that e.g. a platform's random replace delays
/// never shift the scheduler's choices.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// When decisions happen.
    Timing = 0,
    /// Whom a decision picks.
    Selection = 1,
    /// Randomness a platform needs for itself (a managed fleet's replace delay).
    Platform = 2,
}

/// A ChaCha8 generator on one stream of a seed.
#[derive(Debug, Clone)]
pub struct SeededRng(ChaCha8Rng);

impl SeededRng {
    /// The generator for `stream` of `seed`.
    pub fn new(seed: u64, stream: Stream) -> SeededRng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream as u64);
        SeededRng(rng)
    }

    /// A uniform integer in `0..n` (`n > 0`), by rejection so no value is favoured.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no value to return");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.0.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `min..=max`.
    pub fn between(&mut self, min: u64, max: u64) -> u64 {
        if max <= min {
            return min;
        }
        min + self.below(max - min + 1)
    }

    /// An exponential draw with the given mean, by inversion: `-mean * ln(1 - u)`.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Chooses `k` of `n` positions uniformly without replacement (a partial Fisher–Yates
    /// shuffle), in the order drawn.
    pub fn choose(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        let k = k.min(n);
        for i in 0..k {
            let j = i + self.below((n - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_stream_replay() {
        let mut a = SeededRng::new(42, Stream::Selection);
        let mut b = SeededRng::new(42, Stream::Selection);
        let xs: Vec<u64> = (0..20).map(|_| a.below(7)).collect();
        let ys: Vec<u64> = (0..20).map(|_| b.below(7)).collect();
        assert_eq!(xs, ys);
    }

    #[test]
    fn streams_are_independent() {
        let mut a = SeededRng::new(42, Stream::Timing);
        let mut b = SeededRng::new(42, Stream::Selection);
        let xs: Vec<u64> = (0..8).map(|_| a.below(1 << 40)).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.below(1 << 40)).collect();
        assert_ne!(xs, ys);
    }

    #[test]
    fn output_is_pinned_across_versions() {
        // If this changes, seeded schedules recorded by earlier versions no longer replay.
        let mut r = SeededRng::new(7, Stream::Selection);
        let drawn: Vec<u64> = (0..6).map(|_| r.below(10)).collect();
        let mut again = SeededRng::new(7, Stream::Selection);
        assert_eq!(drawn, (0..6).map(|_| again.below(10)).collect::<Vec<_>>());
        assert_eq!(drawn, PINNED_SEED7_SELECTION_BELOW10.to_vec());
    }

    // Recorded from this implementation on its first release; a golden value, not a computation.
    const PINNED_SEED7_SELECTION_BELOW10: [u64; 6] = [5, 3, 8, 9, 8, 0];

    #[test]
    fn choose_picks_distinct_positions() {
        let mut r = SeededRng::new(1, Stream::Selection);
        for _ in 0..100 {
            let mut picked = r.choose(5, 3);
            picked.sort_unstable();
            picked.dedup();
            assert_eq!(picked.len(), 3);
            assert!(picked.iter().all(|&i| i < 5));
        }
    }

    #[test]
    fn exponential_draws_have_the_mean_and_variance_of_the_distribution() {
        // For an exponential distribution with mean μ the variance is μ² and the fourth central
        // moment 9μ⁴. Over n = 10,000 independent draws:
        // - the sample mean has standard error μ/√n = μ/100, so 5 standard errors is 0.05 μ;
        // - the sample variance s² has variance (μ₄ − σ⁴)/n = 8μ⁴/n, a standard error of
        //   μ²·√(8/n) ≈ 0.0283 μ², so 5 standard errors is about 0.141 μ².
        // Five standard errors leave a false alarm rate below 1e-6 for a fair generator, while a
        // draw with the wrong shape (uniform on [0, 2μ] has variance μ²/3) or the wrong scale
        // fails by dozens of standard errors. The seeds are fixed, so the test replays.
        let n = 10_000;
        let mu = 45.0; // seconds, a typical mean_time_between_kills
        for seed in [1, 2, 3] {
            let mut r = SeededRng::new(seed, Stream::Timing);
            let draws: Vec<f64> = (0..n).map(|_| r.exponential(mu)).collect();
            assert!(draws.iter().all(|d| *d >= 0.0 && d.is_finite()));
            let mean = draws.iter().sum::<f64>() / n as f64;
            let variance = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            assert!(
                (mean - mu).abs() < 0.05 * mu,
                "seed {seed}: mean {mean}, expected {mu} ± {}",
                0.05 * mu
            );
            let tolerance = 5.0 * mu * mu * (8.0 / n as f64).sqrt();
            assert!(
                (variance - mu * mu).abs() < tolerance,
                "seed {seed}: variance {variance}, expected {} ± {tolerance}",
                mu * mu
            );
        }
    }
}
