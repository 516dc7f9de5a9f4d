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
//!
//! It listens on loopback only and answers only requests addressed to a loopback host with
//! no foreign `Origin` ([`from_this_machine`]): a web page the developer has open cannot
//! drive it (a cross-site POST carries its `Origin`; a DNS-rebound name its `Host`).

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

/// `{"root": <checkout>, "binDir": <build>, "minutesScale": n}`: deploys that release over
/// this cloud ([`crate::deploy::deploy`]) and answers what it did; 400 for a release that
/// cannot be deployed over it.
async fn deploy(State(c): S, Json(body): Json<Value>) -> Response {
    let path = |k: &str| body[k].as_str().map(std::path::PathBuf::from);
    let (Some(root), Some(bin_dir)) = (path("root"), path("binDir")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "root and binDir are required" })),
        )
            .into_response();
    };
    let opts = crate::deploy::DeployOptions {
        minutes_scale: body["minutesScale"]
            .as_f64()
            .unwrap_or(c.time_scale.factor()),
        poll: std::time::Duration::from_millis(500),
    };
    match crate::deploy::deploy(&c, &crate::deploy::Release { root, bin_dir }, &opts).await {
        Ok(r) => Json(json!({
            "shifted": r.shifted,
            "rolledBack": r.rolled_back,
            "unevaluated": r.unevaluated,
            "seconds": r.seconds,
            "summary": r.to_string(),
        }))
        .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response(),
    }
}

/// Deletes the function and workflow versions nothing can call any more
/// ([`crate::deploy::prune::prune`]) and answers what it deleted and kept.
async fn prune_versions(State(c): S) -> Response {
    let p = crate::deploy::prune::prune(&c).await;
    Json(json!({
        "functions": p.functions,
        "stateMachines": p.state_machines,
        "kept": p.kept,
    }))
    .into_response()
}

async fn outage(State(c): S, Json(body): Json<Value>) -> Response {
    let n = body["deliveries"].as_u64().unwrap_or(0);
    c.bus
        .fail_next_deliveries(u32::try_from(n).unwrap_or(u32::MAX))
        .await;
    StatusCode::NO_CONTENT.into_response()
}

/// Whether `host` (a `Host` or `Origin`'s host, with or without a port) is this machine's
/// loopback: `localhost`, `127.0.0.0/8` or `[::1]`.
fn loopback_host(host: &str) -> bool {
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        }),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A request the admin API answers: addressed to a loopback `Host`, and, if it carries an
/// `Origin` (every browser's cross-site request does), a loopback one. `Err` says which.
pub fn from_this_machine(headers: &axum::http::HeaderMap) -> Result<(), &'static str> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match text("host") {
        Some(h) if loopback_host(h) => {}
        _ => return Err("the admin API answers requests to a loopback host only"),
    }
    if let Some(origin) = text("origin") {
        let host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or_default();
        if !loopback_host(host) {
            return Err("the admin API refuses requests from web pages of other origins");
        }
    }
    Ok(())
}

async fn guard(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match from_this_machine(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(why) => (StatusCode::FORBIDDEN, Json(json!({ "error": why }))).into_response(),
    }
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
        .route("/deploy", post(deploy))
        .route("/versions/prune", post(prune_versions))
        .route("/outage", post(outage))
        .fallback(|| async { not_found("no such admin route".to_owned()) })
        .layer(axum::middleware::from_fn(guard))
        .with_state(cloud)
}

/// The admin API's answer for an order, read by the CLI.
pub fn parse_order(v: Value) -> Option<crate::cloud::OrderView> {
    serde_json::from_value(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_machine_may_drive_the_admin_api() {
        for ok in [
            headers(&[("host", "127.0.0.1:3001")]),
            headers(&[("host", "localhost:3001")]),
            headers(&[("host", "[::1]:3001")]),
            headers(&[
                ("host", "127.0.0.1:3001"),
                ("origin", "http://localhost:3001"),
            ]),
        ] {
            assert_eq!(from_this_machine(&ok), Ok(()), "{ok:?}");
        }
        for bad in [
            headers(&[]),
            headers(&[("host", "evil.example:3001")]),
            headers(&[("host", "127.0.0.1.evil.example")]),
            headers(&[("host", "localhost.evil.example:3001")]),
            headers(&[
                ("host", "127.0.0.1:3001"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:3001"), ("origin", "null")]),
        ] {
            assert!(from_this_machine(&bad).is_err(), "{bad:?}");
        }
    }
}
