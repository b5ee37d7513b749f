//! The wgpu instance, adapter and device: adapter choice (best by default,
//! `ASTROGLIA_ADAPTER` or an explicit name to override), the adapter's own limits,
//! and the plumbing that turns wgpu errors and device loss into [`crate::Error`].
use std::sync::{Arc, Mutex};

/// Environment variable that picks an adapter by (case-insensitive) name substring.
pub const ADAPTER_ENV: &str = "ASTROGLIA_ADAPTER";
/// Environment variable: `wgsl` hands the WGSL to wgpu as is, without the exact
/// SPIR-V path (for comparing; the driver may then fuse and reassociate).
pub const SHADERS_ENV: &str = "ASTROGLIA_GPU_SHADERS";

/// What to tell a user who has no adapter at all.
const NO_ADAPTER_HINT: &str = "install a Vulkan driver (on Debian/Ubuntu: \
     `apt-get install mesa-vulkan-drivers libvulkan1`, which includes the lavapipe \
     software device) or run with `--backend cpu`";

/// A device, its queue and what we know about it. Built once per backend.
pub struct GpuContext {
    /// The logical device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter description (name, driver, type, backend).
    pub info: wgpu::AdapterInfo,
    /// The limits the device was created with (the adapter's own).
    pub limits: wgpu::Limits,
    /// Shaders go in as SPIR-V with `NoContraction` on float arithmetic (Vulkan
    /// with passthrough shaders), so f32 results follow the written order.
    pub exact: bool,
    /// Errors raised outside any error scope, and device loss, collected here
    /// instead of wgpu's default panic.
    errors: Arc<Mutex<Vec<String>>>,
}

fn gpu_err(msg: impl Into<String>) -> crate::Error {
    crate::Error::Gpu(msg.into())
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    // No validation layers even in debug builds (they may be missing and are very
    // slow), and no indirect-dispatch validation: it costs an extra dispatch per
    // step and `propagate.wgsl` writes in-range arguments by construction (at most
    // 65,535 × ceil(record / 65,535) workgroups). WGPU_* variables still apply.
    desc.flags = wgpu::InstanceFlags::empty().with_env();
    desc.backends = wgpu::Backends::all().with_env();
    wgpu::Instance::new(desc)
}

/// Preference order of device types: discrete, integrated, virtual, CPU, other.
fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// One line per adapter: name, type, backend, driver.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    let driver = [info.driver.as_str(), info.driver_info.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{} ({:?}, {:?}, driver: {})",
        info.name,
        info.device_type,
        info.backend,
        if driver.is_empty() {
            "unknown"
        } else {
            &driver
        }
    )
}

/// Every adapter wgpu can see, best first, one line each: name, device type,
/// backend, driver.
pub fn list_adapters() -> Vec<String> {
    let mut infos: Vec<_> =
        pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(|a| a.get_info())
            .collect();
    infos.sort_by_key(|i| rank(i.device_type));
    infos.iter().map(describe).collect()
}

/// Picks an adapter: by name substring when `wanted` (or `ASTROGLIA_ADAPTER`) is
/// set, else the best device type.
fn choose(instance: &wgpu::Instance, wanted: Option<&str>) -> crate::Result<wgpu::Adapter> {
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        return Err(gpu_err(format!("no GPU adapter found: {NO_ADAPTER_HINT}")));
    }
    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    let env = std::env::var(ADAPTER_ENV).ok().filter(|s| !s.is_empty());
    let wanted = wanted.map(str::to_owned).or(env);
    let Some(name) = wanted else {
        return Ok(adapters.swap_remove(0));
    };
    let needle = name.to_lowercase();
    match adapters
        .iter()
        .position(|a| a.get_info().name.to_lowercase().contains(&needle))
    {
        Some(k) => Ok(adapters.swap_remove(k)),
        None => Err(gpu_err(format!(
            "no GPU adapter matches '{name}' (from --adapter or {ADAPTER_ENV}); available: {}",
            adapters
                .iter()
                .map(|a| describe(&a.get_info()))
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

impl GpuContext {
    /// Opens the chosen adapter's device with the adapter's own limits.
    pub fn new(adapter_name: Option<&str>) -> crate::Result<Self> {
        let instance = instance();
        let adapter = choose(&instance, adapter_name)?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let exact = info.backend == wgpu::Backend::Vulkan
            && adapter
                .features()
                .contains(wgpu::Features::PASSTHROUGH_SHADERS)
            && std::env::var(SHADERS_ENV).map_or(true, |v| v != "wgsl");
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("astroglia"),
            required_features: if exact {
                wgpu::Features::PASSTHROUGH_SHADERS
            } else {
                wgpu::Features::empty()
            },
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| gpu_err(format!("cannot open device on {}: {e}", describe(&info))))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut v) = sink.lock() {
                v.push(format!("device lost ({reason:?}): {msg}"));
            }
        });
        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            exact,
            errors,
        })
    }

    /// Name and driver of the adapter and the shader path, for `summary.json`.
    pub fn device_name(&self) -> String {
        let path = if self.exact {
            "exact f32: SPIR-V NoContraction"
        } else {
            "WGSL: driver may fuse/reassociate f32"
        };
        format!("{} [{path}]", describe(&self.info))
    }

    /// A shader module from WGSL: through [`super::spirv::exact_spirv`] when
    /// `exact`, else as WGSL. Call inside [`Self::scoped`].
    pub fn shader(
        &self,
        name: &str,
        src: &str,
        entries: &[&str],
    ) -> crate::Result<wgpu::ShaderModule> {
        if !self.exact {
            return Ok(self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(src.into()),
                }));
        }
        let words = super::spirv::exact_spirv(name, src).map_err(gpu_err)?;
        let entry_points: Vec<_> = entries
            .iter()
            .map(|e| wgpu::PassthroughShaderEntryPoint {
                name: (*e).into(),
                workgroup_size: (64, 1, 1),
            })
            .collect();
        // SAFETY: the SPIR-V is naga's translation of WGSL that naga validated, with
        // the bounds-check policies wgpu itself uses on Vulkan; the only change is
        // the NoContraction decorations, which restrict the driver's freedom.
        Ok(unsafe {
            self.device
                .create_shader_module_passthrough(wgpu::ShaderModuleDescriptorPassthrough {
                    label: Some(name),
                    entry_points: entry_points.into(),
                    spirv: Some(words.into()),
                    ..Default::default()
                })
        })
    }

    /// Fails with the first error collected outside error scopes, if any.
    pub fn check(&self) -> crate::Result<()> {
        let mut v = self
            .errors
            .lock()
            .map_err(|_| gpu_err("error sink poisoned"))?;
        if v.is_empty() {
            Ok(())
        } else {
            let msg = v.join("; ");
            v.clear();
            Err(gpu_err(msg))
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes and returns the
    /// first error either caught, as `crate::Error::Gpu` prefixed with `what`.
    pub fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> crate::Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let e1 = pollster::block_on(val.pop());
        let e2 = pollster::block_on(oom.pop());
        if let Some(e) = e1.or(e2) {
            return Err(gpu_err(format!("{what}: {e}")));
        }
        self.check()?;
        Ok(out)
    }

    /// Checks that a storage buffer of `bytes` fits the device limits.
    pub fn check_size(&self, what: &str, bytes: u64) -> crate::Result<()> {
        let binding = self.limits.max_storage_buffer_binding_size;
        if bytes > binding {
            return Err(gpu_err(format!(
                "{what} would take {bytes} bytes, more than the device's \
                 max_storage_buffer_binding_size ({binding} bytes) on {}",
                self.info.name
            )));
        }
        if bytes > self.limits.max_buffer_size {
            return Err(gpu_err(format!(
                "{what} would take {bytes} bytes, more than the device's max_buffer_size ({} bytes) on {}",
                self.limits.max_buffer_size, self.info.name
            )));
        }
        Ok(())
    }

    /// Waits for all submitted work; device loss and timeouts become errors.
    pub fn wait(&self) -> crate::Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err(format!("waiting for the device: {e}")))?;
        self.check()
    }
}

/// Turns off Mesa's device-select Vulkan layer (unless the environment already
/// sets `NODEVICE_SELECT`): it probes Wayland/X11 and prints "error:
/// XDG_RUNTIME_DIR is invalid" on headless machines, and astroglia picks its
/// adapter itself.
///
/// # Safety
/// It sets an environment variable, so no other thread may exist (or read or
/// write the environment) while it runs: call it first thing in `main`.
pub unsafe fn quiet_device_select() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: the caller guarantees that no other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}
