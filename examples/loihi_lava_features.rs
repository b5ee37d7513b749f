//! The Loihi liquid's LSM features against Lava: for the first samples of an
//! experiment that ran (`astroglia experiment models/digits_loihi_lsm.toml --out
//! DIR`), reads the features its pipeline cached, runs each sample through the
//! liquid again directly, checks the spike counts agree, and writes the sample
//! as a Lava description with astroglia's spikes recorded
//! (`DIR/lava/sample_K.json`), for `scripts/lava/compare_features.py` to run
//! in Lava and compare.
//!
//! ```text
//! cargo run --release --example loihi_lava_features -- models/digits_loihi_lsm.toml DIR [N]
//! ```
use astroglia::experiment::lsm::{Dataset, Experiment};
use astroglia::lava::{LavaNet, Recorded};
use astroglia::model::{Network, NeuronModel, SpikeSourceParams};
use astroglia::sim::{SimOptions, Simulator};
use std::path::{Path, PathBuf};

/// The liquid counts of the first `n` rows of the experiment's first cache chunk.
fn cached_rows(dir: &Path, n: usize, n_liq: usize) -> Vec<Vec<u32>> {
    let cache = dir.join("cache");
    let key = std::fs::read_dir(&cache)
        .unwrap_or_else(|e| panic!("{}: {e} (run the experiment first)", cache.display()))
        .next()
        .expect("a cache key directory")
        .unwrap()
        .path();
    let bytes = std::fs::read(key.join("chunk_000000.bin")).expect("chunk 0");
    assert_eq!(&bytes[..4], b"AGF1");
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let (rows, row_len) = (word(4) as usize, word(8) as usize);
    let values = 12 + 4 * rows;
    (0..n.min(rows))
        .map(|r| {
            // A row: one leading value, the liquid counts, the input counts.
            (0..n_liq)
                .map(|j| f32::from_bits(word(values + 4 * (r * row_len + 1 + j))) as u32)
                .collect()
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, exp_path, dir, rest @ ..] = &args[..] else {
        anyhow::bail!("usage: loihi_lava_features EXPERIMENT.toml OUT_DIR [N]");
    };
    let n: usize = rest.first().map_or(Ok(3), |s| s.parse())?;
    let exp_path = PathBuf::from(exp_path);
    let exp = Experiment::load(&exp_path)?;
    let base = exp_path.parent().unwrap_or(Path::new("."));
    let net = Network::from_toml_file(base.join(&exp.model))?;
    let mut ds = Dataset::open(&exp, base, None)?;
    ds.set_dt(net.dt_ms);
    let steps = (exp.input.sample_ms / net.dt_ms).round() as u64;
    let liquid: Vec<(String, u32)> = exp
        .features
        .populations
        .iter()
        .map(|p| {
            let pi = net.population_index(p).expect("a feature population");
            (p.clone(), net.populations[pi].size)
        })
        .collect();
    let n_liq: usize = liquid.iter().map(|p| p.1 as usize).sum();
    let cached = cached_rows(Path::new(dir), n, n_liq);
    let out = Path::new(dir).join("lava");
    std::fs::create_dir_all(&out)?;
    let input = net
        .population_index(&exp.input.population)
        .expect("the input population");
    for (k, want) in cached.iter().enumerate() {
        let (label, events) = ds.encode(ds.samples[k], steps as usize, exp.seed)?;
        let mut sample = net.clone();
        sample.populations[input].model = NeuronModel::SpikeSource(SpikeSourceParams::new(
            events.iter().map(|e| e.0 as f64 * net.dt_ms).collect(),
            events.iter().map(|e| e.1).collect(),
        ));
        let mut sim = Simulator::new(&sample, SimOptions::default().seed(exp.seed))?;
        sim.run_steps(steps, |_| {})?;
        let mut lava = LavaNet::from_network(&sample, exp.seed, steps)?;
        let mut counts = vec![];
        for (name, size) in &liquid {
            let sp = sim.population_spikes(0, name)?.expect("recorded");
            let mut c = vec![0u32; *size as usize];
            sp.ids.iter().for_each(|&i| c[i as usize] += 1);
            counts.extend(c);
            lava.recorded.insert(
                name.clone(),
                Recorded {
                    spikes: sp
                        .steps
                        .iter()
                        .zip(&sp.ids)
                        .map(|(&s, &i)| [s, u64::from(i)])
                        .collect(),
                    ..Default::default()
                },
            );
        }
        anyhow::ensure!(
            &counts == want,
            "sample {k}: the direct run's counts differ from the experiment's cached features"
        );
        lava.name = format!("{}_sample_{k}", exp.name.as_deref().unwrap_or("experiment"));
        lava.description = format!(
            "sample {k} (label {label}) of {}: {} input spikes, {} liquid spikes",
            exp_path.display(),
            events.len(),
            counts.iter().sum::<u32>()
        );
        let file = out.join(format!("sample_{k}.json"));
        std::fs::write(&file, serde_json::to_string(&lava)?)?;
        println!(
            "sample {k}: label {label}, {} input spikes, {} liquid spikes = the cached features; wrote {}",
            events.len(),
            counts.iter().sum::<u32>(),
            file.display()
        );
    }
    Ok(())
}
