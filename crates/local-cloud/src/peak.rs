//! `local-cloud peak`: a peak through a long POS outage, run as the chaos run is (the same
//! plan machinery, the same verdict from independent records) with AWS's quotas as what
//! binds. At `--quota-scale k`, orders arrive at `rate / k` a second against quotas divided
//! by `k`: the peak's ratio of load to quota on one machine.

use std::time::Duration;

use crate::chaos::Settings;

/// A peak's plan, at full scale.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakPlan {
    /// Orders a second at full scale.
    pub rate: f64,
    /// How long the orders keep coming, minutes.
    pub minutes: f64,
    /// When the POS goes down, minutes after the first order.
    pub outage_at: f64,
    /// How long it stays down, minutes.
    pub outage_minutes: f64,
    /// What every quota and the rate are divided by.
    pub quota_scale: f64,
}

impl PeakPlan {
    /// Orders a second the run sends.
    pub fn scaled_rate(&self) -> f64 {
        self.rate / self.quota_scale.max(1.0)
    }

    /// How many orders the run sends.
    pub fn orders(&self) -> usize {
        (self.scaled_rate() * self.minutes * 60.0).round().max(1.0) as usize
    }

    /// The sweeper's grace in the run, minutes: twice the time orders keep coming, at least
    /// two. Its job in the run is the order stranded on purpose; the grace must outlast the
    /// longest a live order can wait for its workflow here (a handover queued behind the
    /// Standard start's refill, which grows while orders keep coming), or the sweeper would
    /// race it, which the verdict calls a broken promise. On AWS it is 90 minutes.
    pub fn sweep_grace_minutes(&self) -> u32 {
        (self.minutes * 2.0).ceil().max(2.0) as u32
    }

    /// How long the POS may fail before its stores are paused in the run, seconds: half the
    /// outage, so that the run shows a pause and the resume after it (on AWS ten minutes, the
    /// template's default; an outage here is minutes, not hours).
    pub fn pos_pause_after_seconds(&self) -> u32 {
        (self.outage_minutes * 30.0).ceil().max(1.0) as u32
    }

    /// The run's settings (no outage when `outage_minutes` is not above 0).
    pub fn settings(&self, seed: u64) -> Settings {
        let minutes = |m: f64| Duration::from_secs_f64((m * 60.0).max(0.0));
        Settings {
            sweep_grace_minutes: Some(self.sweep_grace_minutes()),
            pos_pause_after_seconds: (self.outage_minutes > 0.0)
                .then(|| self.pos_pause_after_seconds()),
            ..Settings::peak(
                self.orders(),
                seed,
                self.scaled_rate(),
                (self.outage_minutes > 0.0)
                    .then(|| (minutes(self.outage_at), minutes(self.outage_minutes))),
            )
        }
    }

    /// One line saying what the run does.
    pub fn describe(&self, region: &str, seed: u64) -> String {
        format!(
            "peak: {} orders at {:.1}/s ({} orders/s at full scale, quotas of {region} divided by {}) for {} min, {}, seed {seed} …",
            self.orders(),
            self.scaled_rate(),
            self.rate,
            self.quota_scale,
            self.minutes,
            if self.outage_minutes > 0.0 {
                format!(
                    "the POS down for {} min from {} min",
                    self.outage_minutes, self.outage_at
                )
            } else {
                "no POS outage".to_owned()
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_scaled_with_the_quotas() {
        let p = PeakPlan {
            rate: 500.0,
            minutes: 10.0,
            outage_at: 2.0,
            outage_minutes: 10.0,
            quota_scale: 50.0,
        };
        assert_eq!(p.scaled_rate(), 10.0);
        assert_eq!(p.orders(), 6_000);
        let s = p.settings(7);
        assert_eq!(s.rate, Some(10.0));
        assert_eq!(
            s.pos_outage,
            Some((Duration::from_secs(120), Duration::from_secs(600)))
        );
        assert!(!s.disruptions && s.fault_rate == 0.0);
        assert_eq!(s.sweep_grace_minutes, Some(20));
        assert_eq!(s.pos_pause_after_seconds, Some(300), "half the outage");
        let calm = PeakPlan {
            outage_minutes: 0.0,
            ..p
        };
        assert_eq!(calm.settings(7).pos_outage, None);
        assert_eq!(calm.settings(7).pos_pause_after_seconds, None);
    }
}
