//! Dedup: the first delivery of a partner order claims it and creates its record; repeats end
//! as duplicates (or conflicts, when the payload differs).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use idempotency::{Idempotency, IdempotencyError, KeySpec, Outcome};
use order_domain::{OrderId, Partner};
use order_events::OrderDuplicateIgnored;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{debug, info};

use crate::errors::PipelineError;
use crate::io::{DedupInput, DedupOutcome, DedupOutput};
use crate::ports::{Clock, Created, Metric, Metrics, NewOrder, OrdersRepo};
use crate::usecases::order_event;

/// The idempotency key is the partner and its order id; repeats must carry the same payload.
pub fn key_spec() -> KeySpec {
    KeySpec {
        namespace: "order".to_owned(),
        key_fields: vec![
            "/received/data/partner".to_owned(),
            "/received/data/partnerOrderId".to_owned(),
        ],
        // The body's SHA-256, which intake computed when it stored the body: a repeat with
        // other bytes is a conflict.
        payload_field: "/received/data/payloadRef/sha256".to_owned(),
    }
}

/// What the first delivery stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirstSeen {
    order_id: OrderId,
    correlation_id: String,
    /// The order existed already (its idempotency record had expired).
    existed: bool,
    /// The execution that created the order's record: its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
}

impl FirstSeen {
    /// Whether the execution `claimant` owns the order: it created the record. A result
    /// replayed from another claimant is this execution's only if that record is its own (its
    /// claim was taken over after it made the record).
    fn owned_by(&self, claimant: Option<&str>, replayed: bool) -> bool {
        match (&self.owner, claimant) {
            (Some(owner), Some(me)) => owner == me,
            _ => !replayed && !self.existed,
        }
    }
}

/// The dedup use case.
pub struct Dedup {
    /// Idempotency guard.
    pub idempotency: Idempotency,
    /// Orders table.
    pub orders: Arc<dyn OrdersRepo>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
}

impl Dedup {
    /// Claims the order or recognises a repeat. `raw` is the input as received (the key is
    /// computed from it); `deadline` bounds the in-progress claim.
    pub async fn handle(
        &self,
        raw: &Value,
        deadline: DateTime<Utc>,
    ) -> Result<DedupOutput, PipelineError> {
        let input: DedupInput = serde_json::from_value(raw.clone())
            .map_err(|e| PipelineError::InvalidInput(format!("dedup input: {e}")))?;
        let spec = key_spec();
        let key = spec
            .key(raw)
            .map_err(|e| PipelineError::InvalidInput(e.to_string()))?;
        let hash = spec.payload_hash(raw);
        let data = &input.received.data;
        let order_id = OrderId::for_partner_order(data.partner, &data.partner_order_id);
        let correlation_id = input.received.metadata.correlation_id.clone();
        let now = self.clock.now();

        // The execution is the claimant: a retry of this step after a crash (or after its
        // answer was lost) takes over or resumes its own claim instead of finding a duplicate.
        let claimant = input.execution_id.as_deref();
        let result = self
            .idempotency
            .run_as(claimant, &key, &hash, now, deadline, || async {
                let created = self
                    .orders
                    .create(NewOrder {
                        order_id: order_id.clone(),
                        partner: data.partner,
                        partner_order_id: data.partner_order_id.clone(),
                        correlation_id: correlation_id.clone(),
                        created_by: claimant.map(str::to_owned),
                        at: now,
                        received: Some(crate::usecases::received_for_record(&input.received)?),
                    })
                    .await?;
                // The record's creator owns the order. A record this execution made is its
                // own earlier attempt; one another execution made (a delivery whose
                // unclaimed path settled it, one whose idempotency record expired, a replay)
                // is that execution's order, whatever correlation id it carries: deliveries
                // share those (EventBridge's duplicates, replays), executions do not.
                let (existed, owner) = match &created {
                    Created::New => (false, claimant.map(str::to_owned)),
                    Created::Existing(r) => match (&r.created_by, claimant) {
                        (Some(by), Some(me)) => (by != me, Some(by.clone())),
                        // A record from before owners were kept.
                        _ => (
                            claimant.is_none() || r.correlation_id != correlation_id,
                            r.created_by.clone(),
                        ),
                    },
                };
                // A cancellation that arrived before this record existed applies now.
                if !existed && let Some(reason) = self.orders.early_cancellation(&order_id).await? {
                    self.orders
                        .request_cancellation(&order_id, Some(&reason), now)
                        .await?;
                }
                Ok::<_, PipelineError>(FirstSeen {
                    order_id: order_id.clone(),
                    correlation_id: correlation_id.clone(),
                    existed,
                    owner: if existed {
                        owner
                    } else {
                        claimant.map(str::to_owned)
                    },
                })
            })
            .await;

        let replayed = matches!(&result, Ok(Outcome::Replayed(_)));
        match result {
            Ok(Outcome::Fresh(first) | Outcome::Resumed(first) | Outcome::Replayed(first))
                if first.owned_by(claimant, replayed) =>
            {
                self.metrics.record(Metric::OrderReceived {
                    partner: data.partner,
                });
                debug!(order_id = %order_id, correlation_id = %correlation_id, "new order claimed");
                Ok(DedupOutput {
                    outcome: DedupOutcome::New,
                    order_id,
                    correlation_id,
                    event: None,
                })
            }
            Ok(Outcome::Fresh(first) | Outcome::Replayed(first) | Outcome::Resumed(first)) => {
                self.duplicate(data.partner, first.order_id, &correlation_id, false, now)
            }
            Err(IdempotencyError::PayloadMismatch { .. }) => {
                self.duplicate(data.partner, order_id, &correlation_id, true, now)
            }
            Err(IdempotencyError::InProgress { until, .. }) => {
                Err(PipelineError::InProgress { order_id, until })
            }
            Err(IdempotencyError::Operation(e)) => Err(e),
            Err(e @ (IdempotencyError::Store(_) | IdempotencyError::CorruptResult { .. })) => Err(
                PipelineError::Storage(crate::ports::RepoError::caused("idempotency", e)),
            ),
        }
    }

    fn duplicate(
        &self,
        partner: Partner,
        order_id: OrderId,
        correlation_id: &str,
        payload_mismatch: bool,
        now: DateTime<Utc>,
    ) -> Result<DedupOutput, PipelineError> {
        self.metrics
            .record(Metric::DuplicateIgnored { payload_mismatch });
        info!(order_id = %order_id, correlation_id, payload_mismatch, "repeat delivery ignored");
        let event = duplicate_ignored(&order_id, partner, correlation_id, payload_mismatch, now)?;
        Ok(DedupOutput {
            outcome: if payload_mismatch {
                DedupOutcome::Conflict
            } else {
                DedupOutcome::Duplicate
            },
            order_id,
            correlation_id: correlation_id.to_owned(),
            event: Some(event),
        })
    }
}

/// `Order Duplicate Ignored` for one delivery of an order that another delivery owns. The
/// idempotency key is per delivery correlation id: two different repeats are two facts.
pub(crate) fn duplicate_ignored(
    order_id: &OrderId,
    partner: Partner,
    correlation_id: &str,
    payload_mismatch: bool,
    now: DateTime<Utc>,
) -> Result<order_events::OutboundEvent, PipelineError> {
    let mut event = order_event(
        order_id,
        correlation_id,
        now,
        OrderDuplicateIgnored {
            order_id: order_id.clone(),
            partner,
            payload_mismatch,
        },
    )?;
    event.detail["metadata"]["idempotencyKey"] = Value::from(format!(
        "{order_id}/order-duplicate-ignored/{correlation_id}"
    ));
    Ok(event)
}
