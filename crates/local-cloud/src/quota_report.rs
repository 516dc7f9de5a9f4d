//! What a run asked of AWS's quotas ([`local_aws_core::quota`]): each quota's bucket and
//! refill as enforced (scaled), its busiest second, the headroom left at that second, and what
//! it refused or delayed.

use local_aws_core::quota::{QuotaUse, Quotas};
use serde::Serialize;

/// One quota's use, for reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaRow {
    /// The quota.
    pub name: String,
    /// Bucket (burst), tokens.
    pub bucket: f64,
    /// Refill, tokens per second.
    pub refill: f64,
    /// The busiest second's tokens.
    pub peak_per_second: f64,
    /// `1 − peak / refill`: what the busiest second left (negative: the bucket was being
    /// spent faster than it refills).
    pub headroom: f64,
    /// Tokens taken in all.
    pub taken: u64,
    /// Requests refused.
    pub throttled: u64,
    /// Requests delayed.
    pub delayed: u64,
    /// The longest delay, seconds.
    pub longest_delay_seconds: f64,
    /// Where AWS documents the figure.
    pub source: String,
}

impl From<QuotaUse> for QuotaRow {
    fn from(u: QuotaUse) -> Self {
        Self {
            headroom: 1.0 - u.peak_share(),
            name: u.name,
            bucket: u.rate.bucket,
            refill: u.rate.refill,
            peak_per_second: u.peak_per_second,
            taken: u.taken,
            throttled: u.throttled,
            delayed: u.delayed,
            longest_delay_seconds: u.longest_delay.as_secs_f64(),
            source: u.source.to_owned(),
        }
    }
}

/// Every quota's row, those used first.
pub fn rows(quotas: &Quotas) -> Vec<QuotaRow> {
    let mut rows: Vec<QuotaRow> = quotas.report().into_iter().map(QuotaRow::from).collect();
    rows.sort_by(|a, b| (b.taken > 0).cmp(&(a.taken > 0)).then(a.name.cmp(&b.name)));
    rows
}

/// The rows as a table, with a heading naming the region and scale.
pub fn table(quotas: &Quotas, rows: &[QuotaRow]) -> String {
    let mut out = format!(
        "AWS quotas ({}, divided by {}): peak use, headroom, throttles\n",
        quotas.region(),
        quotas.scale()
    );
    out.push_str(&format!(
        "  {:<48} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8}\n",
        "quota", "bucket", "refill/s", "peak/s", "headroom", "throttled", "delayed"
    ));
    for r in rows.iter().filter(|r| r.taken > 0 || r.throttled > 0) {
        out.push_str(&format!(
            "  {:<48} {:>9.1} {:>9.2} {:>8.0} {:>8.0}% {:>9} {:>8}\n",
            r.name,
            r.bucket,
            r.refill,
            r.peak_per_second,
            r.headroom * 100.0,
            r.throttled,
            r.delayed
        ));
    }
    let unused = rows
        .iter()
        .filter(|r| r.taken == 0 && r.throttled == 0)
        .count();
    if unused > 0 {
        out.push_str(&format!("  ({unused} quotas not drawn on)\n"));
    }
    out
}
