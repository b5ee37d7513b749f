//! The `file` connect rule: a projection's synapses read from an HDF5
//! connectivity file (`docs/connectivity.md`), the layout
//! [`crate::record::connectivity`] writes.
//!
//! libhdf5 reads the file in a child process ([`crate::isolated`]), one chunk
//! of [`CHUNK`] synapses per request, and only turns datasets into plain
//! values; every check of what they mean (ids in range, finite weights,
//! delays of at least one step) runs here. The chunks go straight into the
//! CSR arrays, so a file already in CSR order (sorted by `pre`, then `post`,
//! as written) costs its target array and a chunk; any other order costs a
//! permutation more.
pub(crate) use super::loaded::{FileWeights, Loaded};
use super::{Ends, Rows};
use crate::build::Delays;
use crate::error::{Error, Result};
use crate::isolated::Worker;
use crate::model::{MAX_DELAY_STEPS, MAX_SYNAPSES, Receptor};
use ::hdf5::types::{TypeDescriptor, VarLenUnicode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Synapses per request to the reading process (a few MB per answer).
pub(crate) const CHUNK: u64 = 1 << 18;

/// What the reading process may allocate: a chunk of each dataset and libhdf5's caches.
const READER_MEMORY: u64 = 256 << 20;

#[derive(Serialize, Deserialize)]
enum Request {
    Open { group: String },
    Ids { name: String, start: u64, len: u64 },
    Floats { name: String, start: u64, len: u64 },
}

#[derive(Serialize, Deserialize)]
enum Reply {
    Opened {
        n: u64,
        weight: bool,
        delay: bool,
        receptor: Option<String>,
    },
    Ids(Vec<i64>),
    Floats(Vec<f64>),
    Failed(String),
}

/// A projection's group in an opened connectivity file.
#[derive(Debug)]
pub(crate) struct Source {
    path: PathBuf,
    group: String,
    /// `projections[k] 'label'`, naming the model's projection in errors.
    what: String,
    reader: Worker,
    n: u64,
    weight: bool,
    delay: bool,
    receptor: Option<Receptor>,
}

impl Source {
    /// Opens group `/projections/<group>` of `path` and checks its layout:
    /// 1-D integer `pre` and `post`, optional 1-D float `weight` and `delay_ms`,
    /// all of one length. `what` names the model's projection in errors.
    pub(crate) fn open(path: &Path, group: &str, what: &str) -> Result<Self> {
        let fail = |m: String| Error::data(path, format!("{what}: {m}"));
        let meta = std::fs::metadata(path)
            .map_err(|e| fail(format!("cannot read the connectivity file: {e}")))?;
        if !meta.is_file() {
            return Err(fail(
                "expected an HDF5 connectivity file, found no regular file".into(),
            ));
        }
        let file = path.to_path_buf();
        let mut open: Option<::hdf5::Group> = None;
        let mut reader = Worker::spawn(path, Some(READER_MEMORY), move |req: Request| {
            serve(&file, &mut open, req)
        })?;
        let (n, weight, delay, receptor) = match reader.call(&Request::Open {
            group: group.into(),
        })? {
            Reply::Opened {
                n,
                weight,
                delay,
                receptor,
            } => (n, weight, delay, receptor),
            Reply::Failed(m) => return Err(fail(m)),
            _ => return Err(fail("unexpected answer from its reader".into())),
        };
        let receptor = match receptor.as_deref() {
            None => None,
            Some("exc") => Some(Receptor::Exc),
            Some("inh") => Some(Receptor::Inh),
            Some(other) => {
                return Err(fail(format!(
                    "/projections/{group}: attribute 'receptor' is {other:?}, expected \"exc\" or \"inh\""
                )));
            }
        };
        if n > MAX_SYNAPSES {
            return Err(fail(format!(
                "/projections/{group} holds {n} synapses, more than the {MAX_SYNAPSES} a \
                 projection holds; split it into several projections"
            )));
        }
        Ok(Source {
            path: path.into(),
            group: group.into(),
            what: what.into(),
            reader,
            n,
            weight,
            delay,
            receptor,
        })
    }

    /// The synapse count and which per-synapse values the file gives, for the
    /// memory check before the build.
    pub(crate) fn known(&self) -> crate::build::memory::Known {
        crate::build::memory::Known {
            synapses: self.n as f64,
            own_weight: self.weight,
            own_delay: self.delay,
        }
    }

    fn fail(&self, m: String) -> Error {
        Error::data(
            &self.path,
            format!("{}: /projections/{}/{m}", self.what, self.group),
        )
    }

    fn ids(&mut self, name: &str, start: u64, len: u64) -> Result<Vec<i64>> {
        let req = Request::Ids {
            name: name.into(),
            start,
            len,
        };
        match self.reader.call(&req)? {
            Reply::Ids(v) if v.len() as u64 == len => Ok(v),
            Reply::Failed(m) => Err(self.fail(format!("{name}: {m}"))),
            _ => Err(self.fail(format!("{name}: unexpected answer from its reader"))),
        }
    }

    fn floats(&mut self, name: &str, start: u64, len: u64) -> Result<Vec<f64>> {
        let req = Request::Floats {
            name: name.into(),
            start,
            len,
        };
        match self.reader.call(&req)? {
            Reply::Floats(v) if v.len() as u64 == len => Ok(v),
            Reply::Failed(m) => Err(self.fail(format!("{name}: {m}"))),
            _ => Err(self.fail(format!("{name}: unexpected answer from its reader"))),
        }
    }

    /// Reads the synapses into CSR rows for populations `ends`, with delays at
    /// step `dt` (rounded to whole steps, as the `delay_ms` key is); a
    /// conductance target refuses negative weights.
    pub(crate) fn load(mut self, ends: &Ends, dt: f64, conductance: bool) -> Result<Loaded> {
        let n = self.n;
        let (n_pre, n_post) = (ends.n_pre, ends.n_post);
        // Pass 1: ids checked, rows counted, targets kept in file order.
        let mut row_ptr = vec![0u32; n_pre as usize + 1];
        let mut targets: Vec<u32> = Vec::with_capacity(n as usize);
        let mut sorted = true;
        let mut last = (0u32, 0u32);
        for start in (0..n).step_by(CHUNK as usize) {
            let len = CHUNK.min(n - start);
            let pre = self.ids("pre", start, len)?;
            let post = self.ids("post", start, len)?;
            for (i, (&p, &q)) in pre.iter().zip(&post).enumerate() {
                let at = start + i as u64;
                let p = in_range(p, n_pre).ok_or_else(|| {
                    self.fail(format!(
                        "pre: element {at} is {p}, expected a local id in 0..{n_pre} (the source population's size)"
                    ))
                })?;
                let q = in_range(q, n_post).ok_or_else(|| {
                    self.fail(format!(
                        "post: element {at} is {q}, expected a local id in 0..{n_post} (the target population's size)"
                    ))
                })?;
                if at > 0 && (p, q) < last {
                    sorted = false;
                }
                last = (p, q);
                row_ptr[p as usize + 1] += 1;
                targets.push(q);
            }
        }
        for j in 1..row_ptr.len() {
            row_ptr[j] += row_ptr[j - 1];
        }
        // The CSR slot of each file entry, where the file is not in CSR order.
        let slot = if sorted {
            None
        } else {
            let (t, slot) = self.sort_rows(&row_ptr, targets)?;
            targets = t;
            Some(slot)
        };
        let at = |i: usize| slot.as_ref().map_or(i, |s| s[i] as usize);
        let weights = if self.weight {
            Some(self.weights(conductance, &at)?)
        } else {
            None
        };
        let delays = if self.delay {
            Some(self.delays(dt, &at)?)
        } else {
            None
        };
        let receptor = self.receptor.or(match &weights {
            Some(FileWeights::Same(c)) if *c < 0.0 => Some(Receptor::Inh),
            Some(FileWeights::Each(w))
                if w.iter().all(|&x| x <= 0.0) && w.iter().any(|&x| x < 0.0) =>
            {
                Some(Receptor::Inh)
            }
            _ => None,
        });
        Ok(Loaded {
            rows: Rows {
                row_ptr,
                targets,
                list_index: None,
            },
            weights,
            delays,
            receptor,
        })
    }

    /// Puts the file-order `targets` into CSR order (by `pre`, then `post`,
    /// then file order) and returns them with each file entry's CSR slot.
    fn sort_rows(&mut self, row_ptr: &[u32], targets: Vec<u32>) -> Result<(Vec<u32>, Vec<u32>)> {
        let n = self.n;
        let mut next = row_ptr.to_vec();
        let mut order = vec![0u32; n as usize];
        for start in (0..n).step_by(CHUNK as usize) {
            let len = CHUNK.min(n - start);
            // Checked in range by the first pass.
            for (i, p) in self.ids("pre", start, len)?.into_iter().enumerate() {
                let at = &mut next[p as usize];
                order[*at as usize] = (start as usize + i) as u32;
                *at += 1;
            }
        }
        drop(next);
        let mut csr = vec![0u32; n as usize];
        let mut row = Vec::new();
        for w in row_ptr.windows(2) {
            let (a, b) = (w[0] as usize, w[1] as usize);
            row.clear();
            row.extend(order[a..b].iter().map(|&i| (targets[i as usize], i)));
            row.sort_unstable();
            for (k, &(t, i)) in row.iter().enumerate() {
                csr[a + k] = t;
                order[a + k] = i;
            }
        }
        drop(targets);
        let mut slot = vec![0u32; n as usize];
        for (s, &i) in order.iter().enumerate() {
            slot[i as usize] = s as u32;
        }
        Ok((csr, slot))
    }

    /// The `weight` dataset: one value when all are equal (checked in a first
    /// pass that keeps nothing), else every weight in CSR order.
    fn weights(&mut self, conductance: bool, at: &dyn Fn(usize) -> usize) -> Result<FileWeights> {
        let n = self.n;
        let mut first = None;
        let mut same = true;
        for start in (0..n).step_by(CHUNK as usize) {
            let len = CHUNK.min(n - start);
            for (i, w) in self.floats("weight", start, len)?.into_iter().enumerate() {
                let idx = start + i as u64;
                if !w.is_finite() {
                    return Err(self.fail(format!(
                        "weight: element {idx} is {w}, expected a finite weight"
                    )));
                }
                if conductance && w < 0.0 {
                    return Err(self.fail(format!(
                        "weight: element {idx} is {w}, expected >= 0: the target's weights are \
                         conductances (nS); inhibition goes through receptor = \"inh\""
                    )));
                }
                let f = *first.get_or_insert(w);
                same &= w.to_bits() == f.to_bits();
            }
        }
        match first {
            Some(c) if same => return Ok(FileWeights::Same(c)),
            None => return Ok(FileWeights::Each(vec![])),
            _ => {}
        }
        let mut out = vec![0.0f64; n as usize];
        for start in (0..n).step_by(CHUNK as usize) {
            let len = CHUNK.min(n - start);
            for (i, w) in self.floats("weight", start, len)?.into_iter().enumerate() {
                out[at(start as usize + i)] = w;
            }
        }
        Ok(FileWeights::Each(out))
    }

    /// The `delay_ms` dataset in whole steps of `dt` (rounded, at least one step,
    /// at most [`MAX_DELAY_STEPS`]); one value when all are equal.
    fn delays(&mut self, dt: f64, at: &dyn Fn(usize) -> usize) -> Result<Delays> {
        let n = self.n;
        let mut steps = vec![0u16; n as usize];
        let mut same = true;
        for start in (0..n).step_by(CHUNK as usize) {
            let len = CHUNK.min(n - start);
            for (i, d) in self.floats("delay_ms", start, len)?.into_iter().enumerate() {
                let idx = start + i as u64;
                if !(d.is_finite() && d >= dt * (1.0 - 1e-9)) {
                    return Err(self.fail(format!(
                        "delay_ms: element {idx} is {d}, expected a delay of at least one step \
                         (dt_ms = {dt})"
                    )));
                }
                let k = (d / dt).round();
                if k > f64::from(MAX_DELAY_STEPS) {
                    return Err(self.fail(format!(
                        "delay_ms: element {idx} is {d} ms, {k} steps of dt_ms = {dt}, more than \
                         the {MAX_DELAY_STEPS} a delay can take"
                    )));
                }
                let k = k as u16;
                same &= idx == 0 || k == steps[at(0)];
                steps[at(idx as usize)] = k;
            }
        }
        Ok(match steps.first() {
            Some(&k) if same => Delays::Const(k),
            _ => Delays::PerSynapse(steps),
        })
    }
}

/// `x` as an id below `n`, if it is one.
fn in_range(x: i64, n: u32) -> Option<u32> {
    u32::try_from(x).ok().filter(|&v| v < n)
}

/// Whether a dataset must hold integers or floats.
#[derive(Clone, Copy)]
enum Want {
    Int,
    Float,
}

/// In the reading process: answers one request.
fn serve(path: &Path, open: &mut Option<::hdf5::Group>, req: Request) -> Reply {
    let read = |g: &::hdf5::Group, name: &str, start: u64, len: u64| {
        let ds = g.dataset(name).map_err(|e| e.to_string())?;
        let r = start as usize..(start + len) as usize;
        Ok::<_, String>((ds, r))
    };
    match req {
        Request::Open { group } => match open_group(path, &group) {
            Ok((g, reply)) => {
                *open = Some(g);
                reply
            }
            Err(m) => Reply::Failed(m),
        },
        Request::Ids { name, start, len } => {
            let Some(g) = open.as_ref() else {
                return Reply::Failed("read before it was opened".into());
            };
            match read(g, &name, start, len)
                .and_then(|(ds, r)| ds.read_slice_1d::<i64, _>(r).map_err(|e| e.to_string()))
            {
                Ok(a) => Reply::Ids(a.to_vec()),
                Err(m) => Reply::Failed(format!("cannot read elements {start}.. : {m}")),
            }
        }
        Request::Floats { name, start, len } => {
            let Some(g) = open.as_ref() else {
                return Reply::Failed("read before it was opened".into());
            };
            match read(g, &name, start, len)
                .and_then(|(ds, r)| ds.read_slice_1d::<f64, _>(r).map_err(|e| e.to_string()))
            {
                Ok(a) => Reply::Floats(a.to_vec()),
                Err(m) => Reply::Failed(format!("cannot read elements {start}.. : {m}")),
            }
        }
    }
}

/// In the reading process: opens the group and checks its datasets' types,
/// ranks and lengths.
fn open_group(path: &Path, group: &str) -> std::result::Result<(::hdf5::Group, Reply), String> {
    let file = crate::record::hdf5::open_unlocked(path)
        .map_err(|e| format!("cannot open as HDF5: {e}"))?;
    let g = file.group(&format!("projections/{group}")).map_err(|_| {
        let there = file
            .group("projections")
            .and_then(|p| p.member_names())
            .map(|m| {
                if m.is_empty() {
                    "it has none".to_string()
                } else {
                    format!("it has: {}", m.join(", "))
                }
            })
            .unwrap_or_else(|_| "it has no group /projections".into());
        format!("no group /projections/{group} ({there})")
    })?;
    let dataset = |name: &str, want: Want| -> std::result::Result<Option<usize>, String> {
        let Ok(ds) = g.dataset(name) else {
            return Ok(None);
        };
        let here = format!("/projections/{group}/{name}");
        let shape = ds.shape();
        if shape.len() != 1 {
            return Err(format!(
                "{here}: expected a 1-D dataset, found shape {shape:?}"
            ));
        }
        let desc = ds.dtype().and_then(|t| t.to_descriptor());
        let ok = matches!(
            (&desc, want),
            (
                Ok(TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)),
                Want::Int
            ) | (Ok(TypeDescriptor::Float(_)), Want::Float)
        );
        if !ok {
            let found = desc.map_or_else(|_| "an unsupported type".into(), |d| d.to_string());
            let expected = match want {
                Want::Int => "integers (local neuron ids)",
                Want::Float => "floats",
            };
            return Err(format!("{here}: expected {expected}, found {found}"));
        }
        Ok(Some(shape[0]))
    };
    let required = |name: &str| -> std::result::Result<usize, String> {
        dataset(name, Want::Int)?.ok_or_else(|| {
            format!("missing dataset /projections/{group}/{name} (expected 1-D integer local ids)")
        })
    };
    let n = required("pre")?;
    let lengths = [
        ("post", Some(required("post")?)),
        ("weight", dataset("weight", Want::Float)?),
        ("delay_ms", dataset("delay_ms", Want::Float)?),
    ];
    for (name, len) in lengths {
        if let Some(m) = len.filter(|&m| m != n) {
            return Err(format!(
                "/projections/{group}/{name} has {m} elements, /projections/{group}/pre {n}: \
                 expected one per synapse"
            ));
        }
    }
    let receptor = match g.attr("receptor") {
        Err(_) => None,
        Ok(a) => Some(
            a.read_scalar::<VarLenUnicode>()
                .map(|s| s.to_string())
                .map_err(|_| {
                    format!("/projections/{group}: attribute 'receptor' must be the string \"exc\" or \"inh\"")
                })?,
        ),
    };
    let reply = Reply::Opened {
        n: n as u64,
        weight: lengths[1].1.is_some(),
        delay: lengths[2].1.is_some(),
        receptor,
    };
    Ok((g, reply))
}
