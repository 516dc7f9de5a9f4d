//! Time, and a fixed clock for tests.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;

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
