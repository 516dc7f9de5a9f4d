//! Idempotency records in DynamoDB: one conditional `PutItem` claims a key; when the claim
//! fails, `ReturnValuesOnConditionCheckFailure=ALL_OLD` hands back the record that blocked it,
//! so a duplicate costs no read.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use idempotency::{Claim, IdempotencyKey, IdempotencyStore, Record, RecordStatus, StoreError};

use crate::attr::{Item, get_n, get_s, n, opt_n, opt_s, s};
use crate::describe;
use crate::tables::{IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_ATTR};

/// The idempotency table.
#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

impl DynamoIdempotencyStore {
    /// The IAM actions its calls need, on the idempotency table.
    pub const IAM_ACTIONS: &'static [&'static str] = &[
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ];

    /// The table `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(what: &str, e: E) -> StoreError {
    StoreError::Unavailable {
        message: format!("{what}: {}", describe(&e)),
        source: Some(Box::new(e)),
    }
}

fn read(item: &Item) -> Result<Record, StoreError> {
    let bad = |e: crate::attr::AttrError| StoreError::Corrupt(e.to_string());
    crate::attr::check_schema(item).map_err(bad)?;
    let status = match get_s(item, "status").map_err(bad)? {
        "INPROGRESS" => RecordStatus::InProgress,
        "COMPLETED" => RecordStatus::Completed,
        other => return Err(StoreError::Corrupt(format!("unknown status {other:?}"))),
    };
    let result = match opt_s(item, "data") {
        Some(json) => Some(
            serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("data: {e}")))?,
        ),
        None => None,
    };
    Ok(Record {
        key: IdempotencyKey::from_stored(get_s(item, IDEMPOTENCY_KEY).map_err(bad)?),
        status,
        expires_at: get_n(item, IDEMPOTENCY_TTL_ATTR).map_err(bad)?,
        in_progress_expires_at_ms: opt_n(item, "inProgressExpiration"),
        payload_hash: opt_s(item, "validation").unwrap_or_default().to_owned(),
        result,
        claimant: opt_s(item, "claimant").map(str::to_owned),
    })
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    async fn put_in_progress(
        &self,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(IDEMPOTENCY_KEY, s(record.key.as_str()))
            .item("status", s(record.status.as_str()))
            .item(IDEMPOTENCY_TTL_ATTR, n(record.expires_at))
            .item("validation", s(record.payload_hash.clone()))
            .item(crate::attr::SCHEMA_VERSION_ATTR, crate::attr::schema_version())
            // The same rule as `Record::blocks_claim_by`: no live record, or an expired one, or
            // a claim whose holder's deadline has passed, or (for a named claimant) its own
            // earlier claim, still in progress.
            .condition_expression(if record.claimant.is_some() {
                "attribute_not_exists(#id) OR #exp < :now OR (#status = :inprogress AND #ipexp < :now_ms) OR (#status = :inprogress AND claimant = :claimant)"
            } else {
                "attribute_not_exists(#id) OR #exp < :now OR (#status = :inprogress AND #ipexp < :now_ms)"
            })
            .expression_attribute_names("#id", IDEMPOTENCY_KEY)
            .expression_attribute_names("#exp", IDEMPOTENCY_TTL_ATTR)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ipexp", "inProgressExpiration")
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":inprogress", s(RecordStatus::InProgress.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(ms) = record.in_progress_expires_at_ms {
            req = req.item("inProgressExpiration", n(ms));
        }
        if let Some(c) = &record.claimant {
            req = req
                .item("claimant", s(c.clone()))
                .expression_attribute_values(":claimant", s(c.clone()));
        }
        match req.send().await {
            Ok(_) => Ok(Claim::Claimed),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(ccf)) => match ccf.item() {
                    Some(item) => Ok(Claim::Exists(read(item)?)),
                    None => Err(StoreError::Corrupt(
                        "the claim failed but no record was returned".to_owned(),
                    )),
                },
                _ => Err(unavailable("claim", e)),
            },
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(IDEMPOTENCY_KEY, s(key.as_str()))
            .update_expression(crate::attr::set_schema_version(
                "SET #status = :done, #data = :data, #exp = :exp REMOVE inProgressExpiration",
            ))
            .expression_attribute_values(
                crate::attr::SCHEMA_VERSION_VALUE,
                crate::attr::schema_version(),
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#exp", IDEMPOTENCY_TTL_ATTR)
            .expression_attribute_values(":done", s(RecordStatus::Completed.as_str()))
            .expression_attribute_values(":data", AttributeValue::S(result.to_string()))
            .expression_attribute_values(":exp", n(expires_at))
            .send()
            .await
            .map_err(|e| unavailable("complete", e))?;
        Ok(())
    }

    async fn delete(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(IDEMPOTENCY_KEY, s(key.as_str()))
            .send()
            .await
            .map_err(|e| unavailable("delete", e))?;
        Ok(())
    }
}
