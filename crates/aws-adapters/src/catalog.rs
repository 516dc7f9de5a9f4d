//! The catalogue tables, read one store at a time and cached per container.
//!
//! * Stores: partition key `id`. `store#<storeId>` holds the store's document (the JSON of one
//!   store in `crates/domain/catalog/catalog.json`: status, pause, hours, special hours, …) in
//!   `doc` and its live menu version in `menuVersion`; `partner#<partner>#<partnerStoreId>`
//!   holds the `storeId` a partner's store id maps to (one alias item per partner id, so a
//!   partner lookup is two `GetItem`s and needs no index).
//! * Menus: partition key `menuId`, sort key `version`; `doc` is the menu's JSON. A version is
//!   never changed once written: publishing writes a new version and moves the stores'
//!   `menuVersion` to it.
//!
//! A lookup costs at most one read of each kind per store per cache TTL (default 60 s); menus
//! are cached by id and version for as long, since a version never changes. A cold container
//! reads the one store it needs, never the whole catalogue.
//!
//! The container counts its lookups and those its cache could not answer alone, and reports
//! both as metrics (`CatalogueLookups`, `CatalogueCacheMisses`) at most once per reporting
//! interval ([`DynamoCatalog::report_every`]): one report a minute, not one per order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use order_domain::{Catalog, Menu, Partner, Store, StoreId};
use pipeline::ports::{CatalogSource, Metric, Metrics, RepoError};

use crate::attr::{Item, get_n, get_s, s};
use crate::repo_error as err;
use crate::tables::{CATALOG_DOC_ATTR, MENUS_KEY, MENUS_VERSION, STORES_KEY};

/// Attribute of a store item: the menu version the store uses.
pub const MENU_VERSION_ATTR: &str = "menuVersion";
/// Attribute of a partner alias item: the chain's store id.
pub const ALIAS_STORE_ATTR: &str = "storeId";

/// The key of store `id`'s item in the stores table.
pub fn store_key(id: &StoreId) -> String {
    format!("{STORE_KEY_PREFIX}{id}")
}

/// What every store item's key starts with (alias items start with `partner#`).
pub const STORE_KEY_PREFIX: &str = "store#";

/// The key of the alias item for the store `partner` calls `partner_store_id`.
pub fn alias_key(partner: Partner, partner_store_id: &str) -> String {
    format!("partner#{partner}#{partner_store_id}")
}

/// How long a looked-up store stays cached, and how many entries a container keeps.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// Time to live of a store (and of a partner id's mapping to it). Zero caches nothing
    /// and reads strongly consistent: for a reader that must see the latest change (the
    /// store-status function, which tells partners a store's status as it is now).
    pub ttl: Duration,
    /// Entries kept at most (stores, partner ids and menus each).
    pub capacity: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            capacity: 10_000,
        }
    }
}

/// The catalogue tables behind [`CatalogSource`], with a per-container cache.
#[derive(Clone)]
pub struct DynamoCatalog {
    client: Client,
    stores: String,
    menus: String,
    by_store: mini_moka::sync::Cache<StoreId, Option<Arc<Catalog>>>,
    by_partner: mini_moka::sync::Cache<(Partner, String), Option<StoreId>>,
    menu_versions: mini_moka::sync::Cache<(String, i64), Arc<Menu>>,
    counts: Arc<Counts>,
    consistent: bool,
}

/// Lookups answered, and those that needed a table read, since the last report.
#[derive(Debug, Default)]
struct Counts {
    lookups: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for DynamoCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoCatalog")
            .field("stores", &self.stores)
            .field("menus", &self.menus)
            .finish_non_exhaustive()
    }
}

impl DynamoCatalog {
    /// The IAM actions its calls need, on both tables.
    pub const IAM_ACTIONS: &'static [&'static str] = &["dynamodb:GetItem"];

    /// The tables `stores` and `menus` through `client`.
    pub fn new(
        client: Client,
        stores: impl Into<String>,
        menus: impl Into<String>,
        cache: CacheSettings,
    ) -> Self {
        let menu_ttl = cache.ttl.max(Duration::from_secs(600));
        Self {
            client,
            stores: stores.into(),
            menus: menus.into(),
            by_store: mini_moka::sync::Cache::builder()
                .time_to_live(cache.ttl)
                .max_capacity(cache.capacity)
                .build(),
            by_partner: mini_moka::sync::Cache::builder()
                .time_to_live(cache.ttl)
                .max_capacity(cache.capacity)
                .build(),
            menu_versions: mini_moka::sync::Cache::builder()
                .time_to_live(menu_ttl)
                .max_capacity(cache.capacity)
                .build(),
            counts: Arc::default(),
            consistent: cache.ttl.is_zero(),
        }
    }

    /// Lookups, and those that needed a table read, counted since the last report (or since
    /// it was built), without resetting them.
    pub fn counted(&self) -> (u64, u64) {
        (
            self.counts.lookups.load(Ordering::Relaxed),
            self.counts.misses.load(Ordering::Relaxed),
        )
    }

    /// Reports the lookups and misses counted to `metrics` every `interval` (those since the
    /// last report; nothing when there were none), from a task on the current tokio runtime.
    /// Outside a runtime, nothing is reported. In Lambda the task runs while the
    /// environment does, so a report may wait for the next invocation.
    pub fn report_every(self, interval: Duration, metrics: Arc<dyn Metrics>) -> Self {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let counts = Arc::downgrade(&self.counts);
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    // The catalogue is gone: nothing more to count.
                    let Some(counts) = counts.upgrade() else {
                        break;
                    };
                    let lookups = counts.lookups.swap(0, Ordering::Relaxed);
                    let misses = counts.misses.swap(0, Ordering::Relaxed);
                    if lookups > 0 || misses > 0 {
                        metrics.record(Metric::CatalogueLookups { count: lookups });
                        metrics.record(Metric::CatalogueCacheMisses { count: misses });
                    }
                }
            });
        }
        self
    }

    async fn get(&self, table: &str, key: Item) -> Result<Option<Item>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(self.consistent)
            .send()
            .await
            .map_err(|e| err("read the catalogue", e))?;
        if let Some(item) = &out.item {
            crate::attr::check_schema(item).map_err(|e| {
                RepoError::new("read the catalogue", format!("an item of {table}: {e}"))
            })?;
        }
        Ok(out.item)
    }

    async fn menu(&self, id: &str, version: i64) -> Result<Option<Arc<Menu>>, RepoError> {
        let cache_key = (id.to_owned(), version);
        if let Some(m) = self.menu_versions.get(&cache_key) {
            return Ok(Some(m));
        }
        let key = Item::from([
            (MENUS_KEY.to_owned(), s(id)),
            (MENUS_VERSION.to_owned(), crate::attr::n(version)),
        ]);
        let Some(item) = self.get(&self.menus, key).await? else {
            return Ok(None);
        };
        let doc = get_s(&item, CATALOG_DOC_ATTR).map_err(|e| bad("menu", id, e))?;
        let menu = Arc::new(Menu::from_json(doc).map_err(|e| bad("menu", id, e))?);
        self.menu_versions.insert(cache_key, menu.clone());
        Ok(Some(menu))
    }

    async fn load_store(&self, id: &StoreId) -> Result<Option<Arc<Catalog>>, RepoError> {
        let key = Item::from([(STORES_KEY.to_owned(), s(store_key(id)))]);
        let Some(item) = self.get(&self.stores, key).await? else {
            return Ok(None);
        };
        let doc = get_s(&item, CATALOG_DOC_ATTR).map_err(|e| bad("store", id.as_str(), e))?;
        let store: Store = serde_json::from_str(doc).map_err(|e| bad("store", id.as_str(), e))?;
        let version = get_n(&item, MENU_VERSION_ATTR).map_err(|e| bad("store", id.as_str(), e))?;
        let menu = self.menu(&store.menu, version).await?.ok_or_else(|| {
            RepoError::new(
                "read the catalogue",
                format!(
                    "store {id} uses menu {} version {version}, which is not in the menus table",
                    store.menu
                ),
            )
        })?;
        let catalog = Catalog::with_shared_menus(vec![store], vec![menu])
            .map_err(|e| bad("store", id.as_str(), e))?;
        Ok(Some(Arc::new(catalog)))
    }
}

fn bad<E: std::error::Error + Send + Sync + 'static>(what: &str, id: &str, e: E) -> RepoError {
    RepoError {
        operation: "read the catalogue",
        message: format!("{what} {id} in the catalogue tables is unusable: {e}"),
        source: Some(Box::new(e)),
    }
}

impl DynamoCatalog {
    /// Store `id`, and whether the cache answered without a read.
    async fn cached_store(&self, id: &StoreId) -> Result<(Option<Arc<Catalog>>, bool), RepoError> {
        if let Some(hit) = self.by_store.get(id) {
            return Ok((hit, true));
        }
        let loaded = self.load_store(id).await?;
        self.by_store.insert(id.clone(), loaded.clone());
        Ok((loaded, false))
    }

    /// Counts one lookup, a miss unless `hit`.
    fn count(&self, hit: bool) {
        self.counts.lookups.fetch_add(1, Ordering::Relaxed);
        if !hit {
            self.counts.misses.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl CatalogSource for DynamoCatalog {
    async fn store(&self, id: &StoreId) -> Result<Option<Arc<Catalog>>, RepoError> {
        let (store, hit) = self.cached_store(id).await?;
        self.count(hit);
        Ok(store)
    }

    async fn partner_store(
        &self,
        partner: Partner,
        partner_store_id: &str,
    ) -> Result<Option<Arc<Catalog>>, RepoError> {
        let cache_key = (partner, partner_store_id.to_owned());
        let (id, alias_hit) = match self.by_partner.get(&cache_key) {
            Some(id) => (id, true),
            None => {
                let key = Item::from([(
                    STORES_KEY.to_owned(),
                    s(alias_key(partner, partner_store_id)),
                )]);
                let id = match self.get(&self.stores, key).await? {
                    Some(item) => {
                        let raw = get_s(&item, ALIAS_STORE_ATTR)
                            .map_err(|e| bad("partner store", partner_store_id, e))?;
                        Some(
                            StoreId::parse(raw)
                                .map_err(|e| bad("partner store", partner_store_id, e))?,
                        )
                    }
                    None => None,
                };
                self.by_partner.insert(cache_key, id.clone());
                (id, false)
            }
        };
        let (store, store_hit) = match id {
            Some(id) => self.cached_store(&id).await?,
            None => (None, true),
        };
        self.count(alias_hit && store_hit);
        Ok(store)
    }
}
