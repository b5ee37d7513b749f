//! Reading untrusted HDF5 files in a child process.
//!
//! libhdf5 trusts the structures it reads. A corrupt file can make it crash (a
//! global-heap object longer than its heap), loop forever, or allocate whatever
//! a corrupt variable-length size says: fuzzing found all three
//! (`fuzz/regressions/`), in HDF5 1.10 and in 2.2 alike. So [`crate::nir::read`]
//! and [`crate::data::shd::ShdDataset`] do their HDF5 reading in a process
//! forked from this one, which answers requests over a socket under a memory
//! limit (what this process may take, [`crate::build::memory::limit`]) and a time
//! limit ([`TIMEOUT`] per request). A crash, a hang or an exhausted limit there
//! becomes an [`Error::Data`] naming the file, and this process goes on.
//!
//! The child only turns HDF5 into plain values; every check of what they mean
//! runs here, in the parent. Unix only (it forks).
use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest one request to the reading process may take; a real file's
/// request takes milliseconds.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A forked process that serves requests about one file.
#[derive(Debug)]
pub(crate) struct Worker {
    path: PathBuf,
    pid: libc::pid_t,
    /// The most the process may allocate.
    budget: Option<u64>,
    /// `None` once the process has stopped (its reason was reported).
    stream: Option<UnixStream>,
}

/// Runs `read` once in a child process and returns its result.
pub(crate) fn run<T, F>(path: &Path, read: F) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> T,
{
    let mut read = Some(read);
    let mut worker = Worker::spawn(path, None, move |(): ()| {
        // The parent sends one request only.
        (read.take().expect("one request"))()
    })?;
    worker.call(&())
}

impl Worker {
    /// Forks a process that answers each request with `serve`. It may allocate
    /// `memory` bytes (at most what this process may take).
    pub(crate) fn spawn<Req, Resp, F>(path: &Path, memory: Option<u64>, serve: F) -> Result<Self>
    where
        Req: DeserializeOwned,
        Resp: Serialize,
        F: FnMut(Req) -> Resp,
    {
        let fail = |e: std::io::Error| {
            Error::data(path, format!("cannot start a process to read it: {e}"))
        };
        let (parent, child) = UnixStream::pair().map_err(fail)?;
        let budget = match (crate::build::memory::limit(), memory) {
            (Some((limit, _)), Some(m)) => Some(limit.min(m)),
            (limit, m) => limit.map(|(b, _)| b).or(m),
        };
        let parent_fd = parent.as_raw_fd();
        // Forking while holding libhdf5's lock: no other thread is inside libhdf5,
        // so the child's copy of its state is whole, and the child (the lock's
        // owner) never waits for it.
        let pid = ::hdf5::sync::sync(move || {
            // SAFETY: the child runs only this thread; it takes no lock another
            // thread could have held at the fork but malloc's (which glibc
            // re-initialises in the child) and libhdf5's (held by this thread).
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                serve_forever(child, parent_fd, budget, serve);
            }
            pid
        });
        if pid < 0 {
            return Err(fail(std::io::Error::last_os_error()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            pid,
            budget,
            stream: Some(parent),
        })
    }

    /// Whether the process still serves requests.
    pub(crate) fn is_alive(&self) -> bool {
        self.stream.is_some()
    }

    /// Sends one request and waits up to [`TIMEOUT`] for the answer.
    pub(crate) fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        request: &Req,
    ) -> Result<Resp> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(Error::data(
                &self.path,
                "the process reading it stopped at an earlier error",
            ));
        };
        let bytes = rmp_serde::to_vec_named(request).expect("requests serialise");
        let deadline = Instant::now() + TIMEOUT;
        let answer =
            send_frame(stream.as_raw_fd(), &bytes).and_then(|()| read_frame(stream, deadline));
        match answer {
            Ok(bytes) => rmp_serde::from_slice(&bytes).map_err(|e| {
                self.stop();
                Error::data(&self.path, format!("garbled answer from its reader: {e}"))
            }),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                self.stop();
                Err(Error::data(
                    &self.path,
                    format!(
                        "libhdf5 did not finish reading it in {} s (a corrupt file can make it loop); the reading was stopped",
                        TIMEOUT.as_secs()
                    ),
                ))
            }
            Err(_) => {
                let status = self.stop();
                Err(Error::data(&self.path, died(status, self.budget)))
            }
        }
    }

    /// Ends the process (if it still runs) and returns its wait status.
    fn stop(&mut self) -> Option<libc::c_int> {
        self.stream.take()?;
        let mut status = 0;
        // SAFETY: plain system calls on our own child.
        unsafe {
            if libc::waitpid(self.pid, &mut status, libc::WNOHANG) == self.pid {
                return Some(status);
            }
            libc::kill(self.pid, libc::SIGKILL);
            (libc::waitpid(self.pid, &mut status, 0) == self.pid).then_some(status)
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why the reading process ended, from its wait status.
fn died(status: Option<libc::c_int>, budget: Option<u64>) -> String {
    let limit = budget
        .map(|b| {
            format!(
                " (it may allocate {})",
                crate::build::memory::bytes(b as f64)
            )
        })
        .unwrap_or_default();
    match status {
        Some(s) if libc::WIFSIGNALED(s) => {
            let sig = libc::WTERMSIG(s);
            let name = match sig {
                libc::SIGSEGV => "SIGSEGV",
                libc::SIGBUS => "SIGBUS",
                libc::SIGABRT => "SIGABRT, often memory running out",
                libc::SIGALRM => "SIGALRM, its time limit",
                libc::SIGKILL => "SIGKILL",
                _ => "a signal",
            };
            format!("libhdf5 crashed reading it (signal {sig}, {name}){limit}: the file is corrupt")
        }
        Some(s) if libc::WIFEXITED(s) => format!(
            "the process reading it exited with status {} before answering{limit}: the file is corrupt or memory ran out",
            libc::WEXITSTATUS(s)
        ),
        _ => "the process reading it stopped before answering".into(),
    }
}

/// The child: answers requests until the parent closes its end, then exits.
fn serve_forever<Req, Resp, F>(
    mut stream: UnixStream,
    parent_fd: RawFd,
    budget: Option<u64>,
    mut serve: F,
) -> !
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnMut(Req) -> Resp,
{
    // SAFETY: system calls on this process's own descriptors, signals and limits.
    unsafe {
        libc::close(parent_fd);
        // Crash the default way whatever the host installed (a fuzzer's or a
        // runtime's handlers would otherwise report this process's crash as theirs).
        for sig in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGABRT,
            libc::SIGALRM,
            libc::SIGINT,
            libc::SIGTERM,
        ] {
            libc::signal(sig, libc::SIG_DFL);
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        if let Some(budget) = budget {
            let cap = crate::build::memory::address_space_used().saturating_add(budget);
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_AS, &mut lim) == 0 && cap < lim.rlim_cur {
                lim.rlim_cur = cap;
                libc::setrlimit(libc::RLIMIT_AS, &lim);
            }
        }
    }
    let far = Instant::now() + Duration::from_secs(365 * 86_400);
    loop {
        let Ok(bytes) = read_frame(&mut stream, far) else {
            exit(0)
        };
        let Ok(request) = rmp_serde::from_slice::<Req>(&bytes) else {
            exit(3)
        };
        // A hang here outlives a parent that died without killing it: the
        // alarm ends it a little after the parent would have.
        // SAFETY: alarm only arms this process's timer.
        unsafe { libc::alarm(TIMEOUT.as_secs() as libc::c_uint + 5) };
        let answer = serve(request);
        // SAFETY: as above; 0 disarms it.
        unsafe { libc::alarm(0) };
        let Ok(bytes) = rmp_serde::to_vec_named(&answer) else {
            exit(4)
        };
        if send_frame(stream.as_raw_fd(), &bytes).is_err() {
            exit(0)
        }
    }
}

/// Leaves without running exit handlers: they belong to the parent.
fn exit(code: libc::c_int) -> ! {
    // SAFETY: _exit ends this process and nothing else.
    unsafe { libc::_exit(code) }
}

/// Writes a length-prefixed frame with `MSG_NOSIGNAL`: a dead peer is an error,
/// never a SIGPIPE to a host that did not ignore it.
fn send_frame(fd: RawFd, bytes: &[u8]) -> std::io::Result<()> {
    let len = (bytes.len() as u64).to_le_bytes();
    for mut part in [&len[..], bytes] {
        while !part.is_empty() {
            // SAFETY: `part` is a live buffer of `part.len()` bytes.
            let n = unsafe { libc::send(fd, part.as_ptr().cast(), part.len(), libc::MSG_NOSIGNAL) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            part = &part[n as usize..];
        }
    }
    Ok(())
}

/// Reads one length-prefixed frame, failing with `TimedOut` past `deadline`.
fn read_frame(stream: &mut UnixStream, deadline: Instant) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 8];
    read_until(stream, &mut len, deadline)?;
    let len = u64::from_le_bytes(len);
    let mut bytes = Vec::new();
    // Grown as data arrives: a garbled length cannot reserve memory up front.
    let mut chunk = vec![0u8; 1 << 16];
    while (bytes.len() as u64) < len {
        let want = (len - bytes.len() as u64).min(chunk.len() as u64) as usize;
        read_until(stream, &mut chunk[..want], deadline)?;
        bytes.extend_from_slice(&chunk[..want]);
    }
    Ok(bytes)
}

fn read_until(
    stream: &mut UnixStream,
    mut buf: &mut [u8],
    deadline: Instant,
) -> std::io::Result<()> {
    while !buf.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(buf) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_requests_in_order() {
        let mut total = 0u64;
        let mut w = Worker::spawn(Path::new("x.h5"), None, move |n: u64| {
            total += n;
            total
        })
        .unwrap();
        assert_eq!(w.call::<_, u64>(&2).unwrap(), 2);
        assert_eq!(w.call::<_, u64>(&3).unwrap(), 5);
        assert!(w.is_alive());
    }

    #[test]
    fn a_crash_in_the_child_is_an_error_here() {
        let mut w = Worker::spawn(Path::new("bad.h5"), None, |(): ()| -> u8 {
            // SAFETY: ends the child only, as a libhdf5 segfault would.
            unsafe { libc::raise(libc::SIGSEGV) };
            0
        })
        .unwrap();
        let e = w.call::<_, u8>(&()).unwrap_err().to_string();
        assert!(e.contains("bad.h5") && e.contains("SIGSEGV"), "{e}");
        assert!(!w.is_alive());
        let again = w.call::<_, u8>(&()).unwrap_err().to_string();
        assert!(again.contains("stopped at an earlier error"), "{again}");
    }

    #[test]
    fn run_returns_what_the_child_computed() {
        let v: Vec<f32> = run(Path::new("y.h5"), || vec![f32::NAN, -0.0, 1.5e-40]).unwrap();
        assert!(v[0].is_nan());
        assert_eq!(v[1].to_bits(), (-0.0f32).to_bits());
        assert_eq!(v[2].to_bits(), 1.5e-40f32.to_bits());
    }
}
