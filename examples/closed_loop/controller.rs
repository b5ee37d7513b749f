//! The closed loop of `examples/closed_loop`, shared with its test
//! (tests/it/closed_loop.rs): a proportional controller sets the rate of a
//! Poisson input every 10 ms from what the network did in the last 10 ms
//! (proportional-integral control),
//! steering the excitatory cells towards a target rate that differs per sample.
use astroglia::Result;
use astroglia::model::parse_toml;
use astroglia::sim::{ResetWeights, SimOptions, Simulator};

/// 100 Poisson inputs onto a small E/I network of current-based LIF cells
/// (weights in pA).
pub const MODEL: &str = r#"
name = "closed_loop"
dt_ms = 0.1
seed = 11

[[populations]]
name = "input"
size = 100
poisson = { rate_hz = 0.0 }

[[populations]]
name = "exc"
size = 160
lif = { c_m_pf = 200.0, tau_m_ms = 20.0, e_l_mv = -60.0, v_reset_mv = -60.0, v_th_mv = -50.0, t_ref_ms = 2.0, tau_syn_exc_ms = 5.0, tau_syn_inh_ms = 10.0 }

[[populations]]
name = "inh"
size = 40
lif = { c_m_pf = 200.0, tau_m_ms = 20.0, e_l_mv = -60.0, v_reset_mv = -60.0, v_th_mv = -50.0, t_ref_ms = 2.0, tau_syn_exc_ms = 5.0, tau_syn_inh_ms = 10.0 }

[[projections]]
from = "input"
to = "exc"
connect = { fixed_probability = { p = 0.2 } }
weight = 30.0

[[projections]]
from = "input"
to = "inh"
connect = { fixed_probability = { p = 0.2 } }
weight = 30.0

[[projections]]
from = "exc"
to = "inh"
connect = { fixed_probability = { p = 0.1 } }
weight = 20.0

[[projections]]
from = "inh"
to = "exc"
connect = { fixed_probability = { p = 0.2 } }
weight = -40.0
"#;

/// Samples of the protocol.
pub const SAMPLES: usize = 6;
/// The controller acts every `CHUNK_MS`.
pub const CHUNK_MS: f64 = 10.0;
/// Chunks per sample: 1 s.
pub const CHUNKS: usize = 100;

/// The target rate of the excitatory cells in sample `s`, Hz.
pub fn target_hz(s: usize) -> f64 {
    4.0 + 3.0 * s as f64
}

/// A proportional-integral controller of the input rate: it sees the
/// excitatory cells' rate in each chunk and sets the input for the next.
#[derive(Clone, Default)]
pub struct Controller {
    integral: f64,
}

impl Controller {
    /// The input rate for the next chunk of sample `s`, Hz.
    pub fn input_rate_hz(&mut self, s: usize, observed_hz: f64) -> f64 {
        let error = target_hz(s) - observed_hz;
        self.integral += error * CHUNK_MS / 1000.0;
        (40.0 + 4.0 * error + 60.0 * self.integral).clamp(0.0, 400.0)
    }
}

/// Spikes of one sample: (step, local id) of the excitatory cells.
pub type Raster = Vec<(u64, u32)>;

/// The simulator of the protocol on `backend`, with `batch` instances of one
/// seed (so instance b of a batch sees the noise a lone run sees).
pub fn simulator(backend: astroglia::sim::BackendKind, batch: usize) -> Result<Simulator> {
    let net = parse_toml(MODEL, "closed_loop.toml")?;
    let opts = SimOptions::default()
        .backend(backend)
        .seeds(vec![net.seed; batch]);
    Simulator::new(&net, opts)
}

/// Samples `first..first + batch` under way, one per instance: each one's
/// controller, last observed rate, excitatory raster and summed input rate.
#[derive(Clone)]
pub struct Trial {
    first: usize,
    control: Vec<Controller>,
    observed: Vec<f64>,
    /// Per instance: its raster so far and its mean input rate.
    pub out: Vec<(Raster, f64)>,
}

impl Trial {
    /// Samples `first..first + batch` at their start.
    pub fn new(first: usize, batch: usize) -> Self {
        Trial {
            first,
            control: vec![Controller::default(); batch],
            observed: vec![0.0; batch],
            out: vec![(vec![], 0.0); batch],
        }
    }

    /// The next `chunks` chunks: set each instance's input, run, read back.
    pub fn run(&mut self, sim: &mut Simulator, chunks: usize) -> Result<()> {
        for _ in 0..chunks {
            for (b, c) in self.control.iter_mut().enumerate() {
                let rate = c.input_rate_hz(self.first + b, self.observed[b]);
                self.out[b].1 += rate / CHUNKS as f64;
                sim.set_poisson_rates(b, "input", &[rate])?;
            }
            sim.run_ms(CHUNK_MS)?;
            for (b, hz) in self.observed.iter_mut().enumerate() {
                let spikes = sim.drain_instance_spikes(b)?;
                let e = spikes
                    .iter()
                    .find(|p| p.population == "exc")
                    .expect("recorded");
                *hz = e.ids.len() as f64 / (f64::from(e.size) * CHUNK_MS / 1000.0);
                (self.out[b].0).extend(e.steps.iter().copied().zip(e.ids.iter().copied()));
            }
        }
        Ok(())
    }
}

/// Runs samples `first..first + batch` at once, one per instance, from the
/// state after build, and returns each one's excitatory raster and its mean
/// input rate.
pub fn run_samples(sim: &mut Simulator, first: usize) -> Result<Vec<(Raster, f64)>> {
    sim.reset(ResetWeights::Restore)?;
    let mut trial = Trial::new(first, sim.batch());
    trial.run(sim, CHUNKS)?;
    Ok(trial.out)
}
