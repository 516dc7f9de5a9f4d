//! The stores' POS gateway: orders created once per `Idempotency-Key`, voided, and read.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pipeline::ports::PosTicket;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{Sim, admin_routes, around};

/// An order in the POS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PosOrder {
    /// The POS's id.
    pub pos_order_id: String,
    /// The store.
    pub store: String,
    /// The ticket.
    pub ticket: Value,
    /// `queued` or `voided`.
    pub status: String,
}

/// The POS's orders.
#[derive(Debug, Default)]
pub struct PosBook {
    orders: Mutex<Vec<PosOrder>>,
    by_key: Mutex<HashMap<String, String>>,
}

impl PosBook {
    /// Every order, in creation order.
    pub async fn orders(&self) -> Vec<PosOrder> {
        self.orders.lock().await.clone()
    }
}

#[derive(Clone)]
struct S {
    book: Arc<PosBook>,
}

async fn create(
    State(s): State<S>,
    Path(store): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "Idempotency-Key is required" })),
        )
            .into_response();
    };
    if serde_json::from_value::<PosTicket>(body.clone()).is_err() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "the ticket is not valid" })),
        )
            .into_response();
    }
    let mut by_key = s.book.by_key.lock().await;
    if let Some(id) = by_key.get(&key) {
        return (
            StatusCode::OK,
            Json(json!({ "posOrderId": id, "status": "queued" })),
        )
            .into_response();
    }
    let mut orders = s.book.orders.lock().await;
    let id = format!("P{}-{:06}", store, orders.len() + 1);
    orders.push(PosOrder {
        pos_order_id: id.clone(),
        store,
        ticket: body,
        status: "queued".to_owned(),
    });
    by_key.insert(key, id.clone());
    (
        StatusCode::CREATED,
        Json(json!({ "posOrderId": id, "status": "queued" })),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FindQuery {
    idempotency_key: String,
}

/// The order created under an `Idempotency-Key` (the pipeline's compensation looks it up when
/// the create call's answer never arrived).
async fn find(
    State(s): State<S>,
    Path(store): Path<String>,
    axum::extract::Query(q): axum::extract::Query<FindQuery>,
) -> Response {
    let id = s.book.by_key.lock().await.get(&q.idempotency_key).cloned();
    let orders = s.book.orders.lock().await;
    match id.and_then(|id| {
        orders
            .iter()
            .find(|o| o.pos_order_id == id && o.store == store)
    }) {
        Some(o) => (
            StatusCode::OK,
            Json(json!({ "posOrderId": o.pos_order_id, "status": o.status })),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no order under that key at store {store}") })),
        )
            .into_response(),
    }
}

async fn void(State(s): State<S>, Path((store, id)): Path<(String, String)>) -> Response {
    let mut orders = s.book.orders.lock().await;
    match orders
        .iter_mut()
        .find(|o| o.pos_order_id == id && o.store == store)
    {
        Some(o) => {
            o.status = "voided".to_owned();
            (
                StatusCode::OK,
                Json(json!({ "posOrderId": id, "status": "voided" })),
            )
                .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no order {id} at store {store}") })),
        )
            .into_response(),
    }
}

async fn status(State(s): State<S>, Path((store, id)): Path<(String, String)>) -> Response {
    match s
        .book
        .orders
        .lock()
        .await
        .iter()
        .find(|o| o.pos_order_id == id && o.store == store)
    {
        Some(o) => (
            StatusCode::OK,
            Json(json!({ "posOrderId": id, "status": o.status })),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no order {id} at store {store}") })),
        )
            .into_response(),
    }
}

/// The POS gateway's router. A request it has read is carried out even if the caller hangs up
/// ([`local_aws_core::detached`]), as a real POS would make the order of a client that timed
/// out.
pub fn router(sim: Arc<Sim>, book: Arc<PosBook>) -> Router {
    let r: Router<S> = Router::new()
        .route("/pos/v1/stores/{store}/orders", post(create).get(find))
        .route("/pos/v1/stores/{store}/orders/{id}/void", post(void))
        .route("/pos/v1/stores/{store}/orders/{id}", get(status));
    let with_admin = admin_routes(Router::new()).with_state(sim.clone());
    local_aws_core::detached::run_to_completion(
        r.with_state(S { book })
            .merge(with_admin)
            .layer(axum::middleware::from_fn_with_state(sim, around)),
    )
}
