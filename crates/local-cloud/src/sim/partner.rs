//! A partner's API: the Uber Eats-style order fetch and accept/deny/cancel, the DoorDash-style
//! order PATCHes, the Grubhub-style status PUT and the app's POSTs.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use order_domain::Partner;
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

#[derive(Clone)]
struct S {
    book: Arc<OrderBook>,
}

async fn ok() -> Response {
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
/// side of a notification-only webhook).
pub fn router(partner: Partner, sim: Arc<Sim>, book: Arc<OrderBook>) -> Router {
    let state = S { book };
    let r: Router<S> = match partner {
        Partner::UberEats => Router::new()
            .route("/v2/eats/order/{id}", get(uber_fetch))
            .route("/v1/eats/orders/{id}/accept_pos_order", post(ok))
            .route("/v1/eats/orders/{id}/deny_pos_order", post(ok))
            .route("/v1/eats/orders/{id}/cancel", post(ok)),
        Partner::DoorDash => Router::new()
            .route("/api/v1/orders/{id}", patch(ok))
            .route("/api/v1/orders/{id}/cancellation", patch(ok)),
        Partner::Grubhub => {
            Router::new().route("/pos/v1/merchant/{restaurant}/orders/{id}/status", put(ok))
        }
        Partner::ChainApp => Router::new()
            .route("/api/orders/{id}/accept", post(ok))
            .route("/api/orders/{id}/reject", post(ok))
            .route("/api/orders/{id}/cancel", post(ok)),
    };
    let r = r.route("/_sim/orders/{id}", put(register));
    let with_admin = admin_routes(Router::new()).with_state(sim.clone());
    r.with_state(state)
        .merge(with_admin)
        .layer(axum::middleware::from_fn_with_state(sim, around))
}
