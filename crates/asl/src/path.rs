//! JSONPath as Step Functions uses it: `$` (the state's input) or `$$` (the context object),
//! then `.name`, `['name']`, `[n]` (negative from the end), `[*]`/`.*`, `[a:b]`, `..name`,
//! and filters `[?(@.field op literal)]` / `[?(@.field)]`.

use std::fmt;

use serde_json::{Map, Value};

use crate::AslError;

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `$`: the input.
    Input,
    /// `$$`: the context object.
    Context,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>),
    Descend(String),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    field: Vec<String>,
    op: Option<(FilterOp, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    root: Root,
    segments: Vec<Segment>,
    text: String,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn fail<T>(&self, why: &str) -> Result<T, AslError> {
        Err(AslError::runtime(format!(
            "invalid JSONPath {:?} at character {}: {why}",
            self.text, self.i
        )))
    }
    fn name(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn int(&mut self) -> Option<i64> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    fn quoted(&mut self) -> Result<String, AslError> {
        let quote = self.peek().unwrap_or(b'\'');
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return self.fail("unterminated quoted name"),
                Some(b'\\') => {
                    self.i += 1;
                    if let Some(c) = self.peek() {
                        out.push(c);
                        self.i += 1;
                    }
                }
                Some(c) if c == quote => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
}

impl JsonPath {
    /// Parses a path.
    pub fn parse(text: &str) -> Result<Self, AslError> {
        let mut c = Cursor {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        if !c.eat(b'$') {
            return c.fail("a path starts with $");
        }
        let root = if c.eat(b'$') {
            Root::Context
        } else {
            Root::Input
        };
        let mut segments = Vec::new();
        while let Some(ch) = c.peek() {
            match ch {
                b'.' => {
                    c.i += 1;
                    if c.eat(b'.') {
                        let name = c.name();
                        if name.is_empty() {
                            return c.fail("`..` needs a field name");
                        }
                        segments.push(Segment::Descend(name));
                    } else if c.eat(b'*') {
                        segments.push(Segment::Wildcard);
                    } else {
                        let name = c.name();
                        if name.is_empty() {
                            return c.fail("empty field name");
                        }
                        segments.push(Segment::Field(name));
                    }
                }
                b'[' => {
                    c.i += 1;
                    c.skip_spaces();
                    match c.peek() {
                        Some(b'\'' | b'"') => segments.push(Segment::Field(c.quoted()?)),
                        Some(b'*') => {
                            c.i += 1;
                            segments.push(Segment::Wildcard);
                        }
                        Some(b'?') => segments.push(Segment::Filter(filter(&mut c)?)),
                        _ => {
                            let from = c.int();
                            if c.eat(b':') {
                                let to = c.int();
                                segments.push(Segment::Slice(from, to));
                            } else {
                                match from {
                                    Some(n) => segments.push(Segment::Index(n)),
                                    None => {
                                        return c.fail(
                                            "expected an index, a quoted name, * or a filter",
                                        );
                                    }
                                }
                            }
                        }
                    }
                    c.skip_spaces();
                    if !c.eat(b']') {
                        return c.fail("expected ]");
                    }
                }
                _ => return c.fail("expected . or ["),
            }
        }
        Ok(Self {
            root,
            segments,
            text: text.to_owned(),
        })
    }

    /// Which value the path starts from.
    pub fn root(&self) -> Root {
        self.root
    }

    /// Whether the path names at most one value (no wildcard, slice, descent or filter).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)))
    }

    /// Whether it is a reference path (definite, fields and indexes only), as `ResultPath`
    /// and Choice `Variable` require.
    pub fn is_reference(&self) -> bool {
        self.is_definite()
    }

    /// Every value the path selects.
    pub fn select<'a>(&self, input: &'a Value, context: &'a Value) -> Vec<&'a Value> {
        let start = match self.root {
            Root::Input => input,
            Root::Context => context,
        };
        let mut current = vec![start];
        for seg in &self.segments {
            let mut next = Vec::new();
            for v in current {
                apply(seg, v, &mut next);
            }
            current = next;
        }
        current
    }

    /// The value at the path: the one value of a definite path (an error if absent), or the
    /// array of everything an indefinite path selects.
    pub fn value(&self, input: &Value, context: &Value) -> Result<Value, AslError> {
        let found = self.select(input, context);
        if self.is_definite() {
            found.into_iter().next().cloned().ok_or_else(|| {
                AslError::runtime(format!(
                    "The JSONPath '{}' could not be found in the input",
                    self.text
                ))
            })
        } else {
            Ok(Value::Array(found.into_iter().cloned().collect()))
        }
    }

    /// Writes `value` at this reference path inside `target`, creating objects on the way
    /// (as `ResultPath` does).
    pub fn set(&self, target: &mut Value, value: Value) -> Result<(), AslError> {
        if self.root == Root::Context || !self.is_reference() {
            return Err(AslError::runtime(format!(
                "'{}' is not a reference path into the input",
                self.text
            )));
        }
        let mut here = target;
        for (i, seg) in self.segments.iter().enumerate() {
            let last = i + 1 == self.segments.len();
            match seg {
                Segment::Field(name) => {
                    if !here.is_object() {
                        if here.is_null() {
                            *here = Value::Object(Map::new());
                        } else {
                            return Err(AslError::runtime(format!(
                                "cannot set '{}': a value on the way is not an object",
                                self.text
                            )));
                        }
                    }
                    let obj = here
                        .as_object_mut()
                        .unwrap_or_else(|| unreachable!("made an object above"));
                    if last {
                        obj.insert(name.clone(), value);
                        return Ok(());
                    }
                    here = obj.entry(name.clone()).or_insert(Value::Object(Map::new()));
                }
                Segment::Index(n) => {
                    let Some(arr) = here.as_array_mut() else {
                        return Err(AslError::runtime(format!(
                            "cannot set '{}': not an array",
                            self.text
                        )));
                    };
                    let len = arr.len() as i64;
                    let idx = if *n < 0 { len + n } else { *n };
                    let Some(slot) = usize::try_from(idx).ok().and_then(|i| arr.get_mut(i)) else {
                        return Err(AslError::runtime(format!(
                            "cannot set '{}': index out of range",
                            self.text
                        )));
                    };
                    if last {
                        *slot = value;
                        return Ok(());
                    }
                    here = slot;
                }
                _ => unreachable!("reference paths have fields and indexes only"),
            }
        }
        *here = value;
        Ok(())
    }
}

fn filter(c: &mut Cursor<'_>) -> Result<Filter, AslError> {
    // [?(@.a.b op literal)] or [?(@.a)]
    c.i += 1;
    if !c.eat(b'(') || !c.eat(b'@') {
        return c.fail("a filter looks like ?(@.field op value)");
    }
    let mut field = Vec::new();
    while c.eat(b'.') {
        let start = c.i;
        while c
            .peek()
            .is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == b'_' || ch == b'-')
        {
            c.i += 1;
        }
        field.push(String::from_utf8_lossy(&c.s[start..c.i]).into_owned());
    }
    c.skip_spaces();
    let op = if c.eat(b')') {
        None
    } else {
        let op = match (c.peek(), c.s.get(c.i + 1).copied()) {
            (Some(b'='), Some(b'=')) => (FilterOp::Eq, 2),
            (Some(b'!'), Some(b'=')) => (FilterOp::Ne, 2),
            (Some(b'<'), Some(b'=')) => (FilterOp::Le, 2),
            (Some(b'>'), Some(b'=')) => (FilterOp::Ge, 2),
            (Some(b'<'), _) => (FilterOp::Lt, 1),
            (Some(b'>'), _) => (FilterOp::Gt, 1),
            _ => return c.fail("unsupported filter operator"),
        };
        c.i += op.1;
        c.skip_spaces();
        let literal = match c.peek() {
            Some(b'\'' | b'"') => Value::String(c.quoted()?),
            _ => {
                let start = c.i;
                while c.peek().is_some_and(|ch| ch != b')' && ch != b' ') {
                    c.i += 1;
                }
                let raw = String::from_utf8_lossy(&c.s[start..c.i]).into_owned();
                serde_json::from_str(&raw).or_else(|_| {
                    c.fail("a filter compares with a string, number, boolean or null")
                })?
            }
        };
        c.skip_spaces();
        if !c.eat(b')') {
            return c.fail("expected ) closing the filter");
        }
        Some((op.0, literal))
    };
    Ok(Filter { field, op })
}

fn apply<'a>(seg: &Segment, v: &'a Value, out: &mut Vec<&'a Value>) {
    match seg {
        Segment::Field(name) => {
            if let Some(x) = v.get(name) {
                out.push(x);
            }
        }
        Segment::Index(n) => {
            if let Some(arr) = v.as_array() {
                let idx = if *n < 0 { arr.len() as i64 + n } else { *n };
                if let Some(x) = usize::try_from(idx).ok().and_then(|i| arr.get(i)) {
                    out.push(x);
                }
            }
        }
        Segment::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(o) => out.extend(o.values()),
            _ => {}
        },
        Segment::Slice(from, to) => {
            if let Some(arr) = v.as_array() {
                let len = arr.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let a = norm(from.unwrap_or(0));
                let b = norm(to.unwrap_or(len));
                if a < b {
                    out.extend(arr[a as usize..b as usize].iter());
                }
            }
        }
        Segment::Descend(name) => descend(name, v, out),
        Segment::Filter(f) => {
            if let Some(arr) = v.as_array() {
                out.extend(arr.iter().filter(|item| f.keeps(item)));
            }
        }
    }
}

fn descend<'a>(name: &str, v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            if let Some(x) = o.get(name) {
                out.push(x);
            }
            for child in o.values() {
                descend(name, child, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|child| descend(name, child, out)),
        _ => {}
    }
}

impl Filter {
    fn keeps(&self, item: &Value) -> bool {
        let mut v = Some(item);
        for f in &self.field {
            v = v.and_then(|x| x.get(f));
        }
        match (&self.op, v) {
            (None, found) => found.is_some(),
            (Some(_), None) => false,
            (Some((op, lit)), Some(x)) => {
                let ord = match (x, lit) {
                    (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
                    (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                    _ => None,
                };
                match op {
                    FilterOp::Eq => x == lit || ord == Some(std::cmp::Ordering::Equal),
                    FilterOp::Ne => !(x == lit || ord == Some(std::cmp::Ordering::Equal)),
                    FilterOp::Lt => ord == Some(std::cmp::Ordering::Less),
                    FilterOp::Le => matches!(
                        ord,
                        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                    ),
                    FilterOp::Gt => ord == Some(std::cmp::Ordering::Greater),
                    FilterOp::Ge => matches!(
                        ord,
                        Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "order": { "id": "a.1", "items": [ {"code": "TACO", "qty": 2}, {"code": "DRINK", "qty": 1}, {"code": "CHALUPA", "qty": 3} ] },
            "weird key": { "with.dot": 7 },
            "n": null
        })
    }

    fn sel(p: &str) -> Value {
        JsonPath::parse(p)
            .unwrap()
            .value(&doc(), &json!({"Task": {"Token": "tok"}}))
            .unwrap()
    }

    #[test]
    fn definite_paths_select_one_value() {
        assert_eq!(sel("$"), doc());
        assert_eq!(sel("$.order.id"), json!("a.1"));
        assert_eq!(sel("$.order.items[1].code"), json!("DRINK"));
        assert_eq!(sel("$.order.items[-1].code"), json!("CHALUPA"));
        assert_eq!(sel("$['weird key']['with.dot']"), json!(7));
        assert_eq!(sel("$.n"), Value::Null);
        assert_eq!(sel("$$.Task.Token"), json!("tok"));
    }

    #[test]
    fn indefinite_paths_select_arrays() {
        assert_eq!(
            sel("$.order.items[*].code"),
            json!(["TACO", "DRINK", "CHALUPA"])
        );
        assert_eq!(sel("$.order.items[0:2].qty"), json!([2, 1]));
        assert_eq!(sel("$.order.items[1:].qty"), json!([1, 3]));
        assert_eq!(sel("$..code"), json!(["TACO", "DRINK", "CHALUPA"]));
        assert_eq!(
            sel("$.order.items[?(@.qty > 1)].code"),
            json!(["TACO", "CHALUPA"])
        );
        assert_eq!(sel("$.order.items[?(@.code == 'DRINK')].qty"), json!([1]));
        assert_eq!(sel("$.order.items[?(@.missing)]"), json!([]));
        assert_eq!(sel("$.order.*"), json!(["a.1", doc()["order"]["items"]]));
    }

    #[test]
    fn a_missing_definite_path_is_a_runtime_error() {
        let e = JsonPath::parse("$.order.nope")
            .unwrap()
            .value(&doc(), &Value::Null)
            .unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert!(e.cause.contains("$.order.nope"), "{e}");
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in ["order", "$.", "$[", "$.a[x]", "$..", "$.a['b"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn setting_a_reference_path_creates_objects_on_the_way() {
        let mut v = json!({"a": 1});
        JsonPath::parse("$.b.c")
            .unwrap()
            .set(&mut v, json!(2))
            .unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
        JsonPath::parse("$")
            .unwrap()
            .set(&mut v, json!("x"))
            .unwrap();
        assert_eq!(v, json!("x"));
        let mut arr = json!({"xs": [1, 2]});
        JsonPath::parse("$.xs[1]")
            .unwrap()
            .set(&mut arr, json!(9))
            .unwrap();
        assert_eq!(arr, json!({"xs": [1, 9]}));
        assert!(
            JsonPath::parse("$.xs[*]")
                .unwrap()
                .set(&mut arr, json!(0))
                .is_err()
        );
        let mut scalar = json!({"a": 1});
        assert!(
            JsonPath::parse("$.a.b")
                .unwrap()
                .set(&mut scalar, json!(0))
                .is_err()
        );
    }
}
