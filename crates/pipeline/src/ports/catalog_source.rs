//! Where the use cases read the store catalogue, and the in-memory twin.

use std::sync::Arc;

use async_trait::async_trait;
use order_domain::{Catalog, Partner, StoreId};

use super::*;

/// The store catalogue as the order path reads it, one store at a time: for a store, a
/// [`Catalog`] holding that store and its menu. `None`: the chain has no such store.
///
/// An implementation may return more than the one store (the in-memory twin returns the whole
/// catalogue); callers look the store up in what they get. Errors are storage errors
/// (transient: the workflow retries the step).
#[async_trait]
pub trait CatalogSource: Send + Sync {
    /// The catalogue holding store `id` (the chain's store number) and its menu.
    async fn store(&self, id: &StoreId) -> Result<Option<Arc<Catalog>>, RepoError>;

    /// The catalogue holding the store `partner` calls `partner_store_id`, and its menu.
    async fn partner_store(
        &self,
        partner: Partner,
        partner_store_id: &str,
    ) -> Result<Option<Arc<Catalog>>, RepoError>;
}

/// A catalogue held whole in memory (the repository's, embedded in the binary, or a test's):
/// every lookup answers with all of it. [`InMemoryCatalog::replace`] changes it at runtime, as
/// an operator's change to the catalogue table does.
#[derive(Debug)]
pub struct InMemoryCatalog(std::sync::RwLock<Arc<Catalog>>);

impl InMemoryCatalog {
    /// Holds `catalog`.
    pub fn new(catalog: Catalog) -> Self {
        Self(std::sync::RwLock::new(Arc::new(catalog)))
    }

    /// The repository's catalogue, embedded at build time.
    pub fn embedded() -> Result<Self, order_domain::CatalogError> {
        Catalog::embedded().map(Self::new)
    }

    /// What it holds now.
    pub fn current(&self) -> Arc<Catalog> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Holds `catalog` from now on.
    pub fn replace(&self, catalog: Catalog) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(catalog);
    }
}

#[async_trait]
impl CatalogSource for InMemoryCatalog {
    async fn store(&self, id: &StoreId) -> Result<Option<Arc<Catalog>>, RepoError> {
        let c = self.current();
        Ok(c.store(id).is_some().then_some(c))
    }

    async fn partner_store(
        &self,
        partner: Partner,
        partner_store_id: &str,
    ) -> Result<Option<Arc<Catalog>>, RepoError> {
        let c = self.current();
        Ok(c.store_for_partner(partner, partner_store_id)
            .is_some()
            .then_some(c))
    }
}
