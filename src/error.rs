//! The library's error type: every failure names the input it came from.
use std::fmt;
use std::path::PathBuf;

/// One problem found in a model description, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIssue {
    /// 1-based line in the model file, when the description came from a file.
    pub line: Option<usize>,
    /// 1-based column in that line, where the problem is inside a string
    /// (an equation of a user model).
    pub column: Option<usize>,
    /// Dotted path of the offending field, e.g. `populations[1].size`.
    pub field: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ModelIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(col)) => {
                write!(
                    f,
                    "line {line}, column {col}: {}: {}",
                    self.field, self.message
                )
            }
            (Some(line), None) => write!(f, "line {line}: {}: {}", self.field, self.message),
            _ => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Errors returned by astroglia.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model description is invalid; every problem found is listed.
    #[error("{source_name}: invalid model: {}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Model {
        /// The file (or `<builder>` for models built in code).
        source_name: String,
        /// Every problem found, in file order.
        issues: Vec<ModelIssue>,
    },
    /// A rules file (`astroglia compare --rules`) is invalid; every problem found is
    /// listed, located like [`Error::Model`]'s.
    #[error("{source_name}: invalid rules file: {}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Rules {
        /// The file.
        source_name: String,
        /// Every problem found, in file order.
        issues: Vec<ModelIssue>,
    },
    /// An experiment file is invalid; every problem found is listed, located like
    /// [`Error::Model`]'s.
    #[error("{source_name}: invalid experiment: {}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Experiment {
        /// The file.
        source_name: String,
        /// Every problem found, in file order.
        issues: Vec<ModelIssue>,
    },
    /// A setting of a run (a command-line option, an experiment, variant or
    /// data setting) does not fit the model, the data or another setting.
    #[error("{message}")]
    Setting {
        /// The setting, e.g. `--projection`, `data.path`, `variants`.
        setting: String,
        /// What was wrong and what was expected (naming the setting).
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
        /// The operating system's error, where there was one.
        #[source]
        source: Option<std::io::Error>,
    },
    /// A data file (dataset, recording, image set) is missing, unreadable or malformed.
    /// Displayed as `{path}: byte {offset}: {message}` where the offset is known.
    #[error("{}: {}{message}", path.display(), offset.map(|o| format!("byte {o}: ")).unwrap_or_default())]
    Data {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// Where in the file the problem lies, in bytes from its start (in the
        /// decompressed data for a gzipped file), where that is known: a
        /// truncated or malformed N-MNIST record, an IDX header or body.
        offset: Option<u64>,
        /// What is wrong with it, naming the dataset, record or line where known.
        message: String,
    },
    /// The input asks for more than this machine can give (memory, above all)
    /// or than astroglia can index (more than 2^32 neurons, steps past 2^32);
    /// the message names the part to blame and the estimate.
    #[error("{0}")]
    Resources(String),
    /// A NIR graph cannot be imported or a model cannot be exported to NIR: the
    /// message names the NIR node (or the population, projection) and parameter.
    #[error("{0}")]
    Nir(String),
    /// A state variable became NaN or infinite.
    #[error("numerical blow-up: population '{population}' has a non-finite {var} at step {step}")]
    NonFinite {
        /// Population holding the neuron.
        population: String,
        /// State variable name.
        var: String,
        /// Step at which it was detected.
        step: u64,
    },
    /// The GPU backend failed: no adapter, a device limit, a wgpu validation error,
    /// device loss, or a spike buffer overflow.
    #[error("GPU: {0}")]
    Gpu(String),
    /// A name the network does not have (a population, projection,
    /// astrocyte or snapshot asked for by the API, a state variable a
    /// population lacks, a plasticity trace a rule does not keep).
    #[error("no {kind} named '{name}'{}", if known.is_empty() { String::new() } else { format!(" (known: {})", known.join(", ")) })]
    Unknown {
        /// What was looked for: `population`, `projection`, `astrocyte`,
        /// `snapshot`, `state variable`, `plasticity trace`.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names there are (empty where listing them would not help).
        known: Vec<String>,
    },
    /// An argument to the API is wrong in a way [`Error::Length`] and
    /// [`Error::Range`] do not cover (spike-source ids and their order, an
    /// encoding or analysis parameter, an HLOP argument), or a `seeds` list
    /// that is empty.
    #[error("{what}: {message}")]
    Argument {
        /// The argument, e.g. `spike source 'input': ids`.
        what: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// An array given to the API has the wrong length (a rate vector that
    /// is neither one rate nor one per neuron, ...).
    #[error("{what}: {got} values, expected {expected}")]
    Length {
        /// The argument, e.g. `Poisson rates of 'input'`.
        what: String,
        /// The lengths that would do.
        expected: String,
        /// The length given.
        got: usize,
    },
    /// A value given to the API is outside its range (a negative rate, ...).
    #[error("{what}: {value} is out of range, expected {expected}")]
    Range {
        /// The argument, e.g. `Poisson rates of 'input'`.
        what: String,
        /// The first value out of range.
        value: f64,
        /// The range.
        expected: String,
    },
    /// An index given to the [`Backend`](crate::backend::Backend) API (or an
    /// instance given to the [`Simulator`](crate::sim::Simulator)) names
    /// nothing: a population, projection, astrocyte, input or instance
    /// index at or past the number there are.
    #[error("no {kind} with index {index} ({count} in all)")]
    NoIndex {
        /// What was looked for: `population`, `projection`, `astrocyte`,
        /// `input`, `instance`.
        kind: &'static str,
        /// The index given.
        index: usize,
        /// How many there are (valid indices are `0..count`).
        count: usize,
    },
    /// The thing named exists but is of the wrong kind for the call: setting
    /// the spikes of a population that is not a spike source, the rates of
    /// one that is not a Poisson source, the weights of a projection that is
    /// not plastic, an HLOP command to a projection without an HLOP learner,
    /// a current level for an input that is not a current input.
    #[error("{what} is not {expected}")]
    WrongKind {
        /// The thing, e.g. `population 'exc'`, `projection 'e->e'`, `input 3`.
        what: String,
        /// What the call needs it to be, e.g. `a spike source`, `plastic`.
        expected: String,
    },
    /// Things that must belong together do not: a snapshot restored into
    /// another network or taken by another backend, the instances of a batch
    /// that do not share their connectivity (or, on the GPU, differ in
    /// something the device shares), [`Built::instance`](crate::build::Built::instance)
    /// given another network, a backend whose batch is not the number of
    /// seeds.
    #[error("{message}")]
    Incompatible {
        /// What does not fit: `snapshot`, `batch`, `network`, `seeds`.
        what: &'static str,
        /// What differs, and what would fit.
        message: String,
    },
    /// The backend cannot do what was asked (a [`Backend`](crate::backend::Backend)
    /// method it does not implement: reset, snapshot, setting spikes or rates,
    /// reading an HLOP subspace, ...).
    #[error("the {backend} backend cannot {what}")]
    Unsupported {
        /// The backend's [`name`](crate::backend::Backend::name).
        backend: &'static str,
        /// What it cannot do, e.g. `reset instance 0 between samples yet`.
        what: String,
    },
    /// The call needs a cargo feature this build of astroglia was compiled
    /// without (`gpu`, `hdf5`, `plot`; see docs/features.md).
    #[error("{what} needs astroglia built with the `{feature}` feature")]
    MissingFeature {
        /// The cargo feature.
        feature: &'static str,
        /// What was asked for, e.g. `the GPU backend`.
        what: String,
    },
    /// A readout got inconsistent data or settings: mismatched lengths, labels out
    /// of range, non-finite features, a singular system, a diverging optimiser.
    #[error("readout: {0}")]
    Readout(String),
    /// A run's recording grew past [`crate::SimOptions::max_recorded_spikes`].
    /// The run stopped after the chunk that crossed the bound, at `step`,
    /// with every spike kept: drain them ([`crate::Simulator::drain_spikes`])
    /// and run on, record fewer neurons (a spikes monitor), or raise the bound.
    #[error(
        "instance {instance} has recorded {spikes} spikes, more than the bound of {limit} \
         (SimOptions::max_recorded_spikes); the run stopped at step {step}: drain the \
         spikes between runs, record fewer neurons with a spikes monitor, or raise the bound"
    )]
    RecordingFull {
        /// The instance whose recording is full.
        instance: usize,
        /// Spikes it holds.
        spikes: u64,
        /// The bound.
        limit: u64,
        /// The step the run stopped at (the next to run).
        step: u64,
    },
}

impl Error {
    /// Wraps an I/O failure with the path it concerns; a
    /// [`std::io::Error`] stays reachable as the error's source.
    pub fn io(path: impl Into<PathBuf>, err: impl IoCause) -> Self {
        let (message, source) = err.into_cause();
        Error::Io {
            path: path.into(),
            message,
            source,
        }
    }
}

impl Error {
    /// A [`Error::MissingFeature`]: `what` needs `feature`.
    pub fn missing_feature(feature: &'static str, what: impl Into<String>) -> Self {
        Error::MissingFeature {
            feature,
            what: what.into(),
        }
    }

    /// A [`Error::Setting`] problem with `setting`.
    pub fn setting(setting: &str, message: String) -> Self {
        Error::Setting {
            setting: setting.into(),
            message,
        }
    }

    /// A [`Error::Data`] problem with `path`, at no particular byte.
    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            offset: None,
            message: message.into(),
        }
    }

    /// A [`Error::Data`] problem with `path` at byte `offset` of it.
    ///
    /// ```
    /// let e = astroglia::Error::data_at("a.bin", 15, "truncated record");
    /// assert_eq!(e.to_string(), "a.bin: byte 15: truncated record");
    /// assert!(matches!(e, astroglia::Error::Data { offset: Some(15), .. }));
    /// ```
    pub fn data_at(path: impl Into<PathBuf>, offset: u64, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            offset: Some(offset),
            message: message.into(),
        }
    }

    /// A [`Error::NoIndex`]: no `kind` with `index` among `count`.
    pub fn no_index(kind: &'static str, index: usize, count: usize) -> Self {
        Error::NoIndex { kind, index, count }
    }

    /// A [`Error::WrongKind`]: `what` is not `expected`.
    pub fn wrong_kind(what: impl Into<String>, expected: impl Into<String>) -> Self {
        Error::WrongKind {
            what: what.into(),
            expected: expected.into(),
        }
    }

    /// An [`Error::Incompatible`] `what`.
    pub fn incompatible(what: &'static str, message: impl Into<String>) -> Self {
        Error::Incompatible {
            what,
            message: message.into(),
        }
    }

    /// An [`Error::Argument`]: `what` is wrong as `message` says.
    pub fn argument(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Argument {
            what: what.into(),
            message: message.into(),
        }
    }

    /// An [`Error::Model`] with one unlocated issue at `field` of the model
    /// `source_name`: for problems found while building a model that passed
    /// validation (a fixed-point ring that could overflow, ...).
    pub fn model_issue(
        source_name: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Model {
            source_name: source_name.into(),
            issues: vec![ModelIssue {
                line: None,
                column: None,
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

/// What [`Error::io`] takes: an operating-system error (kept as the
/// source) or a message.
pub trait IoCause {
    /// The message and, for an operating-system error, the error.
    fn into_cause(self) -> (String, Option<std::io::Error>);
}

impl IoCause for std::io::Error {
    fn into_cause(self) -> (String, Option<std::io::Error>) {
        (self.to_string(), Some(self))
    }
}

impl IoCause for String {
    fn into_cause(self) -> (String, Option<std::io::Error>) {
        (self, None)
    }
}

impl IoCause for &str {
    fn into_cause(self) -> (String, Option<std::io::Error>) {
        (self.to_string(), None)
    }
}

#[cfg(feature = "hdf5")]
impl IoCause for ::hdf5::Error {
    fn into_cause(self) -> (String, Option<std::io::Error>) {
        (self.to_string(), None)
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
