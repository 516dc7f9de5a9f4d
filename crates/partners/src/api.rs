//! What each partner's API expects for fetching an order and for accepting, denying and
//! cancelling one. Pure descriptions: the HTTP client sends them, the simulators parse them.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use order_domain::{OrderId, Partner, PartnerOrderId, Rejection, RejectionReason};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// HTTP methods the partner APIs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
}

impl HttpMethod {
    /// The method name.
    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call to a partner API, relative to the partner's base URL.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// Method.
    pub method: HttpMethod,
    /// Path, percent-encoded, starting with `/`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Value>,
}

/// What identifies an order to its partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRef {
    /// The partner.
    pub partner: Partner,
    /// The partner's order id.
    pub partner_order_id: PartnerOrderId,
    /// The partner's store id, when known (Grubhub-style paths need it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_store_id: Option<String>,
}

impl OrderRef {
    /// The pipeline's id for this order.
    pub fn order_id(&self) -> OrderId {
        OrderId::for_partner_order(self.partner, &self.partner_order_id)
    }
}

/// Why an accepted order is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelReason {
    /// The partner or customer asked; this acknowledges it.
    PartnerRequested,
    /// The store cannot make it (POS refused or unreachable).
    StoreUnavailable,
    /// Something in the pipeline failed.
    Internal,
}

/// What to tell the partner.
#[derive(Debug, Clone, PartialEq)]
pub enum PartnerAction {
    /// The store accepts the order, to be ready at `ready_at` (DoorDash's `prep_time`, a UTC
    /// timestamp), `wait_minutes` from now (Grubhub's `wait_time_in_minutes`).
    Accept {
        /// When the kitchen will have it ready ([`order_domain::ready_by`]).
        ready_at: DateTime<Utc>,
        /// Whole minutes from now to `ready_at`, rounded up.
        wait_minutes: u32,
    },
    /// The store refuses it.
    Deny(Rejection),
    /// The order could not be processed (a failure, not a business refusal).
    DenyFailure {
        /// Detail for the partner's support staff.
        detail: String,
    },
    /// An accepted order will not be made.
    Cancel {
        /// Why.
        reason: CancelReason,
        /// Detail for the partner's support staff.
        detail: String,
    },
}

impl PartnerAction {
    /// An accept for an order ready at `ready_at`, told at `now`.
    pub fn accept(ready_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        let seconds = u64::try_from((ready_at - now).num_seconds()).unwrap_or(0);
        let wait_minutes = u32::try_from(seconds.div_ceil(60)).unwrap_or(u32::MAX);
        PartnerAction::Accept {
            ready_at,
            wait_minutes,
        }
    }
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass through).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request that fetches a notification partner's order, for partners that need it.
pub fn fetch_order(partner: Partner, id: &PartnerOrderId) -> Option<ApiRequest> {
    match partner {
        Partner::UberEats => Some(ApiRequest {
            method: HttpMethod::Get,
            path: format!("/v2/eats/order/{}", encode_segment(id.as_str())),
            body: None,
        }),
        _ => None,
    }
}

fn uber_deny_code(reason: RejectionReason) -> &'static str {
    match reason {
        RejectionReason::StoreClosed
        | RejectionReason::StorePaused
        | RejectionReason::UnknownStore => "STORE_CLOSED",
        RejectionReason::UnknownItem
        | RejectionReason::UnknownModifier
        | RejectionReason::ItemUnavailable => "ITEM_AVAILABILITY",
        RejectionReason::PriceMismatch | RejectionReason::UnsupportedCurrency => "PRICING",
        RejectionReason::MissingField
        | RejectionReason::InvalidField
        | RejectionReason::EmptyOrder => "MISSING_INFO",
        RejectionReason::ScheduledTooFarAhead | RejectionReason::AcceptanceWindowPassed => "OTHER",
    }
}

fn grubhub_reason(reason: RejectionReason) -> &'static str {
    match reason {
        RejectionReason::StoreClosed
        | RejectionReason::StorePaused
        | RejectionReason::UnknownStore => "RESTAURANT_CLOSED",
        RejectionReason::UnknownItem
        | RejectionReason::UnknownModifier
        | RejectionReason::ItemUnavailable => "ITEM_UNAVAILABLE",
        _ => "OTHER",
    }
}

/// DoorDash's merchant cancellation codes are `ITEM_OUT_OF_STOCK`, `STORE_CLOSED`,
/// `KITCHEN_BUSY` and `OTHER`, and two of them act on the store: `STORE_CLOSED` deactivates it
/// on DoorDash for 12 hours, `KITCHEN_BUSY` for 15 minutes (developer.doordash.com,
/// Marketplace, "Merchant order cancellation"; confirmed). The pipeline cancels an accepted
/// order when the partner asked, when the store's POS refused it or could not be reached, or
/// after an internal failure: none of these is a reason to take the store off DoorDash, whose
/// availability the runtime catalogue decides (a pause there is announced, not inferred from
/// one order). So every cancel is `OTHER`, with the detail in `cancel_details`. An item out of
/// stock is refused before acceptance (a deny), never cancelled after it.
fn doordash_cancel_code(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::PartnerRequested
        | CancelReason::StoreUnavailable
        | CancelReason::Internal => "OTHER",
    }
}

fn cancel_code(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::PartnerRequested => "CUSTOMER_CALLED_TO_CANCEL",
        CancelReason::StoreUnavailable => "RESTAURANT_TOO_BUSY",
        CancelReason::Internal => "OTHER",
    }
}

/// Whether `status`, answered to `action` by `partner`, means the action's end is already
/// reached rather than that the call failed.
///
/// Uber Eats answers a cancel with 404 "if the order is already in a terminal state, or the
/// order never existed" (developer.uber.com, Eats API: POST /v1/eats/orders/{order_id}/cancel;
/// confirmed): the order will not be made either way, so the pipeline's cancel has nothing
/// left to do. No other partner documents such an answer; their 404s stay failures.
pub fn already_done(partner: Partner, action: &PartnerAction, status: u16) -> bool {
    matches!(
        (partner, action, status),
        (Partner::UberEats, PartnerAction::Cancel { .. }, 404)
    )
}

/// The request that tells the partner about `action` on `order`.
pub fn action(order: &OrderRef, order_id: &OrderId, action: &PartnerAction) -> ApiRequest {
    let id = encode_segment(order.partner_order_id.as_str());
    match order.partner {
        Partner::UberEats => match action {
            PartnerAction::Accept { .. } => ApiRequest {
                method: HttpMethod::Post,
                path: format!("/v1/eats/orders/{id}/accept_pos_order"),
                body: Some(
                    json!({ "reason": "accepted", "external_reference_id": order_id.as_str() }),
                ),
            },
            PartnerAction::Deny(r) => ApiRequest {
                method: HttpMethod::Post,
                path: format!("/v1/eats/orders/{id}/deny_pos_order"),
                body: Some(
                    json!({ "reason": { "code": uber_deny_code(r.reason), "explanation": r.detail } }),
                ),
            },
            PartnerAction::DenyFailure { detail } => ApiRequest {
                method: HttpMethod::Post,
                path: format!("/v1/eats/orders/{id}/deny_pos_order"),
                body: Some(json!({ "reason": { "code": "OTHER", "explanation": detail } })),
            },
            PartnerAction::Cancel { reason, detail } => ApiRequest {
                method: HttpMethod::Post,
                path: format!("/v1/eats/orders/{id}/cancel"),
                body: Some(json!({ "reason": cancel_code(*reason), "details": detail })),
            },
        },
        Partner::DoorDash => match action {
            // The confirmation (developer.doordash.com, Marketplace, sample order
            // confirmation): our order id, and when it will be ready (`prep_time`, UTC).
            PartnerAction::Accept { ready_at, .. } => ApiRequest {
                method: HttpMethod::Patch,
                path: format!("/api/v1/orders/{id}"),
                body: Some(json!({
                    "merchant_supplied_id": order_id.as_str(),
                    "order_status": "success",
                    "prep_time": ready_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                })),
            },
            PartnerAction::Deny(r) => ApiRequest {
                method: HttpMethod::Patch,
                path: format!("/api/v1/orders/{id}"),
                body: Some(json!({ "order_status": "fail", "failure_reason": r.to_string() })),
            },
            PartnerAction::DenyFailure { detail } => ApiRequest {
                method: HttpMethod::Patch,
                path: format!("/api/v1/orders/{id}"),
                body: Some(json!({ "order_status": "fail", "failure_reason": detail })),
            },
            PartnerAction::Cancel { reason, detail } => ApiRequest {
                method: HttpMethod::Patch,
                path: format!("/api/v1/orders/{id}/cancellation"),
                body: Some(
                    json!({ "cancel_reason": doordash_cancel_code(*reason), "cancel_details": detail }),
                ),
            },
        },
        Partner::Grubhub => {
            let restaurant = encode_segment(order.partner_store_id.as_deref().unwrap_or("unknown"));
            let path = format!("/pos/v1/merchant/{restaurant}/orders/{id}/status");
            let body = match action {
                // Grubhub's example order: `{"status": "CONFIRMED", "wait_time_in_minutes": 20}`.
                PartnerAction::Accept { wait_minutes, .. } => {
                    json!({ "status": "CONFIRMED", "wait_time_in_minutes": wait_minutes })
                }
                PartnerAction::Deny(r) => {
                    json!({ "status": "REJECTED", "reason": grubhub_reason(r.reason), "message": r.detail })
                }
                PartnerAction::DenyFailure { detail } => {
                    json!({ "status": "REJECTED", "reason": "OTHER", "message": detail })
                }
                PartnerAction::Cancel { reason, detail } => {
                    json!({ "status": "CANCELLED", "reason": cancel_code(*reason), "message": detail })
                }
            };
            ApiRequest {
                method: HttpMethod::Put,
                path,
                body: Some(body),
            }
        }
        Partner::ChainApp => {
            let (verb, body) = match action {
                PartnerAction::Accept { ready_at, .. } => (
                    "accept",
                    json!({ "orderId": order_id.as_str(), "readyAt": ready_at.to_rfc3339_opts(SecondsFormat::Secs, true) }),
                ),
                PartnerAction::Deny(r) => (
                    "reject",
                    json!({ "reason": r.reason.code(), "detail": r.detail }),
                ),
                PartnerAction::DenyFailure { detail } => (
                    "reject",
                    json!({ "reason": "InternalError", "detail": detail }),
                ),
                PartnerAction::Cancel { reason, detail } => (
                    "cancel",
                    json!({ "reason": cancel_code(*reason), "detail": detail }),
                ),
            };
            ApiRequest {
                method: HttpMethod::Post,
                path: format!("/api/orders/{id}/{verb}"),
                body: Some(body),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(partner: Partner) -> OrderRef {
        OrderRef {
            partner,
            partner_order_id: PartnerOrderId::parse("o:1").unwrap(),
            partner_store_id: Some("GH 88231".to_owned()),
        }
    }

    #[test]
    fn only_notification_partners_fetch_orders() {
        let id = PartnerOrderId::parse("abc").unwrap();
        assert_eq!(
            fetch_order(Partner::UberEats, &id).unwrap().path,
            "/v2/eats/order/abc"
        );
        assert!(fetch_order(Partner::DoorDash, &id).is_none());
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        let order = r(Partner::Grubhub);
        let now: DateTime<Utc> = "2026-11-22T18:00:00Z".parse().unwrap();
        let ready: DateTime<Utc> = "2026-11-22T18:12:30Z".parse().unwrap();
        let accept = PartnerAction::accept(ready, now);
        let req = action(&order, &order.order_id(), &accept);
        assert_eq!(req.path, "/pos/v1/merchant/GH%2088231/orders/o%3A1/status");
        assert_eq!(req.method, HttpMethod::Put);
        // 12.5 minutes away: Grubhub is told 13.
        assert_eq!(req.body.as_ref().unwrap()["wait_time_in_minutes"], 13);
        let dd = r(Partner::DoorDash);
        let req = action(&dd, &dd.order_id(), &accept);
        assert_eq!(req.method, HttpMethod::Patch);
        assert_eq!(req.body.unwrap()["prep_time"], "2026-11-22T18:12:30Z");
    }

    #[test]
    fn a_doordash_cancel_never_takes_the_store_offline() {
        // STORE_CLOSED would deactivate the store for 12 hours, KITCHEN_BUSY for 15 minutes.
        let dd = r(Partner::DoorDash);
        for reason in [
            CancelReason::PartnerRequested,
            CancelReason::StoreUnavailable,
            CancelReason::Internal,
        ] {
            let cancel = PartnerAction::Cancel {
                reason,
                detail: "pos refused".to_owned(),
            };
            let req = action(&dd, &dd.order_id(), &cancel);
            assert_eq!(req.path, "/api/v1/orders/o%3A1/cancellation");
            assert_eq!(req.body.unwrap()["cancel_reason"], "OTHER", "{reason:?}");
        }
    }

    #[test]
    fn a_deny_carries_the_partners_own_reason_code() {
        let deny = PartnerAction::Deny(Rejection::new(
            RejectionReason::ItemUnavailable,
            "no chalupas",
        ));
        let order = r(Partner::UberEats);
        let req = action(&order, &order.order_id(), &deny);
        assert_eq!(req.body.unwrap()["reason"]["code"], "ITEM_AVAILABILITY");
        let order = r(Partner::ChainApp);
        let req = action(&order, &order.order_id(), &deny);
        assert_eq!(req.path, "/api/orders/o%3A1/reject");
        assert_eq!(req.body.unwrap()["reason"], "ItemUnavailable");
    }
}
