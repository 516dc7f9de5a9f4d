//! The ports the use cases talk to. Each has an in-memory twin in [`crate::memory`] and a real
//! adapter elsewhere (`aws-adapters`, `http-clients`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_domain::{
    Catalog, Hold, Order, OrderId, OrderStatus, Partner, PartnerOrderId, PosOrderId, StoreId,
};
use order_events::{DocumentRef, OutboundEvent};
use partners::{OrderRef, PartnerAction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct RepoError {
    /// What was attempted.
    pub operation: &'static str,
    /// What went wrong.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl RepoError {
    /// A failure without an underlying error value.
    pub fn new(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            message: message.into(),
            source: None,
        }
    }

    /// A failure caused by `source`.
    pub fn caused(
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            operation,
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }
}

/// An OAuth access token as every process of the fleet shares it (Uber Eats' client
/// credentials token: [`TokenStore`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SharedToken {
    /// The access token.
    pub token: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// When to fetch the next (a margin before it expires).
    pub refresh_at: DateTime<Utc>,
    /// When it expires (usable until then if a new one cannot be had).
    pub expires_at: DateTime<Utc>,
    /// Whether it was fetched because the one before was refused (401).
    pub after_401: bool,
}

impl std::fmt::Debug for SharedToken {
    /// Times only; never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedToken")
            .field("fetched_at", &self.fetched_at)
            .field("refresh_at", &self.refresh_at)
            .field("expires_at", &self.expires_at)
            .field("after_401", &self.after_401)
            .finish_non_exhaustive()
    }
}

/// Why the fleet's last token fetch failed, kept while fetches are held off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    /// The token endpoint's answer, as the fetching process reported it.
    pub message: String,
    /// Whether retrying cannot help (a refused client credential, an invalid scope).
    pub permanent: bool,
}

/// What the store holds under a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token, once one was kept.
    pub token: Option<SharedToken>,
    /// Until when no other process may fetch: one is fetching, or (with `failure`) fetches
    /// are held off after a failure.
    pub lease_until: Option<DateTime<Utc>>,
    /// The last fetch's failure, while fetches are held off.
    pub failure: Option<FetchFailure>,
}

/// Where the fleet keeps its access tokens, so that one process fetches each and every other
/// reuses it: a partner that rate-limits its token endpoint (Uber: 100 an hour) is asked once
/// per token life, not once per Lambda execution environment. `key` names the partner, client
/// and scope (never the secret).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// What is kept under `key` (read strongly consistent; empty if nothing).
    async fn get(&self, key: &str) -> Result<TokenRecord, RepoError>;
    /// Takes the right to fetch the next token under `key` until `until`: only if no lease
    /// runs at `now` and the token kept is still the one fetched at `seen` (`None`: none
    /// kept), so a process that read before another's token landed does not fetch again.
    /// Whether it was taken.
    async fn lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        seen: Option<DateTime<Utc>>,
    ) -> Result<bool, RepoError>;
    /// Keeps `token` under `key` and ends `holder`'s lease, if `holder` still holds it:
    /// whether it was kept (if not, another holder is fetching and will keep its own).
    async fn put(&self, key: &str, holder: &str, token: &SharedToken) -> Result<bool, RepoError>;
    /// `holder`'s fetch failed: no process fetches under `key` until `until`, and those that
    /// look meanwhile are given `failure`. Whether `holder` still held the lease.
    async fn fail(
        &self,
        key: &str,
        holder: &str,
        until: DateTime<Utc>,
        failure: &FetchFailure,
    ) -> Result<bool, RepoError>;
}

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

/// The claim-check store: a document (a webhook body, a canonical order) is stored once and
/// passed everywhere else by its [`DocumentRef`], so no event or workflow state carries more
/// than a reference whatever the order's size, and the customer's name, phone, address and
/// notes stay in the documents table (the bus archive, the bus's dead-letter queue and the
/// workflows' histories keep what they carry for weeks). Every document is stored; none
/// travels inline (a reference an earlier release wrote inline is still read: [`inline_body`]).
#[async_trait]
pub trait Documents: Send + Sync {
    /// Stores `body` under a key made of `prefix` and the body's SHA-256 (storing the same
    /// body again is harmless) and returns its reference.
    async fn put(&self, prefix: &str, body: &[u8]) -> Result<DocumentRef, RepoError>;
    /// The document's bytes, checked against the reference's size and SHA-256; `None` if it
    /// is not there (never stored, or expired).
    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError>;
}

/// Documents a use case may read but not write (accept-order and pos read the canonical
/// order; their roles allow reads only): a write is an error that says so.
pub struct ReadOnlyDocuments(pub std::sync::Arc<dyn Documents>);

#[async_trait]
impl Documents for ReadOnlyDocuments {
    async fn put(&self, prefix: &str, _body: &[u8]) -> Result<DocumentRef, RepoError> {
        Err(RepoError::new(
            "store document",
            format!("this function only reads documents (storing {prefix})"),
        ))
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        self.0.get(r).await
    }
}

/// Documents a use case may write but not read (intake stores webhook bodies; its role allows
/// writes only): a read is an error that says so.
pub struct WriteOnlyDocuments(pub std::sync::Arc<dyn Documents>);

#[async_trait]
impl Documents for WriteOnlyDocuments {
    async fn put(&self, prefix: &str, body: &[u8]) -> Result<DocumentRef, RepoError> {
        self.0.put(prefix, body).await
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        Err(RepoError::new(
            "read document",
            format!("this function only stores documents (reading {})", r.key),
        ))
    }
}

/// The documents of a use case built for work that reads and writes none (release-order voids
/// and cancels by the order's handle): its function gets no access to the documents table,
/// and any use is an error that says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDocuments;

#[async_trait]
impl Documents for NoDocuments {
    async fn put(&self, prefix: &str, _body: &[u8]) -> Result<DocumentRef, RepoError> {
        Err(RepoError::new(
            "store document",
            format!("this function has no documents table (storing {prefix})"),
        ))
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        Err(RepoError::new(
            "read document",
            format!("this function has no documents table (reading {})", r.key),
        ))
    }
}

/// Checks `body` against its reference (size and SHA-256): a document store must never hand
/// back other bytes than were stored.
pub fn check_document(r: &DocumentRef, body: &[u8]) -> Result<(), RepoError> {
    let sha256 = idempotency::sha256_hex(body);
    if body.len() as u64 != r.bytes || sha256 != r.sha256 {
        return Err(RepoError::new(
            "read document",
            format!(
                "document {} is {} bytes with SHA-256 {sha256}, not the {} bytes with {} it was stored as",
                r.key,
                body.len(),
                r.bytes,
                r.sha256
            ),
        ));
    }
    Ok(())
}

/// The inline body of `r`, checked, if it has one: a reference written by a release before
/// this one carried a document of 16 KiB or less inline. None is written now (customer data stays
/// in the documents table), but an order received or held across the upgrade still holds one,
/// so every reader accepts both shapes.
pub fn inline_body(r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
    match &r.inline {
        Some(text) => {
            check_document(r, text.as_bytes())?;
            Ok(Some(text.as_bytes().to_vec()))
        }
        None => Ok(None),
    }
}

/// The key a document is stored under: `prefix/sha256`.
pub fn document_key(prefix: &str, sha256: &str) -> String {
    format!("{prefix}/{sha256}")
}

/// An adapted order as the workflow carries it: what the steps route and decide on, and the
/// reference to the whole canonical order (which can be far over a state's 256 KiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderHandle {
    /// The pipeline's id.
    pub id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The partner's id.
    pub partner_order_id: PartnerOrderId,
    /// The partner's id for the store.
    pub partner_store_id: String,
    /// The chain's store.
    pub store_id: StoreId,
    /// Its number of lines.
    pub lines: usize,
    /// The canonical order.
    pub document: DocumentRef,
}

impl OrderHandle {
    /// The handle of `order`, stored as `document`.
    pub fn of(order: &Order, document: DocumentRef) -> Self {
        Self {
            id: order.id.clone(),
            partner: order.partner,
            partner_order_id: order.partner_order_id.clone(),
            partner_store_id: order.partner_store_id.clone(),
            store_id: order.store_id.clone(),
            lines: order.items.len(),
            document,
        }
    }

    /// The copy the orders record keeps: the same handle, its document reference without the
    /// inline bytes. The record is rewritten on every status change and DynamoDB bills each
    /// write by the item's size in 1 KB units, so the order's lines (up to 16 KiB inline)
    /// would multiply every write; what reads the record's handle (release-order's void and
    /// cancel) needs only its ids. An inline document is not stored under its key: the
    /// canonical order is read from the workflow's handle, never from the record's.
    pub fn for_record(&self) -> Self {
        let mut handle = self.clone();
        handle.document.inline = None;
        handle
    }

    /// The partner-side reference (for accept, deny, cancel).
    pub fn order_ref(&self) -> OrderRef {
        OrderRef {
            partner: self.partner,
            partner_order_id: self.partner_order_id.clone(),
            partner_store_id: Some(self.partner_store_id.clone()),
        }
    }
}

/// One step of an order's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    /// The status entered.
    pub status: OrderStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, or by what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The orders table's view of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    /// The pipeline's id.
    pub order_id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The partner's id.
    pub partner_order_id: PartnerOrderId,
    /// The store, once known.
    pub store_id: Option<StoreId>,
    /// Current status.
    pub status: OrderStatus,
    /// Correlation id of the first delivery.
    pub correlation_id: String,
    /// The execution that created the record, its owner (`None` on records written before
    /// owners were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Every status entered, oldest first.
    pub history: Vec<StatusChange>,
    /// The adapted order's handle (its canonical form is a document), once adapted.
    pub order: Option<OrderHandle>,
    /// The POS's id, once sent.
    pub pos_order_id: Option<PosOrderId>,
    /// Whether the POS order was voided.
    pub pos_voided: bool,
    /// Whether the partner asked to cancel.
    pub cancel_requested: bool,
    /// Last rejection, cancellation or failure reason.
    pub reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// While the order is open ([`OrderStatus::is_open`]): when it should have ended by (its
    /// creation until accepted, then its `order_domain::send_by`). The sweeper ends orders
    /// still open a grace period past it. `None` once it ends (or on records from before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_until: Option<DateTime<Utc>>,
    /// The `Order Received` event that created it (ids and the payload's reference, its
    /// inline bytes dropped: no customer data), from which the sweeper resumes the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<Value>,
    /// How many times the sweeper found it stranded and re-drove it.
    #[serde(default)]
    pub sweeps: u32,
}

/// How many shards the orders table's sweep index spreads open orders over (its partition
/// key, `sweepShard`): at a peak's 500 orders a second and four writes each, 125 index writes
/// a second per shard, well under a partition's 1,000 write units
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html>).
pub const SWEEP_SHARDS: u8 = 16;

/// The sweep shard of an order: the first byte of its id's SHA-256, modulo [`SWEEP_SHARDS`].
pub fn sweep_shard(id: &OrderId) -> u8 {
    use sha2::Digest;
    sha2::Sha256::digest(id.as_str().as_bytes())[0] % SWEEP_SHARDS
}

/// A new record in `Received`.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// The pipeline's id.
    pub order_id: OrderId,
    /// The partner.
    pub partner: Partner,
    /// The partner's id.
    pub partner_order_id: PartnerOrderId,
    /// Correlation id.
    pub correlation_id: String,
    /// The execution that creates it (the workflow's `$$.Execution.Id`): the order's owner.
    /// Deliveries share a correlation id (EventBridge's duplicates, replays, a partner's
    /// resend with its header), executions do not.
    pub created_by: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The `Order Received` event, as [`OrderRecord::received`] keeps it.
    pub received: Option<Value>,
}

/// Result of creating a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// Created now.
    New,
    /// It already existed.
    Existing(Box<OrderRecord>),
}

/// Fields set together with a status change.
#[derive(Debug, Clone, Default)]
pub struct StatusUpdate {
    /// Note for the history.
    pub note: Option<String>,
    /// Reason to record.
    pub reason: Option<String>,
    /// The POS's id.
    pub pos_order_id: Option<PosOrderId>,
    /// The adapted order's handle (as [`OrderHandle::for_record`] gives it) and so its store:
    /// accept-order writes it with `Accepted`, in the same write (DynamoDB bills each write by
    /// the item's size, at least one write unit: a separate write after adapt cost one more).
    pub order: Option<OrderHandle>,
    /// A new [`OrderRecord::open_until`] (accept-order's `send_by`). A change to a status that
    /// is not open removes it whatever this says.
    pub open_until: Option<DateTime<Utc>>,
}

/// Result of a status change.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// Moved; the record after the change.
    Applied(Box<OrderRecord>),
    /// Already in that status (a retry); the record as it is.
    AlreadyThere(Box<OrderRecord>),
    /// Refused: the lifecycle does not allow it from the current status.
    Refused {
        /// Where the order is.
        current: OrderStatus,
    },
    /// No such order.
    Missing,
}

/// The orders table.
#[async_trait]
pub trait OrdersRepo: Send + Sync {
    /// Creates the record in `Received` unless one exists.
    async fn create(&self, new: NewOrder) -> Result<Created, RepoError>;
    /// Moves the status to `to` if the lifecycle allows it from the current status, with one
    /// conditional write, appending to the history.
    async fn transition(
        &self,
        id: &OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        update: StatusUpdate,
    ) -> Result<Transition, RepoError>;
    /// The record.
    async fn get(&self, id: &OrderId) -> Result<Option<OrderRecord>, RepoError>;
    /// Flags the partner's cancellation request; the record after the change, if it exists.
    async fn request_cancellation(
        &self,
        id: &OrderId,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<OrderRecord>, RepoError>;
    /// Records that the POS order was voided.
    async fn mark_pos_voided(&self, id: &OrderId, at: DateTime<Utc>) -> Result<(), RepoError>;
    /// Keeps a cancellation that arrived before its order had a record (the partner cancelled
    /// right after its webhook was acknowledged), for the order to find when it is created.
    async fn remember_cancellation(
        &self,
        id: &OrderId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError>;
    /// The reason of a cancellation kept by [`Self::remember_cancellation`], if any.
    async fn early_cancellation(&self, id: &OrderId) -> Result<Option<String>, RepoError>;
    /// Up to `limit` orders of sweep shard `shard` ([`sweep_shard`]) still open with an
    /// `open_until` before `before`, earliest first: a query of the orders table's sparse
    /// index on (`sweepShard`, `openUntil`), never a scan. The index is eventually consistent:
    /// read each record before acting on it.
    async fn overdue(
        &self,
        shard: u8,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OrderId>, RepoError>;
    /// Records a sweep of an order found stranded: its `sweeps` becomes `sweeps + 1` and its
    /// `open_until` `next`, if it still has `sweeps` sweeps and is open (`false`: another
    /// sweeper or the workflow got there first).
    async fn mark_swept(
        &self,
        id: &OrderId,
        sweeps: u32,
        next: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
}

/// A held order's callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldOrder {
    /// The order.
    pub order_id: OrderId,
    /// Its store.
    pub store_id: StoreId,
    /// The workflow's task token.
    pub task_token: String,
    /// When and from when it may be released.
    pub hold: Hold,
    /// Correlation id.
    pub correlation_id: String,
}

/// The held-orders table.
#[async_trait]
pub trait HeldOrders: Send + Sync {
    /// Stores a held order (its record expires a day after its release time).
    async fn put(&self, held: &HeldOrder) -> Result<(), RepoError>;
    /// Removes and returns a held order; only one caller gets it.
    async fn take(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError>;
    /// Reads a held order.
    async fn get(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError>;
    /// A store's held orders that a courier may release at `now`.
    async fn releasable(
        &self,
        store: &StoreId,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldOrder>, RepoError>;
}

/// Publishing failed for some events.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} events were not published: {message}")]
pub struct PublishError {
    /// How many failed.
    pub failed: usize,
    /// How many were sent.
    pub total: usize,
    /// Why.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The event bus.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes every event or fails naming how many were not published.
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError>;
}

/// What became of a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The workflow got it.
    Delivered,
    /// The task was already closed (timed out, failed or released): nothing to do.
    AlreadyClosed,
}

/// A callback could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("task callback {operation} failed: {message}")]
pub struct CallbackError {
    /// Which call.
    pub operation: &'static str,
    /// Why.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Step Functions task-token callbacks.
#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    /// Completes the task with `output`.
    async fn succeed(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<CallbackOutcome, CallbackError>;
    /// Fails the task with an error name and cause.
    async fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<CallbackOutcome, CallbackError>;
    /// Tells the workflow the task is alive.
    async fn heartbeat(&self, token: &str) -> Result<CallbackOutcome, CallbackError>;
}

/// Whether retrying later may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// Timeouts, connection failures, 5xx, 429: retry later.
    Transient,
    /// 4xx and malformed answers: retrying will not help.
    Permanent,
}

/// A failed call to a partner or POS API.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed ({kind:?}{}): {message}", status.map(|s| format!(", HTTP {s}")).unwrap_or_default())]
pub struct ApiError {
    /// Transient or permanent.
    pub kind: ErrorKind,
    /// Which API.
    pub service: String,
    /// Which call.
    pub operation: String,
    /// HTTP status, if one came back.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
    /// How long the server asked us to wait, if it did.
    pub retry_after: Option<Duration>,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error of `kind` without an underlying error value.
    pub fn new(
        kind: ErrorKind,
        service: impl Into<String>,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            service: service.into(),
            operation: operation.into(),
            status: None,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// Whether retrying later may help.
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

/// The partner APIs.
#[async_trait]
pub trait PartnerApi: Send + Sync {
    /// Fetches a notification partner's order.
    async fn fetch_order(
        &self,
        partner: Partner,
        id: &PartnerOrderId,
    ) -> Result<serde_json::Value, ApiError>;
    /// Tells the partner about an order (accept, deny, cancel).
    async fn notify(
        &self,
        order: &OrderRef,
        order_id: &OrderId,
        action: &PartnerAction,
    ) -> Result<(), ApiError>;
    /// Sets whether the partner shows store `partner_store_id` as taking orders
    /// ([`partners::store_api::store_status`]); `Ok(false)` where the partner publishes no such call.
    async fn set_store_status(
        &self,
        partner: Partner,
        partner_store_id: &str,
        availability: &partners::StoreAvailability,
    ) -> Result<bool, ApiError>;
    /// Sets whether the partner shows item or modifier `partner_item_id` at store
    /// `partner_store_id` as on sale ([`partners::store_api::item_availability`]); `Ok(false)`
    /// where the partner publishes no such call.
    async fn set_item_availability(
        &self,
        partner: Partner,
        partner_store_id: &str,
        partner_item_id: &str,
        availability: partners::ItemAvailability,
    ) -> Result<bool, ApiError>;
}

/// A POS ticket: what the store's POS receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PosTicket {
    /// The pipeline's order id (also the idempotency key).
    pub external_id: OrderId,
    /// Which partner the order came through.
    pub channel: Partner,
    /// `delivery` or `pickup`.
    pub fulfillment: order_domain::Fulfillment,
    /// When it must be ready, if scheduled or known.
    pub ready_at: Option<DateTime<Utc>>,
    /// Name to call out.
    pub customer_name: String,
    /// Lines.
    pub lines: Vec<PosLine>,
    /// Minor units.
    pub subtotal_minor: i64,
    /// Minor units.
    pub tax_minor: i64,
    /// Minor units.
    pub total_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Order note.
    pub notes: Option<String>,
}

/// A ticket line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PosLine {
    /// POS code.
    pub code: String,
    /// How many.
    pub qty: u32,
    /// Minor units, for one.
    pub unit_price_minor: i64,
    /// Modifiers.
    pub modifiers: Vec<PosModifier>,
    /// Line note.
    pub note: Option<String>,
}

/// A ticket modifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PosModifier {
    /// POS code.
    pub code: String,
    /// How many per item.
    pub qty: u32,
    /// Minor units, for one.
    pub unit_price_minor: i64,
}

impl PosTicket {
    /// The ticket for an order.
    pub fn for_order(order: &Order) -> Self {
        Self {
            external_id: order.id.clone(),
            channel: order.partner,
            fulfillment: order.fulfillment,
            ready_at: order.ready_target(),
            customer_name: order.customer_name.clone(),
            lines: order
                .items
                .iter()
                .map(|l| PosLine {
                    code: l.pos_code.to_string(),
                    qty: l.quantity.get(),
                    unit_price_minor: l.unit_price.amount_minor,
                    modifiers: l
                        .modifiers
                        .iter()
                        .map(|m| PosModifier {
                            code: m.pos_code.to_string(),
                            qty: m.quantity.get(),
                            unit_price_minor: m.unit_price.amount_minor,
                        })
                        .collect(),
                    note: l.notes.clone(),
                })
                .collect(),
            subtotal_minor: order.subtotal.amount_minor,
            tax_minor: order.tax.amount_minor,
            total_minor: order.total.amount_minor,
            currency: order.total.currency.to_string(),
            notes: order.notes.clone(),
        }
    }
}

/// A store's POS.
#[async_trait]
pub trait PosApi: Send + Sync {
    /// Creates the order; the same `idempotency_key` always yields the same POS order.
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        idempotency_key: &str,
    ) -> Result<PosOrderId, ApiError>;
    /// The POS order created under `idempotency_key`, if any (`None` when the POS has none).
    async fn find(
        &self,
        store: &StoreId,
        idempotency_key: &str,
    ) -> Result<Option<PosOrderId>, ApiError>;
    /// Voids an order.
    async fn void(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<(), ApiError>;
    /// The POS's status for an order.
    async fn status(&self, store: &StoreId, pos_order_id: &PosOrderId) -> Result<String, ApiError>;
}

/// The time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What the pipeline counts and times.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A webhook became an event.
    WebhookAccepted {
        /// Partner.
        partner: Partner,
    },
    /// A webhook was refused with an HTTP status.
    WebhookRefused {
        /// Partner, if the route named a known one.
        partner: Option<Partner>,
        /// Status.
        status: u16,
    },
    /// A webhook of a type the pipeline does not use was acknowledged and ignored.
    WebhookIgnored {
        /// Partner.
        partner: Partner,
        /// The event type it named.
        event_type: String,
    },
    /// A new order was claimed by dedup.
    OrderReceived {
        /// Partner.
        partner: Partner,
    },
    /// A repeat was ignored.
    DuplicateIgnored {
        /// With a different payload.
        payload_mismatch: bool,
    },
    /// Refused.
    OrderRejected {
        /// Reason code.
        reason: String,
    },
    /// Accepted.
    OrderAccepted,
    /// Held.
    OrderHeld,
    /// Released.
    OrderReleased {
        /// `time` or `courier`.
        by: &'static str,
    },
    /// POS call latency.
    PosLatency {
        /// Milliseconds.
        millis: f64,
        /// Whether the call succeeded.
        ok: bool,
    },
    /// Sent to POS.
    OrderSentToPos,
    /// From the order's claim (its record's creation, just after the webhook) to the POS
    /// taking it, for an order sent now.
    OrderToPos {
        /// Milliseconds.
        millis: f64,
    },
    /// Cancelled.
    OrderCancelled,
    /// Failed.
    OrderFailed {
        /// Error name.
        error: String,
    },
    /// Catalogue lookups (a store by id or by a partner's store id) the container answered
    /// since its last report, at most one report per interval.
    CatalogueLookups {
        /// Lookups.
        count: u64,
    },
    /// Catalogue lookups the container's cache could not answer without a table read, since
    /// its last report.
    CatalogueCacheMisses {
        /// Misses.
        count: u64,
    },
    /// A handover started its Standard execution.
    HandoverStarted,
    /// A handover was left for the queue to bring back.
    HandoverRetried {
        /// `throttled`, `transient`, `refused` or `unreadable`.
        reason: &'static str,
    },
    /// The sweeper found an order still open past its deadline and grace (alarmed).
    OrderStranded {
        /// Its status (`Received`, `Accepted`, `Held`, `Released`).
        status: OrderStatus,
        /// Whether the sweeper re-drove it (started an execution to end it); `false` once it
        /// has been re-driven [`crate::usecases::sweep::MAX_SWEEPS`] times, or when it could not be.
        redriven: bool,
    },
}

/// Where metrics go (CloudWatch EMF in Lambda, a vector in tests).
pub trait Metrics: Send + Sync {
    /// Records one metric.
    fn record(&self, metric: Metric);
}

mod workflow_starter;
pub use workflow_starter::{RecordingStarter, StartError, Started, WorkflowStarter};
