//! The Step Functions API over HTTP (awsJson1_0).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::{ApiError, Execution, Sfn};
use local_aws_core::{Authorizer, aws_json};

fn epoch(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp_micros() as f64 / 1e6
}

/// `DescribeExecution`'s answer.
pub async fn describe(e: &Execution) -> Value {
    let s = e.snapshot().await;
    let mut out = json!({
        "executionArn": e.arn,
        "stateMachineArn": e.machine.arn,
        "name": e.name,
        "status": s.status,
        "startDate": epoch(e.start),
        "input": e.input.to_string(),
    });
    // Started through a version or an alias: DescribeExecution names them.
    if let Some(v) = e.machine.version {
        out["stateMachineVersionArn"] = json!(format!("{}:{v}", e.machine.arn));
    }
    if let Some(a) = &e.machine.alias {
        out["stateMachineAliasArn"] = json!(format!("{}:{a}", e.machine.arn));
    }
    if let Some(stop) = s.stop {
        out["stopDate"] = json!(epoch(stop));
    }
    if let Some(o) = s.output {
        out["output"] = json!(o.to_string());
    }
    if let Some(err) = s.error {
        out["error"] = json!(err);
    }
    if let Some(c) = s.cause {
        out["cause"] = json!(c);
    }
    out
}

fn bad(e: ApiError) -> Response {
    aws_json::error(
        StatusCode::BAD_REQUEST,
        &e.error_type,
        e.message,
        aws_json::JSON_1_0,
    )
}

fn field<'a>(req: &'a Value, name: &str) -> &'a str {
    req.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// The resource IAM authorises an operation on (Service Authorization Reference, Step
/// Functions: state machine, execution; task callbacks on the state machine that issued the
/// token). `None`: nothing to authorise against (an unknown token is answered InvalidToken).
async fn resource(sfn: &Sfn, op: &str, req: &Value) -> Option<String> {
    match op {
        "StartExecution" | "ListExecutions" | "DescribeStateMachine" => {
            Some(field(req, "stateMachineArn").to_owned())
        }
        "DescribeExecution" | "GetExecutionHistory" | "StopExecution" => {
            Some(field(req, "executionArn").to_owned())
        }
        "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat" => {
            sfn.token_machine(field(req, "taskToken")).await
        }
        // ListStateMachines names no resource: IAM authorises it on "*" (the Service
        // Authorization Reference lists no resource type for it).
        "ListStateMachines" => Some("*".to_owned()),
        "CreateStateMachine" => Some(format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            local_aws_core::REGION,
            local_aws_core::ACCOUNT,
            field(req, "name")
        )),
        _ => None,
    }
}

async fn handle(
    State((sfn, auth)): State<(Arc<Sfn>, Arc<dyn Authorizer>)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let op = aws_json::operation(&headers).unwrap_or_default();
    let ok = |v: Value| aws_json::ok(v, aws_json::JSON_1_0);
    if let Some(arn) = resource(&sfn, &op, &req).await
        && let Err(denied) = auth.authorize(&headers, &format!("states:{op}"), &arn)
    {
        return aws_json::error(
            StatusCode::BAD_REQUEST,
            "AccessDeniedException",
            denied,
            aws_json::JSON_1_0,
        );
    }
    match op.as_str() {
        "StartExecution" => {
            let input =
                serde_json::from_str(req.get("input").and_then(Value::as_str).unwrap_or("{}"))
                    .unwrap_or(json!({}));
            match sfn
                .start_execution(
                    field(&req, "stateMachineArn"),
                    req.get("name").and_then(Value::as_str),
                    input,
                )
                .await
            {
                Ok(e) => ok(json!({ "executionArn": e.arn, "startDate": epoch(e.start) })),
                Err(e) => bad(e),
            }
        }
        // Express executions have no history or description to ask for (the API reference:
        // "not supported by EXPRESS state machines"; their record is in CloudWatch Logs).
        "DescribeExecution" | "GetExecutionHistory"
            if field(&req, "executionArn").contains(":express:") =>
        {
            bad(ApiError {
                error_type: "InvalidArn".into(),
                message: "Invalid Arn: 'Resource type not valid in this context: express'".into(),
            })
        }
        "DescribeExecution" => match sfn.execution(field(&req, "executionArn")).await {
            Some(e) => ok(describe(&e).await),
            None => bad(ApiError {
                error_type: "ExecutionDoesNotExist".into(),
                message: "Execution Does Not Exist".into(),
            }),
        },
        "GetExecutionHistory" => match sfn.execution(field(&req, "executionArn")).await {
            Some(e) => {
                let mut events = serde_json::to_value(e.history().await).unwrap_or(json!([]));
                if req.get("reverseOrder").and_then(Value::as_bool) == Some(true)
                    && let Some(a) = events.as_array_mut()
                {
                    a.reverse();
                }
                ok(json!({ "events": events }))
            }
            None => bad(ApiError {
                error_type: "ExecutionDoesNotExist".into(),
                message: "Execution Does Not Exist".into(),
            }),
        },
        "ListExecutions" => {
            // A version's or an alias's ARN lists the executions started through it (the
            // ListExecutions reference, `stateMachineArn`).
            let (machine, qualifier) = crate::split_qualifier(field(&req, "stateMachineArn"));
            // The ListExecutions reference: "This API action is not supported by EXPRESS
            // state machines" (only Map Runs may list theirs).
            if sfn
                .state_machine(machine)
                .await
                .is_some_and(|m| m.workflow_type == crate::WorkflowType::Express)
            {
                return bad(ApiError {
                    error_type: "StateMachineTypeNotSupported".into(),
                    message: "This operation is not supported by this type of state machine".into(),
                });
            }
            let mut list = Vec::new();
            for e in sfn.executions().await.iter().filter(|e| {
                e.machine.arn == machine
                    && match qualifier {
                        None => true,
                        Some(q) => match q.parse::<u32>() {
                            Ok(v) => e.machine.version == Some(v),
                            Err(_) => e.machine.alias.as_deref() == Some(q),
                        },
                    }
            }) {
                let d = describe(e).await;
                list.push(json!({ "executionArn": d["executionArn"], "stateMachineArn": d["stateMachineArn"], "name": d["name"], "status": d["status"], "startDate": d["startDate"] }));
            }
            ok(json!({ "executions": list }))
        }
        "StopExecution" => match sfn
            .stop_execution(
                field(&req, "executionArn"),
                req.get("error").and_then(Value::as_str).map(str::to_owned),
                req.get("cause").and_then(Value::as_str).map(str::to_owned),
            )
            .await
        {
            Ok(()) => ok(json!({ "stopDate": epoch(chrono::Utc::now()) })),
            Err(e) => bad(e),
        },
        "SendTaskSuccess" => {
            let output = serde_json::from_str(field(&req, "output")).unwrap_or(Value::Null);
            match sfn
                .send_task_success(field(&req, "taskToken"), output)
                .await
            {
                Ok(()) => ok(json!({})),
                Err(e) => bad(e),
            }
        }
        "SendTaskFailure" => match sfn
            .send_task_failure(
                field(&req, "taskToken"),
                field(&req, "error"),
                field(&req, "cause"),
            )
            .await
        {
            Ok(()) => ok(json!({})),
            Err(e) => bad(e),
        },
        "SendTaskHeartbeat" => match sfn.send_task_heartbeat(field(&req, "taskToken")).await {
            Ok(()) => ok(json!({})),
            Err(e) => bad(e),
        },
        "CreateStateMachine" => {
            let definition: Value =
                serde_json::from_str(field(&req, "definition")).unwrap_or(Value::Null);
            let workflow_type = match field(&req, "type") {
                "EXPRESS" => crate::WorkflowType::Express,
                _ => crate::WorkflowType::Standard,
            };
            match sfn
                .create_typed_state_machine(field(&req, "name"), &definition, workflow_type)
                .await
            {
                Ok(arn) => {
                    ok(json!({ "stateMachineArn": arn, "creationDate": epoch(chrono::Utc::now()) }))
                }
                Err(e) => bad(e),
            }
        }
        "ListStateMachines" => {
            let machines: Vec<Value> = sfn
                .state_machines()
                .await
                .into_iter()
                .map(|m| {
                    json!({ "stateMachineArn": m.arn, "name": m.name, "type": m.workflow_type, "creationDate": epoch(m.created) })
                })
                .collect();
            ok(json!({ "stateMachines": machines }))
        }
        "DescribeStateMachine" => {
            // A version's ARN describes that version's definition.
            let asked = field(&req, "stateMachineArn");
            let (machine, qualifier) = crate::split_qualifier(asked);
            let found = sfn
                .state_machine(machine)
                .await
                .and_then(|m| match qualifier {
                    None => Some(((*m.json).clone(), m)),
                    Some(q) => {
                        let v = (*m.versions.get(&q.parse::<u32>().ok()?)?.json).clone();
                        Some((v, m))
                    }
                });
            match found {
                Some((definition, m)) => ok(
                    json!({ "stateMachineArn": asked, "name": m.name, "status": "ACTIVE", "definition": definition.to_string(), "roleArn": format!("arn:aws:iam::{}:role/local", local_aws_core::ACCOUNT), "type": m.workflow_type, "creationDate": epoch(m.created) }),
                ),
                None => bad(ApiError {
                    error_type: "StateMachineDoesNotExist".into(),
                    message: "State Machine Does Not Exist".into(),
                }),
            }
        }
        other => aws_json::error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("{other} is not supported locally"),
            aws_json::JSON_1_0,
        ),
    }
}

/// The HTTP endpoint, each call authorised by `auth` (action `states:<Operation>` on the
/// state machine or execution it names; task callbacks on the state machine that issued the
/// token). Each request is carried out whoever hangs up, as Step Functions does: a caller
/// killed while its `StartExecution` is in flight leaves the execution started and running
/// ([`local_aws_core::detached`]), never recorded but not run.
pub fn router(sfn: &Arc<Sfn>, auth: Arc<dyn Authorizer>) -> Router {
    local_aws_core::detached::run_to_completion(
        Router::new()
            .fallback(post(handle))
            .with_state((sfn.clone(), auth)),
    )
}
