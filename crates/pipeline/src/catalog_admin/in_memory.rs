//! The catalogue administration port's in-memory twin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use order_domain::{Catalog, StoreId};

use crate::ports::*;

/// The catalogue admin port over an [`InMemoryCatalog`]: each change rewrites the catalogue
/// file's JSON as the tables' documents are rewritten ([`crate::catalog_admin::document`]),
/// checks the whole catalogue still loads, and replaces what the catalogue holds. Menu
/// versions start at 1 for every menu of the file.
pub struct InMemoryCatalogAdmin {
    file: Mutex<serde_json::Value>,
    versions: Mutex<HashMap<String, i64>>,
    catalog: Arc<InMemoryCatalog>,
}

impl InMemoryCatalogAdmin {
    /// Over `catalog`, which holds the catalogue file `json`.
    pub fn new(
        json: &str,
        catalog: Arc<InMemoryCatalog>,
    ) -> Result<Self, crate::catalog_admin::AdminError> {
        use crate::catalog_admin::{AdminError, error_chain};
        Catalog::from_json(json).map_err(|e| AdminError::Invalid(error_chain(&e)))?;
        let file: serde_json::Value =
            serde_json::from_str(json).map_err(|e| AdminError::Invalid(e.to_string()))?;
        let versions = file["menus"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(|id| (id.to_owned(), 1)))
            .collect();
        Ok(Self {
            file: Mutex::new(file),
            versions: Mutex::new(versions),
            catalog,
        })
    }

    /// The repository's catalogue, embedded at build time.
    pub fn embedded() -> Result<Self, crate::catalog_admin::AdminError> {
        let json = Catalog::embedded_json();
        let catalog = Catalog::from_json(json).map_err(|e| {
            crate::catalog_admin::AdminError::Invalid(crate::catalog_admin::error_chain(&e))
        })?;
        Self::new(json, Arc::new(InMemoryCatalog::new(catalog)))
    }

    /// The catalogue it changes.
    pub fn catalog(&self) -> Arc<InMemoryCatalog> {
        self.catalog.clone()
    }

    /// Loads `file` as the catalogue, or leaves everything as it was.
    fn commit(&self, file: &serde_json::Value) -> Result<(), crate::catalog_admin::AdminError> {
        let catalog = Catalog::from_json(&file.to_string()).map_err(|e| {
            crate::catalog_admin::AdminError::Invalid(crate::catalog_admin::error_chain(&e))
        })?;
        self.catalog.replace(catalog);
        Ok(())
    }

    fn change_store(
        &self,
        id: &StoreId,
        change: impl FnOnce(&mut serde_json::Value) -> Result<(), crate::catalog_admin::AdminError>,
    ) -> Result<serde_json::Value, crate::catalog_admin::AdminError> {
        use crate::catalog_admin::{AdminError, document};
        let mut file = lock(&self.file);
        let mut next = file.clone();
        let doc = next["stores"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .find(|s| s["id"] == id.as_str())
            .ok_or_else(|| AdminError::UnknownStore(id.to_string()))?;
        change(doc)?;
        document::check(id, doc)?;
        let written = doc.clone();
        self.commit(&next)?;
        *file = next;
        Ok(written)
    }
}

#[async_trait]
impl crate::catalog_admin::CatalogAdmin for InMemoryCatalogAdmin {
    async fn set_pause(
        &self,
        id: &StoreId,
        change: Option<crate::catalog_admin::PauseChange>,
    ) -> Result<serde_json::Value, crate::catalog_admin::AdminError> {
        self.change_store(id, |doc| {
            crate::catalog_admin::document::set_pause(doc, change.as_ref())
        })
    }

    async fn set_item_availability(
        &self,
        id: &StoreId,
        code: &str,
        available: bool,
    ) -> Result<serde_json::Value, crate::catalog_admin::AdminError> {
        use crate::catalog_admin::AdminError;
        if !available {
            let catalog = self.catalog.current();
            let store = catalog
                .store(id)
                .ok_or_else(|| AdminError::UnknownStore(id.to_string()))?;
            let menu = catalog.menu_of(store).ok_or_else(|| {
                AdminError::Invalid(format!("store {id}: menu {} is missing", store.menu))
            })?;
            let on_menu = menu.entry(code).is_some();
            if !on_menu {
                let version = lock(&self.versions).get(&menu.id).copied().unwrap_or(1);
                return Err(AdminError::NotOnMenu {
                    store: id.to_string(),
                    code: code.to_owned(),
                    menu: menu.id.clone(),
                    version,
                });
            }
        }
        self.change_store(id, |doc| {
            crate::catalog_admin::document::set_item_availability(doc, code, available);
            Ok(())
        })
    }

    async fn set_special_hours(
        &self,
        id: &StoreId,
        date: chrono::NaiveDate,
        intervals: Option<Vec<String>>,
    ) -> Result<serde_json::Value, crate::catalog_admin::AdminError> {
        self.change_store(id, |doc| {
            crate::catalog_admin::document::set_special_hours(doc, date, intervals);
            Ok(())
        })
    }

    async fn publish_menu(
        &self,
        json: &str,
    ) -> Result<crate::catalog_admin::Published, crate::catalog_admin::AdminError> {
        use crate::catalog_admin::{AdminError, Published};
        let menu = order_domain::Menu::checked(json).map_err(AdminError::from_menu)?;
        let doc: serde_json::Value =
            serde_json::from_str(json).map_err(|e| AdminError::Invalid(e.to_string()))?;
        let mut file = lock(&self.file);
        let used = file["stores"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["menu"] == menu.id.as_str());
        if !used {
            return Err(AdminError::InvalidChange(format!(
                "no store uses menu {:?}: publish a new version of a menu a store uses",
                menu.id
            )));
        }
        let mut next = file.clone();
        let menus = next["menus"]
            .as_array_mut()
            .ok_or_else(|| AdminError::Invalid("the catalogue has no menus".to_owned()))?;
        match menus.iter_mut().find(|m| m["id"] == menu.id.as_str()) {
            Some(m) => *m = doc,
            None => menus.push(doc),
        }
        let stores = next["stores"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["menu"] == menu.id.as_str())
            .count();
        self.commit(&next)?;
        *file = next;
        let mut versions = lock(&self.versions);
        let version = versions.entry(menu.id.clone()).or_insert(0);
        *version += 1;
        Ok(Published {
            menu: menu.id,
            version: *version,
            stores,
        })
    }

    async fn list(
        &self,
    ) -> Result<Vec<crate::catalog_admin::LiveStore>, crate::catalog_admin::AdminError> {
        let file = lock(&self.file);
        let versions = lock(&self.versions);
        let mut out: Vec<_> = file["stores"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|doc| {
                let menu = doc["menu"].as_str().unwrap_or_default();
                let version = versions.get(menu).copied().unwrap_or(1);
                crate::catalog_admin::document::live_store(doc, version)
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}
