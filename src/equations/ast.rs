//! The typed expression tree of user-written models: what the parser produces
//! and the CPU interpreter and the WGSL generator consume.
//!
//! Spans are positions inside the equation string (1-based line and column,
//! length in characters) so that an error can point into the model file.

/// A place in an equation string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line within the string.
    pub line: u32,
    /// 1-based column (in characters) within that line.
    pub col: u32,
    /// Length in characters (at least 1 where anything is pointed at).
    pub len: u32,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

/// A binary operator. Comparisons and `and`/`or` give 1.0 or 0.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `and`
    And,
    /// `or`
    Or,
}

impl BinOp {
    /// The operator as equation strings write it.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `exp(x)`
    Exp,
    /// `log(x)` (natural)
    Log,
    /// `sqrt(x)`
    Sqrt,
    /// `pow(x, y)`
    Pow,
    /// `abs(x)`
    Abs,
    /// `min(x, y)`
    Min,
    /// `max(x, y)`
    Max,
    /// `clip(x, lo, hi)`
    Clip,
    /// `tanh(x)`
    Tanh,
    /// `sin(x)`
    Sin,
    /// `cos(x)`
    Cos,
    /// `floor(x)`
    Floor,
    /// `uniform()`: a draw in [0, 1) from the engine's counter-based RNG.
    Uniform,
    /// `normal()`: a standard normal draw from the engine's counter-based RNG.
    Normal,
}

impl Func {
    /// Every function with its name and argument count.
    pub const ALL: [(Func, &'static str, usize); 14] = [
        (Func::Exp, "exp", 1),
        (Func::Log, "log", 1),
        (Func::Sqrt, "sqrt", 1),
        (Func::Pow, "pow", 2),
        (Func::Abs, "abs", 1),
        (Func::Min, "min", 2),
        (Func::Max, "max", 2),
        (Func::Clip, "clip", 3),
        (Func::Tanh, "tanh", 1),
        (Func::Sin, "sin", 1),
        (Func::Cos, "cos", 1),
        (Func::Floor, "floor", 1),
        (Func::Uniform, "uniform", 0),
        (Func::Normal, "normal", 0),
    ];

    /// The function called `name`.
    pub fn by_name(name: &str) -> Option<Func> {
        Self::ALL.iter().find(|f| f.1 == name).map(|f| f.0)
    }

    /// Its name in model files.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|f| f.0 == self).map_or("?", |f| f.1)
    }

    /// How many arguments it takes.
    pub fn arity(self) -> usize {
        Self::ALL.iter().find(|f| f.0 == self).map_or(0, |f| f.2)
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal number.
    Num(f64, Span),
    /// A name: a parameter, state variable, definition, constant, `t` or `dt`.
    Var(String, Span),
    /// `op arg`
    Unary(UnOp, Box<Expr>, Span),
    /// `lhs op rhs`
    Binary(BinOp, Box<Expr>, Box<Expr>, Span),
    /// `func(args...)`
    Call(Func, Vec<Expr>, Span),
    /// `if cond then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>, Span),
}

impl Expr {
    /// Calls `f` on this expression and every expression inside it, parents first.
    pub fn walk<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        f(self);
        match self {
            Expr::Num(..) | Expr::Var(..) => {}
            Expr::Unary(_, a, _) => a.walk(f),
            Expr::Binary(_, a, b, _) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Call(_, args, _) => args.iter().for_each(|a| a.walk(f)),
            Expr::If(c, a, b, _) => {
                c.walk(f);
                a.walk(f);
                b.walk(f);
            }
        }
    }

    /// Where the expression is.
    pub fn span(&self) -> Span {
        match self {
            Expr::Num(_, s)
            | Expr::Var(_, s)
            | Expr::Unary(_, _, s)
            | Expr::Binary(_, _, _, s)
            | Expr::Call(_, _, s)
            | Expr::If(_, _, _, s) => *s,
        }
    }
}

/// An assignment operator of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
}

/// One line of an `equations` block.
#[derive(Debug, Clone, PartialEq)]
pub enum Equation {
    /// `dv/dt = expr [: unit] [(flags)]`: the derivative of state variable
    /// `var` (per ms).
    Derivative {
        /// The state variable.
        var: String,
        /// Where the name is.
        var_span: Span,
        /// Its derivative.
        expr: Expr,
        /// The unit after `:` as written (trimmed, e.g. `mV`), and where it is.
        unit: Option<(String, Span)>,
        /// The flags in the trailing parenthesis (e.g. `unless refractory`),
        /// each with its place.
        flags: Vec<(String, Span)>,
    },
    /// `name = expr [: unit]`: a named definition (Brian2's subexpression), usable in
    /// later lines and statements; evaluated where it is used.
    Define {
        /// The name.
        name: String,
        /// Where the name is.
        name_span: Span,
        /// Its value.
        expr: Expr,
        /// The unit after `:` as written (trimmed, e.g. `pA`), and where it is.
        unit: Option<(String, Span)>,
    },
}

/// The only flag an equation line may carry: the variable is held during a
/// neuron's refractory period.
pub const UNLESS_REFRACTORY: &str = "unless refractory";

/// One statement of a `reset`, receptor, `on_pre` or `on_post` string
/// (statements are separated by `;` or new lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The variable assigned.
    pub target: String,
    /// Where the target is.
    pub target_span: Span,
    /// `=`, `+=`, ...
    pub op: AssignOp,
    /// The value.
    pub expr: Expr,
}

impl std::fmt::Display for Expr {
    /// The expression in the syntax of equation strings, fully parenthesised
    /// (how `astroglia check --emit scheme` shows a compiled step).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expr::Num(v, _) => write!(f, "{v}"),
            Expr::Var(n, _) => write!(f, "{n}"),
            Expr::Unary(UnOp::Neg, a, _) => write!(f, "(-{a})"),
            Expr::Unary(UnOp::Not, a, _) => write!(f, "(not {a})"),
            Expr::Binary(op, a, b, _) => {
                let sym = op.symbol();
                write!(f, "({a} {sym} {b})")
            }
            Expr::Call(func, args, _) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{a}")?;
                }
                write!(f, ")")
            }
            Expr::If(c, a, b, _) => write!(f, "(if {c} then {a} else {b})"),
        }
    }
}
