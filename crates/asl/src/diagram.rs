//! A Mermaid flowchart of a definition: one node per state (shape by type), solid edges for
//! `Next` and choices (labelled with the condition), dotted edges for `Catch`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::{Definition, Machine, State};

fn id(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 's');
    }
    out
}

fn label(text: &str) -> String {
    text.replace('"', "'")
}

fn short_resource(resource: &str) -> String {
    let r = resource
        .strip_prefix("arn:aws:states:::")
        .unwrap_or(resource);
    match r {
        "lambda:invoke" => "λ".to_owned(),
        "lambda:invoke.waitForTaskToken" => "λ callback".to_owned(),
        other => other.to_owned(),
    }
}

fn function_name(params: &Option<Value>) -> Option<String> {
    let f = params.as_ref()?.get("FunctionName")?.as_str()?;
    let f = f
        .trim_start_matches("${")
        .trim_end_matches('}')
        .trim_end_matches("FunctionArn");
    Some(f.to_owned())
}

fn node(name: &str, s: &State) -> String {
    let n = label(name);
    match s {
        State::Task(t) => {
            let what = match function_name(&t.parameters) {
                Some(f) => format!("{} {f}", short_resource(&t.resource)),
                None => short_resource(&t.resource),
            };
            format!("{}[\"{n}<br/><small>{}</small>\"]", id(name), label(&what))
        }
        State::Choice(_) => format!("{}{{\"{n}\"}}", id(name)),
        State::Pass(_) => format!("{}([\"{n}\"])", id(name)),
        State::Wait(_) => format!("{}[/\"{n}\"/]", id(name)),
        State::Succeed(_) => format!("{}((\"{n}\"))", id(name)),
        State::Fail(_) => format!("{}{{{{\"{n}\"}}}}", id(name)),
        State::Parallel(_) => format!("{}[[\"{n} (parallel)\"]]", id(name)),
        State::Map(_) => format!("{}[[\"{n} (map)\"]]", id(name)),
    }
}

fn condition(rule: &Value) -> String {
    let Some(var) = rule.get("Variable").and_then(Value::as_str) else {
        return ["And", "Or", "Not"]
            .into_iter()
            .find(|k| rule.get(*k).is_some())
            .unwrap_or("rule")
            .to_owned();
    };
    let var = var.trim_start_matches("$.");
    for (key, value) in rule.as_object().into_iter().flatten() {
        if key == "Variable" || key == "Next" {
            continue;
        }
        let op = match key.as_str() {
            k if k.ends_with("Equals") || k.ends_with("EqualsPath") => "=",
            "IsNull" => {
                return format!(
                    "{var} is{} null",
                    if value == &Value::Bool(true) {
                        ""
                    } else {
                        " not"
                    }
                );
            }
            "IsPresent" => {
                return format!(
                    "{var}{} present",
                    if value == &Value::Bool(true) {
                        ""
                    } else {
                        " not"
                    }
                );
            }
            other => other,
        };
        let v = value
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        return format!("{var} {op} {v}");
    }
    var.to_owned()
}

fn machine(out: &mut String, m: &Machine, indent: &str) {
    let _ = writeln!(
        out,
        "{indent}start_{}(( )) --> {}",
        id(&m.start_at),
        id(&m.start_at)
    );
    for (name, s) in &m.states {
        let _ = writeln!(out, "{indent}{}", node(name, s));
    }
    for (name, s) in &m.states {
        let from = id(name);
        if let Some(next) = s.next() {
            let _ = writeln!(out, "{indent}{from} --> {}", id(next));
        }
        if let State::Choice(c) = s {
            for rule in &c.choices {
                if let Some(next) = rule.get("Next").and_then(Value::as_str) {
                    let _ = writeln!(
                        out,
                        "{indent}{from} -->|\"{}\"| {}",
                        label(&condition(rule)),
                        id(next)
                    );
                }
            }
            if let Some(d) = &c.default {
                let _ = writeln!(out, "{indent}{from} -->|otherwise| {}", id(d));
            }
        }
        for c in s.catchers() {
            let _ = writeln!(
                out,
                "{indent}{from} -.->|\"{}\"| {}",
                label(&c.error_equals.join(", ")),
                id(&c.next)
            );
        }
    }
}

/// The Mermaid source (without the code fence).
pub fn mermaid(def: &Definition) -> String {
    let mut out = String::from("flowchart TD\n");
    machine(&mut out, &def.machine, "    ");
    out
}
