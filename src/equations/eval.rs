//! The CPU interpreter: straight-line assignments compiled to a register
//! program and run over blocks of neurons.
//!
//! Each instruction runs over a block of [`LANES`] neurons before the next
//! starts, so the dispatch costs once per block and the inner loops are plain
//! element-wise f32 loops. Every operation is one IEEE f32 operation (or one of
//! the shared function sequences of [`super::math`]) in the order of the tree,
//! which is the order the generated WGSL uses.
use super::ast::{BinOp, Expr, Func, UnOp};
use super::integrate::Assign;
use crate::rng::{CounterRng, normal_f32, unit_f32};
use std::collections::HashMap;

/// Neurons per block.
pub const LANES: usize = 64;

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

#[derive(Debug, Clone, PartialEq)]
enum Instr {
    Un(UnOp, Arg, u32),
    Bin(BinOp, Arg, Arg, u32),
    Call(Func, [Arg; 3], u32),
    Select(Arg, Arg, Arg, u32),
    /// A counter-based draw; `site` keys it apart from the other draws.
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
    /// variable and per parameter read.
    loads: Vec<(u32, Input)>,
    code: Vec<Instr>,
    /// State variable `i` ← register.
    stores: Vec<(usize, u32)>,
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
        let mut c = Compiler {
            regs: HashMap::new(),
            n_regs: 2,
            loads: vec![],
            code: vec![],
            names,
            draws: usize::from(first_site),
        };
        c.regs.insert("t".into(), 0);
        c.regs.insert("dt".into(), 1);
        let mut stores = Vec::new();
        for a in assigns {
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
        Ok(Program {
            n_regs: c.n_regs,
            loads: c.loads,
            code: c.code,
            stores,
        })
    }

    /// Whether the program draws random numbers.
    pub fn draws(&self) -> bool {
        self.code.iter().any(|i| matches!(i, Instr::Draw(..)))
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
        let mut regs = vec![[0f32; LANES]; self.n_regs];
        let mut base = 0;
        while base < n {
            let len = LANES.min(n - base);
            regs[0] = [env.t; LANES];
            regs[1] = [env.dt; LANES];
            for &(r, input) in &self.loads {
                let lane = &mut regs[r as usize];
                match input {
                    Input::State(i) => lane[..len].copy_from_slice(&state[i][base..base + len]),
                    Input::Param(i) => lane[..len].copy_from_slice(&params[i][base..base + len]),
                    Input::Const(v) => *lane = [v; LANES],
                }
            }
            for ins in &self.code {
                exec(ins, &mut regs, len, &|j| index(base + j), env);
            }
            for &(i, r) in &self.stores {
                state[i][base..base + len].copy_from_slice(&regs[r as usize][..len]);
            }
            base += len;
        }
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

fn truth(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

/// One scalar operation: the same IEEE operation the WGSL generator emits.
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

#[inline]
fn get(regs: &[[f32; LANES]], a: Arg, j: usize) -> f32 {
    match a {
        Arg::Reg(r) => regs[r as usize][j],
        Arg::Imm(v) => v,
    }
}

fn exec(
    ins: &Instr,
    regs: &mut [[f32; LANES]],
    len: usize,
    index: &dyn Fn(usize) -> u32,
    env: &StepEnv,
) {
    match *ins {
        Instr::Un(op, a, d) => {
            for j in 0..len {
                let x = get(regs, a, j);
                regs[d as usize][j] = match op {
                    UnOp::Neg => -x,
                    UnOp::Not => truth(x == 0.0),
                };
            }
        }
        Instr::Bin(op, a, b, d) => {
            for j in 0..len {
                let v = binary(op, get(regs, a, j), get(regs, b, j));
                regs[d as usize][j] = v;
            }
        }
        Instr::Call(f, [a, b, c], d) => {
            for j in 0..len {
                let v = call(f, get(regs, a, j), get(regs, b, j), get(regs, c, j));
                regs[d as usize][j] = v;
            }
        }
        Instr::Select(c, a, b, d) => {
            for j in 0..len {
                let v = if get(regs, c, j) != 0.0 {
                    get(regs, a, j)
                } else {
                    get(regs, b, j)
                };
                regs[d as usize][j] = v;
            }
        }
        Instr::Draw(f, site, d) => {
            let Some((rng, stream)) = env.rng else {
                regs[d as usize][..len].fill(f32::NAN);
                return;
            };
            for (j, out) in regs[d as usize][..len].iter_mut().enumerate() {
                let word = rng.block(stream, site, env.step, index(j))[0];
                *out = match f {
                    Func::Normal => normal_f32(word),
                    _ => unit_f32(word),
                };
            }
        }
    }
}
