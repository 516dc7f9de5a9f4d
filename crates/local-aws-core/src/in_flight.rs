//! Work a local service has accepted and not yet finished: a delivery waiting out its retry
//! backoff, an asynchronous invocation between Lambda's retries. A run that waits for the
//! services to fall quiet before it reads their records counts these too, or it reads them
//! while an accepted event still has a retry to come.
//!
//! ```
//! use local_aws_core::in_flight::InFlight;
//!
//! let work = InFlight::default();
//! let guard = work.enter();
//! assert_eq!(work.count(), 1);
//! drop(guard);
//! assert_eq!(work.count(), 0);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A count of pieces of work in flight, shared by clones.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Counts one more piece of work until the returned guard is dropped (take it before the
    /// work is spawned, so there is no moment it is accepted and not counted).
    pub fn enter(&self) -> Entered {
        self.0.fetch_add(1, Ordering::SeqCst);
        Entered(self.0.clone())
    }

    /// How many pieces of work are in flight now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// One piece of work counted in flight; dropping it ends the count.
#[derive(Debug)]
pub struct Entered(Arc<AtomicUsize>);

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
