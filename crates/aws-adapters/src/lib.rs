//! The real adapters behind the pipeline's ports. Only this crate names `aws_sdk_*` types.
//!
//! * [`orders::DynamoOrders`]: the orders table, status changes as conditional updates;
//! * [`held::DynamoHeld`]: the held-orders table and its by-store index;
//! * [`idempotency_store::DynamoIdempotencyStore`]: one conditional `PutItem` per claim;
//! * [`eventbridge::EventBridgePublisher`]: batched `PutEvents` that retries failed entries;
//! * [`sfn::SfnCallbacks`]: task-token callbacks;
//! * [`secrets::load_secret_json`]: a secret's JSON from Secrets Manager;
//! * [`tables`]: the tables' key schemas, shared with the template contract test.

mod attr;
pub mod eventbridge;
pub mod held;
pub mod idempotency_store;
pub mod orders;
pub mod sdk;
pub mod secrets;
pub mod sfn;
pub mod tables;

pub use eventbridge::EventBridgePublisher;
pub use held::DynamoHeld;
pub use idempotency_store::DynamoIdempotencyStore;
pub use orders::DynamoOrders;
pub use sdk::AwsConfig;
pub use sfn::SfnCallbacks;

/// An SDK error with its whole context (service error code and message), for logs and causes.
pub(crate) fn describe<E: std::error::Error>(e: &E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}
