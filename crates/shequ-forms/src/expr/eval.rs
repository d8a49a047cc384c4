//! Evaluation with ODK's semantics: an empty answer is the empty string (not zero), numbers
//! are IEEE doubles, comparisons and conversions follow XPath 1.0, dates compare as days.
//!
//! Every function of the ODK XForms specification is here except those that need location
//! paths or secondary instances, which the XLSForm language of this engine does not have
//! (`instance()`, `current()`, `jr:itext()`). `pulldata()` reads a CSV attached to the form
//! through [`Env::pulldata`]; Shequ ships no form media, so on a laptop it yields "".
//! `tests/reference_engine.rs` checks these functions against Enketo's evaluator.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike,
};

use super::digest;
use super::parse::{Expr, Op};

/// What an expression sees of the form: answers in the current context, choice labels, time.
pub trait Env {
    /// `${name}` from the current context: one value, or every instance of a question inside
    /// a repeat the context is outside of (`Value::Nodes`). A repeat's own name gives one
    /// node per instance.
    fn resolve(&self, name: &str) -> Value;
    /// `.`: the value being checked (constraints) or computed. `once()` reads it too.
    fn current(&self) -> Value;
    /// `position(..)`: 1-based index of the current repeat instance.
    fn position(&self) -> Option<usize>;
    /// The label of choice `value` of the question `question`, in the interview language.
    fn choice_label(&self, question: &str, value: &str) -> Option<String>;
    /// Now, in the device's time zone (today() and now() read it; time is passed in). Its
    /// offset is the device's zone for dates without one.
    fn now(&self) -> DateTime<FixedOffset>;
    /// A column of the choice being filtered (`choice_filter` only).
    fn column(&self, _name: &str) -> Value {
        Value::Str(String::new())
    }
    /// A uniform number in [0, 1) for `random()`, `uuid()` and unseeded `randomize()`. Tests
    /// give a seeded sequence; the default draws from the process's hash seed.
    fn random(&self) -> f64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        (h.finish() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// `indexed-repeat(${name}, ${repeat1}, i1, …)`: the value of `name` in the given 1-based
    /// instances of its enclosing repeats, outermost first; an empty node-set when there is no
    /// such instance.
    fn indexed(&self, _name: &str, _repeats: &[(String, usize)]) -> Value {
        Value::Nodes(Vec::new())
    }
    /// `pulldata(file, column, key_column, key)` over a CSV attached to the form. Shequ does
    /// not carry form media, so the default (and the form state) answers "".
    fn pulldata(&self, _file: &str, _column: &str, _key_column: &str, _key: &str) -> String {
        String::new()
    }
    /// `version()`: the form's version (settings sheet).
    fn form_version(&self) -> String {
        String::new()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
    Nodes(Vec<String>),
}

/// XPath's number → string, with NaN as the empty answer ODK users see: what a calculation
/// stores. Never an exponent (XPath 1.0 §4.2): 1e21 is written out in full.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        String::new()
    } else {
        xpath_number(n)
    }
}

/// XPath 1.0's string() of a number: "NaN", "Infinity", integers without a point, -0 as "0",
/// otherwise the shortest decimal that reads back as the same double, without an exponent.
fn xpath_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
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

/// A date or date-time read from an answer: `YYYY-MM-DD`, optionally `THH:MM[:SS[.fff]]`
/// and `Z` or `±HH:MM`. Without an offset it is in the device's zone.
#[derive(Debug, Clone, Copy)]
enum When {
    Date(NaiveDate),
    DateTime(NaiveDateTime, Option<FixedOffset>),
}

impl When {
    fn parse(s: &str) -> Option<When> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
        let rest = &s[10..];
        if rest.is_empty() {
            return Some(When::Date(date));
        }
        let rest = rest.strip_prefix('T')?;
        let (time, offset) = if let Some(t) = rest.strip_suffix('Z') {
            (t, Some(FixedOffset::east_opt(0)?))
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let o = &rest[i + 1..];
            let (h, m) = o.split_once(':').unwrap_or((o, "00"));
            let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
            let secs = (h * 3600 + m * 60) * if &rest[i..=i] == "-" { -1 } else { 1 };
            (&rest[..i], Some(FixedOffset::east_opt(secs)?))
        } else {
            (rest, None)
        };
        let t = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(time, f).ok())?;
        Some(When::DateTime(date.and_time(t), offset))
    }

    /// The instant, a date-only value at midnight and a date-time without offset in `zone`.
    fn instant(self, zone: FixedOffset) -> Option<DateTime<FixedOffset>> {
        match self {
            When::Date(d) => zone
                .from_local_datetime(&d.and_time(NaiveTime::MIN))
                .single(),
            When::DateTime(dt, o) => o.unwrap_or(zone).from_local_datetime(&dt).single(),
        }
    }

    /// Days since 1970-01-01: whole days for a date, fractional for a date-time.
    fn days(self, zone: FixedOffset) -> f64 {
        match self {
            When::Date(d) => (d - epoch()).num_days() as f64,
            other => other
                .instant(zone)
                .map_or(f64::NAN, |t| t.timestamp_millis() as f64 / 86_400_000.0),
        }
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero offset")
}

/// A count of days since the epoch as an instant (milliseconds truncated, as JavaRosa does).
fn instant_of_days(days: f64, zone: FixedOffset) -> Option<DateTime<FixedOffset>> {
    if !days.is_finite() || days.abs() > 1e8 {
        return None;
    }
    DateTime::from_timestamp_millis((days * 86_400_000.0) as i64).map(|t| t.with_timezone(&zone))
}

fn str_to_number(s: &str) -> f64 {
    let t = s.trim_matches([' ', '\t', '\n', '\r']);
    if t.is_empty() {
        return f64::NAN;
    }
    // XPath numbers: an optional minus, digits and one point; no exponent, no "Infinity".
    if t.chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        if let Ok(n) = t.parse::<f64>() {
            return n;
        }
    }
    // ODK's extension: dates and date-times are days since 1970-01-01 (UTC when unzoned).
    When::parse(t).map_or(f64::NAN, |w| w.days(utc()))
}

impl Value {
    /// The value as an answer is stored: XPath's string(), except that a NaN number is the
    /// empty answer (so a sum over a blank answer stays blank instead of reading "NaN").
    pub fn as_string(&self) -> String {
        match self {
            Value::Num(n) => format_number(*n),
            other => other.to_xpath_string(),
        }
    }

    /// XPath 1.0's string(): what functions and concatenation see.
    pub fn to_xpath_string(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Num(n) => xpath_number(*n),
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

    /// XPath's boolean(), with ODK's reading of one answer as its value: an empty answer is
    /// false (JavaRosa unpacks a one-node node-set), a list of repeat answers is true when
    /// there is at least one.
    pub fn as_bool(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Num(n) => *n != 0.0 && !n.is_nan(),
            Value::Bool(b) => *b,
            Value::Nodes(v) => !v.is_empty(),
        }
    }

    /// Every number in the value: each node of a node-set, or the one value (a computed
    /// Infinity stays Infinity; the text "Infinity" is not an XPath number).
    fn numbers(&self) -> Vec<f64> {
        match self {
            Value::Nodes(v) => v.iter().map(|s| str_to_number(s)).collect(),
            other => vec![other.as_number()],
        }
    }

    /// Every string in the value: each node of a node-set, or the one value.
    fn strings(&self) -> Vec<String> {
        match self {
            Value::Nodes(v) => v.clone(),
            other => vec![other.to_xpath_string()],
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
            Op::Eq => a.to_xpath_string() == b.to_xpath_string(),
            _ => a.to_xpath_string() != b.to_xpath_string(),
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

/// ODK `format-date` tokens: %Y %y %m %n %b %d %e %H %h %M %S %3 %a, and %% for a percent
/// sign. Month and day names are English, as the reference engines give them by default.
fn format_date(dt: DateTime<FixedOffset>, fmt: &str) -> String {
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
            Some('y') => out.push_str(&format!("{:02}", dt.year().rem_euclid(100))),
            Some('m') => out.push_str(&format!("{:02}", dt.month())),
            Some('n') => out.push_str(&dt.month().to_string()),
            Some('b') => out.push_str(MONTHS[dt.month0() as usize]),
            Some('d') => out.push_str(&format!("{:02}", dt.day())),
            Some('e') => out.push_str(&dt.day().to_string()),
            Some('H') => out.push_str(&format!("{:02}", dt.hour())),
            Some('h') => out.push_str(&dt.hour().to_string()),
            Some('M') => out.push_str(&format!("{:02}", dt.minute())),
            Some('S') => out.push_str(&format!("{:02}", dt.second())),
            Some('3') => out.push_str(&format!("{:03}", dt.timestamp_subsec_millis())),
            Some('a') => out.push_str(DAYS[dt.weekday().num_days_from_monday() as usize]),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// A date-time as ODK writes it: `2026-03-01T09:30:05.000+08:00`.
fn write_date_time(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// JavaScript's `Math.round` (halves toward +∞), exact for every double.
fn js_round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let f = x.floor();
    let r = if x - f >= 0.5 { f + 1.0 } else { f };
    if r == 0.0 && x < 0.0 {
        -0.0
    } else {
        r
    }
}

/// `round(x, digits)` as JavaRosa does it: the shortest decimal writing of `x` rounded half
/// toward +∞ for positive numbers and half toward zero for negative ones (so halves always go
/// up, XPath 1.0 §4.4), at `digits` decimals; negative `digits` round to tens, hundreds, ….
fn round_decimal(x: f64, digits: f64) -> f64 {
    if !x.is_finite() || digits.is_nan() {
        return if digits.is_nan() { f64::NAN } else { x };
    }
    let d = digits.trunc();
    if !(-30.0..=30.0).contains(&d) {
        return f64::NAN;
    }
    let d = d as i32;
    if d < 0 {
        let p = 10f64.powi(-d);
        return ((x / p) + 0.5).floor() * p;
    }
    // Decimal arithmetic on the shortest representation: digits and a decimal exponent.
    let repr = format!("{:e}", x.abs());
    let (mantissa, exp) = repr.split_once('e').unwrap_or((&repr, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits_str: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // value = 0.d1d2d3… × 10^(exp+1); keep (exp + 1 + d) digits.
    let keep = exp + 1 + d;
    if keep < 0 {
        return 0.0 * x.signum();
    }
    let keep = keep as usize;
    let mut kept: Vec<u8> = digits_str.bytes().map(|b| b - b'0').collect();
    let next = kept.get(keep).copied().unwrap_or(0);
    let rest_nonzero = kept.iter().skip(keep + 1).any(|&b| b != 0);
    kept.truncate(keep);
    while kept.len() < keep {
        kept.push(0);
    }
    let up = if x >= 0.0 {
        next >= 5
    } else {
        next > 5 || (next == 5 && rest_nonzero)
    };
    let mut n: String = kept.iter().map(|b| (b'0' + b) as char).collect();
    if n.is_empty() {
        n.push('0');
    }
    let mut v: f64 = format!("{n}e{}", exp + 1 - keep as i32)
        .parse()
        .unwrap_or(f64::NAN);
    if up {
        v += 10f64.powi(-d);
        // Re-read the sum through its decimal form to avoid 0.1 + 0.2 artefacts.
        v = format!("{:.*}", d as usize, v).parse().unwrap_or(v);
    }
    if x < 0.0 {
        -v
    } else {
        v
    }
}

/// JavaScript's `Number(string)`, for the geo functions' range checks (as in Enketo).
fn js_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).map_or(f64::NAN, |v| v as f64);
    }
    if t.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
    {
        t.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

const EARTH_RADIUS_M: f64 = 6_378_100.0;

fn rad(deg: f64) -> f64 {
    (deg * std::f64::consts::PI) / 180.0
}

/// Geopoints as (lat, lng), or `None` when one is not a valid point.
fn geopoints(args: &[Value]) -> Option<Vec<(f64, f64)>> {
    let points: Vec<String> = if args.len() > 1 {
        args.iter().map(Value::to_xpath_string).collect()
    } else {
        match args.first() {
            Some(Value::Nodes(v)) if v.len() > 1 => v.clone(),
            Some(v) => v.to_xpath_string().split(';').map(str::to_string).collect(),
            None => return None,
        }
    };
    points
        .iter()
        .map(|p| {
            let c: Vec<&str> = p.trim().split(' ').collect();
            let lat = js_number(c[0]);
            let lng = c.get(1).map_or(f64::NAN, |x| js_number(x));
            let ok = !c[0].is_empty()
                && (-90.0..=90.0).contains(&lat)
                && c.get(1).is_some_and(|x| !x.is_empty())
                && (-180.0..=180.0).contains(&lng)
                && c.get(2).is_none_or(|x| !js_number(x).is_nan())
                && c.get(3).is_none_or(|x| js_number(x) >= 0.0);
            ok.then_some((lat, lng))
        })
        .collect()
}

/// Area in m² of a polygon on a sphere of the Earth's equatorial radius, to the centimetre.
fn area(points: &[(f64, f64)]) -> f64 {
    let n = points.len();
    let mut a = 0.0;
    if n > 2 {
        for i in 0..n {
            let (p1, p2) = (points[i], points[(i + 1) % n]);
            a += rad(p2.1 - p1.1) * (2.0 + rad(p1.0).sin() + rad(p2.0).sin());
        }
        a = (a * EARTH_RADIUS_M * EARTH_RADIUS_M) / 2.0;
    }
    js_round(a * 100.0).abs() / 100.0
}

/// Length in metres of a path of geopoints (great circles), to the centimetre.
fn distance(points: &[(f64, f64)]) -> f64 {
    let mut d = 0.0;
    for w in points.windows(2) {
        let (p1, p2) = (w[0], w[1]);
        let dl = rad(p1.1 - p2.1);
        let (f1, f2) = (rad(p1.0), rad(p2.0));
        d += (f1.sin() * f2.sin() + f1.cos() * f2.cos() * dl.cos()).acos() * EARTH_RADIUS_M;
    }
    js_round(d * 100.0).abs() / 100.0
}

/// The seeded Park–Miller generator ODK specifies for `randomize(nodes, seed)`.
struct ParkMiller(i64);

impl ParkMiller {
    const M: i64 = 2_147_483_647;
    fn new(seed: i64) -> Self {
        let mut s = seed % Self::M;
        if s <= 0 {
            s += Self::M - 1;
        }
        ParkMiller(s)
    }
    fn next_float(&mut self) -> f64 {
        self.0 = (self.0 * 16_807) % Self::M;
        (self.0 - 1) as f64 / (Self::M - 1) as f64
    }
}

/// The "inside-out" Fisher–Yates shuffle of the ODK specification.
fn shuffle(items: Vec<String>, mut rng: impl FnMut() -> f64) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let j = ((rng() * (i as f64 + 1.0)).floor() as usize).min(i);
        if j == i {
            out.push(item);
        } else {
            let moved = std::mem::replace(&mut out[j], item);
            out.push(moved);
        }
    }
    out
}

/// Splits a select_multiple answer on spaces, as JavaRosa does.
fn tokens(s: &str) -> Vec<&str> {
    s.split(' ').filter(|t| !t.is_empty()).collect()
}

/// XPath's normalize-space(): runs of space, tab, CR and LF become one space, trimmed.
fn normalize_space(s: &str) -> String {
    s.split([' ', '\t', '\r', '\n'])
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A time of day from a time answer (`HH:MM[:SS[.fff]]`, optionally `Z` or `±HH:MM`) as a
/// fraction of the device's day; seconds are whole, as in Enketo.
fn decimal_time(s: &str, zone: FixedOffset) -> f64 {
    let s = s.trim();
    let (time, offset) = if let Some(t) = s.strip_suffix('Z') {
        (t, Some(utc()))
    } else if let Some(i) = s.rfind(['+', '-']) {
        let o = &s[i + 1..];
        let Some((h, m)) = o.split_once(':') else {
            return f64::NAN;
        };
        let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
            return f64::NAN;
        };
        if h >= 24 || m >= 60 {
            return f64::NAN;
        }
        let secs = (h * 3600 + m * 60) * if &s[i..=i] == "-" { -1 } else { 1 };
        (&s[..i], FixedOffset::east_opt(secs))
    } else {
        (s, None)
    };
    let Some(t) = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(time, f).ok())
    else {
        return f64::NAN;
    };
    let t = match offset {
        Some(o) => {
            let secs = t.num_seconds_from_midnight() as i64 - o.local_minus_utc() as i64
                + zone.local_minus_utc() as i64;
            NaiveTime::MIN + Duration::seconds(secs.rem_euclid(86_400))
        }
        None => t,
    };
    (t.second() as f64 / 3600.0 + t.minute() as f64 / 60.0 + t.hour() as f64) / 24.0
}

/// XPath's substring(s, start, len?) with its rounding rules (positions are 1-based).
fn xpath_substring(s: &str, start: f64, len: Option<f64>) -> String {
    let round = |x: f64| js_round(x);
    let first = round(start);
    let last = match len {
        Some(l) => first + round(l),
        None => f64::INFINITY,
    };
    s.chars()
        .enumerate()
        .filter(|(i, _)| {
            let p = (*i + 1) as f64;
            p >= first && p < last
        })
        .map(|(_, c)| c)
        .collect()
}

/// ODK's substr(s, start, end?): 0-based, negative positions count from the end.
fn substr(s: &str, start: f64, end: Option<f64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let to_int = |x: f64| -> i64 {
        if x.is_nan() {
            0
        } else {
            x.trunc().clamp(-1e15, 1e15) as i64
        }
    };
    let fix = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let a = fix(to_int(start));
    let b = end.map_or(len, |e| fix(to_int(e)));
    if a < b {
        chars[a as usize..b as usize].iter().collect()
    } else {
        String::new()
    }
}

fn translate(s: &str, from: &str, to: &str) -> String {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.iter().position(|&f| f == c) {
            None => Some(c),
            Some(i) => to.get(i).copied(),
        })
        .collect()
}

fn uuid_v4(env: &dyn Env) -> String {
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(4) {
        let r = (env.random() * 4_294_967_296.0) as u32;
        chunk.copy_from_slice(&r.to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
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

/// The name a `${name}` argument refers to, or the last step of a path written as a string
/// (`jr:choice-name(${s}, '${s}')` after pyxform reads `'/data/s'`).
fn ref_name(e: &Expr, env: &dyn Env) -> String {
    match e {
        Expr::Ref(n) => n.clone(),
        other => other
            .eval(env)
            .to_xpath_string()
            .trim()
            .trim_start_matches("${")
            .trim_end_matches('}')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

fn call(name: &str, args: &[Expr], env: &dyn Env) -> Value {
    let arg = |i: usize| {
        args.get(i)
            .map_or(Value::Str(String::new()), |a| a.eval(env))
    };
    let s = |i: usize| arg(i).to_xpath_string();
    let n = |i: usize| arg(i).as_number();
    let zone = || *env.now().offset();
    // Every value of every argument, node-sets flattened (concat, join, max, …).
    let flat = |from: usize| -> Vec<String> {
        args.iter()
            .skip(from)
            .flat_map(|a| a.eval(env).strings())
            .collect()
    };
    let num = Value::Num;
    let math = |f: fn(f64) -> f64| Value::Num(f(n(0)));
    match name {
        // Conditionals and booleans.
        "if" => {
            if arg(0).as_bool() {
                arg(1)
            } else {
                arg(2)
            }
        }
        "coalesce" => {
            let a = s(0);
            Value::Str(if a.is_empty() { s(1) } else { a })
        }
        "once" => {
            let current = env.current().to_xpath_string();
            if current.is_empty() {
                Value::Str(s(0))
            } else {
                Value::Str(current)
            }
        }
        "not" => Value::Bool(!arg(0).as_bool()),
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "boolean" => Value::Bool(arg(0).as_bool()),
        "boolean-from-string" => {
            let v = s(0);
            Value::Bool(v == "true" || v == "1")
        }
        "regex" => Value::Bool(regex_find(&s(1), &s(0))),
        "checklist" | "weighted-checklist" => {
            let (min, max) = (n(0), n(1));
            let total: f64 = if name == "checklist" {
                args.iter()
                    .skip(2)
                    .flat_map(|a| match a.eval(env) {
                        Value::Nodes(v) => v.iter().map(|x| !x.trim().is_empty()).collect(),
                        other => vec![other.as_bool()],
                    })
                    .filter(|&b| b)
                    .count() as f64
            } else {
                let mut flags = Vec::new();
                let mut weights = Vec::new();
                for pair in args[2.min(args.len())..].chunks(2) {
                    if let [v, w] = pair {
                        match v.eval(env) {
                            Value::Nodes(xs) => {
                                flags.extend(xs.iter().map(|x| !x.trim().is_empty()))
                            }
                            other => flags.push(other.as_bool()),
                        }
                        weights.extend(w.eval(env).numbers());
                    }
                }
                flags
                    .iter()
                    .enumerate()
                    .filter(|(_, &f)| f)
                    .map(|(i, _)| {
                        weights
                            .get(i)
                            .copied()
                            .filter(|w| !w.is_nan())
                            .unwrap_or(0.0)
                    })
                    .fold(0.0, |a, b| a + b)
            };
            Value::Bool((min < 0.0 || total >= min) && (max < 0.0 || total <= max))
        }

        // Selects.
        "selected" => Value::Bool(tokens(&s(0)).contains(&s(1).trim())),
        "count-selected" => num(tokens(&s(0)).len() as f64),
        "selected-at" => {
            let i = n(1).trunc();
            let v = s(0);
            let t = tokens(&v);
            Value::Str(if i >= 0.0 && (i as usize) < t.len() {
                t[i as usize].to_string()
            } else {
                String::new()
            })
        }
        "jr:choice-name" | "choice-name" => {
            let q = args.get(1).map(|e| ref_name(e, env)).unwrap_or_default();
            Value::Str(env.choice_label(&q, s(0).trim()).unwrap_or_default())
        }

        // Strings.
        "string" => Value::Str(if args.is_empty() {
            env.current().to_xpath_string()
        } else {
            s(0)
        }),
        "concat" => Value::Str(flat(0).concat()),
        "join" => Value::Str(flat(1).join(&s(0))),
        "string-length" => {
            let v = if args.is_empty() {
                env.current().to_xpath_string()
            } else {
                s(0)
            };
            num(v.chars().count() as f64)
        }
        "normalize-space" => Value::Str(normalize_space(&if args.is_empty() {
            env.current().to_xpath_string()
        } else {
            s(0)
        })),
        "contains" => Value::Bool(s(0).contains(&s(1))),
        "starts-with" => Value::Bool(s(0).starts_with(&s(1))),
        "ends-with" => Value::Bool(s(0).ends_with(&s(1))),
        "substr" => Value::Str(substr(&s(0), n(1), (args.len() > 2).then(|| n(2)))),
        "substring" => Value::Str(xpath_substring(&s(0), n(1), (args.len() > 2).then(|| n(2)))),
        "substring-before" => {
            let (a, b) = (s(0), s(1));
            Value::Str(a.find(&b).map_or(String::new(), |i| a[..i].to_string()))
        }
        "substring-after" => {
            let (a, b) = (s(0), s(1));
            Value::Str(
                a.find(&b)
                    .map_or(String::new(), |i| a[i + b.len()..].to_string()),
            )
        }
        "translate" => Value::Str(translate(&s(0), &s(1), &s(2))),
        "uuid" => Value::Str(if args.is_empty() {
            uuid_v4(env)
        } else {
            let len = n(0);
            let len = if len.is_finite() && len > 0.0 {
                len.min(1e4) as usize
            } else {
                0
            };
            const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
            (0..len)
                .map(|_| ALNUM[((env.random() * 36.0) as usize).min(35)] as char)
                .collect()
        }),
        "digest" => Value::Str(
            digest::digest(
                &s(0),
                &s(1),
                &if args.len() > 2 { s(2) } else { String::new() },
            )
            .unwrap_or_default(),
        ),
        "base64-decode" => Value::Str(
            digest::base64_decode(&s(0))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
        ),
        "pulldata" => Value::Str(env.pulldata(&s(0), &s(1), &s(2), &s(3))),
        "version" => Value::Str(env.form_version()),
        "lang" => Value::Bool(false),
        "name" | "local-name" => Value::Str(match args.first() {
            Some(Expr::Ref(r)) => r.clone(),
            _ => String::new(),
        }),
        "namespace-uri" => Value::Str(String::new()),

        // Numbers.
        "number" => num(if args.is_empty() {
            env.current().as_number()
        } else {
            n(0)
        }),
        "int" => num(n(0).trunc()),
        "round" => num(round_decimal(n(0), if args.len() > 1 { n(1) } else { 0.0 })),
        "floor" => math(f64::floor),
        "ceiling" => math(f64::ceil),
        "abs" => math(f64::abs),
        "sqrt" => math(f64::sqrt),
        "exp" => math(f64::exp),
        "exp10" => num(10f64.powf(n(0))),
        "log" => math(f64::ln),
        "log10" => math(f64::log10),
        "sin" => math(f64::sin),
        "cos" => math(f64::cos),
        "tan" => math(f64::tan),
        "asin" => math(f64::asin),
        "acos" => math(f64::acos),
        "atan" => math(f64::atan),
        "atan2" => num(n(0).atan2(n(1))),
        // As JavaRosa and Enketo: a NaN exponent gives NaN even for a base of 1 (IEEE says 1).
        "pow" => num(if n(1).is_nan() {
            f64::NAN
        } else {
            n(0).powf(n(1))
        }),
        "pi" => num(std::f64::consts::PI),
        "random" => num(env.random()),
        "max" | "min" => {
            let xs: Vec<f64> = args.iter().flat_map(|a| a.eval(env).numbers()).collect();
            num(if xs.is_empty() || xs.iter().any(|x| x.is_nan()) {
                f64::NAN
            } else if name == "max" {
                xs.into_iter().fold(f64::NEG_INFINITY, f64::max)
            } else {
                xs.into_iter().fold(f64::INFINITY, f64::min)
            })
        }
        // Folded from +0: Rust's f64 sum of nothing is -0, and 1 div sum(empty) must be +∞.
        "sum" => num(arg(0).numbers().into_iter().fold(0.0, |a, b| a + b)),

        // Node-sets and repeats.
        "count" => num(match arg(0) {
            Value::Nodes(v) => v.len() as f64,
            _ => 1.0,
        }),
        "count-non-empty" => num(arg(0).strings().iter().filter(|x| !x.is_empty()).count() as f64),
        "position" => match args.first() {
            Some(Expr::Parent) => num(env.position().map_or(f64::NAN, |p| p as f64)),
            // Outside a predicate the context position is 1, as in XPath.
            _ => num(1.0),
        },
        "last" => num(1.0),
        "randomize" => {
            let items = arg(0).strings();
            Value::Nodes(if args.len() > 1 {
                let mut rng = ParkMiller::new(n(1).trunc() as i64);
                shuffle(items, || rng.next_float())
            } else {
                shuffle(items, || env.random())
            })
        }
        "indexed-repeat" => {
            let target = args.first().map(|e| ref_name(e, env)).unwrap_or_default();
            let repeats: Vec<(String, usize)> = args[1.min(args.len())..]
                .chunks(2)
                .filter_map(|p| match p {
                    [r, i] => {
                        let i = i.eval(env).as_number().trunc();
                        Some((ref_name(r, env), if i >= 1.0 { i as usize } else { 1 }))
                    }
                    _ => None,
                })
                .collect();
            env.indexed(&target, &repeats)
        }

        // Dates and times.
        "today" => Value::Str(env.now().format("%Y-%m-%d").to_string()),
        "now" => Value::Str(write_date_time(env.now())),
        "date" | "date-time" => {
            let keep_time = name == "date-time";
            let t = match arg(0) {
                Value::Num(d) => instant_of_days(if keep_time { d } else { d.trunc() }, utc()),
                Value::Bool(_) => None,
                other => {
                    let v = other.to_xpath_string();
                    let v = v.trim();
                    if v.is_empty() {
                        return Value::Str(String::new());
                    }
                    match str_to_number_plain(v) {
                        Some(d) => instant_of_days(d.trunc(), utc()),
                        None => When::parse(v).and_then(|w| match w {
                            When::Date(d) if !keep_time => {
                                Some(d.and_time(NaiveTime::MIN).and_utc().fixed_offset())
                            }
                            w => w.instant(zone()).map(|t| t.with_timezone(&zone())),
                        }),
                    }
                }
            };
            Value::Str(t.map_or(String::new(), |t| {
                if keep_time {
                    write_date_time(t.with_timezone(&zone()))
                } else {
                    t.format("%Y-%m-%d").to_string()
                }
            }))
        }
        "decimal-date-time" => num(match arg(0) {
            Value::Num(d) => d,
            other => When::parse(&other.to_xpath_string()).map_or(f64::NAN, |w| w.days(zone())),
        }),
        "decimal-time" => num(match arg(0) {
            Value::Num(_) => f64::NAN,
            other => decimal_time(&other.to_xpath_string(), zone()),
        }),
        "format-date" | "format-date-time" => {
            let t = match arg(0) {
                Value::Num(d) => instant_of_days(d, zone()),
                Value::Bool(_) => None,
                other => {
                    let v = other.to_xpath_string();
                    match str_to_number_plain(v.trim()) {
                        Some(d) => instant_of_days(d.trunc(), zone()),
                        None => When::parse(&v)
                            .and_then(|w| w.instant(zone()))
                            .map(|t| t.with_timezone(&zone())),
                    }
                }
            };
            Value::Str(t.map(|t| format_date(t, &s(1))).unwrap_or_default())
        }
        // Geography.
        "area" | "distance" => {
            let vals: Vec<Value> = args.iter().map(|a| a.eval(env)).collect();
            num(match geopoints(&vals) {
                Some(p) if name == "area" => area(&p),
                Some(p) => distance(&p),
                None => f64::NAN,
            })
        }
        _ => Value::Str(String::new()),
    }
}

/// A plain decimal written as text (`-12.5`), as Enketo reads a number of days in date().
fn str_to_number_plain(s: &str) -> Option<f64> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    (!int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit()))
    .then(|| s.parse().ok())
    .flatten()
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
        vals.insert("nothing", Value::Nodes(Vec::new()));
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
            ("count(${empty})", "1"),
            ("max(${ages}, 50)", "70"),
            ("min(${ages})", "30"),
            ("${ages} > 60", "true"),
            ("${ages} = 30", "true"),
            ("${ages} = 31", "false"),
            ("position(..)", "2"),
        ]);
    }

    #[test]
    fn odk_functions() {
        check(&[
            ("decimal-date-time('1970-01-02T12:00:00Z')", "1.5"),
            ("decimal-date-time(${d})", "20511"),
            ("decimal-time('12:00:00.000+08:00')", "0.5"),
            ("decimal-time('18:00')", "0.75"),
            ("date-time(1.5)", "1970-01-02T20:00:00.000+08:00"),
            ("date('2026-02-27T23:30:00Z')", "2026-02-28"),
            (
                "format-date-time('2026-02-27T23:30:00Z', '%H:%M %%')",
                "07:30 %",
            ),
            ("boolean-from-string('1')", "true"),
            ("boolean-from-string('yes')", "false"),
            ("checklist(1, 2, ${n}, ${empty}, true())", "true"),
            (
                "weighted-checklist(3, 5, true(), 2, false(), 10, ${n}, 1.5)",
                "true",
            ),
            ("count-non-empty(${reps})", "2"),
            ("join('-', ${reps})", "1-2-"),
            ("concat(${ages})", "3070"),
            ("normalize-space('  a \t b ')", "a b"),
            ("translate('abcabc', 'ab', 'B')", "BcBc"),
            ("substring-before('2026-02-27', '-')", "2026"),
            ("substring-after('2026-02-27', '-')", "02-27"),
            ("substring('12345', 1.5, 2.6)", "234"),
            ("substring('12345', 0, 3)", "12"),
            ("substring('12345', -42, 1 div 0)", "12345"),
            ("substr('hello', -3)", "llo"),
            ("round(-2.5)", "-2"),
            ("round(2.675, 2)", "2.68"),
            ("round(1234.5, -2)", "1200"),
            ("pow(2, 10)", "1024"),
            ("exp10(3)", "1000"),
            ("log10(1000)", "3"),
            ("sqrt(-1)", ""),
            ("string(sqrt(-1))", "NaN"),
            ("concat('x', 0 div 0, 1 div 0)", "xNaNInfinity"),
            ("1 div -0", "-Infinity"),
            ("int(-0.5)", "0"),
            ("100000000000000000000000 * 10", "1000000000000000000000000"),
            ("0.0000001 * 1", "0.0000001"),
            ("max(${reps})", ""),
            ("min(1, '2', -3)", "-3"),
            ("max(1, 1 div 0)", "Infinity"),
            ("min(-1 div 0, 2)", "-Infinity"),
            ("sum(1 div 0)", "Infinity"),
            ("1 div sum(${nothing})", "Infinity"),
            ("area('0 0; 0 1; 1 1; 1 0; 0 0')", "12391256135.81"),
            ("distance('0 0; 0 1')", "111318.85"),
            ("distance('91 0; 0 1')", ""),
            (
                "digest('abc', 'SHA-1', 'hex')",
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            ("digest('abc', 'nope')", ""),
            ("base64-decode('5Lit5paH')", "中文"),
            ("join(' ', randomize(${ages}, 42))", "30 70"),
            ("once(${n})", "abc"),
            ("pulldata('fruits', 'name', 'id', 1)", ""),
            ("version()", ""),
            ("indexed-repeat(${ages}, ${reps}, 9)", ""),
            ("count(indexed-repeat(${ages}, ${reps}, 9))", "0"),
            ("position()", "1"),
            ("string-length(uuid())", "36"),
            ("string-length(uuid(12))", "12"),
            ("random() < 1", "true"),
            ("lang('en')", "false"),
            ("name(${n})", "n"),
            ("pi() > 3.14", "true"),
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
