//! The event catalogue of the order bus: every event is a typed struct with its `source` and
//! `detail-type` as constants, wrapped in a [`Detail`] that carries [`Metadata`]
//! (correlation id, idempotency key, schema version). Producers, rule patterns, samples and
//! JSON Schemas are all checked against these types.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod catalogue;
#[cfg(feature = "schema")]
pub mod schema;
mod store_changes;

pub use catalogue::*;
pub use store_changes::*;

/// `source` of events produced at the edge (webhooks).
pub const SOURCE_INTAKE: &str = "chain.orders.intake";
/// `source` of events produced by the order workflow and its functions.
pub const SOURCE_PIPELINE: &str = "chain.orders.pipeline";
/// `source` of the store catalogue's changes (operators' tools).
pub const SOURCE_CATALOGUE: &str = "chain.orders.catalogue";
/// The schema version of an event whose type does not set its own.
pub const SCHEMA_VERSION: u32 = 1;

/// An event type of the catalogue.
pub trait BusEvent: Serialize + DeserializeOwned {
    /// EventBridge `source`.
    const SOURCE: &'static str;
    /// EventBridge `detail-type`.
    const DETAIL_TYPE: &'static str;
    /// The version of its `data` shape, carried in `metadata.schemaVersion`.
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;
}

/// Metadata every event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Metadata {
    /// Version of the `data` shape.
    pub schema_version: u32,
    /// Follows one order across the system.
    pub correlation_id: String,
    /// Stable across re-publications of the same fact, so consumers can drop duplicates.
    pub idempotency_key: String,
    /// When the fact happened.
    pub occurred_at: DateTime<Utc>,
}

impl Metadata {
    /// Metadata for a fact that happened at `occurred_at`.
    pub fn new(
        correlation_id: impl Into<String>,
        idempotency_key: impl Into<String>,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            correlation_id: correlation_id.into(),
            idempotency_key: idempotency_key.into(),
            occurred_at,
        }
    }
}

/// The `detail` of every event: metadata and data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Detail<D> {
    /// Metadata.
    pub metadata: Metadata,
    /// The event's own data.
    pub data: D,
}

/// An event ready for `PutEvents`, or for a workflow's `events:putEvents` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundEvent {
    /// EventBridge `source`.
    pub source: String,
    /// EventBridge `detail-type`.
    pub detail_type: String,
    /// The detail, as JSON.
    pub detail: serde_json::Value,
}

impl OutboundEvent {
    /// Builds the outbound form of a typed event.
    pub fn new<E: BusEvent>(metadata: Metadata, data: E) -> Result<Self, serde_json::Error> {
        let metadata = Metadata {
            schema_version: E::SCHEMA_VERSION,
            ..metadata
        };
        Ok(Self {
            source: E::SOURCE.to_owned(),
            detail_type: E::DETAIL_TYPE.to_owned(),
            detail: serde_json::to_value(Detail { metadata, data })?,
        })
    }

    /// The correlation id in the detail's metadata, if present.
    pub fn correlation_id(&self) -> Option<&str> {
        self.detail
            .pointer("/metadata/correlationId")
            .and_then(|v| v.as_str())
    }

    /// Parses the detail back into a typed event, if it is one.
    pub fn parse<E: BusEvent>(&self) -> Option<Detail<E>> {
        (self.source == E::SOURCE && self.detail_type == E::DETAIL_TYPE)
            .then(|| serde_json::from_value(self.detail.clone()).ok())
            .flatten()
    }

    /// The event as EventBridge delivers it to a target.
    pub fn to_envelope(
        &self,
        id: &str,
        time: DateTime<Utc>,
        account: &str,
        region: &str,
    ) -> serde_json::Value {
        serde_json::json!({
            "version": "0",
            "id": id,
            "detail-type": self.detail_type,
            "source": self.source,
            "account": account,
            "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": region,
            "resources": [],
            "detail": self.detail,
        })
    }
}

/// An event as EventBridge delivers it to a target (rule → Lambda or state machine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<D> {
    /// Always `"0"`.
    #[serde(default)]
    pub version: String,
    /// Event id.
    #[serde(default)]
    pub id: String,
    /// Detail type.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// Source.
    pub source: String,
    /// Account.
    #[serde(default)]
    pub account: String,
    /// Time of the event.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// Resources.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Detail.
    pub detail: D,
}

/// A `detail-type` to file-name slug: `Order Sent To POS` → `order-sent-to-pos`.
pub fn slug(detail_type: &str) -> String {
    detail_type.to_lowercase().replace(' ', "-")
}
