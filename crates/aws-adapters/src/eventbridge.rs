//! Publishing to the bus: `PutEvents` in batches of at most 10 entries and 256 KiB, checking
//! `FailedEntryCount` and retrying only the entries that failed, with jittered backoff.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use order_events::OutboundEvent;
use pipeline::ports::{EventPublisher, PublishError};
use tracing::warn;

use crate::describe;

/// PutEvents takes at most 10 entries per call.
pub const MAX_ENTRIES: usize = 10;
/// PutEvents takes at most 256 KiB per call.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Publishes to one bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
    attempts: u32,
}

impl EventBridgePublisher {
    /// The IAM actions its calls need, on the bus.
    pub const IAM_ACTIONS: &'static [&'static str] = &["events:PutEvents"];

    /// Publishes to `bus` (name or ARN) through `client`.
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
            attempts: 4,
        }
    }

    fn entry(&self, e: &OutboundEvent) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&e.source)
            .detail_type(&e.detail_type)
            .detail(e.detail.to_string())
            .build()
    }
}

/// An entry's size as EventBridge counts it (source, detail-type, detail, bus).
fn entry_size(e: &OutboundEvent, bus: &str) -> usize {
    e.source.len() + e.detail_type.len() + e.detail.to_string().len() + bus.len()
}

/// Splits events into batches within both PutEvents limits.
pub fn batches<'a>(events: &'a [OutboundEvent], bus: &str) -> Vec<&'a [OutboundEvent]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, e) in events.iter().enumerate() {
        let size = entry_size(e, bus);
        if i > start && (i - start == MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES) {
            out.push(&events[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

/// The wait before retry `attempt` (0 first) of the entries PutEvents did not take: "equal
/// jitter", uniform between half the ceiling and the ceiling, which doubles from 50 ms and stops
/// at 3.2 s (attempt 6 on).
fn backoff(attempt: u32) -> Duration {
    let ceiling = 50u64 << attempt.min(6);
    Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        for batch in batches(events, &self.bus) {
            let mut pending: Vec<&OutboundEvent> = batch.iter().collect();
            let mut last_errors = Vec::new();
            for attempt in 0..self.attempts {
                if attempt > 0 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                let entries: Vec<_> = pending.iter().map(|e| self.entry(e)).collect();
                let out = match self
                    .client
                    .put_events()
                    .set_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) => out,
                    Err(e) => {
                        last_errors = vec![describe(&e)];
                        warn!(attempt, error = %last_errors[0], "PutEvents failed");
                        continue;
                    }
                };
                if out.failed_entry_count() == 0 {
                    pending.clear();
                    break;
                }
                // Results come back in request order; keep only the entries that failed.
                last_errors.clear();
                let mut still = Vec::new();
                for (event, result) in pending.iter().zip(out.entries()) {
                    if let Some(code) = result.error_code() {
                        last_errors
                            .push(format!("{code}: {}", result.error_message().unwrap_or("")));
                        still.push(*event);
                    }
                }
                warn!(
                    attempt,
                    failed = still.len(),
                    "PutEvents rejected some entries; retrying those"
                );
                pending = still;
                if pending.is_empty() {
                    break;
                }
            }
            if !pending.is_empty() {
                return Err(PublishError {
                    failed: pending.len(),
                    total: events.len(),
                    message: last_errors.join("; "),
                    source: None,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn the_retry_wait_stays_between_half_the_ceiling_and_the_ceiling_which_doubles_to_3_2_s() {
        fastrand::seed(11);
        for (attempt, ceiling) in [
            (0, 50),
            (1, 100),
            (2, 200),
            (5, 1_600),
            (6, 3_200),
            (30, 3_200),
        ] {
            let draws: Vec<u128> = (0..500).map(|_| backoff(attempt).as_millis()).collect();
            let (min, max) = (draws.iter().min().unwrap(), draws.iter().max().unwrap());
            assert!(
                *min >= ceiling / 2 && *max <= ceiling,
                "attempt {attempt}: {min}..{max}"
            );
            assert!(
                *max >= ceiling * 95 / 100,
                "attempt {attempt}: never near {ceiling} ms"
            );
            assert!(
                *min <= ceiling * 55 / 100,
                "attempt {attempt}: never near {} ms",
                ceiling / 2
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(bytes: usize) -> OutboundEvent {
        OutboundEvent {
            source: "s".into(),
            detail_type: "d".into(),
            detail: json!({ "x": "a".repeat(bytes) }),
        }
    }

    #[test]
    fn batches_hold_at_most_ten_entries() {
        let events: Vec<_> = (0..23).map(|_| event(10)).collect();
        let sizes: Vec<_> = batches(&events, "bus").iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![10, 10, 3]);
    }

    #[test]
    fn batches_stay_under_the_size_limit() {
        let events: Vec<_> = (0..5).map(|_| event(100 * 1024)).collect();
        let sizes: Vec<_> = batches(&events, "bus").iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn no_events_make_no_batches() {
        assert!(batches(&[], "bus").is_empty());
    }
}
