//! Classifies an authenticated webhook: a new order (whole or a notification), a cancellation,
//! a courier's location or arrival, or a menu refresh request. Only what routing and dedup need is read here; the order itself is
//! adapted later, in the workflow.

use chrono::{DateTime, Utc};
use order_domain::{GeoPoint, Partner, PartnerOrderId};
use serde_json::Value;

pub use order_domain::PayloadKind;

/// A new order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderNotice {
    /// The partner's order id.
    pub partner_order_id: PartnerOrderId,
    /// The partner's store id, when the webhook carries it.
    pub partner_store_id: Option<String>,
    /// Whole order or notification.
    pub kind: PayloadKind,
    /// When the partner says it sent the webhook, if it says so in the body.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A request to cancel an order.
#[derive(Debug, Clone, PartialEq)]
pub struct CancellationNotice {
    /// The partner's order id.
    pub partner_order_id: PartnerOrderId,
    /// The partner's store id, when given.
    pub partner_store_id: Option<String>,
    /// Why, as the partner says (free text, kept short).
    pub reason: Option<String>,
    /// When the partner says it sent the webhook, if it says so in the body.
    pub sent_at: Option<DateTime<Utc>>,
}

/// Where a courier is, relative to a store.
#[derive(Debug, Clone, PartialEq)]
pub struct CourierNotice {
    /// The order the courier is collecting, when given.
    pub partner_order_id: Option<PartnerOrderId>,
    /// The partner's id of the store the courier is heading to.
    pub partner_store_id: String,
    /// The courier's position, when given.
    pub location: Option<GeoPoint>,
    /// Seconds until the courier reaches the store, when given.
    pub eta_seconds: Option<u32>,
    /// When the partner says it sent the webhook, if it says so in the body.
    pub sent_at: Option<DateTime<Utc>>,
}

/// The partner says a courier is at, or about to reach, the store for an order (a
/// release-type webhook).
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalNotice {
    /// The order the courier collects.
    pub partner_order_id: PartnerOrderId,
    /// What the partner sent (`orders.release`, `dasher_status arriving_at_store`, …).
    pub signal: String,
    /// When the partner says it sent the webhook, if it says so in the body.
    pub sent_at: Option<DateTime<Utc>>,
}

/// The partner asks for a store's menu to be sent again (Uber Eats'
/// `store.menu_refresh_request`).
#[derive(Debug, Clone, PartialEq)]
pub struct MenuRefreshNotice {
    /// The partner's id of the store.
    pub partner_store_id: String,
    /// What identifies this request across the partner's re-sends: its event id, else its
    /// message id, else the body's SHA-256 (hex).
    pub event_id: String,
    /// When the partner says it sent the webhook, if it says so in the body.
    pub sent_at: Option<DateTime<Utc>>,
}

/// What an authenticated webhook is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Webhook {
    /// A new order.
    Order(OrderNotice),
    /// A cancellation request.
    Cancellation(CancellationNotice),
    /// A courier position update.
    CourierLocation(CourierNotice),
    /// A courier at or about to reach the store, as the partner says.
    CourierArriving(ArrivalNotice),
    /// The partner asks for a store's menu again.
    MenuRefresh(MenuRefreshNotice),
}

impl Webhook {
    /// When the partner says it sent the webhook, if the body says.
    pub fn sent_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Webhook::Order(n) => n.sent_at,
            Webhook::Cancellation(n) => n.sent_at,
            Webhook::CourierLocation(n) => n.sent_at,
            Webhook::CourierArriving(n) => n.sent_at,
            Webhook::MenuRefresh(n) => n.sent_at,
        }
    }
}

/// Why a webhook body could not be classified (answered with HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Not JSON at all.
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not of the partner's webhook shape.
    #[error("body does not match the {partner} webhook format at {path}: {message}")]
    Shape {
        /// Which partner format.
        partner: Partner,
        /// JSON path of the problem.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// A webhook type this pipeline does not handle.
    #[error("unsupported {partner} webhook type {kind:?}")]
    UnsupportedType {
        /// Which partner format.
        partner: Partner,
        /// The type the body names.
        kind: String,
    },
    /// A field has an unusable value.
    #[error("{field} is invalid: {why}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why.
        why: String,
    },
}

/// Deserializes with the JSON path of the first problem.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    partner: Partner,
    value: &Value,
) -> Result<T, WebhookError> {
    serde_path_to_error::deserialize(value).map_err(|e| WebhookError::Shape {
        partner,
        path: e.path().to_string(),
        message: crate::problem::without_values(&e.inner().to_string()),
    })
}

pub(crate) fn order_id(field: &'static str, raw: &str) -> Result<PartnerOrderId, WebhookError> {
    PartnerOrderId::parse(raw).map_err(|e| WebhookError::Invalid {
        field,
        why: e.to_string(),
    })
}

pub(crate) fn short_reason(reason: Option<String>) -> Option<String> {
    reason
        .map(|r| r.trim().chars().take(200).collect::<String>())
        .filter(|r| !r.is_empty())
}

/// How a partner expects a webhook it sent to be answered once it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The HTTP status.
    pub status: u16,
    /// Whether the body is empty (otherwise a small JSON receipt).
    pub empty_body: bool,
    /// Whether a webhook of a type the pipeline does not use is acknowledged (and ignored)
    /// rather than refused: for a partner that sends every event type to the one URL, a
    /// refusal would only make it send the event again.
    pub ignores_other_types: bool,
}

/// The acknowledgement `partner` expects.
///
/// * Uber Eats: HTTP 200 with an empty body; every event type arrives at the one primary
///   webhook URL, and one not answered with a 200 is sent again, up to 7 times with
///   exponential backoff (developer.uber.com, Eats API: Webhooks guide, and the "Webhook
///   Event Structure" of each webhook reference). Confirmed.
/// * DoorDash: 200 with a JSON receipt: "return a 200 status to indicate that the data was
///   received successfully" (developer.doordash.com, Marketplace, "Receive notices for
///   temporary store deactivations"; confirmed for that webhook, and every subscription
///   shares the endpoint). Each environment has one webhook endpoint for every subscription (orders, cancellations,
///   menu status and requests, Dasher status, order release: developer.doordash.com,
///   Marketplace, "Create a webhook subscription"), so a type or Dasher status the pipeline
///   does not act on is acknowledged and ignored. Confirmed (the one endpoint).
/// * Grubhub and the chain's app: 202 with a JSON receipt. An assumption: their public pages
///   ask for a 2xx and say no more; webhooks are subscribed per type, so a type the pipeline
///   does not handle is refused (400) and announced as `Webhook Rejected`.
pub const fn acknowledgement(partner: Partner) -> Acknowledgement {
    match partner {
        Partner::UberEats => Acknowledgement {
            status: 200,
            empty_body: true,
            ignores_other_types: true,
        },
        Partner::DoorDash => Acknowledgement {
            status: 200,
            empty_body: false,
            ignores_other_types: true,
        },
        Partner::Grubhub | Partner::ChainApp => Acknowledgement {
            status: 202,
            empty_body: false,
            ignores_other_types: false,
        },
    }
}

/// How a partner sends a webhook again when it was not acknowledged
/// ([`acknowledgement`]), as the simulators' senders do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// Sends in all, the first included.
    pub sends: u32,
    /// The wait before the first resend; each later wait doubles it.
    pub first_wait: std::time::Duration,
    /// Whether a refusal (a 4xx other than 408 and 429) is sent again too.
    pub resends_refusals: bool,
}

impl Redelivery {
    /// The wait before send number `send` (0 is the first send, which has none), or `None`
    /// once every send is spent.
    pub fn wait_before(&self, send: u32) -> Option<std::time::Duration> {
        match send {
            0 => Some(std::time::Duration::ZERO),
            n if n < self.sends => Some(self.first_wait.saturating_mul(1 << (n - 1).min(20))),
            _ => None,
        }
    }

    /// Whether an answer with `status` is sent again (if sends remain).
    pub fn resends(&self, partner: Partner, status: u16) -> bool {
        if status == acknowledgement(partner).status {
            return false;
        }
        let refusal = (400..500).contains(&status) && status != 408 && status != 429;
        !refusal || self.resends_refusals
    }
}

/// How `partner` re-sends an unacknowledged webhook.
///
/// * Uber Eats: anything but a 200 is sent again, one second after the first attempt, then
///   two, then four and so on, "until 7 total events were sent" (developer.uber.com, each
///   Eats webhook reference; docs/partner-contracts.md U1). Confirmed.
/// * DoorDash, Grubhub and the app publish no schedule (D7b): the same doubling from one
///   second, seven sends, and a refusal is not sent again. An assumption, so the local runs
///   exercise redelivery for every partner.
pub const fn redelivery(partner: Partner) -> Redelivery {
    Redelivery {
        sends: 7,
        first_wait: std::time::Duration::from_secs(1),
        resends_refusals: matches!(partner, Partner::UberEats),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn uber_sends_seven_times_doubling_from_a_second_and_resends_whatever_is_not_a_200() {
        let r = redelivery(Partner::UberEats);
        let waits: Vec<u64> = (0..8)
            .map_while(|n| r.wait_before(n))
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 32]);
        assert!(!r.resends(Partner::UberEats, 200));
        for status in [202, 400, 401, 429, 500, 503] {
            assert!(r.resends(Partner::UberEats, status), "{status}");
        }
        // The others (assumed): a refusal stays refused; their 2xx acknowledgement ends it.
        let d = redelivery(Partner::DoorDash);
        assert!(!d.resends(Partner::DoorDash, 200));
        assert!(!d.resends(Partner::DoorDash, 401));
        assert!(d.resends(Partner::DoorDash, 429));
        assert!(d.resends(Partner::DoorDash, 503));
        assert_eq!(d.wait_before(1), Some(Duration::from_secs(1)));
    }
}
