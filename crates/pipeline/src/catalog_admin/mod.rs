//! Operators' changes to the store catalogue, the same whichever door they come through
//! (`cargo xtask catalog`, the catalogue admin route, the local cloud's helpers):
//!
//! * [`Change`]: one change, as a value (pause or resume a store, mark a POS code sold out
//!   or back, set a day's special hours, publish a menu version);
//! * [`CatalogAdmin`]: the port the catalogue's storage implements (the DynamoDB tables in
//!   `aws-adapters`, [`crate::memory::InMemoryCatalogAdmin`] here);
//! * [`document`]: how each change rewrites a store's document, shared by every
//!   implementation;
//! * [`CatalogAdministration`]: the use case, which makes a change and then announces it on
//!   the order bus (`Store Paused`, `Store Resumed`, `Menu Published`, `Item Availability
//!   Changed`);
//! * [`http`]: the admin route's contract (request → change → answer).

pub mod http;
mod in_memory;
pub use in_memory::InMemoryCatalogAdmin;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use order_domain::StoreId;
use order_events::OutboundEvent;
use serde_json::Value;

use crate::ports::{Clock, EventPublisher, PublishError, RepoError};

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The catalogue or change given is not valid.
    #[error("the catalogue is refused: {0}")]
    Invalid(String),
    /// A menu to publish has problems (every one listed); nothing was written and the
    /// version live before stays live.
    #[error("menu {menu:?} is refused ({} problem{}): {}", problems.len(), if problems.len() == 1 { "" } else { "s" }, problems.join("; "))]
    MenuRefused {
        /// The menu's id as given.
        menu: String,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// No such store.
    #[error("store {0} is not in the catalogue")]
    UnknownStore(String),
    /// The POS code is neither an item nor a modifier of the store's menu (a typo would
    /// otherwise mark nothing sold out and be believed).
    #[error(
        "{code} is not an item or modifier of menu {menu} version {version}, which store {store} uses"
    )]
    NotOnMenu {
        /// The store.
        store: String,
        /// The code given.
        code: String,
        /// The store's menu.
        menu: String,
        /// Its version.
        version: i64,
    },
    /// The change itself is not one to make (a pause reason too long, an end already past, a
    /// closed store paused or resumed, a menu no store uses); nothing was written.
    #[error("the change is refused: {0}")]
    InvalidChange(String),
    /// The catalogue changed while this change was made; nothing was written.
    #[error("{0} changed while it was being updated; try again")]
    Conflict(String),
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl AdminError {
    /// A menu that [`order_domain::Menu::checked`] refused.
    pub fn from_menu(e: order_domain::CatalogError) -> Self {
        match e {
            order_domain::CatalogError::Refused { menu, problems } => {
                AdminError::MenuRefused { menu, problems }
            }
            other => AdminError::Invalid(error_chain(&other)),
        }
    }
}

/// `e` and its causes, joined with `: `.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The longest pause reason, characters: it travels in the store's document (read on every
/// order), in refusals and in the `Store Paused` event, so it is a short note, not a payload.
pub const MAX_PAUSE_REASON_CHARS: usize = 200;

/// A pause to set on a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseChange {
    /// Why (shown to operators and in refusals).
    pub reason: String,
    /// When it lifts by itself.
    pub until: Option<DateTime<Utc>>,
}

/// What publishing a menu did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Published {
    /// The menu's id.
    pub menu: String,
    /// The version written.
    pub version: i64,
    /// How many stores moved to it.
    pub stores: usize,
}

/// One live store, as [`CatalogAdmin::list`] reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveStore {
    /// The chain's id.
    pub id: String,
    /// `open`, `paused` or `closed`.
    pub status: String,
    /// Why it is paused, and until when, if it is.
    pub pause: Option<Value>,
    /// Its menu.
    pub menu: String,
    /// The version of `menu` it uses.
    pub menu_version: i64,
    /// POS codes it has sold out.
    pub unavailable: Vec<String>,
    /// Dates with special hours.
    pub special_hours: Vec<String>,
}

/// The catalogue's storage, as operators change it. Each store change returns the store's
/// document as written (the shape of an entry of `stores` in the catalogue file), and is
/// checked to still read as a store before it is written.
#[async_trait]
pub trait CatalogAdmin: Send + Sync {
    /// Pauses store `id` (`Some`) or resumes it (`None`).
    async fn set_pause(
        &self,
        id: &StoreId,
        change: Option<PauseChange>,
    ) -> Result<Value, AdminError>;

    /// Marks POS code `code` sold out at store `id` (`available: false`) or back. A code not
    /// on the store's menu is refused as sold out ([`AdminError::NotOnMenu`]); marking it back
    /// is allowed, so that a code left over from an earlier menu can be cleared.
    async fn set_item_availability(
        &self,
        id: &StoreId,
        code: &str,
        available: bool,
    ) -> Result<Value, AdminError>;

    /// Sets store `id`'s hours on one local `date`: `Some(intervals)` (`"HH:MM-HH:MM"`, `[]`
    /// closes it) or `None` to remove the override.
    async fn set_special_hours(
        &self,
        id: &StoreId,
        date: NaiveDate,
        intervals: Option<Vec<String>>,
    ) -> Result<Value, AdminError>;

    /// Checks menu `json` (every problem listed, [`AdminError::MenuRefused`], nothing
    /// written), writes it as the menu's next version and moves its stores to it.
    async fn publish_menu(&self, json: &str) -> Result<Published, AdminError>;

    /// Every store's status, pause, menu version, sold-out codes and special days, by id.
    async fn list(&self) -> Result<Vec<LiveStore>, AdminError>;
}

/// How each change rewrites a store's document (a JSON object with the shape of an entry
/// of `stores` in the catalogue file).
pub mod document {
    use super::*;

    /// Pauses (`Some`) or resumes (`None`): `status` and `pause`. A closed store is neither
    /// paused nor resumed ([`AdminError::InvalidChange`]): resuming it would open it.
    pub fn set_pause(doc: &mut Value, change: Option<&PauseChange>) -> Result<(), AdminError> {
        if doc["status"] == "closed" {
            return Err(AdminError::InvalidChange(format!(
                "store {} is closed, not open or paused: a pause or resume does not change a closed store",
                doc["id"].as_str().unwrap_or_default()
            )));
        }
        match change {
            Some(p) => {
                doc["status"] = "paused".into();
                doc["pause"] = serde_json::json!({ "reason": p.reason, "until": p.until });
            }
            None => {
                doc["status"] = "open".into();
                if let Some(o) = doc.as_object_mut() {
                    o.remove("pause");
                }
            }
        }
        Ok(())
    }

    /// Adds `code` to (`available: false`) or removes it from the `unavailable` list.
    pub fn set_item_availability(doc: &mut Value, code: &str, available: bool) {
        let mut codes: std::collections::BTreeSet<String> = doc["unavailable"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        if available {
            codes.remove(code);
        } else {
            codes.insert(code.to_owned());
        }
        doc["unavailable"] = codes.into_iter().collect();
    }

    /// Sets (`Some`) or removes (`None`) `date`'s entry of `specialHours`.
    pub fn set_special_hours(doc: &mut Value, date: NaiveDate, intervals: Option<Vec<String>>) {
        let key = date.format("%Y-%m-%d").to_string();
        let mut days = doc["specialHours"].as_object().cloned().unwrap_or_default();
        match intervals {
            Some(list) => {
                days.insert(key, list.into_iter().map(Value::from).collect());
            }
            None => {
                days.remove(&key);
            }
        }
        doc["specialHours"] = Value::Object(days);
    }

    /// Checks that `doc` still reads as a store after a change to store `id`.
    pub fn check(id: &StoreId, doc: &Value) -> Result<(), AdminError> {
        serde_json::from_value::<order_domain::Store>(doc.clone())
            .map(|_| ())
            .map_err(|e| AdminError::Invalid(format!("store {id} after the change: {e}")))
    }

    /// A store's document as [`CatalogAdmin::list`] reports it, on menu version `version`.
    pub fn live_store(doc: &Value, version: i64) -> LiveStore {
        let strings = |v: &Value| -> Vec<String> {
            match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                Value::Object(o) => o.keys().cloned().collect(),
                _ => Vec::new(),
            }
        };
        LiveStore {
            id: doc["id"].as_str().unwrap_or_default().to_owned(),
            status: doc["status"].as_str().unwrap_or("open").to_owned(),
            pause: doc.get("pause").filter(|p| !p.is_null()).cloned(),
            menu: doc["menu"].as_str().unwrap_or_default().to_owned(),
            menu_version: version,
            unavailable: strings(&doc["unavailable"]),
            special_hours: strings(&doc["specialHours"]),
        }
    }
}

/// One change to the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Pause a store.
    Pause {
        /// The store.
        store: StoreId,
        /// Why, and until when.
        pause: PauseChange,
    },
    /// Resume a paused store.
    Resume {
        /// The store.
        store: StoreId,
    },
    /// Mark a POS code sold out (`available: false`) or back.
    ItemAvailability {
        /// The store.
        store: StoreId,
        /// The POS item or modifier code.
        pos_code: String,
        /// Whether it can be ordered.
        available: bool,
    },
    /// Set (`Some`, `[]` closed) or clear (`None`) a day's special hours.
    SpecialHours {
        /// The store.
        store: StoreId,
        /// The store-local date.
        date: NaiveDate,
        /// `"HH:MM-HH:MM"` intervals.
        hours: Option<Vec<String>>,
    },
    /// Publish a menu version (the JSON of one menu, the shape of an entry of `menus` in the
    /// catalogue file).
    PublishMenu {
        /// The menu.
        menu: String,
    },
}

/// The announcement of a change (`subject` is what changed, `store/S1001` or
/// `menu/core-us/v3`: the correlation id, and with the detail-type and `at` in ms the
/// idempotency key).
pub fn announcement<E: order_events::BusEvent>(
    subject: &str,
    data: E,
    at: DateTime<Utc>,
) -> Result<OutboundEvent, AdminError> {
    let key = format!(
        "catalogue/{subject}/{}/{}",
        order_events::slug(E::DETAIL_TYPE),
        at.timestamp_millis()
    );
    OutboundEvent::new(order_events::Metadata::new(subject, key, at), data)
        .map_err(|e| AdminError::Invalid(format!("the announcement cannot be encoded: {e}")))
}

/// The announcement of a pause (`Some`) or a resume (`None`) of store `id`.
pub fn pause_announcement(
    id: &StoreId,
    change: Option<&PauseChange>,
    at: DateTime<Utc>,
) -> Result<OutboundEvent, AdminError> {
    let subject = format!("store/{id}");
    match change {
        Some(c) => announcement(
            &subject,
            order_events::StorePaused {
                store_id: id.clone(),
                reason: c.reason.clone(),
                until: c.until,
            },
            at,
        ),
        None => announcement(
            &subject,
            order_events::StoreResumed {
                store_id: id.clone(),
            },
            at,
        ),
    }
}

/// The announcement of a published menu version.
pub fn menu_announcement(p: &Published, at: DateTime<Utc>) -> Result<OutboundEvent, AdminError> {
    announcement(
        &format!("menu/{}/v{}", p.menu, p.version),
        order_events::MenuPublished {
            menu_id: p.menu.clone(),
            version: p.version,
            stores: p.stores,
        },
        at,
    )
}

/// The announcement of POS code `code` marked sold out (`available: false`) or back at store
/// `id`.
pub fn availability_announcement(
    id: &StoreId,
    code: &str,
    available: bool,
    at: DateTime<Utc>,
) -> Result<OutboundEvent, AdminError> {
    announcement(
        &format!("store/{id}"),
        order_events::ItemAvailabilityChanged {
            store_id: id.clone(),
            pos_code: code.to_owned(),
            available,
        },
        at,
    )
}

/// Why [`CatalogAdministration::apply`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The change was not made.
    #[error(transparent)]
    Refused(#[from] AdminError),
    /// The change is made, but its announcement was not published: publish it again (run the
    /// change again; each is idempotent), do not undo it.
    #[error("the change is made, but its announcement was not published: {0}")]
    NotAnnounced(#[source] PublishError),
}

/// What a change did: the store's document as written, or the menu version published.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Applied {
    /// A store change.
    Store(Value),
    /// A menu published.
    Menu(Published),
}

/// The use case: makes a change through the port, then announces it on the bus. A refused
/// change is not announced; special hours have no event of their own.
pub struct CatalogAdministration {
    /// The catalogue's storage.
    pub admin: Arc<dyn CatalogAdmin>,
    /// The order bus.
    pub bus: Arc<dyn EventPublisher>,
    /// Time, for the announcements.
    pub clock: Arc<dyn Clock>,
}

impl PauseChange {
    /// Checks the pause at `now`: a reason of 1 to [`MAX_PAUSE_REASON_CHARS`] characters, and
    /// an end, if any, still to come (a pause that has already ended would be announced and do
    /// nothing).
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), AdminError> {
        let chars = self.reason.trim().chars().count();
        if chars == 0 || chars > MAX_PAUSE_REASON_CHARS {
            return Err(AdminError::InvalidChange(format!(
                "a pause reason is 1 to {MAX_PAUSE_REASON_CHARS} characters; this one is {chars}"
            )));
        }
        if let Some(until) = self.until
            && until <= now
        {
            return Err(AdminError::InvalidChange(format!(
                "the pause would end at {until}, which has passed (it is {now})"
            )));
        }
        Ok(())
    }
}

impl CatalogAdministration {
    /// Makes `change` and announces it.
    pub async fn apply(&self, change: Change) -> Result<Applied, ChangeError> {
        let at = self.clock.now();
        if let Change::Pause { pause, .. } = &change {
            pause.check(at)?;
        }
        let (applied, event) = match change {
            Change::Pause { store, pause } => {
                let event = pause_announcement(&store, Some(&pause), at)?;
                let doc = self.admin.set_pause(&store, Some(pause)).await?;
                (Applied::Store(doc), Some(event))
            }
            Change::Resume { store } => {
                let doc = self.admin.set_pause(&store, None).await?;
                (
                    Applied::Store(doc),
                    Some(pause_announcement(&store, None, at)?),
                )
            }
            Change::ItemAvailability {
                store,
                pos_code,
                available,
            } => {
                let doc = self
                    .admin
                    .set_item_availability(&store, &pos_code, available)
                    .await?;
                let event = availability_announcement(&store, &pos_code, available, at)?;
                (Applied::Store(doc), Some(event))
            }
            Change::SpecialHours { store, date, hours } => {
                let doc = self.admin.set_special_hours(&store, date, hours).await?;
                (Applied::Store(doc), None)
            }
            Change::PublishMenu { menu } => {
                let published = self.admin.publish_menu(&menu).await?;
                let event = menu_announcement(&published, at)?;
                (Applied::Menu(published), Some(event))
            }
        };
        if let Some(event) = event {
            self.bus
                .publish(&[event])
                .await
                .map_err(ChangeError::NotAnnounced)?;
        }
        Ok(applied)
    }

    /// What is live.
    pub async fn list(&self) -> Result<Vec<LiveStore>, AdminError> {
        self.admin.list().await
    }
}
