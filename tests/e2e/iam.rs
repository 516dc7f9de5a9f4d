//! The template's IAM, enforced by the local cloud as AWS would: each test removes one
//! permission a function or workflow needs and finds the denial in the records (execution
//! histories, logs) and the order ended visibly, nothing half done.

use super::*;

/// The repository's template with `from` replaced by `to` in the resource `resource` (its
/// first occurrence after the resource's header), in a tree of its own under target/ that
/// shares the repository's functions and workflow.
fn template_with(case: &str, resource: &str, from: &str, to: &str) -> PathBuf {
    template_with_edits(case, &[(resource, from, to)])
}

/// The template with, in each `(resource, from, to)`, the first `from` in `resource` made `to`.
fn template_with_edits(case: &str, edits: &[(&str, &str, &str)]) -> PathBuf {
    let root = repo_root();
    let original = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap();
    let mut text = original.clone();
    for (resource, from, to) in edits {
        let start = text
            .find(&format!("\n  {resource}:\n"))
            .unwrap_or_else(|| panic!("no resource {resource} in the template"));
        let at = start
            + text[start..]
                .find(from)
                .unwrap_or_else(|| panic!("{resource} has no {from:?}"));
        text = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
    }
    let edited = text;
    assert_ne!(edited, original);
    let dir = root.join("target/local-cloud-e2e/templates").join(case);
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    for shared in ["functions", "statemachines"] {
        let link = dir.join(shared);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(root.join(shared), &link).unwrap();
    }
    let path = dir.join("infra/template.yaml");
    std::fs::write(&path, edited).unwrap();
    path
}

/// Starts a cloud from the template with `from` replaced by `to` in `resource`, sends `o`
/// (accepted: [`ack`]) and waits for it to end: a terminal status and every execution ended
/// (the status is the positive signal; executions alone once read as ended between the
/// Express execution's handover and its Standard continuation's first poll).
async fn run_with_permission_changed(
    case: &str,
    resource: &str,
    from: &str,
    to: &str,
    o: &Order,
) -> (Arc<LocalCloud>, OrderView) {
    let t = template_with(case, resource, from, to);
    let c = cloud_from(&format!("iam-{case}"), Some(t)).await;
    assert_eq!(send(&c, o).await, ack(o.partner));
    let v = settled(&c, o, 1).await;
    (c, v)
}

/// The causes in the order's execution histories that report an access denial of `action`.
async fn denials(c: &LocalCloud, o: &Order, action: &str) -> Vec<String> {
    history_types(c, o)
        .await
        .into_iter()
        .map(|(_, h)| h.to_string())
        .filter(|h| {
            h.contains("AccessDeniedException")
                && h.contains(&format!("is not authorized to perform: {action}"))
        })
        .collect()
}

fn log_of(c: &LocalCloud, binary: &str) -> String {
    let f = c.app.function_by_binary(binary).unwrap();
    let path = repo_root()
        .join("target/local-cloud-e2e/logs")
        .join(format!("{}.log", f.name));
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_put_events_intake_answers_503_and_logs_access_denied() {
    // The statement stays; its condition names another source, so the local cloud must
    // evaluate events:source on the entry to refuse it.
    let t = template_with(
        "intake",
        "IntakeFunction",
        "                  events:source: chain.orders.intake\n",
        "                  events:source: chain.orders.pipeline\n",
    );
    let c = cloud_from("iam-intake", Some(t)).await;
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    assert_eq!(send(&c, &o).await, 503);
    assert!(c.executions_of(&o.id).await.is_empty());
    let log = log_of(&c, "intake");
    assert!(
        log.contains("AccessDeniedException")
            && log.contains("is not authorized to perform: events:PutEvents"),
        "intake's log: {log}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_webhook_secrets_intake_fails_its_init_and_the_cloud_says_why() {
    // Intake reads its secret at init; on AWS the function's init fails (`INIT_REPORT …
    // Status: error`) and every webhook gets an error. Here the cloud refuses to start, naming
    // the function and quoting Secrets Manager's denial from its log.
    let t = template_with(
        "intake-secrets",
        "IntakeFunction",
        "        - AWSSecretsManagerGetSecretValuePolicy: { SecretArn: !Ref WebhookSecretsArn }\n",
        "",
    );
    let started = std::time::Instant::now();
    let Err(e) = try_cloud_from("iam-intake-secrets", Some(t)).await else {
        panic!("the cloud started without intake's secret");
    };
    let e = e.to_string();
    assert!(
        e.contains("orders-e2e-iam-intake-secrets-intake fails its init")
            && e.contains("AccessDeniedException")
            && e.contains("is not authorized to perform: secretsmanager:GetSecretValue"),
        "{e}"
    );
    // It says so as soon as the init has failed on every process twice, not at the timeout.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(50),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_idempotency_table_dedup_is_denied_and_the_partner_is_told_no() {
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    let (c, v) = run_with_permission_changed(
        "dedup",
        "DedupFunction",
        "              Resource: !GetAtt IdempotencyTable.Arn\n",
        "              Resource: !GetAtt OrdersTable.Arn\n",
        &o,
    )
    .await;
    // Ended visibly by the pipeline (told no, Order Failed): the execution succeeds.
    assert_eq!(v.executions[0].status, "SUCCEEDED");
    assert_eq!(
        v.executions[0].path.last().map(String::as_str),
        Some("Failed")
    );
    assert!(!denials(&c, &o, "dynamodb:PutItem").await.is_empty());
    assert_eq!(live_pos_orders(&v), 0);
    // No other delivery made the order's record, so this one owns the order: the partner's
    // own records show it was told no (once, applied), and the orders table ends it Failed.
    let told = statements_to(&c, &o).await;
    assert_eq!(told, [(local_cloud::sim::partner::Told::Deny, true)]);
    assert_eq!(v.status.as_deref(), Some("Failed"), "{v:#?}");
    assert_eq!(v.history, ["Received", "Failed"]);
    assert!(
        v.executions[0].path.iter().any(|s| s == "Deny unclaimed"),
        "{v:#?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reads_of_the_stores_table_adapt_order_is_denied_and_nothing_reaches_the_pos() {
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    let (c, v) = run_with_permission_changed(
        "adapt",
        "AdaptOrderFunction",
        "              Resource: [!GetAtt StoresTable.Arn, !GetAtt MenusTable.Arn]\n",
        "              Resource: [!GetAtt MenusTable.Arn]\n",
        &o,
    )
    .await;
    assert!(!denials(&c, &o, "dynamodb:GetItem").await.is_empty());
    assert!(
        v.executions[0].path.contains(&"Deny".to_owned()),
        "{:?}",
        v.executions[0].path
    );
    assert_eq!(live_pos_orders(&v), 0);
    // The partner's own record: told no, once; the order ended failed, not silently.
    assert_eq!(
        statements_to(&c, &o).await,
        [(local_cloud::sim::partner::Told::Deny, true)]
    );
    assert_eq!(v.status.as_deref(), Some("Failed"), "{v:#?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_writes_to_the_orders_table_accept_order_is_denied_and_the_partner_told_the_order_is_off()
 {
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    let (c, v) = run_with_permission_changed(
        "accept",
        "AcceptOrderFunction",
        "              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem]\n              Resource: !GetAtt OrdersTable.Arn\n",
        "              Action: [dynamodb:GetItem]\n              Resource: !GetAtt OrdersTable.Arn\n",
        &o,
    )
    .await;
    assert!(!denials(&c, &o, "dynamodb:UpdateItem").await.is_empty());
    assert_eq!(live_pos_orders(&v), 0);
    // The partner's own record: it took the accept (the status write after it was the denied
    // call), refused the denial that followed, and took the cancellation; the order ended
    // failed.
    let told = statements_to(&c, &o).await;
    assert!(
        told.first() == Some(&(local_cloud::sim::partner::Told::Accept, true))
            && told.last() == Some(&(local_cloud::sim::partner::Told::Cancel, true)),
        "{told:?}"
    );
    assert_eq!(v.status.as_deref(), Some("Failed"), "{v:#?}");
    c.stop().await;
}

/// The defect the template review found: with SAM's write policy on the held-orders table
/// (PutItem, UpdateItem, BatchWriteItem), taking a held order back is denied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_delete_item_on_held_orders_hold_order_cannot_release_by_time() {
    let o = order(
        Partner::DoorDash,
        "events/partners/doordash/order-scheduled.json",
        &[("/order/estimated_pickup_time", 15)],
    );
    let (c, v) = run_with_permission_changed(
        "hold",
        "HoldOrderFunction",
        "              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem]\n",
        "              Action: [dynamodb:GetItem, dynamodb:PutItem]\n",
        &o,
    )
    .await;
    assert!(!denials(&c, &o, "dynamodb:DeleteItem").await.is_empty());
    assert!(
        v.executions[0].path.contains(&"Release by time".to_owned()),
        "{:?}",
        v.executions[0].path
    );
    assert_eq!(live_pos_orders(&v), 0);
    // Accepted, then cancelled with the partner when the release failed; the order ended
    // failed.
    assert_eq!(
        statements_to(&c, &o).await,
        [
            (local_cloud::sim::partner::Told::Accept, true),
            (local_cloud::sim::partner::Told::Cancel, true)
        ]
    );
    assert_eq!(v.status.as_deref(), Some("Failed"), "{v:#?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_writes_to_the_orders_table_pos_is_denied_and_its_pos_order_is_voided() {
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    let (c, v) = run_with_permission_changed(
        "pos",
        "PosFunction",
        "              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem]\n              Resource: !GetAtt OrdersTable.Arn\n",
        "              Action: [dynamodb:GetItem]\n              Resource: !GetAtt OrdersTable.Arn\n",
        &o,
    )
    .await;
    assert!(!denials(&c, &o, "dynamodb:UpdateItem").await.is_empty());
    // The POS made the order before the status write was refused: the void finds it by the
    // order id and voids it.
    assert_eq!(v.pos_orders.len(), 1, "{:?}", v.pos_orders);
    assert_eq!(live_pos_orders(&v), 0, "{:?}", v.pos_orders);
    assert!(v.executions[0].path.contains(&"Void in POS".to_owned()));
    c.stop().await;
}

/// The same defect in release-order: a courier's release takes the held order back with a
/// conditional DeleteItem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_delete_item_on_held_orders_a_courier_release_fails_to_its_destination() {
    // Without Lambda's two retries (a minute and two minutes apart, real time at any time
    // scale), so the denial reaches the destination within the test's wait.
    let t = template_with_edits(
        "release",
        &[
            (
                "ReleaseOrderFunction",
                "              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem]\n",
                "              Action: [dynamodb:GetItem, dynamodb:PutItem]\n",
            ),
            (
                "ReleaseOrderFunction",
                "        MaximumRetryAttempts: 2\n",
                "        MaximumRetryAttempts: 0\n",
            ),
        ],
    );
    let c = cloud_from("iam-release", Some(t)).await;
    let o = order(
        Partner::DoorDash,
        "events/partners/doordash/order.json",
        &[("/order/estimated_pickup_time", 45)],
    );
    assert_eq!(send(&c, &o).await, ack(o.partner));
    held(&c, &o).await;
    eventually(WITHIN, "a held-orders row", || async {
        c.scan("HeldOrdersTable")
            .await
            .into_iter()
            .find(|r| r["orderId"] == format!("doordash.{}", o.id))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let courier = about(
        &o,
        "events/partners/doordash/courier.json",
        "/external_order_id",
    );
    assert_eq!(
        c.send_signed(Partner::DoorDash, courier).await.unwrap().0,
        partners::acknowledgement(Partner::DoorDash).status
    );
    let queue = c
        .app
        .queues
        .iter()
        .find(|q| q.ends_with("release-failures"))
        .unwrap()
        .clone();
    let failure = eventually(WITHIN, "release-order's failure destination", || async {
        c.queues
            .all()
            .await
            .get(&queue)
            .and_then(|m| m.first().cloned())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let text = failure.to_string();
    assert!(
        text.contains("AccessDeniedException")
            && text.contains("is not authorized to perform: dynamodb:DeleteItem"),
        "{failure:#}"
    );
    assert_eq!(view(&c, &o).await.status.as_deref(), Some("Held"));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_invoke_on_pos_the_workflow_is_denied_and_cancels_with_the_partner() {
    // Both workflows' roles lose it: the Express workflow is denied, hands the send over, and
    // the Standard one is denied too, voids what it can and cancels with the partner.
    let o = order(Partner::ChainApp, "events/partners/app/order.json", &[]);
    let invoke_pos = "        - LambdaInvokePolicy: { FunctionName: !Ref PosFunction }\n";
    let t = template_with_edits(
        "workflow",
        &[
            ("OrderWorkflow", invoke_pos, ""),
            ("OrderHoldWorkflow", invoke_pos, ""),
        ],
    );
    let c = cloud_from("iam-workflow", Some(t)).await;
    assert_eq!(send(&c, &o).await, ack(o.partner));
    let v = settled(&c, &o, 1).await;
    let denied = denials(&c, &o, "lambda:InvokeFunction").await;
    assert!(!denied.is_empty());
    assert!(
        denied
            .iter()
            .any(|h| h.contains("Lambda.AWSLambdaException")),
        "{denied:?}"
    );
    assert!(v.pos_orders.is_empty(), "{:?}", v.pos_orders);
    assert!(
        v.executions[0]
            .path
            .contains(&"Cancel with partner".to_owned())
    );
    // The partner's own record: accepted, then cancelled; the order ended failed.
    assert_eq!(
        statements_to(&c, &o).await,
        [
            (local_cloud::sim::partner::Told::Accept, true),
            (local_cloud::sim::partner::Told::Cancel, true)
        ]
    );
    assert_eq!(v.status.as_deref(), Some("Failed"), "{v:#?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_start_execution_on_the_express_workflow_a_released_order_is_sent_from_the_hold() {
    // The hand-back is denied (AccessDenied is not retried away): the Standard workflow sends
    // the released order itself, once.
    let o = order(
        Partner::DoorDash,
        "events/partners/doordash/order-scheduled.json",
        &[("/order/estimated_pickup_time", 15)],
    );
    // The hand-back's grant scoped to another alias: the `live` one is denied.
    let start_express = "                StringEquals: { states:StateMachineQualifier: live }\n";
    let start_express_denied =
        "                StringEquals: { states:StateMachineQualifier: canary }\n";
    let (c, v) = run_with_permission_changed(
        "handback",
        "OrderHoldWorkflow",
        start_express,
        start_express_denied,
        &o,
    )
    .await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");
    assert!(!denials(&c, &o, "states:StartExecution").await.is_empty());
    let run = &c.runs_of(&o.id).await[0];
    assert_eq!(
        run.executions.len(),
        2,
        "no Express execution after the hold"
    );
    let standard = run.executions[1].path().await;
    assert!(
        standard.ends_with(&[
            "Hand back".to_owned(),
            "Timed out?".to_owned(),
            "Release by time".to_owned(),
            "Send to POS".to_owned(),
            "Publish sent to POS".to_owned(),
            "Sent to POS".to_owned()
        ]),
        "{standard:?}"
    );
    assert_eq!(live_pos_orders(&v), 1);
    assert_eq!(count(&events(&c, &o).await, "Order Sent To POS"), 1);
    c.stop().await;
}
