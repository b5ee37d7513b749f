//! Connectivity rules turned into CSR rows (synapses grouped by presynaptic neuron,
//! targets ascending within a row).
use crate::model::Connect;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[cfg(feature = "hdf5")]
pub(crate) mod file;
#[cfg(not(feature = "hdf5"))]
#[path = "file_missing.rs"]
pub(crate) mod file;
mod loaded;

/// Synapse structure of one projection before weights: CSR over presynaptic neurons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// `row_ptr[j]..row_ptr[j+1]` indexes the synapses of pre neuron j.
    pub row_ptr: Vec<u32>,
    /// Postsynaptic (local) index of each synapse.
    pub targets: Vec<u32>,
    /// For list rules: index of each synapse in the original list (for per-synapse values).
    pub list_index: Option<Vec<u32>>,
}

/// What a rule needs to know about the two populations.
pub struct Ends<'a> {
    /// Presynaptic size.
    pub n_pre: u32,
    /// Postsynaptic size.
    pub n_post: u32,
    /// Whether pre and post are the same population (for `allow_self`).
    pub same: bool,
    /// Grid positions of pre neurons (distance rule).
    pub pre_pos: Option<&'a [[f64; 3]]>,
    /// Grid positions of post neurons (distance rule).
    pub post_pos: Option<&'a [[f64; 3]]>,
}

/// CSR rows from `(pre, post)` pairs given in ascending `post` order within each
/// `pre` (as a rule that draws post by post, or a sorted list, yields them): a
/// stable counting sort by `pre`, O(pairs), equal to sorting the pairs.
fn from_pairs(n_pre: u32, pairs: impl Iterator<Item = (u32, u32)> + Clone) -> Rows {
    let mut row_ptr = vec![0u32; n_pre as usize + 1];
    for (p, _) in pairs.clone() {
        row_ptr[p as usize + 1] += 1;
    }
    let mut targets = scatter_rows(&mut row_ptr);
    let mut next = row_ptr.clone();
    for (p, t) in pairs {
        let at = &mut next[p as usize];
        targets[*at as usize] = t;
        *at += 1;
    }
    Rows {
        row_ptr,
        targets,
        list_index: None,
    }
}

/// CSR rows from the presynaptic ids drawn for each postsynaptic neuron in turn
/// (`pres[i·k..(i+1)·k]`, ascending): [`from_pairs`] without the pairs.
fn from_columns(n_pre: u32, k: usize, pres: &[u32]) -> Rows {
    let mut row_ptr = vec![0u32; n_pre as usize + 1];
    for &p in pres {
        row_ptr[p as usize + 1] += 1;
    }
    let mut targets = scatter_rows(&mut row_ptr);
    let mut next = row_ptr.clone();
    for (i, col) in pres.chunks(k.max(1)).enumerate() {
        for &p in col {
            let at = &mut next[p as usize];
            targets[*at as usize] = i as u32;
            *at += 1;
        }
    }
    Rows {
        row_ptr,
        targets,
        list_index: None,
    }
}

/// Turns per-row counts (`row_ptr[j + 1]` = length of row j) into row pointers
/// and returns the target array they index.
fn scatter_rows(row_ptr: &mut [u32]) -> Vec<u32> {
    for j in 1..row_ptr.len() {
        row_ptr[j] += row_ptr[j - 1];
    }
    vec![0u32; *row_ptr.last().unwrap_or(&0) as usize]
}

/// Scratch for [`Distinct::choose`], reused across the rows of a projection.
#[derive(Default)]
struct Distinct {
    /// One bit per candidate value; all clear between calls.
    bits: Vec<u64>,
    picks: Vec<u32>,
}

impl Distinct {
    /// Draws `k` distinct values from `0..n` skipping `skip`, by Floyd's algorithm,
    /// sorted into `out`.
    fn choose(
        &mut self,
        rng: &mut ChaCha8Rng,
        n: u32,
        k: u32,
        skip: Option<u32>,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        let avail = n - skip.map_or(0, |_| 1);
        let words = (avail as usize).div_ceil(64);
        if self.bits.len() < words {
            self.bits.resize(words, 0);
        }
        let bits = &mut self.bits[..words];
        let has = |b: &[u64], x: u32| b[x as usize / 64] >> (x % 64) & 1 != 0;
        self.picks.clear();
        for j in (avail - k)..avail {
            let t = rng.random_range(0..=j);
            let pick = if has(bits, t) { j } else { t };
            bits[pick as usize / 64] |= 1 << (pick % 64);
            self.picks.push(pick);
        }
        // Sorted either by scanning the bits (dense draws) or by sorting the picks.
        if words <= 4 * k as usize {
            for (w, word) in bits.iter_mut().enumerate() {
                let mut b = std::mem::take(word);
                while b != 0 {
                    out.push(w as u32 * 64 + b.trailing_zeros());
                    b &= b - 1;
                }
            }
        } else {
            for &x in &self.picks {
                bits[x as usize / 64] = 0;
            }
            out.extend_from_slice(&self.picks);
            out.sort_unstable();
        }
        if let Some(s) = skip {
            out.iter_mut().filter(|x| **x >= s).for_each(|x| *x += 1);
        }
    }
}

/// Working memory of [`generate_with`], reused across projections: a network's
/// fixed in-degree draws go through one buffer instead of faulting in fresh pages
/// for every projection.
#[derive(Default)]
pub struct Scratch {
    distinct: Distinct,
    pres: Vec<u32>,
    buf: Vec<u32>,
}

/// Generates the synapses of a rule. The rule has been validated. A `file`
/// rule makes none here: the build reads its synapses from the file.
#[cfg(test)]
pub fn generate(rule: &Connect, e: &Ends, rng: &mut ChaCha8Rng) -> Rows {
    generate_with(rule, e, rng, &mut Scratch::default())
}

/// `generate` with working memory kept between calls.
pub fn generate_with(rule: &Connect, e: &Ends, rng: &mut ChaCha8Rng, sc: &mut Scratch) -> Rows {
    let (n_pre, n_post) = (e.n_pre, e.n_post);
    match rule {
        Connect::AllToAll { allow_self } => {
            let drop_self = e.same && !allow_self;
            let mut row_ptr = Vec::with_capacity(n_pre as usize + 1);
            let mut targets = Vec::new();
            row_ptr.push(0);
            for j in 0..n_pre {
                targets.extend((0..n_post).filter(|&i| !(drop_self && i == j)));
                row_ptr.push(targets.len() as u32);
            }
            Rows {
                row_ptr,
                targets,
                list_index: None,
            }
        }
        Connect::OneToOne {} => Rows {
            row_ptr: (0..=n_pre).collect(),
            targets: (0..n_pre).collect(),
            list_index: None,
        },
        Connect::FixedProbability { p, allow_self } => {
            let drop_self = e.same && !allow_self;
            let mut row_ptr = Vec::with_capacity(n_pre as usize + 1);
            // Expected count plus slack, to avoid regrowing a large vector.
            let expect = n_pre as f64 * n_post as f64 * p;
            let mut targets = Vec::with_capacity((expect + 4.0 * expect.sqrt()) as usize + 16);
            row_ptr.push(0);
            // Geometric skipping: O(synapses), not O(n_pre * n_post).
            let log_q = (1.0 - p).ln();
            for j in 0..n_pre {
                // Below 2^-53, 1 - p rounds to 1 and the skips cannot be drawn:
                // such a p makes no synapse among fewer than 2^53 pairs.
                if *p > 0.0 && log_q < 0.0 {
                    let mut i: i64 = -1;
                    loop {
                        let u: f64 = rng.random();
                        // The quotient is >= 0 (or NaN, or +inf), where truncating
                        // `as i64` equals `floor()` then `as i64`; floor() is a libm
                        // call on the baseline x86-64 target.
                        let skip = if *p >= 1.0 {
                            0
                        } else {
                            ((1.0 - u).ln() / log_q) as i64
                        };
                        // Saturating: a small p makes the skip +inf, i64::MAX.
                        i = i.saturating_add(skip).saturating_add(1);
                        if i >= n_post as i64 {
                            break;
                        }
                        if !(drop_self && i == j as i64) {
                            targets.push(i as u32);
                        }
                    }
                }
                row_ptr.push(targets.len() as u32);
            }
            Rows {
                row_ptr,
                targets,
                list_index: None,
            }
        }
        Connect::FixedIndegree { k, allow_self } => {
            // The presynaptic ids of each postsynaptic neuron in turn.
            let Scratch {
                distinct,
                pres,
                buf,
            } = sc;
            pres.clear();
            pres.reserve((n_post as usize) * (*k as usize));
            for i in 0..n_post {
                let skip = (e.same && !allow_self).then_some(i);
                distinct.choose(rng, n_pre, *k, skip, buf);
                pres.extend_from_slice(buf);
            }
            from_columns(n_pre, *k as usize, pres)
        }
        Connect::FixedOutdegree { k, allow_self } => {
            let mut row_ptr = vec![0u32];
            let mut targets = Vec::with_capacity((n_pre as usize) * (*k as usize));
            let Scratch { distinct, buf, .. } = sc;
            for j in 0..n_pre {
                let skip = (e.same && !allow_self).then_some(j);
                distinct.choose(rng, n_post, *k, skip, buf);
                targets.extend_from_slice(buf);
                row_ptr.push(targets.len() as u32);
            }
            Rows {
                row_ptr,
                targets,
                list_index: None,
            }
        }
        Connect::Distance {
            c,
            lambda,
            allow_self,
        } => {
            let (pre_pos, post_pos) = (e.pre_pos.unwrap_or(&[]), e.post_pos.unwrap_or(&[]));
            let drop_self = e.same && !allow_self;
            let inv_l2 = 1.0 / (lambda * lambda);
            let mut row_ptr = vec![0u32];
            let mut targets = Vec::new();
            for (j, a) in pre_pos.iter().enumerate() {
                for (i, b) in post_pos.iter().enumerate() {
                    if drop_self && i == j {
                        continue;
                    }
                    let d2 = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2);
                    let p = c * (-d2 * inv_l2).exp();
                    if rng.random::<f64>() < p {
                        targets.push(i as u32);
                    }
                }
                row_ptr.push(targets.len() as u32);
            }
            Rows {
                row_ptr,
                targets,
                list_index: None,
            }
        }
        Connect::List { pre, post, .. } => {
            let mut idx: Vec<u32> = (0..pre.len() as u32).collect();
            idx.sort_by_key(|&k| (pre[k as usize], post[k as usize], k));
            let mut rows = from_pairs(
                n_pre,
                idx.iter().map(|&k| (pre[k as usize], post[k as usize])),
            );
            rows.list_index = Some(idx);
            rows
        }
        Connect::File { .. } => Rows {
            row_ptr: vec![0; n_pre as usize + 1],
            targets: vec![],
            list_index: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn ends(n_pre: u32, n_post: u32, same: bool) -> Ends<'static> {
        Ends {
            n_pre,
            n_post,
            same,
            pre_pos: None,
            post_pos: None,
        }
    }

    #[test]
    fn fixed_probability_has_expected_density_and_no_self() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let r = generate(
            &Connect::FixedProbability {
                p: 0.02,
                allow_self: false,
            },
            &ends(2000, 2000, true),
            &mut rng,
        );
        let n = r.targets.len() as f64;
        let expect = 0.02 * 2000.0 * 1999.0;
        assert!(
            (n - expect).abs() < 4.0 * (expect * 0.98).sqrt(),
            "{n} vs {expect}"
        );
        for j in 0..2000 {
            let row = &r.targets[r.row_ptr[j] as usize..r.row_ptr[j + 1] as usize];
            assert!(row.windows(2).all(|w| w[0] < w[1]));
            assert!(!row.contains(&(j as u32)));
        }
    }

    /// Floyd's algorithm over a hash set, then sorted: what `Distinct::choose` must equal.
    fn choose_reference(rng: &mut ChaCha8Rng, n: u32, k: u32, skip: Option<u32>) -> Vec<u32> {
        let avail = n - skip.map_or(0, |_| 1);
        let mut chosen = std::collections::HashSet::new();
        for j in (avail - k)..avail {
            let t = rng.random_range(0..=j);
            chosen.insert(if chosen.contains(&t) { j } else { t });
        }
        let mut out: Vec<u32> = chosen
            .into_iter()
            .map(|x| match skip {
                Some(s) if x >= s => x + 1,
                _ => x,
            })
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn distinct_draws_equal_floyd_with_a_hash_set() {
        let (mut a, mut b) = (ChaCha8Rng::seed_from_u64(9), ChaCha8Rng::seed_from_u64(9));
        let (mut d, mut out) = (Distinct::default(), vec![]);
        // Dense and sparse draws (both output paths), with and without a skipped id,
        // on one scratch so stale bits would show.
        for &(n, k) in &[
            (10, 10),
            (100, 7),
            (10_000, 1000),
            (100_000, 3),
            (65, 64),
            (1, 1),
        ] {
            for skip in [None, Some(0), Some(n / 2)] {
                let n = if skip.is_some() { n + 1 } else { n };
                for _ in 0..20 {
                    d.choose(&mut a, n, k, skip, &mut out);
                    assert_eq!(out, choose_reference(&mut b, n, k, skip), "n {n} k {k}");
                }
            }
        }
    }

    #[test]
    fn counting_sort_equals_sorting_the_pairs() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (n_pre, n_post, k) = (300u32, 200u32, 30u32);
        let r = generate(
            &Connect::FixedIndegree {
                k,
                allow_self: true,
            },
            &ends(n_pre, n_post, false),
            &mut rng,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut pairs = vec![];
        for i in 0..n_post {
            pairs.extend(
                choose_reference(&mut rng, n_pre, k, None)
                    .into_iter()
                    .map(|j| (j, i)),
            );
        }
        pairs.sort_unstable();
        assert_eq!(r.targets, pairs.iter().map(|p| p.1).collect::<Vec<_>>());
        for j in 0..n_pre as usize {
            let n = pairs.iter().filter(|p| p.0 as usize == j).count() as u32;
            assert_eq!(r.row_ptr[j + 1] - r.row_ptr[j], n);
        }
    }

    #[test]
    fn fixed_indegree_gives_exact_indegree() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let r = generate(
            &Connect::FixedIndegree {
                k: 7,
                allow_self: false,
            },
            &ends(50, 50, true),
            &mut rng,
        );
        let mut indeg = [0; 50];
        for j in 0..50 {
            for &t in &r.targets[r.row_ptr[j] as usize..r.row_ptr[j + 1] as usize] {
                assert_ne!(t as usize, j);
                indeg[t as usize] += 1;
            }
        }
        assert!(indeg.iter().all(|&d| d == 7));
    }

    #[test]
    fn all_to_all_and_list() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let r = generate(
            &Connect::AllToAll { allow_self: false },
            &ends(3, 3, true),
            &mut rng,
        );
        assert_eq!(r.targets, vec![1, 2, 0, 2, 0, 1]);
        let l = Connect::List {
            pre: vec![2, 0, 2],
            post: vec![1, 1, 0],
            weights: None,
            delays_ms: None,
        };
        let r = generate(&l, &ends(3, 2, false), &mut rng);
        assert_eq!(r.row_ptr, vec![0, 1, 1, 3]);
        assert_eq!(r.targets, vec![1, 0, 1]);
        assert_eq!(r.list_index, Some(vec![1, 2, 0]));
    }
}
