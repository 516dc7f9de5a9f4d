//! The pipeline's decisions: accept or deny an order and why; hold it or send it to the POS
//! now, and until when.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Availability, Store};
use crate::order::{Order, Timing};
use crate::rejection::{Rejection, RejectionReason};

/// Tunables of the hold decision.
#[derive(Debug, Clone, Copy)]
pub struct HoldPolicy {
    /// A hold shorter than this is not worth a workflow callback: send now.
    pub min_hold: TimeDelta,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        Self {
            min_hold: TimeDelta::minutes(2),
        }
    }
}

/// An order kept back until the kitchen should start on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Hold {
    /// When the order goes to the POS if nothing releases it earlier.
    pub release_at: DateTime<Utc>,
    /// From when a courier near the store may release it early.
    pub early_release_from: DateTime<Utc>,
}

impl Hold {
    /// Whole seconds from `now` until the release time, rounded up so a hold never ends
    /// before it (a Task's `TimeoutSeconds` is whole seconds), and at least 1 (a workflow
    /// timeout of 0 is invalid).
    pub fn seconds_until_release(&self, now: DateTime<Utc>) -> u64 {
        let left = self.release_at - now;
        let whole = left.num_seconds();
        let s = if left > TimeDelta::seconds(whole) {
            whole + 1
        } else {
            whole
        };
        u64::try_from(s).unwrap_or(0).max(1)
    }

    /// Whether a courier near the store at `now` may release the order.
    pub fn releasable_by_courier(&self, now: DateTime<Utc>) -> bool {
        now >= self.early_release_from
    }
}

/// Hold the order, or send it to the POS now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldDecision {
    /// The kitchen should start now.
    SendNow,
    /// The kitchen should start later.
    Hold(Hold),
}

/// Accept the order (and then hold it or not), or deny it with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptDecision {
    /// Tell the partner yes.
    Accept(HoldDecision),
    /// Tell the partner no, and why.
    Deny(Rejection),
}

/// When the kitchen should start: the ready target minus the preparation time.
fn kitchen_start(order: &Order, store: &Store) -> Option<DateTime<Utc>> {
    order.ready_target().map(|t| t - store.prep_time())
}

/// Decides whether to hold an accepted order: scheduled orders and ASAP orders whose courier
/// is still far away wait until `ready target − prep time`; anything due within
/// `policy.min_hold` goes now. A courier near the store releases a held ASAP order at once and
/// a scheduled one from `store.early_release_minutes` before its release time.
pub fn decide_hold(
    order: &Order,
    store: &Store,
    now: DateTime<Utc>,
    policy: HoldPolicy,
) -> HoldDecision {
    let Some(start) = kitchen_start(order, store) else {
        return HoldDecision::SendNow;
    };
    if start <= now + policy.min_hold {
        return HoldDecision::SendNow;
    }
    let early_release_from = match order.timing {
        Timing::Asap { .. } => now,
        Timing::Scheduled { .. } => {
            (start - TimeDelta::minutes(i64::from(store.early_release_minutes))).max(now)
        }
    };
    HoldDecision::Hold(Hold {
        release_at: start,
        early_release_from,
    })
}

/// How long a customer of an ASAP order without a ready time waits for it before it is late:
/// the POS may take it until this long after it was placed.
pub const ASAP_PATIENCE: TimeDelta = TimeDelta::minutes(15);

/// How long after its release a held order may still reach the POS: a POS that is down for a
/// minute when the hold ends does not cancel the order.
pub const RELEASE_GRACE: TimeDelta = TimeDelta::minutes(5);

/// The latest the store's POS may take an accepted order and the kitchen still make it in
/// time, which is how long an order waits out a POS outage before it is cancelled with the
/// partner: its kitchen start (its ready target less the store's preparation time), but never
/// before [`ASAP_PATIENCE`] after it was placed, nor before [`RELEASE_GRACE`] after its hold's
/// release.
pub fn send_by(order: &Order, store: &Store, decision: &HoldDecision) -> DateTime<Utc> {
    let mut by = order.placed_at + ASAP_PATIENCE;
    if let Some(start) = kitchen_start(order, store) {
        by = by.max(start);
    }
    if let HoldDecision::Hold(h) = decision {
        by = by.max(h.release_at + RELEASE_GRACE);
    }
    by
}

/// When the kitchen will have an accepted order ready, for the partner's confirmation: the
/// store's preparation time after the order goes to the POS, which is `now` when it is sent
/// at once, or its hold's release time (a scheduled order's release is its ready time less
/// the preparation time, so this gives that ready time back).
pub fn ready_by(decision: &HoldDecision, store: &Store, now: DateTime<Utc>) -> DateTime<Utc> {
    let start = match decision {
        HoldDecision::SendNow => now,
        HoldDecision::Hold(h) => h.release_at.max(now),
    };
    start + store.prep_time()
}

/// The refusal for an order to `store` at `now` if the store does not take orders by its
/// status (`StorePaused` with the pause's reason and end, `StoreClosed`); its hours are
/// checked separately, at the time the kitchen would start.
pub fn unavailable_store(store: &Store, now: DateTime<Utc>) -> Option<Rejection> {
    match store.availability_at(now) {
        Availability::Open => None,
        Availability::Closed => Some(Rejection::new(
            RejectionReason::StoreClosed,
            format!("store {} is closed", store.id),
        )),
        Availability::Paused(pause) => {
            let reason = pause.map_or("no reason given", |p| p.reason.as_str());
            let until = pause
                .and_then(|p| p.until)
                .map_or_else(|| "until resumed".to_owned(), |u| format!("until {u}"));
            Some(Rejection::new(
                RejectionReason::StorePaused,
                format!("store {} is paused ({reason}) {until}", store.id),
            ))
        }
    }
}

/// Decides whether the store accepts the order: it must still be within its partner's
/// acceptance window ([`crate::Partner::acceptance_window`]), open for orders, in its currency,
/// not scheduled too far ahead, within opening hours when the kitchen would start, and every
/// item must be available.
pub fn decide_acceptance(
    order: &Order,
    store: &Store,
    now: DateTime<Utc>,
    policy: HoldPolicy,
) -> AcceptDecision {
    if let Some(window) = order.partner.acceptance_window()
        && now > order.placed_at + window
    {
        return AcceptDecision::Deny(Rejection::new(
            RejectionReason::AcceptanceWindowPassed,
            format!(
                "placed at {}, and {} cancels an order not accepted within {} s; it is {now}",
                order.placed_at,
                order.partner,
                window.num_seconds()
            ),
        ));
    }
    if let Some(r) = unavailable_store(store, now) {
        return AcceptDecision::Deny(r);
    }
    if order.total.currency != store.currency {
        return AcceptDecision::Deny(Rejection::new(
            RejectionReason::UnsupportedCurrency,
            format!(
                "store {} takes {}, the order is in {}",
                store.id, store.currency, order.total.currency
            ),
        ));
    }
    if let Timing::Scheduled { ready_at } = order.timing {
        // Never past MAX_SCHEDULE_DAYS, whatever the store says: the hold must end before
        // what the order needs expires.
        let days = store
            .max_schedule_days
            .min(crate::catalog::MAX_SCHEDULE_DAYS);
        let limit = now + TimeDelta::days(i64::from(days));
        if ready_at > limit {
            return AcceptDecision::Deny(Rejection::new(
                RejectionReason::ScheduledTooFarAhead,
                format!("ready time {ready_at} is more than {days} days ahead"),
            ));
        }
    }
    let cooking_at = kitchen_start(order, store).map_or(now, |t| t.max(now));
    if !store.is_open_at(cooking_at) {
        return AcceptDecision::Deny(Rejection::new(
            RejectionReason::StoreClosed,
            format!("store {} is closed at {cooking_at}", store.id),
        ));
    }
    // An item or a modifier the store has marked sold out.
    if let Some(code) = order
        .items
        .iter()
        .flat_map(|l| std::iter::once(&l.pos_code).chain(l.modifiers.iter().map(|m| &m.pos_code)))
        .find(|code| store.unavailable.contains(*code))
    {
        return AcceptDecision::Deny(Rejection::new(
            RejectionReason::ItemUnavailable,
            format!("{code} is unavailable at store {}", store.id),
        ));
    }
    AcceptDecision::Accept(decide_hold(order, store, now, policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, Pause, StoreStatus};
    use crate::ids::{Partner, PartnerOrderId, PosItemCode, StoreId};
    use crate::money::{Currency, Money};
    use crate::order::{Fulfillment, LineItem, OrderDraft, Quantity};

    fn now() -> DateTime<Utc> {
        "2026-11-22T18:00:00Z".parse().unwrap()
    }

    fn store(id: &str) -> Store {
        Catalog::embedded()
            .unwrap()
            .store(&StoreId::parse(id).unwrap())
            .unwrap()
            .clone()
    }

    fn order(timing: Timing, code: &str) -> Order {
        OrderDraft {
            partner: Partner::ChainApp,
            partner_order_id: PartnerOrderId::parse("a-1").unwrap(),
            partner_store_id: "1001".to_owned(),
            store_id: StoreId::parse("S1001").unwrap(),
            placed_at: now(),
            fulfillment: Fulfillment::Pickup,
            timing,
            items: vec![LineItem {
                pos_code: PosItemCode::parse(code).unwrap(),
                name: code.to_owned(),
                quantity: Quantity::new(1).unwrap(),
                unit_price: Money::new(100, Currency::USD),
                modifiers: vec![],
                notes: None,
            }],
            stated_subtotal: Money::new(100, Currency::USD),
            tax: Money::new(0, Currency::USD),
            customer_name: "A".to_owned(),
            notes: None,
        }
        .finish(0)
        .unwrap()
    }

    fn asap() -> Timing {
        Timing::Asap { pickup_eta: None }
    }

    #[test]
    fn an_asap_order_without_an_eta_goes_to_the_pos_now() {
        let s = store("S1001");
        assert_eq!(
            decide_hold(&order(asap(), "TACO"), &s, now(), HoldPolicy::default()),
            HoldDecision::SendNow
        );
    }

    fn at(t: &str) -> DateTime<Utc> {
        t.parse().unwrap()
    }

    #[test]
    fn an_uber_eats_order_past_its_acceptance_window_is_refused_not_accepted_late() {
        let s = store("S1001");
        let placed = |partner, minutes_ago: i64, seconds: i64| {
            let mut o = order(asap(), "TACO");
            o.partner = partner;
            o.placed_at = now() - TimeDelta::minutes(minutes_ago) - TimeDelta::seconds(seconds);
            decide_acceptance(&o, &s, now(), HoldPolicy::default())
        };
        // 11.5 minutes: the last moment; a second later, refused with the reason.
        assert!(matches!(
            placed(Partner::UberEats, 11, 30),
            AcceptDecision::Accept(_)
        ));
        let AcceptDecision::Deny(r) = placed(Partner::UberEats, 11, 31) else {
            panic!("accepted after the window")
        };
        assert_eq!(r.reason, RejectionReason::AcceptanceWindowPassed);
        assert!(r.detail.contains("690 s"), "{}", r.detail);
        // Partners that publish no window: no limit here.
        assert!(matches!(
            placed(Partner::DoorDash, 45, 0),
            AcceptDecision::Accept(_)
        ));
    }

    #[test]
    fn an_order_may_reach_the_pos_until_it_can_no_longer_be_made_in_time() {
        // S1001 prepares in 12 minutes; the order was placed at 18:00.
        let s = store("S1001");
        // ASAP without a ready time: 15 minutes of the customer's patience.
        assert_eq!(
            send_by(&order(asap(), "TACO"), &s, &HoldDecision::SendNow),
            at("2026-11-22T18:15:00Z")
        );
        // A courier due at 18:05: its kitchen start has passed; the patience still holds.
        let soon = Timing::Asap {
            pickup_eta: Some(at("2026-11-22T18:05:00Z")),
        };
        assert_eq!(
            send_by(&order(soon, "TACO"), &s, &HoldDecision::SendNow),
            at("2026-11-22T18:15:00Z")
        );
        // Scheduled for 20:00: the kitchen must start by 19:48, and a hold released then has
        // 5 minutes' grace.
        let later = order(
            Timing::Scheduled {
                ready_at: at("2026-11-22T20:00:00Z"),
            },
            "TACO",
        );
        assert_eq!(
            send_by(&later, &s, &HoldDecision::SendNow),
            at("2026-11-22T19:48:00Z")
        );
        let held = decide_hold(&later, &s, now(), HoldPolicy::default());
        assert_eq!(send_by(&later, &s, &held), at("2026-11-22T19:53:00Z"));
    }

    #[test]
    fn an_order_is_ready_its_preparation_time_after_it_reaches_the_pos() {
        // S1001 prepares in 12 minutes.
        let s = store("S1001");
        assert_eq!(
            ready_by(&HoldDecision::SendNow, &s, now()),
            at("2026-11-22T18:12:00Z")
        );
        let hold = HoldDecision::Hold(Hold {
            release_at: at("2026-11-22T19:48:00Z"),
            early_release_from: at("2026-11-22T19:38:00Z"),
        });
        assert_eq!(ready_by(&hold, &s, now()), at("2026-11-22T20:00:00Z"));
        // A release time already past counts from now.
        let late = HoldDecision::Hold(Hold {
            release_at: at("2026-11-22T17:00:00Z"),
            early_release_from: at("2026-11-22T16:50:00Z"),
        });
        assert_eq!(ready_by(&late, &s, now()), at("2026-11-22T18:12:00Z"));
    }

    fn held(d: HoldDecision) -> Hold {
        match d {
            HoldDecision::Hold(h) => h,
            HoldDecision::SendNow => panic!("expected a hold, got SendNow"),
        }
    }

    // S1001 (Irvine, America/Los_Angeles): 12 minutes' preparation, courier release from 10
    // minutes before the release time, open all day. The instants below are worked out by
    // hand from those figures, not with the code's formulas.

    #[test]
    fn a_scheduled_order_is_held_until_ready_time_minus_prep_time() {
        let h = held(decide_hold(
            &order(
                Timing::Scheduled {
                    ready_at: at("2026-11-22T20:00:00Z"),
                },
                "TACO",
            ),
            &store("S1001"),
            now(),
            HoldPolicy::default(),
        ));
        assert_eq!(h.release_at, at("2026-11-22T19:48:00Z"));
        assert_eq!(h.early_release_from, at("2026-11-22T19:38:00Z"));
        assert_eq!(h.seconds_until_release(now()), 6_480);
        assert!(!h.releasable_by_courier(at("2026-11-22T19:37:59Z")));
        assert!(h.releasable_by_courier(at("2026-11-22T19:38:00Z")));
    }

    #[test]
    fn a_courier_window_that_would_open_before_now_opens_now() {
        // Ready 18:20, kitchen at 18:08, courier window from 17:58: already past, so 18:00.
        let h = held(decide_hold(
            &order(
                Timing::Scheduled {
                    ready_at: at("2026-11-22T18:20:00Z"),
                },
                "TACO",
            ),
            &store("S1001"),
            now(),
            HoldPolicy::default(),
        ));
        assert_eq!(h.release_at, at("2026-11-22T18:08:00Z"));
        assert_eq!(h.early_release_from, at("2026-11-22T18:00:00Z"));
        assert_eq!(h.seconds_until_release(now()), 480);
    }

    #[test]
    fn an_asap_order_with_a_far_courier_is_held_and_releasable_by_a_courier_at_once() {
        let h = held(decide_hold(
            &order(
                Timing::Asap {
                    pickup_eta: Some(at("2026-11-22T18:45:00Z")),
                },
                "TACO",
            ),
            &store("S1001"),
            now(),
            HoldPolicy::default(),
        ));
        assert_eq!(h.release_at, at("2026-11-22T18:33:00Z"));
        assert_eq!(h.early_release_from, at("2026-11-22T18:00:00Z"));
        assert_eq!(h.seconds_until_release(now()), 1_980);
        assert!(h.releasable_by_courier(now()));
    }

    #[test]
    fn a_hold_of_two_minutes_or_less_is_not_worth_it_and_one_second_more_is() {
        let decide = |ready_at: &str| {
            decide_hold(
                &order(
                    Timing::Scheduled {
                        ready_at: at(ready_at),
                    },
                    "TACO",
                ),
                &store("S1001"),
                now(),
                HoldPolicy::default(),
            )
        };
        // Kitchen at 18:01:30 and at exactly 18:02:00: within the two-minute minimum.
        assert_eq!(decide("2026-11-22T18:13:30Z"), HoldDecision::SendNow);
        assert_eq!(decide("2026-11-22T18:14:00Z"), HoldDecision::SendNow);
        // Kitchen at 18:02:01: a hold of 121 s.
        let h = held(decide("2026-11-22T18:14:01Z"));
        assert_eq!(h.release_at, at("2026-11-22T18:02:01Z"));
        assert_eq!(h.seconds_until_release(now()), 121);
    }

    #[test]
    fn a_release_time_already_past_waits_one_second_not_zero() {
        let h = Hold {
            release_at: at("2026-11-22T17:59:00Z"),
            early_release_from: at("2026-11-22T17:50:00Z"),
        };
        assert_eq!(h.seconds_until_release(now()), 1);
        assert_eq!(h.seconds_until_release(at("2026-11-22T17:59:00Z")), 1);
        assert_eq!(h.seconds_until_release(at("2026-11-22T17:58:58Z")), 2);
        // A fraction left is a whole second more: the hold never ends before its time.
        assert_eq!(h.seconds_until_release(at("2026-11-22T17:58:57.999Z")), 3);
        assert_eq!(h.seconds_until_release(at("2026-11-22T17:58:58.001Z")), 2);
        assert_eq!(h.seconds_until_release(at("2026-11-22T17:58:59.500Z")), 1);
    }

    #[test]
    fn a_hold_across_the_autumn_clock_change_lasts_the_real_seconds() {
        // Los Angeles falls back at 2026-11-01 02:00 PDT to 01:00 PST. Ordered at 00:30 PDT
        // (07:30Z) for 02:00 PST (10:00Z): the kitchen starts at 01:48 PST (09:48Z), 2 h 18 min
        // of real time later, though the store's wall clock moves only 1 h 18 min.
        let now = at("2026-11-01T07:30:00Z");
        let h = held(decide_hold(
            &order(
                Timing::Scheduled {
                    ready_at: at("2026-11-01T10:00:00Z"),
                },
                "TACO",
            ),
            &store("S1001"),
            now,
            HoldPolicy::default(),
        ));
        assert_eq!(h.release_at, at("2026-11-01T09:48:00Z"));
        assert_eq!(h.early_release_from, at("2026-11-01T09:38:00Z"));
        assert_eq!(h.seconds_until_release(now), 8_280);
    }

    #[test]
    fn a_hold_across_the_spring_clock_change_lasts_the_real_seconds() {
        // Los Angeles springs forward at 2026-03-08 02:00 PST to 03:00 PDT. Ordered at 01:30
        // PST (09:30Z) for 03:30 PDT (10:30Z): one real hour, 12 minutes of it preparation.
        let now = at("2026-03-08T09:30:00Z");
        let h = held(decide_hold(
            &order(
                Timing::Scheduled {
                    ready_at: at("2026-03-08T10:30:00Z"),
                },
                "TACO",
            ),
            &store("S1001"),
            now,
            HoldPolicy::default(),
        ));
        assert_eq!(h.release_at, at("2026-03-08T10:18:00Z"));
        assert_eq!(h.seconds_until_release(now), 2_880);
    }

    #[test]
    fn opening_hours_follow_the_stores_wall_clock_across_clock_changes() {
        // S1002 (Times Square, America/New_York): 10:00-23:00, Friday and Saturday to 02:00.
        // An ASAP order is decided at the instant it arrives.
        let s = store("S1002");
        let decide =
            |t: &str| decide_acceptance(&order(asap(), "TACO"), &s, at(t), HoldPolicy::default());
        let open = AcceptDecision::Accept(HoldDecision::SendNow);
        let closed = |d: &AcceptDecision| matches!(d, AcceptDecision::Deny(r) if r.reason == RejectionReason::StoreClosed);
        // Saturday 2026-03-07 is EST (UTC-5): 14:30Z is 09:30, closed; 15:00Z is 10:00, open.
        assert!(closed(&decide("2026-03-07T14:30:00Z")));
        assert_eq!(decide("2026-03-07T15:00:00Z"), open);
        // Sunday 2026-03-08 after the change is EDT (UTC-4): 14:30Z is 10:30, open.
        assert_eq!(decide("2026-03-08T14:30:00Z"), open);
        assert!(closed(&decide("2026-03-08T13:59:59Z")));
        // Saturday night into Sunday 2026-11-01, the autumn change: 01:30 happens twice
        // (05:30Z EDT, 06:30Z EST) and both are within Saturday's hours; 02:30 EST is not.
        assert_eq!(decide("2026-11-01T05:30:00Z"), open);
        assert_eq!(decide("2026-11-01T06:30:00Z"), open);
        assert!(closed(&decide("2026-11-01T07:30:00Z")));
        // Sunday 2026-11-01 after the change is EST (UTC-5): 14:30Z is 09:30, closed, where a
        // fixed EDT offset would make it 10:30 and open; 15:00Z is 10:00, open.
        assert!(closed(&decide("2026-11-01T14:30:00Z")));
        assert_eq!(decide("2026-11-01T15:00:00Z"), open);
    }

    #[test]
    fn a_scheduled_time_in_the_past_means_now() {
        let s = store("S1001");
        let ready_at = now() - TimeDelta::hours(1);
        let d = decide_acceptance(
            &order(Timing::Scheduled { ready_at }, "TACO"),
            &s,
            now(),
            HoldPolicy::default(),
        );
        assert_eq!(d, AcceptDecision::Accept(HoldDecision::SendNow));
    }

    fn reason(d: &AcceptDecision) -> Option<(RejectionReason, &str)> {
        match d {
            AcceptDecision::Deny(r) => Some((r.reason, r.detail.as_str())),
            AcceptDecision::Accept(_) => None,
        }
    }

    #[test]
    fn a_paused_store_denies_with_store_paused_and_its_reason_until_the_pause_lifts() {
        let mut s = store("S1001");
        s.status = StoreStatus::Paused;
        s.pause = Some(Pause {
            reason: "fryer down".to_owned(),
            until: Some(now() + TimeDelta::minutes(30)),
        });
        let o = order(asap(), "TACO");
        let d = decide_acceptance(&o, &s, now(), HoldPolicy::default());
        let (code, detail) = reason(&d).expect("denied");
        assert_eq!(code, RejectionReason::StorePaused);
        assert!(
            detail.contains("fryer down") && detail.contains("until"),
            "{detail}"
        );
        // One second before the end it still holds; at the end it has lifted.
        let end = now() + TimeDelta::minutes(30);
        let before = decide_acceptance(&o, &s, end - TimeDelta::seconds(1), HoldPolicy::default());
        assert_eq!(
            reason(&before).map(|r| r.0),
            Some(RejectionReason::StorePaused)
        );
        let at_end = decide_acceptance(&o, &s, end, HoldPolicy::default());
        assert!(matches!(at_end, AcceptDecision::Accept(_)), "{at_end:?}");
    }

    #[test]
    fn a_pause_without_an_end_holds_until_resumed_and_a_closed_store_is_closed() {
        let s = store("S1003"); // paused in the embedded catalogue, with no pause details
        let d = decide_acceptance(&order(asap(), "TACO"), &s, now(), HoldPolicy::default());
        let (code, detail) = reason(&d).expect("denied");
        assert_eq!(code, RejectionReason::StorePaused);
        assert!(detail.contains("until resumed"), "{detail}");
        let mut closed = store("S1001");
        closed.status = StoreStatus::Closed;
        let d = decide_acceptance(
            &order(asap(), "TACO"),
            &closed,
            now(),
            HoldPolicy::default(),
        );
        assert_eq!(reason(&d).map(|r| r.0), Some(RejectionReason::StoreClosed));
    }

    #[test]
    fn an_order_outside_opening_hours_is_denied() {
        // S1002 opens 10:00-23:00 New York time; 08:00 UTC is 03:00 there.
        let s = store("S1002");
        let d = decide_acceptance(
            &order(asap(), "TACO"),
            &s,
            "2026-11-22T08:00:00Z".parse().unwrap(),
            HoldPolicy::default(),
        );
        assert!(
            matches!(d, AcceptDecision::Deny(ref r) if r.reason == RejectionReason::StoreClosed),
            "{d:?}"
        );
    }

    #[test]
    fn scheduling_beyond_the_store_limit_is_denied() {
        // S1001 takes orders up to 7 days ahead: 2026-11-29T18:00:00Z exactly is the limit.
        let s = store("S1001");
        let decide = |ready_at: &str| {
            decide_acceptance(
                &order(
                    Timing::Scheduled {
                        ready_at: at(ready_at),
                    },
                    "TACO",
                ),
                &s,
                now(),
                HoldPolicy::default(),
            )
        };
        assert!(matches!(
            decide("2026-11-29T18:00:00Z"),
            AcceptDecision::Accept(HoldDecision::Hold(_))
        ));
        let d = decide("2026-11-29T18:00:01Z");
        assert!(
            matches!(d, AcceptDecision::Deny(ref r) if r.reason == RejectionReason::ScheduledTooFarAhead),
            "{d:?}"
        );
    }

    #[test]
    fn no_store_takes_an_order_further_ahead_than_max_schedule_days() {
        // A store that says 30 days is held to MAX_SCHEDULE_DAYS (14) all the same.
        let mut s = store("S1001");
        s.max_schedule_days = 30;
        let decide = |ready_at: &str| {
            decide_acceptance(
                &order(
                    Timing::Scheduled {
                        ready_at: at(ready_at),
                    },
                    "TACO",
                ),
                &s,
                now(),
                HoldPolicy::default(),
            )
        };
        assert!(matches!(
            decide("2026-12-06T18:00:00Z"),
            AcceptDecision::Accept(HoldDecision::Hold(_))
        ));
        let d = decide("2026-12-06T18:00:01Z");
        assert!(
            matches!(d, AcceptDecision::Deny(ref r) if r.reason == RejectionReason::ScheduledTooFarAhead && r.detail.contains("14 days")),
            "{d:?}"
        );
    }

    #[test]
    fn an_unavailable_modifier_is_denied_like_an_item_and_others_are_not() {
        let mut s = store("S1001");
        s.unavailable
            .insert(PosItemCode::parse("ADD-GUAC").unwrap());
        let mut o = order(asap(), "TACO");
        assert!(matches!(
            decide_acceptance(&o, &s, now(), HoldPolicy::default()),
            AcceptDecision::Accept(_)
        ));
        o.items[0].modifiers.push(crate::order::Modifier {
            pos_code: PosItemCode::parse("ADD-GUAC").unwrap(),
            name: "Add guacamole".to_owned(),
            quantity: Quantity::new(1).unwrap(),
            unit_price: Money::new(0, Currency::USD),
        });
        let d = decide_acceptance(&o, &s, now(), HoldPolicy::default());
        assert!(
            matches!(d, AcceptDecision::Deny(ref r) if r.reason == RejectionReason::ItemUnavailable && r.detail.contains("ADD-GUAC")),
            "{d:?}"
        );
    }

    #[test]
    fn an_unavailable_item_is_denied() {
        let mut s = store("S1001");
        s.unavailable.insert(PosItemCode::parse("TACO").unwrap());
        let d = decide_acceptance(&order(asap(), "TACO"), &s, now(), HoldPolicy::default());
        assert!(
            matches!(d, AcceptDecision::Deny(ref r) if r.reason == RejectionReason::ItemUnavailable),
            "{d:?}"
        );
    }

    #[test]
    fn an_open_store_accepts() {
        let s = store("S1001");
        let d = decide_acceptance(&order(asap(), "TACO"), &s, now(), HoldPolicy::default());
        assert_eq!(d, AcceptDecision::Accept(HoldDecision::SendNow));
    }
}
