//! The real adapters behind the pipeline's ports. Only this crate names `aws_sdk_*` types.
//!
//! * [`orders::DynamoOrders`]: the orders table, status changes as conditional updates;
//! * [`documents::DynamoDocuments`]: the claim check, gzip in parts under the item limit;
//! * [`catalog::DynamoCatalog`]: the stores and menus tables, one store at a time, cached;
//! * [`held::DynamoHeld`]: the held-orders table and its by-store index;
//! * [`idempotency_store::DynamoIdempotencyStore`]: one conditional `PutItem` per claim;
//! * [`eventbridge::EventBridgePublisher`]: batched `PutEvents` that retries failed entries;
//! * [`sfn::SfnCallbacks`]: task-token callbacks;
//! * [`secrets::load_secret_json`]: a secret's JSON from Secrets Manager;
//! * [`tables`]: the tables' key schemas, shared with the template contract test.

mod attr;
pub mod catalog;
pub mod catalog_admin;
pub mod documents;
pub mod eventbridge;
pub mod held;
pub mod idempotency_store;
pub mod orders;
pub mod pos_health;
pub mod sdk;
pub mod secrets;
pub mod sfn;
pub mod sigv4;
pub mod starter;
pub mod tables;
pub mod tokens;

pub use attr::{ITEM_SCHEMA_VERSION, SCHEMA_VERSION_ATTR};
pub use catalog::DynamoCatalog;
pub use documents::DynamoDocuments;
pub use eventbridge::EventBridgePublisher;
pub use held::DynamoHeld;
pub use idempotency_store::DynamoIdempotencyStore;
pub use orders::DynamoOrders;
pub use pos_health::DynamoPosHealth;
pub use sdk::AwsConfig;
pub use sfn::SfnCallbacks;
pub use starter::SfnStarter;
pub use tokens::DynamoTokenStore;

/// An SDK error with its whole context (service error code and message), for logs and causes.
pub(crate) fn describe<E: std::error::Error>(e: &E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}

/// A failed SDK call as the ports report it: `operation`, the error with its whole context,
/// and the error itself as the cause.
pub(crate) fn repo_error<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    e: E,
) -> pipeline::ports::RepoError {
    pipeline::ports::RepoError {
        operation,
        message: describe(&e),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod iam_actions {
    //! Each adapter's declared IAM actions are exactly the SDK operations its source calls, so
    //! the template contract that checks roles against them cannot miss a new call.

    use std::collections::BTreeSet;

    /// `.put_item()` → `PutItem`: every SDK fluent call of the listed operations in a source.
    fn operations(source: &str) -> BTreeSet<String> {
        const SDK_OPERATIONS: [&str; 14] = [
            "get_item",
            "put_item",
            "update_item",
            "delete_item",
            "query",
            "scan",
            "batch_get_item",
            "batch_write_item",
            "transact_write_items",
            "put_events",
            "send_task_success",
            "send_task_failure",
            "send_task_heartbeat",
            "start_execution",
        ];
        let mut ops: BTreeSet<String> = SDK_OPERATIONS
            .iter()
            .filter(|op| source.contains(&format!(".{op}()")))
            .map(|op| pascal(op))
            .collect();
        if source.contains(".get_secret_value()") {
            ops.insert("GetSecretValue".to_owned());
        }
        ops
    }

    fn pascal(snake: &str) -> String {
        snake
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }

    fn declared(actions: &[&str]) -> BTreeSet<String> {
        actions
            .iter()
            .map(|a| a.split_once(':').map_or(*a, |(_, op)| op).to_owned())
            .collect()
    }

    #[test]
    fn every_adapter_declares_exactly_the_iam_actions_its_calls_need() {
        let held_actions: Vec<&str> = crate::DynamoHeld::IAM_ACTIONS
            .iter()
            .copied()
            .chain(crate::DynamoHeld::IAM_INDEX_ACTIONS.iter().map(|(a, _)| *a))
            .collect();
        let orders_actions: Vec<&str> = crate::DynamoOrders::IAM_ACTIONS
            .iter()
            .copied()
            .chain(crate::DynamoOrders::SWEEPER_IAM_ACTIONS.iter().copied())
            .chain(
                crate::DynamoOrders::IAM_SWEEP_INDEX_ACTIONS
                    .iter()
                    .map(|(a, _)| *a),
            )
            .collect();
        let pos_health_actions: Vec<&str> =
            crate::pos_health::DynamoPosHealth::RECORDER_IAM_ACTIONS
                .iter()
                .chain(crate::pos_health::DynamoPosHealth::WATCHER_IAM_ACTIONS)
                .copied()
                .collect();
        let cases: [(&str, &str, Vec<&str>); 12] = [
            (
                "pos_health.rs",
                include_str!("pos_health.rs"),
                pos_health_actions,
            ),
            (
                "catalog_admin.rs",
                include_str!("catalog_admin.rs"),
                crate::catalog_admin::IAM_ACTIONS.to_vec(),
            ),
            (
                "catalog.rs",
                include_str!("catalog.rs"),
                crate::DynamoCatalog::IAM_ACTIONS.to_vec(),
            ),
            (
                "documents.rs",
                include_str!("documents.rs"),
                crate::DynamoDocuments::IAM_ACTIONS.to_vec(),
            ),
            ("orders.rs", include_str!("orders.rs"), orders_actions),
            ("held.rs", include_str!("held.rs"), held_actions),
            (
                "idempotency_store.rs",
                include_str!("idempotency_store.rs"),
                crate::DynamoIdempotencyStore::IAM_ACTIONS.to_vec(),
            ),
            (
                "eventbridge.rs",
                include_str!("eventbridge.rs"),
                crate::EventBridgePublisher::IAM_ACTIONS.to_vec(),
            ),
            (
                "sfn.rs",
                include_str!("sfn.rs"),
                crate::SfnCallbacks::IAM_ACTIONS.to_vec(),
            ),
            (
                "starter.rs",
                include_str!("starter.rs"),
                crate::SfnStarter::IAM_ACTIONS.to_vec(),
            ),
            (
                "secrets.rs",
                include_str!("secrets.rs"),
                crate::secrets::IAM_ACTIONS.to_vec(),
            ),
            (
                "tokens.rs",
                include_str!("tokens.rs"),
                crate::DynamoTokenStore::IAM_ACTIONS.to_vec(),
            ),
        ];
        for (file, source, actions) in cases {
            // Only the code, not this list of names in the tests below the code.
            let code = source.split("#[cfg(test)]").next().unwrap_or(source);
            assert_eq!(operations(code), declared(&actions), "{file}");
        }
    }

    #[test]
    fn the_scan_sees_a_call_and_ignores_a_lookalike() {
        assert_eq!(
            operations("client.delete_item().key(k); x.put_item_later();"),
            BTreeSet::from(["DeleteItem".to_owned()])
        );
        assert_eq!(pascal("batch_write_item"), "BatchWriteItem");
    }
}
