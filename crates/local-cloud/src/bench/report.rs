//! The bench's report as printed, and the comparison of several runs.

use super::*;

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.mode {
            Mode::Closed => "closed loop",
            Mode::Burst => "burst",
        };
        writeln!(
            f,
            "{} orders ({} webhooks; {how}, {} clients; {} processes per function): {} completed in {:.1} s",
            self.orders,
            self.webhooks,
            self.clients,
            self.concurrency,
            self.completed,
            self.wall_seconds
        )?;
        writeln!(f, "throughput  {:.1} orders/s", self.orders_per_second)?;
        writeln!(
            f,
            "latency     p50 {:.0} ms   p99 {:.0} ms   max {:.0} ms   (the {} orders not held)",
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.completed - self.held
        )?;
        if self.held == 0 {
            writeln!(f, "held        none")?;
        } else {
            writeln!(
                f,
                "held        {} orders, p50 {:.0} ms (held until a few minutes before pickup, time scaled)",
                self.held, self.held_p50_ms
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "cost ({} topology; AWS prices of {}, us-east-1, arm64), US$ per million orders:",
            self.topology,
            crate::meter::prices::READ_ON
        )?;
        for (service, usd) in &self.cost_per_million {
            writeln!(f, "  {service:<24} {usd:>10.2}")?;
        }
        writeln!(f, "  {:<24} {:>10.2}", "total", self.total_per_million)?;
        let c = &self.catalogue;
        writeln!(
            f,
            "catalogue   {} stores: {:.2} table reads and {:.2} lookups per order, cache hit ratio {:.1} %",
            if c.stores == 0 {
                "the repository's".to_owned()
            } else {
                c.stores.to_string()
            },
            c.reads_per_order,
            c.lookups_per_order,
            c.hit_ratio * 100.0
        )?;
        writeln!(f, "one immediate order, alone:")?;
        for (what, n) in &self.critical_path {
            // (`+ 0.0` turns a -0.00 from subtracting equal sums into 0.00.)
            writeln!(f, "  {what:<36} {:>8.2}", n + 0.0)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<28} {:>12} {:>12} {:>12} {:>9}",
            "function", "init (ms)", "peak RSS", "invocations", "restarts"
        )?;
        for (name, s) in &self.functions {
            let mut init = s.init_times_ms.clone();
            init.sort_by(f64::total_cmp);
            let median = percentile(&init, 50.0);
            writeln!(
                f,
                "{:<28} {:>12.1} {:>9.1} MB {:>12} {:>9}",
                name,
                median,
                s.peak_rss_kb as f64 / 1024.0,
                s.invocations,
                s.restarts
            )?;
        }
        Ok(())
    }
}

/// The cost of each report's topology side by side, US$ per million orders, by service.
pub fn comparison(reports: &[Report]) -> String {
    use std::fmt::Write as _;
    let services: std::collections::BTreeSet<&String> = reports
        .iter()
        .flat_map(|r| r.cost_per_million.keys())
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:<26}", "US$ per million orders");
    for r in reports {
        let _ = write!(out, " {:>16}", r.topology.to_string());
    }
    out.push('\n');
    for service in services {
        let _ = write!(out, "{service:<26}");
        for r in reports {
            let usd = r.cost_per_million.get(service).copied().unwrap_or(0.0);
            let _ = write!(out, " {usd:>16.2}");
        }
        out.push('\n');
    }
    let _ = write!(out, "{:<26}", "total");
    for r in reports {
        let _ = write!(out, " {:>16.2}", r.total_per_million);
    }
    out.push('\n');
    out
}
