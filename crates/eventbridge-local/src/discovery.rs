//! The API's discovery and read calls, answered as the EventBridge API reference shapes them:
//! `ListEventBuses`, `DescribeEventBus`, `ListRules`, `DescribeRule`, `ListTargetsByRule`,
//! `ListArchives`, `DescribeArchive`, `ListReplays` and `DescribeReplay`. Lists come whole (no
//! `NextToken`: a local bus holds a template's worth); `NamePrefix` and `EventBusName` filter
//! as on AWS, and a name that does not exist is `ResourceNotFoundException`.

use local_aws_core::{ACCOUNT, REGION};
use serde_json::{Value, json};

use crate::rules::{Rule, RuleInput, Target};
use crate::{EventBridge, rule_arn};

/// An operation's answer or its error (type, message).
pub(crate) type Answer = Result<Value, (&'static str, String)>;

/// The operations this module answers, with the resource IAM authorises each on (the Service
/// Authorization Reference, Amazon EventBridge: list calls on `*`, the rest on the bus, rule,
/// archive or replay they name).
pub(crate) fn resource(op: &str, req: &Value) -> Option<String> {
    let arn = |kind: &str, name: &str| format!("arn:aws:events:{REGION}:{ACCOUNT}:{kind}/{name}");
    Some(match op {
        "ListEventBuses" | "ListArchives" | "ListReplays" => "*".to_owned(),
        "DescribeEventBus" => arn("event-bus", &bus_name(req, "Name")),
        "ListRules" => rule_arn(&bus_name(req, "EventBusName"), "*"),
        "DescribeRule" => rule_arn(&bus_name(req, "EventBusName"), text(req, "Name")),
        "ListTargetsByRule" => rule_arn(&bus_name(req, "EventBusName"), text(req, "Rule")),
        "DescribeArchive" => arn("archive", text(req, "ArchiveName")),
        "DescribeReplay" => arn("replay", text(req, "ReplayName")),
        _ => return None,
    })
}

fn text<'a>(req: &'a Value, key: &str) -> &'a str {
    req.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The bus a request names under `key` (a name or an ARN), `default` when it names none.
fn bus_name(req: &Value, key: &str) -> String {
    let given = text(req, key);
    let name = given.rsplit_once(":event-bus/").map_or(given, |(_, n)| n);
    if name.is_empty() {
        "default".to_owned()
    } else {
        name.to_owned()
    }
}

fn bus_arn(name: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}")
}

fn not_found(message: String) -> (&'static str, String) {
    ("ResourceNotFoundException", message)
}

impl EventBridge {
    /// The buses: the ones it was built with, and `default`, which every account has.
    fn bus_names(&self) -> Vec<String> {
        let mut names = self.buses.clone();
        if !names.iter().any(|b| b == "default") {
            names.insert(0, "default".to_owned());
        }
        names
    }

    /// Answers a discovery or read call; `None` for an operation it does not serve.
    pub(crate) async fn discover(&self, op: &str, req: &Value) -> Option<Answer> {
        let prefix = text(req, "NamePrefix");
        Some(match op {
            "ListEventBuses" => Ok(json!({
                "EventBuses": self
                    .bus_names()
                    .iter()
                    .filter(|b| b.starts_with(prefix))
                    .map(|b| json!({ "Name": b, "Arn": bus_arn(b) }))
                    .collect::<Vec<_>>()
            })),
            "DescribeEventBus" => {
                let name = bus_name(req, "Name");
                if self.bus_names().contains(&name) {
                    Ok(json!({ "Name": name, "Arn": bus_arn(&name) }))
                } else {
                    Err(not_found(format!("Event bus {name} does not exist.")))
                }
            }
            "ListRules" => {
                let bus = bus_name(req, "EventBusName");
                if !self.bus_names().contains(&bus) {
                    return Some(Err(not_found(format!("Event bus {bus} does not exist."))));
                }
                Ok(json!({
                    "Rules": self
                        .rules
                        .iter()
                        .filter(|r| r.bus == bus && r.name.starts_with(prefix))
                        .map(describe_rule)
                        .collect::<Vec<_>>()
                }))
            }
            "DescribeRule" | "ListTargetsByRule" => {
                let bus = bus_name(req, "EventBusName");
                let name = text(req, if op == "DescribeRule" { "Name" } else { "Rule" });
                match self.rules.iter().find(|r| r.bus == bus && r.name == name) {
                    Some(rule) if op == "DescribeRule" => Ok(describe_rule(rule)),
                    Some(rule) => Ok(json!({ "Targets": [target(rule)] })),
                    None => Err(not_found(format!(
                        "Rule {name} does not exist on EventBus {bus}."
                    ))),
                }
            }
            "ListArchives" => {
                let source = text(req, "EventSourceArn");
                let mut archives = Vec::new();
                for (name, bus) in self.archive_list() {
                    if name.starts_with(prefix) && (source.is_empty() || source == bus_arn(&bus)) {
                        archives.push(self.describe_archive(&name, &bus).await);
                    }
                }
                Ok(json!({ "Archives": archives }))
            }
            "DescribeArchive" => {
                let name = text(req, "ArchiveName");
                match self.archive_list().into_iter().find(|(n, _)| n == name) {
                    Some((name, bus)) => Ok(self.describe_archive(&name, &bus).await),
                    None => Err(not_found(format!("Archive {name} does not exist."))),
                }
            }
            "ListReplays" => Ok(json!({
                "Replays": self
                    .replay_list()
                    .into_iter()
                    .filter(|r| text(r, "ReplayName").starts_with(prefix))
                    .map(|mut r| {
                        if let Some(o) = r.as_object_mut() {
                            o.remove("Destination");
                            o.remove("ReplayArn");
                        }
                        r
                    })
                    .collect::<Vec<_>>()
            })),
            "DescribeReplay" => {
                let name = text(req, "ReplayName");
                self.replay_list()
                    .into_iter()
                    .find(|r| text(r, "ReplayName") == name)
                    .ok_or_else(|| not_found(format!("Replay {name} does not exist.")))
            }
            _ => return None,
        })
    }

    fn archive_list(&self) -> Vec<(String, String)> {
        self.archives
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replay_list(&self) -> Vec<Value> {
        self.replays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// An archive as `DescribeArchive` answers: what it holds now.
    async fn describe_archive(&self, name: &str, bus: &str) -> Value {
        let held: Vec<Value> = self
            .archive
            .lock()
            .await
            .iter()
            .filter(|a| a["bus"] == bus)
            .map(|a| a["event"].clone())
            .collect();
        let size: usize = held.iter().map(|e| e.to_string().len()).sum();
        json!({
            "ArchiveArn": format!("arn:aws:events:{REGION}:{ACCOUNT}:archive/{name}"),
            "ArchiveName": name,
            "EventSourceArn": bus_arn(bus),
            "State": "ENABLED",
            "EventCount": held.len(),
            "SizeBytes": size,
        })
    }

    /// Keeps what `StartReplay` did, for `ListReplays` and `DescribeReplay`.
    pub(crate) fn record_replay(&self, replay: Value) {
        self.replays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(replay);
    }
}

/// A rule as `DescribeRule` (and each entry of `ListRules`) answers.
fn describe_rule(rule: &Rule) -> Value {
    json!({
        "Name": rule.name,
        "Arn": rule.arn,
        "EventPattern": rule.pattern.source().to_string(),
        "State": "ENABLED",
        "EventBusName": rule.bus,
        "CreatedBy": ACCOUNT,
    })
}

/// A rule's one target as `ListTargetsByRule` answers (its `Id` is the rule's name and
/// `Target`: the template's ids are not kept).
fn target(rule: &Rule) -> Value {
    let arn = match &rule.target {
        Target::StateMachine { arn } => arn.clone(),
        Target::Function { name } => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
    };
    let mut t = json!({
        "Id": format!("{}Target", rule.name),
        "Arn": arn,
        "RetryPolicy": {
            "MaximumRetryAttempts": rule.max_attempts,
            "MaximumEventAgeInSeconds": rule.max_age_seconds,
        },
    });
    match &rule.input {
        RuleInput::Event => {}
        RuleInput::Path(p) => t["InputPath"] = json!(p),
        RuleInput::Constant(c) => t["Input"] = json!(c),
        RuleInput::Transformer { paths, template } => {
            t["InputTransformer"] = json!({ "InputPathsMap": paths, "InputTemplate": template });
        }
    }
    if let Some(queue) = &rule.dead_letter {
        t["DeadLetterConfig"] = json!({ "Arn": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}") });
    }
    t
}
