//! `local-cloud capacity --rate <orders/s> --region <region>`: what a peak asks of AWS's
//! quotas, on paper. A short metered run at a peak's mix ([`crate::peak`], no outage, no
//! quota enforced) counts what each order takes of each quota and each function's
//! invocations and duration; scaled to the rate, each is set against the region's default
//! ([`local_aws_core::quota`]) to give its use, its headroom and the increases to request
//! before going live.

use std::collections::BTreeMap;

use local_aws_core::quota::{self, Quotas};
use serde::{Deserialize, Serialize};

use crate::lambda::FunctionStats;
use crate::quota_report::QuotaRow;

/// What one order takes, from a metered run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Demand {
    /// The run it was measured in (`peak run, seed …`).
    pub measured_in: String,
    /// Orders the run sent.
    pub orders: usize,
    /// Tokens per order, by quota (the fixed quotas and the template's route throttles).
    pub per_order: BTreeMap<String, f64>,
    /// Per function: invocations per order and mean billed duration, ms.
    pub lambda: BTreeMap<String, (f64, f64)>,
    /// The template's own limits (each webhook route's throttle), per second at full scale:
    /// not AWS defaults, so a region does not change them.
    pub template_limits: BTreeMap<String, f64>,
}

impl Demand {
    /// What `orders` orders took in a run whose quotas were divided by `scale`: each fixed
    /// quota's and each route's tokens per order (the keyed families, Lambda's scaling rate and
    /// DynamoDB's partitions, are per function and per key, not per order, and are left out),
    /// and each function's invocations per order and mean billed duration.
    pub fn measured(
        measured_in: String,
        orders: usize,
        quotas: &[QuotaRow],
        scale: f64,
        lambda: &BTreeMap<String, FunctionStats>,
    ) -> Self {
        let n = orders.max(1) as f64;
        let keyed = [
            quota::LAMBDA_SCALING,
            quota::DYNAMODB_PARTITION_READS,
            quota::DYNAMODB_PARTITION_WRITES,
        ];
        let mut per_order = BTreeMap::new();
        let mut template_limits = BTreeMap::new();
        for q in quotas.iter().filter(|q| !keyed.contains(&q.name.as_str())) {
            per_order.insert(q.name.clone(), q.taken as f64 / n);
            if q.name.starts_with(crate::apigw::ROUTE_QUOTA_PREFIX) {
                template_limits.insert(q.name.clone(), q.refill * scale.max(1.0));
            }
        }
        let lambda = lambda
            .iter()
            .filter(|(_, s)| s.invocations > 0)
            .map(|(f, s)| {
                (
                    f.clone(),
                    (
                        s.invocations as f64 / n,
                        s.billed_ms as f64 / s.invocations as f64,
                    ),
                )
            })
            .collect();
        Self {
            measured_in,
            orders,
            per_order,
            lambda,
            template_limits,
        }
    }
}

/// One quota at a rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityRow {
    /// The quota.
    pub quota: String,
    /// What the rate asks, per second.
    pub needed: f64,
    /// The region's default refill (or limit), per second.
    pub limit: f64,
    /// `1 − needed / limit`.
    pub headroom: f64,
    /// What to ask for, when the rate needs more than the default (a quarter to spare).
    pub request: Option<f64>,
}

/// The demand of an order at `rate` orders a second against `region`'s defaults, tightest
/// first. Lambda concurrency is the sum over functions of invocations per order × duration ×
/// rate, against the account's 1,000.
pub fn plan(demand: &Demand, region: &str, rate: f64) -> Result<Vec<CapacityRow>, String> {
    let defaults = Quotas::aws_defaults(region, 1.0)?;
    let mut rows = Vec::new();
    let row = |quota: String, needed: f64, limit: f64| {
        let headroom = if limit > 0.0 {
            1.0 - needed / limit
        } else {
            f64::NEG_INFINITY
        };
        CapacityRow {
            quota,
            needed,
            limit,
            headroom,
            request: (needed > limit).then(|| (needed * 1.25).ceil()),
        }
    };
    // A quota the run never drew on (an admin route) asks nothing at any rate.
    for (name, per_order) in demand.per_order.iter().filter(|(_, n)| **n > 0.0) {
        let limit = match (defaults.get(name), demand.template_limits.get(name)) {
            (Some(q), _) => q.rate().refill,
            // A route's own throttle is the template's: raising it is a template change.
            (None, Some(limit)) => *limit,
            (None, None) => continue,
        };
        rows.push(row(name.clone(), per_order * rate, limit));
    }
    let concurrency: f64 = demand
        .lambda
        .values()
        .map(|(per_order, ms)| per_order * ms / 1000.0 * rate)
        .sum();
    rows.push(row(
        "lambda:concurrent executions".to_owned(),
        concurrency,
        quota::LAMBDA_ACCOUNT_CONCURRENCY as f64,
    ));
    rows.sort_by(|a, b| a.headroom.total_cmp(&b.headroom));
    Ok(rows)
}

/// The rows as a table.
pub fn table(region: &str, rate: f64, demand: &Demand, rows: &[CapacityRow]) -> String {
    let mut out = format!(
        "capacity at {rate} orders/s in {region}, from {} orders of the {} (tightest first)\n",
        demand.orders, demand.measured_in
    );
    out.push_str(&format!(
        "  {:<40} {:>10} {:>10} {:>9}  {}\n",
        "quota", "needed/s", "default", "headroom", "request"
    ));
    for r in rows {
        out.push_str(&format!(
            "  {:<40} {:>10.1} {:>10.0} {:>8.0}%  {}\n",
            r.quota,
            r.needed,
            r.limit,
            r.headroom * 100.0,
            match r.request {
                None => String::new(),
                Some(n) if demand.template_limits.contains_key(&r.quota) =>
                    format!("raise the template's throttle to {n:.0}"),
                Some(n) => format!("request {n:.0} (Service Quotas)"),
            }
        ));
    }
    match rows.first() {
        Some(first) if first.headroom < 0.0 => out.push_str(&format!(
            "binds first: {} ({:.0} needed against {:.0})\n",
            first.quota, first.needed, first.limit
        )),
        Some(first) => out.push_str(&format!(
            "nothing binds; the tightest is {} at {:.0}% headroom\n",
            first.quota,
            first.headroom * 100.0
        )),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand() -> Demand {
        Demand {
            measured_in: "test".to_owned(),
            orders: 100,
            per_order: BTreeMap::from([
                (quota::STANDARD_START_EXECUTION.to_owned(), 0.8),
                (quota::EXPRESS_START_EXECUTION.to_owned(), 1.5),
                (quota::STATE_TRANSITION.to_owned(), 3.0),
                ("apigateway:route POST /webhooks/app".to_owned(), 1.0),
            ]),
            lambda: BTreeMap::from([("pos".to_owned(), (1.0, 400.0))]),
            template_limits: BTreeMap::from([(
                "apigateway:route POST /webhooks/app".to_owned(),
                800.0,
            )]),
        }
    }

    #[test]
    fn what_binds_first_depends_on_the_region() {
        // 500 orders/s: 400 Standard starts a second against 300 in us-east-1, 150 in
        // eu-central-1, where 1,500 transitions a second also pass its 800.
        let east = plan(&demand(), "us-east-1", 500.0).unwrap();
        assert_eq!(east[0].quota, quota::STANDARD_START_EXECUTION);
        assert_eq!((east[0].needed, east[0].limit), (400.0, 300.0));
        assert_eq!(east[0].request, Some(500.0));
        let frankfurt = plan(&demand(), "eu-central-1", 500.0).unwrap();
        let needs: Vec<&str> = frankfurt
            .iter()
            .filter(|r| r.request.is_some())
            .map(|r| r.quota.as_str())
            .collect();
        assert_eq!(
            needs,
            [quota::STANDARD_START_EXECUTION, quota::STATE_TRANSITION]
        );
        // Lambda: 500 × 0.4 s = 200 concurrent, of 1,000.
        let lambda = east
            .iter()
            .find(|r| r.quota == "lambda:concurrent executions")
            .unwrap();
        assert_eq!(lambda.needed, 200.0);
        let printed = table("us-east-1", 500.0, &demand(), &east);
        assert!(printed.contains("binds first: states:StartExecution (Standard)"));
        // The route is set against the template's throttle in every region.
        let route = frankfurt
            .iter()
            .find(|r| r.quota.starts_with("apigateway:route"))
            .unwrap();
        assert_eq!(
            (route.needed, route.limit, route.request),
            (500.0, 800.0, None)
        );
    }

    #[test]
    fn a_runs_tokens_become_tokens_per_order() {
        let row = |name: &str, taken: u64, refill: f64| QuotaRow {
            name: name.to_owned(),
            bucket: refill,
            refill,
            peak_per_second: 0.0,
            headroom: 1.0,
            taken,
            throttled: 0,
            delayed: 0,
            longest_delay_seconds: 0.0,
            source: String::new(),
        };
        let stats = FunctionStats {
            invocations: 300,
            billed_ms: 6_000,
            ..FunctionStats::default()
        };
        let d = Demand::measured(
            "peak run".to_owned(),
            200,
            &[
                row(quota::STANDARD_START_EXECUTION, 150, 6.0),
                row("apigateway:route POST /webhooks/uber-eats", 400, 10.0),
                row(quota::DYNAMODB_PARTITION_WRITES, 900, 20.0),
            ],
            50.0,
            &BTreeMap::from([("pos".to_owned(), stats)]),
        );
        assert_eq!(d.per_order[quota::STANDARD_START_EXECUTION], 0.75);
        assert_eq!(
            d.per_order["apigateway:route POST /webhooks/uber-eats"],
            2.0
        );
        assert!(!d.per_order.contains_key(quota::DYNAMODB_PARTITION_WRITES));
        assert_eq!(
            d.template_limits["apigateway:route POST /webhooks/uber-eats"],
            500.0
        );
        assert_eq!(d.lambda["pos"], (1.5, 20.0));
    }
}
