//! Send to POS (idempotent by order id) and void (compensation).

use std::sync::Arc;
use std::time::Instant;

use order_domain::{OrderStatus, PosOrderId};
use order_events::OrderSentToPos;
use tracing::{info, warn};

use crate::errors::PipelineError;
use crate::io::{Sent, Voided};
use crate::ports::{
    Clock, Documents, Metric, Metrics, OrderHandle, OrdersRepo, PosApi, PosHealth, PosTicket,
    StatusUpdate, Transition,
};
use crate::usecases::{load_order, order_event};

/// The pos use case.
pub struct PosSender {
    /// The stores' POS.
    pub pos: Arc<dyn PosApi>,
    /// Orders table.
    pub orders: Arc<dyn OrdersRepo>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
    /// The claim-check store (the canonical order the ticket is made from).
    pub documents: Arc<dyn Documents>,
    /// Where a store's failing POS is recorded, for the sweeper's watch
    /// ([`crate::usecases::pos_watch`]) to pause the store if it stays down.
    pub health: Arc<dyn PosHealth>,
}

impl PosSender {
    /// Runs one `pos` input.
    pub async fn handle(
        &self,
        input: &crate::io::PosInput,
    ) -> Result<crate::io::PosOutput, PipelineError> {
        use crate::io::{PosInput, PosOutput};
        Ok(match input {
            PosInput::Send {
                order,
                correlation_id,
                accepted,
            } => PosOutput::Sent(
                self.send_until(
                    order,
                    correlation_id,
                    accepted.as_ref().and_then(|a| a.send_by),
                )
                .await?,
            ),
            PosInput::Void {
                order,
                pos_order_id,
                ..
            } => PosOutput::Voided(self.compensate(order, pos_order_id.as_ref()).await?),
        })
    }

    /// Creates the POS order (the order id is the POS idempotency key, so a retry after a lost
    /// answer finds the same POS order) and records it.
    pub async fn send(
        &self,
        order: &OrderHandle,
        correlation_id: &str,
    ) -> Result<Sent, PipelineError> {
        self.send_until(order, correlation_id, None).await
    }

    /// [`Self::send`], for an order the POS may take until `send_by` (accept-order's
    /// `order_domain::send_by`): a POS that is unavailable before then is
    /// [`PipelineError::PosUnavailable`] (the workflow waits and tries again), after it
    /// [`PipelineError::PosDeadlinePassed`] (the order can no longer be made in time: the
    /// workflow voids and cancels it with the partner). Without a time, every unavailable POS
    /// is the first.
    pub async fn send_until(
        &self,
        order: &OrderHandle,
        correlation_id: &str,
        send_by: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Sent, PipelineError> {
        let cancelled = || PipelineError::Cancelled {
            order_id: order.id.clone(),
            detail: String::new(),
        };
        if let Some(record) = self.orders.get(&order.id).await? {
            if record.cancel_requested || record.status == OrderStatus::Cancelled {
                return Err(cancelled());
            }
            // Ended otherwise (the sweeper ended it while a late handover waited): no POS
            // order for it.
            if record.status.is_terminal() {
                return Err(PipelineError::StatusConflict {
                    order_id: order.id.clone(),
                    current: record.status,
                    wanted: OrderStatus::SentToPos,
                });
            }
        }
        let ticket = PosTicket::for_order(&load_order(&*self.documents, order).await?);
        let started = Instant::now();
        let created = self
            .pos
            .create(&order.store_id, &ticket, order.id.as_str())
            .await;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        self.metrics.record(Metric::PosLatency {
            millis,
            ok: created.is_ok(),
        });
        if let Err(e) = &created
            && e.is_transient()
        {
            self.record_failing(&order.store_id).await;
        }
        let pos_order_id = match created {
            Ok(id) => id,
            Err(e) if e.is_transient() && send_by.is_some_and(|by| self.clock.now() >= by) => {
                warn!(order_id = %order.id, error = %e, "the POS is still unavailable and the order can no longer be made in time");
                return Err(PipelineError::PosDeadlinePassed {
                    order_id: order.id.clone(),
                    source: Box::new(e),
                });
            }
            Err(e) => return Err(PipelineError::pos(e)),
        };

        let now = self.clock.now();
        let update = StatusUpdate {
            pos_order_id: Some(pos_order_id.clone()),
            ..Default::default()
        };
        match self
            .orders
            .transition(&order.id, OrderStatus::SentToPos, now, update)
            .await?
        {
            // The cancellation flag and this write are on one item: whichever came second sees
            // the other. If the partner cancelled meanwhile, undo the POS order here.
            Transition::Applied(r) | Transition::AlreadyThere(r) if r.cancel_requested => {
                self.void(order, &pos_order_id).await?;
                return Err(PipelineError::Cancelled {
                    order_id: order.id.clone(),
                    detail: format!("; POS order {pos_order_id} voided"),
                });
            }
            Transition::Applied(r) => {
                let millis = (now - r.created_at).num_milliseconds().max(0) as f64;
                self.metrics.record(Metric::OrderToPos { millis });
            }
            Transition::AlreadyThere(_) => {}
            Transition::Refused { current } => {
                self.void(order, &pos_order_id).await?;
                if current == OrderStatus::Cancelled {
                    return Err(cancelled());
                }
                return Err(PipelineError::StatusConflict {
                    order_id: order.id.clone(),
                    current,
                    wanted: OrderStatus::SentToPos,
                });
            }
            Transition::Missing => {
                return Err(PipelineError::InvalidInput(format!(
                    "no record for order {}",
                    order.id
                )));
            }
        }
        self.metrics.record(Metric::OrderSentToPos);
        info!(order_id = %order.id, pos_order_id = %pos_order_id, pos_ms = millis, "order sent to POS");
        let outcome = order_event(
            &order.id,
            correlation_id,
            now,
            OrderSentToPos {
                order_id: order.id.clone(),
                store_id: order.store_id.clone(),
                partner: order.partner,
                pos_order_id: pos_order_id.clone(),
            },
        )?;
        Ok(Sent {
            pos_order_id,
            outcome,
        })
    }

    /// Records `store`'s POS as failing. Best effort: the order's own outcome does not wait
    /// on it (a lost record delays a pause by one failure, it loses no order).
    async fn record_failing(&self, store: &order_domain::StoreId) {
        if let Err(e) = self.health.failed(store, self.clock.now()).await {
            warn!(store_id = %store, error = %e, "the failing POS could not be recorded");
        }
    }

    /// Compensation after a failed send: voids the POS order with this id or, without one,
    /// the one the POS created under the order's idempotency key (the order id). A send can
    /// fail after the POS created the order (its answer lost, the process killed, the status
    /// write refused), so the workflow voids whenever the send was attempted; a POS that never
    /// created the order leaves nothing to void.
    pub async fn compensate(
        &self,
        order: &OrderHandle,
        pos_order_id: Option<&PosOrderId>,
    ) -> Result<Voided, PipelineError> {
        let found = match pos_order_id {
            Some(id) => Some(id.clone()),
            None => self
                .pos
                .find(&order.store_id, order.id.as_str())
                .await
                .map_err(PipelineError::pos)?,
        };
        match found {
            Some(id) => self.void(order, &id).await,
            None => {
                info!(order_id = %order.id, "no POS order to void");
                Ok(Voided { voided: false })
            }
        }
    }

    /// Voids a POS order. A POS that no longer knows the order (permanent error) is not a
    /// failure of the void: there is nothing left to undo.
    pub async fn void(
        &self,
        order: &OrderHandle,
        pos_order_id: &PosOrderId,
    ) -> Result<Voided, PipelineError> {
        match self.pos.void(&order.store_id, pos_order_id).await {
            Ok(()) => {
                self.orders
                    .mark_pos_voided(&order.id, self.clock.now())
                    .await?;
                info!(order_id = %order.id, pos_order_id = %pos_order_id, "POS order voided");
                Ok(Voided { voided: true })
            }
            Err(e) if e.is_transient() => Err(PipelineError::PosUnavailable(e)),
            Err(e) => {
                warn!(order_id = %order.id, pos_order_id = %pos_order_id, error = %e, "POS refused the void");
                Ok(Voided { voided: false })
            }
        }
    }
}
