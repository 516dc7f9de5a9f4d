//! Changes to the catalogue tables (see [`crate::catalog`] for their layout): loading a whole
//! catalogue, and pausing or resuming a store. Operators' tools call these, never the order
//! path, so the functions' roles keep `GetItem` alone.

use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use order_domain::{Catalog, StoreId};
use pipeline::ports::RepoError;
use serde_json::Value;

use crate::attr::{Item, get_s, n, s};
use crate::catalog::{ALIAS_STORE_ATTR, MENU_VERSION_ATTR, STORE_KEY_PREFIX, alias_key, store_key};
use crate::repo_error as err;
use crate::tables::{CATALOG_DOC_ATTR, MENUS_KEY, MENUS_VERSION, STORES_KEY};

/// The IAM actions these changes need on the catalogue tables.
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
];

/// How many stores [`publish_menu`] moves to a new version at once.
const PUBLISH_CONCURRENCY: usize = 32;

/// The event announcing a change to the catalogue (`Store Paused`, `Store Resumed`,
/// `Menu Published`, `Item Availability Changed`), for the operators' tools to publish on the
/// order bus once the change is made. `subject` is what changed (`store/S1001`,
/// `menu/core-us/v3`): the correlation id, and with the detail-type and `at` (ms) the
/// idempotency key.
pub fn announcement<E: order_events::BusEvent>(
    subject: &str,
    data: E,
    at: DateTime<Utc>,
) -> Result<order_events::OutboundEvent, AdminError> {
    let key = format!(
        "catalogue/{subject}/{}/{}",
        order_events::slug(E::DETAIL_TYPE),
        at.timestamp_millis()
    );
    order_events::OutboundEvent::new(order_events::Metadata::new(subject, key, at), data)
        .map_err(|e| AdminError::Invalid(format!("the announcement cannot be encoded: {e}")))
}

/// Publishes a change's announcement on the order bus through `bus`. The change is already
/// made, so a failure says so: the caller may publish it again, not make the change again.
pub async fn announce(
    bus: &crate::EventBridgePublisher,
    event: order_events::OutboundEvent,
) -> Result<(), AdminError> {
    use pipeline::ports::EventPublisher as _;
    bus.publish(&[event]).await.map_err(|e| {
        AdminError::Storage(RepoError::new(
            "announce the change",
            format!("the change is made, but its announcement was not published: {e}"),
        ))
    })
}

/// The announcement of a pause (`Some`) or a resume (`None`) of store `id`.
pub fn pause_announcement(
    id: &StoreId,
    change: Option<&PauseChange>,
    at: DateTime<Utc>,
) -> Result<order_events::OutboundEvent, AdminError> {
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
pub fn menu_announcement(
    p: &Published,
    at: DateTime<Utc>,
) -> Result<order_events::OutboundEvent, AdminError> {
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
) -> Result<order_events::OutboundEvent, AdminError> {
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

/// How many store and alias items [`load`] writes at once.
const LOAD_CONCURRENCY: usize = 16;

/// The menu version a loaded catalogue's menus get.
pub const FIRST_MENU_VERSION: i64 = 1;

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The catalogue given is not a valid catalogue.
    #[error("the catalogue is refused: {0}")]
    Invalid(String),
    /// A menu to publish has problems (every one listed); nothing was written and the
    /// version live before stays live.
    #[error("menu {menu:?} is refused ({} problems): {}", problems.len(), problems.join("; "))]
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
    /// The table changed while this change was made; nothing was written.
    #[error("store {0} changed while it was being updated; try again")]
    Conflict(String),
    /// DynamoDB failed.
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// What [`load`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Store items.
    pub stores: usize,
    /// Partner id alias items.
    pub aliases: usize,
    /// Menu items (each at [`FIRST_MENU_VERSION`]).
    pub menus: usize,
}

/// Writes the catalogue `json` (the shape of `crates/domain/catalog/catalog.json`) into the
/// stores and menus tables, after checking it as the functions will read it. Items already
/// there are overwritten; the menus are written before the stores that use them.
pub async fn load(
    client: &Client,
    stores_table: &str,
    menus_table: &str,
    json: &str,
) -> Result<Loaded, AdminError> {
    Catalog::from_json(json).map_err(|e| AdminError::Invalid(error_chain(&e)))?;
    let file: Value = serde_json::from_str(json).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let list = |name: &str| file[name].as_array().cloned().unwrap_or_default();
    let mut loaded = Loaded {
        stores: 0,
        aliases: 0,
        menus: 0,
    };
    for menu in list("menus") {
        let id = menu["id"].as_str().unwrap_or_default().to_owned();
        let item = Item::from([
            (MENUS_KEY.to_owned(), s(id)),
            (MENUS_VERSION.to_owned(), n(FIRST_MENU_VERSION)),
            (CATALOG_DOC_ATTR.to_owned(), s(menu.to_string())),
        ]);
        put(client, menus_table, item).await?;
        loaded.menus += 1;
    }
    // Store and alias items, written LOAD_CONCURRENCY at a time (7,000 stores are about
    // 28,000 items).
    let mut items = Vec::new();
    for store in list("stores") {
        let raw_id = store["id"].as_str().unwrap_or_default();
        let id = StoreId::parse(raw_id).map_err(|e| AdminError::Invalid(e.to_string()))?;
        items.push(Item::from([
            (STORES_KEY.to_owned(), s(store_key(&id))),
            (CATALOG_DOC_ATTR.to_owned(), s(store.to_string())),
            (MENU_VERSION_ATTR.to_owned(), n(FIRST_MENU_VERSION)),
        ]));
        loaded.stores += 1;
        let partner_ids = store["partnerStoreIds"].as_object().cloned();
        for (partner, pid) in partner_ids.into_iter().flatten() {
            let partner: order_domain::Partner = partner
                .parse()
                .map_err(|e: order_domain::IdError| AdminError::Invalid(e.to_string()))?;
            items.push(Item::from([
                (
                    STORES_KEY.to_owned(),
                    s(alias_key(partner, pid.as_str().unwrap_or_default())),
                ),
                (ALIAS_STORE_ATTR.to_owned(), s(id.as_str())),
            ]));
            loaded.aliases += 1;
        }
    }
    use futures::{StreamExt as _, TryStreamExt as _};
    futures::stream::iter(items)
        .map(|item| put(client, stores_table, item))
        .buffer_unordered(LOAD_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(loaded)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn put(client: &Client, table: &str, item: Item) -> Result<(), RepoError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| err("write the catalogue", e))?;
    Ok(())
}

/// What [`publish_menu`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The menu's id.
    pub menu: String,
    /// The version written (one more than the latest there was).
    pub version: i64,
    /// The stores moved to it (every store whose document names the menu).
    pub stores: usize,
}

/// Publishes a new version of a menu: checks `json` (one menu, the shape of an entry of
/// `menus` in the catalogue file) and refuses it with every problem listed
/// ([`AdminError::MenuRefused`]) before writing anything; writes it as the next version
/// (versions are immutable: a concurrent publish of the same version is refused as a
/// [`AdminError::Conflict`]); then moves every store on that menu to it, each with a
/// conditional update, so a store changes version in one step and the functions' caches see
/// it within their TTL. A store that fails to move keeps the version it had and is named in
/// the error; publishing again writes the next version and moves every store to it.
pub async fn publish_menu(
    client: &Client,
    stores_table: &str,
    menus_table: &str,
    json: &str,
) -> Result<Published, AdminError> {
    use futures::StreamExt;
    let menu = order_domain::Menu::checked(json).map_err(|e| match e {
        order_domain::CatalogError::Refused { menu, problems } => {
            AdminError::MenuRefused { menu, problems }
        }
        other => AdminError::Invalid(error_chain(&other)),
    })?;
    let latest = client
        .query()
        .table_name(menus_table)
        .key_condition_expression("#id = :id")
        .expression_attribute_names("#id", MENUS_KEY)
        .expression_attribute_values(":id", s(&menu.id))
        .scan_index_forward(false)
        .limit(1)
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| err("read the menus", e))?
        .items()
        .first()
        .map(|i| crate::attr::get_n(i, MENUS_VERSION))
        .transpose()
        .map_err(|e| AdminError::Invalid(format!("menu {}: {e}", menu.id)))?
        .unwrap_or(0);
    let version = latest + 1;
    let doc: Value = serde_json::from_str(json).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let written = client
        .put_item()
        .table_name(menus_table)
        .set_item(Some(Item::from([
            (MENUS_KEY.to_owned(), s(&menu.id)),
            (MENUS_VERSION.to_owned(), n(version)),
            (CATALOG_DOC_ATTR.to_owned(), s(doc.to_string())),
        ])))
        .condition_expression("attribute_not_exists(#id)")
        .expression_attribute_names("#id", MENUS_KEY)
        .send()
        .await;
    match written {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            return Err(AdminError::Conflict(format!(
                "menu {} version {version}",
                menu.id
            )));
        }
        Err(e) => return Err(err("write the menu", e).into()),
    }
    // The stores on this menu: every store document (an operator's command, not the order
    // path; 7,000 stores are a few MB read).
    let mut on_menu = Vec::new();
    for item in store_items(client, stores_table).await? {
        let doc: Value = get_s(&item, CATALOG_DOC_ATTR)
            .ok()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        if doc["menu"] == menu.id.as_str() {
            on_menu.push(
                get_s(&item, STORES_KEY)
                    .map_err(|e| AdminError::Invalid(e.to_string()))?
                    .to_owned(),
            );
        }
    }
    let moved: Vec<Result<(), (String, String)>> = futures::stream::iter(on_menu)
        .map(|key| async move {
            client
                .update_item()
                .table_name(stores_table)
                .key(STORES_KEY, s(&key))
                .update_expression("SET #v = :new")
                .condition_expression("#v < :new")
                .expression_attribute_names("#v", MENU_VERSION_ATTR)
                .expression_attribute_values(":new", n(version))
                .send()
                .await
                .map(|_| ())
                .or_else(|e| {
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception())
                    {
                        Ok(()) // already on this version or a later one
                    } else {
                        Err((key, crate::repo_error("move the store", e).to_string()))
                    }
                })
        })
        .buffer_unordered(PUBLISH_CONCURRENCY)
        .collect()
        .await;
    let failed: Vec<String> = moved
        .iter()
        .filter_map(|r| r.as_ref().err().map(|(k, e)| format!("{k}: {e}")))
        .collect();
    if !failed.is_empty() {
        return Err(AdminError::Invalid(format!(
            "menu {} version {version} is written, but {} stores did not move to it (publish again): {}",
            menu.id,
            failed.len(),
            failed.join("; ")
        )));
    }
    Ok(Published {
        menu: menu.id,
        version,
        stores: moved.len(),
    })
}

/// A pause to set on a store, or `None` to resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseChange {
    /// Why (shown to operators and in refusals).
    pub reason: String,
    /// When it lifts by itself.
    pub until: Option<DateTime<Utc>>,
}

/// Pauses store `id` (`Some`) or resumes it (`None`): its document's `status` and `pause`
/// change, conditionally on the document not having changed since it was read. Returns the
/// store's document as written.
pub async fn set_pause(
    client: &Client,
    stores_table: &str,
    id: &StoreId,
    change: Option<PauseChange>,
) -> Result<Value, AdminError> {
    change_store(client, stores_table, id, |doc| match change {
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
    })
    .await
}

/// Marks POS item `code` sold out at store `id` (`available: false`, "86'd") or back
/// (`true`): the store document's `unavailable` list changes, conditionally as
/// [`set_pause`]. Returns the store's document as written. A code that is not on the store's
/// menu (in `menus_table`) is refused as sold out ([`AdminError::NotOnMenu`]); marking it back
/// is allowed, so that a code left over from an earlier menu can be cleared.
pub async fn set_item_availability(
    client: &Client,
    stores_table: &str,
    menus_table: &str,
    id: &StoreId,
    code: &str,
    available: bool,
) -> Result<Value, AdminError> {
    if !available {
        ensure_on_menu(client, stores_table, menus_table, id, code).await?;
    }
    change_store(client, stores_table, id, |doc| {
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
    })
    .await
}

/// Sets store `id`'s hours on one local `date` (a holiday, a special day): `Some(intervals)`
/// replaces its weekly hours that day (`[]` closes it, the night past midnight included;
/// each interval as `"HH:MM-HH:MM"`, which may end past midnight), `None` removes the
/// override. Checked as the functions read it (a malformed interval is refused, nothing
/// written), conditionally as [`set_pause`]. Returns the store's document as written.
pub async fn set_special_hours(
    client: &Client,
    stores_table: &str,
    id: &StoreId,
    date: chrono::NaiveDate,
    intervals: Option<Vec<String>>,
) -> Result<Value, AdminError> {
    change_store(client, stores_table, id, |doc| {
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
    })
    .await
}

/// Every store item of the stores table (its `store#` items, not the partner aliases), read
/// with a paginated scan: an operator's command, never the order path (7,000 stores are a few
/// MB).
async fn store_items(client: &Client, stores_table: &str) -> Result<Vec<Item>, AdminError> {
    let mut items = Vec::new();
    let mut pages = client
        .scan()
        .table_name(stores_table)
        .filter_expression("begins_with(#key, :prefix)")
        .expression_attribute_names("#key", STORES_KEY)
        .expression_attribute_values(":prefix", s(STORE_KEY_PREFIX))
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages
        .try_next()
        .await
        .map_err(|e| err("read the stores", e))?
    {
        items.push(item);
    }
    Ok(items)
}

/// One live store, as [`list`] reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveStore {
    /// The chain's id.
    pub id: String,
    /// `open`, `paused` or `closed`.
    pub status: String,
    /// Why it is paused, and until when, if it is.
    pub pause: Option<Value>,
    /// Its menu and the version it uses.
    pub menu: String,
    /// The version of `menu` it uses.
    pub menu_version: i64,
    /// POS codes it has sold out.
    pub unavailable: Vec<String>,
    /// Dates with special hours.
    pub special_hours: Vec<String>,
}

/// What is live: every store's status, pause, menu version, sold-out codes and special days,
/// by id. Reads the whole stores table (an operator's command).
pub async fn list(client: &Client, stores_table: &str) -> Result<Vec<LiveStore>, AdminError> {
    let mut out = Vec::new();
    for item in store_items(client, stores_table).await? {
        let bad = |e: &dyn std::fmt::Display| AdminError::Invalid(e.to_string());
        let doc: Value = serde_json::from_str(get_s(&item, CATALOG_DOC_ATTR).map_err(|e| bad(&e))?)
            .map_err(|e| bad(&e))?;
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
        out.push(LiveStore {
            id: doc["id"].as_str().unwrap_or_default().to_owned(),
            status: doc["status"].as_str().unwrap_or("open").to_owned(),
            pause: doc.get("pause").filter(|p| !p.is_null()).cloned(),
            menu: doc["menu"].as_str().unwrap_or_default().to_owned(),
            menu_version: crate::attr::get_n(&item, MENU_VERSION_ATTR).map_err(|e| bad(&e))?,
            unavailable: strings(&doc["unavailable"]),
            special_hours: strings(&doc["specialHours"]),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Checks that `code` is an item or modifier of the menu version store `id` uses.
async fn ensure_on_menu(
    client: &Client,
    stores_table: &str,
    menus_table: &str,
    id: &StoreId,
    code: &str,
) -> Result<(), AdminError> {
    let get = |table: &str, key: Item| {
        client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
    };
    let store = get(
        stores_table,
        Item::from([(STORES_KEY.to_owned(), s(store_key(id)))]),
    )
    .await
    .map_err(|e| err("read the catalogue", e))?
    .item
    .ok_or_else(|| AdminError::UnknownStore(id.to_string()))?;
    let bad = |e: &dyn std::fmt::Display| AdminError::Invalid(format!("store {id}: {e}"));
    let doc: order_domain::Store =
        serde_json::from_str(get_s(&store, CATALOG_DOC_ATTR).map_err(|e| bad(&e))?)
            .map_err(|e| bad(&e))?;
    let version = crate::attr::get_n(&store, MENU_VERSION_ATTR).map_err(|e| bad(&e))?;
    let menu = get(
        menus_table,
        Item::from([
            (MENUS_KEY.to_owned(), s(&doc.menu)),
            (MENUS_VERSION.to_owned(), n(version)),
        ]),
    )
    .await
    .map_err(|e| err("read the catalogue", e))?
    .item
    .ok_or_else(|| {
        bad(&format!(
            "menu {} version {version} is not in the menus table",
            doc.menu
        ))
    })?;
    let menu = order_domain::Menu::from_json(get_s(&menu, CATALOG_DOC_ATTR).map_err(|e| bad(&e))?)
        .map_err(|e| bad(&e))?;
    let on_menu = menu
        .items
        .iter()
        .chain(&menu.modifiers)
        .any(|e| e.pos_code.as_str() == code);
    if on_menu {
        Ok(())
    } else {
        Err(AdminError::NotOnMenu {
            store: id.to_string(),
            code: code.to_owned(),
            menu: doc.menu,
            version,
        })
    }
}

/// Reads store `id`'s document, applies `change`, checks the result still reads as a store,
/// and writes it back on condition that nobody wrote it in between.
async fn change_store(
    client: &Client,
    stores_table: &str,
    id: &StoreId,
    change: impl FnOnce(&mut Value),
) -> Result<Value, AdminError> {
    let key = Item::from([(STORES_KEY.to_owned(), s(store_key(id)))]);
    let item = client
        .get_item()
        .table_name(stores_table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| err("read the catalogue", e))?
        .item
        .ok_or_else(|| AdminError::UnknownStore(id.to_string()))?;
    let old = get_s(&item, CATALOG_DOC_ATTR)
        .map_err(|e| AdminError::Invalid(e.to_string()))?
        .to_owned();
    let mut doc: Value =
        serde_json::from_str(&old).map_err(|e| AdminError::Invalid(e.to_string()))?;
    change(&mut doc);
    serde_json::from_value::<order_domain::Store>(doc.clone())
        .map_err(|e| AdminError::Invalid(format!("store {id} after the change: {e}")))?;
    let mut new_item = item;
    new_item.insert(CATALOG_DOC_ATTR.to_owned(), s(doc.to_string()));
    let written = client
        .put_item()
        .table_name(stores_table)
        .set_item(Some(new_item))
        .condition_expression("#doc = :old")
        .expression_attribute_names("#doc", CATALOG_DOC_ATTR)
        .expression_attribute_values(":old", s(old))
        .send()
        .await;
    match written {
        Ok(_) => Ok(doc),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Err(AdminError::Conflict(id.to_string()))
        }
        Err(e) => Err(err("write the catalogue", e).into()),
    }
}
