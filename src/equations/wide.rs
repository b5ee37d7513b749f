//! Eight neurons per instruction on x86-64 with AVX2: the body of a
//! [`Program`] assembled into 256-bit code, for the whole groups of eight
//! (the remainder runs through Cranelift's code, [`super::native`]).
//!
//! Cranelift's x86-64 backend emits 128-bit vectors only, so its code does
//! twice the instructions per neuron of the built-in kernels. This file
//! assembles the same operations, in the same order, on eight lanes: the
//! results are the interpreter's bit for bit (tested below and in
//! `native.rs`). Only programs without division, functions and draws are
//! assembled here (those calls are per lane in any case), and only when the
//! arrays fit the general registers.
//!
//! Values live in the sixteen `ymm` registers, allocated over the
//! straight-line body by farthest next use (Belady); a value evicted while
//! still needed goes to a stack slot, and constants and spilled values are
//! read as memory operands where the instruction allows one. The registers
//! the body can spare hold its most used constants for the whole loop (as
//! many as lower its memory operations: loads and stores share few ports).
// dynasm! converts the register numbers it is given with `.into()`.
#![allow(clippy::useless_conversion)]
use super::ast::{BinOp, UnOp};
use super::eval::{Input, Op, Program};
use super::native::NeuronIo;
use dynasmrt::x64::Assembler;
use dynasmrt::{AssemblyOffset, DynasmApi, DynasmLabelApi, ExecutableBuffer, dynasm};
use std::collections::HashMap;

/// General registers that hold the arrays' base pointers (rcx, r8–r11, rbx,
/// rbp, r12–r15); rax is the index, rdx a scratch, rsi the constants and rdi
/// the arguments.
const BASES: [u8; 11] = [1, 8, 9, 10, 11, 3, 5, 12, 13, 14, 15];
const RSP: u8 = 4;
const RSI: u8 = 6;
const RDI: u8 = 7;
/// The finiteness accumulator; the allocator hands out ymm0–ymm14.
const ACC: u8 = 15;
const ALLOCATABLE: u8 = 15;

/// What [`Wide::run`] reads: `#[repr(C)]`, its offsets are in the code.
#[repr(C)]
pub(super) struct WideArgs {
    /// The arrays in [`Wide::arrays`]'s order.
    pub bases: [*mut u8; BASES.len()],
    /// The constants, eight copies each.
    pub consts: *const [u32; 8],
    /// Neurons to step: a multiple of eight.
    pub n: usize,
    /// `t`, `dt` and the rings' scales, eight copies each.
    pub t: [f32; 8],
    pub dt: [f32; 8],
    pub inv: [[f32; 8]; 2],
    /// Eight lanes, or-ed with `x - x` of every state value: zero when all
    /// were finite.
    pub finite: *mut [u32; 8],
    /// Where a neuron kernel appends the indices of the neurons that fired
    /// (room for `n`), and how many it appended.
    pub ids: *mut u32,
    pub count: usize,
}

const ARG_CONSTS: i32 = 8 * BASES.len() as i32;
const ARG_N: i32 = ARG_CONSTS + 8;
const ARG_T: i32 = ARG_N + 8;
const ARG_DT: i32 = ARG_T + 32;
const ARG_INV: i32 = ARG_DT + 32;
const ARG_FINITE: i32 = ARG_INV + 64;
const ARG_IDS: i32 = ARG_FINITE + 8;
const ARG_COUNT: i32 = ARG_IDS + 8;
const _: () = {
    assert!(std::mem::offset_of!(WideArgs, consts) == ARG_CONSTS as usize);
    assert!(std::mem::offset_of!(WideArgs, n) == ARG_N as usize);
    assert!(std::mem::offset_of!(WideArgs, t) == ARG_T as usize);
    assert!(std::mem::offset_of!(WideArgs, dt) == ARG_DT as usize);
    assert!(std::mem::offset_of!(WideArgs, inv) == ARG_INV as usize);
    assert!(std::mem::offset_of!(WideArgs, finite) == ARG_FINITE as usize);
    assert!(std::mem::offset_of!(WideArgs, ids) == ARG_IDS as usize);
    assert!(std::mem::offset_of!(WideArgs, count) == ARG_COUNT as usize);
};

/// An array the code reads or writes, in the order of [`WideArgs::bases`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Array {
    State(usize),
    Param(usize),
    /// Receptor `r`'s fixed-point ring.
    Ring(usize),
    /// The refractory clocks.
    Clocks,
}

/// The assembled code of one program.
pub(super) struct Wide {
    code: ExecutableBuffer,
    entry: AssemblyOffset,
    /// The arrays whose pointers [`WideArgs::bases`] holds.
    pub arrays: Vec<Array>,
    consts: Vec<[u32; 8]>,
}

impl std::fmt::Debug for Wide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wide")
    }
}

/// Whether this CPU runs the code (AVX2).
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

impl Wide {
    /// Assembles `program` (with a neuron kernel's `io`); `None` where it
    /// divides, calls a function or draws, or uses more arrays than there are
    /// registers for.
    pub fn compile(program: &Program, io: Option<&NeuronIo>) -> Option<Wide> {
        Self::compile_with(program, io, ALLOCATABLE)
    }

    /// [`Self::compile`] allocating only ymm0..ymm`registers` (at least
    /// four: the tests force spills with few).
    fn compile_with(program: &Program, io: Option<&NeuronIo>, registers: u8) -> Option<Wide> {
        assert!((4..=ALLOCATABLE).contains(&registers));
        if !available() {
            return None;
        }
        let mut b = Body::default();
        b.lower(program, io)?;
        if b.arrays.len() > BASES.len() {
            return None;
        }
        let (code, entry) = b.assemble(registers)?;
        Some(Wide {
            code,
            entry,
            arrays: b.arrays,
            consts: b.consts,
        })
    }

    /// Runs the code over `args.n` neurons (a multiple of eight).
    ///
    /// # Safety
    /// Each of `args.bases` points at an array of [`Self::arrays`] holding at
    /// least `args.n` values, arrays written do not overlap arrays read, and
    /// `args.finite` is writable.
    pub unsafe fn run(&self, args: &mut WideArgs) {
        debug_assert_eq!(args.n % 8, 0);
        args.consts = self.consts.as_ptr();
        // SAFETY: the code was assembled for this signature; the caller
        // vouches for the pointers.
        unsafe {
            let f: extern "sysv64" fn(*const WideArgs) =
                std::mem::transmute(self.code.ptr(self.entry));
            f(args)
        }
    }
}

/// A value of the body: computed by an instruction, or a constant read from
/// memory at `[base + offset]`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Home {
    Computed,
    Memory(u8, i32),
}

#[derive(Debug, Clone, Copy)]
enum Arith {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    IntEq,
    IntMaxU,
    IntSub,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `d = array[i..i+8]`.
    Load(usize),
    /// `array[i..i+8] = v`.
    Store(usize, usize),
    /// `d = a op b`.
    Arith(Arith, usize, usize),
    /// `d = a cmp b` with the `vcmpps` predicate.
    Cmp(i8, usize, usize),
    /// `d = mask ? t : f` (mask, f, t).
    Blend(usize, usize, usize),
    /// `d = a` as integers converted to floats.
    Cvt(usize),
    /// The accumulator |= `a - a` (`d` is a scratch register).
    Finite(usize),
    /// Appends `i + k` to the spike indices for each lane `k` set in `mask`.
    Spikes(usize),
}

impl Kind {
    /// The operands, and whether each must be in a register.
    fn operands(&self) -> Vec<(usize, bool)> {
        match *self {
            Kind::Load(_) => vec![],
            Kind::Store(_, v) => vec![(v, true)],
            Kind::Arith(_, a, b) => vec![(a, true), (b, false)],
            // vcmpps is encoded by hand, with both sources in registers.
            Kind::Cmp(_, a, b) => vec![(a, true), (b, true)],
            Kind::Blend(m, f, t) => vec![(m, true), (f, true), (t, false)],
            Kind::Cvt(a) => vec![(a, false)],
            Kind::Finite(a) | Kind::Spikes(a) => vec![(a, true)],
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Inst {
    kind: Kind,
    dest: Option<usize>,
}

/// The body as a straight list of eight-lane instructions.
#[derive(Default)]
struct Body {
    homes: Vec<Home>,
    insts: Vec<Inst>,
    arrays: Vec<Array>,
    consts: Vec<[u32; 8]>,
    pool: HashMap<u32, usize>,
    /// Per program register: its value as a number, and as a mask where it
    /// is a comparison's truth.
    number: Vec<Option<usize>>,
    mask: Vec<Option<usize>>,
}

const CMP_EQ: i8 = 0x00;
const CMP_LT: i8 = 0x01;
const CMP_LE: i8 = 0x02;
const CMP_NE: i8 = 0x04;
const CMP_GE: i8 = 0x0d;
const CMP_GT: i8 = 0x0e;

impl Body {
    fn value(&mut self, home: Home) -> usize {
        self.homes.push(home);
        self.homes.len() - 1
    }

    fn konst(&mut self, bits: u32) -> usize {
        if let Some(&v) = self.pool.get(&bits) {
            return v;
        }
        self.consts.push([bits; 8]);
        let v = self.value(Home::Memory(RSI, 32 * (self.consts.len() as i32 - 1)));
        self.pool.insert(bits, v);
        v
    }

    fn emit(&mut self, kind: Kind) -> usize {
        let d = self.value(Home::Computed);
        self.insts.push(Inst {
            kind,
            dest: Some(d),
        });
        d
    }

    fn array(&mut self, a: Array) -> usize {
        if let Some(k) = self.arrays.iter().position(|x| *x == a) {
            return k;
        }
        self.arrays.push(a);
        self.arrays.len() - 1
    }

    fn arith(&mut self, op: Arith, a: usize, b: usize) -> usize {
        // A constant first operand of a commutative operation goes second,
        // where it can be read from memory.
        let commutes = matches!(op, Arith::Add | Arith::Mul | Arith::And | Arith::Or);
        let (a, b) = if commutes && self.homes[a] != Home::Computed {
            (b, a)
        } else {
            (a, b)
        };
        self.emit(Kind::Arith(op, a, b))
    }

    /// Program register `r` as a number (a comparison's 1.0/0.0 made from
    /// its mask where first needed).
    fn number(&mut self, r: u32) -> usize {
        let r = r as usize;
        if let Some(v) = self.number[r] {
            return v;
        }
        let m = self.mask[r].expect("SSA: read after write");
        let one = self.konst(1.0f32.to_bits());
        let v = self.arith(Arith::And, m, one);
        self.number[r] = Some(v);
        v
    }

    /// `r != 0.0` as a mask.
    fn nonzero(&mut self, r: u32) -> usize {
        if let Some(m) = self.mask[r as usize] {
            return m;
        }
        let a = self.number(r);
        let zero = self.konst(0);
        self.emit(Kind::Cmp(CMP_NE, a, zero))
    }

    fn set_number(&mut self, r: u32, v: usize) {
        self.number[r as usize] = Some(v);
        self.mask[r as usize] = None;
    }

    fn set_mask(&mut self, r: u32, m: usize) {
        self.number[r as usize] = None;
        self.mask[r as usize] = Some(m);
    }

    fn binary(&mut self, op: BinOp, d: u32, a: Operand, b: Operand) -> Option<()> {
        let cmp = |p: i8| Some(p);
        let pred = match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul => None,
            BinOp::Div => return None,
            BinOp::And | BinOp::Or => {
                let ma = self.operand_mask(a);
                let mb = self.operand_mask(b);
                let op = if op == BinOp::And {
                    Arith::And
                } else {
                    Arith::Or
                };
                let m = self.arith(op, ma, mb);
                self.set_mask(d, m);
                return Some(());
            }
            BinOp::Lt => cmp(CMP_LT),
            BinOp::Le => cmp(CMP_LE),
            BinOp::Gt => cmp(CMP_GT),
            BinOp::Ge => cmp(CMP_GE),
            BinOp::Eq => cmp(CMP_EQ),
            BinOp::Ne => cmp(CMP_NE),
        };
        let (a, b) = (self.operand(a), self.operand(b));
        match pred {
            Some(p) => {
                let m = self.emit(Kind::Cmp(p, a, b));
                self.set_mask(d, m);
            }
            None => {
                let arith = match op {
                    BinOp::Add => Arith::Add,
                    BinOp::Sub => Arith::Sub,
                    _ => Arith::Mul,
                };
                let v = self.arith(arith, a, b);
                self.set_number(d, v);
            }
        }
        Some(())
    }

    fn operand(&mut self, o: Operand) -> usize {
        match o {
            Operand::Reg(r) => self.number(r),
            Operand::Imm(x) => self.konst(x.to_bits()),
        }
    }

    fn operand_mask(&mut self, o: Operand) -> usize {
        match o {
            Operand::Reg(r) => self.nonzero(r),
            Operand::Imm(x) => {
                let bits = if x != 0.0 { u32::MAX } else { 0 };
                self.konst(bits)
            }
        }
    }

    /// The program as eight-lane instructions, the kernel's work included
    /// (as [`super::native`]'s `Lane::body`).
    fn lower(&mut self, program: &Program, io: Option<&NeuronIo>) -> Option<()> {
        if program.draws() {
            return None;
        }
        let n = program.n_regs();
        self.number = vec![None; n];
        self.mask = vec![None; n];
        self.number[0] = Some(self.value(Home::Memory(RDI, ARG_T)));
        self.number[1] = Some(self.value(Home::Memory(RDI, ARG_DT)));
        for &(r, x) in program.consts() {
            let v = self.konst(x.to_bits());
            self.number[r as usize] = Some(v);
        }
        let clock = io.map(|_| {
            let k = self.array(Array::Clocks);
            let clock = self.emit(Kind::Load(k));
            let zero = self.konst(0);
            (clock, self.emit(Kind::Arith(Arith::IntEq, clock, zero)))
        });
        let mut state_values: Vec<(usize, usize)> = vec![];
        for &(r, input) in program.loads() {
            match (io, input) {
                (Some(io), Input::Param(i)) if i == io.awake => {
                    let (_, awake) = clock.expect("a kernel loads its clocks");
                    self.set_mask(r, awake);
                }
                (Some(io), Input::Param(i)) if io.rings.contains(&i) => {
                    let slot = usize::from(io.rings[1] == i);
                    let k = self.array(Array::Ring(slot));
                    let raw = self.emit(Kind::Load(k));
                    let zero = self.konst(0);
                    self.insts.push(Inst {
                        kind: Kind::Store(k, zero),
                        dest: None,
                    });
                    let x = self.emit(Kind::Cvt(raw));
                    let inv = self.value(Home::Memory(RDI, ARG_INV + 32 * slot as i32));
                    let v = self.arith(Arith::Mul, x, inv);
                    self.set_number(r, v);
                }
                (_, Input::Const(x)) => {
                    let v = self.konst(x.to_bits());
                    self.set_number(r, v);
                }
                (_, Input::State(i)) => {
                    let k = self.array(Array::State(i));
                    let v = self.emit(Kind::Load(k));
                    state_values.push((i, v));
                    self.set_number(r, v);
                }
                (_, Input::Param(i)) => {
                    let k = self.array(Array::Param(i));
                    let v = self.emit(Kind::Load(k));
                    self.set_number(r, v);
                }
            }
        }
        for op in program.code() {
            match *op {
                Op::Un(UnOp::Neg, a, d) => {
                    let a = self.number(a);
                    let sign = self.konst(0x8000_0000);
                    let v = self.arith(Arith::Xor, a, sign);
                    self.set_number(d, v);
                }
                Op::Un(UnOp::Not, a, d) => {
                    let a = self.number(a);
                    let zero = self.konst(0);
                    let m = self.emit(Kind::Cmp(CMP_EQ, a, zero));
                    self.set_mask(d, m);
                }
                Op::BinRR(op, a, b, d) => self.binary(op, d, Operand::Reg(a), Operand::Reg(b))?,
                Op::BinRI(op, a, b, d) => self.binary(op, d, Operand::Reg(a), Operand::Imm(b))?,
                Op::BinIR(op, a, b, d) => self.binary(op, d, Operand::Imm(a), Operand::Reg(b))?,
                Op::Select(c, a, b, d) => {
                    let m = self.nonzero(c);
                    let (t, f) = (self.number(a), self.number(b));
                    let v = self.emit(Kind::Blend(m, f, t));
                    self.set_number(d, v);
                }
                Op::Call(..) | Op::Draw(..) => return None,
            }
        }
        for &(i, r) in program.stores() {
            let k = self.array(Array::State(i));
            let v = match (io, clock) {
                (Some(io), Some((clock, awake))) if i == io.spike => {
                    // The clocks: a neuron fires when awake and over threshold;
                    // the others count down to zero (max(c, 1) - 1).
                    let over = self.nonzero(r);
                    let fired = self.arith(Arith::And, awake, over);
                    let one = self.konst(1);
                    let down = self.emit(Kind::Arith(Arith::IntMaxU, clock, one));
                    let down = self.emit(Kind::Arith(Arith::IntSub, down, one));
                    let refr = self.konst(io.refractory_steps);
                    let next = self.emit(Kind::Blend(fired, down, refr));
                    let c = self.array(Array::Clocks);
                    self.insts.push(Inst {
                        kind: Kind::Store(c, next),
                        dest: None,
                    });
                    // The spikes go to the index list, not the spike slot:
                    // one store per group fewer (stores bound this loop).
                    self.insts.push(Inst {
                        kind: Kind::Spikes(fired),
                        dest: None,
                    });
                    continue;
                }
                _ => {
                    let v = self.number(r);
                    state_values.retain(|s| s.0 != i);
                    state_values.push((i, v));
                    v
                }
            };
            self.insts.push(Inst {
                kind: Kind::Store(k, v),
                dest: None,
            });
        }
        if io.is_some() {
            for (_, v) in state_values {
                self.emit(Kind::Finite(v));
            }
        }
        Some(())
    }

    /// The values read from memory (constants, `t`, `dt`, the rings' scales)
    /// to keep in registers for the whole loop, loaded once before it: the
    /// most used first, as many as lower the body's memory operations (its
    /// reads of constants and its spills), counted by allocating the body
    /// with the registers left.
    fn pins(&self, registers: u8) -> Option<Vec<usize>> {
        let mut count = vec![0usize; self.homes.len()];
        for inst in &self.insts {
            for (v, _) in inst.kind.operands() {
                count[v] += 1;
            }
        }
        let mut candidates: Vec<usize> = (0..self.homes.len())
            .filter(|&v| self.homes[v] != Home::Computed && count[v] > 0)
            .collect();
        // Most used first; ties in order of creation (deterministic).
        candidates.sort_by_key(|&v| std::cmp::Reverse(count[v]));
        let most = candidates.len().min(usize::from(registers) - 4);
        let mut scratch = Assembler::new().ok()?;
        let k = (0..=most)
            .min_by_key(|&k| {
                let mut a = Alloc::new(self, registers - k as u8, &candidates[..k]);
                a.run(&mut scratch);
                a.memory_ops
            })
            .unwrap_or(0);
        candidates.truncate(k);
        Some(candidates)
    }

    /// Allocates registers and assembles the function.
    fn assemble(&self, registers: u8) -> Option<(ExecutableBuffer, AssemblyOffset)> {
        let pins = self.pins(registers)?;
        let mut ops = Assembler::new().ok()?;
        let entry = ops.offset();
        let frame = 32 * self.homes.len() as i32;
        dynasm!(ops
            ; .arch x64
            ; push rbx
            ; push rbp
            ; push r12
            ; push r13
            ; push r14
            ; push r15
            ; sub rsp, frame
        );
        for (k, &r) in BASES.iter().enumerate().take(self.arrays.len()) {
            dynasm!(ops ; .arch x64 ; mov Rq(r), [rdi + 8 * k as i32]);
        }
        let top = ops.new_dynamic_label();
        let done = ops.new_dynamic_label();
        dynasm!(ops
            ; .arch x64
            ; mov rsi, [rdi + ARG_CONSTS]
            ; xor eax, eax
            ; vxorps ymm15, ymm15, ymm15
        );
        let body = registers - pins.len() as u8;
        for (k, &v) in pins.iter().enumerate() {
            let Home::Memory(base, off) = self.homes[v] else {
                unreachable!("only values read from memory are pinned")
            };
            let r = body + k as u8;
            dynasm!(ops ; .arch x64 ; vmovups Ry(r), [Rq(base) + off]);
        }
        dynasm!(ops
            ; .arch x64
            ; =>top
            ; cmp rax, [rdi + ARG_N]
            ; jae =>done
        );
        Alloc::new(self, body, &pins).run(&mut ops);
        dynasm!(ops
            ; .arch x64
            ; add rax, 8
            ; jmp =>top
            ; =>done
            ; mov rcx, [rdi + ARG_FINITE]
            ; vmovdqu [rcx], ymm15
            ; vzeroupper
            ; add rsp, frame
            ; pop r15
            ; pop r14
            ; pop r13
            ; pop r12
            ; pop rbp
            ; pop rbx
            ; ret
        );
        let code = ops.finalize().ok()?;
        Some((code, entry))
    }
}

#[derive(Clone, Copy)]
enum Operand {
    Reg(u32),
    Imm(f32),
}

/// Where an operand is read from: a register or `[base + offset]`.
#[derive(Clone, Copy)]
enum Place {
    Reg(u8),
    Mem(u8, i32),
}

/// Register allocation over the body, emitting as it goes.
struct Alloc<'a> {
    body: &'a Body,
    /// Per value: its uses (instruction indices, ascending) and how many
    /// are past.
    uses: Vec<Vec<usize>>,
    cursor: Vec<usize>,
    reg: Vec<Option<u8>>,
    slot: Vec<Option<i32>>,
    holder: [Option<usize>; ALLOCATABLE as usize],
    registers: u8,
    slots: i32,
    /// Values kept in the registers past `registers` for the whole loop.
    pinned: Vec<bool>,
    /// Reads and writes of memory the body does: constants and spilled
    /// values read, spills written.
    memory_ops: usize,
}

impl<'a> Alloc<'a> {
    /// Allocates ymm0..ymm`registers` to the body; `pins[k]` stays in
    /// ymm(`registers + k`).
    fn new(body: &'a Body, registers: u8, pins: &[usize]) -> Self {
        let n = body.homes.len();
        let mut uses = vec![vec![]; n];
        for (p, inst) in body.insts.iter().enumerate() {
            for (v, _) in inst.kind.operands() {
                uses[v].push(p);
            }
        }
        let mut reg = vec![None; n];
        let mut pinned = vec![false; n];
        for (k, &v) in pins.iter().enumerate() {
            reg[v] = Some(registers + k as u8);
            pinned[v] = true;
        }
        Alloc {
            body,
            uses,
            cursor: vec![0; n],
            reg,
            slot: vec![None; n],
            holder: [None; ALLOCATABLE as usize],
            registers,
            slots: 0,
            pinned,
            memory_ops: 0,
        }
    }

    fn next_use(&self, v: usize) -> Option<usize> {
        self.uses[v].get(self.cursor[v]).copied()
    }

    /// A register not in `locked`: a free one, or the one whose value is
    /// needed farthest ahead (stored to its slot if it is needed again).
    fn take(&mut self, ops: &mut Assembler, locked: &[u8]) -> u8 {
        let mut best: Option<(u8, usize)> = None;
        for r in 0..self.registers {
            if locked.contains(&r) {
                continue;
            }
            let Some(v) = self.holder[r as usize] else {
                return r;
            };
            let far = self.next_use(v).unwrap_or(usize::MAX);
            if best.is_none_or(|(_, f)| far > f) {
                best = Some((r, far));
            }
        }
        let (r, far) = best.expect("fewer operands than registers");
        let v = self.holder[r as usize].take().expect("a held register");
        self.reg[v] = None;
        if far != usize::MAX && self.body.homes[v] == Home::Computed && self.slot[v].is_none() {
            let off = 32 * self.slots;
            self.slots += 1;
            self.slot[v] = Some(off);
            self.memory_ops += 1;
            dynasm!(ops ; .arch x64 ; vmovups [rsp + off], Ry(r));
        }
        r
    }

    fn place(&self, v: usize) -> Place {
        if let Some(r) = self.reg[v] {
            return Place::Reg(r);
        }
        match self.body.homes[v] {
            Home::Memory(base, off) => Place::Mem(base, off),
            Home::Computed => Place::Mem(RSP, self.slot[v].expect("a spilled value has a slot")),
        }
    }

    /// Puts `v` in a register.
    fn load(&mut self, ops: &mut Assembler, v: usize, locked: &mut Vec<u8>) -> u8 {
        if let Some(r) = self.reg[v] {
            locked.push(r);
            return r;
        }
        let r = self.take(ops, locked);
        self.memory_ops += 1;
        match self.place(v) {
            Place::Mem(base, off) => dynasm!(ops ; .arch x64 ; vmovups Ry(r), [Rq(base) + off]),
            Place::Reg(_) => unreachable!("not in a register"),
        }
        self.reg[v] = Some(r);
        self.holder[r as usize] = Some(v);
        locked.push(r);
        r
    }

    fn run(&mut self, ops: &mut Assembler) {
        for p in 0..self.body.insts.len() {
            let inst = self.body.insts[p];
            let operands = inst.kind.operands();
            let mut locked = vec![];
            for &(v, reg) in &operands {
                if reg || self.reg[v].is_some() {
                    self.load(ops, v, &mut locked);
                }
            }
            let places: Vec<Place> = operands.iter().map(|&(v, _)| self.place(v)).collect();
            self.memory_ops += places
                .iter()
                .filter(|p| matches!(p, Place::Mem(..)))
                .count();
            // Operands used for the last time free their registers, which
            // the result may then take.
            for &(v, _) in &operands {
                while self.cursor[v] < self.uses[v].len() && self.uses[v][self.cursor[v]] <= p {
                    self.cursor[v] += 1;
                }
            }
            let mut live = vec![];
            for &(v, _) in &operands {
                if let Some(r) = self.reg[v] {
                    if self.pinned[v] {
                        continue;
                    }
                    if self.next_use(v).is_none() {
                        self.reg[v] = None;
                        self.holder[r as usize] = None;
                    } else {
                        live.push(r);
                    }
                }
            }
            let d = inst.dest.map(|d| {
                let r = self.take(ops, &live);
                self.reg[d] = Some(r);
                self.holder[r as usize] = Some(d);
                r
            });
            emit(ops, inst.kind, d, &places);
            if let Some(d) = inst.dest
                && self.uses[d].is_empty()
            {
                let r = self.reg[d].take().expect("just assigned");
                self.holder[r as usize] = None;
            }
        }
        // Nothing lives across iterations.
        for h in self.holder.iter_mut() {
            *h = None;
        }
        assert!(
            32 * self.slots <= 32 * self.body.homes.len() as i32,
            "the frame holds every slot"
        );
    }
}

fn reg(p: Place) -> u8 {
    match p {
        Place::Reg(r) => r,
        Place::Mem(..) => unreachable!("the allocator loaded it"),
    }
}

/// One instruction; `d` is the result's register.
fn emit(ops: &mut Assembler, kind: Kind, d: Option<u8>, places: &[Place]) {
    let d = d.unwrap_or(0);
    match kind {
        Kind::Load(k) => {
            let b = BASES[k];
            dynasm!(ops ; .arch x64 ; vmovups Ry(d), [Rq(b) + rax * 4]);
        }
        Kind::Store(k, _) => {
            let b = BASES[k];
            let v = reg(places[0]);
            dynasm!(ops ; .arch x64 ; vmovups [Rq(b) + rax * 4], Ry(v));
        }
        Kind::Arith(op, _, _) => {
            let a = reg(places[0]);
            macro_rules! arith {
                ($mn:ident) => {
                    match places[1] {
                        Place::Reg(b) => dynasm!(ops ; .arch x64 ; $mn Ry(d), Ry(a), Ry(b)),
                        Place::Mem(base, off) => {
                            dynasm!(ops ; .arch x64 ; $mn Ry(d), Ry(a), [Rq(base) + off])
                        }
                    }
                };
            }
            match op {
                Arith::Add => arith!(vaddps),
                Arith::Sub => arith!(vsubps),
                Arith::Mul => arith!(vmulps),
                Arith::And => arith!(vandps),
                Arith::Or => arith!(vorps),
                Arith::Xor => arith!(vxorps),
                Arith::IntEq => arith!(vpcmpeqd),
                Arith::IntMaxU => arith!(vpmaxud),
                Arith::IntSub => arith!(vpsubd),
            }
        }
        Kind::Cmp(pred, _, _) => {
            let (a, b) = (reg(places[0]), reg(places[1]));
            // Encoded here: dynasm 4.0.2's table swaps vcmpps's sources.
            // VEX.256 0F C2 /r ib: d = ModRM.reg, a = VEX.vvvv, b = ModRM.rm.
            let ext = |r: u8| u8::from(r < 8);
            // (R̄, X̄ and B̄ are the inverted high bits of reg, index and rm.)
            ops.extend([
                0xc4,
                ext(d) << 7 | 1 << 6 | ext(b) << 5 | 0x01,
                (!a & 0xf) << 3 | 1 << 2,
                0xc2,
                0xc0 | (d & 7) << 3 | (b & 7),
                pred as u8,
            ]);
        }
        Kind::Blend(..) => {
            let (m, f) = (reg(places[0]), reg(places[1]));
            match places[2] {
                Place::Reg(t) => dynasm!(ops ; .arch x64 ; vblendvps Ry(d), Ry(f), Ry(t), Ry(m)),
                Place::Mem(base, off) => {
                    dynasm!(ops ; .arch x64 ; vblendvps Ry(d), Ry(f), [Rq(base) + off], Ry(m))
                }
            }
        }
        Kind::Cvt(_) => match places[0] {
            Place::Reg(a) => dynasm!(ops ; .arch x64 ; vcvtdq2ps Ry(d), Ry(a)),
            Place::Mem(base, off) => dynasm!(ops ; .arch x64 ; vcvtdq2ps Ry(d), [Rq(base) + off]),
        },
        Kind::Spikes(_) => {
            let m = reg(places[0]);
            // vmovmskps edx, ymm(m) (VEX.256 0F 50 /r), encoded here as
            // dynasm 4.0.2 refuses a 32-bit register with a ymm one.
            ops.extend([
                0xc4,
                0xc1 | u8::from(m < 8) << 5,
                0x7c,
                0x50,
                0xd0 | (m & 7),
            ]);
            // Rarely taken: borrows three base registers to append the set
            // lanes' indices, lowest first.
            dynasm!(ops
                ; .arch x64
                ; test edx, edx
                ; jz >skip
                ; push rcx
                ; push rbx
                ; push r8
                ; mov rcx, [rdi + ARG_IDS]
                ; mov rbx, [rdi + ARG_COUNT]
                ; next:
                ; bsf r8d, edx
                ; add r8d, eax
                ; mov [rcx + rbx * 4], r8d
                ; inc rbx
                ; lea r8d, [rdx - 1]
                ; and edx, r8d
                ; jnz <next
                ; mov [rdi + ARG_COUNT], rbx
                ; pop r8
                ; pop rbx
                ; pop rcx
                ; skip:
            );
        }
        Kind::Finite(_) => {
            let a = reg(places[0]);
            dynasm!(ops
                ; .arch x64
                ; vsubps Ry(d), Ry(a), Ry(a)
                ; vorps Ry(ACC), Ry(ACC), Ry(d)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equations::integrate::Assign;
    use crate::equations::native::tests::inputs;
    use crate::equations::parse_expr;

    /// Every operation the eight-lane code assembles, with all fifteen
    /// registers and with four (which spills), against the interpreter.
    #[test]
    fn wide_code_computes_what_the_interpreter_does() {
        if !available() {
            eprintln!("no AVX2 on this CPU: nothing to test");
            return;
        }
        let exprs = [
            "a + b",
            "a - b",
            "a * b",
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
            "a and 2.0",
            "0.0 or b",
            "if a > b then a * c else b - c",
            "if a then b else c",
            "if a then 1.5 else -2.5",
            "(a < b) and (b < c)",
            "a * t + dt",
            "3.0 - a * 0.5 + b",
            "not (a >= 1.0) or b",
            "((a + 1.0) * (b - 2.0) + (c * a - b) * (a + c)) * ((b * b - a) * (c + 0.5) - (a - c) * (b + a))",
            "if (a < c) or not (b > 2.0) then -c * (a + b) else (a - b) * (c - a) + b",
        ];
        let mut names: HashMap<String, Input> = HashMap::new();
        names.insert("a".into(), Input::State(0));
        names.insert("b".into(), Input::State(1));
        names.insert("c".into(), Input::Param(0));
        names.insert("out".into(), Input::State(2));
        let n = 1024;
        let (a, b, c) = (inputs(n, 1), inputs(n, 2), inputs(n, 3));
        for e in exprs {
            let assigns = [Assign {
                target: "out".into(),
                expr: parse_expr(e).unwrap(),
            }];
            let program = Program::compile(&assigns, &names).unwrap().interpreted();
            let env = crate::equations::eval::StepEnv {
                t: 12.5,
                dt: 0.1,
                step: 0,
                rng: None,
            };
            let mut want = [a.clone(), b.clone(), vec![0.0; n]];
            {
                let mut views: Vec<&mut [f32]> = want.iter_mut().map(|v| &mut v[..]).collect();
                program.run(&mut views, &[&c], n, 0, &env);
            }
            for registers in [ALLOCATABLE, 4] {
                let wide = Wide::compile_with(&program, None, registers)
                    .unwrap_or_else(|| panic!("{e}: assembled"));
                let mut got = [a.clone(), b.clone(), vec![0.0; n]];
                let mut bases = [std::ptr::null_mut(); BASES.len()];
                for (p, arr) in bases.iter_mut().zip(&wide.arrays) {
                    *p = match *arr {
                        Array::State(i) => got[i].as_mut_ptr().cast(),
                        Array::Param(0) => c.as_ptr().cast_mut().cast(),
                        other => panic!("{e}: unexpected array {other:?}"),
                    };
                }
                let mut lanes = [0u32; 8];
                let mut args = WideArgs {
                    bases,
                    consts: std::ptr::null(),
                    n,
                    t: [env.t; 8],
                    dt: [env.dt; 8],
                    inv: [[0.0; 8]; 2],
                    finite: &mut lanes,
                    ids: std::ptr::null_mut(),
                    count: 0,
                };
                // SAFETY: every array holds `n` values; `out` is written only.
                unsafe { wide.run(&mut args) };
                for j in 0..n {
                    let (x, y) = (got[2][j], want[2][j]);
                    assert!(
                        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                        "{e} with {registers} registers at {j}: wide {x:e}, interpreter {y:e}"
                    );
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(
                    bits(&got[0]) == bits(&a) && bits(&got[1]) == bits(&b),
                    "{e}: inputs untouched"
                );
            }
        }
    }

    /// Division, functions and draws are not assembled (Cranelift runs them).
    #[test]
    fn calls_are_left_to_cranelift() {
        let mut names: HashMap<String, Input> = HashMap::new();
        names.insert("a".into(), Input::State(0));
        names.insert("out".into(), Input::State(1));
        for e in ["a / 3.0", "exp(a)", "a + uniform()"] {
            let assigns = [Assign {
                target: "out".into(),
                expr: parse_expr(e).unwrap(),
            }];
            let program = Program::compile(&assigns, &names).unwrap();
            assert!(Wide::compile(&program, None).is_none(), "{e}");
        }
    }
}
