//! The CPU interpreter: straight-line assignments compiled to a register
//! program and run over blocks of neurons.
//!
//! Each instruction runs over a block of [`LANES`] neurons before the next
//! starts, so the dispatch costs once per block and the inner loops are plain
//! element-wise f32 loops. Every operation is one IEEE f32 operation (or one of
//! the shared function sequences of [`super::math`]) in the order of the tree,
//! which is the order the generated WGSL uses.
//!
//! A compiled program also carries its native code ([`super::native`]),
//! which [`Program::run`] executes instead where there is some; the
//! interpreter is the reference it is tested against, and runs programs that
//! draw random numbers.
use super::ast::{BinOp, Expr, Func, UnOp};
use super::integrate::Assign;
use crate::rng::{CounterRng, normal_f32, unit_f32};
use std::collections::HashMap;

/// Neurons per block: 128 lanes amortise the dispatch while a model's
/// registers still fit in L1/L2.
pub const LANES: usize = 128;

/// One register: a value per neuron of the block.
type Block = [f32; LANES];

thread_local! {
    /// The registers, kept between runs so that a run does not allocate.
    static REGS: std::cell::Cell<Vec<Block>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Where a program reads a name from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input {
    /// State variable `i` (read and written).
    State(usize),
    /// Per-neuron parameter `i`.
    Param(usize),
    /// A constant.
    Const(f32),
}

/// An operand: a register or an immediate.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Arg {
    Reg(u32),
    Imm(f32),
}

/// What the compiler emits (operands still registers or immediates).
#[derive(Debug, Clone, PartialEq)]
enum Instr {
    Un(UnOp, Arg, u32),
    Bin(BinOp, Arg, Arg, u32),
    Call(Func, [Arg; 3], u32),
    Select(Arg, Arg, Arg, u32),
    /// A counter-based draw; `site` keys it apart from the other draws.
    Draw(Func, u8, u32),
}

/// What the interpreter runs: [`Instr`] with the operand kinds resolved, so
/// that each inner loop is one fixed operation over whole blocks. Immediates
/// other than a binary operation's one side live in constant registers.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Op {
    Un(UnOp, u32, u32),
    /// Register op register.
    BinRR(BinOp, u32, u32, u32),
    /// Register op immediate.
    BinRI(BinOp, u32, f32, u32),
    /// Immediate op register.
    BinIR(BinOp, f32, u32, u32),
    Call(Func, [u32; 3], u32),
    Select(u32, u32, u32, u32),
    Draw(Func, u8, u32),
}

/// Why a program cannot be compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError(pub String);

/// A compiled step: loads, instructions, stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    n_regs: usize,
    /// Registers 0 and 1 are `t` and `dt`; then one register per state
    /// variable and per parameter read (copied per block).
    loads: Vec<(u32, Input)>,
    /// Registers that hold a constant (filled once per run).
    consts: Vec<(u32, f32)>,
    code: Vec<Op>,
    /// State variable `i` ← register.
    stores: Vec<(usize, u32)>,
    /// The same program compiled to native code, where it could be.
    native: NativeCode,
}

/// A program's native code, shared by its clones; programs compare equal
/// whatever their code (it computes what the interpreter does).
#[derive(Debug, Clone, Default)]
struct NativeCode(Option<std::sync::Arc<super::native::Native>>);

impl PartialEq for NativeCode {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The per-step values a program reads besides state and parameters.
#[derive(Debug, Clone, Copy)]
pub struct StepEnv<'a> {
    /// Time at the start of the step, ms.
    pub t: f32,
    /// Step, ms.
    pub dt: f32,
    /// Step number (keys the draws).
    pub step: u64,
    /// The draws' generator and stream, where the program draws.
    pub rng: Option<(&'a CounterRng, u32)>,
}

impl Program {
    /// Compiles `assigns`: `names` says where every name that is not assigned
    /// before it is read comes from (`t` and `dt` are built in). Assigning a
    /// state variable stores it at the end.
    pub fn compile(
        assigns: &[Assign],
        names: &HashMap<String, Input>,
    ) -> Result<Self, CompileError> {
        Self::compile_at(assigns, names, 0)
    }

    /// [`Self::compile`] with the draws numbered from `first_site` (so that
    /// the programs of one model draw apart).
    pub fn compile_at(
        assigns: &[Assign],
        names: &HashMap<String, Input>,
        first_site: u8,
    ) -> Result<Self, CompileError> {
        Self::compile_segments(&[(assigns, first_site)], names)
    }

    /// One program of several lists of assignments run one after the other,
    /// the draws of each numbered from its own first site (so the program
    /// draws what the lists compiled apart would).
    pub fn compile_segments(
        segments: &[(&[Assign], u8)],
        names: &HashMap<String, Input>,
    ) -> Result<Self, CompileError> {
        let mut c = Compiler {
            regs: HashMap::new(),
            n_regs: 2,
            loads: vec![],
            code: vec![],
            names,
            draws: 0,
        };
        c.regs.insert("t".into(), 0);
        c.regs.insert("dt".into(), 1);
        let mut stores = Vec::new();
        for (a, first_site) in segments.iter().flat_map(|(assigns, site)| {
            assigns
                .iter()
                .enumerate()
                .map(move |(k, a)| (a, (k == 0).then_some(*site)))
        }) {
            if let Some(site) = first_site {
                c.draws = usize::from(site);
            }
            // Registers are written once (the program is in SSA form), so a
            // name can alias its value's register.
            let reg = match c.expr(&a.expr)? {
                Arg::Reg(r) => r,
                Arg::Imm(v) => {
                    let r = c.fresh();
                    c.loads.push((r, Input::Const(v)));
                    r
                }
            };
            c.regs.insert(a.target.clone(), reg);
            if let Some(Input::State(i)) = names.get(&a.target) {
                stores.retain(|s: &(usize, u32)| s.0 != *i);
                stores.push((*i, reg));
            }
        }
        Ok(c.lower(stores))
    }

    /// The program without its native code: every run interprets it.
    pub fn interpreted(mut self) -> Self {
        self.native = NativeCode(None);
        self
    }

    /// Whether runs execute native code rather than the interpreter.
    pub fn is_native(&self) -> bool {
        self.native.0.is_some()
    }

    pub(super) fn n_regs(&self) -> usize {
        self.n_regs
    }

    pub(super) fn consts(&self) -> &[(u32, f32)] {
        &self.consts
    }

    pub(super) fn loads(&self) -> &[(u32, Input)] {
        &self.loads
    }

    pub(super) fn code(&self) -> &[Op] {
        &self.code
    }

    pub(super) fn stores(&self) -> &[(usize, u32)] {
        &self.stores
    }

    /// The arrays the program reads (state and parameters, in load order)
    /// and the state arrays it writes.
    pub(super) fn arrays(&self) -> (Vec<Input>, Vec<usize>) {
        (
            self.loads.iter().map(|l| l.1).collect(),
            self.stores.iter().map(|s| s.0).collect(),
        )
    }

    /// Whether the program loads parameter `i`.
    pub fn reads_param(&self, i: usize) -> bool {
        self.loads.iter().any(|l| l.1 == Input::Param(i))
    }

    /// Whether the program loads or stores state variable `i`.
    pub fn touches_state(&self, i: usize) -> bool {
        self.loads.iter().any(|l| l.1 == Input::State(i)) || self.stores.iter().any(|s| s.0 == i)
    }

    /// Whether the program draws random numbers.
    pub fn draws(&self) -> bool {
        self.code.iter().any(|i| matches!(i, Op::Draw(..)))
    }

    /// Runs the program on neurons `0..n` (every slice at least `n` long):
    /// `state[i]` and `params[i]` are the arrays of state variable and parameter
    /// `i`; `first` is the first neuron's index in the population (keys draws).
    pub fn run(
        &self,
        state: &mut [&mut [f32]],
        params: &[&[f32]],
        n: usize,
        first: u32,
        env: &StepEnv,
    ) {
        self.run_indexed(state, params, n, &|j| first + j as u32, env);
    }

    /// [`Self::run`] where neuron `j` of the arrays is neuron `index(j)` of the
    /// population (the key of its draws): for arrays gathered from a few neurons.
    pub fn run_indexed(
        &self,
        state: &mut [&mut [f32]],
        params: &[&[f32]],
        n: usize,
        index: &dyn Fn(usize) -> u32,
        env: &StepEnv,
    ) {
        if let Some(native) = &self.native.0 {
            native.run(self, state, params, n, env.t, env.dt);
            return;
        }
        let mut regs = REGS.with(|r| r.take());
        // Every register is written before it is read (lanes past the end of
        // the last block included), so old contents need no clearing.
        if regs.len() < self.n_regs {
            regs.resize(self.n_regs, [0.0; LANES]);
        }
        regs[0] = [env.t; LANES];
        regs[1] = [env.dt; LANES];
        for &(r, v) in &self.consts {
            regs[r as usize] = [v; LANES];
        }
        let mut base = 0;
        while base < n {
            let len = LANES.min(n - base);
            for &(r, input) in &self.loads {
                let src = match input {
                    Input::State(i) => &state[i][base..base + len],
                    Input::Param(i) => &params[i][base..base + len],
                    Input::Const(_) => unreachable!("constants are not loaded per block"),
                };
                let lane = &mut regs[r as usize];
                lane[..len].copy_from_slice(src);
                if len < LANES {
                    // The last block computes all lanes: keep the unused ones
                    // defined.
                    lane[len..].fill(0.0);
                }
            }
            for op in &self.code {
                exec(op, &mut regs, len, base, index, env);
            }
            for &(i, r) in &self.stores {
                state[i][base..base + len].copy_from_slice(&regs[r as usize][..len]);
            }
            base += len;
        }
        REGS.with(|r| r.set(regs));
    }
}

struct Compiler<'a> {
    regs: HashMap<String, u32>,
    n_regs: usize,
    loads: Vec<(u32, Input)>,
    code: Vec<Instr>,
    names: &'a HashMap<String, Input>,
    draws: usize,
}

impl Compiler<'_> {
    /// Resolves the operand kinds of the code ([`Op`]) and moves constant
    /// loads out of the per-block loads.
    fn lower(mut self, stores: Vec<(usize, u32)>) -> Program {
        let mut consts: Vec<(u32, f32)> = vec![];
        let mut loads = vec![];
        for (r, input) in std::mem::take(&mut self.loads) {
            match input {
                Input::Const(v) => consts.push((r, v)),
                _ => loads.push((r, input)),
            }
        }
        let mut n_regs = self.n_regs;
        // One register per distinct constant (by bits) an operand needs.
        let mut reg = |a: Arg| match a {
            Arg::Reg(r) => r,
            Arg::Imm(v) => match consts.iter().find(|c| c.1.to_bits() == v.to_bits()) {
                Some(&(r, _)) => r,
                None => {
                    n_regs += 1;
                    let r = (n_regs - 1) as u32;
                    consts.push((r, v));
                    r
                }
            },
        };
        let code = std::mem::take(&mut self.code)
            .into_iter()
            .map(|ins| match ins {
                Instr::Un(op, a, d) => Op::Un(op, reg(a), d),
                Instr::Bin(op, Arg::Reg(a), Arg::Imm(b), d) => Op::BinRI(op, a, b, d),
                Instr::Bin(op, Arg::Imm(a), Arg::Reg(b), d) => Op::BinIR(op, a, b, d),
                Instr::Bin(op, a, b, d) => {
                    let a = reg(a);
                    match b {
                        Arg::Imm(b) => Op::BinRI(op, a, b, d),
                        Arg::Reg(b) => Op::BinRR(op, a, b, d),
                    }
                }
                Instr::Call(f, args, d) => Op::Call(f, args.map(&mut reg), d),
                Instr::Select(c, a, b, d) => Op::Select(reg(c), reg(a), reg(b), d),
                Instr::Draw(f, site, d) => Op::Draw(f, site, d),
            })
            .collect();
        let mut program = Program {
            n_regs,
            loads,
            consts,
            code,
            stores,
            native: NativeCode::default(),
        };
        program.native = NativeCode(super::native::Native::compile(&program).map(Into::into));
        program
    }

    fn fresh(&mut self) -> u32 {
        self.n_regs += 1;
        (self.n_regs - 1) as u32
    }

    fn expr(&mut self, e: &Expr) -> Result<Arg, CompileError> {
        Ok(match e {
            Expr::Num(v, _) => Arg::Imm(*v as f32),
            Expr::Var(n, _) => {
                if let Some(&r) = self.regs.get(n) {
                    return Ok(Arg::Reg(r));
                }
                let input = *self
                    .names
                    .get(n)
                    .ok_or_else(|| CompileError(format!("unknown name '{n}'")))?;
                if let Input::Const(v) = input {
                    return Ok(Arg::Imm(v));
                }
                let r = self.fresh();
                self.loads.push((r, input));
                self.regs.insert(n.clone(), r);
                Arg::Reg(r)
            }
            Expr::Unary(op, a, _) => {
                let a = self.expr(a)?;
                let d = self.fresh();
                self.code.push(Instr::Un(*op, a, d));
                Arg::Reg(d)
            }
            Expr::Binary(op, a, b, _) => {
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                let d = self.fresh();
                self.code.push(Instr::Bin(*op, a, b, d));
                Arg::Reg(d)
            }
            Expr::Call(f @ (Func::Uniform | Func::Normal), _, _) => {
                let site = u8::try_from(self.draws)
                    .map_err(|_| CompileError("more than 256 random draws in one step".into()))?;
                self.draws += 1;
                let d = self.fresh();
                self.code.push(Instr::Draw(*f, site, d));
                Arg::Reg(d)
            }
            Expr::Call(f, args, _) => {
                let mut a = [Arg::Imm(0.0); 3];
                for (slot, arg) in a.iter_mut().zip(args) {
                    *slot = self.expr(arg)?;
                }
                let d = self.fresh();
                self.code.push(Instr::Call(*f, a, d));
                Arg::Reg(d)
            }
            Expr::If(c, a, b, _) => {
                let c = self.expr(c)?;
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                let d = self.fresh();
                self.code.push(Instr::Select(c, a, b, d));
                Arg::Reg(d)
            }
        })
    }
}

#[inline]
fn truth(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

/// One scalar operation: the same IEEE operation the WGSL generator emits.
#[inline]
pub fn binary(op: BinOp, a: f32, b: f32) -> f32 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        // GPUs may round a division differently: the shared sequence cannot.
        BinOp::Div => super::math::div(a, b),
        BinOp::Lt => truth(a < b),
        BinOp::Le => truth(a <= b),
        BinOp::Gt => truth(a > b),
        BinOp::Ge => truth(a >= b),
        BinOp::Eq => truth(a == b),
        BinOp::Ne => truth(a != b),
        BinOp::And => truth(a != 0.0 && b != 0.0),
        BinOp::Or => truth(a != 0.0 || b != 0.0),
    }
}

/// A function of up to three arguments: the shared sequences of
/// [`super::math`], which the WGSL library repeats operation for operation.
#[inline]
pub fn call(f: Func, a: f32, b: f32, c: f32) -> f32 {
    use super::math;
    match f {
        Func::Exp => math::exp(a),
        Func::Log => math::log(a),
        Func::Sqrt => math::sqrt(a),
        Func::Pow => math::pow(a, b),
        Func::Abs => math::abs(a),
        Func::Min => math::min(a, b),
        Func::Max => math::max(a, b),
        Func::Clip => math::clip(a, b, c),
        Func::Tanh => math::tanh(a),
        Func::Sin => math::sin(a),
        Func::Cos => math::cos(a),
        Func::Floor => math::floor(a),
        Func::Uniform | Func::Normal => f32::NAN,
    }
}

/// One operand of an element-wise loop: a register or an immediate.
trait Lanes: Copy {
    fn at(self, j: usize) -> f32;
}

impl Lanes for &Block {
    #[inline(always)]
    fn at(self, j: usize) -> f32 {
        self[j]
    }
}

impl Lanes for f32 {
    #[inline(always)]
    fn at(self, _: usize) -> f32 {
        self
    }
}

/// `d[j] = f(a[j], b[j])` over the whole block (a fixed trip count without
/// bounds checks, which LLVM vectorises).
#[inline(always)]
fn each2(d: &mut Block, a: impl Lanes, b: impl Lanes, f: impl Fn(f32, f32) -> f32) {
    for (j, out) in d.iter_mut().enumerate() {
        *out = f(a.at(j), b.at(j));
    }
}

/// `d = a op b`, one loop per operation: `binary` with a constant `op` folds
/// to the single operation.
#[inline(always)]
fn bin_block(op: BinOp, a: impl Lanes, b: impl Lanes, d: &mut Block) {
    macro_rules! arms {
        ($($o:ident),*) => {
            match op {
                $(BinOp::$o => each2(d, a, b, |x, y| binary(BinOp::$o, x, y)),)*
            }
        };
    }
    arms!(Add, Sub, Mul, Div, Lt, Le, Gt, Ge, Eq, Ne, And, Or)
}

/// Splits the registers into the destination `d` and the others, which the
/// returned function reads (SSA: no operand is its own destination).
fn split<'a>(regs: &'a mut [Block], d: u32) -> (&'a mut Block, impl Fn(u32) -> &'a Block + 'a) {
    let d = d as usize;
    let (lo, rest) = regs.split_at_mut(d);
    let (dst, hi) = rest.split_first_mut().expect("destination register");
    let (lo, hi): (&[Block], &[Block]) = (lo, hi);
    (dst, move |r: u32| {
        let r = r as usize;
        if r < d { &lo[r] } else { &hi[r - d - 1] }
    })
}

fn exec(
    op: &Op,
    regs: &mut [Block],
    len: usize,
    base: usize,
    index: &dyn Fn(usize) -> u32,
    env: &StepEnv,
) {
    match *op {
        Op::Un(op, a, d) => {
            let (d, r) = split(regs, d);
            let a = r(a);
            match op {
                UnOp::Neg => each2(d, a, 0.0, |x, _| -x),
                UnOp::Not => each2(d, a, 0.0, |x, _| truth(x == 0.0)),
            }
        }
        Op::BinRR(op, a, b, d) => {
            let (d, r) = split(regs, d);
            bin_block(op, r(a), r(b), d);
        }
        Op::BinRI(op, a, b, d) => {
            let (d, r) = split(regs, d);
            bin_block(op, r(a), b, d);
        }
        Op::BinIR(op, a, b, d) => {
            let (d, r) = split(regs, d);
            bin_block(op, a, r(b), d);
        }
        Op::Call(f, [a, b, c], d) => {
            let (d, r) = split(regs, d);
            let (a, b, c) = (r(a), r(b), r(c));
            macro_rules! arms {
                ($($f:ident),*) => {
                    match f {
                        $(Func::$f => {
                            for (j, out) in d.iter_mut().enumerate() {
                                *out = call(Func::$f, a[j], b[j], c[j]);
                            }
                        })*
                    }
                };
            }
            arms!(
                Exp, Log, Sqrt, Pow, Abs, Min, Max, Clip, Tanh, Sin, Cos, Floor, Uniform, Normal
            )
        }
        Op::Select(c, a, b, d) => {
            let (d, r) = split(regs, d);
            let (c, a, b) = (r(c), r(a), r(b));
            for (j, out) in d.iter_mut().enumerate() {
                *out = if c[j] != 0.0 { a[j] } else { b[j] };
            }
        }
        Op::Draw(f, site, d) => {
            let out = &mut regs[d as usize];
            out[len..].fill(0.0);
            let Some((rng, stream)) = env.rng else {
                out[..len].fill(f32::NAN);
                return;
            };
            for (j, out) in out[..len].iter_mut().enumerate() {
                let word = rng.block(stream, site, env.step, index(base + j))[0];
                *out = match f {
                    Func::Normal => normal_f32(word),
                    _ => unit_f32(word),
                };
            }
        }
    }
}
