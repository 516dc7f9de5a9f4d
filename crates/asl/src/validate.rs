//! Structural checks of a definition: every target exists, every state is reachable from
//! `StartAt`, every state can reach an end, `States.ALL` stands alone and last, and every
//! path, template and choice rule parses.

use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;

use crate::model::{
    Catcher, Definition, DefinitionError, Machine, NullablePath, Retrier, State, machine_from,
};
use crate::path::JsonPath;

/// An edge of the state graph, for checks and diagrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// What takes it: `next`, a choice condition's index, `default`, or `catch <errors>`.
    pub label: String,
}

/// The edges of one machine (not of nested ones).
pub fn edges(m: &Machine) -> Vec<Edge> {
    let mut out = Vec::new();
    for (name, s) in &m.states {
        let mut push = |to: &str, label: String| {
            out.push(Edge {
                from: name.clone(),
                to: to.to_owned(),
                label,
            })
        };
        if let Some(n) = s.next() {
            push(n, "next".to_owned());
        }
        if let State::Choice(c) = s {
            for (i, choice) in c.choices.iter().enumerate() {
                if let Some(n) = choice.get("Next").and_then(|v| v.as_str()) {
                    push(n, format!("choice {i}"));
                }
            }
            if let Some(d) = &c.default {
                push(d, "default".to_owned());
            }
        }
        for c in s.catchers() {
            push(&c.next, format!("catch {}", c.error_equals.join(", ")));
        }
    }
    out
}

fn fail<T>(why: String) -> Result<T, DefinitionError> {
    Err(DefinitionError(why))
}

fn check_path(what: &str, p: &NullablePath, reference: bool) -> Result<(), DefinitionError> {
    if let NullablePath::Path(text) = p {
        let path =
            JsonPath::parse(text).map_err(|e| DefinitionError(format!("{what}: {}", e.cause)))?;
        if reference && !path.is_reference() {
            return fail(format!(
                "{what} {text:?} must be a reference path (no wildcards or filters)"
            ));
        }
    }
    Ok(())
}

fn check_errors(state: &str, lists: &[&Vec<String>]) -> Result<(), DefinitionError> {
    for (i, list) in lists.iter().enumerate() {
        if list.is_empty() {
            return fail(format!("state {state:?}: ErrorEquals must not be empty"));
        }
        if list.iter().any(|e| e == "States.ALL") && (list.len() != 1 || i + 1 != lists.len()) {
            return fail(format!(
                "state {state:?}: States.ALL must be alone and in the last retrier or catcher"
            ));
        }
    }
    Ok(())
}

fn check_state(name: &str, s: &State) -> Result<(), DefinitionError> {
    let tmpl = |what: &str, t: &Option<serde_json::Value>| -> Result<(), DefinitionError> {
        match t {
            Some(v) => crate::template::check(v)
                .map_err(|e| DefinitionError(format!("state {name:?} {what}: {}", e.cause))),
            None => Ok(()),
        }
    };
    let terminal = |next: &Option<String>, end: bool| -> Result<(), DefinitionError> {
        match (next, end) {
            (Some(_), true) => fail(format!("state {name:?} has both Next and End")),
            (None, false) => fail(format!("state {name:?} has neither Next nor End")),
            _ => Ok(()),
        }
    };
    let retry_catch = |retry: &[Retrier], catch: &[Catcher]| -> Result<(), DefinitionError> {
        check_errors(
            name,
            &retry.iter().map(|r| &r.error_equals).collect::<Vec<_>>(),
        )?;
        check_errors(
            name,
            &catch.iter().map(|c| &c.error_equals).collect::<Vec<_>>(),
        )?;
        for r in retry {
            if r.backoff_rate < 1.0 {
                return fail(format!("state {name:?}: BackoffRate must be at least 1.0"));
            }
            if let Some(j) = &r.jitter_strategy
                && j != "FULL"
                && j != "NONE"
            {
                return fail(format!(
                    "state {name:?}: JitterStrategy is FULL or NONE, not {j:?}"
                ));
            }
        }
        for c in catch {
            check_path(
                &format!("state {name:?} Catch ResultPath"),
                &c.result_path,
                true,
            )?;
        }
        Ok(())
    };
    match s {
        State::Pass(p) => {
            check_path(&format!("state {name:?} InputPath"), &p.input_path, false)?;
            check_path(&format!("state {name:?} ResultPath"), &p.result_path, true)?;
            tmpl("Parameters", &p.parameters)?;
            terminal(&p.next, p.end)
        }
        State::Task(t) => {
            check_path(&format!("state {name:?} InputPath"), &t.input_path, false)?;
            check_path(&format!("state {name:?} ResultPath"), &t.result_path, true)?;
            check_path(&format!("state {name:?} OutputPath"), &t.output_path, false)?;
            tmpl("Parameters", &t.parameters)?;
            tmpl("ResultSelector", &t.result_selector)?;
            if t.timeout_seconds.is_some() && t.timeout_seconds_path.is_some() {
                return fail(format!(
                    "state {name:?} has both TimeoutSeconds and TimeoutSecondsPath"
                ));
            }
            if t.heartbeat_seconds.is_some() && t.heartbeat_seconds_path.is_some() {
                return fail(format!(
                    "state {name:?} has both HeartbeatSeconds and HeartbeatSecondsPath"
                ));
            }
            for p in [&t.timeout_seconds_path, &t.heartbeat_seconds_path]
                .into_iter()
                .flatten()
            {
                JsonPath::parse(p)
                    .map_err(|e| DefinitionError(format!("state {name:?}: {}", e.cause)))?;
            }
            retry_catch(&t.retry, &t.catch)?;
            terminal(&t.next, t.end)
        }
        State::Choice(c) => {
            crate::choice::parse_choices(&c.choices)
                .map_err(|e| DefinitionError(format!("state {name:?}: {}", e.cause)))?;
            Ok(())
        }
        State::Wait(w) => {
            let set = [
                w.seconds.is_some(),
                w.seconds_path.is_some(),
                w.timestamp.is_some(),
                w.timestamp_path.is_some(),
            ];
            if set.iter().filter(|x| **x).count() != 1 {
                return fail(format!(
                    "state {name:?} needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath"
                ));
            }
            terminal(&w.next, w.end)
        }
        State::Succeed(_) => Ok(()),
        State::Fail(f) => {
            if f.error.is_some() && f.error_path.is_some()
                || f.cause.is_some() && f.cause_path.is_some()
            {
                return fail(format!(
                    "state {name:?}: Error/Cause and ErrorPath/CausePath are exclusive"
                ));
            }
            Ok(())
        }
        State::Parallel(p) => {
            if p.branches.is_empty() {
                return fail(format!("state {name:?} has no Branches"));
            }
            tmpl("Parameters", &p.parameters)?;
            tmpl("ResultSelector", &p.result_selector)?;
            retry_catch(&p.retry, &p.catch)?;
            for b in &p.branches {
                check_machine(b, &format!("a branch of {name:?}"))?;
            }
            terminal(&p.next, p.end)
        }
        State::Map(m) => {
            let Some(proc) = m.processor() else {
                return fail(format!("state {name:?} has no ItemProcessor"));
            };
            tmpl("ItemSelector", &m.selector().cloned())?;
            tmpl("ResultSelector", &m.result_selector)?;
            retry_catch(&m.retry, &m.catch)?;
            check_machine(proc, &format!("the item processor of {name:?}"))?;
            terminal(&m.next, m.end)
        }
    }
}

/// Checks one machine and the machines nested in it.
pub fn check_machine(m: &Machine, what: &str) -> Result<(), DefinitionError> {
    let names: BTreeSet<&str> = m.states.iter().map(|(n, _)| n.as_str()).collect();
    if !names.contains(m.start_at.as_str()) {
        return fail(format!("{what}: StartAt {:?} is not a state", m.start_at));
    }
    for (name, s) in &m.states {
        if name.is_empty() || name.len() > 80 {
            return fail(format!(
                "{what}: state names are 1 to 80 characters ({name:?})"
            ));
        }
        check_state(name, s)?;
    }
    let edges = edges(m);
    for e in &edges {
        if !names.contains(e.to.as_str()) {
            return fail(format!(
                "{what}: state {:?} goes to {:?}, which does not exist",
                e.from, e.to
            ));
        }
    }
    // Reachable from StartAt.
    let mut seen = BTreeSet::from([m.start_at.as_str()]);
    let mut queue = VecDeque::from([m.start_at.as_str()]);
    while let Some(at) = queue.pop_front() {
        for e in edges.iter().filter(|e| e.from == at) {
            if seen.insert(e.to.as_str()) {
                queue.push_back(e.to.as_str());
            }
        }
    }
    if let Some(lost) = names.iter().find(|n| !seen.contains(*n)) {
        return fail(format!(
            "{what}: state {lost:?} cannot be reached from {:?}",
            m.start_at
        ));
    }
    // Every state can reach an end.
    let mut ends: BTreeSet<&str> = m
        .states
        .iter()
        .filter(|(_, s)| s.is_end())
        .map(|(n, _)| n.as_str())
        .collect();
    loop {
        let before = ends.len();
        for e in &edges {
            if ends.contains(e.to.as_str()) {
                ends.insert(e.from.as_str());
            }
        }
        if ends.len() == before {
            break;
        }
    }
    if let Some(stuck) = names.iter().find(|n| !ends.contains(*n)) {
        return fail(format!("{what}: no path from state {stuck:?} ever ends"));
    }
    Ok(())
}

/// A definition is read through its checks: no `Definition` exists that did not pass them.
impl Definition {
    /// Parses and checks a definition's JSON text.
    pub fn parse(text: &str) -> Result<Self, DefinitionError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| DefinitionError(format!("not JSON: {e}")))?;
        Self::from_value(&v)
    }

    /// Parses a definition from JSON.
    pub fn from_value(v: &Value) -> Result<Self, DefinitionError> {
        let machine = machine_from(v, "the definition", &["TimeoutSeconds", "Version"])?;
        let def = Self {
            machine,
            timeout_seconds: v.get("TimeoutSeconds").and_then(Value::as_u64),
            comment: v.get("Comment").and_then(Value::as_str).map(str::to_owned),
        };
        check(&def)?;
        Ok(def)
    }
}

/// Checks a whole definition.
pub fn check(def: &Definition) -> Result<(), DefinitionError> {
    check_machine(&def.machine, "the definition")
}

#[cfg(test)]
mod tests {
    use crate::model::Definition;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Definition, String> {
        Definition::from_value(&v).map_err(|e| e.to_string())
    }

    #[test]
    fn a_well_formed_machine_with_every_state_type_parses() {
        let d = parse(json!({
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.p", "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.p.x", "NumericEquals": 1, "Next": "W"}], "Default": "F"},
                "W": {"Type": "Wait", "Seconds": 1, "Next": "Par"},
                "Par": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}], "Next": "M"},
                "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "Next": "T"},
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}], "End": true},
                "F": {"Type": "Fail", "Error": "E"}
            }
        }))
        .unwrap();
        assert_eq!(d.machine.states.len(), 7);
    }

    #[test]
    fn structural_problems_are_named() {
        let cases = [
            (
                json!({"StartAt": "X", "States": {"A": {"Type": "Succeed"}}}),
                "StartAt \"X\"",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}),
                "does not exist",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}),
                "cannot be reached",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}),
                "ever ends",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
                "neither Next nor End",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}}}),
                "States.ALL",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}}}),
                "reference path",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "End": true}}}),
                "exactly one of Seconds",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "nope"}, "End": true}}}),
                "a path starts with $",
            ),
        ];
        for (def, expected) in cases {
            let e = parse(def.clone()).unwrap_err();
            assert!(e.contains(expected), "{def}: {e}");
        }
    }

    #[test]
    fn unsupported_features_are_refused_by_name() {
        let cases = [
            (
                json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
                "JSONata",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x": 1}, "End": true}}}),
                "Assign",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Credentials": {}, "End": true}}}),
                "Credentials",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Map", "ItemReader": {}, "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}, "End": true}}}),
                "ItemReader",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "I", "States": {"I": {"Type": "Succeed"}}}, "End": true}}}),
                "distributed",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Bogus": 1, "End": true}}}),
                "Bogus",
            ),
        ];
        for (def, expected) in cases {
            let e = parse(def.clone()).unwrap_err();
            assert!(e.contains(expected), "{def}: {e}");
        }
    }
}
