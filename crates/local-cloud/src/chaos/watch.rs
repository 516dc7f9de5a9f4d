//! The statuses of the orders the run waits on, read by one reader for all of them.
//!
//! Each order's flow waits on its status in the orders table. Read order by order (a
//! consistent `GetItem` each 200 ms), a peak with thousands of orders waiting out an outage
//! asked DynamoDB Local for more reads than the pipeline itself made, and the run's own
//! watching held the local cloud at a full core. One reader asks for every watched order in
//! `BatchGetItem` requests of 100 keys each period instead, and the flows read what it saw;
//! likewise the orders with a handover waiting, read in one pass over the queues (the flows
//! each copied the whole handover queue to search it, thousands of messages after an outage).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::cloud::LocalCloud;
use order_domain::OrderStatus;

/// How often the watched orders' statuses are read.
pub(super) const PERIOD: Duration = Duration::from_millis(200);

/// The last status read for each watched order.
#[derive(Default)]
pub(super) struct StatusWatch {
    /// Watched order ids, with the status last read (none before the first read, or while the
    /// order has no record).
    seen: Mutex<HashMap<String, Option<OrderStatus>>>,
    /// The orders with a handover waiting in a queue, as last read.
    queued: Mutex<std::collections::HashSet<String>>,
}

impl StatusWatch {
    /// The status last read for `order_id`, watching it from now on if it was not watched.
    pub(super) fn status(&self, order_id: &str) -> Option<OrderStatus> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        *seen.entry(order_id.to_owned()).or_default()
    }

    /// Whether `order_id` had a handover waiting in a queue when last read.
    pub(super) fn queued(&self, order_id: &str) -> bool {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(order_id)
    }

    /// Stops watching `order_id` (its flow is over).
    pub(super) fn forget(&self, order_id: &str) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(order_id);
    }

    /// Reads every watched order's status once. A failed read (DynamoDB Local restarting)
    /// keeps what was seen before; the next period reads again.
    pub(super) async fn refresh(&self, cloud: &LocalCloud) {
        let queued = cloud.queued_orders().await;
        *self.queued.lock().unwrap_or_else(PoisonError::into_inner) = queued;
        let ids: Vec<String> = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        for chunk in ids.chunks(crate::cloud::BATCH_GET_KEYS) {
            let Ok(read) = cloud.order_statuses(chunk).await else {
                continue;
            };
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            for (id, status) in read {
                if let Some(s) = seen.get_mut(&id) {
                    *s = status.parse().ok();
                }
            }
        }
    }

    /// Reads every watched order's status each [`PERIOD`] until the task is aborted; a
    /// [`PERIOD`] more for each further thousand orders watched, so thousands waiting out an
    /// outage ask DynamoDB Local for about 50 reads a second, not the hundreds the
    /// pipeline's own calls would queue behind.
    pub(super) fn spawn(self: &Arc<Self>, cloud: Arc<LocalCloud>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.refresh(&cloud).await;
                let watched = me.seen.lock().unwrap_or_else(PoisonError::into_inner).len();
                tokio::time::sleep(PERIOD * (watched / 1000 + 1) as u32).await;
            }
        })
    }
}
