//! Where a local service counts what AWS would bill it for: a seam, so a service knows
//! nothing of the meter that prices its usage (the local cloud's), and counts nothing when
//! used on its own.

/// A Secrets Manager API call (AWS Secrets Manager pricing: US$0.05 per 10,000 API calls).
pub const SECRETS_MANAGER_API_CALL: &str = "secretsmanager:api-call";

/// Counts billable units as a service uses them.
pub trait UsageSink: Send + Sync {
    /// Counts `n` of `unit` (one of this module's unit names).
    fn count(&self, unit: &'static str, n: u64);
}

/// Counts nothing: for a service used on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoUsage;

impl UsageSink for NoUsage {
    fn count(&self, _: &'static str, _: u64) {}
}
