//! The verdict's tests: each invariant shown firing on a doctored record, and passing on
//! records that went right.

use super::*;
use serde_json::json;
use std::collections::BTreeSet;

const ID: &str = "app.A-1";

fn told(t: Told, applied: bool) -> (Partner, Statement) {
    (
        Partner::ChainApp,
        Statement {
            order: "A-1".to_owned(),
            told: t,
            applied,
            at: chrono::Utc::now(),
            requested_at: chrono::Utc::now(),
            ready_at: None,
        },
    )
}

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| (*s).to_owned()).collect()
}

/// An immediate order that went right: every record agrees.
pub(in crate::chaos) fn good() -> Records {
    Records {
        orders: vec![OrderFacts {
            order_id: ID.to_owned(),
            partner: Partner::ChainApp,
            partner_order_id: "A-1".to_owned(),
            store_id: "S1001".to_owned(),
            scenario: Scenario::Immediate,
            first_sent: 100.0,
            ended: Some(101.0),
            courier_sent: None,
            release_at: None,
            bound_seconds: 60.0,
            stranded: false,
        }],
        table: HashMap::from([(
            ID.to_owned(),
            json!({ "status": "SentToPos", "history": [{"status": "Received"}, {"status": "Accepted"}, {"status": "SentToPos"}] }),
        )]),
        pos: vec![(ID.to_owned(), false)],
        partners: vec![told(Told::Accept, true), told(Told::Accept, true)],
        executions: vec![ExecutionFacts {
            name: "e1".to_owned(),
            partner_order_id: "A-1".to_owned(),
            status: "SUCCEEDED".to_owned(),
            path: path(&["Dedup", "Seen before?", "Adapt", "Accept", "Send to POS"]),
            hold: None,
        }],
        dead_letters: vec![],
        time_scale: 60.0,
        injections: vec![],
        work: work::WorkStates {
            dedup: BTreeSet::from(["Dedup".to_owned()]),
            adapt: BTreeSet::from(["Adapt".to_owned()]),
        },
        store_statuses: vec![],
        pause_expected: false,
    }
}

/// [`good`] as a scheduled order, held and released by time on schedule.
fn held_good() -> Records {
    let mut r = good();
    r.orders[0].scenario = Scenario::Scheduled;
    r.orders[0].release_at = Some(280.0);
    r.table.get_mut(ID).unwrap()["history"] = json!([{"status": "Received"}, {"status": "Accepted"}, {"status": "Held"}, {"status": "Released"}, {"status": "SentToPos"}]);
    r.executions[0].hold = Some(HoldFacts {
        timeout_seconds: 180.0,
        scheduled: 100.0,
        ended: Some((103.0, "TaskTimedOut".to_owned())),
    });
    r
}

fn invariants(r: &Records) -> Vec<u8> {
    check(r).iter().map(|v| v.invariant).collect()
}

#[test]
fn agreeing_records_pass_and_a_repeated_accept_is_one_answer() {
    assert_eq!(check(&good()), vec![]);
    assert_eq!(check(&held_good()), vec![]);
}

#[test]
fn each_broken_promise_is_named_by_its_invariant() {
    let mut r = good();
    r.pos.push((ID.to_owned(), false));
    assert_eq!(
        invariants(&r),
        [1, 4],
        "two live POS orders, which the simulators call no ending"
    );

    let mut r = good();
    r.table.get_mut(ID).unwrap()["status"] = json!("Cancelled");
    r.table.get_mut(ID).unwrap()["history"] = json!([{"status": "Received"}, {"status": "Accepted"}, {"status": "SentToPos"}, {"status": "Cancelled"}]);
    r.partners.push(told(Told::Cancel, true));
    r.orders[0].scenario = Scenario::CancelAfterPos;
    assert_eq!(invariants(&r), [2, 4], "cancelled with a live POS order");

    let mut r = good();
    r.partners = vec![told(Told::Deny, true), told(Told::Accept, false)];
    assert_eq!(
        invariants(&r),
        [3, 3, 4],
        "a refused accept, and SentToPos without one"
    );

    let mut r = good();
    r.table.get_mut(ID).unwrap()["status"] = json!("Received");
    r.table.get_mut(ID).unwrap()["history"] = json!([{"status": "Received"}]);
    r.pos.clear();
    r.partners.clear();
    assert_eq!(invariants(&r), [4]);

    let mut r = good();
    r.table.get_mut(ID).unwrap()["history"] =
        json!([{"status": "Received"}, {"status": "SentToPos"}]);
    assert_eq!(invariants(&r), [4], "a step the lifecycle does not allow");

    let mut r = good();
    r.orders[0].ended = Some(500.0);
    assert_eq!(invariants(&r), [4], "over its bound");

    let mut r = good();
    let mut again = r.executions[0].clone();
    again.name = "e2".to_owned();
    r.executions.push(again);
    assert_eq!(invariants(&r), [5], "two executions did the work");

    let mut r = good();
    r.executions[0].status = "RUNNING".to_owned();
    assert_eq!(invariants(&r), [5]);

    let mut r = good();
    r.dead_letters
        .push(("dlq".to_owned(), json!({ "event": "about nothing" })));
    assert_eq!(invariants(&r), [6]);

    let mut r = good();
    r.executions[0].hold = Some(HoldFacts {
        timeout_seconds: 180.0,
        scheduled: 100.0,
        ended: Some((103.0, "TaskTimedOut".to_owned())),
    });
    assert_eq!(invariants(&r), [7], "held, though sent for now");
    // Sent for a kitchen start 3 minutes after the hold began: 3 s at 60x.
    r.orders[0].release_at = Some(280.0);
    assert_eq!(invariants(&r), Vec::<u8>::new(), "released on time");
    // The pipeline held for the timeout it computed, but the pickup asked for 5 minutes:
    // the verdict goes by what was sent.
    r.orders[0].release_at = Some(400.0);
    assert_eq!(invariants(&r), [7], "released two seconds before its 5 s");
    r.orders[0].release_at = Some(280.0);
    r.executions[0].hold = Some(HoldFacts {
        timeout_seconds: 180.0,
        scheduled: 100.0,
        ended: Some((102.0, "TaskTimedOut".to_owned())),
    });
    assert_eq!(invariants(&r), [7], "released a second before its 3 s");
    r.executions[0].hold = Some(HoldFacts {
        timeout_seconds: 180.0,
        scheduled: 100.0,
        ended: Some((101.0, "TaskSucceeded".to_owned())),
    });
    assert_eq!(invariants(&r), [7], "released early with no courier");
    r.orders[0].courier_sent = Some(100.5);
    assert_eq!(
        invariants(&r),
        Vec::<u8>::new(),
        "released after its courier"
    );
}

#[test]
fn a_held_scenario_sent_straight_to_the_pos_breaks_the_hold_promise() {
    for scenario in [Scenario::Scheduled, Scenario::CourierRace] {
        let mut r = held_good();
        r.orders[0].scenario = scenario;
        r.executions[0].hold = None;
        r.table.get_mut(ID).unwrap()["history"] =
            json!([{"status": "Received"}, {"status": "Accepted"}, {"status": "SentToPos"}]);
        assert_eq!(invariants(&r), [7], "{scenario:?}");
    }
    // Recorded Held in the table, but no execution ever held it.
    let mut r = held_good();
    r.executions[0].hold = None;
    assert_eq!(invariants(&r), [7]);
    // Held, but never released: still waiting when it reached the POS.
    let mut r = held_good();
    r.executions[0].hold.as_mut().unwrap().ended = None;
    assert_eq!(invariants(&r), [7]);
    // Cancelled while held, the hold failed by the cancellation: a hold all the same.
    let mut r = held_good();
    r.orders[0].scenario = Scenario::CancelWhileHeld;
    r.executions[0].hold.as_mut().unwrap().ended = Some((101.0, "TaskFailed".to_owned()));
    r.table.get_mut(ID).unwrap()["status"] = json!("Cancelled");
    r.table.get_mut(ID).unwrap()["history"] = json!([{"status": "Received"}, {"status": "Accepted"}, {"status": "Held"}, {"status": "Cancelled"}]);
    r.pos.clear();
    r.partners.push(told(Told::Cancel, true));
    assert_eq!(check(&r), vec![]);
    // Ended before its hold (cancelled before the accept's hold began): no hold needed.
    r.executions[0].hold = None;
    r.table.get_mut(ID).unwrap()["history"] =
        json!([{"status": "Received"}, {"status": "Accepted"}, {"status": "Cancelled"}]);
    assert_eq!(check(&r), vec![]);
}

/// An accept the pipeline asked for after the partner was told of a cancellation breaks
/// a promise even though the partner refused it; one asked for before, and carried out
/// late by a slow partner (which refuses it), does not.
#[test]
fn an_accept_asked_after_a_cancellation_is_named_and_a_late_one_is_not() {
    let t = |s: i64| chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
    let statement = |told: Told, applied: bool, requested: i64, at: i64| {
        (
            Partner::ChainApp,
            Statement {
                order: "A-1".to_owned(),
                told,
                applied,
                at: t(at),
                requested_at: t(requested),
                ready_at: None,
            },
        )
    };
    let cancelled = |partners| {
        let mut r = held_good();
        r.orders[0].scenario = Scenario::CancelWhileHeld;
        r.executions[0].hold.as_mut().unwrap().ended = Some((101.0, "TaskFailed".to_owned()));
        r.table.get_mut(ID).unwrap()["status"] = json!("Cancelled");
        r.table.get_mut(ID).unwrap()["history"] = json!([{"status": "Received"}, {"status": "Accepted"}, {"status": "Held"}, {"status": "Cancelled"}]);
        r.pos.clear();
        r.partners = partners;
        r
    };
    // Accepted at 10, cancelled at 20; a first attempt asked at 5 lands at 21, refused.
    let late = cancelled(vec![
        statement(Told::Accept, true, 10, 10),
        statement(Told::Cancel, true, 20, 20),
        statement(Told::Accept, false, 5, 21),
    ]);
    assert_eq!(check(&late), vec![]);
    // Asked at 25, after the cancellation: named, refused or not.
    let asked_after = cancelled(vec![
        statement(Told::Accept, true, 10, 10),
        statement(Told::Cancel, true, 20, 20),
        statement(Told::Accept, false, 25, 25),
    ]);
    assert_eq!(
        invariants(&asked_after),
        [3, 3],
        "a refused answer, asked after the cancellation"
    );
}

#[test]
fn exactly_one_run_gets_past_dedup_for_an_order_that_reached_the_pos() {
    // No run claimed it, yet it is at the POS.
    let mut r = good();
    r.executions[0].path = path(&["Released?", "Send to POS"]);
    assert_eq!(invariants(&r), [5]);
    // A state named Adapt that is not where the definitions adapt does not count.
    let mut r = good();
    r.work.adapt = BTreeSet::from(["Map".to_owned()]);
    assert_eq!(invariants(&r), [5]);
    // A continuation that starts at Adapt is not a second claim.
    let mut r = good();
    r.executions.push(ExecutionFacts {
        name: "e2".to_owned(),
        partner_order_id: "A-1".to_owned(),
        status: "SUCCEEDED".to_owned(),
        path: path(&["Start", "Adapt"]),
        hold: None,
    });
    assert_eq!(check(&r), vec![]);
}

#[test]
fn the_table_status_is_checked_against_what_the_simulators_recorded() {
    // The table says SentToPos, the POS has it, but the partner was only told no.
    let mut r = good();
    r.partners = vec![told(Told::Deny, true)];
    assert!(invariants(&r).contains(&4), "{:?}", check(&r));
    // The table says Cancelled, nobody was told anything and the POS has nothing.
    let mut r = good();
    r.orders[0].scenario = Scenario::CancelBeforeAccept;
    r.table.get_mut(ID).unwrap()["status"] = json!("Cancelled");
    r.table.get_mut(ID).unwrap()["history"] =
        json!([{"status": "Received"}, {"status": "Cancelled"}]);
    r.pos.clear();
    r.partners.clear();
    assert_eq!(invariants(&r), [3, 4]);
    assert_eq!(
        endings_by_simulators(0, 0, 0, 1),
        [OrderStatus::Cancelled, OrderStatus::Failed]
    );
    assert_eq!(endings_by_simulators(1, 1, 0, 0), [OrderStatus::SentToPos]);
    assert_eq!(endings_by_simulators(0, 0, 0, 0), []);
}

#[test]
fn the_verdicts_lifecycle_is_the_domains_step_for_step() {
    let statuses = OrderStatus::ALL.map(OrderStatus::as_str);
    for from in OrderStatus::ALL {
        for to in OrderStatus::ALL {
            assert_eq!(
                LIFECYCLE.contains(&(from.as_str(), to.as_str())),
                from.can_transition_to(to),
                "{from} -> {to}"
            );
        }
    }
    for (from, to) in LIFECYCLE {
        assert!(statuses.contains(&from) && statuses.contains(&to));
    }
}

#[test]
fn a_failure_needs_a_cause_the_injectors_recorded() {
    let mut r = good();
    r.table.get_mut(ID).unwrap()["status"] = json!("Failed");
    r.table.get_mut(ID).unwrap()["history"] = json!([{"status": "Received"}, {"status": "Failed"}]);
    r.pos.clear();
    r.partners = vec![told(Told::Deny, true)];
    assert_eq!(invariants(&r), [8], "no fault touched it");
    // A POS fault after it ended, another partner's fault while it was in flight, a
    // refusal before it was sent: none justifies it.
    r.injections.push(justify::Injection::at(
        "pos 500",
        102.0,
        None,
        justify::names_in(&json!({ "externalId": "app.A-10" })),
    ));
    r.injections.push(justify::Injection::at(
        "ubereats 500",
        100.5,
        Some(Partner::UberEats),
        BTreeSet::new(),
    ));
    r.injections.push(justify::Injection::at(
        "DynamoDB refused",
        99.0,
        None,
        BTreeSet::new(),
    ));
    assert_eq!(invariants(&r), [8]);
    // A kill of the invocation that carried it does.
    r.injections.push(justify::Injection::at(
        "kill orders-pos",
        150.0,
        None,
        justify::names_in(&json!({ "received": { "data": { "partnerOrderId": "A-1" } } })),
    ));
    assert_eq!(check(&r), vec![]);
    r.partners.clear();
    assert_eq!(
        invariants(&r),
        [3, 4],
        "a failure the partner never heard of"
    );
}

#[test]
fn the_sweeper_ends_the_stranded_order_and_no_other() {
    // Stranded on purpose: the Express run timed out before Adapt; the sweeper's run
    // denied it.
    let mut r = good();
    r.orders[0].stranded = true;
    r.table.get_mut(ID).unwrap()["status"] = json!("Failed");
    r.table.get_mut(ID).unwrap()["history"] = json!([{"status": "Received"}, {"status": "Failed"}]);
    r.pos.clear();
    r.partners = vec![told(Told::Deny, true)];
    r.executions[0].path = path(&["Dedup", "Seen before?"]);
    r.executions[0].status = "TIMED_OUT".to_owned();
    r.injections.push(justify::Injection::at(
        "Express execution timed out (injected)",
        100.5,
        None,
        BTreeSet::from(["A-1".to_owned()]),
    ));
    assert_eq!(invariants(&r), [4], "ended, but not by the sweeper");
    r.executions.push(ExecutionFacts {
        name: "sweep-1-0123".to_owned(),
        partner_order_id: "A-1".to_owned(),
        status: "SUCCEEDED".to_owned(),
        path: path(&["Start", "Deny", "Publish outcome", "Outcome?", "Failed"]),
        hold: None,
    });
    assert_eq!(check(&r), vec![]);
    // An order the sweeper ended though it was not stranded: its workflow was raced.
    let mut raced = good();
    raced.executions.push(r.executions[1].clone());
    assert_eq!(invariants(&raced), [5]);
}
