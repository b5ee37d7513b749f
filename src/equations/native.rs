//! The CPU's fast path: a [`Program`] compiled to native code with Cranelift
//! when it is built, so that a step keeps its values in registers instead of
//! going through the interpreter's per-block arrays.
//!
//! The generated function evaluates the same IEEE f32 operations in the same
//! order as the interpreter ([`super::eval`]), four neurons per SSE vector and
//! the remainder one at a time. Addition, subtraction, multiplication,
//! negation, comparisons and selects are single instructions, exact in both;
//! division and the functions call the shared sequences of [`super::math`]
//! lane by lane, so the results are the interpreter's bit for bit (tested in
//! `tests/it/user_models.rs` and below). Programs that draw random numbers
//! stay on the interpreter. Where the CPU has AVX2, the call-free programs
//! also get eight-lane code (`wide.rs`), which runs the whole groups of eight
//! before this code runs the rest.
use super::ast::{BinOp, Func, UnOp};
use super::eval::{Input, Op, Program, call};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    AbiParam, BlockArg, Endianness, InstBuilder, MemFlagsData, Signature, Type, Value, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};

/// The arrays' pointers, on the stack for up to 16 arrays.
type Pointers<T> = smallvec::SmallVec<[T; 16]>;

/// `fn(state, params, n, t, dt, io)`: `state[i]` and `params[i]` point at
/// the arrays of state variable and parameter `i`, each at least `n` long;
/// `io` is a neuron kernel's [`KernelIo`] (null for a plain program).
type Entry =
    unsafe extern "C" fn(*const *mut f32, *const *const f32, usize, f32, f32, *const KernelIo);

/// A scalar function the generated code calls: one of [`call`]'s functions
/// or the division sequence, always with three arguments.
type Scalar = extern "C" fn(f32, f32, f32) -> f32;

/// Where a neuron model's one-pass program reads its per-step inputs and
/// writes its spikes, for [`Native::compile_neuron`]: a kernel so compiled
/// also reads the receptors' rings, counts the refractory clocks down and
/// checks the state for non-finite values, in the same pass.
#[derive(Debug, Clone, Copy)]
pub struct NeuronIo {
    /// The parameter that is 1.0 for a neuron that is not refractory.
    pub awake: usize,
    /// The parameters that carry receptor `r`'s weight this step.
    pub rings: [usize; 2],
    /// The state slot the threshold writes.
    pub spike: usize,
    /// Steps a neuron stays refractory after it fires.
    pub refractory_steps: u32,
}

/// The arrays a neuron kernel reads and writes besides state and parameters.
#[repr(C)]
pub struct KernelIo {
    /// Receptor `r`'s fixed-point ring: read as `ring × inv[r]`, then zeroed.
    pub rings: [*mut i32; 2],
    /// The rings' scales.
    pub inv: [f32; 2],
    /// Remaining refractory steps per neuron (counted down, set on a spike).
    pub refractory: *mut u32,
    /// Five floats: the vector loop's four lanes and the scalar loop's sum of
    /// `x - x` over every state value; NaN where one was not finite.
    pub finite: *mut f32,
}

const IO_RINGS: i32 = 0;
const IO_INV: i32 = 16;
const IO_REFRACTORY: i32 = 24;
const IO_FINITE: i32 = 32;

/// A program compiled to native code. The code lives as long as this value.
pub struct Native {
    module: Option<JITModule>,
    entry: Entry,
    io: Option<NeuronIo>,
    /// The same program on eight lanes (AVX2), for the whole groups of
    /// eight; this code then runs the remainder.
    #[cfg(target_arch = "x86_64")]
    wide: Option<super::wide::Wide>,
}

// SAFETY: after `finalize_definitions` the module is never used again but to
// free its memory on drop; the code it holds is immutable and reentrant (it
// reads and writes only the arrays it is given).
unsafe impl Send for Native {}
// SAFETY: as above: shared references only call the immutable code.
unsafe impl Sync for Native {}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Native")
    }
}

impl Drop for Native {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: `entry` dies with `self`; nothing else points into the code.
            unsafe { m.free_memory() };
        }
    }
}

impl Native {
    /// Compiles `program`; `None` where it draws random numbers or the host
    /// has no Cranelift backend (the interpreter runs it then).
    pub fn compile(program: &Program) -> Option<Native> {
        Self::compile_with(program, None)
    }

    /// Compiles a neuron model's one-pass program as a whole step (see
    /// [`NeuronIo`]); run it with [`Self::run_neurons`].
    pub fn compile_neuron(program: &Program, io: NeuronIo) -> Option<Native> {
        let (_, written) = program.arrays();
        if !written.contains(&io.spike) {
            return None;
        }
        Self::compile_with(program, Some(io))
    }

    fn compile_with(program: &Program, io: Option<NeuronIo>) -> Option<Native> {
        if program.draws() || !enabled() {
            return None;
        }
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").ok()?;
        flags.set("enable_verifier", "false").ok()?;
        flags.set("use_colocated_libcalls", "false").ok()?;
        flags.set("is_pic", "false").ok()?;
        let isa = cranelift_native::builder()
            .ok()?
            .finish(settings::Flags::new(flags))
            .ok()?;
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let ptr = module.target_config().pointer_type();
        let mut sig = module.make_signature();
        for t in [ptr, ptr, ptr, types::F32, types::F32, ptr] {
            sig.params.push(AbiParam::new(t));
        }
        let id = module.declare_function("step", Linkage::Local, &sig).ok()?;
        let mut ctx = module.make_context();
        ctx.func.signature = sig;
        let mut fctx = FunctionBuilderContext::new();
        let mut scalar_sig = module.make_signature();
        for _ in 0..3 {
            scalar_sig.params.push(AbiParam::new(types::F32));
        }
        scalar_sig.returns.push(AbiParam::new(types::F32));
        let frontend = module.target_config();
        build(
            program,
            io.as_ref(),
            FunctionBuilder::new(&mut ctx.func, &mut fctx),
            ptr,
            scalar_sig,
            frontend,
        );
        module.define_function(id, &mut ctx).ok()?;
        module.clear_context(&mut ctx);
        module.finalize_definitions().ok()?;
        let code = module.get_finalized_function(id);
        // SAFETY: `code` was built with the signature of `Entry` above.
        let entry = unsafe { std::mem::transmute::<*const u8, Entry>(code) };
        Some(Native {
            module: Some(module),
            entry,
            #[cfg(target_arch = "x86_64")]
            wide: wide_enabled()
                .then(|| super::wide::Wide::compile(program, io.as_ref()))
                .flatten(),
            io,
        })
    }

    /// Checks that every array `program` touches holds at least `n` values.
    fn check(
        program: &Program,
        io: Option<&NeuronIo>,
        state: &[&mut [f32]],
        params: &[&[f32]],
        n: usize,
    ) {
        let special = |i: usize| io.is_some_and(|io| i == io.awake || io.rings.contains(&i));
        for &(i, _) in program.stores() {
            assert!(state[i].len() >= n, "state array {i} shorter than {n}");
        }
        for &(_, input) in program.loads() {
            match input {
                Input::State(i) => assert!(state[i].len() >= n, "state array {i} too short"),
                Input::Param(i) if special(i) => {}
                Input::Param(i) => assert!(params[i].len() >= n, "parameter array {i} too short"),
                Input::Const(_) => {}
            }
        }
    }

    /// The arrays' pointers, `from` values on (never dereferenced where an
    /// array is shorter: the code then runs on no neurons or does not touch
    /// it).
    fn pointers(
        state: &mut [&mut [f32]],
        params: &[&[f32]],
        from: usize,
    ) -> (Pointers<*mut f32>, Pointers<*const f32>) {
        let s = state
            .iter_mut()
            .map(|a| a.as_mut_ptr().wrapping_add(from))
            .collect();
        let p = params
            .iter()
            .map(|a| a.as_ptr().wrapping_add(from))
            .collect();
        (s, p)
    }

    /// Runs the compiled program on neurons `0..n`, as [`Program::run`] does.
    ///
    /// # Panics
    /// When an array the program reads or writes is shorter than `n`, or the
    /// code was compiled as a neuron kernel.
    pub fn run(
        &self,
        program: &Program,
        state: &mut [&mut [f32]],
        params: &[&[f32]],
        n: usize,
        t: f32,
        dt: f32,
    ) {
        assert!(self.io.is_none(), "a neuron kernel runs with run_neurons");
        Self::check(program, None, state, params, n);
        let mut finite = true;
        let rings = [std::ptr::null_mut(); 2];
        let clocks = std::ptr::null_mut();
        let (done, _) = self.run_wide(
            state,
            params,
            rings,
            clocks,
            &mut [],
            [0.0; 2],
            n,
            t,
            dt,
            &mut finite,
        );
        if done == n {
            return;
        }
        let (s, p) = Self::pointers(state, params, done);
        // SAFETY: every array the code touches holds at least `n` values
        // (checked above), so `n - done` from `done` on, and the arrays
        // written are distinct `&mut` slices.
        unsafe { (self.entry)(s.as_ptr(), p.as_ptr(), n - done, t, dt, std::ptr::null()) }
    }

    /// Runs the eight-lane code, where there is some, over the whole groups
    /// of eight of `0..n`, and returns how many neurons it stepped and, for a
    /// kernel, how many spike indices it wrote to `ids` (and with `finite`
    /// whether their state stayed finite).
    #[allow(clippy::too_many_arguments)]
    fn run_wide(
        &self,
        state: &mut [&mut [f32]],
        params: &[&[f32]],
        rings: [*mut i32; 2],
        refractory: *mut u32,
        ids: &mut [u32],
        inv: [f32; 2],
        n: usize,
        t: f32,
        dt: f32,
        finite: &mut bool,
    ) -> (usize, usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(w) = &self.wide {
            use super::wide::{Array, WideArgs};
            let m = n & !7;
            if m == 0 || (self.io.is_some() && ids.len() < m) {
                return (0, 0);
            }
            let mut bases = [std::ptr::null_mut(); 11];
            for (b, a) in bases.iter_mut().zip(&w.arrays) {
                *b = match *a {
                    Array::State(i) => state[i].as_mut_ptr().cast(),
                    Array::Param(i) => params[i].as_ptr().cast_mut().cast(),
                    Array::Ring(r) => rings[r].cast(),
                    Array::Clocks => refractory.cast(),
                };
            }
            let mut lanes = [0u32; 8];
            let mut args = WideArgs {
                bases,
                consts: std::ptr::null(),
                n: m,
                t: [t; 8],
                dt: [dt; 8],
                inv: inv.map(|x| [x; 8]),
                finite: &mut lanes,
                ids: ids.as_mut_ptr(),
                count: 0,
            };
            // SAFETY: the arrays are the checked ones of `run` or
            // `run_neurons`, each at least `n >= m` long.
            unsafe { w.run(&mut args) };
            *finite &= lanes.iter().all(|&x| x == 0);
            return (m, args.count);
        }
        let _ = (state, params, rings, refractory, ids, inv, n, t, dt, finite);
        (0, 0)
    }

    /// This code without its eight-lane part (the tests check both).
    #[cfg(test)]
    fn without_wide(mut self) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            self.wide = None;
        }
        self
    }

    /// One step of a neuron kernel ([`Self::compile_neuron`]) over neurons
    /// `0..n`: `state` holds the model's variables and then the spike slot,
    /// which receives 1.0 for each neuron that fired; `params` the columns
    /// and `i_ext` (the awake and weight slots are read from `rings` and
    /// `refractory`, and may be empty). Returns whether every state value
    /// the program loads or stores is finite, a count `m` of neurons (a
    /// multiple of eight) whose spikes are in `ids` rather than the spike
    /// slot, and how many indices it wrote there (`ids` has room for `n`).
    ///
    /// # Panics
    /// When an array is shorter than `n`, or the code is not a neuron kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn run_neurons(
        &self,
        program: &Program,
        state: &mut [&mut [f32]],
        params: &[&[f32]],
        rings: [&mut [i32]; 2],
        inv: [f32; 2],
        refractory: &mut [u32],
        ids: &mut [u32],
        n: usize,
        t: f32,
        dt: f32,
    ) -> (bool, usize, usize) {
        let io = self.io.as_ref().expect("compiled with compile_neuron");
        assert!(rings.iter().all(|r| r.len() >= n) && refractory.len() >= n);
        Self::check(program, Some(io), state, params, n);
        let mut finite = [0.0f32; 5];
        let [r0, r1] = rings;
        let (r0, r1, refractory) = (r0.as_mut_ptr(), r1.as_mut_ptr(), refractory.as_mut_ptr());
        let mut ok = true;
        let (done, count) = self.run_wide(
            state,
            params,
            [r0, r1],
            refractory,
            ids,
            inv,
            n,
            t,
            dt,
            &mut ok,
        );
        if done == n {
            return (ok, done, count);
        }
        let (s, p) = Self::pointers(state, params, done);
        let k = KernelIo {
            rings: [r0.wrapping_add(done), r1.wrapping_add(done)],
            inv,
            refractory: refractory.wrapping_add(done),
            finite: finite.as_mut_ptr(),
        };
        // SAFETY: as in `run`, and the rings and clocks hold `n` values each.
        unsafe { (self.entry)(s.as_ptr(), p.as_ptr(), n - done, t, dt, &k) };
        (ok && finite.iter().all(|x| *x == 0.0), done, count)
    }
}

/// Whether programs are compiled to native code: `ASTROGLIA_JIT=0` keeps
/// every program on the interpreter (the reference the native code matches).
pub fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("ASTROGLIA_JIT").map_or(true, |v| v != "0"))
}

/// Whether the eight-lane AVX2 code runs where the CPU has it:
/// `ASTROGLIA_JIT=cranelift` keeps to Cranelift's four lanes.
fn wide_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("ASTROGLIA_JIT").map_or(true, |v| v != "cranelift"))
}

/// The lane shape one copy of the body computes with.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Four neurons per value.
    Vector,
    /// One neuron per value (the remainder).
    Scalar,
}

impl Shape {
    fn ty(self) -> Type {
        match self {
            Shape::Vector => types::F32X4,
            Shape::Scalar => types::F32,
        }
    }

    fn width(self) -> i64 {
        match self {
            Shape::Vector => 4,
            Shape::Scalar => 1,
        }
    }
}

/// The function: a vector loop over whole groups of four, then a scalar loop.
/// A neuron kernel's loops carry the finiteness sums.
fn build(
    program: &Program,
    io: Option<&NeuronIo>,
    mut b: FunctionBuilder<'_>,
    ptr: Type,
    scalar_sig: Signature,
    frontend: TargetFrontendConfig,
) {
    let entry = b.create_block();
    let vhead = b.create_block();
    let vbody = b.create_block();
    let vdone = b.create_block();
    let shead = b.create_block();
    let sbody = b.create_block();
    let exit = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let [state, params, n, t, dt, io_ptr] = b.block_params(entry)[..] else {
        unreachable!("six parameters")
    };
    let sig = b.import_signature(scalar_sig);
    let trusted = MemFlagsData::trusted();
    // The arrays' base pointers, loaded once.
    let (read, written) = program.arrays();
    let special = |i: usize| io.is_some_and(|io| i == io.awake || io.rings.contains(&i));
    let mut bases: Vec<(Input, Value)> = vec![];
    for input in read
        .into_iter()
        .chain(written.into_iter().map(Input::State))
    {
        let (table, i) = match input {
            Input::State(i) => (state, i),
            Input::Param(i) if !special(i) => (params, i),
            _ => continue,
        };
        if bases.iter().any(|(x, _)| *x == input) {
            continue;
        }
        let v = b
            .ins()
            .load(ptr, trusted, table, (i * ptr.bytes() as usize) as i32);
        bases.push((input, v));
    }
    let kio = io.map(|io| {
        let ld = |b: &mut FunctionBuilder<'_>, ty, at| b.ins().load(ty, trusted, io_ptr, at);
        KernelValues {
            io: *io,
            rings: [ld(&mut b, ptr, IO_RINGS), ld(&mut b, ptr, IO_RINGS + 8)],
            inv: [
                ld(&mut b, types::F32, IO_INV),
                ld(&mut b, types::F32, IO_INV + 4),
            ],
            refractory: ld(&mut b, ptr, IO_REFRACTORY),
            finite: ld(&mut b, ptr, IO_FINITE),
        }
    });
    let nv = b.ins().band_imm_s(n, !3);
    let zero = b.ins().iconst(ptr, 0);
    let mut heads = vec![zero.into()];
    if kio.is_some() {
        let z = b.ins().f32const(0.0);
        let vz = b.ins().splat(types::F32X4, z);
        heads.push(vz.into());
    }
    b.ins().jump(vhead, &heads);

    for (shape, head, body, limit, next) in [
        (Shape::Vector, vhead, vbody, nv, vdone),
        (Shape::Scalar, shead, sbody, n, exit),
    ] {
        b.append_block_param(head, ptr);
        if kio.is_some() {
            b.append_block_param(head, shape.ty());
        }
        b.switch_to_block(head);
        let args: Vec<_> = b.block_params(head).iter().map(|&v| v.into()).collect();
        let i = b.block_params(head)[0];
        let acc = b.block_params(head).get(1).copied();
        let more = b.ins().icmp(IntCC::UnsignedLessThan, i, limit);
        b.ins().brif(more, body, &[], next, &args);
        b.switch_to_block(body);
        let offset = b.ins().ishl_imm_u(i, 2);
        let base = |input: Input| bases.iter().find(|(x, _)| *x == input).map(|r| r.1);
        let mut lane = Lane {
            b: &mut b,
            shape,
            sig,
        };
        let acc = lane.body(program, &base, kio.as_ref(), offset, t, dt, acc);
        let step = b.ins().iadd_imm_s(i, shape.width());
        let mut args = vec![step.into()];
        args.extend(acc.map(BlockArg::from));
        b.ins().jump(head, &args);
        if shape == Shape::Vector {
            // Between the loops: keep the vector sums, start the scalar one.
            b.append_block_param(vdone, ptr);
            if kio.is_some() {
                b.append_block_param(vdone, types::F32X4);
            }
            b.switch_to_block(vdone);
            let i = b.block_params(vdone)[0];
            let mut args = vec![i.into()];
            if let (Some(k), Some(&acc)) = (&kio, b.block_params(vdone).get(1)) {
                b.ins().store(trusted, acc, k.finite, 0);
                let z = b.ins().f32const(0.0);
                args.push(z.into());
            }
            b.ins().jump(shead, &args);
        }
    }
    b.append_block_param(exit, ptr);
    if kio.is_some() {
        b.append_block_param(exit, types::F32);
    }
    b.switch_to_block(exit);
    if let (Some(k), Some(&acc)) = (&kio, b.block_params(exit).get(1)) {
        b.ins().store(trusted, acc, k.finite, 16);
    }
    b.ins().return_(&[]);
    b.seal_all_blocks();
    b.finalize(frontend);
}

/// A neuron kernel's [`KernelIo`], loaded in the entry block.
struct KernelValues {
    io: NeuronIo,
    rings: [Value; 2],
    inv: [Value; 2],
    refractory: Value,
    finite: Value,
}

/// Emits one copy of the program's body in one shape.
struct Lane<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    shape: Shape,
    sig: cranelift_codegen::ir::SigRef,
}

impl Lane<'_, '_> {
    fn splat(&mut self, x: f32) -> Value {
        let c = self.b.ins().f32const(x);
        match self.shape {
            Shape::Vector => self.b.ins().splat(types::F32X4, c),
            Shape::Scalar => c,
        }
    }

    fn splat_value(&mut self, v: Value) -> Value {
        match self.shape {
            Shape::Vector => self.b.ins().splat(types::F32X4, v),
            Shape::Scalar => v,
        }
    }

    /// `a cc b` as a select mask (i8 for a scalar, all-ones lanes for a vector).
    fn cmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.b.ins().fcmp(cc, a, b)
    }

    /// `if mask { a } else { b }` (a float or an integer comparison's mask).
    fn select(&mut self, mask: Value, a: Value, b: Value) -> Value {
        match self.shape {
            Shape::Vector => {
                let m = self.b.ins().bitcast(
                    types::F32X4,
                    MemFlagsData::new().with_endianness(Endianness::Little),
                    mask,
                );
                self.b.ins().bitselect(m, a, b)
            }
            Shape::Scalar => self.b.ins().select(mask, a, b),
        }
    }

    /// 1.0 where `mask`, 0.0 elsewhere (the interpreter's `truth`).
    fn truth(&mut self, mask: Value) -> Value {
        match self.shape {
            Shape::Vector => {
                let m = self.b.ins().bitcast(
                    types::F32X4,
                    MemFlagsData::new().with_endianness(Endianness::Little),
                    mask,
                );
                let one = self.splat(1.0);
                self.b.ins().band(m, one)
            }
            Shape::Scalar => {
                let (one, zero) = (self.splat(1.0), self.splat(0.0));
                self.b.ins().select(mask, one, zero)
            }
        }
    }

    /// `f(a, b, c)` lane by lane through a call to the Rust function.
    fn call(&mut self, f: Scalar, args: [Value; 3]) -> Value {
        let callee = self.b.ins().iconst(types::I64, f as usize as i64);
        match self.shape {
            Shape::Scalar => {
                let call = self.b.ins().call_indirect(self.sig, callee, &args);
                self.b.inst_results(call)[0]
            }
            Shape::Vector => {
                let mut out = self.splat(0.0);
                for k in 0..4u8 {
                    let lanes = args.map(|a| self.b.ins().extractlane(a, k));
                    let call = self.b.ins().call_indirect(self.sig, callee, &lanes);
                    let r = self.b.inst_results(call)[0];
                    out = self.b.ins().insertlane(out, r, k);
                }
                out
            }
        }
    }

    /// `a != 0.0` as a mask: `known` where `a` is a comparison's truth.
    fn nonzero(&mut self, a: Value, known: Option<Value>) -> Value {
        known.unwrap_or_else(|| {
            let zero = self.splat(0.0);
            self.cmp(FloatCC::NotEqual, a, zero)
        })
    }

    /// `a op b`, and its mask where `op` compares; `ma` and `mb` are the
    /// operands' masks where they are comparisons' truths.
    fn binary(
        &mut self,
        op: BinOp,
        (a, ma): (Value, Option<Value>),
        (b, mb): (Value, Option<Value>),
    ) -> (Value, Option<Value>) {
        let cc = match op {
            BinOp::Add => return (self.b.ins().fadd(a, b), None),
            BinOp::Sub => return (self.b.ins().fsub(a, b), None),
            BinOp::Mul => return (self.b.ins().fmul(a, b), None),
            BinOp::Div => {
                let z = self.splat(0.0);
                return (self.call(div_shim, [a, b, z]), None);
            }
            BinOp::And | BinOp::Or => {
                let ma = self.nonzero(a, ma);
                let mb = self.nonzero(b, mb);
                let m = if op == BinOp::And {
                    self.b.ins().band(ma, mb)
                } else {
                    self.b.ins().bor(ma, mb)
                };
                return (self.truth(m), Some(m));
            }
            BinOp::Lt => FloatCC::LessThan,
            BinOp::Le => FloatCC::LessThanOrEqual,
            BinOp::Gt => FloatCC::GreaterThan,
            BinOp::Ge => FloatCC::GreaterThanOrEqual,
            BinOp::Eq => FloatCC::Equal,
            BinOp::Ne => FloatCC::NotEqual,
        };
        let m = self.cmp(cc, a, b);
        (self.truth(m), Some(m))
    }

    /// The type of integer lanes of this shape.
    fn int_ty(&self) -> Type {
        match self.shape {
            Shape::Vector => types::I32X4,
            Shape::Scalar => types::I32,
        }
    }

    fn splat_int(&mut self, x: i64) -> Value {
        match self.shape {
            Shape::Vector => {
                let c = self.b.ins().iconst(types::I32, x);
                self.b.ins().splat(types::I32X4, c)
            }
            Shape::Scalar => self.b.ins().iconst(types::I32, x),
        }
    }

    /// `if mask { a } else { b }` for integer lanes.
    fn select_int(&mut self, mask: Value, a: Value, b: Value) -> Value {
        match self.shape {
            Shape::Vector => self.b.ins().bitselect(mask, a, b),
            Shape::Scalar => self.b.ins().select(mask, a, b),
        }
    }

    /// The body: loads, the program's operations, stores. With a kernel's
    /// `io`, it also reads the rings and clocks, updates the clocks and adds
    /// `x - x` of every state value to `acc`, which it returns.
    #[allow(clippy::too_many_arguments)]
    fn body(
        &mut self,
        program: &Program,
        base: &dyn Fn(Input) -> Option<Value>,
        kio: Option<&KernelValues>,
        offset: Value,
        t: Value,
        dt: Value,
        mut acc: Option<Value>,
    ) -> Option<Value> {
        let ty = self.shape.ty();
        let flags = MemFlagsData::new().with_notrap();
        let at = |l: &mut Self, base: Value| l.b.ins().iadd(base, offset);
        let mut regs: Vec<Option<Value>> = vec![None; program.n_regs()];
        regs[0] = Some(self.splat_value(t));
        regs[1] = Some(self.splat_value(dt));
        for &(r, v) in program.consts() {
            regs[r as usize] = Some(self.splat(v));
        }
        // A comparison's truth is kept as its mask too, so that a select or
        // the threshold on it tests the mask rather than the 1.0/0.0 value.
        let mut masks: Vec<Option<Value>> = vec![None; program.n_regs()];
        let clock = kio.map(|k| {
            let addr = at(self, k.refractory);
            let ity = self.int_ty();
            let clock = self.b.ins().load(ity, flags, addr, 0);
            let zero = self.splat_int(0);
            (clock, self.b.ins().icmp(IntCC::Equal, clock, zero))
        });
        let mut state_values: Vec<(usize, Value)> = vec![];
        for &(r, input) in program.loads() {
            let v = match (kio, input) {
                (Some(k), Input::Param(i)) if i == k.io.awake => {
                    let (_, awake) = clock.expect("a kernel loads its clocks");
                    masks[r as usize] = Some(awake);
                    self.truth(awake)
                }
                (Some(k), Input::Param(i)) if k.io.rings.contains(&i) => {
                    let slot = usize::from(k.io.rings[1] == i);
                    let addr = at(self, k.rings[slot]);
                    let ity = self.int_ty();
                    let raw = self.b.ins().load(ity, flags, addr, 0);
                    let zero = self.splat_int(0);
                    self.b.ins().store(flags, zero, addr, 0);
                    let x = self.b.ins().fcvt_from_sint(ty, raw);
                    let inv = self.splat_value(k.inv[slot]);
                    self.b.ins().fmul(x, inv)
                }
                _ => {
                    let addr = at(self, base(input).expect("every array read has a base"));
                    let v = self.b.ins().load(ty, flags, addr, 0);
                    if let Input::State(i) = input {
                        state_values.push((i, v));
                    }
                    v
                }
            };
            regs[r as usize] = Some(v);
        }
        let get = |regs: &[Option<Value>], r: u32| regs[r as usize].expect("SSA: read after write");
        for op in program.code() {
            let operand = |r: u32| (get(&regs, r), masks[r as usize]);
            let (d, v, m) = match *op {
                Op::Un(op, a, d) => match op {
                    UnOp::Neg => (d, self.b.ins().fneg(get(&regs, a)), None),
                    UnOp::Not => {
                        let zero = self.splat(0.0);
                        let m = self.cmp(FloatCC::Equal, get(&regs, a), zero);
                        (d, self.truth(m), Some(m))
                    }
                },
                Op::BinRR(op, a, b, d) => {
                    let (a, b) = (operand(a), operand(b));
                    let (v, m) = self.binary(op, a, b);
                    (d, v, m)
                }
                Op::BinRI(op, a, b, d) => {
                    let (a, b) = (operand(a), (self.splat(b), None));
                    let (v, m) = self.binary(op, a, b);
                    (d, v, m)
                }
                Op::BinIR(op, a, b, d) => {
                    let (a, b) = ((self.splat(a), None), operand(b));
                    let (v, m) = self.binary(op, a, b);
                    (d, v, m)
                }
                Op::Call(f, [a, b, c], d) => {
                    let args = [get(&regs, a), get(&regs, b), get(&regs, c)];
                    (d, self.call(shim(f), args), None)
                }
                Op::Select(c, a, b, d) => {
                    let (c, a, b) = (operand(c), get(&regs, a), get(&regs, b));
                    let m = self.nonzero(c.0, c.1);
                    (d, self.select(m, a, b), None)
                }
                Op::Draw(..) => unreachable!("programs that draw are not compiled"),
            };
            regs[d as usize] = Some(v);
            masks[d as usize] = m;
        }
        for &(i, r) in program.stores() {
            let addr = at(
                self,
                base(Input::State(i)).expect("every array written has a base"),
            );
            let mut v = get(&regs, r);
            match kio {
                Some(k) if i == k.io.spike => {
                    // The clocks: a neuron fires when awake and over threshold;
                    // the others count down to zero (max(c, 1) - 1).
                    let (clock, awake) = clock.expect("a kernel loads its clocks");
                    let over = self.nonzero(v, masks[r as usize]);
                    let fired = self.b.ins().band(awake, over);
                    let one = self.splat_int(1);
                    let down = self.b.ins().umax(clock, one);
                    let down = self.b.ins().isub(down, one);
                    let refr = self.splat_int(i64::from(k.io.refractory_steps));
                    let next = self.select_int(fired, refr, down);
                    let caddr = at(self, k.refractory);
                    self.b.ins().store(flags, next, caddr, 0);
                    v = self.truth(fired);
                }
                _ => {
                    state_values.retain(|s| s.0 != i);
                    state_values.push((i, v));
                }
            }
            self.b.ins().store(flags, v, addr, 0);
        }
        if let Some(a) = acc.as_mut() {
            // Summed as a tree, then once into the loop-carried sum, so that
            // the loop's dependency chain is a single add.
            let mut terms: Vec<Value> = state_values
                .iter()
                .map(|&(_, x)| self.b.ins().fsub(x, x))
                .collect();
            while terms.len() > 1 {
                let pairs: Vec<Value> = terms
                    .chunks(2)
                    .map(|c| match *c {
                        [x, y] => self.b.ins().fadd(x, y),
                        [x] => x,
                        _ => unreachable!("chunks of two"),
                    })
                    .collect();
                terms = pairs;
            }
            if let Some(&d) = terms.first() {
                *a = self.b.ins().fadd(*a, d);
            }
        }
        acc
    }
}

extern "C" fn div_shim(a: f32, b: f32, _: f32) -> f32 {
    super::math::div(a, b)
}

/// The Rust function the generated code calls for `f`.
fn shim(f: Func) -> Scalar {
    macro_rules! shims {
        ($($f:ident),*) => {
            match f {
                $(Func::$f => {
                    extern "C" fn g(a: f32, b: f32, c: f32) -> f32 {
                        call(Func::$f, a, b, c)
                    }
                    g
                })*
            }
        };
    }
    shims!(
        Exp, Log, Sqrt, Pow, Abs, Min, Max, Clip, Tanh, Sin, Cos, Floor, Uniform, Normal
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::equations::integrate::Assign;
    use crate::equations::neuron::{NeuronModelSpec, Scratch};
    use crate::equations::{eval::StepEnv, parse_expr};
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    /// Inputs mixing ordinary values with zeros of both signs, infinities,
    /// NaN, subnormals and integers.
    pub(in crate::equations) fn inputs(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let special = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-40,
            -3.0,
            2.5,
            f32::MAX,
        ];
        (0..n)
            .map(|_| match rng.random_range(0..4) {
                0 => special[rng.random_range(0..special.len())],
                1 => f32::from_bits(rng.random()),
                _ => rng.random_range(-100.0f32..100.0),
            })
            .collect()
    }

    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Every operator and function, compiled and interpreted, on the same
    /// inputs (a length with a scalar remainder): the same bits.
    #[test]
    fn native_code_computes_what_the_interpreter_does() {
        let exprs = [
            "a + b",
            "a - b",
            "a * b",
            "a / b",
            "a < b",
            "a <= b",
            "a > b",
            "a >= b",
            "a == b",
            "a != b",
            "a and b",
            "a or b",
            "not a",
            "-a",
            "if a > b then a * c else b - c",
            "if a then b else c",
            "(a < b) and (b < c)",
            "exp(a)",
            "log(a)",
            "sqrt(a)",
            "pow(a, b)",
            "abs(a)",
            "min(a, b)",
            "max(a, b)",
            "clip(a, b, c)",
            "tanh(a)",
            "sin(a)",
            "cos(a)",
            "floor(a)",
            "a * t + dt",
            "a * 0.5 + 3.0 / b",
            "not (a >= 1.0) or b",
        ];
        let mut names: HashMap<String, Input> = HashMap::new();
        for (i, v) in ["a", "b"].iter().enumerate() {
            names.insert(v.to_string(), Input::State(i));
        }
        names.insert("c".into(), Input::Param(0));
        let assigns: Vec<Assign> = exprs
            .iter()
            .enumerate()
            .map(|(k, e)| {
                names.insert(format!("out{k}"), Input::State(2 + k));
                Assign {
                    target: format!("out{k}"),
                    expr: parse_expr(e).unwrap(),
                }
            })
            .collect();
        let native = Program::compile(&assigns, &names).unwrap();
        assert!(native.is_native(), "the host compiles programs");
        let reference = native.clone().interpreted();
        let n = 1027;
        let c = inputs(n, 3);
        let env = StepEnv {
            t: 12.5,
            dt: 0.1,
            step: 0,
            rng: None,
        };
        let run = |p: &Program| {
            let mut state: Vec<Vec<f32>> = vec![inputs(n, 1), inputs(n, 2)];
            state.extend((0..exprs.len()).map(|_| vec![0.0; n]));
            let mut views: Vec<&mut [f32]> = state.iter_mut().map(|v| &mut v[..]).collect();
            p.run(&mut views, &[&c], n, 0, &env);
            state
        };
        let (got, want) = (run(&native), run(&reference));
        for (k, e) in exprs.iter().enumerate() {
            for j in 0..n {
                let (x, y) = (got[2 + k][j], want[2 + k][j]);
                assert!(
                    same(x, y),
                    "{e} at neuron {j}: native {x:e}, interpreter {y:e}"
                );
            }
        }
    }

    /// A whole step of the COBA neuron (receptors, refractory hold,
    /// threshold, reset) through the native kernel and through the
    /// interpreter: the same state, clocks and spikes for 300 steps.
    #[test]
    fn neuron_kernel_steps_as_the_interpreter_does() {
        let spec: NeuronModelSpec = toml::from_str(
            r#"
            name = "coba_lif"
            parameters = { c_m = 200.0, g_l = 10.0, e_l = -60.0, v_reset = -60.0, v_th = -50.0, e_exc = 0.0, e_inh = -80.0, tau_exc = 5.0, tau_inh = 10.0, i_bias = 0.0 }
            state = { v = -60.0, ge = 0.0, gi = 0.0 }
            units = { c_m = "pF", g_l = "nS", e_l = "mV", v_reset = "mV", v_th = "mV", e_exc = "mV", e_inh = "mV", tau_exc = "ms", tau_inh = "ms", i_bias = "pA", v = "mV", ge = "nS", gi = "nS" }
            equations = """
            dv/dt = (g_l*(e_l - v) + ge*(e_exc - v) + gi*(e_inh - v) + i_ext + i_bias) / c_m : mV (unless refractory)
            dge/dt = -ge / tau_exc
            dgi/dt = -gi / tau_inh
            """
            receptors = { exc = "ge += w", inh = "gi += w" }
            threshold = "v >= v_th"
            reset = "v = v_reset"
            refractory_ms = 0.5
            method = { v = "euler", ge = "exact", gi = "exact" }
            "#,
        )
        .unwrap();
        let dt = 0.1;
        let m = spec.compile(dt).unwrap();
        let n = 203;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // Per-neuron biases: one column stays an array, the others immediates.
        let params: Vec<Vec<f64>> = m
            .parameters
            .iter()
            .map(|p| match p.as_str() {
                "i_bias" => (0..n).map(|_| rng.random_range(100.0..1200.0)).collect(),
                _ => vec![spec.parameters.get(p).unwrap(); n],
            })
            .collect();
        let cols = m.columns_for(&params, n, dt);
        let uniform: Vec<Option<f32>> = cols
            .iter()
            .map(|c| c.iter().all(|x| *x == c[0]).then_some(c[0]))
            .collect();
        let fused = m.specialised(&uniform);
        let wide = m.native_kernel(&fused).expect("the host compiles kernels");
        let narrow = m.native_kernel(&fused).unwrap().without_wide();
        for kernel in [wide, narrow] {
            kernel_steps_as_the_interpreter_does(&spec, &m, &fused, &kernel, &cols, n);
        }
    }

    fn kernel_steps_as_the_interpreter_does(
        spec: &NeuronModelSpec,
        m: &crate::equations::neuron::CompiledNeuron,
        fused: &Program,
        kernel: &Native,
        cols: &[Vec<f32>],
        n: usize,
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let reference = fused.clone().interpreted();
        let p: Vec<&[f32]> = cols.iter().map(|v| &v[..]).collect();
        let mut a = m.initial_state(spec, n);
        let mut b = m.initial_state(spec, n);
        for v in a.vars.iter_mut().chain(b.vars.iter_mut()) {
            let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(9);
            v.iter_mut().for_each(|x| *x = r.random_range(-70.0..-45.0));
        }
        let (mut sa, mut sb) = (Scratch::default(), Scratch::default());
        let inv = [1.0 / 256.0, 1.0 / 128.0];
        let mut fired = 0;
        for step in 0..300u64 {
            let rings: Vec<Vec<i32>> = [4000, 400]
                .map(|hi| (0..n).map(|_| rng.random_range(0..hi)).collect())
                .into();
            let weights: Vec<Vec<f32>> = rings
                .iter()
                .zip(inv)
                .map(|(r, inv)| r.iter().map(|&x| x as f32 * inv).collect())
                .collect();
            let i_ext: Vec<f32> = (0..n).map(|_| rng.random_range(-50.0..50.0)).collect();
            let env = StepEnv {
                t: step as f32 * 0.1,
                dt: 0.1,
                step,
                rng: None,
            };
            let (mut spa, mut spb) = (vec![], vec![]);
            let mut va: Vec<&mut [f32]> = a.vars.iter_mut().map(|v| &mut v[..]).collect();
            let [mut r0, mut r1] = [rings[0].clone(), rings[1].clone()];
            let ok_a = m.update_native(
                kernel,
                fused,
                &mut va,
                &mut a.refractory,
                &p,
                [&mut r0, &mut r1],
                inv,
                Some(&i_ext),
                &env,
                0,
                &mut sa,
                &mut spa,
            );
            assert!(
                r0.iter().chain(&r1).all(|&x| x == 0),
                "the kernel clears the rings"
            );
            let mut vb: Vec<&mut [f32]> = b.vars.iter_mut().map(|v| &mut v[..]).collect();
            let ok_b = m.update_with(
                &reference,
                &mut vb,
                &mut b.refractory,
                &p,
                [Some(&weights[0]), Some(&weights[1])],
                Some(&i_ext),
                &env,
                0,
                &mut sb,
                &mut spb,
            );
            assert_eq!((ok_a, &spa), (ok_b, &spb), "step {step}");
            assert_eq!(a.refractory, b.refractory, "step {step}");
            for (x, y) in a.vars.iter().zip(&b.vars) {
                assert!(x.iter().zip(y).all(|(x, y)| x.to_bits() == y.to_bits()));
            }
            fired += spa.len();
        }
        assert!(fired > 100, "the test drives spikes: {fired}");
        // A non-finite value is reported, in the vector part and the rest.
        for at in [0, n - 1] {
            let mut a = m.initial_state(spec, n);
            a.vars[1][at] = f32::INFINITY;
            let mut va: Vec<&mut [f32]> = a.vars.iter_mut().map(|v| &mut v[..]).collect();
            let (mut r0, mut r1) = (vec![0; n], vec![0; n]);
            let env = StepEnv {
                t: 0.0,
                dt: 0.1,
                step: 0,
                rng: None,
            };
            assert!(!m.update_native(
                kernel,
                fused,
                &mut va,
                &mut a.refractory,
                &p,
                [&mut r0, &mut r1],
                inv,
                None,
                &env,
                0,
                &mut sa,
                &mut vec![],
            ));
        }
    }
}
