//! The DynamoDB adapters against AWS's DynamoDB Local (real conditional writes, indexes and
//! TTL settings), each test on fresh tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_adapters::tables::{self, Table};
use aws_adapters::{DynamoHeld, DynamoIdempotencyStore, DynamoOrders};
use chrono::{DateTime, TimeDelta, Utc};
use idempotency::{
    Claim, Config, Idempotency, IdempotencyError, IdempotencyKey, IdempotencyStore, Outcome,
    Record, RecordStatus,
};
use order_domain::{Catalog, OrderId, Partner};
use suites::dynamodb::{client, unique_table};

/// The instant the tests call "now": the wall clock when the first test asked, to the second.
///
/// Not a fixed date: DynamoDB Local runs a TTL sweeper against the wall clock about every 10 s
/// (measured here: an item written an hour expired was gone 10.0 to 11.0 s later, five times
/// running; AWS takes up to days). With a fixed past "now" every record these tests write is
/// already expired by the wall clock, so a sweep landing inside a fifty-claim race deleted the
/// winner's claim and let a second claimant win (3 of 10 loaded full runs, then a CI failure).
fn now() -> DateTime<Utc> {
    static NOW: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| {
        DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("the wall clock is in range")
    })
}

async fn table(kind: Table, prefix: &str) -> (aws_sdk_dynamodb::Client, String) {
    let c = client().await;
    let name = unique_table(prefix);
    tables::create(&c, kind, &name).await.unwrap();
    (c, name)
}

fn in_progress(key: &str, deadline: DateTime<Utc>) -> Record {
    Record {
        key: IdempotencyKey::from_stored(key),
        status: RecordStatus::InProgress,
        expires_at: (now() + TimeDelta::hours(1)).timestamp(),
        in_progress_expires_at_ms: Some(deadline.timestamp_millis()),
        payload_hash: "hash-1".to_owned(),
        result: None,
        claimant: None,
    }
}

#[tokio::test]
async fn fifty_tasks_racing_to_claim_one_key_make_exactly_one_winner() {
    let (c, name) = table(Table::Idempotency, "idem").await;
    let store = Arc::new(DynamoIdempotencyStore::new(c, name));
    let tasks = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put_in_progress(
                    &in_progress("order#race", now() + TimeDelta::seconds(30)),
                    now(),
                )
                .await
                .unwrap()
        })
    });
    let claims: Vec<Claim> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(claims.iter().filter(|c| **c == Claim::Claimed).count(), 1);
    // Every loser got the winner's record back from its own failed write.
    for c in claims.iter().filter(|c| **c != Claim::Claimed) {
        let Claim::Exists(r) = c else { unreachable!() };
        assert_eq!(r.status, RecordStatus::InProgress);
        assert_eq!(r.payload_hash, "hash-1");
    }
}

#[tokio::test]
async fn fifty_concurrent_deliveries_run_the_guarded_operation_once() {
    let (c, name) = table(Table::Idempotency, "idem").await;
    let guard = Arc::new(Idempotency::new(
        Arc::new(DynamoIdempotencyStore::new(c, name)),
        Config::default(),
    ));
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks = (0..50).map(|_| {
        let (guard, runs) = (guard.clone(), runs.clone());
        tokio::spawn(async move {
            guard
                .run(
                    &IdempotencyKey::from_stored("order#once"),
                    "h",
                    now(),
                    now() + TimeDelta::seconds(30),
                    || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, String>(42)
                    },
                )
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Ok(Outcome::Fresh(42))))
            .count(),
        1
    );
    assert!(results.iter().all(|r| matches!(
        r,
        Ok(Outcome::Fresh(42) | Outcome::Replayed(42)) | Err(IdempotencyError::InProgress { .. })
    )));
}

/// The conditional write that lets a named claimant (a workflow execution) take over its own
/// crashed claim, and no one else.
#[tokio::test]
async fn only_the_claimant_itself_takes_over_its_in_progress_claim_before_the_deadline() {
    let (c, name) = table(Table::Idempotency, "idem").await;
    let store = DynamoIdempotencyStore::new(c, name);
    let deadline = now() + TimeDelta::seconds(30);
    let by = |claimant: &str| Record {
        claimant: Some(claimant.to_owned()),
        ..in_progress("order#own", deadline)
    };
    assert_eq!(
        store.put_in_progress(&by("exec-1"), now()).await.unwrap(),
        Claim::Claimed
    );
    let other = store.put_in_progress(&by("exec-2"), now()).await.unwrap();
    assert!(
        matches!(other, Claim::Exists(ref r) if r.claimant.as_deref() == Some("exec-1")),
        "{other:?}"
    );
    let unnamed = store
        .put_in_progress(&in_progress("order#own", deadline), now())
        .await
        .unwrap();
    assert!(matches!(unnamed, Claim::Exists(_)), "{unnamed:?}");
    assert_eq!(
        store.put_in_progress(&by("exec-1"), now()).await.unwrap(),
        Claim::Claimed,
        "the same execution's retry takes its claim back"
    );
    // Once completed, the claim is resumed (read back), never retaken.
    store
        .complete(
            &IdempotencyKey::from_stored("order#own"),
            &serde_json::json!({"n": 1}),
            (now() + TimeDelta::hours(1)).timestamp(),
        )
        .await
        .unwrap();
    let done = store.put_in_progress(&by("exec-1"), now()).await.unwrap();
    assert!(
        matches!(done, Claim::Exists(ref r) if r.status == RecordStatus::Completed && r.claimant.as_deref() == Some("exec-1")),
        "{done:?}"
    );
}

#[tokio::test]
async fn an_in_progress_claim_expires_with_the_claimants_deadline() {
    let (c, name) = table(Table::Idempotency, "idem").await;
    let store = DynamoIdempotencyStore::new(c, name);
    let deadline = now() + TimeDelta::seconds(5);
    assert_eq!(
        store
            .put_in_progress(&in_progress("k", deadline), now())
            .await
            .unwrap(),
        Claim::Claimed
    );
    let before = store
        .put_in_progress(&in_progress("k", deadline), deadline)
        .await
        .unwrap();
    assert!(
        matches!(before, Claim::Exists(ref r) if r.in_progress_expires_at_ms == Some(deadline.timestamp_millis())),
        "{before:?}"
    );
    let after = deadline + TimeDelta::milliseconds(1);
    assert_eq!(
        store
            .put_in_progress(&in_progress("k", after + TimeDelta::seconds(5)), after)
            .await
            .unwrap(),
        Claim::Claimed
    );
}

#[tokio::test]
async fn records_carry_a_ttl_attribute_and_count_as_absent_once_expired() {
    let (c, name) = table(Table::Idempotency, "idem").await;
    let ttl = c
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let spec = ttl.time_to_live_description().unwrap();
    assert_eq!(spec.attribute_name(), Some(tables::IDEMPOTENCY_TTL_ATTR));
    let guard = Idempotency::new(
        Arc::new(DynamoIdempotencyStore::new(c.clone(), name.clone())),
        Config {
            ttl: TimeDelta::hours(2),
        },
    );
    let key = IdempotencyKey::from_stored("order#ttl");
    guard
        .run(&key, "h", now(), now(), || async { Ok::<_, String>(1) })
        .await
        .unwrap();
    let item = c
        .get_item()
        .table_name(&name)
        .key(
            tables::IDEMPOTENCY_KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(key.to_string()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let expiration = item[tables::IDEMPOTENCY_TTL_ATTR]
        .as_n()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(expiration, (now() + TimeDelta::hours(2)).timestamp());
    assert_eq!(item["status"].as_s().unwrap(), "COMPLETED");
    // DynamoDB deletes expired items lazily; until it does, the claim treats them as absent.
    let later = now() + TimeDelta::hours(2) + TimeDelta::seconds(1);
    let again = guard
        .run(&key, "another payload", later, later, || async {
            Ok::<_, String>(2)
        })
        .await
        .unwrap();
    assert_eq!(again, Outcome::Fresh(2));
}

#[tokio::test]
async fn a_completed_key_replays_its_result_and_refuses_another_payload() {
    let (c, name) = table(Table::Idempotency, "idem").await;
    let guard = Idempotency::new(
        Arc::new(DynamoIdempotencyStore::new(c, name)),
        Config::default(),
    );
    let key = IdempotencyKey::from_stored("order#replay");
    let op = || async { Ok::<_, String>(serde_json::json!({ "orderId": "app.1" })) };
    assert!(
        !guard
            .run(&key, "h", now(), now(), op)
            .await
            .unwrap()
            .is_replay()
    );
    let replay = guard.run(&key, "h", now(), now(), op).await.unwrap();
    assert_eq!(
        replay,
        Outcome::Replayed(serde_json::json!({ "orderId": "app.1" }))
    );
    let err = guard
        .run(&key, "other", now(), now(), op)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdempotencyError::PayloadMismatch { .. }),
        "{err}"
    );
}

async fn orders() -> DynamoOrders {
    let (c, name) = table(Table::Orders, "orders").await;
    DynamoOrders::new(c, name)
}

/// The orders repository's contract (`pipeline::contract`), the same cases the in-memory
/// twin passes (`crates/pipeline/tests/orders_contract.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dynamodb_orders_table_keeps_the_repository_contract() {
    let payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(suites::repo_root().join("events/partners/app/order.json"))
            .unwrap(),
    )
    .unwrap();
    let order =
        partners::adapt(Partner::ChainApp, &payload, &Catalog::embedded().unwrap()).unwrap();
    pipeline::contract::orders_repo(Arc::new(orders().await), "ddb", order).await;
}

/// The workflow's own DynamoDB tasks (`Record failure`), rendered by the ASL interpreter from
/// the definition file and sent as Step Functions sends them, against a record the adapter
/// wrote; the adapter must then read back what the task meant to write.
#[tokio::test]
async fn the_workflows_record_failure_update_writes_what_the_orders_adapter_reads() {
    use pipeline::ports::{NewOrder, OrdersRepo, StatusUpdate};
    let (c, table_name) = table(Table::Orders, "orders").await;
    let repo = DynamoOrders::new(c, table_name.clone());
    let definition: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            suites::repo_root().join("statemachines/order-hold-workflow.asl.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let task = &definition["States"]["Record failure"];
    assert_eq!(task["Resource"], "arn:aws:states:::dynamodb:updateItem");
    let entered = "2026-11-22T18:05:00.123Z";
    let render = |order_id: &str| {
        let state = serde_json::json!({
            "orderId": order_id,
            "received": { "metadata": { "correlationId": "c-1" } },
            "error": { "Error": "PosUnavailable", "Cause": "timed out" },
            // The Express execution that claimed the order (this Standard one took it over).
            "owner": "arn:aws:states:us-east-1:1:execution:orders:e-1",
        });
        let context = serde_json::json!({
            "State": { "EnteredTime": entered, "Name": "Record failure" },
            "Execution": { "Id": "arn:aws:states:us-east-1:1:execution:orders-hold:fail-e-1" },
        });
        let mut params = asl::template::apply(&task["Parameters"], &state, &context).unwrap();
        assert_eq!(params["TableName"], "${OrdersTableName}");
        params["TableName"] = serde_json::Value::from(table_name.clone());
        params
    };
    local_cloud::install_crypto();
    let http = reqwest::Client::new();
    let endpoint = suites::dynamodb::endpoint().await;
    let send = |params: serde_json::Value| {
        let (http, endpoint) = (http.clone(), endpoint.clone());
        async move { local_cloud::dynamodb::call(&http, &endpoint, "UpdateItem", params).await }
    };

    // An order part-way through (accepted), as the adapter wrote it.
    let id = OrderId::parse("app.record-failure-1").unwrap();
    repo.create(NewOrder {
        order_id: id.clone(),
        partner: Partner::ChainApp,
        partner_order_id: order_domain::PartnerOrderId::parse("record-failure-1").unwrap(),
        correlation_id: "c-1".to_owned(),
        created_by: Some("arn:aws:states:us-east-1:1:execution:orders:e-1".to_owned()),
        at: now(),
        received: None,
    })
    .await
    .unwrap();
    repo.transition(
        &id,
        order_domain::OrderStatus::Accepted,
        now(),
        StatusUpdate::default(),
    )
    .await
    .unwrap();
    send(render(id.as_str())).await.unwrap();
    let r = repo
        .get(&id)
        .await
        .unwrap()
        .expect("the record is still there");
    assert_eq!(r.status, order_domain::OrderStatus::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("PosUnavailable: compensation did not complete")
    );
    let last = r.history.last().unwrap();
    assert_eq!(last.status, order_domain::OrderStatus::Failed);
    assert_eq!(last.at, entered.parse::<DateTime<Utc>>().unwrap());
    assert_eq!(last.note.as_deref(), Some("compensation failed"));
    assert_eq!(
        r.history.iter().map(|h| h.status).collect::<Vec<_>>(),
        [
            order_domain::OrderStatus::Received,
            order_domain::OrderStatus::Accepted,
            order_domain::OrderStatus::Failed
        ]
    );
    // An order that already ended keeps its ending: the condition refuses, as the workflow's
    // first retrier (MaxAttempts 0) expects.
    let again = send(render(id.as_str())).await.unwrap_err();
    assert_eq!(
        again.error_type, "ConditionalCheckFailedException",
        "{again:?}"
    );
    assert_eq!(repo.get(&id).await.unwrap().unwrap().history.len(), 3);
    // Every other ending is kept too: a rejected and a cancelled order.
    for (n, ending) in [
        ("rejected", order_domain::OrderStatus::Rejected),
        ("cancelled", order_domain::OrderStatus::Cancelled),
    ] {
        let ended = OrderId::parse(format!("app.record-failure-{n}")).unwrap();
        repo.create(NewOrder {
            order_id: ended.clone(),
            partner: Partner::ChainApp,
            partner_order_id: order_domain::PartnerOrderId::parse(format!("record-failure-{n}"))
                .unwrap(),
            correlation_id: "c-1".to_owned(),
            created_by: Some("arn:aws:states:us-east-1:1:execution:orders:e-1".to_owned()),
            at: now(),
            received: None,
        })
        .await
        .unwrap();
        repo.transition(&ended, ending, now(), StatusUpdate::default())
            .await
            .unwrap();
        let refused = send(render(ended.as_str())).await.unwrap_err();
        assert_eq!(refused.error_type, "ConditionalCheckFailedException", "{n}");
        assert_eq!(repo.get(&ended).await.unwrap().unwrap().status, ending);
    }
    // A record another execution made is that execution's order, even under the same
    // correlation id (EventBridge's duplicates and replays carry it): a failing execution
    // that never owned it must not end it.
    let owned = OrderId::parse("app.record-failure-owned").unwrap();
    repo.create(NewOrder {
        order_id: owned.clone(),
        partner: Partner::ChainApp,
        partner_order_id: order_domain::PartnerOrderId::parse("record-failure-owned").unwrap(),
        correlation_id: "c-1".to_owned(),
        created_by: Some("arn:aws:states:us-east-1:1:execution:orders:e-owner".to_owned()),
        at: now(),
        received: None,
    })
    .await
    .unwrap();
    for to in [
        order_domain::OrderStatus::Accepted,
        order_domain::OrderStatus::SentToPos,
    ] {
        repo.transition(&owned, to, now(), StatusUpdate::default())
            .await
            .unwrap();
    }
    let refused = send(render(owned.as_str())).await.unwrap_err();
    assert_eq!(refused.error_type, "ConditionalCheckFailedException");
    let kept = repo.get(&owned).await.unwrap().unwrap();
    assert_eq!(kept.status, order_domain::OrderStatus::SentToPos);
    assert_eq!(kept.history.len(), 3);
    // A record from before owners were kept: its correlation id decides.
    let legacy = OrderId::parse("app.record-failure-legacy").unwrap();
    repo.create(NewOrder {
        order_id: legacy.clone(),
        partner: Partner::ChainApp,
        partner_order_id: order_domain::PartnerOrderId::parse("record-failure-legacy").unwrap(),
        correlation_id: "c-1".to_owned(),
        created_by: None,
        at: now(),
        received: None,
    })
    .await
    .unwrap();
    send(render(legacy.as_str())).await.unwrap();
    assert_eq!(
        repo.get(&legacy).await.unwrap().unwrap().status,
        order_domain::OrderStatus::Failed
    );
    // And an order with no record gets none made up.
    let absent = send(render("app.never-created")).await.unwrap_err();
    assert_eq!(
        absent.error_type, "ConditionalCheckFailedException",
        "{absent:?}"
    );
    assert!(
        repo.get(&OrderId::parse("app.never-created").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

/// The held-orders repository's contract (`pipeline::contract`), the same cases the in-memory
/// twin passes, and the table's TTL setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dynamodb_held_orders_table_keeps_the_repository_contract() {
    let (c, name) = table(Table::Held, "held").await;
    pipeline::contract::held_orders(Arc::new(DynamoHeld::new(c.clone(), name.clone())), "ddb")
        .await;
    let ttl = c
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description().unwrap().attribute_name(),
        Some(tables::HELD_TTL_ATTR)
    );
}

/// Items carry the version of their shape: an order record and a held order's task-token
/// record are written as version 1, read back whether written so or before versions
/// (the previous release's items, the same attributes), and a newer version is refused by
/// the attribute's name rather than misread.
#[tokio::test]
async fn items_carry_their_schema_version_and_a_newer_one_is_refused_by_name() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use pipeline::ports::{HeldOrder, HeldOrders, NewOrder, OrdersRepo};
    let (c, orders_table) = table(Table::Orders, "orders").await;
    let repo = DynamoOrders::new(c.clone(), orders_table.clone());
    let id: OrderId = "app.schema-1".parse().unwrap();
    repo.create(NewOrder {
        order_id: id.clone(),
        partner: Partner::ChainApp,
        partner_order_id: order_domain::PartnerOrderId::parse("schema-1").unwrap(),
        correlation_id: "c-1".to_owned(),
        created_by: None,
        at: now(),
        received: None,
    })
    .await
    .unwrap();
    let (hc, held_table) = table(Table::Held, "held").await;
    let held = DynamoHeld::new(hc.clone(), held_table.clone());
    let hold = order_domain::Hold {
        release_at: now() + TimeDelta::minutes(30),
        early_release_from: now(),
    };
    held.put(&HeldOrder {
        order_id: id.clone(),
        store_id: "S1001".parse().unwrap(),
        task_token: "token-1".to_owned(),
        hold,
        correlation_id: "c-1".to_owned(),
    })
    .await
    .unwrap();
    let key = || ("orderId".to_owned(), AttributeValue::S(id.to_string()));
    // The record expires, by TTL, its keep after it was made: never before its release.
    let record = c
        .get_item()
        .table_name(&orders_table)
        .key("orderId", AttributeValue::S(id.to_string()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let expires: i64 = match record.get(tables::ORDERS_TTL_ATTR) {
        Some(AttributeValue::N(n)) => n.parse().unwrap(),
        other => panic!(
            "the order record has no {}: {other:?}",
            tables::ORDERS_TTL_ATTR
        ),
    };
    assert_eq!(
        expires,
        (now() + aws_adapters::orders::KEEP_FOR).timestamp()
    );
    assert!(
        aws_adapters::orders::KEEP_FOR > TimeDelta::days(order_domain::MAX_SCHEDULE_DAYS as i64)
    );
    for (client, name) in [(&c, &orders_table), (&hc, &held_table)] {
        let item = client
            .get_item()
            .table_name(name)
            .key(key().0, key().1)
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        assert_eq!(
            item.get(aws_adapters::SCHEMA_VERSION_ATTR),
            Some(&AttributeValue::N(
                aws_adapters::ITEM_SCHEMA_VERSION.to_string()
            )),
            "{name}"
        );
    }
    let set_version = |client: aws_sdk_dynamodb::Client, name: String, v: Option<&str>| {
        let update = client.update_item().table_name(name).key(key().0, key().1);
        let update = match v {
            Some(v) => update
                .update_expression("SET #v = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_owned())),
            None => update.update_expression("REMOVE #v"),
        };
        update
            .expression_attribute_names("#v", aws_adapters::SCHEMA_VERSION_ATTR)
            .send()
    };
    // Written before items carried a version: the previous shape, read.
    set_version(c.clone(), orders_table.clone(), None)
        .await
        .unwrap();
    set_version(hc.clone(), held_table.clone(), None)
        .await
        .unwrap();
    assert!(repo.get(&id).await.unwrap().is_some());
    assert!(held.get(&id).await.unwrap().is_some());
    // Written by a newer release: refused, naming the attribute.
    set_version(c.clone(), orders_table.clone(), Some("2"))
        .await
        .unwrap();
    set_version(hc.clone(), held_table.clone(), Some("2"))
        .await
        .unwrap();
    let e = repo.get(&id).await.unwrap_err().to_string();
    assert!(e.contains(aws_adapters::SCHEMA_VERSION_ATTR), "{e}");
    let e = held.get(&id).await.unwrap_err().to_string();
    assert!(e.contains(aws_adapters::SCHEMA_VERSION_ATTR), "{e}");
}

/// The other tables' items carry their shape's version too: a partner token, an idempotency
/// record, a failing POS and a catalogue store are written as version 1 by their adapters,
/// read back without one (the previous release's), and refused by the attribute's name when
/// a newer release wrote them.
#[tokio::test]
async fn every_tables_items_carry_their_schema_version_and_a_newer_one_is_refused_by_name() {
    use aws_adapters::{DynamoPosHealth, DynamoTokenStore};
    use aws_sdk_dynamodb::types::AttributeValue;
    use pipeline::ports::{CatalogSource, PosHealth, TokenStore};
    use std::collections::HashMap;

    async fn item(
        c: &aws_sdk_dynamodb::Client,
        table: &str,
        key: &HashMap<String, AttributeValue>,
    ) -> HashMap<String, AttributeValue> {
        c.get_item()
            .table_name(table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    }
    async fn set_version(
        c: &aws_sdk_dynamodb::Client,
        table: &str,
        key: &HashMap<String, AttributeValue>,
        v: Option<&str>,
    ) {
        let update = c.update_item().table_name(table).set_key(Some(key.clone()));
        let update = match v {
            Some(v) => update
                .update_expression("SET #v = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_owned())),
            None => update.update_expression("REMOVE #v"),
        };
        update
            .expression_attribute_names("#v", aws_adapters::SCHEMA_VERSION_ATTR)
            .send()
            .await
            .unwrap();
    }
    let one = AttributeValue::N(aws_adapters::ITEM_SCHEMA_VERSION.to_string());
    let named = |e: String| assert!(e.contains(aws_adapters::SCHEMA_VERSION_ATTR), "{e}");

    // The shared partner token (written by UpdateItem).
    let (c, name) = table(Table::PartnerTokens, "tokens-schema").await;
    let tokens = DynamoTokenStore::new(c.clone(), name.clone());
    let token_key = "https://auth.example/token|client|scope";
    assert!(
        tokens
            .lease(token_key, "a", now(), now() + TimeDelta::seconds(30), None)
            .await
            .unwrap()
    );
    let key = HashMap::from([(
        tables::PARTNER_TOKENS_KEY.to_owned(),
        AttributeValue::S(token_key.to_owned()),
    )]);
    assert_eq!(
        item(&c, &name, &key)
            .await
            .get(aws_adapters::SCHEMA_VERSION_ATTR),
        Some(&one)
    );
    set_version(&c, &name, &key, None).await;
    tokens.get(token_key).await.unwrap();
    set_version(&c, &name, &key, Some("2")).await;
    named(tokens.get(token_key).await.unwrap_err().to_string());

    // An idempotency record (PutItem; read back on a second claim of its key).
    let (c, name) = table(Table::Idempotency, "idem-schema").await;
    let store = DynamoIdempotencyStore::new(c.clone(), name.clone());
    let deadline = now() + TimeDelta::minutes(5);
    store
        .put_in_progress(&in_progress("schema-key", deadline), now())
        .await
        .unwrap();
    let key = HashMap::from([(
        tables::IDEMPOTENCY_KEY.to_owned(),
        AttributeValue::S("schema-key".to_owned()),
    )]);
    assert_eq!(
        item(&c, &name, &key)
            .await
            .get(aws_adapters::SCHEMA_VERSION_ATTR),
        Some(&one)
    );
    set_version(&c, &name, &key, None).await;
    assert!(matches!(
        store
            .put_in_progress(&in_progress("schema-key", deadline), now())
            .await
            .unwrap(),
        idempotency::Claim::Exists(_)
    ));
    set_version(&c, &name, &key, Some("2")).await;
    named(format!(
        "{:?}",
        store
            .put_in_progress(&in_progress("schema-key", deadline), now())
            .await
            .unwrap_err()
    ));

    // A failing POS (UpdateItem; read by the sweeper's scan).
    let (c, name) = table(Table::PosHealth, "pos-health-schema").await;
    let health = DynamoPosHealth::new(c.clone(), name.clone());
    let store_id = order_domain::StoreId::parse("S1001").unwrap();
    health.failed(&store_id, now()).await.unwrap();
    let key = HashMap::from([(
        tables::POS_HEALTH_KEY.to_owned(),
        AttributeValue::S("S1001".to_owned()),
    )]);
    assert_eq!(
        item(&c, &name, &key)
            .await
            .get(aws_adapters::SCHEMA_VERSION_ATTR),
        Some(&one)
    );
    set_version(&c, &name, &key, None).await;
    assert_eq!(health.failing().await.unwrap().len(), 1);
    set_version(&c, &name, &key, Some("2")).await;
    named(health.failing().await.unwrap_err().to_string());

    // A catalogue store (loaded; read by the functions' catalogue, uncached).
    let (c, stores, menus) = catalogue_tables().await;
    let source = aws_adapters::DynamoCatalog::new(
        c.clone(),
        stores.clone(),
        menus,
        cached_for(std::time::Duration::ZERO),
    );
    let key = HashMap::from([(
        tables::STORES_KEY.to_owned(),
        AttributeValue::S(aws_adapters::catalog::store_key(&store_id)),
    )]);
    assert_eq!(
        item(&c, &stores, &key)
            .await
            .get(aws_adapters::SCHEMA_VERSION_ATTR),
        Some(&one)
    );
    set_version(&c, &stores, &key, None).await;
    assert!(source.store(&store_id).await.unwrap().is_some());
    set_version(&c, &stores, &key, Some("2")).await;
    named(source.store(&store_id).await.unwrap_err().to_string());
}

/// DynamoDB's 400 KB item limit (the DynamoDB developer guide, "Service, account, and table
/// quotas": "The maximum item size in DynamoDB is 400 KB", attribute names and values
/// together) holds locally as on AWS: DynamoDB Local refuses a bigger item with
/// AWS's `ValidationException`, so a claim check or record that grows past it fails here first.
#[tokio::test]
async fn an_item_over_400_kb_is_refused_as_dynamodb_refuses_it() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (c, name) = table(Table::Orders, "item-size").await;
    let put = |id: &str, bytes: usize| {
        c.put_item()
            .table_name(&name)
            .item(
                aws_adapters::tables::ORDERS_KEY,
                AttributeValue::S(id.to_owned()),
            )
            .item("blob", AttributeValue::S("x".repeat(bytes)))
            .send()
    };
    put("fits", 399 * 1024)
        .await
        .expect("an item under 400 KB is stored");
    let e = put("over", 400 * 1024 + 1).await.unwrap_err();
    let e = e.into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationException"), "{e:?}");
    assert!(
        e.meta()
            .message()
            .is_some_and(|m| m.contains("Item size has exceeded the maximum allowed size")),
        "{e:?}"
    );
}

/// The claim check on DynamoDB Local: a small document round-trips in one item; a large one
/// that does not compress (random bytes, 1 MiB) is split into parts under the 400 KB item
/// limit and read back whole; a missing one is `None`; a part that went missing, or bytes
/// other than the reference names, are errors, never other data.
#[tokio::test]
async fn documents_round_trip_in_parts_under_the_item_limit_and_are_checked_on_read() {
    use aws_adapters::DynamoDocuments;
    use aws_adapters::documents::PART_BYTES;
    use aws_sdk_dynamodb::types::AttributeValue;
    use pipeline::ports::Documents;
    let (c, name) = table(Table::Documents, "documents").await;
    let docs = DynamoDocuments::new(c.clone(), name.clone());

    let count = || async { c.scan().table_name(&name).send().await.unwrap().count() };
    // A small document is stored too: no reference carries customer data inline.
    let small = br#"{"order":{"id":"A-1","items":[{"sku":"CRUNCHWRAP","qty":1}]}}"#;
    let stored = docs.put("payload/app/A-1", small).await.unwrap();
    assert_eq!(stored.inline, None);
    assert_eq!(count().await, 1);
    assert_eq!(
        docs.get(&stored).await.unwrap().as_deref(),
        Some(&small[..])
    );
    // A reference an earlier release wrote inline is still read, from itself (checked), with
    // no item behind it; tampered inline bytes are refused.
    let sha256 = idempotency::sha256_hex(b"{\"old\":true}");
    let old = order_events::DocumentRef {
        key: format!("payload/app/A-0/{sha256}"),
        bytes: 12,
        sha256,
        inline: Some("{\"old\":true}".to_owned()),
    };
    assert_eq!(
        docs.get(&old).await.unwrap().as_deref(),
        Some(&b"{\"old\":true}"[..])
    );
    let tampered = order_events::DocumentRef {
        inline: Some("{\"old\":fals}".to_owned()),
        ..old
    };
    assert!(docs.get(&tampered).await.is_err());
    // Over 16 KiB it is one part still (order JSON compresses well).
    let order = serde_json::to_vec(&serde_json::json!({ "order": { "id": "A-2",
        "items": (0..400).map(|i| serde_json::json!({"sku": "sku-taco-soft", "qty": 1, "note": format!("line {i}")})).collect::<Vec<_>>() } }))
    .unwrap();
    assert!(order.len() > 16 * 1024);
    let r = docs.put("payload/app/A-2", &order).await.unwrap();
    assert_eq!((r.bytes, r.inline.as_deref()), (order.len() as u64, None));
    assert!(r.key.starts_with("payload/app/A-2/") && r.key.ends_with(&r.sha256));
    assert_eq!(count().await, 2);
    assert_eq!(docs.get(&r).await.unwrap().unwrap(), order);
    // Storing the same body again is the same document.
    assert_eq!(docs.put("payload/app/A-2", &order).await.unwrap(), r);

    let mut rng = fastrand::Rng::with_seed(9);
    let big: Vec<u8> = (0..1024 * 1024).map(|_| rng.u8(..)).collect();
    let rb = docs.put("payload/app/BIG", &big).await.unwrap();
    let header = c
        .get_item()
        .table_name(&name)
        .key("documentKey", AttributeValue::S(rb.key.clone()))
        .key("part", AttributeValue::N("0".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let parts: usize = header["parts"].as_n().unwrap().parse().unwrap();
    // Random bytes gzip to a little over their size: 1 MiB needs 3 parts of 350 KiB.
    assert_eq!(parts, 1024 * 1024 / PART_BYTES + 1, "{parts}");
    assert_eq!(docs.get(&rb).await.unwrap().unwrap(), big);

    // Absent: never stored.
    let absent = order_events::DocumentRef {
        key: "payload/app/NONE/00".into(),
        bytes: 1,
        sha256: "00".into(),
        inline: None,
    };
    assert_eq!(docs.get(&absent).await.unwrap(), None);
    // A reference that names other bytes than were stored: refused, not returned.
    let wrong = order_events::DocumentRef {
        sha256: "0".repeat(64),
        ..r.clone()
    };
    let e = docs.get(&wrong).await.unwrap_err();
    assert!(e.message.contains("not the"), "{e}");
    // A part gone (a partial write, a manual delete): an error naming it.
    c.delete_item()
        .table_name(&name)
        .key("documentKey", AttributeValue::S(rb.key.clone()))
        .key("part", AttributeValue::N("2".into()))
        .send()
        .await
        .unwrap();
    let e = docs.get(&rb).await.unwrap_err();
    assert!(e.message.contains("lacks part 2"), "{e}");
}

// ---------------------------------------------------------------- catalogue

async fn catalogue_tables() -> (aws_sdk_dynamodb::Client, String, String) {
    let (c, stores) = table(Table::Stores, "stores").await;
    let menus = unique_table("menus");
    tables::create(&c, Table::Menus, &menus).await.unwrap();
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/domain/catalog/catalog.json"
    ))
    .unwrap();
    let loaded = aws_adapters::catalog_admin::load(&c, &stores, &menus, &json)
        .await
        .unwrap();
    let embedded = Catalog::embedded().unwrap();
    assert_eq!(loaded.stores, embedded.stores().len());
    assert_eq!(loaded.menus, embedded.menus().count());
    (c, stores, menus)
}

fn cached_for(ttl: std::time::Duration) -> aws_adapters::catalog::CacheSettings {
    aws_adapters::catalog::CacheSettings { ttl, capacity: 100 }
}

#[tokio::test]
async fn the_loaded_catalogue_answers_one_store_at_a_time_by_id_and_by_partner_id() {
    use pipeline::ports::CatalogSource;
    let (c, stores, menus) = catalogue_tables().await;
    let source = aws_adapters::DynamoCatalog::new(
        c,
        stores,
        menus,
        cached_for(std::time::Duration::from_secs(60)),
    );
    let embedded = Catalog::embedded().unwrap();
    for want in embedded.stores() {
        let got = source
            .store(&want.id)
            .await
            .unwrap()
            .expect("the store is there");
        assert_eq!(got.stores().len(), 1, "one store, not the catalogue");
        let store = got.store(&want.id).unwrap();
        assert_eq!(store.hours, want.hours);
        assert_eq!(store.status, want.status);
        let menu = got.menu_of(store).expect("with its menu");
        assert_eq!(menu.id, want.menu);
        for (partner, pid) in &want.partner_store_ids {
            let by_partner = source.partner_store(*partner, pid).await.unwrap().unwrap();
            assert_eq!(
                by_partner.store_for_partner(*partner, pid).unwrap().id,
                want.id
            );
        }
    }
    let unknown = order_domain::StoreId::parse("S9999").unwrap();
    assert!(source.store(&unknown).await.unwrap().is_none());
    assert!(
        source
            .partner_store(Partner::DoorDash, "nope")
            .await
            .unwrap()
            .is_none()
    );
}

/// The cache's counts, reported as metrics, against the reads the table itself was asked
/// for (counted here by a second, uncached view of the same table: none).
#[tokio::test]
async fn the_cache_counts_each_lookup_and_a_miss_only_when_it_had_to_read() {
    use pipeline::ports::{CatalogSource, Metric};
    let (c, stores, menus) = catalogue_tables().await;
    let metrics = std::sync::Arc::new(pipeline::memory::RecordingMetrics::default());
    let source = aws_adapters::DynamoCatalog::new(
        c,
        stores,
        menus,
        cached_for(std::time::Duration::from_secs(60)),
    )
    .report_every(std::time::Duration::from_millis(200), metrics.clone());
    let id = order_domain::StoreId::parse("S1002").unwrap();
    source.store(&id).await.unwrap().unwrap();
    assert_eq!(source.counted(), (1, 1), "cold: one lookup, one miss");
    source.store(&id).await.unwrap().unwrap();
    // By the partner's id: the alias is not cached yet, so a miss though the store is.
    source
        .partner_store(Partner::DoorDash, "S1002")
        .await
        .unwrap()
        .unwrap();
    source
        .partner_store(Partner::DoorDash, "S1002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(source.counted(), (4, 2));
    // Reported once, then the counts start again.
    let reported = |n: usize| {
        let metrics = metrics.clone();
        async move {
            local_cloud::cloud::eventually(std::time::Duration::from_secs(5), "a report", || {
                let all = metrics.all();
                async move { (all.len() >= n).then_some(all) }
            })
            .await
            .unwrap()
        }
    };
    let recorded = reported(2).await;
    assert_eq!(
        recorded,
        [
            Metric::CatalogueLookups { count: 4 },
            Metric::CatalogueCacheMisses { count: 2 }
        ]
    );
    assert_eq!(source.counted(), (0, 0));
    // Reporting intervals with nothing counted pass (two at least), then one more lookup: the
    // next report, when it comes, is the only one since the first (no empty reports between).
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    source.store(&id).await.unwrap().unwrap();
    let recorded = reported(4).await;
    assert_eq!(
        recorded[2..],
        [
            Metric::CatalogueLookups { count: 1 },
            Metric::CatalogueCacheMisses { count: 0 }
        ],
        "{recorded:?}"
    );
}

#[tokio::test]
async fn a_pause_is_seen_once_the_cached_store_expires_and_not_before() {
    use aws_adapters::catalog_admin::{PauseChange, set_pause};
    use pipeline::ports::CatalogSource;
    let (c, stores, menus) = catalogue_tables().await;
    let ttl = std::time::Duration::from_millis(500);
    let source =
        aws_adapters::DynamoCatalog::new(c.clone(), stores.clone(), menus, cached_for(ttl));
    let id = order_domain::StoreId::parse("S1001").unwrap();
    let status = |c: &Catalog| c.store(&id).unwrap().status;
    let before = source.store(&id).await.unwrap().unwrap();
    assert_eq!(status(&before), order_domain::StoreStatus::Open);
    let until = now() + TimeDelta::minutes(30);
    set_pause(
        &c,
        &stores,
        &id,
        Some(PauseChange {
            reason: "fryer down".to_owned(),
            until: Some(until),
        }),
    )
    .await
    .unwrap();
    // Within the TTL the container answers from its cache: still open.
    let cached = source.store(&id).await.unwrap().unwrap();
    assert_eq!(status(&cached), order_domain::StoreStatus::Open);
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    let fresh = source.store(&id).await.unwrap().unwrap();
    let store = fresh.store(&id).unwrap();
    assert_eq!(store.status, order_domain::StoreStatus::Paused);
    let pause = store.pause.as_ref().unwrap();
    assert_eq!(pause.reason, "fryer down");
    assert_eq!(pause.until, Some(until));
    // Resumed: open again, without the pause.
    set_pause(&c, &stores, &id, None).await.unwrap();
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    let resumed = source.store(&id).await.unwrap().unwrap();
    assert_eq!(status(&resumed), order_domain::StoreStatus::Open);
    assert!(resumed.store(&id).unwrap().pause.is_none());
    // A store that is not there cannot be paused.
    let unknown = order_domain::StoreId::parse("S9999").unwrap();
    let err = set_pause(&c, &stores, &unknown, None).await.unwrap_err();
    assert!(err.to_string().contains("S9999"), "{err}");
}

#[tokio::test]
async fn a_catalogue_with_a_store_on_a_missing_menu_is_refused_and_nothing_is_written() {
    let (c, stores) = table(Table::Stores, "stores-bad").await;
    let menus = unique_table("menus-bad");
    tables::create(&c, Table::Menus, &menus).await.unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(include_str!("../crates/domain/catalog/catalog.json")).unwrap();
    json["stores"][0]["menu"] = "no-such-menu".into();
    let err = aws_adapters::catalog_admin::load(&c, &stores, &menus, &json.to_string())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-menu"), "{err}");
    let scan = c.scan().table_name(&stores).send().await.unwrap();
    assert_eq!(scan.count(), 0);
}

#[tokio::test]
async fn an_item_marked_sold_out_shows_in_the_store_and_back_removes_it() {
    use aws_adapters::catalog_admin::set_item_availability;
    use pipeline::ports::CatalogSource;
    let (c, stores, menus) = catalogue_tables().await;
    let id = order_domain::StoreId::parse("S1001").unwrap();
    let read = |menus: String| {
        let source = aws_adapters::DynamoCatalog::new(
            c.clone(),
            stores.clone(),
            menus,
            cached_for(std::time::Duration::from_millis(1)),
        );
        let id = id.clone();
        async move {
            let catalog = source.store(&id).await.unwrap().unwrap();
            catalog.store(&id).unwrap().unavailable.clone()
        }
    };
    let code = order_domain::PosItemCode::parse("TACO-SOFT").unwrap();
    set_item_availability(&c, &stores, &menus, &id, "TACO-SOFT", false)
        .await
        .unwrap();
    assert!(read(menus.clone()).await.contains(&code));
    // Marking it twice keeps one entry; back removes it.
    let doc = set_item_availability(&c, &stores, &menus, &id, "TACO-SOFT", false)
        .await
        .unwrap();
    assert_eq!(doc["unavailable"], serde_json::json!(["TACO-SOFT"]));
    set_item_availability(&c, &stores, &menus, &id, "TACO-SOFT", true)
        .await
        .unwrap();
    assert!(!read(menus.clone()).await.contains(&code));
    // A code that is not on the store's menu, or cannot be a code at all, is refused, and
    // nothing changes; one left over from an earlier menu can still be marked back.
    for code in ["TACO-SUPREME", "not a code"] {
        let err = set_item_availability(&c, &stores, &menus, &id, code, false)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, aws_adapters::catalog_admin::AdminError::NotOnMenu { code: c, menu, version: 1, .. } if c == code && menu == "core-us"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("is not an item or modifier of menu core-us"),
            "{err}"
        );
    }
    assert!(read(menus.clone()).await.is_empty());
    set_item_availability(&c, &stores, &menus, &id, "TACO-SUPREME", true)
        .await
        .unwrap();
    // A modifier can be sold out too.
    let doc = set_item_availability(&c, &stores, &menus, &id, "ADD-GUAC", false)
        .await
        .unwrap();
    assert_eq!(doc["unavailable"], serde_json::json!(["ADD-GUAC"]));
}

#[tokio::test]
async fn special_hours_are_set_checked_and_cleared_and_the_list_shows_what_is_live() {
    use aws_adapters::catalog_admin::{list, set_item_availability, set_special_hours};
    use pipeline::ports::CatalogSource;
    let (c, stores, menus) = catalogue_tables().await;
    let id = order_domain::StoreId::parse("S1001").unwrap();
    let christmas = chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    set_special_hours(&c, &stores, &id, christmas, Some(Vec::new()))
        .await
        .unwrap();
    // The functions' reader sees a store closed all that day (noon local, 20:00 UTC).
    let source = aws_adapters::DynamoCatalog::new(
        c.clone(),
        stores.clone(),
        menus.clone(),
        cached_for(std::time::Duration::from_millis(1)),
    );
    let catalog = source.store(&id).await.unwrap().unwrap();
    let noon: chrono::DateTime<chrono::Utc> = "2026-12-25T20:00:00Z".parse().unwrap();
    assert!(!catalog.store(&id).unwrap().is_open_at(noon));
    assert!(
        catalog
            .store(&id)
            .unwrap()
            .is_open_at(noon + chrono::TimeDelta::days(1))
    );
    // A malformed interval is refused and nothing changes.
    let err = set_special_hours(
        &c,
        &stores,
        &id,
        christmas,
        Some(vec!["25:00-26:00".into()]),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("after the change"), "{err}");
    set_item_availability(&c, &stores, &menus, &id, "TACO-SOFT", false)
        .await
        .unwrap();
    let live = list(&c, &stores).await.unwrap();
    let s1001 = live.iter().find(|s| s.id == "S1001").unwrap();
    assert_eq!(s1001.special_hours, ["2026-12-25"]);
    assert_eq!(s1001.unavailable, ["TACO-SOFT"]);
    assert_eq!((s1001.menu.as_str(), s1001.menu_version), ("core-us", 1));
    // Every store of the repository's catalogue is listed once, aliases not.
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(suites::repo_root().join("crates/domain/catalog/catalog.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(live.len(), file["stores"].as_array().unwrap().len());
    set_special_hours(&c, &stores, &id, christmas, None)
        .await
        .unwrap();
    let live = list(&c, &stores).await.unwrap();
    assert!(
        live.iter()
            .find(|s| s.id == "S1001")
            .unwrap()
            .special_hours
            .is_empty()
    );
}

/// Found by a reviewer: loading the catalogue again rewrote menu version 1 in place (which
/// the functions cache as immutable) and moved every store back to it, undoing published
/// versions and pauses. Loading seeds what is missing and keeps the rest.
#[tokio::test]
async fn loading_the_catalogue_again_keeps_what_is_there_and_rolls_nothing_back() {
    use aws_adapters::catalog_admin::{PauseChange, list, load, publish_menu, set_pause};
    use aws_sdk_dynamodb::types::AttributeValue;
    let (c, stores, menus) = catalogue_tables().await;
    let embedded = Catalog::embedded().unwrap();
    let core_us = embedded.menus().find(|m| m.id == "core-us").unwrap();
    let json: serde_json::Value = serde_json::from_str(Catalog::embedded_json()).unwrap();
    let mut menu = json["menus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "core-us")
        .unwrap()
        .clone();
    menu["priceToleranceMinor"] = serde_json::json!(core_us.price_tolerance_minor + 1);
    let published = publish_menu(&c, &stores, &menus, &menu.to_string())
        .await
        .unwrap();
    assert_eq!(published.version, 2);
    let s1001 = order_domain::StoreId::parse("S1001").unwrap();
    let pause = PauseChange {
        reason: "fryer down".to_owned(),
        until: None,
    };
    set_pause(&c, &stores, &s1001, Some(pause)).await.unwrap();

    let again = load(&c, &stores, &menus, Catalog::embedded_json())
        .await
        .unwrap();
    assert_eq!(
        again.kept,
        again.stores + again.aliases + again.menus,
        "{again:?}"
    );
    let live = list(&c, &stores).await.unwrap();
    let s = live.iter().find(|s| s.id == "S1001").unwrap();
    assert_eq!((s.status.as_str(), s.menu_version), ("paused", 2));
    // Version 1 is as it was loaded first.
    let v1 = c
        .get_item()
        .table_name(&menus)
        .key(
            aws_adapters::tables::MENUS_KEY,
            AttributeValue::S("core-us".into()),
        )
        .key(
            aws_adapters::tables::MENUS_VERSION,
            AttributeValue::N("1".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(v1[aws_adapters::tables::CATALOG_DOC_ATTR].as_s().unwrap()).unwrap();
    assert_eq!(
        doc["priceToleranceMinor"],
        serde_json::json!(core_us.price_tolerance_minor)
    );
}

/// The fleet's shared token on DynamoDB Local: one process at a time holds the lease to fetch
/// (another takes it only once it has lapsed, and only if the token it read is still the one
/// kept); only the holder's token is kept, and keeping it ends the lease; a failed fetch holds
/// every process off with its error; what is kept reads back whole, with its TTL set.
#[tokio::test]
async fn a_shared_token_is_fetched_under_one_lease_and_kept_only_by_its_holder() {
    use aws_adapters::DynamoTokenStore;
    use pipeline::ports::{FetchFailure, SharedToken, TokenRecord, TokenStore};
    let (c, name) = table(Table::PartnerTokens, "tokens").await;
    let store = DynamoTokenStore::new(c.clone(), name.clone());
    let key = "https://auth.uber.com/oauth/v2/token|client|eats.order";
    let t0 = now();
    let secs = TimeDelta::seconds;
    let lease_end = t0 + secs(30);
    assert_eq!(store.get(key).await.unwrap(), TokenRecord::default());
    assert!(store.lease(key, "a", t0, lease_end, None).await.unwrap());
    // B cannot take it while A holds it, and cannot keep a token of its own.
    assert!(
        !store
            .lease(key, "b", t0 + secs(5), lease_end, None)
            .await
            .unwrap()
    );
    let token = |t: &str, at: DateTime<Utc>| SharedToken {
        token: t.to_owned(),
        fetched_at: at,
        refresh_at: at + TimeDelta::days(29),
        expires_at: at + TimeDelta::days(30),
        after_401: false,
    };
    assert!(!store.put(key, "b", &token("from-b", t0)).await.unwrap());
    assert_eq!(store.get(key).await.unwrap().lease_until, Some(lease_end));
    // A keeps its token; the lease ends with it.
    assert!(store.put(key, "a", &token("from-a", t0)).await.unwrap());
    let kept = store.get(key).await.unwrap();
    assert_eq!(kept.token, Some(token("from-a", t0)));
    assert_eq!((kept.lease_until, kept.failure), (None, None));
    let item = c
        .get_item()
        .table_name(&name)
        .key(
            aws_adapters::tables::PARTNER_TOKENS_KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(key.to_owned()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!item.contains_key("leaseHolder"), "{item:?}");
    let ttl: i64 = item[aws_adapters::tables::PARTNER_TOKENS_TTL_ATTR]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ttl, (t0 + TimeDelta::days(31)).timestamp());
    // A process that read before A's token landed (it saw none) cannot lease: it reads again.
    assert!(!store.lease(key, "b", t0, lease_end, None).await.unwrap());
    // One that saw A's token (to refresh or replace it) can; its lease, once lapsed (its
    // holder died mid-fetch), is taken by the next, and the dead holder can keep nothing.
    assert!(
        store
            .lease(key, "b", t0, lease_end, Some(t0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .lease(key, "c", t0 + secs(1), lease_end, Some(t0))
            .await
            .unwrap()
    );
    let later = lease_end + secs(1);
    assert!(
        store
            .lease(key, "c", later, later + secs(30), Some(t0))
            .await
            .unwrap()
    );
    assert!(!store.put(key, "b", &token("late-b", t0)).await.unwrap());
    // C's fetch fails: every process is held off until the end C names, and told why.
    let failure = FetchFailure {
        message: "invalid_client".to_owned(),
        permanent: true,
    };
    let hold = later + secs(36);
    assert!(store.fail(key, "c", hold, &failure).await.unwrap());
    let held = store.get(key).await.unwrap();
    assert_eq!(
        (held.lease_until, held.failure),
        (Some(hold), Some(failure))
    );
    assert_eq!(held.token, Some(token("from-a", t0)), "the old token stays");
    assert!(
        !store
            .lease(key, "d", later + secs(10), hold, Some(t0))
            .await
            .unwrap()
    );
    // After it, the next lease clears the failure.
    assert!(
        store
            .lease(key, "d", hold + secs(1), hold + secs(31), Some(t0))
            .await
            .unwrap()
    );
    assert_eq!(store.get(key).await.unwrap().failure, None);
}

/// The machine's addresses other than loopback (a host on the network would reach it there).
fn non_loopback_addresses() -> Vec<std::net::IpAddr> {
    let addresses: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
        .expect("the machine's interfaces")
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| !ip.is_loopback())
        .collect();
    assert!(
        !addresses.is_empty(),
        "this machine has no address but loopback, so nothing here can show DynamoDB Local \
         is out of the network's reach; run this test on a machine with a network interface"
    );
    addresses
}

/// Whether something accepts TCP connections on `ip:port` (refused or unreachable: no).
async fn accepts(ip: std::net::IpAddr, port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect((ip, port));
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(3), connect).await,
        Ok(Ok(_))
    )
}

/// The port of an `http://127.0.0.1:<port>` endpoint.
fn port_of(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {endpoint}"))
}

#[tokio::test]
async fn dynamodb_local_answers_on_loopback_and_nowhere_else() {
    // The tests' instance (scripts/with-dynamodb-local.sh in CI, or the support's own), and one
    // started as the local cloud starts it.
    let shared = suites::dynamodb::endpoint().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = std::env::temp_dir().join(format!("dynamodb-local-cloud-{port}.log"));
    let cloud =
        local_cloud::dynamodb::DynamoLocal::start(&suites::dynamodb::jar_dir(), port, None, &log)
            .await
            .unwrap();
    let others = non_loopback_addresses();
    for endpoint in [shared.as_str(), cloud.endpoint()] {
        let port = port_of(endpoint);
        let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
        assert!(accepts(loopback, port).await, "{endpoint} is not up");
        aws_adapters::AwsConfig::loopback(endpoint)
            .dynamodb()
            .list_tables()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{endpoint} does not answer: {e}"));
        for ip in &others {
            assert!(
                !accepts(*ip, port).await,
                "DynamoDB Local ({endpoint}) accepts connections on {ip}: anyone on the network \
                 could read every table"
            );
        }
    }
}

/// The POS health table: a failing store is recorded once with its first failure's time (a
/// later failure moves only its expiry), read back whole, and gone when its POS answers.
#[tokio::test]
async fn a_failing_pos_is_recorded_from_its_first_failure_and_cleared_when_it_answers() {
    use aws_adapters::DynamoPosHealth;
    use pipeline::ports::PosHealth;
    let (c, name) = table(Table::PosHealth, "pos-health").await;
    let health = DynamoPosHealth::new(c.clone(), name.clone());
    let s1 = order_domain::StoreId::parse("S1001").unwrap();
    let s2 = order_domain::StoreId::parse("S2001").unwrap();
    let t0 = DateTime::from_timestamp_millis(now().timestamp_millis()).unwrap();
    let later = t0 + TimeDelta::minutes(7);
    assert!(health.failing().await.unwrap().is_empty());
    assert_eq!(health.failed(&s1, t0).await.unwrap(), t0);
    assert_eq!(
        health.failed(&s1, later).await.unwrap(),
        t0,
        "the first time stays"
    );
    assert_eq!(health.failed(&s2, later).await.unwrap(), later);
    let failing = |store: &order_domain::StoreId, since, paused| pipeline::ports::FailingPos {
        store: store.clone(),
        since,
        paused,
    };
    assert_eq!(
        health.failing().await.unwrap(),
        [failing(&s1, t0, false), failing(&s2, later, false)]
    );
    // The watch remembers its pause in the record; a record that is gone stays gone.
    health.paused(&s1).await.unwrap();
    health
        .paused(&order_domain::StoreId::parse("S1002").unwrap())
        .await
        .unwrap();
    assert_eq!(
        health.failing().await.unwrap(),
        [failing(&s1, t0, true), failing(&s2, later, false)]
    );
    let item = c
        .get_item()
        .table_name(&name)
        .key(
            aws_adapters::tables::POS_HEALTH_KEY,
            aws_sdk_dynamodb::types::AttributeValue::S("S1001".to_owned()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let ttl: i64 = item[aws_adapters::tables::POS_HEALTH_TTL_ATTR]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        ttl,
        (later + TimeDelta::days(1)).timestamp(),
        "moved by the last failure"
    );
    health.answered(&s1).await.unwrap();
    health.answered(&s1).await.unwrap();
    assert_eq!(
        health.failing().await.unwrap(),
        [failing(&s2, later, false)]
    );
}
