//! Plasticity rules: trace-based STDP (pair, triplet, NALSM) and three-factor
//! rules (reward-modulated STDP, the delta rule), registered in the rule registry
//! with the per-synapse arithmetic both backends share in `kernel`, and the
//! Hebbian orthogonal projection (HLOP) subspace learner.
pub(crate) mod astrocyte;
pub(crate) mod hlop;
pub(crate) mod kernel;
pub(crate) mod registry;
pub(crate) mod stdp;
pub(crate) mod three_factor;
pub(crate) mod user;

pub use astrocyte::Astrocyte;
pub use hlop::{HlopParams, SpikingLateral};
pub use registry::{Plasticity, PlasticityRule, RuleTable};
pub use stdp::{NalsmParams, Pairing, Presynaptic, StdpParams, TripletParams, WeightDependence};
pub use three_factor::{DeltaParams, RewardStdpParams};
pub(crate) use user::BuiltUserRule;
pub use user::UserRule;
