//! The XLSForm expression language: the XPath 1.0 subset ODK forms use in `relevant`,
//! `constraint`, `calculation`, `required`, `choice_filter` and `repeat_count`, with
//! `${name}` references. Parsed once into an [`Expr`], then evaluated many times.

mod digest;
mod eval;
mod parse;

pub use eval::{format_number, Env, Value};
pub use parse::{parse, parse_choice_filter, Expr, Op, ParseError, FUNCTIONS};

/// Every `${name}` an expression mentions, in order of first appearance.
pub fn references(e: &Expr) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Ref(n) => {
                if !out.contains(n) {
                    out.push(n.clone())
                }
            }
            Expr::Neg(a) => walk(a, out),
            Expr::Bin(_, a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| walk(a, out)),
            Expr::Num(_) | Expr::Str(_) | Expr::Current | Expr::Parent | Expr::Column(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

/// `${name}` references inside label or hint text (ODK's output values).
pub fn text_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                let name = after[..j].trim().to_string();
                if !name.is_empty() && !out.contains(&name) {
                    out.push(name);
                }
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}
