//! The pipeline's decisions: accept or deny an order and why; hold it or send it to the POS
//! now, and until when.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Store, StoreStatus};
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
    /// Whole seconds from `now` until the release time, at least 1 (a workflow timeout of 0
    /// is invalid).
    pub fn seconds_until_release(&self, now: DateTime<Utc>) -> u64 {
        let s = (self.release_at - now).num_seconds();
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

/// Decides whether the store accepts the order: it must be open for orders, in its currency,
/// not scheduled too far ahead, within opening hours when the kitchen would start, and every
/// item must be available.
pub fn decide_acceptance(
    order: &Order,
    store: &Store,
    now: DateTime<Utc>,
    policy: HoldPolicy,
) -> AcceptDecision {
    if store.status != StoreStatus::Open {
        return AcceptDecision::Deny(Rejection::new(
            RejectionReason::StoreClosed,
            format!("store {} is {:?}", store.id, store.status).to_lowercase(),
        ));
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
        let limit = now + TimeDelta::days(i64::from(store.max_schedule_days));
        if ready_at > limit {
            return AcceptDecision::Deny(Rejection::new(
                RejectionReason::ScheduledTooFarAhead,
                format!(
                    "ready time {ready_at} is more than {} days ahead",
                    store.max_schedule_days
                ),
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
    if let Some(line) = order
        .items
        .iter()
        .find(|l| store.unavailable.contains(&l.pos_code))
    {
        return AcceptDecision::Deny(Rejection::new(
            RejectionReason::ItemUnavailable,
            format!("{} is unavailable at store {}", line.pos_code, store.id),
        ));
    }
    AcceptDecision::Accept(decide_hold(order, store, now, policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
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

    #[test]
    fn a_scheduled_order_is_held_until_ready_time_minus_prep_time() {
        let s = store("S1001");
        let ready_at = now() + TimeDelta::hours(2);
        let d = decide_hold(
            &order(Timing::Scheduled { ready_at }, "TACO"),
            &s,
            now(),
            HoldPolicy::default(),
        );
        let HoldDecision::Hold(h) = d else {
            panic!("expected a hold, got {d:?}")
        };
        assert_eq!(h.release_at, ready_at - s.prep_time());
        assert_eq!(
            h.early_release_from,
            h.release_at - TimeDelta::minutes(i64::from(s.early_release_minutes))
        );
        assert_eq!(
            h.seconds_until_release(now()),
            (h.release_at - now()).num_seconds() as u64
        );
        assert!(!h.releasable_by_courier(now()));
        assert!(h.releasable_by_courier(h.early_release_from));
    }

    #[test]
    fn an_asap_order_with_a_far_courier_is_held_and_releasable_by_a_courier_at_once() {
        let s = store("S1001");
        let eta = now() + TimeDelta::minutes(45);
        let d = decide_hold(
            &order(
                Timing::Asap {
                    pickup_eta: Some(eta),
                },
                "TACO",
            ),
            &s,
            now(),
            HoldPolicy::default(),
        );
        let HoldDecision::Hold(h) = d else {
            panic!("expected a hold, got {d:?}")
        };
        assert_eq!(h.release_at, eta - s.prep_time());
        assert!(h.releasable_by_courier(now()));
    }

    #[test]
    fn a_hold_shorter_than_the_minimum_is_not_worth_it() {
        let s = store("S1001");
        let ready_at = now() + s.prep_time() + TimeDelta::seconds(90);
        let d = decide_hold(
            &order(Timing::Scheduled { ready_at }, "TACO"),
            &s,
            now(),
            HoldPolicy::default(),
        );
        assert_eq!(d, HoldDecision::SendNow);
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

    #[test]
    fn a_paused_store_denies_with_store_closed() {
        let s = store("S1003");
        let d = decide_acceptance(&order(asap(), "TACO"), &s, now(), HoldPolicy::default());
        assert!(
            matches!(d, AcceptDecision::Deny(ref r) if r.reason == RejectionReason::StoreClosed),
            "{d:?}"
        );
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
        let s = store("S1001");
        let ready_at = now() + TimeDelta::days(i64::from(s.max_schedule_days) + 1);
        let d = decide_acceptance(
            &order(Timing::Scheduled { ready_at }, "TACO"),
            &s,
            now(),
            HoldPolicy::default(),
        );
        assert!(
            matches!(d, AcceptDecision::Deny(ref r) if r.reason == RejectionReason::ScheduledTooFarAhead),
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
