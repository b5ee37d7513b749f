//! The experiment runners of the command line (`astroglia experiment`,
//! `continual`, `compare`) as functions returning their results as dicts. Each
//! writes what the command writes into `out` except the plots (the extension
//! is built without the `plot` feature); the GIL is released while it runs.
use std::path::{Path, PathBuf};

use astroglia::experiment::lsm::RunOptions;
use astroglia::sim::BackendKind;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::errors::py_err;

/// `threads` 0: every core (the command line's default for experiments).
fn threads_or_all(threads: usize) -> usize {
    if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// The one place `RunOptions` is made.
fn run_options(
    out: PathBuf,
    backend: BackendKind,
    threads: usize,
    data_dir: Option<PathBuf>,
    adapter: Option<String>,
) -> RunOptions {
    RunOptions {
        data_dir,
        backend,
        adapter,
        threads: threads_or_all(threads),
        out,
        progress: false,
    }
}

/// `out`, or `out/<name>` in the working directory (the command line's default).
fn out_dir(out: Option<PathBuf>, name: &str) -> PathBuf {
    out.unwrap_or_else(|| Path::new("out").join(name))
}

/// Creates the output directory (the command line's `output_dir` does).
fn create(out: &Path) -> astroglia::Result<()> {
    std::fs::create_dir_all(out).map_err(|e| astroglia::Error::io(out, e))
}

fn base_of(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, v).map_err(|e| PyTypeError::new_err(e.to_string()))
}

/// Runs an LSM experiment file (`astroglia experiment FILE`): the results
/// (results.json's content) as a dict, or, for a file with `[[variants]]`, the
/// comparison (comparison.json's). Writes them under `out` (default `out/<name>`).
#[pyfunction]
#[pyo3(signature = (path, *, out = None, backend = "cpu", threads = 0, data_dir = None, adapter = None))]
pub fn experiment<'py>(
    py: Python<'py>,
    path: PathBuf,
    out: Option<PathBuf>,
    backend: &str,
    threads: usize,
    data_dir: Option<PathBuf>,
    adapter: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    use astroglia::experiment::lsm::{
        Experiment, run_experiment, run_variants, write_comparison, write_report,
    };
    let backend = crate::backend_kind(py, backend)?;
    let exp = py
        .detach(|| Experiment::load(&path))
        .map_err(|e| py_err(py, e))?;
    let out = out_dir(out, exp.name.as_deref().unwrap_or("experiment"));
    let opts = run_options(out.clone(), backend, threads, data_dir, adapter);
    let base = base_of(&path);
    if exp.variants.is_empty() {
        let run = py
            .detach(|| {
                create(&out)?;
                let run = run_experiment(&exp, &base, &opts)?;
                write_report(&out, &run)?;
                Ok::<_, astroglia::Error>(run)
            })
            .map_err(|e| py_err(py, e))?;
        to_py(py, &run.results)
    } else {
        let cmp = py
            .detach(|| {
                create(&out)?;
                let cmp = run_variants(&exp, &base, &opts, |v, run| {
                    write_report(&out.join(&v.name), run)
                })?;
                write_comparison(&out, &cmp)?;
                Ok::<_, astroglia::Error>(cmp)
            })
            .map_err(|e| py_err(py, e))?;
        to_py(py, &cmp)
    }
}

/// Runs a continual-learning experiment file (`astroglia continual FILE`): the
/// results (results.json's content) as a dict, also written under `out`.
#[pyfunction]
#[pyo3(signature = (path, *, out = None, seed = None, backend = "cpu", threads = 0, data_dir = None, adapter = None))]
#[allow(clippy::too_many_arguments)]
pub fn continual<'py>(
    py: Python<'py>,
    path: PathBuf,
    out: Option<PathBuf>,
    seed: Option<u64>,
    backend: &str,
    threads: usize,
    data_dir: Option<PathBuf>,
    adapter: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    use astroglia::experiment::continual::{Continual, run_continual, write_report};
    let backend = crate::backend_kind(py, backend)?;
    let mut exp = py
        .detach(|| Continual::load(&path))
        .map_err(|e| py_err(py, e))?;
    if let Some(seed) = seed {
        exp.seed = seed;
    }
    let out = out_dir(out, exp.name.as_deref().unwrap_or("continual"));
    let opts = run_options(out.clone(), backend, threads, data_dir, adapter);
    let base = base_of(&path);
    let r = py
        .detach(|| {
            create(&out)?;
            let r = run_continual(&exp, &base, &opts)?;
            write_report(&out, &r)?;
            Ok::<_, astroglia::Error>(r)
        })
        .map_err(|e| py_err(py, e))?;
    to_py(py, &r)
}

/// Runs a model under the plasticity rules of a rules file side by side
/// (`astroglia compare MODEL --rules RULES`): compare.json's content as a dict,
/// also written to `out/compare.json` when `out` is given.
#[pyfunction]
#[pyo3(signature = (model, rules, *, projections = vec![], seed = None, duration_ms = None, bf_populations = vec![], bf_sample_ms = None, threads = 0, out = None))]
#[allow(clippy::too_many_arguments)]
// Field by field, like `SimOptions` (lib.rs): robust to `#[non_exhaustive]`.
#[allow(clippy::field_reassign_with_default)]
pub fn compare<'py>(
    py: Python<'py>,
    model: PathBuf,
    rules: PathBuf,
    projections: Vec<String>,
    seed: Option<u64>,
    duration_ms: Option<f64>,
    bf_populations: Vec<String>,
    bf_sample_ms: Option<f64>,
    threads: usize,
    out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    use astroglia::experiment::compare::{CompareOptions, load_rules, run_compare};
    let mut opts = CompareOptions::default();
    opts.projections = projections;
    opts.seed = seed;
    opts.duration_ms = duration_ms;
    opts.bf_populations = bf_populations;
    if let Some(ms) = bf_sample_ms {
        opts.bf_sample_ms = ms;
    }
    opts.threads = threads;
    let cmp = py
        .detach(|| {
            let net = astroglia::Network::from_toml_file(&model)?;
            let rules = load_rules(&rules)?;
            let cmp = run_compare(&net, &rules, &opts, |_, _| {})?;
            if let Some(out) = &out {
                let path = out.join("compare.json");
                create(out)?;
                let text = serde_json::to_string_pretty(&cmp)
                    .map_err(|e| astroglia::Error::io(&path, e.to_string()))?;
                std::fs::write(&path, text).map_err(|e| astroglia::Error::io(&path, e))?;
            }
            Ok::<_, astroglia::Error>(cmp)
        })
        .map_err(|e| py_err(py, e))?;
    to_py(py, &cmp)
}
