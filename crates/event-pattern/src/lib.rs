//! EventBridge event patterns, compiled once and matched against events.
//!
//! Semantics follow the EventBridge documentation ("Event patterns", "Content filtering"):
//!
//! * a pattern is an object whose keys name event fields; a nested object matches a nested
//!   event object; a leaf is an array of conditions of which **any** may match (OR), while all
//!   keys of an object must match (AND);
//! * a condition is a literal (string, number, boolean, null; numbers compare by value) or one
//!   of `prefix`, `suffix` (each optionally `{"equals-ignore-case": …}`), `equals-ignore-case`,
//!   `wildcard`, `anything-but` (a value, a list of strings or of numbers, or
//!   `{"prefix"|"suffix"|"wildcard"|"equals-ignore-case": …}`), `numeric`, `exists`, `cidr`;
//! * `"$or": [pattern, …]` at any object level matches if any alternative does (together with
//!   the object's other keys);
//! * when the event value is an array, a condition matches if any element satisfies it; an
//!   absent field matches only `{"exists": false}`.
//!
//! Compiling refuses what EventBridge refuses (unknown operators, malformed numeric ranges,
//! bad CIDRs, empty condition lists), naming the problem and where it is.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern at {path}: {problem}")]
pub struct PatternError {
    /// JSON path of the problem, e.g. `detail.state[0]`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

fn err<T>(path: &str, problem: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError {
        path: if path.is_empty() {
            "$".to_owned()
        } else {
            path.to_owned()
        },
        problem: problem.into(),
    })
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: ObjectNode,
    /// The pattern as given, for the API's answers (`ListRules`, `DescribeRule`).
    source: Value,
}

#[derive(Debug, Clone, PartialEq)]
struct ObjectNode {
    fields: Vec<(String, FieldNode)>,
    /// `$or` groups at this level: each group needs one matching alternative.
    ors: Vec<Vec<ObjectNode>>,
}

#[derive(Debug, Clone, PartialEq)]
enum FieldNode {
    Nested(ObjectNode),
    Leaf(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Literal(Value),
    Prefix { text: String, ignore_case: bool },
    Suffix { text: String, ignore_case: bool },
    EqualsIgnoreCase(String),
    Wildcard(Glob),
    AnythingBut(AnythingBut),
    Numeric(Vec<(NumOp, f64)>),
    Exists(bool),
    Cidr(Cidr),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Value>),
    Prefix(Vec<String>),
    Suffix(Vec<String>),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Glob>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumOp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

/// Numbers EventBridge can compare: documented as −5e9 … 5e9, 15 significant digits.
const NUMERIC_LIMIT: f64 = 5.0e9;

impl Pattern {
    /// The pattern as it was given (its JSON).
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Parses and checks a pattern given as JSON text.
    pub fn parse_str(text: &str) -> Result<Self, PatternError> {
        let v: Value = serde_json::from_str(text).or_else(|e| err("", format!("not JSON: {e}")))?;
        Self::parse(&v)
    }

    /// Parses and checks a pattern.
    pub fn parse(v: &Value) -> Result<Self, PatternError> {
        match v {
            Value::Object(m) => Ok(Self {
                root: object(m, "")?,
                source: v.clone(),
            }),
            _ => err("", "a pattern must be a JSON object"),
        }
    }

    /// Whether `event` matches. An event with dotted keys (`{"a.b": 1}`) is matched as if
    /// they were nested (`{"a": {"b": 1}}`), as EventBridge's flattened paths make them.
    pub fn matches(&self, event: &Value) -> bool {
        if has_dotted_key(event) {
            match_object(&self.root, Some(&expand_dotted(event)))
        } else {
            match_object(&self.root, Some(event))
        }
    }
}

fn has_dotted_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| k.contains('.') || has_dotted_key(x)),
        Value::Array(items) => items.iter().any(has_dotted_key),
        _ => false,
    }
}

/// `v` with every dotted key nested; values that land on one path are merged (objects key by
/// key, anything else into an array of both), as their flattened fields would be.
fn expand_dotted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Value::Object(Map::new());
            for (key, value) in m {
                let nested = key
                    .split('.')
                    .rev()
                    .fold(expand_dotted(value), |inner, segment| {
                        Value::Object(Map::from_iter([(segment.to_owned(), inner)]))
                    });
                merge(&mut out, nested);
            }
            out
        }
        Value::Array(items) => Value::Array(items.iter().map(expand_dotted).collect()),
        leaf => leaf.clone(),
    }
}

fn merge(into: &mut Value, add: Value) {
    match (into, add) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (into, add) => {
            let mut items = match std::mem::take(into) {
                Value::Array(items) => items,
                other => vec![other],
            };
            match add {
                Value::Array(more) => items.extend(more),
                other => items.push(other),
            }
            *into = Value::Array(items);
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn object(m: &Map<String, Value>, path: &str) -> Result<ObjectNode, PatternError> {
    if m.is_empty() {
        return err(path, "an object in a pattern must not be empty");
    }
    let mut node = ObjectNode {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (key, value) in m {
        let here = join(path, key);
        if key == "$or" {
            let Value::Array(alternatives) = value else {
                return err(&here, "$or takes an array of patterns");
            };
            if alternatives.len() < 2 {
                return err(&here, "$or needs at least two alternatives");
            }
            let group = alternatives
                .iter()
                .enumerate()
                .map(|(i, a)| match a {
                    Value::Object(am) => object(am, &format!("{here}[{i}]")),
                    _ => err(
                        &format!("{here}[{i}]"),
                        "each $or alternative must be an object",
                    ),
                })
                .collect::<Result<Vec<_>, _>>()?;
            node.ors.push(group);
            continue;
        }
        let field = match value {
            Value::Object(inner) => FieldNode::Nested(object(inner, &here)?),
            Value::Array(conditions) => {
                if conditions.is_empty() {
                    return err(&here, "a condition list must not be empty");
                }
                let conditions: Vec<Condition> = conditions
                    .iter()
                    .enumerate()
                    .map(|(i, c)| condition(c, &format!("{here}[{i}]")))
                    .collect::<Result<_, _>>()?;
                check_wildcard_complexity(&conditions, &here)?;
                FieldNode::Leaf(conditions)
            }
            _ => {
                return err(
                    &here,
                    "a field's conditions must be an array (or a nested object)",
                );
            }
        };
        // A dotted key names a nested field, as the same key nested would: EventBridge
        // matches on flattened paths, where `{"a.b": …}` and `{"a": {"b": …}}` are one field.
        let mut segments = key.split('.').rev();
        let last = segments.next().unwrap_or_default();
        let (name, field) = segments.fold((last.to_owned(), field), |(inner, f), outer| {
            (
                outer.to_owned(),
                FieldNode::Nested(ObjectNode {
                    fields: vec![(inner, f)],
                    ors: Vec::new(),
                }),
            )
        });
        node.fields.push((name, field));
    }
    Ok(node)
}

fn string_operand<'a>(v: &'a Value, path: &str, op: &str) -> Result<&'a str, PatternError> {
    v.as_str()
        .map_or_else(|| err(path, format!("{op} takes a string")), Ok)
}

/// `"text"` or `{"equals-ignore-case": "text"}` (the forms prefix and suffix accept).
fn affix(v: &Value, path: &str, op: &str) -> Result<(String, bool), PatternError> {
    match v {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(m) if m.len() == 1 && m.contains_key("equals-ignore-case") => Ok((
            string_operand(&m["equals-ignore-case"], path, op)?.to_owned(),
            true,
        )),
        _ => err(
            path,
            format!("{op} takes a string or {{\"equals-ignore-case\": string}}"),
        ),
    }
}

fn condition(c: &Value, path: &str) -> Result<Condition, PatternError> {
    let Value::Object(m) = c else {
        return match c {
            Value::Array(_) => err(path, "a condition cannot be an array"),
            literal => Ok(Condition::Literal(literal.clone())),
        };
    };
    if m.len() != 1 {
        return err(path, "a condition object has exactly one operator");
    }
    let (op, operand) = m.iter().next().unwrap_or_else(|| unreachable!("one entry"));
    match op.as_str() {
        "prefix" => {
            let (text, ignore_case) = affix(operand, path, "prefix")?;
            Ok(Condition::Prefix { text, ignore_case })
        }
        "suffix" => {
            let (text, ignore_case) = affix(operand, path, "suffix")?;
            Ok(Condition::Suffix { text, ignore_case })
        }
        "equals-ignore-case" => Ok(Condition::EqualsIgnoreCase(
            string_operand(operand, path, op)?.to_owned(),
        )),
        "wildcard" => Ok(Condition::Wildcard(Glob::parse(
            string_operand(operand, path, op)?,
            path,
        )?)),
        "exists" => match operand {
            Value::Bool(b) => Ok(Condition::Exists(*b)),
            _ => err(path, "exists takes true or false"),
        },
        "cidr" => Ok(Condition::Cidr(Cidr::parse(
            string_operand(operand, path, op)?,
            path,
        )?)),
        "numeric" => numeric(operand, path).map(Condition::Numeric),
        "anything-but" => anything_but(operand, path).map(Condition::AnythingBut),
        other => err(path, format!("unknown operator {other:?}")),
    }
}

fn numeric(v: &Value, path: &str) -> Result<Vec<(NumOp, f64)>, PatternError> {
    let Value::Array(items) = v else {
        return err(path, "numeric takes an array like [\">\", 0, \"<=\", 5]");
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return err(path, "numeric takes one or two (operator, number) pairs");
    }
    let mut out = Vec::new();
    for pair in items.chunks(2) {
        let op = match pair[0].as_str() {
            Some("<") => NumOp::Lt,
            Some("<=") => NumOp::Le,
            Some("=") => NumOp::Eq,
            Some(">=") => NumOp::Ge,
            Some(">") => NumOp::Gt,
            _ => return err(path, format!("unknown numeric operator {}", pair[0])),
        };
        let n = pair[1].as_f64().map_or_else(
            || err(path, format!("numeric operand {} is not a number", pair[1])),
            Ok,
        )?;
        if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&n) {
            return err(path, format!("numeric operand {n} is outside ±5e9"));
        }
        out.push((op, n));
    }
    if out.len() == 2 {
        let lower = matches!(out[0].0, NumOp::Gt | NumOp::Ge);
        let upper = matches!(out[1].0, NumOp::Lt | NumOp::Le);
        if !(lower && upper) {
            return err(
                path,
                "a numeric range is a lower bound (> or >=) then an upper bound (< or <=)",
            );
        }
        if out[0].1 > out[1].1 {
            return err(
                path,
                "a numeric range's lower bound is above its upper bound",
            );
        }
    } else if matches!(out.first(), Some((NumOp::Eq, _))) && items.len() != 2 {
        return err(path, "= stands alone");
    }
    Ok(out)
}

fn anything_but(v: &Value, path: &str) -> Result<AnythingBut, PatternError> {
    match v {
        Value::String(_) | Value::Number(_) => Ok(AnythingBut::Values(vec![v.clone()])),
        Value::Array(items) => {
            if items.is_empty() {
                return err(path, "anything-but takes a non-empty list");
            }
            let strings = items.iter().all(Value::is_string);
            let numbers = items.iter().all(Value::is_number);
            if !(strings || numbers) {
                return err(
                    path,
                    "an anything-but list holds only strings or only numbers",
                );
            }
            Ok(AnythingBut::Values(items.clone()))
        }
        Value::Object(m) if m.len() == 1 => {
            let (op, operand) = m.iter().next().unwrap_or_else(|| unreachable!("one entry"));
            let strings = |what: &str| -> Result<Vec<String>, PatternError> {
                match operand {
                    Value::String(s) => Ok(vec![s.clone()]),
                    Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_string) => Ok(a
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()),
                    _ => err(
                        path,
                        format!("anything-but {what} takes a string or a list of strings"),
                    ),
                }
            };
            match op.as_str() {
                // An empty prefix or suffix would exclude every string: EventBridge refuses it.
                "prefix" | "suffix" => {
                    let affixes = strings(op)?;
                    if affixes.iter().any(String::is_empty) {
                        return err(path, format!("anything-but {op} cannot be empty"));
                    }
                    Ok(if op == "prefix" {
                        AnythingBut::Prefix(affixes)
                    } else {
                        AnythingBut::Suffix(affixes)
                    })
                }
                "equals-ignore-case" => Ok(AnythingBut::IgnoreCase(strings("equals-ignore-case")?)),
                "wildcard" => Ok(AnythingBut::Wildcard(
                    strings("wildcard")?
                        .iter()
                        .map(|s| Glob::parse(s, path))
                        .collect::<Result<_, _>>()?,
                )),
                other => err(path, format!("anything-but does not take {other:?}")),
            }
        }
        _ => err(
            path,
            "anything-but takes a string, a number, a list, or {prefix|suffix|wildcard|equals-ignore-case}",
        ),
    }
}

/// The most automaton states a field's wildcards may be in at once while reading one value.
///
/// EventBridge refuses a rule whose wildcards could leave its matcher tracking too many
/// partial matches of one value at a time ("Rule is too complex - try using fewer wildcard
/// characters or fewer repeating character sequences after a wildcard character"); its
/// matcher (event-ruler's `MachineComplexityEvaluator`) counts the wildcard prefixes a value
/// can match simultaneously. This is the same idea on this matcher's automaton: the states
/// past a field's first `*` that can be active together, over every value, at most 10. It is
/// an approximation of AWS's count (its automaton is built per byte and shared between
/// rules): `*:*:*:*:*:event-bus/*` (13) is refused as AWS refuses it, the documentation's
/// examples (`*.png` 3, `*/lib/*` 5, `arn:aws:events:*:*:event-bus/*` 7) pass.
pub const WILDCARD_COMPLEXITY_LIMIT: usize = 10;

fn check_wildcard_complexity(conditions: &[Condition], path: &str) -> Result<(), PatternError> {
    let globs: Vec<&Glob> = conditions
        .iter()
        .flat_map(|c| match c {
            Condition::Wildcard(g) => std::slice::from_ref(g),
            Condition::AnythingBut(AnythingBut::Wildcard(gs)) => gs.as_slice(),
            _ => &[],
        })
        .collect();
    if globs.is_empty() || wildcard_complexity(&globs) <= WILDCARD_COMPLEXITY_LIMIT {
        return Ok(());
    }
    err(
        path,
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
    )
}

/// See [`WILDCARD_COMPLEXITY_LIMIT`]: explores every set of states the globs can be in
/// together (one representative for characters no glob names), stopping once over the limit.
fn wildcard_complexity(globs: &[&Glob]) -> usize {
    use std::collections::BTreeSet;
    type States = Vec<BTreeSet<usize>>;
    let closure = |g: &Glob, mut set: BTreeSet<usize>| {
        let mut stack: Vec<usize> = set.iter().copied().collect();
        while let Some(k) = stack.pop() {
            if g.0.get(k) == Some(&GlobPart::Star) && set.insert(k + 1) {
                stack.push(k + 1);
            }
        }
        set
    };
    let step = |g: &Glob, set: &BTreeSet<usize>, c: Option<char>| {
        let next = set
            .iter()
            .filter_map(|&k| match g.0.get(k) {
                Some(GlobPart::Star) => Some(k),
                Some(GlobPart::Char(x)) if Some(*x) == c => Some(k + 1),
                _ => None,
            })
            .collect();
        closure(g, next)
    };
    // Counted: states at or past a glob's first star (before it, a value follows one path).
    let first_star: Vec<usize> = globs
        .iter()
        .map(|g| {
            g.0.iter()
                .position(|p| *p == GlobPart::Star)
                .unwrap_or(usize::MAX)
        })
        .collect();
    let count = |sets: &States| {
        sets.iter()
            .zip(&first_star)
            .map(|(s, f)| s.iter().filter(|k| **k >= *f).count())
            .sum::<usize>()
    };
    let mut alphabet: BTreeSet<Option<char>> = BTreeSet::from([None]);
    for g in globs {
        for p in &g.0 {
            if let GlobPart::Char(c) = p {
                alphabet.insert(Some(*c));
            }
        }
    }
    let start: States = globs
        .iter()
        .map(|g| closure(g, BTreeSet::from([0])))
        .collect();
    let mut seen = BTreeSet::from([start.clone()]);
    let mut pending = vec![start];
    let mut most = 0;
    while let Some(sets) = pending.pop() {
        for c in &alphabet {
            let next: States = globs
                .iter()
                .zip(&sets)
                .map(|(g, s)| step(g, s, *c))
                .collect();
            most = most.max(count(&next));
            if most > WILDCARD_COMPLEXITY_LIMIT {
                return most;
            }
            // So many state sets is itself too complex (and bounds the work).
            if seen.len() > 100_000 {
                return WILDCARD_COMPLEXITY_LIMIT + 1;
            }
            if seen.insert(next.clone()) {
                pending.push(next);
            }
        }
    }
    most
}

/// A wildcard pattern: `*` matches any run of characters, `\*` a star, `\\` a backslash.
#[derive(Debug, Clone, PartialEq)]
struct Glob(Vec<GlobPart>);

#[derive(Debug, Clone, PartialEq)]
enum GlobPart {
    Star,
    Char(char),
}

impl Glob {
    fn parse(s: &str, path: &str) -> Result<Self, PatternError> {
        let mut parts = Vec::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e @ ('*' | '\\')) => parts.push(GlobPart::Char(e)),
                    _ => return err(path, "in a wildcard, \\ escapes only * or \\"),
                },
                '*' => {
                    if parts.last() == Some(&GlobPart::Star) {
                        return err(path, "a wildcard cannot have two * in a row");
                    }
                    parts.push(GlobPart::Star);
                }
                other => parts.push(GlobPart::Char(other)),
            }
        }
        Ok(Self(parts))
    }

    fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let p = &self.0;
        // Classic greedy matching with backtracking to the last star: linear in practice.
        let (mut ti, mut pi) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(GlobPart::Char(c)) if *c == t[ti] => {
                    ti += 1;
                    pi += 1;
                }
                Some(GlobPart::Star) => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|x| *x == GlobPart::Star)
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, PartialEq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(s: &str, path: &str) -> Result<Self, PatternError> {
        let (addr, bits) = s.split_once('/').map_or((s, None), |(a, b)| (a, Some(b)));
        let network: IpAddr = addr
            .parse()
            .or_else(|_| err(path, format!("{addr:?} is not an IP address")))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match bits {
            None => max,
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .map_or_else(|| err(path, format!("bad prefix length {b:?}")), Ok)?,
        };
        Ok(Self { network, prefix })
    }

    fn contains(&self, ip: &str) -> bool {
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return false;
        };
        let (a, b, bits): (u128, u128, u32) = match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                (u128::from(u32::from(n)), u128::from(u32::from(i)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        if shift >= 128 {
            return true;
        }
        (a >> shift) == (b >> shift)
    }
}

fn match_object(node: &ObjectNode, event: Option<&Value>) -> bool {
    let obj = event.and_then(Value::as_object);
    let fields_ok = node.fields.iter().all(|(key, field)| {
        let value = obj.and_then(|o| o.get(key));
        match field {
            FieldNode::Nested(inner) => match value {
                // An array of objects matches if one of its elements does.
                Some(Value::Array(items)) => {
                    items.iter().any(|item| match_object(inner, Some(item)))
                }
                other => match_object(inner, other),
            },
            FieldNode::Leaf(conditions) => conditions.iter().any(|c| match_leaf(c, value)),
        }
    });
    fields_ok
        && node
            .ors
            .iter()
            .all(|group| group.iter().any(|alt| match_object(alt, event)))
}

fn elements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter(|v| !v.is_array() && !v.is_object())
            .collect(),
        Value::Object(_) => Vec::new(),
        scalar => vec![scalar],
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `exists` looks at leaf values only: a field whose value is an object or an array without
/// leaves (`{}`, `[]`, `[{…}]`) does not exist for it, as for EventBridge, which flattens an
/// event into its leaves before matching.
fn match_leaf(c: &Condition, value: Option<&Value>) -> bool {
    let values = value.map(elements).unwrap_or_default();
    match c {
        Condition::Exists(present) => *present != values.is_empty(),
        _ => values.iter().any(|v| match_value(c, v)),
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn match_value(c: &Condition, v: &Value) -> bool {
    let text = v.as_str();
    match c {
        Condition::Literal(l) => same(l, v),
        Condition::Prefix {
            text: p,
            ignore_case,
        } => text.is_some_and(|t| {
            if *ignore_case {
                lower(t).starts_with(&lower(p))
            } else {
                t.starts_with(p.as_str())
            }
        }),
        Condition::Suffix {
            text: s,
            ignore_case,
        } => text.is_some_and(|t| {
            if *ignore_case {
                lower(t).ends_with(&lower(s))
            } else {
                t.ends_with(s.as_str())
            }
        }),
        Condition::EqualsIgnoreCase(s) => text.is_some_and(|t| lower(t) == lower(s)),
        Condition::Wildcard(g) => text.is_some_and(|t| g.matches(t)),
        Condition::Cidr(net) => text.is_some_and(|t| net.contains(t)),
        Condition::Numeric(conds) => v.as_f64().is_some_and(|n| {
            conds.iter().all(|(op, x)| match op {
                NumOp::Lt => n < *x,
                NumOp::Le => n <= *x,
                NumOp::Eq => n == *x,
                NumOp::Ge => n >= *x,
                NumOp::Gt => n > *x,
            })
        }),
        Condition::Exists(_) => true,
        // A value the string forms cannot describe (null, a number, a boolean) is "anything
        // but" them: it matches.
        Condition::AnythingBut(ab) => match ab {
            AnythingBut::Values(vals) => !vals.iter().any(|x| same(x, v)),
            AnythingBut::Prefix(ps) => {
                text.is_none_or(|t| !ps.iter().any(|p| t.starts_with(p.as_str())))
            }
            AnythingBut::Suffix(ss) => {
                text.is_none_or(|t| !ss.iter().any(|s| t.ends_with(s.as_str())))
            }
            AnythingBut::IgnoreCase(list) => {
                text.is_none_or(|t| !list.iter().any(|s| lower(s) == lower(t)))
            }
            AnythingBut::Wildcard(globs) => {
                text.is_none_or(|t| !globs.iter().any(|g| g.matches(t)))
            }
        },
    }
}

#[cfg(test)]
mod tests;
