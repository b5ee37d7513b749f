//! Exact f32 on Vulkan: compiles a WGSL shader with naga (the translator wgpu uses)
//! and marks every float arithmetic instruction `NoContraction`.
//!
//! Without it a Vulkan driver may fuse `a * b + c` and reassociate sums. lavapipe
//! (Mesa's NIR) does both: `(x * s + y * t) + z` in the Izhikevich input sum was
//! compiled as `x * s + (y * t + z)`, one ulp off the CPU, and the network diverged
//! after 10 steps. SPIR-V's `NoContraction` makes NIR treat the instruction as
//! `exact` (no fusion, no reassociation), so the shader evaluates the operations
//! written in the WGSL, in that order, like the Rust kernels.

/// Opcodes whose results get `NoContraction`: OpFNegate, OpFAdd, OpFSub, OpFMul,
/// OpFDiv, OpFRem, OpFMod, OpVectorTimesScalar, OpMatrixTimesScalar,
/// OpVectorTimesMatrix, OpMatrixTimesVector, OpMatrixTimesMatrix, OpDot.
const FLOAT_OPS: [u32; 13] = [
    127, 129, 131, 133, 136, 140, 141, 142, 143, 144, 145, 146, 148,
];
/// Annotation opcodes (OpDecorate .. OpGroupMemberDecorate, OpDecorateId,
/// OpDecorateString, OpMemberDecorateString).
const ANNOTATIONS: [u32; 8] = [71, 72, 73, 74, 75, 332, 5632, 5633];
const OP_DECORATE: u32 = 71;
const NO_CONTRACTION: u32 = 42;

/// WGSL → SPIR-V 1.0 words with bounds checks as wgpu applies them, then
/// [`no_contraction`].
pub fn exact_spirv(name: &str, src: &str) -> Result<Vec<u32>, String> {
    let module =
        naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string_with_path(src, name))?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .map_err(|e| format!("{name}: {}", e.emit_to_string(src)))?;
    let options = naga::back::spv::Options {
        lang_version: (1, 0),
        flags: naga::back::spv::WriterFlags::empty(),
        // Set = @group, binding = @binding: how wgpu lays out Vulkan descriptor sets.
        fake_missing_bindings: true,
        bounds_check_policies: naga::proc::BoundsCheckPolicies {
            index: naga::proc::BoundsCheckPolicy::Restrict,
            buffer: naga::proc::BoundsCheckPolicy::Restrict,
            image_load: naga::proc::BoundsCheckPolicy::Restrict,
            binding_array: naga::proc::BoundsCheckPolicy::Unchecked,
        },
        ..Default::default()
    };
    let words = naga::back::spv::write_vec(&module, &info, &options, None)
        .map_err(|e| format!("{name}: SPIR-V output: {e}"))?;
    no_contraction(&words).ok_or_else(|| format!("{name}: unexpected SPIR-V layout"))
}

/// Adds `OpDecorate %r NoContraction` for the result of every float arithmetic
/// instruction, at the end of the annotation section. None if the module is
/// malformed or has no annotation section to extend.
pub fn no_contraction(words: &[u32]) -> Option<Vec<u32>> {
    const HEADER: usize = 5;
    let mut at = HEADER;
    let mut after_annotations = None;
    let mut targets = vec![];
    while at < words.len() {
        let (len, op) = ((words[at] >> 16) as usize, words[at] & 0xffff);
        if len == 0 || at + len > words.len() {
            return None;
        }
        if ANNOTATIONS.contains(&op) {
            after_annotations = Some(at + len);
        }
        if FLOAT_OPS.contains(&op) && len >= 3 {
            targets.push(words[at + 2]);
        }
        at += len;
    }
    let split = after_annotations?;
    let mut out = Vec::with_capacity(words.len() + 3 * targets.len());
    out.extend_from_slice(&words[..split]);
    for t in targets {
        out.extend([(3 << 16) | OP_DECORATE, t, NO_CONTRACTION]);
    }
    out.extend_from_slice(&words[split..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float_operation_is_marked_no_contraction() {
        for (name, src) in super::super::shaders::all() {
            let words = exact_spirv(name, src).unwrap();
            let mut decorated = std::collections::HashSet::new();
            let mut ops = vec![];
            let mut at = 5;
            while at < words.len() {
                let (len, op) = ((words[at] >> 16) as usize, words[at] & 0xffff);
                if op == OP_DECORATE && words[at + 2] == NO_CONTRACTION {
                    decorated.insert(words[at + 1]);
                }
                if FLOAT_OPS.contains(&op) {
                    ops.push(words[at + 2]);
                }
                at += len;
            }
            assert_eq!(at, words.len(), "{name}: instruction stream");
            assert!(ops.iter().all(|r| decorated.contains(r)), "{name}");
            // Loihi's LIF is integer-only (any device gives Lava's bits); the
            // other neuron shaders compute in f32, so their ops must be found.
            if name == "neuron_loihi_lif.wgsl" {
                assert!(ops.is_empty(), "{name} has no float arithmetic");
            } else if name.starts_with("neuron_") {
                assert!(!ops.is_empty(), "{name} has float arithmetic");
            }
        }
    }
}
