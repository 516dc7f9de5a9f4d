//! Step Functions Local's tests: executions run to their end against stub integrations.

use super::*;
use std::time::Duration;

struct Nothing;

#[async_trait]
impl Integrations for Nothing {
    async fn invoke(&self, _: &str, f: &str, _: Value) -> Result<Value, (String, String)> {
        Err(("ResourceNotFoundException".into(), f.into()))
    }
    async fn put_events(&self, _: &str, _: Vec<Value>) -> Result<Value, (String, String)> {
        Ok(json!({ "FailedEntryCount": 0, "Entries": [] }))
    }
    async fn dynamodb(&self, _: &str, op: &str, _: Value) -> Result<Value, (String, String)> {
        Err(("ResourceNotFoundException".into(), op.into()))
    }
}

fn sfn() -> Arc<Sfn> {
    Sfn::new(Arc::new(Nothing), TimeScale::new(1000.0))
}

/// Answers every invocation, reporting 150 ms of it as this machine's doing.
struct Crowded;

#[async_trait]
impl Integrations for Crowded {
    async fn invoke(&self, _: &str, _: &str, _: Value) -> Result<Value, (String, String)> {
        not_billed(std::time::Duration::from_millis(150));
        Ok(json!({}))
    }
    async fn put_events(&self, _: &str, _: Vec<Value>) -> Result<Value, (String, String)> {
        Ok(json!({ "FailedEntryCount": 0, "Entries": [] }))
    }
    async fn dynamodb(&self, _: &str, op: &str, _: Value) -> Result<Value, (String, String)> {
        Err(("ResourceNotFoundException".into(), op.into()))
    }
}

#[tokio::test(start_paused = true)]
async fn starts_and_callbacks_over_their_quota_are_throttled_and_standard_transitions_wait() {
    let s = sfn();
    // us-east-1 divided by 1,300: a Standard start bucket of 1 refilled at 0.23/s, an
    // Express one of 4.6 refilled at 4.6/s, 3.8 transitions a second, SendTask* 2.3.
    s.set_quotas(Arc::new(
        Quotas::aws_defaults("us-east-1", 1_300.0).unwrap(),
    ));
    let passes = |n: usize| {
        let states: serde_json::Map<String, Value> = (0..n)
            .map(|i| {
                let next = if i + 1 < n {
                    json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
                } else {
                    json!({"Type": "Pass", "End": true})
                };
                (format!("S{i}"), next)
            })
            .collect();
        json!({"StartAt": "S0", "States": states})
    };
    let standard = s.create_state_machine("std", &passes(6)).await.unwrap();
    let express = s
        .create_typed_state_machine("exp", &passes(6), WorkflowType::Express)
        .await
        .unwrap();
    s.start_execution(&standard, None, json!({})).await.unwrap();
    let refused = s
        .start_execution(&standard, None, json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.error_type.as_str(), refused.message.as_str()),
        ("ThrottlingException", "Rate exceeded")
    );
    let express_started = futures_count(&s, &express, 10).await;
    assert_eq!(express_started, 4, "Express has its own, larger bucket");
    // SendTask*: two of five pass, the rest are throttled before the token is looked at.
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(
            s.send_task_heartbeat("no-such-token")
                .await
                .unwrap_err()
                .error_type,
        );
    }
    assert_eq!(
        answers,
        [
            "InvalidToken",
            "InvalidToken",
            "ThrottlingException",
            "ThrottlingException",
            "ThrottlingException"
        ]
    );
    // The Standard execution's six states drew on a bucket of 3.8 transitions: three at
    // once, the other three each waited for a token; the four Express executions' 24
    // states drew on nothing.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let use_ = s
        .quotas
        .get()
        .unwrap()
        .get(quota::STATE_TRANSITION)
        .unwrap()
        .report();
    assert_eq!((use_.taken, use_.delayed), (6, 3));
}

async fn futures_count(s: &Arc<Sfn>, arn: &str, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        if s.start_execution(arn, None, json!({})).await.is_ok() {
            ok += 1;
        }
    }
    ok
}

#[tokio::test]
async fn time_an_integration_reports_as_not_billed_is_counted_on_its_own_execution_only() {
    let s = Sfn::new(Arc::new(Crowded), TimeScale::new(1000.0));
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": true});
    // Two invocations in parallel branches and one after: 450 ms.
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "T", "Branches": [
            {"StartAt": "A", "States": {"A": task}},
            {"StartAt": "B", "States": {"B": task}}]},
        "T": task}});
    let m = s
        .create_typed_state_machine("crowded", &def, WorkflowType::Express)
        .await
        .unwrap();
    let one = s.start_execution(&m, None, json!({})).await.unwrap();
    let other = s.start_execution(&m, None, json!({})).await.unwrap();
    assert_eq!(one.finished().await.status, Status::Succeeded);
    assert_eq!(other.finished().await.status, Status::Succeeded);
    assert_eq!(one.not_billed(), std::time::Duration::from_millis(450));
    assert_eq!(other.not_billed(), std::time::Duration::from_millis(450));
    // Outside an execution there is nothing to count it on.
    not_billed(std::time::Duration::from_secs(1));
    assert_eq!(one.not_billed(), std::time::Duration::from_millis(450));
}

#[tokio::test]
async fn definitions_using_unsupported_features_are_refused_with_the_feature_named() {
    let s = sfn();
    let sns = json!({"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true}}});
    let e = s.create_state_machine("q", &sns).await.unwrap_err();
    assert_eq!(e.error_type, "InvalidDefinition");
    assert!(e.message.contains("sns:publish"), "{e}");
    let nested = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem.waitForTaskToken", "End": true}}}]}}});
    assert!(
        s.create_state_machine("n", &nested)
            .await
            .unwrap_err()
            .message
            .contains("waitForTaskToken")
    );
    let jsonata =
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}});
    assert!(
        s.create_state_machine("j", &jsonata)
            .await
            .unwrap_err()
            .message
            .contains("JSONata")
    );
    let ok = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": true}}});
    assert!(s.create_state_machine("ok", &ok).await.is_ok());
}

#[tokio::test]
async fn a_token_answers_once_then_reads_as_timed_out_and_unknown_tokens_are_invalid() {
    let s = sfn();
    let (token, rx, _) = s
        .register_token("arn:aws:states:us-east-1:000000000000:stateMachine:m")
        .await;
    s.send_task_success(&token, json!({"a": 1})).await.unwrap();
    assert_eq!(rx.await.unwrap().unwrap(), json!({"a": 1}));
    assert_eq!(
        s.send_task_success(&token, json!({}))
            .await
            .unwrap_err()
            .error_type,
        "TaskTimedOut"
    );
    assert_eq!(
        s.send_task_heartbeat(&token).await.unwrap_err().error_type,
        "TaskTimedOut"
    );
    assert_eq!(
        s.send_task_failure("nope", "E", "c")
            .await
            .unwrap_err()
            .error_type,
        "InvalidToken"
    );
}

/// Issue 25: a handover function killed while its `StartExecution` was in flight left a
/// Standard execution recorded (its name taken) but never run and never listed, because
/// hyper dropped the handler between the two; the redelivered handover then found the
/// name taken and the order was stranded. A start whose caller hangs up must run, listed,
/// as on AWS.
#[tokio::test]
async fn a_start_whose_caller_hangs_up_runs_and_is_listed_all_the_same() {
    use tokio::io::AsyncWriteExt;
    let s = sfn();
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}});
    let arn = s.create_state_machine("hung", &def).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = api::router(&s, Arc::new(local_aws_core::AllowAll));
    tokio::spawn(async move { axum::serve(listener, router).await });
    // Hold the executions' lock, so that each start is mid-way (waiting for it) when its
    // caller hangs up.
    let held = s.executions.write().await;
    for n in 0..5 {
        let body =
            json!({"stateMachineArn": arn, "name": format!("hung-{n}"), "input": "{}"}).to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nhost: local\r\ncontent-type: application/x-amz-json-1.0\r\nx-amz-target: AWSStepFunctions.StartExecution\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(client);
    }
    // Long enough for hyper to see every connection closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let listed = s.executions().await;
        if listed.len() == 5 || Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        listed.len(),
        5,
        "every start whose caller hung up is carried out"
    );
    for e in listed {
        assert_eq!(e.finished().await.status, Status::Succeeded, "{}", e.arn);
    }
}

#[tokio::test]
async fn an_execution_runs_to_its_end_and_keeps_its_history() {
    let s = sfn();
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 60, "Next": "L"},
        "L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "missing"}, "End": true}}});
    let arn = s.create_state_machine("m", &def).await.unwrap();
    let e = s.start_execution(&arn, Some("x"), json!({})).await.unwrap();
    assert_eq!(
        s.start_execution(&arn, Some("x"), json!({"another": "input"}))
            .await
            .unwrap_err()
            .error_type,
        "ExecutionAlreadyExists"
    );
    // 60 s at 1000× is 60 ms; the function does not exist.
    let end = e.finished().await;
    assert_eq!(end.status, Status::Failed);
    assert_eq!(
        end.error.as_deref(),
        Some("Lambda.ResourceNotFoundException")
    );
    assert_eq!(e.path().await, ["W", "L"]);
    let kinds: Vec<String> = e.history().await.into_iter().map(|h| h.kind).collect();
    assert_eq!(kinds.first().map(String::as_str), Some("ExecutionStarted"));
    assert!(kinds.contains(&"TaskFailed".to_owned()));
    assert_eq!(kinds.last().map(String::as_str), Some("ExecutionFailed"));
}

#[tokio::test]
async fn executions_since_gives_the_executions_after_those_seen_in_start_order() {
    let s = sfn();
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let arn = s.create_state_machine("m", &def).await.unwrap();
    for name in ["a", "b", "c"] {
        s.start_execution(&arn, Some(name), json!({}))
            .await
            .unwrap();
    }
    let names = |v: Vec<Arc<Execution>>| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(s.executions_since(0).await), ["a", "b", "c"]);
    assert_eq!(names(s.executions_since(2).await), ["c"]);
    assert!(s.executions_since(3).await.is_empty());
    assert!(s.executions_since(9).await.is_empty(), "past the end");
    assert_eq!(names(s.executions().await), ["a", "b", "c"]);
}

/// Issue 9: an execution that ended before anyone waited was never seen as ended, because
/// `watch::Sender::send` keeps no value without a receiver. Every way of observing the end
/// must see it whatever the timing.
#[tokio::test]
async fn an_execution_that_ends_at_once_is_seen_ended_by_every_later_observer() {
    let s = sfn();
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let arn = s.create_state_machine("instant", &def).await.unwrap();
    for i in 0..50 {
        let e = s
            .start_execution(&arn, Some(&format!("x-{i}")), json!({"i": i}))
            .await
            .unwrap();
        // Let it end with no one waiting, then wait (some iterations wait at once).
        if i % 2 == 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            assert_eq!(e.status().await, Status::Succeeded);
        }
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), e.finished())
            .await
            .unwrap_or_else(|_| panic!("execution {i} never seen ended"));
        assert_eq!(end.status, Status::Succeeded);
        assert_eq!(end.output, Some(json!({"i": i})));
        // A second observer, later still.
        assert_eq!(e.finished().await.status, Status::Succeeded);
    }
}

#[tokio::test]
async fn an_execution_stopped_before_it_began_stays_stopped_and_runs_nothing() {
    let s = sfn();
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
        "P": {"Type": "Pass", "End": true}}});
    let arn = s.create_state_machine("stopped", &def).await.unwrap();
    for i in 0..20 {
        let e = s
            .start_execution(&arn, Some(&format!("s-{i}")), json!({}))
            .await
            .unwrap();
        s.stop_execution(&e.arn, None, None).await.unwrap();
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), e.finished())
            .await
            .unwrap_or_else(|_| panic!("stopped execution {i} never seen ended"));
        assert_eq!(end.status, Status::Aborted);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(e.status().await, Status::Aborted);
        assert!(
            !e.path().await.contains(&"P".to_owned()),
            "ran on after its stop"
        );
    }
}

/// Step Functions' 256 KiB per state: over it the state fails with
/// `States.DataLimitExceeded`, naming the state, which `States.ALL` does not catch.
#[tokio::test]
async fn a_state_over_256_kib_fails_with_data_limit_exceeded_which_states_all_cannot_catch() {
    let s = sfn();
    // 300 KB of text in a Pass result; a byte under the limit goes through.
    let big = "x".repeat(300 * 1024);
    let at_limit = "x".repeat(run::PAYLOAD_LIMIT_BYTES - 2); // the quotes make it 256 KiB
    let caught_by = |errors: Value| {
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "f", "Payload": {"a.$": "$.text", "b.$": "$.text"}},
                  "Catch": [{"ErrorEquals": errors, "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "Result": "caught", "End": true}}})
    };
    let run = |name: &str, def: Value, input: Value| {
        let s = s.clone();
        let name = name.to_owned();
        async move {
            let arn = s.create_state_machine(&name, &def).await.unwrap();
            s.start_execution(&arn, Some("x"), input)
                .await
                .unwrap()
                .finished()
                .await
        }
    };
    let pass = json!({"StartAt": "Grow", "States": {"Grow": {"Type": "Pass", "Result": big, "End": true}}});
    let end = run("pass", pass, json!({})).await;
    assert_eq!(end.status, Status::Failed);
    assert_eq!(end.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        end.cause.as_deref(),
        Some(
            "The state/task 'Grow' has an output with a size exceeding the maximum number of bytes service limit."
        )
    );
    // An execution's input over the limit is refused when it is started.
    let arn = s
        .create_state_machine(
            "refused",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        )
        .await
        .unwrap();
    let Err(refused) = s.start_execution(&arn, None, json!({ "text": big })).await else {
        panic!("an input over 256 KiB was started");
    };
    assert_eq!(refused.error_type, "ValidationException");
    assert!(refused.message.contains("262144"), "{}", refused.message);
    let fits = json!({"StartAt": "Grow", "States": {"Grow": {"Type": "Pass", "Result": at_limit, "End": true}}});
    assert_eq!(run("fits", fits, json!({})).await.status, Status::Succeeded);

    // A task's parameters over the limit (an input of 150 KB, twice): States.ALL does not
    // catch it, its name does.
    let half = "x".repeat(150 * 1024);
    let end = run(
        "all",
        caught_by(json!(["States.ALL"])),
        json!({"text": half}),
    )
    .await;
    assert_eq!(end.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        end.cause
            .unwrap()
            .starts_with("The state/task 'T' has an input")
    );
    let end = run(
        "named",
        caught_by(json!(["States.DataLimitExceeded"])),
        json!({"text": half}),
    )
    .await;
    assert_eq!(end.status, Status::Succeeded);
    assert_eq!(end.output, Some(json!("caught")));
}

#[tokio::test]
async fn express_refuses_callbacks_at_creation_and_names_each_execution_apart() {
    let s = sfn();
    let callback = json!({"StartAt": "H", "States": {"H": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}}, "End": true}}});
    let e = s
        .create_typed_state_machine("x", &callback, WorkflowType::Express)
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "InvalidDefinition");
    assert!(
        e.message
            .contains("Express state machine does not support '.waitForTaskToken'"),
        "{e}"
    );
    // Standard takes the same definition.
    assert!(s.create_state_machine("std", &callback).await.is_ok());

    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let m = s
        .create_typed_state_machine("e", &pass, WorkflowType::Express)
        .await
        .unwrap();
    let a = s
        .start_execution(&m, Some("same"), json!({}))
        .await
        .unwrap();
    let b = s
        .start_execution(&m, Some("same"), json!({}))
        .await
        .unwrap();
    assert!(a.arn.contains(":express:e:same:"), "{}", a.arn);
    assert_ne!(a.arn, b.arn, "an Express name need not be unique");
    assert_eq!(a.finished().await.status, Status::Succeeded);
}

#[tokio::test]
async fn an_express_execution_ends_timed_out_after_five_minutes_of_aws_time() {
    // 400 s of Wait is 0.4 s here (time scale 1000), but AWS would have spent 400 s.
    let s = sfn();
    let wait = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 400, "Next": "Done"}, "Done": {"Type": "Succeed"}}});
    let m = s
        .create_typed_state_machine("slow", &wait, WorkflowType::Express)
        .await
        .unwrap();
    let e = s.start_execution(&m, None, json!({})).await.unwrap();
    assert_eq!(e.finished().await.status, Status::TimedOut);
    // The same definition as Standard runs to its end.
    let m = s.create_state_machine("slow-std", &wait).await.unwrap();
    let e = s.start_execution(&m, None, json!({})).await.unwrap();
    assert_eq!(e.finished().await.status, Status::Succeeded);
}

#[tokio::test]
async fn an_injected_time_out_ends_the_execution_there_whatever_its_catch_says() {
    let s = sfn();
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"}}});
    let m = s
        .create_typed_state_machine("faulty", &def, WorkflowType::Express)
        .await
        .unwrap();
    s.time_out_when(Some(Arc::new(|kind, state, input| {
        kind == WorkflowType::Express && state == "B" && input["n"] == 1
    })));
    let hit = s.start_execution(&m, None, json!({"n": 1})).await.unwrap();
    let spared = s.start_execution(&m, None, json!({"n": 2})).await.unwrap();
    let st = hit.finished().await;
    assert_eq!(
        (st.status, st.error.as_deref()),
        (Status::TimedOut, Some("States.Timeout"))
    );
    assert_eq!(hit.path().await, ["A"], "B was never entered");
    assert_eq!(spared.finished().await.status, Status::Succeeded);
    s.time_out_when(None);
    let after = s.start_execution(&m, None, json!({"n": 1})).await.unwrap();
    assert_eq!(after.finished().await.status, Status::Succeeded);
}

#[tokio::test]
async fn a_standard_name_answers_its_running_execution_for_the_same_input_only() {
    let s = sfn();
    let wait =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let m = s.create_state_machine("named", &wait).await.unwrap();
    let a = s
        .start_execution(&m, Some("order-1"), json!({"n": 1}))
        .await
        .unwrap();
    let again = s
        .start_execution(&m, Some("order-1"), json!({"n": 1}))
        .await
        .unwrap();
    assert!(
        Arc::ptr_eq(&a, &again),
        "the same execution, as StartExecution's idempotency"
    );
    let other = s
        .start_execution(&m, Some("order-1"), json!({"n": 2}))
        .await
        .unwrap_err();
    assert_eq!(other.error_type, "ExecutionAlreadyExists");
    a.finished().await;
    let closed = s
        .start_execution(&m, Some("order-1"), json!({"n": 1}))
        .await
        .unwrap_err();
    assert_eq!(closed.error_type, "ExecutionAlreadyExists");
}

#[tokio::test]
async fn start_execution_tasks_go_to_the_integration_and_name_its_errors() {
    let s = sfn();
    let start = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:other", "Input": {}}, "End": true}}});
    let m = s.create_state_machine("starter", &start).await.unwrap();
    let e = s.start_execution(&m, None, json!({})).await.unwrap();
    let end = e.finished().await;
    assert_eq!(end.status, Status::Failed);
    assert_eq!(
        end.error.as_deref(),
        Some("StepFunctions.AccessDeniedException")
    );
}

/// A release publishes a state machine's new definition as version 2: an execution already
/// running on version 1 (a held order) finishes on version 1's definition, the alias splits
/// new executions by weight, and each version's number starts that definition.
#[tokio::test]
async fn an_execution_keeps_the_version_it_started_on_and_the_alias_splits_new_ones() {
    let s = Sfn::new(Arc::new(Nothing), TimeScale::new(20.0));
    let def = |build: &str, wait: u64| {
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": wait, "Next": "P"},
            "P": {"Type": "Pass", "Result": build, "End": true}}})
    };
    let arn = s.create_state_machine("m", &def("one", 20)).await.unwrap();
    s.publish(&arn, "live").await.unwrap();
    // Held for 20 s at 20×: a second.
    let held = s
        .start_execution(&format!("{arn}:live"), None, json!({}))
        .await
        .unwrap();
    assert_eq!(held.machine.version, Some(1));
    assert_eq!(s.publish_version(&arn, &def("two", 0)).await.unwrap(), 2);
    let two = s
        .start_execution(&format!("{arn}:2"), None, json!({}))
        .await
        .unwrap();
    assert_eq!(two.finished().await.output, Some(json!("two")));
    // Published, not routed: the alias still starts version 1.
    let via_alias = s
        .start_execution(&format!("{arn}:live"), None, json!({}))
        .await
        .unwrap();
    assert_eq!(via_alias.machine.version, Some(1));
    assert_eq!(held.finished().await.output, Some(json!("one")));

    let routing = |additional| AliasRouting {
        version: 1,
        additional,
    };
    s.route_alias(&arn, "live", routing(Some((2, 0.5))))
        .await
        .unwrap();
    let mut versions = BTreeMap::<u32, usize>::new();
    for _ in 0..60 {
        let e = s
            .start_execution(&format!("{arn}:live"), None, json!({}))
            .await
            .unwrap();
        *versions.entry(e.machine.version.unwrap()).or_default() += 1;
    }
    // Half each expected; 12..48 of 60 is over four sigma.
    assert!((12..48).contains(&versions[&1]), "{versions:?}");
    let refused = |r: Result<(), ApiError>| r.unwrap_err().error_type;
    assert_eq!(
        refused(s.route_alias(&arn, "live", routing(Some((3, 0.1)))).await),
        "ValidationException"
    );
    assert_eq!(
        refused(s.route_alias(&arn, "next", routing(None)).await),
        "ResourceNotFound"
    );
    assert!(
        s.start_execution(&format!("{arn}:3"), None, json!({}))
            .await
            .is_err()
    );
}

/// A workflow version is deleted only once nothing can use it: not while an alias routes to
/// it, not while one of its executions (a held order's) runs.
#[tokio::test]
async fn a_version_is_deleted_only_when_no_alias_routes_to_it_and_none_of_its_executions_runs() {
    let s = Sfn::new(Arc::new(Nothing), TimeScale::new(20.0));
    let def = |wait: u64| json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": wait, "End": true}}});
    let arn = s.create_state_machine("m", &def(20)).await.unwrap();
    s.publish(&arn, "live").await.unwrap();
    let held = s
        .start_execution(&format!("{arn}:live"), None, json!({}))
        .await
        .unwrap();
    assert_eq!(s.publish_version(&arn, &def(0)).await.unwrap(), 2);
    let conflict = |r: Result<(), ApiError>| r.unwrap_err().error_type;
    assert_eq!(
        conflict(s.delete_version(&arn, 1).await),
        "ConflictException"
    );
    s.route_alias(
        &arn,
        "live",
        AliasRouting {
            version: 2,
            additional: None,
        },
    )
    .await
    .unwrap();
    let e = s.delete_version(&arn, 1).await.unwrap_err();
    assert!(e.message.contains("runs an execution"), "{}", e.message);
    held.finished().await;
    s.delete_version(&arn, 1).await.unwrap();
    assert!(
        s.start_execution(&format!("{arn}:1"), None, json!({}))
            .await
            .is_err()
    );
    assert_eq!(
        conflict(s.delete_version(&arn, 2).await),
        "ConflictException"
    );
    assert_eq!(
        s.delete_version(&arn, 7).await.unwrap_err().error_type,
        "ResourceNotFound"
    );
}

/// `ListExecutions` and `DescribeStateMachine` take a version's or an alias's ARN, as Step
/// Functions does: the executions started through it, that version's definition; and
/// `DescribeExecution` names the version and alias an execution was started through.
#[tokio::test]
async fn the_api_lists_and_describes_by_a_version_or_an_alias() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = sfn();
    let def = |result: &str| json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}});
    let arn = s.create_state_machine("m", &def("one")).await.unwrap();
    s.publish(&arn, "live").await.unwrap();
    s.publish_version(&arn, &def("two")).await.unwrap();
    let via_alias = s
        .start_execution(&format!("{arn}:live"), Some("a"), json!({}))
        .await
        .unwrap();
    s.start_execution(&format!("{arn}:2"), Some("b"), json!({}))
        .await
        .unwrap();
    s.start_execution(&arn, Some("c"), json!({})).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = api::router(&s, Arc::new(local_aws_core::AllowAll));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let call = |op: &'static str, body: Value| async move {
        let body = body.to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nhost: local\r\nconnection: close\r\ncontent-type: application/x-amz-json-1.0\r\nx-amz-target: AWSStepFunctions.{op}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        let (_, json) = answer.split_once("\r\n\r\n").unwrap();
        serde_json::from_str::<Value>(json).unwrap()
    };
    let names = |v: Value| {
        let mut n: Vec<String> = v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let list = |q: String| call("ListExecutions", json!({ "stateMachineArn": q }));
    assert_eq!(names(list(arn.clone()).await), ["a", "b", "c"]);
    assert_eq!(names(list(format!("{arn}:live")).await), ["a"]);
    assert_eq!(names(list(format!("{arn}:2")).await), ["b"]);
    assert_eq!(names(list(format!("{arn}:1")).await), ["a"]);
    let described = call(
        "DescribeExecution",
        json!({ "executionArn": via_alias.arn }),
    )
    .await;
    assert_eq!(described["stateMachineVersionArn"], format!("{arn}:1"));
    assert_eq!(described["stateMachineAliasArn"], format!("{arn}:live"));
    let v1 = call(
        "DescribeStateMachine",
        json!({ "stateMachineArn": format!("{arn}:1") }),
    )
    .await;
    assert!(v1["definition"].as_str().unwrap().contains("one"), "{v1}");
    let missing = call(
        "DescribeStateMachine",
        json!({ "stateMachineArn": format!("{arn}:9") }),
    )
    .await;
    assert_eq!(missing["__type"], "StateMachineDoesNotExist", "{missing}");
}
