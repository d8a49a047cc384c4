//! Evaluation with ODK's semantics: an empty answer is the empty string (not zero), numbers
//! are IEEE doubles, comparisons and conversions follow XPath 1.0, dates compare as days.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Timelike};

use super::parse::{Expr, Op};

/// What an expression sees of the form: answers in the current context, choice labels, time.
pub trait Env {
    /// `${name}` from the current context: one value, or every instance of a question inside
    /// a repeat the context is outside of (`Value::Nodes`). A repeat's own name gives one
    /// node per instance.
    fn resolve(&self, name: &str) -> Value;
    /// `.`: the value being checked (constraints) or computed.
    fn current(&self) -> Value;
    /// `position(..)`: 1-based index of the current repeat instance.
    fn position(&self) -> Option<usize>;
    /// The label of choice `value` of the question `question`, in the interview language.
    fn choice_label(&self, question: &str, value: &str) -> Option<String>;
    /// Now, in the device's time zone (today() and now() read it; time is passed in).
    fn now(&self) -> DateTime<FixedOffset>;
    /// A column of the choice being filtered (`choice_filter` only).
    fn column(&self, _name: &str) -> Value {
        Value::Str(String::new())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
    Nodes(Vec<String>),
}

/// XPath's number → string, with NaN as the empty answer ODK users see.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        String::new()
    } else if n.is_infinite() {
        if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if n == n.trunc() && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() >= 10 {
        NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").ok()
    } else {
        None
    }
}

fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.naive_local())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
        .or_else(|| parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

fn str_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return f64::NAN;
    }
    if let Ok(n) = t.parse::<f64>() {
        // XPath numbers have no exponent or "inf"/"nan" spellings.
        if t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            return n;
        }
        return f64::NAN;
    }
    // Dates compare as days since 1970-01-01, as in JavaRosa.
    if let Some(dt) = parse_datetime(t).filter(|_| t.len() >= 10 && t.as_bytes()[4] == b'-') {
        let secs = (dt - epoch().and_hms_opt(0, 0, 0).expect("midnight")).num_seconds() as f64;
        return secs / 86_400.0;
    }
    f64::NAN
}

impl Value {
    pub fn as_string(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Num(n) => format_number(*n),
            Value::Bool(b) => {
                if *b {
                    "true".into()
                } else {
                    "false".into()
                }
            }
            Value::Nodes(v) => v.first().cloned().unwrap_or_default(),
        }
    }

    pub fn as_number(&self) -> f64 {
        match self {
            Value::Str(s) => str_to_number(s),
            Value::Num(n) => *n,
            Value::Bool(b) => {
                if *b {
                    1.0
                } else {
                    0.0
                }
            }
            Value::Nodes(v) => v.first().map_or(f64::NAN, |s| str_to_number(s)),
        }
    }

    pub fn as_bool(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Num(n) => *n != 0.0 && !n.is_nan(),
            Value::Bool(b) => *b,
            Value::Nodes(v) => !v.is_empty(),
        }
    }

    fn strings(&self) -> Vec<String> {
        match self {
            Value::Nodes(v) => v.clone(),
            other => vec![other.as_string()],
        }
    }
}

fn compare(op: Op, a: &Value, b: &Value) -> bool {
    use Value::*;
    let relational = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
    let num_cmp = |x: f64, y: f64| match op {
        Op::Eq => x == y,
        Op::Ne => x != y,
        Op::Lt => x < y,
        Op::Le => x <= y,
        Op::Gt => x > y,
        _ => x >= y,
    };
    match (a, b) {
        (Nodes(xs), Nodes(ys)) => xs.iter().any(|x| {
            ys.iter()
                .any(|y| compare(op, &Str(x.clone()), &Str(y.clone())))
        }),
        (Nodes(xs), other) => match other {
            Bool(_) => compare(op, &Bool(a.as_bool()), other),
            _ => xs.iter().any(|x| compare(op, &Str(x.clone()), other)),
        },
        (other, Nodes(ys)) => match other {
            Bool(_) => compare(op, other, &Bool(b.as_bool())),
            _ => ys.iter().any(|y| compare(op, other, &Str(y.clone()))),
        },
        _ if relational => num_cmp(a.as_number(), b.as_number()),
        (Bool(_), _) | (_, Bool(_)) => num_cmp(a.as_bool() as u8 as f64, b.as_bool() as u8 as f64),
        (Num(_), _) | (_, Num(_)) => num_cmp(a.as_number(), b.as_number()),
        _ => match op {
            Op::Eq => a.as_string() == b.as_string(),
            _ => a.as_string() != b.as_string(),
        },
    }
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Option<regex::Regex>>> = RefCell::new(HashMap::new());
}

fn regex_find(pattern: &str, s: &str) -> bool {
    REGEX_CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let re = cache
            .entry(pattern.to_string())
            .or_insert_with(|| regex::Regex::new(pattern).ok());
        re.as_ref().is_some_and(|r| r.is_match(s))
    })
}

/// ODK `format-date` tokens: %Y %y %m %n %b %d %e %H %h %M %S %3 %a.
fn format_date(dt: NaiveDateTime, fmt: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{:04}", dt.year())),
            Some('y') => out.push_str(&format!("{:02}", dt.year() % 100)),
            Some('m') => out.push_str(&format!("{:02}", dt.month())),
            Some('n') => out.push_str(&dt.month().to_string()),
            Some('b') => out.push_str(MONTHS[dt.month0() as usize]),
            Some('d') => out.push_str(&format!("{:02}", dt.day())),
            Some('e') => out.push_str(&dt.day().to_string()),
            Some('H') => out.push_str(&format!("{:02}", dt.hour())),
            Some('h') => out.push_str(&dt.hour().to_string()),
            Some('M') => out.push_str(&format!("{:02}", dt.minute())),
            Some('S') => out.push_str(&format!("{:02}", dt.second())),
            Some('3') => out.push_str(&format!("{:03}", dt.and_utc().timestamp_subsec_millis())),
            Some('a') => out.push_str(DAYS[dt.weekday().num_days_from_monday() as usize]),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn round_half_up(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f + 0.5).floor() / f
}

impl Expr {
    /// Evaluates against an environment. Never panics; bad input yields NaN or "".
    pub fn eval(&self, env: &dyn Env) -> Value {
        match self {
            Expr::Num(n) => Value::Num(*n),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Ref(name) => env.resolve(name),
            Expr::Current => env.current(),
            Expr::Parent => Value::Str(String::new()),
            Expr::Column(c) => env.column(c),
            Expr::Neg(a) => Value::Num(-a.eval(env).as_number()),
            Expr::Bin(op, a, b) => match op {
                Op::Or => Value::Bool(a.eval(env).as_bool() || b.eval(env).as_bool()),
                Op::And => Value::Bool(a.eval(env).as_bool() && b.eval(env).as_bool()),
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    Value::Bool(compare(*op, &a.eval(env), &b.eval(env)))
                }
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => {
                    let (x, y) = (a.eval(env).as_number(), b.eval(env).as_number());
                    Value::Num(match op {
                        Op::Add => x + y,
                        Op::Sub => x - y,
                        Op::Mul => x * y,
                        Op::Div => x / y,
                        _ => x % y,
                    })
                }
            },
            Expr::Call(name, args) => call(name, args, env),
        }
    }
}

fn call(name: &str, args: &[Expr], env: &dyn Env) -> Value {
    let arg = |i: usize| {
        args.get(i)
            .map_or(Value::Str(String::new()), |a| a.eval(env))
    };
    let s = |i: usize| arg(i).as_string();
    let n = |i: usize| arg(i).as_number();
    let tokens = |v: String| v.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let all_numbers = || -> Vec<f64> {
        args.iter()
            .flat_map(|a| a.eval(env).strings())
            .map(|x| str_to_number(&x))
            .collect()
    };
    match name {
        "if" => {
            if arg(0).as_bool() {
                arg(1)
            } else {
                arg(2)
            }
        }
        "selected" => Value::Bool(tokens(s(0)).contains(&s(1).trim().to_string())),
        "count-selected" => Value::Num(tokens(s(0)).len() as f64),
        "selected-at" => {
            let i = n(1);
            let t = tokens(s(0));
            Value::Str(if i >= 0.0 && (i as usize) < t.len() {
                t[i as usize].clone()
            } else {
                String::new()
            })
        }
        "jr:choice-name" => {
            let path = s(1);
            let q = path
                .trim()
                .trim_start_matches("${")
                .trim_end_matches('}')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            Value::Str(env.choice_label(&q, &s(0)).unwrap_or_default())
        }
        "coalesce" => {
            let a = s(0);
            Value::Str(if a.is_empty() { s(1) } else { a })
        }
        "concat" => Value::Str(args.iter().flat_map(|a| a.eval(env).strings()).collect()),
        "string-length" => {
            let v = if args.is_empty() {
                env.current().as_string()
            } else {
                s(0)
            };
            Value::Num(v.chars().count() as f64)
        }
        "contains" => Value::Bool(s(0).contains(&s(1))),
        "starts-with" => Value::Bool(s(0).starts_with(&s(1))),
        "ends-with" => Value::Bool(s(0).ends_with(&s(1))),
        "substr" => {
            let chars: Vec<char> = s(0).chars().collect();
            let start = (n(1).max(0.0) as usize).min(chars.len());
            let end = if args.len() > 2 {
                (n(2).max(0.0) as usize).min(chars.len())
            } else {
                chars.len()
            };
            Value::Str(if start < end {
                chars[start..end].iter().collect()
            } else {
                String::new()
            })
        }
        "regex" => Value::Bool(regex_find(&s(1), &s(0))),
        "number" => Value::Num(if args.is_empty() {
            env.current().as_number()
        } else {
            n(0)
        }),
        "int" => Value::Num(n(0).trunc()),
        "round" => {
            let digits = if args.len() > 1 { n(1) } else { 0.0 };
            Value::Num(if digits.is_nan() {
                f64::NAN
            } else {
                round_half_up(n(0), digits as i32)
            })
        }
        "floor" => Value::Num(n(0).floor()),
        "ceiling" => Value::Num(n(0).ceil()),
        "abs" => Value::Num(n(0).abs()),
        "max" => Value::Num(all_numbers().into_iter().fold(f64::NAN, |m, x| {
            if m.is_nan() || x > m {
                x
            } else {
                m
            }
        })),
        "min" => Value::Num(all_numbers().into_iter().fold(f64::NAN, |m, x| {
            if m.is_nan() || x < m {
                x
            } else {
                m
            }
        })),
        "sum" => Value::Num(arg(0).strings().iter().map(|x| str_to_number(x)).sum()),
        "count" => Value::Num(match arg(0) {
            Value::Nodes(v) => v.len() as f64,
            Value::Str(s) if s.is_empty() => 0.0,
            _ => 1.0,
        }),
        "position" => Value::Num(env.position().map_or(f64::NAN, |p| p as f64)),
        "today" => Value::Str(env.now().format("%Y-%m-%d").to_string()),
        "now" => Value::Str(env.now().format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()),
        "format-date" | "format-date-time" => {
            let v = arg(0);
            let dt = match &v {
                Value::Num(d) if !d.is_nan() => epoch()
                    .and_hms_opt(0, 0, 0)
                    .map(|m| m + Duration::seconds((d * 86_400.0) as i64)),
                other => parse_datetime(&other.as_string()),
            };
            Value::Str(dt.map(|d| format_date(d, &s(1))).unwrap_or_default())
        }
        "date" => match arg(0) {
            Value::Num(d) if !d.is_nan() => Value::Str(
                (epoch() + Duration::days(d.floor() as i64))
                    .format("%Y-%m-%d")
                    .to_string(),
            ),
            other => Value::Str(
                parse_date(&other.as_string())
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
        },
        "not" => Value::Bool(!arg(0).as_bool()),
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "boolean" => Value::Bool(arg(0).as_bool()),
        "string" => Value::Str(if args.is_empty() {
            env.current().as_string()
        } else {
            s(0)
        }),
        _ => Value::Str(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use chrono::TimeZone;

    struct T {
        vals: HashMap<&'static str, Value>,
        cur: Value,
    }

    impl Env for T {
        fn resolve(&self, name: &str) -> Value {
            self.vals
                .get(name)
                .cloned()
                .unwrap_or(Value::Str(String::new()))
        }
        fn current(&self) -> Value {
            self.cur.clone()
        }
        fn position(&self) -> Option<usize> {
            Some(2)
        }
        fn choice_label(&self, q: &str, v: &str) -> Option<String> {
            (q == "s" && v == "y").then(|| "是".to_string())
        }
        fn now(&self) -> DateTime<FixedOffset> {
            FixedOffset::east_opt(8 * 3600)
                .unwrap()
                .with_ymd_and_hms(2026, 3, 1, 9, 30, 5)
                .unwrap()
        }
    }

    fn env() -> T {
        let mut vals = HashMap::new();
        vals.insert("n", Value::Str("5".into()));
        vals.insert("empty", Value::Str(String::new()));
        vals.insert("m", Value::Str("a c".into()));
        vals.insert("s", Value::Str("y".into()));
        vals.insert("t", Value::Str("Hello".into()));
        vals.insert("d", Value::Str("2026-02-27".into()));
        vals.insert(
            "reps",
            Value::Nodes(vec!["1".into(), "2".into(), "".into()]),
        );
        vals.insert("ages", Value::Nodes(vec!["30".into(), "70".into()]));
        T {
            vals,
            cur: Value::Str("abc".into()),
        }
    }

    /// One row per case: expression → expected string result.
    fn check(cases: &[(&str, &str)]) {
        let env = env();
        for (src, want) in cases {
            let got = parse(src)
                .unwrap_or_else(|e| panic!("{src}: {e}"))
                .eval(&env)
                .as_string();
            assert_eq!(&got, want, "{src}");
        }
    }

    #[test]
    fn arithmetic_and_empty_answers_behave_as_in_odk() {
        check(&[
            ("1 + 2 * 3", "7"),
            ("${n} * 2", "10"),
            ("${n} div 2", "2.5"),
            ("${n} mod 3", "2"),
            ("-${n}", "-5"),
            ("${empty} + 1", ""),
            ("${empty} = ''", "true"),
            ("${empty} = 0", "false"),
            ("${empty} > 0", "false"),
            ("${empty} < 0", "false"),
            ("${n} = '5'", "true"),
            ("${n} = 5.0", "true"),
            ("${n} > 10", "false"),
            ("${n} >= 5 and ${n} <= 5", "true"),
            ("'abc' = 'ABC'", "false"),
            ("1 div 0", "Infinity"),
            ("0.1 + 0.2", "0.30000000000000004"),
        ]);
    }

    #[test]
    fn select_functions() {
        check(&[
            ("selected(${m}, 'a')", "true"),
            ("selected(${m}, 'b')", "false"),
            ("count-selected(${m})", "2"),
            ("count-selected(${empty})", "0"),
            ("selected-at(${m}, 1)", "c"),
            ("selected-at(${m}, 5)", ""),
            ("jr:choice-name(${s}, '${s}')", "是"),
            ("jr:choice-name('zz', '${s}')", ""),
        ]);
    }

    #[test]
    fn string_functions() {
        check(&[
            ("concat(${t}, ' ', ${n})", "Hello 5"),
            ("coalesce(${empty}, 'x')", "x"),
            ("coalesce(${t}, 'x')", "Hello"),
            ("string-length(${t})", "5"),
            ("string-length('社区')", "2"),
            ("string-length()", "3"),
            ("contains(${t}, 'ell')", "true"),
            ("starts-with(${t}, 'He')", "true"),
            ("substr(${t}, 1, 3)", "el"),
            ("regex(${t}, '^H[a-z]+$')", "true"),
            ("regex('H1', '^H[a-z]+$')", "false"),
            ("regex(${t}, '[')", "false"),
            ("if(${n} > 3, 'big', 'small')", "big"),
            ("not(${empty})", "true"),
            ("string(12)", "12"),
        ]);
    }

    #[test]
    fn numbers_and_repeats() {
        check(&[
            ("number('3.5') + 1", "4.5"),
            ("number('abc')", ""),
            ("int(-3.7)", "-3"),
            ("round(2.5)", "3"),
            ("round(3.14159, 2)", "3.14"),
            ("sum(${ages})", "100"),
            ("sum(${reps})", ""),
            ("count(${reps})", "3"),
            ("count(${empty})", "0"),
            ("max(${ages}, 50)", "70"),
            ("min(${ages})", "30"),
            ("${ages} > 60", "true"),
            ("${ages} = 30", "true"),
            ("${ages} = 31", "false"),
            ("position(..)", "2"),
        ]);
    }

    #[test]
    fn dates_use_the_time_passed_in() {
        check(&[
            ("today()", "2026-03-01"),
            ("now()", "2026-03-01T09:30:05.000+08:00"),
            ("${d} < today()", "true"),
            ("today() - ${d}", "2"),
            ("format-date(${d}, '%Y年%n月%e日')", "2026年2月27日"),
            ("format-date(${d}, '%d/%m/%y %a %b')", "27/02/26 Fri Feb"),
            ("format-date(now(), '%H:%M:%S')", "09:30:05"),
            ("date(0)", "1970-01-01"),
            ("format-date('not a date', '%Y')", ""),
        ]);
    }
}
