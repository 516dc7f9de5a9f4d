//! Time scaling: `--time-scale 60` makes the waits the workflow plans (Wait states, task
//! timeouts and heartbeats, so a hold) and the bus's redelivery backoff sixty times shorter,
//! so a scheduled order does not sleep real minutes. Function deadlines stay real, and so do
//! the workflow's retry intervals, which race them: a retry of `OrderInProgress` waits for a
//! claim that expires at a real function deadline, and scaling only the retry would let the
//! local cloud settle that race differently from AWS.

use std::time::Duration;

/// How much faster than real time the local cloud waits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    /// Real time.
    pub const REAL: TimeScale = TimeScale(1.0);

    /// `factor` times faster (at least 1).
    pub fn new(factor: f64) -> Self {
        Self(if factor.is_finite() && factor >= 1.0 {
            factor
        } else {
            1.0
        })
    }

    /// The factor.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// A workflow duration, scaled.
    pub fn scale(self, d: Duration) -> Duration {
        d.div_f64(self.0)
    }

    /// Seconds, scaled.
    pub fn seconds(self, s: f64) -> Duration {
        self.scale(Duration::from_secs_f64(s.max(0.0)))
    }

    /// Sleeps a scaled duration.
    pub async fn sleep(self, d: Duration) {
        tokio::time::sleep(self.scale(d)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_divides_durations_and_refuses_slowing_down() {
        assert_eq!(TimeScale::new(60.0).seconds(120.0), Duration::from_secs(2));
        assert_eq!(TimeScale::new(0.5).seconds(3.0), Duration::from_secs(3));
        assert_eq!(
            TimeScale::REAL.scale(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
    }
}
