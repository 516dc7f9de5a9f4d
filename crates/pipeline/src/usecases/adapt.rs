//! Adapt: the partner payload (fetched first, for notification partners) becomes the
//! canonical order, or a typed rejection.

use std::sync::Arc;

use order_domain::{Catalog, PayloadKind, Rejection, RejectionReason};
use tracing::info;

use crate::errors::PipelineError;
use crate::io::{AdaptInput, AdaptOutput};
use crate::ports::{Clock, OrdersRepo, PartnerApi};

/// The adapt use case.
pub struct Adapt {
    /// Stores and menus.
    pub catalog: Arc<Catalog>,
    /// Partner APIs (to fetch notified orders).
    pub partners: Arc<dyn PartnerApi>,
    /// Orders table.
    pub orders: Arc<dyn OrdersRepo>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl Adapt {
    /// Adapts the received order.
    pub async fn handle(&self, input: AdaptInput) -> Result<AdaptOutput, PipelineError> {
        let data = &input.received.data;
        let fetched;
        let payload = match data.payload_kind {
            PayloadKind::Full => &data.payload,
            PayloadKind::Notification => {
                fetched = self
                    .partners
                    .fetch_order(data.partner, &data.partner_order_id)
                    .await
                    .map_err(PipelineError::partner)?;
                &fetched
            }
        };
        let order = partners::adapt(data.partner, payload, &self.catalog)
            .map_err(PipelineError::Rejected)?;
        if order.partner_order_id != data.partner_order_id {
            return Err(PipelineError::Rejected(Rejection::new(
                RejectionReason::InvalidField,
                format!(
                    "the order's id {} differs from the webhook's {}",
                    order.partner_order_id, data.partner_order_id
                ),
            )));
        }
        if !self.orders.attach_order(&order, self.clock.now()).await? {
            return Err(PipelineError::InvalidInput(format!(
                "no record for order {}: dedup must claim it first",
                order.id
            )));
        }
        info!(order_id = %order.id, store_id = %order.store_id, lines = order.items.len(), "order adapted");
        Ok(AdaptOutput { order })
    }
}
