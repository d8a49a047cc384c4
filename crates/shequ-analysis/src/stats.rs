//! The statistics a community profile carries: mean, SD, the t-based 95% confidence interval,
//! ICC(1) from a one-way ANOVA across communities, the reliability of a community mean, and
//! percentile ranks. Small, exact formulas; the t quantile comes from `statrs`.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean, sample SD (n − 1) and the 95% CI of the mean from the t distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: u32,
    pub mean: f64,
    /// `None` for n < 2.
    pub sd: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The two-sided 95% t quantile for `df` degrees of freedom (t₀.₉₇₅).
pub fn t975(df: u32) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(f64::NAN)
}

pub fn summarize(xs: &[f64]) -> Option<Summary> {
    let m = mean(xs)?;
    let n = xs.len();
    if n < 2 {
        return Some(Summary {
            n: n as u32,
            mean: m,
            sd: None,
            ci_low: None,
            ci_high: None,
        });
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t975(n as u32 - 1) * sd / (n as f64).sqrt();
    Some(Summary {
        n: n as u32,
        mean: m,
        sd: Some(sd),
        ci_low: Some(m - half),
        ci_high: Some(m + half),
    })
}

/// ICC(1) from a one-way random-effects ANOVA over groups of individual scores:
/// (MSB − MSW) / (MSB + (n₀ − 1)·MSW), with n₀ = (N − Σnⱼ²/N) / (J − 1) for unequal group
/// sizes. Groups with fewer than two scores are left out. `None` when fewer than two groups
/// remain or there is no variance at all.
pub fn icc1(groups: &[Vec<f64>]) -> Option<f64> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| g.len() >= 2).collect();
    let j = groups.len();
    if j < 2 {
        return None;
    }
    let n_total: usize = groups.iter().map(|g| g.len()).sum();
    let grand = groups.iter().flat_map(|g| g.iter()).sum::<f64>() / n_total as f64;
    let mut ssb = 0.0;
    let mut ssw = 0.0;
    for g in &groups {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        ssb += g.len() as f64 * (m - grand) * (m - grand);
        ssw += g.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    }
    let msb = ssb / (j - 1) as f64;
    let msw = ssw / (n_total - j) as f64;
    let sum_sq: f64 = groups.iter().map(|g| (g.len() * g.len()) as f64).sum();
    let n0 = (n_total as f64 - sum_sq / n_total as f64) / (j - 1) as f64;
    let denom = msb + (n0 - 1.0) * msw;
    (denom > 0.0).then(|| (msb - msw) / denom)
}

/// The reliability of a community mean of n respondents, λ = n·ICC / (1 + (n − 1)·ICC)
/// (Spearman–Brown). A negative ICC estimate is read as 0 (no between-community variance).
pub fn reliability(n: u32, icc: f64) -> f64 {
    let icc = icc.max(0.0);
    let n = n as f64;
    let denom = 1.0 + (n - 1.0) * icc;
    if denom <= 0.0 {
        0.0
    } else {
        n * icc / denom
    }
}

/// Percentile rank of `x` among `all` (which includes it): (below + ½·equal) / N × 100.
pub fn percentile_rank(x: f64, all: &[f64]) -> Option<f64> {
    if all.is_empty() {
        return None;
    }
    let below = all.iter().filter(|&&y| y < x).count() as f64;
    let equal = all.iter().filter(|&&y| y == x).count() as f64;
    Some((below + 0.5 * equal) / all.len() as f64 * 100.0)
}

/// The median (mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let k = v.len();
    Some(if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} vs {b}");
    }

    #[test]
    fn summary_by_hand() {
        // 50, 75, 100: mean 75, SD = sqrt((625 + 0 + 625) / 2) = 25,
        // t(0.975, 2) = 4.302653, half-width = 4.302653 × 25 / √3 = 62.1034.
        let s = summarize(&[50.0, 75.0, 100.0]).unwrap();
        assert_eq!(s.n, 3);
        close(s.mean, 75.0, 1e-12);
        close(s.sd.unwrap(), 25.0, 1e-12);
        close(s.ci_low.unwrap(), 75.0 - 62.1034, 1e-3);
        close(s.ci_high.unwrap(), 75.0 + 62.1034, 1e-3);
        // One score: a mean, no spread, no interval.
        let one = summarize(&[40.0]).unwrap();
        assert_eq!((one.mean, one.sd, one.ci_low), (40.0, None, None));
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn t_quantiles_match_tables() {
        close(t975(1), 12.7062, 1e-3);
        close(t975(9), 2.2622, 1e-4);
        close(t975(29), 2.0452, 1e-4);
    }

    #[test]
    fn icc_and_reliability_by_hand() {
        // Two groups of three: {1,2,3} mean 2 and {4,5,6} mean 5; grand mean 3.5.
        // SSB = 3·1.5² + 3·1.5² = 13.5, MSB = 13.5 / 1 = 13.5.
        // SSW = (1+0+1) + (1+0+1) = 4, MSW = 4 / 4 = 1.
        // n₀ = (6 − 18/6) / 1 = 3. ICC = (13.5 − 1) / (13.5 + 2·1) = 12.5 / 15.5.
        let icc = icc1(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]).unwrap();
        close(icc, 12.5 / 15.5, 1e-12);
        // λ for n = 30, ICC = .064: 30·.064 / (1 + 29·.064) = 1.92 / 2.856 = 0.6723.
        close(reliability(30, 0.064), 0.6723, 1e-4);
        close(reliability(100, 0.01), 0.5025, 1e-4);
        // No between-group difference: the estimate is negative and λ is 0.
        let flat = icc1(&[vec![1.0, 3.0], vec![1.0, 3.0]]).unwrap();
        assert!(flat < 0.0);
        assert_eq!(reliability(50, flat), 0.0);
        // Unequal sizes: {0, 2} and {4, 5, 6}; N = 5, J = 2, n₀ = (5 − 13/5) / 1 = 2.4.
        // grand = 17/5 = 3.4; SSB = 2·2.4² + 3·1.6² = 11.52 + 7.68 = 19.2; MSB = 19.2.
        // SSW = 2 + 2 = 4; MSW = 4/3. ICC = (19.2 − 4/3) / (19.2 + 1.4·4/3).
        let icc = icc1(&[vec![0.0, 2.0], vec![4.0, 5.0, 6.0]]).unwrap();
        close(icc, (19.2 - 4.0 / 3.0) / (19.2 + 1.4 * 4.0 / 3.0), 1e-12);
        // One group, or groups of one: no estimate.
        assert!(icc1(&[vec![1.0, 2.0]]).is_none());
        assert!(icc1(&[vec![1.0], vec![2.0]]).is_none());
    }

    #[test]
    fn ranks_and_medians() {
        let all = [10.0, 20.0, 20.0, 40.0];
        assert_eq!(percentile_rank(20.0, &all), Some(50.0)); // (1 + 1) / 4
        assert_eq!(percentile_rank(40.0, &all), Some(87.5));
        assert_eq!(median(&all), Some(20.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }
}
