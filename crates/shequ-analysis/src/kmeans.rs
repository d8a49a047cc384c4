//! The data-driven grouping shown beside the rule-based types, never instead of them:
//! k-means (linfa-clustering, fixed seed) on standardised dimension scores of the classified
//! communities, k from 2 to 8 chosen by the mean silhouette width.
//!
//! The silhouette is computed here rather than with linfa's `silhouette_score`, which gives a
//! community alone in its cluster a width of 1 instead of Rousseeuw's 0 and so would always
//! prefer the largest k.

use std::collections::BTreeMap;

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::Serialize;
use ts_rs::TS;

use crate::classify::{Classification, Status};
use crate::profile::CommunityProfile;

pub const K_MIN: usize = 2;
pub const K_MAX: usize = 8;
const SEED: u64 = 316;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct KMeansResult {
    pub k: u32,
    pub silhouette: f64,
    /// Mean silhouette width for every k tried.
    pub tried: Vec<(u32, f64)>,
    pub dimensions: Vec<String>,
    /// Community code → cluster (1-based).
    pub assignments: BTreeMap<String, u32>,
    /// Per cluster, the mean score of its members on each dimension (0–100).
    pub centroids: Vec<Vec<f64>>,
    /// Social type code → counts per cluster (index 0 = cluster 1).
    pub cross_table: BTreeMap<String, Vec<u32>>,
}

/// Rousseeuw's mean silhouette width (Euclidean; 0 for a point alone in its cluster).
pub fn silhouette(x: &Array2<f64>, labels: &[usize]) -> f64 {
    let n = x.nrows();
    if n == 0 {
        return 0.0;
    }
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let dist = |i: usize, j: usize| -> f64 {
        x.row(i)
            .iter()
            .zip(x.row(j).iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    };
    let mut total = 0.0;
    for i in 0..n {
        let mut sums = vec![0.0; k];
        let mut counts = vec![0usize; k];
        for j in 0..n {
            if i != j {
                sums[labels[j]] += dist(i, j);
                counts[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if counts[own] == 0 {
            continue; // s(i) = 0
        }
        let a = sums[own] / counts[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && counts[c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            let m = a.max(b);
            if m > 0.0 {
                total += (b - a) / m;
            }
        }
    }
    total / n as f64
}

/// Standardises each column to mean 0, SD 1 (a constant column becomes 0).
pub fn standardise(x: &mut Array2<f64>) {
    let n = x.nrows() as f64;
    for mut col in x.columns_mut() {
        let m = col.sum() / n;
        let sd = (col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
        col.mapv_inplace(|v| if sd > 0.0 { (v - m) / sd } else { 0.0 });
    }
}

pub fn kmeans(
    profiles: &[CommunityProfile],
    classifications: &[Classification],
) -> Option<KMeansResult> {
    let members: Vec<usize> = (0..profiles.len())
        .filter(|&i| classifications[i].status == Status::Classified)
        .collect();
    let first = profiles.get(*members.first()?)?;
    // Every dimension each member has a score for.
    let dims: Vec<String> = first
        .dimensions
        .iter()
        .map(|d| d.dimension.clone())
        .filter(|d| {
            members.iter().all(|&i| {
                profiles[i]
                    .dimensions
                    .iter()
                    .any(|x| &x.dimension == d && x.score.is_some())
            })
        })
        .collect();
    let n = members.len();
    if n <= K_MIN || dims.is_empty() {
        return None;
    }
    let raw = Array2::from_shape_fn((n, dims.len()), |(r, c)| {
        profiles[members[r]]
            .dimensions
            .iter()
            .find(|x| x.dimension == dims[c])
            .and_then(|x| x.score)
            .unwrap_or(0.0)
    });
    let mut x = raw.clone();
    standardise(&mut x);
    let data = DatasetBase::from(x.clone());
    let mut best: Option<(usize, f64, Vec<usize>)> = None;
    let mut tried = Vec::new();
    for k in K_MIN..=K_MAX.min(n - 1) {
        let rng = Xoshiro256Plus::seed_from_u64(SEED);
        let Ok(model) = KMeans::params_with_rng(k, rng)
            .n_runs(10)
            .max_n_iterations(300)
            .tolerance(1e-8)
            .fit(&data)
        else {
            continue;
        };
        let labels: Vec<usize> = model.predict(&x).to_vec();
        let s = silhouette(&x, &labels);
        tried.push((k as u32, s));
        if best.as_ref().is_none_or(|(_, b, _)| s > *b + 1e-12) {
            best = Some((k, s, labels));
        }
    }
    let (k, s, labels) = best?;
    // Number clusters by first appearance in community order, so the output is stable.
    let mut renumber: BTreeMap<usize, usize> = BTreeMap::new();
    for &l in &labels {
        let next = renumber.len();
        renumber.entry(l).or_insert(next);
    }
    let labels: Vec<usize> = labels.iter().map(|l| renumber[l]).collect();
    let mut centroids = vec![vec![0.0; dims.len()]; k];
    let mut sizes = vec![0usize; k];
    for (r, &l) in labels.iter().enumerate() {
        sizes[l] += 1;
        for c in 0..dims.len() {
            centroids[l][c] += raw[[r, c]];
        }
    }
    for (l, row) in centroids.iter_mut().enumerate() {
        for v in row.iter_mut() {
            *v /= sizes[l].max(1) as f64;
        }
    }
    let mut cross_table: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut assignments = BTreeMap::new();
    for (r, &i) in members.iter().enumerate() {
        let t = classifications[i]
            .social_type
            .map_or("none", |t| t.code())
            .to_string();
        cross_table.entry(t).or_insert_with(|| vec![0; k])[labels[r]] += 1;
        assignments.insert(profiles[i].code.clone(), labels[r] as u32 + 1);
    }
    Some(KMeansResult {
        k: k as u32,
        silhouette: s,
        tried,
        dimensions: dims,
        assignments,
        centroids,
        cross_table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silhouette_by_hand() {
        // Points 0, 1 (cluster 0) and 10 (cluster 1), one dimension.
        // s(0): a = 1, b = 10 → 0.9. s(1): a = 1, b = 9 → 8/9. s(10): alone → 0.
        let x = Array2::from_shape_vec((3, 1), vec![0.0, 1.0, 10.0]).unwrap();
        let s = silhouette(&x, &[0, 0, 1]);
        assert!((s - (0.9 + 8.0 / 9.0) / 3.0).abs() < 1e-12, "{s}");
    }

    #[test]
    fn standardise_by_hand() {
        // Column 2, 4, 6: mean 4, SD 2 → −1, 0, 1; a constant column → 0.
        let mut x = Array2::from_shape_vec((3, 2), vec![2.0, 5.0, 4.0, 5.0, 6.0, 5.0]).unwrap();
        standardise(&mut x);
        assert_eq!(x.column(0).to_vec(), vec![-1.0, 0.0, 1.0]);
        assert_eq!(x.column(1).to_vec(), vec![0.0, 0.0, 0.0]);
    }
}
