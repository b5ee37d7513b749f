//! The `astroglia` command line.
use anyhow::Context;
use astroglia::model::Network;
use astroglia::record::{plot::plot_raster, write_json_atomic};
use astroglia::sim::{BackendKind, SimOptions, Simulator};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// astroglia: spiking neural network simulator (CPU reference and wgpu GPU backends).
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Most memory a network build may need, e.g. 512M or 8G (default: what the
    /// machine, its cgroup and `ulimit -v` leave free). A model estimated to need
    /// more is refused before anything is allocated, naming its largest part.
    #[arg(long, global = true, value_name = "SIZE", value_parser = astroglia::build::memory::parse_bytes)]
    max_memory: Option<u64>,
    /// Overrides a constant of the model file's `[constants]` table, e.g.
    /// `--set g=6 --set nu_ext=2.0` (repeatable). Every numeric field written
    /// as an expression of it (`weight = "-g * J"`) follows; a name the model
    /// does not define is an error.
    #[arg(long = "set", global = true, value_name = "NAME=VALUE", value_parser = astroglia::model::constants::parse_override)]
    set: Vec<(String, f64)>,
}

/// What `check --emit` prints.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Emit {
    /// Integration methods and compiled assignments.
    Scheme,
    /// The generated WGSL.
    Wgsl,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a model file and write summary.json, spikes.h5 and raster.png.
    Run(RunArgs),
    /// Validate a model file, build it and print its size without simulating.
    Check {
        /// Model file (TOML).
        model: PathBuf,
        /// Seed used to build the network (default: the model's).
        #[arg(long)]
        seed: Option<u64>,
        /// Also print, for each user-written neuron model: `scheme` the
        /// integration methods and the compiled assignments of each phase
        /// (with the values computed before the run), `wgsl` the generated
        /// GPU shader. Repeatable.
        #[arg(long, value_enum)]
        emit: Vec<Emit>,
    },
    /// List the GPU adapters `--backend gpu` can use, best first.
    Devices,
    /// Describe the built-in neuron models and spike sources: each model-file
    /// table with its defaults, state variables (unit, initial value) and
    /// receptors (weight unit, what a weight is added to).
    Models {
        /// Only this model (its model-file key, e.g. `adex`).
        key: Option<String>,
    },
    /// Run one model and input under several plasticity rules side by side; write
    /// compare.json, weights.png, rates.png (and branching.png) and print a table.
    Compare(CompareArgs),
    /// Run a liquid-state-machine experiment (dataset → encoder → liquid →
    /// readout); write results.json, learning_curve.png, confusion.png and
    /// raster.png, and print the accuracies. With [[variants]] in the file, run
    /// each plasticity variant on the same liquid into OUT/<variant>/ and write
    /// comparison.json, comparison.png and a table.
    Experiment(ExperimentArgs),
    /// Convert between NIR graphs (.nir) and model files.
    #[command(subcommand)]
    Nir(NirCommand),
    /// Run a model in float and with its `lif` populations in fixed point at
    /// several state widths; print the rates and write fixed_point.json.
    FixedPoint(FixedPointArgs),
    /// Check a model against a neuromorphic chip's published limits.
    Fit(FitArgs),
    /// Loihi's bit-accurate LIF (`loihi_lif`): convert float models to it, and
    /// read or write Lava descriptions (astroglia-lava-1 JSON).
    #[command(subcommand)]
    Loihi(LoihiCommand),
    /// Run a continual-learning experiment (a spiking classifier trained online on
    /// a stream of tasks with HLOP, plain sequential and multitask training); write
    /// results.json and accuracy.png and print ACC, BWT and the accuracy matrices.
    Continual(ContinualArgs),
}

#[derive(Subcommand)]
enum NirCommand {
    /// Import a .nir file as a runnable model file (discretisation: see the
    /// `astroglia::nir` docs).
    Import {
        /// NIR file (HDF5).
        file: PathBuf,
        /// Model file to write (TOML).
        #[arg(long, value_name = "MODEL.toml")]
        out: PathBuf,
        /// Integration step in ms (NIR files carry none).
        #[arg(long, default_value_t = 1.0)]
        dt_ms: f64,
        /// Default simulated time of the model in ms.
        #[arg(long, default_value_t = 1000.0)]
        duration_ms: f64,
    },
    /// Export a model file as a .nir file (the NIR-expressible subset).
    Export {
        /// Model file (TOML).
        model: PathBuf,
        /// NIR file to write.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum LoihiCommand {
    /// Convert a model's `lif` populations to `loihi_lif` (chip integers), print
    /// what the rounding costs (parameters, weights, rates of both models run
    /// side by side) and write the converted model.
    Convert {
        /// Model file (TOML).
        model: PathBuf,
        /// Converted model file to write (TOML).
        #[arg(long, value_name = "MODEL.toml")]
        out: PathBuf,
        /// Threshold mantissa of every population (1..=131071): the voltage
        /// scale puts the threshold at vth << 6.
        #[arg(long, default_value_t = 65536,
              value_parser = clap::value_parser!(u32).range(1..=131_071))]
        vth: u32,
        /// Seed of the builds and runs (default: the model's).
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated time of the rate comparison in ms (default: the model's
        /// `duration_ms`; 0 skips it).
        #[arg(long, value_name = "T")]
        duration_ms: Option<f64>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a runnable model file of a Lava description (JSON).
    Import {
        /// Lava description (astroglia-lava-1 JSON).
        file: PathBuf,
        /// Model file to write (TOML).
        #[arg(long, value_name = "MODEL.toml")]
        out: PathBuf,
    },
    /// Describe a model of `loihi_lif` and `spike_source` populations for Lava
    /// (run it with scripts/lava/lava_json.py).
    Export {
        /// Model file (TOML).
        model: PathBuf,
        /// Lava description to write (JSON).
        file: PathBuf,
        /// Seed of the build whose weights are written (default: the model's).
        #[arg(long)]
        seed: Option<u64>,
        /// Steps Lava runs (default: the model's duration in steps).
        #[arg(long)]
        steps: Option<u64>,
        /// Run the model here first and write its spikes as the description's
        /// `recorded` section, for scripts/lava to compare with Lava's.
        #[arg(long)]
        record: bool,
    },
}

#[derive(clap::Args)]
struct FixedPointArgs {
    /// Model file (TOML).
    model: PathBuf,
    /// State widths to compare, comma-separated (each in 4..=28).
    #[arg(long, value_delimiter = ',', default_value = "8,12,16,24",
          value_parser = clap::value_parser!(u32).range(4..=28))]
    bits: Vec<u32>,
    /// Seeds (rates are pooled over them), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4")]
    seeds: Vec<u64>,
    /// Weight mantissa bits (2..=16, at most every --bits).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=16))]
    weight_bits: u32,
    /// Decay fraction bits (4..=15).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=15))]
    decay_bits: u32,
    /// Simulated time per run in ms (default: the model's `duration_ms`).
    #[arg(long, value_name = "T")]
    duration_ms: Option<f64>,
    /// Backend of every run.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendArg,
    /// Output directory (default: out/<model name>-fixed-point).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct FitArgs {
    /// Model file (TOML).
    model: PathBuf,
    /// Target chip.
    #[arg(long, value_enum)]
    target: astroglia::fit::Target,
    /// Seed used to build the network (default: the model's).
    #[arg(long)]
    seed: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ContinualArgs {
    /// Experiment file (TOML), e.g. models/continual_digits.toml; its `data.path`
    /// is relative to it.
    experiment: PathBuf,
    /// Directory of MNIST-style IDX files (overrides the file's `data.path`).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Backend that simulates the network.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendArg,
    /// GPU adapter by name substring (see `astroglia devices`).
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,
    /// Output directory (default: out/<experiment name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seed (default: the file's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads for the test batches (results are the same for any count).
    /// Default: every core.
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
    /// Print nothing but errors (no progress bars, no table).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ExperimentArgs {
    /// Experiment file (TOML), e.g. models/digits_lsm.toml; its `model` and
    /// `data.path` are relative to it.
    experiment: PathBuf,
    /// Dataset directory (overrides the file's `data.path`): MNIST-style IDX
    /// files, an N-MNIST Train/Test tree, or shd_train.h5 + shd_test.h5.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Backend that simulates the samples.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendArg,
    /// GPU adapter by name substring (see `astroglia devices`).
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,
    /// Output directory (default: out/<experiment name>). Features are cached in
    /// DIR/cache/, so a rerun after an interruption resumes where it stopped.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads: the samples of a batch run in parallel (the results are
    /// the same for any count). Default: every core.
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
    /// Print nothing but errors (no progress bars).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct CompareArgs {
    /// Model file (TOML).
    model: PathBuf,
    /// Projection that gets each variant's rule (its name, or `from->to` when
    /// unnamed); repeat for several, or `all` for every projection that has
    /// plasticity in the model.
    #[arg(long, value_name = "NAME", required = true)]
    projection: Vec<String>,
    /// Rules file (TOML): `[[rules]]` entries, each `name` plus exactly one rule
    /// table (`stdp`, `triplet`, `nalsm`, `reward_stdp`, `delta`, `user`, as in a model's
    /// `plasticity`, or `none = {}` for static weights). Example:
    /// models/compare_song.toml.
    #[arg(long, value_name = "RULES.toml")]
    rules: PathBuf,
    /// Seed of every variant: same connectivity, initial state and input spikes
    /// (default: the model's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated time in ms (default: the model's `duration_ms`).
    #[arg(long, value_name = "T")]
    duration_ms: Option<f64>,
    /// Output directory (created if missing; default: out/<model name>-compare).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Population of the liquid whose branching factor is computed per sample
    /// (repeatable; the recurrent synapses among all given populations form the
    /// graph). Default: no branching factor.
    #[arg(long, value_name = "POP", num_args = 1..)]
    bf_population: Vec<String>,
    /// Branching-factor sample length in ms.
    #[arg(long, value_name = "MS", default_value_t = 250.0)]
    bf_sample_ms: f64,
    /// Worker threads for neuron updates of each simulation.
    #[arg(long, default_value_t = 1, value_parser = threads_arg)]
    threads: usize,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// CPU reference backend.
    Cpu,
    /// wgpu/WGSL backend (Vulkan, Metal or DX12; lavapipe works without a GPU).
    Gpu,
}

impl From<BackendArg> for BackendKind {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Cpu => BackendKind::Cpu,
            BackendArg::Gpu => BackendKind::Gpu,
        }
    }
}

/// `out`, or `out/<name>` when not given, created and claimed for this run
/// (see [`astroglia::record::claim_dir`]); the claim lasts while the guard lives.
fn output_dir(
    out: Option<PathBuf>,
    name: &str,
) -> anyhow::Result<(PathBuf, astroglia::record::Claim)> {
    let out = out.unwrap_or_else(|| PathBuf::from("out").join(astroglia::record::dir_name(name)));
    let claim = astroglia::record::claim_dir(&out)?;
    Ok((out, claim))
}

/// The directory an experiment file's relative paths start from.
fn base_of(experiment: &Path) -> PathBuf {
    experiment
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Parses `--threads`: at least 1; more than this machine's cores is capped
/// there with a warning (each is an OS thread, and results are the same for
/// any count).
fn threads_arg(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|e| format!("expected a whole number of threads: {e}"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    if n > cores {
        eprintln!("warning: --threads {n} is more than the {cores} cores here; using {cores}");
        return Ok(cores);
    }
    Ok(n)
}

/// Worker threads: `threads`, or every core.
fn threads_or_all(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[derive(clap::Args)]
struct RunArgs {
    /// Model file (TOML). See README.md for the format; examples in models/.
    model: PathBuf,
    /// Backend that runs the simulation.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendArg,
    /// Seed for network construction and per-step randomness (default: the model's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated time in ms (default: the model's `duration_ms`).
    #[arg(long, value_name = "T")]
    duration_ms: Option<f64>,
    /// Output directory (created if missing; default: out/<model name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// GPU adapter by name substring (default: $ASTROGLIA_ADAPTER, else the best one;
    /// see `astroglia devices`).
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,
    /// Worker threads for neuron updates and spike delivery, or for the
    /// instances of a batch (results are identical for any count). Default:
    /// every core for a batch or a network with a population of at least
    /// 16 384 neurons or at least 2^20 synapses, else one (smaller steps
    /// take about as long as the threads' coordination).
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
    /// Run B independent instances over one copy of the connectivity: instance b
    /// draws its initial state and per-step randomness (noise, Poisson) from
    /// seed + b. Each instance's outputs go to DIR/instance_<b>/; summary.json
    /// lists every instance.
    #[arg(long, value_name = "B", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    batch: u32,
    /// Explicit instance seeds, comma-separated (overrides --batch): instance b of a
    /// batch equals a single run with the same --seed and `--instance-seeds` its seed.
    #[arg(long, value_name = "S,S,...", value_delimiter = ',', num_args = 1..)]
    instance_seeds: Option<Vec<u64>>,
    /// Run every `lif` population in fixed point with this many state bits (the
    /// other settings at their defaults; a model's own `fixed_point` blocks are
    /// replaced). See README "Fixed-point mode".
    #[arg(long, value_name = "BITS")]
    fixed_point: Option<u32>,
    /// Skip raster.png (plotting large rasters takes time).
    #[arg(long)]
    no_plot: bool,
    /// Skip spikes.h5.
    #[arg(long)]
    no_hdf5: bool,
    /// After the run, write every projection's synapses (pre, post, weight,
    /// delay_ms) to this HDF5 file, which a model's `file` connect rule reads
    /// back (layout: docs/connectivity.md). Plastic weights are the learnt
    /// ones, at the end of the run (instance 0's in a batch).
    #[arg(long, value_name = "FILE.h5")]
    save_connectivity: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Exit codes: 0 success, 1 run failure, 2 bad input (arguments, model or data
/// file), 3 a model that does not fit the `fit` target.
fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread is spawned.
    unsafe { astroglia::backend::gpu::quiet_device_select() };
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            let bad_input = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<astroglia::Error>(),
                    Some(
                        astroglia::Error::Model { .. }
                            | astroglia::Error::Rules { .. }
                            | astroglia::Error::Experiment { .. }
                            | astroglia::Error::Setting { .. }
                            | astroglia::Error::Unknown { .. }
                            | astroglia::Error::NoIndex { .. }
                            | astroglia::Error::WrongKind { .. }
                            | astroglia::Error::Incompatible { .. }
                            | astroglia::Error::Unsupported { .. }
                            | astroglia::Error::Argument { .. }
                            | astroglia::Error::Length { .. }
                            | astroglia::Error::Range { .. }
                            | astroglia::Error::Io { .. }
                            | astroglia::Error::Data { .. }
                            | astroglia::Error::Resources(_)
                            | astroglia::Error::RecordingFull { .. }
                            | astroglia::Error::Nir(_)
                    )
                )
            });
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    astroglia::build::memory::set_max_memory(cli.max_memory);
    astroglia::model::constants::set_overrides(cli.set);
    match cli.command {
        Command::Run(args) => run_model(args),
        Command::Compare(args) => compare(args),
        Command::Experiment(args) => experiment(args),
        Command::Nir(cmd) => nir(cmd),
        Command::FixedPoint(args) => fixed_point(args),
        Command::Loihi(cmd) => loihi(cmd),
        Command::Fit(args) => {
            let net = Network::from_toml_file(&args.model)?;
            let built = astroglia::build::build(&net, args.seed.unwrap_or(net.seed))?;
            let report = astroglia::fit::check(&net, &built, args.target);
            if args.json {
                let mut text = serde_json::to_string_pretty(&report)?;
                text.push('\n');
                print_stdout(&text)?;
            } else {
                print_stdout(&report.text())?;
            }
            // 3: the model does not fit (distinct from bad input, 2).
            Ok(if report.fits {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Continual(args) => continual(args),
        Command::Devices => {
            let list = astroglia::backend::gpu::list_adapters();
            if list.is_empty() {
                println!(
                    "no GPU adapter found: install a Vulkan driver (on Debian/Ubuntu: \
                     `apt-get install mesa-vulkan-drivers libvulkan1`) or use --backend cpu"
                );
            }
            for line in list {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Models { key } => {
            let all = astroglia::model::NeuronModel::defaults();
            let shown: Vec<_> = all
                .iter()
                .filter(|m| key.as_deref().is_none_or(|k| k == m.key()))
                .collect();
            if shown.is_empty() {
                let keys: Vec<_> = all.iter().map(|m| m.key()).collect();
                return Err(astroglia::Error::setting(
                    "models",
                    format!(
                        "no model '{}'; the models are {}",
                        key.unwrap_or_default(),
                        keys.join(", ")
                    ),
                )
                .into());
            }
            let text: Vec<String> = shown.iter().map(|m| m.describe()).collect();
            print_stdout(&text.join("\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { model, seed, emit } => {
            let net = Network::from_toml_file(&model)?;
            for spec in &net.neuron_models {
                let compiled = spec
                    .compile(net.dt_ms)
                    .map_err(|e| anyhow::anyhow!("{}: {}", model.display(), e[0]))?;
                for e in &emit {
                    let text = match e {
                        Emit::Scheme => compiled.describe(),
                        Emit::Wgsl => compiled.wgsl(),
                    };
                    print_stdout(&text)?;
                }
            }
            for spec in &net.synapse_models {
                let compiled = spec
                    .compile()
                    .map_err(|e| anyhow::anyhow!("{}: {}", model.display(), e[0]))?;
                for e in &emit {
                    let text = match e {
                        Emit::Scheme => compiled.describe(),
                        // Offsets as for a network whose only plastic
                        // projection has 100 presynaptic and postsynaptic
                        // neurons, all to all.
                        Emit::Wgsl => compiled.wgsl(100, 100, 10_000, net.dt_ms),
                    };
                    print_stdout(&text)?;
                }
            }
            let t = Instant::now();
            let built = astroglia::build::build(&net, seed.unwrap_or(net.seed))?;
            print_stdout(&format!(
                "{}: {} populations, {} neurons, {} projections, {} synapses ({} bytes, {:.1} B/synapse), built in {:.3} s\n",
                model.display(),
                built.pops.len(),
                built.n_neurons(),
                built.projs.len(),
                built.n_synapses(),
                built.synapse_bytes(),
                built.synapse_bytes() as f64 / built.n_synapses().max(1) as f64,
                t.elapsed().as_secs_f64()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn nir(cmd: NirCommand) -> anyhow::Result<ExitCode> {
    use astroglia::nir;
    match cmd {
        NirCommand::Import {
            file,
            out,
            dt_ms,
            duration_ms,
        } => {
            let graph = nir::read(&file)?;
            let opts = nir::ImportOptions { dt_ms, duration_ms };
            let imported = nir::to_model(&graph, &opts)
                .with_context(|| format!("{}: cannot import", file.display()))?;
            for w in &imported.warnings {
                eprintln!("warning: {}: {w}", file.display());
            }
            nir::write_model(&imported.network, &out)?;
            let net = &imported.network;
            let inputs: Vec<String> = imported
                .inputs
                .iter()
                .map(|(n, s)| format!("{n} {s:?}"))
                .collect();
            let outputs: Vec<String> = imported
                .outputs
                .iter()
                .map(|(o, p)| format!("{o} <- {p}"))
                .collect();
            print_stdout(&format!(
                "{} (NIR {}): {} populations, {} projections, {} bias inputs, dt {} ms; inputs: {}; outputs: {}\n  wrote {}\n",
                file.display(),
                graph.version,
                net.populations.len(),
                net.projections.len(),
                net.inputs.len(),
                dt_ms,
                inputs.join(", "),
                outputs.join(", "),
                out.display()
            ))?;
        }
        NirCommand::Export { model, file } => {
            let net = Network::from_toml_file(&model)?;
            let graph = nir::from_model(&net)
                .with_context(|| format!("{}: cannot export", model.display()))?;
            nir::write(&graph, &file)?;
            print_stdout(&format!(
                "{}: {} nodes, {} edges (NIR {})\n  wrote {}\n",
                model.display(),
                graph.graph.nodes.len(),
                graph.graph.edges.len(),
                graph.version,
                file.display()
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn loihi(cmd: LoihiCommand) -> anyhow::Result<ExitCode> {
    use astroglia::lava::{LavaNet, convert};
    match cmd {
        LoihiCommand::Convert {
            model,
            out,
            vth,
            seed,
            duration_ms,
            json,
        } => {
            let net = Network::from_toml_file(&model)?;
            let seed = seed.unwrap_or(net.seed);
            let opts = convert::ConvertOptions::default().vth(vth).seed(seed);
            let c = convert::to_loihi(&net, &opts)
                .with_context(|| format!("{}: cannot convert", model.display()))?;
            let t = duration_ms.unwrap_or(net.duration_ms);
            if !(t >= 0.0 && t.is_finite()) {
                return Err(astroglia::Error::argument(
                    "--duration-ms",
                    format!("must be >= 0, got {t}"),
                )
                .into());
            }
            let mut rates = vec![];
            if t > 0.0 {
                let run = |n: &Network| -> anyhow::Result<astroglia::sim::Summary> {
                    let mut sim = Simulator::new(n, SimOptions::default().seed(seed))?;
                    sim.run_ms(t)?;
                    Ok(sim.summary())
                };
                let (a, b) = (run(&net)?, run(&c.model)?);
                for p in &net.populations {
                    if let (Some(x), Some(y)) =
                        (a.populations.get(&p.name), b.populations.get(&p.name))
                    {
                        rates.push((p.name.clone(), x.rate_hz, y.rate_hz));
                    }
                }
            }
            astroglia::nir::write_model(&c.model, &out)?;
            if json {
                let rates: Vec<_> = rates
                    .iter()
                    .map(|(n, f, l)| serde_json::json!({"population": n, "float_hz": f, "loihi_hz": l}))
                    .collect();
                let mut text = serde_json::to_string_pretty(&serde_json::json!({
                    "conversion": &c, "rates": rates, "duration_ms": t, "seed": seed,
                }))?;
                text.push('\n');
                print_stdout(&text)?;
            } else {
                let mut text = c.text();
                if !rates.is_empty() {
                    text += &format!(
                        "rates over {t} ms, seed {seed}:\n  population      float Hz   loihi Hz\n"
                    );
                    for (n, f, l) in &rates {
                        text += &format!("  {n:<14} {f:>9.2} {l:>10.2}\n");
                    }
                }
                text += &format!("  wrote {}\n", out.display());
                print_stdout(&text)?;
            }
        }
        LoihiCommand::Import { file, out } => {
            let lava = LavaNet::read(&file)?;
            let net = lava.to_network()?;
            astroglia::nir::write_model(&net, &out)?;
            print_stdout(&format!(
                "{}: {} processes, {} connections, {} steps\n  wrote {}\n",
                file.display(),
                lava.processes.len(),
                lava.connections.len(),
                lava.steps,
                out.display()
            ))?;
        }
        LoihiCommand::Export {
            model,
            file,
            seed,
            steps,
            record,
        } => {
            let net = Network::from_toml_file(&model)?;
            let steps = steps.unwrap_or((net.duration_ms / net.dt_ms).round() as u64);
            let seed = seed.unwrap_or(net.seed);
            let mut lava = LavaNet::from_network(&net, seed, steps)
                .with_context(|| format!("{}: cannot describe for Lava", model.display()))?;
            if record {
                let mut sim = Simulator::new(&net, SimOptions::default().seed(seed))?;
                sim.run_steps(steps, |_| {})?;
                for p in &lava.processes {
                    if let astroglia::lava::Process::Lif { name, .. } = p {
                        let sp = sim.population_spikes(0, name)?.ok_or_else(|| {
                            anyhow::anyhow!(
                                "--record: '{name}' is not recorded by the model's monitors"
                            )
                        })?;
                        let spikes = sp.steps.iter().zip(&sp.ids);
                        lava.recorded.insert(
                            name.clone(),
                            astroglia::lava::Recorded {
                                spikes: spikes.map(|(&s, &i)| [s, u64::from(i)]).collect(),
                                ..Default::default()
                            },
                        );
                    }
                }
            }
            let mut text = serde_json::to_string(&lava)?;
            text.push('\n');
            astroglia::record::write_atomic(&file, text.as_bytes())?;
            print_stdout(&format!(
                "{}: {} processes, {} connections, {} steps\n  wrote {}\n",
                model.display(),
                lava.processes.len(),
                lava.connections.len(),
                steps,
                file.display()
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a closed pipe (`astroglia run ... | head`) is not an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn experiment(args: ExperimentArgs) -> anyhow::Result<ExitCode> {
    use astroglia::experiment::lsm::{Experiment, RunOptions, run_experiment, write_report};
    let exp = Experiment::load(&args.experiment)?;
    let base = base_of(&args.experiment);
    let (out, _claim) = output_dir(args.out, exp.name.as_deref().unwrap_or("experiment"))?;
    let opts = RunOptions {
        data_dir: args.data,
        backend: args.backend.into(),
        adapter: args.adapter,
        threads: threads_or_all(args.threads),
        out: out.clone(),
        progress: !args.quiet,
    };
    if !exp.variants.is_empty() {
        use astroglia::experiment::lsm::{run_variants, write_comparison};
        let quiet = args.quiet;
        let run = run_variants(&exp, &base, &opts, |v, run| {
            write_report(&out.join(&v.name), run)?;
            if !quiet {
                let r = &run.results;
                print_stdout(&format!(
                    "{}: test {:.2} %, validation {:.2} %, branching factor {}, {:.1} samples/s\n",
                    v.name,
                    100.0 * r.test_accuracy,
                    100.0 * r.val_accuracy,
                    r.branching_factor
                        .map_or("-".to_string(), |b| format!("{b:.3}")),
                    r.samples_per_s
                ))
                .map_err(|e| astroglia::Error::io(Path::new("<stdout>"), e.to_string()))?;
            }
            Ok(())
        });
        let cmp = naming(&args.experiment, run)?;
        write_comparison(&out, &cmp)?;
        if !quiet {
            print_stdout(&format!("{}\nwrote {}\n", cmp.table(), out.display()))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let run = naming(&args.experiment, run_experiment(&exp, &base, &opts))?;
    write_report(&out, &run)?;
    if !args.quiet {
        let r = &run.results;
        let pct = |x: f64| format!("{:.2} %", 100.0 * x);
        let bf = r
            .branching_factor
            .map_or("-".to_string(), |b| format!("{b:.3}"));
        print_stdout(&format!(
            "{}: {} train / {} validation / {} test samples, {} liquid features\n  \
             liquid readout:       test {}  validation {}  train {}\n  \
             input-counts readout: test {}  validation {}  train {}\n  \
             branching factor {bf}; {:.1} samples/s; wall {:.1} s ({} samples from the cache)\n  \
             wrote {}\n",
            r.name,
            r.n_train,
            r.n_val,
            r.n_test,
            r.n_features,
            pct(r.test_accuracy),
            pct(r.val_accuracy),
            pct(r.train_accuracy),
            pct(r.input_baseline.test_accuracy),
            pct(r.input_baseline.val_accuracy),
            pct(r.input_baseline.train_accuracy),
            r.samples_per_s,
            r.wall_s,
            r.cached_samples,
            out.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Names the experiment `file` in an error of its run that does not already:
/// an error of its model or data then reads as experiment → model → data.
fn naming<T>(file: &Path, r: astroglia::Result<T>) -> anyhow::Result<T> {
    let file = file.display().to_string();
    r.map_err(|e| {
        let named = e.to_string().contains(&file);
        let e = anyhow::Error::new(e);
        if named {
            e
        } else {
            e.context(format!("experiment {file}"))
        }
    })
}

fn fixed_point(args: FixedPointArgs) -> anyhow::Result<ExitCode> {
    use astroglia::experiment::fixed_error::{ErrorOptions, fixed_point_error};
    if let Some(&b) = args.bits.iter().filter(|&&b| b < args.weight_bits).min() {
        return Err(astroglia::Error::setting(
            "--weight-bits",
            format!(
                "--weight-bits {} is more than --bits {b}: a weight must fit in the state",
                args.weight_bits
            ),
        )
        .into());
    }
    let net = Network::from_toml_file(&args.model)?;
    let opts = ErrorOptions {
        state_bits: args.bits,
        base: astroglia::model::FixedPoint {
            weight_bits: args.weight_bits,
            decay_bits: args.decay_bits,
            ..Default::default()
        },
        seeds: args.seeds,
        duration_ms: args.duration_ms,
        backend: args.backend.into(),
    };
    let report = fixed_point_error(&net, &opts)?;
    let name = net.name.as_deref().unwrap_or("model");
    let (out, _claim) = output_dir(args.out, &format!("{name}-fixed-point"))?;
    write_json_atomic(&out.join("fixed_point.json"), &report)?;
    print_stdout(&format!("{}  wrote {}\n", report.table(), out.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn continual(args: ContinualArgs) -> anyhow::Result<ExitCode> {
    use astroglia::experiment::continual::{Continual, run_continual, table, write_report};
    use astroglia::experiment::lsm::RunOptions;
    let mut exp = Continual::load(&args.experiment)?;
    if let Some(seed) = args.seed {
        exp.seed = seed;
    }
    let base = base_of(&args.experiment);
    let (out, _claim) = output_dir(args.out, exp.name.as_deref().unwrap_or("continual"))?;
    let opts = RunOptions {
        data_dir: args.data,
        backend: args.backend.into(),
        adapter: args.adapter,
        threads: threads_or_all(args.threads),
        out: out.clone(),
        progress: !args.quiet,
    };
    let r = naming(&args.experiment, run_continual(&exp, &base, &opts))?;
    write_report(&out, &r)?;
    if !args.quiet {
        print_stdout(&format!(
            "{}  wall {:.1} s; wrote {}\n",
            table(&r),
            r.wall_s,
            out.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    use astroglia::experiment::compare::{load_rules, run_compare, table, write_plots};
    let net = Network::from_toml_file(&args.model)?;
    let rules = load_rules(&args.rules)?;
    let opts = astroglia::experiment::compare::CompareOptions {
        projections: args.projection,
        seed: args.seed,
        duration_ms: args.duration_ms,
        bf_populations: args.bf_population,
        bf_sample_ms: args.bf_sample_ms,
        threads: args.threads,
    };
    let name = net.name.clone().unwrap_or_else(|| "model".into());
    let (out, _claim) = output_dir(args.out, &format!("{name}-compare"))?;
    let duration = opts.duration_ms.unwrap_or(net.duration_ms);
    let steps = (duration / net.dt_ms).round().max(0.0) as u64;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(steps.saturating_mul(rules.len() as u64))
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {msg:<16} {wide_bar} {pos}/{len} steps ({eta})",
        )
        .expect("valid template"),
    );
    let cmp = run_compare(&net, &rules, &opts, |v, done| {
        if done == 0 || done == steps {
            bar.set_message(rules[v].name.clone());
        }
        bar.set_position(v as u64 * steps + done);
    })?;
    bar.finish_and_clear();
    let sources: Vec<String> = net
        .populations
        .iter()
        .filter(|p| p.model.is_source())
        .map(|p| p.name.clone())
        .collect();
    write_json_atomic(&out.join("compare.json"), &cmp)?;
    write_plots(&out, &cmp, &sources)?;
    if !args.quiet {
        print_stdout(&format!(
            "{}: {} variants, seed {}, {} ms, rules on {}\n{}  wrote {}\n",
            cmp.model,
            cmp.variants.len(),
            cmp.seed,
            cmp.duration_ms,
            cmp.projections.join(", "),
            table(&cmp, &sources),
            out.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `weights_<projection>.png`: the monitor's snapshots (if any) and the
/// final weights, binned over the rule's bounds.
fn plot_projection_weights(
    sim: &mut Simulator,
    instance: usize,
    dir: &Path,
    name: &str,
    p: &astroglia::sim::PlasticSummary,
    rec: &astroglia::record::Recording,
) -> anyhow::Result<()> {
    use astroglia::record::WeightTrace;
    let trace = rec.weights.iter().find(|w| w.projection == name);
    let bins = trace.map_or(astroglia::sim::PlasticSummary::HIST_BINS, |t| {
        t.bins as usize
    });
    let mut snaps: Vec<(f64, Vec<u64>)> = trace
        .map(|t| {
            t.steps
                .iter()
                .zip(t.hist.chunks(bins))
                .map(|(&k, h)| (k as f64 * rec.dt_ms, h.to_vec()))
                .collect()
        })
        .unwrap_or_default();
    let w = sim.weights(instance, name)?;
    snaps.push((
        rec.duration_ms,
        WeightTrace::histogram(&w, p.w_min, p.w_max, bins),
    ));
    let file: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    astroglia::record::plot::plot_weights(
        &dir.join(format!("weights_{file}.png")),
        name,
        p.w_min,
        p.w_max,
        &snaps,
    )?;
    Ok(())
}

fn run_model(args: RunArgs) -> anyhow::Result<ExitCode> {
    let wall = Instant::now();
    let mut net = Network::from_toml_file(&args.model)?;
    if let Some(d) = args.duration_ms {
        net.set_duration_from("--duration-ms", d)?;
    }
    if let Some(bits) = args.fixed_point {
        net.set_fixed_point(Some(astroglia::model::FixedPoint::with_state_bits(bits)));
        net.validate()
            .with_context(|| format!("--fixed-point {bits} on {}", args.model.display()))?;
    }
    let name = net.name.clone().unwrap_or_else(|| "model".into());
    let (out, _claim) = output_dir(args.out.clone(), &name)?;
    let backend = args.backend.into();
    let mut opts = SimOptions::default()
        .seed(args.seed)
        .backend(backend)
        .threads(args.threads.unwrap_or(0))
        .batch(args.batch as usize);
    opts.adapter = args.adapter.clone();
    opts.instance_seeds = args.instance_seeds.clone();
    // Everything recorded is written out: the recording may take half of the
    // memory this process may use.
    let instances = opts.instance_seeds.as_ref().map_or(opts.batch, Vec::len);
    opts = opts.max_recorded_spikes(astroglia::build::memory::limit().map(|(bytes, _)| {
        bytes / 2 / astroglia::sim::RECORDED_SPIKE_BYTES / instances.max(1) as u64
    }));
    let mut sim = Simulator::new(&net, opts)?;
    for w in sim.warnings() {
        eprintln!("warning: {w}");
    }
    let steps = (net.duration_ms / net.dt_ms).round() as u64;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(steps)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} steps ({eta})",
        )
        .expect("valid template"),
    );
    sim.run_steps(steps, |done| bar.set_position(done))
        .map_err(|e| match e {
            full @ astroglia::Error::RecordingFull { .. } => anyhow::Error::new(full).context(
                "the recording may take half of the memory --max-memory allows \
                 (default: what is free)",
            ),
            other => other.into(),
        })?;
    bar.finish_and_clear();

    let mut summary = sim.summary();
    summary.plasticity = sim.plasticity_summary(0)?;
    for b in 0..sim.batch() {
        // A single run writes into DIR; a batch into DIR/instance_<b>.
        let dir = if sim.batch() == 1 {
            out.clone()
        } else {
            out.join(format!("instance_{b}"))
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        let rec = sim.instance_recording(b)?;
        let (seed, sha) = match summary.instances.get(b) {
            Some(i) => (i.seed, i.spikes_sha256.clone()),
            None => (summary.seed, summary.spikes_sha256.clone()),
        };
        if !args.no_hdf5 {
            let attrs = [
                ("model", summary.model.clone()),
                ("backend", summary.backend.clone()),
                ("seed", seed.to_string()),
                ("spikes_sha256", sha),
            ];
            astroglia::record::hdf5::write_hdf5(&dir.join("spikes.h5"), &rec, &attrs)?;
        }
        if !args.no_plot {
            let title = format!(
                "{} — seed {}, {} ms",
                summary.model, seed, summary.duration_ms
            );
            plot_raster(&dir.join("raster.png"), &rec, &title)?;
            for (pname, p) in &summary.plasticity {
                plot_projection_weights(&mut sim, b, &dir, pname, p, &rec)?;
            }
        }
    }
    if let Some(path) = &args.save_connectivity {
        astroglia::record::connectivity::write_connectivity(path, &mut sim, 0)?;
    }
    summary.wall_s = wall.elapsed().as_secs_f64();
    write_json_atomic(&out.join("summary.json"), &summary)?;

    if !args.quiet {
        use std::fmt::Write as _;
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{}: {} steps ({} ms) on {} in {:.3} s (build {:.3} s), {:.3e} synaptic events/s",
            summary.model,
            summary.steps,
            summary.duration_ms,
            summary.device,
            summary.sim_s,
            summary.build_s,
            summary.events_per_s
        );
        for (pname, p) in &summary.populations {
            let cv = p.cv_isi.map_or("-".to_string(), |c| format!("{c:.3}"));
            let _ = writeln!(
                text,
                "  {pname:<12} {:>8} neurons {:>9} spikes {:>8.2} Hz  CV ISI {cv}",
                p.size, p.spikes, p.rate_hz
            );
        }
        for (name, p) in &summary.plasticity {
            let _ = writeln!(
                text,
                "  plasticity {name}: mean w {:.4}, {:.1} % above 90 % of [{}, {}], {:.1} % below 10 %",
                p.mean_w,
                100.0 * p.frac_above_90pct,
                p.w_min,
                p.w_max,
                100.0 * p.frac_below_10pct
            );
        }
        if let Some(bf) = &summary.branching_factor {
            let mean = bf.mean.map_or("-".to_string(), |m| format!("{m:.3}"));
            let _ = writeln!(
                text,
                "  branching factor {mean} (mean of {} samples)",
                bf.per_sample.len()
            );
        }
        let _ = writeln!(text, "  spikes_sha256 {}", summary.spikes_sha256);
        for (b, inst) in summary.instances.iter().enumerate() {
            let spikes: u64 = inst.populations.values().map(|p| p.spikes).sum();
            let _ = writeln!(
                text,
                "  instance {b:<3} seed {:<20} {spikes:>9} spikes  {}",
                inst.seed, inst.spikes_sha256
            );
        }
        let _ = writeln!(text, "  wrote {}", out.display());
        if let Some(path) = &args.save_connectivity {
            let _ = writeln!(text, "  wrote {}", path.display());
        }
        print_stdout(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
