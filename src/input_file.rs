//! Reading the text files a user names (models, experiments, rules): only
//! regular files, and no more than [`MAX_TEXT_BYTES`], so that a device such as
//! `/dev/zero` or a runaway file is refused instead of read until memory ends.
use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The largest text file read: a model with a million listed synapses is about
/// 30 MB.
pub const MAX_TEXT_BYTES: u64 = 1 << 30;

/// The UTF-8 text of the regular file `path`.
pub fn read_text(path: &Path) -> Result<String> {
    // Checked before opening: opening a FIFO blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(Error::io(path, format!("{what}; expected a text file")));
    }
    if meta.len() > MAX_TEXT_BYTES {
        return Err(Error::io(
            path,
            format!(
                "{} bytes, more than the {MAX_TEXT_BYTES} a text input may have",
                meta.len()
            ),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut text = String::with_capacity(meta.len() as usize);
    file.take(MAX_TEXT_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(path, e))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_devices_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_text(dir.path()).unwrap_err().to_string();
        assert!(e.ends_with(": a directory; expected a text file"), "{e}");
        #[cfg(unix)]
        {
            let e = read_text(Path::new("/dev/zero")).unwrap_err().to_string();
            assert_eq!(e, "/dev/zero: not a regular file; expected a text file");
        }
        let f = dir.path().join("m.toml");
        std::fs::write(&f, "a = 1\n").unwrap();
        assert_eq!(read_text(&f).unwrap(), "a = 1\n");
    }
}
