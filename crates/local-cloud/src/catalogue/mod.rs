//! The store catalogue in the local cloud: the repository's catalogue
//! (`crates/domain/catalog/catalog.json`) is loaded into the template's stores and menus
//! tables when the cloud starts, as `cargo xtask catalog load` gives a deployed stage its
//! first catalogue; and operators' changes (pause, resume) go to those tables.

pub mod synthetic;

use std::path::Path;

use aws_adapters::catalog_admin::{self, AdminError, Loaded, PauseChange};
use order_domain::StoreId;
use pipeline::catalog_admin::{Applied, Change, ChangeError};

use crate::app::App;
use crate::cloud::CloudError;

/// The stores table's logical id in the template.
pub const STORES_TABLE: &str = "StoresTable";
/// The menus table's logical id in the template.
pub const MENUS_TABLE: &str = "MenusTable";

/// The repository's catalogue, relative to the repository root.
pub const REPOSITORY_CATALOGUE: &str = "crates/domain/catalog/catalog.json";

/// An SDK client for DynamoDB at `endpoint` (the local cloud's DynamoDB, or its IAM front).
pub fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_adapters::AwsConfig::loopback(endpoint).dynamodb()
}

/// The names of the template's catalogue tables, if it has them.
pub fn tables(app: &App) -> Option<(&str, &str)> {
    let name = |id: &str| {
        app.tables
            .iter()
            .find(|t| t.logical_id == id)
            .map(|t| t.name.as_str())
    };
    Some((name(STORES_TABLE)?, name(MENUS_TABLE)?))
}

/// Loads the repository's catalogue into the template's catalogue tables at `endpoint`
/// (nothing if the template has none).
pub async fn load_repository_catalogue(
    app: &App,
    endpoint: &str,
    root: &Path,
) -> Result<Option<Loaded>, CloudError> {
    let Some((stores, menus)) = tables(app) else {
        return Ok(None);
    };
    let path = root.join(REPOSITORY_CATALOGUE);
    let json = std::fs::read_to_string(&path).map_err(|source| CloudError::Io {
        what: format!("reading {}", path.display()),
        source,
    })?;
    catalog_admin::load(&client(endpoint), stores, menus, &json)
        .await
        .map(Some)
        .map_err(|e| CloudError::Catalogue(e.to_string()))
}

/// The catalogue tables (stores, menus), or why a change cannot be made without them.
fn required_tables(app: &App) -> Result<(&str, &str), AdminError> {
    tables(app)
        .ok_or_else(|| AdminError::Invalid("the template has no catalogue tables".to_owned()))
}

/// The catalogue admin use case over a running cloud's catalogue tables and order bus, as an
/// operator's tool has it (`cargo xtask catalog --local`): straight to DynamoDB and the
/// EventBridge API, outside the stack's roles.
pub fn administration(
    cloud: &crate::cloud::LocalCloud,
) -> Result<pipeline::catalog_admin::CatalogAdministration, AdminError> {
    let (stores, menus) = required_tables(&cloud.app)?;
    let bus = cloud
        .app
        .buses
        .first()
        .ok_or_else(|| AdminError::Invalid("the template has no event bus".to_owned()))?;
    let events = aws_adapters::AwsConfig::loopback(&cloud.endpoints.eventbridge).eventbridge();
    Ok(pipeline::catalog_admin::CatalogAdministration {
        admin: std::sync::Arc::new(catalog_admin::DynamoCatalogAdmin::new(
            client(&cloud.endpoints.dynamodb_local),
            stores,
            menus,
        )),
        bus: std::sync::Arc::new(aws_adapters::EventBridgePublisher::new(events, bus.clone())),
        clock: std::sync::Arc::new(pipeline::ports::SystemClock),
    })
}

/// Makes `change` in a running cloud's catalogue and announces it ([`administration`]).
async fn apply(cloud: &crate::cloud::LocalCloud, change: Change) -> Result<Applied, AdminError> {
    administration(cloud)?
        .apply(change)
        .await
        .map_err(|e| match e {
            ChangeError::Refused(e) => e,
            not_announced => AdminError::Storage(pipeline::ports::RepoError::new(
                "announce the change",
                not_announced.to_string(),
            )),
        })
}

/// The store document a store change wrote.
fn store_document(applied: Applied) -> serde_json::Value {
    match applied {
        Applied::Store(doc) => doc,
        Applied::Menu(p) => serde_json::json!(p),
    }
}

/// Publishes a new version of a menu in a running cloud's catalogue, and announces it.
pub async fn publish_menu(
    cloud: &crate::cloud::LocalCloud,
    json: &str,
) -> Result<catalog_admin::Published, AdminError> {
    match apply(
        cloud,
        Change::PublishMenu {
            menu: json.to_owned(),
        },
    )
    .await?
    {
        Applied::Menu(p) => Ok(p),
        Applied::Store(_) => unreachable!("publishing a menu answers with the menu"),
    }
}

/// Marks POS code `code` sold out (`available: false`) or back at store `id` in a running
/// cloud's catalogue, and announces it.
pub async fn set_item_availability(
    cloud: &crate::cloud::LocalCloud,
    id: &StoreId,
    code: &str,
    available: bool,
) -> Result<serde_json::Value, AdminError> {
    let change = Change::ItemAvailability {
        store: id.clone(),
        pos_code: code.to_owned(),
        available,
    };
    apply(cloud, change).await.map(store_document)
}

/// Pauses (`Some`) or resumes (`None`) store `id` in a running cloud's catalogue, and
/// announces it.
pub async fn set_store_pause(
    cloud: &crate::cloud::LocalCloud,
    id: &StoreId,
    change: Option<PauseChange>,
) -> Result<serde_json::Value, AdminError> {
    let change = match change {
        Some(pause) => Change::Pause {
            store: id.clone(),
            pause,
        },
        None => Change::Resume { store: id.clone() },
    };
    apply(cloud, change).await.map(store_document)
}

/// Loads catalogue `json` (the shape of the repository's) into a running cloud's catalogue
/// tables, as `cargo xtask catalog load` does: straight to DynamoDB, outside the meter.
pub async fn load(cloud: &crate::cloud::LocalCloud, json: &str) -> Result<Loaded, AdminError> {
    let (stores, menus) = required_tables(&cloud.app)?;
    catalog_admin::load(
        &client(&cloud.endpoints.dynamodb_local),
        stores,
        menus,
        json,
    )
    .await
}
