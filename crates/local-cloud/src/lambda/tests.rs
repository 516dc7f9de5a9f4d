//! The Lambda emulator's tests.

use super::*;

#[test]
fn cpu_time_is_user_and_system_ticks_after_the_command_name() {
    // A command name with a space and a parenthesis; utime 123 and stime 45 ticks.
    let stat = "4242 (pos (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 123 45 0 0 20 0 3 0 100";
    assert_eq!(parse_cpu_ms(stat), Some(1680));
    assert_eq!(parse_cpu_ms("4242 (pos) S 1"), None);
    // This process has used some CPU by now, and its stat reads.
    assert!(cpu_ms(std::process::id()).is_some());
}

#[test]
fn the_wait_for_a_core_is_the_second_schedstat_field_and_this_process_has_one() {
    // `/proc/<pid>/task/<tid>/schedstat`: time on a core, time waiting for one (ns), slices.
    assert_eq!(parse_run_delay_ns("373691 65152 2\n"), Some(65152));
    assert_eq!(parse_run_delay_ns("373691"), None);
    assert!(waited_for_cpu_ns(std::process::id()).is_some());
}

#[tokio::test]
async fn concurrency_of_an_unknown_function_is_refused_by_name() {
    let config = LambdaConfig {
        bin_dir: std::env::temp_dir(),
        concurrency: 1,
        concurrency_of: BTreeMap::from([("pso".to_owned(), 4)]),
        shared_env: BTreeMap::new(),
        log_dir: std::env::temp_dir().join("local-cloud-lambda-tests"),
        async_wait_scale: TimeScale::new(1000.0),
        iam: Arc::default(),
        account_concurrency: DEFAULT_ACCOUNT_CONCURRENCY,
        quotas: Arc::new(local_aws_core::quota::Quotas::unlimited()),
    };
    let err = match Lambda::start(&[], config, Arc::new(Queues::default())).await {
        Ok(_) => panic!("an unknown binary name was accepted"),
        Err(e) => e,
    };
    assert!(err.contains("\"pso\""), "{err}");
}

/// A function whose runtime, in Python, answers every invocation after `seconds`, echoing
/// the deadline it was given.
fn slow_function(dir: &std::path::Path, seconds: f64, timeout_seconds: u64) -> Function {
    let script = format!(
        r#"#!/usr/bin/env python3
import os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["lambda-runtime-aws-request-id"]
        deadline = r.headers["lambda-runtime-deadline-ms"]
    time.sleep({seconds})
    body = ('{{"deadline": %s}}' % deadline).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#
    );
    let path = dir.join("slow");
    std::fs::write(&path, script).unwrap();
    let status = std::process::Command::new("chmod")
        .args(["+x", &path.to_string_lossy()])
        .status()
        .unwrap();
    assert!(status.success());
    Function {
        logical_id: "SlowFunction".to_owned(),
        name: "slow".to_owned(),
        arn: "arn:aws:lambda:us-east-1:000000000000:function:slow".to_owned(),
        binary: "slow".to_owned(),
        env: BTreeMap::new(),
        timeout_seconds,
        memory_mb: 128,
        log_level: None,
        log_format: None,
        async_retries: 2,
        on_failure: None,
        max_event_age_seconds: DEFAULT_MAX_EVENT_AGE_SECONDS,
        reserved_concurrency: None,
        alias: None,
    }
}

#[tokio::test]
async fn the_timeout_runs_from_when_a_process_takes_the_invocation_not_from_the_queue() {
    let dir = std::env::temp_dir().join(format!("local-cloud-lambda-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    // One process, 1 s timeout, 0.6 s per invocation: three at once take 1.8 s in all,
    // yet each runs well within its own second.
    let function = slow_function(&dir, 0.6, 1);
    let config = LambdaConfig {
        bin_dir: dir.clone(),
        concurrency: 1,
        concurrency_of: BTreeMap::new(),
        shared_env: BTreeMap::new(),
        log_dir: dir.join("logs"),
        async_wait_scale: TimeScale::new(1.0),
        iam: Arc::default(),
        account_concurrency: DEFAULT_ACCOUNT_CONCURRENCY,
        quotas: Arc::new(local_aws_core::quota::Quotas::unlimited()),
    };
    let lambda = Lambda::start(&[function], config, Arc::new(Queues::default()))
        .await
        .unwrap();
    let before = chrono::Utc::now().timestamp_millis();
    let outcomes =
        futures::future::join_all((0..3).map(|i| lambda.invoke("slow", json!({ "n": i })))).await;
    lambda.stop().await;
    let mut deadlines = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Ok(v) => deadlines.push(v["deadline"].as_i64().unwrap()),
            Outcome::Err {
                error_type,
                error_message,
            } => {
                panic!("an invocation failed: {error_type}: {error_message}")
            }
        }
    }
    deadlines.sort_unstable();
    // Each deadline is a second after its own start, so the last is over a second after the first.
    assert!(deadlines[0] >= before + 1000, "{deadlines:?}");
    assert!(deadlines[2] - deadlines[0] >= 1000, "{deadlines:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn started(
    dir: &std::path::Path,
    f: Function,
    processes: usize,
    account_concurrency: usize,
    queues: Arc<Queues>,
) -> Arc<Lambda> {
    let config = LambdaConfig {
        bin_dir: dir.to_owned(),
        concurrency: processes,
        concurrency_of: BTreeMap::new(),
        shared_env: BTreeMap::new(),
        log_dir: dir.join("logs"),
        async_wait_scale: TimeScale::new(1000.0),
        iam: Arc::default(),
        account_concurrency,
        quotas: Arc::new(local_aws_core::quota::Quotas::unlimited()),
    };
    Lambda::start(&[f], config, queues).await.unwrap()
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("local-cloud-lambda-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What each of `n` simultaneous invocations ended as (`ok` or the error type), sorted.
async fn at_once(lambda: &Lambda, n: usize) -> Vec<String> {
    let mut kinds: Vec<String> =
        futures::future::join_all((0..n).map(|i| lambda.invoke("slow", json!({ "n": i }))))
            .await
            .into_iter()
            .map(|o| match o {
                Outcome::Ok(_) => "ok".to_owned(),
                Outcome::Err {
                    error_type,
                    error_message,
                } => {
                    format!("{error_type}: {error_message}")
                }
            })
            .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn reserved_and_account_concurrency_refuse_what_lambda_refuses() {
    let dir = scratch();
    // Two processes here, but a reserved concurrency of 1: Lambda runs one at a time.
    let mut f = slow_function(&dir, 0.4, 5);
    f.reserved_concurrency = Some(1);
    let lambda = started(&dir, f, 2, DEFAULT_ACCOUNT_CONCURRENCY, Arc::default()).await;
    let kinds = at_once(&lambda, 3).await;
    lambda.stop().await;
    assert_eq!(
        kinds,
        [
            "TooManyRequestsException: Rate Exceeded. (Reason: ReservedFunctionConcurrentInvocationLimitExceeded)",
            "TooManyRequestsException: Rate Exceeded. (Reason: ReservedFunctionConcurrentInvocationLimitExceeded)",
            "ok"
        ]
    );
    // One process here, an account limit of 2: the second waits for the process (this
    // machine's capacity), the third is refused (the account's).
    let lambda = started(&dir, slow_function(&dir, 0.4, 5), 1, 2, Arc::default()).await;
    let kinds = at_once(&lambda, 3).await;
    // Once answered, the concurrency is free again.
    let again = at_once(&lambda, 1).await;
    lambda.stop().await;
    assert_eq!(
        kinds,
        [
            "TooManyRequestsException: Rate Exceeded. (Reason: ConcurrentInvocationLimitExceeded)",
            "ok",
            "ok"
        ]
    );
    assert_eq!(again, ["ok"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn payloads_over_lambdas_quotas_are_refused_with_its_errors() {
    let dir = scratch();
    let lambda = Arc::new(
        started(
            &dir,
            slow_function(&dir, 0.0, 5),
            1,
            DEFAULT_ACCOUNT_CONCURRENCY,
            Arc::default(),
        )
        .await,
    );
    let big = |bytes: usize| json!({ "text": "x".repeat(bytes) });
    match lambda.invoke("slow", big(SYNC_PAYLOAD_LIMIT_BYTES)).await {
        Outcome::Err {
            error_type,
            error_message,
        } => {
            assert_eq!(error_type, "RequestTooLargeException");
            assert!(error_message.contains("6291456 bytes"), "{error_message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        lambda.invoke("slow", big(1000)).await,
        Outcome::Ok(_)
    ));
    let (kind, message) = lambda
        .invoke_async("slow", big(ASYNC_PAYLOAD_LIMIT_BYTES))
        .unwrap_err();
    assert_eq!(kind, "RequestTooLargeException");
    assert!(message.contains("1048576 bytes"), "{message}");
    // Under the asynchronous limit but over 256 KB: accepted, as Lambda accepts it now.
    lambda.invoke_async("slow", big(300 * 1024)).unwrap();
    lambda.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_response_over_6_mb_fails_as_lambda_fails_it() {
    let dir = scratch();
    // A runtime that answers with `size` bytes of JSON, the size given in the request.
    let script = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["lambda-runtime-aws-request-id"]
        size = json.loads(r.read())["size"]
    body = json.dumps({"text": "x" * size}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;
    let path = dir.join("big");
    std::fs::write(&path, script).unwrap();
    assert!(
        std::process::Command::new("chmod")
            .args(["+x", &path.to_string_lossy()])
            .status()
            .unwrap()
            .success()
    );
    let f = Function {
        logical_id: "BigFunction".to_owned(),
        binary: "big".to_owned(),
        ..slow_function(&dir, 0.0, 5)
    };
    let lambda = started(&dir, f, 1, DEFAULT_ACCOUNT_CONCURRENCY, Arc::default()).await;
    let small = lambda.invoke("slow", json!({ "size": 1000 })).await;
    let big = lambda
        .invoke("slow", json!({ "size": SYNC_PAYLOAD_LIMIT_BYTES }))
        .await;
    lambda.stop().await;
    assert!(matches!(small, Outcome::Ok(_)), "{small:?}");
    match big {
        Outcome::Err {
            error_type,
            error_message,
        } => {
            assert_eq!(error_type, "Function.ResponseSizeTooLarge");
            assert!(error_message.contains("6291456 bytes"), "{error_message}");
        }
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_throttled_async_event_is_retried_until_its_maximum_age_then_goes_to_its_destination() {
    let dir = scratch();
    // Reserved concurrency 0 throttles every invocation; at 1000x, a 300 s maximum age is
    // 0.3 s here.
    let mut f = slow_function(&dir, 0.0, 5);
    f.reserved_concurrency = Some(0);
    f.max_event_age_seconds = 300;
    f.on_failure = Some("failures".to_owned());
    let queues = Arc::new(Queues::default());
    let lambda = Arc::new(started(&dir, f, 1, DEFAULT_ACCOUNT_CONCURRENCY, queues.clone()).await);
    lambda
        .invoke_async("slow", json!({ "order": "o-1" }))
        .unwrap();
    // In Lambda's internal queue from the moment it is accepted, through every retry.
    assert_eq!(lambda.queued_events(), 1);
    let letter = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(l) = queues
                .all()
                .await
                .get("failures")
                .and_then(|q| q.first().cloned())
            {
                break l;
            }
            assert_eq!(lambda.queued_events(), 1, "between its retries");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the event reached its destination");
    // Out of the queue once it is in its destination.
    tokio::time::timeout(Duration::from_secs(5), async {
        while lambda.queued_events() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the event left Lambda's queue");
    lambda.stop().await;
    assert_eq!(letter["requestContext"]["condition"], "EventAgeExceeded");
    assert_eq!(letter["requestPayload"], json!({ "order": "o-1" }));
    assert_eq!(
        letter["responsePayload"]["errorType"],
        "TooManyRequestsException"
    );
    // Throttles do not count as the function's retries: more attempts than 1 + 2 retries.
    assert!(
        letter["requestContext"]["approximateInvokeCount"]
            .as_u64()
            .unwrap()
            > 3,
        "{letter}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A process that dies mid-poll, after its `next` took an invocation off the queue but before
/// the invocation was handed to it, must not take the invocation with it (issue 25: hyper
/// drops the poll's handler when the process's connection closes). The invocation goes back
/// on the queue and the restarted process answers it; without that, the invoker waited out
/// the function's timeout for an answer no process would give.
#[tokio::test]
async fn an_invocation_taken_by_a_poll_whose_process_died_is_answered_by_the_next() {
    let dir = scratch();
    let lambda = started(&dir, slow_function(&dir, 0.0, 3), 1, 1000, Arc::default()).await;
    lambda.ready(Duration::from_secs(20)).await.unwrap();
    let worker = lambda.pool("slow").unwrap().workers[0].clone();
    let pid = worker.pid.lock().await.unwrap();
    // Hold the worker's process id: the poll that takes the invocation stops there, after
    // taking it off the queue and before handing it over.
    let held = worker.pid.lock().await;
    let invoker = {
        let lambda = lambda.clone();
        tokio::spawn(async move { lambda.invoke("slow", json!({ "n": 1 })).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(pid);
    // hyper sees the connection closed and drops the poll; then the restart may proceed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(held);
    let outcome = tokio::time::timeout(Duration::from_secs(20), invoker)
        .await
        .expect("the invocation was answered")
        .unwrap();
    lambda.stop().await;
    assert!(matches!(outcome, Outcome::Ok(_)), "{outcome:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_qualified_invocation_runs_only_a_version_or_alias_the_function_has_published() {
    let dir = scratch();
    let mut f = slow_function(&dir, 0.0, 5);
    f.alias = Some("live".to_owned());
    let lambda = Arc::new(started(&dir, f, 1, DEFAULT_ACCOUNT_CONCURRENCY, Arc::default()).await);
    // An event for a qualifier it has not published is refused at once, not accepted and lost.
    let (kind, _) = lambda.invoke_async("slow:2", json!({})).unwrap_err();
    assert_eq!(kind, "ResourceNotFoundException");
    lambda.invoke_async("slow:live", json!({})).unwrap();
    let mut answers = Vec::new();
    for name in [
        "slow",
        "slow:live",
        "slow:1",
        "slow:$LATEST",
        "slow:2",
        "slow:canary",
    ] {
        answers.push(match lambda.invoke(name, json!({})).await {
            Outcome::Ok(_) => "ok".to_owned(),
            Outcome::Err {
                error_type,
                error_message,
            } => format!("{error_type}: {error_message}"),
        });
    }
    lambda.stop().await;
    assert_eq!(
        answers,
        [
            "ok",
            "ok",
            "ok",
            "ok",
            "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:000000000000:function:slow:2",
            "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:000000000000:function:slow:canary",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A build of the function `slow` in `dir` that answers which build and version it is, or
/// (`fails`) fails every call.
fn build_in(dir: &std::path::Path, build: &str, fails: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let answer = if fails {
        r#"urllib.request.urlopen(urllib.request.Request(api + rid + "/error", data=b'{"errorType":"Broken","errorMessage":"every call"}', method="POST")).read()"#.to_owned()
    } else {
        format!(
            r#"urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=('{{"build": "{build}", "version": "%s"}}' % os.environ["AWS_LAMBDA_FUNCTION_VERSION"]).encode(), method="POST")).read()"#
        )
    };
    let script = format!(
        r#"#!/usr/bin/env python3
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["lambda-runtime-aws-request-id"]
    {answer}
"#
    );
    let path = dir.join("slow");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A deployment publishes the new build as version 2 beside version 1: the alias splits
/// invocations by weight, a version's number always reaches that build (an execution
/// published with version 1 finishes on it), errors are counted per version, and a version
/// the alias routes to cannot be deleted.
#[tokio::test]
async fn a_published_version_runs_beside_the_first_and_the_alias_splits_by_weight() {
    let dir = scratch();
    let mut f = slow_function(&dir, 0.0, 5);
    f.alias = Some("live".to_owned());
    build_in(&dir, "one", false);
    let lambda = started(&dir, f, 1, DEFAULT_ACCOUNT_CONCURRENCY, Arc::default()).await;
    let build = |o: Outcome| match o {
        Outcome::Ok(v) => format!(
            "{}@{}",
            v["build"].as_str().unwrap(),
            v["version"].as_str().unwrap()
        ),
        Outcome::Err { error_type, .. } => error_type,
    };
    assert_eq!(build(lambda.invoke("slow:live", json!({})).await), "one@1");

    let two = dir.join("two");
    build_in(&two, "two", false);
    assert_eq!(lambda.publish_version("slow", &two, None).await.unwrap(), 2);
    assert_eq!(lambda.versions("slow"), [1, 2]);
    // Published, not routed: the alias still runs version 1; the number reaches version 2.
    assert_eq!(build(lambda.invoke("slow:live", json!({})).await), "one@1");
    assert_eq!(build(lambda.invoke("slow:2", json!({})).await), "two@2");
    assert_eq!(
        build(lambda.invoke("slow", json!({})).await),
        "two@2",
        "$LATEST"
    );

    lambda
        .route_alias(
            "slow",
            AliasRouting {
                version: 1,
                additional: Some((2, 0.5)),
            },
        )
        .unwrap();
    let mut seen = BTreeMap::<String, usize>::new();
    for _ in 0..60 {
        *seen
            .entry(build(lambda.invoke("slow:live", json!({})).await))
            .or_default() += 1;
    }
    // Half each expected; 12..48 of 60 is over four sigma.
    assert!((12..48).contains(&seen["one@1"]), "{seen:?}");
    assert_eq!(seen["one@1"] + seen["two@2"], 60, "{seen:?}");
    assert_eq!(build(lambda.invoke("slow:1", json!({})).await), "one@1");

    // A broken build's errors are its version's own.
    let three = dir.join("three");
    build_in(&three, "three", true);
    assert_eq!(
        lambda.publish_version("slow", &three, None).await.unwrap(),
        3
    );
    assert_eq!(build(lambda.invoke("slow:3", json!({})).await), "Broken");
    assert_eq!(
        lambda
            .version_stats("slow", 3)
            .await
            .unwrap()
            .function_errors,
        1
    );
    assert_eq!(
        lambda
            .version_stats("slow", 2)
            .await
            .unwrap()
            .function_errors,
        0
    );

    assert!(
        lambda
            .delete_version("slow", 1)
            .unwrap_err()
            .contains("alias live")
    );
    lambda
        .route_alias(
            "slow",
            AliasRouting {
                version: 2,
                additional: None,
            },
        )
        .unwrap();
    lambda.delete_version("slow", 1).unwrap();
    assert_eq!(
        build(lambda.invoke("slow:1", json!({})).await),
        "ResourceNotFoundException"
    );
    assert_eq!(build(lambda.invoke("slow:live", json!({})).await), "two@2");
    assert!(
        lambda
            .route_alias(
                "slow",
                AliasRouting {
                    version: 9,
                    additional: None
                }
            )
            .is_err()
    );
    assert!(
        lambda
            .publish_version("slow", &dir.join("nowhere"), None)
            .await
            .is_err()
    );
    lambda.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
