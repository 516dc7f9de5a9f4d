//! In-memory twins of every port: the handler tests run against these, and the functions can
//! run with them (`PIPELINE_BACKEND=memory`) under `cargo lambda watch` with no services.
//! Each twin records what it was asked and can be told to fail.

pub use crate::ports::RecordingStarter;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use order_domain::{Catalog, OrderId, OrderStatus, Partner, PartnerOrderId, PosOrderId, StoreId};
use order_events::{DocumentRef, OutboundEvent};
use partners::{OrderRef, PartnerAction};

use crate::ports::*;

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

/// Documents in memory, checked on read as the DynamoDB adapter checks them.
#[derive(Debug, Default)]
pub struct InMemoryDocuments {
    docs: Mutex<HashMap<String, Vec<u8>>>,
}

impl InMemoryDocuments {
    /// Every stored key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = lock(&self.docs).keys().cloned().collect();
        k.sort();
        k
    }

    /// Every document, `(prefix, body)` by key (the key is `prefix/sha256`).
    pub fn all(&self) -> Vec<(String, Vec<u8>)> {
        let mut all: Vec<(String, Vec<u8>)> = lock(&self.docs)
            .iter()
            .map(|(k, v)| {
                let prefix = k.rsplit_once('/').map_or(k.as_str(), |(p, _)| p);
                (prefix.to_owned(), v.clone())
            })
            .collect();
        all.sort();
        all
    }

    /// Forgets a document (as its expiry would).
    pub fn forget(&self, key: &str) {
        lock(&self.docs).remove(key);
    }
}

#[async_trait]
impl Documents for InMemoryDocuments {
    async fn put(&self, prefix: &str, body: &[u8]) -> Result<DocumentRef, RepoError> {
        let sha256 = idempotency::sha256_hex(body);
        let key = document_key(prefix, &sha256);
        lock(&self.docs).insert(key.clone(), body.to_vec());
        Ok(DocumentRef {
            key,
            bytes: body.len() as u64,
            sha256,
            inline: None,
        })
    }

    async fn get(&self, r: &DocumentRef) -> Result<Option<Vec<u8>>, RepoError> {
        if let Some(body) = inline_body(r)? {
            return Ok(Some(body));
        }
        let Some(body) = lock(&self.docs).get(&r.key).cloned() else {
            return Ok(None);
        };
        check_document(r, &body)?;
        Ok(Some(body))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the data is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Applies the lifecycle rules to a record: the single definition the in-memory twin uses and
/// the DynamoDB adapter's condition expression mirrors.
pub fn apply_transition(
    record: &mut OrderRecord,
    to: OrderStatus,
    at: DateTime<Utc>,
    update: StatusUpdate,
) -> Transition {
    if record.status == to {
        return Transition::AlreadyThere(Box::new(record.clone()));
    }
    if !record.status.can_transition_to(to) {
        return Transition::Refused {
            current: record.status,
        };
    }
    record.status = to;
    record.updated_at = at;
    record.history.push(StatusChange {
        status: to,
        at,
        note: update.note,
    });
    if update.reason.is_some() {
        record.reason = update.reason;
    }
    if update.pos_order_id.is_some() {
        record.pos_order_id = update.pos_order_id;
    }
    if let Some(order) = update.order {
        record.store_id = Some(order.store_id.clone());
        record.order = Some(order);
    }
    if !to.is_open() {
        record.open_until = None;
    } else if update.open_until.is_some() {
        record.open_until = update.open_until;
    }
    Transition::Applied(Box::new(record.clone()))
}

/// The orders table in memory.
#[derive(Debug, Default)]
pub struct InMemoryOrders {
    records: Mutex<HashMap<OrderId, OrderRecord>>,
    early_cancellations: Mutex<HashMap<OrderId, String>>,
}

impl InMemoryOrders {
    /// Every record, for assertions.
    pub fn all(&self) -> Vec<OrderRecord> {
        lock(&self.records).values().cloned().collect()
    }

    /// Every cancellation kept for an order that had no record, for assertions.
    pub fn early_cancellations(&self) -> Vec<(OrderId, String)> {
        lock(&self.early_cancellations)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[async_trait]
impl OrdersRepo for InMemoryOrders {
    async fn create(&self, new: NewOrder) -> Result<Created, RepoError> {
        let mut records = lock(&self.records);
        if let Some(existing) = records.get(&new.order_id) {
            return Ok(Created::Existing(Box::new(existing.clone())));
        }
        records.insert(
            new.order_id.clone(),
            OrderRecord {
                order_id: new.order_id,
                partner: new.partner,
                partner_order_id: new.partner_order_id,
                store_id: None,
                status: OrderStatus::Received,
                correlation_id: new.correlation_id,
                created_by: new.created_by,
                history: vec![StatusChange {
                    status: OrderStatus::Received,
                    at: new.at,
                    note: None,
                }],
                order: None,
                pos_order_id: None,
                pos_voided: false,
                cancel_requested: false,
                reason: None,
                created_at: new.at,
                updated_at: new.at,
                open_until: Some(new.at),
                received: new.received,
                sweeps: 0,
            },
        );
        Ok(Created::New)
    }

    async fn transition(
        &self,
        id: &OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        update: StatusUpdate,
    ) -> Result<Transition, RepoError> {
        let mut records = lock(&self.records);
        Ok(match records.get_mut(id) {
            Some(record) => apply_transition(record, to, at, update),
            None => Transition::Missing,
        })
    }

    async fn get(&self, id: &OrderId) -> Result<Option<OrderRecord>, RepoError> {
        Ok(lock(&self.records).get(id).cloned())
    }

    async fn request_cancellation(
        &self,
        id: &OrderId,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<OrderRecord>, RepoError> {
        let mut records = lock(&self.records);
        Ok(records.get_mut(id).map(|r| {
            r.cancel_requested = true;
            if let Some(reason) = reason {
                r.reason = Some(reason.to_owned());
            }
            r.updated_at = at;
            r.clone()
        }))
    }

    async fn mark_pos_voided(&self, id: &OrderId, at: DateTime<Utc>) -> Result<(), RepoError> {
        if let Some(r) = lock(&self.records).get_mut(id) {
            r.pos_voided = true;
            r.updated_at = at;
        }
        Ok(())
    }

    async fn remember_cancellation(
        &self,
        id: &OrderId,
        reason: &str,
        _at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        lock(&self.early_cancellations).insert(id.clone(), reason.to_owned());
        Ok(())
    }

    async fn early_cancellation(&self, id: &OrderId) -> Result<Option<String>, RepoError> {
        Ok(lock(&self.early_cancellations).get(id).cloned())
    }

    async fn overdue(
        &self,
        shard: u8,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OrderId>, RepoError> {
        let records = lock(&self.records);
        let mut due: Vec<(DateTime<Utc>, OrderId)> = records
            .values()
            .filter(|r| crate::ports::sweep_shard(&r.order_id) == shard)
            .filter_map(|r| Some((r.open_until?, r.order_id.clone())))
            .filter(|(at, _)| *at < before)
            .collect();
        due.sort();
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn mark_swept(
        &self,
        id: &OrderId,
        sweeps: u32,
        next: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let mut records = lock(&self.records);
        Ok(match records.get_mut(id) {
            Some(r) if r.sweeps == sweeps && r.status.is_open() && r.open_until.is_some() => {
                r.sweeps += 1;
                r.open_until = Some(next);
                true
            }
            _ => false,
        })
    }
}

/// The held-orders table in memory.
#[derive(Debug, Default)]
pub struct InMemoryHeld {
    held: Mutex<HashMap<OrderId, HeldOrder>>,
}

impl InMemoryHeld {
    /// Every held order, for assertions.
    pub fn all(&self) -> Vec<HeldOrder> {
        lock(&self.held).values().cloned().collect()
    }
}

#[async_trait]
impl HeldOrders for InMemoryHeld {
    async fn put(&self, held: &HeldOrder) -> Result<(), RepoError> {
        lock(&self.held).insert(held.order_id.clone(), held.clone());
        Ok(())
    }

    async fn take(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        Ok(lock(&self.held).remove(id))
    }

    async fn get(&self, id: &OrderId) -> Result<Option<HeldOrder>, RepoError> {
        Ok(lock(&self.held).get(id).cloned())
    }

    async fn releasable(
        &self,
        store: &StoreId,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldOrder>, RepoError> {
        let mut due: Vec<_> = lock(&self.held)
            .values()
            .filter(|h| &h.store_id == store && h.hold.releasable_by_courier(now))
            .cloned()
            .collect();
        due.sort_by_key(|h| h.hold.release_at);
        Ok(due)
    }
}

/// Records published events; can be told to fail the next calls.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    events: Mutex<Vec<OutboundEvent>>,
    fail_next: AtomicUsize,
}

impl RecordingPublisher {
    /// Everything published so far.
    pub fn events(&self) -> Vec<OutboundEvent> {
        lock(&self.events).clone()
    }

    /// The detail-types published so far, in order.
    pub fn detail_types(&self) -> Vec<String> {
        lock(&self.events)
            .iter()
            .map(|e| e.detail_type.clone())
            .collect()
    }

    /// Makes the next `n` publish calls fail.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }
}

#[async_trait]
impl EventPublisher for RecordingPublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        let failing = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(PublishError {
                failed: events.len(),
                total: events.len(),
                message: "injected failure".to_owned(),
                source: None,
            });
        }
        lock(&self.events).extend_from_slice(events);
        Ok(())
    }
}

/// A task callback made.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackCall {
    /// `SendTaskSuccess`.
    Succeed {
        /// Token.
        token: String,
        /// Output.
        output: serde_json::Value,
    },
    /// `SendTaskFailure`.
    Fail {
        /// Token.
        token: String,
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
    /// `SendTaskHeartbeat`.
    Heartbeat {
        /// Token.
        token: String,
    },
}

/// Records callbacks; tokens can be marked closed to simulate timed-out tasks.
#[derive(Debug, Default)]
pub struct RecordingCallbacks {
    calls: Mutex<Vec<CallbackCall>>,
    closed: Mutex<HashSet<String>>,
}

impl RecordingCallbacks {
    /// Every call so far.
    pub fn calls(&self) -> Vec<CallbackCall> {
        lock(&self.calls).clone()
    }

    /// Makes callbacks with `token` answer "already closed".
    pub fn close(&self, token: &str) {
        lock(&self.closed).insert(token.to_owned());
    }

    fn outcome(&self, token: &str, call: CallbackCall) -> CallbackOutcome {
        lock(&self.calls).push(call);
        let mut closed = lock(&self.closed);
        if closed.contains(token) {
            CallbackOutcome::AlreadyClosed
        } else {
            // Success and failure close the task; a second callback finds it closed.
            closed.insert(token.to_owned());
            CallbackOutcome::Delivered
        }
    }
}

#[async_trait]
impl TaskCallbacks for RecordingCallbacks {
    async fn succeed(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<CallbackOutcome, CallbackError> {
        Ok(self.outcome(
            token,
            CallbackCall::Succeed {
                token: token.to_owned(),
                output: output.clone(),
            },
        ))
    }

    async fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<CallbackOutcome, CallbackError> {
        Ok(self.outcome(
            token,
            CallbackCall::Fail {
                token: token.to_owned(),
                error: error.to_owned(),
                cause: cause.to_owned(),
            },
        ))
    }

    async fn heartbeat(&self, token: &str) -> Result<CallbackOutcome, CallbackError> {
        lock(&self.calls).push(CallbackCall::Heartbeat {
            token: token.to_owned(),
        });
        Ok(if lock(&self.closed).contains(token) {
            CallbackOutcome::AlreadyClosed
        } else {
            CallbackOutcome::Delivered
        })
    }
}

/// A scripted API failure.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Transient or permanent.
    pub kind: ErrorKind,
    /// HTTP status to report.
    pub status: Option<u16>,
}

impl Fault {
    fn to_error(&self, service: &str, operation: &str) -> ApiError {
        ApiError {
            status: self.status,
            ..ApiError::new(self.kind, service, operation, "injected fault")
        }
    }
}

/// A partner API call made.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerCall {
    /// The order.
    pub order: OrderRef,
    /// What we told the partner.
    pub action: PartnerAction,
}

/// A store status told to a partner in memory: partner, its store id, what.
pub type StoreStatusCall = (Partner, String, partners::StoreAvailability);

/// An item availability told to a partner in memory: partner, its store id, its item id, what.
pub type ItemStatusCall = (Partner, String, String, partners::ItemAvailability);

/// Partner APIs in memory: serves fetched orders from fixtures, records notifications.
#[derive(Debug, Default)]
pub struct InMemoryPartnerApi {
    fixtures: Mutex<HashMap<(Partner, String), serde_json::Value>>,
    calls: Mutex<Vec<PartnerCall>>,
    store_statuses: Mutex<Vec<StoreStatusCall>>,
    item_statuses: Mutex<Vec<ItemStatusCall>>,
    faults: Mutex<VecDeque<Fault>>,
}

impl InMemoryPartnerApi {
    /// Serves `order` when `partner` order `id` is fetched.
    pub fn add_fixture(&self, partner: Partner, id: &str, order: serde_json::Value) {
        lock(&self.fixtures).insert((partner, id.to_owned()), order);
    }

    /// Loads every `order*.json` under `dir/ubereats/` as a fetchable Uber-style order, keyed
    /// by its `id` field.
    pub fn load_fixtures(&self, dir: &Path) -> std::io::Result<usize> {
        let mut n = 0;
        let sub = dir.join(Partner::UberEats.as_str());
        for entry in std::fs::read_dir(&sub)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !(name.starts_with("order") && name.ends_with(".json")) {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
                .map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            if let Some(id) = value.get("id").and_then(|v| v.as_str()) {
                self.add_fixture(Partner::UberEats, id, value.clone());
                n += 1;
            }
        }
        Ok(n)
    }

    /// Makes the next calls fail, one fault per call.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.faults).extend(faults);
    }

    /// Every notification so far.
    pub fn calls(&self) -> Vec<PartnerCall> {
        lock(&self.calls).clone()
    }

    /// Every store status told so far, oldest first.
    pub fn store_statuses(&self) -> Vec<StoreStatusCall> {
        lock(&self.store_statuses).clone()
    }

    /// Every item availability told so far, oldest first.
    pub fn item_statuses(&self) -> Vec<ItemStatusCall> {
        lock(&self.item_statuses).clone()
    }

    fn fault(&self, service: &str, operation: &str) -> Result<(), ApiError> {
        match lock(&self.faults).pop_front() {
            Some(f) => Err(f.to_error(service, operation)),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl PartnerApi for InMemoryPartnerApi {
    async fn fetch_order(
        &self,
        partner: Partner,
        id: &PartnerOrderId,
    ) -> Result<serde_json::Value, ApiError> {
        self.fault(partner.as_str(), "fetch order")?;
        lock(&self.fixtures)
            .get(&(partner, id.to_string()))
            .cloned()
            .ok_or_else(|| ApiError {
                status: Some(404),
                ..ApiError::new(
                    ErrorKind::Permanent,
                    partner.as_str(),
                    "fetch order",
                    format!("no order {id}"),
                )
            })
    }

    async fn notify(
        &self,
        order: &OrderRef,
        _order_id: &OrderId,
        action: &PartnerAction,
    ) -> Result<(), ApiError> {
        self.fault(order.partner.as_str(), "notify")?;
        lock(&self.calls).push(PartnerCall {
            order: order.clone(),
            action: action.clone(),
        });
        Ok(())
    }

    async fn set_store_status(
        &self,
        partner: Partner,
        partner_store_id: &str,
        availability: &partners::StoreAvailability,
    ) -> Result<bool, ApiError> {
        if partners::store_api::store_status(partner, partner_store_id, availability).is_none() {
            return Ok(false);
        }
        self.fault(partner.as_str(), "set store status")?;
        lock(&self.store_statuses).push((
            partner,
            partner_store_id.to_owned(),
            availability.clone(),
        ));
        Ok(true)
    }

    async fn set_item_availability(
        &self,
        partner: Partner,
        partner_store_id: &str,
        partner_item_id: &str,
        availability: partners::ItemAvailability,
    ) -> Result<bool, ApiError> {
        if partners::store_api::item_availability(
            partner,
            partner_store_id,
            partner_item_id,
            availability,
        )
        .is_none()
        {
            return Ok(false);
        }
        self.fault(partner.as_str(), "set item availability")?;
        lock(&self.item_statuses).push((
            partner,
            partner_store_id.to_owned(),
            partner_item_id.to_owned(),
            availability,
        ));
        Ok(true)
    }
}

/// A POS order created in the in-memory POS.
#[derive(Debug, Clone, PartialEq)]
pub struct PosRecord {
    /// Store.
    pub store: StoreId,
    /// Ticket.
    pub ticket: PosTicket,
    /// Assigned id.
    pub pos_order_id: PosOrderId,
    /// Voided?
    pub voided: bool,
}

/// A POS in memory: idempotent by key, records tickets and voids.
#[derive(Debug, Default)]
pub struct InMemoryPos {
    orders: Mutex<Vec<PosRecord>>,
    by_key: Mutex<HashMap<String, PosOrderId>>,
    faults: Mutex<VecDeque<Fault>>,
}

impl InMemoryPos {
    /// Every POS order.
    pub fn orders(&self) -> Vec<PosRecord> {
        lock(&self.orders).clone()
    }

    /// Makes the next calls fail, one fault per call.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.faults).extend(faults);
    }

    fn fault(&self, operation: &str) -> Result<(), ApiError> {
        match lock(&self.faults).pop_front() {
            Some(f) => Err(f.to_error("pos", operation)),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl PosApi for InMemoryPos {
    async fn create(
        &self,
        store: &StoreId,
        ticket: &PosTicket,
        idempotency_key: &str,
    ) -> Result<PosOrderId, ApiError> {
        self.fault("create order")?;
        let mut by_key = lock(&self.by_key);
        if let Some(id) = by_key.get(idempotency_key) {
            return Ok(id.clone());
        }
        let mut orders = lock(&self.orders);
        let id =
            PosOrderId::parse(format!("POS-{store}-{:05}", orders.len() + 1)).map_err(|e| {
                ApiError::new(ErrorKind::Permanent, "pos", "create order", e.to_string())
            })?;
        orders.push(PosRecord {
            store: store.clone(),
            ticket: ticket.clone(),
            pos_order_id: id.clone(),
            voided: false,
        });
        by_key.insert(idempotency_key.to_owned(), id.clone());
        Ok(id)
    }

    async fn find(
        &self,
        _store: &StoreId,
        idempotency_key: &str,
    ) -> Result<Option<PosOrderId>, ApiError> {
        self.fault("find order")?;
        Ok(lock(&self.by_key).get(idempotency_key).cloned())
    }

    async fn void(&self, _store: &StoreId, pos_order_id: &PosOrderId) -> Result<(), ApiError> {
        self.fault("void order")?;
        let mut orders = lock(&self.orders);
        match orders.iter_mut().find(|o| &o.pos_order_id == pos_order_id) {
            Some(o) => {
                o.voided = true;
                Ok(())
            }
            None => Err(ApiError {
                status: Some(404),
                ..ApiError::new(
                    ErrorKind::Permanent,
                    "pos",
                    "void order",
                    format!("no order {pos_order_id}"),
                )
            }),
        }
    }

    async fn status(
        &self,
        _store: &StoreId,
        pos_order_id: &PosOrderId,
    ) -> Result<String, ApiError> {
        lock(&self.orders)
            .iter()
            .find(|o| &o.pos_order_id == pos_order_id)
            .map(|o| {
                if o.voided {
                    "voided".to_owned()
                } else {
                    "queued".to_owned()
                }
            })
            .ok_or_else(|| {
                ApiError::new(ErrorKind::Permanent, "pos", "order status", "no such order")
            })
    }
}

/// A clock that only moves when told.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock.
    pub fn advance(&self, by: TimeDelta) {
        let mut t = lock(&self.0);
        *t += by;
    }

    /// Sets the clock.
    pub fn set(&self, now: DateTime<Utc>) {
        *lock(&self.0) = now;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

/// Collects metrics.
#[derive(Debug, Default)]
pub struct RecordingMetrics(Mutex<Vec<Metric>>);

impl RecordingMetrics {
    /// Everything recorded.
    pub fn all(&self) -> Vec<Metric> {
        lock(&self.0).clone()
    }
}

impl Metrics for RecordingMetrics {
    fn record(&self, metric: Metric) {
        lock(&self.0).push(metric);
    }
}

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

/// Shared access tokens in memory, with the DynamoDB store's lease rules (for tests of several
/// "processes" sharing one store). `fail_next` makes its next calls fail, as DynamoDB can.
#[derive(Debug, Default)]
pub struct InMemoryTokenStore {
    items: Mutex<HashMap<String, TokenItem>>,
    failures: AtomicUsize,
}

#[derive(Debug, Default, Clone)]
struct TokenItem {
    record: TokenRecord,
    holder: Option<String>,
}

impl InMemoryTokenStore {
    /// Makes the next `n` calls fail.
    pub fn fail_next(&self, n: usize) {
        self.failures.store(n, Ordering::SeqCst);
    }

    fn fault(&self, operation: &'static str) -> Result<(), RepoError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(RepoError::new(operation, "injected fault"));
        }
        Ok(())
    }
}

#[async_trait]
impl TokenStore for InMemoryTokenStore {
    async fn get(&self, key: &str) -> Result<TokenRecord, RepoError> {
        self.fault("read shared token")?;
        Ok(lock(&self.items)
            .get(key)
            .map(|i| i.record.clone())
            .unwrap_or_default())
    }

    async fn lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        seen: Option<DateTime<Utc>>,
    ) -> Result<bool, RepoError> {
        self.fault("lease shared token")?;
        let mut items = lock(&self.items);
        let item = items.entry(key.to_owned()).or_default();
        let running = item.record.lease_until.is_some_and(|end| now < end);
        let kept = item.record.token.as_ref().map(|t| t.fetched_at);
        if running || kept != seen {
            return Ok(false);
        }
        item.record.lease_until = Some(until);
        item.record.failure = None;
        item.holder = Some(holder.to_owned());
        Ok(true)
    }

    async fn put(&self, key: &str, holder: &str, token: &SharedToken) -> Result<bool, RepoError> {
        self.fault("keep shared token")?;
        let mut items = lock(&self.items);
        let item = items.entry(key.to_owned()).or_default();
        if item.holder.as_deref() != Some(holder) {
            return Ok(false);
        }
        item.record = TokenRecord {
            token: Some(token.clone()),
            lease_until: None,
            failure: None,
        };
        item.holder = None;
        Ok(true)
    }

    async fn fail(
        &self,
        key: &str,
        holder: &str,
        until: DateTime<Utc>,
        failure: &FetchFailure,
    ) -> Result<bool, RepoError> {
        self.fault("hold off token fetches")?;
        let mut items = lock(&self.items);
        let item = items.entry(key.to_owned()).or_default();
        if item.holder.as_deref() != Some(holder) {
            return Ok(false);
        }
        item.record.lease_until = Some(until);
        item.record.failure = Some(failure.clone());
        item.holder = None;
        Ok(true)
    }
}
