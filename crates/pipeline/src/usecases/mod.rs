//! One module per function's use case. Handlers translate Lambda events to these calls.

pub mod accept;
pub mod adapt;
pub mod dedup;
pub mod handover;
pub mod hold;
pub mod intake;
pub mod pos;
pub mod pos_watch;
pub mod release;
pub mod store_status;
pub mod sweep;
pub mod webhook_secrets;

use order_domain::{Order, OrderId};
use order_events::{BusEvent, Metadata, OutboundEvent, slug};

use crate::errors::PipelineError;

/// The idempotency key of an order's event: one per order and event type.
pub(crate) fn event_key<E: BusEvent>(order_id: &OrderId) -> String {
    format!("{order_id}/{}", slug(E::DETAIL_TYPE))
}

/// Builds an outbound event for an order.
pub(crate) fn order_event<E: BusEvent>(
    order_id: &OrderId,
    correlation_id: &str,
    at: chrono::DateTime<chrono::Utc>,
    data: E,
) -> Result<OutboundEvent, PipelineError> {
    OutboundEvent::new(
        Metadata::new(correlation_id, event_key::<E>(order_id), at),
        data,
    )
    .map_err(|e| PipelineError::InvalidInput(format!("event does not serialize: {e}")))
}

/// The whole canonical order behind `handle`, from the documents store.
pub(crate) async fn load_order(
    documents: &dyn crate::ports::Documents,
    handle: &crate::ports::OrderHandle,
) -> Result<Order, PipelineError> {
    let body = documents.get(&handle.document).await?.ok_or_else(|| {
        PipelineError::InvalidInput(format!(
            "the canonical order of {} ({}) is not in the documents table",
            handle.id, handle.document.key
        ))
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        PipelineError::InvalidInput(format!(
            "the canonical order of {} does not parse: {e}",
            handle.id
        ))
    })
}

/// The `Order Received` event as the order's record keeps it: the payload's inline bytes
/// (the partner's body, customer data) dropped; the ids, kind and reference stay, which is
/// what telling the partner no needs (the sweeper's `Deny`).
pub(crate) fn received_for_record(
    received: &crate::io::Received,
) -> Result<serde_json::Value, crate::errors::PipelineError> {
    let mut kept = received.clone();
    kept.data.payload_ref.inline = None;
    serde_json::to_value(kept)
        .map_err(|e| crate::errors::PipelineError::InvalidInput(format!("received event: {e}")))
}
