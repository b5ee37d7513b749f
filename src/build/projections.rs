//! Building projections: connectivity, float weights and delays, their
//! quantisation to the receptors' fixed point with the plastic parts, and the
//! checks that one step's input fits the integer rings.
use super::{
    BuiltPlastic, BuiltPop, BuiltProj, Delays, Dynamics, FixedWeights, TAG_PROJ, TAG_WEIGHT,
    round_to_i32, sub_seed,
};
use crate::connect::file::{FileWeights, Source as FileSource};
use crate::connect::{self, Ends, Rows};
use crate::model::{Connect, Dist, Input, Network, Receptor, Sign};
use crate::neuron::Neurons;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A projection's connectivity, float weights and delays, before quantisation.
pub(super) struct Raw<'a> {
    pub(super) pre: usize,
    pub(super) post: usize,
    pub(super) receptor: usize,
    pub(super) rows: Rows,
    pub(super) w: Weights,
    pub(super) delays: Delays,
    pub(super) name: String,
    pub(super) rule: Option<&'a crate::plasticity::Plasticity>,
    /// How the weights enter a `loihi_lif` target.
    pub(super) loihi: Option<&'a crate::neuron::LoihiSynapses>,
    /// Initial weights outside the rule's bounds, clipped to them.
    pub(super) clipped: usize,
}

/// A projection's float weights: one for every synapse, or one each.
pub(super) enum Weights {
    /// Every synapse has this weight (and there is at least one synapse).
    Same(f64),
    /// Per synapse, in CSR order.
    Each(Vec<f64>),
}

impl Weights {
    /// The distinct weights, at least (each weight appears).
    pub(super) fn values(&self) -> &[f64] {
        match self {
            Weights::Same(c) => std::slice::from_ref(c),
            Weights::Each(w) => w,
        }
    }

    /// `f` of every synapse's weight, `n` synapses.
    fn map<T: Clone>(&self, n: usize, f: impl Fn(f64) -> T) -> Vec<T> {
        match self {
            Weights::Same(c) => vec![f(*c); n],
            Weights::Each(w) => w.iter().map(|&w| f(w)).collect(),
        }
    }

    /// The weights in fixed point by `f`, still one value when they share one.
    fn fixed(&self, f: impl Fn(f64) -> i32) -> FixedWeights {
        match self {
            Weights::Same(c) => FixedWeights::Same(f(*c)),
            Weights::Each(w) => FixedWeights::Each(w.iter().map(|&w| f(w)).collect()),
        }
    }
}

/// The connectivity file of every `file` rule of `net`, opened (`None` for
/// the other rules); a relative path is taken from the model file's directory.
pub(super) fn open_files(net: &Network) -> crate::Result<Vec<Option<FileSource>>> {
    let base = net
        .source
        .as_deref()
        .and_then(|s| std::path::Path::new(s).parent());
    (net.projections.iter().enumerate())
        .map(|(k, pr)| match &pr.connect {
            Connect::File { path, projection } => {
                let path = match base {
                    Some(b) if path.is_relative() => b.join(path),
                    _ => path.clone(),
                };
                let label = pr.label();
                let group = projection.as_deref().unwrap_or(&label);
                let what = format!("projections[{k}] '{label}'");
                FileSource::open(&path, group, &what).map(Some)
            }
            _ => Ok(None),
        })
        .collect()
}

/// Connectivity, float weights and delays of every projection of `net`
/// (`files` from [`open_files`], each taken as it is read).
pub(super) fn raw_projections<'a>(
    net: &'a Network,
    seed: u64,
    pops: &[BuiltPop],
    files: &mut [Option<FileSource>],
) -> crate::Result<Vec<Raw<'a>>> {
    let dt = net.dt_ms;
    let mut raws = Vec::with_capacity(net.projections.len());
    let mut scratch = connect::Scratch::default();
    for (k, pr) in net.projections.iter().enumerate() {
        let pre = net.population_index(&pr.from).expect("validated");
        let post = net.population_index(&pr.to).expect("validated");
        let ends = Ends {
            n_pre: pops[pre].size,
            n_post: pops[post].size,
            same: pre == post,
            pre_pos: pops[pre].positions.as_deref(),
            post_pos: pops[post].positions.as_deref(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, TAG_PROJ, k as u64));
        let (rows, mut file) = match files.get_mut(k).and_then(Option::take) {
            Some(src) => {
                let conductance =
                    net.populations[post].model.conductance_weights() && pr.sign != Sign::Positive;
                let mut loaded = src.load(&ends, dt, conductance)?;
                let rows = std::mem::take(&mut loaded.rows);
                (rows, Some(loaded))
            }
            None => (
                connect::generate_with(&pr.connect, &ends, &mut rng, &mut scratch),
                None,
            ),
        };
        let mut wrng = ChaCha8Rng::seed_from_u64(sub_seed(seed, TAG_WEIGHT, k as u64));
        let ns = rows.targets.len();
        let bounds = pr.plasticity.as_ref().map(|r| r.bounds());
        let clipped = std::cell::Cell::new(0usize);
        let clip = |w: f64| {
            let w = match pr.sign {
                Sign::Any => w,
                Sign::Positive => w.max(0.0),
                Sign::Negative => w.min(0.0),
            };
            match bounds {
                Some((lo, hi)) if w < lo || w > hi => {
                    clipped.set(clipped.get() + 1);
                    w.clamp(lo, hi)
                }
                _ => w,
            }
        };
        let (list_w, list_d) = match &pr.connect {
            Connect::List {
                weights, delays_ms, ..
            } => (weights.as_ref(), delays_ms.as_ref()),
            _ => (None, None),
        };
        let file_w = file.as_mut().and_then(|f| f.weights.take());
        let w = match (list_w, &rows.list_index, file_w) {
            (_, _, Some(FileWeights::Same(c))) if ns > 0 => Weights::Same(clip(c)),
            (_, _, Some(FileWeights::Same(_))) => Weights::Each(vec![]),
            (_, _, Some(FileWeights::Each(mut v))) => {
                v.iter_mut().for_each(|w| *w = clip(*w));
                Weights::Each(v)
            }
            (Some(lw), Some(idx), None) => {
                Weights::Each(idx.iter().map(|&i| clip(lw[i as usize])).collect())
            }
            // A constant draws nothing from `wrng`, so this fast path leaves the
            // delay stream below unchanged.
            _ => match pr.weight.constant() {
                Some(c) if ns > 0 => Weights::Same(clip(c)),
                Some(_) => Weights::Each(vec![]),
                None => Weights::Each((0..ns).map(|_| clip(pr.weight.sample(&mut wrng))).collect()),
            },
        };
        // A constant weight stands for every synapse.
        let clipped = match w {
            Weights::Same(_) if clipped.get() > 0 => ns,
            _ => clipped.get(),
        };
        let to_steps = |d: f64| ((d / dt).round().clamp(1.0, u16::MAX as f64)) as u16;
        let delay_dist = pr.delay_ms.unwrap_or(Dist::Const(dt));
        let file_d = file.as_mut().and_then(|f| f.delays.take());
        let delays = match (list_d, &rows.list_index, file_d) {
            (_, _, Some(d)) => d,
            (Some(ld), Some(idx), None) => {
                Delays::PerSynapse(idx.iter().map(|&i| to_steps(ld[i as usize])).collect())
            }
            _ => match delay_dist.constant() {
                Some(d) => Delays::Const(to_steps(d)),
                None => Delays::PerSynapse(
                    (0..ns)
                        .map(|_| to_steps(delay_dist.sample(&mut wrng)))
                        .collect(),
                ),
            },
        };
        // A file's receptor (its attribute, else its weights' sign) unless the
        // model sets one.
        let file_receptor = file.as_ref().and_then(|f| f.receptor);
        let receptor = match pr
            .receptor
            .or(file_receptor)
            .unwrap_or(pr.resolved_receptor())
        {
            Receptor::Exc => 0,
            Receptor::Inh => 1,
        };
        raws.push(Raw {
            pre,
            post,
            receptor,
            rows,
            w,
            delays,
            name: pr.label(),
            rule: pr.plasticity.as_ref(),
            loihi: pr.loihi.as_ref(),
            clipped,
        });
    }
    Ok(raws)
}

/// Quantises the weights of `raws` at their receptors' scales and adds the
/// plastic parts; returns the projections and every neuron's out-degree.
pub(super) fn quantise_projections(
    raws: Vec<Raw>,
    pops: &[BuiltPop],
    dt: f64,
) -> (Vec<BuiltProj>, Vec<u32>) {
    let mut projs = Vec::with_capacity(raws.len());
    let total: u32 = pops.iter().map(|p| p.size).sum();
    let mut out_degree = vec![0u32; total as usize];
    for r in raws {
        let scale = (2.0f64).powi(pops[r.post].scale_log2[r.receptor]);
        let ns = r.rows.targets.len();
        let wfix = match &pops[r.post].dynamics {
            Dynamics::Neurons(Neurons::LifFixed(fx)) => r.w.fixed(|w| fx.k.weight(r.receptor, w)),
            Dynamics::Neurons(Neurons::LoihiLif(lo)) => {
                let syn = r.loihi.cloned().unwrap_or_default();
                let mode = syn.sign_mode_of(r.w.values());
                let up = lo.k.weight_shift(r.receptor, syn.weight_exp);
                r.w.fixed(|w| syn.weight(mode, w) << up)
            }
            _ => r.w.fixed(|w| round_to_i32(w * scale)),
        };
        let base = pops[r.pre].offset as usize;
        for j in 0..pops[r.pre].size as usize {
            out_degree[base + j] += r.rows.row_ptr[j + 1] - r.rows.row_ptr[j];
        }
        let plastic = r.rule.map(|rule| {
            let w0 = r.w.map(ns, |w| w as f32);
            let n_post = pops[r.post].size as usize;
            let mut pl = BuiltPlastic::new(rule.derive(dt), w0, scale as f32, &r.rows, n_post);
            pl.hlop = rule.hlop().cloned();
            if let crate::plasticity::Plasticity::User(u) = rule {
                pl.user = u.build(dt);
            }
            pl
        });
        projs.push(BuiltProj {
            name: r.name,
            pre: r.pre,
            post: r.post,
            receptor: r.receptor,
            row_ptr: r.rows.row_ptr,
            targets: r.rows.targets,
            wfix,
            delays: r.delays,
            plastic,
        });
    }
    (projs, out_degree)
}

/// A Poisson drive in fixed point: (population, receptor, input index, weight,
/// largest count per step).
pub(super) type DriveFix = (usize, usize, usize, i32, u32);

/// Adds the most each Poisson drive onto population `pi` can put into one step's
/// ring slot to the per-neuron `sum` (by receptor).
pub(super) fn add_drive_sums(sum: &mut [[i64; 2]], pi: usize, drives: &[DriveFix], net: &Network) {
    for &(pop, rc, input, wfix, most) in drives.iter().filter(|d| d.0 == pi) {
        let add = i64::from(wfix.unsigned_abs()) * i64::from(most);
        match &net.inputs[input] {
            Input::Poisson(x) if x.ids.is_some() => {
                for &i in x.ids.iter().flatten() {
                    sum[i as usize][rc] += add;
                }
            }
            _ => sum.iter_mut().for_each(|s| s[rc] += add),
        }
        debug_assert_eq!(pop, pi);
    }
}

/// The most that can arrive in one step's ring slot of each of the `size`
/// neurons of population `pi`, by receptor: every synapse's |weight| (a plastic
/// one at its larger bound) plus each Poisson drive's largest count.
fn step_input_sums(
    pi: usize,
    size: u32,
    projs: &[BuiltProj],
    drives: &[DriveFix],
    net: &Network,
) -> Vec<[i64; 2]> {
    let mut sum = vec![[0i64; 2]; size as usize];
    for pr in projs.iter().filter(|pr| pr.post == pi) {
        match &pr.plastic {
            Some(pl) => {
                let (lo, hi) = (pl.rule.w_min, pl.rule.w_max);
                let m = i64::from(
                    round_to_i32(f64::from(lo.abs().max(hi.abs())) * f64::from(pl.scale))
                        .unsigned_abs(),
                );
                pr.targets
                    .iter()
                    .for_each(|&t| sum[t as usize][pr.receptor] += m);
            }
            None => {
                for (t, w) in pr.targets.iter().zip(pr.wfix.iter(pr.len())) {
                    sum[*t as usize][pr.receptor] += i64::from(w.unsigned_abs());
                }
            }
        }
    }
    add_drive_sums(&mut sum, pi, drives, net);
    sum
}

/// Checks that whatever arrives in one step (every synapse's |weight|, a plastic
/// one at its larger bound, plus each Poisson drive's largest count) fits the i32
/// ring of every float population with a Poisson drive. The scales are chosen so
/// that it does; this refuses the configurations where rounding or the scale's
/// clamp would still let it overflow.
pub(super) fn check_drive_rings(
    pops: &[BuiltPop],
    projs: &[BuiltProj],
    drives: &[DriveFix],
    net: &Network,
) -> crate::Result<()> {
    for (pi, p) in pops.iter().enumerate() {
        if matches!(p.dynamics, Dynamics::Neurons(Neurons::LifFixed(_)))
            || !drives.iter().any(|d| d.0 == pi)
        {
            continue;
        }
        let sum = step_input_sums(pi, p.size, projs, drives, net);
        for rc in 0..2 {
            if let Some(worst) = sum
                .iter()
                .map(|s| s[rc])
                .max()
                .filter(|&m| m > i64::from(i32::MAX))
            {
                let (_, _, input, _, _) = *drives
                    .iter()
                    .find(|d| d.0 == pi && d.1 == rc)
                    .unwrap_or(&drives[0]);
                return Err(crate::Error::model_issue(
                    net.source_name(),
                    format!("inputs[{input}].poisson"),
                    format!(
                        "poisson into '{}': one step's input onto receptor {} can reach \
                         {worst} fixed-point units, more than the i32 ring holds; use a \
                         smaller n, rate_hz or weight",
                        p.name,
                        ["exc", "inh"][rc]
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Checks that one step's ring input of a fixed-point population stays below
/// 2^30 whatever arrives (so the two receptors' sum fits an i32), Poisson drives
/// included.
pub(super) fn check_fixed_rings(
    pops: &[BuiltPop],
    projs: &[BuiltProj],
    drives: &[DriveFix],
    net: &Network,
) -> crate::Result<()> {
    for (pi, p) in pops.iter().enumerate() {
        if !matches!(p.dynamics, Dynamics::Neurons(Neurons::LifFixed(_))) {
            continue;
        }
        let sum = step_input_sums(pi, p.size, projs, drives, net);
        if let Some(worst) = sum.iter().flatten().max().filter(|&&m| m >= 1 << 30) {
            return Err(crate::Error::model_issue(
                net.source_name(),
                format!("populations[{pi}].fixed_point"),
                format!(
                    "fixed-point population '{}': one step's input can reach {worst} LSB, \
                     more than the 2^30 the integer ring holds; use fewer state_bits or a \
                     larger v_range_mv",
                    p.name
                ),
            ));
        }
    }
    Ok(())
}

/// Sets the rings of the projections onto every `loihi_lif` population and
/// their input shifts. Lava floors each connection's sum on its own when its
/// weight exponent is negative; a ring floors once (`>> in_shift[r]` in the
/// kernel), so each of the two rings takes at most one such projection, and
/// holds the rest of its input `2^in_shift[r]` times over (which the floor
/// leaves exact). Every other projection goes to ring 0.
pub(super) fn loihi_rings(
    net: &Network,
    pops: &mut [BuiltPop],
    raws: &mut [Raw],
) -> crate::Result<()> {
    for (pi, p) in pops.iter_mut().enumerate() {
        let Dynamics::Neurons(Neurons::LoihiLif(lo)) = &mut p.dynamics else {
            continue;
        };
        let mut shift = [0u32; 2];
        let mut negative = 0;
        for (k, r) in raws.iter_mut().enumerate().filter(|(_, r)| r.post == pi) {
            let e = r.loihi.map_or(0, |l| l.weight_exp);
            r.receptor = 0;
            if e < 0 {
                if negative == 2 {
                    return Err(crate::Error::model_issue(
                        net.source_name(),
                        format!("projections[{k}].loihi.weight_exp"),
                        format!(
                            "a third projection onto loihi_lif '{}' with a negative \
                             weight_exp: Lava floors each connection's shifted sum on its own, \
                             and astroglia can do that for two; give the others an exponent >= 0",
                            p.name
                        ),
                    ));
                }
                r.receptor = negative;
                shift[negative] = e.unsigned_abs();
                negative += 1;
            }
        }
        for (k, r) in raws.iter().enumerate().filter(|(_, r)| r.post == pi) {
            let e = r.loihi.map_or(0, |l| l.weight_exp);
            if e >= 0 && e + shift[r.receptor] as i32 > 31 {
                return Err(crate::Error::model_issue(
                    net.source_name(),
                    format!("projections[{k}].loihi.weight_exp"),
                    format!(
                        "weight_exp {e} onto loihi_lif '{}' with a ring that holds its input \
                         2^{} times over shifts by more than 31 bits",
                        p.name, shift[r.receptor]
                    ),
                ));
            }
        }
        lo.k.in_shift = shift;
        p.scale_log2 = shift.map(|s| s as i32);
        p.inv_scale = shift.map(|s| (-(s as f64)).exp2() as f32);
    }
    Ok(())
}
