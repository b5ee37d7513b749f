//! Helpers shared by the fuzz targets: a per-process scratch file for readers
//! that take a path, and the size guard of the `model` target.
use astroglia::model::{Connect, Network};
use std::path::PathBuf;

/// Writes `bytes` to this process's scratch file `<tmp>/astroglia-fuzz-<pid>-<name>`
/// (overwritten by every input) and returns its path. `$ASTROGLIA_FUZZ_TMP` picks
/// the directory (the fuzz script uses `/dev/shm` when it exists).
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::var_os("ASTROGLIA_FUZZ_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("astroglia-fuzz-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).expect("fuzz harness: cannot write the scratch file");
    path
}

/// Most neurons the `model` target builds (every neuron may get a ring buffer
/// of up to 65535 steps, 8 bytes each: 2048 neurons is 1 GiB).
pub const MAX_NEURONS: u128 = 2048;
/// Most synapses (worst case of the connectivity rules) the `model` target builds.
pub const MAX_SYNAPSES: u128 = 4_000_000;

/// Whether a validated network is small enough to build under the fuzzer's
/// 2 GiB memory limit. astroglia has no size estimate of its own, so this is
/// the worst case: `pre × post` per projection unless the rule bounds it
/// tighter. `ASTROGLIA_FUZZ_UNCAPPED=1` builds everything (to hunt for
/// out-of-memory inputs on purpose).
pub fn small_enough(net: &Network) -> bool {
    if std::env::var_os("ASTROGLIA_FUZZ_UNCAPPED").is_some_and(|v| v == "1") {
        return true;
    }
    let size = |name: &str| {
        net.populations
            .iter()
            .find(|p| p.name == name)
            .map_or(0, |p| u128::from(p.size))
    };
    let neurons: u128 = net.populations.iter().map(|p| u128::from(p.size)).sum();
    let synapses: u128 = net
        .projections
        .iter()
        .map(|p| {
            let (pre, post) = (size(&p.from), size(&p.to));
            match &p.connect {
                Connect::FixedIndegree { k, .. } => u128::from(*k) * post,
                Connect::FixedOutdegree { k, .. } => u128::from(*k) * pre,
                Connect::List { pre, .. } => pre.len() as u128,
                Connect::OneToOne {} => pre.min(post),
                _ => pre * post,
            }
        })
        .sum();
    neurons <= MAX_NEURONS && synapses <= MAX_SYNAPSES
}
