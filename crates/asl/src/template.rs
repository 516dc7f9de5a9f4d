//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`): keys ending in `.$`
//! take their value from a path (`$…`, `$$…`) or an intrinsic call (`States.…`), without the
//! suffix; everything else is copied, recursively through objects and arrays.

use serde_json::{Map, Value};

use crate::AslError;
use crate::intrinsics::Call;
use crate::path::JsonPath;

/// Evaluates a dynamic value: a path or an intrinsic call.
pub fn dynamic(expr: &str, input: &Value, context: &Value) -> Result<Value, AslError> {
    if expr.starts_with("States.") {
        Call::parse(expr)?.eval(input, context)
    } else if expr.starts_with('$') {
        JsonPath::parse(expr)?.value(input, context)
    } else {
        Err(AslError::runtime(format!(
            "{expr:?} is neither a path nor an intrinsic function"
        )))
    }
}

/// Applies a payload template to an input.
pub fn apply(template: &Value, input: &Value, context: &Value) -> Result<Value, AslError> {
    match template {
        Value::Object(m) => {
            let mut out = Map::new();
            for (key, value) in m {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        let Value::String(expr) = value else {
                            return Err(AslError::runtime(format!(
                                "the value of {key:?} must be a path or intrinsic string"
                            )));
                        };
                        let v = dynamic(expr, input, context).map_err(|e| AslError {
                            cause: format!("{} (field {key:?})", e.cause),
                            ..e
                        })?;
                        out.insert(name.to_owned(), v);
                    }
                    None => {
                        out.insert(key.clone(), apply(value, input, context)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|i| apply(i, input, context))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Checks a template's dynamic values parse, without an input.
pub fn check(template: &Value) -> Result<(), AslError> {
    match template {
        Value::Object(m) => m
            .iter()
            .try_for_each(|(k, v)| match (k.strip_suffix(".$"), v) {
                (Some(_), Value::String(expr)) if expr.starts_with("States.") => {
                    Call::parse(expr).map(|_| ())
                }
                (Some(_), Value::String(expr)) => JsonPath::parse(expr).map(|_| ()),
                (Some(_), _) => Err(AslError::runtime(format!(
                    "the value of {k:?} must be a string"
                ))),
                (None, v) => check(v),
            }),
        Value::Array(items) => items.iter().try_for_each(check),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dynamic_keys_lose_their_suffix_and_static_ones_are_copied() {
        let t = json!({
            "FunctionName": "arn:fn",
            "Payload": {
                "action": "accept",
                "order.$": "$.adapted.order",
                "token.$": "$$.Task.Token",
                "id.$": "States.Format('{}.{}', $.p, $.n)",
                "entries": [{"Source.$": "$.p", "Detail": {"k": 1}}]
            }
        });
        let input = json!({"adapted": {"order": {"id": 1}}, "p": "app", "n": "7"});
        let v = apply(&t, &input, &json!({"Task": {"Token": "tok"}})).unwrap();
        assert_eq!(
            v,
            json!({
                "FunctionName": "arn:fn",
                "Payload": {"action": "accept", "order": {"id": 1}, "token": "tok", "id": "app.7", "entries": [{"Source": "app", "Detail": {"k": 1}}]}
            })
        );
    }

    #[test]
    fn a_missing_path_names_the_field() {
        let e = apply(&json!({"x.$": "$.nope"}), &json!({}), &json!({})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert!(e.cause.contains("\"x.$\""), "{e}");
    }
}
