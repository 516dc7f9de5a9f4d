//! Stores paused for their POS, from the partners' own records: a POS that stays down past
//! the template's `PosPauseAfterSeconds` has its stores paused with their partners by the
//! sweeper's POS watch, and resumed when it answers again (`pipeline::usecases::pos_watch`).
//! Two checks read the partner simulators' ledgers of store statuses (what each partner was
//! told, never the pipeline's report):
//!
//! * a valid order refused (`Rejected`) is justified only while its store was paused with its
//!   partners: a pause told before the refusal (give or take [`PAUSE_SLACK_SECONDS`]) and no
//!   resume told between them;
//! * invariant 11: no store is left paused with a partner at the end of a run, and a run
//!   whose POS stayed down long enough shows a store paused and then resumed.
//!
//! A pause is the chain store's, told to every partner that publishes a store status call
//! (Grubhub publishes none), so any partner's record of it counts for the store's orders of
//! every partner.

use chrono::{DateTime, Duration, Utc};
use order_domain::{Catalog, Partner, StoreId};

use super::{OrderFacts, Records, Violation};
use crate::sim::partner::{StoreStatement, Told};

/// How far a refusal may precede the partners' record of its store's pause, or follow the
/// record of its resume, seconds: the catalogue change reaches accept-order's cache (a second
/// here) before store-status has told the partners through the bus, and a resume reaches the
/// partners a moment before every cache has it.
pub const PAUSE_SLACK_SECONDS: i64 = 10;

/// Each partner's id for the chain store `store`, from the repository's catalogue (the one
/// the local cloud loads).
fn partner_stores(store: &str) -> Vec<(Partner, String)> {
    let (Ok(catalog), Ok(id)) = (Catalog::embedded(), StoreId::parse(store)) else {
        return Vec::new();
    };
    catalog
        .store(&id)
        .map(|s| {
            s.partner_store_ids
                .iter()
                .map(|(p, id)| (*p, id.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The store statuses told about chain store `store`, oldest first.
fn told_about<'a>(r: &'a Records, store: &str) -> Vec<&'a StoreStatement> {
    let ids = partner_stores(store);
    let mut told: Vec<&StoreStatement> = r
        .store_statuses
        .iter()
        .filter(|(p, s)| ids.iter().any(|(q, id)| q == p && *id == s.store))
        .map(|(_, s)| s)
        .collect();
    told.sort_by_key(|s| s.at);
    told
}

/// Whether `at` falls while the statements say the store was paused, with the slack.
fn paused_at(told: &[&StoreStatement], at: DateTime<Utc>) -> bool {
    let slack = Duration::seconds(PAUSE_SLACK_SECONDS);
    told.iter().any(|pause| {
        !pause.online
            && pause.at <= at + slack
            && !told
                .iter()
                .any(|resume| resume.online && resume.at > pause.at && resume.at < at - slack)
    })
}

/// Whether order `o` was refused while its store was paused with its partners: its partner's
/// record of the refusal, its store as the run sent it, the pause from the partners' records.
pub fn refused_while_paused(r: &Records, o: &OrderFacts) -> bool {
    // Refused for its store's pause (the code the orders table's history keeps with the
    // refusal; its `reason` may be overwritten by a later cancellation), not for anything
    // else that happened meanwhile.
    let for_the_pause = r
        .table
        .get(&o.order_id)
        .and_then(|item| item["history"].as_array())
        .is_some_and(|history| {
            history
                .iter()
                .any(|h| h["status"] == "Rejected" && h["note"] == "StorePaused")
        });
    if !for_the_pause {
        return false;
    }
    let Some(refused) = r
        .partners
        .iter()
        .find(|(p, s)| {
            *p == o.partner && s.order == o.partner_order_id && s.told == Told::Deny && s.applied
        })
        .map(|(_, s)| s.at)
    else {
        return false;
    };
    paused_at(&told_about(r, &o.store_id), refused)
}

/// Invariant 11: no store is left paused with a partner at the end of the run (each
/// store's last status told is online), and when the run's POS stayed down past the pause
/// threshold, some partner was told a store paused, and later told it resumed.
pub fn check_pauses(r: &Records) -> Vec<Violation> {
    let mut last: std::collections::BTreeMap<(Partner, &str), &StoreStatement> =
        std::collections::BTreeMap::new();
    for (p, s) in &r.store_statuses {
        let entry = last.entry((*p, s.store.as_str())).or_insert(s);
        if s.at >= entry.at {
            *entry = s;
        }
    }
    let left: Vec<Violation> = last
        .into_iter()
        .filter(|(_, s)| !s.online)
        .map(|((p, store), _)| Violation {
            order: "-".to_owned(),
            invariant: 11,
            what: format!("{p} was left showing store {store} paused at the end of the run"),
        })
        .collect();
    if !left.is_empty() || !r.pause_expected {
        return left;
    }
    // Every store's last status is online (checked above): a pause told was resumed.
    if r.store_statuses.iter().any(|(_, s)| !s.online) {
        return Vec::new();
    }
    vec![Violation {
        order: "-".to_owned(),
        invariant: 11,
        what:
            "the POS stayed down past PosPauseAfterSeconds, but no partner was told a store paused"
                .to_owned(),
    }]
}

#[cfg(test)]
mod tests {
    use super::super::tests::good;
    use super::*;
    use crate::chaos::plan::Scenario;
    use crate::sim::partner::Statement;
    use serde_json::json;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn told(partner: Partner, store: &str, online: bool, s: i64) -> (Partner, StoreStatement) {
        (
            partner,
            StoreStatement {
                store: store.to_owned(),
                online,
                reason: None,
                until: None,
                at: at(s),
            },
        )
    }

    /// A valid order of S1001 refused by its partner at `refused_at`.
    fn refused(refused_at: i64) -> Records {
        let mut r = good();
        let o = &mut r.orders[0];
        o.scenario = Scenario::Immediate;
        let (partner, partner_order_id) = (o.partner, o.partner_order_id.clone());
        r.table.insert(
            o.order_id.clone(),
            json!({ "status": "Rejected", "history": [{"status": "Received"}, {"status": "Rejected", "note": "StorePaused"}] }),
        );
        r.partners = vec![(
            partner,
            Statement {
                order: partner_order_id,
                told: Told::Deny,
                applied: true,
                ready_at: None,
                at: at(refused_at),
                requested_at: at(refused_at),
            },
        )];
        r
    }

    fn uber_s1001() -> String {
        partner_stores("S1001")
            .into_iter()
            .find(|(p, _)| *p == Partner::UberEats)
            .map(|(_, id)| id)
            .unwrap()
    }

    #[test]
    fn a_refusal_is_justified_only_inside_a_pause_the_partners_were_told() {
        let store = uber_s1001();
        // Told paused at 100 and resumed at 200, by Uber Eats' records.
        let statuses = vec![
            told(Partner::UberEats, &store, false, 100),
            told(Partner::UberEats, &store, true, 200),
        ];
        for (refused_at, justified) in [
            (50, false),  // before the pause
            (95, true),   // a moment before the partners heard it
            (150, true),  // inside
            (205, true),  // a cache a moment behind the resume
            (260, false), // long after the resume
        ] {
            let mut r = refused(refused_at);
            r.store_statuses = statuses.clone();
            assert_eq!(
                refused_while_paused(&r, &r.orders[0]),
                justified,
                "refused at {refused_at}"
            );
        }
        // Another store's pause justifies nothing.
        let mut r = refused(150);
        r.store_statuses = vec![told(Partner::UberEats, "another-store", false, 100)];
        assert!(!refused_while_paused(&r, &r.orders[0]));
        let mut r = refused(150);
        r.store_statuses = statuses.clone();
        r.orders[0].store_id = "S2001".to_owned();
        assert!(!refused_while_paused(&r, &r.orders[0]));
        // Nor does a pause with no refusal on the partner's record.
        let mut r = refused(150);
        r.store_statuses = statuses.clone();
        r.partners.clear();
        assert!(!refused_while_paused(&r, &r.orders[0]));
        // Nor a refusal for another reason, inside the pause.
        let mut r = refused(150);
        r.store_statuses = statuses;
        r.table.get_mut(&r.orders[0].order_id).unwrap()["history"][1]["note"] =
            json!("ItemUnavailable");
        assert!(!refused_while_paused(&r, &r.orders[0]));
    }

    #[test]
    fn a_long_outage_must_show_a_pause_and_its_resume() {
        let store = uber_s1001();
        let mut r = good();
        assert!(check_pauses(&r).is_empty(), "no pause expected");
        r.pause_expected = true;
        let v = check_pauses(&r);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].invariant, 11);
        assert!(v[0].what.contains("no partner was told"), "{v:?}");
        r.store_statuses = vec![told(Partner::UberEats, &store, false, 100)];
        let v = check_pauses(&r);
        assert_eq!(v.len(), 1);
        assert!(v[0].what.contains("left showing store"), "{v:?}");
        r.store_statuses
            .push(told(Partner::UberEats, &store, true, 200));
        assert!(check_pauses(&r).is_empty());
        // Paused again later and never resumed: left paused, whatever came before.
        r.store_statuses
            .push(told(Partner::UberEats, &store, false, 300));
        r.pause_expected = false;
        let v = check_pauses(&r);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].what.contains("left showing store"), "{v:?}");
    }
}
