//! Contracts between the code and the infrastructure files, read as they are:
//! `infra/template.yaml` and the workflows under `statemachines/` (the Express order workflow
//! and the Standard hold workflow it hands over to).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use asl::model::{Definition, Machine, State, Task};
use event_pattern::Pattern;
use lambda_support::{Env, wiring};
use order_events::BusEvent;
use pipeline::names;
use sam_template::{Resolver, Template};
use serde_json::{Value, json};
use suites::repo_root;

fn template() -> Template {
    Template::load(&repo_root().join("infra/template.yaml")).unwrap()
}

/// The Express order workflow (every order starts there).
const EXPRESS: &str = "OrderWorkflow";
/// The Standard hold workflow (what the Express one hands over).
const STANDARD: &str = "OrderHoldWorkflow";

/// The two workflows, Express first, each checked for its type.
fn state_machines(t: &Template) -> Vec<sam_template::Resource> {
    let machines = t.of_kind("AWS::Serverless::StateMachine");
    assert_eq!(machines.len(), 2, "two state machines");
    [(EXPRESS, "EXPRESS"), (STANDARD, "STANDARD")]
        .into_iter()
        .map(|(id, kind)| {
            let m = machines
                .iter()
                .find(|m| m.id == id)
                .unwrap_or_else(|| panic!("no {id}"))
                .clone();
            assert_eq!(m.properties["Type"], kind, "{id} is {kind}");
            m
        })
        .collect()
}

fn state_machine(t: &Template, id: &str) -> sam_template::Resource {
    state_machines(t).into_iter().find(|m| m.id == id).unwrap()
}

fn definition_text(t: &Template, m: &sam_template::Resource) -> String {
    std::fs::read_to_string(t.definition_path(m).unwrap()).unwrap()
}

fn definition(t: &Template, m: &sam_template::Resource) -> Definition {
    Definition::parse(&definition_text(t, m)).unwrap_or_else(|e| panic!("{}: {e}", m.id))
}

fn raw_definition(t: &Template, m: &sam_template::Resource) -> Value {
    serde_json::from_str(&definition_text(t, m)).unwrap()
}

fn tasks(m: &Machine) -> Vec<(String, Task)> {
    let mut out = Vec::new();
    for (name, s) in &m.states {
        match s {
            State::Task(t) => out.push((name.clone(), (**t).clone())),
            State::Parallel(p) => p.branches.iter().for_each(|b| out.extend(tasks(b))),
            State::Map(mp) => out.extend(mp.processor().map(tasks).unwrap_or_default()),
            _ => {}
        }
    }
    out
}

fn substitutions(m: &sam_template::Resource) -> BTreeMap<String, Value> {
    m.properties
        .get("DefinitionSubstitutions")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The function a `DefinitionSubstitutions` entry names by its alias (`!Ref
/// <Function>.Alias`, which SAM's `AutoPublishAlias` makes referenceable): a workflow calls
/// each function through its `live` alias, so a deploy's canary and rollback reach every
/// execution.
fn substituted_function(sub: &Value) -> Option<&str> {
    sub["Ref"].as_str()?.strip_suffix(".Alias")
}

/// `"${Name}"` → `Name`.
fn placeholder(v: &Value) -> Option<String> {
    v.as_str()?
        .strip_prefix("${")?
        .strip_suffix('}')
        .map(str::to_owned)
}

fn function_binary(t: &Template, id: &str) -> String {
    t.function_binary(&t.resource(id).unwrap()).unwrap()
}

fn read(rel: &str) -> Value {
    let p = repo_root().join(rel);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn outbound(sample: &str) -> Value {
    let e = read(&format!("events/samples/{sample}.json"));
    json!({ "source": e["source"], "detailType": e["detail-type"], "detail": e["detail"] })
}

/// A state as the workflow holds it after every step, built from the committed samples.
fn workflow_state() -> (Value, Value) {
    let received = read("events/samples/order-received.json")["detail"].clone();
    let order_id = format!(
        "{}.{}",
        received["data"]["partner"].as_str().unwrap(),
        received["data"]["partnerOrderId"].as_str().unwrap()
    );
    let state = json!({
        "received": received,
        "orderId": order_id,
        "dedup": { "outcome": "duplicate", "event": outbound("order-duplicate-ignored") },
        "adapted": { "order": read("events/accept-order/accept.json")["order"] },
        "accepted": { "hold": read("events/hold-order/hold.json")["plan"] },
        "release": { "releasedBy": "courier" },
        "pos": { "posOrderId": "POS-S1001-00001", "outcome": outbound("order-sent-to-pos") },
        "error": { "Error": "PosRejected", "Cause": json!({"errorType": "PosRejected", "errorMessage": "POS refused the order"}).to_string() },
        "result": { "outcome": outbound("order-failed") },
        "owner": "arn:aws:states:us-east-1:123456789012:execution:orders:e-1",
        "handover": { "at": "Hold", "code": "hold", "from": "arn:aws:states:us-east-1:123456789012:express:orders:e-1:7d0f" },
    });
    let context = json!({
        "Execution": { "Id": "arn:aws:states:us-east-1:123456789012:execution:orders:e-1", "Name": "e-1", "StartTime": "2026-11-22T18:00:00Z" },
        "State": { "EnteredTime": "2026-11-22T18:00:01.500Z", "Name": "s" },
        "StateMachine": { "Id": "arn:aws:states:us-east-1:123456789012:stateMachine:orders", "Name": "orders" },
        "Task": { "Token": "AAAA-task-token" },
    });
    (state, context)
}

#[test]
fn every_rule_pattern_matches_the_events_its_target_consumes_and_no_other() {
    let t = template();
    let workflow = state_machine(&t, EXPRESS).id;
    let release = t
        .of_kind("AWS::Serverless::Function")
        .into_iter()
        .find(|f| t.function_binary(f).as_deref() == Some("release-order"))
        .unwrap()
        .id;
    let store_status = t
        .of_kind("AWS::Serverless::Function")
        .into_iter()
        .find(|f| t.function_binary(f).as_deref() == Some("store-status"))
        .unwrap()
        .id;
    // What each target consumes, from the code.
    let consumes: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::from([
        (
            workflow.clone(),
            BTreeSet::from([(
                order_events::OrderReceived::SOURCE.to_owned(),
                order_events::OrderReceived::DETAIL_TYPE.to_owned(),
            )]),
        ),
        (
            release.clone(),
            pipeline::usecases::release::HANDLED
                .iter()
                .map(|(s, d)| ((*s).to_owned(), (*d).to_owned()))
                .collect(),
        ),
        (
            store_status.clone(),
            pipeline::usecases::store_status::HANDLED
                .iter()
                .map(|(s, d)| ((*s).to_owned(), (*d).to_owned()))
                .collect(),
        ),
    ]);
    let rules = t.rules();
    assert_eq!(
        rules
            .iter()
            .map(|r| r.target.clone())
            .collect::<BTreeSet<_>>(),
        consumes.keys().cloned().collect(),
        "every consumer has a rule, and every rule a consumer"
    );
    let dir = repo_root().join("events/samples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let key = (
            event["source"].as_str().unwrap().to_owned(),
            event["detail-type"].as_str().unwrap().to_owned(),
        );
        // A rule matches only what its target consumes; a target's rules together match all
        // of it, each event once (a target may have a rule per source).
        let mut matched: BTreeMap<&str, usize> = BTreeMap::new();
        for rule in &rules {
            let pattern =
                Pattern::parse(&rule.pattern).unwrap_or_else(|e| panic!("{}: {e}", rule.name));
            let matches = pattern.matches(&event);
            assert!(
                !matches || consumes[&rule.target].contains(&key),
                "rule {} matches {key:?}, which {} does not consume",
                rule.name,
                rule.target
            );
            *matched.entry(rule.target.as_str()).or_default() += usize::from(matches);
            checked += 1;
        }
        for (target, consumed) in &consumes {
            let want = usize::from(consumed.contains(&key));
            assert_eq!(
                matched.get(target.as_str()).copied().unwrap_or(0),
                want,
                "rules of {target} on {key:?}"
            );
        }
    }
    assert_eq!(
        checked,
        (order_events::ALL_EVENTS.len() + order_events::CATALOGUE_CHANGE_EVENTS.len())
            * rules.len()
    );
    for rule in &rules {
        assert_eq!(
            rule.bus,
            json!({"Ref": "OrdersBus"}),
            "{} listens on the order bus",
            rule.name
        );
        assert!(
            rule.retry_policy.get("MaximumRetryAttempts").is_some(),
            "{} has a retry policy",
            rule.name
        );
        let dlq = rule
            .dead_letter
            .pointer("/Arn/Fn::GetAtt/0")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{} has a DLQ", rule.name));
        assert_eq!(t.resource(dlq).unwrap().kind, "AWS::SQS::Queue");
    }
}

#[test]
fn every_task_names_a_function_or_integration_defined_in_the_template() {
    let t = template();
    for machine in state_machines(&t) {
        tasks_name_what_the_template_defines(&t, &machine);
    }
}

fn tasks_name_what_the_template_defines(t: &Template, machine: &sam_template::Resource) {
    let def = definition(t, machine);
    let subs = substitutions(machine);
    let policies = machine.properties["Policies"].to_string();
    // Every inline statement of the workflow's policies.
    let statements: Vec<Value> = machine.properties["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.get("Statement").and_then(Value::as_array).cloned())
        .flatten()
        .collect();
    let mut used = BTreeSet::new();
    for (name, task) in tasks(&def.machine) {
        let params = task.parameters.clone().unwrap_or(Value::Null);
        match task.resource.as_str() {
            "arn:aws:states:::lambda:invoke"
            | "arn:aws:states:::lambda:invoke.waitForTaskToken" => {
                let key = placeholder(&params["FunctionName"])
                    .unwrap_or_else(|| panic!("{name}: FunctionName is a substitution"));
                let target = subs
                    .get(&key)
                    .unwrap_or_else(|| panic!("{name}: no substitution for {key}"));
                let function = substituted_function(target)
                    .unwrap_or_else(|| panic!("{key} is !Ref <Function>.Alias"));
                assert_eq!(
                    t.resource(function).unwrap().kind,
                    "AWS::Serverless::Function",
                    "{name}"
                );
                assert!(
                    policies.contains(&format!(
                        "{{\"LambdaInvokePolicy\":{{\"FunctionName\":{{\"Ref\":\"{function}\"}}}}}}"
                    )),
                    "{name}: the workflow may invoke {function}"
                );
                used.insert(key);
            }
            "arn:aws:states:::events:putEvents" => {
                for entry in params["Entries"].as_array().unwrap() {
                    let key = placeholder(&entry["EventBusName"]).unwrap();
                    let bus = subs[&key]["Ref"].as_str().unwrap();
                    assert_eq!(
                        t.resource(bus).unwrap().kind,
                        "AWS::Events::EventBus",
                        "{name}"
                    );
                    // The role may put on that bus, only under conditions on the source and
                    // detail-type (which types exactly is the IAM contract's: it knows what
                    // each workflow publishes); a literal entry's own are among them.
                    let granted = statements.iter().any(|st| {
                        let condition = &st["Condition"]["StringEquals"];
                        let listed = |key: &str, literal: &Value| match (literal, &condition[key]) {
                            (Value::Null, _) => true,
                            (v, Value::Array(all)) => all.contains(v),
                            (v, one) => v == one,
                        };
                        st["Effect"] == "Allow"
                            && st["Action"] == "events:PutEvents"
                            && st["Resource"] == json!({"Fn::GetAtt": [bus, "Arn"]})
                            && condition.get("events:source").is_some()
                            && condition.get("events:detail-type").is_some()
                            && listed("events:source", &entry["Source"])
                            && listed("events:detail-type", &entry["DetailType"])
                    });
                    assert!(
                        granted,
                        "{name}: the workflow may put its events on {bus}, conditioned on events:source and events:detail-type"
                    );
                    used.insert(key);
                }
            }
            "arn:aws:states:::dynamodb:updateItem" => {
                let key = placeholder(&params["TableName"]).unwrap();
                let table = subs[&key]["Ref"].as_str().unwrap();
                assert_eq!(
                    t.resource(table).unwrap().kind,
                    "AWS::DynamoDB::Table",
                    "{name}"
                );
                let granted = statements.iter().any(|st| {
                    st["Effect"] == "Allow"
                        && st["Action"] == "dynamodb:UpdateItem"
                        && st["Resource"] == json!({"Fn::GetAtt": [table, "Arn"]})
                });
                assert!(granted, "{name}: the workflow may update {table}");
                used.insert(key);
            }
            "arn:aws:states:::states:startExecution" => {
                let key = placeholder(&params["StateMachineArn"]).unwrap();
                let (target, by_name) = state_machine_target(t, &subs[&key]).unwrap_or_else(|| {
                    panic!(
                        "{name}: {} names no state machine of the template",
                        subs[&key]
                    )
                });
                assert_eq!(
                    t.resource(&target).unwrap().kind,
                    "AWS::Serverless::StateMachine",
                    "{name}"
                );
                let allowed = match by_name {
                    // By !Ref: the policy names the machine by !GetAtt.
                    None => format!(
                        "{{\"StepFunctionsExecutionPolicy\":{{\"StateMachineName\":{{\"Fn::GetAtt\":[\"{target}\",\"Name\"]}}}}}}"
                    ),
                    // By name (a cycle otherwise): a statement names the machine's ARN, scoped
                    // to the alias the task starts (Step Functions authorises a version or an
                    // alias by the machine's ARN and `states:StateMachineQualifier`).
                    Some(qualified) => {
                        let arn = subs[&key]["Fn::Sub"].as_str().unwrap_or_default();
                        let (machine, alias) = match qualified.split_once(':') {
                            Some((_, alias)) => (
                                arn.strip_suffix(&format!(":{alias}")).unwrap_or(arn),
                                Some(alias),
                            ),
                            None => (arn, None),
                        };
                        statements
                            .iter()
                            .find(|st| {
                                st["Effect"] == "Allow"
                                    && st["Action"] == "states:StartExecution"
                                    && st["Resource"] == json!({ "Fn::Sub": machine })
                                    && alias.is_none_or(|a| {
                                        st["Condition"]["StringEquals"]
                                            ["states:StateMachineQualifier"]
                                            == a
                                    })
                            })
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    }
                };
                assert!(
                    !allowed.is_empty() && policies.contains(&allowed),
                    "{name}: the workflow may start {target}: {policies}"
                );
                used.insert(key);
            }
            "arn:aws:states:::sqs:sendMessage" => {
                let key = placeholder(&params["QueueUrl"]).unwrap();
                let queue = subs[&key]["Ref"].as_str().unwrap();
                assert_eq!(t.resource(queue).unwrap().kind, "AWS::SQS::Queue", "{name}");
                let granted = statements.iter().any(|st| {
                    st["Effect"] == "Allow"
                        && st["Action"] == "sqs:SendMessage"
                        && st["Resource"] == json!({"Fn::GetAtt": [queue, "Arn"]})
                });
                assert!(granted, "{name}: the workflow may send to {queue}");
                // A function takes the queue's messages (the handover).
                assert!(
                    t.queue_triggers()
                        .iter()
                        .any(|q| q.queue == json!({"Fn::GetAtt": [queue, "Arn"]})),
                    "{name}: nothing takes {queue}'s messages"
                );
                used.insert(key);
            }
            other => panic!("{name}: {other} is not an integration the template provides"),
        }
    }
    assert_eq!(
        used,
        subs.keys().cloned().collect(),
        "{}: every substitution is used",
        machine.id
    );
    let text = definition_text(t, machine);
    for (i, _) in text.match_indices("${") {
        let key: String = text[i + 2..].chars().take_while(|c| *c != '}').collect();
        assert!(subs.contains_key(&key), "${{{key}}} has a substitution");
    }
    assert!(
        !text.contains("arn:aws:lambda:") && !text.contains("123456789012"),
        "no account or region written in"
    );
}

fn parse_input(function: &str, v: &Value) -> Result<(), String> {
    let r = match function {
        "dedup" => serde_json::from_value::<pipeline::io::DedupInput>(v.clone()).map(|_| ()),
        "adapt-order" => serde_json::from_value::<pipeline::io::AdaptInput>(v.clone()).map(|_| ()),
        "accept-order" => {
            serde_json::from_value::<pipeline::io::AcceptInput>(v.clone()).map(|_| ())
        }
        "hold-order" => serde_json::from_value::<pipeline::io::HoldInput>(v.clone()).map(|_| ()),
        "pos" => serde_json::from_value::<pipeline::io::PosInput>(v.clone()).map(|_| ()),
        other => return Err(format!("{other} is not a workflow step")),
    };
    r.map_err(|e| e.to_string())
}

#[test]
fn every_task_passes_the_input_its_function_or_service_expects() {
    let t = template();
    for machine in state_machines(&t) {
        tasks_pass_what_is_expected(&t, &machine);
    }
}

fn tasks_pass_what_is_expected(t: &Template, machine: &sam_template::Resource) {
    let def = definition(t, machine);
    let subs = substitutions(machine);
    let (state, context) = workflow_state();
    let validators: BTreeMap<String, jsonschema::Validator> = order_events::schema::catalogue()
        .into_iter()
        .map(|(d, s)| (d.to_owned(), jsonschema::validator_for(&s).unwrap()))
        .collect();
    for (name, task) in tasks(&def.machine) {
        let params = asl::template::apply(task.parameters.as_ref().unwrap(), &state, &context)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match task.resource.as_str() {
            r if r.starts_with("arn:aws:states:::lambda:invoke") => {
                let key = placeholder(&task.parameters.as_ref().unwrap()["FunctionName"]).unwrap();
                let function = function_binary(t, substituted_function(&subs[&key]).unwrap());
                parse_input(&function, &params["Payload"])
                    .unwrap_or_else(|e| panic!("{name} → {function}: {e}\n{}", params["Payload"]));
                if r.ends_with(".waitForTaskToken") {
                    assert!(
                        params["Payload"].to_string().contains("AAAA-task-token"),
                        "{name} passes the task token"
                    );
                }
            }
            "arn:aws:states:::events:putEvents" => {
                for entry in params["Entries"].as_array().unwrap() {
                    let envelope = json!({ "source": entry["Source"], "detail-type": entry["DetailType"], "detail": entry["Detail"] });
                    let dt = entry["DetailType"].as_str().unwrap();
                    let v = validators
                        .get(dt)
                        .unwrap_or_else(|| panic!("{name}: no schema for {dt}"));
                    let errors: Vec<String> = v
                        .iter_errors(&envelope)
                        .map(|e| format!("{e} at {}", e.instance_path()))
                        .collect();
                    assert!(
                        errors.is_empty(),
                        "{name}: the event it publishes does not match {dt}: {errors:?}"
                    );
                }
            }
            "arn:aws:states:::dynamodb:updateItem" => {
                assert_eq!(
                    params["Key"],
                    json!({ aws_adapters::tables::ORDERS_KEY: { "S": state["orderId"] } }),
                    "{name}"
                );
                // What the update writes is checked where it can be seen: run against a
                // record the adapter wrote in DynamoDB Local, and read back by the adapter
                // (`tests/dynamodb_local.rs`, the workflow's record-failure update).
                assert_eq!(
                    name, "Record failure",
                    "a new DynamoDB task needs that test too"
                );
            }
            "arn:aws:states:::states:startExecution" => {
                // The whole state goes over, and the name is one Step Functions accepts
                // (1-80 characters, none of whitespace or `<>{}[]?*"#%\^|~`$&,;:/`).
                assert_eq!(params["Input"], state, "{name} hands over the whole state");
                // An Express execution's name does not make its start idempotent (AWS checks
                // names of Standard executions only), so the hand-back gives none; a
                // handover to the Standard workflow must.
                if params["Name"].is_null() {
                    assert_eq!(name, "Hand back", "{name}: a handover needs a name");
                    continue;
                }
                let exec_name = params["Name"].as_str().unwrap();
                assert!(
                    (1..=80).contains(&exec_name.len())
                        && !exec_name
                            .chars()
                            .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)),
                    "{name}: {exec_name:?} is not a valid execution name"
                );
            }
            "arn:aws:states:::sqs:sendMessage" => {
                // The handover: the message is what the handover function reads, the whole
                // state under `input` and a valid Standard execution name under `name`.
                let message: pipeline::usecases::handover::HandoverMessage =
                    serde_json::from_value(params["MessageBody"].clone())
                        .unwrap_or_else(|e| panic!("{name}: not a handover message: {e}"));
                assert_eq!(message.input, state, "{name} hands over the whole state");
                assert!(
                    (1..=80).contains(&message.name.len())
                        && !message
                            .name
                            .chars()
                            .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)),
                    "{name}: {:?} is not a valid execution name",
                    message.name
                );
            }
            other => panic!("{name}: unexpected resource {other}"),
        }
    }
}

/// The state machine a `StateMachineArn` substitution names: by `!Ref`, or by an ARN `!Sub`
/// built from its `Name` (`…:stateMachine:<Name>`). Returns its logical id, and the name as
/// written when it is named.
fn state_machine_target(t: &Template, sub: &Value) -> Option<(String, Option<String>)> {
    if let Some(id) = sub["Ref"].as_str() {
        return Some((id.to_owned(), None));
    }
    let arn = sub["Fn::Sub"].as_str()?;
    let qualified = arn.split_once(":stateMachine:")?.1;
    // The machine's name, or its name qualified by its AutoPublishAlias.
    let id = t
        .of_kind("AWS::Serverless::StateMachine")
        .into_iter()
        .find(|r| {
            let name = r.properties["Name"]["Fn::Sub"].as_str().unwrap_or_default();
            let alias = r.properties["AutoPublishAlias"].as_str();
            qualified == name || alias.is_some_and(|a| qualified == format!("{name}:{a}"))
        })?
        .id;
    Some((id, Some(qualified.to_owned())))
}

/// The shortest a retrier can wait in all: the sum of its delays (interval × backoff^n, capped
/// at `MaxDelaySeconds`), or nothing at all with full jitter, which may draw zero each time.
fn shortest_total_wait(retrier: &Value) -> f64 {
    if retrier["JitterStrategy"] == "FULL" {
        return 0.0;
    }
    let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
    let backoff = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
    let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
    let attempts = retrier["MaxAttempts"].as_u64().unwrap_or(3);
    (0..attempts)
        .map(|n| (interval * backoff.powi(i32::try_from(n).unwrap())).min(cap))
        .sum()
}

/// A throttled function is capacity, not a fault: every Lambda step of the Standard workflow
/// waits it out for over an hour (an order waiting its turn, as through a POS outage), in a
/// retrier of its own, never in a short budget shared with faults (the first full peak run
/// failed 908 orders whose pos was throttled after four quick tries).
#[test]
fn every_standard_lambda_step_waits_out_a_throttle() {
    let t = template();
    let standard = state_machine(&t, "OrderHoldWorkflow");
    let def = raw_definition(&t, &standard);
    let mut checked = 0;
    for (name, state) in def["States"].as_object().unwrap() {
        if !state["Resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:aws:states:::lambda:invoke"))
        {
            continue;
        }
        let retriers: Vec<&Value> = state["Retry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["ErrorEquals"]
                    .to_string()
                    .contains("Lambda.TooManyRequestsException")
            })
            .collect();
        assert_eq!(retriers.len(), 1, "{name}: {retriers:?}");
        let r = retriers[0];
        assert_eq!(
            r["ErrorEquals"],
            json!(["Lambda.TooManyRequestsException"]),
            "{name}: a retrier of its own"
        );
        let attempts = r["MaxAttempts"].as_f64().unwrap();
        let cap = r["MaxDelaySeconds"].as_f64().unwrap();
        assert!(attempts * cap >= 3600.0, "{name}: {r}");
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
}

/// `OrderInProgress` means another attempt holds the order's claim until that invocation's
/// deadline (the function's timeout): the retries must outlast it by construction, whatever
/// the jitter draws, or an execution gives up on an order that was about to become free.
#[test]
fn every_in_progress_retry_outlasts_the_claim_it_waits_for() {
    let t = template();
    // The Standard workflow waits the claim out; the Express one, whose five minutes cannot
    // afford to, hands OrderInProgress over to the Standard one at the same state.
    let standard = state_machine(&t, STANDARD);
    let subs = substitutions(&standard);
    let raw = raw_definition(&t, &standard);
    let express = raw_definition(&t, &state_machine(&t, EXPRESS));
    for (name, state) in express["States"].as_object().unwrap() {
        let retries = state["Retry"].as_array().into_iter().flatten().any(|r| {
            r["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "OrderInProgress")
        });
        if !retries {
            continue;
        }
        let catch = state["Catch"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| {
                c["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e == "OrderInProgress")
            })
            .unwrap_or_else(|| panic!("Express {name} does not catch OrderInProgress"));
        let next = &express["States"][catch["Next"].as_str().unwrap()];
        assert_eq!(
            next["Parameters"]["at"], **name,
            "Express {name} hands OrderInProgress over at the same state"
        );
        assert!(raw["States"][name.as_str()].is_object());
    }
    let mut checked = 0;
    for (name, state) in raw["States"].as_object().unwrap() {
        for retrier in state["Retry"].as_array().into_iter().flatten() {
            if !retrier["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "OrderInProgress")
            {
                continue;
            }
            let key = placeholder(&state["Parameters"]["FunctionName"]).unwrap();
            let function = substituted_function(&subs[&key]).unwrap();
            let f = t.resource(function).unwrap();
            let timeout = t
                .function_property(&f, "Timeout")
                .and_then(|v| v.as_f64())
                .unwrap_or(3.0);
            let waits = shortest_total_wait(retrier);
            assert!(
                waits > timeout,
                "{name}: its OrderInProgress retries may all be spent in {waits} s, before the \
                 claim they wait for expires ({function}'s timeout, {timeout} s)"
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "the dedup step retries OrderInProgress");
    // The arithmetic itself.
    assert_eq!(
        shortest_total_wait(
            &json!({"IntervalSeconds": 2, "BackoffRate": 2.0, "MaxAttempts": 6, "MaxDelaySeconds": 30})
        ),
        90.0
    );
    assert_eq!(
        shortest_total_wait(
            &json!({"IntervalSeconds": 2, "MaxAttempts": 6, "JitterStrategy": "FULL"})
        ),
        0.0
    );
}

#[test]
fn every_error_the_workflow_handles_is_one_a_function_reports_or_a_service_error() {
    const STATES: [&str; 10] = [
        "States.ALL",
        "States.Runtime",
        "States.Timeout",
        "States.TaskFailed",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ParameterPathFailure",
        "States.BranchFailed",
        "States.NoChoiceMatched",
        "States.IntrinsicFailure",
    ];
    // Errors of the Lambda service itself (not of the function), which AWS recommends retrying
    // (Step Functions developer guide, best practices: "Handle transient Lambda service
    // exceptions" lists the first four), and throttling.
    const LAMBDA_SERVICE: [&str; 5] = [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ];
    // What the DynamoDB integration reports when its condition does not hold.
    const DYNAMODB_CONDITION: &str = "DynamoDB.ConditionalCheckFailedException";
    // A function process that crashed or ran out of memory (`Lambda.Unknown`), or overran its
    // timeout (`Sandbox.Timedout`, as executions report it): the local interpreter reports
    // both (step-functions-local's `lambda_error`).
    const LAMBDA_UNHANDLED: [&str; 2] = ["Lambda.Unknown", "Sandbox.Timedout"];
    // What the Step Functions integration reports when a name is taken by another execution.
    const ALREADY_STARTED: &str = "StepFunctions.ExecutionAlreadyExistsException";
    let t = template();
    let mut seen = BTreeSet::new();
    let all_tasks: Vec<(String, Task)> = state_machines(&t)
        .iter()
        .flat_map(|m| tasks(&definition(&t, m).machine))
        .collect();
    for (name, task) in all_tasks {
        let lists = task
            .retry
            .iter()
            .map(|r| &r.error_equals)
            .chain(task.catch.iter().map(|c| &c.error_equals));
        for error in lists.flatten() {
            let known = names::REPORTED.contains(&error.as_str())
                || STATES.contains(&error.as_str())
                || LAMBDA_SERVICE.contains(&error.as_str())
                || LAMBDA_UNHANDLED.contains(&error.as_str())
                || (error == DYNAMODB_CONDITION
                    && task.resource.starts_with("arn:aws:states:::dynamodb:"))
                || (error == ALREADY_STARTED
                    && task.resource == "arn:aws:states:::states:startExecution");
            assert!(known, "{name} handles {error}, which nothing reports");
            seen.insert(error.clone());
        }
        // A failed condition cannot succeed on a retry: a DynamoDB task's first retrier for it
        // must be one that never retries, ahead of any catch-all retrier.
        if task.resource.starts_with("arn:aws:states:::dynamodb:") {
            let first = task.retry.iter().find(|r| {
                r.error_equals
                    .iter()
                    .any(|e| e == DYNAMODB_CONDITION || e == "States.ALL")
            });
            if let Some(r) = first {
                assert!(
                    r.error_equals.iter().any(|e| e == DYNAMODB_CONDITION) && r.max_attempts == 0,
                    "{name} retries {DYNAMODB_CONDITION}, which cannot succeed on a retry"
                );
            }
        }
        // Every transient error is retried somewhere before being caught.
        if task.resource.starts_with("arn:aws:states:::lambda:invoke") {
            let retried: BTreeSet<&str> = task
                .retry
                .iter()
                .flat_map(|r| r.error_equals.iter().map(String::as_str))
                .collect();
            assert!(
                LAMBDA_SERVICE.iter().all(|e| retried.contains(e)),
                "{name} retries the Lambda service errors"
            );
            for e in LAMBDA_UNHANDLED {
                assert!(
                    retried.contains(e),
                    "{name} retries a crashed or timed-out function ({e})"
                );
            }
        }
    }
    for name in [
        "OrderRejected",
        "OrderCancelled",
        "OrderInProgress",
        "PartnerUnavailable",
        "PosUnavailable",
    ] {
        assert!(seen.contains(name), "the workflow handles {name}");
    }
}

#[test]
fn every_state_is_reachable_and_every_path_ends_with_an_outcome_event() {
    let t = template();
    for machine in state_machines(&t) {
        // Definition::parse checks targets, reachability and that every state reaches an end.
        let def = definition(&t, &machine);
        // Ending without an outcome event is allowed where another record tells: publishing
        // itself failed; the Express workflow handed the order over (the Standard one
        // publishes), or could not (`HandoverFailed`: the failed execution is alarmed).
        // And in the Standard one, a handover naming a step it does not enter at (a deploy
        // out of step: the execution fails and is alarmed).
        // In the Standard one, `Hand back` ends the execution by starting the Express one,
        // which sends and publishes (checked here to be exactly that).
        let exempt: &[&str] = if machine.id == EXPRESS {
            &["Outcome not published", "Handed over", "Handover failed"]
        } else {
            match def
                .machine
                .states
                .iter()
                .find(|(n, _)| n == "Hand back")
                .map(|(_, s)| s)
            {
                Some(State::Task(t)) => assert_eq!(
                    t.resource, "arn:aws:states:::states:startExecution",
                    "Hand back ends the execution only by starting the Express one"
                ),
                other => panic!("Hand back: {other:?}"),
            }
            &["Outcome not published", "Unknown handover", "Hand back"]
        };
        every_path_publishes(&def.machine, exempt, &machine.id);
    }
}

fn every_path_publishes(m: &Machine, exempt: &[&str], id: &str) {
    let edges = asl::validate::edges(m);
    let publishes: BTreeSet<&str> = m
        .states
        .iter()
        .filter(|(_, s)| matches!(s, State::Task(t) if t.resource == "arn:aws:states:::events:putEvents"))
        .map(|(n, _)| n.as_str())
        .collect();
    // Walk the graph without the publishing states: no terminal state may be reached, except
    // the exempt ones.
    let mut seen = BTreeSet::from([m.start_at.as_str()]);
    let mut queue = VecDeque::from([m.start_at.as_str()]);
    while let Some(at) = queue.pop_front() {
        for e in edges
            .iter()
            .filter(|e| e.from == at && !publishes.contains(e.to.as_str()))
        {
            if seen.insert(e.to.as_str()) {
                queue.push_back(e.to.as_str());
            }
        }
    }
    // Every state an execution can end in: Succeed, Fail, and any other with `End: true` (a
    // Task that ends the execution must publish or be exempt like the rest).
    let terminals: Vec<&str> = m
        .states
        .iter()
        .filter(|(_, s)| s.is_end())
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(terminals.len() >= 5, "{id}: {terminals:?}");
    for terminal in terminals {
        if exempt.contains(&terminal) {
            continue;
        }
        assert!(
            !seen.contains(terminal),
            "{id}: {terminal} can be reached without publishing an outcome event"
        );
    }
    assert!(publishes.len() >= 3, "{id}");
}

/// What the Express workflow hands over, the Standard one takes: every `at` a handover names
/// is a state the Standard workflow's router goes to, the handover reaches it with the state
/// the Standard workflow needs (the owner), and the Express workflow runs no state of the
/// Standard-only part (the hold, compensation after the POS, recording a failure) itself.
#[test]
fn every_handover_lands_on_a_state_the_standard_workflow_enters_at() {
    let t = template();
    let express = raw_definition(&t, &state_machine(&t, EXPRESS));
    let standard = raw_definition(&t, &state_machine(&t, STANDARD));
    let router = &standard["States"][standard["StartAt"].as_str().unwrap()];
    // First: no handover, the whole workflow from the event (a Choice on a missing variable
    // would fail the execution with States.Runtime).
    let choices = router["Choices"].as_array().unwrap();
    assert_eq!(
        choices[0],
        json!({"Variable": "$.handover", "IsPresent": false, "Next": "Receive"})
    );
    let entries: BTreeMap<&str, &str> = choices[1..]
        .iter()
        .map(|c| {
            assert_eq!(c["Variable"], "$.handover.at");
            (
                c["StringEquals"].as_str().unwrap(),
                c["Next"].as_str().unwrap(),
            )
        })
        .collect();
    let mut handovers = 0;
    for (name, s) in express["States"].as_object().unwrap() {
        if s["Next"] != "Hand over" {
            continue;
        }
        let at = s["Parameters"]["at"].as_str().unwrap();
        assert_eq!(
            entries.get(at),
            Some(&at),
            "{name}: the Standard workflow enters at {at}"
        );
        assert_eq!(s["ResultPath"], "$.handover", "{name}");
        assert_eq!(s["Parameters"]["from.$"], "$$.Execution.Id", "{name}");
        handovers += 1;
    }
    assert!(handovers >= 8, "{handovers}");
    assert!(
        express["States"]["Start"]["Parameters"]["owner.$"] == "$$.Execution.Id",
        "the Express execution owns the order it claims"
    );
    for standard_only in ["Hold", "Void in POS", "Record failure"] {
        assert!(
            express["States"].get(standard_only).is_none(),
            "Express runs {standard_only}"
        );
        assert!(standard["States"].get(standard_only).is_some());
    }
}

/// Asynchronous Express executions end at five minutes (the developer guide, "Choosing workflow
/// type"). The longest any path can take, each Lambda attempt running to its function's
/// timeout, each other service call to [`SERVICE_CALL_SECONDS`], and every retry waiting its
/// longest, must fit with a margin.
#[test]
fn every_express_path_fits_in_five_minutes_by_construction() {
    /// What a non-Lambda task (PutEvents, StartExecution) is allowed per attempt.
    const SERVICE_CALL_SECONDS: f64 = 10.0;
    const LIMIT_SECONDS: f64 = 300.0;
    const MARGIN_SECONDS: f64 = 30.0;
    let t = template();
    let machine = state_machine(&t, EXPRESS);
    let subs = substitutions(&machine);
    let def = definition(&t, &machine);
    let raw = raw_definition(&t, &machine);
    let cost = |name: &str| -> f64 {
        let s = &raw["States"][name];
        if s["Type"] != "Task" {
            return 0.0;
        }
        let per_attempt = match placeholder(&s["Parameters"]["FunctionName"]) {
            Some(key) => {
                let f = t
                    .resource(substituted_function(&subs[&key]).unwrap())
                    .unwrap();
                t.function_property(&f, "Timeout")
                    .and_then(|v| v.as_f64())
                    .unwrap()
            }
            None => SERVICE_CALL_SECONDS,
        };
        let mut attempts = 1.0;
        let mut waits = 0.0;
        for r in s["Retry"].as_array().into_iter().flatten() {
            let n = r["MaxAttempts"].as_u64().unwrap_or(3);
            let interval = r["IntervalSeconds"].as_f64().unwrap_or(1.0);
            let backoff = r["BackoffRate"].as_f64().unwrap_or(2.0);
            let cap = r["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
            attempts += n as f64;
            waits += (0..n)
                .map(|k| (interval * backoff.powi(i32::try_from(k).unwrap())).min(cap))
                .sum::<f64>();
        }
        attempts * per_attempt + waits
    };
    // The longest path: the graph has no cycles (checked), so a walk over every path is finite.
    let edges = asl::validate::edges(&def.machine);
    fn longest<'a>(
        at: &'a str,
        edges: &'a [asl::validate::Edge],
        cost: &dyn Fn(&str) -> f64,
        depth: usize,
    ) -> (f64, Vec<&'a str>) {
        assert!(depth < 64, "the Express workflow has a cycle at {at}");
        let mut best = (0.0, Vec::new());
        for e in edges.iter().filter(|e| e.from == at) {
            let (c, mut p) = longest(e.to.as_str(), edges, cost, depth + 1);
            if c > best.0 {
                p.insert(0, e.to.as_str());
                best = (c, p);
            }
        }
        (best.0 + cost(at), best.1)
    }
    let (worst, path) = longest(def.machine.start_at.as_str(), &edges, &cost, 0);
    assert!(
        worst <= LIMIT_SECONDS - MARGIN_SECONDS,
        "the longest Express path may take {worst} s: {path:?}"
    );
    // The arithmetic on a known task: dedup (10 s timeout) tried 1 + 2 + 1 times, and waits.
    assert!(cost("Dedup") > 40.0, "{}", cost("Dedup"));
    // The accept is on the Express path, so every partner's acceptance window (Uber Eats: 11.5
    // minutes) outlasts it by construction; one handed over to the Standard workflow after an
    // outage is refused by the domain once the window has passed, never accepted late.
    for p in order_domain::Partner::ALL {
        if let Some(window) = p.acceptance_window() {
            assert!(
                worst < window.num_seconds() as f64,
                "{p}'s acceptance window ({window}) is shorter than the Express path ({worst} s)"
            );
        }
    }
}

/// A failure before the claim (the Dedup step) must not write another delivery's order
/// record: this execution never held the claim, and another may own the order (a duplicate
/// delivery whose dedup failed once marked the owner's `SentToPos` order Failed through
/// `Record failure`). From Dedup's catch, the only function called is accept-order's
/// `denyUnclaimed` (which settles ownership with a conditional create, see its use case
/// tests), and every DynamoDB write is conditioned on the record naming this execution as its
/// creator (what that condition refuses is run in `tests/dynamodb_local.rs`).
#[test]
fn no_path_from_a_failed_claim_writes_another_deliverys_order_record() {
    let t = template();
    // Express: Dedup's catches only hand over (no function, no write) ...
    let (settles, writes, handed) = walk_from_dedup_catch(&t, &state_machine(&t, EXPRESS));
    assert_eq!((settles, writes), (0, 0));
    assert!(
        handed
            .iter()
            .all(|at| ["Dedup", "Deny unclaimed"].contains(&at.as_str())),
        "{handed:?}"
    );
    // ... and the Standard workflow, from the same catch, settles ownership once and writes
    // only where the record names the owning execution.
    let (settles, writes, _) = walk_from_dedup_catch(&t, &state_machine(&t, STANDARD));
    assert_eq!((settles, writes), (1, 1));
}

/// From Dedup's catches: how many functions are called (each must be `denyUnclaimed`), how
/// many DynamoDB writes (each conditioned on the owner), and where handovers go.
fn walk_from_dedup_catch(
    t: &Template,
    machine: &sam_template::Resource,
) -> (usize, usize, Vec<String>) {
    let def = definition(t, machine);
    let m = &def.machine;
    let edges = asl::validate::edges(m);
    let raw = raw_definition(t, machine);
    let (state, context) = workflow_state();
    let catches: Vec<&str> = raw["States"]["Dedup"]["Catch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Next"].as_str().unwrap())
        .collect();
    assert!(!catches.is_empty());
    let mut seen: BTreeSet<&str> = catches.iter().copied().collect();
    let mut queue: VecDeque<&str> = catches.into_iter().collect();
    let (mut settles, mut guarded_writes, mut handed) = (0, 0, Vec::new());
    while let Some(at) = queue.pop_front() {
        let s = &raw["States"][at];
        let resource = s["Resource"].as_str().unwrap_or_default();
        if resource.contains(":lambda:") {
            assert_eq!(
                s["Parameters"]["Payload"]["action"], "denyUnclaimed",
                "{at} ({resource}) is reachable from Dedup's catch and may act on an order this delivery does not own"
            );
            settles += 1;
        }
        if resource.contains(":dynamodb:") {
            let p = &s["Parameters"];
            let condition = p["ConditionExpression"].as_str().unwrap_or_default();
            assert!(
                condition.contains(&format!("{} = :exec", aws_adapters::orders::CREATED_BY)),
                "{at} writes the order without checking it is the owner's: {condition:?}"
            );
            let exec =
                asl::template::apply(&p["ExpressionAttributeValues"][":exec"], &state, &context)
                    .unwrap();
            assert_eq!(
                exec["S"], state["owner"],
                "{at}: :exec is the owning execution's id"
            );
            guarded_writes += 1;
        }
        if s["Next"] == "Hand over" {
            handed.push(s["Parameters"]["at"].as_str().unwrap().to_owned());
        }
        for e in edges.iter().filter(|e| e.from == at) {
            if seen.insert(e.to.as_str()) {
                queue.push_back(e.to.as_str());
            }
        }
    }
    (settles, guarded_writes, handed)
}

fn table(t: &Template, id: &str) -> Value {
    t.resource(id).unwrap().properties
}

#[test]
fn the_tables_in_the_template_have_the_keys_indexes_and_ttl_the_adapters_use() {
    use aws_adapters::tables::*;
    let t = template();
    let keys = |v: &Value| {
        v["KeySchema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["AttributeName"].as_str().unwrap().to_owned(),
                    k["KeyType"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let orders = table(&t, "OrdersTable");
    assert_eq!(
        keys(&orders),
        vec![(ORDERS_KEY.to_owned(), "HASH".to_owned())]
    );
    // Orders expire on a stated schedule, by the attribute the adapter writes.
    assert_eq!(
        orders["TimeToLiveSpecification"],
        json!({ "AttributeName": aws_adapters::tables::ORDERS_TTL_ATTR, "Enabled": true })
    );
    let held = table(&t, "HeldOrdersTable");
    assert_eq!(keys(&held), vec![(HELD_KEY.to_owned(), "HASH".to_owned())]);
    let gsi = &held["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"], HELD_BY_STORE_INDEX);
    assert_eq!(
        keys(gsi),
        vec![
            (HELD_STORE_ATTR.to_owned(), "HASH".to_owned()),
            (HELD_RELEASABLE_ATTR.to_owned(), "RANGE".to_owned())
        ]
    );
    assert_eq!(gsi["Projection"]["ProjectionType"], "ALL");
    assert_eq!(
        held["TimeToLiveSpecification"]["AttributeName"],
        HELD_TTL_ATTR
    );
    let idem = table(&t, "IdempotencyTable");
    assert_eq!(
        keys(&idem),
        vec![(IDEMPOTENCY_KEY.to_owned(), "HASH".to_owned())]
    );
    assert_eq!(
        idem["TimeToLiveSpecification"]["AttributeName"],
        IDEMPOTENCY_TTL_ATTR
    );
    let docs = table(&t, "DocumentsTable");
    assert_eq!(
        keys(&docs),
        vec![
            (DOCUMENTS_KEY.to_owned(), "HASH".to_owned()),
            (DOCUMENTS_PART.to_owned(), "RANGE".to_owned())
        ]
    );
    assert_eq!(
        docs["TimeToLiveSpecification"]["AttributeName"],
        DOCUMENTS_TTL_ATTR
    );
    let stores = table(&t, "StoresTable");
    assert_eq!(
        keys(&stores),
        vec![(
            aws_adapters::tables::STORES_KEY.to_owned(),
            "HASH".to_owned()
        )]
    );
    let menus = table(&t, "MenusTable");
    assert_eq!(
        keys(&menus),
        vec![
            (
                aws_adapters::tables::MENUS_KEY.to_owned(),
                "HASH".to_owned()
            ),
            (
                aws_adapters::tables::MENUS_VERSION.to_owned(),
                "RANGE".to_owned()
            )
        ]
    );
    let tokens = table(&t, "PartnerTokensTable");
    assert_eq!(
        keys(&tokens),
        vec![(
            aws_adapters::tables::PARTNER_TOKENS_KEY.to_owned(),
            "HASH".to_owned()
        )]
    );
    assert_eq!(
        tokens["TimeToLiveSpecification"]["AttributeName"],
        aws_adapters::tables::PARTNER_TOKENS_TTL_ATTR
    );
    // A cache of bearer tokens: encrypted with the stack's own customer managed key (rotated),
    // kept in no backup, gone with the stack.
    assert_eq!(tokens["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(tokens["SSESpecification"]["SSEType"], "KMS");
    assert_eq!(
        tokens["SSESpecification"]["KMSMasterKeyId"],
        json!({"Fn::GetAtt": ["PartnerTokensKey", "Arn"]})
    );
    let key = &t.json["Resources"]["PartnerTokensKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    assert!(tokens.get("PointInTimeRecoverySpecification").is_none());
    assert_eq!(
        t.json["Resources"]["PartnerTokensTable"]["DeletionPolicy"],
        "Delete"
    );
    let health = table(&t, "PosHealthTable");
    assert_eq!(
        keys(&health),
        vec![(
            aws_adapters::tables::POS_HEALTH_KEY.to_owned(),
            "HASH".to_owned()
        )]
    );
    assert_eq!(
        health["TimeToLiveSpecification"]["AttributeName"],
        aws_adapters::tables::POS_HEALTH_TTL_ATTR
    );
    assert_eq!(
        t.json["Resources"]["PosHealthTable"]["DeletionPolicy"],
        "Delete"
    );
    for id in [
        "OrdersTable",
        "HeldOrdersTable",
        "IdempotencyTable",
        "DocumentsTable",
        "StoresTable",
        "MenusTable",
    ] {
        let p = table(&t, id);
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{id}");
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{id}"
        );
        assert_eq!(
            p["DeletionProtectionEnabled"],
            json!({"Ref": "TableDeletionProtection"}),
            "{id}: protection is a parameter, off for a first deploy (a rollback must be able to delete the table)"
        );
        assert_eq!(
            t.json["Resources"][id]["DeletionPolicy"], "RetainExceptOnCreate",
            "{id}: kept on deletion, removed when a first create rolls back"
        );
        assert_eq!(
            t.json["Resources"][id]["UpdateReplacePolicy"], "Retain",
            "{id}"
        );
    }
}

/// What the template's references stand for when a function starts locally (no AWS).
fn local_resolver(t: &Template) -> Resolver {
    let mut r = Resolver::default();
    for res in t.resources() {
        r.refs
            .insert(res.id.clone(), json!(format!("local-{}", res.id)));
        r.attrs.insert(
            (res.id.clone(), "Arn".to_owned()),
            json!(format!("arn:aws:local:us-east-1:000000000000:{}", res.id)),
        );
        // What SAM's AutoPublishAlias makes referenceable: the alias and the version.
        if let Some(alias) = t.auto_publish_alias(&res) {
            let arn = format!("arn:aws:local:us-east-1:000000000000:{}", res.id);
            r.refs.insert(
                format!("{}Alias{alias}", res.id),
                json!(format!("{arn}:{alias}")),
            );
            r.refs
                .insert(format!("{}.Version", res.id), json!(format!("{arn}:1")));
            r.refs
                .insert(format!("{}.Alias", res.id), json!(format!("{arn}:{alias}")));
        }
    }
    let events = repo_root().join("events/dev-secrets");
    r.refs.insert(
        "WebhookSecretsArn".into(),
        json!(format!("file:{}", events.join("webhooks.json").display())),
    );
    for (parameter, key) in local_cloud::cloud::API_CREDENTIAL_SECRETS {
        r.refs.insert(
            parameter.into(),
            json!(format!(
                "file:{}",
                events.join(format!("{key}.json")).display()
            )),
        );
    }
    for p in t.json["Parameters"].as_object().unwrap().keys() {
        if !r.refs.contains_key(p) {
            r.refs.insert(
                p.clone(),
                t.parameter_default(p)
                    .unwrap_or(json!("http://127.0.0.1:9")),
            );
        }
    }
    r.refs.insert("AWS::Region".into(), json!("us-east-1"));
    r
}

#[tokio::test]
async fn every_function_starts_with_the_environment_the_template_gives_it() {
    let t = template();
    let resolver = local_resolver(&t);
    let functions = t.of_kind("AWS::Serverless::Function");
    // The order pipeline's functions, and the deployments' PreTraffic hook.
    assert_eq!(functions.len(), lambda_support::wiring::BINARIES.len() + 1);
    for f in functions {
        let binary = t.function_binary(&f).unwrap();
        if binary == "pre-traffic-check" {
            // It takes the version to check from its deployment, and finds that function's
            // samples by its name less this prefix.
            let env = t.function_environment(&f);
            let prefix = env
                .iter()
                .find(|(k, _)| *k == lambda_support::pretraffic::PREFIX_VAR)
                .map(|(_, v)| resolver.resolve(v).unwrap())
                .unwrap_or_else(|| {
                    panic!("{}: no {}", f.id, lambda_support::pretraffic::PREFIX_VAR)
                });
            assert_eq!(prefix, json!("orders-dev-"), "{}", f.id);
            continue;
        }
        let mut env = Env::from_pairs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ]);
        for (k, v) in t.function_environment(&f) {
            let value = resolver
                .resolve(&v)
                .unwrap_or_else(|e| panic!("{}: {k}: {e}", f.id));
            env = env.with(&k, value.as_str().unwrap_or_default());
        }
        let backend = wiring::Backend::from_env(&env).await.unwrap();
        let started = wiring::build(&binary, &env, &backend).await;
        started.unwrap_or_else(|e| {
            panic!(
                "{} ({binary}) does not start with the template's environment: {e}",
                f.id
            )
        });
    }
}

/// Every value the dev secrets hold, to look for anywhere they must not be.
fn dev_secret_values() -> Vec<String> {
    let dir = repo_root().join("events/dev-secrets");
    let mut values = vec![];
    let api = local_cloud::cloud::API_CREDENTIAL_SECRETS.map(|(_, key)| format!("{key}.json"));
    for file in std::iter::once("webhooks.json").chain(api.iter().map(String::as_str)) {
        let v: BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        values.extend(v.into_values());
    }
    assert!(values.len() >= 9, "{values:?}");
    values
}

#[test]
fn function_environments_hold_references_to_secrets_never_secret_values() {
    let t = template();
    let resolver = local_resolver(&t);
    let secrets = dev_secret_values();
    let secret_parameters: Vec<&str> = std::iter::once("WebhookSecretsArn")
        .chain(local_cloud::cloud::API_CREDENTIAL_SECRETS.map(|(parameter, _)| parameter))
        .collect();
    for &p in &secret_parameters {
        let pattern = t.json["Parameters"][p]["AllowedPattern"]
            .as_str()
            .unwrap_or_default();
        assert!(
            pattern.contains(":secretsmanager:"),
            "parameter {p} must only take a Secrets Manager ARN, has pattern {pattern:?}"
        );
        assert!(
            t.json["Parameters"][p].get("Default").is_none(),
            "parameter {p} must have no default: a secret's id is given at deploy"
        );
    }
    let mut checked = 0;
    for f in t.of_kind("AWS::Serverless::Function") {
        let policies = t.function_property(&f, "Policies").unwrap_or(Value::Null);
        for (k, v) in t.function_environment(&f) {
            let is_secret_id = k.ends_with("_SECRETS_ID") || k.ends_with("_CREDENTIALS_ID");
            if is_secret_id {
                // A secret's id: a reference to a Secrets Manager ARN parameter, readable by
                // this function's own policy, never the secret itself.
                let referenced = v["Ref"].as_str().unwrap_or_default();
                assert!(
                    secret_parameters.contains(&referenced),
                    "{}: {k} is {v}, not a !Ref to a secret ARN parameter",
                    f.id
                );
                let readable = policies.as_array().into_iter().flatten().any(|p| {
                    p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]["Ref"] == referenced
                });
                assert!(
                    readable,
                    "{}: {k} names a secret the function cannot read",
                    f.id
                );
            } else {
                // Anything else is a reference to a resource or a non-secret parameter, or a
                // short literal that does not look like a credential.
                match &v {
                    // A `!Sub` of parameters (the hook's `orders-${Stage}-`): none a secret's.
                    Value::Object(o) if o.contains_key("Fn::Sub") => {
                        let text = o["Fn::Sub"]
                            .as_str()
                            .unwrap_or_else(|| panic!("{}: {k} is {v}", f.id));
                        for p in &secret_parameters {
                            assert!(
                                !text.contains(&format!("${{{p}}}")),
                                "{}: {k} carries {p}",
                                f.id
                            );
                        }
                    }
                    Value::Object(o) => {
                        let target = o
                            .get("Ref")
                            .or_else(|| o.get("Fn::GetAtt").and_then(|a| a.get(0)))
                            .and_then(Value::as_str)
                            .unwrap_or_else(|| panic!("{}: {k} is {v}", f.id));
                        assert!(
                            !secret_parameters.contains(&target),
                            "{}: {k} carries the secret ARN {target} under a name that does \
                             not say so",
                            f.id
                        );
                        assert!(
                            t.json["Parameters"][target]["NoEcho"] != json!(true),
                            "{}: {k} puts the NoEcho parameter {target} in the environment",
                            f.id
                        );
                    }
                    Value::String(literal) => {
                        let lower = literal.to_lowercase();
                        let credential_words = ["secret", "token", "password", "key", "credential"];
                        assert!(
                            literal.len() <= 32
                                && !credential_words.iter().any(|w| lower.contains(w)),
                            "{}: {k} = {literal:?} looks like a credential",
                            f.id
                        );
                        let name = k.to_lowercase();
                        assert!(
                            !credential_words.iter().any(|w| name.contains(w)),
                            "{}: {k} is named as a credential yet holds a literal",
                            f.id
                        );
                    }
                    other => panic!("{}: {k} is {other}", f.id),
                }
            }
            // Resolved as a function starts locally, no value carries a secret.
            let resolved = resolver.resolve(&v).unwrap().to_string();
            for secret in &secrets {
                assert!(
                    !resolved.contains(secret.as_str()),
                    "{}: {k} resolves to a value holding a secret",
                    f.id
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
    // The functions that verify webhooks or call out get their secrets by id, each only the
    // secrets of the APIs it calls (one secret per partner's API, one for the POS).
    let partners = [
        "UBEREATS_CREDENTIALS_ID",
        "DOORDASH_CREDENTIALS_ID",
        "GRUBHUB_CREDENTIALS_ID",
        "APP_CREDENTIALS_ID",
    ];
    let with_pos: Vec<&str> = partners
        .iter()
        .copied()
        .chain(["POS_CREDENTIALS_ID"])
        .collect();
    let expected: [(&str, &[&str]); 11] = [
        ("intake", &["WEBHOOK_SECRETS_ID"]),
        ("dedup", &[]),
        ("adapt-order", &["UBEREATS_CREDENTIALS_ID"]),
        ("accept-order", &partners),
        ("hold-order", &[]),
        ("pos", &["POS_CREDENTIALS_ID"]),
        ("release-order", &with_pos),
        ("store-status", &partners),
        ("catalog-admin", &[]),
        ("handover", &[]),
        ("sweeper", &["POS_CREDENTIALS_ID"]),
    ];
    assert_eq!(expected.len(), lambda_support::wiring::BINARIES.len());
    for (binary, vars) in expected {
        let f = t
            .of_kind("AWS::Serverless::Function")
            .into_iter()
            .find(|f| t.function_binary(f).as_deref() == Some(binary))
            .unwrap_or_else(|| panic!("no function runs {binary}"));
        let secret_vars: BTreeSet<String> = t
            .function_environment(&f)
            .into_keys()
            .filter(|k| k.ends_with("_SECRETS_ID") || k.ends_with("_CREDENTIALS_ID"))
            .collect();
        let vars: BTreeSet<String> = vars.iter().map(|v| (*v).to_owned()).collect();
        assert_eq!(secret_vars, vars, "{binary}'s secrets");
    }
    // And nowhere in the template, not even in a default.
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the template holds a dev secret"
        );
    }
}

#[test]
fn the_workflow_diagrams_in_the_docs_are_the_ones_the_asl_generates() {
    let t = template();
    let readme = std::fs::read_to_string(repo_root().join("docs/workflows.md")).unwrap();
    for machine in state_machines(&t) {
        let expected = format!(
            "```mermaid\n{}```",
            asl::diagram::mermaid(&definition(&t, &machine))
        );
        assert!(
            readme.contains(&expected),
            "the diagram of {} in docs/workflows.md is stale: run `cargo xtask diagram`",
            machine.id
        );
    }
}

#[test]
fn every_function_logs_to_a_declared_group_with_the_stage_retention() {
    let t = template();
    for f in t.of_kind("AWS::Serverless::Function") {
        let logging = t.function_property(&f, "LoggingConfig").unwrap();
        let group_id = logging["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: LoggingConfig.LogGroup is not a !Ref", f.id));
        let group = t.resource(group_id).unwrap();
        assert_eq!(group.kind, "AWS::Logs::LogGroup", "{group_id}");
        assert_eq!(
            group.properties["RetentionInDays"],
            json!({"Ref": "LogRetentionDays"}),
            "{group_id}"
        );
        // Named as Lambda would name the function's own group.
        let name = f.properties["FunctionName"]["Fn::Sub"].as_str().unwrap();
        assert_eq!(
            group.properties["LogGroupName"],
            json!({"Fn::Sub": format!("/aws/lambda/{name}")}),
            "{group_id}"
        );
        // And the global settings still apply (SAM merges the maps).
        assert_eq!(logging["LogFormat"], "JSON", "{}", f.id);
    }
}

/// Every metric the operations dashboard shows is one something emits: the functions' EMF
/// metrics (with the dimensions they are emitted with, since CloudWatch matches a metric by
/// its whole dimension set), or a metric AWS publishes for a resource of the stack.
#[test]
fn every_dashboard_widget_names_a_metric_something_emits() {
    use pipeline::ports::Metric;
    // What the functions emit: every metric kind, through the EMF writer.
    let emf = lambda_support::metrics::EmfMetrics::to_writer(
        "OrderPipeline",
        "f",
        Box::new(std::io::sink()),
    );
    let kinds = [
        Metric::WebhookAccepted {
            partner: order_domain::Partner::ChainApp,
        },
        Metric::WebhookRefused {
            partner: None,
            status: 400,
        },
        Metric::OrderReceived {
            partner: order_domain::Partner::ChainApp,
        },
        Metric::DuplicateIgnored {
            payload_mismatch: false,
        },
        Metric::OrderRejected { reason: "r".into() },
        Metric::OrderAccepted,
        Metric::OrderHeld,
        Metric::OrderReleased { by: "time" },
        Metric::PosLatency {
            millis: 1.0,
            ok: true,
        },
        Metric::OrderSentToPos,
        Metric::OrderToPos { millis: 1.0 },
        Metric::OrderCancelled,
        Metric::OrderFailed { error: "e".into() },
    ];
    let emitted: BTreeSet<(String, Vec<String>)> = kinds
        .iter()
        .map(|m| {
            let doc = emf.document(m, 0);
            let cw = &doc["_aws"]["CloudWatchMetrics"][0];
            let name = cw["Metrics"][0]["Name"].as_str().unwrap().to_owned();
            let dims = cw["Dimensions"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect();
            (name, dims)
        })
        .collect();
    // What AWS publishes for the stack's resources (CloudWatch metric references of Lambda,
    // Step Functions and SQS), with the dimension they are published under.
    let aws: BTreeMap<&str, (&str, &[&str])> = BTreeMap::from([
        (
            "AWS/Lambda",
            (
                "FunctionName",
                &["Errors", "Throttles", "Duration", "Invocations"][..],
            ),
        ),
        (
            "AWS/States",
            (
                "StateMachineArn",
                &[
                    "ExecutionsSucceeded",
                    "ExecutionsFailed",
                    "ExecutionsTimedOut",
                    "ExecutionsAborted",
                ][..],
            ),
        ),
        (
            "AWS/SQS",
            ("QueueName", &["ApproximateNumberOfMessagesVisible"][..]),
        ),
    ]);
    let t = template();
    let dashboards = t.of_kind("AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = dashboards[0].properties["DashboardBody"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .to_owned();
    // The substitutions name resources of the stack (or its parameters and pseudo parameters).
    for (i, _) in body.match_indices("${") {
        let name: String = body[i + 2..].chars().take_while(|c| *c != '}').collect();
        let resource = name.split('.').next().unwrap();
        assert!(
            resource.starts_with("AWS::") || t.resource(resource).is_some() || resource == "Stage",
            "the dashboard names {name}, which the stack does not have"
        );
    }
    let body: Value = serde_json::from_str(&body).unwrap();
    let mut checked = 0;
    for w in body["widgets"].as_array().unwrap() {
        let title = w["properties"]["title"].as_str().unwrap();
        for m in w["properties"]["metrics"].as_array().unwrap() {
            let m = m.as_array().unwrap();
            if let Some(expression) = m[0].get("expression").and_then(Value::as_str) {
                // SEARCH('{Namespace,dim,...} MetricName="X" ...', 'Stat', period)
                let schema =
                    &expression[expression.find('{').unwrap() + 1..expression.find('}').unwrap()];
                let mut parts = schema.split(',');
                let namespace = parts.next().unwrap();
                let dims: Vec<String> = parts.map(str::to_owned).collect();
                let name = expression
                    .split("MetricName=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                if namespace == "OrderPipeline" {
                    assert!(
                        emitted.contains(&(name.to_owned(), dims.clone())),
                        "{title}: nothing emits {name} with dimensions {dims:?}"
                    );
                } else {
                    let (dim, names) = aws[namespace];
                    assert!(
                        names.contains(&name) && dims == [dim],
                        "{title}: {namespace} {name} {dims:?}"
                    );
                }
                // A search by dimension value finds only what matches it: each value is a
                // quoted, whole name of a resource of the stack (`"${Function}"`), never a
                // fragment (`FunctionName="orders-dev-"` is an exact match that finds
                // nothing).
                for dim in &dims {
                    for term in expression.split(&format!("{dim}=")).skip(1) {
                        let value = term
                            .strip_prefix('"')
                            .and_then(|t| t.split('"').next())
                            .unwrap_or_else(|| {
                                panic!("{title}: {dim} is searched by an unquoted fragment")
                            });
                        let resource = value
                            .strip_prefix("${")
                            .and_then(|v| v.strip_suffix('}'))
                            .unwrap_or_else(|| {
                                panic!("{title}: {dim}={value:?} is not a resource of the stack")
                            });
                        assert!(
                            t.resource(resource).is_some(),
                            "{title}: {dim} names {resource}, which the stack does not have"
                        );
                    }
                }
            } else {
                let (namespace, name, dim) = (
                    m[0].as_str().unwrap(),
                    m[1].as_str().unwrap(),
                    m[2].as_str().unwrap(),
                );
                let (expected, names) = aws[namespace];
                assert!(
                    names.contains(&name) && dim == expected,
                    "{title}: {namespace} {name} by {dim}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked}");
    // Both workflows are on it.
    let text = dashboards[0].properties["DashboardBody"].to_string();
    assert!(text.contains("${OrderWorkflow}") && text.contains("${OrderHoldWorkflow}"));
}

/// A step that tells the partner why (it reads `$.error`) must not lose that reason to its own
/// failure: its catches write elsewhere, so whatever runs it again (a retry, the Standard
/// workflow after a handover) tells the same reason. (A catch that wrote `$.error` turned a
/// refusal into a failure once a deny was handed over.)
#[test]
fn no_step_that_reads_the_error_overwrites_it_when_it_fails() {
    let t = template();
    let mut readers = 0;
    for machine in state_machines(&t) {
        let raw = raw_definition(&t, &machine);
        for (name, s) in raw["States"].as_object().unwrap() {
            if !s["Parameters"].to_string().contains("\"$.error\"") {
                continue;
            }
            readers += 1;
            for c in s["Catch"].as_array().into_iter().flatten() {
                assert_ne!(
                    c["ResultPath"], "$.error",
                    "{}: {name} reads $.error and its catch {} overwrites it",
                    machine.id, c["ErrorEquals"]
                );
            }
        }
    }
    assert!(readers >= 4, "{readers}");
}

/// Every URL parameter the functions send credentials or orders to refuses, at deploy time,
/// what the functions refuse at init (`http_clients::check_api_url`): plain http:// off
/// loopback and credentials in the URL. The pattern is run as CloudFormation runs it (the
/// whole value must match), here through JSON Schema's `pattern`.
#[test]
fn every_api_url_parameter_is_https_only_but_for_loopback() {
    let t = template();
    let params = t.json["Parameters"].as_object().unwrap();
    let urls: Vec<&String> = params.keys().filter(|k| k.ends_with("Url")).collect();
    assert!(urls.len() >= 6, "{urls:?}");
    for name in urls {
        let pattern = params[name]["AllowedPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no AllowedPattern"));
        let v = jsonschema::validator_for(&json!({
            "type": "string",
            "pattern": format!("^(?:{pattern})$")
        }))
        .unwrap();
        for ok in [
            "https://api.example.com",
            "https://api.example.com/v1",
            "http://127.0.0.1:4010",
            "http://localhost:9000/pos",
        ] {
            assert!(v.is_valid(&json!(ok)), "{name} refuses {ok}");
            assert_eq!(http_clients::check_api_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://api.example.com",
            "http://10.0.0.5",
            "http://localhost.example.com",
            "https://user:secret@api.example.com",
            "ftp://api.example.com",
            "api.example.com",
        ] {
            assert!(!v.is_valid(&json!(bad)), "{name} takes {bad}");
            assert!(http_clients::check_api_url(bad).is_err(), "{bad}");
        }
        if let Some(default) = t.parameter_default(name) {
            assert!(v.is_valid(&default), "{name}'s default {default}");
        }
    }
}

/// The deploy guide's secrets are in the forms the functions take: each API credential parses
/// as `partners::outbound` parses it at the functions' start, each webhook credential passes
/// the strength check intake makes, once the guide's `<placeholders>` are filled. (The guide
/// once stored `"ubereats":"<token>"`, which every function refused: every partner call failed
/// after a first deploy that followed it.)
#[test]
fn the_deploy_guides_secrets_are_in_the_forms_the_functions_take() {
    use order_domain::Partner;
    let guide = std::fs::read_to_string(repo_root().join("docs/deploy.md")).unwrap();
    let secret = |name: &str| -> serde_json::Map<String, Value> {
        let at = guide
            .find(&format!("--name orders/dev/{name}"))
            .unwrap_or_else(|| panic!("the guide creates orders/dev/{name}"));
        let text = guide[at..]
            .split_once("--secret-string '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(json, _)| json)
            .unwrap();
        serde_json::from_str(text).unwrap()
    };
    // Placeholders filled as an operator would: with values of the right shape.
    let fill = |v: &str| -> String {
        let mut out = String::new();
        let mut rest = v;
        while let Some((before, after)) = rest.split_once('<') {
            out.push_str(before);
            let (name, tail) = after.split_once('>').unwrap();
            out.push_str(match name {
                "issue_date_ms" => "1764547200000",
                "signing_secret" if v.starts_with("jwt:") => {
                    "c2lnbmluZy1zZWNyZXQtb2YtYS1kZXZlbG9wZXI"
                }
                _ => "filled-in-value-of-24-bytes",
            });
            rest = tail;
        }
        out.push_str(rest);
        out
    };
    let webhooks = secret("webhooks");
    for p in Partner::ALL {
        // Each partner's API credentials in a secret of its own, holding nothing else.
        let api = secret(p.as_str());
        assert_eq!(api.len(), 1, "orders/dev/{p} holds {p}'s credentials only");
        let value = api[p.as_str()].as_str().unwrap();
        partners::outbound::ApiCredentials::parse(p, &fill(value))
            .unwrap_or_else(|e| panic!("the guide's {p} API credential {value}: {e}"));
        let value = webhooks[p.as_str()].as_str().unwrap();
        partners::auth::check_webhook_credential(p, &fill(value))
            .unwrap_or_else(|e| panic!("the guide's {p} webhook credential {value}: {e}"));
    }
    let pos = secret("pos");
    assert_eq!(
        pos.keys().collect::<Vec<_>>(),
        ["pos"],
        "the POS key in a secret of its own"
    );
    // The guide's parameter table names every secret parameter the template has.
    for (parameter, _) in local_cloud::cloud::API_CREDENTIAL_SECRETS {
        assert!(
            guide.contains(&format!("`{parameter}`")),
            "the guide names {parameter}"
        );
    }
}

/// Every `cargo lambda watch` the project starts (`make watch`, the samples' smoke run)
/// listens on loopback only: it listens on every interface (`::`) unless told otherwise, and
/// its functions answer with the committed development secrets.
#[test]
fn every_cargo_lambda_watch_listens_on_loopback_only() {
    let root = repo_root();
    let mut seen = 0;
    for file in ["Makefile", "scripts/watch_smoke.py"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        // Each command that starts the watcher: a shell line, or the argument list up to the
        // next closing bracket in the Python script.
        for (at, _) in text
            .match_indices("lambda\", \"watch\"")
            .chain(text.match_indices("\tcargo lambda watch "))
        {
            let command = &text[at..];
            let command = &command[..command.find([']', '\n']).unwrap_or(command.len())];
            let address = command
                .split("--invoke-address")
                .nth(1)
                .map(|rest| {
                    rest.trim_start_matches(['"', ',', ' '])
                        .split(['"', ' '])
                        .next()
                        .unwrap_or_default()
                })
                .unwrap_or_else(|| {
                    panic!("{file}: a cargo lambda watch without --invoke-address: {command}")
                });
            assert!(
                address == "::1" || address == "127.0.0.1",
                "{file}: cargo lambda watch listens on {address:?}, not loopback"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 2, "make watch and the samples' smoke run");
}
