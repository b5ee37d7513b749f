//! Run outputs: the in-memory [`Recording`] produced by the monitors, and the
//! writers that turn it into files (HDF5 data, PNG plots, JSON summaries).
//!
//! Every writer is atomic: output is produced in a temporary file next to the
//! target and renamed over it only once complete, so an interrupted run never
//! leaves a truncated file where a previous good one was.

mod claim;
#[cfg(feature = "hdf5")]
pub mod connectivity;
#[cfg(feature = "hdf5")]
pub mod hdf5;
#[cfg(feature = "plot")]
pub mod plot;

pub use self::claim::{Claim, LOCK_FILE, claim_dir};
#[cfg(feature = "hdf5")]
pub use self::hdf5::{read_hdf5, read_hdf5_attrs, write_hdf5};
#[cfg(feature = "plot")]
pub use self::plot::{plot_histogram, plot_raster};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Spikes of one population, in step order (ids are local to the population).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PopSpikes {
    /// Population name.
    pub population: String,
    /// Number of neurons in the population (spike ids are `< size`).
    pub size: u32,
    /// Step of each spike, non-decreasing.
    pub steps: Vec<u64>,
    /// Local neuron id of each spike, parallel to `steps`.
    pub ids: Vec<u32>,
}

/// Samples of one state variable for a subset of neurons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateTrace {
    /// Population name.
    pub population: String,
    /// State variable name (e.g. `v`).
    pub var: String,
    /// Its unit (`mV`, `pA`, `nS`, ...; `1`: dimensionless; empty: unknown).
    pub unit: String,
    /// Local ids of the sampled neurons.
    pub ids: Vec<u32>,
    /// Sampling interval in steps.
    pub every: u32,
    /// Step of each sample.
    pub steps: Vec<u64>,
    /// Row-major samples: `steps.len()` rows × `ids.len()` columns.
    pub values: Vec<f32>,
}

/// Population rate in bins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateTrace {
    /// Population name.
    pub population: String,
    /// Bin width in milliseconds.
    pub bin_ms: f64,
    /// Mean per-neuron firing rate in each bin, in Hz.
    pub rates_hz: Vec<f64>,
}

/// Everything the monitors recorded in a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recording {
    /// Integration time step in milliseconds.
    pub dt_ms: f64,
    /// Simulated duration in milliseconds.
    pub duration_ms: f64,
    /// Spike recordings, one per population, in model order.
    pub spikes: Vec<PopSpikes>,
    /// State-variable recordings.
    pub states: Vec<StateTrace>,
    /// Population-rate recordings.
    pub rates: Vec<RateTrace>,
    /// Weight snapshots of plastic projections.
    pub weights: Vec<WeightTrace>,
}

/// Snapshots of a plastic projection's weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightTrace {
    /// Projection name.
    pub projection: String,
    /// Sampling interval in steps.
    pub every: u32,
    /// The rule's bounds: the histogram spans `[w_min, w_max]`.
    pub w_min: f64,
    /// Upper bound.
    pub w_max: f64,
    /// Presynaptic (population-local) neuron of each synapse, CSR order.
    pub pre: Vec<u32>,
    /// Postsynaptic (population-local) neuron of each synapse.
    pub post: Vec<u32>,
    /// Step of each snapshot.
    pub steps: Vec<u64>,
    /// Row-major weights, `steps.len()` rows × `pre.len()` columns; empty when
    /// the monitor keeps histograms only.
    pub values: Vec<f32>,
    /// Bins per histogram.
    pub bins: u32,
    /// Row-major counts, `steps.len()` rows × `bins` columns; values outside the
    /// bounds count in the end bins.
    pub hist: Vec<u64>,
}

impl WeightTrace {
    /// Counts of `w` in `bins` equal bins over `[w_min, w_max]`, out-of-range
    /// values in the end bins.
    ///
    /// ```
    /// use astroglia::record::WeightTrace;
    /// assert_eq!(WeightTrace::histogram(&[0.0, 0.1, 0.5, 0.99, 1.0, 2.0], 0.0, 1.0, 2),
    ///            vec![2, 4]);
    /// ```
    pub fn histogram(w: &[f32], w_min: f64, w_max: f64, bins: usize) -> Vec<u64> {
        let mut hist = vec![0u64; bins];
        let range = w_max - w_min;
        for &x in w {
            let b = ((x as f64 - w_min) / range * bins as f64).floor();
            hist[(b.max(0.0) as usize).min(bins - 1)] += 1;
        }
        hist
    }
}

/// Writes `bytes` to `path` atomically: readers see either the old file or
/// the complete new one, never a partial write.
///
/// The data goes to a hidden temporary file in the same directory (so the
/// final rename stays on one filesystem), is fsynced, then renamed over the
/// target. Errors name `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = TempFile::new(path)?;
    let written = fs::File::create(tmp.path()).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    written.map_err(|e| Error::io(path, e))?;
    tmp.commit()
}

/// Serialises `value` as pretty-printed JSON (with a trailing newline) and
/// writes it to `path` with [`write_atomic`].
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::io(path, format!("cannot serialise JSON: {e}")))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// `name` made safe as one directory name under `out/`: characters other than
/// letters, digits, `-`, `_` and `.` become `_`, and a name of dots only (or
/// none) becomes `model`, so a model called `../../x` cannot write outside it.
///
/// ```
/// use astroglia::record::dir_name;
/// assert_eq!(dir_name("coba"), "coba");
/// assert_eq!(dir_name("../../etc/x"), ".._.._etc_x");
/// assert_eq!(dir_name(".."), "model");
/// ```
pub fn dir_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.chars().all(|c| c == '.') {
        "model".into()
    } else {
        safe
    }
}

/// A temporary sibling of a target file, removed on drop unless
/// [`commit`](Self::commit)ted, so failed writes leave no debris behind.
pub(crate) struct TempFile {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl TempFile {
    /// Picks a fresh temporary name next to `target`; creates nothing yet.
    pub(crate) fn new(target: &Path) -> Result<Self> {
        // Renaming over a symlink, device or directory would replace it (as
        // root, `--out /dev/full` once became a regular file): only regular
        // files are replaced.
        if let Ok(m) = fs::symlink_metadata(target) {
            if !m.file_type().is_file() {
                return Err(Error::io(
                    target,
                    "exists and is not a regular file (a symlink, directory or device); \
                     refusing to replace it",
                ));
            }
        }
        // Distinguishes concurrent writers within one process; the pid
        // distinguishes processes.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .ok_or_else(|| Error::io(target, "not a file path"))?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{}-{n}", std::process::id()));
        Ok(Self {
            tmp: target.with_file_name(tmp_name),
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Path of the temporary file.
    pub(crate) fn path(&self) -> &Path {
        &self.tmp
    }

    /// Renames the (complete, synced) temporary file over the target.
    pub(crate) fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        sync_parent_dir(&self.target);
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the file may never have been created.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Makes the rename itself durable. Best effort: some filesystems refuse to
/// fsync directories, and the data is already safely written.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Directory entries of `dir` whose name marks them as our temporary files.
#[cfg(test)]
pub(crate) fn leftover_temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_creates_and_replaces_without_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        assert!(leftover_temp_files(dir.path()).is_empty());
    }

    #[test]
    fn write_atomic_works_for_a_bare_relative_name() {
        // `Path::parent` of "x" is "", which must mean the current directory.
        let tmp = TempFile::new(Path::new("x.json")).unwrap();
        assert_eq!(tmp.path().parent(), Some(Path::new("")));
        assert!(tmp.path().to_string_lossy().starts_with(".x.json.tmp-"));
    }

    #[test]
    fn write_atomic_to_missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Io { .. }));
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }

    #[test]
    fn failed_write_keeps_old_target_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"good").unwrap();
        // Renaming a file over a non-empty directory fails after the data was
        // written, exercising the cleanup path.
        let blocker = dir.path().join("blocker");
        fs::create_dir(&blocker).unwrap();
        fs::write(blocker.join("inner"), b"").unwrap();
        assert!(write_atomic(&blocker, b"new").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"good");
        assert!(leftover_temp_files(dir.path()).is_empty());
    }

    #[test]
    fn concurrent_writers_never_expose_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let payloads: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 1 << 20]).collect();
        write_atomic(&path, &payloads[0]).unwrap();
        std::thread::scope(|s| {
            for p in &payloads {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..5 {
                        write_atomic(path, p).unwrap();
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..200 {
                    let got = fs::read(&path).unwrap();
                    assert_eq!(got.len(), 1 << 20);
                    assert!(got.iter().all(|&b| b == got[0]));
                }
            });
        });
        assert!(leftover_temp_files(dir.path()).is_empty());
    }

    #[test]
    fn json_is_pretty_with_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write_json_atomic(&path, &serde_json::json!({"a": 1, "b": [1, 2]})).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        assert!(text.contains("\n  \"a\": 1"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["b"][1], 2);
    }
}
