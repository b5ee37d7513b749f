//! HDF5 output of a [`Recording`].
//!
//! The layout is a stable interface (users read it with h5py, MATLAB, ...):
//!
//! ```text
//! /                                  attrs: dt_ms (f64), duration_ms (f64), user string attrs
//! spikes/<population>/               attr:  size (u32)
//! spikes/<population>/times_ms       f64 [n_spikes]   step · dt_ms
//! spikes/<population>/ids            u32 [n_spikes]   population-local neuron ids
//! states/<population>/<var>/         attrs: every (u32, sampling interval in steps),
//!                                           unit (string: mV, pA, nS, ...; 1 = dimensionless)
//! states/<population>/<var>/values   f32 [n_samples, n_ids]
//! states/<population>/<var>/times_ms f64 [n_samples]
//! states/<population>/<var>/ids      u32 [n_ids]
//! rates/<population>/rates_hz        f64 [n_bins]     attr: bin_ms (f64)
//! weights/<projection>/              attrs: every (u32), w_min, w_max (f64), bins (u32)
//! weights/<projection>/times_ms      f64 [n_snapshots]
//! weights/<projection>/pre, post     u32 [n_synapses]  population-local ends, CSR order
//! weights/<projection>/hist          u64 [n_snapshots, bins] counts over [w_min, w_max]
//! weights/<projection>/values        f32 [n_snapshots, n_synapses] (absent: histograms only)
//! ```
//!
//! Groups track link creation order, so populations read back (and list in
//! h5py) in model order rather than alphabetically.

use std::collections::HashSet;
use std::path::Path;

use ::hdf5::plist::group_create::LinkCreationOrder;
use ::hdf5::types::VarLenUnicode;
use ::hdf5::{File, Group, H5Type, IndexType, IterationOrder, Location};

use super::{PopSpikes, RateTrace, Recording, StateTrace, TempFile, WeightTrace};
use crate::{Error, Result};

/// Root attributes written from the [`Recording`] itself; user attributes may
/// not reuse these names.
const RESERVED_ATTRS: [&str; 2] = ["dt_ms", "duration_ms"];

/// Writes `rec` to `path` in the layout described in the [module docs](self),
/// adding each `(key, value)` of `attrs` as a string attribute on the root.
///
/// The file is built under a temporary name in the same directory and renamed
/// over `path` only when complete. Population and variable names become HDF5
/// group names, so they must be non-empty, not `.`, and free of `/` and NUL;
/// `dt_ms` must be positive so that times convert back to steps.
pub fn write_hdf5(path: &Path, rec: &Recording, attrs: &[(&str, String)]) -> Result<()> {
    validate(rec, attrs).map_err(|msg| Error::io(path, msg))?;
    let tmp = TempFile::new(path)?;
    write_file(tmp.path(), rec, attrs).map_err(|e| Error::io(path, e))?;
    // HDF5 has closed the file; fsync it through std before the rename so a
    // crash cannot leave a renamed-but-empty file.
    std::fs::File::open(tmp.path())
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))?;
    tmp.commit()
}

/// Reads a file written by [`write_hdf5`] back into a [`Recording`].
///
/// Populations come back in the order they were written, except that state
/// traces are grouped by population. Missing `spikes`, `states` or `rates`
/// groups read as empty. A missing, corrupt or malformed file gives an
/// [`Error::Io`] naming `path`.
pub fn read_hdf5(path: &Path) -> Result<Recording> {
    let file = open(path)?;
    read_recording(&file).map_err(|e| Error::io(path, e))
}

/// Reads the string attributes on the root of an HDF5 file (the `attrs`
/// given to [`write_hdf5`]), sorted by name.
pub fn read_hdf5_attrs(path: &Path) -> Result<Vec<(String, String)>> {
    let file = open(path)?;
    let read = || -> ::hdf5::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for name in file.attr_names()? {
            let attr = file.attr(&name)?;
            if attr.dtype()?.is::<VarLenUnicode>() && attr.is_scalar() {
                out.push((name, attr.read_scalar::<VarLenUnicode>()?.to_string()));
            }
        }
        out.sort();
        Ok(out)
    };
    read().map_err(|e| Error::io(path, e))
}

fn open(path: &Path) -> Result<File> {
    // Checked first so a missing file gives the OS's plain message rather
    // than HDF5's error stack.
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    open_unlocked(path).map_err(|e| Error::io(path, format!("not a readable HDF5 file: {e}")))
}

/// Opens an HDF5 file read-only without HDF5's advisory lock. Outputs are written
/// to a temporary file and renamed into place, so a reader never sees one being
/// written; and the lock would fail spuriously when a child process started
/// meanwhile holds an inherited descriptor of a file this process wrote
/// (HDF5 does not open files close-on-exec).
pub(crate) fn open_unlocked(path: &Path) -> ::hdf5::Result<File> {
    File::with_options()
        .with_fapl(|p| p.file_locking(false))
        .open(path)
}

/// Checks everything HDF5 would choke on (or silently mangle) up front, so
/// errors are precise and no temporary file is created for invalid input.
fn validate(rec: &Recording, attrs: &[(&str, String)]) -> std::result::Result<(), String> {
    if !(rec.dt_ms.is_finite() && rec.dt_ms > 0.0) {
        return Err(format!("dt_ms must be positive, got {}", rec.dt_ms));
    }
    let mut seen = HashSet::new();
    for s in &rec.spikes {
        check_name("population", &s.population)?;
        if !seen.insert(s.population.as_str()) {
            return Err(format!("duplicate spike population '{}'", s.population));
        }
        if s.steps.len() != s.ids.len() {
            return Err(format!(
                "spikes of '{}': {} steps but {} ids",
                s.population,
                s.steps.len(),
                s.ids.len()
            ));
        }
    }
    let mut seen = HashSet::new();
    for t in &rec.states {
        check_name("population", &t.population)?;
        check_name("state variable", &t.var)?;
        if !seen.insert((t.population.as_str(), t.var.as_str())) {
            return Err(format!(
                "duplicate state trace '{}.{}'",
                t.population, t.var
            ));
        }
        if t.unit.contains('\0') {
            return Err(format!(
                "state trace '{}.{}': its unit contains a NUL character",
                t.population, t.var
            ));
        }
        if t.values.len() != t.steps.len() * t.ids.len() {
            return Err(format!(
                "state trace '{}.{}': {} values for {} samples × {} neurons",
                t.population,
                t.var,
                t.values.len(),
                t.steps.len(),
                t.ids.len()
            ));
        }
    }
    let mut seen = HashSet::new();
    for r in &rec.rates {
        check_name("population", &r.population)?;
        if !seen.insert(r.population.as_str()) {
            return Err(format!("duplicate rate population '{}'", r.population));
        }
    }
    let mut seen = HashSet::new();
    for w in &rec.weights {
        check_name("projection", &w.projection)?;
        if !seen.insert(w.projection.as_str()) {
            return Err(format!("duplicate weight projection '{}'", w.projection));
        }
        let (n, syn) = (w.steps.len(), w.pre.len());
        if w.post.len() != syn
            || w.hist.len() != n * w.bins as usize
            || !(w.values.is_empty() || w.values.len() == n * syn)
        {
            return Err(format!(
                "weights of '{}': {} snapshots, {} pre / {} post ends, {} bins: \
                 {} counts and {} values do not fit",
                w.projection,
                n,
                syn,
                w.post.len(),
                w.bins,
                w.hist.len(),
                w.values.len()
            ));
        }
    }
    let mut seen = HashSet::new();
    for (key, value) in attrs {
        check_name("attribute", key)?;
        if RESERVED_ATTRS.contains(key) {
            return Err(format!("attribute name '{key}' is reserved"));
        }
        if !seen.insert(*key) {
            return Err(format!("duplicate attribute '{key}'"));
        }
        if value.contains('\0') {
            return Err(format!("attribute '{key}' contains a NUL character"));
        }
    }
    Ok(())
}

fn check_name(what: &str, name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name == "." || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "{what} name {name:?} cannot be used as an HDF5 name (empty, '.', '/' or NUL)"
        ));
    }
    Ok(())
}

fn write_file(path: &Path, rec: &Recording, attrs: &[(&str, String)]) -> ::hdf5::Result<()> {
    let file = File::create(path)?;
    scalar_attr(&file, "dt_ms", &rec.dt_ms)?;
    scalar_attr(&file, "duration_ms", &rec.duration_ms)?;
    for (key, value) in attrs {
        // Validated free of NULs, so this cannot fail.
        let value: VarLenUnicode = value.parse().map_err(|e| format!("{e}"))?;
        scalar_attr(&file, key, &value)?;
    }

    let spikes = ordered_group(&file, "spikes")?;
    for s in &rec.spikes {
        let g = ordered_group(&spikes, &s.population)?;
        scalar_attr(&g, "size", &s.size)?;
        let times: Vec<f64> = s.steps.iter().map(|&k| k as f64 * rec.dt_ms).collect();
        dataset_1d(&g, "times_ms", &times)?;
        dataset_1d(&g, "ids", &s.ids)?;
    }

    let states = ordered_group(&file, "states")?;
    for t in &rec.states {
        let pop = match states.group(&t.population) {
            Ok(g) => g,
            Err(_) => ordered_group(&states, &t.population)?,
        };
        let g = ordered_group(&pop, &t.var)?;
        scalar_attr(&g, "every", &t.every)?;
        if !t.unit.is_empty() {
            let unit: VarLenUnicode = t.unit.parse().map_err(|e| format!("{e}"))?;
            scalar_attr(&g, "unit", &unit)?;
        }
        g.new_dataset::<f32>()
            .shape((t.steps.len(), t.ids.len()))
            .create("values")?
            .write_raw(t.values.as_slice())?;
        let times: Vec<f64> = t.steps.iter().map(|&k| k as f64 * rec.dt_ms).collect();
        dataset_1d(&g, "times_ms", &times)?;
        dataset_1d(&g, "ids", &t.ids)?;
    }

    let rates = ordered_group(&file, "rates")?;
    for r in &rec.rates {
        let g = ordered_group(&rates, &r.population)?;
        let ds = dataset_1d(&g, "rates_hz", &r.rates_hz)?;
        scalar_attr(&ds, "bin_ms", &r.bin_ms)?;
    }
    let weights = ordered_group(&file, "weights")?;
    for w in &rec.weights {
        let g = ordered_group(&weights, &w.projection)?;
        scalar_attr(&g, "every", &w.every)?;
        scalar_attr(&g, "w_min", &w.w_min)?;
        scalar_attr(&g, "w_max", &w.w_max)?;
        scalar_attr(&g, "bins", &w.bins)?;
        let times: Vec<f64> = w.steps.iter().map(|&k| k as f64 * rec.dt_ms).collect();
        dataset_1d(&g, "times_ms", &times)?;
        dataset_1d(&g, "pre", &w.pre)?;
        dataset_1d(&g, "post", &w.post)?;
        g.new_dataset::<u64>()
            .shape((w.steps.len(), w.bins as usize))
            .create("hist")?
            .write_raw(w.hist.as_slice())?;
        if !w.values.is_empty() {
            g.new_dataset::<f32>()
                .shape((w.steps.len(), w.pre.len()))
                .create("values")?
                .write_raw(w.values.as_slice())?;
        }
    }
    // Explicit close so flush errors surface here instead of in a drop.
    drop((spikes, states, rates, weights));
    file.close()
}

/// Creates a group that remembers the order its members were created in.
fn ordered_group(parent: &Group, name: &str) -> ::hdf5::Result<Group> {
    parent
        .create_group_builder()
        .with_gcpl(|p| p.link_creation_order(LinkCreationOrder::Indexed))
        .create(name)
}

fn scalar_attr<T: H5Type>(loc: &Location, name: &str, value: &T) -> ::hdf5::Result<()> {
    loc.new_attr::<T>()
        .shape(())
        .create(name)?
        .write_scalar(value)
}

fn dataset_1d<T: H5Type>(g: &Group, name: &str, data: &[T]) -> ::hdf5::Result<::hdf5::Dataset> {
    let ds = g.new_dataset::<T>().shape(data.len()).create(name)?;
    ds.write_raw(data)?;
    Ok(ds)
}

/// Member names in creation order, falling back to name order for files
/// written by other tools without creation-order tracking.
fn members(g: &Group) -> ::hdf5::Result<Vec<String>> {
    g.member_names_by(IndexType::CreationOrder, IterationOrder::Increasing)
        .or_else(|_| g.member_names())
}

/// The named child group, or `None` when absent (an empty section).
fn optional_group(parent: &Group, name: &str) -> Option<Group> {
    if parent.link_exists(name) {
        parent.group(name).ok()
    } else {
        None
    }
}

fn read_recording(file: &File) -> ::hdf5::Result<Recording> {
    let dt_ms: f64 = file.attr("dt_ms")?.read_scalar()?;
    if !(dt_ms.is_finite() && dt_ms > 0.0) {
        return Err(format!("invalid dt_ms attribute {dt_ms}").into());
    }
    let mut rec = Recording {
        dt_ms,
        duration_ms: file.attr("duration_ms")?.read_scalar()?,
        ..Recording::default()
    };
    let to_steps = |times: Vec<f64>| -> Vec<u64> {
        // Times were written as step · dt, so rounding recovers the step.
        times.iter().map(|t| (t / dt_ms).round() as u64).collect()
    };

    if let Some(spikes) = optional_group(file, "spikes") {
        for name in members(&spikes)? {
            let g = spikes.group(&name)?;
            let times: Vec<f64> = g.dataset("times_ms")?.read_raw()?;
            let ids: Vec<u32> = g.dataset("ids")?.read_raw()?;
            if times.len() != ids.len() {
                return Err(format!("spikes/{name}: times_ms and ids differ in length").into());
            }
            rec.spikes.push(PopSpikes {
                population: name,
                size: g.attr("size")?.read_scalar()?,
                steps: to_steps(times),
                ids,
            });
        }
    }

    if let Some(states) = optional_group(file, "states") {
        for pop in members(&states)? {
            let pg = states.group(&pop)?;
            for var in members(&pg)? {
                let g = pg.group(&var)?;
                let values_ds = g.dataset("values")?;
                let times: Vec<f64> = g.dataset("times_ms")?.read_raw()?;
                let ids: Vec<u32> = g.dataset("ids")?.read_raw()?;
                if values_ds.shape() != [times.len(), ids.len()] {
                    return Err(format!(
                        "states/{pop}/{var}/values has shape {:?}, expected [{}, {}]",
                        values_ds.shape(),
                        times.len(),
                        ids.len()
                    )
                    .into());
                }
                // Absent in files from other tools: 0 means "unknown".
                let every = match g.attr("every") {
                    Ok(a) => a.read_scalar()?,
                    Err(_) => 0,
                };
                let unit = match g.attr("unit") {
                    Ok(a) => a.read_scalar::<VarLenUnicode>()?.to_string(),
                    Err(_) => String::new(),
                };
                rec.states.push(StateTrace {
                    population: pop.clone(),
                    var,
                    unit,
                    ids,
                    every,
                    steps: to_steps(times),
                    values: values_ds.read_raw()?,
                });
            }
        }
    }

    if let Some(rates) = optional_group(file, "rates") {
        for name in members(&rates)? {
            let g = rates.group(&name)?;
            let ds = g.dataset("rates_hz")?;
            // Written on the dataset; also accepted on the group.
            let bin_ms: f64 = match ds.attr("bin_ms") {
                Ok(a) => a.read_scalar()?,
                Err(_) => g.attr("bin_ms")?.read_scalar()?,
            };
            rec.rates.push(RateTrace {
                population: name,
                bin_ms,
                rates_hz: ds.read_raw()?,
            });
        }
    }

    if let Some(weights) = optional_group(file, "weights") {
        for name in members(&weights)? {
            let g = weights.group(&name)?;
            let times: Vec<f64> = g.dataset("times_ms")?.read_raw()?;
            let pre: Vec<u32> = g.dataset("pre")?.read_raw()?;
            let post: Vec<u32> = g.dataset("post")?.read_raw()?;
            let bins: u32 = g.attr("bins")?.read_scalar()?;
            let hist_ds = g.dataset("hist")?;
            let n = times.len();
            if pre.len() != post.len() || hist_ds.shape() != [n, bins as usize] {
                return Err(format!(
                    "weights/{name}: pre/post lengths {}/{} or hist shape {:?} do not fit \
                     {n} snapshots × {bins} bins",
                    pre.len(),
                    post.len(),
                    hist_ds.shape()
                )
                .into());
            }
            let values: Vec<f32> = if g.link_exists("values") {
                let ds = g.dataset("values")?;
                if ds.shape() != [n, pre.len()] {
                    return Err(format!(
                        "weights/{name}/values has shape {:?}, expected [{n}, {}]",
                        ds.shape(),
                        pre.len()
                    )
                    .into());
                }
                ds.read_raw()?
            } else {
                vec![]
            };
            rec.weights.push(WeightTrace {
                projection: name,
                every: g.attr("every")?.read_scalar()?,
                w_min: g.attr("w_min")?.read_scalar()?,
                w_max: g.attr("w_max")?.read_scalar()?,
                pre,
                post,
                steps: to_steps(times),
                values,
                bins,
                hist: hist_ds.read_raw()?,
            });
        }
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::leftover_temp_files;

    fn sample() -> Recording {
        Recording {
            dt_ms: 0.1,
            duration_ms: 50.0,
            spikes: vec![
                PopSpikes {
                    population: "exc".into(),
                    size: 80,
                    steps: vec![3, 3, 17, 250, 499],
                    ids: vec![0, 79, 5, 5, 42],
                },
                // Empty population: zero-length datasets must round-trip.
                PopSpikes {
                    population: "silent".into(),
                    size: 10,
                    steps: vec![],
                    ids: vec![],
                },
                // Created after "exc"/"silent" but sorts before them: checks
                // that creation order, not name order, is preserved.
                PopSpikes {
                    population: "Inh".into(),
                    size: 20,
                    steps: vec![1, 2, 123_456_789_012],
                    ids: vec![19, 0, 7],
                },
            ],
            states: vec![
                StateTrace {
                    population: "exc".into(),
                    var: "v".into(),
                    unit: "mV".into(),
                    ids: vec![0, 1, 2],
                    every: 10,
                    steps: vec![0, 10, 20, 30],
                    values: (0..12).map(|i| -65.0 + i as f32 * 0.5).collect(),
                },
                StateTrace {
                    population: "exc".into(),
                    var: "u".into(),
                    unit: "mV/ms".into(),
                    ids: vec![4],
                    every: 1,
                    steps: vec![0, 1],
                    values: vec![0.25, -0.5],
                },
                StateTrace {
                    population: "Inh".into(),
                    var: "v".into(),
                    unit: String::new(),
                    ids: vec![],
                    every: 5,
                    steps: vec![],
                    values: vec![],
                },
            ],
            rates: vec![
                RateTrace {
                    population: "exc".into(),
                    bin_ms: 5.0,
                    rates_hz: vec![0.0, 2.5, 10.0, 1.25],
                },
                RateTrace {
                    population: "silent".into(),
                    bin_ms: 5.0,
                    rates_hz: vec![],
                },
            ],
            weights: vec![
                WeightTrace {
                    projection: "in->exc".into(),
                    every: 100,
                    w_min: 0.0,
                    w_max: 0.6,
                    pre: vec![0, 0, 1],
                    post: vec![2, 5, 0],
                    steps: vec![0, 100],
                    values: vec![0.1, 0.2, 0.3, 0.0, 0.6, 0.59],
                    bins: 2,
                    hist: vec![2, 1, 1, 2],
                },
                // Histograms only: no values dataset.
                WeightTrace {
                    projection: "ee".into(),
                    every: 7,
                    w_min: -1.0,
                    w_max: 1.0,
                    pre: vec![3],
                    post: vec![4],
                    steps: vec![0],
                    values: vec![],
                    bins: 3,
                    hist: vec![0, 1, 0],
                },
            ],
        }
    }

    #[test]
    fn round_trip_preserves_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spikes.h5");
        let rec = sample();
        let attrs = [("model", "two-pop".to_string()), ("seed", "42".to_string())];
        write_hdf5(&path, &rec, &attrs).unwrap();
        assert_eq!(read_hdf5(&path).unwrap(), rec);
        assert_eq!(
            read_hdf5_attrs(&path).unwrap(),
            vec![
                ("model".to_string(), "two-pop".to_string()),
                ("seed".to_string(), "42".to_string())
            ]
        );
        assert!(leftover_temp_files(dir.path()).is_empty());
    }

    #[test]
    fn layout_matches_documentation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spikes.h5");
        write_hdf5(&path, &sample(), &[]).unwrap();
        let f = File::open(&path).unwrap();
        let dt: f64 = f.attr("dt_ms").unwrap().read_scalar().unwrap();
        assert_eq!(dt, 0.1);
        let times: Vec<f64> = f
            .dataset("spikes/exc/times_ms")
            .unwrap()
            .read_raw()
            .unwrap();
        assert_eq!(times[2], 17.0 * 0.1);
        let size: u32 = f
            .group("spikes/exc")
            .unwrap()
            .attr("size")
            .unwrap()
            .read_scalar()
            .unwrap();
        assert_eq!(size, 80);
        assert_eq!(f.dataset("spikes/silent/ids").unwrap().shape(), [0]);
        assert_eq!(f.dataset("states/exc/v/values").unwrap().shape(), [4, 3]);
        assert_eq!(f.dataset("states/Inh/v/values").unwrap().shape(), [0, 0]);
        let bin: f64 = f
            .dataset("rates/exc/rates_hz")
            .unwrap()
            .attr("bin_ms")
            .unwrap()
            .read_scalar()
            .unwrap();
        assert_eq!(bin, 5.0);
    }

    #[test]
    fn overwrite_replaces_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spikes.h5");
        write_hdf5(&path, &sample(), &[]).unwrap();
        let small = Recording {
            dt_ms: 1.0,
            duration_ms: 2.0,
            ..Recording::default()
        };
        write_hdf5(&path, &small, &[]).unwrap();
        assert_eq!(read_hdf5(&path).unwrap(), small);
        assert!(leftover_temp_files(dir.path()).is_empty());
    }

    #[test]
    fn invalid_recording_is_rejected_and_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spikes.h5");
        write_hdf5(&path, &sample(), &[]).unwrap();
        let mut bad = sample();
        bad.states[0].values.pop();
        let err = write_hdf5(&path, &bad, &[]).unwrap_err().to_string();
        assert!(err.contains("exc.v") && err.contains("spikes.h5"), "{err}");
        let mut bad = sample();
        bad.spikes[0].population = "a/b".into();
        assert!(write_hdf5(&path, &bad, &[]).is_err());
        let err = write_hdf5(&path, &sample(), &[("dt_ms", "1".into())]).unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
        assert_eq!(read_hdf5(&path).unwrap(), sample());
        assert!(leftover_temp_files(dir.path()).is_empty());
    }

    #[test]
    fn write_to_missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/spikes.h5");
        let err = write_hdf5(&path, &sample(), &[]).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn failed_rename_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file: the HDF5 data is
        // fully written, then the final rename fails.
        let path = dir.path().join("spikes.h5");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"").unwrap();
        let err = write_hdf5(&path, &sample(), &[]).unwrap_err();
        assert!(err.to_string().contains("spikes.h5"), "{err}");
        assert!(leftover_temp_files(dir.path()).is_empty());
        assert!(path.join("keep").exists());
    }

    #[test]
    fn reading_garbage_or_missing_file_errors_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.h5");
        std::fs::write(&garbage, b"this is not an HDF5 file at all\n".repeat(100)).unwrap();
        let err = read_hdf5(&garbage).unwrap_err();
        assert!(err.to_string().contains("garbage.h5"), "{err}");

        let empty = dir.path().join("empty.h5");
        std::fs::write(&empty, b"").unwrap();
        assert!(
            read_hdf5(&empty)
                .unwrap_err()
                .to_string()
                .contains("empty.h5")
        );

        let missing = dir.path().join("missing.h5");
        let err = read_hdf5(&missing).unwrap_err();
        assert!(err.to_string().contains("missing.h5"), "{err}");

        // Valid HDF5 but not our layout.
        let other = dir.path().join("other.h5");
        File::create(&other).unwrap().create_group("x").unwrap();
        let err = read_hdf5(&other).unwrap_err();
        assert!(err.to_string().contains("other.h5"), "{err}");
    }

    #[test]
    fn truncated_file_errors_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spikes.h5");
        write_hdf5(&path, &sample(), &[]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_hdf5(&path).unwrap_err();
        assert!(err.to_string().contains("spikes.h5"), "{err}");
    }

    /// The user-facing h5py script reads our files; skipped where python3 or
    /// h5py is unavailable.
    #[test]
    fn python_reader_script_reads_counts() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_spikes.py");
        let has_h5py = std::process::Command::new("python3")
            .args(["-c", "import h5py"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !has_h5py || !script.exists() {
            eprintln!("skipping: python3 with h5py not available");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spikes.h5");
        write_hdf5(&path, &sample(), &[]).unwrap();
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            rows,
            [
                "population\tsize\tspikes",
                "exc\t80\t5",
                "silent\t10\t0",
                "Inh\t20\t3"
            ]
        );
    }
}
