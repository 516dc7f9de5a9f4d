//! The verdict of a chaos run, from records the pipeline does not write about itself: the POS
//! simulator's orders, each partner simulator's ledger of what it was told, the orders table
//! and its status history (written by the functions, but read here as the store's record and
//! checked against the simulators' records and a lifecycle of the verdict's own, not as the
//! functions' report), every execution's history, the dead letters, and the injectors' own
//! logs of what they did ([`justify`]). Each invariant is checked for every order; the run as
//! a whole is checked against its plan ([`floors`]).

pub mod floors;
pub mod justify;
pub mod pauses;
pub mod work;

use std::collections::HashMap;

use order_domain::{OrderStatus, Partner};
use serde::Serialize;
use serde_json::Value;

use super::plan::Scenario;
use crate::sim::partner::{Statement, StoreStatement, Told};

/// The statuses an order may end in.
pub const ENDINGS: [OrderStatus; 4] = [
    OrderStatus::SentToPos,
    OrderStatus::Rejected,
    OrderStatus::Cancelled,
    OrderStatus::Failed,
];

/// The lifecycle as the verdict knows it, written out here rather than read from the
/// pipeline's own table (`OrderStatus::can_transition_to`): every step an order's status
/// history may take. A test pins the domain's table to this one.
pub const LIFECYCLE: [(&str, &str); 16] = [
    ("Received", "Accepted"),
    ("Received", "Rejected"),
    ("Received", "Cancelled"),
    ("Received", "Failed"),
    ("Accepted", "Held"),
    ("Accepted", "SentToPos"),
    ("Accepted", "Cancelled"),
    ("Accepted", "Failed"),
    ("Held", "Released"),
    ("Held", "Cancelled"),
    ("Held", "Failed"),
    ("Released", "SentToPos"),
    ("Released", "Cancelled"),
    ("Released", "Failed"),
    ("SentToPos", "Cancelled"),
    ("SentToPos", "Failed"),
];

/// Real seconds a hold may overrun its (scaled) release time: the workflow's own latency
/// under load and faults, not a planned wait.
pub const HOLD_SLACK_SECONDS: f64 = 30.0;

/// What the run itself knows of an order: what it sent and when (epoch seconds).
#[derive(Debug, Clone)]
pub struct OrderFacts {
    /// `<partner>.<partner order id>`.
    pub order_id: String,
    /// The partner.
    pub partner: Partner,
    /// The partner's id.
    pub partner_order_id: String,
    /// The chain's store the order is for, as the run sent it.
    pub store_id: String,
    /// What kind of order.
    pub scenario: Scenario,
    /// When its first webhook was sent.
    pub first_sent: f64,
    /// When the run saw it end (status and executions), if it did.
    pub ended: Option<f64>,
    /// When its courier event was sent, if one was.
    pub courier_sent: Option<f64>,
    /// When, from what was sent, the kitchen should start on it (epoch seconds, unscaled):
    /// set for an order that should be held.
    pub release_at: Option<f64>,
    /// Seconds it may take, first webhook to end: its hold (scaled) plus the retry budget.
    pub bound_seconds: f64,
    /// Stranded on purpose (its Express execution timed out after dedup): the sweeper must
    /// end it, and only it.
    pub stranded: bool,
}

/// Whether an execution is one the sweeper started (`pipeline::usecases::sweep::execution_name`,
/// its prefix written here).
pub fn is_sweep(execution_name: &str) -> bool {
    execution_name.starts_with("sweep-")
}

/// How one execution's Hold task went, from its history.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldFacts {
    /// The task's timeout, workflow seconds.
    pub timeout_seconds: f64,
    /// When the task was scheduled (epoch seconds).
    pub scheduled: f64,
    /// When it ended, and how (`TaskTimedOut`, `TaskSucceeded`, `TaskFailed`).
    pub ended: Option<(f64, String)>,
}

/// One execution, from its history.
#[derive(Debug, Clone)]
pub struct ExecutionFacts {
    /// Its name.
    pub name: String,
    /// The partner order id its `Order Received` event names.
    pub partner_order_id: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, …
    pub status: String,
    /// States entered, in order.
    pub path: Vec<String>,
    /// Its Hold task, if it entered one.
    pub hold: Option<HoldFacts>,
}

/// Everything reconciled.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// What the run sent.
    pub orders: Vec<OrderFacts>,
    /// The orders table, by `orderId`, as plain JSON.
    pub table: HashMap<String, Value>,
    /// The POS simulator's orders: (the ticket's external id, voided).
    pub pos: Vec<(String, bool)>,
    /// Each partner simulator's ledger.
    pub partners: Vec<(Partner, Statement)>,
    /// Every execution.
    pub executions: Vec<ExecutionFacts>,
    /// Every dead letter and failure-destination record, with its queue.
    pub dead_letters: Vec<(String, Value)>,
    /// The workflow time scale of the run.
    pub time_scale: f64,
    /// Every fault the injectors recorded (see [`justify`]).
    pub injections: Vec<justify::Injection>,
    /// The states that claim an order and adapt it, from the workflows' definitions.
    pub work: work::WorkStates,
    /// Each partner simulator's record of the store statuses it was told, oldest first.
    pub store_statuses: Vec<(Partner, StoreStatement)>,
    /// Whether the run's POS stayed down long enough for its stores to be paused
    /// ([`pauses::check_pauses`]).
    pub pause_expected: bool,
}

/// A broken promise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The order (`-` when none can be named).
    pub order: String,
    /// The invariant's number (1 to 11, as docs/testing.md lists them).
    pub invariant: u8,
    /// What is wrong, with the records that show it.
    pub what: String,
}

fn status_of(item: &Value) -> Option<OrderStatus> {
    item["status"].as_str()?.parse().ok()
}

fn history_of(item: &Value) -> Vec<String> {
    item["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["status"].as_str().map(str::to_owned))
        .collect()
}

/// Checks every invariant for every order; an empty list is a pass.
pub fn check(r: &Records) -> Vec<Violation> {
    let causes = justify::attribute(&r.orders, &r.injections);
    let mut out = Vec::new();
    let mut v = |order: &str, invariant: u8, what: String| {
        out.push(Violation {
            order: order.to_owned(),
            invariant,
            what,
        })
    };
    for o in &r.orders {
        let id = o.order_id.as_str();
        let item = r.table.get(id);
        let status = item.and_then(status_of);
        // 4: it ended, through allowed steps, within its bound.
        match (item, status) {
            (None, _) => v(id, 4, "no record in the orders table".to_owned()),
            (Some(_), Some(s)) if ENDINGS.contains(&s) => {}
            (Some(i), s) => v(id, 4, format!("ended in {s:?} ({})", i["status"])),
        }
        if let Some(item) = item {
            let history = history_of(item);
            if history.first().map(String::as_str) != Some("Received") {
                v(
                    id,
                    4,
                    format!("history does not start at Received: {history:?}"),
                );
            }
            for pair in history.windows(2) {
                if !LIFECYCLE.contains(&(pair[0].as_str(), pair[1].as_str())) {
                    v(
                        id,
                        4,
                        format!("history steps {} -> {}: {history:?}", pair[0], pair[1]),
                    );
                }
            }
        }
        match o.ended {
            Some(t) if t - o.first_sent > o.bound_seconds => v(
                id,
                4,
                format!(
                    "took {:.1} s to end, bound {:.1} s",
                    t - o.first_sent,
                    o.bound_seconds
                ),
            ),
            None => v(
                id,
                4,
                format!(
                    "had not ended when the run stopped waiting ({:.0} s)",
                    o.bound_seconds
                ),
            ),
            _ => {}
        }

        // 1, 2: the POS.
        let live = r
            .pos
            .iter()
            .filter(|(e, voided)| e == id && !voided)
            .count();
        let made = r.pos.iter().filter(|(e, _)| e == id).count();
        match status {
            Some(OrderStatus::SentToPos) if live != 1 => v(
                id,
                1,
                format!("sent to the POS with {live} live POS orders ({made} made)"),
            ),
            Some(s) if s != OrderStatus::SentToPos && live > 0 => v(
                id,
                2,
                format!("{s} but the POS has {live} live orders for it"),
            ),
            _ => {}
        }
        if o.scenario.cancelled() && status == Some(OrderStatus::SentToPos) {
            v(
                id,
                2,
                "the partner cancelled it, yet it is live in the POS".to_owned(),
            );
        }

        // 3: the partner.
        let told: Vec<&Statement> = r
            .partners
            .iter()
            .filter(|(p, s)| *p == o.partner && s.order == o.partner_order_id)
            .map(|(_, s)| s)
            .collect();
        let count = |t: Told| told.iter().filter(|s| s.applied && s.told == t).count();
        let (accepts, denies, cancels) =
            (count(Told::Accept), count(Told::Deny), count(Told::Cancel));
        let first_cancel = told
            .iter()
            .find(|s| s.applied && s.told == Told::Cancel)
            .map(|s| s.at);
        // An accept asked for before the cancellation took effect and carried out after it
        // (a slow partner's) is refused by the partner's own rule, not contradicted by the
        // pipeline.
        let late = |s: &Statement| {
            s.told == Told::Accept && first_cancel.is_some_and(|c| s.requested_at <= c && s.at >= c)
        };
        let refused = told.iter().filter(|s| !s.applied && !late(s)).count();
        if refused > 0 {
            v(
                id,
                3,
                format!("the partner refused {refused} contradicting answers"),
            );
        }
        let heard = format!(
            "the partner heard {accepts} accepts, {denies} denials, {cancels} cancellations"
        );
        let right = match status {
            Some(OrderStatus::SentToPos) => accepts > 0 && denies == 0 && cancels == 0,
            Some(OrderStatus::Rejected) => denies > 0 && accepts == 0,
            Some(OrderStatus::Cancelled) => cancels > 0 && denies == 0,
            Some(OrderStatus::Failed) => {
                (denies > 0 && accepts == 0) || (accepts > 0 && cancels > 0)
            }
            _ => true, // not ended: reported under 4
        };
        if !right {
            v(
                id,
                3,
                format!(
                    "{}: {heard}",
                    status.map_or("no status", OrderStatus::as_str)
                ),
            );
        }
        // The order of what it heard: never an accept after a cancellation. The partner
        // refuses one (as partners keep a cancellation), so what counts is what the pipeline
        // asked: an accept whose request arrived after the cancellation took effect (an
        // accept asked for before it, and carried out late by a slow partner, is the
        // partner's to refuse).
        if let Some(cancelled) = first_cancel
            && told.iter().any(|s| {
                s.told == Told::Accept
                    && (s.requested_at > cancelled || s.applied && s.at > cancelled)
            })
        {
            v(
                id,
                3,
                "the partner was asked to accept after it was told of a cancellation".to_owned(),
            );
        }
        // What the scenario allows, whatever the table says; and any order refused while its
        // store was paused with its partners, by the partners' records.
        let allowed: &[OrderStatus] = match o.scenario {
            Scenario::Invalid => &[OrderStatus::Rejected, OrderStatus::Failed],
            s if s.cancelled() => &[OrderStatus::Cancelled, OrderStatus::Failed],
            _ => &[OrderStatus::SentToPos, OrderStatus::Failed],
        };
        if let Some(s) = status
            && ENDINGS.contains(&s)
            && !allowed.contains(&s)
            && !(s == OrderStatus::Rejected && pauses::refused_while_paused(r, o))
        {
            v(id, 3, format!("a {} order ended {s}", o.scenario.name()));
        }

        // 4: the ending the table states is one the simulators' records allow on their own.
        if let Some(s) = status
            && ENDINGS.contains(&s)
        {
            let by_sims = endings_by_simulators(live, accepts, denies, cancels);
            if !by_sims.contains(&s) {
                v(
                    id,
                    4,
                    format!(
                        "the orders table says {s}; the POS ({live} live) and the partner ({heard}) allow only {by_sims:?}"
                    ),
                );
            }
        }

        // 5: executions.
        let runs: Vec<&ExecutionFacts> = r
            .executions
            .iter()
            .filter(|e| e.partner_order_id == o.partner_order_id)
            .collect();
        if runs.is_empty() {
            v(id, 5, "no execution started".to_owned());
        }
        for e in runs.iter().filter(|e| e.status == "RUNNING") {
            v(
                id,
                5,
                format!("execution {} still running after the drain", e.name),
            );
        }
        // The sweeper ends the orders stranded on purpose, and no other: one it ended whose
        // workflow was still alive would have been told its ending twice.
        let swept = runs.iter().any(|e| is_sweep(&e.name));
        if o.stranded && !(swept && status == Some(OrderStatus::Failed)) {
            v(
                id,
                4,
                format!(
                    "stranded on purpose, but {} (status {})",
                    if swept {
                        "the sweeper's execution did not end it Failed"
                    } else {
                        "the sweeper never re-drove it"
                    },
                    status.map_or("none", OrderStatus::as_str)
                ),
            );
        }
        if !o.stranded && swept {
            v(
                id,
                5,
                "the sweeper ended it though its workflow was not lost (the grace is shorter than the workflow's own retries)".to_owned(),
            );
        }
        let working: Vec<&str> = runs
            .iter()
            .filter(|e| r.work.passed_dedup(&e.path))
            .map(|e| e.name.as_str())
            .collect();
        let reached_pos = matches!(status, Some(OrderStatus::SentToPos | OrderStatus::Rejected));
        if working.len() > 1 || (reached_pos && working.len() != 1) {
            v(
                id,
                5,
                format!(
                    "{} runs got past dedup ({working:?}); a {} order needs {}",
                    working.len(),
                    status.map_or("never ended", OrderStatus::as_str),
                    if reached_pos {
                        "exactly one"
                    } else {
                        "at most one"
                    }
                ),
            );
        }

        // 7: an order of a held scenario that went on to the POS, or that the table says
        // was held, shows a hold in its executions' histories, ended by time, by its courier
        // or by its cancellation. One that ended before its hold (rejected, cancelled or
        // failed first) shows none, and needs none.
        if o.scenario.held() {
            let holds: Vec<&HoldFacts> = runs.iter().filter_map(|e| e.hold.as_ref()).collect();
            let was_held = item.is_some_and(|i| history_of(i).iter().any(|h| h == "Held"));
            if (status == Some(OrderStatus::SentToPos) || was_held) && holds.is_empty() {
                v(
                    id,
                    7,
                    format!(
                        "a {} order {} without a hold in any execution's history",
                        o.scenario.name(),
                        if status == Some(OrderStatus::SentToPos) {
                            "reached the POS"
                        } else {
                            "was recorded Held"
                        }
                    ),
                );
            }
            if status == Some(OrderStatus::SentToPos)
                && !holds.is_empty()
                && !holds.iter().any(|h| {
                    h.ended
                        .as_ref()
                        .is_some_and(|(_, how)| how == "TaskTimedOut" || how == "TaskSucceeded")
                })
            {
                v(
                    id,
                    7,
                    "reached the POS, but no hold was released by time or by a courier".to_owned(),
                );
            }
        }

        // 8: a failure has a cause the injectors recorded.
        if status == Some(OrderStatus::Failed) && causes.get(id).is_none_or(Vec::is_empty) {
            v(
                id,
                8,
                "failed with no injected fault, kill or DynamoDB refusal on its requests or while it was in flight".to_owned(),
            );
        }

        // 7: holds, against the release time computed from what was sent (not the timeout
        // the pipeline computed): the task was scheduled just after the accept, so the hold
        // should last (release time − scheduled) / scale, never less.
        for e in &runs {
            let Some(h) = &e.hold else { continue };
            let Some(release_at) = o.release_at else {
                v(
                    id,
                    7,
                    format!(
                        "held for a {} s timeout, though what was sent asks for no hold",
                        h.timeout_seconds
                    ),
                );
                continue;
            };
            let planned = ((release_at - h.scheduled) / r.time_scale).max(0.0);
            match &h.ended {
                Some((at, how)) if how == "TaskTimedOut" => {
                    let ran = at - h.scheduled;
                    if ran < planned - 0.05 || ran > planned + HOLD_SLACK_SECONDS {
                        v(
                            id,
                            7,
                            format!(
                                "released by time after {ran:.2} s; its pickup time asks for {planned:.2} s (the pipeline set {} s at {}x)",
                                h.timeout_seconds, r.time_scale
                            ),
                        );
                    }
                }
                Some((at, how)) if how == "TaskSucceeded" => match o.courier_sent {
                    Some(c) if *at + 0.05 >= c => {
                        if at - h.scheduled > planned + HOLD_SLACK_SECONDS {
                            v(
                                id,
                                7,
                                format!(
                                    "a courier released it {:.2} s into a {planned:.2} s hold",
                                    at - h.scheduled
                                ),
                            );
                        }
                    }
                    Some(c) => v(
                        id,
                        7,
                        format!("released {:.2} s before its courier event was sent", c - at),
                    ),
                    None => v(
                        id,
                        7,
                        "released early, but no courier event was sent".to_owned(),
                    ),
                },
                _ => {}
            }
        }
    }

    // 6: every dead letter names an order that still ended.
    for (queue, letter) in &r.dead_letters {
        let text = letter.to_string();
        let mut strings = Vec::new();
        collect_strings(letter, &mut strings);
        // Exactly the id (or `<partner>.<id>`), never a prefix of another order's id.
        let named = r.orders.iter().find(|o| {
            strings
                .iter()
                .any(|s| *s == o.partner_order_id || *s == o.order_id)
        });
        match named {
            None => v(
                "-",
                6,
                format!(
                    "a dead letter in {queue} names no order of the run: {}",
                    truncate(&text)
                ),
            ),
            Some(o) => {
                let ended = r
                    .table
                    .get(&o.order_id)
                    .and_then(status_of)
                    .is_some_and(|s| ENDINGS.contains(&s));
                if !ended {
                    v(
                        &o.order_id,
                        6,
                        format!(
                            "dead letter in {queue}, and the order did not end: {}",
                            truncate(&text)
                        ),
                    );
                }
            }
        }
    }
    out.extend(floors::check_shares(r));
    out.extend(pauses::check_pauses(r));
    out
}

/// The endings the POS's and the partner's records allow on their own: a live POS order
/// with an accept is `SentToPos`; otherwise a denial is `Rejected` (or `Failed`, denied
/// after a failure before acceptance), a cancellation `Cancelled` (or `Failed`, cancelled
/// as compensation), and an order the partner heard nothing final of has no ending.
pub fn endings_by_simulators(
    live: usize,
    accepts: usize,
    denies: usize,
    cancels: usize,
) -> Vec<OrderStatus> {
    let mut out = Vec::new();
    if live == 1 && accepts > 0 && denies == 0 && cancels == 0 {
        out.push(OrderStatus::SentToPos);
    }
    if live == 0 {
        if denies > 0 && accepts == 0 {
            out.extend([OrderStatus::Rejected, OrderStatus::Failed]);
        }
        if cancels > 0 && denies == 0 {
            out.extend([OrderStatus::Cancelled, OrderStatus::Failed]);
        }
    }
    out.dedup();
    out
}

/// Every string in `v`, and the strings inside strings that hold JSON (bus details).
fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            out.push(s.clone());
            if let Ok(inner) = serde_json::from_str::<Value>(s)
                && !inner.is_string()
            {
                collect_strings(&inner, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

#[cfg(test)]
pub(super) mod tests;
