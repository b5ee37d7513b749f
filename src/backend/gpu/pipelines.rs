//! Pipeline and buffer helpers: bind group layouts, compute pipelines, bind
//! groups, workgroup grids, uniform and storage buffers, and read-back.
use super::{GpuContext, MAX_WG, WG};
use bytemuck::Pod;
use wgpu::util::DeviceExt;

pub(super) fn gpu_err(msg: impl Into<String>) -> crate::Error {
    crate::Error::Gpu(msg.into())
}

/// Binding kinds of an explicit bind group layout.
#[derive(Clone, Copy)]
pub(super) enum B {
    /// Uniform read at a dynamic offset.
    Dyn,
    /// Uniform.
    U,
    /// Read-only storage.
    R,
    /// Read-write storage.
    W,
}

pub(super) fn layout(device: &wgpu::Device, label: &str, kinds: &[B]) -> wgpu::BindGroupLayout {
    let entries: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match k {
                    B::Dyn | B::U => wgpu::BufferBindingType::Uniform,
                    B::R => wgpu::BufferBindingType::Storage { read_only: true },
                    B::W => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: matches!(k, B::Dyn),
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    })
}

/// A compute pipeline and the layouts of its bind groups after group 0 (the step).
pub(super) struct Pipe {
    pub(super) pipeline: wgpu::ComputePipeline,
    pub(super) groups: Vec<wgpu::BindGroupLayout>,
}

pub(super) fn pipe(
    ctx: &GpuContext,
    step: &wgpu::BindGroupLayout,
    name: &str,
    src: &str,
    entry: &str,
    groups: &[&[B]],
) -> crate::Result<Pipe> {
    let device = &ctx.device;
    let module = ctx.shader(name, src, &[entry])?;
    let groups: Vec<_> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| layout(device, &format!("{name} group {}", i + 1), g))
        .collect();
    let mut all = vec![Some(step)];
    all.extend(groups.iter().map(Some));
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(name),
        bind_group_layouts: &all,
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(&pl),
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    Ok(Pipe { pipeline, groups })
}

/// Bind group of `bufs` in binding order.
pub(super) fn bind(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    bufs: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<_> = bufs
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

/// Workgroup grid covering `threads` invocations of `WG` (2-D past 65,535 groups;
/// the shaders linearise `x + y * num_workgroups.x * WG`).
pub(super) fn grid(threads: u32) -> (u32, u32) {
    let groups = threads.div_ceil(WG);
    if groups <= MAX_WG {
        (groups, 1)
    } else {
        (MAX_WG, groups.div_ceil(MAX_WG))
    }
}

pub(super) fn uniform(device: &wgpu::Device, label: &str, data: &[u8]) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: data,
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

pub(super) const STORAGE_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A storage buffer holding `data` (at least 4 bytes: bindings cannot be empty).
pub(super) fn storage(ctx: &GpuContext, label: &str, data: &[u8]) -> crate::Result<wgpu::Buffer> {
    ctx.check_size(label, data.len() as u64)?;
    let contents: &[u8] = if data.is_empty() { &[0; 4] } else { data };
    Ok(ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: STORAGE_USAGE,
        }))
}

/// A zeroed storage buffer of `bytes`.
pub(super) fn storage_sized(
    ctx: &GpuContext,
    label: &str,
    bytes: u64,
) -> crate::Result<wgpu::Buffer> {
    ctx.check_size(label, bytes)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4),
        usage: STORAGE_USAGE,
        mapped_at_creation: false,
    }))
}

/// Copies `bytes` of `buf` from `offset` to the host (waits for the device).
pub(super) fn read_buffer<T: Pod>(
    ctx: &GpuContext,
    buf: &wgpu::Buffer,
    offset: u64,
    bytes: u64,
) -> crate::Result<Vec<T>> {
    let staging = ctx.scoped("reading back", || {
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read back"),
            });
        enc.copy_buffer_to_buffer(buf, offset, &staging, 0, bytes);
        ctx.queue.submit([enc.finish()]);
        staging
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    ctx.wait()?;
    rx.recv()
        .map_err(|_| gpu_err("read-back callback never ran"))?
        .map_err(|e| gpu_err(format!("mapping a read-back buffer: {e}")))?;
    let out = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| gpu_err(format!("mapping a read-back buffer: {e}")))?;
        bytemuck::cast_slice::<u8, T>(&view).to_vec()
    };
    staging.unmap();
    Ok(out)
}
