//! JSON that keeps the order its keys were written in (the workspace's `serde_json` sorts
//! object keys), so a generated workflow reads as a hand-written one: `Type` first, `Next`
//! last, a payload's `action` before its fields.

use serde_json::Value;

/// A JSON value whose objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// Any value without objects inside (strings, numbers, booleans, null).
    Leaf(Value),
    /// An array.
    Array(Vec<Json>),
    /// An object, in key order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The same value as `serde_json` holds it (key order dropped).
    pub fn to_value(&self) -> Value {
        match self {
            Json::Leaf(v) => v.clone(),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }

    /// Pretty text with two-space indents, as `serde_json::to_string_pretty` writes.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| out.push_str(&"  ".repeat(d));
        match self {
            Json::Leaf(v) => out.push_str(&v.to_string()),
            Json::Array(a) if a.is_empty() => out.push_str("[]"),
            Json::Object(o) if o.is_empty() => out.push_str("{}"),
            Json::Array(a) => {
                out.push_str("[\n");
                for (i, x) in a.iter().enumerate() {
                    pad(out, depth + 1);
                    x.write(out, depth + 1);
                    out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push(']');
            }
            Json::Object(o) => {
                out.push_str("{\n");
                for (i, (k, v)) in o.iter().enumerate() {
                    pad(out, depth + 1);
                    out.push_str(&Value::from(k.as_str()).to_string());
                    out.push_str(": ");
                    v.write(out, depth + 1);
                    out.push_str(if i + 1 < o.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push('}');
            }
        }
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::Leaf(Value::from(s))
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::Leaf(Value::from(s))
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Leaf(Value::from(b))
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Self {
        Json::Leaf(Value::from(n))
    }
}

impl From<f64> for Json {
    fn from(n: f64) -> Self {
        Json::Leaf(Value::from(n))
    }
}

impl From<Value> for Json {
    /// A `serde_json` value; its objects' keys come in `serde_json`'s (sorted) order.
    fn from(v: Value) -> Self {
        match v {
            Value::Array(a) => Json::Array(a.into_iter().map(Json::from).collect()),
            Value::Object(o) => Json::Object(o.into_iter().map(|(k, v)| (k, v.into())).collect()),
            other => Json::Leaf(other),
        }
    }
}

impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(a: Vec<T>) -> Self {
        Json::Array(a.into_iter().map(Into::into).collect())
    }
}

/// An object from `(key, value)` pairs, in that order.
pub fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
    Json::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// JSON null.
pub fn null() -> Json {
    Json::Leaf(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_text_is_serde_jsons_with_the_keys_in_written_order() {
        let j = obj([
            ("b", 1u32.into()),
            ("a", vec!["x", "y"].into()),
            ("c", obj([])),
            ("d", Json::Array(vec![])),
            ("e", "q\"uote".into()),
        ]);
        let sorted = serde_json::to_string_pretty(&j.to_value()).unwrap();
        let mine = j.pretty();
        assert!(
            mine.starts_with("{\n  \"b\": 1,\n  \"a\": [\n    \"x\","),
            "{mine}"
        );
        // Same text once serde_json's sorting is applied to ours.
        let reparsed: Value = serde_json::from_str(&mine).unwrap();
        assert_eq!(serde_json::to_string_pretty(&reparsed).unwrap(), sorted);
    }
}
