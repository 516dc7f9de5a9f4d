//! Changes to the catalogue tables (see [`crate::catalog`] for their layout): loading a whole
//! catalogue, and the operators' changes of [`pipeline::catalog_admin`] ([`DynamoCatalogAdmin`]
//! is that port over the tables). Operators' tools and the catalogue admin function call
//! these, never the order path, so the order functions' roles keep `GetItem` alone.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use order_domain::{Catalog, StoreId};
pub use pipeline::catalog_admin::{
    AdminError, LiveStore, PauseChange, Published, availability_announcement, menu_announcement,
    pause_announcement,
};
use pipeline::catalog_admin::{CatalogAdmin, document, error_chain};
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

/// The IAM actions a pause or resume ([`set_pause`]) needs, on the stores table only: it
/// reads the store's document and writes it back on condition. A role that only pauses and
/// resumes (the sweeper's POS watch) gets these, not [`IAM_ACTIONS`].
pub const PAUSE_IAM_ACTIONS: &[&str] = &["dynamodb:GetItem", "dynamodb:PutItem"];

/// The largest menu [`publish_menu`] takes, bytes of JSON: DynamoDB's 400 KB item limit less
/// room for the key and attribute names.
pub const MAX_MENU_BYTES: usize = 390 * 1024;

/// How many stores [`publish_menu`] moves to a new version at once.
const PUBLISH_CONCURRENCY: usize = 32;

/// How many store and alias items [`load`] writes at once.
const LOAD_CONCURRENCY: usize = 16;

/// The menu version a loaded catalogue's menus get.
pub const FIRST_MENU_VERSION: i64 = 1;

/// What [`load`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Store items.
    pub stores: usize,
    /// Partner id alias items.
    pub aliases: usize,
    /// Menu items (each at [`FIRST_MENU_VERSION`]).
    pub menus: usize,
    /// Items already in the tables, kept as they are (counted in the fields above too).
    pub kept: usize,
}

/// Seeds the stores and menus tables with the catalogue `json` (the shape of
/// `crates/domain/catalog/catalog.json`), after checking it as the functions will read it: a
/// stage's first catalogue. An item already there is kept, never overwritten (a conditional
/// put): loading again must not roll a store back to menu version 1 or rewrite a version,
/// which the functions cache as immutable; changes go through the changes of
/// [`pipeline::catalog_admin`]. The menus are written before the stores that use them.
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
        kept: 0,
    };
    for menu in list("menus") {
        let id = menu["id"].as_str().unwrap_or_default().to_owned();
        let item = Item::from([
            (MENUS_KEY.to_owned(), s(id)),
            (MENUS_VERSION.to_owned(), n(FIRST_MENU_VERSION)),
            (CATALOG_DOC_ATTR.to_owned(), s(menu.to_string())),
            (
                crate::attr::SCHEMA_VERSION_ATTR.to_owned(),
                crate::attr::schema_version(),
            ),
        ]);
        if !put_new(client, menus_table, MENUS_KEY, item).await? {
            loaded.kept += 1;
        }
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
            (
                crate::attr::SCHEMA_VERSION_ATTR.to_owned(),
                crate::attr::schema_version(),
            ),
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
                (
                    crate::attr::SCHEMA_VERSION_ATTR.to_owned(),
                    crate::attr::schema_version(),
                ),
            ]));
            loaded.aliases += 1;
        }
    }
    use futures::{StreamExt as _, TryStreamExt as _};
    futures::stream::iter(items)
        .map(|item| put_new(client, stores_table, STORES_KEY, item))
        .buffer_unordered(LOAD_CONCURRENCY)
        .try_collect::<Vec<bool>>()
        .await?
        .into_iter()
        .for_each(|written| loaded.kept += usize::from(!written));
    Ok(loaded)
}

/// Puts `item` unless an item with its key (attribute `key`) is there: whether it was written.
async fn put_new(client: &Client, table: &str, key: &str, item: Item) -> Result<bool, RepoError> {
    let written = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#k)")
        .expression_attribute_names("#k", key)
        .send()
        .await;
    match written {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(err("write the catalogue", e)),
    }
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
    let menu = order_domain::Menu::checked(json).map_err(AdminError::from_menu)?;
    // A version is one item: DynamoDB's item limit is 400 KB (DynamoDB quotas, "Item size"),
    // keys and attribute names included.
    if json.len() > MAX_MENU_BYTES {
        return Err(AdminError::InvalidChange(format!(
            "menu {:?} is {} bytes; a menu version is one DynamoDB item, so at most {MAX_MENU_BYTES}",
            menu.id,
            json.len()
        )));
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
    if on_menu.is_empty() {
        // A typo in the id would otherwise publish a menu no store reads, and be believed.
        return Err(AdminError::InvalidChange(format!(
            "no store uses menu {:?}: publish a new version of a menu a store uses",
            menu.id
        )));
    }
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
            (
                crate::attr::SCHEMA_VERSION_ATTR.to_owned(),
                crate::attr::schema_version(),
            ),
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
    let moved: Vec<Result<(), (String, String)>> = futures::stream::iter(on_menu)
        .map(|key| async move {
            client
                .update_item()
                .table_name(stores_table)
                .key(STORES_KEY, s(&key))
                .update_expression(crate::attr::set_schema_version("SET #v = :new"))
                .expression_attribute_values(
                    crate::attr::SCHEMA_VERSION_VALUE,
                    crate::attr::schema_version(),
                )
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

/// Pauses store `id` (`Some`) or resumes it (`None`): its document's `status` and `pause`
/// change, conditionally on the document not having changed since it was read. Returns the
/// store's document as written.
pub async fn set_pause(
    client: &Client,
    stores_table: &str,
    id: &StoreId,
    change: Option<PauseChange>,
) -> Result<Value, AdminError> {
    change_store(client, stores_table, id, |doc| {
        document::set_pause(doc, change.as_ref())
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
        document::set_item_availability(doc, code, available);
        Ok(())
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
        document::set_special_hours(doc, date, intervals);
        Ok(())
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

/// What is live: every store's status, pause, menu version, sold-out codes and special days,
/// by id. Reads the whole stores table (an operator's command).
pub async fn list(client: &Client, stores_table: &str) -> Result<Vec<LiveStore>, AdminError> {
    let mut out = Vec::new();
    for item in store_items(client, stores_table).await? {
        let bad = |e: &dyn std::fmt::Display| AdminError::Invalid(e.to_string());
        let doc: Value = serde_json::from_str(get_s(&item, CATALOG_DOC_ATTR).map_err(|e| bad(&e))?)
            .map_err(|e| bad(&e))?;
        let version = crate::attr::get_n(&item, MENU_VERSION_ATTR).map_err(|e| bad(&e))?;
        out.push(document::live_store(&doc, version));
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
    let on_menu = menu.entry(code).is_some();
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
    change: impl FnOnce(&mut Value) -> Result<(), AdminError>,
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
    change(&mut doc)?;
    document::check(id, &doc)?;
    crate::attr::check_schema(&item).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let mut new_item = item;
    new_item.insert(CATALOG_DOC_ATTR.to_owned(), s(doc.to_string()));
    new_item.insert(
        crate::attr::SCHEMA_VERSION_ATTR.to_owned(),
        crate::attr::schema_version(),
    );
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
            Err(AdminError::Conflict(format!("store {id}")))
        }
        Err(e) => Err(err("write the catalogue", e).into()),
    }
}

/// The catalogue admin port ([`pipeline::catalog_admin::CatalogAdmin`]) over the stores and
/// menus tables: each method is the function of this module with the same name. The role
/// needs [`IAM_ACTIONS`] on both tables.
#[derive(Debug, Clone)]
pub struct DynamoCatalogAdmin {
    client: Client,
    stores_table: String,
    menus_table: String,
}

impl DynamoCatalogAdmin {
    /// Over `stores_table` and `menus_table`.
    pub fn new(
        client: Client,
        stores_table: impl Into<String>,
        menus_table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            stores_table: stores_table.into(),
            menus_table: menus_table.into(),
        }
    }
}

#[async_trait]
impl CatalogAdmin for DynamoCatalogAdmin {
    async fn set_pause(
        &self,
        id: &StoreId,
        change: Option<PauseChange>,
    ) -> Result<Value, AdminError> {
        set_pause(&self.client, &self.stores_table, id, change).await
    }

    async fn set_item_availability(
        &self,
        id: &StoreId,
        code: &str,
        available: bool,
    ) -> Result<Value, AdminError> {
        set_item_availability(
            &self.client,
            &self.stores_table,
            &self.menus_table,
            id,
            code,
            available,
        )
        .await
    }

    async fn set_special_hours(
        &self,
        id: &StoreId,
        date: chrono::NaiveDate,
        intervals: Option<Vec<String>>,
    ) -> Result<Value, AdminError> {
        set_special_hours(&self.client, &self.stores_table, id, date, intervals).await
    }

    async fn publish_menu(&self, json: &str) -> Result<Published, AdminError> {
        publish_menu(&self.client, &self.stores_table, &self.menus_table, json).await
    }

    async fn list(&self) -> Result<Vec<LiveStore>, AdminError> {
        list(&self.client, &self.stores_table).await
    }
}
