//! The store catalogue in the local cloud: the repository's catalogue
//! (`crates/domain/catalog/catalog.json`) is loaded into the template's stores and menus
//! tables when the cloud starts, as `cargo xtask catalog load` gives a deployed stage its
//! first catalogue; and operators' changes (pause, resume) go to those tables.

pub mod synthetic;

use std::path::Path;

use aws_adapters::catalog_admin::{self, AdminError, Loaded, PauseChange};
use order_domain::StoreId;

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

/// Pauses (`Some`) or resumes (`None`) store `id` in the local cloud's catalogue.
pub async fn set_pause(
    app: &App,
    endpoint: &str,
    id: &StoreId,
    change: Option<PauseChange>,
) -> Result<serde_json::Value, AdminError> {
    let (stores, _) = required_tables(app)?;
    catalog_admin::set_pause(&client(endpoint), stores, id, change).await
}

/// Publishes a new version of a menu in a running cloud's catalogue (see
/// [`catalog_admin::publish_menu`]).
pub async fn publish_menu(
    cloud: &crate::cloud::LocalCloud,
    json: &str,
) -> Result<catalog_admin::Published, AdminError> {
    let (stores, menus) = required_tables(&cloud.app)?;
    let published = catalog_admin::publish_menu(
        &client(&cloud.endpoints.dynamodb_local),
        stores,
        menus,
        json,
    )
    .await?;
    announce(
        cloud,
        catalog_admin::menu_announcement(&published, chrono::Utc::now())?,
    )
    .await?;
    Ok(published)
}

/// Marks POS code `code` sold out (`available: false`) or back at store `id` in a running
/// cloud's catalogue, as an operator's tool does (see
/// [`catalog_admin::set_item_availability`]).
pub async fn set_item_availability(
    cloud: &crate::cloud::LocalCloud,
    id: &StoreId,
    code: &str,
    available: bool,
) -> Result<serde_json::Value, AdminError> {
    let (stores, menus) = required_tables(&cloud.app)?;
    let doc = catalog_admin::set_item_availability(
        &client(&cloud.endpoints.dynamodb_local),
        stores,
        menus,
        id,
        code,
        available,
    )
    .await?;
    announce(
        cloud,
        catalog_admin::availability_announcement(id, code, available, chrono::Utc::now())?,
    )
    .await?;
    Ok(doc)
}

/// Pauses (`Some`) or resumes (`None`) store `id` in a running cloud's catalogue, as an
/// operator's tool does: straight to DynamoDB, outside the stack's roles.
pub async fn set_store_pause(
    cloud: &crate::cloud::LocalCloud,
    id: &StoreId,
    change: Option<PauseChange>,
) -> Result<serde_json::Value, AdminError> {
    let event = catalog_admin::pause_announcement(id, change.as_ref(), chrono::Utc::now())?;
    let doc = set_pause(&cloud.app, &cloud.endpoints.dynamodb_local, id, change).await?;
    announce(cloud, event).await?;
    Ok(doc)
}

/// Publishes a change's announcement on the cloud's order bus through its EventBridge API,
/// as an operator's tool does (`cargo xtask catalog`).
async fn announce(
    cloud: &crate::cloud::LocalCloud,
    event: order_events::OutboundEvent,
) -> Result<(), AdminError> {
    let bus = cloud
        .app
        .buses
        .first()
        .ok_or_else(|| AdminError::Invalid("the template has no event bus".to_owned()))?;
    let client = aws_adapters::AwsConfig::loopback(&cloud.endpoints.eventbridge).eventbridge();
    catalog_admin::announce(
        &aws_adapters::EventBridgePublisher::new(client, bus.clone()),
        event,
    )
    .await
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
