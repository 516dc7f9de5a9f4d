//! Adapt: the partner payload (read from the documents store where intake put it, or fetched
//! from the partner for notifications) becomes the canonical order, stored as a document, or a
//! typed rejection. The workflow carries on with the order's handle, not the order.

use std::sync::Arc;

use order_domain::{Catalog, PayloadKind, Rejection, RejectionReason};
use tracing::debug;

use crate::errors::PipelineError;
use crate::io::{AdaptInput, AdaptOutput};
use crate::ports::CatalogSource;
use crate::ports::{Clock, Documents, OrderHandle, PartnerApi};

/// The adapt use case.
pub struct Adapt {
    /// Stores and menus.
    pub catalog: Arc<dyn CatalogSource>,
    /// Partner APIs (to fetch notified orders).
    pub partners: Arc<dyn PartnerApi>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The claim-check store (webhook bodies in, canonical orders out).
    pub documents: Arc<dyn Documents>,
}

impl Adapt {
    /// Adapts the received order.
    pub async fn handle(&self, input: AdaptInput) -> Result<AdaptOutput, PipelineError> {
        let data = &input.received.data;
        let body = self
            .documents
            .get(&data.payload_ref)
            .await?
            .ok_or_else(|| {
                PipelineError::InvalidInput(format!(
                    "the webhook body of {} ({}) is not in the documents table",
                    data.partner_order_id, data.payload_ref.key
                ))
            })?;
        let webhook: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            PipelineError::InvalidInput(format!("the stored webhook body does not parse: {e}"))
        })?;
        let payload = match data.payload_kind {
            PayloadKind::Full => webhook,
            PayloadKind::Notification => self
                .partners
                .fetch_order(data.partner, &data.partner_order_id)
                .await
                .map_err(PipelineError::partner)?,
        };
        // The webhook names the partner's store; an order for a store the catalogue does not
        // hold is refused by the adapter (UnknownStore) against an empty catalogue.
        let catalog = match &data.partner_store_id {
            Some(p) => self.catalog.partner_store(data.partner, p).await?,
            None => None,
        };
        let catalog = catalog.unwrap_or_else(|| Arc::new(Catalog::empty()));
        let order = partners::adapt_at(data.partner, &payload, &catalog, self.clock.now())
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
        let canonical = serde_json::to_vec(&order).map_err(|e| {
            PipelineError::InvalidInput(format!("the canonical order does not serialize: {e}"))
        })?;
        let document = self
            .documents
            .put(&format!("order/{}", order.id), &canonical)
            .await?;
        // The record gets the handle with `Accepted` (accept-order's one write), not here.
        let handle = OrderHandle::of(&order, document);
        debug!(order_id = %order.id, store_id = %order.store_id, lines = order.items.len(), bytes = canonical.len(), "order adapted");
        Ok(AdaptOutput { order: handle })
    }
}
