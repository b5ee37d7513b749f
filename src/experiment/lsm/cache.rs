//! On-disk feature cache: one file per chunk of samples, so an interrupted run
//! resumes at the first missing chunk. A cache directory is keyed by a hash of
//! everything the features depend on (experiment, model text, data, backend).

use std::path::{Path, PathBuf};

use crate::record::write_atomic;
use crate::{Error, Result};

const MAGIC: &[u8; 4] = b"AGF1";

/// Feature rows of one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Label of each row.
    pub labels: Vec<u32>,
    /// Values per row.
    pub row_len: usize,
    /// Row-major values.
    pub values: Vec<f32>,
}

/// Path of chunk `k` in `dir`.
pub fn chunk_path(dir: &Path, k: usize) -> PathBuf {
    dir.join(format!("chunk_{k:06}.bin"))
}

/// Writes `c` atomically.
pub fn save(path: &Path, c: &Chunk) -> Result<()> {
    let mut bytes = Vec::with_capacity(12 + 4 * (c.labels.len() + c.values.len()));
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(c.labels.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&(c.row_len as u32).to_le_bytes());
    c.labels
        .iter()
        .for_each(|l| bytes.extend_from_slice(&l.to_le_bytes()));
    c.values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    write_atomic(path, &bytes)
}

/// Reads a chunk of `rows` rows of `row_len` values, labels below `classes`
/// when given; `Ok(None)` when absent, an error naming the file when it is
/// malformed.
pub fn load(
    path: &Path,
    rows: usize,
    row_len: usize,
    classes: Option<usize>,
) -> Result<Option<Chunk>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let want = 12 + 4 * rows * (1 + row_len);
    if bytes.len() != want
        || &bytes[..4] != MAGIC
        || word(4) as usize != rows
        || word(8) as usize != row_len
    {
        return Err(Error::io(
            path,
            format!(
                "not a feature chunk of {rows} rows × {row_len} values ({} bytes, expected {want}); \
                 delete the cache directory to recompute",
                bytes.len()
            ),
        ));
    }
    let labels: Vec<u32> = (0..rows).map(|i| word(12 + 4 * i)).collect();
    let start = 12 + 4 * rows;
    let values: Vec<f32> = bytes[start..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect();
    let corrupt = |what: String| {
        Err(Error::io(
            path,
            format!("corrupt feature chunk: {what}; delete the cache directory to recompute"),
        ))
    };
    if let Some((row, l)) = classes.and_then(|n| {
        labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= n)
            .map(|(r, &l)| (r, (l, n)))
    }) {
        return corrupt(format!(
            "label {} of row {row} is not one of {} classes",
            l.0, l.1
        ));
    }

    Ok(Some(Chunk {
        labels,
        row_len,
        values,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_bad_files_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = chunk_path(dir.path(), 3);
        assert_eq!(load(&p, 2, 3, None).unwrap(), None);
        let c = Chunk {
            labels: vec![4, 1],
            row_len: 3,
            values: vec![1.0, f32::NAN, 2.5, 0.0, 0.0, 9.0],
        };
        save(&p, &c).unwrap();
        let back = load(&p, 2, 3, Some(5)).unwrap().unwrap();
        assert_eq!(back.labels, c.labels);
        assert_eq!(back.values[2], 2.5);
        assert!(back.values[1].is_nan());
        let e = load(&p, 2, 3, Some(4)).unwrap_err().to_string();
        assert!(
            e.contains(
                "chunk_000003.bin: corrupt feature chunk: label 4 of row 0 is not one of 4 classes"
            ),
            "{e}"
        );
        let e = load(&p, 3, 3, None).unwrap_err().to_string();
        assert!(
            e.contains("chunk_000003.bin") && e.contains("3 rows"),
            "{e}"
        );
        std::fs::write(&p, b"AGF1").unwrap();
        assert!(load(&p, 2, 3, None).is_err());
    }
}
