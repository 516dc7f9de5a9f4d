//! The template's IAM against what the code calls. Every role the template defines is
//! covered, by name: each function's role allows every AWS call its code can make (the
//! adapters its wiring hands out, each declaring the IAM actions its SDK calls need) and
//! grants no action on any resource beyond those calls; each state machine's role allows
//! exactly what its Task states call; each rule's role starts exactly its target. The roles
//! are read as the local cloud enforces them: the SAM translator's output, through
//! `local_cloud::iam`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use lambda_support::wiring::{AwsCall, AwsResource};
use lambda_support::{Env, wiring};
use local_cloud::app::{App, Overrides};
use local_cloud::iam::policy::{Effect, Patterns};
use local_cloud::iam::{Caller, Iam, Role};
use serde_json::Value;
use suites::repo_root;

const WEBHOOK_SECRETS: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhooks";

/// Each API's credentials secret: its ARN here, and the key (and dev file) it holds.
fn api_credential_secrets() -> impl Iterator<Item = (&'static str, String, &'static str)> {
    local_cloud::cloud::API_CREDENTIAL_SECRETS
        .into_iter()
        .map(|(parameter, key)| {
            let arn = format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{key}");
            (parameter, arn, key)
        })
}

fn app_and_iam() -> (App, Iam) {
    let root = repo_root();
    let template = root.join("infra/template.yaml");
    let mut parameters = BTreeMap::new();
    for p in [
        "UberEatsApiUrl",
        "UberEatsTokenUrl",
        "DoorDashApiUrl",
        "GrubhubApiUrl",
        "AppApiUrl",
        "PosApiUrl",
    ] {
        parameters.insert(p.to_owned(), "http://127.0.0.1:9".to_owned());
    }
    parameters.insert("WebhookSecretsArn".to_owned(), WEBHOOK_SECRETS.to_owned());
    for (parameter, arn, _) in api_credential_secrets() {
        parameters.insert(parameter.to_owned(), arn);
    }
    parameters.insert("Stage".to_owned(), "contract".to_owned());
    let app = App::load(
        &template,
        &Overrides {
            parameters,
            ..Default::default()
        },
    )
    .unwrap();
    let cfn = local_cloud::iam::transform(&root, &template, &root.join("target/iam-contract"))
        .unwrap_or_else(|e| panic!("{e}"));
    let iam = Iam::load(&cfn, &app.resolver, "contract").unwrap();
    (app, iam)
}

/// The calls a function's code can make: its use case built exactly as its `main` builds it,
/// on an AWS backend that records the adapters it hands out.
async fn calls_of(binary: &str, env: &Env) -> Vec<AwsCall> {
    let backend = wiring::Backend::from_env(env).await.unwrap();
    let built = wiring::build(binary, env, &backend).await;
    built.unwrap_or_else(|e| panic!("{binary} does not build: {e}"));
    backend.aws_calls()
}

/// The ARN a call is made on, from the function's environment.
fn arn_of(
    call: &AwsCall,
    env: &BTreeMap<String, String>,
    state_machines: &[String],
) -> Vec<String> {
    let AwsResource::Named { var, index } = &call.resource else {
        // A task token may come from any workflow that holds with one: each that does.
        return state_machines.to_vec();
    };
    let value = env
        .get(*var)
        .unwrap_or_else(|| panic!("{var} is not in the function's environment"));
    vec![match call.action.split(':').next() {
        Some("dynamodb") => {
            let table = format!("arn:aws:dynamodb:us-east-1:000000000000:table/{value}");
            match index {
                Some(i) => format!("{table}/index/{i}"),
                None => table,
            }
        }
        Some("events") => format!("arn:aws:events:us-east-1:000000000000:event-bus/{value}"),
        _ => value.clone(),
    }]
}

/// (action, resource) pairs a principal needs.
type Needs = BTreeSet<(String, String)>;

/// Whether `granted` (an action on a resource, as a statement names them) is one of `needs`:
/// the same action on the same resource, or a function's versions and aliases
/// (`<function ARN>*` or `<function ARN>:*`, as SAM's LambdaInvokePolicy names them) when the
/// code invokes that function, qualified or not.
fn covered(needs: &Needs, action: &str, resource: &str) -> bool {
    let base = resource
        .strip_suffix(":*")
        .or_else(|| resource.strip_suffix('*'))
        .filter(|_| action == "lambda:InvokeFunction");
    needs.contains(&(action.to_owned(), resource.to_owned()))
        || base.is_some_and(|b| invokes(needs, b))
}

/// Whether `needs` invokes the function of unqualified ARN `function`, by that ARN or by one
/// of its versions or aliases (`<function ARN>:<qualifier>`).
fn invokes(needs: &Needs, function: &str) -> bool {
    needs.iter().any(|(a, r)| {
        a == "lambda:InvokeFunction"
            && (r == function
                || r.strip_prefix(function)
                    .and_then(|q| q.strip_prefix(':'))
                    .is_some_and(|q| !q.is_empty() && !q.contains(':')))
    })
}

/// Every statement of `role` (but AWS's managed logging and tracing policies, and the
/// delivery statements AWS only accepts on "*") grants only pairs in `needs`: each action
/// named exactly (no wildcard), each resource named (no `*`, no `NotResource`).
fn assert_nothing_broader(who: &str, role: &Role, needs: &Needs) {
    for s in role
        .statements
        .iter()
        .filter(|s| !s.label.contains("arn:aws:iam::aws:policy/"))
    {
        // A Deny only narrows what the Allows grant.
        if s.effect == Effect::Deny {
            continue;
        }
        let Patterns::AnyOf(actions) = &s.actions else {
            panic!("{who}: {} grants all actions but some", s.label);
        };
        let Some(Patterns::AnyOf(resources)) = &s.resources else {
            panic!("{who}: {} names no resources, or all but some", s.label);
        };
        // CloudWatch Logs delivery and X-Ray only accept "*" (AWS).
        let delivery = resources == &["*".to_owned()]
            && actions
                .iter()
                .all(|a| a.starts_with("logs:") || a.starts_with("xray:"));
        if delivery {
            continue;
        }
        for a in actions {
            assert!(
                !a.contains('*') && !a.contains('?'),
                "{who}: {} grants {a}, a wildcard; name the actions the code calls",
                s.label
            );
            for r in resources {
                // A workflow's version or alias is granted by the machine's own ARN scoped to
                // the qualifiers it calls (Step Functions authorises by the machine's ARN).
                let qualifiers: BTreeSet<&str> = needs
                    .iter()
                    .filter(|(na, _)| na == a && a.starts_with("states:"))
                    .filter_map(|(_, nr)| nr.strip_prefix(r.as_str())?.strip_prefix(':'))
                    .collect();
                let scoped = !qualifiers.is_empty()
                    && s.conditions.iter().any(|c| {
                        c.key == "states:StateMachineQualifier"
                            && c.operator == local_cloud::iam::policy::Operator::StringEquals
                            && c.values.iter().all(|v| qualifiers.contains(v.as_str()))
                    });
                assert!(
                    covered(needs, a, r) || scoped,
                    "{who}: {} grants {a} on {r}, which its code never calls (it calls {needs:#?})",
                    s.label
                );
            }
        }
    }
}

/// Every pair in `needs` is allowed to `caller`. A `PutEvents` is asked with a condition
/// context of the first event the caller publishes ([`assert_publishes_exactly`] checks
/// them all).
fn assert_allowed(who: &str, publisher: Publisher<'_>, iam: &Iam, caller: &Caller, needs: &Needs) {
    for (action, arn) in needs {
        let context: BTreeMap<&'static str, String> = if action == "events:PutEvents" {
            let (source, detail_type) = *publishes(publisher)
                .iter()
                .next()
                .unwrap_or_else(|| panic!("{who} puts events but publishes none"));
            BTreeMap::from([
                ("events:source", source.to_owned()),
                ("events:detail-type", detail_type.to_owned()),
            ])
        } else if action.starts_with("kms:") {
            local_cloud::dynamodb_proxy::kms_context()
                .into_iter()
                .collect()
        } else {
            BTreeMap::new()
        };
        if let Err(denied) = iam.authorize(caller, action, arn, context) {
            panic!("{who} needs {action} on {arn}, which its role does not allow: {denied}");
        }
        // A table's key is used only as DynamoDB uses it on the caller's behalf: the same
        // call made directly (no kms:ViaService), or from another account, is refused.
        if action.starts_with("kms:") {
            assert!(
                iam.authorize(caller, action, arn, BTreeMap::new()).is_err(),
                "{who} may call {action} on {arn} directly, not only through DynamoDB"
            );
            let mut elsewhere: BTreeMap<&'static str, String> =
                local_cloud::dynamodb_proxy::kms_context()
                    .into_iter()
                    .collect();
            elsewhere.insert("kms:CallerAccount", "111122223333".to_owned());
            assert!(
                iam.authorize(caller, action, arn, elsewhere).is_err(),
                "{who} may call {action} on {arn} from another account"
            );
            let mut other_service: BTreeMap<&'static str, String> =
                local_cloud::dynamodb_proxy::kms_context()
                    .into_iter()
                    .collect();
            other_service.insert("kms:ViaService", "s3.us-east-1.amazonaws.com".to_owned());
            assert!(
                iam.authorize(caller, action, arn, other_service).is_err(),
                "{who} may call {action} on {arn} through another service"
            );
        }
    }
}

/// Whose events: a function's (by binary name) or a workflow's (its definition).
#[derive(Clone, Copy)]
enum Publisher<'a> {
    Function(&'a str),
    Workflow(&'a Value),
}

/// The events a function or workflow publishes, from records the roles do not write: a
/// function's, from the manifest's `publishes` of its samples (what the samples showed it
/// publish); a workflow's, the events the functions build for it to put (every `detailType`
/// in the samples' outputs, checked by the samples test) and the literal `DetailType`s of
/// its own `events:putEvents` tasks.
fn publishes(who: Publisher<'_>) -> BTreeSet<(&'static str, &'static str)> {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/manifest.json")).unwrap(),
    )
    .unwrap();
    let samples = manifest["samples"].as_array().unwrap();
    let catalogue = order_events::ALL_EVENTS
        .iter()
        .chain(order_events::CATALOGUE_CHANGE_EVENTS.iter())
        .copied();
    match who {
        Publisher::Function(f) => {
            let mine: BTreeSet<String> = samples
                .iter()
                .filter(|s| s["function"] == f)
                .flat_map(|s| {
                    s["expect"]["publishes"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect();
            let mut mine: BTreeSet<(&'static str, &'static str)> =
                catalogue.filter(|(_, d)| mine.contains(*d)).collect();
            // The sweeper's POS watch pauses and resumes stores; the seeded samples have no
            // failing POS, so its announcements come from the use case, whose tests show each.
            if f == "sweeper" {
                mine.extend(pipeline::usecases::pos_watch::ANNOUNCES);
            }
            mine
        }
        Publisher::Workflow(definition) => {
            fn detail_types(v: &Value, key: &str, out: &mut BTreeSet<String>) {
                match v {
                    Value::Object(m) => {
                        if let Some(Value::String(d)) = m.get(key) {
                            out.insert(d.clone());
                        }
                        m.values().for_each(|x| detail_types(x, key, out));
                    }
                    Value::Array(a) => a.iter().for_each(|x| detail_types(x, key, out)),
                    _ => {}
                }
            }
            let mut built = BTreeSet::new();
            for s in samples {
                detail_types(&s["expect"]["output"], "detailType", &mut built);
            }
            detail_types(definition, "DetailType", &mut built);
            catalogue
                .filter(|(source, d)| {
                    *source == order_events::SOURCE_PIPELINE && built.contains(*d)
                })
                .collect()
        }
    }
}

/// `caller` may put exactly the events `who` publishes: each allowed, every other event of
/// the catalogue refused (the role's `events:source` and `events:detail-type` conditions).
fn assert_publishes_exactly(
    who: &str,
    publisher: Publisher<'_>,
    iam: &Iam,
    caller: &Caller,
    bus: &str,
) {
    let mine = publishes(publisher);
    assert!(!mine.is_empty(), "{who} puts events but publishes none");
    for (source, detail_type) in order_events::ALL_EVENTS
        .iter()
        .chain(order_events::CATALOGUE_CHANGE_EVENTS.iter())
    {
        let context = BTreeMap::from([
            ("events:source", (*source).to_owned()),
            ("events:detail-type", (*detail_type).to_owned()),
        ]);
        let allowed = iam
            .authorize(caller, "events:PutEvents", bus, context)
            .is_ok();
        assert_eq!(
            allowed,
            mine.contains(&(*source, *detail_type)),
            "{who} {} put {source} {detail_type:?}",
            if allowed { "may" } else { "may not" }
        );
    }
}

/// What a state machine's Task states call, from its definition: Lambda invocations, bus
/// puts, DynamoDB updates and executions started.
fn task_needs(definition: &Value, tables: &BTreeMap<String, String>) -> Needs {
    let mut out = Needs::new();
    for state in definition["States"].as_object().unwrap().values() {
        if state["Type"] != "Task" {
            continue;
        }
        let p = &state["Parameters"];
        let resource = state["Resource"].as_str().unwrap();
        let service = resource
            .strip_prefix("arn:aws:states:::")
            .unwrap_or_else(|| panic!("a Task resource the contract does not read: {resource}"));
        let (action, on) = match service.split('.').next().unwrap() {
            "lambda:invoke" => (
                "lambda:InvokeFunction",
                p["FunctionName"].as_str().unwrap().to_owned(),
            ),
            "events:putEvents" => {
                for e in p["Entries"].as_array().unwrap() {
                    let bus = e["EventBusName"].as_str().unwrap();
                    out.insert((
                        "events:PutEvents".to_owned(),
                        format!("arn:aws:events:us-east-1:000000000000:event-bus/{bus}"),
                    ));
                }
                continue;
            }
            "dynamodb:updateItem" => (
                "dynamodb:UpdateItem",
                tables[p["TableName"].as_str().unwrap()].clone(),
            ),
            "states:startExecution" => (
                "states:StartExecution",
                p["StateMachineArn"].as_str().unwrap().to_owned(),
            ),
            "sqs:sendMessage" => (
                "sqs:SendMessage",
                format!(
                    "arn:aws:sqs:us-east-1:000000000000:{}",
                    p["QueueUrl"].as_str().unwrap().rsplit('/').next().unwrap()
                ),
            ),
            other => panic!("a Task resource the contract does not read: {other}"),
        };
        out.insert((action.to_owned(), on));
    }
    out
}

#[tokio::test]
async fn every_function_role_allows_each_call_its_code_can_make_and_nothing_wider() {
    let (app, iam) = app_and_iam();
    let holding: Vec<String> = app
        .state_machines
        .iter()
        .filter(|m| m.json.to_string().contains(".waitForTaskToken"))
        .map(|m| m.arn.clone())
        .collect();
    assert!(!holding.is_empty());
    let dev_secrets = repo_root().join("events/dev-secrets");
    let names: BTreeSet<&str> = app.functions.iter().map(|f| f.binary.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "intake",
            "dedup",
            "adapt-order",
            "accept-order",
            "hold-order",
            "pos",
            "release-order",
            "catalog-admin",
            "store-status",
            "handover",
            "sweeper",
            "pre-traffic-check"
        ]),
        "every function, by name"
    );
    for f in &app.functions {
        if f.binary == "pre-traffic-check" {
            assert_hook_role(&app, &iam, f);
            continue;
        }
        // Built with the development secrets from files; the calls are recorded all the same.
        let mut env = Env::from_pairs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "contract"),
            ("AWS_SECRET_ACCESS_KEY", "contract"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ]);
        for (k, v) in &f.env {
            let api_file = api_credential_secrets()
                .find(|(_, arn, _)| arn == v)
                .map(|(_, _, key)| dev_secrets.join(format!("{key}.json")));
            let v = match (v.as_str(), api_file) {
                (WEBHOOK_SECRETS, _) => {
                    format!("file:{}", dev_secrets.join("webhooks.json").display())
                }
                (_, Some(file)) => format!("file:{}", file.display()),
                _ => v.clone(),
            };
            env = env.with(k, &v);
        }
        let calls = calls_of(&f.binary, &env).await;
        assert!(!calls.is_empty(), "{} makes no AWS call?", f.binary);
        let caller = iam.function_caller(&f.name).unwrap();
        assert!(matches!(caller, Caller::Role { .. }));
        let mut needs = Needs::new();
        for call in &calls {
            for arn in arn_of(call, &f.env, &holding) {
                // DynamoDB uses a table's customer managed key on the caller's behalf.
                if let Some(key) = iam.table_key(&arn) {
                    for kms in local_cloud::dynamodb_proxy::kms_actions(call.action) {
                        needs.insert(((*kms).to_owned(), key.to_owned()));
                    }
                }
                needs.insert((call.action.to_owned(), arn));
            }
        }
        // Its event source mappings poll with its role (the Lambda developer guide,
        // "Execution role permissions" for SQS).
        for (_, mapping) in app
            .queue_triggers
            .iter()
            .filter(|(name, _)| name.split(':').next() == Some(f.name.as_str()))
        {
            for action in [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ] {
                needs.insert((
                    action.to_owned(),
                    format!("arn:aws:sqs:us-east-1:000000000000:{}", mapping.queue),
                ));
            }
        }
        // A failure destination SAM grants SendMessage on is needed too.
        if let Some(queue) = &f.on_failure {
            needs.insert((
                "sqs:SendMessage".to_owned(),
                format!("arn:aws:sqs:us-east-1:000000000000:{queue}"),
            ));
        }
        assert_allowed(
            &f.binary,
            Publisher::Function(&f.binary),
            &iam,
            &caller,
            &needs,
        );
        assert_nothing_broader(&f.binary, iam.function_role(&f.name).unwrap(), &needs);
        for (_, bus) in needs.iter().filter(|(a, _)| a == "events:PutEvents") {
            assert_publishes_exactly(
                &f.binary,
                Publisher::Function(&f.binary),
                &iam,
                &caller,
                bus,
            );
        }
    }
}

#[test]
fn every_workflow_role_allows_exactly_what_its_tasks_call() {
    let (app, iam) = app_and_iam();
    let tables: BTreeMap<String, String> = app
        .tables
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                format!("arn:aws:dynamodb:us-east-1:000000000000:table/{}", t.name),
            )
        })
        .collect();
    let kinds: BTreeSet<String> = app
        .state_machines
        .iter()
        .map(|m| format!("{:?}", m.workflow_type))
        .collect();
    assert_eq!(
        kinds.len(),
        2,
        "both workflows, Express and Standard: {kinds:?}"
    );
    for sm in &app.state_machines {
        let caller = iam.state_machine_caller(&sm.arn).unwrap();
        let needs = task_needs(&sm.json, &tables);
        assert!(
            needs.iter().any(|(a, _)| a == "lambda:InvokeFunction"),
            "{}: {needs:?}",
            sm.name
        );
        assert_allowed(
            &sm.name,
            Publisher::Workflow(&sm.json),
            &iam,
            &caller,
            &needs,
        );
        assert_nothing_broader(&sm.name, iam.state_machine_role(&sm.arn).unwrap(), &needs);
        for (_, bus) in needs.iter().filter(|(a, _)| a == "events:PutEvents") {
            assert_publishes_exactly(&sm.name, Publisher::Workflow(&sm.json), &iam, &caller, bus);
        }
        // What it never calls, it may not: another function, itself, a delete.
        for f in &app.functions {
            if !invokes(&needs, &f.arn) {
                for arn in [f.arn.clone(), format!("{}:live", f.arn)] {
                    assert!(
                        iam.authorize(&caller, "lambda:InvokeFunction", &arn, BTreeMap::new())
                            .is_err(),
                        "{} may invoke {arn}, which it never calls",
                        sm.name,
                    );
                }
            }
        }
        // Each function it calls, it calls through its `live` alias: a deploy's canary and
        // rollback reach every execution, a held order's included (one pinned to a version
        // would keep a rolled-back build for as long as it is held); never unqualified.
        for (_, arn) in needs.iter().filter(|(a, _)| a == "lambda:InvokeFunction") {
            assert!(
                arn.ends_with(":live"),
                "{} invokes {arn}, not the function's live alias",
                sm.name
            );
        }
        assert!(
            iam.authorize(&caller, "states:StartExecution", &sm.arn, BTreeMap::new())
                .is_err(),
            "{} may start itself",
            sm.name
        );
        for t in tables.values() {
            assert!(
                iam.authorize(&caller, "dynamodb:DeleteItem", t, BTreeMap::new())
                    .is_err()
            );
        }
    }
}

/// The PreTraffic hook's role: it reads the deployment that invokes it and its AppSpec,
/// invokes the version the AppSpec names (any version of a function that deploys
/// gradually, never an alias or `$LATEST`), and reports; nothing else.
fn assert_hook_role(app: &App, iam: &Iam, f: &local_cloud::app::Function) {
    let prefix = &f.env[lambda_support::pretraffic::PREFIX_VAR];
    let group = |what: &str| {
        format!(
            "arn:aws:codedeploy:us-east-1:000000000000:{what}:{}",
            local_cloud::app::CODEDEPLOY_APPLICATION
        )
    };
    let mut needs = Needs::new();
    let gradual: Vec<&local_cloud::app::Function> = app
        .functions
        .iter()
        .filter(|g| g.binary != f.binary && g.alias.is_some())
        .collect();
    for g in &gradual {
        assert_eq!(
            g.name.strip_prefix(prefix.as_str()),
            Some(g.binary.as_str()),
            "the hook finds {}'s samples by its name less {prefix}",
            g.name
        );
        let function = format!("arn:aws:lambda:us-east-1:000000000000:function:{}", g.name);
        needs.insert(("lambda:InvokeFunction".to_owned(), format!("{function}:*")));
        // A version is allowed; the alias that serves orders and $LATEST are not.
        let caller = iam.function_caller(&f.name).unwrap();
        assert!(
            iam.authorize(
                &caller,
                "lambda:InvokeFunction",
                &format!("{function}:7"),
                BTreeMap::new()
            )
            .is_ok(),
            "the hook may not invoke {}'s versions",
            g.name
        );
        for qualifier in ["live", "$LATEST"] {
            let arn = format!("{function}:{qualifier}");
            assert!(
                iam.authorize(&caller, "lambda:InvokeFunction", &arn, BTreeMap::new())
                    .is_err(),
                "the hook may invoke {arn}"
            );
        }
        assert!(
            iam.authorize(&caller, "lambda:InvokeFunction", &function, BTreeMap::new())
                .is_err(),
            "the hook may invoke {function} unqualified"
        );
    }
    assert!(!gradual.is_empty());
    for action in [
        "codedeploy:GetDeployment",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
    ] {
        needs.insert((action.to_owned(), format!("{}/*", group("deploymentgroup"))));
    }
    needs.insert((
        "codedeploy:GetApplicationRevision".to_owned(),
        group("application"),
    ));
    let caller = iam.function_caller(&f.name).unwrap();
    for (action, resource) in &needs {
        let resource = resource
            .replace("/*", "/PosFunctionDeploymentGroup")
            .replace(":*", ":7");
        assert!(
            iam.authorize(&caller, action, &resource, BTreeMap::new())
                .is_ok(),
            "the hook may not {action} on {resource}"
        );
    }
    assert_nothing_broader(&f.binary, iam.function_role(&f.name).unwrap(), &needs);
}

#[test]
fn every_rule_role_starts_exactly_its_target_and_every_role_is_covered() {
    let (app, iam) = app_and_iam();
    let mut covered_roles = BTreeSet::new();
    for f in &app.functions {
        covered_roles.insert(iam.function_role(&f.name).unwrap().arn.clone());
    }
    for sm in &app.state_machines {
        covered_roles.insert(iam.state_machine_role(&sm.arn).unwrap().arn.clone());
    }
    let mut by_role: BTreeMap<&str, Needs> = BTreeMap::new();
    for (_, role, target) in iam.rule_targets() {
        assert!(
            app.state_machines.iter().any(|m| &m.arn == target
                || m.alias
                    .as_ref()
                    .is_some_and(|a| *target == format!("{}:{a}", m.arn))),
            "a rule's role targets {target}, which is not a workflow or its alias"
        );
        by_role
            .entry(role)
            .or_default()
            .insert(("states:StartExecution".to_owned(), target.clone()));
    }
    assert!(
        !by_role.is_empty(),
        "the rule that starts the workflow has a role"
    );
    for (role, needs) in &by_role {
        let role = iam.role(role).unwrap();
        let caller = Caller::Role {
            role_arn: role.arn.clone(),
            session_arn: format!("{}/rule", role.arn),
        };
        assert_allowed(
            &role.name,
            Publisher::Function(&role.name),
            &iam,
            &caller,
            needs,
        );
        assert_nothing_broader(&role.name, role, needs);
        covered_roles.insert(role.arn.clone());
    }
    // CodeDeploy's role (SAM makes it for the functions' DeploymentPreference): trusted by
    // CodeDeploy alone, with AWS's managed policy for Lambda deployments and nothing else.
    for role in iam
        .roles()
        .filter(|r| r.trusted.iter().any(|t| t == "codedeploy.amazonaws.com"))
    {
        assert_eq!(role.trusted, ["codedeploy.amazonaws.com"], "{}", role.name);
        assert!(
            role.statements.iter().all(|s| s
                .label
                .contains("arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda")),
            "{}: {:#?}",
            role.name,
            role.statements
        );
        covered_roles.insert(role.arn.clone());
    }
    let all: BTreeSet<String> = iam.roles().map(|r| r.arn.clone()).collect();
    let uncovered: Vec<&String> = all.difference(&covered_roles).collect();
    assert!(
        uncovered.is_empty(),
        "roles in the template no contract checks: {uncovered:?}"
    );
}

/// The contract's own checks fire: an action the code never calls (Scan where it calls
/// GetItem), a wildcard action, and a resource it never uses are each refused.
#[test]
fn unused_actions_wildcards_and_unused_resources_fail_the_contract() {
    let (app, iam) = app_and_iam();
    let f = app.functions.iter().find(|f| f.binary == "pos").unwrap();
    let table = "arn:aws:dynamodb:us-east-1:000000000000:table/orders".to_owned();
    let needs = Needs::from([("dynamodb:GetItem".to_owned(), table.clone())]);
    for (actions, resource, expected) in [
        (
            vec!["dynamodb:GetItem", "dynamodb:Scan"],
            table.clone(),
            "grants dynamodb:Scan on",
        ),
        (vec!["dynamodb:*"], table.clone(), "a wildcard"),
        (
            vec!["dynamodb:GetItem"],
            format!("{table}-other"),
            "never calls",
        ),
        (vec!["dynamodb:GetItem"], "*".to_owned(), "never calls"),
    ] {
        let mut role = iam.function_role(&f.name).unwrap().clone();
        let mut extra = role.statements[0].clone();
        extra.label = "doctored".into();
        extra.actions = Patterns::AnyOf(actions.iter().map(|a| (*a).to_owned()).collect());
        extra.resources = Some(Patterns::AnyOf(vec![resource]));
        role.statements = vec![extra];
        let e = std::panic::catch_unwind(|| assert_nothing_broader("pos", &role, &needs))
            .expect_err("the doctored role passed");
        let e = e.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(e.contains(expected), "{e}");
    }
}
