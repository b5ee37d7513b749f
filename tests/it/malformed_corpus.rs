//! The hardening issue's acceptance check: every case of the malformed corpus
//! that `scripts/malformed_corpus.py` writes (mutated models, experiments,
//! N-MNIST, IDX, NIR and SHD files, bad command lines) ends with an allowed
//! exit code and an `error: ` message, never a panic, a signal, an allocation
//! abort or a hang, while the binary runs under a 4 GB address-space cap.
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
/// `ulimit -v` in KiB: a runaway allocation fails (and must be handled) long
/// before the machine swaps.
const ADDRESS_SPACE_KIB: u64 = 4_000_000;
/// Cases run at once: the machines running the suite may have only 2 cores.
const WORKERS: usize = 2;

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    args: Vec<String>,
    exit: Vec<i32>,
    #[serde(default)]
    stderr_excludes: Vec<String>,
}

/// Runs one case; `None` if it passes, else a one-line description.
fn run_case(case: &Case, dir: &Path, log: &Path) -> Option<String> {
    // stderr goes to a file: a pipe nobody reads while we poll could fill and
    // stall the child into a false timeout.
    let err_file = std::fs::File::create(log).unwrap();
    let start = Instant::now();
    // `exec` keeps the binary's own pid, so kill() and the exit signal are its.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_astroglia"))
        .args(&case.args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .expect("spawn sh");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned();
    let head: String = stderr
        .chars()
        .take(300)
        .collect::<String>()
        .replace('\n', "⏎");
    let problem = match status {
        None => format!("still running after {} s (killed)", TIMEOUT.as_secs()),
        Some(s) => match (s.code(), s.signal()) {
            (_, Some(sig)) => format!("killed by signal {sig}"),
            (Some(c), _) if !case.exit.contains(&c) => {
                format!("exit {c}, allowed {:?}", case.exit)
            }
            _ if stderr.contains("panicked at") => "panicked".to_string(),
            (Some(2), _) if !stderr.starts_with("error: ") => {
                "exit 2 without an `error: ` message".to_string()
            }
            _ => match case.stderr_excludes.iter().find(|x| stderr.contains(*x)) {
                Some(x) => format!("stderr says {x:?}"),
                None => return None,
            },
        },
    };
    Some(format!("{}: {problem}: {head}", case.name))
}

#[test]
fn malformed_corpus_never_panics_crashes_or_hangs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let script = Command::new("python3")
        .arg(root.join("scripts/malformed_corpus.py"))
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("this test needs python3 on PATH to write its corpus: {e}"));
    assert!(
        script.status.success(),
        "scripts/malformed_corpus.py failed: {}",
        String::from_utf8_lossy(&script.stderr)
    );
    let cases: Vec<Case> =
        serde_json::from_slice(&std::fs::read(dir.path().join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let log = logs.join(format!("{i}.err"));
                    if let Some(f) = run_case(case, dir.path(), &log) {
                        failures.lock().unwrap().push((i, f));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    println!(
        "malformed corpus: {} cases in {:.1} s, {} failed",
        cases.len(),
        start.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} malformed-corpus cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .map(|(_, f)| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
