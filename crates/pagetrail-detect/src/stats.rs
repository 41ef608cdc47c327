//! Mean/standard deviation and median/MAD of small samples (baseline days, population days).

/// Mean and sample standard deviation (n − 1); (0, 0) for an empty sample.
pub(crate) fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.max(0.0).sqrt())
}

/// Mean and sample standard deviation from running sums (n, Σx, Σx²).
pub(crate) fn mean_std_sums(n: f64, sum: f64, sumsq: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 0.0);
    }
    let mean = sum / n;
    if n < 2.0 {
        return (mean, 0.0);
    }
    let var = (sumsq - sum * sum / n) / (n - 1.0);
    (mean, var.max(0.0).sqrt())
}

/// Median and median absolute deviation; reorders `xs`.
pub(crate) fn median_mad(xs: &mut [f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let med = median(xs);
    for x in xs.iter_mut() {
        *x = (*x - med).abs();
    }
    (med, median(xs))
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_samples() {
        assert_eq!(mean_std(&[]), (0.0, 0.0));
        let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!((s - 2.138).abs() < 1e-3);
        let (m2, s2) = mean_std_sums(8.0, 40.0, 232.0);
        assert!((m2 - m).abs() < 1e-9 && (s2 - s).abs() < 1e-9);
        let mut v = vec![1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0];
        assert_eq!(median_mad(&mut v), (2.0, 1.0));
    }
}
