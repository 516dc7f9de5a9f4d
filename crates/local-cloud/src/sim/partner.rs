//! A partner's API: the Uber Eats-style order fetch and accept/deny/cancel, the DoorDash-style
//! order PATCHes, the Grubhub-style status PUT and the app's POSTs. Each partner keeps a
//! ledger of what it was told about each order, as a partner's own records would: the chaos
//! run reconciles against it, never against what the pipeline says it did.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use chrono::{DateTime, Utc};
use order_domain::Partner;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{Sim, admin_routes, around};

/// Orders a notification partner serves when fetched.
#[derive(Debug, Default)]
pub struct OrderBook {
    orders: Mutex<HashMap<String, Value>>,
}

impl OrderBook {
    /// Makes `order` fetchable by its id.
    pub async fn add(&self, id: &str, order: Value) {
        self.orders.lock().await.insert(id.to_owned(), order);
    }
}

/// What a partner was told about an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Told {
    /// The store accepts it.
    Accept,
    /// The store refuses it (a business denial or a failure).
    Deny,
    /// The store will not make an order it accepted, or acknowledges the partner's cancel.
    Cancel,
}

/// One thing a partner was told, as its records keep it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// The partner's order id.
    pub order: String,
    /// What.
    pub told: Told,
    /// False when the partner refused it (`409`): an accept after a denial, or the reverse, or
    /// (Uber Eats) an accept after its acceptance window.
    pub applied: bool,
    /// When the store said it would be ready, on an accept that says so (DoorDash's
    /// `prep_time`; Grubhub's `wait_time_in_minutes` from when it was told; the app's
    /// `readyAt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<DateTime<Utc>>,
    /// When it took effect.
    pub at: DateTime<Utc>,
    /// When the request that told it arrived (before it, for an answer the partner gave
    /// late).
    pub requested_at: DateTime<Utc>,
}

/// A store's status as a partner was told it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatement {
    /// The partner's store id.
    pub store: String,
    /// Taking orders.
    pub online: bool,
    /// Why not, if paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the pause ends, if told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// When it took effect.
    pub at: DateTime<Utc>,
}

/// An item's availability at a store as a partner was told it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatement {
    /// The partner's store id.
    pub store: String,
    /// The partner's item id.
    pub item: String,
    /// Can be ordered.
    pub available: bool,
    /// When a suspension ends, if told (Uber Eats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// When it took effect.
    pub at: DateTime<Utc>,
}

/// A partner's records of what it was told, in the order it took effect.
#[derive(Debug, Default)]
pub struct PartnerLedger {
    entries: Mutex<Vec<Statement>>,
    stores: Mutex<Vec<StoreStatement>>,
    items: Mutex<Vec<ItemStatement>>,
}

impl PartnerLedger {
    /// Everything, oldest first.
    pub async fn entries(&self) -> Vec<Statement> {
        self.entries.lock().await.clone()
    }

    /// Every store status told, oldest first.
    pub async fn store_statuses(&self) -> Vec<StoreStatement> {
        self.stores.lock().await.clone()
    }

    /// Every item availability told, oldest first.
    pub async fn item_statuses(&self) -> Vec<ItemStatement> {
        self.items.lock().await.clone()
    }

    async fn item_told(
        &self,
        store: &str,
        item: &str,
        available: bool,
        until: Option<DateTime<Utc>>,
    ) {
        self.items.lock().await.push(ItemStatement {
            store: store.to_owned(),
            item: item.to_owned(),
            available,
            until,
            at: Utc::now(),
        });
    }

    async fn store_told(
        &self,
        store: &str,
        online: bool,
        reason: Option<String>,
        until: Option<DateTime<Utc>>,
    ) {
        self.stores.lock().await.push(StoreStatement {
            store: store.to_owned(),
            online,
            reason,
            until,
            at: Utc::now(),
        });
    }

    /// Whether `order` has ended on the partner's side: cancelled or denied.
    async fn ended(&self, order: &str) -> bool {
        self.entries
            .lock()
            .await
            .iter()
            .any(|e| e.order == order && e.applied && matches!(e.told, Told::Cancel | Told::Deny))
    }

    /// Records `told` for `order`; a final answer that contradicts the one the partner already
    /// has is refused with `409`, as a partner keeps the first, and so is an accept of an
    /// order already cancelled: a partner does not take back a cancellation because an
    /// accept arrived late (a request a slow partner carries out after its caller gave up,
    /// as it would on the internet).
    async fn tell(&self, order: &str, told: Told) -> Response {
        self.tell_ready(order, told, None).await
    }

    /// [`PartnerLedger::tell`], with the ready time an accept gave.
    async fn tell_ready(
        &self,
        order: &str,
        told: Told,
        ready_at: Option<DateTime<Utc>>,
    ) -> Response {
        let mut entries = self.entries.lock().await;
        let first_answer = entries
            .iter()
            .find(|e| e.order == order && e.applied && e.told != Told::Cancel)
            .map(|e| e.told);
        let cancelled = entries
            .iter()
            .any(|e| e.order == order && e.applied && e.told == Told::Cancel);
        let contradicts = matches!(
            (told, first_answer),
            (Told::Accept, Some(Told::Deny)) | (Told::Deny, Some(Told::Accept))
        );
        let applied = !contradicts && (told != Told::Accept || !cancelled);
        entries.push(Statement {
            order: order.to_owned(),
            told,
            applied,
            at: Utc::now(),
            requested_at: super::requested_at(),
            ready_at,
        });
        if applied {
            (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
        } else {
            (
                StatusCode::CONFLICT,
                Json(json!({ "error": if told == Told::Accept && cancelled {
                    format!("order {order} is cancelled")
                } else {
                    format!("order {order} already has a different answer")
                } })),
            )
                .into_response()
        }
    }
}

#[derive(Clone)]
struct S {
    book: Arc<OrderBook>,
    ledger: Arc<PartnerLedger>,
    sim: Arc<Sim>,
}

/// Uber's OAuth token endpoint (`POST /oauth/v2/token`, a form body).
async fn uber_token(State(s): State<S>, body: axum::body::Bytes) -> Response {
    let (status, answer) = s.sim.auth.token(&body).await;
    (status, Json(answer)).into_response()
}

fn bad_request(why: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": why }))).into_response()
}

/// Uber Eats' accept: an order not accepted or denied within 11.5 minutes of being placed has
/// been cancelled by Uber (`Partner::acceptance_window`), so a later accept is refused (409,
/// recorded as not applied); a deny after it is taken, as it changes nothing.
async fn uber_accept(State(s): State<S>, Path(id): Path<String>) -> Response {
    let placed = s
        .book
        .orders
        .lock()
        .await
        .get(&id)
        .and_then(|o| o["placed_at"].as_str().map(str::to_owned))
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
    let window = Partner::UberEats.acceptance_window();
    if let (Some(placed), Some(window)) = (placed, window)
        && Utc::now() > placed.to_utc() + window
    {
        s.ledger.entries.lock().await.push(Statement {
            order: id.clone(),
            told: Told::Accept,
            applied: false,
            ready_at: None,
            at: Utc::now(),
            requested_at: super::requested_at(),
        });
        return (
            StatusCode::CONFLICT,
            Json(json!({
                "code": "order_expired",
                "message": format!("order {id} was not accepted within {} s of being placed and has been cancelled", window.num_seconds()),
            })),
        )
            .into_response();
    }
    s.ledger.tell(&id, Told::Accept).await
}

/// The app's accept: `readyAt`, when given, must be RFC 3339.
async fn app_accept(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    match ready_time(&body["readyAt"], "readyAt") {
        Ok(ready_at) => s.ledger.tell_ready(&id, Told::Accept, ready_at).await,
        Err(why) => bad_request(&why),
    }
}

/// An optional RFC 3339 time field, or why it is refused (a 400).
fn ready_time(v: &Value, field: &str) -> Result<Option<DateTime<Utc>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(t.to_utc()))
            .map_err(|e| format!("{field} {t:?} is not an RFC 3339 time: {e}")),
        other => Err(format!("{field} must be a string, not {other}")),
    }
}

async fn deny(State(s): State<S>, Path(id): Path<String>) -> Response {
    s.ledger.tell(&id, Told::Deny).await
}

async fn cancel(State(s): State<S>, Path(id): Path<String>) -> Response {
    s.ledger.tell(&id, Told::Cancel).await
}

/// Uber Eats' cancel: 404 when the order is already in a terminal state (cancelled or
/// denied), as its API reference says. Nothing takes effect, so the ledger (what took effect,
/// or was refused as contradicting) records nothing.
async fn uber_cancel(State(s): State<S>, Path(id): Path<String>) -> Response {
    if s.ledger.ended(&id).await {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "code": "not_found", "message": format!("order {id} is already in a terminal state") })),
        )
            .into_response();
    }
    s.ledger.tell(&id, Told::Cancel).await
}

/// DoorDash's order confirmation: `order_status` `success` (with `prep_time`, a UTC
/// timestamp, optional: DoorDash falls back on its own estimate) or `fail`.
async fn doordash_status(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    match body["order_status"].as_str() {
        Some("success") => match ready_time(&body["prep_time"], "prep_time") {
            Ok(ready_at) => s.ledger.tell_ready(&id, Told::Accept, ready_at).await,
            Err(why) => bad_request(&why),
        },
        Some("fail") => s.ledger.tell(&id, Told::Deny).await,
        _ => bad_request("order_status must be success or fail"),
    }
}

/// DoorDash's merchant cancellation codes (its "Merchant order cancellation" page).
const DOORDASH_CANCEL_REASONS: [&str; 4] =
    ["ITEM_OUT_OF_STOCK", "STORE_CLOSED", "KITCHEN_BUSY", "OTHER"];

/// DoorDash's merchant cancellation: `cancel_reason` must be one of its codes.
async fn doordash_cancel(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    match body["cancel_reason"].as_str() {
        Some(code) if DOORDASH_CANCEL_REASONS.contains(&code) => {
            s.ledger.tell(&id, Told::Cancel).await
        }
        other => bad_request(&format!(
            "cancel_reason {other:?} is not one of {}",
            DOORDASH_CANCEL_REASONS.join(", ")
        )),
    }
}

/// Grubhub's status change: `CONFIRMED` (with `wait_time_in_minutes`, optional), `REJECTED`
/// or `CANCELLED`.
async fn grubhub_status(
    State(s): State<S>,
    Path((_restaurant, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    match body["status"].as_str() {
        Some("CONFIRMED") => {
            let ready_at = match &body["wait_time_in_minutes"] {
                Value::Null => None,
                v => match v.as_u64() {
                    Some(m) => Some(Utc::now() + chrono::TimeDelta::minutes(m as i64)),
                    None => {
                        return bad_request(&format!(
                            "wait_time_in_minutes must be a whole number of minutes, not {v}"
                        ));
                    }
                },
            };
            s.ledger.tell_ready(&id, Told::Accept, ready_at).await
        }
        Some("REJECTED") => s.ledger.tell(&id, Told::Deny).await,
        Some("CANCELLED") => s.ledger.tell(&id, Told::Cancel).await,
        _ => bad_request("status must be CONFIRMED, REJECTED or CANCELLED"),
    }
}

/// Uber Eats' Set Store Status: `status` `ONLINE` or `PAUSED` (no other value can be set),
/// optional `reason` and `paused_until`; 204.
async fn uber_store_status(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let online = match body["status"].as_str() {
        Some("ONLINE") => true,
        Some("PAUSED") => false,
        other => return bad_request(&format!("status {other:?} is not ONLINE or PAUSED")),
    };
    let until = match ready_time(&body["paused_until"], "paused_until") {
        Ok(t) => t,
        Err(why) => return bad_request(&why),
    };
    let reason = body["reason"].as_str().map(str::to_owned);
    s.ledger.store_told(&id, online, reason, until).await;
    StatusCode::NO_CONTENT.into_response()
}

/// DoorDash's store deactivation reasons ("Store and item status").
const DOORDASH_STORE_REASONS: [&str; 6] = [
    "out_of_business",
    "delete_store",
    "payment_issue",
    "operational_issues",
    "store_self_disabled_in_their_POS_portal",
    "store_pos_connectivity_issues",
];

/// DoorDash's store status: `is_active`, and to deactivate a `reason` from its list, `notes`
/// and `end_time`.
async fn doordash_store_status(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(active) = body["is_active"].as_bool() else {
        return bad_request("is_active must be true or false");
    };
    if !active {
        match body["reason"].as_str() {
            Some(r) if DOORDASH_STORE_REASONS.contains(&r) => {}
            other => {
                return bad_request(&format!(
                    "reason {other:?} is not one of {}",
                    DOORDASH_STORE_REASONS.join(", ")
                ));
            }
        }
    }
    let until = match ready_time(&body["end_time"], "end_time") {
        Ok(t) => t,
        Err(why) => return bad_request(&why),
    };
    let notes = body["notes"].as_str().map(str::to_owned);
    s.ledger.store_told(&id, active, notes, until).await;
    (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
}

/// The app's store status: `paused`, `reason`, `until`.
async fn app_store_status(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(paused) = body["paused"].as_bool() else {
        return bad_request("paused must be true or false");
    };
    let until = match ready_time(&body["until"], "until") {
        Ok(t) => t,
        Err(why) => return bad_request(&why),
    };
    let reason = body["reason"].as_str().map(str::to_owned);
    s.ledger.store_told(&id, !paused, reason, until).await;
    (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
}

/// Uber Eats' Update Item (a sparse update): the simulator reads only
/// `suspension_info.suspension.suspend_until`, Unix seconds, suspended while in the future
/// (`0` lifts it); 200.
async fn uber_item(
    State(s): State<S>,
    Path((store, item)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let until = &body["suspension_info"]["suspension"]["suspend_until"];
    let Some(secs) = until.as_i64().filter(|t| *t >= 0) else {
        return bad_request(&format!(
            "suspension_info.suspension.suspend_until must be Unix seconds, not {until}"
        ));
    };
    let until = DateTime::from_timestamp(secs, 0).filter(|t| *t > Utc::now());
    s.ledger
        .item_told(&store, &item, until.is_none(), until)
        .await;
    (StatusCode::OK, Json(json!({}))).into_response()
}

/// DoorDash's item activation: a non-empty array of `{merchant_supplied_id, is_active}`,
/// answered per item; 200.
async fn doordash_items(
    State(s): State<S>,
    Path(store): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(items) = body.as_array().filter(|a| !a.is_empty()) else {
        return bad_request("the body must be a non-empty array of items");
    };
    let mut parsed = Vec::with_capacity(items.len());
    for i in items {
        match (i["merchant_supplied_id"].as_str(), i["is_active"].as_bool()) {
            (Some(id), Some(active)) => parsed.push((id.to_owned(), active)),
            _ => {
                return bad_request(&format!(
                    "each item needs merchant_supplied_id and is_active, not {i}"
                ));
            }
        }
    }
    let mut answers = Vec::with_capacity(parsed.len());
    for (id, active) in parsed {
        s.ledger.item_told(&store, &id, active, None).await;
        answers
            .push(json!({ "merchant_supplied_id": id, "is_active": active, "status": "success" }));
    }
    (StatusCode::OK, Json(Value::Array(answers))).into_response()
}

/// The app's item availability: `available`.
async fn app_item(
    State(s): State<S>,
    Path((store, item)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(available) = body["available"].as_bool() else {
        return bad_request("available must be true or false");
    };
    s.ledger.item_told(&store, &item, available, None).await;
    (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
}

async fn uber_fetch(State(s): State<S>, Path(id): Path<String>) -> Response {
    match s.book.orders.lock().await.get(&id) {
        Some(o) => (StatusCode::OK, Json(o.clone())).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "code": "not_found", "message": format!("order {id} not found") })),
        )
            .into_response(),
    }
}

async fn register(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(order): Json<Value>,
) -> Response {
    s.book.add(&id, order).await;
    StatusCode::NO_CONTENT.into_response()
}

/// The partner's API router; `PUT /_sim/orders/{id}` makes an order fetchable (the partner
/// side of a notification-only webhook). A request it has read is carried out even if the
/// caller hangs up ([`local_aws_core::detached`]), as a partner's API would.
pub fn router(
    partner: Partner,
    sim: Arc<Sim>,
    book: Arc<OrderBook>,
    ledger: Arc<PartnerLedger>,
) -> Router {
    let state = S {
        book,
        ledger,
        sim: sim.clone(),
    };
    let r: Router<S> = match partner {
        Partner::UberEats => Router::new()
            .route(partners::outbound::UBER_TOKEN_PATH, post(uber_token))
            .route("/v2/eats/order/{id}", get(uber_fetch))
            .route("/v1/eats/orders/{id}/accept_pos_order", post(uber_accept))
            .route("/v1/eats/orders/{id}/deny_pos_order", post(deny))
            .route("/v1/eats/orders/{id}/cancel", post(uber_cancel))
            .route("/v1/eats/store/{id}/status", post(uber_store_status))
            .route("/v2/eats/stores/{id}/menus/items/{item}", post(uber_item)),
        Partner::DoorDash => Router::new()
            .route("/api/v1/orders/{id}", patch(doordash_status))
            .route("/api/v1/orders/{id}/cancellation", patch(doordash_cancel))
            .route("/api/v1/stores/{id}/status", put(doordash_store_status))
            .route("/api/v1/stores/{id}/item_status", patch(doordash_items)),
        Partner::Grubhub => Router::new().route(
            "/pos/v1/merchant/{restaurant}/orders/{id}/status",
            put(grubhub_status),
        ),
        Partner::ChainApp => Router::new()
            .route("/api/orders/{id}/accept", post(app_accept))
            .route("/api/orders/{id}/reject", post(deny))
            .route("/api/orders/{id}/cancel", post(cancel))
            .route("/api/stores/{id}/status", post(app_store_status))
            .route("/api/stores/{id}/items/{item}/availability", post(app_item)),
    };
    let r = r.route("/_sim/orders/{id}", put(register));
    let with_admin = admin_routes(Router::new()).with_state(sim.clone());
    local_aws_core::detached::run_to_completion(
        r.with_state(state)
            .merge(with_admin)
            .layer(axum::middleware::from_fn_with_state(sim, around)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `partner`'s simulator on a loopback port (token `tok`): its base URL and ledger.
    async fn serve(partner: Partner) -> (String, Arc<PartnerLedger>) {
        let ledger = Arc::new(PartnerLedger::default());
        let app = router(
            partner,
            Sim::new(partner.as_str(), "tok"),
            Arc::default(),
            ledger.clone(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, ledger)
    }

    /// Uber Eats' cancel of an order it already ended answers 404 and takes no effect; a
    /// first cancel, or another partner's repeated cancel, is taken.
    #[tokio::test]
    async fn uber_answers_a_cancel_of_an_ended_order_with_404_and_records_nothing() {
        let (base, ledger) = serve(Partner::UberEats).await;
        let http = crate::loopback_client();
        // One call of the Uber Eats API, `what` an action of order `id`: its status.
        let call = |id: &str, what: &str| {
            let request = http
                .post(format!("{base}/v1/eats/orders/{id}/{what}"))
                .bearer_auth("tok")
                .json(&json!({ "reason": "OTHER" }))
                .send();
            async move { request.await.unwrap().status() }
        };
        assert_eq!(call("u-1", "cancel").await, 200);
        assert_eq!(call("u-1", "cancel").await, 404);
        // Denied first: ended too.
        assert_eq!(call("u-2", "deny_pos_order").await, 200);
        assert_eq!(call("u-2", "cancel").await, 404);
        // Accepted orders can still be cancelled.
        assert_eq!(call("u-3", "accept_pos_order").await, 200);
        assert_eq!(call("u-3", "cancel").await, 200);
        let told: Vec<(String, Told, bool)> = ledger
            .entries()
            .await
            .into_iter()
            .map(|s| (s.order, s.told, s.applied))
            .collect();
        assert_eq!(
            told,
            [
                ("u-1".to_owned(), Told::Cancel, true),
                ("u-2".to_owned(), Told::Deny, true),
                ("u-3".to_owned(), Told::Accept, true),
                ("u-3".to_owned(), Told::Cancel, true),
            ]
        );
    }

    /// Issue 25's 10,000-order run: an accept the app's API carried out late (after its caller
    /// had timed out and the order had been cancelled) was taken, so the partner had an order
    /// cancelled and then accepted. A partner keeps a cancellation: the late accept is refused
    /// (409, not applied); a deny then changes nothing either way.
    #[tokio::test]
    async fn an_accept_of_an_order_already_cancelled_is_refused() {
        let (base, ledger) = serve(Partner::ChainApp).await;
        let http = crate::loopback_client();
        let call = |id: &str, what: &str, body: Value| {
            let request = http
                .post(format!("{base}/api/orders/{id}/{what}"))
                .bearer_auth("tok")
                .json(&body)
                .send();
            async move { request.await.unwrap().status() }
        };
        assert_eq!(
            call("a-1", "cancel", json!({ "reason": "customer" })).await,
            200
        );
        assert_eq!(call("a-1", "accept", json!({})).await, 409);
        // Accepted first, then cancelled: both taken (a store may cancel what it accepted).
        assert_eq!(call("a-2", "accept", json!({})).await, 200);
        assert_eq!(
            call("a-2", "cancel", json!({ "reason": "customer" })).await,
            200
        );
        let told: Vec<(String, Told, bool)> = ledger
            .entries()
            .await
            .into_iter()
            .map(|s| (s.order, s.told, s.applied))
            .collect();
        assert_eq!(
            told,
            [
                ("a-1".to_owned(), Told::Cancel, true),
                ("a-1".to_owned(), Told::Accept, false),
                ("a-2".to_owned(), Told::Accept, true),
                ("a-2".to_owned(), Told::Cancel, true),
            ]
        );
    }

    /// Uber Eats cancels an order not accepted within 11.5 minutes of being placed: an accept
    /// after that is refused and recorded as not applied; one in time is taken.
    #[tokio::test]
    async fn uber_refuses_an_accept_after_its_acceptance_window() {
        let book = Arc::new(OrderBook::default());
        let ledger = Arc::new(PartnerLedger::default());
        let app = router(
            Partner::UberEats,
            Sim::new("ubereats", "tok"),
            book.clone(),
            ledger.clone(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let placed = |minutes: i64| json!({ "placed_at": (Utc::now() - chrono::TimeDelta::minutes(minutes)).to_rfc3339() });
        book.add("late", placed(12)).await;
        book.add("fresh", placed(11)).await;
        let http = crate::loopback_client();
        let accept = |id: &str| {
            let request = http
                .post(format!("{base}/v1/eats/orders/{id}/accept_pos_order"))
                .bearer_auth("tok")
                .json(&json!({}))
                .send();
            async move { request.await.unwrap().status() }
        };
        assert_eq!(accept("late").await, 409);
        assert_eq!(accept("fresh").await, 200);
        let told: Vec<(String, bool)> = ledger
            .entries()
            .await
            .into_iter()
            .map(|s| (s.order, s.applied))
            .collect();
        assert_eq!(
            told,
            [("late".to_owned(), false), ("fresh".to_owned(), true)]
        );
    }

    /// DoorDash's confirmation takes a UTC `prep_time` and its cancellation one of its four
    /// codes; anything else is refused (400) and leaves no record.
    #[tokio::test]
    async fn doordash_takes_its_own_prep_time_and_cancel_codes_and_refuses_others() {
        let (base, ledger) = serve(Partner::DoorDash).await;
        let http = crate::loopback_client();
        let call = |path: String, body: Value| {
            let request = http
                .patch(format!("{base}{path}"))
                .bearer_auth("tok")
                .json(&body)
                .send();
            async move { request.await.unwrap().status() }
        };
        let confirm = |id: &str, prep: Value| {
            call(
                format!("/api/v1/orders/{id}"),
                json!({ "merchant_supplied_id": format!("doordash.{id}"), "order_status": "success", "prep_time": prep }),
            )
        };
        assert_eq!(confirm("d-1", json!("2026-12-01T18:12:00Z")).await, 200);
        assert_eq!(confirm("d-2", json!("in 12 minutes")).await, 400);
        assert_eq!(confirm("d-3", json!(12)).await, 400);
        let cancel = |id: &str, code: &str| {
            call(
                format!("/api/v1/orders/{id}/cancellation"),
                json!({ "cancel_reason": code, "cancel_details": "pos refused" }),
            )
        };
        assert_eq!(cancel("d-1", "RESTAURANT_TOO_BUSY").await, 400);
        assert_eq!(cancel("d-1", "OTHER").await, 200);
        let entries = ledger.entries().await;
        let recorded: Vec<(&str, Told, Option<String>)> = entries
            .iter()
            .map(|s| (s.order.as_str(), s.told, s.ready_at.map(|t| t.to_rfc3339())))
            .collect();
        assert_eq!(
            recorded,
            [
                (
                    "d-1",
                    Told::Accept,
                    Some("2026-12-01T18:12:00+00:00".to_owned())
                ),
                ("d-1", Told::Cancel, None),
            ]
        );
    }
}
