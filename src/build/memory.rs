//! What a build will need, known before it allocates: an estimate per population,
//! projection and recorder, checked against the memory this process may use, so
//! that a model too large for the machine is refused with the part to blame
//! instead of aborting on a failed allocation minutes later.
use crate::model::{Connect, Network, Projection};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a synapse needs at least: its target index.
const SYNAPSE_TARGET: f64 = 4.0;
/// Bytes more for a weight of its own: drawn in f64, kept as i32.
const SYNAPSE_WEIGHT: f64 = 12.0;
/// Bytes more for a delay of its own.
const SYNAPSE_DELAY: f64 = 2.0;
/// Bytes more for a plastic synapse: column index, presynaptic id, f32 weight and
/// the rule's trace.
const SYNAPSE_PLASTIC: f64 = 16.0;
/// Bytes a neuron needs besides its state variables and rings: build-time input
/// sums, the grid position, counters.
const NEURON_BASE: f64 = 48.0;

/// The limit set with [`set_max_memory`]; 0 means "what the machine has".
static MAX_MEMORY: AtomicU64 = AtomicU64::new(0);

/// Sets the most bytes a build may need (`None`: what the machine has free, see
/// [`available`]). Applies to every later build in this process.
pub fn set_max_memory(bytes: Option<u64>) {
    MAX_MEMORY.store(bytes.unwrap_or(0), Ordering::Relaxed);
}

/// The limit builds are checked against and where it comes from.
pub fn limit() -> Option<(u64, &'static str)> {
    match MAX_MEMORY.load(Ordering::Relaxed) {
        0 => available().map(|b| (b, "free for this process")),
        b => Some((b, "allowed by --max-memory")),
    }
}

/// What one part of the network needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// `populations[i] 'name'`, `projections[i] 'a->b'` or `monitors.state[i]`.
    pub what: String,
    /// Bytes, estimated.
    pub bytes: f64,
}

/// The memory a build and run of a network will need, part by part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Estimate {
    /// Every population, projection and state recorder.
    pub parts: Vec<Part>,
}

impl Estimate {
    /// The whole estimate in bytes.
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    /// The largest part.
    pub fn largest(&self) -> Option<&Part> {
        self.parts.iter().max_by(|a, b| a.bytes.total_cmp(&b.bytes))
    }
}

/// The number of synapses `connect` makes from `n_pre` to `n_post` neurons: exact
/// for the deterministic rules, the mean for the random ones, an upper bound for
/// `distance` (a Gaussian kernel summed over a unit lattice of `spacing`).
pub fn synapses(connect: &Connect, n_pre: u32, n_post: u32, spacing: f64) -> f64 {
    let (pre, post) = (f64::from(n_pre), f64::from(n_post));
    match connect {
        Connect::AllToAll { .. } => pre * post,
        Connect::OneToOne {} => pre,
        Connect::FixedProbability { p, .. } => p.clamp(0.0, 1.0) * pre * post,
        Connect::FixedIndegree { k, .. } => f64::from(*k) * post,
        Connect::FixedOutdegree { k, .. } => f64::from(*k) * pre,
        Connect::Distance { c, lambda, .. } => {
            let per_axis = 1.0 + std::f64::consts::PI.sqrt() * (lambda / spacing).abs();
            c.clamp(0.0, 1.0) * post * pre.min(per_axis.powi(3))
        }
        Connect::List { pre, .. } => pre.len() as f64,
        // Known once the file is opened (see `check_with`).
        Connect::File { .. } => 0.0,
    }
}

/// [`synapses`] of `net`'s projection `pr`, or `None` when it names an unknown
/// population.
pub fn projection_synapses(net: &Network, pr: &Projection) -> Option<f64> {
    let size = |name: &str| {
        net.populations
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.size)
    };
    let spacing = net
        .grids
        .iter()
        .find(|g| g.populations.contains(&pr.from))
        .map_or(1.0, |g| g.spacing);
    Some(synapses(
        &pr.connect,
        size(&pr.from)?,
        size(&pr.to)?,
        spacing,
    ))
}

/// What an opened connectivity file holds for one projection: its synapse
/// count and whether it gives each synapse a weight and a delay of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Known {
    pub synapses: f64,
    pub own_weight: bool,
    pub own_delay: bool,
}

/// Estimates what building and running `net` needs. The network should have
/// passed validation; parts naming unknown populations are left out, and a
/// `file` rule counts no synapse (its count is known once the file is open).
pub fn estimate(net: &Network) -> Estimate {
    estimate_with(net, &[])
}

/// [`estimate`] with the counts of the projections whose files are open
/// (`known[i]` for projection i).
fn estimate_with(net: &Network, known: &[Option<Known>]) -> Estimate {
    let dt = net.dt_ms;
    let size = |name: &str| {
        net.populations
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.size)
    };
    let mut parts = Vec::new();
    let mut ring = vec![1.0f64; net.populations.len()];
    for (i, pr) in net.projections.iter().enumerate() {
        let file = known.get(i).copied().flatten();
        let (Some(n_pre), Some(n)) = (
            size(&pr.from),
            file.map(|k| k.synapses)
                .or_else(|| projection_synapses(net, pr)),
        ) else {
            continue;
        };
        let list = match (&pr.connect, file) {
            (
                Connect::List {
                    weights, delays_ms, ..
                },
                _,
            ) => (weights.is_some(), delays_ms.is_some()),
            (_, Some(k)) => (k.own_weight, k.own_delay),
            _ => (false, false),
        };
        let own_weight = pr.weight.constant().is_none() || list.0;
        let own_delay = pr.delay_ms.as_ref().is_some_and(|d| d.constant().is_none()) || list.1;
        let per = SYNAPSE_TARGET
            + if own_weight { SYNAPSE_WEIGHT } else { 0.0 }
            + if own_delay { SYNAPSE_DELAY } else { 0.0 }
            + if pr.plasticity.is_some() {
                SYNAPSE_PLASTIC
            } else {
                0.0
            };
        parts.push(Part {
            what: format!("projections[{i}] '{}'", pr.label()),
            bytes: n * per + 4.0 * f64::from(n_pre),
        });
        let longest = pr.delay_ms.as_ref().map_or(dt, |d| d.bounds().1);
        if let Some(post) = net.population_index(&pr.to) {
            let steps = (longest / dt)
                .round()
                .clamp(1.0, f64::from(crate::model::MAX_DELAY_STEPS));
            ring[post] = ring[post].max(steps);
        }
    }
    for (i, p) in net.populations.iter().enumerate() {
        let vars = p.model.state_vars().len() as f64;
        // Two receptor rings of i32, a slot per step of the longest delay.
        let per = NEURON_BASE + 8.0 * vars + 8.0 * ring[i];
        parts.push(Part {
            what: format!("populations[{i}] '{}'", p.name),
            bytes: per * f64::from(p.size),
        });
    }
    let steps = (net.duration_ms / dt).round().max(0.0);
    for (i, m) in net.monitors.state.iter().enumerate() {
        let ids = match &m.ids {
            Some(ids) => ids.len() as f64,
            None => size(&m.population).map_or(0.0, f64::from),
        };
        parts.push(Part {
            what: format!("monitors.state[{i}] ('{}' {})", m.population, m.var),
            bytes: 4.0 * ids * (steps / f64::from(m.every.max(1))).ceil(),
        });
    }
    Estimate { parts }
}

/// Refuses `net` when its estimate exceeds [`limit`], naming the largest part.
pub fn check(net: &Network, source: &str) -> crate::Result<()> {
    check_with(net, source, &[])
}

/// [`check`] with the counts of opened connectivity files (see [`Known`]).
pub(crate) fn check_with(
    net: &Network,
    source: &str,
    known: &[Option<Known>],
) -> crate::Result<()> {
    let Some((limit, origin)) = limit() else {
        return Ok(());
    };
    let e = estimate_with(net, known);
    let total = e.total();
    if total <= limit as f64 {
        return Ok(());
    }
    let largest = e
        .largest()
        .map(|p| format!("; the largest part is {} with {}", p.what, bytes(p.bytes)))
        .unwrap_or_default();
    Err(crate::Error::Resources(format!(
        "{source}: the network needs about {}{largest}, more than the {} {origin}",
        bytes(total),
        bytes(limit as f64)
    )))
}

/// `n` bytes for people: `1.5 GB`, `320 MB`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut x = n;
    let mut u = 0;
    while x >= 1000.0 && u + 1 < UNITS.len() {
        x /= 1000.0;
        u += 1;
    }
    if u + 1 == UNITS.len() && x >= 1000.0 {
        return format!("{n:.1e} B");
    }
    if u == 0 {
        format!("{x:.0} B")
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

/// Parses a size such as `512M`, `8G`, `8GB`, `1.5 GiB` or `1000000` (bytes).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        _ => return Err(format!("expected a size such as 512M or 8G, got '{s}'")),
    };
    let x: f64 = num
        .parse()
        .map_err(|_| format!("expected a size such as 512M or 8G, got '{s}'"))?;
    let b = x * scale;
    if !(b >= 1.0 && b < u64::MAX as f64) {
        return Err(format!("expected a size from 1 byte to 16 EB, got '{s}'"));
    }
    Ok(b as u64)
}

/// The memory this process may still take: the least of the machine's available
/// memory, the cgroup's remaining allowance and the address-space limit (less
/// what the process holds). `None` where none of them can be read.
pub fn available() -> Option<u64> {
    [
        meminfo_available(),
        cgroup_remaining(),
        address_space_left(),
    ]
    .into_iter()
    .flatten()
    .min()
}

fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

fn cgroup_remaining() -> Option<u64> {
    let read = |f: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{f}")).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?;
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

#[cfg(unix)]
fn address_space_left() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0
        || lim.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(lim.rlim_cur.saturating_sub(address_space_used()))
}

/// The address space this process holds (`VmSize`), in bytes; 0 where unknown.
pub(crate) fn address_space_used() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let kb: u64 = status
        .as_deref()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmSize:")))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    kb.saturating_mul(1024)
}

#[cfg(not(unix))]
fn address_space_left() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NeuronModel, Population, Projection};

    #[test]
    fn synapse_counts_follow_the_rules() {
        let all = Connect::AllToAll { allow_self: true };
        assert_eq!(synapses(&all, 1000, 2000, 1.0), 2e6);
        let p = Connect::FixedProbability {
            p: 0.1,
            allow_self: false,
        };
        assert_eq!(synapses(&p, 1000, 1000, 1.0), 1e5);
        let k = Connect::FixedIndegree {
            k: 10,
            allow_self: false,
        };
        assert_eq!(synapses(&k, 5, 300, 1.0), 3000.0);
        // A narrow kernel reaches few of a large grid; a wide one all of it.
        let d = |lambda| Connect::Distance {
            c: 1.0,
            lambda,
            allow_self: false,
        };
        assert!(synapses(&d(2.0), 1_000_000, 1000, 1.0) < 100.0 * 1000.0);
        assert_eq!(synapses(&d(1e6), 500, 1000, 1.0), 5e5);
    }

    #[test]
    fn the_largest_part_of_a_dense_network_is_its_projection() {
        let mut net = Network::new(0.1, 100.0);
        net.add_population(Population::new(
            "a",
            200_000,
            NeuronModel::Lif(Default::default()),
        ))
        .add_projection(Projection::new(
            "a",
            "a",
            Connect::AllToAll { allow_self: true },
        ));
        let e = estimate(&net);
        assert_eq!(e.largest().unwrap().what, "projections[0] 'a->a'");
        // 4e10 synapses of 4 bytes: 160 GB.
        assert!((e.total() - 1.6e11).abs() < 1e9, "{}", e.total());
    }

    #[test]
    fn sizes_read_and_print_in_decimal_units() {
        assert_eq!(parse_bytes("512M"), Ok(512_000_000));
        assert_eq!(parse_bytes("8GB"), Ok(8_000_000_000));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("8X").is_err());
        assert!(parse_bytes("-1G").is_err());
        assert!(parse_bytes("0").is_err());
        assert_eq!(bytes(1.6e11), "160.0 GB");
        assert_eq!(bytes(999.0), "999 B");
    }
}
