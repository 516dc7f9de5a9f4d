//! The definition: every state type with the fields the specification gives it. Parsing is
//! strict (unknown fields are refused), so a definition using a feature this implementation
//! does not support (JSONata, variables and `Assign`, distributed Map, `Credentials`, …) is
//! refused at load with the feature and the state named, never run wrongly.

// The state structs' fields are the ASL fields of the same name (PascalCase in the JSON);
// the specification documents them.
#![allow(missing_docs)]

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Why a definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid state machine definition: {0}")]
pub struct DefinitionError(pub String);

/// `null` (present) vs absent, for the path fields where `null` means "nothing".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NullablePath {
    /// The field is absent: the default `$`.
    #[default]
    Default,
    /// `null`: discard (input/output `{}`, or the result).
    Null,
    /// A path.
    Path(String),
}

impl<'de> Deserialize<'de> for NullablePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)? {
            None => NullablePath::Null,
            Some(p) => NullablePath::Path(p),
        })
    }
}

/// A retrier.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Retrier {
    /// Errors it handles.
    pub error_equals: Vec<String>,
    /// First wait, seconds (default 1).
    #[serde(default = "one")]
    pub interval_seconds: u64,
    /// Retries after the first attempt (default 3).
    #[serde(default = "three")]
    pub max_attempts: u64,
    /// Multiplier per retry (default 2.0).
    #[serde(default = "two")]
    pub backoff_rate: f64,
    /// Cap on one wait, seconds.
    #[serde(default)]
    pub max_delay_seconds: Option<u64>,
    /// `FULL` or `NONE` (default).
    #[serde(default)]
    pub jitter_strategy: Option<String>,
}

fn one() -> u64 {
    1
}
fn three() -> u64 {
    3
}
fn two() -> f64 {
    2.0
}

/// A catcher.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Catcher {
    /// Errors it handles.
    pub error_equals: Vec<String>,
    /// Where to go.
    pub next: String,
    /// Where the error output goes (default `$`).
    #[serde(default)]
    pub result_path: NullablePath,
    /// Documentation.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Fields every state may carry for input/output processing.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Io {
    /// `InputPath`.
    #[serde(default)]
    pub input_path: NullablePath,
    /// `OutputPath`.
    #[serde(default)]
    pub output_path: NullablePath,
}

/// A nested state machine (Parallel branch, Map item processor).
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// First state.
    pub start_at: String,
    /// States in document order.
    pub states: Vec<(String, State)>,
}

impl Machine {
    /// A state by name.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// `Pass`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Pass {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub input_path: NullablePath,
    #[serde(default)]
    pub output_path: NullablePath,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub result_path: NullablePath,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
}

/// `Task`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Task {
    #[serde(default)]
    pub comment: Option<String>,
    pub resource: String,
    #[serde(default)]
    pub input_path: NullablePath,
    #[serde(default)]
    pub output_path: NullablePath,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub result_selector: Option<Value>,
    #[serde(default)]
    pub result_path: NullablePath,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub timeout_seconds_path: Option<String>,
    #[serde(default)]
    pub heartbeat_seconds: Option<u64>,
    #[serde(default)]
    pub heartbeat_seconds_path: Option<String>,
    #[serde(default)]
    pub retry: Vec<Retrier>,
    #[serde(default)]
    pub catch: Vec<Catcher>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
}

/// `Choice` (its rules are parsed by [`crate::choice`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Choice {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub input_path: NullablePath,
    #[serde(default)]
    pub output_path: NullablePath,
    pub choices: Vec<Value>,
    #[serde(default)]
    pub default: Option<String>,
}

/// `Wait`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Wait {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub input_path: NullablePath,
    #[serde(default)]
    pub output_path: NullablePath,
    #[serde(default)]
    pub seconds: Option<u64>,
    #[serde(default)]
    pub seconds_path: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub timestamp_path: Option<String>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
}

/// `Succeed`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Succeed {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub input_path: NullablePath,
    #[serde(default)]
    pub output_path: NullablePath,
}

/// `Fail`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Fail {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_path: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub cause_path: Option<String>,
}

/// `Parallel`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Parallel {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub input_path: NullablePath,
    #[serde(default)]
    pub output_path: NullablePath,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub result_selector: Option<Value>,
    #[serde(default)]
    pub result_path: NullablePath,
    #[serde(deserialize_with = "machines")]
    pub branches: Vec<Machine>,
    #[serde(default)]
    pub retry: Vec<Retrier>,
    #[serde(default)]
    pub catch: Vec<Catcher>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
}

/// `Map` (inline mode).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MapState {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub input_path: NullablePath,
    #[serde(default)]
    pub output_path: NullablePath,
    #[serde(default)]
    pub items_path: Option<String>,
    #[serde(default)]
    pub item_selector: Option<Value>,
    /// The legacy name of `ItemSelector`.
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default, deserialize_with = "opt_processor")]
    pub item_processor: Option<Machine>,
    /// The legacy name of `ItemProcessor`.
    #[serde(default, deserialize_with = "opt_machine")]
    pub iterator: Option<Machine>,
    #[serde(default)]
    pub max_concurrency: Option<u64>,
    #[serde(default)]
    pub result_selector: Option<Value>,
    #[serde(default)]
    pub result_path: NullablePath,
    #[serde(default)]
    pub retry: Vec<Retrier>,
    #[serde(default)]
    pub catch: Vec<Catcher>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
}

impl MapState {
    /// The item processor, whichever name it was given.
    pub fn processor(&self) -> Option<&Machine> {
        self.item_processor.as_ref().or(self.iterator.as_ref())
    }

    /// The item selector, whichever name it was given.
    pub fn selector(&self) -> Option<&Value> {
        self.item_selector.as_ref().or(self.parameters.as_ref())
    }
}

/// A state.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Pass.
    Pass(Pass),
    /// Task.
    Task(Box<Task>),
    /// Choice.
    Choice(Choice),
    /// Wait.
    Wait(Wait),
    /// Succeed.
    Succeed(Succeed),
    /// Fail.
    Fail(Fail),
    /// Parallel.
    Parallel(Box<Parallel>),
    /// Map.
    Map(Box<MapState>),
}

impl State {
    /// The state type's name.
    pub fn kind(&self) -> &'static str {
        match self {
            State::Pass(_) => "Pass",
            State::Task(_) => "Task",
            State::Choice(_) => "Choice",
            State::Wait(_) => "Wait",
            State::Succeed(_) => "Succeed",
            State::Fail(_) => "Fail",
            State::Parallel(_) => "Parallel",
            State::Map(_) => "Map",
        }
    }

    /// `Next`, for the states that have one.
    pub fn next(&self) -> Option<&str> {
        match self {
            State::Pass(s) => s.next.as_deref(),
            State::Task(s) => s.next.as_deref(),
            State::Wait(s) => s.next.as_deref(),
            State::Parallel(s) => s.next.as_deref(),
            State::Map(s) => s.next.as_deref(),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// Whether the state ends the machine when it completes.
    pub fn is_end(&self) -> bool {
        match self {
            State::Pass(s) => s.end,
            State::Task(s) => s.end,
            State::Wait(s) => s.end,
            State::Parallel(s) => s.end,
            State::Map(s) => s.end,
            State::Succeed(_) | State::Fail(_) => true,
            State::Choice(_) => false,
        }
    }

    /// Its catchers.
    pub fn catchers(&self) -> &[Catcher] {
        match self {
            State::Task(s) => &s.catch,
            State::Parallel(s) => &s.catch,
            State::Map(s) => &s.catch,
            _ => &[],
        }
    }

    /// Its retriers.
    pub fn retriers(&self) -> &[Retrier] {
        match self {
            State::Task(s) => &s.retry,
            State::Parallel(s) => &s.retry,
            State::Map(s) => &s.retry,
            _ => &[],
        }
    }
}

/// A whole definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The top-level machine.
    pub machine: Machine,
    /// Execution timeout, if set.
    pub timeout_seconds: Option<u64>,
    /// The `Comment`.
    pub comment: Option<String>,
}

fn state_from(name: &str, v: &Value) -> Result<State, DefinitionError> {
    let Value::Object(m) = v else {
        return Err(DefinitionError(format!("state {name:?} is not an object")));
    };
    let kind = m
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| DefinitionError(format!("state {name:?} has no Type")))?;
    let mut fields: Map<String, Value> = m.clone();
    fields.remove("Type");
    for unsupported in [
        "Assign",
        "Output",
        "Arguments",
        "QueryLanguage",
        "Credentials",
        "ItemReader",
        "ResultWriter",
        "ItemBatcher",
        "ToleratedFailurePercentage",
        "ToleratedFailureCount",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCountPath",
        "Label",
        "Items",
        "MaxConcurrencyPath",
    ] {
        if fields.contains_key(unsupported) {
            return Err(DefinitionError(format!(
                "state {name:?} uses {unsupported}, which this interpreter does not support"
            )));
        }
    }
    let fields = Value::Object(fields);
    let map = |e: serde_json::Error| {
        let text = e.to_string();
        match text.strip_prefix("unknown field ") {
            Some(rest) => DefinitionError(format!(
                "state {name:?} ({kind}) uses field {}, which this interpreter does not support",
                rest.split(',').next().unwrap_or(rest)
            )),
            None => DefinitionError(format!("state {name:?} ({kind}): {text}")),
        }
    };
    Ok(match kind {
        "Pass" => State::Pass(serde_json::from_value(fields).map_err(map)?),
        "Task" => State::Task(Box::new(serde_json::from_value(fields).map_err(map)?)),
        "Choice" => State::Choice(serde_json::from_value(fields).map_err(map)?),
        "Wait" => State::Wait(serde_json::from_value(fields).map_err(map)?),
        "Succeed" => State::Succeed(serde_json::from_value(fields).map_err(map)?),
        "Fail" => State::Fail(serde_json::from_value(fields).map_err(map)?),
        "Parallel" => State::Parallel(Box::new(serde_json::from_value(fields).map_err(map)?)),
        "Map" => State::Map(Box::new(serde_json::from_value(fields).map_err(map)?)),
        other => {
            return Err(DefinitionError(format!(
                "state {name:?} has unknown Type {other:?}"
            )));
        }
    })
}

/// Parses a (nested) machine from `{"StartAt", "States"}`, keeping the document order of states.
pub(crate) fn machine_from(
    v: &Value,
    what: &str,
    allowed: &[&str],
) -> Result<Machine, DefinitionError> {
    let Value::Object(m) = v else {
        return Err(DefinitionError(format!("{what} is not an object")));
    };
    for key in m.keys() {
        if !["StartAt", "States", "Comment"].contains(&key.as_str())
            && !allowed.contains(&key.as_str())
        {
            if key == "QueryLanguage" {
                return Err(DefinitionError(format!(
                    "{what} uses QueryLanguage (JSONata), which this interpreter does not support"
                )));
            }
            return Err(DefinitionError(format!(
                "{what} uses field {key:?}, which this interpreter does not support"
            )));
        }
    }
    let start_at = m
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| DefinitionError(format!("{what} has no StartAt")))?;
    let Some(Value::Object(states)) = m.get("States") else {
        return Err(DefinitionError(format!("{what} has no States")));
    };
    // States come in name order (serde_json maps are sorted): deterministic, and the graph,
    // not the order, carries the structure.
    let states = states
        .iter()
        .map(|(n, s)| Ok((n.clone(), state_from(n, s)?)))
        .collect::<Result<Vec<_>, DefinitionError>>()?;
    Ok(Machine {
        start_at: start_at.to_owned(),
        states,
    })
}

fn machines<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Machine>, D::Error> {
    let raw = Vec::<Value>::deserialize(d)?;
    raw.iter()
        .enumerate()
        .map(|(i, b)| machine_from(b, &format!("branch {i}"), &[]))
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}

fn opt_machine<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Machine>, D::Error> {
    let raw = Option::<Value>::deserialize(d)?;
    raw.map(|v| machine_from(&v, "Iterator", &[]))
        .transpose()
        .map_err(serde::de::Error::custom)
}

fn opt_processor<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Machine>, D::Error> {
    let raw = Option::<Value>::deserialize(d)?;
    if let Some(mode) = raw
        .as_ref()
        .and_then(|v| v.pointer("/ProcessorConfig/Mode"))
        .and_then(Value::as_str)
        && mode != "INLINE"
    {
        return Err(serde::de::Error::custom(format!(
            "Map mode {mode} (distributed Map) is not supported"
        )));
    }
    raw.map(|v| machine_from(&v, "ItemProcessor", &["ProcessorConfig"]))
        .transpose()
        .map_err(serde::de::Error::custom)
}
