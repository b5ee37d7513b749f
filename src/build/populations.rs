//! Building populations (parameters, initial state, grid positions, sources,
//! the fixed-point LIF variant) and inputs (noise, currents, Poisson drives).
use super::projections::DriveFix;
use super::{
    BuiltInput, BuiltPop, Dynamics, STREAM_NOISE, STREAM_POISSON_INPUT, TAG_GRID, TAG_POP, sub_seed,
};
use crate::model::{Input, Network, NeuronModel, Receptor};
use crate::neuron::{Draw, Neurons, Pop, registry::steps_of};
use crate::rng::BinomialTable;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Positions of the neurons of the populations laid out on a grid (shuffled
/// with the grid's stream when asked).
pub(super) fn grid_positions(net: &Network, seed: u64) -> Vec<Option<Vec<[f64; 3]>>> {
    let mut positions: Vec<Option<Vec<[f64; 3]>>> = vec![None; net.populations.len()];
    for (gi, g) in net.grids.iter().enumerate() {
        let [sx, sy, sz] = g.shape;
        let mut pts: Vec<[f64; 3]> = Vec::with_capacity((sx * sy * sz) as usize);
        for x in 0..sx {
            for y in 0..sy {
                for z in 0..sz {
                    pts.push([
                        x as f64 * g.spacing,
                        y as f64 * g.spacing,
                        z as f64 * g.spacing,
                    ]);
                }
            }
        }
        if g.shuffle {
            pts.shuffle(&mut ChaCha8Rng::seed_from_u64(sub_seed(
                seed, TAG_GRID, gi as u64,
            )));
        }
        let mut at = 0;
        for name in &g.populations {
            let pi = net.population_index(name).expect("validated");
            let n = net.populations[pi].size as usize;
            positions[pi] = Some(pts[at..at + n].to_vec());
            at += n;
        }
    }
    positions
}

impl BuiltPop {
    pub(super) fn dynamics_is_source(&self) -> bool {
        matches!(self.dynamics, Dynamics::Source(_))
    }
}

/// Populations with parameters drawn from `seed` and initial state from
/// `state_seed`; ring depths and fixed-point scales are left for [`build`] to set.
pub(super) fn build_pops(
    net: &Network,
    seed: u64,
    state_seed: u64,
    positions: &mut [Option<Vec<[f64; 3]>>],
) -> crate::Result<Vec<BuiltPop>> {
    let dt = net.dt_ms;
    let mut pops = Vec::with_capacity(net.populations.len());
    let mut offset = 0u32;
    for (pi, p) in net.populations.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, TAG_POP, pi as u64));
        // With another state seed, initial values come from a stream of their own
        // (parameters stay those of `seed`); with the same, they continue `rng` as
        // they always have, so single runs keep their spikes.
        let mut own = (state_seed != seed)
            .then(|| ChaCha8Rng::seed_from_u64(sub_seed(state_seed, TAG_POP, pi as u64)));
        let n = p.size as usize;
        let mut draw = Draw {
            n,
            init: &p.init,
            params: &mut rng,
            state: own.as_mut(),
            offset,
            instance_seed: state_seed,
        };
        let dynamics = p.model.build(dt, &mut draw);
        pops.push(BuiltPop {
            name: p.name.clone(),
            offset,
            size: p.size,
            dynamics,
            ring_depth: 1,
            inv_scale: [1.0; 2],
            scale_log2: [0; 2],
            positions: positions[pi].take(),
        });
        offset = offset
            .checked_add(p.size)
            .ok_or_else(|| crate::Error::Resources("more than 2^32 neurons in total".into()))?;
    }

    Ok(pops)
}

/// A Poisson drive (`[[inputs]] poisson`) before its weight is quantised.
pub(super) struct Drive {
    pub(super) input: usize,
    pub(super) pop: usize,
    pub(super) receptor: usize,
    pub(super) weight: f64,
    pub(super) table: BinomialTable,
}

/// The Poisson drives of `net`, in input order.
pub(super) fn poisson_drives(net: &Network) -> crate::Result<Vec<Drive>> {
    let dt = net.dt_ms;
    let mut drives = vec![];
    for (k, inp) in net.inputs.iter().enumerate() {
        if let Input::Poisson(x) = inp {
            drives.push(Drive {
                input: k,
                pop: net.population_index(&x.target).expect("validated"),
                receptor: match x.resolved_receptor() {
                    Receptor::Exc => 0,
                    Receptor::Inh => 1,
                },
                weight: x.weight,
                table: BinomialTable::new(x.n, x.rate_hz * dt / 1000.0).map_err(|e| {
                    crate::Error::model_issue(
                        net.source_name(),
                        format!("inputs[{k}].poisson.n"),
                        e,
                    )
                })?,
            });
        }
    }
    Ok(drives)
}

/// The built inputs; each Poisson drive takes its fixed-point weight from
/// `drive_fix`.
pub(super) fn build_inputs(
    net: &Network,
    drives: Vec<Drive>,
    drive_fix: &[DriveFix],
) -> Vec<BuiltInput> {
    let dt = net.dt_ms;
    let mut inputs = Vec::with_capacity(net.inputs.len());
    let mut drives = drives.into_iter().zip(drive_fix);
    for (k, inp) in net.inputs.iter().enumerate() {
        inputs.push(match inp {
            Input::Noise(x) => BuiltInput::Noise {
                pop: net.population_index(&x.target).expect("validated"),
                ids: x.ids.clone(),
                mean: x.mean as f32,
                std: x.std as f32,
                stream: STREAM_NOISE + k as u32,
            },
            Input::Current(x) => BuiltInput::Current {
                pop: net.population_index(&x.target).expect("validated"),
                ids: x.ids.clone(),
                amplitude: x.amplitude as f32,
                start: steps_of(x.start_ms, dt),
                stop: x.stop_ms.map_or(u64::MAX, |s| steps_of(s, dt)),
            },
            Input::Poisson(x) => {
                let (d, &(_, _, _, wfix, _)) = drives.next().expect("one per Poisson input");
                debug_assert_eq!(d.input, k);
                BuiltInput::Poisson {
                    pop: d.pop,
                    ids: x.ids.clone(),
                    receptor: d.receptor,
                    wfix,
                    table: d.table,
                    stream: STREAM_POISSON_INPUT + k as u32,
                }
            }
        });
    }
    inputs
}

/// Turns the `lif` populations that have a `fixed_point` block into
/// [`Neurons::LifFixed`]: the current scales come from the largest per-neuron
/// sum of |w| (`sums`) and the weight exponents from the largest |w| of the
/// `(post, receptor, weights)` projections. `inv_scale` becomes the model units
/// of one ring LSB (read back by `read_weights`).
pub(super) fn fixed_point_pops(
    net: &Network,
    pops: &mut [BuiltPop],
    sums: &[[Vec<f64>; 2]],
    projs: &[(usize, usize, &[f64])],
) {
    for (pi, (p, model)) in pops.iter_mut().zip(&net.populations).enumerate() {
        let (Some(fp), NeuronModel::Lif(lif)) = (&model.fixed_point, &model.model) else {
            continue;
        };
        let Dynamics::Neurons(Neurons::Lif(lif_pop)) = &p.dynamics else {
            continue;
        };
        let max_sum = [0, 1].map(|r| sums[pi][r].iter().cloned().fold(0.0f64, f64::max));
        let max_abs = [0, 1].map(|r| {
            projs
                .iter()
                .filter(|(post, rc, _)| *post == pi && *rc == r)
                .flat_map(|(_, _, w)| w.iter())
                .fold(0.0f64, |m, w| m.max(w.abs()))
        });
        let k = fp.derive(lif, net.dt_ms, max_sum, max_abs);
        let s = k.quantise_state(&lif_pop.s);
        p.inv_scale = [0, 1].map(|r| k.weight_unit(r) as f32);
        p.dynamics = Dynamics::Neurons(Neurons::LifFixed(Pop { k, s }));
    }
}
