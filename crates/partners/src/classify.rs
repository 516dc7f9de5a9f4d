//! An authenticated webhook's body, classified by its partner's rules (each partner's
//! `classify`) into a [`Webhook`].

use order_domain::Partner;
use serde_json::Value;

use crate::webhook::{Webhook, WebhookError};
use crate::{app, doordash, grubhub, ubereats};

/// Parses the body of an authenticated webhook.
pub fn parse_webhook(partner: Partner, body: &[u8]) -> Result<(Webhook, Value), WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let webhook = match partner {
        Partner::UberEats => ubereats::classify(&value)?,
        Partner::DoorDash => doordash::classify(&value)?,
        Partner::Grubhub => grubhub::classify(&value)?,
        Partner::ChainApp => app::classify(&value)?,
    };
    Ok((webhook, value))
}
