use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::*;

fn now() -> DateTime<Utc> {
    "2026-11-22T18:00:00Z".parse().unwrap()
}

fn spec() -> KeySpec {
    KeySpec {
        namespace: "dedup".to_owned(),
        key_fields: vec!["/partner".to_owned(), "/id".to_owned()],
        payload_field: "/payload".to_owned(),
    }
}

fn guard() -> (Idempotency, Arc<InMemoryStore>) {
    let store = Arc::new(InMemoryStore::new());
    (Idempotency::new(store.clone(), Config::default()), store)
}

async fn op(n: &AtomicUsize) -> Result<u32, String> {
    Ok(n.fetch_add(1, Ordering::SeqCst) as u32 + 100)
}

#[test]
fn the_key_depends_on_the_key_fields_only_and_not_their_order() {
    let a = spec()
        .key(&json!({"partner": "app", "id": "1", "payload": {"x": 1}}))
        .unwrap();
    let b = spec()
        .key(&json!({"id": "1", "payload": {"x": 2}, "partner": "app"}))
        .unwrap();
    let c = spec().key(&json!({"partner": "app", "id": "2"})).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.as_str().starts_with("dedup#"));
}

#[test]
fn a_missing_key_field_is_named() {
    let err = spec().key(&json!({"partner": "app"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "idempotency key field /id is missing or null in the input"
    );
}

#[test]
fn the_payload_hash_ignores_field_order() {
    let a = spec().payload_hash(&json!({"payload": {"a": 1, "b": [1, {"c": 2, "d": 3}]}}));
    let b = spec().payload_hash(&json!({"payload": {"b": [1, {"d": 3, "c": 2}], "a": 1}}));
    assert_eq!(a, b);
    assert_ne!(a, spec().payload_hash(&json!({"payload": {"a": 2}})));
}

#[tokio::test]
async fn the_first_call_runs_and_a_repeat_replays_the_stored_result() {
    let (g, store) = guard();
    let key = IdempotencyKey::from_stored("k");
    let n = AtomicUsize::new(0);
    let deadline = now() + TimeDelta::seconds(30);
    let first = g.run(&key, "h", now(), deadline, || op(&n)).await.unwrap();
    let second = g.run(&key, "h", now(), deadline, || op(&n)).await.unwrap();
    assert_eq!(first, Outcome::Fresh(100));
    assert_eq!(second, Outcome::Replayed(100));
    assert_eq!(n.load(Ordering::SeqCst), 1);
    let rec = store.get(&key).await.unwrap();
    assert_eq!(rec.status, RecordStatus::Completed);
    assert_eq!(rec.expires_at, (now() + TimeDelta::hours(48)).timestamp());
}

#[tokio::test]
async fn a_repeat_with_a_different_payload_is_an_error() {
    let (g, _) = guard();
    let key = IdempotencyKey::from_stored("k");
    let n = AtomicUsize::new(0);
    g.run(&key, "h1", now(), now(), || op(&n)).await.unwrap();
    let err = g
        .run(&key, "h2", now(), now(), || op(&n))
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdempotencyError::PayloadMismatch { .. }),
        "{err}"
    );
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_in_progress_claim_blocks_until_its_deadline_then_expires() {
    let (g, store) = guard();
    let key = IdempotencyKey::from_stored("k");
    let deadline = now() + TimeDelta::seconds(10);
    // A claimant that crashed: its record stays in progress.
    let crashed = Record {
        key: key.clone(),
        status: RecordStatus::InProgress,
        expires_at: (now() + TimeDelta::hours(1)).timestamp(),
        in_progress_expires_at_ms: Some(deadline.timestamp_millis()),
        payload_hash: "h".to_owned(),
        result: None,
        claimant: None,
    };
    assert_eq!(
        store.put_in_progress(&crashed, now()).await.unwrap(),
        Claim::Claimed
    );
    let n = AtomicUsize::new(0);
    let err = g
        .run(&key, "h", now() + TimeDelta::seconds(5), deadline, || {
            op(&n)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdempotencyError::InProgress { until, .. } if until == deadline),
        "{err}"
    );
    let later = deadline + TimeDelta::milliseconds(1);
    let out = g
        .run(&key, "h", later, later + TimeDelta::seconds(10), || op(&n))
        .await
        .unwrap();
    assert_eq!(out, Outcome::Fresh(100));
}

#[tokio::test]
async fn an_expired_completed_record_counts_as_absent() {
    let (g, _) = guard();
    let key = IdempotencyKey::from_stored("k");
    let n = AtomicUsize::new(0);
    g.run(&key, "h", now(), now(), || op(&n)).await.unwrap();
    let after_ttl = now() + TimeDelta::hours(48) + TimeDelta::seconds(1);
    let out = g
        .run(&key, "other", after_ttl, after_ttl, || op(&n))
        .await
        .unwrap();
    assert_eq!(out, Outcome::Fresh(101));
}

#[tokio::test]
async fn a_failed_operation_releases_the_key_for_a_retry() {
    let (g, store) = guard();
    let key = IdempotencyKey::from_stored("k");
    let err = g
        .run(&key, "h", now(), now(), || async {
            Err::<u32, _>("boom".to_owned())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, IdempotencyError::Operation(ref m) if m == "boom"));
    assert!(store.get(&key).await.is_none());
    let n = AtomicUsize::new(0);
    assert_eq!(
        g.run(&key, "h", now(), now(), || op(&n)).await.unwrap(),
        Outcome::Fresh(100)
    );
}

#[tokio::test]
async fn concurrent_callers_run_the_operation_exactly_once() {
    let (g, _) = guard();
    let g = Arc::new(g);
    let n = Arc::new(AtomicUsize::new(0));
    let tasks = (0..50).map(|_| {
        let (g, n) = (g.clone(), n.clone());
        tokio::spawn(async move {
            let key = IdempotencyKey::from_stored("k");
            g.run(&key, "h", now(), now() + TimeDelta::seconds(30), || async {
                tokio::task::yield_now().await;
                op(&n).await
            })
            .await
        })
    });
    let results = futures::future::join_all(tasks).await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r.as_ref().unwrap(), Ok(Outcome::Fresh(_))))
        .count();
    assert_eq!(fresh, 1);
    assert_eq!(n.load(Ordering::SeqCst), 1);
    // The others either replayed the result or found the key in progress.
    for r in &results {
        match r.as_ref().unwrap() {
            Ok(Outcome::Fresh(v)) | Ok(Outcome::Replayed(v)) => assert_eq!(*v, 100),
            Ok(Outcome::Resumed(_)) => panic!("no claimant was named"),
            Err(IdempotencyError::InProgress { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

/// A claim the named claimant left in progress when it crashed.
fn crashed_claim(key: &IdempotencyKey, claimant: &str, deadline: DateTime<Utc>) -> Record {
    Record {
        key: key.clone(),
        status: RecordStatus::InProgress,
        expires_at: (now() + TimeDelta::hours(1)).timestamp(),
        in_progress_expires_at_ms: Some(deadline.timestamp_millis()),
        payload_hash: "h".to_owned(),
        result: None,
        claimant: Some(claimant.to_owned()),
    }
}

#[tokio::test]
async fn a_claimants_retry_after_it_completed_resumes_and_anyone_else_replays() {
    let (g, _) = guard();
    let key = IdempotencyKey::from_stored("k");
    let n = AtomicUsize::new(0);
    let deadline = now() + TimeDelta::seconds(30);
    let first = g
        .run_as(Some("exec-1"), &key, "h", now(), deadline, || op(&n))
        .await
        .unwrap();
    assert_eq!(first, Outcome::Fresh(100));
    // exec-1 crashed before answering; the workflow retries the same step.
    let retry = g
        .run_as(Some("exec-1"), &key, "h", now(), deadline, || op(&n))
        .await
        .unwrap();
    assert_eq!(retry, Outcome::Resumed(100));
    assert!(!retry.is_replay());
    // Another execution (a duplicate delivery), or no claimant at all: a repeat.
    for other in [Some("exec-2"), None] {
        let out = g
            .run_as(other, &key, "h", now(), deadline, || op(&n))
            .await
            .unwrap();
        assert_eq!(out, Outcome::Replayed(100), "{other:?}");
    }
    assert_eq!(n.load(Ordering::SeqCst), 1, "the operation ran once");
}

#[tokio::test]
async fn a_claimants_retry_takes_over_its_own_crashed_claim_at_once_and_no_one_else_does() {
    let (g, store) = guard();
    let key = IdempotencyKey::from_stored("k");
    let deadline = now() + TimeDelta::seconds(10);
    store
        .put_in_progress(&crashed_claim(&key, "exec-1", deadline), now())
        .await
        .unwrap();
    let n = AtomicUsize::new(0);
    let at = now() + TimeDelta::seconds(1);
    // Someone else must wait for the crashed claim's deadline.
    let err = g
        .run_as(
            Some("exec-2"),
            &key,
            "h",
            at,
            at + TimeDelta::seconds(10),
            || op(&n),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, IdempotencyError::InProgress { until, .. } if until == deadline));
    // The claimant's own retry runs the operation again now, well before that deadline.
    let out = g
        .run_as(
            Some("exec-1"),
            &key,
            "h",
            at,
            at + TimeDelta::seconds(10),
            || op(&n),
        )
        .await
        .unwrap();
    assert_eq!(out, Outcome::Fresh(100));
    let stored = store.get(&key).await.unwrap();
    assert_eq!(stored.status, RecordStatus::Completed);
    assert_eq!(stored.claimant.as_deref(), Some("exec-1"));
}

#[test]
fn only_the_same_named_claimant_is_not_blocked_by_its_own_claim() {
    let key = IdempotencyKey::from_stored("k");
    let r = crashed_claim(&key, "exec-1", now() + TimeDelta::seconds(10));
    assert!(!r.blocks_claim_by(Some("exec-1"), now()));
    assert!(r.blocks_claim_by(Some("exec-2"), now()));
    assert!(r.blocks_claim_by(None, now()));
    let unnamed = Record {
        claimant: None,
        ..r.clone()
    };
    assert!(
        unnamed.blocks_claim_by(None, now()),
        "None never matches None"
    );
    let done = Record {
        status: RecordStatus::Completed,
        ..r
    };
    assert!(
        done.blocks_claim_by(Some("exec-1"), now()),
        "a completed claim is resumed, not retaken"
    );
}
