//! WGSL sources of the GPU phases (`shaders/*.wgsl`, each preceded by the shared
//! declarations of `shaders/lib/` it uses) and the `#[repr(C)]` parameter blocks
//! that mirror their WGSL structs field for field.
use bytemuck::{Pod, Zeroable};

/// Noise and constant currents (CPU `apply_inputs`).
pub const INPUTS_NOISE: &str = wgsl!("lib/step.wgsl", "lib/philox.wgsl", "inputs_noise.wgsl");
/// Poisson sources (src/rng.rs `PoissonSampler`, `BernoulliEach`).
pub const INPUTS_POISSON: &str = wgsl!("lib/step.wgsl", "lib/philox.wgsl", "inputs_poisson.wgsl");
/// Poisson drives into the delay rings (src/rng.rs `add_binomial_drive`).
pub const INPUTS_DRIVE: &str = wgsl!("lib/step.wgsl", "lib/philox.wgsl", "inputs_drive.wgsl");
/// Spike-source populations.
pub const INPUTS_SOURCE: &str = wgsl!("lib/step.wgsl", "inputs_source.wgsl");
/// Event-driven propagation into the delay rings.
pub const PROPAGATE: &str = wgsl!("lib/step.wgsl", "propagate.wgsl");
/// Trace-based STDP (src/backend/cpu/plasticity.rs, src/plasticity/stdp.rs).
pub const PLASTICITY: &str = wgsl!("lib/step.wgsl", "lib/plastic.wgsl", "plasticity.wgsl");
/// Three-factor weight updates and the HLOP projection
/// (src/plasticity/three_factor.rs, src/plasticity/hlop.rs).
pub const THREE_FACTOR: &str = wgsl!("lib/step.wgsl", "lib/plastic.wgsl", "three_factor.wgsl");
/// Astrocytes (src/plasticity/astrocyte.rs).
pub const ASTROCYTE: &str = wgsl!("lib/step.wgsl", "astrocyte.wgsl");

/// Every shader with its file name: the neuron models' (from the registry,
/// `crate::neuron::registry::SHADERS`) and the phases' own.
#[cfg(test)]
pub fn all() -> Vec<(&'static str, &'static str)> {
    // Generated shaders (user models) have no fixed source.
    let mut all: Vec<_> = crate::neuron::registry::SHADERS
        .iter()
        .copied()
        .filter(|(_, src)| !src.is_empty())
        .collect();
    all.extend(PHASES);
    all
}

/// The shaders of the phases other than the neuron update, with their file names.
#[cfg(test)]
const PHASES: [(&str, &str); 8] = [
    ("inputs_noise.wgsl", INPUTS_NOISE),
    ("inputs_poisson.wgsl", INPUTS_POISSON),
    ("inputs_source.wgsl", INPUTS_SOURCE),
    ("inputs_drive.wgsl", INPUTS_DRIVE),
    ("propagate.wgsl", PROPAGATE),
    ("plasticity.wgsl", PLASTICITY),
    ("three_factor.wgsl", THREE_FACTOR),
    ("astrocyte.wgsl", ASTROCYTE),
];

/// `Step` of every shader: the step being run (one slot per step of a submission,
/// selected by a dynamic offset) and the batch geometry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct StepParams {
    /// Step index.
    pub step: u32,
    /// Neurons of one instance: record entries of instance b carry id + b × n_total.
    pub n_total: u32,
    /// Ring entries of one instance: instance b's rings start at b × ring_stride.
    pub ring_stride: u32,
    /// Populations: instance b's non-finite flags are ctl[4 + b × n_pops + pop].
    pub n_pops: u32,
}

/// `Params` of inputs_noise.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct NoiseParams {
    pub n: u32,
    pub first_term: u32,
    pub n_terms: u32,
    pub stride: u32,
}

/// `Term` of inputs_noise.wgsl: one current input of a population.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct NoiseTerm {
    pub kind: u32,
    pub mask: u32,
    pub stream: u32,
    pub start: u32,
    pub stop: u32,
    pub a: f32,
    pub b: f32,
    pub _pad: u32,
}

/// `Params` of inputs_poisson.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct PoissonParams {
    pub n: u32,
    pub gid0: u32,
    pub len: u32,
    pub thr: u32,
    pub stream: u32,
    pub full_len: u32,
    pub last_len: u32,
    pub inst0: u32,
    pub _pad: [u32; 4],
}

/// `Params` of inputs_drive.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct DriveParams {
    pub n: u32,
    pub ring: u32,
    pub depth: u32,
    pub first_term: u32,
    pub n_terms: u32,
    pub _pad: [u32; 3],
}

/// `Term` of inputs_drive.wgsl: one Poisson drive of a population.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct DriveTerm {
    pub stream: u32,
    pub mask: u32,
    pub receptor: u32,
    pub wfix: i32,
    pub base: u32,
    pub t0: u32,
    pub len: u32,
    pub _pad: u32,
}

/// `Params` of inputs_source.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct SourceParams {
    pub gid0: u32,
    pub range_at: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// `Plastic` of plasticity.wgsl and three_factor.wgsl: the plastic projections
/// and the per-instance strides of their state.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct PlasticParams {
    pub n_rules: u32,
    pub w_stride: u32,
    pub t_stride: u32,
    pub coef_stride: u32,
    pub h_stride: u32,
    pub x_base: u32,
    pub _pad: [u32; 2],
}

/// `Rule` of plasticity.wgsl: one plastic projection's constants and where its
/// arrays lie (see the WGSL struct for each field).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct RuleParams {
    pub pre_gid0: u32,
    pub n_pre: u32,
    pub post_gid0: u32,
    pub n_post: u32,
    pub n_syn: u32,
    pub flags: u32,
    pub w_at: u32,
    pub r_at: u32,
    pub o_at: u32,
    pub syn_at: u32,
    pub row_at: u32,
    pub col_at: u32,
    pub ent_at: u32,
    pub decay_r1: f32,
    pub decay_r2: f32,
    pub decay_o1: f32,
    pub decay_o2: f32,
    pub w_min: f32,
    pub w_max: f32,
    pub inv_range: f32,
    pub e_at: u32,
    pub err_at: u32,
    pub t_end: u32,
    pub coef_at: u32,
    pub dom_at: u32,
    pub decay_e: f32,
    pub lr: f32,
    pub h_at: u32,
    pub y_at: u32,
    pub x_at: u32,
    pub k_cap: u32,
    pub q_scale: f32,
    pub q_levels: f32,
}

/// `RuleParams::flags` bits (the WGSL constants of the same names).
pub const RULE_NEAREST: u32 = 1;
/// Soft bounds.
pub const RULE_MULTIPLICATIVE: u32 = 2;
/// Triplet traces r2, o2 exist.
pub const RULE_TRIPLET: u32 = 4;
/// Reward-modulated STDP: spike phases change the eligibility trace.
pub const RULE_REWARD: u32 = 8;
/// The delta rule.
pub const RULE_DELTA: u32 = 16;
/// The delta rule projects its trace off frozen HLOP rows.
pub const RULE_HLOP: u32 = 32;
/// HLOP's lateral drives are quantised (spiking lateral neurons).
pub const RULE_SPIKING: u32 = 64;
/// A user rule: its generated shader runs it; the shared phases skip it.
pub const RULE_USER: u32 = 128;

/// `Astros` of astrocyte.wgsl: the astrocytes and the per-instance strides of
/// their state, counts and the coefficients they write.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct AstroParams {
    pub n_astro: u32,
    pub state_stride: u32,
    pub count_stride: u32,
    pub coef_stride: u32,
}

/// `Astro` of astrocyte.wgsl: one astrocyte's constants and where its arrays lie
/// (see the WGSL struct for each field).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct AstroRule {
    pub n_dom: u32,
    pub dom0: u32,
    pub state_at: u32,
    pub count_at: u32,
    pub n_liquid: u32,
    pub liquid_at: u32,
    pub n_input: u32,
    pub input_at: u32,
    pub share_at: u32,
    pub n_mod: u32,
    pub mod_at: u32,
    pub rate: f32,
    pub w_a: f32,
    pub b_a: f32,
    pub decay: f32,
    pub _pad: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NeuronModel;

    fn parse(name: &str, src: &str) -> naga::Module {
        naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string_with_path(src, name)))
    }

    #[test]
    fn every_shader_parses_and_validates_with_naga() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".wgsl"))
            .collect();
        on_disk.sort();
        let mut known: Vec<String> = all().iter().map(|(n, _)| n.to_string()).collect();
        known.sort();
        assert_eq!(on_disk, known, "shaders/ and shaders::ALL disagree");
        for (name, src) in all() {
            let module = parse(name, src);
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::default(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
        }
    }

    /// The WGSL struct named `ty` in `src` has the Rust struct's size.
    fn wgsl_size(src: &str, ty: &str) -> u32 {
        let module = parse(ty, src);
        module
            .types
            .iter()
            .find_map(|(_, t)| match (&t.name, &t.inner) {
                (Some(n), naga::TypeInner::Struct { span, .. }) if n == ty => Some(*span),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no struct {ty}"))
    }

    #[test]
    fn parameter_blocks_match_their_wgsl_structs() {
        use std::mem::size_of;
        let size = |t: usize| t as u32;
        for (_, src) in all() {
            assert_eq!(wgsl_size(src, "Step"), size(size_of::<StepParams>()));
        }
        assert_eq!(size_of::<StepParams>(), 16);
        for model in [
            NeuronModel::Lif(Default::default()),
            NeuronModel::LifCond(Default::default()),
            NeuronModel::Izhikevich(Default::default()),
        ] {
            let pop = crate::neuron::registry::test_pop(&model, 2);
            let (name, src) = pop.shader();
            assert_eq!(
                wgsl_size(&src, "Params") as usize,
                pop.gpu_params().len(),
                "{name}"
            );
            assert_eq!(
                wgsl_size(&src, "Pop"),
                size(size_of::<super::super::upload::PopBlock>())
            );
        }
        assert_eq!(
            wgsl_size(INPUTS_NOISE, "Params"),
            size(size_of::<NoiseParams>())
        );
        assert_eq!(
            wgsl_size(INPUTS_NOISE, "Term"),
            size(size_of::<NoiseTerm>())
        );
        assert_eq!(
            wgsl_size(INPUTS_POISSON, "Params"),
            size(size_of::<PoissonParams>())
        );
        assert_eq!(
            wgsl_size(INPUTS_SOURCE, "Params"),
            size(size_of::<SourceParams>())
        );
        assert_eq!(
            wgsl_size(INPUTS_DRIVE, "Params"),
            size(size_of::<DriveParams>())
        );
        assert_eq!(
            wgsl_size(INPUTS_DRIVE, "Term"),
            size(size_of::<DriveTerm>())
        );
        assert_eq!(
            wgsl_size(PLASTICITY, "Plastic"),
            size(size_of::<PlasticParams>())
        );
        assert_eq!(wgsl_size(PLASTICITY, "Rule"), size(size_of::<RuleParams>()));
        assert_eq!(
            wgsl_size(THREE_FACTOR, "Plastic"),
            size(size_of::<PlasticParams>())
        );
        assert_eq!(
            wgsl_size(THREE_FACTOR, "Rule"),
            size(size_of::<RuleParams>())
        );
        assert_eq!(
            wgsl_size(ASTROCYTE, "Astros"),
            size(size_of::<AstroParams>())
        );
        assert_eq!(wgsl_size(ASTROCYTE, "Astro"), size(size_of::<AstroRule>()));
        for t in [
            size_of::<PlasticParams>(),
            size_of::<AstroParams>(),
            size_of::<super::super::upload::PopBlock>(),
            size_of::<NoiseParams>(),
            size_of::<PoissonParams>(),
            size_of::<SourceParams>(),
            size_of::<DriveParams>(),
        ] {
            assert_eq!(t % 16, 0, "uniform blocks are multiples of 16 bytes");
        }
    }

    #[test]
    fn rule_flags_match_the_wgsl_constants() {
        for (name, v) in [
            ("NEAREST", RULE_NEAREST),
            ("MULTIPLICATIVE", RULE_MULTIPLICATIVE),
            ("TRIPLET", RULE_TRIPLET),
            ("REWARD", RULE_REWARD),
            ("DELTA", RULE_DELTA),
            ("HLOP", RULE_HLOP),
            ("SPIKING", RULE_SPIKING),
            ("USER", RULE_USER),
        ] {
            let decl = format!("const {name}: u32 = {v}u;");
            assert!(
                include_str!("../../../shaders/lib/plastic.wgsl").contains(&decl),
                "{decl}"
            );
        }
    }
}
