//! Differential tests of the ASL interpreter: every definition in `tests/sfn-corpus/` runs on
//! this interpreter and on moto's Step Functions interpreter (PyPI `moto[server]`, installed
//! into `.venv` by `make setup`, with `execute_state_machine` enabled), both reached through
//! their Step Functions HTTP API, and their status, output, error, cause and the states they
//! entered must agree. Task states call DynamoDB and EventBridge in the same moto server, so
//! both interpreters' service integrations meet the same backends; callbacks are answered from
//! each execution's history, as a worker holding the task token would.
//!
//! Where moto departs from AWS's specification, the case says so (`motoDiffers`) and gives
//! the result AWS documents; this interpreter is held to that instead.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use local_cloud::clock::TimeScale;
use local_cloud::sfn::{Integrations, Sfn};
use serde::Deserialize;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// moto's own log (its tracebacks), kept for a failure to be diagnosed.
fn moto_log() -> PathBuf {
    root().join("target/sfn-differential-moto.log")
}

/// What to answer when a task waits for its token.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Callback {
    #[serde(default)]
    success: Option<Value>,
    #[serde(default)]
    failure: Option<(String, String)>,
    /// Send heartbeats for this long first, seconds.
    #[serde(default)]
    heartbeat_for: Option<f64>,
    /// Answer nothing.
    #[serde(default)]
    silent: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Run {
    input: Value,
    #[serde(default)]
    callbacks: Vec<Callback>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expected {
    status: String,
    #[serde(default)]
    output: Option<Value>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MotoDiffers {
    why: String,
    /// AWS's result for each run, in order.
    expect: Vec<Expected>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    comment: String,
    definition: Value,
    runs: Vec<Run>,
    /// `${Table}` in the definition names a table (one per interpreter) with key `id`.
    #[serde(default)]
    table: bool,
    /// Branches and iterations run concurrently: compare the states entered as a multiset.
    #[serde(default)]
    unordered_path: bool,
    /// Causes carry service messages that differ between backends.
    #[serde(default)]
    ignore_cause: bool,
    #[serde(default)]
    moto_differs: Option<MotoDiffers>,
}

/// What an execution came to.
#[derive(Debug, Clone, PartialEq)]
struct Result_ {
    status: String,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    path: Vec<String>,
}

struct Endpoint {
    url: String,
    http: reqwest::Client,
}

impl Endpoint {
    async fn call(&self, target: &str, body: Value) -> Result<Value, (String, String)> {
        let (prefix, version, service) = if target.starts_with("DynamoDB") {
            ("", "1.0", "dynamodb")
        } else if target.starts_with("AWSEvents") {
            ("", "1.1", "events")
        } else {
            ("AWSStepFunctions.", "1.0", "states")
        };
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let r = self
            .http
            .post(&self.url)
            .header("x-amz-target", format!("{prefix}{target}"))
            .header("content-type", format!("application/x-amz-json-{version}"))
            .header("authorization", auth)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| ("Transport".to_owned(), e.to_string()))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            Ok(v)
        } else if v["__type"].is_null() {
            // Not an AWS error document (moto answers an exception in its own code with a bare 500).
            Err((format!("HTTP {status}"), text.chars().take(500).collect()))
        } else {
            let t = v["__type"].as_str().unwrap_or("Unknown");
            Err((
                t.rsplit('#').next().unwrap_or(t).to_owned(),
                v["message"]
                    .as_str()
                    .or(v["Message"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            ))
        }
    }
}

/// This interpreter's Task states reach moto's DynamoDB and EventBridge.
struct MotoServices {
    moto: Arc<Endpoint>,
}

#[async_trait]
impl Integrations for MotoServices {
    async fn invoke(
        &self,
        _machine: &str,
        function: &str,
        _payload: Value,
    ) -> Result<Value, (String, String)> {
        Err((
            "ResourceNotFoundException".to_owned(),
            format!("no function {function} in the differential tests"),
        ))
    }

    async fn put_events(
        &self,
        _machine: &str,
        entries: Vec<Value>,
    ) -> Result<Value, (String, String)> {
        self.moto
            .call("AWSEvents.PutEvents", json!({ "Entries": entries }))
            .await
    }

    async fn dynamodb(
        &self,
        _machine: &str,
        operation: &str,
        params: Value,
    ) -> Result<Value, (String, String)> {
        self.moto
            .call(&format!("DynamoDB_20120810.{operation}"), params)
            .await
    }
}

struct Moto {
    _child: tokio::process::Child,
    endpoint: Arc<Endpoint>,
}

async fn start_moto() -> Moto {
    let python = root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "moto is not installed ({} is missing): run `make setup` (scripts/setup.sh)",
        python.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(moto_log()).expect("the moto log file can be created");
    let child = tokio::process::Command::new(&python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("moto.server starts");
    if let Some(pid) = child.id() {
        local_cloud::watchdog(pid);
    }
    let http = local_cloud::loopback_client();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while http.get(format!("{url}/moto-api/")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto.server did not start on {url} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = http
        .post(format!("{url}/moto-api/config"))
        .json(&json!({ "stepfunctions": { "execute_state_machine": true } }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "moto refused execute_state_machine: {}",
        r.status()
    );
    Moto {
        _child: child,
        endpoint: Arc::new(Endpoint { url, http }),
    }
}

async fn start_ours(moto: Arc<Endpoint>) -> Arc<Endpoint> {
    let sfn = Sfn::new(Arc::new(MotoServices { moto }), TimeScale::REAL);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            local_cloud::sfn::api::router(&sfn, Arc::new(local_aws_core::AllowAll)),
        )
        .await
    });
    Arc::new(Endpoint {
        url,
        http: local_cloud::loopback_client(),
    })
}

fn token_in(parameters: &str) -> Option<String> {
    fn find(v: &Value) -> Option<String> {
        match v {
            Value::Object(o) => o
                .get("token")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| o.values().find_map(find)),
            Value::Array(a) => a.iter().find_map(find),
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .filter(Value::is_object)
                .and_then(|v| find(&v)),
            _ => None,
        }
    }
    find(&serde_json::from_str(parameters).ok()?)
}

/// Runs one execution to its end, answering callbacks as the run says.
async fn execute(sfn: &Endpoint, machine: &str, name: &str, run: &Run) -> Result_ {
    let exec = sfn
        .call(
            "StartExecution",
            json!({ "stateMachineArn": machine, "name": name, "input": run.input.to_string() }),
        )
        .await
        .unwrap();
    let arn = exec["executionArn"].as_str().unwrap().to_owned();
    let mut answered: HashSet<String> = HashSet::new();
    let mut callbacks = run.callbacks.iter();
    let started = Instant::now();
    loop {
        let d = sfn
            .call("DescribeExecution", json!({ "executionArn": arn }))
            .await
            .unwrap();
        let history = sfn
            .call(
                "GetExecutionHistory",
                json!({ "executionArn": arn, "maxResults": 1000 }),
            )
            .await
            .unwrap();
        let events = history["events"].as_array().cloned().unwrap_or_default();
        if d["status"] != "RUNNING" {
            let path = events
                .iter()
                .filter_map(|e| {
                    e["stateEnteredEventDetails"]["name"]
                        .as_str()
                        .map(str::to_owned)
                })
                .collect();
            let parse = |k: &str| {
                d[k].as_str()
                    .map(|s| serde_json::from_str(s).unwrap_or(Value::String(s.to_owned())))
            };
            return Result_ {
                status: d["status"].as_str().unwrap_or_default().to_owned(),
                output: parse("output"),
                error: d["error"].as_str().map(str::to_owned),
                cause: d["cause"].as_str().map(str::to_owned),
                path,
            };
        }
        // A task waiting for its token: its parameters carry the token (as `token`).
        let submitted = events.iter().any(|e| e["type"] == "TaskSubmitted");
        let token = events
            .iter()
            .rev()
            .filter(|e| e["type"] == "TaskScheduled")
            .find_map(|e| {
                token_in(
                    e["taskScheduledEventDetails"]["parameters"]
                        .as_str()
                        .unwrap_or_default(),
                )
            });
        if let (true, Some(token)) = (submitted, token)
            && answered.insert(token.clone())
        {
            let cb = callbacks.next().cloned().unwrap_or(Callback {
                success: Some(json!({})),
                failure: None,
                heartbeat_for: None,
                silent: false,
            });
            if let Some(secs) = cb.heartbeat_for {
                let until = Instant::now() + Duration::from_secs_f64(secs);
                while Instant::now() < until {
                    let _ = callback(sfn, "SendTaskHeartbeat", json!({ "taskToken": token })).await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
            if let Some(output) = cb.success {
                callback(
                    sfn,
                    "SendTaskSuccess",
                    json!({ "taskToken": token, "output": output.to_string() }),
                )
                .await
                .unwrap_or_else(|e| panic!("{name}: SendTaskSuccess was refused: {e:?}"));
            } else if let Some((error, cause)) = cb.failure {
                callback(
                    sfn,
                    "SendTaskFailure",
                    json!({ "taskToken": token, "error": error, "cause": cause }),
                )
                .await
                .unwrap_or_else(|e| panic!("{name}: SendTaskFailure was refused: {e:?}"));
            } else {
                assert!(cb.silent, "a callback must succeed, fail or be silent");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} still running after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A task-token callback. moto 5.2 looks the token up in every running execution, and one that
/// another case has just started has no worker yet: moto fails with a bare 500
/// (`'NoneType' object has no attribute 'callback_pool_manager'`). That is moto's race, not an
/// answer about this token, so it is asked again; any AWS error is returned at once.
async fn callback(sfn: &Endpoint, target: &str, body: Value) -> Result<Value, (String, String)> {
    let mut attempts = 0;
    loop {
        match sfn.call(target, body.clone()).await {
            Err((kind, _)) if kind.starts_with("HTTP 500") && attempts < 20 => attempts += 1,
            other => return other,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_table(moto: &Endpoint, name: &str) {
    let req = json!({
        "TableName": name,
        "KeySchema": [{ "AttributeName": "id", "KeyType": "HASH" }],
        "AttributeDefinitions": [{ "AttributeName": "id", "AttributeType": "S" }],
        "BillingMode": "PAY_PER_REQUEST",
    });
    moto.call("DynamoDB_20120810.CreateTable", req)
        .await
        .unwrap();
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn run_case(
    file: &str,
    case: &Case,
    moto: &Arc<Endpoint>,
    ours: &Arc<Endpoint>,
) -> Vec<String> {
    let stem = file.trim_end_matches(".json");
    let mut problems = Vec::new();
    let mut machines = BTreeMap::new();
    for (side, sfn) in [("moto", moto), ("ours", ours)] {
        let table = format!("{stem}-{side}");
        if case.table {
            create_table(moto, &table).await;
        }
        let text = case.definition.to_string().replace("${Table}", &table);
        let created = sfn.call("CreateStateMachine", json!({ "name": format!("{stem}-{side}"), "definition": text, "roleArn": "arn:aws:iam::123456789012:role/test" })).await;
        match created {
            Ok(v) => {
                machines.insert(side, v["stateMachineArn"].as_str().unwrap().to_owned());
            }
            Err(e) => problems.push(format!("{file}: {side} refused the definition: {e:?}")),
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    for (i, run) in case.runs.iter().enumerate() {
        let name = format!("{stem}-{i}");
        let (m, o) = tokio::join!(
            execute(moto, &machines["moto"], &name, run),
            execute(ours, &machines["ours"], &name, run)
        );
        let shown = |r: &Result_| {
            format!(
                "{} output={} error={:?} cause={:?}\n      path={:?}",
                r.status,
                r.output.as_ref().map(Value::to_string).unwrap_or_default(),
                r.error,
                r.cause,
                r.path
            )
        };
        if let Some(d) = &case.moto_differs {
            let e = &d.expect[i];
            let got = Expected {
                status: o.status.clone(),
                output: if e.output.is_some() {
                    o.output.clone()
                } else {
                    None
                },
                error: o.error.clone(),
            };
            if &got != e {
                problems.push(format!("{file} run {i}: moto differs from AWS here ({}), and so do we:\n   ours: {}\n   AWS:  {e:?}", d.why, shown(&o)));
            }
            continue;
        }
        let same_path = if case.unordered_path {
            sorted(m.path.clone()) == sorted(o.path.clone())
        } else {
            m.path == o.path
        };
        let same = m.status == o.status
            && m.output == o.output
            && m.error == o.error
            && (case.ignore_cause || m.cause == o.cause)
            && same_path;
        if !same {
            problems.push(format!(
                "{file} run {i} ({}):\n   moto: {}\n   ours: {}",
                case.comment,
                shown(&m),
                shown(&o)
            ));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_interpreter_agrees_with_moto_on_the_corpus() {
    local_cloud::install_crypto();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sfn-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} cases", files.len());
    let moto = start_moto().await;
    let ours = start_ours(moto.endpoint.clone()).await;
    let runs = files.iter().map(|path| {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let case: Case = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let (moto, ours) = (moto.endpoint.clone(), ours.clone());
        async move { run_case(&file, &case, &moto, &ours).await }
    });
    let problems: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
