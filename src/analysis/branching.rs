//! Branching factor of a liquid (the recurrent reservoir of a liquid state machine),
//! as NALSM defines it (combra-lab/NALSM, `compute_branching_factor.py`).
//!
//! With 1-ms steps and the default [`BranchingParams`], for each recorded sample of
//! 250 ms: spikes in the first and last 25 ms are discarded; for each liquid neuron
//! `n` and each step `t` in `[25 + 4, 225 − 4)` at which `n` spikes,
//!
//! * `pre(t)`: spikes of `n`'s liquid presynaptic neurons in `[t − 4, t)`,
//! * `post(t)`: spikes of `n`'s liquid postsynaptic neurons in `[t + 1, t + 5)`,
//! * `ratio(t) = post(t) / max(pre(t), 1)`.
//!
//! A neuron's BF is the mean of its ratios; a sample's BF is the mean over the
//! neurons that have at least one such `t`; the reported BF is the mean over the
//! samples that have a value.
//!
//! Other steps: every duration is converted to `round(ms / dt_ms)` steps (nearest,
//! halves away from zero), so 1-ms steps reproduce the integer-ms definition exactly.
//! A spike at step `t` gets a ratio when both of its windows lie inside the kept
//! part of the sample, `[E, L − E)` in steps from its start: `t − W ≥ E` and
//! `t + G + W ≤ L − E` (`E`, `W`, `G` the edge, window and gap in steps). With
//! `G = 1` this is NALSM's `[E + W, L − E − W)`, and since both windows then lie in
//! the kept part, spikes in the discarded edges never count.
//!
//! NALSM also clips `pre(t)` at `N·W + 100` (`N` liquid neurons), which a count of
//! at most one spike per neuron and step cannot reach, so the clip is omitted.
//!
//! A sample's BF averages over that sample's own spikes: a cascade that dies out
//! inside a sample averages `(S − 1) / S` over its `S` spikes, so samples holding
//! only a few cascades read below the underlying branching ratio.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Windows of the branching factor, in ms (converted to steps by rounding to the
/// nearest whole step, see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BranchingParams {
    /// Discarded at the start and at the end of every sample (default 25).
    pub edge_ms: f64,
    /// Length of the presynaptic window before a spike and of the postsynaptic
    /// window after it (default 4).
    pub window_ms: f64,
    /// From a spike to the start of its postsynaptic window (default 1).
    pub post_gap_ms: f64,
}

impl Default for BranchingParams {
    fn default() -> Self {
        BranchingParams {
            edge_ms: 25.0,
            window_ms: 4.0,
            post_gap_ms: 1.0,
        }
    }
}

/// [`BranchingParams`] in steps.
#[derive(Clone, Copy, Debug)]
struct Steps {
    edge: u64,
    window: u64,
    gap: u64,
}

impl BranchingParams {
    fn steps(&self, dt_ms: f64) -> Result<Steps> {
        if !(dt_ms > 0.0) || !dt_ms.is_finite() {
            return Err(Error::Range {
                what: "branching factor: dt_ms".into(),
                value: dt_ms,
                expected: "a finite value > 0".into(),
            });
        }
        let to_steps = |name: &str, ms: f64| {
            if !(ms >= 0.0) || !ms.is_finite() {
                return Err(Error::Range {
                    what: format!("branching factor: {name}"),
                    value: ms,
                    expected: "a finite value ≥ 0".into(),
                });
            }
            Ok((ms / dt_ms).round() as u64)
        };
        let steps = Steps {
            edge: to_steps("edge_ms", self.edge_ms)?,
            window: to_steps("window_ms", self.window_ms)?,
            gap: to_steps("post_gap_ms", self.post_gap_ms)?,
        };
        if steps.window == 0 {
            return Err(Error::Range {
                what: "branching factor: window_ms".into(),
                value: self.window_ms,
                expected: format!("at least half a step of {dt_ms} ms"),
            });
        }
        Ok(steps)
    }
}

/// Each liquid neuron's unique presynaptic and postsynaptic liquid neighbours.
///
/// Built once from the liquid's synapses; neuron ids are local to the liquid
/// (`0..len()`). Self-connections are left out: NALSM liquids have none, and a
/// neuron's own spike would otherwise count as its own successor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiquidGraph {
    pre: Csr,
    post: Csr,
}

/// Row `i` is `ids[start[i]..start[i + 1]]`, ascending.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Csr {
    start: Vec<usize>,
    ids: Vec<u32>,
}

impl Csr {
    /// Rows of `n` keys from `(key, value)` pairs sorted by key.
    fn new(n: usize, sorted: &[(u32, u32)]) -> Self {
        let mut start = vec![0usize; n + 1];
        for &(k, _) in sorted {
            start[k as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let ids = sorted.iter().map(|&(_, v)| v).collect();
        Csr { start, ids }
    }

    fn row(&self, i: usize) -> &[u32] {
        &self.ids[self.start[i]..self.start[i + 1]]
    }
}

impl LiquidGraph {
    /// The recurrent graph among populations `pops` (indices into `built.pops`, in
    /// liquid-id order; repeats ignored) of a built network, with the liquid-id
    /// offset of each of them. Every projection from one of them to one of them
    /// contributes its synapses.
    pub fn of_populations(built: &crate::build::Built, pops: &[usize]) -> Result<(Self, Vec<u32>)> {
        let mut local = vec![None; built.pops.len()];
        let mut offsets = vec![];
        let mut n = 0u32;
        for &i in pops {
            let p = (built.pops.get(i))
                .ok_or_else(|| Error::no_index("population", i, built.pops.len()))?;
            if local[i].is_none() {
                local[i] = Some(n);
                n += p.size;
            }
            offsets.push(local[i].expect("just set"));
        }
        let mut edges = vec![];
        for pr in built.projs.iter() {
            let (Some(a), Some(b)) = (local[pr.pre], local[pr.post]) else {
                continue;
            };
            for i in 0..pr.row_ptr.len().saturating_sub(1) {
                let (s0, s1) = (pr.row_ptr[i] as usize, pr.row_ptr[i + 1] as usize);
                edges.extend(pr.targets[s0..s1].iter().map(|&t| (a + i as u32, b + t)));
            }
        }
        Ok((Self::from_edges(n as usize, edges)?, offsets))
    }

    /// Graph of `n` neurons from `(pre, post)` synapses. Repeated synapses count once,
    /// self-connections are dropped. An id `≥ n` is an [`Error::Argument`] naming it.
    pub fn from_edges(n: usize, edges: impl IntoIterator<Item = (u32, u32)>) -> Result<Self> {
        let mut pairs = Vec::new();
        for (pre, post) in edges {
            if let Some(bad) = [pre, post].into_iter().find(|&id| id as usize >= n) {
                return Err(Error::argument(
                    format!("liquid synapse ({pre} → {post})"),
                    format!("neuron {bad} is out of range for a liquid of {n} neurons"),
                ));
            }
            if pre != post {
                pairs.push((pre, post));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let post = Csr::new(n, &pairs);
        let mut flipped: Vec<(u32, u32)> = pairs.iter().map(|&(a, b)| (b, a)).collect();
        flipped.sort_unstable();
        let pre = Csr::new(n, &flipped);
        Ok(LiquidGraph { pre, post })
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.pre.start.len().saturating_sub(1)
    }

    /// Whether the liquid has no neurons.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of unique synapses kept (self-connections excluded).
    pub fn n_edges(&self) -> usize {
        self.post.ids.len()
    }

    /// Unique presynaptic neighbours of `neuron`, ascending; `None` when out of range.
    pub fn pre(&self, neuron: u32) -> Option<&[u32]> {
        let i = neuron as usize;
        (i < self.len()).then(|| self.pre.row(i))
    }

    /// Unique postsynaptic neighbours of `neuron`, ascending; `None` when out of range.
    pub fn post(&self, neuron: u32) -> Option<&[u32]> {
        let i = neuron as usize;
        (i < self.len()).then(|| self.post.row(i))
    }
}

/// Branching factors of several samples and their mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BranchingReport {
    /// One entry per sample start, in the order given; `None` where no neuron
    /// spiked inside the sample's counted range.
    pub per_sample: Vec<Option<f64>>,
    /// Mean over the samples that have a value (NALSM's `nanmean`); `None` when none has.
    pub mean: Option<f64>,
}

/// Each neuron's branching factor in the sample of `len_steps` steps starting at
/// `start_step`: `None` for neurons with no spike in the counted range (see the
/// [module docs](self)).
///
/// `spikes` are `(step, neuron)` with liquid-local ids, in any order; a repeated
/// entry counts once and spikes outside the sample are ignored. Every spike's id is
/// checked: one `≥ graph.len()` is an [`Error::Argument`] naming it; invalid
/// `dt_ms` or `params` are an [`Error::Range`].
pub fn neuron_branching_factors(
    graph: &LiquidGraph,
    spikes: &[(u64, u32)],
    start_step: u64,
    len_steps: u64,
    dt_ms: f64,
    params: &BranchingParams,
) -> Result<Vec<Option<f64>>> {
    let steps = params.steps(dt_ms)?;
    let sorted = sorted_spikes(graph.len(), spikes)?;
    Ok(sample_neurons(graph, &sorted, start_step, len_steps, steps))
}

/// Branching factor of one sample: the mean of [`neuron_branching_factors`] over
/// the neurons that have one; `None` when no neuron has.
///
/// ```
/// use astroglia::analysis::{branching_factor_sample, BranchingParams, LiquidGraph};
/// // A chain 0 → 1 → 2 with 1-ms steps: 0 fires at 100 ms, 1 at 102 ms, 2 at 104 ms.
/// let graph = LiquidGraph::from_edges(3, [(0, 1), (1, 2)])?;
/// let spikes = [(100, 0), (102, 1), (104, 2)];
/// let bf = branching_factor_sample(&graph, &spikes, 0, 250, 1.0, &BranchingParams::default())?;
/// // 0 and 1 each have one successor in their post window (ratio 1), 2 has none (0).
/// assert_eq!(bf, Some(2.0 / 3.0));
/// # Ok::<(), astroglia::Error>(())
/// ```
pub fn branching_factor_sample(
    graph: &LiquidGraph,
    spikes: &[(u64, u32)],
    start_step: u64,
    len_steps: u64,
    dt_ms: f64,
    params: &BranchingParams,
) -> Result<Option<f64>> {
    let per_neuron = neuron_branching_factors(graph, spikes, start_step, len_steps, dt_ms, params)?;
    Ok(mean_of_some(&per_neuron))
}

/// Branching factor over samples of `sample_len_steps` steps starting at each of
/// `sample_starts` (samples may lie anywhere, even overlap); see
/// [`branching_factor_sample`] for `spikes` and errors.
///
/// ```
/// use astroglia::analysis::{branching_factor, BranchingParams, LiquidGraph};
/// let graph = LiquidGraph::from_edges(2, [(0, 1)])?;
/// // Two 250-step samples: in the first 0 → 1 propagates, in the second it does not.
/// let spikes = [(100, 0), (103, 1), (350, 0)];
/// let report = branching_factor(&graph, &spikes, &[0, 250], 250, 1.0, &BranchingParams::default())?;
/// // Sample 0: neuron 0 has ratio 1, neuron 1 ratio 0 → 0.5. Sample 1: 0.
/// assert_eq!(report.per_sample, vec![Some(0.5), Some(0.0)]);
/// assert_eq!(report.mean, Some(0.25));
/// # Ok::<(), astroglia::Error>(())
/// ```
pub fn branching_factor(
    graph: &LiquidGraph,
    spikes: &[(u64, u32)],
    sample_starts: &[u64],
    sample_len_steps: u64,
    dt_ms: f64,
    params: &BranchingParams,
) -> Result<BranchingReport> {
    let steps = params.steps(dt_ms)?;
    let sorted = sorted_spikes(graph.len(), spikes)?;
    let per_sample: Vec<Option<f64>> = sample_starts
        .iter()
        .map(|&start| {
            mean_of_some(&sample_neurons(
                graph,
                &sorted,
                start,
                sample_len_steps,
                steps,
            ))
        })
        .collect();
    let mean = mean_of_some(&per_sample);
    Ok(BranchingReport { per_sample, mean })
}

fn mean_of_some(values: &[Option<f64>]) -> Option<f64> {
    let (sum, count) = values
        .iter()
        .flatten()
        .fold((0.0, 0usize), |(s, c), &v| (s + v, c + 1));
    (count > 0).then(|| sum / count as f64)
}

/// Checks ids, then sorts by `(step, neuron)` and drops repeats.
fn sorted_spikes(n: usize, spikes: &[(u64, u32)]) -> Result<Vec<(u64, u32)>> {
    if let Some(&(step, id)) = spikes.iter().find(|&&(_, id)| id as usize >= n) {
        return Err(Error::argument(
            format!("spike at step {step}"),
            format!("neuron {id} is out of range for a liquid of {n} neurons"),
        ));
    }
    let mut sorted = spikes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    Ok(sorted)
}

/// Per-neuron BFs of one sample; `sorted` from [`sorted_spikes`].
///
/// One sweep over the sample's spikes in time order keeps, for every neuron, the
/// number of its presynaptic neighbours' spikes in its pre window and of its
/// postsynaptic neighbours' spikes in its post window: a spike entering or leaving a
/// window updates the counts of its postsynaptic (resp. presynaptic) neighbours. Each
/// spike enters and leaves each window once, so the cost is O(spikes × degree + n),
/// independent of the step and sample length.
fn sample_neurons(
    graph: &LiquidGraph,
    sorted: &[(u64, u32)],
    start: u64,
    len: u64,
    st: Steps,
) -> Vec<Option<f64>> {
    let n = graph.len();
    // Local step ranges: kept [edge, kept_end), anchors [anchor_lo, anchor_end).
    let anchor_lo = st.edge + st.window;
    let anchor_end = len
        .checked_sub(st.edge)
        .and_then(|kept_end| (kept_end + 1).checked_sub(st.window + st.gap))
        .unwrap_or(0);
    if anchor_lo >= anchor_end {
        return vec![None; n];
    }
    // Both windows of every anchor lie in [start + edge, start + len - edge).
    let kept = {
        let lo = start.saturating_add(st.edge);
        let hi = start.saturating_add(len - st.edge);
        &sorted[sorted.partition_point(|&(s, _)| s < lo)..sorted.partition_point(|&(s, _)| s < hi)]
    };
    let (anchor_lo, anchor_end) = (
        start.saturating_add(anchor_lo),
        start.saturating_add(anchor_end),
    );
    let mut k = kept.partition_point(|&(s, _)| s < anchor_lo);
    let last = kept.partition_point(|&(s, _)| s < anchor_end);

    // pre[i]: spikes of i's presynaptic neighbours in [t - W, t); post[i]: spikes of
    // its postsynaptic neighbours in [t + G, t + G + W).
    let (mut pre, mut post) = (vec![0u64; n], vec![0u64; n]);
    // Spikes before a cursor have entered (`_in`) or left (`_out`) that window.
    let (mut pre_in, mut pre_out, mut post_in, mut post_out) = (0, 0, 0, 0);
    let (mut sum, mut count) = (vec![0.0f64; n], vec![0u64; n]);
    while k < last {
        let t = kept[k].0;
        let post_from = t.saturating_add(st.gap);
        sweep(kept, &mut pre_in, t, &graph.post, &mut pre, true);
        sweep(
            kept,
            &mut pre_out,
            t - st.window,
            &graph.post,
            &mut pre,
            false,
        );
        let post_to = post_from.saturating_add(st.window);
        sweep(kept, &mut post_in, post_to, &graph.pre, &mut post, true);
        sweep(kept, &mut post_out, post_from, &graph.pre, &mut post, false);
        while k < last && kept[k].0 == t {
            let i = kept[k].1 as usize;
            sum[i] += post[i] as f64 / pre[i].max(1) as f64;
            count[i] += 1;
            k += 1;
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(&s, &c)| (c > 0).then(|| s / c as f64))
        .collect()
}

/// Moves `cursor` past the spikes before step `until`, adding one to (or removing
/// one from) the `counts` of each spiking neuron's neighbours in `rows`.
fn sweep(
    spikes: &[(u64, u32)],
    cursor: &mut usize,
    until: u64,
    rows: &Csr,
    counts: &mut [u64],
    add: bool,
) {
    while let Some(&(_, id)) = spikes.get(*cursor).filter(|&&(s, _)| s < until) {
        for &m in rows.row(id as usize) {
            let c = &mut counts[m as usize];
            // A spike is always added before it is removed: no underflow.
            *c = if add { *c + 1 } else { *c - 1 };
        }
        *cursor += 1;
    }
}

#[cfg(test)]
mod tests;
