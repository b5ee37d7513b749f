//! One run per output directory: a run claims `OUT/.astroglia.lock` with an
//! advisory file lock (`flock`; on Unix) for as long as it writes there, so a second run into the
//! same directory fails at once instead of mixing its files with the first's.
//! The kernel drops the lock when the process ends, however it ends, so a
//! killed run leaves no stale lock; the hidden temporary files it may have left
//! ([`super::write_atomic`]'s `.NAME.tmp-PID-N`) are removed by the next claim.
use crate::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// The lock file's name inside a claimed directory.
pub const LOCK_FILE: &str = ".astroglia.lock";

/// A claimed output directory; the claim ends when this is dropped.
#[derive(Debug)]
pub struct Claim {
    dir: PathBuf,
    _lock: fs::File,
}

impl Claim {
    /// The claimed directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Creates `dir` if needed, claims it for this process and removes the
/// temporary files of earlier runs that were killed while writing there (in
/// `dir` and its subdirectories, e.g. `cache/`, one level down).
///
/// ```
/// let tmp = tempfile::tempdir().unwrap();
/// let claim = astroglia::record::claim_dir(tmp.path()).unwrap();
/// let again = astroglia::record::claim_dir(tmp.path()).unwrap_err().to_string();
/// assert!(again.contains("another astroglia run is writing into"), "{again}");
/// drop(claim);
/// assert!(astroglia::record::claim_dir(tmp.path()).is_ok());
/// ```
pub fn claim_dir(dir: &Path) -> Result<Claim> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, format!("cannot create directory: {e}")))?;
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    if !try_lock(&file).map_err(|e| Error::io(&path, e))? {
        return Err(Error::setting(
            "--out",
            format!(
                "another astroglia run is writing into {} (it holds {}); wait for it to finish \
             or choose another --out",
                dir.display(),
                path.display()
            ),
        ));
    }
    remove_debris(dir, 1);
    Ok(Claim {
        dir: dir.to_path_buf(),
        _lock: file,
    })
}

/// Takes an exclusive advisory lock on `file` without waiting: false when
/// another process holds it. (`File::try_lock` would need Rust 1.89.)
#[cfg(unix)]
fn try_lock(file: &fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Elsewhere runs are not serialised.
#[cfg(not(unix))]
fn try_lock(_: &fs::File) -> std::io::Result<bool> {
    Ok(true)
}

/// Removes `.NAME.tmp-PID-N` files in `dir` and, `depth` levels down, in its
/// subdirectories. Best effort: what cannot be listed or removed stays.
fn remove_debris(dir: &Path, depth: u32) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        let name = e.file_name();
        let name = name.to_string_lossy();
        if kind.is_file() && name.starts_with('.') && name.contains(".tmp-") {
            let _ = fs::remove_file(e.path());
        } else if kind.is_dir() && depth > 0 {
            remove_debris(&e.path(), depth - 1);
        }
    }
}
