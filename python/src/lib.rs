//! `astroglia._astroglia`: the PyO3 extension under the `astroglia` Python package
//! (python/astroglia/). Networks from files, TOML text or dicts, the simulator with
//! its control and readback calls, and the conversion of astroglia's errors into
//! the exception classes of `astroglia.errors`.
//!
//! Arrays handed to Python are Rust `Vec`s moved into NumPy (`PyArray1::from_vec`):
//! no copy, the array's base is the Rust container and `flags.owndata` is false.
use std::sync::{Mutex, MutexGuard, TryLockError};

use astroglia::sim::{BackendKind, ResetWeights, SimOptions};
use numpy::{AllowTypeChange, PyArray1, PyArrayLike1, PyArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

mod errors;
mod runners;
use errors::{py_err, raise};

/// A validated network description (a model file's content).
#[pyclass(module = "astroglia", name = "Network", frozen)]
struct PyNetwork {
    net: astroglia::Network,
}

/// Converts a Python object (a dict of the model file's tables) to TOML text.
fn dict_to_toml(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if !obj.is_instance_of::<PyDict>() {
        return Err(raise(
            obj.py(),
            "ArgumentError",
            format!(
                "a network description must be a dict of the model file's tables, got {}",
                obj.get_type().name()?
            ),
            &[],
        ));
    }
    let value: serde_json::Value = pythonize::depythonize(obj).map_err(|e| {
        raise(
            obj.py(),
            "ArgumentError",
            format!("network dict: {e} (values must be dicts, lists, str, int, float or bool)"),
            &[],
        )
    })?;
    let value = drop_nulls(value);
    let table = toml::Value::try_from(value)
        .map_err(|e| raise(obj.py(), "ArgumentError", format!("network dict: {e}"), &[]))?;
    toml::to_string(&table)
        .map_err(|e| raise(obj.py(), "ArgumentError", format!("network dict: {e}"), &[]))
}

/// `None` in a dict means "not given" (TOML has no null): such keys are left out.
fn drop_nulls(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

#[pymethods]
impl PyNetwork {
    /// Reads and validates a model file (TOML).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let net = py
            .detach(|| astroglia::Network::from_toml_file(&path))
            .map_err(|e| py_err(py, e))?;
        Ok(Self { net })
    }

    /// Parses and validates a model from TOML text; `name` prefixes every error.
    #[staticmethod]
    #[pyo3(signature = (text, name = "<string>"))]
    fn from_toml(py: Python<'_>, text: &str, name: &str) -> PyResult<Self> {
        let net = astroglia::model::parse_toml(text, name).map_err(|e| py_err(py, e))?;
        Ok(Self { net })
    }

    /// Builds and validates a model from a dict with the model file's tables
    /// (`{"dt_ms": 0.1, "populations": [{"name": "n", "size": 10, "lif": {}}]}`).
    /// Errors name the field (`populations[0].size`); lines are left out, since
    /// a dict has none.
    #[staticmethod]
    #[pyo3(signature = (description, name = "<dict>"))]
    fn from_dict(py: Python<'_>, description: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        let text = dict_to_toml(description)?;
        let net = astroglia::model::parse_toml(&text, name).map_err(|e| {
            // Lines and columns would point into the TOML made from the dict.
            let e = match e {
                astroglia::Error::Model {
                    source_name,
                    mut issues,
                } => {
                    for i in &mut issues {
                        i.line = None;
                        i.column = None;
                    }
                    astroglia::Error::Model {
                        source_name,
                        issues,
                    }
                }
                other => other,
            };
            py_err(py, e)
        })?;
        Ok(Self { net })
    }

    /// The description as a dict of the model file's tables.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        pythonize::pythonize(py, &self.net).map_err(|e| PyTypeError::new_err(e.to_string()))
    }

    /// The description as TOML text (a model file).
    fn to_toml(&self) -> PyResult<String> {
        toml::to_string(&self.net).map_err(|e| PyTypeError::new_err(e.to_string()))
    }

    /// Model name (`None` when the description has none).
    #[getter]
    fn name(&self) -> Option<String> {
        self.net.name.clone()
    }

    /// Integration step, ms.
    #[getter]
    fn dt_ms(&self) -> f64 {
        self.net.dt_ms
    }

    /// Default simulated time, ms.
    #[getter]
    fn duration_ms(&self) -> f64 {
        self.net.duration_ms
    }

    /// Seed (construction and per-step randomness).
    #[getter]
    fn seed(&self) -> u64 {
        self.net.seed
    }

    /// Population names, in global-id order.
    #[getter]
    fn populations(&self) -> Vec<String> {
        self.net
            .populations
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }

    /// Projection names (`name`, or `from->to`), in model order.
    #[getter]
    fn projections(&self) -> Vec<String> {
        self.net.projections.iter().map(|p| p.label()).collect()
    }

    /// A copy with another default duration (what the CLI's `--duration-ms` does).
    fn with_duration(&self, py: Python<'_>, duration_ms: f64) -> PyResult<Self> {
        let mut net = self.net.clone();
        net.set_duration_from("duration_ms", duration_ms)
            .map_err(|e| py_err(py, e))?;
        Ok(Self { net })
    }

    fn __repr__(&self) -> String {
        format!(
            "Network(name={:?}, populations={:?}, dt_ms={}, duration_ms={})",
            self.net.name.as_deref().unwrap_or(""),
            self.populations(),
            self.net.dt_ms,
            self.net.duration_ms
        )
    }
}

/// The one place `SimOptions` is made (its fields are set on the default, so
/// new fields and `#[non_exhaustive]` need no change here).
// Not a struct literal: one would stop compiling once `SimOptions` is `#[non_exhaustive]`.
#[allow(clippy::field_reassign_with_default)]
fn sim_options(
    seed: Option<u64>,
    backend: BackendKind,
    batch: usize,
    threads: usize,
    adapter: Option<String>,
    instance_seeds: Option<Vec<u64>>,
) -> SimOptions {
    let mut o = SimOptions::default();
    o.seed = seed;
    o.backend = backend;
    o.batch = batch;
    o.threads = threads;
    o.adapter = adapter;
    o.instance_seeds = instance_seeds;
    o
}

pub(crate) fn backend_kind(py: Python<'_>, name: &str) -> PyResult<BackendKind> {
    match name {
        "cpu" => Ok(BackendKind::Cpu),
        "gpu" => Ok(BackendKind::Gpu),
        other => Err(raise(
            py,
            "ArgumentError",
            format!("backend: '{other}' is not a backend, expected \"cpu\" or \"gpu\""),
            &[("what", "backend".into_pyobject(py)?.into_any().unbind())],
        )),
    }
}

/// Runs a network (`astroglia.Simulator`). Each call locks the simulator; a
/// call while another thread runs it raises `BusyError` rather than waiting.
#[pyclass(module = "astroglia", name = "Simulator", frozen)]
struct PySimulator {
    sim: Mutex<astroglia::Simulator>,
}

impl PySimulator {
    fn lock(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, astroglia::Simulator>> {
        match self.sim.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::WouldBlock) => Err(raise(
                py,
                "BusyError",
                "the simulator is in use by another thread (run() releases the GIL; \
                 use one simulator per thread)"
                    .into(),
                &[],
            )),
            Err(TryLockError::Poisoned(_)) => Err(raise(
                py,
                "AstrogliaError",
                "the simulator is unusable: an earlier call panicked inside it".into(),
                &[],
            )),
        }
    }
}

/// A float64 vector from a number or an array-like.
fn f64_values(obj: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if let Ok(x) = obj.extract::<f64>() {
        return Ok(vec![x]);
    }
    let a: PyArrayLike1<'_, f64, AllowTypeChange> = obj.extract()?;
    Ok(a.as_array().iter().copied().collect())
}

/// Spikes of one recording as `(times_ms float64[n], ids uint32[n])`.
fn spike_arrays<'py>(
    py: Python<'py>,
    dt_ms: f64,
    steps: &[u64],
    ids: Vec<u32>,
) -> Bound<'py, PyTuple> {
    let times: Vec<f64> = steps.iter().map(|&s| s as f64 * dt_ms).collect();
    PyTuple::new(
        py,
        [
            PyArray1::from_vec(py, times).into_any(),
            PyArray1::from_vec(py, ids).into_any(),
        ],
    )
    .expect("a tuple of two arrays")
}

#[pymethods]
impl PySimulator {
    /// Builds `net` and creates the backend (the GIL is released meanwhile).
    #[new]
    #[pyo3(signature = (net, *, seed = None, backend = "cpu", batch = 0, threads = 0, adapter = None, instance_seeds = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        net: PyRef<'_, PyNetwork>,
        seed: Option<u64>,
        backend: &str,
        batch: usize,
        threads: usize,
        adapter: Option<String>,
        instance_seeds: Option<Vec<u64>>,
    ) -> PyResult<Self> {
        let kind = backend_kind(py, backend)?;
        let opts = sim_options(seed, kind, batch, threads, adapter, instance_seeds);
        let net: &PyNetwork = &net;
        let sim = py
            .detach(|| astroglia::Simulator::new(&net.net, opts))
            .map_err(|e| py_err(py, e))?;
        Ok(Self {
            sim: Mutex::new(sim),
        })
    }

    /// Runs `ms` of simulated time (rounded to whole steps, as `run_ms` rounds)
    /// with the GIL released. It runs in slices of 10 000 steps and checks for
    /// signals between them, so Ctrl-C interrupts a long run (at a slice
    /// boundary; the steps run so far stay run). Slicing changes no spike.
    fn run(&self, py: Python<'_>, ms: f64) -> PyResult<()> {
        const SLICE: u64 = 10_000;
        if !(ms >= 0.0 && ms.is_finite()) {
            return Err(raise(
                py,
                "ArgumentError",
                format!("run: {ms} ms is out of range, expected a finite time >= 0"),
                &[("what", "ms".into_pyobject(py)?.into_any().unbind())],
            ));
        }
        let mut guard = self.lock(py)?;
        let sim: &mut astroglia::Simulator = &mut guard;
        let mut left = (ms / sim.dt_ms()).round() as u64;
        while left > 0 {
            let n = left.min(SLICE);
            py.detach(|| sim.run_steps(n, |_| {}))
                .map_err(|e| py_err(py, e))?;
            left -= n;
            if left > 0 {
                py.check_signals()?;
            }
        }
        Ok(())
    }

    /// Back to the state after build; `weights="restore"` also restores the
    /// built weights of plastic projections, `"keep"` keeps what was learnt.
    #[pyo3(signature = (weights = "restore"))]
    fn reset(&self, py: Python<'_>, weights: &str) -> PyResult<()> {
        let w = match weights {
            "restore" => ResetWeights::Restore,
            "keep" => ResetWeights::Keep,
            other => {
                return Err(raise(
                    py,
                    "ArgumentError",
                    format!("weights: '{other}', expected \"restore\" or \"keep\""),
                    &[],
                ));
            }
        };
        self.lock(py)?.reset(w).map_err(|e| py_err(py, e))
    }

    /// Keeps a snapshot of every instance under `name`.
    fn store(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.lock(py)?.store(name).map_err(|e| py_err(py, e))
    }

    /// Comes back to the snapshot `store(name)` kept.
    fn restore(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.lock(py)?.restore(name).map_err(|e| py_err(py, e))
    }

    /// Sets the rates (Hz) of Poisson population `population`: one rate, or one per source.
    #[pyo3(signature = (population, rates_hz, instance = 0))]
    fn set_rates(
        &self,
        py: Python<'_>,
        population: &str,
        rates_hz: &Bound<'_, PyAny>,
        instance: usize,
    ) -> PyResult<()> {
        let rates = f64_values(rates_hz)?;
        self.lock(py)?
            .set_poisson_rates(instance, population, &rates)
            .map_err(|e| py_err(py, e))
    }

    /// Sets the amplitude of the one `current` input onto `population`.
    #[pyo3(signature = (population, amplitude, instance = 0))]
    fn set_current(
        &self,
        py: Python<'_>,
        population: &str,
        amplitude: f64,
        instance: usize,
    ) -> PyResult<()> {
        self.lock(py)?
            .set_current(instance, population, amplitude)
            .map_err(|e| py_err(py, e))
    }

    /// Sets the mean and std (per step) of the one `noise` input onto `population`.
    #[pyo3(signature = (population, mean, std, instance = 0))]
    fn set_noise(
        &self,
        py: Python<'_>,
        population: &str,
        mean: f64,
        std: f64,
        instance: usize,
    ) -> PyResult<()> {
        self.lock(py)?
            .set_noise(instance, population, mean, std)
            .map_err(|e| py_err(py, e))
    }

    /// Replaces the events of spike-source population `population`: source
    /// `ids[k]` fires at `times_ms[k]` (ms since the start or the last reset).
    #[pyo3(signature = (population, times_ms, ids, instance = 0))]
    fn set_spike_source(
        &self,
        py: Python<'_>,
        population: &str,
        times_ms: PyArrayLike1<'_, f64, AllowTypeChange>,
        ids: &Bound<'_, PyAny>,
        instance: usize,
    ) -> PyResult<()> {
        let ids: Vec<u32> = ids_values(py, ids)?;
        let times = times_ms.as_array();
        let times: Vec<f64> = times.iter().copied().collect();
        self.lock(py)?
            .set_spike_source(instance, population, &times, &ids)
            .map_err(|e| py_err(py, e))
    }

    /// Sets the modulator (reward) of reward-modulated STDP projection `projection`.
    #[pyo3(signature = (projection, m, instance = 0))]
    fn set_modulator(
        &self,
        py: Python<'_>,
        projection: &str,
        m: f32,
        instance: usize,
    ) -> PyResult<()> {
        self.lock(py)?
            .set_modulator(instance, projection, m)
            .map_err(|e| py_err(py, e))
    }

    /// Sets the error of every postsynaptic neuron of delta-rule projection `projection`.
    #[pyo3(signature = (projection, error, instance = 0))]
    fn set_error(
        &self,
        py: Python<'_>,
        projection: &str,
        error: PyArrayLike1<'_, f32, AllowTypeChange>,
        instance: usize,
    ) -> PyResult<()> {
        let error: Vec<f32> = error.as_array().iter().copied().collect();
        self.lock(py)?
            .set_error(instance, projection, &error)
            .map_err(|e| py_err(py, e))
    }

    /// The spikes of `population` recorded so far (not drained) as
    /// `(times_ms float64[n], ids uint32[n])`, ordered by time then id.
    #[pyo3(signature = (population, instance = 0))]
    fn spikes<'py>(
        &self,
        py: Python<'py>,
        population: &str,
        instance: usize,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let sim = self.lock(py)?;
        let dt = sim.dt_ms();
        // One copy, of this population's spikes: the recording stays whole.
        let recorded = sim
            .population_spikes(instance, population)
            .map_err(|e| py_err(py, e))?
            .cloned();
        drop(sim);
        let Some(p) = recorded else {
            return Err(raise(
                py,
                "ArgumentError",
                format!(
                    "spikes of '{population}': the population is not recorded (spike \
                     sources are recorded only when a spikes monitor names them; with \
                     [monitors] spikes = [...], only the populations listed)"
                ),
                &[],
            ));
        };
        Ok(spike_arrays(py, dt, &p.steps, p.ids))
    }

    /// Takes the spikes recorded since the last drain out of the recording:
    /// `{population: (times_ms, ids)}` for every recorded population.
    #[pyo3(signature = (instance = 0))]
    fn drain_spikes<'py>(&self, py: Python<'py>, instance: usize) -> PyResult<Bound<'py, PyDict>> {
        let mut sim = self.lock(py)?;
        let dt = sim.dt_ms();
        let pops = sim
            .drain_instance_spikes(instance)
            .map_err(|e| py_err(py, e))?;
        drop(sim);
        let out = PyDict::new(py);
        for p in pops {
            out.set_item(&p.population, spike_arrays(py, dt, &p.steps, p.ids))?;
        }
        Ok(out)
    }

    /// Current values of state variable `var` of `population`: float32[size].
    #[pyo3(signature = (population, var, instance = 0))]
    fn state<'py>(
        &self,
        py: Python<'py>,
        population: &str,
        var: &str,
        instance: usize,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let v = self
            .lock(py)?
            .instance_state(instance, population, var)
            .map_err(|e| py_err(py, e))?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// Current weights of projection `projection`: float32[synapses], CSR order
    /// (by presynaptic neuron), in the projection's weight unit.
    #[pyo3(signature = (projection, instance = 0))]
    fn weights<'py>(
        &self,
        py: Python<'py>,
        projection: &str,
        instance: usize,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let w = self
            .lock(py)?
            .weights(instance, projection)
            .map_err(|e| py_err(py, e))?;
        Ok(PyArray1::from_vec(py, w))
    }

    /// Overwrites the weights of plastic projection `projection` (order and unit of `weights`).
    #[pyo3(signature = (projection, weights, instance = 0))]
    fn set_weights(
        &self,
        py: Python<'_>,
        projection: &str,
        weights: PyArrayLike1<'_, f32, AllowTypeChange>,
        instance: usize,
    ) -> PyResult<()> {
        let w = weights.as_array();
        let w: Vec<f32> = w.iter().copied().collect();
        self.lock(py)?
            .set_weights(instance, projection, &w)
            .map_err(|e| py_err(py, e))
    }

    /// The weight unit of projection `projection` (`mV`, `pA` or `nS`).
    fn weight_unit(&self, py: Python<'_>, projection: &str) -> PyResult<String> {
        self.lock(py)?
            .weight_unit(projection)
            .map(str::to_string)
            .map_err(|e| py_err(py, e))
    }

    /// Number of neurons of population `population`.
    fn population_size(&self, py: Python<'_>, population: &str) -> PyResult<u32> {
        self.lock(py)?
            .population_size(population)
            .map_err(|e| py_err(py, e))
    }

    /// The run summary, as `astroglia run` writes it to summary.json (with the
    /// plasticity statistics of instance 0; `wall_s` is 0).
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut sim = self.lock(py)?;
        let mut s = sim.summary();
        s.plasticity = sim.plasticity_summary(0).map_err(|e| py_err(py, e))?;
        drop(sim);
        pythonize::pythonize(py, &s).map_err(|e| PyTypeError::new_err(e.to_string()))
    }

    /// Integration step, ms.
    #[getter]
    fn dt_ms(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(self.lock(py)?.dt_ms())
    }

    /// Steps run since construction or the last reset.
    #[getter]
    fn steps_done(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.lock(py)?.steps_done())
    }

    /// Simulated time since construction or the last reset, ms.
    #[getter]
    fn time_ms(&self, py: Python<'_>) -> PyResult<f64> {
        let sim = self.lock(py)?;
        Ok(sim.steps_done() as f64 * sim.dt_ms())
    }

    /// Instances in the batch.
    #[getter]
    fn batch(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.lock(py)?.batch())
    }

    /// What the build warned of.
    #[getter]
    fn warnings(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        Ok(self.lock(py)?.warnings().to_vec())
    }
}

/// Neuron ids from an array-like of non-negative integers (uint32).
fn ids_values(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    let a: PyArrayLike1<'_, i64, AllowTypeChange> = obj.extract()?;
    a.as_array()
        .iter()
        .map(|&i| {
            u32::try_from(i).map_err(|_| {
                raise(
                    py,
                    "ArgumentError",
                    format!("ids: {i} is not a neuron id (expected 0 <= id < 2^32)"),
                    &[],
                )
            })
        })
        .collect()
}

/// Whether the GPU backend finds an adapter (`astroglia gpu` needs one).
#[pyfunction]
fn gpu_available(py: Python<'_>) -> bool {
    py.detach(|| !astroglia::backend::gpu::list_adapters().is_empty())
}

/// The GPU adapters `backend="gpu"` can use, best first.
#[pyfunction]
fn gpu_adapters(py: Python<'_>) -> Vec<String> {
    py.detach(astroglia::backend::gpu::list_adapters)
}

/// The 1797 8x8 digits built into astroglia: `(images float32[n, 64] in [0, 1],
/// labels uint8[n])`.
#[pyfunction]
fn digits<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
    let d = astroglia::data::digits::Digits::embedded().map_err(|e| py_err(py, e))?;
    let n = d.labels().len();
    let images =
        PyArray1::from_vec(py, d.images().to_vec()).reshape([n, d.images().len() / n.max(1)])?;
    let labels = PyArray1::from_vec(py, d.labels().to_vec());
    PyTuple::new(py, [images.into_any(), labels.into_any()])
}

/// Reads an IDX file (MNIST's format; `.gz` inflated): a NumPy array of the
/// file's dims and element type (uint8, int8, int16, int32, float32, float64),
/// handed over without a copy.
#[pyfunction]
fn read_idx<'py>(py: Python<'py>, path: std::path::PathBuf) -> PyResult<Bound<'py, PyAny>> {
    use astroglia::data::idx::IdxData;
    let a = py
        .detach(|| astroglia::data::idx::read(&path))
        .map_err(|e| py_err(py, e))?;
    let flat = match a.data {
        IdxData::U8(v) => PyArray1::from_vec(py, v).into_any(),
        IdxData::I8(v) => PyArray1::from_vec(py, v).into_any(),
        IdxData::I16(v) => PyArray1::from_vec(py, v).into_any(),
        IdxData::I32(v) => PyArray1::from_vec(py, v).into_any(),
        IdxData::F32(v) => PyArray1::from_vec(py, v).into_any(),
        IdxData::F64(v) => PyArray1::from_vec(py, v).into_any(),
    };
    // A view of the flat array: still no copy.
    flat.call_method1("reshape", (PyTuple::new(py, a.dims)?,))
}

/// Reads one N-MNIST recording (`.bin`): `{"x", "y" (uint16), "p" (uint8),
/// "t_us" (uint64): one entry per event, in file order; "width", "height",
/// "polarities": the sensor}`.
#[pyfunction]
fn read_nmnist<'py>(py: Python<'py>, path: std::path::PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let ev = py
        .detach(|| astroglia::data::nmnist::read_file(&path))
        .map_err(|e| py_err(py, e))?;
    let e = &ev.events;
    let d = PyDict::new(py);
    d.set_item("x", PyArray1::from_vec(py, e.iter().map(|e| e.x).collect()))?;
    d.set_item("y", PyArray1::from_vec(py, e.iter().map(|e| e.y).collect()))?;
    d.set_item("p", PyArray1::from_vec(py, e.iter().map(|e| e.p).collect()))?;
    d.set_item(
        "t_us",
        PyArray1::from_vec(py, e.iter().map(|e| e.t_us).collect()),
    )?;
    d.set_item("width", ev.sensor.width)?;
    d.set_item("height", ev.sensor.height)?;
    d.set_item("polarities", ev.sensor.polarities)?;
    Ok(d)
}

/// Reads a whole SHD (or SSC: `layout="ssc"`) HDF5 file: `(samples, labels)`,
/// `samples[i] = (times_s float64[n], units uint32[n])` in file order and
/// `labels` uint32[samples], each checked against the layout's channel and
/// class counts.
#[pyfunction]
#[pyo3(signature = (path, layout = "shd"))]
fn read_shd<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    layout: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    use astroglia::data::SampleSource;
    use astroglia::data::shd::{ShdDataset, ShdLayout};
    let layout = match layout {
        "shd" => ShdLayout::SHD,
        "ssc" => ShdLayout::SSC,
        other => {
            return Err(raise(
                py,
                "ArgumentError",
                format!("layout: '{other}', expected \"shd\" or \"ssc\""),
                &[],
            ));
        }
    };
    let (samples, labels) = py
        .detach(|| {
            let ds = ShdDataset::open(&path, layout)?;
            let n = ds.len();
            let mut samples = Vec::with_capacity(n);
            let mut labels = Vec::with_capacity(n);
            for i in 0..n {
                samples.push(ds.spikes(i)?);
                labels.push(ds.label(i)? as u32);
            }
            Ok::<_, astroglia::Error>((samples, labels))
        })
        .map_err(|e| py_err(py, e))?;
    let list = pyo3::types::PyList::empty(py);
    for s in samples {
        list.append(PyTuple::new(
            py,
            [
                PyArray1::from_vec(py, s.times_s).into_any(),
                PyArray1::from_vec(py, s.units).into_any(),
            ],
        )?)?;
    }
    PyTuple::new(
        py,
        [list.into_any(), PyArray1::from_vec(py, labels).into_any()],
    )
}

/// Imports a NIR graph (`.nir`, HDF5) as a network: `(network, info)` with
/// `info = {"inputs": [(population, shape)], "outputs": [(node, population)],
/// "warnings": [...]}`. NIR files carry no step: `dt_ms` sets it.
#[pyfunction]
#[pyo3(signature = (path, *, dt_ms = 1.0, duration_ms = 1000.0))]
fn nir_import<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    dt_ms: f64,
    duration_ms: f64,
) -> PyResult<(PyNetwork, Bound<'py, PyDict>)> {
    let opts = astroglia::nir::ImportOptions { dt_ms, duration_ms };
    let imported = py
        .detach(|| {
            let graph = astroglia::nir::read(&path)?;
            astroglia::nir::to_model(&graph, &opts)
        })
        .map_err(|e| py_err(py, e))?;
    let info = PyDict::new(py);
    info.set_item("inputs", imported.inputs)?;
    info.set_item("outputs", imported.outputs)?;
    info.set_item("warnings", imported.warnings)?;
    Ok((
        PyNetwork {
            net: imported.network,
        },
        info,
    ))
}

/// Exports a network to a NIR graph file (the NIR-expressible subset; others
/// raise `NirError` naming the population or projection): `{"nodes", "edges",
/// "version"}` of what was written.
#[pyfunction]
fn nir_export<'py>(
    py: Python<'py>,
    net: PyRef<'_, PyNetwork>,
    path: std::path::PathBuf,
) -> PyResult<Bound<'py, PyDict>> {
    let net: &PyNetwork = &net;
    let graph = py
        .detach(|| {
            let graph = astroglia::nir::from_model(&net.net)?;
            astroglia::nir::write(&graph, &path)?;
            Ok::<_, astroglia::Error>(graph)
        })
        .map_err(|e| py_err(py, e))?;
    let info = PyDict::new(py);
    info.set_item("nodes", graph.graph.nodes.len())?;
    info.set_item("edges", graph.graph.edges.len())?;
    info.set_item("version", graph.version.to_string())?;
    Ok(info)
}

#[pymodule]
fn _astroglia(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNetwork>()?;
    m.add_class::<PySimulator>()?;
    m.add_function(wrap_pyfunction!(gpu_available, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_adapters, m)?)?;
    m.add_function(wrap_pyfunction!(digits, m)?)?;
    m.add_function(wrap_pyfunction!(read_idx, m)?)?;
    m.add_function(wrap_pyfunction!(read_nmnist, m)?)?;
    m.add_function(wrap_pyfunction!(read_shd, m)?)?;
    m.add_function(wrap_pyfunction!(runners::experiment, m)?)?;
    m.add_function(wrap_pyfunction!(runners::continual, m)?)?;
    m.add_function(wrap_pyfunction!(runners::compare, m)?)?;
    m.add_function(wrap_pyfunction!(nir_import, m)?)?;
    m.add_function(wrap_pyfunction!(nir_export, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
