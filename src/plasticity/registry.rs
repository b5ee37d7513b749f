//! The plasticity-rule registry: the one list of built-in rules.
//!
//! A rule is its parameter type implementing [`PlasticityRule`]: its model-file
//! key and table (serde, defaults), validation, weight bounds, the step
//! constants both backends run ([`StdpConsts`], the shared trace kernel with
//! the rule's coefficients and its update hook,
//! [`Third`](super::kernel::Third)) and a `RuleSpec` naming its traces,
//! per-synapse state, the third-factor commands it accepts and whether an
//! astrocyte may modulate it. The `rules!` invocation at the end
//! of this file turns the list into the [`Plasticity`] enum of model files and
//! the Rust API (`plasticity = { stdp = { … } }`) and the [`RuleTable`] of
//! `astroglia compare` rules files and experiment variants; validation, the
//! build, the third-factor checks, trace reading and both backends go through
//! them and name no rule. Adding a rule whose kernel is the trace kernel (with
//! or without an existing hook) is its parameter file and one line here (see
//! ARCHITECTURE.md).
//!
//! ```
//! use astroglia::plasticity::{Plasticity, PlasticityRule, StdpParams};
//! // A rule as a model file gives it...
//! let rule: Plasticity = toml::from_str("stdp = { a_plus = 0.02 }").unwrap();
//! let mut stdp = StdpParams::default();
//! stdp.a_plus = 0.02;
//! assert_eq!(rule, Plasticity::Stdp(stdp));
//! // ...what the registry knows of it...
//! assert_eq!(rule.key(), StdpParams::KEY);
//! assert!(Plasticity::KEYS.contains(&"reward_stdp"));
//! assert!(rule.check().is_empty());
//! assert_eq!(rule.spec().traces, ["r1", "o1"]);
//! // ...and the step constants both backends run.
//! let k = rule.derive(0.1);
//! assert_eq!(k.coef, [-0.0105, 0.0, 0.02, 0.0]);
//! assert_eq!(k.spec.key, "stdp");
//! ```
use super::hlop::HlopParams;
use super::kernel::{AstroCoupling, Command, RuleSpec, StdpConsts};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// A plasticity rule's parameters: the table of its key in a model file.
pub trait PlasticityRule:
    Clone + std::fmt::Debug + PartialEq + Default + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The key naming the rule in a model file (`stdp`).
    const KEY: &'static str;
    /// What the rule declares to validation, the API and the backends.
    const SPEC: &'static RuleSpec;
    /// Invalid parameters as (field, message); empty when valid.
    fn check(&self) -> Vec<(&'static str, String)>;
    /// Weight bounds `(w_min, w_max)`.
    fn bounds(&self) -> (f64, f64);
    /// Step constants for step `dt_ms` (their `spec` is [`Self::SPEC`], their
    /// `third` the rule's update hook).
    fn derive(&self, dt_ms: f64) -> StdpConsts;
    /// The HLOP learner's parameters, for rules with one.
    fn hlop(&self) -> Option<&HlopParams> {
        None
    }
    /// How an astrocyte sets the rule's coefficients (rules whose
    /// `RuleSpec::astrocyte` is true).
    fn astrocyte(&self) -> Option<AstroCoupling> {
        None
    }
}

/// The `none = {}` table of a [`RuleTable`]: static weights.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoRule {}

/// `a, b or c`.
fn or_list(keys: &[&str]) -> String {
    match keys {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The rules, or their one-of list, or the result of a [`RuleTable`] with these
/// candidates (`None`: static weights).
fn one_rule(
    none: bool,
    candidates: Vec<Plasticity>,
) -> std::result::Result<Option<Plasticity>, Vec<(String, String)>> {
    let mut rules: Vec<(&str, Option<Plasticity>)> = vec![];
    if none {
        rules.push(("none", None));
    }
    for p in candidates {
        rules.push((p.key(), Some(p)));
    }
    match rules.len() {
        0 => Err(vec![(
            String::new(),
            format!("needs one rule table: {}", RuleTable::keys()),
        )]),
        1 => {
            let (key, rule) = rules.pop().expect("one rule");
            let problems: Vec<(String, String)> = rule
                .as_ref()
                .map(|r| r.check())
                .unwrap_or_default()
                .into_iter()
                .map(|(field, message)| (format!("{key}.{field}"), message))
                .collect();
            if problems.is_empty() {
                Ok(rule)
            } else {
                Err(problems)
            }
        }
        _ => {
            let keys: Vec<&str> = rules.iter().map(|r| r.0).collect();
            Err(vec![(
                keys[1].to_string(),
                format!(
                    "several rule tables ({}): give exactly one",
                    keys.join(", ")
                ),
            )])
        }
    }
}

/// Generates [`Plasticity`], [`RuleTable`] and the named rule table of rules
/// files from the list of rules (`Variant(Params) = key`; serde's snake_case
/// of `Variant` must be `key`, which a unit test checks).
macro_rules! rules {
    ( $( $(#[$doc:meta])* $var:ident($pty:ty) = $key:ident, )* ) => {
        /// The plasticity rule of a projection (`plasticity = { stdp = { … } }` in
        /// a model file). The shared trace kernel, its timing and step order are
        /// described in src/plasticity/stdp.rs, the registry in
        /// src/plasticity/registry.rs.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        #[non_exhaustive]
        pub enum Plasticity {
            $( $(#[$doc])* $var($pty), )*
        }

        impl Plasticity {
            /// The keys of the registered rules, in registry order.
            pub const KEYS: &'static [&'static str] = &[$( <$pty as PlasticityRule>::KEY, )*];
            /// Every registered rule's declaration, in registry order.
            pub const SPECS: &'static [&'static RuleSpec] = &[$( <$pty as PlasticityRule>::SPEC, )*];

            /// The key naming the rule in a model file.
            pub fn key(&self) -> &'static str {
                self.spec().key
            }

            /// What the rule declares (see [`PlasticityRule::SPEC`]).
            pub fn spec(&self) -> &'static RuleSpec {
                match self {
                    $( Plasticity::$var(_) => <$pty as PlasticityRule>::SPEC, )*
                }
            }

            /// Lists invalid parameters as (field, message).
            pub fn check(&self) -> Vec<(&'static str, String)> {
                match self {
                    $( Plasticity::$var(p) => PlasticityRule::check(p), )*
                }
            }

            /// Step constants for step `dt_ms`.
            pub fn derive(&self, dt_ms: f64) -> StdpConsts {
                match self {
                    $( Plasticity::$var(p) => PlasticityRule::derive(p, dt_ms), )*
                }
            }

            /// Weight bounds `(w_min, w_max)`.
            pub fn bounds(&self) -> (f64, f64) {
                match self {
                    $( Plasticity::$var(p) => PlasticityRule::bounds(p), )*
                }
            }

            /// See [`PlasticityRule::hlop`].
            pub fn hlop(&self) -> Option<&HlopParams> {
                match self {
                    $( Plasticity::$var(p) => PlasticityRule::hlop(p), )*
                }
            }

            /// See [`PlasticityRule::astrocyte`].
            pub fn astrocyte(&self) -> Option<AstroCoupling> {
                match self {
                    $( Plasticity::$var(p) => PlasticityRule::astrocyte(p), )*
                }
            }

            /// A default-parameter rule of every registered kind, in registry order.
            pub fn defaults() -> Vec<Plasticity> {
                vec![$( Plasticity::$var(<$pty>::default()), )*]
            }
        }

        /// One rule as a table with exactly one key: `none = {}` (static
        /// weights) or a registered rule's key (see [`Plasticity`]). Rules files
        /// of `astroglia compare` and experiment variants use it.
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RuleTable {
            /// Static weights.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub none: Option<NoRule>,
            $(
                $(#[$doc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $key: Option<$pty>,
            )*
        }

        impl RuleTable {
            /// The rule (`None`: static weights), or every problem as `(field,
            /// message)` with fields relative to the table (`stdp.a_plus`, or `""`
            /// for the table).
            pub fn rule(&self) -> std::result::Result<Option<Plasticity>, Vec<(String, String)>> {
                let mut candidates = vec![];
                $( if let Some(p) = &self.$key { candidates.push(Plasticity::$var(p.clone())); } )*
                one_rule(self.none.is_some(), candidates)
            }

            /// The table of `rule` (`None`: `none = {}`).
            pub fn of(rule: Option<Plasticity>) -> Self {
                let mut t = RuleTable::default();
                match rule {
                    None => t.none = Some(NoRule {}),
                    $( Some(Plasticity::$var(p)) => t.$key = Some(p), )*
                }
                t
            }
        }

        /// An entry of a rules file: a name and a [`RuleTable`]'s keys.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct NamedRuleTable {
            pub(crate) name: String,
            #[serde(default)]
            none: Option<NoRule>,
            $(
                #[serde(default)]
                $key: Option<$pty>,
            )*
        }

        impl NamedRuleTable {
            /// The rule table without the name.
            pub(crate) fn table(self) -> RuleTable {
                RuleTable {
                    none: self.none,
                    $( $key: self.$key, )*
                }
            }
        }
    };
}

impl RuleTable {
    /// The keys a rule table takes, for messages: `none, stdp, ... or delta`.
    pub fn keys() -> String {
        let mut keys = vec!["none"];
        keys.extend_from_slice(Plasticity::KEYS);
        or_list(&keys)
    }
}

impl Plasticity {
    /// `stdp or triplet`: the rules that accept commands of kind `c`.
    pub fn accepting(c: Command) -> String {
        let keys: Vec<&str> = Plasticity::SPECS
            .iter()
            .filter(|s| s.accepts(c))
            .map(|s| s.key)
            .collect();
        or_list(&keys)
    }

    /// `nalsm`: the rules an astrocyte may modulate.
    pub fn astrocyte_keys() -> String {
        let keys: Vec<&str> = Plasticity::SPECS
            .iter()
            .filter(|s| s.astrocyte)
            .map(|s| s.key)
            .collect();
        or_list(&keys)
    }
}

use super::stdp::{NalsmParams, StdpParams, TripletParams};
use super::three_factor::{DeltaParams, RewardStdpParams};
use super::user::UserRule;

rules! {
    /// Pair-based STDP.
    Stdp(StdpParams) = stdp,
    /// Triplet STDP.
    Triplet(TripletParams) = triplet,
    /// NALSM's STDP (depression rate settable by an astrocyte).
    Nalsm(NalsmParams) = nalsm,
    /// Reward-modulated STDP (eligibility trace × modulator).
    RewardStdp(RewardStdpParams) = reward_stdp,
    /// Error-driven delta rule (error × presynaptic trace), optionally with HLOP.
    Delta(DeltaParams) = delta,
    /// A user-written rule (`[[synapse_models]]`).
    User(UserRule) = user,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plasticity::kernel::Third;

    #[test]
    fn keys_enum_and_rule_table_agree() {
        let defaults = Plasticity::defaults();
        assert_eq!(defaults.len(), Plasticity::KEYS.len());
        for (p, (key, spec)) in defaults
            .iter()
            .zip(Plasticity::KEYS.iter().zip(Plasticity::SPECS))
        {
            assert_eq!(p.key(), *key);
            assert_eq!(spec.key, *key);
            // The serde name of the variant is the key, in a model file and a table.
            let v = toml::Value::try_from(p).unwrap();
            assert_eq!(v.as_table().unwrap().keys().collect::<Vec<_>>(), [key]);
            if *key == "user" {
                // A user rule names its model; it has no default table.
                assert!(toml::from_str::<Plasticity>("user = {}").is_err());
                continue;
            }
            let text = format!("{key} = {{}}");
            let parsed: Plasticity = toml::from_str(&text).unwrap();
            assert_eq!(&parsed, p, "{key}");
            let table: RuleTable = toml::from_str(&text).unwrap();
            assert_eq!(table.rule().unwrap().as_ref(), Some(p), "{key}");
            assert_eq!(RuleTable::of(Some(p.clone())), table);
            assert!(p.check().is_empty(), "{key}");
            let k = p.derive(0.1);
            assert_eq!(k.spec, *spec, "{key}");
            assert_eq!(
                spec.synapse_state.contains(&"elig"),
                matches!(k.third, Third::Reward { .. }),
                "{key}"
            );
            assert_eq!(spec.astrocyte, p.astrocyte().is_some(), "{key}");
            assert_eq!(
                spec.accepts(Command::Hlop),
                matches!(k.third, Third::Delta { .. }),
                "{key}"
            );
        }
        let none: RuleTable = toml::from_str("none = {}").unwrap();
        assert_eq!(none.rule().unwrap(), None);
        assert_eq!(
            RuleTable::keys(),
            "none, stdp, triplet, nalsm, reward_stdp, delta or user"
        );
        assert_eq!(
            Plasticity::accepting(Command::Modulator),
            "reward_stdp or user"
        );
        assert_eq!(Plasticity::accepting(Command::Error), "delta or user");
        assert_eq!(Plasticity::astrocyte_keys(), "nalsm");
    }

    #[test]
    fn an_unknown_rule_key_lists_the_registered_keys() {
        let e = toml::from_str::<Plasticity>("hebb = {}")
            .unwrap_err()
            .to_string();
        let e2 = toml::from_str::<RuleTable>("hebb = {}")
            .unwrap_err()
            .to_string();
        for key in Plasticity::KEYS {
            assert!(e.contains(&format!("`{key}`")), "{e}");
            assert!(e2.contains(&format!("`{key}`")), "{e2}");
        }
        assert!(e2.contains("`none`"), "{e2}");
    }

    #[test]
    fn every_declared_trace_is_readable_on_the_cpu() {
        for p in Plasticity::defaults()
            .into_iter()
            .filter(|p| p.key() != "user")
        {
            let rule = format!("{} = {{}}", p.key());
            let text = format!(
                "dt_ms = 0.1\n\
                 [[populations]]\nname = \"in\"\nsize = 5\npoisson = {{ rate_hz = 200.0 }}\n\
                 [[populations]]\nname = \"out\"\nsize = 3\nlif = {{}}\n\
                 [[projections]]\nname = \"p\"\nfrom = \"in\"\nto = \"out\"\n\
                 connect = {{ all_to_all = {{}} }}\nweight = 0.5\nplasticity = {{ {rule} }}\n"
            );
            let net = crate::model::parse_toml(&text, "t.toml").expect(&text);
            let mut sim = crate::Simulator::new(&net, Default::default()).expect(&text);
            sim.run_ms(5.0).expect(&text);
            let spec = p.spec();
            let k = p.derive(0.1);
            for var in spec.traces {
                let triplet_only = var.ends_with('2');
                match sim.trace(0, "p", var) {
                    Ok(t) => {
                        let n = if var.starts_with('r') { 5 } else { 3 };
                        assert_eq!(t.len(), n, "{} {var}", p.key());
                    }
                    Err(e) => assert!(triplet_only && !k.triplet, "{} {var}: {e}", p.key()),
                }
            }
            for var in spec.synapse_state.iter().filter(|v| **v != "w") {
                assert_eq!(sim.trace(0, "p", var).unwrap().len(), 15, "{var}");
            }
            for var in ["r1", "r2", "o1", "o2", "elig", "x"] {
                let declared = spec.traces.contains(&var) || spec.synapse_state.contains(&var);
                if !declared {
                    let e = sim.trace(0, "p", var).unwrap_err();
                    assert!(
                        matches!(&e, crate::Error::Unknown { kind: "plasticity trace", name, .. }
                            if name == var),
                        "{e:?}"
                    );
                }
            }
        }
    }
}
