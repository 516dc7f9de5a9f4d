//! The local cloud's own API, for `local-cloud status` and `send` and for people with curl:
//!
//! * `GET /orders/{partner}/{partnerOrderId}`: the order's record, executions (with the path
//!   each took), events and POS orders;
//! * `GET /executions`, `GET /executions/{name}/history`;
//! * `GET /events`: everything put on the buses;
//! * `GET /dead-letters`: the dead-letter queues and failure destinations;
//! * `GET /stats`: per-function init times, peak RSS, invocations and restarts;
//! * `GET /endpoints`;
//! * `POST /faults/{sim}` with a [`Faults`] body (`pos`, `ubereats`, …);
//! * `POST /kill/{function}`: kills the function's processes (they restart);
//! * `POST /replay` `{"from", "to"}` (RFC 3339; default: everything archived): replays the
//!   archive to the bus's rules, as `StartReplay`;
//! * `POST /redrive`: sends the dead letters back to their targets;
//! * `POST /outage` `{"deliveries": n}`: the bus's next `n` deliveries fail.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use order_domain::Partner;
use serde_json::{Value, json};

use crate::cloud::LocalCloud;
use crate::sim::Faults;

type S = State<Arc<LocalCloud>>;

fn not_found(what: String) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": what }))).into_response()
}

async fn order(State(c): S, Path((partner, id)): Path<(String, String)>) -> Response {
    let Ok(partner) = partner.parse::<Partner>() else {
        return not_found(format!(
            "no partner {partner:?} (ubereats, doordash, grubhub, app)"
        ));
    };
    Json(c.order_view(partner, &id).await).into_response()
}

async fn executions(State(c): S) -> Response {
    let mut out = Vec::new();
    for e in c.sfn.executions().await {
        out.push(crate::sfn::api::describe(&e).await);
    }
    Json(out).into_response()
}

async fn history(State(c): S, Path(name): Path<String>) -> Response {
    for e in c.sfn.executions().await {
        if e.name == name {
            return Json(e.history().await).into_response();
        }
    }
    not_found(format!("no execution {name}"))
}

async fn events(State(c): S) -> Response {
    Json(c.bus.archive().await).into_response()
}

async fn dead_letters(State(c): S) -> Response {
    Json(c.queues.all().await).into_response()
}

async fn stats(State(c): S) -> Response {
    Json(c.lambda.stats().await).into_response()
}

async fn endpoints(State(c): S) -> Response {
    Json(c.endpoints.clone()).into_response()
}

async fn faults(State(c): S, Path(sim): Path<String>, Json(f): Json<Faults>) -> Response {
    if c.set_faults(&sim, f).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found(format!(
            "no simulator {sim:?} (pos, ubereats, doordash, grubhub, app)"
        ))
    }
}

async fn kill(State(c): S, Path(function): Path<String>) -> Response {
    let name = c
        .app
        .function_by_binary(&function)
        .map_or(function.clone(), |f| f.name.clone());
    let killed = c.lambda.kill(&name).await;
    if killed == 0 {
        return not_found(format!("no running process of {function}"));
    }
    Json(json!({ "function": name, "killed": killed })).into_response()
}

async fn replay(State(c): S, body: Option<Json<Value>>) -> Response {
    let body = body.map(|Json(v)| v).unwrap_or_default();
    let at = |k: &str, default: i64| {
        body.get(k)
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(default, |t| t.timestamp_millis())
    };
    let (from, to) = (at("from", 0), at("to", i64::MAX));
    let name = format!("local-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S"));
    let mut replayed = 0;
    for (_, bus) in c.app.archives.clone() {
        replayed += c.bus.replay(&name, &bus, from, to, &[]).await;
    }
    Json(json!({ "replayName": name, "replayed": replayed })).into_response()
}

async fn redrive(State(c): S) -> Response {
    Json(json!({ "redriven": c.redrive().await })).into_response()
}

async fn outage(State(c): S, Json(body): Json<Value>) -> Response {
    let n = body["deliveries"].as_u64().unwrap_or(0);
    c.bus
        .fail_next_deliveries(u32::try_from(n).unwrap_or(u32::MAX))
        .await;
    StatusCode::NO_CONTENT.into_response()
}

/// The admin router.
pub fn router(cloud: Arc<LocalCloud>) -> Router {
    Router::new()
        .route("/orders/{partner}/{id}", get(order))
        .route("/executions", get(executions))
        .route("/executions/{name}/history", get(history))
        .route("/events", get(events))
        .route("/dead-letters", get(dead_letters))
        .route("/stats", get(stats))
        .route("/endpoints", get(endpoints))
        .route("/faults/{sim}", post(faults))
        .route("/kill/{function}", post(kill))
        .route("/replay", post(replay))
        .route("/redrive", post(redrive))
        .route("/outage", post(outage))
        .fallback(|| async { not_found("no such admin route".to_owned()) })
        .with_state(cloud)
}

/// The admin API's answer for an order, read by the CLI.
pub fn parse_order(v: Value) -> Option<crate::cloud::OrderView> {
    serde_json::from_value(v).ok()
}
