//! The statistics behind `compare`: samples as sorted (value, count) pairs, nearest-rank
//! percentiles, the Mann-Whitney U test, and the two-proportion z-test. Pure arithmetic, no
//! dependencies: both tests use the normal approximation, so all they need is `erfc`.
//!
//! Why Mann-Whitney U and not a bootstrap interval on the difference of the medians: recovery
//! times are skewed and often bimodal (a rebuild delay drawn from a range, plus the odd slow
//! start), so a test that assumes normality is out; a rank test assumes nothing about the shape,
//! one outlier moves it by one rank and no more, and it is deterministic, so the same two runs
//! always get the same verdict, where a bootstrap needs a random stream and thousands of
//! resamples to say the same thing less exactly at the sample sizes of a chaos run (4–100 kills).

use serde::{Deserialize, Serialize};

/// A sample set, sorted by value, each distinct value with how often it occurs. Exact per-kill
/// samples have count 1; a decoded HdrHistogram gives each bucket's value and count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    values: Vec<(u64, u64)>,
    count: u64,
}

impl Samples {
    /// Samples from single values, in any order.
    pub fn from_values(values: &[u64]) -> Samples {
        Samples::from_counts(values.iter().map(|&v| (v, 1)))
    }

    /// Samples from (value, count) pairs, in any order; zero counts are dropped.
    pub fn from_counts(pairs: impl IntoIterator<Item = (u64, u64)>) -> Samples {
        let mut values: Vec<(u64, u64)> = pairs.into_iter().filter(|(_, c)| *c > 0).collect();
        values.sort_unstable();
        values.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 += later.1;
            }
            same
        });
        let count = values.iter().map(|(_, c)| c).sum();
        Samples { values, count }
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The nearest-rank `q` quantile (0 < q ≤ 1): the smallest sample with at least q of all
    /// samples at or below it; `None` when there are no samples.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count.max(1));
        let mut seen = 0;
        self.values.iter().find_map(|&(v, c)| {
            seen += c;
            (seen >= rank).then_some(v)
        })
    }

    /// The largest sample.
    pub fn max(&self) -> Option<u64> {
        self.values.last().map(|(v, _)| *v)
    }

    /// How many samples are strictly above `threshold`.
    pub fn above(&self, threshold: u64) -> u64 {
        self.values
            .iter()
            .filter(|(v, _)| *v > threshold)
            .map(|(_, c)| c)
            .sum()
    }
}

/// The Mann-Whitney U test of a current sample set against a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankTest {
    /// U of the current run: the pairs (baseline, current) where the current sample is larger,
    /// ties counting one half.
    pub u: f64,
    /// U over all pairs: the chance that a current sample is larger than a baseline one (0.5
    /// when neither run tends to be slower).
    pub prob_current_larger: f64,
    /// The standard score of U (tie-corrected variance, continuity-corrected).
    pub z: f64,
    /// Two-sided p-value from the normal approximation.
    pub p_value: f64,
}

/// Mann-Whitney U with the tie correction and the normal approximation (continuity-corrected),
/// two-sided; `None` when either side is empty.
pub fn mann_whitney(baseline: &Samples, current: &Samples) -> Option<RankTest> {
    let (nb, nc) = (baseline.count as f64, current.count as f64);
    if baseline.count == 0 || current.count == 0 {
        return None;
    }
    let n = nb + nc;
    // Walk both sorted lists at once: each distinct value is one tie group occupying the next
    // `b + c` ranks, all of which get the group's average rank.
    let (mut i, mut j) = (0, 0);
    let (mut rank_below, mut rank_sum_current, mut ties) = (0.0_f64, 0.0_f64, 0.0_f64);
    while i < baseline.values.len() || j < current.values.len() {
        let next_b = baseline.values.get(i).map(|p| p.0);
        let next_c = current.values.get(j).map(|p| p.0);
        let value = match (next_b, next_c) {
            (Some(b), Some(c)) => b.min(c),
            (Some(b), None) => b,
            (None, Some(c)) => c,
            (None, None) => break,
        };
        let in_group = |side: &[(u64, u64)], k: &mut usize| match side.get(*k) {
            Some(&(v, count)) if v == value => {
                *k += 1;
                count as f64
            }
            _ => 0.0,
        };
        let b = in_group(&baseline.values, &mut i);
        let c = in_group(&current.values, &mut j);
        let t = b + c;
        let average_rank = rank_below + (t + 1.0) / 2.0;
        rank_sum_current += c * average_rank;
        ties += t * t * t - t;
        rank_below += t;
    }
    let u = rank_sum_current - nc * (nc + 1.0) / 2.0;
    let mean = nb * nc / 2.0;
    let variance = nb * nc / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let (z, p_value) = if variance > 0.0 {
        let distance = ((u - mean).abs() - 0.5).max(0.0);
        let z = distance.copysign(u - mean) / variance.sqrt();
        (z, two_sided_p(z))
    } else {
        // Every sample is the same value: nothing tells the runs apart.
        (0.0, 1.0)
    };
    Some(RankTest {
        u,
        prob_current_larger: u / (nb * nc),
        z,
        p_value,
    })
}

/// The two-proportion z-test (pooled, two-sided) of `x_b` in `n_b` against `x_c` in `n_c`;
/// `None` when either side has no trials. Returns (z, p); z > 0 when the current share is larger.
pub fn two_proportions(x_b: u64, n_b: u64, x_c: u64, n_c: u64) -> Option<(f64, f64)> {
    if n_b == 0 || n_c == 0 {
        return None;
    }
    let (nb, nc) = (n_b as f64, n_c as f64);
    let pooled = (x_b + x_c) as f64 / (nb + nc);
    let se = (pooled * (1.0 - pooled) * (1.0 / nb + 1.0 / nc)).sqrt();
    if se <= 0.0 {
        // Both all failures or both none: the shares are equal.
        return Some((0.0, 1.0));
    }
    let z = (x_c as f64 / nc - x_b as f64 / nb) / se;
    Some((z, two_sided_p(z)))
}

/// P(|Z| ≥ |z|) for a standard normal Z.
fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// The complementary error function, to a fractional error below 1.2e-7 everywhere (the
/// Chebyshev fit of Numerical Recipes, `erfcc`): ample for a p-value compared with 0.05.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0) = 1, erfc(1) = 0.157299207, erfc(2) = 0.004677735, erfc(-1) = 1.842700793.
        assert!(close(erfc(0.0), 1.0, 1e-7));
        assert!(close(erfc(1.0), 0.157_299_207, 1e-7));
        assert!(close(erfc(2.0), 0.004_677_735, 1e-8));
        assert!(close(erfc(-1.0), 1.842_700_793, 1e-7));
    }

    #[test]
    fn mann_whitney_of_fully_separated_samples() {
        // Every current sample beats every baseline one: U = 3·3 = 9, mean 4.5,
        // variance 3·3·7/12 = 5.25, z = (4.5 − 0.5)/√5.25 = 1.7457, p = 0.08086 (scipy's
        // mannwhitneyu(..., method="asymptotic") gives 0.0808556).
        let t = mann_whitney(
            &Samples::from_values(&[1, 2, 3]),
            &Samples::from_values(&[4, 5, 6]),
        )
        .unwrap();
        assert_eq!(t.u, 9.0);
        assert_eq!(t.prob_current_larger, 1.0);
        assert!(close(t.z, 1.745_743, 1e-5), "{t:?}");
        assert!(close(t.p_value, 0.080_856, 1e-5), "{t:?}");
        // The other way round: U = 0, the same p, z negative.
        let back = mann_whitney(
            &Samples::from_values(&[4, 5, 6]),
            &Samples::from_values(&[1, 2, 3]),
        )
        .unwrap();
        assert_eq!(back.u, 0.0);
        assert!(close(back.z, -1.745_743, 1e-5) && close(back.p_value, t.p_value, 1e-12));
    }

    #[test]
    fn mann_whitney_with_ties() {
        // Baseline 1 2 2, current 2 3 3. Ranks: 1 → 1; the three 2s → 3; the two 3s → 5.5.
        // Current rank sum 3 + 5.5 + 5.5 = 14, U = 14 − 6 = 8 (by pairs: 2 beats 1 and ties
        // two 2s: 2; each 3 beats all three: 6). Ties: (27 − 3) + (8 − 2) = 30, so the variance
        // is 9/12 · (7 − 30/30) = 4.5; z = (8 − 4.5 − 0.5)/√4.5 = √2, p = erfc(1) = 0.157299.
        let t = mann_whitney(
            &Samples::from_values(&[1, 2, 2]),
            &Samples::from_values(&[2, 3, 3]),
        )
        .unwrap();
        assert_eq!(t.u, 8.0);
        assert!(close(t.z, std::f64::consts::SQRT_2, 1e-9), "{t:?}");
        assert!(close(t.p_value, 0.157_299, 1e-6), "{t:?}");
        // The same samples as (value, count) pairs give the same test.
        let counted = mann_whitney(
            &Samples::from_counts([(2, 2), (1, 1)]),
            &Samples::from_counts([(3, 2), (2, 1)]),
        )
        .unwrap();
        assert_eq!(counted, t);
    }

    #[test]
    fn identical_samples_are_indistinguishable() {
        let s = Samples::from_values(&[5, 5, 5, 5]);
        let t = mann_whitney(&s, &s).unwrap();
        assert_eq!((t.u, t.z, t.p_value), (8.0, 0.0, 1.0));
        let spread = Samples::from_values(&[10, 20, 30, 40, 50]);
        let t = mann_whitney(&spread, &spread).unwrap();
        assert_eq!(t.prob_current_larger, 0.5);
        assert_eq!(t.p_value, 1.0);
        assert!(mann_whitney(&spread, &Samples::default()).is_none());
    }

    #[test]
    fn two_proportions_matches_a_chi_square_test() {
        // 10/100 against 20/100: pooled 0.15, z = 0.1/√(0.15·0.85·0.02) = 1.9803; R's
        // prop.test(c(10, 20), c(100, 100), correct = FALSE) gives p = 0.04767.
        let (z, p) = two_proportions(10, 100, 20, 100).unwrap();
        assert!(close(z, 1.980_295, 1e-5), "{z}");
        assert!(close(p, 0.047_67, 1e-4), "{p}");
        assert_eq!(two_proportions(0, 500, 0, 700), Some((0.0, 1.0)));
        assert_eq!(two_proportions(0, 0, 1, 10), None);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let s = Samples::from_values(&[50, 10, 40, 20, 30, 60, 70, 80, 90, 100]);
        assert_eq!(s.count(), 10);
        assert_eq!(s.quantile(0.5), Some(50));
        assert_eq!(s.quantile(0.9), Some(90));
        // With 10 samples, p99 is the maximum: why tails need many samples to be judged.
        assert_eq!(s.quantile(0.99), Some(100));
        assert_eq!(s.max(), Some(100));
        assert_eq!(s.above(80), 2);
        assert_eq!(Samples::default().quantile(0.5), None);
        let counted = Samples::from_counts([(7, 3), (9, 1), (7, 1)]);
        assert_eq!((counted.count(), counted.quantile(0.75)), (5, Some(7)));
    }
}
