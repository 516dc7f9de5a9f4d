//! Reads `infra/template.yaml`: converts CloudFormation's short-form intrinsics (`!Ref`,
//! `!GetAtt`, `!Sub`, `!If`, …) to their long JSON forms, and exposes what the contract tests
//! and the local cloud need: functions, tables, event rules (SAM `EventBridgeRule` events
//! and `AWS::Events::Rule`), the state machine and the HTTP API routes. [`Resolver`] turns
//! intrinsics into concrete values given what each logical id stands for locally.

mod deployment;
pub use deployment::DeploymentPreference;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// Why the template could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is invalid.
    #[error("{path} is not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The template lacks something expected.
    #[error("template problem: {0}")]
    Invalid(String),
}

/// YAML with CloudFormation tags → JSON with long-form intrinsics.
pub fn yaml_to_json(v: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = yaml_to_json(t.value)?;
            match name {
                "Ref" => json!({ "Ref": inner }),
                "Condition" => json!({ "Condition": inner }),
                "GetAtt" => match inner {
                    Value::String(s) => {
                        let (res, attr) = s
                            .split_once('.')
                            .ok_or_else(|| format!("!GetAtt {s} needs Resource.Attribute"))?;
                        json!({ "Fn::GetAtt": [res, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                other => json!({ format!("Fn::{other}"): inner }),
            }
        }
    })
}

/// A resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Logical id.
    pub id: String,
    /// `Type`.
    pub kind: String,
    /// `Properties` (long-form intrinsics).
    pub properties: Value,
    /// `Metadata`.
    pub metadata: Value,
}

/// An event rule and its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Where it is declared (`Resource/EventName` for SAM events).
    pub name: String,
    /// The bus it listens on (as written).
    pub bus: Value,
    /// The event pattern.
    pub pattern: Value,
    /// The target's logical id.
    pub target: String,
    /// The target's kind (function or state machine).
    pub target_kind: String,
    /// The target's alias, when the rule names the alias SAM's `AutoPublishAlias` makes
    /// (`!Ref <id>Alias<alias>`) rather than the resource itself.
    pub target_alias: Option<String>,
    /// `InputPath`, if set.
    pub input_path: Option<String>,
    /// `Input` (a constant JSON text), if set.
    pub input: Option<String>,
    /// `InputTransformer` (`InputPathsMap`, `InputTemplate`), as written.
    pub input_transformer: Value,
    /// Retry policy, as written.
    pub retry_policy: Value,
    /// Dead-letter config, as written.
    pub dead_letter: Value,
}

/// A function's SQS event source (`Events: Type: SQS`): an event source mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueTrigger {
    /// The function's logical id.
    pub function: String,
    /// `Queue`, as written (an ARN, usually `!GetAtt <Queue>.Arn`).
    pub queue: Value,
    /// `BatchSize` (default 10).
    pub batch_size: usize,
    /// `FunctionResponseTypes` holds `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`, if set.
    pub maximum_concurrency: Option<usize>,
}

/// A function's schedule (`Events: Type: Schedule`): an EventBridge rule with a
/// `ScheduleExpression` whose target is the function.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleTrigger {
    /// The function's logical id.
    pub function: String,
    /// The event's logical name (the rule is `<function><name>`).
    pub name: String,
    /// `Schedule`, as written (`rate(5 minutes)`, `cron(...)`).
    pub expression: String,
    /// `Enabled` (default true).
    pub enabled: bool,
}

/// The period of a `rate(<n> <unit>)` schedule expression (EventBridge's units: minute(s),
/// hour(s), day(s); <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>).
///
/// # Errors
/// A `cron(...)` or malformed expression, named.
pub fn rate_period(expression: &str) -> Result<std::time::Duration, String> {
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("{expression:?} is not a rate(...) expression"))?;
    let (n, unit) = inner
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("{expression:?}: expected rate(<value> <unit>)"))?;
    let n: u64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{expression:?}: the value must be a positive whole number"))?;
    let unit_seconds = match (unit.trim(), n) {
        ("minute", 1) | ("minutes", 2..) => 60,
        ("hour", 1) | ("hours", 2..) => 3_600,
        ("day", 1) | ("days", 2..) => 86_400,
        _ => {
            return Err(format!(
                "{expression:?}: the unit must be minute(s), hour(s) or day(s), singular for 1"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(n * unit_seconds))
}

/// An HTTP API route to a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Method.
    pub method: String,
    /// Path with `{params}`.
    pub path: String,
    /// The function's logical id.
    pub function: String,
    /// The `AWS::Serverless::HttpApi` it belongs to (`ApiId: !Ref <logical id>`); `None` for
    /// SAM's implicit API.
    pub api: Option<String>,
    /// Its authorizer: the event's `Auth.Authorizer`, else its API's `Auth.DefaultAuthorizer`
    /// (`AWS_IAM`, or the name of one of the API's `Authorizers`); `None` when open, as SAM's
    /// `NONE` says.
    pub authorizer: Option<String>,
}

/// The parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The whole template as JSON.
    pub json: Value,
    /// Its directory (relative `CodeUri`/`DefinitionUri` resolve against it).
    pub dir: PathBuf,
}

impl Template {
    /// Reads a template file.
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
            path: path.to_owned(),
            source,
        })?;
        let yaml: serde_norway::Value =
            serde_norway::from_str(&text).map_err(|e| TemplateError::Yaml {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let json = yaml_to_json(yaml).map_err(|message| TemplateError::Yaml {
            path: path.to_owned(),
            message,
        })?;
        Ok(Self {
            json,
            dir: path.parent().map(Path::to_owned).unwrap_or_default(),
        })
    }

    /// Every resource.
    pub fn resources(&self) -> Vec<Resource> {
        self.json
            .get("Resources")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(id, r)| Resource {
                        id: id.clone(),
                        kind: r
                            .get("Type")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        properties: r.get("Properties").cloned().unwrap_or(Value::Null),
                        metadata: r.get("Metadata").cloned().unwrap_or(Value::Null),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One resource.
    pub fn resource(&self, id: &str) -> Option<Resource> {
        self.resources().into_iter().find(|r| r.id == id)
    }

    /// Resources of one type.
    pub fn of_kind(&self, kind: &str) -> Vec<Resource> {
        self.resources()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    /// `Globals.Function`.
    pub fn function_globals(&self) -> Value {
        self.json
            .pointer("/Globals/Function")
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// A function's effective property as SAM's Globals give it: its own value, else the
    /// global one; when both are maps (e.g. `LoggingConfig`), the global map overlaid with the
    /// function's keys.
    pub fn function_property(&self, f: &Resource, name: &str) -> Option<Value> {
        let global = self.function_globals().get(name).cloned();
        match (global, f.properties.get(name).cloned()) {
            (Some(Value::Object(mut g)), Some(Value::Object(own))) => {
                g.extend(own);
                Some(Value::Object(g))
            }
            (g, own) => own.or(g),
        }
    }

    /// A function's environment: global variables overlaid with its own.
    pub fn function_environment(&self, f: &Resource) -> BTreeMap<String, Value> {
        let mut env = BTreeMap::new();
        for source in [self.function_globals(), f.properties.clone()] {
            if let Some(vars) = source
                .pointer("/Environment/Variables")
                .and_then(Value::as_object)
            {
                env.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        env
    }

    /// The binary a function runs: the package directory `CodeUri` points at.
    pub fn function_binary(&self, f: &Resource) -> Option<String> {
        if let Some(b) = f
            .metadata
            .pointer("/BuildProperties/Binary")
            .and_then(Value::as_str)
        {
            return Some(b.to_owned());
        }
        let uri = f.properties.get("CodeUri")?.as_str()?;
        Path::new(uri)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    }

    /// Event rules: SAM `EventBridgeRule` events on functions and state machines, and
    /// `AWS::Events::Rule` resources with their first target.
    pub fn rules(&self) -> Vec<Rule> {
        let mut out = Vec::new();
        for r in self.resources() {
            if let Some(events) = r.properties.get("Events").and_then(Value::as_object) {
                for (name, e) in events {
                    if e.get("Type").and_then(Value::as_str) == Some("EventBridgeRule") {
                        let p = e.get("Properties").cloned().unwrap_or(Value::Null);
                        out.push(Rule {
                            name: format!("{}/{name}", r.id),
                            bus: p.get("EventBusName").cloned().unwrap_or(json!("default")),
                            pattern: p.get("Pattern").cloned().unwrap_or(Value::Null),
                            target: r.id.clone(),
                            target_kind: r.kind.clone(),
                            target_alias: None,
                            input_path: p
                                .get("InputPath")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                            input: p.get("Input").and_then(Value::as_str).map(str::to_owned),
                            input_transformer: p
                                .get("InputTransformer")
                                .cloned()
                                .unwrap_or(Value::Null),
                            retry_policy: p.get("RetryPolicy").cloned().unwrap_or(Value::Null),
                            dead_letter: p.get("DeadLetterConfig").cloned().unwrap_or(Value::Null),
                        });
                    }
                }
            }
            if r.kind == "AWS::Events::Rule" {
                let target = r
                    .properties
                    .pointer("/Targets/0")
                    .cloned()
                    .unwrap_or(Value::Null);
                let named = target
                    .pointer("/Arn/Fn::GetAtt/0")
                    .or_else(|| target.pointer("/Arn/Ref"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let (target_id, target_alias) = self.alias_of(&named).unwrap_or((named, None));
                let target_kind = self
                    .resource(&target_id)
                    .map(|t| t.kind)
                    .unwrap_or_default();
                out.push(Rule {
                    name: r.id.clone(),
                    bus: r
                        .properties
                        .get("EventBusName")
                        .cloned()
                        .unwrap_or(json!("default")),
                    pattern: r
                        .properties
                        .get("EventPattern")
                        .cloned()
                        .unwrap_or(Value::Null),
                    target: target_id,
                    target_kind,
                    target_alias,
                    input_path: target
                        .get("InputPath")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    input: target
                        .get("Input")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    input_transformer: target
                        .get("InputTransformer")
                        .cloned()
                        .unwrap_or(Value::Null),
                    retry_policy: target.get("RetryPolicy").cloned().unwrap_or(Value::Null),
                    dead_letter: target
                        .get("DeadLetterConfig")
                        .cloned()
                        .unwrap_or(Value::Null),
                });
            }
        }
        out
    }

    /// The `AutoPublishAlias` of a function (its own, else the Globals') or a state machine,
    /// if it has one: the alias SAM publishes each version under.
    pub fn auto_publish_alias(&self, r: &Resource) -> Option<String> {
        let alias = match r.kind.as_str() {
            "AWS::Serverless::Function" => self.function_property(r, "AutoPublishAlias"),
            "AWS::Serverless::StateMachine" => r.properties.get("AutoPublishAlias").cloned(),
            _ => None,
        }?;
        alias.as_str().map(str::to_owned)
    }

    /// The resource and alias an `AutoPublishAlias` alias's logical id stands for
    /// (`OrderWorkflowAliaslive` → (`OrderWorkflow`, `live`)), if `id` is one.
    pub fn alias_of(&self, id: &str) -> Option<(String, Option<String>)> {
        self.resources().into_iter().find_map(|r| {
            let alias = self.auto_publish_alias(&r)?;
            (id == format!("{}Alias{alias}", r.id)).then(|| (r.id.clone(), Some(alias)))
        })
    }

    /// HTTP API routes (SAM `HttpApi` events on functions).
    pub fn routes(&self) -> Vec<Route> {
        let mut out = Vec::new();
        for r in self.of_kind("AWS::Serverless::Function") {
            if let Some(events) = r.properties.get("Events").and_then(Value::as_object) {
                for e in events.values() {
                    if e.get("Type").and_then(Value::as_str) == Some("HttpApi") {
                        let p = e.get("Properties").cloned().unwrap_or(Value::Null);
                        let api = p
                            .pointer("/ApiId/Ref")
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        let default =
                            api.as_deref()
                                .and_then(|id| self.resource(id))
                                .and_then(|a| {
                                    a.properties
                                        .pointer("/Auth/DefaultAuthorizer")
                                        .and_then(Value::as_str)
                                        .map(str::to_owned)
                                });
                        let authorizer = p
                            .pointer("/Auth/Authorizer")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .or(default)
                            .filter(|a| a != "NONE");
                        out.push(Route {
                            method: p
                                .get("Method")
                                .and_then(Value::as_str)
                                .unwrap_or("ANY")
                                .to_uppercase(),
                            path: p
                                .get("Path")
                                .and_then(Value::as_str)
                                .unwrap_or("/")
                                .to_owned(),
                            function: r.id.clone(),
                            api,
                            authorizer,
                        });
                    }
                }
            }
        }
        out
    }

    /// Every function's schedules.
    pub fn schedules(&self) -> Vec<ScheduleTrigger> {
        let mut out = Vec::new();
        for r in self.of_kind("AWS::Serverless::Function") {
            let Some(events) = r.properties.get("Events").and_then(Value::as_object) else {
                continue;
            };
            for (name, e) in events {
                if e.get("Type").and_then(Value::as_str) != Some("Schedule") {
                    continue;
                }
                let p = e.get("Properties").cloned().unwrap_or(Value::Null);
                out.push(ScheduleTrigger {
                    function: r.id.clone(),
                    name: name.clone(),
                    expression: p
                        .get("Schedule")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    enabled: p.get("Enabled").and_then(Value::as_bool).unwrap_or(true),
                });
            }
        }
        out
    }

    /// Every function's SQS event sources.
    pub fn queue_triggers(&self) -> Vec<QueueTrigger> {
        let mut out = Vec::new();
        for r in self.of_kind("AWS::Serverless::Function") {
            let Some(events) = r.properties.get("Events").and_then(Value::as_object) else {
                continue;
            };
            for e in events.values() {
                if e.get("Type").and_then(Value::as_str) != Some("SQS") {
                    continue;
                }
                let p = e.get("Properties").cloned().unwrap_or(Value::Null);
                out.push(QueueTrigger {
                    function: r.id.clone(),
                    queue: p.get("Queue").cloned().unwrap_or(Value::Null),
                    batch_size: p
                        .get("BatchSize")
                        .and_then(Value::as_u64)
                        .map_or(10, |n| n as usize),
                    report_batch_item_failures: p
                        .get("FunctionResponseTypes")
                        .and_then(Value::as_array)
                        .is_some_and(|t| t.iter().any(|x| x == "ReportBatchItemFailures")),
                    maximum_concurrency: p
                        .pointer("/ScalingConfig/MaximumConcurrency")
                        .and_then(Value::as_u64)
                        .map(|n| n as usize),
                });
            }
        }
        out
    }

    /// The path of a state machine's definition file.
    pub fn definition_path(&self, state_machine: &Resource) -> Option<PathBuf> {
        state_machine
            .properties
            .get("DefinitionUri")
            .and_then(Value::as_str)
            .map(|u| self.dir.join(u))
    }

    /// A parameter's default.
    pub fn parameter_default(&self, name: &str) -> Option<Value> {
        self.json
            .pointer(&format!("/Parameters/{name}/Default"))
            .cloned()
    }
}

/// Resolves intrinsics to concrete values, given what each logical id and parameter stands
/// for (for example local names and `arn:aws:…` strings built for loopback).
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// `!Ref <id>` → value.
    pub refs: BTreeMap<String, Value>,
    /// `!GetAtt <id>.<attr>` → value.
    pub attrs: BTreeMap<(String, String), Value>,
}

impl Resolver {
    /// Resolves a value, failing on an intrinsic it cannot evaluate.
    pub fn resolve(&self, v: &Value) -> Result<Value, String> {
        match v {
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().unwrap_or_else(|| unreachable!("one entry"));
                match k.as_str() {
                    "Ref" => {
                        let name = arg.as_str().ok_or("Ref takes a name")?;
                        self.refs
                            .get(name)
                            .cloned()
                            .ok_or_else(|| format!("nothing stands for !Ref {name}"))
                    }
                    "Fn::GetAtt" => {
                        let parts = arg.as_array().ok_or("GetAtt takes [resource, attribute]")?;
                        let key = (
                            parts
                                .first()
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            parts
                                .get(1)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                        );
                        self.attrs.get(&key).cloned().ok_or_else(|| {
                            format!("nothing stands for !GetAtt {}.{}", key.0, key.1)
                        })
                    }
                    "Fn::Sub" => {
                        let (text, vars) = match arg {
                            Value::String(s) => (s.clone(), Map::new()),
                            Value::Array(a) => (
                                a.first()
                                    .and_then(Value::as_str)
                                    .ok_or("Sub takes a string")?
                                    .to_owned(),
                                a.get(1)
                                    .and_then(Value::as_object)
                                    .cloned()
                                    .unwrap_or_default(),
                            ),
                            _ => return Err("Sub takes a string or [string, variables]".to_owned()),
                        };
                        self.sub(&text, &vars)
                    }
                    "Fn::Join" => {
                        let a = arg.as_array().ok_or("Join takes [separator, list]")?;
                        let sep = a.first().and_then(Value::as_str).unwrap_or_default();
                        let items = self.resolve(a.get(1).unwrap_or(&Value::Null))?;
                        let parts: Vec<String> = items
                            .as_array()
                            .ok_or("Join takes a list")?
                            .iter()
                            .map(|x| {
                                x.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| x.to_string())
                            })
                            .collect();
                        Ok(Value::String(parts.join(sep)))
                    }
                    k if k.starts_with("Fn::") => {
                        Err(format!("the local resolver does not evaluate {k}"))
                    }
                    _ => Ok(Value::Object(Map::from_iter([(
                        k.clone(),
                        self.resolve(arg)?,
                    )]))),
                }
            }
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                .collect::<Result<Map<_, _>, String>>()
                .map(Value::Object),
            Value::Array(a) => a
                .iter()
                .map(|v| self.resolve(v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    fn sub(&self, text: &str, vars: &Map<String, Value>) -> Result<Value, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                out.push_str("${");
                rest = lit;
                continue;
            }
            let end = after.find('}').ok_or("unterminated ${ in Sub")?;
            let name = &after[..end];
            let value = match vars.get(name) {
                Some(v) => self.resolve(v)?,
                None => match name.split_once('.') {
                    Some((res, attr)) => self.resolve(&json!({ "Fn::GetAtt": [res, attr] }))?,
                    None => self.resolve(&json!({ "Ref": name }))?,
                },
            };
            out.push_str(
                value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string())
                    .as_str(),
            );
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Value {
        yaml_to_json(serde_norway::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn a_function_map_property_is_merged_over_the_global_one_as_sam_does() {
        let t = Template {
            json: parse(
                "Globals:\n  Function:\n    Timeout: 30\n    LoggingConfig: { LogFormat: JSON, ApplicationLogLevel: INFO }\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: 10\n      LoggingConfig: { LogGroup: !Ref L, ApplicationLogLevel: DEBUG }\n",
            ),
            dir: PathBuf::new(),
        };
        let f = t.resource("F").unwrap();
        assert_eq!(
            t.function_property(&f, "LoggingConfig").unwrap(),
            json!({"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "LogGroup": {"Ref": "L"}})
        );
        assert_eq!(t.function_property(&f, "Timeout").unwrap(), json!(10));
        assert_eq!(t.function_property(&f, "MemorySize"), None);
    }

    #[test]
    fn a_rate_expression_is_read_as_eventbridge_reads_it() {
        use std::time::Duration;
        assert_eq!(rate_period("rate(5 minutes)"), Ok(Duration::from_secs(300)));
        assert_eq!(rate_period("rate(1 minute)"), Ok(Duration::from_secs(60)));
        assert_eq!(rate_period("rate(2 hours)"), Ok(Duration::from_secs(7_200)));
        assert_eq!(rate_period("rate(1 day)"), Ok(Duration::from_secs(86_400)));
        // EventBridge refuses "1 minutes" and "5 minute", zero, and cron here is not a rate.
        for bad in [
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(0 minutes)",
            "rate(5 seconds)",
            "cron(0/5 * * * ? *)",
        ] {
            assert!(rate_period(bad).is_err(), "{bad}");
        }
        let t = Template {
            json: parse(
                "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        Sweep:\n          Type: Schedule\n          Properties:\n            Schedule: rate(5 minutes)\n        Off:\n          Type: Schedule\n          Properties: { Schedule: rate(1 hour), Enabled: false }\n",
            ),
            dir: PathBuf::new(),
        };
        let found = t.schedules();
        assert_eq!(found.len(), 2);
        assert!(
            found
                .iter()
                .any(|s| s.name == "Sweep" && s.enabled && s.expression == "rate(5 minutes)")
        );
        assert!(found.iter().any(|s| s.name == "Off" && !s.enabled));
    }

    #[test]
    fn short_form_intrinsics_become_long_form() {
        let v = parse(
            "a: !Ref Bus\nb: !GetAtt Fn.Arn\nc: !Sub orders-${Stage}\nd: !If [Cond, [!Ref X], !Ref AWS::NoValue]\n",
        );
        assert_eq!(v["a"], json!({"Ref": "Bus"}));
        assert_eq!(v["b"], json!({"Fn::GetAtt": ["Fn", "Arn"]}));
        assert_eq!(v["c"], json!({"Fn::Sub": "orders-${Stage}"}));
        assert_eq!(
            v["d"],
            json!({"Fn::If": ["Cond", [{"Ref": "X"}], {"Ref": "AWS::NoValue"}]})
        );
    }

    #[test]
    fn the_resolver_substitutes_refs_attributes_and_sub_strings() {
        let mut r = Resolver::default();
        r.refs.insert("Stage".into(), json!("local"));
        r.refs.insert("AWS::Region".into(), json!("us-east-1"));
        r.attrs.insert(
            ("Fn".into(), "Arn".into()),
            json!("arn:aws:lambda:us-east-1:000000000000:function:fn"),
        );
        assert_eq!(
            r.resolve(&parse("x: !Sub orders-${Stage}-${AWS::Region}"))
                .unwrap()["x"],
            json!("orders-local-us-east-1")
        );
        assert_eq!(
            r.resolve(&parse("x: !Sub arn is ${Fn.Arn}")).unwrap()["x"],
            json!("arn is arn:aws:lambda:us-east-1:000000000000:function:fn")
        );
        assert_eq!(
            r.resolve(&parse("x: !Sub '${!Literal}'")).unwrap()["x"],
            json!("${Literal}")
        );
        assert!(
            r.resolve(&parse("x: !Ref Missing"))
                .unwrap_err()
                .contains("Missing")
        );
    }
}
