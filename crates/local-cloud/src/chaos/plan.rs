//! What a chaos run sends: for each order, from the seed, a scenario (the kind of order and
//! the follow-ups its partner sends), the partner's extra deliveries of the same webhook, and
//! the payloads themselves, built from the samples under `events/partners/`.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use order_domain::Partner;
use serde::Serialize;

use crate::webhooks::Payload;

/// The kind of order, and what its partner does after sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scenario {
    /// An ASAP order the kitchen starts at once (any partner).
    Immediate,
    /// An order the pipeline must refuse (an item not on the menu, a price off the menu).
    Invalid,
    /// Scheduled a little later: held, then released by time.
    Scheduled,
    /// ASAP with the courier still far away: held, and a courier-location event races the
    /// release by time.
    CourierRace,
    /// The partner cancels right after its order webhook was acknowledged.
    CancelBeforeAccept,
    /// The partner cancels once the order is held.
    CancelWhileHeld,
    /// The partner cancels once the order is in the store's POS.
    CancelAfterPos,
}

impl Scenario {
    /// Every scenario, with its share of the orders in percent.
    pub const MIX: [(Scenario, u32); 7] = [
        (Scenario::Immediate, 58),
        (Scenario::Invalid, 8),
        (Scenario::Scheduled, 8),
        (Scenario::CourierRace, 8),
        (Scenario::CancelBeforeAccept, 6),
        (Scenario::CancelWhileHeld, 6),
        (Scenario::CancelAfterPos, 6),
    ];

    /// Whether the order is held before it goes to the POS.
    pub fn held(self) -> bool {
        matches!(
            self,
            Scenario::Scheduled | Scenario::CourierRace | Scenario::CancelWhileHeld
        )
    }

    /// Whether the partner cancels it.
    pub fn cancelled(self) -> bool {
        matches!(
            self,
            Scenario::CancelBeforeAccept | Scenario::CancelWhileHeld | Scenario::CancelAfterPos
        )
    }

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Immediate => "immediate",
            Scenario::Invalid => "invalid",
            Scenario::Scheduled => "scheduled",
            Scenario::CourierRace => "courier race",
            Scenario::CancelBeforeAccept => "cancel before accept",
            Scenario::CancelWhileHeld => "cancel while held",
            Scenario::CancelAfterPos => "cancel after POS",
        }
    }
}

/// Which run a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The chaos run: every kind of order, short holds, faults everywhere.
    #[default]
    Chaos,
    /// A peak: the mix a busy evening brings, pickup times as couriers are dispatched, and
    /// the webhooks partners send besides the order (Dasher statuses, drivers' positions).
    Peak,
}

impl Profile {
    /// The scenarios and their shares, in percent.
    pub fn mix(self) -> &'static [(Scenario, u32)] {
        match self {
            Profile::Chaos => &Scenario::MIX,
            Profile::Peak => &PEAK_MIX,
        }
    }
}

/// A peak's orders: mostly orders made now and picked up by a courier, some scheduled, a few
/// cancelled or refused (assumed shares; a chain's own figures replace them).
pub const PEAK_MIX: [(Scenario, u32); 7] = [
    (Scenario::Immediate, 82),
    (Scenario::Invalid, 2),
    (Scenario::Scheduled, 8),
    (Scenario::CourierRace, 3),
    (Scenario::CancelBeforeAccept, 1),
    (Scenario::CancelWhileHeld, 2),
    (Scenario::CancelAfterPos, 2),
];

/// When the partner delivers the same order webhook again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Delivery {
    /// At the same moment as the first.
    Concurrent,
    /// This long after the first.
    Later(Duration),
    /// After the order has ended (a partner retrying late).
    AfterEnd,
}

/// One order of the run, as planned from the seed.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Its place in the run.
    pub index: usize,
    /// What kind of order.
    pub scenario: Scenario,
    /// Its partner.
    pub partner: Partner,
    /// The sample its webhook is made from (under `events/partners/`).
    pub sample: &'static str,
    /// For a notification-only partner, the order the partner serves when fetched.
    pub fetched: Option<&'static str>,
    /// The field holding the pickup or ready time, and minutes from now to set it to.
    pub time: Option<(&'static str, i64)>,
    /// The partner's follow-up webhook (courier or cancellation) and where its order id is.
    pub follow_up: Option<(&'static str, &'static str)>,
    /// For a courier race: how long after the order the courier event is sent.
    pub courier_after: Duration,
    /// Deliveries of the order webhook beyond the first.
    pub extra: Vec<Delivery>,
    /// Other webhooks its partner sends about it that change nothing (a Dasher's status, a
    /// driver still far away): the sample and where its order id goes.
    pub noise: Vec<(&'static str, &'static str)>,
    /// Stranded on purpose: its Express execution times out as it enters Adapt (the record
    /// made, nothing else), for the sweeper to end it.
    pub stranded: bool,
}

/// The store every sample the run sends is made at.
pub const STORE: &str = "S1001";

/// The preparation time of store S1001, where every sample the run sends is made, as the
/// catalogue (`crates/domain/catalog/catalog.json`) sets it: written here, so the verdict
/// expects each hold from what was sent rather than from the release time the pipeline
/// computed.
pub const S1001_PREP_MINUTES: i64 = 12;

/// The shortest hold worth making (`order_domain::decisions::HoldPolicy::min_hold`, written
/// here so that the verdict's expectation does not come from the code under test): an order
/// whose kitchen start is this close is sent at once. No held scenario is planned near it.
pub const MIN_HOLD_MINUTES: i64 = 2;

/// Minutes from an order to its courier's pickup, as a delivery partner estimates it when the
/// order is placed: triangular over 8 to 30 minutes, most likely 15 (an assumption: couriers
/// are dispatched to arrive about when the food is ready, at worst half an hour out). With
/// S1001's 12 minutes of preparation and the 2-minute minimum hold, an order whose pickup is 15
/// minutes out or more is held: about 73 % of them (P(X < 14.5) = 6.5² / (22 × 7)). The peak
/// run and the bench draw from it.
pub fn courier_pickup_minutes(rng: &mut fastrand::Rng) -> i64 {
    let (low, mode, high) = (8.0_f64, 15.0_f64, 30.0_f64);
    let u = rng.f64();
    let cut = (mode - low) / (high - low);
    let x = if u < cut {
        low + (u * (high - low) * (mode - low)).sqrt()
    } else {
        high - ((1.0 - u) * (high - low) * (high - mode)).sqrt()
    };
    x.round() as i64
}

/// A seeded generator: the same seed gives the same plan.
pub struct Planner {
    rng: fastrand::Rng,
    profile: Profile,
}

impl Planner {
    /// A planner for `seed`.
    pub fn new(seed: u64) -> Self {
        Self::for_profile(seed, Profile::Chaos)
    }

    /// A planner for `seed` and `profile`.
    pub fn for_profile(seed: u64, profile: Profile) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            profile,
        }
    }

    fn scenario(&mut self) -> Scenario {
        let mix = self.profile.mix();
        let total: u32 = mix.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.u32(0..total);
        for (s, w) in mix {
            if pick < *w {
                return *s;
            }
            pick -= w;
        }
        Scenario::Immediate
    }

    fn courier_minutes(&mut self) -> i64 {
        courier_pickup_minutes(&mut self.rng)
    }

    /// The plan of order `index`.
    pub fn order(&mut self, index: usize) -> Planned {
        let scenario = self.scenario();
        // Pickup 15 to 18 minutes out, less S1001's 12 of preparation: holds of 3 to 6
        // minutes, each longer than the 2 minutes below which the pipeline sends at once
        // ([`MIN_HOLD_MINUTES`]) by more than the accept's latency under faults.
        let hold_minutes = self.rng.i64(15..=18);
        let mut p = Planned {
            index,
            scenario,
            partner: Partner::ChainApp,
            sample: "events/partners/app/order.json",
            fetched: None,
            time: None,
            follow_up: None,
            courier_after: Duration::ZERO,
            extra: Vec::new(),
            noise: Vec::new(),
            stranded: false,
        };
        if self.profile == Profile::Peak {
            self.peak(&mut p);
            return p;
        }
        match scenario {
            Scenario::Immediate => match self.rng.u32(0..100) {
                0..35 => {}
                35..60 => {
                    p.partner = Partner::DoorDash;
                    p.sample = "events/partners/doordash/order.json";
                    p.time = Some(("/order/estimated_pickup_time", 5));
                }
                60..85 => {
                    p.partner = Partner::UberEats;
                    p.sample = "events/partners/ubereats/notification.json";
                    p.fetched = Some("events/partners/ubereats/order.json");
                    p.time = Some(("/estimated_ready_for_pickup_at", 5));
                }
                _ => {
                    p.partner = Partner::Grubhub;
                    p.sample = "events/partners/grubhub/order.json";
                    p.time = Some(("/order/fulfillment_info/estimated_pickup_at", 5));
                }
            },
            Scenario::Invalid => {
                if self.rng.bool() {
                    p.partner = Partner::Grubhub;
                    p.sample = "events/partners/grubhub/order-unknown-item.json";
                    p.time = Some(("/order/fulfillment_info/estimated_pickup_at", 5));
                } else {
                    p.sample = "events/partners/app/order-price-mismatch.json";
                }
            }
            Scenario::Scheduled => {
                p.partner = Partner::DoorDash;
                p.sample = "events/partners/doordash/order-scheduled.json";
                p.time = Some(("/order/estimated_pickup_time", hold_minutes));
            }
            Scenario::CourierRace => {
                p.partner = Partner::DoorDash;
                p.sample = "events/partners/doordash/order-2.json";
                p.time = Some(("/order/estimated_pickup_time", hold_minutes));
                p.follow_up = Some((
                    "events/partners/doordash/courier.json",
                    "/external_order_id",
                ));
                p.courier_after = Duration::from_millis(self.rng.u64(0..5_000));
            }
            Scenario::CancelBeforeAccept | Scenario::CancelAfterPos => {
                p.follow_up = Some(("events/partners/app/cancel.json", "/orderId"));
            }
            Scenario::CancelWhileHeld => {
                p.sample = "events/partners/app/order-scheduled.json";
                p.time = Some(("/order/pickupAt", hold_minutes));
                p.follow_up = Some(("events/partners/app/cancel.json", "/orderId"));
            }
        }
        // 1 to 3 deliveries in all: 60 % once, 25 % twice, 15 % three times.
        let copies = match self.rng.u32(0..100) {
            0..60 => 1,
            60..85 => 2,
            _ => 3,
        };
        for _ in 1..copies {
            p.extra.push(match self.rng.u32(0..3) {
                0 => Delivery::Concurrent,
                1 => Delivery::Later(Duration::from_millis(self.rng.u64(500..3_000))),
                _ => Delivery::AfterEnd,
            });
        }
        p
    }

    /// A peak's order: delivery partners' pickups from [`courier_pickup_minutes`], the app's
    /// orders picked up by the customer (no time, sent at once) or by a courier, scheduled
    /// orders 30 minutes to 2 hours out, and the webhooks that follow an order.
    fn peak(&mut self, p: &mut Planned) {
        let courier = self.courier_minutes();
        match p.scenario {
            Scenario::Immediate => match self.rng.u32(0..100) {
                0..20 => {
                    if self.rng.u32(0..100) < 40 {
                        p.sample = "events/partners/app/order-scheduled.json";
                        p.time = Some(("/order/pickupAt", courier));
                    }
                }
                20..65 => {
                    p.partner = Partner::DoorDash;
                    p.sample = "events/partners/doordash/order.json";
                    p.time = Some(("/order/estimated_pickup_time", courier));
                    p.noise.push((
                        "events/partners/doordash/dasher-confirmed.json",
                        "/external_order_id",
                    ));
                }
                65..90 => {
                    p.partner = Partner::UberEats;
                    p.sample = "events/partners/ubereats/notification.json";
                    p.fetched = Some("events/partners/ubereats/order.json");
                    p.time = Some(("/estimated_ready_for_pickup_at", courier));
                }
                _ => {
                    p.partner = Partner::Grubhub;
                    p.sample = "events/partners/grubhub/order.json";
                    p.time = Some(("/order/fulfillment_info/estimated_pickup_at", courier));
                    p.noise
                        .push(("events/partners/grubhub/courier.json", "/order/uuid"));
                }
            },
            Scenario::Invalid => {
                p.sample = "events/partners/app/order-price-mismatch.json";
            }
            Scenario::Scheduled => {
                p.partner = Partner::DoorDash;
                p.sample = "events/partners/doordash/order-scheduled.json";
                p.time = Some(("/order/estimated_pickup_time", self.rng.i64(30..=120)));
            }
            Scenario::CourierRace => {
                p.partner = Partner::DoorDash;
                p.sample = "events/partners/doordash/order-2.json";
                p.time = Some(("/order/estimated_pickup_time", self.rng.i64(18..=30)));
                p.follow_up = Some((
                    "events/partners/doordash/courier.json",
                    "/external_order_id",
                ));
                p.courier_after = Duration::from_millis(self.rng.u64(0..5_000));
            }
            Scenario::CancelBeforeAccept | Scenario::CancelAfterPos => {
                p.follow_up = Some(("events/partners/app/cancel.json", "/orderId"));
            }
            Scenario::CancelWhileHeld => {
                p.sample = "events/partners/app/order-scheduled.json";
                p.time = Some(("/order/pickupAt", self.rng.i64(20..=40)));
                p.follow_up = Some(("events/partners/app/cancel.json", "/orderId"));
            }
        }
    }

    /// A number from the seed for other decisions (kills, windows).
    pub fn u64(&mut self, range: std::ops::Range<u64>) -> u64 {
        self.rng.u64(range)
    }
}

/// An order's webhooks, ready to sign and send.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The partner's order id (unique in the run).
    pub partner_order_id: String,
    /// The pipeline's id for it, `<partner>.<partner order id>`.
    pub order_id: String,
    /// The order webhook's body.
    pub body: Vec<u8>,
    /// The follow-up webhook's body, if any.
    pub follow_up: Option<Vec<u8>>,
    /// For a notification partner, the order to make fetchable.
    pub fetched: Option<serde_json::Value>,
    /// The webhooks that change nothing, ready to send.
    pub noise: Vec<Vec<u8>>,
    /// When the kitchen should start on it (its pickup or ready time minus
    /// [`S1001_PREP_MINUTES`]), if that is later than `now`: the order should be held until
    /// then.
    pub release_at: Option<DateTime<Utc>>,
    /// The latest the POS may take it (the design's promise, [`order_domain::send_by`]): its
    /// kitchen start, but never before [`order_domain::ASAP_PATIENCE`] after it was placed
    /// nor before [`order_domain::RELEASE_GRACE`] after its release. Through an outage it
    /// waits for the POS until then, and is cancelled with its partner after.
    pub send_by: DateTime<Utc>,
}

/// Builds order `p`'s payloads at `now`, with a partner order id unique to `run`.
pub fn prepare(
    root: &Path,
    p: &Planned,
    run: &str,
    now: DateTime<Utc>,
) -> Result<Prepared, String> {
    let timed = |payload: Payload| match p.time {
        Some((pointer, minutes)) if payload.json.pointer(pointer).is_some() => payload
            .at(pointer, now + TimeDelta::minutes(minutes))
            .map_err(|e| e.to_string()),
        _ => Ok(payload),
    };
    let load = |rel: &str| {
        Payload::load(p.partner, &root.join(rel))
            .map(|x| x.rebase(now))
            .map_err(|e| format!("{rel}: {e}"))
    };
    let order = timed(load(p.sample)?)?;
    let id = order.partner_order_id().map_err(|e| e.to_string())?;
    let new_id = format!("{}-{run}-{}", id.as_str(), p.index);
    let order = order.rename(id.as_str(), &new_id);
    let fetched = match p.fetched {
        Some(rel) => Some(timed(load(rel)?)?.rename(id.as_str(), &new_id).json),
        None => None,
    };
    let follow_up = match p.follow_up {
        Some((rel, pointer)) => Some(
            load(rel)?
                .set(pointer, serde_json::Value::from(new_id.clone()))
                .map_err(|e| e.to_string())?
                .body(),
        ),
        None => None,
    };
    let mut noise = Vec::new();
    for (rel, pointer) in &p.noise {
        noise.push(
            load(rel)?
                .set(pointer, serde_json::Value::from(new_id.clone()))
                .map_err(|e| e.to_string())?
                .body(),
        );
    }
    // The body carries whole seconds (`Payload::at`): so does the release time it asks for.
    let whole = |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    let kitchen_start = p.time.map(|(_, minutes)| {
        whole(now + TimeDelta::minutes(minutes)) - TimeDelta::minutes(S1001_PREP_MINUTES)
    });
    let release_at = kitchen_start.filter(|at| *at > now + TimeDelta::minutes(MIN_HOLD_MINUTES));
    let send_by = [
        Some(now + order_domain::ASAP_PATIENCE),
        kitchen_start,
        release_at.map(|at| at + order_domain::RELEASE_GRACE),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(now);
    Ok(Prepared {
        release_at,
        send_by,
        order_id: format!("{}.{new_id}", p.partner.as_str()),
        partner_order_id: new_id,
        body: order.body(),
        follow_up,
        fetched,
        noise,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_plans_the_same_run_and_every_scenario_appears() {
        let plan = |seed| {
            let mut p = Planner::new(seed);
            (0..400)
                .map(|i| {
                    let o = p.order(i);
                    (o.scenario, o.partner, o.extra.len(), o.courier_after)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(plan(7), plan(7));
        assert_ne!(plan(7), plan(8));
        let seen: std::collections::BTreeSet<Scenario> = plan(7).iter().map(|o| o.0).collect();
        assert_eq!(seen.len(), Scenario::MIX.len());
        let copies: Vec<usize> = plan(7).iter().map(|o| o.2).collect();
        assert!(copies.contains(&0) && copies.contains(&1) && copies.contains(&2));
    }

    #[test]
    fn every_planned_order_is_built_from_real_samples_with_its_follow_up() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut planner = Planner::new(1);
        let now: DateTime<Utc> = "2026-11-22T18:00:00Z".parse().unwrap();
        for i in 0..200 {
            let p = planner.order(i);
            let prepared = prepare(&root, &p, "t1", now).unwrap();
            assert!(prepared.partner_order_id.ends_with(&format!("-t1-{i}")));
            let body = String::from_utf8(prepared.body.clone()).unwrap();
            assert!(body.contains(&prepared.partner_order_id), "{body}");
            assert_eq!(prepared.follow_up.is_some(), p.follow_up.is_some());
            if let Some(f) = &prepared.follow_up {
                let f = String::from_utf8(f.clone()).unwrap();
                assert!(f.contains(&prepared.partner_order_id), "{f}");
            }
            assert_eq!(prepared.fetched.is_some(), p.partner == Partner::UberEats);
            // Held scenarios are sent 15 to 18 minutes ahead: 3 to 6 minutes of hold.
            match prepared.release_at {
                Some(at) => {
                    assert!(p.scenario.held(), "{:?}", p.scenario);
                    let minutes = (at - now).num_minutes();
                    assert!((3..=6).contains(&minutes), "{minutes}");
                }
                None => assert!(!p.scenario.held(), "{:?}", p.scenario),
            }
            // The send-by is the design's (order_domain::send_by), from the payload's own
            // times: never before 15 minutes after it was placed; a held order's is its
            // release's plus the 5 minutes' grace.
            let patience = now + order_domain::ASAP_PATIENCE;
            assert!(prepared.send_by >= patience);
            if let Some(at) = prepared.release_at {
                let graced = at + order_domain::RELEASE_GRACE;
                assert_eq!(prepared.send_by, graced.max(patience));
            }
            if p.time.is_none() {
                assert_eq!(prepared.send_by, now + order_domain::ASAP_PATIENCE);
            }
        }
    }
}
