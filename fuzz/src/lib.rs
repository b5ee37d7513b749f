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

/// The memory a build may need (`astroglia::build::memory`): a network
/// estimated above it is refused by the build itself, so an input that still
/// passes the 2 GiB RSS limit of the fuzz run is a hole in the estimate.
pub const MAX_MEMORY: u64 = 1 << 30;

/// Most neuron pairs a `distance` projection may test (its cost is pre × post
/// whatever it makes): more is slow, not wrong.
pub const MAX_DISTANCE_PAIRS: u128 = 10_000_000;

/// Whether a validated network builds quickly enough for fuzzing.
pub fn quick_enough(net: &Network) -> bool {
    let size = |name: &str| {
        net.populations
            .iter()
            .find(|p| p.name == name)
            .map_or(0, |p| u128::from(p.size))
    };
    net.projections
        .iter()
        .filter(|p| matches!(p.connect, Connect::Distance { .. }))
        .all(|p| size(&p.from) * size(&p.to) <= MAX_DISTANCE_PAIRS)
}
