//! `local-cloud demo`: a mixed set of signed orders made from the samples (immediate, fetched
//! on notification, scheduled, duplicated, invalid, cancelled while held, released early by a
//! courier, forged, malformed) sent through the HTTP API, then a table of what became of each
//! and the path its execution took.

use std::path::Path;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use order_domain::Partner;
use serde_json::Value;

use crate::cloud::{LocalCloud, OrderView, eventually};
use crate::webhooks::{Payload, SampleError};

/// How a scenario's webhook is spoiled, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    /// Sent as the partner sends it.
    None,
    /// Signed with the wrong secret.
    Forged,
    /// Correctly signed, but not JSON.
    Malformed,
}

/// A webhook sent once the order is held.
#[derive(Debug, Clone, Copy)]
pub struct FollowUp {
    /// The sample (its order id is set to the scenario's).
    pub sample: &'static str,
    /// Where the order id is in it.
    pub id_pointer: &'static str,
}

/// What should become of a scenario's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// HTTP status of the webhook; `None`: taken, answered as the partner expects
    /// ([`partners::acknowledgement`]: 200 for Uber Eats and DoorDash, 202 for the others).
    pub http: Option<u16>,
    /// Status in the orders table (`None`: no order at all).
    pub status: Option<&'static str>,
    /// How many POS orders it should have (not voided).
    pub pos_orders: usize,
    /// A state its execution must pass through.
    pub through: Option<&'static str>,
    /// A state no execution may pass through.
    pub avoids: Option<&'static str>,
}

/// One demo scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Shown in the table.
    pub name: &'static str,
    /// The partner.
    pub partner: Partner,
    /// The webhook sample (`events/partners/…`).
    pub sample: &'static str,
    /// For notifications: the full order the partner's API serves.
    pub fetched: Option<&'static str>,
    /// Times to set, as (JSON pointer, minutes from now), in the webhook or the fetched order.
    pub times: &'static [(&'static str, i64)],
    /// How many times the webhook is delivered (at once).
    pub copies: usize,
    /// Sent once the order is held.
    pub follow_up: Option<FollowUp>,
    /// Spoiling.
    pub spoil: Spoil,
    /// Expected outcome.
    pub expect: Expect,
}

const fn ok(status: &'static str, pos_orders: usize, through: Option<&'static str>) -> Expect {
    Expect {
        http: None,
        status: Some(status),
        pos_orders,
        through,
        avoids: None,
    }
}

/// A scenario sending `sample` once, as the partner sends it, at the sample's own times.
fn plain(name: &'static str, partner: Partner, sample: &'static str, expect: Expect) -> Scenario {
    Scenario {
        name,
        partner,
        sample,
        fetched: None,
        times: &[],
        copies: 1,
        follow_up: None,
        spoil: Spoil::None,
        expect,
    }
}

/// The demo's scenarios.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        plain(
            "immediate",
            Partner::ChainApp,
            "events/partners/app/order.json",
            ok("SentToPos", 1, Some("Send to POS")),
        ),
        Scenario {
            fetched: Some("events/partners/ubereats/order.json"),
            times: &[("/estimated_ready_for_pickup_at", 5)],
            ..plain(
                "notification, order fetched",
                Partner::UberEats,
                "events/partners/ubereats/notification.json",
                ok("SentToPos", 1, Some("Send to POS")),
            )
        },
        Scenario {
            times: &[("/order/estimated_pickup_time", 15)],
            ..plain(
                "scheduled, released by time",
                Partner::DoorDash,
                "events/partners/doordash/order-scheduled.json",
                ok("SentToPos", 1, Some("Release by time")),
            )
        },
        Scenario {
            copies: 3,
            times: &[("/order/fulfillment_info/estimated_pickup_at", 5)],
            ..plain(
                "delivered 3 times at once",
                Partner::Grubhub,
                "events/partners/grubhub/order.json",
                ok("SentToPos", 1, Some("Duplicate")),
            )
        },
        plain(
            "invalid: unknown item",
            Partner::Grubhub,
            "events/partners/grubhub/order-unknown-item.json",
            ok("Rejected", 0, Some("Deny")),
        ),
        Scenario {
            times: &[("/order/pickupAt", 45)],
            follow_up: Some(FollowUp {
                sample: "events/partners/app/cancel.json",
                id_pointer: "/orderId",
            }),
            ..plain(
                "cancelled while held",
                Partner::ChainApp,
                "events/partners/app/order-scheduled.json",
                ok("Cancelled", 0, Some("Cancel with partner")),
            )
        },
        Scenario {
            times: &[("/order/estimated_pickup_time", 45)],
            follow_up: Some(FollowUp {
                sample: "events/partners/doordash/courier.json",
                id_pointer: "/external_order_id",
            }),
            ..plain(
                "released early by a courier",
                Partner::DoorDash,
                "events/partners/doordash/order.json",
                Expect {
                    avoids: Some("Release by time"),
                    ..ok("SentToPos", 1, Some("Hold"))
                },
            )
        },
        Scenario {
            spoil: Spoil::Forged,
            ..plain(
                "forged signature",
                Partner::Grubhub,
                "events/partners/grubhub/order.json",
                Expect {
                    http: Some(401),
                    status: None,
                    pos_orders: 0,
                    through: None,
                    avoids: None,
                },
            )
        },
        Scenario {
            spoil: Spoil::Malformed,
            ..plain(
                "malformed JSON",
                Partner::ChainApp,
                "events/partners/app/order.json",
                Expect {
                    http: Some(400),
                    status: None,
                    pos_orders: 0,
                    through: None,
                    avoids: None,
                },
            )
        },
    ]
}

/// What became of a scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The scenario.
    pub scenario: Scenario,
    /// The partner order id used.
    pub partner_order_id: String,
    /// HTTP statuses of its webhooks.
    pub http: Vec<u16>,
    /// The order, once settled.
    pub view: Option<OrderView>,
    /// Whether it matched the expectation, and if not why.
    pub verdict: Result<(), String>,
}

/// Why a scenario could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A sample.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// The HTTP API.
    #[error("sending the webhook: {0}")]
    Http(#[from] reqwest::Error),
    /// Changing the catalogue.
    #[error("changing the catalogue: {0}")]
    Catalogue(#[from] aws_adapters::catalog_admin::AdminError),
}

/// The store the demo pauses and resumes (open round the clock, so the demo passes at any
/// hour).
pub const PAUSED_STORE: &str = "S1001";

/// After the other scenarios: the catalogue changed on the running pipeline, as an operator's
/// `cargo xtask catalog pause|resume` changes it. Store [`PAUSED_STORE`] is paused and an
/// order for it refused (`StorePaused`, the partner told); resumed, the next order reaches the
/// POS. No function is rebuilt or restarted.
pub async fn pause_and_resume(
    cloud: &LocalCloud,
    root: &Path,
    run_id: &str,
    within: Duration,
) -> Result<Vec<Outcome>, DemoError> {
    use aws_adapters::catalog_admin::PauseChange;
    let store = order_domain::StoreId::parse(PAUSED_STORE)
        .unwrap_or_else(|_| unreachable!("a valid store id"));
    let order = |name, expect| {
        plain(
            name,
            Partner::ChainApp,
            "events/partners/app/order.json",
            expect,
        )
    };
    let wait = || {
        let ttl = crate::app::LOCAL_CATALOG_CACHE_TTL_SECONDS;
        tokio::time::sleep(Duration::from_millis(ttl * 1000 + 300))
    };
    let pause = PauseChange {
        reason: "demo: fryer down".to_owned(),
        until: None,
    };
    crate::catalogue::set_store_pause(cloud, &store, Some(pause)).await?;
    wait().await;
    let refused = run(
        cloud,
        root,
        &order("store paused (catalogue)", ok("Rejected", 0, Some("Deny"))),
        &format!("{run_id}p"),
        within,
    )
    .await;
    crate::catalogue::set_store_pause(cloud, &store, None).await?;
    wait().await;
    let sent = run(
        cloud,
        root,
        &order(
            "store resumed (catalogue)",
            ok("SentToPos", 1, Some("Send to POS")),
        ),
        &format!("{run_id}r"),
        within,
    )
    .await?;
    Ok(vec![refused?, sent])
}

/// A sample rebased to now, with the scenario's times set where the payload has them.
fn load(
    root: &Path,
    partner: Partner,
    sample: &str,
    times: &[(&str, i64)],
) -> Result<Payload, DemoError> {
    let now = Utc::now();
    let mut p = Payload::load(partner, &root.join(sample))?.rebase(now);
    for (pointer, minutes) in times {
        if p.json.pointer(pointer).is_some() {
            p = p.at(pointer, now + TimeDelta::minutes(*minutes))?;
        }
    }
    Ok(p)
}

/// Sends one scenario's webhooks (and its follow-up once the order is held) and waits until
/// its order has settled. `run` suffixes the sample's partner order id: give every scenario
/// its own.
pub async fn run(
    cloud: &LocalCloud,
    root: &Path,
    s: &Scenario,
    run: &str,
    within: Duration,
) -> Result<Outcome, DemoError> {
    let p = load(root, s.partner, s.sample, s.times)?;
    let sample_id = p.partner_order_id()?;
    let partner_order_id = format!("{}-{run}", sample_id.as_str());
    let p = p.rename(sample_id.as_str(), &partner_order_id);
    if let Some(fetched) = s.fetched {
        let order =
            load(root, s.partner, fetched, s.times)?.rename(sample_id.as_str(), &partner_order_id);
        if let Some(sim) = cloud.partners.get(&s.partner) {
            sim.book.add(&partner_order_id, order.json).await;
        }
    }
    let body = match s.spoil {
        Spoil::Malformed => {
            let mut b = p.body();
            b.truncate(b.len() / 2);
            b
        }
        _ => p.body(),
    };
    let sends = (0..s.copies.max(1)).map(|_| {
        let body = body.clone();
        async move {
            match s.spoil {
                Spoil::Forged => {
                    let headers =
                        crate::webhooks::sign(s.partner, &body, "not-the-partners-secret");
                    cloud.post_webhook(s.partner, body, &headers).await
                }
                _ => cloud.send_signed(s.partner, body).await,
            }
        }
    });
    let mut http = Vec::new();
    for r in futures::future::join_all(sends).await {
        http.push(r?.0);
    }
    if s.expect.status.is_none() {
        // Refused at the door: give a wrongly started execution time to show itself.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let view = cloud.order_view(s.partner, &partner_order_id).await;
        let verdict = check(s, &http, &view);
        return Ok(Outcome {
            scenario: s.clone(),
            partner_order_id,
            http,
            view: Some(view),
            verdict,
        });
    }
    if let Some(f) = s.follow_up {
        let held = eventually(within, "the order to be held", || async {
            let v = cloud.order_view(s.partner, &partner_order_id).await;
            (v.status.as_deref() == Some("Held") || v.settled()).then_some(())
        })
        .await;
        if held.is_ok() {
            let follow = load(root, s.partner, f.sample, &[])?;
            let follow = follow.set(f.id_pointer, Value::String(partner_order_id.clone()))?;
            cloud.send_signed(s.partner, follow.body()).await?;
        }
    }
    let view = eventually(within, "the order to settle", || async {
        let v = cloud.order_view(s.partner, &partner_order_id).await;
        let terminal = matches!(
            v.status.as_deref(),
            Some("SentToPos" | "Rejected" | "Cancelled" | "Failed")
        );
        (v.settled() && terminal && v.executions.len() >= s.copies.max(1)).then_some(v)
    })
    .await;
    let view = match view {
        Ok(v) => v,
        Err(_) => cloud.order_view(s.partner, &partner_order_id).await,
    };
    let verdict = check(s, &http, &view);
    Ok(Outcome {
        scenario: s.clone(),
        partner_order_id,
        http,
        view: Some(view),
        verdict,
    })
}

fn check(s: &Scenario, http: &[u16], v: &OrderView) -> Result<(), String> {
    let expected = s
        .expect
        .http
        .unwrap_or(partners::acknowledgement(s.partner).status);
    if let Some(bad) = http.iter().find(|h| **h != expected) {
        return Err(format!("HTTP {bad}, expected {expected}"));
    }
    if v.status.as_deref() != s.expect.status {
        return Err(format!(
            "status {:?}, expected {:?}",
            v.status, s.expect.status
        ));
    }
    if s.expect.status.is_none() && !v.executions.is_empty() {
        return Err(format!(
            "{} executions started for a refused webhook",
            v.executions.len()
        ));
    }
    let live = v
        .pos_orders
        .iter()
        .filter(|o| o["status"] != "voided")
        .count();
    if live != s.expect.pos_orders {
        return Err(format!(
            "{live} POS orders, expected {}",
            s.expect.pos_orders
        ));
    }
    if let Some(state) = s.expect.through
        && !v
            .executions
            .iter()
            .any(|e| e.path.iter().any(|p| p == state))
    {
        return Err(format!("no execution passed through {state:?}"));
    }
    if let Some(state) = s.expect.avoids
        && v.executions
            .iter()
            .any(|e| e.path.iter().any(|p| p == state))
    {
        return Err(format!("an execution passed through {state:?}"));
    }
    if s.expect.status.is_some()
        && v.events
            .iter()
            .all(|e| !OUTCOME_EVENTS.contains(&e.as_str()))
    {
        return Err("no outcome event was published".to_owned());
    }
    Ok(())
}

/// The events that end an order.
pub const OUTCOME_EVENTS: [&str; 4] = [
    "Order Sent To POS",
    "Order Rejected",
    "Order Cancelled",
    "Order Failed",
];

/// Compacts a path for the table: the states that tell the story. A handover from the
/// Express to the Standard workflow shows as `⇒ Standard:`, the hand-back of a released order
/// as `⇒ Express:`.
pub fn story(path: &[String]) -> String {
    const QUIET: [&str; 8] = [
        "Start",
        "Receive",
        "Seen before?",
        "Hold?",
        "Outcome?",
        "Handed over",
        "Released?",
        "Timed out?",
    ];
    path.iter()
        .filter(|s| !QUIET.contains(&s.as_str()) && !s.starts_with("Hand over: "))
        .map(|s| match s.as_str() {
            "Hand over" => "⇒ Standard:".to_owned(),
            "Hand back" => "⇒ Express:".to_owned(),
            _ => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(" → ")
        .replace(" → ⇒ Standard: →", " ⇒ Standard:")
        .replace(" → ⇒ Express: →", " ⇒ Express:")
}

/// The outcome table.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut rows = vec![[
        "".to_owned(),
        "scenario".to_owned(),
        "partner".to_owned(),
        "HTTP".to_owned(),
        "outcome".to_owned(),
        "POS".to_owned(),
        "path".to_owned(),
    ]];
    for o in outcomes {
        let v = o.view.as_ref();
        let status = v
            .and_then(|v| v.status.clone())
            .unwrap_or_else(|| "refused".to_owned());
        let mut http: Vec<String> = o.http.iter().map(u16::to_string).collect();
        http.dedup();
        let paths: Vec<String> = match v {
            Some(v) if !v.executions.is_empty() => {
                let mut counted: Vec<(String, usize)> = Vec::new();
                for e in &v.executions {
                    let s = story(&e.path);
                    match counted.iter_mut().find(|(p, _)| *p == s) {
                        Some((_, n)) => *n += 1,
                        None => counted.push((s, 1)),
                    }
                }
                counted
                    .into_iter()
                    .map(|(p, n)| if n > 1 { format!("{n}× {p}") } else { p })
                    .collect()
            }
            _ => vec!["(no execution)".to_owned()],
        };
        let pos = v.map_or(0, |v| {
            v.pos_orders
                .iter()
                .filter(|o| o["status"] != "voided")
                .count()
        });
        let mark = if o.verdict.is_ok() { "ok" } else { "FAIL" };
        let copies = if o.http.len() > 1 {
            format!("{}×", o.http.len())
        } else {
            String::new()
        };
        rows.push([
            mark.to_owned(),
            o.scenario.name.to_owned(),
            o.scenario.partner.as_str().to_owned(),
            format!("{copies}{}", http.join("/")),
            status,
            pos.to_string(),
            paths.join(" | "),
        ]);
        if let Err(why) = &o.verdict {
            rows.push([
                "".to_owned(),
                format!("  ↳ {why}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        for (i, w) in widths.iter().enumerate() {
            out.push_str(&r[i]);
            out.push_str(&" ".repeat(w - r[i].chars().count() + 2));
        }
        out.push_str(&r[6]);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_sample_exists_and_names_its_order() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for s in scenarios() {
            let p = Payload::load(s.partner, &root.join(s.sample)).unwrap();
            p.partner_order_id().unwrap();
            for (pointer, _) in s.times {
                let in_webhook = p.json.pointer(pointer).is_some();
                let in_fetched = s.fetched.is_some_and(|f| {
                    Payload::load(s.partner, &root.join(f))
                        .unwrap()
                        .json
                        .pointer(pointer)
                        .is_some()
                });
                assert!(
                    in_webhook || in_fetched,
                    "{}: {pointer} is in neither payload",
                    s.name
                );
            }
            if let Some(f) = s.follow_up {
                assert!(
                    Payload::load(s.partner, &root.join(f.sample))
                        .unwrap()
                        .json
                        .pointer(f.id_pointer)
                        .is_some(),
                    "{}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn stories_leave_out_the_plumbing() {
        let path: Vec<String> = [
            "Start",
            "Dedup",
            "Seen before?",
            "Adapt",
            "Hold?",
            "Send to POS",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(story(&path), "Dedup → Adapt → Send to POS");
        let handed: Vec<String> = [
            "Start",
            "Dedup",
            "Accept",
            "Hold?",
            "Hand over: Hold",
            "Hand over",
            "Handed over",
            "Start",
            "Hold",
            "Hand back",
            "Released?",
            "Release by time",
            "Send to POS",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            story(&handed),
            "Dedup → Accept ⇒ Standard: Hold ⇒ Express: Release by time → Send to POS"
        );
    }
}
