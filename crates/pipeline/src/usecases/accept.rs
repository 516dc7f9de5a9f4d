//! The partner conversation: accept (after the store's decision), deny before acceptance, or
//! cancel after it. Deny and cancel end the workflow with an outcome event.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use order_domain::{
    AcceptDecision, HoldDecision, HoldPolicy, OrderId, OrderStatus, Partner, Rejection,
    RejectionReason, StoreId, decide_acceptance,
};
use order_events::{OrderCancelled, OrderFailed, OrderRejected};
use partners::{CancelReason, OrderRef, PartnerAction};
use tracing::{debug, info, warn};

use crate::errors::{PipelineError, names};
use crate::io::{Accepted, HoldPlan, Outcome, Received, TaskError};
use crate::ports::{
    CatalogSource, Clock, Created, Documents, Metric, Metrics, NewOrder, OrderHandle, OrdersRepo,
    PartnerApi, StatusUpdate, Transition,
};
use crate::usecases::dedup::duplicate_ignored;
use crate::usecases::{load_order, order_event};

/// The accept-order use case.
pub struct PartnerConversation {
    /// Stores and menus.
    pub catalog: Arc<dyn CatalogSource>,
    /// Partner APIs.
    pub partners: Arc<dyn PartnerApi>,
    /// Orders table.
    pub orders: Arc<dyn OrdersRepo>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
    /// Hold tunables.
    pub policy: HoldPolicy,
    /// The claim-check store (the canonical order the decision reads).
    pub documents: Arc<dyn Documents>,
}

/// Tells the partner; a transient failure is returned so the workflow retries, a permanent one
/// (the partner refuses, e.g. the order is already closed on its side) is logged and reported
/// as "not notified".
async fn tell(
    partners: &dyn PartnerApi,
    r: &OrderRef,
    id: &OrderId,
    action: &PartnerAction,
) -> Result<bool, PipelineError> {
    match partners.notify(r, id, action).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_transient() => Err(PipelineError::PartnerUnavailable(e)),
        Err(e) => {
            warn!(order_id = %id, error = %e, "partner refused the notification; continuing");
            Ok(false)
        }
    }
}

impl PartnerConversation {
    /// Runs one `accept-order` input.
    pub async fn handle(
        &self,
        input: &crate::io::AcceptInput,
    ) -> Result<crate::io::AcceptOutput, PipelineError> {
        use crate::io::{AcceptInput, AcceptOutput};
        Ok(match input {
            AcceptInput::Accept {
                order,
                correlation_id,
            } => AcceptOutput::Accepted(self.accept(order, correlation_id).await?),
            AcceptInput::Deny { received, error } => {
                AcceptOutput::Outcome(self.deny(received, error).await?)
            }
            AcceptInput::DenyUnclaimed {
                received,
                error,
                execution_id,
            } => AcceptOutput::Outcome(self.deny_unclaimed(received, error, execution_id).await?),
            AcceptInput::Cancel {
                order,
                correlation_id,
                error,
            } => AcceptOutput::Outcome(self.cancel(order, correlation_id, error).await?),
        })
    }

    async fn record(
        &self,
        id: &OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        update: StatusUpdate,
    ) -> Result<Transition, PipelineError> {
        let t = self.orders.transition(id, to, at, update).await?;
        if let Transition::Refused { current } = &t {
            warn!(order_id = %id, %current, wanted = %to, "status change refused by the lifecycle");
        }
        Ok(t)
    }

    /// Decides; if the store takes the order, accepts it with the partner and returns the hold
    /// plan. A refusal is [`PipelineError::Rejected`] (the workflow's deny path tells the
    /// partner).
    pub async fn accept(
        &self,
        handle: &OrderHandle,
        correlation_id: &str,
    ) -> Result<Accepted, PipelineError> {
        let now = self.clock.now();
        // A cancelled order is not decided on (nor its document read); nor one that has
        // ended (the sweeper ended it while a late handover waited): the partner is not told
        // yes about an order already refused or failed.
        if let Some(record) = self.orders.get(&handle.id).await? {
            if record.cancel_requested {
                return Err(PipelineError::Cancelled {
                    order_id: handle.id.clone(),
                    detail: String::new(),
                });
            }
            if record.status.is_terminal() {
                return Err(PipelineError::StatusConflict {
                    order_id: handle.id.clone(),
                    current: record.status,
                    wanted: OrderStatus::Accepted,
                });
            }
        }
        let order = &load_order(&*self.documents, handle).await?;
        let catalog = self.catalog.store(&order.store_id).await?;
        let store = catalog
            .as_deref()
            .and_then(|c| c.store(&order.store_id))
            .ok_or_else(|| {
                PipelineError::Rejected(Rejection::new(
                    RejectionReason::UnknownStore,
                    format!("store {} is not in the catalogue", order.store_id),
                ))
            })?;
        let decision = match decide_acceptance(order, store, now, self.policy) {
            AcceptDecision::Deny(r) => return Err(PipelineError::Rejected(r)),
            AcceptDecision::Accept(d) => d,
        };
        // The partner is told when it will be ready (DoorDash's prep time, Grubhub's wait).
        let accept = PartnerAction::accept(order_domain::ready_by(&decision, store, now), now);
        let send_by = order_domain::send_by(order, store, &decision);
        let hold = match decision {
            HoldDecision::SendNow => None,
            HoldDecision::Hold(h) => Some(h),
        };
        self.partners
            .notify(&handle.order_ref(), &order.id, &accept)
            .await
            .map_err(PipelineError::partner)?;
        match self
            .record(
                &order.id,
                OrderStatus::Accepted,
                now,
                StatusUpdate {
                    order: Some(handle.for_record()),
                    open_until: Some(send_by),
                    ..Default::default()
                },
            )
            .await?
        {
            Transition::Applied(_) | Transition::AlreadyThere(_) => {}
            Transition::Refused { current } => {
                return Err(PipelineError::StatusConflict {
                    order_id: order.id.clone(),
                    current,
                    wanted: OrderStatus::Accepted,
                });
            }
            Transition::Missing => {
                return Err(PipelineError::InvalidInput(format!(
                    "no record for order {}",
                    order.id
                )));
            }
        }
        // No `Order Accepted` event: nothing consumes it (docs/performance.md, Cost: the
        // events kept and why); the orders table has the status and the OrdersAccepted metric
        // counts it.
        self.metrics.record(Metric::OrderAccepted);
        // DEBUG: an operator follows an order by its webhook and its outcome (INFO); the steps
        // between are counted by metrics, and every log byte is billed (docs/performance.md,
        // Cost).
        debug!(order_id = %order.id, correlation_id, held = hold.is_some(), "order accepted");
        Ok(Accepted {
            hold: hold.map(|h| HoldPlan {
                schema_version: crate::io::StateSchema::CURRENT,
                release_at: h.release_at,
                early_release_from: h.early_release_from,
                timeout_seconds: h.seconds_until_release(now),
            }),
            send_by: Some(send_by),
        })
    }

    /// Before acceptance: tells the partner no. An `OrderRejected` error is a business refusal
    /// (`Order Rejected`); anything else is a failure (`Order Failed`).
    pub async fn deny(
        &self,
        received: &Received,
        error: &TaskError,
    ) -> Result<Outcome, PipelineError> {
        let now = self.clock.now();
        let data = &received.data;
        let r = OrderRef {
            partner: data.partner,
            partner_order_id: data.partner_order_id.clone(),
            partner_store_id: data.partner_store_id.clone(),
        };
        let order_id = r.order_id();
        let cid = &received.metadata.correlation_id;
        let record = self.orders.get(&order_id).await?;
        let store_id = record.as_ref().and_then(|r| r.store_id.clone()).or(self
            .store_of(data.partner, data.partner_store_id.as_deref())
            .await);
        let message = error.message();

        if error.error == names::ORDER_REJECTED {
            let rejection = Rejection::parse_message(&message)
                .unwrap_or_else(|| Rejection::new(RejectionReason::InvalidField, message.clone()));
            let notified = tell(
                &*self.partners,
                &r,
                &order_id,
                &PartnerAction::Deny(rejection.clone()),
            )
            .await?;
            self.record(
                &order_id,
                OrderStatus::Rejected,
                now,
                StatusUpdate {
                    note: Some(rejection.reason.code().to_owned()),
                    reason: Some(rejection.to_string()),
                    ..Default::default()
                },
            )
            .await?;
            self.metrics.record(Metric::OrderRejected {
                reason: rejection.reason.code().to_owned(),
            });
            info!(order_id = %order_id, reason = rejection.reason.code(), partner_notified = notified, "order rejected");
            let outcome = order_event(
                &order_id,
                cid,
                now,
                OrderRejected {
                    order_id: order_id.clone(),
                    partner: data.partner,
                    store_id,
                    reason: rejection.reason,
                    detail: rejection.detail,
                    partner_notified: notified,
                },
            )?;
            return Ok(Outcome { outcome });
        }

        let detail = format!("{}: {}", error.error, message);
        let mut notified = tell(
            &*self.partners,
            &r,
            &order_id,
            &PartnerAction::DenyFailure {
                detail: "the order could not be processed".to_owned(),
            },
        )
        .await?;
        if !notified {
            // A partner that refuses the denial holds the order accepted: the accept reached
            // it before the step failed (the status write after it refused for good, or the
            // function died between the two). The order will not be made, so the partner is
            // told so the only way it still takes: a cancellation.
            warn!(order_id = %order_id, "the partner refused the denial; cancelling the order it holds accepted");
            notified = tell(
                &*self.partners,
                &r,
                &order_id,
                &PartnerAction::Cancel {
                    reason: CancelReason::Internal,
                    detail: "the store cannot complete this order".to_owned(),
                },
            )
            .await?;
        }
        self.record(
            &order_id,
            OrderStatus::Failed,
            now,
            StatusUpdate {
                note: Some(error.error.clone()),
                reason: Some(detail.clone()),
                ..Default::default()
            },
        )
        .await?;
        self.metrics.record(Metric::OrderFailed {
            error: error.error.clone(),
        });
        warn!(order_id = %order_id, error = %error.error, partner_notified = notified, "order failed before acceptance");
        let outcome = order_event(
            &order_id,
            cid,
            now,
            OrderFailed {
                order_id: order_id.clone(),
                partner: data.partner,
                store_id,
                error: error.error.clone(),
                detail,
                partner_notified: notified,
                pos_voided: false,
            },
        )?;
        Ok(Outcome { outcome })
    }

    /// Dedup failed for good (retries spent on a storage outage, a crashing function, a claim
    /// still held): whether this delivery owns the order is unknown, and telling the partner
    /// no without owning it could contradict the delivery that does. Ownership is settled the
    /// way dedup settles it: by the order's record, whose creator owns the order. A
    /// conditional create that makes the record, or finds one this execution made before it
    /// failed, makes the order this execution's: the partner is told no and the record marked
    /// `Failed`, as [`Self::deny`] does; every other execution finds the record and ends as a
    /// duplicate. A record another execution made (even under the same correlation id, as
    /// EventBridge's duplicates and replays carry) is that execution's order: this one ends as
    /// `Order Duplicate Ignored` and tells no one.
    ///
    /// A [`PipelineError::PartnerUnavailable`] is returned only once the order is this
    /// delivery's; a storage error may come before that is known.
    pub async fn deny_unclaimed(
        &self,
        received: &Received,
        error: &TaskError,
        execution_id: &str,
    ) -> Result<Outcome, PipelineError> {
        let data = &received.data;
        let cid = &received.metadata.correlation_id;
        let now = self.clock.now();
        let order_id = OrderId::for_partner_order(data.partner, &data.partner_order_id);
        let created = self
            .orders
            .create(NewOrder {
                order_id: order_id.clone(),
                partner: data.partner,
                partner_order_id: data.partner_order_id.clone(),
                correlation_id: cid.clone(),
                created_by: Some(execution_id.to_owned()),
                at: now,
                received: Some(crate::usecases::received_for_record(received)?),
            })
            .await?;
        match created {
            Created::Existing(r) if r.created_by.as_deref() != Some(execution_id) => {
                self.metrics.record(Metric::DuplicateIgnored {
                    payload_mismatch: false,
                });
                info!(order_id = %order_id, correlation_id = %cid, owner = r.created_by.as_deref().unwrap_or("-"), "unclaimed delivery: the order is another execution's");
                let outcome = duplicate_ignored(&order_id, data.partner, cid, false, now)?;
                Ok(Outcome { outcome })
            }
            Created::New | Created::Existing(_) => {
                warn!(order_id = %order_id, correlation_id = %cid, error = %error.error, "dedup failed; the order is this delivery's, telling the partner no");
                self.deny(received, error).await
            }
        }
    }

    /// After acceptance: tells the partner the order will not be made. `OrderCancelled` means
    /// the partner asked (`Order Cancelled`); anything else is a failure (`Order Failed`).
    pub async fn cancel(
        &self,
        order: &OrderHandle,
        correlation_id: &str,
        error: &TaskError,
    ) -> Result<Outcome, PipelineError> {
        let now = self.clock.now();
        let record = self.orders.get(&order.id).await?;
        let pos_voided = record.as_ref().is_some_and(|r| r.pos_voided);
        let message = error.message();
        let r = order.order_ref();

        if error.error == names::ORDER_CANCELLED {
            let reason = record.as_ref().and_then(|r| r.reason.clone());
            let detail = reason
                .clone()
                .unwrap_or_else(|| "cancelled by the partner".to_owned());
            let notified = tell(
                &*self.partners,
                &r,
                &order.id,
                &PartnerAction::Cancel {
                    reason: CancelReason::PartnerRequested,
                    detail,
                },
            )
            .await?;
            self.record(
                &order.id,
                OrderStatus::Cancelled,
                now,
                StatusUpdate {
                    note: Some("partner".to_owned()),
                    ..Default::default()
                },
            )
            .await?;
            self.metrics.record(Metric::OrderCancelled);
            info!(order_id = %order.id, pos_voided, "order cancelled");
            let outcome = order_event(
                &order.id,
                correlation_id,
                now,
                OrderCancelled {
                    order_id: order.id.clone(),
                    partner: order.partner,
                    store_id: Some(order.store_id.clone()),
                    reason,
                    pos_voided,
                    partner_notified: notified,
                },
            )?;
            return Ok(Outcome { outcome });
        }

        let reason = if [
            names::POS_REJECTED,
            names::POS_UNAVAILABLE,
            names::POS_DEADLINE_PASSED,
        ]
        .contains(&error.error.as_str())
        {
            CancelReason::StoreUnavailable
        } else {
            CancelReason::Internal
        };
        let detail = format!("{}: {}", error.error, message);
        let notified = tell(
            &*self.partners,
            &r,
            &order.id,
            &PartnerAction::Cancel {
                reason,
                detail: "the store cannot complete this order".to_owned(),
            },
        )
        .await?;
        self.record(
            &order.id,
            OrderStatus::Failed,
            now,
            StatusUpdate {
                note: Some(error.error.clone()),
                reason: Some(detail.clone()),
                ..Default::default()
            },
        )
        .await?;
        self.metrics.record(Metric::OrderFailed {
            error: error.error.clone(),
        });
        warn!(order_id = %order.id, error = %error.error, pos_voided, partner_notified = notified, "order failed after acceptance");
        let outcome = order_event(
            &order.id,
            correlation_id,
            now,
            OrderFailed {
                order_id: order.id.clone(),
                partner: order.partner,
                store_id: Some(order.store_id.clone()),
                error: error.error.clone(),
                detail,
                partner_notified: notified,
                pos_voided,
            },
        )?;
        Ok(Outcome { outcome })
    }

    /// The chain's id of the partner's store, if the catalogue can say (a failed read only
    /// leaves the outcome event without it).
    async fn store_of(&self, partner: Partner, partner_store_id: Option<&str>) -> Option<StoreId> {
        let p = partner_store_id?;
        let catalog = match self.catalog.partner_store(partner, p).await {
            Ok(c) => c?,
            Err(e) => {
                warn!(error = %e, "store of the outcome not read from the catalogue");
                return None;
            }
        };
        catalog.store_for_partner(partner, p).map(|s| s.id.clone())
    }
}
