//! Lexer and precedence-climbing parser for equation, expression and
//! statement strings.
//!
//! Precedence, lowest first: `if c then a else b`, `or`, `and`, `not`,
//! comparisons (not chainable), `+ -`, `* /`, unary `- +`, `**` (right
//! associative, tighter than unary minus), then calls, parentheses, numbers
//! and names. Every error carries the exact place in the string.

use super::ast::{AssignOp, BinOp, Equation, Expr, Func, Span, Statement, UNLESS_REFRACTORY, UnOp};
use std::fmt;

/// An error in an equation string: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqError {
    /// The offending place in the string.
    pub span: Span,
    /// What was expected and what was found.
    pub message: String,
}

impl EqError {
    /// An error at `span`.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        EqError {
            span,
            message: message.into(),
        }
    }
}

impl fmt::Display for EqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.span.line, self.span.col, self.message
        )
    }
}

impl std::error::Error for EqError {}

/// Parses one expression (a threshold condition, a numeric field). New lines
/// are plain white space here.
pub fn parse_expr(src: &str) -> Result<Expr, Vec<EqError>> {
    let lexed = lex(src);
    let toks: Vec<Token> = lexed
        .toks
        .into_iter()
        .filter(|t| t.tok != Tok::Newline)
        .collect();
    let mut p = Parser::new(&toks, &lexed.line_lens, "end of input");
    let result = p.expr().and_then(|e| match p.peek().tok {
        Tok::Eof => Ok(e),
        _ => Err(p.unexpected_after_expr("an operator or end of input")),
    });
    finish(p.errors, result)
}

/// Parses an `equations` block: one `dX/dt = expr` or `name = expr` per line,
/// optionally followed by a Brian2-style `: unit` (kept as written, checked by
/// `super::units`) and, on a derivative line, flags in parentheses: only
/// `(unless refractory)`. Blank lines and `#` comments are skipped. Every
/// line with an error is reported.
pub fn parse_equations(src: &str) -> Result<Vec<Equation>, Vec<EqError>> {
    let lexed = lex(src);
    let mut eqs = Vec::new();
    let mut errors = Vec::new();
    // Each line is parsed on its own (its new line becomes its end), so one bad
    // line does not hide the errors of the next.
    let mut line: Vec<Token> = Vec::new();
    for mut t in lexed.toks {
        let end = matches!(t.tok, Tok::Newline | Tok::Eof);
        if end {
            t.tok = Tok::Eof;
        }
        line.push(t);
        if end {
            if line.len() > 1 {
                let mut p = Parser::new(&line, &lexed.line_lens, "end of line");
                let result = p.equation();
                match finish(p.errors, result) {
                    Ok(eq) => eqs.push(eq),
                    Err(errs) => errors.extend(errs),
                }
            }
            line.clear();
        }
    }
    if errors.is_empty() {
        Ok(eqs)
    } else {
        Err(errors)
    }
}

/// Parses statements (`reset`, receptors, `on_pre`, `on_post`) separated by
/// `;` or new lines, each `name op expr` with op one of `= += -= *= /=`.
/// Empty statements are skipped; after an error parsing resumes at the next
/// separator.
pub fn parse_statements(src: &str) -> Result<Vec<Statement>, Vec<EqError>> {
    let lexed = lex(src);
    let mut p = Parser::new(&lexed.toks, &lexed.line_lens, "end of input");
    let mut stmts = Vec::new();
    let mut fatal = Vec::new();
    loop {
        while matches!(p.peek().tok, Tok::Semi | Tok::Newline) {
            p.bump();
        }
        if p.peek().tok == Tok::Eof {
            break;
        }
        match p.statement() {
            Ok(s) => stmts.push(s),
            Err(e) => {
                fatal.push(e);
                while !matches!(p.peek().tok, Tok::Semi | Tok::Newline | Tok::Eof) {
                    p.bump();
                }
            }
        }
    }
    let mut errors = p.errors;
    errors.extend(fatal);
    if errors.is_empty() {
        Ok(stmts)
    } else {
        sort_errors(&mut errors);
        Err(errors)
    }
}

/// Merges the recoverable errors with the outcome of a parse.
fn finish<T>(mut errors: Vec<EqError>, result: Result<T, EqError>) -> Result<T, Vec<EqError>> {
    match result {
        Ok(v) if errors.is_empty() => Ok(v),
        Ok(_) => {
            sort_errors(&mut errors);
            Err(errors)
        }
        Err(e) => {
            errors.push(e);
            sort_errors(&mut errors);
            Err(errors)
        }
    }
}

fn sort_errors(errors: &mut [EqError]) {
    errors.sort_by_key(|e| (e.span.line, e.span.col));
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    // Keywords.
    And,
    Or,
    Not,
    If,
    Then,
    Else,
    True,
    False,
    // Operators and punctuation.
    Plus,
    Minus,
    Star,
    Slash,
    StarStar,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    Assign,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    LParen,
    RParen,
    Comma,
    Semi,
    Colon,
    Newline,
    Eof,
    /// Something that cannot be lexed; the message says why. Reported only if
    /// the parser reaches it.
    Bad(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Span,
    /// The source text (for messages).
    text: String,
}

struct Lexed {
    /// Ends with `Eof`.
    toks: Vec<Token>,
    /// Characters per line (without the line break), index 0 = line 1.
    line_lens: Vec<u32>,
}

fn keyword(word: &str) -> Option<Tok> {
    Some(match word {
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "if" => Tok::If,
        "then" => Tok::Then,
        "else" => Tok::Else,
        "true" => Tok::True,
        "false" => Tok::False,
        _ => return None,
    })
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn lex(src: &str) -> Lexed {
    let line_lens = src
        .split('\n')
        .map(|l| to_u32(l.strip_suffix('\r').unwrap_or(l).chars().count()))
        .collect();
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1u32, 1u32);
    let at = |j: usize| chars.get(j).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let span = |n: usize| Span {
            line,
            col,
            len: to_u32(n).max(1),
        };
        let (tok, n) = match c {
            '\n' => (Tok::Newline, 1),
            '\r' if at(i + 1) == '\n' => (Tok::Newline, 2),
            '#' => {
                // A comment runs to the line break, which stays a token.
                let mut j = i;
                while j < chars.len()
                    && chars[j] != '\n'
                    && !(chars[j] == '\r' && at(j + 1) == '\n')
                {
                    j += 1;
                }
                col = col.saturating_add(to_u32(j - i));
                i = j;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                col = col.saturating_add(1);
                continue;
            }
            c if c.is_ascii_digit() || (c == '.' && at(i + 1).is_ascii_digit()) => {
                lex_number(&chars, i)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut j = i;
                while j < chars.len() && is_ident_char(chars[j]) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                (keyword(&word).unwrap_or(Tok::Ident(word)), j - i)
            }
            '*' if at(i + 1) == '*' => (Tok::StarStar, 2),
            '*' if at(i + 1) == '=' => (Tok::StarEq, 2),
            '+' if at(i + 1) == '=' => (Tok::PlusEq, 2),
            '-' if at(i + 1) == '=' => (Tok::MinusEq, 2),
            '/' if at(i + 1) == '=' => (Tok::SlashEq, 2),
            '<' if at(i + 1) == '=' => (Tok::Le, 2),
            '>' if at(i + 1) == '=' => (Tok::Ge, 2),
            '=' if at(i + 1) == '=' => (Tok::EqEq, 2),
            '!' if at(i + 1) == '=' => (Tok::Ne, 2),
            '&' if at(i + 1) == '&' => (Tok::Bad("'&&' is not an operator: use 'and'".into()), 2),
            '|' if at(i + 1) == '|' => (Tok::Bad("'||' is not an operator: use 'or'".into()), 2),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '/' => (Tok::Slash, 1),
            '<' => (Tok::Lt, 1),
            '>' => (Tok::Gt, 1),
            '=' => (Tok::Assign, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            ';' => (Tok::Semi, 1),
            ':' => (Tok::Colon, 1),
            '^' => (
                Tok::Bad("'^' is not an operator: use '**' or 'pow(x, y)' for powers".into()),
                1,
            ),
            '!' => (
                Tok::Bad("'!' is not an operator: use 'not' or '!='".into()),
                1,
            ),
            '&' => (Tok::Bad("'&' is not an operator: use 'and'".into()), 1),
            '|' => (Tok::Bad("'|' is not an operator: use 'or'".into()), 1),
            '[' | ']' | '{' | '}' => (
                Tok::Bad(format!("unexpected '{c}': only '(' and ')' group")),
                1,
            ),
            _ => (
                Tok::Bad(format!("unexpected character '{}'", c.escape_debug())),
                1,
            ),
        };
        let text: String = chars[start..start + n].iter().collect();
        let is_newline = tok == Tok::Newline;
        // A CRLF break is one character wide at its '\r'.
        let width = if is_newline { 1 } else { n };
        toks.push(Token {
            tok,
            span: span(width),
            text,
        });
        i += n;
        if is_newline {
            line = line.saturating_add(1);
            col = 1;
        } else {
            col = col.saturating_add(to_u32(n));
        }
    }
    toks.push(Token {
        tok: Tok::Eof,
        span: Span { line, col, len: 1 },
        text: String::new(),
    });
    Lexed { toks, line_lens }
}

/// A number starting at `i`: `1`, `1.5`, `.5`, `1.`, `1e-3`, `2.5E+4`. Letters,
/// digits or dots straight after it make it a bad number (`1e`, `2x`, `1.2.3`)
/// rather than two tokens.
fn lex_number(chars: &[char], i: usize) -> (Tok, usize) {
    let at = |j: usize| chars.get(j).copied().unwrap_or('\0');
    let mut j = i;
    while at(j).is_ascii_digit() {
        j += 1;
    }
    if at(j) == '.' {
        j += 1;
        while at(j).is_ascii_digit() {
            j += 1;
        }
    }
    let mut bad_exponent = false;
    if matches!(at(j), 'e' | 'E') {
        let mut k = j + 1;
        if matches!(at(k), '+' | '-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            while at(k).is_ascii_digit() {
                k += 1;
            }
        } else {
            bad_exponent = true;
        }
        j = k;
    }
    let mut trailing = false;
    while is_ident_char(at(j)) || at(j) == '.' {
        j += 1;
        trailing = true;
    }
    let text: String = chars[i..j].iter().collect();
    let tok = if bad_exponent {
        Tok::Bad(format!(
            "invalid number '{text}': expected digits after the exponent"
        ))
    } else if trailing {
        Tok::Bad(format!("invalid number '{text}'"))
    } else {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Tok::Num(v),
            Ok(_) => Tok::Bad(format!("number '{text}' is too large")),
            Err(_) => Tok::Bad(format!("invalid number '{text}'")),
        }
    };
    (tok, j - i)
}

// ---------------------------------------------------------------- parser

/// Nesting deeper than this is an error rather than a stack overflow.
const MAX_DEPTH: u32 = 100;

struct Parser<'t> {
    /// Ends with `Eof`.
    toks: &'t [Token],
    pos: usize,
    /// Recoverable errors (unknown function, arity, chained comparison).
    errors: Vec<EqError>,
    /// What `Eof` is called in messages.
    eof_name: &'static str,
    line_lens: &'t [u32],
    depth: u32,
}

type PResult<T> = Result<T, EqError>;

impl<'t> Parser<'t> {
    fn new(toks: &'t [Token], line_lens: &'t [u32], eof_name: &'static str) -> Self {
        Parser {
            toks,
            pos: 0,
            errors: Vec::new(),
            eof_name,
            line_lens,
            depth: 0,
        }
    }

    fn peek(&self) -> &'t Token {
        // The token list always ends with Eof and `bump` never passes it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek2(&self) -> &'t Token {
        &self.toks[(self.pos + 1).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> &'t Token {
        let t = self.peek();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    /// How a token is named in messages.
    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Num(_) => format!("number '{}'", t.text),
            Tok::Ident(_) => format!("name '{}'", t.text),
            Tok::And
            | Tok::Or
            | Tok::Not
            | Tok::If
            | Tok::Then
            | Tok::Else
            | Tok::True
            | Tok::False => format!("keyword '{}'", t.text),
            Tok::Newline => "end of line".into(),
            Tok::Eof => self.eof_name.into(),
            _ => format!("'{}'", t.text),
        }
    }

    /// A span from the start of `a` to the end of `b` (to the end of `a`'s
    /// line when `b` is on a later line).
    fn join(&self, a: Span, b: Span) -> Span {
        let len = if a.line == b.line {
            b.col.saturating_add(b.len).saturating_sub(a.col)
        } else {
            let line_len = self
                .line_lens
                .get(a.line.saturating_sub(1) as usize)
                .copied()
                .unwrap_or(0);
            line_len.saturating_add(1).saturating_sub(a.col)
        };
        Span {
            len: len.max(1),
            ..a
        }
    }

    fn where_is(&self, opened: Span, here: Span) -> String {
        if opened.line == here.line {
            format!("column {}", opened.col)
        } else {
            format!("line {}, column {}", opened.line, opened.col)
        }
    }

    /// The error for a token where an operator or the end was expected.
    fn unexpected_after_expr(&self, expected: &str) -> EqError {
        let t = self.peek();
        let message = match &t.tok {
            Tok::Bad(m) => m.clone(),
            Tok::RParen => "unmatched ')'".into(),
            Tok::Assign => format!("expected {expected}, found '=' (use '==' to compare)"),
            _ => format!("expected {expected}, found {}", self.describe(t)),
        };
        EqError::new(t.span, message)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(EqError::new(
                self.peek().span,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    // ------------------------------------------------ lines and statements

    /// `dX/dt = expr [: unit]` or `name = expr [: unit]`, then the line's end.
    fn equation(&mut self) -> PResult<Equation> {
        let first = self.bump();
        let name = match &first.tok {
            Tok::Ident(n) => n.clone(),
            _ => return Err(self.bad_target(first, "'dX/dt = ...' or 'name = ...'")),
        };
        let eq = match &self.peek().tok {
            Tok::Slash => {
                self.bump();
                let var = self.derivative_var(first, &name)?;
                let dt = self.bump();
                if dt.tok != Tok::Ident("dt".into()) {
                    return Err(EqError::new(
                        dt.span,
                        format!(
                            "expected 'dt' after '{name}/' in a derivative, found {}",
                            self.describe(dt)
                        ),
                    ));
                }
                self.expect_assign(&format!("'{name}/dt'"))?;
                let expr = self.expr()?;
                Equation::Derivative {
                    var: var.to_string(),
                    var_span: Span {
                        col: first.span.col + 1,
                        len: first.span.len.saturating_sub(1).max(1),
                        ..first.span
                    },
                    expr,
                    unit: None,
                    flags: Vec::new(),
                }
            }
            Tok::Ident(v) if name == "d" && self.peek2().tok == Tok::Slash => {
                let v_tok = self.peek();
                return Err(EqError::new(
                    self.join(first.span, v_tok.span),
                    format!("no space is allowed between 'd' and '{v}': write 'd{v}/dt'"),
                ));
            }
            _ => {
                self.expect_assign(&format!("'{name}'"))?;
                let expr = self.expr()?;
                Equation::Define {
                    name,
                    name_span: first.span,
                    expr,
                    unit: None,
                }
            }
        };
        match self.peek().tok {
            Tok::Eof => Ok(eq),
            Tok::Colon => {
                self.bump();
                self.unit_and_flags(eq)
            }
            _ => Err(self.unexpected_after_expr("an operator or end of line")),
        }
    }

    /// The rest of a line after its `:`: a unit, then optionally flags in
    /// parentheses (`: mV (unless refractory)`), stored into `eq`. The unit is
    /// kept as written; [`super::units::parse_unit`] judges it.
    fn unit_and_flags(&mut self, mut eq: Equation) -> PResult<Equation> {
        let rest = &self.toks[self.pos..self.toks.len() - 1];
        self.pos = self.toks.len() - 1;
        if rest.is_empty() {
            return Err(EqError::new(
                self.peek().span,
                format!("expected a unit after ':', found {}", self.eof_name),
            ));
        }
        // A final parenthesised group is the flags unless it belongs to the
        // unit, as in `mV/(ms*ms)`: then an operator stands before it.
        let mut unit_toks = rest;
        let mut group: Option<&[Token]> = None;
        if let Some(open) = final_group(rest) {
            match open.checked_sub(1).map(|k| &rest[k].tok) {
                None => {
                    return Err(EqError::new(
                        rest[0].span,
                        "expected a unit before the flags: write ': unit (flags)'",
                    ));
                }
                Some(Tok::Ident(_) | Tok::Num(_) | Tok::RParen) => {
                    unit_toks = &rest[..open];
                    group = Some(&rest[open..]);
                }
                Some(_) => {}
            }
        }
        let unit = Some((
            source_text(unit_toks),
            self.join(unit_toks[0].span, unit_toks[unit_toks.len() - 1].span),
        ));
        match &mut eq {
            Equation::Derivative {
                unit: u, flags: f, ..
            } => {
                *u = unit;
                if let Some(group) = group {
                    *f = self.flags(group)?;
                }
            }
            Equation::Define { name, unit: u, .. } => {
                *u = unit;
                if let Some(group) = group {
                    let span = self.join(group[0].span, group[group.len() - 1].span);
                    return Err(EqError::new(
                        span,
                        format!(
                            "the definition '{name}' cannot have flags: only a derivative \
                             line takes '({UNLESS_REFRACTORY})'"
                        ),
                    ));
                }
            }
        }
        Ok(eq)
    }

    /// The comma-separated flags of `( ... )` (the group with its parentheses).
    fn flags(&self, group: &[Token]) -> PResult<Vec<(String, Span)>> {
        let inner = &group[1..group.len() - 1];
        let mut flags: Vec<(String, Span)> = Vec::new();
        let mut at = 0;
        loop {
            let end = inner[at..]
                .iter()
                .position(|t| t.tok == Tok::Comma)
                .map_or(inner.len(), |k| at + k);
            let words = &inner[at..end];
            let Some((first, last)) = words.first().zip(words.last()) else {
                // An empty flag: `()`, `(a,)` or `(, a)`.
                let t = inner.get(end).unwrap_or(&group[group.len() - 1]);
                return Err(EqError::new(
                    t.span,
                    format!(
                        "expected a flag ('{UNLESS_REFRACTORY}'), found {}",
                        self.describe(t)
                    ),
                ));
            };
            let span = self.join(first.span, last.span);
            // Words are compared with single spaces: `unless  refractory` is fine.
            let text = source_text(words)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if text != UNLESS_REFRACTORY {
                return Err(EqError::new(
                    span,
                    format!("unknown flag '{text}'; expected '{UNLESS_REFRACTORY}'"),
                ));
            }
            if flags.iter().any(|f| f.0 == text) {
                return Err(EqError::new(span, format!("flag '{text}' is given twice")));
            }
            flags.push((text, span));
            if end == inner.len() {
                return Ok(flags);
            }
            at = end + 1;
        }
    }

    /// The `X` of `dX/dt`, given the token before the `/`.
    fn derivative_var<'n>(&self, first: &Token, name: &'n str) -> PResult<&'n str> {
        match name.strip_prefix('d') {
            Some(var) if !var.is_empty() => Ok(var),
            Some(_) => Err(EqError::new(
                first.span,
                "expected a state variable after 'd' in 'dX/dt', found '/'",
            )),
            None => Err(EqError::new(
                first.span,
                format!("a derivative is written 'dX/dt', found '{name}/'"),
            )),
        }
    }

    fn expect_assign(&mut self, after: &str) -> PResult<()> {
        let t = self.peek();
        if t.tok == Tok::Assign {
            self.bump();
            return Ok(());
        }
        let message = match &t.tok {
            Tok::Bad(m) => m.clone(),
            _ => format!("expected '=' after {after}, found {}", self.describe(t)),
        };
        Err(EqError::new(t.span, message))
    }

    /// The error for a token that cannot start an equation or statement.
    fn bad_target(&self, t: &Token, expected: &str) -> EqError {
        let message = match &t.tok {
            Tok::Bad(m) => m.clone(),
            Tok::And
            | Tok::Or
            | Tok::Not
            | Tok::If
            | Tok::Then
            | Tok::Else
            | Tok::True
            | Tok::False => format!("'{}' is a keyword and cannot be used as a name", t.text),
            _ => format!("expected {expected}, found {}", self.describe(t)),
        };
        EqError::new(t.span, message)
    }

    /// `name op expr`, then `;`, a new line or the end.
    fn statement(&mut self) -> PResult<Statement> {
        let first = self.bump();
        let target = match &first.tok {
            Tok::Ident(n) => n.clone(),
            _ => return Err(self.bad_target(first, "a variable to assign to")),
        };
        let op_tok = self.peek();
        let op = match op_tok.tok {
            Tok::Assign => AssignOp::Set,
            Tok::PlusEq => AssignOp::Add,
            Tok::MinusEq => AssignOp::Sub,
            Tok::StarEq => AssignOp::Mul,
            Tok::SlashEq => AssignOp::Div,
            _ => {
                let message = match &op_tok.tok {
                    Tok::Bad(m) => m.clone(),
                    _ => format!(
                        "expected '=', '+=', '-=', '*=' or '/=' after '{target}', found {}",
                        self.describe(op_tok)
                    ),
                };
                return Err(EqError::new(op_tok.span, message));
            }
        };
        self.bump();
        let expr = self.expr()?;
        match self.peek().tok {
            Tok::Semi | Tok::Newline | Tok::Eof => Ok(Statement {
                target,
                target_span: first.span,
                op,
                expr,
            }),
            _ => Err(self.unexpected_after_expr("an operator, ';' or end of line")),
        }
    }

    // ------------------------------------------------ expressions

    /// The lowest level: `if c then a else b` or an `or` chain.
    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = if self.peek().tok == Tok::If {
            self.if_expr()
        } else {
            self.or_expr()
        };
        self.depth -= 1;
        r
    }

    fn if_expr(&mut self) -> PResult<Expr> {
        let if_tok = self.bump();
        let cond = self.expr()?;
        self.expect_keyword(Tok::Then, "then", "the condition", if_tok.span)?;
        let a = self.expr()?;
        self.expect_keyword(Tok::Else, "else", "the 'then' branch", if_tok.span)?;
        let b = self.expr()?;
        let span = self.join(if_tok.span, b.span());
        Ok(Expr::If(Box::new(cond), Box::new(a), Box::new(b), span))
    }

    fn expect_keyword(&mut self, kw: Tok, name: &str, after: &str, if_span: Span) -> PResult<()> {
        let t = self.peek();
        if t.tok == kw {
            self.bump();
            return Ok(());
        }
        let message = match &t.tok {
            Tok::Bad(m) => m.clone(),
            _ => format!(
                "expected '{name}' after {after} of the 'if' at {}, found {}",
                self.where_is(if_span, t.span),
                self.describe(t)
            ),
        };
        Err(EqError::new(t.span, message))
    }

    /// `lhs (op rhs)*`, left associative, for the operators `ops` maps.
    fn left_assoc(
        &mut self,
        ops: fn(&Tok) -> Option<BinOp>,
        next: fn(&mut Self) -> PResult<Expr>,
    ) -> PResult<Expr> {
        let mut lhs = next(self)?;
        while let Some(op) = ops(&self.peek().tok) {
            self.bump();
            let rhs = next(self)?;
            let span = self.join(lhs.span(), rhs.span());
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs), span);
        }
        Ok(lhs)
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        self.left_assoc(|t| (*t == Tok::Or).then_some(BinOp::Or), Self::and_expr)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        self.left_assoc(|t| (*t == Tok::And).then_some(BinOp::And), Self::not_expr)
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.peek().tok != Tok::Not {
            return self.cmp_expr();
        }
        let not = self.bump();
        self.enter()?;
        let arg = self.not_expr();
        self.depth -= 1;
        let arg = arg?;
        let span = self.join(not.span, arg.span());
        Ok(Expr::Unary(UnOp::Not, Box::new(arg), span))
    }

    fn cmp_op(t: &Tok) -> Option<BinOp> {
        Some(match t {
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::EqEq => BinOp::Eq,
            Tok::Ne => BinOp::Ne,
            _ => return None,
        })
    }

    /// At most one comparison: `a < b < c` is reported (once) and parsed left
    /// to right so that the rest of the line is still checked.
    fn cmp_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.add_expr()?;
        let mut count = 0;
        while let Some(op) = Self::cmp_op(&self.peek().tok) {
            let op_tok = self.bump();
            count += 1;
            if count == 2 {
                self.errors.push(EqError::new(
                    op_tok.span,
                    format!(
                        "comparisons cannot be chained: '{}' follows another comparison \
                         (write 'a < b and b < c')",
                        op_tok.text
                    ),
                ));
            }
            let rhs = self.add_expr()?;
            let span = self.join(lhs.span(), rhs.span());
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs), span);
        }
        Ok(lhs)
    }

    fn add_expr(&mut self) -> PResult<Expr> {
        self.left_assoc(
            |t| match t {
                Tok::Plus => Some(BinOp::Add),
                Tok::Minus => Some(BinOp::Sub),
                _ => None,
            },
            Self::mul_expr,
        )
    }

    fn mul_expr(&mut self) -> PResult<Expr> {
        self.left_assoc(
            |t| match t {
                Tok::Star => Some(BinOp::Mul),
                Tok::Slash => Some(BinOp::Div),
                _ => None,
            },
            Self::unary,
        )
    }

    /// Unary `-` and `+`; `+x` is just `x`.
    fn unary(&mut self) -> PResult<Expr> {
        let neg = match self.peek().tok {
            Tok::Minus => true,
            Tok::Plus => false,
            _ => return self.power(),
        };
        let op = self.bump();
        self.enter()?;
        let arg = self.unary();
        self.depth -= 1;
        let arg = arg?;
        if !neg {
            return Ok(arg);
        }
        let span = self.join(op.span, arg.span());
        Ok(Expr::Unary(UnOp::Neg, Box::new(arg), span))
    }

    /// `base ** exponent`: right associative, and the exponent may carry a
    /// sign (`2 ** -1`), as in Python.
    fn power(&mut self) -> PResult<Expr> {
        let base = self.primary()?;
        if self.peek().tok != Tok::StarStar {
            return Ok(base);
        }
        self.bump();
        self.enter()?;
        let exponent = self.unary();
        self.depth -= 1;
        let exponent = exponent?;
        let span = self.join(base.span(), exponent.span());
        Ok(Expr::Call(Func::Pow, vec![base, exponent], span))
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek();
        match &t.tok {
            Tok::Num(v) => {
                self.bump();
                Ok(Expr::Num(*v, t.span))
            }
            Tok::True | Tok::False => {
                self.bump();
                Ok(Expr::Num(
                    if t.tok == Tok::True { 1.0 } else { 0.0 },
                    t.span,
                ))
            }
            Tok::Ident(name) => {
                self.bump();
                if self.peek().tok == Tok::LParen {
                    self.call(name, t.span)
                } else {
                    Ok(Expr::Var(name.clone(), t.span))
                }
            }
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                self.close_paren(t.span, None)?;
                Ok(inner)
            }
            Tok::If => self.if_expr(),
            Tok::Bad(m) => Err(EqError::new(t.span, m.clone())),
            _ => {
                let message = match self.pos.checked_sub(1).map(|p| &self.toks[p]) {
                    Some(prev) => format!(
                        "expected an expression after '{}', found {}",
                        prev.text,
                        self.describe(t)
                    ),
                    None => format!("expected an expression, found {}", self.describe(t)),
                };
                Err(EqError::new(t.span, message))
            }
        }
    }

    /// Expects the `)` matching the `(` at `open` (of a call to `func`).
    fn close_paren(&mut self, open: Span, func: Option<&str>) -> PResult<Span> {
        let t = self.peek();
        if t.tok == Tok::RParen {
            self.bump();
            return Ok(t.span);
        }
        let what = match func {
            Some(f) => format!("'(' of '{f}'"),
            None => "'('".into(),
        };
        let message = match &t.tok {
            Tok::Bad(m) => m.clone(),
            Tok::Eof | Tok::Newline | Tok::Semi => format!(
                "unclosed {what} opened at {}: expected ')', found {}",
                self.where_is(open, t.span),
                self.describe(t)
            ),
            Tok::Assign => format!(
                "expected ')' to close the {what} at {}, found '=' (use '==' to compare)",
                self.where_is(open, t.span)
            ),
            _ => format!(
                "expected {} or ')' to close the {what} at {}, found {}",
                if func.is_some() { "','" } else { "an operator" },
                self.where_is(open, t.span),
                self.describe(t)
            ),
        };
        Err(EqError::new(t.span, message))
    }

    /// `name(args)`; unknown functions and wrong argument counts are
    /// reported without stopping the parse.
    fn call(&mut self, name: &str, name_span: Span) -> PResult<Expr> {
        let open = self.bump().span;
        let mut args = Vec::new();
        let close = if self.peek().tok == Tok::RParen {
            self.bump().span
        } else {
            loop {
                args.push(self.expr()?);
                if self.peek().tok == Tok::Comma {
                    self.bump();
                } else {
                    break self.close_paren(open, Some(name))?;
                }
            }
        };
        let span = self.join(name_span, close);
        let Some(func) = Func::by_name(name) else {
            let names: Vec<&str> = Func::ALL.iter().map(|f| f.1).collect();
            let hint = match closest(name, names.iter().copied()) {
                Some(c) => format!("did you mean '{c}'?"),
                None => format!("the functions are {}", names.join(", ")),
            };
            self.errors.push(EqError::new(
                name_span,
                format!("unknown function '{name}': {hint}"),
            ));
            return Ok(Expr::Call(Func::Exp, args, span));
        };
        if args.len() != func.arity() {
            let takes = match func.arity() {
                0 => "no arguments".to_string(),
                1 => "1 argument".to_string(),
                n => format!("{n} arguments"),
            };
            self.errors.push(EqError::new(
                span,
                format!("{name}() takes {takes}, found {}", args.len()),
            ));
        }
        Ok(Expr::Call(func, args, span))
    }
}

/// Where the parenthesised group that ends `toks` opens, if they end with
/// `)` and it is matched.
fn final_group(toks: &[Token]) -> Option<usize> {
    if toks.last()?.tok != Tok::RParen {
        return None;
    }
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().rev() {
        match t.tok {
            Tok::RParen => depth += 1,
            // Never below zero: the scan starts at a `)`.
            Tok::LParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text of tokens of one line as written, white space between them
/// included (comments are not tokens, so a trailing one is left out).
fn source_text(toks: &[Token]) -> String {
    let mut text = String::new();
    for (k, t) in toks.iter().enumerate() {
        if let Some(prev) = k.checked_sub(1).map(|k| toks[k].span) {
            let gap = t.span.col.saturating_sub(prev.col + prev.len);
            text.extend(std::iter::repeat_n(' ', gap as usize));
        }
        text.push_str(&t.text);
    }
    text
}

/// The edit (Levenshtein) distance between two names, in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if close enough to be a likely typo: a
/// case difference, or at most a third of the characters (at least one)
/// changed, never all of them (`x` is not a typo of `v`).
pub(crate) fn closest<'c>(
    name: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let len = name.chars().count();
    let limit = (len / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = if c.eq_ignore_ascii_case(name) {
            0
        } else {
            edit_distance(name, c)
        };
        let ok = d == 0 || (d <= limit && d < len);
        if ok && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fully parenthesised rendering without spans, to compare trees.
    pub(crate) fn show(e: &Expr) -> String {
        match e {
            Expr::Num(v, _) => format!("{v}"),
            Expr::Var(n, _) => n.clone(),
            Expr::Unary(UnOp::Neg, a, _) => format!("(- {})", show(a)),
            Expr::Unary(UnOp::Not, a, _) => format!("(not {})", show(a)),
            Expr::Binary(op, a, b, _) => {
                let sym = op.symbol();
                format!("({sym} {} {})", show(a), show(b))
            }
            Expr::Call(f, args, _) => {
                let args: Vec<String> = args.iter().map(show).collect();
                format!("{}({})", f.name(), args.join(", "))
            }
            Expr::If(c, a, b, _) => format!("(if {} {} {})", show(c), show(a), show(b)),
        }
    }

    fn tree(src: &str) -> String {
        match parse_expr(src) {
            Ok(e) => show(&e),
            Err(errs) => panic!("{src:?}: {}", errs[0]),
        }
    }

    fn sp(line: u32, col: u32, len: u32) -> Span {
        Span { line, col, len }
    }

    /// The first error, which must be at `line`:`col` and mention every word.
    fn err_at<T: fmt::Debug>(r: Result<T, Vec<EqError>>, line: u32, col: u32, words: &[&str]) {
        let errs = r.expect_err("an error");
        let e = &errs[0];
        assert_eq!((e.span.line, e.span.col), (line, col), "{e}");
        for w in words {
            assert!(e.message.contains(w), "{e:?} lacks {w:?}");
        }
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(tree("a + b * c"), "(+ a (* b c))");
        assert_eq!(tree("a * b + c"), "(+ (* a b) c)");
        assert_eq!(tree("a - b - c"), "(- (- a b) c)");
        assert_eq!(tree("a / b / c"), "(/ (/ a b) c)");
        assert_eq!(tree("a / b * c"), "(* (/ a b) c)");
        assert_eq!(tree("(a + b) * c"), "(* (+ a b) c)");
        assert_eq!(tree("a + b < c * d"), "(< (+ a b) (* c d))");
        assert_eq!(tree("not a < b and c or d"), "(or (and (not (< a b)) c) d)");
        assert_eq!(tree("a or b and c"), "(or a (and b c))");
        assert_eq!(tree("not not a"), "(not (not a))");
        for (src, op) in [
            ("<", "<"),
            ("<=", "<="),
            (">", ">"),
            (">=", ">="),
            ("==", "=="),
            ("!=", "!="),
        ] {
            assert_eq!(tree(&format!("a {src} b")), format!("({op} a b)"));
        }
    }

    #[test]
    fn powers_and_unary() {
        assert_eq!(tree("-x**2"), "(- pow(x, 2))");
        assert_eq!(tree("a**b**c"), "pow(a, pow(b, c))");
        assert_eq!(tree("2**-1"), "pow(2, (- 1))");
        assert_eq!(tree("-a*b"), "(* (- a) b)");
        assert_eq!(tree("- -a"), "(- (- a))");
        assert_eq!(tree("+a"), "a");
        assert_eq!(tree("a - -b"), "(- a (- b))");
        assert_eq!(tree("2*x**3"), "(* 2 pow(x, 3))");
        assert_eq!(tree("(-x)**2"), "pow((- x), 2)");
    }

    #[test]
    fn if_then_else() {
        assert_eq!(tree("if c then a else b + 1"), "(if c a (+ b 1))");
        assert_eq!(
            tree("if v > 0 then 1 else if v < 0 then -1 else 0"),
            "(if (> v 0) 1 (if (< v 0) (- 1) 0))"
        );
        assert_eq!(tree("1 + if c then 2 else 3"), "(+ 1 (if c 2 3))");
        assert_eq!(tree("(if c then 2 else 3) * 4"), "(* (if c 2 3) 4)");
    }

    #[test]
    fn calls_numbers_and_literals() {
        assert_eq!(
            tree("exp(x) + clip(v, 0, 1) * uniform() - normal()"),
            "(- (+ exp(x) (* clip(v, 0, 1) uniform())) normal())"
        );
        assert_eq!(
            tree("max(min(a, b), pow(c, 2))"),
            "max(min(a, b), pow(c, 2))"
        );
        assert_eq!(tree("true + false"), "(+ 1 0)");
        assert_eq!(
            tree("1 + 1.5 + .5 + 1e-3 + 2.5E+4 + 3. + 7e2"),
            "(+ (+ (+ (+ (+ (+ 1 1.5) 0.5) 0.001) 25000) 3) 700)"
        );
        assert_eq!(tree("_x1 + A_b"), "(+ _x1 A_b)");
        assert_eq!(tree("  a\n  + b  # comment\n"), "(+ a b)");
    }

    #[test]
    fn spans_are_exact() {
        let e = parse_expr("a + b*c").unwrap();
        assert_eq!(e.span(), sp(1, 1, 7));
        let Expr::Binary(BinOp::Add, a, m, _) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(a.span(), sp(1, 1, 1));
        assert_eq!(m.span(), sp(1, 5, 3));
        let e = parse_expr("exp(vé) ").unwrap_err();
        // Columns count characters, not bytes.
        assert_eq!(e[0].span, sp(1, 6, 1));
        let e = parse_expr("  -x**2").unwrap();
        assert_eq!(e.span(), sp(1, 3, 5));
        let e = parse_expr("if c then 1 else 22").unwrap();
        assert_eq!(e.span(), sp(1, 1, 19));
        let e = parse_expr("max(a, 2.5)").unwrap();
        assert_eq!(e.span(), sp(1, 1, 11));
        assert_eq!(Expr::Num(2.5, sp(1, 8, 3)), {
            let Expr::Call(_, args, _) = e else { panic!() };
            args[1].clone()
        });
    }

    #[test]
    fn equations_parse() {
        let src = "
# AdEx
dv/dt = (-g_l*(v - e_l) + g_l*delta_t*exp((v - v_t)/delta_t) - w + i_exc - i_inh) / c_m
dw/dt = (a*(v - e_l) - w) / tau_w   # adaptation

di_exc/dt = -i_exc / 5.0
i_total = i_exc - i_inh
";
        let eqs = parse_equations(src).unwrap();
        assert_eq!(eqs.len(), 4);
        let Equation::Derivative { var, var_span, .. } = &eqs[2] else {
            panic!("{:?}", eqs[2])
        };
        assert_eq!((var.as_str(), *var_span), ("i_exc", sp(6, 2, 5)));
        let Equation::Define {
            name,
            name_span,
            expr,
            unit,
        } = &eqs[3]
        else {
            panic!("{:?}", eqs[3])
        };
        assert_eq!((name.as_str(), *name_span), ("i_total", sp(7, 1, 7)));
        assert_eq!(show(expr), "(- i_exc i_inh)");
        assert_eq!(*unit, None);
        let Equation::Derivative { expr, .. } = &eqs[1] else {
            panic!()
        };
        assert_eq!(show(expr), "(/ (- (* a (- v e_l)) w) tau_w)");
        assert_eq!(parse_equations("").unwrap(), vec![]);
        assert_eq!(parse_equations("\n  # only a comment\n\n").unwrap(), vec![]);
    }

    #[test]
    fn equations_crlf_and_units() {
        let eqs = parse_equations("dv/dt = -v / tau : volt\r\n\r\ndw/dt = -w : 1\r\n").unwrap();
        assert_eq!(eqs.len(), 2);
        let Equation::Derivative {
            var,
            var_span,
            expr,
            unit,
            flags,
        } = &eqs[1]
        else {
            panic!()
        };
        assert_eq!((var.as_str(), *var_span), ("w", sp(3, 2, 1)));
        assert_eq!(show(expr), "(- w)");
        assert_eq!(expr.span(), sp(3, 9, 2));
        assert_eq!(unit, &Some(("1".to_string(), sp(3, 14, 1))));
        assert!(flags.is_empty());
        err_at(
            parse_equations("dv/dt = -v\r\ndw/dt = w +\r\n"),
            2,
            12,
            &["expected an expression after '+'", "found end of line"],
        );
    }

    /// The unit and flags of each line, as (unit text, flag texts).
    fn units_of(src: &str) -> Vec<(Option<String>, Vec<String>)> {
        let eqs = parse_equations(src).unwrap_or_else(|e| panic!("{src:?}: {}", e[0]));
        eqs.iter()
            .map(|eq| match eq {
                Equation::Derivative { unit, flags, .. } => (
                    unit.as_ref().map(|u| u.0.clone()),
                    flags.iter().map(|f| f.0.clone()).collect(),
                ),
                Equation::Define { unit, .. } => (unit.as_ref().map(|u| u.0.clone()), vec![]),
            })
            .collect()
    }

    #[test]
    fn units_and_flags_are_kept() {
        let u = |s: &str| Some(s.to_string());
        let flag = || vec!["unless refractory".to_string()];
        assert_eq!(
            units_of(
                "dv/dt = (e_l - v)/tau : volt (unless refractory)
                 dw/dt = -w/tau_w : pA   # adaptation
                 dg/dt = -g : nS*mV/(ms * ms)
                 i = g*(e - v) : pA
                 x = 1 :  mV ^ 2
                 dy/dt = -y : 1 (  unless   refractory  )
                 dz/dt = -z"
            ),
            vec![
                (u("volt"), flag()),
                (u("pA"), vec![]),
                (u("nS*mV/(ms * ms)"), vec![]),
                (u("pA"), vec![]),
                (u("mV ^ 2"), vec![]),
                (u("1"), flag()),
                (None, vec![]),
            ]
        );
        let eqs = parse_equations("dv/dt = -v/tau : mV/ms (unless refractory)").unwrap();
        let Equation::Derivative { unit, flags, .. } = &eqs[0] else {
            panic!()
        };
        assert_eq!(unit, &Some(("mV/ms".to_string(), sp(1, 18, 5))));
        assert_eq!(
            flags,
            &vec![("unless refractory".to_string(), sp(1, 25, 17))]
        );
    }

    #[test]
    fn flag_errors() {
        err_at(
            parse_equations("dv/dt = -v : mV (unless refractory, event-driven)"),
            1,
            37,
            &[
                "unknown flag 'event-driven'",
                "expected 'unless refractory'",
            ],
        );
        err_at(
            parse_equations("dv/dt = -v : mV (refractory)"),
            1,
            18,
            &["unknown flag 'refractory'; expected 'unless refractory'"],
        );
        err_at(
            parse_equations("i = -v : pA (unless refractory)"),
            1,
            13,
            &["the definition 'i' cannot have flags"],
        );
        err_at(
            parse_equations("dv/dt = -v : mV (unless refractory, unless refractory)"),
            1,
            37,
            &["given twice"],
        );
        err_at(
            parse_equations("dv/dt = -v : mV ()"),
            1,
            18,
            &["expected a flag", "found ')'"],
        );
        err_at(
            parse_equations("dv/dt = -v : mV (unless refractory,)"),
            1,
            36,
            &["expected a flag", "found ')'"],
        );
        err_at(
            parse_equations("dv/dt = -v : (unless refractory)"),
            1,
            14,
            &["expected a unit before the flags"],
        );
        err_at(
            parse_equations("dv/dt = -v :   # no unit"),
            1,
            25,
            &["expected a unit after ':'", "found end of line"],
        );
        // Errors on two lines are both reported.
        let errs =
            parse_equations("dv/dt = -v : mV (x)\nw = 1 : 1 (unless refractory)").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!((errs[1].span.line, errs[1].span.col), (2, 11));
    }

    #[test]
    fn statements_parse() {
        let s = parse_statements("v = v_r; w += b").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].target.as_str(), s[0].op), ("v", AssignOp::Set));
        assert_eq!(show(&s[0].expr), "v_r");
        assert_eq!(
            (s[1].target.as_str(), s[1].target_span),
            ("w", sp(1, 10, 1))
        );
        assert_eq!(
            (s[1].op, show(&s[1].expr)),
            (AssignOp::Add, "b".to_string())
        );
        let s = parse_statements("a -= 1\r\nb *= 2 + c; c /= 3;;\n\n# done\n").unwrap();
        let ops: Vec<AssignOp> = s.iter().map(|s| s.op).collect();
        assert_eq!(ops, [AssignOp::Sub, AssignOp::Mul, AssignOp::Div]);
        assert_eq!(s[2].target_span, sp(2, 13, 1));
        assert_eq!(show(&s[1].expr), "(+ 2 c)");
        assert_eq!(parse_statements(" ; \n").unwrap(), vec![]);
    }

    #[test]
    fn syntax_errors() {
        err_at(
            parse_equations("dv/dt = -v *"),
            1,
            13,
            &["expected an expression after '*'", "found end of line"],
        );
        err_at(
            parse_expr("exp((v - 1)"),
            1,
            12,
            &["unclosed '(' of 'exp' opened at column 4", "end of input"],
        );
        err_at(
            parse_expr("(a + b"),
            1,
            7,
            &["unclosed '(' opened at column 1"],
        );
        err_at(
            parse_expr("(a +\n b"),
            2,
            3,
            &["unclosed '(' opened at line 1, column 1"],
        );
        err_at(parse_expr("a + b)"), 1, 6, &["unmatched ')'"]);
        err_at(
            parse_expr(")"),
            1,
            1,
            &["expected an expression", "found ')'"],
        );
        err_at(parse_expr("v ^ 2"), 1, 3, &["'^'", "'**'", "pow(x, y)"]);
        err_at(
            parse_expr("a < b < c"),
            1,
            7,
            &["comparisons cannot be chained"],
        );
        err_at(parse_expr("a == b != c"), 1, 8, &["chained"]);
        err_at(
            parse_equations("x ="),
            1,
            4,
            &["expected an expression after '='", "found end of line"],
        );
        err_at(
            parse_equations("  = 3"),
            1,
            3,
            &["expected 'dX/dt = ...' or 'name = ...'", "found '='"],
        );
        err_at(
            parse_equations("dv/dt -v/tau"),
            1,
            7,
            &["expected '=' after 'dv/dt'", "found '-'"],
        );
        err_at(
            parse_equations("dv/dt"),
            1,
            6,
            &["expected '=' after 'dv/dt'", "end of line"],
        );
        err_at(
            parse_equations("d v/dt = 1"),
            1,
            1,
            &["no space", "'dv/dt'"],
        );
        err_at(
            parse_equations("dv/dx = 1"),
            1,
            4,
            &["expected 'dt'", "name 'dx'"],
        );
        err_at(parse_equations("v/dt = 1"), 1, 1, &["'dX/dt'", "'v/'"]);
        err_at(
            parse_equations("d/dt = 1"),
            1,
            1,
            &["expected a state variable after 'd'"],
        );
        err_at(
            parse_equations("dv/dt = 1 :"),
            1,
            12,
            &["expected a unit after ':'"],
        );
        err_at(
            parse_equations("v += 1"),
            1,
            3,
            &["expected '=' after 'v'", "found '+='"],
        );
        err_at(
            parse_expr("1e + 2"),
            1,
            1,
            &["invalid number '1e'", "exponent"],
        );
        err_at(parse_expr("x * 1e-"), 1, 5, &["invalid number '1e-'"]);
        err_at(parse_expr("1.2.3"), 1, 1, &["invalid number '1.2.3'"]);
        err_at(parse_expr("3 + 2x"), 1, 5, &["invalid number '2x'"]);
        err_at(parse_expr("1e999"), 1, 1, &["too large"]);
        err_at(
            parse_equations("if = 3"),
            1,
            1,
            &["'if' is a keyword", "name"],
        );
        err_at(
            parse_expr("a + then"),
            1,
            5,
            &["expected an expression after '+'", "keyword 'then'"],
        );
        err_at(
            parse_expr("a + b c"),
            1,
            7,
            &["expected an operator or end of input", "name 'c'"],
        );
        err_at(
            parse_expr("if a then b"),
            1,
            12,
            &["expected 'else'", "'if' at column 1", "end of input"],
        );
        err_at(
            parse_expr("if a b else c"),
            1,
            6,
            &["expected 'then'", "name 'b'"],
        );
        err_at(
            parse_expr(""),
            1,
            1,
            &["expected an expression, found end of input"],
        );
        err_at(
            parse_expr("a +* b"),
            1,
            4,
            &["expected an expression after '+'", "found '*'"],
        );
        err_at(parse_expr("exp(x,)"), 1, 7, &["after ','", "found ')'"]);
        err_at(
            parse_expr("max(x y)"),
            1,
            7,
            &["expected ','", "'(' of 'max'", "name 'y'"],
        );
        err_at(parse_expr("v = 3"), 1, 3, &["found '='", "'=='"]);
        err_at(parse_expr("a && b"), 1, 3, &["use 'and'"]);
        err_at(parse_expr("a ! b"), 1, 3, &["'!'", "'not'"]);
        err_at(parse_expr("a @ b"), 1, 3, &["unexpected character '@'"]);
        err_at(parse_expr("x[0]"), 1, 2, &["'['"]);
        err_at(
            parse_expr("not"),
            1,
            4,
            &["expected an expression after 'not'"],
        );
        err_at(parse_expr("-"), 1, 2, &["expected an expression after '-'"]);
        err_at(
            parse_expr("a <"),
            1,
            4,
            &["expected an expression after '<'"],
        );
    }

    #[test]
    fn function_errors() {
        err_at(
            parse_expr("foo(x)"),
            1,
            1,
            &["unknown function 'foo'", "exp, log"],
        );
        err_at(
            parse_expr("1 + expp(x)"),
            1,
            5,
            &["unknown function 'expp'", "did you mean 'exp'"],
        );
        err_at(
            parse_expr("exp(x, y)"),
            1,
            1,
            &["exp() takes 1 argument, found 2"],
        );
        err_at(
            parse_expr("2 * clip(x)"),
            1,
            5,
            &["clip() takes 3 arguments, found 1"],
        );
        err_at(
            parse_expr("uniform(1)"),
            1,
            1,
            &["uniform() takes no arguments, found 1"],
        );
        err_at(parse_expr("pow(x)"), 1, 1, &["pow() takes 2 arguments"]);
    }

    #[test]
    fn several_errors_are_reported() {
        let errs = parse_equations("dv/dt = -v *\nx = (1\nw = 2\ndw/dt = ^\nq = foo(1) + bar(2)")
            .unwrap_err();
        let at: Vec<(u32, u32)> = errs.iter().map(|e| (e.span.line, e.span.col)).collect();
        assert_eq!(at, [(1, 13), (2, 7), (4, 9), (5, 5), (5, 14)]);
        let errs = parse_statements("v = 1; then = 2\nw = (\nz == 1").unwrap_err();
        let at: Vec<(u32, u32)> = errs.iter().map(|e| (e.span.line, e.span.col)).collect();
        assert_eq!(at, [(1, 8), (2, 6), (3, 3)]);
        assert!(
            errs[0].message.contains("'then' is a keyword"),
            "{}",
            errs[0]
        );
        assert!(
            errs[1].message.contains("after '(', found end of line"),
            "{}",
            errs[1]
        );
        assert!(
            errs[2]
                .message
                .contains("expected '=', '+=', '-=', '*=' or '/='"),
            "{}",
            errs[2]
        );
    }

    #[test]
    fn statement_errors() {
        err_at(
            parse_statements("v = ; w += b"),
            1,
            5,
            &["expected an expression after '='", "found ';'"],
        );
        err_at(
            parse_statements("3 = v"),
            1,
            1,
            &["expected a variable to assign to", "number '3'"],
        );
        err_at(
            parse_statements("v = 1 2"),
            1,
            7,
            &["expected an operator, ';' or end of line", "number '2'"],
        );
        err_at(
            parse_statements("w +="),
            1,
            5,
            &["after '+='", "end of input"],
        );
        err_at(
            parse_statements("v = v_r\nw + b"),
            2,
            3,
            &["expected '='", "found '+'"],
        );
    }

    #[test]
    fn display_and_deep_nesting() {
        let e = parse_expr("a +").unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "line 1, column 4: expected an expression after '+', found end of input"
        );
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        err_at(parse_expr(&deep), 1, 101, &["nested too deeply"]);
        let deep = format!("{}1", "-".repeat(10_000));
        err_at(parse_expr(&deep), 1, 101, &["nested too deeply"]);
        let deep = format!("x = {}1", "not ".repeat(10_000));
        assert!(parse_statements(&deep).is_err());
        assert_eq!(tree(&format!("{}1{}", "(".repeat(50), ")".repeat(50))), "1");
    }

    /// Every span of an error or a tree lies within `src`: a real line, and a
    /// column at most one past its last character.
    fn assert_span_inside(src: &str, span: Span) {
        let lines: Vec<usize> = src.split('\n').map(|l| l.chars().count()).collect();
        assert!(
            span.line >= 1 && span.line as usize <= lines.len(),
            "{src:?}: {span:?}"
        );
        let len = lines[span.line as usize - 1];
        assert!(
            span.col >= 1 && span.col as usize <= len + 1,
            "{src:?}: {span:?}"
        );
        assert!(span.len >= 1, "{src:?}: {span:?}");
    }

    fn assert_expr_inside(src: &str, e: &Expr) {
        assert_span_inside(src, e.span());
        match e {
            Expr::Num(..) | Expr::Var(..) => {}
            Expr::Unary(_, a, _) => assert_expr_inside(src, a),
            Expr::Binary(_, a, b, _) => {
                assert_expr_inside(src, a);
                assert_expr_inside(src, b);
            }
            Expr::Call(_, args, _) => args.iter().for_each(|a| assert_expr_inside(src, a)),
            Expr::If(c, a, b, _) => {
                assert_expr_inside(src, c);
                assert_expr_inside(src, a);
                assert_expr_inside(src, b);
            }
        }
    }

    fn parse_all(src: &str) {
        match parse_expr(src) {
            Ok(e) => assert_expr_inside(src, &e),
            Err(errs) => errs.iter().for_each(|e| assert_span_inside(src, e.span)),
        }
        match parse_equations(src) {
            Ok(eqs) => {
                for eq in &eqs {
                    match eq {
                        Equation::Derivative {
                            var_span,
                            expr,
                            unit,
                            flags,
                            ..
                        } => {
                            assert_span_inside(src, *var_span);
                            assert_expr_inside(src, expr);
                            unit.iter()
                                .chain(flags)
                                .for_each(|u| assert_span_inside(src, u.1));
                        }
                        Equation::Define {
                            name_span,
                            expr,
                            unit,
                            ..
                        } => {
                            assert_span_inside(src, *name_span);
                            assert_expr_inside(src, expr);
                            unit.iter().for_each(|u| assert_span_inside(src, u.1));
                        }
                    }
                }
                let scope = super::super::check::Scope {
                    parameters: &["a", "b"],
                    state: &["v", "w"],
                    constants: &["c"],
                };
                for e in super::super::check::check_equations(&eqs, &scope) {
                    assert_span_inside(src, e.span);
                }
                let _ = super::super::check::definition_order(&eqs);
            }
            Err(errs) => errs.iter().for_each(|e| assert_span_inside(src, e.span)),
        }
        match parse_statements(src) {
            Ok(stmts) => {
                for s in &stmts {
                    assert_span_inside(src, s.target_span);
                    assert_expr_inside(src, &s.expr);
                }
            }
            Err(errs) => errs.iter().for_each(|e| assert_span_inside(src, e.span)),
        }
    }

    #[test]
    fn no_panics_on_prefixes_and_noise() {
        let valid = [
            "dv/dt = (-g_l*(v - e_l) + g_l*delta_t*exp((v - v_t)/delta_t) - w + i_exc) / c_m\r\n\
             dw/dt = (a*(v - e_l) - w) / tau_w  # adapt\n",
            "x = if v > 0 and not w <= 1 then -v**2 else clip(v, 0.5e-3, .5) : volt\ny = x / 2",
            "dv/dt = -v/tau : mV/(ms*ms) (unless refractory, x)\ni = g*v : nS*mV (a)",
            "v = v_r; w += b\nz /= 2.5E+4 ; q -= max(1, 2)",
        ];
        for src in valid {
            let chars: Vec<char> = src.chars().collect();
            for n in 0..=chars.len() {
                let prefix: String = chars[..n].iter().collect();
                parse_all(&prefix);
            }
        }
        // Random strings from a fixed seed: half from the characters the
        // grammar cares about, half arbitrary bytes.
        let alphabet = b"dv/t=+-*()^<>!=;:#,. \n\r\t0123456789eEabwxif_";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..3000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if round % 2 == 0 {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    } else {
                        r as u8
                    }
                })
                .collect();
            parse_all(&String::from_utf8_lossy(&bytes));
        }
        // Keywords and operators stitched at random.
        let words = [
            "if",
            "then",
            "else",
            "and",
            "or",
            "not",
            "true",
            "v",
            "dv/dt",
            "=",
            "+=",
            "(",
            ")",
            "**",
            "-",
            "exp(",
            ",",
            "1e",
            ".5",
            "\n",
            ";",
            ":",
            "#",
            "<",
            "<=",
            "unless refractory",
        ];
        for _ in 0..2000 {
            let n = (next() % 12) as usize;
            let src: Vec<&str> = (0..n)
                .map(|_| words[(next() % words.len() as u64) as usize])
                .collect();
            parse_all(&src.join(" "));
        }
    }
}
