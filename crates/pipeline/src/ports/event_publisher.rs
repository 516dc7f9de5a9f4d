//! Publishing to the bus, and the in-memory twin that records what was published.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use order_events::OutboundEvent;

use super::*;

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
