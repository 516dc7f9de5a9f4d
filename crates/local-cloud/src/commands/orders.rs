//! `local-cloud send` and `status`: a signed sample sent to a running cloud, and what became of an order.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use local_cloud::cloud::{Endpoints, OrderView};
use local_cloud::{demo, webhooks};
use order_domain::Partner;
use serde_json::Value;

use super::*;

pub(crate) fn running(root: &Path) -> Result<Endpoints, ExitCode> {
    let file = state_file(root);
    std::fs::read_to_string(&file).ok().and_then(|t| serde_json::from_str(&t).ok()).ok_or_else(|| {
        eprintln!("local-cloud: no running local cloud ({} not found); start one with `make up` or `local-cloud up`", file.display());
        ExitCode::FAILURE
    })
}

pub(crate) fn print_view(v: &OrderView) {
    println!("order       {}", v.order_id);
    println!(
        "status      {}",
        v.status.as_deref().unwrap_or("(no record)")
    );
    println!("history     {}", v.history.join(" → "));
    println!("events      {}", v.events.join(", "));
    println!(
        "POS orders  {}",
        v.pos_orders
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    for e in &v.executions {
        println!(
            "execution   {} {}{}",
            e.name,
            e.status,
            e.error
                .as_ref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default()
        );
        println!("  path      {}", demo::story(&e.path));
    }
}

pub(crate) async fn fetch_view(
    http: &reqwest::Client,
    e: &Endpoints,
    partner: Partner,
    id: &str,
) -> Option<OrderView> {
    let url = format!(
        "{}/orders/{}/{}",
        e.admin,
        partner.as_str(),
        partners::api::encode_segment(id)
    );
    let v: Value = http.get(url).send().await.ok()?.json().await.ok()?;
    local_cloud::admin::parse_order(v)
}

pub(crate) async fn send(
    root: &Path,
    file: &Path,
    partner: Option<Partner>,
    verbatim: bool,
    wait: bool,
) -> ExitCode {
    let e = match running(root) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let Some(partner) = partner.or_else(|| webhooks::partner_of(file)) else {
        eprintln!(
            "local-cloud: cannot tell the partner from {}; pass --partner",
            file.display()
        );
        return ExitCode::FAILURE;
    };
    let mut p = match webhooks::Payload::load(partner, file) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("local-cloud: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut id = p.partner_order_id().ok().map(|i| i.as_str().to_owned());
    if !verbatim {
        p = p.rebase(chrono::Utc::now());
        if let Some(old) = id.clone() {
            let new = format!("{old}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
            p = p.rename(&old, &new);
            id = Some(new);
        }
    }
    let secrets: std::collections::BTreeMap<String, String> =
        std::fs::read_to_string(root.join("events/dev-secrets/webhooks.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
    let body = p.body();
    let headers = webhooks::sign(
        partner,
        &body,
        secrets.get(partner.as_str()).map_or("", String::as_str),
    );
    let http = local_cloud::loopback_client();
    let mut req = http
        .post(format!("{}/webhooks/{}", e.api, partner.as_str()))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let (status, answer) = match req.send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(err) => {
            eprintln!("local-cloud: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("HTTP {status} {answer}");
    if let Some(id) = &id {
        println!("order id {partner}.{id}");
    }
    let taken = status == partners::acknowledgement(partner).status;
    if let (true, Some(id)) = (wait && taken, id) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Some(v) = fetch_view(&http, &e, partner, &id)
                .await
                .filter(|v| v.settled())
            {
                print_view(&v);
                return ExitCode::SUCCESS;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "local-cloud: the order had not settled after 120 s; see `local-cloud status {partner}.{id}`"
        );
        return ExitCode::FAILURE;
    }
    if (200..300).contains(&status) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub(crate) async fn status(root: &Path, partner: Partner, id: &str) -> ExitCode {
    let e = match running(root) {
        Ok(e) => e,
        Err(c) => return c,
    };
    match fetch_view(&local_cloud::loopback_client(), &e, partner, id).await {
        Some(v) => {
            print_view(&v);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("local-cloud: the admin API at {} did not answer", e.admin);
            ExitCode::FAILURE
        }
    }
}
