//! Plasticity rules: trace-based STDP (pair, triplet, NALSM) and three-factor
//! rules (reward-modulated STDP, the delta rule), registered in [`registry`]
//! with the per-synapse arithmetic both backends share in `kernel`, and the
//! Hebbian orthogonal projection (HLOP) subspace learner.
pub mod astrocyte;
pub mod hlop;
pub(crate) mod kernel;
pub mod registry;
pub mod stdp;
pub mod three_factor;
pub mod user;

pub use registry::{Plasticity, PlasticityRule, RuleTable};
pub use stdp::{NalsmParams, Pairing, Presynaptic, StdpParams, TripletParams, WeightDependence};
pub use three_factor::{DeltaParams, RewardStdpParams};
pub use user::{BuiltUserRule, UserRule};
