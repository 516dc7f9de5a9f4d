//! release-order: a courier near a store releases that store's held orders that are due; a
//! courier the partner says is arriving releases the order it collects; a cancellation fails a
//! held order's task, flags an order still on its way, or voids an order the POS already has.

use std::sync::Arc;

use order_domain::{OrderId, OrderStatus, ReleasedBy};

use crate::ports::CatalogSource;
use order_events::{
    BusEvent, CourierArriving, CourierLocationUpdated, Detail, OrderCancellationRequested,
};
use serde_json::json;
use tracing::{info, warn};

use crate::errors::{PipelineError, names};
use crate::io::{ReleaseSummary, TaskError};
use crate::ports::{
    CallbackOutcome, Clock, EventPublisher, HeldOrder, HeldOrders, Metrics, OrderHandle,
    OrdersRepo, StatusUpdate, TaskCallbacks, Transition,
};
use crate::usecases::accept::PartnerConversation;
use crate::usecases::hold::release;
use crate::usecases::pos::PosSender;

/// The bus events release-order handles (source, detail-type); its rule in the template must
/// match exactly these.
pub const HANDLED: [(&str, &str); 3] = [
    (CourierArriving::SOURCE, CourierArriving::DETAIL_TYPE),
    (
        CourierLocationUpdated::SOURCE,
        CourierLocationUpdated::DETAIL_TYPE,
    ),
    (
        OrderCancellationRequested::SOURCE,
        OrderCancellationRequested::DETAIL_TYPE,
    ),
];

/// The release-order use case.
pub struct Releaser {
    /// Stores.
    pub catalog: Arc<dyn CatalogSource>,
    /// Held-orders table.
    pub held: Arc<dyn HeldOrders>,
    /// Orders table.
    pub orders: Arc<dyn OrdersRepo>,
    /// Workflow callbacks.
    pub callbacks: Arc<dyn TaskCallbacks>,
    /// The bus.
    pub publisher: Arc<dyn EventPublisher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
    /// To void orders the POS already has.
    pub pos: PosSender,
    /// To tell the partner about those.
    pub conversation: PartnerConversation,
}

impl Releaser {
    /// Runs one bus event delivered to `release-order`.
    pub async fn handle(
        &self,
        event: &order_events::Envelope<serde_json::Value>,
    ) -> Result<ReleaseSummary, PipelineError> {
        fn detail<E: BusEvent>(v: &serde_json::Value) -> Result<Detail<E>, PipelineError> {
            serde_json::from_value(v.clone())
                .map_err(|e| PipelineError::InvalidInput(format!("{} detail: {e}", E::DETAIL_TYPE)))
        }
        match (event.source.as_str(), event.detail_type.as_str()) {
            (CourierArriving::SOURCE, CourierArriving::DETAIL_TYPE) => {
                self.on_arrival(&detail::<CourierArriving>(&event.detail)?)
                    .await
            }
            (CourierLocationUpdated::SOURCE, CourierLocationUpdated::DETAIL_TYPE) => {
                self.on_courier(&detail::<CourierLocationUpdated>(&event.detail)?)
                    .await
            }
            (OrderCancellationRequested::SOURCE, OrderCancellationRequested::DETAIL_TYPE) => {
                self.on_cancellation(&detail::<OrderCancellationRequested>(&event.detail)?)
                    .await
            }
            (source, detail_type) => Err(PipelineError::InvalidInput(format!(
                "release-order handles couriers arriving, courier locations and cancellation requests, not {detail_type:?} from {source:?}"
            ))),
        }
    }

    /// The partner says a courier is at or about to reach the store for an order: that order,
    /// if it is held and may be released by a courier now, is released, whatever the store's
    /// courier radius says (the partner's geofence decided).
    pub async fn on_arrival(
        &self,
        event: &Detail<CourierArriving>,
    ) -> Result<ReleaseSummary, PipelineError> {
        let now = self.clock.now();
        let data = &event.data;
        let Some(held) = self.held.get(&data.order_id).await? else {
            return Ok(note(format!(
                "order {} is not held ({} for it)",
                data.order_id, data.signal
            )));
        };
        if !held.hold.releasable_by_courier(now) {
            return Ok(note(format!(
                "order {} is held for later than a courier may release it",
                data.order_id
            )));
        }
        let mut summary = ReleaseSummary::default();
        if self.release_one(&held).await? {
            summary.released.push(held.order_id);
        } else {
            summary.note = Some(format!("order {} was released meanwhile", data.order_id));
        }
        Ok(summary)
    }

    /// A courier reported its position.
    pub async fn on_courier(
        &self,
        event: &Detail<CourierLocationUpdated>,
    ) -> Result<ReleaseSummary, PipelineError> {
        let now = self.clock.now();
        let data = &event.data;
        let catalog = self.catalog.store(&data.store_id).await?;
        let Some(store) = catalog.as_deref().and_then(|c| c.store(&data.store_id)) else {
            return Ok(note(format!(
                "store {} is not in the catalogue",
                data.store_id
            )));
        };
        if !store.courier_is_near(data.location, data.eta_seconds) {
            return Ok(note(format!("courier is not near store {}", store.id)));
        }
        let candidates: Vec<HeldOrder> = match &data.partner_order_id {
            Some(pid) => {
                let id = OrderId::for_partner_order(data.partner, pid);
                self.held
                    .get(&id)
                    .await?
                    .into_iter()
                    .filter(|h| h.store_id == store.id && h.hold.releasable_by_courier(now))
                    .collect()
            }
            None => self.held.releasable(&store.id, now).await?,
        };
        let mut summary = ReleaseSummary::default();
        for candidate in candidates {
            if self.release_one(&candidate).await? {
                summary.released.push(candidate.order_id);
            }
        }
        if summary.released.is_empty() {
            summary.note = Some(format!("no held order of store {} was due", store.id));
        }
        Ok(summary)
    }

    /// Releases one held order by courier; false if someone else got there first.
    async fn release_one(&self, candidate: &HeldOrder) -> Result<bool, PipelineError> {
        // Taking the item first means concurrent releasers cannot both use the token.
        let Some(held) = self.held.take(&candidate.order_id).await? else {
            return Ok(false);
        };
        let output = json!({ "releasedBy": ReleasedBy::Courier.as_str() });
        match self.callbacks.succeed(&held.task_token, &output).await {
            Ok(CallbackOutcome::Delivered) => {}
            // The hold timed out meanwhile: the workflow's own release by time handles it.
            Ok(CallbackOutcome::AlreadyClosed) => return Ok(false),
            Err(e) => {
                // Put the token back so a later courier or the timeout can still release it.
                self.held.put(&held).await?;
                return Err(e.into());
            }
        }
        let now = self.clock.now();
        match release(
            &*self.orders,
            &*self.publisher,
            &*self.metrics,
            &held.order_id,
            &held.store_id,
            &held.correlation_id,
            ReleasedBy::Courier,
            now,
        )
        .await
        {
            Ok(()) => Ok(true),
            // The partner cancelled meanwhile; the POS step sees the flag and cancels.
            Err(PipelineError::Cancelled { .. }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// The partner asked to cancel.
    pub async fn on_cancellation(
        &self,
        event: &Detail<OrderCancellationRequested>,
    ) -> Result<ReleaseSummary, PipelineError> {
        let now = self.clock.now();
        let data = &event.data;
        let id = &data.order_id;
        let reason = data
            .reason
            .clone()
            .unwrap_or_else(|| "cancelled by the partner".to_owned());
        let record = match self
            .orders
            .request_cancellation(id, Some(&reason), now)
            .await?
        {
            Some(record) => record,
            None => {
                // The partner cancelled before dedup made the order's record (right after its
                // webhook was acknowledged). Keep the cancellation for dedup to find, then look
                // again: if dedup made the record in between, it may have looked before this
                // was kept, so flag the record itself.
                self.orders.remember_cancellation(id, &reason, now).await?;
                match self
                    .orders
                    .request_cancellation(id, Some(&reason), now)
                    .await?
                {
                    Some(record) => record,
                    None => {
                        warn!(order_id = %id, "cancellation before its order: kept for when it arrives");
                        return Ok(note(format!(
                            "order {id} has not arrived yet; the cancellation is kept and applies when it does"
                        )));
                    }
                }
            }
        };
        let mut summary = ReleaseSummary::default();
        match record.status {
            OrderStatus::Held => match self.held.take(id).await? {
                Some(held) => match self
                    .callbacks
                    .fail(&held.task_token, names::ORDER_CANCELLED, &reason)
                    .await
                {
                    Ok(CallbackOutcome::Delivered) => {
                        info!(order_id = %id, "held order cancelled");
                        summary.cancelled.push(id.clone());
                    }
                    Ok(CallbackOutcome::AlreadyClosed) => {
                        summary.note = Some(
                            "the hold had just ended; the POS step will see the cancellation"
                                .to_owned(),
                        );
                    }
                    Err(e) => {
                        self.held.put(&held).await?;
                        return Err(e.into());
                    }
                },
                None => {
                    summary.note = Some(
                        "the order was being released; the POS step will see the cancellation"
                            .to_owned(),
                    )
                }
            },
            OrderStatus::SentToPos => {
                let (Some(order), Some(pos_order_id)) =
                    (record.order.as_ref(), record.pos_order_id.as_ref())
                else {
                    return Err(PipelineError::InvalidInput(format!(
                        "order {id} is SentToPos without its order or POS id"
                    )));
                };
                self.pos.void(order, pos_order_id).await?;
                // Recorded before the partner is told: if telling it fails for good (its answers
                // lost, the retries spent), the table still says what the POS shows, and a
                // redelivery of this event tells it again (the arm below).
                let recorded = self
                    .orders
                    .transition(
                        id,
                        OrderStatus::Cancelled,
                        now,
                        StatusUpdate {
                            note: Some("partner".to_owned()),
                            ..Default::default()
                        },
                    )
                    .await?;
                if let Transition::Refused { current } = recorded {
                    warn!(order_id = %id, %current, "the POS order was voided, but the order moved on meanwhile");
                }
                self.tell_cancelled(order, &record.correlation_id, &reason)
                    .await?;
                summary.voided.push(id.clone());
            }
            // Cancelled here before: its POS order voided, its partner maybe not told (the
            // telling failed for good and this is the event again, redelivered or redriven).
            // Telling it again is harmless; not telling it is not.
            OrderStatus::Cancelled if record.pos_voided && record.cancel_requested => {
                if let Some(order) = record.order.as_ref() {
                    self.tell_cancelled(order, &record.correlation_id, &reason)
                        .await?;
                    summary.note = Some(format!(
                        "order {id} was already cancelled; the partner was told again"
                    ));
                }
            }
            status if status.is_terminal() => {
                summary.note = Some(format!("order {id} already ended as {status}"))
            }
            status => {
                summary.note = Some(format!(
                    "order {id} is {status}; the workflow will cancel it at its next step"
                ))
            }
        }
        Ok(summary)
    }
}

impl Releaser {
    /// Tells the partner the order it cancelled is cancelled and announces it (both
    /// idempotent: the partner keeps its first answer, the event its key).
    async fn tell_cancelled(
        &self,
        order: &OrderHandle,
        correlation_id: &str,
        reason: &str,
    ) -> Result<(), PipelineError> {
        let error = TaskError {
            error: names::ORDER_CANCELLED.to_owned(),
            cause: reason.to_owned(),
        };
        let outcome = self
            .conversation
            .cancel(order, correlation_id, &error)
            .await?;
        self.publisher.publish(&[outcome.outcome]).await?;
        Ok(())
    }
}

fn note(text: String) -> ReleaseSummary {
    ReleaseSummary {
        note: Some(text),
        ..Default::default()
    }
}
