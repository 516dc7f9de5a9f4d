//! The store catalogue and per-store menu mappings (partner item and modifier ids → POS codes),
//! kept in the repository under `crates/domain/catalog/` and embedded in every binary.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use crate::geo::GeoPoint;
use crate::ids::{Partner, PosItemCode, StoreId};
use crate::money::Currency;

const EMBEDDED: &str = include_str!("../catalog/catalog.json");

/// Why a catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The JSON does not have the catalogue's shape.
    #[error("catalogue JSON is invalid")]
    Json(#[from] serde_json::Error),
    /// The catalogue contradicts itself.
    #[error("catalogue is inconsistent: {0}")]
    Inconsistent(String),
    /// A menu to publish has problems, all of them listed.
    #[error("menu {menu:?} is refused: {}", problems.join("; "))]
    Refused {
        /// The menu's id as given.
        menu: String,
        /// Every problem found.
        problems: Vec<String>,
    },
}

/// Whether a store takes orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreStatus {
    /// Taking orders within its hours.
    Open,
    /// Temporarily not taking orders (too busy, equipment down).
    Paused,
    /// Closed for good or for renovation.
    Closed,
}

/// An opening interval in store-local time; `end` may be past midnight (e.g. 18:00–02:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningInterval {
    start: NaiveTime,
    /// Minutes from `start` to closing.
    minutes: i64,
}

impl<'de> Deserialize<'de> for OpeningInterval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        let (a, b) = text.split_once('-').ok_or_else(|| {
            D::Error::custom(format!("opening interval {text:?} is not HH:MM-HH:MM"))
        })?;
        let parse = |s: &str| {
            if s == "24:00" {
                return NaiveTime::from_hms_opt(0, 0, 0).map(|t| (t, true));
            }
            NaiveTime::parse_from_str(s, "%H:%M")
                .ok()
                .map(|t| (t, false))
        };
        let ((start, _), (end, end_is_24)) = parse(a).zip(parse(b)).ok_or_else(|| {
            D::Error::custom(format!("opening interval {text:?} is not HH:MM-HH:MM"))
        })?;
        let mut minutes = (end - start).num_minutes();
        if minutes <= 0 || end_is_24 {
            minutes += 24 * 60;
        }
        Ok(OpeningInterval { start, minutes })
    }
}

fn weekday_key(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn de_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(d)?;
    name.parse::<Tz>()
        .map_err(|_| serde::de::Error::custom(format!("unknown time zone {name:?}")))
}

/// The furthest ahead any store takes an order, days. An order is held until its release, and
/// everything it needs while held must outlive that: its documents (the claim check keeps them
/// 30 days, `aws_adapters::documents::KEEP_FOR`, which asserts it at compile time), its record
/// and its Standard execution (a year). 14 days covers the partners' scheduling windows (a few
/// days to a week ahead) twice over.
pub const MAX_SCHEDULE_DAYS: u32 = 14;

/// A store of the chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    /// The chain's store number.
    pub id: StoreId,
    /// Display name.
    pub name: String,
    /// IANA time zone of the store.
    #[serde(deserialize_with = "de_tz")]
    pub timezone: Tz,
    /// Where the store is.
    pub location: GeoPoint,
    /// The currency its prices are in.
    pub currency: Currency,
    /// Whether it takes orders.
    pub status: StoreStatus,
    /// Minutes the kitchen needs for a typical order.
    pub prep_minutes: u32,
    /// How long before its release time a courier at the store may release a scheduled order.
    pub early_release_minutes: u32,
    /// A courier closer than this to the store counts as near.
    pub courier_radius_m: f64,
    /// Orders further ahead than this are refused; at most [`MAX_SCHEDULE_DAYS`] (a catalogue
    /// with more is refused when loaded).
    pub max_schedule_days: u32,
    /// Opening hours by weekday key (`mon` … `sun`), store-local.
    pub hours: BTreeMap<String, Vec<OpeningInterval>>,
    /// Hours for particular dates (holidays, special days), store-local, keyed `YYYY-MM-DD`:
    /// they replace the weekday's hours that day; an empty list closes the store all day. An
    /// interval that runs past midnight belongs to the date it starts on.
    #[serde(default)]
    pub special_hours: BTreeMap<NaiveDate, Vec<OpeningInterval>>,
    /// The menu mapping the store uses.
    pub menu: String,
    /// Each partner's id for this store.
    pub partner_store_ids: BTreeMap<Partner, String>,
    /// POS codes temporarily unavailable ("86'd") at this store.
    #[serde(default)]
    pub unavailable: BTreeSet<PosItemCode>,
    /// Why the store is paused and until when, while `status` is `paused`.
    #[serde(default)]
    pub pause: Option<Pause>,
}

/// A store's pause: set by the store or the operations team, lifted by a resume or at `until`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pause {
    /// Why, as the store gave it (shown to operators and in the refusal's detail).
    pub reason: String,
    /// When the pause lifts by itself; `None` until a resume.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

/// Whether a store takes an order now, and if not why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability<'a> {
    /// Taking orders (within its hours).
    Open,
    /// Paused, with the pause's reason and end (absent for a status `paused` set without one).
    Paused(Option<&'a Pause>),
    /// Closed for good or for renovation.
    Closed,
}

impl Store {
    /// Whether the store takes orders at `t` by its status: a pause whose `until` has passed
    /// has lifted.
    pub fn availability_at(&self, t: DateTime<Utc>) -> Availability<'_> {
        match self.status {
            StoreStatus::Open => Availability::Open,
            StoreStatus::Closed => Availability::Closed,
            StoreStatus::Paused => match &self.pause {
                Some(p) if p.until.is_some_and(|u| u <= t) => Availability::Open,
                pause => Availability::Paused(pause.as_ref()),
            },
        }
    }

    /// Whether the store is open at `t`, by its local opening hours (an interval that
    /// started the day before and runs past midnight counts).
    ///
    /// Hours are wall-clock: on the night clocks go forward a store open 18:00–02:00 closes
    /// when 02:00 would have come (at 03:00 local, an hour early in real time), and on the
    /// night they go back it stays open through both 01:00–02:00 hours. A special day's hours
    /// replace the weekday's.
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.timezone).naive_local();
        let today = local.date();
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .any(|day| {
                self.hours_on(day).iter().any(|iv| {
                    let start = day.and_time(iv.start);
                    local >= start && local < start + TimeDelta::minutes(iv.minutes)
                })
            })
    }

    /// The opening intervals that start on local date `day`: its special hours if it has
    /// any, else its weekday's.
    pub fn hours_on(&self, day: NaiveDate) -> &[OpeningInterval] {
        self.special_hours
            .get(&day)
            .or_else(|| self.hours.get(weekday_key(day.weekday())))
            .map_or(&[], Vec::as_slice)
    }

    /// The kitchen's preparation time.
    pub fn prep_time(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.prep_minutes))
    }

    /// Whether a courier at `location`, or `eta_seconds` away, is near enough to start the
    /// kitchen: within the store's radius, or arriving within the preparation time.
    pub fn courier_is_near(&self, location: Option<GeoPoint>, eta_seconds: Option<u32>) -> bool {
        let close = location.is_some_and(|p| p.distance_m(self.location) <= self.courier_radius_m);
        let soon = eta_seconds.is_some_and(|s| i64::from(s) <= self.prep_time().num_seconds());
        close || soon
    }
}

/// One item or modifier of a menu mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuEntry {
    /// POS code.
    pub pos_code: PosItemCode,
    /// Display name.
    pub name: String,
    /// Menu price in the store currency's minor unit.
    pub price_minor: i64,
    /// Each partner's id for this entry.
    pub partner_ids: BTreeMap<Partner, String>,
}

/// A menu mapping shared by stores with the same menu.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Menu {
    /// Menu id stores refer to.
    pub id: String,
    /// How far (minor units) a partner's price may differ from the menu.
    pub price_tolerance_minor: i64,
    /// Items.
    pub items: Vec<MenuEntry>,
    /// Modifiers.
    pub modifiers: Vec<MenuEntry>,
    #[serde(skip)]
    item_index: HashMap<(Partner, String), usize>,
    #[serde(skip)]
    modifier_index: HashMap<(Partner, String), usize>,
    /// Whether the indexes are built (a menu straight from serde has none).
    #[serde(skip)]
    indexed: bool,
}

impl Menu {
    /// Parses one menu (the shape of an entry of `menus` in the catalogue file) and indexes it.
    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let mut menu: Menu = serde_json::from_str(json)?;
        menu.index()?;
        Ok(menu)
    }

    /// Parses a menu to publish and checks it, reporting every problem at once
    /// ([`CatalogError::Refused`]) rather than the first: see [`Menu::problems`].
    pub fn checked(json: &str) -> Result<Self, CatalogError> {
        let menu: Menu = serde_json::from_str(json)?;
        let problems = menu.problems();
        if !problems.is_empty() {
            return Err(CatalogError::Refused {
                menu: menu.id,
                problems,
            });
        }
        let mut menu = menu;
        menu.index()?;
        Ok(menu)
    }

    /// What is wrong with this menu, each problem once, in the order found: an empty id or one
    /// that is not 1 to 64 letters, digits, `-` or `_`, a
    /// negative price tolerance, no items; for items and modifiers, an empty name, a negative
    /// price, no partner id (no partner could order it), a POS code twice, and a partner id
    /// given to two entries (it would map to two POS codes).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.id.trim().is_empty() {
            problems.push("the menu has no id".to_owned());
        } else if self.id.len() > 64
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            problems.push(format!(
                "the menu id {:?} is not 1 to 64 letters, digits, '-' or '_'",
                self.id.chars().take(80).collect::<String>()
            ));
        }
        if self.price_tolerance_minor < 0 {
            problems.push(format!(
                "priceToleranceMinor is negative ({})",
                self.price_tolerance_minor
            ));
        }
        if self.items.is_empty() {
            problems.push("the menu has no items".to_owned());
        }
        for (what, entries) in [("item", &self.items), ("modifier", &self.modifiers)] {
            let mut codes = BTreeSet::new();
            let mut ids: HashMap<(Partner, &str), &PosItemCode> = HashMap::new();
            for e in entries {
                let code = &e.pos_code;
                if e.name.trim().is_empty() {
                    problems.push(format!("{what} {code} has no name"));
                }
                if e.price_minor < 0 {
                    problems.push(format!(
                        "{what} {code} has a negative price ({})",
                        e.price_minor
                    ));
                }
                if e.partner_ids.is_empty() {
                    problems.push(format!("{what} {code} has no partner id"));
                }
                if !codes.insert(code) {
                    problems.push(format!("{what} {code} is listed twice"));
                }
                for (partner, id) in &e.partner_ids {
                    if let Some(other) = ids.insert((*partner, id), code)
                        && other != code
                    {
                        problems.push(format!(
                            "{partner} {what} id {id:?} maps to both {other} and {code}"
                        ));
                    }
                }
            }
        }
        problems
    }

    /// Every item, then every modifier.
    pub fn entries(&self) -> impl Iterator<Item = &MenuEntry> {
        self.items.iter().chain(&self.modifiers)
    }

    /// The item or modifier with POS code `code`, if the menu lists it.
    pub fn entry(&self, code: &str) -> Option<&MenuEntry> {
        self.entries().find(|e| e.pos_code.as_str() == code)
    }

    /// The item a partner calls `partner_item_id`.
    pub fn item(&self, partner: Partner, partner_item_id: &str) -> Option<&MenuEntry> {
        self.item_index
            .get(&(partner, partner_item_id.to_owned()))
            .map(|&i| &self.items[i])
    }

    /// The modifier a partner calls `partner_modifier_id`.
    pub fn modifier(&self, partner: Partner, partner_modifier_id: &str) -> Option<&MenuEntry> {
        self.modifier_index
            .get(&(partner, partner_modifier_id.to_owned()))
            .map(|&i| &self.modifiers[i])
    }

    fn index(&mut self) -> Result<(), CatalogError> {
        fn build(
            menu: &str,
            what: &str,
            entries: &[MenuEntry],
        ) -> Result<HashMap<(Partner, String), usize>, CatalogError> {
            let mut index = HashMap::new();
            for (i, e) in entries.iter().enumerate() {
                for (partner, id) in &e.partner_ids {
                    if index.insert((*partner, id.clone()), i).is_some() {
                        return Err(CatalogError::Inconsistent(format!(
                            "menu {menu}: {partner} {what} id {id:?} maps to two POS codes"
                        )));
                    }
                }
            }
            Ok(index)
        }
        self.item_index = build(&self.id, "item", &self.items)?;
        self.modifier_index = build(&self.id, "modifier", &self.modifiers)?;
        self.indexed = true;
        Ok(())
    }
}

#[derive(Deserialize)]
struct CatalogFile {
    stores: Vec<Store>,
    menus: Vec<Menu>,
}

/// Stores and menus, indexed for the lookups adapters and decisions make.
#[derive(Debug, Clone)]
pub struct Catalog {
    stores: Vec<Store>,
    menus: HashMap<String, Arc<Menu>>,
    by_id: HashMap<StoreId, usize>,
    by_partner_store: HashMap<(Partner, String), usize>,
}

impl Catalog {
    /// The JSON of the catalogue in the repository, embedded at build time.
    pub fn embedded_json() -> &'static str {
        EMBEDDED
    }

    /// The catalogue in the repository, embedded at build time.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_json(EMBEDDED)
    }

    /// Parses and checks a catalogue.
    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = serde_json::from_str(json)?;
        Self::new(file.stores, file.menus)
    }

    /// A catalogue of `stores` and `menus`, checked: menus indexed without duplicate ids, every
    /// store's menu present, no negative price, no store or partner store id twice.
    pub fn new(stores: Vec<Store>, menus: Vec<Menu>) -> Result<Self, CatalogError> {
        Self::with_shared_menus(stores, menus.into_iter().map(Arc::new).collect())
    }

    /// [`Catalog::new`], sharing `menu_list` with other catalogues: a menu already indexed
    /// (from [`Menu::from_json`] or another catalogue) is neither copied nor indexed again, so
    /// one-store catalogues of stores on the same menu hold one copy of it.
    pub fn with_shared_menus(
        stores: Vec<Store>,
        menu_list: Vec<Arc<Menu>>,
    ) -> Result<Self, CatalogError> {
        let mut menus = HashMap::new();
        for mut menu in menu_list {
            if !menu.indexed {
                Arc::make_mut(&mut menu).index()?;
            }
            let id = menu.id.clone();
            if menus.insert(id.clone(), menu).is_some() {
                return Err(CatalogError::Inconsistent(format!(
                    "menu {id} defined twice"
                )));
            }
        }
        let mut by_id = HashMap::new();
        let mut by_partner_store = HashMap::new();
        for (i, store) in stores.iter().enumerate() {
            let menu = menus.get(&store.menu).ok_or_else(|| {
                CatalogError::Inconsistent(format!(
                    "store {} uses unknown menu {}",
                    store.id, store.menu
                ))
            })?;
            if menu.entries().any(|e| e.price_minor < 0) {
                return Err(CatalogError::Inconsistent(format!(
                    "menu {} has a negative price",
                    menu.id
                )));
            }
            if store.max_schedule_days > MAX_SCHEDULE_DAYS {
                return Err(CatalogError::Inconsistent(format!(
                    "store {} takes orders {} days ahead; at most {MAX_SCHEDULE_DAYS} (what an order needs while held must outlive its hold)",
                    store.id, store.max_schedule_days
                )));
            }
            if by_id.insert(store.id.clone(), i).is_some() {
                return Err(CatalogError::Inconsistent(format!(
                    "store {} defined twice",
                    store.id
                )));
            }
            for (partner, pid) in &store.partner_store_ids {
                if by_partner_store
                    .insert((*partner, pid.clone()), i)
                    .is_some()
                {
                    return Err(CatalogError::Inconsistent(format!(
                        "{partner} store id {pid:?} maps to two stores"
                    )));
                }
            }
        }
        Ok(Self {
            stores,
            menus,
            by_id,
            by_partner_store,
        })
    }

    /// A catalogue without stores or menus.
    pub fn empty() -> Self {
        Self {
            stores: Vec::new(),
            menus: HashMap::new(),
            by_id: HashMap::new(),
            by_partner_store: HashMap::new(),
        }
    }

    /// All stores.
    pub fn stores(&self) -> &[Store] {
        &self.stores
    }

    /// All menus, in no particular order.
    pub fn menus(&self) -> impl Iterator<Item = &Menu> {
        self.menus.values().map(Arc::as_ref)
    }

    /// A store by the chain's id.
    pub fn store(&self, id: &StoreId) -> Option<&Store> {
        self.by_id.get(id).map(|&i| &self.stores[i])
    }

    /// The store a partner calls `partner_store_id`.
    pub fn store_for_partner(&self, partner: Partner, partner_store_id: &str) -> Option<&Store> {
        self.by_partner_store
            .get(&(partner, partner_store_id.to_owned()))
            .map(|&i| &self.stores[i])
    }

    /// The menu mapping a store uses (checked to exist at load).
    pub fn menu_of(&self, store: &Store) -> Option<&Menu> {
        self.menus.get(&store.menu).map(Arc::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_menu_to_publish_is_refused_with_every_problem_listed() {
        let json = r#"{"id": "core-us", "priceToleranceMinor": -1, "items": [
            {"posCode": "TACO", "name": "Taco", "priceMinor": 199, "partnerIds": {"app": "sku-taco", "doordash": "MSI-1"}},
            {"posCode": "TACO", "name": "", "priceMinor": -5, "partnerIds": {"app": "sku-taco-2"}},
            {"posCode": "BURRITO", "name": "Burrito", "priceMinor": 249, "partnerIds": {"doordash": "MSI-1"}},
            {"posCode": "NACHOS", "name": "Nachos", "priceMinor": 249, "partnerIds": {}}
        ], "modifiers": []}"#;
        let Err(CatalogError::Refused { menu, problems }) = Menu::checked(json) else {
            panic!("refused");
        };
        assert_eq!(menu, "core-us");
        assert_eq!(
            problems,
            [
                "priceToleranceMinor is negative (-1)",
                "item TACO has no name",
                "item TACO has a negative price (-5)",
                "item TACO is listed twice",
                "doordash item id \"MSI-1\" maps to both TACO and BURRITO",
                "item NACHOS has no partner id",
            ]
        );
        // The repository's menus pass, and the checked menu is indexed.
        let file: serde_json::Value = serde_json::from_str(EMBEDDED).unwrap();
        for m in file["menus"].as_array().unwrap() {
            let menu = Menu::checked(&m.to_string()).unwrap();
            assert!(
                menu.item(Partner::ChainApp, "sku-taco-soft").is_some() || menu.id != "core-us"
            );
        }
    }

    /// A New York store open 18:00–02:00 every night, closed on Christmas Day (all of its
    /// night) and opening late on the spring-forward Sunday at a time that does not exist.
    fn night_store() -> Store {
        let night = r#"["18:00-02:00"]"#;
        let json = format!(
            r#"{{"id": "S9001", "name": "Night", "timezone": "America/New_York",
                "location": {{"lat": 40.7, "lon": -74.0}}, "currency": "USD",
                "status": "open", "prepMinutes": 10, "earlyReleaseMinutes": 10,
                "courierRadiusM": 400, "maxScheduleDays": 7,
                "hours": {{"mon": {night}, "tue": {night}, "wed": {night}, "thu": {night},
                          "fri": {night}, "sat": {night}, "sun": {night}}},
                "specialHours": {{"2026-12-25": [], "2026-03-08": ["02:30-04:00"]}},
                "menu": "core-us", "partnerStoreIds": {{}}}}"#
        );
        serde_json::from_str(&json).expect("the night store parses")
    }

    fn open_at(s: &Store, t: &str) -> bool {
        s.is_open_at(t.parse().expect("an RFC 3339 instant"))
    }

    #[test]
    fn a_night_store_closes_when_two_oclock_would_have_come_on_the_spring_forward_night() {
        let s = night_store();
        // Saturday 2026-03-07 is EST (UTC-5): 18:00 is 23:00Z.
        assert!(!open_at(&s, "2026-03-07T22:59:00Z"));
        assert!(open_at(&s, "2026-03-07T23:00:00Z"));
        // 01:59 EST is 06:59Z; one minute later it is 03:00 EDT, past 02:00: closed.
        assert!(open_at(&s, "2026-03-08T06:59:00Z"));
        // ...except that this Sunday has special hours 02:30-04:00, a start that never
        // happens: the store opens when the clock jumps past it and closes at 04:00 EDT.
        assert!(open_at(&s, "2026-03-08T07:00:00Z"));
        assert!(open_at(&s, "2026-03-08T07:59:00Z"));
        assert!(!open_at(&s, "2026-03-08T08:00:00Z"));
    }

    #[test]
    fn a_night_store_stays_open_through_both_one_oclock_hours_on_the_fall_back_night() {
        let s = night_store();
        // Saturday 2026-10-31 is EDT (UTC-4): 18:00 is 22:00Z.
        assert!(open_at(&s, "2026-10-31T22:00:00Z"));
        // 01:30 EDT (05:30Z), then 01:30 again in EST (06:30Z): both within the night.
        assert!(open_at(&s, "2026-11-01T05:30:00Z"));
        assert!(open_at(&s, "2026-11-01T06:30:00Z"));
        assert!(open_at(&s, "2026-11-01T06:59:00Z"));
        // 02:00 EST (07:00Z) closes it: nine real hours that night instead of eight.
        assert!(!open_at(&s, "2026-11-01T07:00:00Z"));
    }

    #[test]
    fn a_holiday_closes_a_store_that_would_be_open_including_its_night_past_midnight() {
        let s = night_store();
        // Christmas Eve night is an ordinary Thursday night: open at 20:00 EST (01:00Z).
        assert!(open_at(&s, "2026-12-25T01:00:00Z"));
        // ...and its tail past midnight on the 25th belongs to the 24th: open at 01:00 EST.
        assert!(open_at(&s, "2026-12-25T06:00:00Z"));
        // Christmas night, a Friday, is closed: 20:00 EST on the 25th, and 01:00 on the 26th
        // (the tail of the 25th's, now empty, hours).
        assert!(!open_at(&s, "2026-12-26T01:00:00Z"));
        assert!(!open_at(&s, "2026-12-26T06:00:00Z"));
        // The 26th's own night is back to normal.
        assert!(open_at(&s, "2026-12-26T23:00:00Z"));
    }

    fn catalog() -> Catalog {
        Catalog::embedded().expect("the embedded catalogue loads")
    }

    #[test]
    fn the_embedded_catalogue_loads_and_maps_every_partner() {
        let c = catalog();
        assert!(c.stores().len() >= 3);
        let s = c.store(&StoreId::parse("S1001").unwrap()).unwrap();
        for p in Partner::ALL {
            let pid = s.partner_store_ids.get(&p).unwrap();
            assert_eq!(c.store_for_partner(p, pid).unwrap().id, s.id);
        }
    }

    #[test]
    fn menu_lookups_map_partner_ids_to_pos_codes() {
        let c = catalog();
        let s = c.store(&StoreId::parse("S1001").unwrap()).unwrap();
        let menu = c.menu_of(s).unwrap();
        let e = &menu.items[0];
        for (p, id) in &e.partner_ids {
            assert_eq!(menu.item(*p, id).unwrap().pos_code, e.pos_code);
        }
        assert!(menu.item(Partner::DoorDash, "no-such-item").is_none());
    }

    #[test]
    fn one_store_catalogues_share_their_menu_and_an_unindexed_menu_is_indexed() {
        let c = catalog();
        let menu_json = r#"{"id":"core-us","priceToleranceMinor":0,"modifiers":[],
          "items":[{"posCode":"A","name":"A","priceMinor":1,"partnerIds":{"app":"x"}}]}"#;
        let shared = Arc::new(Menu::from_json(menu_json).unwrap());
        let one = |i: usize| {
            Catalog::with_shared_menus(vec![c.stores()[i].clone()], vec![shared.clone()]).unwrap()
        };
        let (a, b) = (one(0), one(1));
        let menu_a = a.menu_of(&a.stores()[0]).unwrap();
        let menu_b = b.menu_of(&b.stores()[0]).unwrap();
        assert!(std::ptr::eq(menu_a, menu_b), "one copy of the menu");
        assert_eq!(
            menu_a
                .item(Partner::ChainApp, "x")
                .unwrap()
                .pos_code
                .as_str(),
            "A"
        );
        // A menu straight from serde has no index: the catalogue builds it.
        let raw: Menu = serde_json::from_str(menu_json).unwrap();
        let c2 =
            Catalog::with_shared_menus(vec![c.stores()[0].clone()], vec![Arc::new(raw)]).unwrap();
        let menu = c2.menu_of(&c2.stores()[0]).unwrap();
        assert!(menu.item(Partner::ChainApp, "x").is_some());
    }

    #[test]
    fn a_partner_id_mapped_twice_is_refused() {
        let json = r#"{"stores":[],"menus":[{"id":"m","priceToleranceMinor":0,"modifiers":[],
          "items":[{"posCode":"A","name":"A","priceMinor":1,"partnerIds":{"app":"x"}},
                   {"posCode":"B","name":"B","priceMinor":1,"partnerIds":{"app":"x"}}]}]}"#;
        let err = Catalog::from_json(json).unwrap_err();
        assert!(err.to_string().contains("maps to two POS codes"), "{err}");
    }

    #[test]
    fn a_store_scheduling_further_ahead_than_max_schedule_days_is_refused() {
        let menu = Menu::checked(r#"{"id":"m","priceToleranceMinor":0,"modifiers":[],"items":[{"posCode":"A","name":"A","priceMinor":1,"partnerIds":{"app":"x"}}]}"#)
            .unwrap();
        let mut s = store_with_hours("{}");
        s.max_schedule_days = MAX_SCHEDULE_DAYS;
        assert!(Catalog::new(vec![s.clone()], vec![menu.clone()]).is_ok());
        s.max_schedule_days = MAX_SCHEDULE_DAYS + 1;
        let err = Catalog::new(vec![s], vec![menu]).unwrap_err();
        assert!(
            err.to_string().contains("15 days ahead; at most 14"),
            "{err}"
        );
    }

    fn store_with_hours(hours: &str) -> Store {
        let json = format!(
            r#"{{"id":"S1","name":"t","timezone":"America/New_York","location":{{"lat":40.7,"lon":-74.0}},
            "currency":"USD","status":"open","prepMinutes":10,"earlyReleaseMinutes":10,"courierRadiusM":300,
            "maxScheduleDays":7,"hours":{hours},"menu":"m","partnerStoreIds":{{}}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn opening_hours_are_read_in_store_local_time() {
        let s = store_with_hours(r#"{"sun":["10:00-22:00"]}"#);
        // 2026-11-22 is a Sunday; New York is UTC-5 in November.
        assert!(s.is_open_at("2026-11-22T15:00:00Z".parse().unwrap()));
        assert!(!s.is_open_at("2026-11-22T14:59:00Z".parse().unwrap()));
        assert!(!s.is_open_at("2026-11-23T03:00:00Z".parse().unwrap()));
    }

    #[test]
    fn an_interval_past_midnight_belongs_to_the_day_it_opens() {
        let s = store_with_hours(r#"{"sat":["18:00-02:00"]}"#);
        // Sunday 01:30 local is inside Saturday's interval.
        assert!(s.is_open_at("2026-11-22T06:30:00Z".parse().unwrap()));
        assert!(!s.is_open_at("2026-11-22T07:30:00Z".parse().unwrap()));
    }

    #[test]
    fn all_day_hours_cover_every_minute() {
        let s = store_with_hours(r#"{"sun":["00:00-24:00"]}"#);
        assert!(s.is_open_at("2026-11-22T05:00:00Z".parse().unwrap()));
        assert!(s.is_open_at("2026-11-23T04:59:00Z".parse().unwrap()));
    }

    #[test]
    fn a_courier_is_near_when_close_or_arriving_within_prep_time() {
        let s = store_with_hours("{}");
        let at_store = GeoPoint::new(40.7, -74.0);
        let far = GeoPoint::new(40.8, -74.0);
        assert!(s.courier_is_near(at_store, None));
        assert!(!s.courier_is_near(far, None));
        assert!(s.courier_is_near(far, Some(600)));
        assert!(!s.courier_is_near(far, Some(601)));
        assert!(!s.courier_is_near(None, None));
    }
}
