//! The metrics the use cases record, and the in-memory twin.

use std::sync::Mutex;

use order_domain::{OrderStatus, Partner};

use super::*;

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
