//! Dimensional analysis of equations, conditions and statements.
//!
//! A [`Unit`] is a product of powers of the SI base units kg, m, s and A
//! times a power of ten, so `nS*mV` equals `pA` and `pA/pF` equals `mV/ms`.
//! Names without a declared unit and number literals are wildcards: an
//! expression is only checked where the units on both sides are known.
//!
//! (Example: the unit test `doc_examples::module`.)

use super::ast::{AssignOp, BinOp, Equation, Expr, Func, Span, Statement, UnOp};
use super::check::definition_order;
use super::parse::{EqError, closest};
use std::collections::BTreeMap;
use std::fmt;

/// The largest power a unit string or a `pow` literal may raise to (larger
/// ones are mistakes, and exponents must not overflow).
const MAX_POWER: i32 = 100;

/// How many base units a [`Unit`] has exponents for.
const BASES: usize = 4;
/// The base units, in the order of [`Unit`]'s exponents.
const BASE_NAMES: [&str; BASES] = ["kg", "m", "s", "A"];

/// A physical unit: integer exponents of kg, m, s and A, and a power of ten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unit {
    /// Exponents of kg, m, s, A.
    dims: [i32; BASES],
    /// The unit is 10^scale times the product of the base units.
    scale: i32,
}

const VOLT: [i32; BASES] = [1, 2, -3, -1];
const AMP: [i32; BASES] = [0, 0, 0, 1];
const SIEMENS: [i32; BASES] = [-1, -2, 3, 2];
const FARAD: [i32; BASES] = [-1, -2, 4, 2];
const SECOND: [i32; BASES] = [0, 0, 1, 0];
const HERTZ: [i32; BASES] = [0, 0, -1, 0];
const OHM: [i32; BASES] = [1, 2, -3, -2];

/// Symbols and Brian2-style long names of the named units, each of which
/// takes any of [`PREFIXES`].
const SYMBOLS: [(&str, &str, [i32; BASES]); 7] = [
    ("V", "volt", VOLT),
    ("A", "amp", AMP),
    ("S", "siemens", SIEMENS),
    ("F", "farad", FARAD),
    ("s", "second", SECOND),
    ("Hz", "hertz", HERTZ),
    ("ohm", "ohm", OHM),
];

const PREFIXES: [(&str, i32); 9] = [
    ("G", 9),
    ("M", 6),
    ("k", 3),
    ("", 0),
    ("m", -3),
    ("u", -6),
    ("n", -9),
    ("p", -12),
    ("f", -15),
];

/// The names [`Unit`]'s `Display` tries, most preferred first (also in
/// quotients and products of two of them).
const DISPLAY_NAMES: [&str; 21] = [
    "mV", "ms", "pA", "nS", "pF", "nA", "uA", "A", "uS", "mS", "S", "nF", "uF", "F", "V", "s",
    "Hz", "kHz", "ohm", "Mohm", "GOhm",
];

/// The unit called `name` (a prefixed symbol such as `mV`, `Mohm`, `GOhm`,
/// `kHz`, or a long name such as `mvolt`, `namp`), if any.
fn named(name: &str) -> Option<Unit> {
    // `µ` (micro sign) and `μ` (Greek mu) are `u`.
    let name = name.replacen(['µ', 'μ'], "u", 1);
    PREFIXES.iter().find_map(|&(prefix, scale)| {
        let rest = name.strip_prefix(prefix)?;
        SYMBOLS.iter().find_map(|&(symbol, long, dims)| {
            let known = rest == symbol || rest == long || (symbol == "ohm" && rest == "Ohm");
            known.then_some(Unit { dims, scale })
        })
    })
}

impl Unit {
    /// The dimensionless unit `1`.
    pub const ONE: Unit = Unit {
        dims: [0; BASES],
        scale: 0,
    };

    /// The millisecond, the unit of `t`, `dt` and of every derivative's "per".
    pub const MS: Unit = Unit {
        dims: SECOND,
        scale: -3,
    };

    /// Whether it has no dimension (whatever its scale: `mV/V` has none).
    pub fn is_dimensionless(&self) -> bool {
        self.dims == [0; BASES]
    }

    /// The power of ten relative to the plain SI unit (`mV`: -3).
    #[cfg(test)]
    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// `self^n`.
    pub fn powi(self, n: i32) -> Unit {
        Unit {
            dims: self.dims.map(|d| d * n),
            scale: self.scale * n,
        }
    }

    /// `self * rhs^k`: exponents add.
    fn times_pow(self, rhs: Unit, k: i32) -> Unit {
        let mut dims = self.dims;
        dims.iter_mut()
            .zip(&rhs.dims)
            .for_each(|(a, b)| *a += k * b);
        Unit {
            dims,
            scale: self.scale + k * rhs.scale,
        }
    }

    /// `self^(num/den)`, if every exponent stays an integer.
    fn pow_ratio(self, num: i32, den: i32) -> Option<Unit> {
        let exact = |x: i32| (x * num % den == 0).then_some(x * num / den);
        let mut dims = [0; BASES];
        for (d, &s) in dims.iter_mut().zip(&self.dims) {
            *d = exact(s)?;
        }
        Some(Unit {
            dims,
            scale: exact(self.scale)?,
        })
    }

    /// The name `Display` gives it, if it is one of the named units or a
    /// simple combination of them.
    fn name(&self) -> Option<String> {
        if *self == Unit::ONE {
            return Some("1".into());
        }
        let units: Vec<(&str, Unit)> = DISPLAY_NAMES
            .iter()
            .filter_map(|&n| named(n).map(|u| (n, u)))
            .collect();
        // The first named unit `n` with f(n) == self, shown by `show`.
        let find = |f: &dyn Fn(Unit) -> Unit, show: &dyn Fn(&str) -> String| {
            units
                .iter()
                .find(|(_, u)| f(*u) == *self)
                .map(|(n, _)| show(n))
        };
        find(&|u| u, &|n| n.to_string())
            .or_else(|| find(&|u| u.powi(-1), &|n| format!("1/{n}")))
            .or_else(|| find(&|u| u.powi(2), &|n| format!("{n}^2")))
            .or_else(|| {
                units.iter().find_map(|(a, ua)| {
                    find(&|u| *ua / u, &|b| format!("{a}/{b}"))
                        .or_else(|| find(&|u| *ua * u, &|b| format!("{a}*{b}")))
                })
            })
    }
}

impl std::ops::Mul for Unit {
    type Output = Unit;
    fn mul(self, rhs: Unit) -> Unit {
        self.times_pow(rhs, 1)
    }
}

impl std::ops::Div for Unit {
    type Output = Unit;
    fn div(self, rhs: Unit) -> Unit {
        self.times_pow(rhs, -1)
    }
}

impl fmt::Display for Unit {
    /// A name such as `mV`, `mV/ms`, `pA/ms`, `1/mV` or `mV^2` where one fits, else
    /// the base form, e.g. `10^-3 kg*m^2*s^-3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.name() {
            return f.write_str(&name);
        }
        let mut parts = Vec::new();
        for (name, &d) in BASE_NAMES.iter().zip(&self.dims) {
            match d {
                0 => {}
                1 => parts.push(name.to_string()),
                d => parts.push(format!("{name}^{d}")),
            }
        }
        let base = if parts.is_empty() {
            "1".to_string()
        } else {
            parts.join("*")
        };
        match self.scale {
            0 => f.write_str(&base),
            s => write!(f, "10^{s} {base}"),
        }
    }
}

/// Parses a unit: named units (`mV`, `pA`, `nS`, `pF`, `ms`, `Hz`, `kHz`,
/// `ohm`, `Mohm`, `GOhm`, ... with prefixes G M k m u n p f, or Brian2's long
/// names such as `mvolt`) and `1`, combined with `*`, `/`, integer powers
/// (`^2` or `**2`, also negative) and parentheses: `mV/ms`, `nS*mV`, `1/ms`,
/// `mV^2`, `pA/pF`, `mV/(ms*ms)`.
pub fn parse_unit(text: &str) -> Result<Unit, String> {
    let mut p = UnitParser {
        chars: text.chars().collect(),
        pos: 0,
        text,
    };
    let u = p.product()?;
    match p.peek() {
        None => Ok(u),
        Some(')') => Err(format!("unmatched ')' in unit '{text}'")),
        Some(c) => Err(format!(
            "unexpected '{c}' in unit '{text}': expected '*', '/' or '^'"
        )),
    }
}

/// A recursive-descent parser over the unit's characters; white space
/// separates but does not join (`mV ms` is an error).
struct UnitParser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl UnitParser<'_> {
    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    /// The next character that is not white space.
    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_space();
        let n = s.chars().count();
        let here = self.chars.get(self.pos..self.pos + n);
        if here.is_some_and(|h| h.iter().copied().eq(s.chars())) {
            self.pos += n;
            true
        } else {
            false
        }
    }

    /// `power (('*' | '/') power)*`
    fn product(&mut self) -> Result<Unit, String> {
        let mut u = self.power()?;
        loop {
            // `**` is a power, never a product.
            if self.peek() == Some('*') && self.chars.get(self.pos + 1) != Some(&'*') {
                self.pos += 1;
                u = u * self.power()?;
            } else if self.eat("/") {
                u = u / self.power()?;
            } else {
                return Ok(u);
            }
        }
    }

    /// `atom (('^' | '**') integer)?`
    fn power(&mut self) -> Result<Unit, String> {
        let u = self.atom()?;
        if !(self.eat("^") || self.eat("**")) {
            return Ok(u);
        }
        self.skip_space();
        let start = self.pos;
        let wrapped = self.eat("(");
        let neg = self.eat("-");
        self.skip_space();
        let digits_at = self.pos;
        while self.chars.get(self.pos).is_some_and(char::is_ascii_digit) {
            self.pos += 1;
        }
        let digits: String = self.chars[digits_at..self.pos].iter().collect();
        if digits.is_empty() || (wrapped && !self.eat(")")) {
            let found: String = self.chars[start..].iter().collect();
            return Err(format!(
                "expected an integer power in unit '{}', found '{found}'",
                self.text
            ));
        }
        let n: i32 = digits
            .parse()
            .ok()
            .filter(|n| *n <= MAX_POWER)
            .ok_or_else(|| format!("power {digits} is too large in unit '{}'", self.text))?;
        Ok(u.powi(if neg { -n } else { n }))
    }

    /// A name, `1` or a parenthesised unit.
    fn atom(&mut self) -> Result<Unit, String> {
        if self.eat("(") {
            let u = self.product()?;
            if !self.eat(")") {
                return Err(format!("unclosed '(' in unit '{}'", self.text));
            }
            return Ok(u);
        }
        self.skip_space();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if word.is_empty() {
            return Err(match self.peek() {
                None => format!("expected a unit at the end of '{}'", self.text),
                Some(c) => format!("expected a unit in '{}', found '{c}'", self.text),
            });
        }
        if word == "1" {
            return Ok(Unit::ONE);
        }
        if let Some(u) = named(&word) {
            return Ok(u);
        }
        if word.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Err(format!(
                "a unit cannot contain the number '{word}' (only '1', for dimensionless)"
            ));
        }
        // The common units first: `mv` is more likely `mV` than `MV`.
        let all = PREFIXES.iter().flat_map(|(p, _)| {
            SYMBOLS
                .iter()
                .flat_map(move |(s, l, _)| [format!("{p}{s}"), format!("{p}{l}")])
        });
        let known: Vec<String> = DISPLAY_NAMES
            .iter()
            .map(|n| n.to_string())
            .chain(all)
            .collect();
        let hint = match closest(&word, known.iter().map(String::as_str)) {
            Some(c) => format!("did you mean '{c}'?"),
            None => "known units are V, A, S, F, s, Hz, ohm with a prefix (G M k m u n p f), \
                     e.g. mV, pA, nS, pF, ms, kHz, Mohm, and 1"
                .into(),
        };
        Err(format!("unknown unit '{word}': {hint}"))
    }
}

/// "1000" for 3; "10^9" for 9.
fn factor(digits: i32) -> String {
    let d = digits.unsigned_abs();
    if d <= 6 {
        10u64.pow(d).to_string()
    } else {
        format!("10^{d}")
    }
}

/// `a vs b`, with how the scales differ when only they do.
fn versus(a: Unit, b: Unit) -> String {
    if a.dims == b.dims {
        format!("{a} vs {b}: scales differ by {}", factor(a.scale - b.scale))
    } else {
        format!("{a} vs {b}")
    }
}

/// A number literal, possibly negated (`2`, `-1`, `0.5`).
fn literal(e: &Expr) -> Option<f64> {
    match e {
        Expr::Num(v, _) => Some(*v),
        Expr::Unary(UnOp::Neg, a, _) => literal(a).map(|v| -v),
        _ => None,
    }
}

/// The error for a value that must be dimensionless, if `u` is not (a scale
/// other than 10^0 counts as a unit: `mV/V` is not the number it looks like).
/// `needs` says what needs it, e.g. "exp() needs a dimensionless argument".
fn not_dimensionless(u: Unit, needs: &str) -> Option<String> {
    if u == Unit::ONE {
        None
    } else if u.is_dimensionless() {
        Some(format!(
            "{needs}, found {u}: it has no dimension but a scale of 10^{}, and only a \
             scale of 1 counts as dimensionless (write the ratio in matching units)",
            u.scale
        ))
    } else {
        Some(format!("{needs}, found {u}"))
    }
}

/// The error for operands of `op` in different units.
fn differ(op: BinOp, span: Span, a: Unit, b: Unit) -> EqError {
    EqError::new(
        span,
        format!(
            "units differ in '{}': {} (the left side is {a}, the right side is {b})",
            op.symbol(),
            versus(a, b)
        ),
    )
}

/// Checks the units of a model's equations, threshold and statements. Names
/// without a unit and number literals are wildcards that match anything.
#[derive(Debug, Clone, Default)]
pub struct UnitChecker {
    /// The unit of every name known so far: the declared ones, then state
    /// variables and definitions from [`UnitChecker::check_equations`].
    units: BTreeMap<String, Unit>,
}

impl UnitChecker {
    /// A checker knowing the `declared` units: parameters, state variables
    /// and built-ins (the caller passes `t` and `dt` as `ms`, `i_ext` as `pA`).
    pub fn new(declared: &BTreeMap<String, Unit>) -> Self {
        UnitChecker {
            units: declared.clone(),
        }
    }

    /// The unit of `name`, if known (after [`UnitChecker::check_equations`],
    /// also of state variables with a `: unit` and of definitions).
    pub fn unit(&self, name: &str) -> Option<Unit> {
        self.units.get(name).copied()
    }

    /// Checks an `equations` block. First each line's `: unit` is taken as
    /// the unit of its variable or definition (an error where it cannot be
    /// parsed or contradicts a declared unit), then each definition without
    /// one gets the unit of its expression, and finally each `dx/dt = f` must
    /// have `f` in unit(x)/ms and each definition's expression its declared
    /// unit. Errors are in order of position.
    pub fn check_equations(&mut self, eqs: &[Equation]) -> Vec<EqError> {
        let mut errors = Vec::new();
        for eq in eqs {
            let (name, unit) = match eq {
                Equation::Derivative { var, unit, .. } => (var, unit),
                Equation::Define { name, unit, .. } => (name, unit),
            };
            let Some((text, span)) = unit else { continue };
            match parse_unit(text) {
                Err(message) => errors.push(EqError::new(*span, message)),
                Ok(u) => match self.units.get(name) {
                    Some(&known) if known != u => errors.push(EqError::new(
                        *span,
                        format!(
                            "': {text}' contradicts the unit of '{name}', which is {known} \
                             ({})",
                            versus(u, known)
                        ),
                    )),
                    _ => {
                        self.units.insert(name.clone(), u);
                    }
                },
            }
        }
        // Definitions in dependency order, so that each one's unit is known
        // before it is used (line order where they are recursive, which
        // `check_equations` reports).
        let order = definition_order(eqs).unwrap_or_else(|_| {
            (0..eqs.len())
                .filter(|&i| matches!(eqs[i], Equation::Define { .. }))
                .collect()
        });
        let none = BTreeMap::new();
        for i in order {
            let Equation::Define {
                name, expr, unit, ..
            } = &eqs[i]
            else {
                continue;
            };
            let found = self.infer(expr, &none, &mut errors);
            match (unit.is_some(), self.unit(name), found) {
                (true, Some(want), Some(found)) if want != found => errors.push(EqError::new(
                    expr.span(),
                    format!(
                        "'{name}' is declared in {want} but its expression is in {found} ({})",
                        versus(want, found)
                    ),
                )),
                (false, _, Some(found)) => {
                    self.units.insert(name.clone(), found);
                }
                _ => {}
            }
        }
        for eq in eqs {
            let Equation::Derivative { var, expr, .. } = eq else {
                continue;
            };
            let found = self.infer(expr, &none, &mut errors);
            if let (Some(u), Some(found)) = (self.unit(var), found) {
                let want = u / Unit::MS;
                if want != found {
                    errors.push(EqError::new(
                        expr.span(),
                        format!(
                            "'d{var}/dt' must be in {want} (the unit of '{var}', {u}, per ms), \
                             but its right side is in {found} ({})",
                            versus(want, found)
                        ),
                    ));
                }
            }
        }
        errors.sort_by_key(|e| (e.span.line, e.span.col));
        errors
    }

    /// Checks a condition (a threshold such as `v > v_t`): both sides of
    /// every comparison, and of every sum inside, must have equal units.
    pub fn check_condition(&self, e: &Expr) -> Vec<EqError> {
        let mut errors = Vec::new();
        self.infer(e, &BTreeMap::new(), &mut errors);
        errors
    }

    /// Checks statements: the value of `x = e`, `x += e` and `x -= e` must be
    /// in the unit of `x`, that of `x *= e` and `x /= e` dimensionless.
    /// `extra` gives units to names for these statements only (e.g. a
    /// synapse's weight `w` in a receptor statement).
    pub fn check_statements(
        &self,
        stmts: &[Statement],
        extra: &BTreeMap<String, Unit>,
    ) -> Vec<EqError> {
        let mut errors = Vec::new();
        for s in stmts {
            let found = self.infer(&s.expr, extra, &mut errors);
            let target = extra.get(&s.target).or(self.units.get(&s.target));
            let (name, op) = (&s.target, assign_symbol(s.op));
            let message = match (s.op, target, found) {
                (AssignOp::Set | AssignOp::Add | AssignOp::Sub, Some(&want), Some(found))
                    if want != found =>
                {
                    Some(format!(
                        "'{name} {op} ...' needs a value in {want} (the unit of '{name}'), \
                         found {found} ({})",
                        versus(want, found)
                    ))
                }
                (AssignOp::Mul | AssignOp::Div, _, Some(found)) => not_dimensionless(
                    found,
                    &format!("'{name} {op} ...' needs a dimensionless value"),
                ),
                _ => None,
            };
            if let Some(message) = message {
                errors.push(EqError::new(s.expr.span(), message));
            }
        }
        errors.sort_by_key(|e| (e.span.line, e.span.col));
        errors
    }

    /// The unit of `e` (`None`: unknown), pushing an error for every
    /// inconsistency inside it. An inconsistent part is unknown, so that one
    /// mistake is reported once.
    fn infer(
        &self,
        e: &Expr,
        extra: &BTreeMap<String, Unit>,
        errors: &mut Vec<EqError>,
    ) -> Option<Unit> {
        let mut infer = |e: &Expr| self.infer(e, extra, errors);
        match e {
            Expr::Num(..) => None,
            Expr::Var(name, _) => extra.get(name).or(self.units.get(name)).copied(),
            Expr::Unary(UnOp::Neg, a, _) => infer(a),
            Expr::Unary(UnOp::Not, a, _) => {
                infer(a);
                Some(Unit::ONE)
            }
            Expr::Binary(op, a, b, span) => {
                let (ua, ub) = (infer(a), infer(b));
                match op {
                    BinOp::Mul => Some(ua? * ub?),
                    BinOp::Div => Some(ua? / ub?),
                    BinOp::And | BinOp::Or => Some(Unit::ONE),
                    BinOp::Add | BinOp::Sub => {
                        same(ua, ub, errors, |a, b| differ(*op, *span, a, b))
                    }
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => {
                        same(ua, ub, errors, |a, b| differ(*op, *span, a, b));
                        Some(Unit::ONE)
                    }
                }
            }
            Expr::If(c, a, b, span) => {
                infer(c);
                let (ua, ub) = (infer(a), infer(b));
                same(ua, ub, errors, |a, b| {
                    EqError::new(
                        *span,
                        format!(
                            "units differ between the branches of 'if': {} \
                             (the 'then' branch is {a}, the 'else' branch is {b})",
                            versus(a, b)
                        ),
                    )
                })
            }
            Expr::Call(f, args, span) => {
                let units: Vec<Option<Unit>> = args.iter().map(&mut infer).collect();
                // A wrong argument count is a parse error already.
                if args.len() != f.arity() {
                    return None;
                }
                self.call(*f, args, &units, *span, errors)
            }
        }
    }

    /// The unit of `f(args)` given the units of the arguments.
    fn call(
        &self,
        f: Func,
        args: &[Expr],
        units: &[Option<Unit>],
        span: Span,
        errors: &mut Vec<EqError>,
    ) -> Option<Unit> {
        let name = f.name();
        match f {
            Func::Exp | Func::Log | Func::Tanh | Func::Sin | Func::Cos => {
                if let Some(message) = units[0].and_then(|u| {
                    not_dimensionless(u, &format!("{name}() needs a dimensionless argument"))
                }) {
                    errors.push(EqError::new(args[0].span(), message));
                }
                Some(Unit::ONE)
            }
            Func::Uniform | Func::Normal => Some(Unit::ONE),
            Func::Abs | Func::Floor => units[0],
            Func::Sqrt => {
                let u = units[0]?;
                let root = u.pow_ratio(1, 2);
                if root.is_none() {
                    errors.push(EqError::new(
                        args[0].span(),
                        format!("sqrt() of {u}: an odd power has no square root in units"),
                    ));
                }
                root
            }
            Func::Pow => self.pow(args, units, errors),
            Func::Min | Func::Max | Func::Clip => {
                let mut result: Option<(usize, Unit)> = None;
                for (k, u) in units.iter().enumerate() {
                    let Some(u) = *u else { continue };
                    match result {
                        None => result = Some((k, u)),
                        Some((first, want)) if want != u => {
                            errors.push(EqError::new(
                                span,
                                format!(
                                    "units differ in the arguments of '{name}': {} \
                                     (argument {} is {want}, argument {} is {u})",
                                    versus(want, u),
                                    first + 1,
                                    k + 1
                                ),
                            ));
                            return None;
                        }
                        Some(_) => {}
                    }
                }
                result.map(|r| r.1)
            }
        }
    }

    /// `pow(x, y)`: `y` dimensionless; where `x` has a unit, `y` a number
    /// literal giving integer exponents.
    fn pow(
        &self,
        args: &[Expr],
        units: &[Option<Unit>],
        errors: &mut Vec<EqError>,
    ) -> Option<Unit> {
        if let Some(message) =
            units[1].and_then(|u| not_dimensionless(u, "pow() needs a dimensionless exponent"))
        {
            errors.push(EqError::new(args[1].span(), message));
            return None;
        }
        let base = units[0]?;
        if base == Unit::ONE {
            return Some(Unit::ONE);
        }
        let Some(p) = literal(&args[1]) else {
            errors.push(EqError::new(
                args[1].span(),
                format!(
                    "the exponent of a value in {base} must be a number literal \
                     (the unit of the result depends on it)"
                ),
            ));
            return None;
        };
        // Halves and thirds suffice for any unit a model can name.
        let ratio = [1, 2, 3]
            .into_iter()
            .map(|den| (p * f64::from(den), den))
            .find(|(num, _)| num.fract() == 0.0 && num.abs() <= f64::from(MAX_POWER));
        let result = ratio.and_then(|(num, den)| base.pow_ratio(num as i32, den));
        if result.is_none() {
            errors.push(EqError::new(
                args[1].span(),
                format!("{base} to the power {p} is not a unit with integer exponents"),
            ));
        }
        result
    }
}

/// The common unit of two values that must agree, or `None` (and the error
/// `mismatch` makes) where both are known and differ.
fn same(
    a: Option<Unit>,
    b: Option<Unit>,
    errors: &mut Vec<EqError>,
    mismatch: impl FnOnce(Unit, Unit) -> EqError,
) -> Option<Unit> {
    match (a, b) {
        (Some(a), Some(b)) if a != b => {
            errors.push(mismatch(a, b));
            None
        }
        // A wildcard takes the other side's unit: `v + x` is in mV.
        (a, b) => a.or(b),
    }
}

fn assign_symbol(op: AssignOp) -> &'static str {
    match op {
        AssignOp::Set => "=",
        AssignOp::Add => "+=",
        AssignOp::Sub => "-=",
        AssignOp::Mul => "*=",
        AssignOp::Div => "/=",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equations::{parse_equations, parse_expr, parse_statements};

    fn u(text: &str) -> Unit {
        parse_unit(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn units(pairs: &[(&str, &str)]) -> BTreeMap<String, Unit> {
        pairs.iter().map(|(n, t)| (n.to_string(), u(t))).collect()
    }

    /// The AdEx parameters and the built-ins, with units.
    fn adex_units() -> BTreeMap<String, Unit> {
        units(&[
            ("g_l", "nS"),
            ("e_l", "mV"),
            ("delta_t", "mV"),
            ("v_t", "mV"),
            ("c_m", "pF"),
            ("a", "nS"),
            ("tau_w", "ms"),
            ("tau_e", "ms"),
            ("v_r", "mV"),
            ("b", "pA"),
            ("v_peak", "mV"),
            ("t", "ms"),
            ("dt", "ms"),
            ("i_ext", "pA"),
        ])
    }

    /// The unit errors of an equations block, as displayed.
    fn eq_errors(src: &str, declared: &BTreeMap<String, Unit>) -> Vec<String> {
        let eqs = parse_equations(src).unwrap_or_else(|e| panic!("{src:?}: {}", e[0]));
        let errs = UnitChecker::new(declared).check_equations(&eqs);
        errs.iter().map(ToString::to_string).collect()
    }

    /// Asserts exactly one error, at `line`:`col`, mentioning every word.
    fn one_error(errs: &[String], line: u32, col: u32, words: &[&str]) {
        assert_eq!(errs.len(), 1, "{errs:#?}");
        let at = format!("line {line}, column {col}: ");
        assert!(errs[0].starts_with(&at), "{} is not at {at}", errs[0]);
        for w in words {
            assert!(errs[0].contains(w), "{:?} lacks {w:?}", errs[0]);
        }
    }

    #[test]
    fn units_parse_and_compare_by_dimension_and_scale() {
        assert_eq!(u("nS*mV"), u("pA"));
        assert_eq!(u("pA/pF"), u("mV/ms"));
        assert_eq!(u("1/ms"), u("kHz"));
        assert_eq!(u("Mohm * nA"), u("mV"));
        assert_eq!(u("GOhm*pA"), u("mV"));
        assert_eq!(u("mV^2"), u("mV**2"));
        assert_eq!(u("mV^2 / mV"), u("mV"));
        assert_eq!(u("mV/(ms*ms)"), u("mV/ms/ms"));
        assert_eq!(u("ms ^ -1"), u("kHz"));
        assert_eq!(u("ms**(-2)"), u("kHz^2"));
        assert_eq!(u("mvolt"), u("mV"));
        assert_eq!(u("µF"), u("uF"));
        assert_eq!(u("1"), Unit::ONE);
        assert_eq!(u("ms"), Unit::MS);
        assert_ne!(u("pA"), u("nA"));
        assert_ne!(u("mV"), u("pA"));
        assert!(u("mV/V").is_dimensionless());
        assert_eq!(u("mV/V").scale(), -3);
    }

    #[test]
    fn units_display_by_name() {
        let shown = |t: &str| u(t).to_string();
        assert_eq!(shown("mvolt"), "mV");
        assert_eq!(shown("nS*mV"), "pA");
        assert_eq!(shown("pA/pF"), "mV/ms");
        assert_eq!(shown("pA/ms"), "pA/ms");
        assert_eq!(shown("mV*mV"), "mV^2");
        assert_eq!(shown("1/mV"), "1/mV");
        assert_eq!(shown("1/ms"), "kHz");
        assert_eq!(shown("V/V"), "1");
        assert_eq!(shown("mV/V"), "mV/V");
        assert_eq!(shown("mV^3"), "10^-9 kg^3*m^6*s^-9*A^-3");
    }

    #[test]
    fn unit_errors() {
        let err = |t: &str| parse_unit(t).unwrap_err();
        assert_eq!(err("mv"), "unknown unit 'mv': did you mean 'mV'?");
        assert!(
            err("furlong").contains("known units are"),
            "{}",
            err("furlong")
        );
        assert!(err("2").contains("the number '2'"));
        assert!(err("").contains("expected a unit"));
        assert!(err("mV/").contains("expected a unit at the end"));
        assert!(err("mV^").contains("integer power"));
        assert!(err("mV^x").contains("integer power"));
        assert!(err("(mV").contains("unclosed '('"));
        assert!(err("mV)").contains("unmatched ')'"));
        assert!(err("mV ms").contains("unexpected"), "{}", err("mV ms"));
        assert!(err("mV+ms").contains("unexpected '+'"));
        assert!(err("mV^1000").contains("too large"));
    }

    #[test]
    fn adex_with_units_is_consistent() {
        let src = "
            dv/dt = (-g_l*(v - e_l) + g_l*delta_t*exp((v - v_t)/delta_t) - w + i_syn + i_ext) / c_m : mV (unless refractory)
            dw/dt = (a*(v - e_l) - w) / tau_w : pA
            di_exc/dt = -i_exc / tau_e : pA
            i_syn = i_exc - 2*i_inh
            di_inh/dt = -i_inh / tau_e : pA
            clock = t / dt : 1
        ";
        let declared = adex_units();
        assert_eq!(eq_errors(src, &declared), Vec::<String>::new());
        let mut checker = UnitChecker::new(&declared);
        let eqs = parse_equations(src).unwrap();
        assert!(checker.check_equations(&eqs).is_empty());
        // State variables and definitions now have units.
        assert_eq!(checker.unit("v"), Some(u("mV")));
        assert_eq!(checker.unit("i_syn"), Some(u("pA")));
        let threshold = parse_expr("v > v_peak or v >= 0").unwrap();
        assert!(checker.check_condition(&threshold).is_empty());
        let reset = parse_statements("v = v_r; w += b; w *= 2; i_exc += i_syn").unwrap();
        assert!(
            checker
                .check_statements(&reset, &BTreeMap::new())
                .is_empty()
        );
    }

    #[test]
    fn a_current_added_to_a_rate_names_the_plus() {
        let declared = units(&[("e_l", "mV"), ("tau", "ms"), ("i", "pA")]);
        let errs = eq_errors("dv/dt = (e_l - v)/tau + i : mV", &declared);
        assert_eq!(
            errs,
            ["line 1, column 10: units differ in '+': mV/ms vs pA \
              (the left side is mV/ms, the right side is pA)"]
        );
        // Declared as a parameter instead of by the line: the same.
        let mut declared = declared;
        declared.insert("v".into(), u("mV"));
        let errs = eq_errors("\ndv/dt = (e_l - v)/tau + i", &declared);
        one_error(&errs, 2, 10, &["'+'", "mV/ms vs pA"]);
    }

    #[test]
    fn scales_must_match() {
        let declared = units(&[("i", "pA"), ("j", "nA"), ("tau", "ms")]);
        let errs = eq_errors("di/dt = -(i + j)/tau", &declared);
        one_error(
            &errs,
            1,
            11,
            &["units differ in '+': pA vs nA: scales differ by 1000"],
        );
        // mV/ms and pA/pF are the same unit.
        let declared = units(&[("i", "pA"), ("c", "pF")]);
        assert!(eq_errors("dv/dt = i/c : mV", &declared).is_empty());
        let declared = units(&[("i", "nA"), ("c", "pF")]);
        one_error(
            &eq_errors("dv/dt = i/c : mV", &declared),
            1,
            9,
            &["'dv/dt' must be in mV/ms", "scales differ by 1000"],
        );
    }

    #[test]
    fn functions_of_dimensionless_values() {
        let declared = units(&[("v", "mV"), ("v_t", "mV"), ("v_si", "V"), ("i", "pA")]);
        assert!(eq_errors("x = exp(v/v_t) + log(v/v_t) + tanh(1) : 1", &declared).is_empty());
        one_error(
            &eq_errors("x = 1 + exp(v)", &declared),
            1,
            13,
            &["exp() needs a dimensionless argument, found mV"],
        );
        one_error(
            &eq_errors("x = sin(v/v_si)", &declared),
            1,
            9,
            &["found mV/V", "scale of 10^-3", "only a scale of 1 counts"],
        );
        // Random draws are dimensionless; abs and floor keep the unit.
        assert!(
            eq_errors(
                "x = v*uniform() + abs(v) + floor(v)*normal() : mV",
                &declared
            )
            .is_empty()
        );
        one_error(
            &eq_errors("x = abs(i) : mV", &declared),
            1,
            5,
            &["'x' is declared in mV but its expression is in pA"],
        );
    }

    #[test]
    fn square_roots_and_powers() {
        let declared = units(&[("v", "mV"), ("n", "1"), ("i", "pA")]);
        assert!(eq_errors("x = sqrt(v*v) + pow(v, 2)/v + v**1 : mV", &declared).is_empty());
        assert!(eq_errors("x = pow(v, -2)*v**2 + pow(n, n) + 2**n : 1", &declared).is_empty());
        assert!(eq_errors("x = sqrt(v**4)*v : mV^3", &declared).is_empty());
        one_error(
            &eq_errors("x = sqrt(v)", &declared),
            1,
            10,
            &["sqrt() of mV", "odd power"],
        );
        one_error(
            &eq_errors("x = pow(v, n)", &declared),
            1,
            12,
            &["must be a number literal", "mV"],
        );
        one_error(
            &eq_errors("x = v ** 0.25", &declared),
            1,
            10,
            &["mV to the power 0.25"],
        );
        one_error(
            &eq_errors("x = 2 ** v", &declared),
            1,
            10,
            &["pow() needs a dimensionless exponent, found mV"],
        );
    }

    #[test]
    fn declared_units_of_lines() {
        let declared = units(&[("g", "nS"), ("e", "mV"), ("v", "mV")]);
        one_error(
            &eq_errors("i = g*(e - v) : mV", &declared),
            1,
            5,
            &["'i' is declared in mV but its expression is in pA"],
        );
        // A definition's unit is inferred where the line has none.
        one_error(
            &eq_errors("i = g*(e - v)\ndv/dt = i", &declared),
            2,
            9,
            &["'dv/dt' must be in mV/ms", "right side is in pA"],
        );
        // A line's unit contradicting a declared one, or not a unit at all.
        one_error(
            &eq_errors("dv/dt = -v/tau : V", &declared),
            1,
            18,
            &["': V' contradicts the unit of 'v', which is mV"],
        );
        one_error(
            &eq_errors("dv/dt = -v/tau : mv", &declared),
            1,
            18,
            &["unknown unit 'mv': did you mean 'mV'?"],
        );
        one_error(
            &eq_errors("dv/dt = -v/e : mV\ndv/dt = 0 : pA", &units(&[])),
            2,
            13,
            &["': pA' contradicts the unit of 'v', which is mV"],
        );
        // A definition may be used before its line.
        assert!(
            eq_errors(
                "dv/dt = i/c : mV\ni = g*(e - v)",
                &units(&[("c", "pF"), ("g", "nS"), ("e", "mV")])
            )
            .is_empty()
        );
    }

    #[test]
    fn wildcards_never_cause_errors() {
        let declared = units(&[("v", "mV"), ("i", "pA")]);
        // Literals and names without units match anything.
        assert!(eq_errors("dv/dt = (x - v)/5 + y*i + 3 : mV", &declared).is_empty());
        assert!(eq_errors("z = q + r\nw = z*i + v", &declared).is_empty());
        // ... but a sum with a wildcard has the known side's unit.
        one_error(&eq_errors("x = v + 1 + i", &declared), 1, 5, &["mV vs pA"]);
        // One mistake is reported once, not again by the sums around it.
        one_error(
            &eq_errors("x = (v + i) * 2 + v : mV", &declared),
            1,
            6,
            &["mV vs pA"],
        );
    }

    #[test]
    fn conditions_and_branches() {
        let mut checker = UnitChecker::new(&units(&[("v", "mV"), ("v_t", "mV"), ("i", "pA")]));
        let errs = |c: &UnitChecker, src: &str| -> Vec<String> {
            let e = parse_expr(src).unwrap();
            c.check_condition(&e)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert!(errs(&checker, "v > v_t and not (i < 0)").is_empty());
        one_error(
            &errs(&checker, "v > i"),
            1,
            1,
            &["units differ in '>': mV vs pA (the left side is mV, the right side is pA)"],
        );
        one_error(&errs(&checker, "t > 1 or v == i"), 1, 10, &["'=='"]);
        one_error(
            &errs(&checker, "(if v > 0 then v else i) > 0"),
            1,
            2,
            &[
                "branches of 'if'",
                "the 'then' branch is mV, the 'else' branch is pA",
            ],
        );
        one_error(
            &errs(&checker, "clip(v, 0, i) > v"),
            1,
            1,
            &["arguments of 'clip'", "argument 1 is mV, argument 3 is pA"],
        );
        one_error(&errs(&checker, "max(v, i) > 0"), 1, 1, &["'max'"]);
        // Definitions from the equations are known to later checks.
        // (`2*i` would be unknown: a literal may stand for a value with a unit.)
        let eqs = parse_equations("j = i + 0").unwrap();
        assert!(checker.check_equations(&eqs).is_empty());
        one_error(&errs(&checker, "v < j"), 1, 1, &["mV vs pA"]);
    }

    #[test]
    fn statements_keep_the_unit_of_their_target() {
        let checker = UnitChecker::new(&units(&[
            ("v", "mV"),
            ("v_r", "mV"),
            ("i", "pA"),
            ("w", "pA"),
        ]));
        let errs = |src: &str, extra: &BTreeMap<String, Unit>| -> Vec<String> {
            let s = parse_statements(src).unwrap();
            checker
                .check_statements(&s, extra)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        let none = BTreeMap::new();
        assert!(errs("v = v_r; v -= 2; w += i; v *= 0.5; i /= 2; x = v", &none).is_empty());
        one_error(
            &errs("v = v_r\nv += i", &none),
            2,
            6,
            &["'v += ...' needs a value in mV (the unit of 'v'), found pA"],
        );
        one_error(
            &errs("v *= v", &none),
            1,
            6,
            &["'v *= ...' needs a dimensionless value, found mV"],
        );
        // A receptor's weight has the unit its caller gives it.
        assert!(errs("i += weight", &units(&[("weight", "pA")])).is_empty());
        one_error(
            &errs("i += weight", &units(&[("weight", "nS")])),
            1,
            6,
            &["found nS"],
        );
    }
}

/// The examples of this module's documentation (crate-private, so not doc
/// tests).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn module() {
        use crate::equations::parse_equations;
        use crate::equations::units::{UnitChecker, parse_unit};
        use std::collections::BTreeMap;
        assert_eq!(parse_unit("nS*mV").unwrap(), parse_unit("pA").unwrap());
        let declared: BTreeMap<String, _> = [("tau", "ms"), ("e_l", "mV"), ("i", "pA")]
            .into_iter()
            .map(|(n, u)| (n.to_string(), parse_unit(u).unwrap()))
            .collect();
        let eqs = parse_equations("dv/dt = (e_l - v)/tau + i : mV").unwrap();
        let errs = UnitChecker::new(&declared).check_equations(&eqs);
        assert_eq!(
            errs[0].to_string(),
            "line 1, column 10: units differ in '+': mV/ms vs pA \
             (the left side is mV/ms, the right side is pA)"
        );
    }
}
