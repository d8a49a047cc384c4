//! Lexer and recursive-descent parser. Precedence, loosest first, as in XPath 1.0:
//! `or`, `and`, `= !=`, `< <= > >=`, `+ -`, `* div mod`, unary `-`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    /// `${name}`
    Ref(String),
    /// `.`: the question's own value (in constraints).
    Current,
    /// `..`: the enclosing group or repeat instance (only as `position(..)`).
    Parent,
    /// A bare name in a `choice_filter`: a column of the choice being filtered (`name`,
    /// `label`, or any extra column such as `county` in a cascading select).
    Column(String),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// The functions the engine evaluates, with their allowed argument counts (min, max): every
/// function of the ODK XForms specification except `instance()`, `current()` and `jr:itext()`
/// (which need location paths and secondary instances), plus the XPath 1.0 core library.
pub const FUNCTIONS: &[(&str, usize, usize)] = &[
    // Conditionals and booleans.
    ("if", 3, 3),
    ("coalesce", 2, 2),
    ("once", 1, 1),
    ("not", 1, 1),
    ("true", 0, 0),
    ("false", 0, 0),
    ("boolean", 1, 1),
    ("boolean-from-string", 1, 1),
    ("regex", 2, 2),
    ("checklist", 2, usize::MAX),
    ("weighted-checklist", 2, usize::MAX),
    // Selects.
    ("selected", 2, 2),
    ("count-selected", 1, 1),
    ("selected-at", 2, 2),
    ("jr:choice-name", 2, 2),
    ("choice-name", 2, 2),
    // Strings.
    ("string", 0, 1),
    ("concat", 0, usize::MAX),
    ("join", 1, usize::MAX),
    ("string-length", 0, 1),
    ("normalize-space", 0, 1),
    ("contains", 2, 2),
    ("starts-with", 2, 2),
    ("ends-with", 2, 2),
    ("substr", 2, 3),
    ("substring", 2, 3),
    ("substring-before", 2, 2),
    ("substring-after", 2, 2),
    ("translate", 3, 3),
    ("uuid", 0, 1),
    ("digest", 2, 3),
    ("base64-decode", 1, 1),
    ("pulldata", 4, 4),
    ("version", 0, 0),
    ("lang", 1, 1),
    ("name", 0, 1),
    ("local-name", 0, 1),
    ("namespace-uri", 0, 1),
    // Numbers.
    ("number", 0, 1),
    ("int", 1, 1),
    ("round", 1, 2),
    ("floor", 1, 1),
    ("ceiling", 1, 1),
    ("abs", 1, 1),
    ("sqrt", 1, 1),
    ("exp", 1, 1),
    ("exp10", 1, 1),
    ("log", 1, 1),
    ("log10", 1, 1),
    ("sin", 1, 1),
    ("cos", 1, 1),
    ("tan", 1, 1),
    ("asin", 1, 1),
    ("acos", 1, 1),
    ("atan", 1, 1),
    ("atan2", 2, 2),
    ("pow", 2, 2),
    ("pi", 0, 0),
    ("random", 0, 0),
    ("max", 1, usize::MAX),
    ("min", 1, usize::MAX),
    ("sum", 1, 1),
    // Node-sets and repeats.
    ("count", 1, 1),
    ("count-non-empty", 1, 1),
    ("position", 0, 1),
    ("last", 0, 0),
    ("randomize", 1, 2),
    ("indexed-repeat", 3, 11),
    // Dates and times.
    ("today", 0, 0),
    ("now", 0, 0),
    ("date", 1, 1),
    ("date-time", 1, 1),
    ("decimal-date-time", 1, 1),
    ("decimal-time", 1, 1),
    ("format-date", 2, 2),
    ("format-date-time", 2, 2),
    // Geography.
    ("area", 1, usize::MAX),
    ("distance", 1, usize::MAX),
];

/// A syntax error at a character position (0-based) of the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    /// A key under `expr_problems.` in the catalogues.
    pub problem: &'static str,
    /// The offending text, when there is one.
    pub near: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at position {} near {:?}",
            self.problem,
            self.position + 1,
            self.near
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ref(String),
    Name(String),
    Dot,
    DotDot,
    LParen,
    RParen,
    Comma,
    Op(Op),
    Minus,
}

fn err(position: usize, problem: &'static str, near: &str) -> ParseError {
    ParseError {
        position,
        problem,
        near: near.to_string(),
    }
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::with_capacity(chars.len() / 2 + 1);
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        // Positions count characters, not bytes: `i` indexes the characters.
        let pos = i;
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '$' => {
                if chars.get(i + 1).map(|x| x.1) != Some('{') {
                    return Err(err(pos, "bad_reference", "$"));
                }
                let start = i + 2;
                let mut j = start;
                while j < chars.len() && chars[j].1 != '}' {
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(err(pos, "unclosed_reference", &src[b..]));
                }
                let name: String = chars[start..j].iter().map(|x| x.1).collect();
                let name = name.trim().to_string();
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_alphanumeric() || "_-.".contains(c))
                {
                    return Err(err(pos, "bad_reference", &format!("${{{name}}}")));
                }
                out.push((pos, Tok::Ref(name)));
                i = j + 1;
            }
            '\'' | '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j].1 != c {
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(err(pos, "unclosed_string", &src[b..]));
                }
                out.push((pos, Tok::Str(chars[i + 1..j].iter().map(|x| x.1).collect())));
                i = j + 1;
            }
            '0'..='9' => {
                let mut j = i;
                while j < chars.len() && (chars[j].1.is_ascii_digit() || chars[j].1 == '.') {
                    j += 1;
                }
                let text: String = chars[i..j].iter().map(|x| x.1).collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| err(pos, "bad_number", &text))?;
                out.push((pos, Tok::Num(n)));
                i = j;
            }
            '.' => {
                if chars.get(i + 1).map(|x| x.1) == Some('.') {
                    out.push((pos, Tok::DotDot));
                    i += 2;
                } else if chars.get(i + 1).is_some_and(|x| x.1.is_ascii_digit()) {
                    let mut j = i + 1;
                    while j < chars.len() && chars[j].1.is_ascii_digit() {
                        j += 1;
                    }
                    let text: String = chars[i..j].iter().map(|x| x.1).collect();
                    out.push((
                        pos,
                        Tok::Num(text.parse().map_err(|_| err(pos, "bad_number", &text))?),
                    ));
                    i = j;
                } else {
                    out.push((pos, Tok::Dot));
                    i += 1;
                }
            }
            '(' => {
                out.push((pos, Tok::LParen));
                i += 1
            }
            ')' => {
                out.push((pos, Tok::RParen));
                i += 1
            }
            ',' => {
                out.push((pos, Tok::Comma));
                i += 1
            }
            '+' => {
                out.push((pos, Tok::Op(Op::Add)));
                i += 1
            }
            '-' => {
                out.push((pos, Tok::Minus));
                i += 1
            }
            '*' => {
                out.push((pos, Tok::Op(Op::Mul)));
                i += 1
            }
            '=' => {
                out.push((pos, Tok::Op(Op::Eq)));
                i += 1
            }
            '!' if chars.get(i + 1).map(|x| x.1) == Some('=') => {
                out.push((pos, Tok::Op(Op::Ne)));
                i += 2
            }
            '<' | '>' => {
                let eq = chars.get(i + 1).map(|x| x.1) == Some('=');
                let op = match (c, eq) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    _ => Op::Ge,
                };
                out.push((pos, Tok::Op(op)));
                i += if eq { 2 } else { 1 };
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i;
                while j < chars.len()
                    && (chars[j].1.is_alphanumeric() || "_-:.".contains(chars[j].1))
                {
                    j += 1;
                }
                // A trailing '-' or '.' belongs to what follows (`a-` never names anything).
                while j > i + 1 && matches!(chars[j - 1].1, '-' | '.') {
                    j -= 1;
                }
                let word: String = chars[i..j].iter().map(|x| x.1).collect();
                let tok = match word.as_str() {
                    "and" => Tok::Op(Op::And),
                    "or" => Tok::Op(Op::Or),
                    "div" => Tok::Op(Op::Div),
                    "mod" => Tok::Op(Op::Mod),
                    _ => Tok::Name(word),
                };
                out.push((pos, tok));
                i = j;
            }
            other => return Err(err(pos, "unexpected_character", &other.to_string())),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    columns: bool,
    /// How deep the tree being built is: nesting plus operator chains.
    depth: usize,
}

/// The deepest expression tree accepted (nesting plus the links of operator chains). Real
/// forms stay far below it (a sum of a hundred fields); a hostile one thousands deep is
/// refused here instead of overflowing the stack while it is parsed, evaluated or dropped.
pub const MAX_DEPTH: usize = 250;

impl Parser {
    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(self.pos(), "too_deep", ""));
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.0)
    }

    fn near(&self) -> String {
        match self.peek() {
            Some(Tok::Name(n)) => n.clone(),
            Some(Tok::Ref(n)) => format!("${{{n}}}"),
            Some(Tok::Str(s)) => format!("'{s}'"),
            Some(Tok::Num(n)) => n.to_string(),
            Some(t) => format!("{t:?}"),
            None => String::new(),
        }
    }

    /// Precedence climbing: parses operators binding at least as tightly as `min`.
    fn binary(&mut self, min: u8) -> Result<Expr, ParseError> {
        fn precedence(op: Op) -> u8 {
            match op {
                Op::Or => 1,
                Op::And => 2,
                Op::Eq | Op::Ne => 3,
                Op::Lt | Op::Le | Op::Gt | Op::Ge => 4,
                Op::Add | Op::Sub => 5,
                Op::Mul | Op::Div | Op::Mod => 6,
            }
        }
        let entry = self.depth;
        self.deeper()?;
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(op)) => *op,
                Some(Tok::Minus) => Op::Sub,
                _ => break,
            };
            let p = precedence(op);
            if p < min {
                break;
            }
            self.i += 1;
            // Each link of a chain (`a + b + c …`) makes the tree one level deeper.
            self.deeper()?;
            let right = self.binary(p + 1)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        self.depth = entry;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == Some(&Tok::Minus) {
            self.i += 1;
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let Some((_, tok)) = self.toks.get(self.i).cloned() else {
            return Err(err(self.end, "unexpected_end", ""));
        };
        self.i += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Ref(r) => Ok(Expr::Ref(r)),
            Tok::Dot => Ok(Expr::Current),
            Tok::DotDot => Ok(Expr::Parent),
            Tok::LParen => {
                let e = self.binary(1)?;
                self.expect_rparen(pos)?;
                Ok(e)
            }
            Tok::Name(name) => {
                if self.peek() != Some(&Tok::LParen) {
                    if self.columns {
                        return Ok(Expr::Column(name));
                    }
                    return Err(err(pos, "bare_name", &name));
                }
                let Some(&(_, min, max)) = FUNCTIONS.iter().find(|f| f.0 == name) else {
                    return Err(err(pos, "unknown_function", &name));
                };
                self.i += 1;
                let mut args = Vec::new();
                if self.peek() != Some(&Tok::RParen) {
                    loop {
                        args.push(self.binary(1)?);
                        if self.peek() == Some(&Tok::Comma) {
                            self.i += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect_rparen(pos)?;
                if args.len() < min || args.len() > max {
                    return Err(err(pos, "wrong_argument_count", &name));
                }
                Ok(Expr::Call(name, args))
            }
            _ => {
                self.i -= 1;
                Err(err(pos, "unexpected_token", &self.near()))
            }
        }
    }

    fn expect_rparen(&mut self, open: usize) -> Result<(), ParseError> {
        match self.peek() {
            Some(Tok::RParen) => {
                self.i += 1;
                Ok(())
            }
            None => Err(err(open, "unclosed_parenthesis", "(")),
            Some(_) => Err(err(self.pos(), "unexpected_token", &self.near())),
        }
    }
}

/// Parses an expression. Errors carry a 0-based character position.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    parse_with(src, false)
}

/// Parses a `choice_filter`, where bare names are choice columns.
pub fn parse_choice_filter(src: &str) -> Result<Expr, ParseError> {
    parse_with(src, true)
}

fn parse_with(src: &str, columns: bool) -> Result<Expr, ParseError> {
    let toks = lex(src)?;
    let end = src.chars().count();
    if toks.is_empty() {
        return Err(err(0, "empty_expression", ""));
    }
    let mut p = Parser {
        toks,
        i: 0,
        end,
        columns,
        depth: 0,
    };
    let e = p.binary(0)?;
    if p.i < p.toks.len() {
        return Err(err(p.pos(), "unexpected_token", &p.near()));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_depth_is_refused_not_a_stack_overflow() {
        let nested = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(parse(&nested).unwrap_err().problem, "too_deep");
        let negs = format!("{}1", "-".repeat(5000));
        assert_eq!(parse(&negs).unwrap_err().problem, "too_deep");
        let chain = vec!["${a}"; 5000].join(" + ");
        assert_eq!(parse(&chain).unwrap_err().problem, "too_deep");
        let calls = format!("{}1{}", "abs(".repeat(5000), ")".repeat(5000));
        assert_eq!(parse(&calls).unwrap_err().problem, "too_deep");
        // A sum of 200 fields, more than a large real form has, is fine; so are 100 nested
        // parentheses.
        let sum = vec!["${a}"; 200].join(" + ");
        assert!(parse(&sum).is_ok());
        assert!(parse(&format!("{}1{}", "(".repeat(100), ")".repeat(100))).is_ok());
    }

    fn ok(src: &str) -> Expr {
        parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn precedence_follows_xpath() {
        use Expr::*;
        assert_eq!(
            ok("1 + 2 * 3"),
            Bin(
                Op::Add,
                Box::new(Num(1.0)),
                Box::new(Bin(Op::Mul, Box::new(Num(2.0)), Box::new(Num(3.0))))
            )
        );
        assert_eq!(
            ok("${a} > 1 and ${b} = 'x' or not(${c})"),
            Bin(
                Op::Or,
                Box::new(Bin(
                    Op::And,
                    Box::new(Bin(Op::Gt, Box::new(Ref("a".into())), Box::new(Num(1.0)))),
                    Box::new(Bin(
                        Op::Eq,
                        Box::new(Ref("b".into())),
                        Box::new(Str("x".into()))
                    )),
                )),
                Box::new(Call("not".into(), vec![Ref("c".into())])),
            )
        );
        assert_eq!(ok("10 div 4 mod 2"), ok("(10 div 4) mod 2"));
        assert_eq!(
            ok("-${a} - 1"),
            Bin(
                Op::Sub,
                Box::new(Neg(Box::new(Ref("a".into())))),
                Box::new(Num(1.0))
            )
        );
    }

    #[test]
    fn hyphenated_functions_and_minus_are_told_apart() {
        assert!(
            matches!(ok("count-selected(${m})"), Expr::Call(ref n, _) if n == "count-selected")
        );
        assert!(
            matches!(ok("jr:choice-name(${s}, '${s}')"), Expr::Call(ref n, _) if n == "jr:choice-name")
        );
        assert!(matches!(ok("${a}-1"), Expr::Bin(Op::Sub, _, _)));
        assert!(matches!(ok("5-3"), Expr::Bin(Op::Sub, _, _)));
        assert_eq!(
            ok("position(..)"),
            Expr::Call("position".into(), vec![Expr::Parent])
        );
        assert_eq!(
            ok(". >= 16 and . <= .5e0".replace(".5e0", "0.5").as_str()),
            ok(". >= 16 and . <= 0.5")
        );
    }

    #[test]
    fn errors_name_the_position_and_the_problem() {
        let cases = [
            ("${a} >", 6, "unexpected_end"),
            ("${a > 1", 0, "unclosed_reference"),
            ("'abc", 0, "unclosed_string"),
            ("if(${a}, 1)", 0, "wrong_argument_count"),
            ("foo(1)", 0, "unknown_function"),
            ("(${a} + 1", 0, "unclosed_parenthesis"),
            ("${a} ++ 1", 6, "unexpected_token"),
            ("${a} 1", 5, "unexpected_token"),
            ("yes", 0, "bare_name"),
            ("${a} # 2", 5, "unexpected_character"),
            ("   ", 0, "empty_expression"),
            ("${}", 0, "bad_reference"),
            ("选中(${a})", 0, "unknown_function"),
        ];
        for (src, position, problem) in cases {
            let e = parse(src).expect_err(src);
            assert_eq!((e.position, e.problem), (position, problem), "{src}: {e}");
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let e = parse("concat('社区', ${a}) +").unwrap_err();
        assert_eq!(e.position, 20, "the end of a 20-character expression");
    }
}
