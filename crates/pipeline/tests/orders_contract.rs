//! The orders and held-orders repositories' contracts (`pipeline::contract`) on the in-memory
//! twins; the DynamoDB adapters run the same cases against DynamoDB Local
//! (`tests/dynamodb_local.rs`).

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use order_domain::{Catalog, Partner};
use pipeline::memory::{InMemoryHeld, InMemoryOrders};

fn sample_order() -> order_domain::Order {
    let path = format!(
        "{}/../../events/partners/app/order.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    partners::adapt(Partner::ChainApp, &payload, &Catalog::embedded().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_in_memory_orders_table_keeps_the_repository_contract() {
    pipeline::contract::orders_repo(Arc::new(InMemoryOrders::default()), "mem", sample_order())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_in_memory_held_orders_table_keeps_the_repository_contract() {
    pipeline::contract::held_orders(Arc::new(InMemoryHeld::default()), "mem").await;
}
