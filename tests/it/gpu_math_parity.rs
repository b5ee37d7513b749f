//! The equation math library (src/equations/math.rs) and its WGSL twin
//! (shaders/lib/math.wgsl) give the same bits: every function applied to
//! 2^20 inputs on the GPU and on the CPU. Inputs mix special values (±0, ±inf,
//! NaNs, subnormals, f32::MAX), random bit patterns, and the documented ranges.
//!
//! Skipped without a GPU adapter unless `ASTROGLIA_REQUIRE_GPU` is set; on a
//! device not declared bit-exact (see `gpu_parity::exact`) nothing is compared.
use super::gpu_parity::{exact, gpu};
use astroglia::backend::gpu::spirv::exact_spirv;
use astroglia::equations::math::{self, MATH_WGSL};

const N: usize = 1 << 20;

/// The functions, in the order the shader writes them.
type F = fn(f32, f32, f32) -> f32;
const FUNCS: [(&str, F); 13] = [
    ("exp", |x, _, _| math::exp(x)),
    ("log", |x, _, _| math::log(x)),
    ("pow", |x, y, _| math::pow(x, y)),
    ("tanh", |x, _, _| math::tanh(x)),
    ("sin", |x, _, _| math::sin(x)),
    ("cos", |x, _, _| math::cos(x)),
    ("sqrt", |x, _, _| math::sqrt(x)),
    ("div", |x, y, _| math::div(x, y)),
    ("floor", |x, _, _| math::floor(x)),
    ("abs", |x, _, _| math::abs(x)),
    ("min", |x, y, _| math::min(x, y)),
    ("max", |x, y, _| math::max(x, y)),
    ("clip", |x, y, z| math::clip(x, y, z)),
];

const ENTRY: &str = "
@group(0) @binding(0) var<storage, read> inputs: array<u32>;
@group(0) @binding(1) var<storage, read_write> outputs: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    let i = g.x;
    if (i >= arrayLength(&inputs) / 3u) {
        return;
    }
    let x = bitcast<f32>(inputs[3u * i]);
    let y = bitcast<f32>(inputs[3u * i + 1u]);
    let z = bitcast<f32>(inputs[3u * i + 2u]);
    var r = array<f32, 13>(m_exp(x), m_log(x), m_pow(x, y), m_tanh(x), m_sin(x), m_cos(x),
        m_sqrt(x), m_div(x, y), m_floor(x), m_abs(x), m_min(x, y), m_max(x, y), m_clip(x, y, z));
    for (var k = 0u; k < 13u; k++) {
        outputs[13u * i + k] = bitcast<u32>(r[k]);
    }
}
";

fn shader() -> String {
    format!("{MATH_WGSL}{ENTRY}")
}

/// A deterministic stream of u32 (SplitMix64).
fn rng(seed: u64) -> impl FnMut() -> u32 {
    let mut s = seed;
    move || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

/// (x, y, z) triples: every pair of special values, then random draws from the
/// functions' ranges and from all bit patterns.
fn inputs() -> Vec<[f32; 3]> {
    let special: Vec<f32> = [
        0x0000_0000u32,
        0x8000_0000,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0000,
        0xffc0_0000,
        0x7f80_0001,
        0x7fc1_2345,
        0x0000_0001,
        0x8000_0001,
        0x007f_ffff,
        0x0080_0000,
        0x7f7f_ffff,
        0xff7f_ffff,
    ]
    .into_iter()
    .map(f32::from_bits)
    .chain([
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
        3.0,
        -3.0,
        0.625,
        9.1,
        88.72,
        88.73,
        -103.97,
        -104.0,
        1e4,
        -1e4,
        std::f32::consts::FRAC_PI_2,
        std::f32::consts::PI,
        16_777_216.0,
        1e30,
        -1e30,
    ])
    .collect();
    let mut v = vec![];
    for &a in &special {
        for &b in &special {
            v.push([a, b, -b]);
        }
    }
    let mut next = rng(7);
    let u = |r: u32| r as f32 / 4_294_967_296.0;
    while v.len() < N {
        let (r0, r1, r2, r3) = (next(), next(), next(), next());
        let x = match r0 % 6 {
            0 => f32::from_bits(r1),
            1 => -1e4 + 2e4 * u(r1),
            2 => -110.0 + 200.0 * u(r1),
            3 => -12.0 + 24.0 * u(r1),
            4 => 2f32.powf(-149.0 + 277.0 * u(r1)),
            _ => -(((r1 % 64) as f32) - 32.0),
        };
        let y = match r2 % 4 {
            0 => f32::from_bits(r3),
            1 => -8.0 + 16.0 * u(r3),
            2 => ((r3 % 33) as f32) - 16.0,
            _ => 2f32.powf(-60.0 + 120.0 * u(r3)),
        };
        v.push([x, y, y + (r3 % 7) as f32]);
    }
    v
}

#[test]
fn math_wgsl_compiles_to_exact_spirv() {
    exact_spirv("math.wgsl", &shader()).unwrap();
}

#[test]
fn gpu_math_matches_cpu_bit_for_bit() {
    let Some(ctx) = gpu() else { return };
    if !exact(&ctx) {
        eprintln!("device not bit-exact: math results not compared");
        return;
    }
    let ins = inputs();
    let words: Vec<u32> = ins.iter().flatten().map(|x| x.to_bits()).collect();
    let got = run(&ctx, &words);
    let mut bad = vec![0usize; FUNCS.len()];
    let mut first = vec![None; FUNCS.len()];
    for (i, &[x, y, z]) in ins.iter().enumerate() {
        for (k, (_, f)) in FUNCS.iter().enumerate() {
            let want = f(x, y, z).to_bits();
            if got[13 * i + k] != want {
                bad[k] += 1;
                first[k].get_or_insert((x, y, z, got[13 * i + k], want));
            }
        }
    }
    eprintln!(
        "{} inputs x {} functions compared on {}",
        ins.len(),
        FUNCS.len(),
        ctx.device_name()
    );
    let report: Vec<String> = FUNCS
        .iter()
        .zip(&bad)
        .zip(&first)
        .filter(|((_, n), _)| **n > 0)
        .map(|(((name, _), n), f)| format!("{name}: {n} differ, first {f:x?}"))
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// Runs the shader over `words` (3 per input); the 13 results per input as bits.
fn run(ctx: &astroglia::backend::gpu::GpuContext, words: &[u32]) -> Vec<u32> {
    use wgpu::util::DeviceExt;
    let dev = &ctx.device;
    let n = words.len() / 3;
    let out_bytes = (13 * n * 4) as u64;
    let (pipeline, layout) = ctx
        .scoped("math shader", || {
            let module = ctx
                .shader("math_parity.wgsl", &shader(), &["main"])
                .unwrap();
            let entry = |binding, read_only| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            };
            let layout = dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("math"),
                entries: &[entry(0, true), entry(1, false)],
            });
            let pl = dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("math"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("math"),
                layout: Some(&pl),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
            (pipeline, layout)
        })
        .unwrap();
    let input = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("math in"),
        contents: bytemuck::cast_slice(words),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let output = dev.create_buffer(&wgpu::BufferDescriptor {
        label: Some("math out"),
        size: out_bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let staging = dev.create_buffer(&wgpu::BufferDescriptor {
        label: Some("math staging"),
        size: out_bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let bind = dev.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("math"),
        layout: &layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: input.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: output.as_entire_binding(),
            },
        ],
    });
    let mut enc = dev.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(n.div_ceil(64) as u32, 1, 1);
    }
    enc.copy_buffer_to_buffer(&output, 0, &staging, 0, out_bytes);
    ctx.queue.submit([enc.finish()]);
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    ctx.wait().unwrap();
    let view = staging.get_mapped_range(..).expect("mapped");
    bytemuck::cast_slice(&view).to_vec()
}
