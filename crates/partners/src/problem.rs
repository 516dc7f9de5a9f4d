//! serde's complaints about a partner's payload, told without the payload's values.
//!
//! serde_json's messages quote what they refused (`invalid type: string "Ana Lopez", expected
//! u32`, ``unknown variant `…` ``), and the message travels into `Webhook Rejected`, `Order
//! Rejected`, the functions' logs and the partner's answer: a customer's name or note in a
//! mistyped field would be copied to every one of them. [`without_values`] keeps what names
//! the problem (its kind, what was expected, the field) and drops the value.

/// `message` (a serde data error's text) with any value it quotes replaced by its kind:
/// `invalid type: string "x", expected u32` → `invalid type: a string, expected u32`;
/// ``unknown variant `x`, expected one of …`` → `unknown variant, expected one of …`; the
/// position suffix (` at line L column C`) kept. Messages that quote no value (a missing
/// field, an unknown field's name, a syntax error) pass unchanged.
pub fn without_values(message: &str) -> String {
    let (body, position) = match message.rfind(" at line ") {
        Some(i) => message.split_at(i),
        None => (message, ""),
    };
    let expected = body.rfind(", expected").map(|i| &body[i..]).unwrap_or("");
    let told = if let Some(rest) = body
        .strip_prefix("invalid type: ")
        .map(|r| ("invalid type", r))
        .or_else(|| {
            body.strip_prefix("invalid value: ")
                .map(|r| ("invalid value", r))
        }) {
        let (what, unexpected) = rest;
        format!("{what}: {}{expected}", kind(unexpected))
    } else if body.starts_with("unknown variant ") {
        format!("unknown variant{expected}")
    } else {
        body.to_owned()
    };
    format!("{told}{position}")
}

/// The kind of an unexpected value as serde names it (`string "…"`, `integer `5``, `map`):
/// its leading words, up to the quoted value.
fn kind(unexpected: &str) -> String {
    let words: Vec<&str> = unexpected
        .split(' ')
        .take_while(|w| !w.starts_with(['"', '`', '\'']))
        .collect();
    match words.join(" ") {
        k if k.is_empty() => "a value".to_owned(),
        k if k.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {k}"),
        k => format!("a {k}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        qty: u32,
        kind: Kind,
        #[serde(default)]
        tip: Option<bool>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Delivery,
    }

    /// serde_json's own messages for a marker in each kind of mistyped field: the marker is
    /// gone, the problem is still named.
    #[test]
    fn no_refused_value_survives_and_the_problem_is_still_named() {
        const MARKER: &str = "ZQX-Ana-Lopez-555";
        for (json, names) in [
            (
                format!(r#"{{"qty":"{MARKER}","kind":"delivery"}}"#),
                "invalid type: a string, expected u32",
            ),
            (
                format!(r#"{{"qty":1,"kind":"{MARKER}"}}"#),
                "unknown variant, expected `delivery`",
            ),
            (
                format!(r#"{{"qty":1,"kind":"delivery","tip":"{MARKER}"}}"#),
                "invalid type: a string, expected a boolean",
            ),
            (
                r#"{"qty":-7,"kind":"delivery"}"#.to_owned(),
                "invalid value: an integer, expected u32",
            ),
            (
                r#"{"qty":1.5,"kind":"delivery"}"#.to_owned(),
                "invalid type: a floating point, expected u32",
            ),
            (
                r#"{"qty":{"a":1},"kind":"delivery"}"#.to_owned(),
                "invalid type: a map, expected u32",
            ),
            (r#"{"kind":"delivery"}"#.to_owned(), "missing field `qty`"),
        ] {
            let e = serde_json::from_str::<Shape>(&json)
                .unwrap_err()
                .to_string();
            let told = without_values(&e);
            assert!(
                !told.contains(MARKER) && !told.contains("-7") && !told.contains("1.5"),
                "{e} → {told}"
            );
            assert!(told.starts_with(names), "{e} → {told}");
            assert!(told.contains(" at line 1 column "), "{told}");
        }
        // From a Value (no position), as the partners' parsers read it.
        let v = serde_json::json!({"qty": MARKER, "kind": "delivery"});
        let e = serde_json::from_value::<Shape>(v).unwrap_err().to_string();
        assert_eq!(without_values(&e), "invalid type: a string, expected u32");
    }
}
