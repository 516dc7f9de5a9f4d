//! Rules: what a rule matches, what it delivers to, and what its target receives (`Input`,
//! `InputPath`, `InputTransformer`).

use std::collections::BTreeMap;

use event_pattern::Pattern;
use serde_json::Value;

/// What a rule delivers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Start an execution.
    StateMachine {
        /// Its ARN.
        arn: String,
    },
    /// Invoke a function asynchronously.
    Function {
        /// Its name.
        name: String,
    },
}

/// A rule's ARN: `arn:aws:events:<region>:<account>:rule/<bus>/<name>` on a custom bus,
/// `…:rule/<name>` on the default one.
pub fn rule_arn(bus: &str, name: &str) -> String {
    if bus == "default" {
        local_aws_core::arn("events", &format!("rule/{name}"))
    } else {
        local_aws_core::arn("events", &format!("rule/{bus}/{name}"))
    }
}

/// A bus rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name (for logs and dead letters).
    pub name: String,
    /// Its ARN (the rule SAM generates is named by its logical id: the resource's id and the
    /// event's name, e.g. `OrderWorkflowOrderReceived`).
    pub arn: String,
    /// The bus it listens on.
    pub bus: String,
    /// The pattern.
    pub pattern: Pattern,
    /// The target.
    pub target: Target,
    /// What the target receives.
    pub input: RuleInput,
    /// Delivery retries (RetryPolicy.MaximumRetryAttempts; EventBridge's default is 185).
    pub max_attempts: u32,
    /// Oldest event it still delivers, seconds (default 24 h).
    pub max_age_seconds: u64,
    /// The dead-letter queue's name, if any.
    pub dead_letter: Option<String>,
}

/// What a rule's target receives.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleInput {
    /// The whole event.
    Event,
    /// The part of the event at a JSON path (`InputPath`).
    Path(String),
    /// A constant JSON text (`Input`).
    Constant(String),
    /// `InputTransformer`: values picked from the event into a template.
    Transformer {
        /// Placeholder name → JSON path (`InputPathsMap`).
        paths: BTreeMap<String, String>,
        /// `InputTemplate`.
        template: String,
    },
}

fn pick(path: &str, event: &Value) -> Value {
    asl::path::JsonPath::parse(path)
        .and_then(|p| p.value(event, &Value::Null))
        .unwrap_or(Value::Null)
}

/// What a rule's target receives for `event`.
pub fn target_input(rule: &Rule, event: &Value) -> Result<Value, String> {
    match &rule.input {
        RuleInput::Event => Ok(event.clone()),
        RuleInput::Path(p) => Ok(pick(p, event)),
        RuleInput::Constant(text) => {
            serde_json::from_str(text).map_err(|e| format!("Input is not JSON: {e}"))
        }
        RuleInput::Transformer { paths, template } => {
            let mut values: std::collections::BTreeMap<String, Value> = paths
                .iter()
                .map(|(k, p)| (k.clone(), pick(p, event)))
                .collect();
            values.insert(
                "aws.events.rule-name".to_owned(),
                Value::String(rule.name.clone()),
            );
            values.insert(
                "aws.events.rule-arn".to_owned(),
                Value::String(rule.arn.clone()),
            );
            values.insert("aws.events.event".to_owned(), event.clone());
            values.insert("aws.events.event.json".to_owned(), event.clone());
            values.insert(
                "aws.events.event.ingestion-time".to_owned(),
                event.get("time").cloned().unwrap_or(Value::Null),
            );
            Ok(transform(template, &values))
        }
    }
}

/// Fills an `InputTemplate`: a placeholder inside a JSON string takes the value's text
/// (escaped), one outside takes the value as JSON; the result is JSON if it parses, else text.
pub fn transform(template: &str, values: &std::collections::BTreeMap<String, Value>) -> Value {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let name = &rest[1..end];
            if let Some(v) = values.get(name) {
                if in_string {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let quoted = Value::String(text).to_string();
                    out.push_str(&quoted[1..quoted.len() - 1]);
                } else {
                    out.push_str(&v.to_string());
                }
                rest = &rest[end + 1..];
                continue;
            }
        }
        if c == '"' && !escaped {
            in_string = !in_string;
        }
        escaped = c == '\\' && !escaped;
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out).unwrap_or(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values() -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("instance".to_owned(), json!("i-0123")),
            ("state".to_owned(), json!("RUNNING")),
            ("n".to_owned(), json!(3)),
        ])
    }

    #[test]
    fn templates_fill_placeholders_as_json_outside_strings_and_as_text_inside() {
        // The documentation's examples.
        assert_eq!(
            transform(r#""<instance> is in state <state>""#, &values()),
            json!("i-0123 is in state RUNNING")
        );
        assert_eq!(
            transform(
                r#"{"instance": <instance>, "state": [9, <state>, true]}"#,
                &values()
            ),
            json!({"instance": "i-0123", "state": [9, "RUNNING", true]})
        );
        assert_eq!(
            transform(
                r#"{"instance": "<instance>", "count": <n>, "text": "n=<n>"}"#,
                &values()
            ),
            json!({"instance": "i-0123", "count": 3, "text": "n=3"})
        );
        // Unknown placeholders and escaped quotes are left alone.
        assert_eq!(
            transform(r#"{"a": "<unknown> \"<state>\""}"#, &values()),
            json!({"a": "<unknown> \"RUNNING\""})
        );
    }
}
