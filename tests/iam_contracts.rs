//! The template's IAM against what the code calls: every AWS call a function's code can make
//! (the adapters its wiring hands out, each declaring the IAM actions its SDK calls need) is
//! allowed by the role SAM generates for it, and the role grants nothing on any resource
//! beyond the tables, bus, secrets and state machine the function uses. The roles are read as
//! the local cloud enforces them: the SAM translator's output, through `local_cloud::iam`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use lambda_support::wiring::{AwsCall, AwsResource};
use lambda_support::{Env, wiring};
use local_cloud::app::{App, Overrides};
use local_cloud::iam::policy::{Effect, Patterns};
use local_cloud::iam::{Caller, Iam};
use suites::repo_root;

const WEBHOOK_SECRETS: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhooks";
const API_CREDENTIALS: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:api";

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
    parameters.insert("ApiCredentialsArn".to_owned(), API_CREDENTIALS.to_owned());
    parameters.insert("Stage".to_owned(), "contract".to_owned());
    let app = App::load(&template, &Overrides { parameters }).unwrap();
    let cfn = local_cloud::iam::transform(&root, &template, &root.join("target/iam-contract"))
        .unwrap_or_else(|e| panic!("{e}"));
    let iam = Iam::load(&cfn, &app.resolver, "contract").unwrap();
    (app, iam)
}

/// The calls a function's code can make: its use case built exactly as its `main` builds it,
/// on an AWS backend that records the adapters it hands out.
async fn calls_of(binary: &str, env: &Env) -> Vec<AwsCall> {
    let backend = wiring::Backend::from_env(env).await.unwrap();
    let built = match binary {
        "intake" => wiring::intake(env, &backend).await.map(|_| ()),
        "dedup" => wiring::dedup(env, &backend).await.map(|_| ()),
        "adapt-order" => wiring::adapt(env, &backend).await.map(|_| ()),
        "accept-order" => wiring::accept(env, &backend).await.map(|_| ()),
        "hold-order" => wiring::hold(env, &backend).await.map(|_| ()),
        "pos" => wiring::pos(env, &backend).await.map(|_| ()),
        "release-order" => wiring::release(env, &backend).await.map(|_| ()),
        "catalog-admin" => wiring::catalog_admin(env, &backend).await.map(|_| ()),
        "store-status" => wiring::store_status(env, &backend).await.map(|_| ()),
        other => panic!("unknown binary {other}"),
    };
    built.unwrap_or_else(|e| panic!("{binary} does not build: {e}"));
    backend.aws_calls()
}

/// The ARN a call is made on, from the function's environment.
fn arn_of(call: &AwsCall, env: &BTreeMap<String, String>, state_machine: &str) -> String {
    let AwsResource::Named { var, index } = &call.resource else {
        return state_machine.to_owned();
    };
    let value = env
        .get(*var)
        .unwrap_or_else(|| panic!("{var} is not in the function's environment"));
    match call.action.split(':').next() {
        Some("dynamodb") => {
            let table = format!("arn:aws:dynamodb:us-east-1:000000000000:table/{value}");
            match index {
                Some(i) => format!("{table}/index/{i}"),
                None => table,
            }
        }
        Some("events") => format!("arn:aws:events:us-east-1:000000000000:event-bus/{value}"),
        _ => value.clone(),
    }
}

#[tokio::test]
async fn every_function_role_allows_each_call_its_code_can_make_and_nothing_wider() {
    let (app, iam) = app_and_iam();
    let state_machine = app.state_machines[0].arn.clone();
    let dev_secrets = repo_root().join("events/dev-secrets");
    assert_eq!(app.functions.len(), 9);
    for f in &app.functions {
        // Built with the development secrets from files; the calls are recorded all the same.
        let mut env = Env::from_pairs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "contract"),
            ("AWS_SECRET_ACCESS_KEY", "contract"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ]);
        for (k, v) in &f.env {
            let v = match v.as_str() {
                WEBHOOK_SECRETS => format!("file:{}", dev_secrets.join("webhooks.json").display()),
                API_CREDENTIALS => format!("file:{}", dev_secrets.join("api.json").display()),
                _ => v.clone(),
            };
            env = env.with(k, &v);
        }
        let calls = calls_of(&f.binary, &env).await;
        assert!(!calls.is_empty(), "{} makes no AWS call?", f.binary);
        let caller = iam.function_caller(&f.name).unwrap();
        assert!(matches!(caller, Caller::Role { .. }));

        // Every call is allowed.
        let mut needed = BTreeSet::new();
        for call in &calls {
            let arn = arn_of(call, &f.env, &state_machine);
            if let Err(denied) = iam.authorize(&caller, call.action, &arn, BTreeMap::new()) {
                panic!(
                    "{} can call {} on {arn}, which its role does not allow: {denied}",
                    f.binary, call.action
                );
            }
            needed.insert(arn);
        }
        // A failure destination SAM grants SendMessage on is needed too.
        if let Some(queue) = &f.on_failure {
            needed.insert(format!("arn:aws:sqs:us-east-1:000000000000:{queue}"));
        }

        // Nothing wider: every resource the role's own policies name is one it needs (or the
        // indexes of a table it needs), never `*`.
        let role = iam.function_role(&f.name).unwrap();
        for s in role
            .statements
            .iter()
            .filter(|s| !s.label.contains("arn:aws:iam::aws:policy/"))
        {
            assert_eq!(s.effect, Effect::Allow, "{}", s.label);
            let Some(Patterns::AnyOf(resources)) = &s.resources else {
                panic!(
                    "{}: {} names no resources, or all but some",
                    f.binary, s.label
                );
            };
            for r in resources {
                let table_indexes = r
                    .strip_suffix("/index/*")
                    .is_some_and(|t| needed.contains(t));
                assert!(
                    needed.contains(r) || table_indexes,
                    "{}: {} grants on {r}, which its code never uses (it needs {needed:#?})",
                    f.binary,
                    s.label
                );
            }
        }
    }
}

#[test]
fn the_workflow_role_allows_every_task_and_nothing_wider() {
    let (app, iam) = app_and_iam();
    let sm = &app.state_machines[0];
    let caller = iam.state_machine_caller(&sm.arn).unwrap();
    let bus = format!(
        "arn:aws:events:us-east-1:000000000000:event-bus/{}",
        app.buses[0]
    );
    let orders = format!(
        "arn:aws:dynamodb:us-east-1:000000000000:table/{}",
        app.table("OrdersTable").unwrap().name
    );
    // What its Task states call.
    let mut needed = BTreeSet::from([bus.clone(), orders.clone()]);
    let text = sm.json.to_string();
    for f in &app.functions {
        if text.contains(&f.arn) {
            iam.authorize(&caller, "lambda:InvokeFunction", &f.arn, BTreeMap::new())
                .unwrap_or_else(|d| panic!("{d}"));
            needed.insert(f.arn.clone());
        } else {
            assert!(
                iam.authorize(&caller, "lambda:InvokeFunction", &f.arn, BTreeMap::new())
                    .is_err(),
                "the workflow may invoke {}, which it never calls",
                f.name
            );
        }
    }
    // The workflows it starts (the hand-back to the Express workflow), and no others.
    for other in app.state_machines.iter().filter(|o| o.arn != sm.arn) {
        let starts = iam.authorize(
            &caller,
            "states:StartExecution",
            &other.arn,
            BTreeMap::new(),
        );
        if text.contains(&other.arn) {
            starts.unwrap_or_else(|d| panic!("{d}"));
            needed.insert(other.arn.clone());
        } else {
            assert!(
                starts.is_err(),
                "the workflow may start {}, which it never does",
                other.name
            );
        }
    }
    assert!(
        iam.authorize(&caller, "states:StartExecution", &sm.arn, BTreeMap::new())
            .is_err(),
        "the workflow may start itself"
    );
    iam.authorize(&caller, "events:PutEvents", &bus, BTreeMap::new())
        .unwrap();
    iam.authorize(&caller, "dynamodb:UpdateItem", &orders, BTreeMap::new())
        .unwrap();
    assert!(
        iam.authorize(&caller, "dynamodb:DeleteItem", &orders, BTreeMap::new())
            .is_err()
    );
    let role = iam.state_machine_role(&sm.arn).unwrap();
    for s in &role.statements {
        let Some(Patterns::AnyOf(resources)) = &s.resources else {
            panic!("{} names no resources", s.label);
        };
        for r in resources {
            // SAM's LambdaInvokePolicy covers the function's versions and aliases
            // (function:<name>*); CloudWatch Logs delivery and X-Ray only accept "*" (AWS).
            let function = r.strip_suffix('*').is_some_and(|f| needed.contains(f));
            let delivery = r == "*"
                && matches!(&s.actions, Patterns::AnyOf(a) if a.iter().all(|a| a.starts_with("logs:") || a.starts_with("xray:")));
            assert!(
                needed.contains(r) || function || delivery,
                "{} grants on {r}, which no Task uses",
                s.label
            );
        }
    }
}
