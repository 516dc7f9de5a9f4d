//! In-memory twins of every port: the handler tests run against these, and the functions can
//! run with them (`PIPELINE_BACKEND=memory`) under `cargo lambda watch` with no services.
//! Each twin records what it was asked and can be told to fail.
//!
//! Each twin lives beside its port in [`crate::ports`]; this module gathers them.

pub use crate::catalog_admin::InMemoryCatalogAdmin;
pub use crate::ports::{
    CallbackCall, Fault, FixedClock, InMemoryCatalog, InMemoryDocuments, InMemoryHeld,
    InMemoryOrders, InMemoryPartnerApi, InMemoryPos, InMemoryPosHealth, InMemoryTokenStore,
    ItemStatusCall, PartnerCall, PosRecord, RecordingCallbacks, RecordingMetrics,
    RecordingPublisher, RecordingStarter, StoreStatusCall, apply_transition,
};
