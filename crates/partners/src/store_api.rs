//! What each partner's API expects for a store's status (taking orders or paused) and for an
//! item's (on sale or sold out). Pure descriptions, as [`crate::api`] is for orders: the HTTP
//! client sends them, the simulators parse them. Which parts are confirmed by the partner's
//! pages and which are assumed is said per call (`docs/partners.md`,
//! `docs/partner-contracts.md` U8, D8, X2).

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use order_domain::Partner;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{ApiRequest, HttpMethod, encode_segment};

/// Whether a store takes orders, as the pipeline tells a partner's store-status API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum StoreAvailability {
    /// Taking orders.
    Online,
    /// Not taking orders: paused by an operator (with its end, if it has one) or closed.
    Paused {
        /// Why, as the operator gave it.
        reason: String,
        /// When the pause lifts by itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
    },
}

/// The request that sets `partner`'s view of store `partner_store_id` to `availability`, or
/// `None` where the partner publishes no such call.
///
/// * Uber Eats: `POST /v1/eats/store/{store_id}/status`, `status` `ONLINE` or `PAUSED` (there is
///   no offline to set) with optional `reason` and `paused_until`; 204 (developer.uber.com, Eats
///   API "Set Store Status", scope `eats.store.status.write`; confirmed). The time format of
///   `paused_until` is not shown in the stored reference: RFC 3339 is assumed.
/// * DoorDash: `PUT /api/v1/stores/{merchant_supplied_id}/status`, `is_active` with, to
///   deactivate, a `reason` from its list, `notes` and `end_time` (developer.doordash.com,
///   Marketplace "Store and item status"; confirmed). An operator's pause is
///   `store_self_disabled_in_their_POS_portal`: the store turned itself off in the merchant's
///   own system. DoorDash says not to retry a 400 (it needs a manual fix).
/// * Grubhub: no store-status call is published (the online/offline endpoints appear only in
///   third-party specs): `None`, and the store is paused on Grubhub by hand.
/// * The chain's app: `POST /api/stores/{id}/status` with `paused`, `reason`, `until`.
pub fn store_status(
    partner: Partner,
    partner_store_id: &str,
    availability: &StoreAvailability,
) -> Option<ApiRequest> {
    let id = encode_segment(partner_store_id);
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    match partner {
        Partner::UberEats => Some(ApiRequest {
            method: HttpMethod::Post,
            path: format!("/v1/eats/store/{id}/status"),
            body: Some(match availability {
                StoreAvailability::Online => json!({ "status": "ONLINE" }),
                StoreAvailability::Paused { reason, until } => {
                    let mut body = json!({ "status": "PAUSED", "reason": reason });
                    if let Some(t) = until {
                        body["paused_until"] = json!(time(t));
                    }
                    body
                }
            }),
        }),
        Partner::DoorDash => Some(ApiRequest {
            method: HttpMethod::Put,
            path: format!("/api/v1/stores/{id}/status"),
            body: Some(match availability {
                StoreAvailability::Online => json!({ "is_active": true }),
                StoreAvailability::Paused { reason, until } => {
                    let mut body = json!({
                        "is_active": false,
                        "reason": "store_self_disabled_in_their_POS_portal",
                        "notes": reason,
                    });
                    if let Some(t) = until {
                        body["end_time"] = json!(time(t));
                    }
                    body
                }
            }),
        }),
        Partner::Grubhub => None,
        Partner::ChainApp => Some(ApiRequest {
            method: HttpMethod::Post,
            path: format!("/api/stores/{id}/status"),
            body: Some(match availability {
                StoreAvailability::Online => json!({ "paused": false }),
                StoreAvailability::Paused { reason, until } => json!({
                    "paused": true,
                    "reason": reason,
                    "until": until.as_ref().map(time),
                }),
            }),
        }),
    }
}

/// Whether an item (or modifier) can be ordered at a store, as the pipeline tells a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum ItemAvailability {
    /// On sale.
    Available,
    /// Sold out ("86'd") until the store marks it back; `until` is the end a partner that
    /// needs one is told ([`ItemAvailability::sold_out`]).
    SoldOut {
        /// The end told to partners that take one (Uber Eats).
        until: DateTime<Utc>,
    },
}

/// How far ahead a sold-out item's suspension is told to end, where the partner needs an end:
/// 30 days. The catalogue's sold-out has no end (it lasts until the store marks the item
/// back, which is told at once), so the told end only bounds a mark-back that is never made;
/// an item still sold out past it is ordered again on that partner and denied as unavailable
/// (`ITEM_AVAILABILITY`), visibly. The length is this project's choice, not the partner's.
pub const SOLD_OUT_TOLD_FOR: TimeDelta = TimeDelta::days(30);

impl ItemAvailability {
    /// Sold out, told to end [`SOLD_OUT_TOLD_FOR`] after `now`.
    pub fn sold_out(now: DateTime<Utc>) -> Self {
        ItemAvailability::SoldOut {
            until: now + SOLD_OUT_TOLD_FOR,
        }
    }

    /// Whether it can be ordered.
    pub const fn is_available(self) -> bool {
        matches!(self, ItemAvailability::Available)
    }
}

/// The request that sets `partner`'s view of item `partner_item_id` (the partner's id for an
/// item or modifier of the menu) at store `partner_store_id`, or `None` where the partner
/// publishes no such call.
///
/// * Uber Eats: `POST /v2/eats/stores/{store_id}/menus/items/{item_id}`, a sparse update
///   (only the fields sent change), scope `eats.store`; it may answer 404 until a menu has been
///   uploaded once (developer.uber.com, Eats API v2 "Update Item"; path, scope, sparse update
///   and 404 confirmed). The body `suspension_info.suspension.suspend_until` (Unix seconds;
///   `0` to lift) with `reason` is assumed: the field `suspension_info` is in the published
///   Item, its inner shape was not in the stored pages.
/// * DoorDash: a JSON array of `{merchant_supplied_id, is_active}` (developer.doordash.com,
///   Marketplace "Sample item activation request"; confirmed), sent as
///   `PATCH /api/v1/stores/{merchant_supplied_id}/item_status` (the path is from third-party
///   specs only: assumed). An item deactivated this way must be reactivated this way, not by
///   a menu push (DoorDash's item activation FAQ; confirmed).
/// * Grubhub: no item availability call is published: `None`.
/// * The chain's app: `POST /api/stores/{id}/items/{item}/availability` with `available`.
pub fn item_availability(
    partner: Partner,
    partner_store_id: &str,
    partner_item_id: &str,
    availability: ItemAvailability,
) -> Option<ApiRequest> {
    let store = encode_segment(partner_store_id);
    let item = encode_segment(partner_item_id);
    match partner {
        Partner::UberEats => Some(ApiRequest {
            method: HttpMethod::Post,
            path: format!("/v2/eats/stores/{store}/menus/items/{item}"),
            body: Some(match availability {
                ItemAvailability::Available => {
                    json!({ "suspension_info": { "suspension": { "suspend_until": 0 } } })
                }
                ItemAvailability::SoldOut { until } => json!({
                    "suspension_info": { "suspension": {
                        "suspend_until": until.timestamp(),
                        "reason": "sold out",
                    } }
                }),
            }),
        }),
        Partner::DoorDash => Some(ApiRequest {
            method: HttpMethod::Patch,
            path: format!("/api/v1/stores/{store}/item_status"),
            body: Some(json!([{
                "merchant_supplied_id": partner_item_id,
                "is_active": availability.is_available(),
            }])),
        }),
        Partner::Grubhub => None,
        Partner::ChainApp => Some(ApiRequest {
            method: HttpMethod::Post,
            path: format!("/api/stores/{store}/items/{item}/availability"),
            body: Some(json!({ "available": availability.is_available() })),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_is_told_in_each_partners_own_terms_and_grubhub_has_no_call() {
        let until: DateTime<Utc> = "2026-12-02T12:30:00Z".parse().unwrap();
        let paused = StoreAvailability::Paused {
            reason: "fryer down".to_owned(),
            until: Some(until),
        };
        let ue = store_status(Partner::UberEats, "ue/1", &paused).unwrap();
        assert_eq!(
            (ue.method, ue.path.as_str()),
            (HttpMethod::Post, "/v1/eats/store/ue%2F1/status")
        );
        assert_eq!(
            ue.body.unwrap(),
            json!({ "status": "PAUSED", "reason": "fryer down", "paused_until": "2026-12-02T12:30:00Z" })
        );
        let dd = store_status(Partner::DoorDash, "S1001", &paused).unwrap();
        assert_eq!(
            (dd.method, dd.path.as_str()),
            (HttpMethod::Put, "/api/v1/stores/S1001/status")
        );
        let body = dd.body.unwrap();
        assert_eq!(
            (body["is_active"].clone(), body["end_time"].clone()),
            (json!(false), json!("2026-12-02T12:30:00Z"))
        );
        let online = store_status(Partner::DoorDash, "S1001", &StoreAvailability::Online).unwrap();
        assert_eq!(online.body.unwrap(), json!({ "is_active": true }));
        let online = store_status(Partner::UberEats, "u", &StoreAvailability::Online).unwrap();
        assert_eq!(online.body.unwrap(), json!({ "status": "ONLINE" }));
        assert!(store_status(Partner::Grubhub, "88231", &paused).is_none());
    }

    #[test]
    fn a_sold_out_item_is_told_in_each_partners_own_terms_and_grubhub_has_no_call() {
        let now: DateTime<Utc> = "2026-12-02T12:00:00Z".parse().unwrap();
        let sold_out = ItemAvailability::sold_out(now);
        let ue = item_availability(Partner::UberEats, "ue/1", "item 1", sold_out).unwrap();
        assert_eq!(
            (ue.method, ue.path.as_str()),
            (
                HttpMethod::Post,
                "/v2/eats/stores/ue%2F1/menus/items/item%201"
            )
        );
        let until = ue.body.unwrap()["suspension_info"]["suspension"]["suspend_until"].clone();
        assert_eq!(until, json!(now.timestamp() + 30 * 24 * 3600));
        let back =
            item_availability(Partner::UberEats, "u", "i", ItemAvailability::Available).unwrap();
        assert_eq!(
            back.body.unwrap()["suspension_info"]["suspension"]["suspend_until"],
            0
        );
        let dd = item_availability(Partner::DoorDash, "S1001", "MSI-100", sold_out).unwrap();
        assert_eq!(
            (dd.method, dd.path.as_str()),
            (HttpMethod::Patch, "/api/v1/stores/S1001/item_status")
        );
        assert_eq!(
            dd.body.unwrap(),
            json!([{ "merchant_supplied_id": "MSI-100", "is_active": false }])
        );
        let app = item_availability(
            Partner::ChainApp,
            "1001",
            "sku",
            ItemAvailability::Available,
        )
        .unwrap();
        assert_eq!(app.body.unwrap(), json!({ "available": true }));
        assert!(item_availability(Partner::Grubhub, "88231", "7001100", sold_out).is_none());
    }
}
