//! AWS's default service quotas, enforced as AWS enforces them: token buckets (a bucket of
//! requests that refills at a steady rate, a request taking one token or being refused or
//! delayed), per region where AWS's figures differ, each number with the page it comes from.
//!
//! [`Quotas::aws_defaults`] gives a region's defaults divided by a scale `k`
//! (`--quota-scale`): a run at `peak / k` on one machine then has the peak's ratio of load to
//! quota. Each [`Quota`] keeps its use (the busiest second, everything taken, what was
//! refused or delayed) for the report a run prints ([`Quotas::report`]).
//!
//! ```
//! use local_aws_core::quota::{Quotas, STANDARD_START_EXECUTION};
//!
//! // us-east-1's Standard StartExecution bucket (1,300, refilled at 300/s), scaled by 100.
//! let q = Quotas::aws_defaults("us-east-1", 100.0).unwrap();
//! let start = q.get(STANDARD_START_EXECUTION).unwrap();
//! assert_eq!((start.rate().bucket, start.rate().refill), (13.0, 3.0));
//! let taken = (0..20).filter(|_| start.try_take()).count();
//! assert_eq!(taken, 13, "the bucket, then throttled until it refills");
//! assert_eq!(start.report().throttled, 7);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

// tokio's clock: the real one, or a paused one that tests move.
use tokio::time::Instant;

/// A token bucket's size and refill, in requests and requests per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens the bucket holds when full (the burst).
    pub bucket: f64,
    /// Tokens added per second.
    pub refill: f64,
}

impl Rate {
    /// A bucket of `bucket` tokens refilled at `refill` per second.
    pub const fn new(bucket: f64, refill: f64) -> Self {
        Self { bucket, refill }
    }

    /// A quota stated only as a rate per second: a bucket of one second's worth.
    pub const fn per_second(rate: f64) -> Self {
        Self {
            bucket: rate,
            refill: rate,
        }
    }

    fn scaled(self, k: f64) -> Self {
        Self {
            bucket: (self.bucket / k).max(1.0),
            refill: self.refill / k,
        }
    }
}

/// What a quota was asked for during a run.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaUse {
    /// The quota's name ([`STANDARD_START_EXECUTION`], …; a keyed family's name).
    pub name: String,
    /// Its bucket and refill (scaled).
    pub rate: Rate,
    /// The most tokens taken in any one second (for a keyed family, by its busiest key).
    pub peak_per_second: f64,
    /// Tokens taken in all.
    pub taken: u64,
    /// Requests refused for want of a token.
    pub throttled: u64,
    /// Requests made to wait for a token (those AWS delays rather than refuses).
    pub delayed: u64,
    /// The longest such wait.
    pub longest_delay: Duration,
    /// Where AWS documents the figure.
    pub source: &'static str,
}

impl QuotaUse {
    /// The busiest second's use as a share of the refill rate (above 1: the bucket was being
    /// spent faster than it refills).
    pub fn peak_share(&self) -> f64 {
        if self.rate.refill > 0.0 {
            self.peak_per_second / self.rate.refill
        } else {
            0.0
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    second_started: Instant,
    this_second: f64,
    peak_per_second: f64,
    taken: u64,
    throttled: u64,
    delayed: u64,
    longest_delay: Duration,
}

/// One token bucket.
#[derive(Debug)]
pub struct Quota {
    name: String,
    rate: Rate,
    source: &'static str,
    bucket: Mutex<Bucket>,
}

impl Quota {
    /// A full bucket of `rate`.
    pub fn new(name: impl Into<String>, rate: Rate, source: &'static str) -> Self {
        let now = Instant::now();
        Self {
            name: name.into(),
            rate,
            source,
            bucket: Mutex::new(Bucket {
                tokens: rate.bucket,
                refilled: now,
                second_started: now,
                this_second: 0.0,
                peak_per_second: 0.0,
                taken: 0,
                throttled: 0,
                delayed: 0,
                longest_delay: Duration::ZERO,
            }),
        }
    }

    /// Its bucket and refill.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refills for the time passed; `Ok` with a token taken, or `Err` with how long until one.
    fn attempt(&self, b: &mut Bucket, now: Instant) -> Result<(), Duration> {
        let passed = now.duration_since(b.refilled).as_secs_f64();
        b.tokens = (b.tokens + passed * self.rate.refill).min(self.rate.bucket);
        b.refilled = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            b.taken += 1;
            if now.duration_since(b.second_started) >= Duration::from_secs(1) {
                b.second_started = now;
                b.this_second = 0.0;
            }
            b.this_second += 1.0;
            b.peak_per_second = b.peak_per_second.max(b.this_second);
            Ok(())
        } else if self.rate.refill > 0.0 {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.rate.refill))
        } else {
            Err(Duration::from_secs(3600))
        }
    }

    /// Takes a token if there is one; otherwise counts a throttle and returns false (for the
    /// quotas AWS enforces by refusing: `ThrottlingException`, 429).
    pub fn try_take(&self) -> bool {
        let mut b = self.lock();
        match self.attempt(&mut b, Instant::now()) {
            Ok(()) => true,
            Err(_) => {
                b.throttled += 1;
                false
            }
        }
    }

    /// Takes a token, waiting for one if need be (for the quotas AWS enforces by delaying:
    /// throttled state transitions, throttled rule target invocations). Returns the wait.
    pub async fn take(&self) -> Duration {
        let started = Instant::now();
        let mut counted = false;
        loop {
            let wait = {
                let mut b = self.lock();
                match self.attempt(&mut b, Instant::now()) {
                    Ok(()) => {
                        let waited = started.elapsed();
                        b.longest_delay = b.longest_delay.max(waited);
                        return waited;
                    }
                    Err(wait) => {
                        if !counted {
                            b.delayed += 1;
                            counted = true;
                        }
                        wait
                    }
                }
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    /// What it was asked for so far.
    pub fn report(&self) -> QuotaUse {
        let b = self.lock();
        QuotaUse {
            name: self.name.clone(),
            rate: self.rate,
            peak_per_second: b.peak_per_second,
            taken: b.taken,
            throttled: b.throttled,
            delayed: b.delayed,
            longest_delay: b.longest_delay,
            source: self.source,
        }
    }
}

/// Standard workflows' `StartExecution` (bucket 1,300 refilled at 300/s in us-east-1,
/// us-west-2 and eu-west-1; 800 and 150/s elsewhere).
pub const STANDARD_START_EXECUTION: &str = "states:StartExecution (Standard)";
/// Express workflows' `StartExecution` (6,000, refilled at 6,000/s, in every region).
pub const EXPRESS_START_EXECUTION: &str = "states:StartExecution (Express)";
/// Standard state transitions, shared by every Standard execution (5,000 and 5,000/s in
/// the three large regions; 800 and 800/s elsewhere). Express transitions are unlimited.
pub const STATE_TRANSITION: &str = "states:StateTransition (Standard)";
/// `SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat` (3,000 and 500/s in the three
/// large regions; 1,500 and 300/s elsewhere), one bucket each.
pub const SEND_TASK: &str = "states:SendTask*";
/// `PutEvents` requests per second, per region (10,000 in the three large regions).
pub const PUT_EVENTS: &str = "events:PutEvents";
/// Rule target invocations per second (18,750 in the three large regions): over it, AWS
/// delays the invocations.
pub const TARGET_INVOCATIONS: &str = "events:invocations";
/// HTTP APIs' account-level throttle (10,000 requests per second with a burst of 5,000; 2,500
/// and 1,250 in thirteen newer regions).
pub const HTTP_API_ACCOUNT: &str = "apigateway:account throttle";
/// A Lambda function's scaling rate (1,000 new execution environments every 10 s, per
/// function): a keyed family, one bucket per function.
pub const LAMBDA_SCALING: &str = "lambda:scaling rate";
/// DynamoDB on-demand writes to one partition (1,000 write units per second): keyed by table
/// and partition key value.
pub const DYNAMODB_PARTITION_WRITES: &str = "dynamodb:partition writes";
/// DynamoDB on-demand reads from one partition (3,000 read units per second).
pub const DYNAMODB_PARTITION_READS: &str = "dynamodb:partition reads";

const SFN_QUOTAS: &str = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html";
const EB_QUOTAS: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html";
const APIGW_QUOTAS: &str =
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html";
const LAMBDA_SCALING_DOC: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html";
const LAMBDA_QUOTAS: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html";
const DDB_PARTITIONS: &str = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html";

/// The regions where Step Functions' larger API and transition buckets apply.
pub const STEP_FUNCTIONS_LARGE: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// EventBridge's `PutEvents` requests per second and target invocations per second in
/// `region` (eb-quota.html's tables; 400 and 750 in every region not listed).
pub fn eventbridge_rates(region: &str) -> (f64, f64) {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => (10_000.0, 18_750.0),
        "us-east-2" | "eu-central-1" | "eu-south-2" => (2_400.0, 4_500.0),
        "us-west-1" | "ap-northeast-1" | "ap-southeast-1" | "ap-southeast-2" | "eu-west-2" => {
            (1_200.0, 2_250.0)
        }
        "ap-east-1" | "ap-northeast-2" | "ap-south-1" | "ca-central-1" | "eu-north-1"
        | "eu-west-3" | "sa-east-1" => (600.0, 1_100.0),
        _ => (400.0, 750.0),
    }
}

/// The thirteen regions whose HTTP API account throttle is 2,500 requests per second with a
/// burst of 1,250 (limits.html).
pub const HTTP_API_SMALL: [&str; 13] = [
    "af-south-1",
    "eu-south-1",
    "ap-southeast-3",
    "me-central-1",
    "ap-south-2",
    "ap-southeast-4",
    "eu-south-2",
    "eu-central-2",
    "il-central-1",
    "ca-west-1",
    "ap-southeast-5",
    "ap-southeast-7",
    "mx-central-1",
];

/// Lambda's default concurrent executions per account and region (1,000; lower in new
/// accounts, "tens of thousands" on request).
pub const LAMBDA_ACCOUNT_CONCURRENCY: usize = 1_000;

/// Every AWS region this catalogue knows (an unknown name is refused, so a typo does not run
/// with another region's quotas).
pub const REGIONS: [&str; 33] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "mx-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-east-2",
];

/// Every quota of one account in one region.
#[derive(Debug)]
pub struct Quotas {
    region: String,
    scale: f64,
    fixed: BTreeMap<&'static str, Arc<Quota>>,
    /// Keyed families: (family, key) → bucket, made on first use at the family's rate.
    keyed: Mutex<HashMap<(&'static str, String), Arc<Quota>>>,
    family_rates: BTreeMap<&'static str, (Rate, &'static str)>,
    enforced: bool,
}

impl Quotas {
    /// AWS's defaults in `region`, every rate and bucket divided by `scale` (at least 1).
    ///
    /// # Errors
    /// A region this catalogue does not know, or a scale below 1.
    pub fn aws_defaults(region: &str, scale: f64) -> Result<Self, String> {
        if !REGIONS.contains(&region) {
            return Err(format!(
                "unknown region {region:?}; known: {}",
                REGIONS.join(", ")
            ));
        }
        if !(scale >= 1.0 && scale.is_finite()) {
            return Err(format!("the quota scale must be 1 or more, not {scale}"));
        }
        let large = STEP_FUNCTIONS_LARGE.contains(&region);
        let (put_events, invocations) = eventbridge_rates(region);
        let http = if HTTP_API_SMALL.contains(&region) {
            Rate::new(1_250.0, 2_500.0)
        } else {
            Rate::new(5_000.0, 10_000.0)
        };
        let mut fixed = BTreeMap::new();
        let mut add = |name: &'static str, rate: Rate, source: &'static str| {
            fixed.insert(name, Arc::new(Quota::new(name, rate.scaled(scale), source)));
        };
        add(
            STANDARD_START_EXECUTION,
            if large {
                Rate::new(1_300.0, 300.0)
            } else {
                Rate::new(800.0, 150.0)
            },
            SFN_QUOTAS,
        );
        add(
            EXPRESS_START_EXECUTION,
            Rate::new(6_000.0, 6_000.0),
            SFN_QUOTAS,
        );
        add(
            STATE_TRANSITION,
            if large {
                Rate::new(5_000.0, 5_000.0)
            } else {
                Rate::new(800.0, 800.0)
            },
            SFN_QUOTAS,
        );
        add(
            SEND_TASK,
            if large {
                Rate::new(3_000.0, 500.0)
            } else {
                Rate::new(1_500.0, 300.0)
            },
            SFN_QUOTAS,
        );
        add(PUT_EVENTS, Rate::per_second(put_events), EB_QUOTAS);
        add(TARGET_INVOCATIONS, Rate::per_second(invocations), EB_QUOTAS);
        add(HTTP_API_ACCOUNT, http, APIGW_QUOTAS);
        let family_rates = BTreeMap::from([
            (
                LAMBDA_SCALING,
                (Rate::new(1_000.0, 100.0).scaled(scale), LAMBDA_SCALING_DOC),
            ),
            (
                DYNAMODB_PARTITION_WRITES,
                (Rate::per_second(1_000.0).scaled(scale), DDB_PARTITIONS),
            ),
            (
                DYNAMODB_PARTITION_READS,
                (Rate::per_second(3_000.0).scaled(scale), DDB_PARTITIONS),
            ),
        ]);
        Ok(Self {
            region: region.to_owned(),
            scale,
            fixed,
            keyed: Mutex::default(),
            family_rates,
            enforced: true,
        })
    }

    /// No quota at all: every request passes (a service used on its own, or a run that asks
    /// for none).
    pub fn unlimited() -> Self {
        Self {
            region: crate::REGION.to_owned(),
            scale: 1.0,
            fixed: BTreeMap::new(),
            keyed: Mutex::default(),
            family_rates: BTreeMap::new(),
            enforced: false,
        }
    }

    /// Whether any quota is enforced.
    pub fn enforced(&self) -> bool {
        self.enforced
    }

    /// The region whose defaults these are.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The scale they are divided by.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Lambda's account concurrency, scaled (at least 1).
    pub fn lambda_account_concurrency(&self) -> Option<usize> {
        self.enforced
            .then(|| ((LAMBDA_ACCOUNT_CONCURRENCY as f64 / self.scale).floor() as usize).max(1))
    }

    /// A concurrency the template sets (reserved concurrency), scaled (at least 1; 0 stays 0,
    /// a function switched off).
    pub fn scaled_concurrency(&self, n: u32) -> u32 {
        if n == 0 || !self.enforced {
            return n;
        }
        ((f64::from(n) / self.scale).floor() as u32).max(1)
    }

    /// A rate the template sets (an HTTP API route's throttle), scaled as AWS's own are.
    pub fn scaled_rate(&self, rate: Rate) -> Rate {
        if self.enforced {
            rate.scaled(self.scale)
        } else {
            rate
        }
    }

    /// The fixed quota `name`, if enforced.
    pub fn get(&self, name: &str) -> Option<Arc<Quota>> {
        self.fixed.get(name).cloned()
    }

    /// The bucket of `family` (a keyed quota: [`LAMBDA_SCALING`], the DynamoDB partition
    /// families) for `key`, made on first use; `None` if the family is not enforced.
    pub fn keyed(&self, family: &'static str, key: &str) -> Option<Arc<Quota>> {
        let (rate, source) = *self.family_rates.get(family)?;
        let mut keyed = self.keyed.lock().unwrap_or_else(PoisonError::into_inner);
        Some(
            keyed
                .entry((family, key.to_owned()))
                .or_insert_with(|| Arc::new(Quota::new(family, rate, source)))
                .clone(),
        )
    }

    /// A quota of the template's own (an HTTP API route's throttle), registered under `name`
    /// so that it is reported with the rest.
    pub fn register(&self, name: &str, rate: Rate, source: &'static str) -> Arc<Quota> {
        let mut keyed = self.keyed.lock().unwrap_or_else(PoisonError::into_inner);
        keyed
            .entry(("template", name.to_owned()))
            .or_insert_with(|| Arc::new(Quota::new(name, rate, source)))
            .clone()
    }

    /// Every quota's use: each fixed quota, each template quota, and each keyed family once
    /// (its busiest key's peak, its keys' totals).
    pub fn report(&self) -> Vec<QuotaUse> {
        let mut out: Vec<QuotaUse> = self.fixed.values().map(|q| q.report()).collect();
        let keyed = self.keyed.lock().unwrap_or_else(PoisonError::into_inner);
        let mut families: BTreeMap<String, QuotaUse> = BTreeMap::new();
        for ((family, key), q) in keyed.iter() {
            let r = q.report();
            if *family == "template" {
                out.push(QuotaUse {
                    name: key.clone(),
                    ..r
                });
                continue;
            }
            let e = families.entry((*family).to_owned()).or_insert(QuotaUse {
                taken: 0,
                throttled: 0,
                delayed: 0,
                peak_per_second: 0.0,
                longest_delay: Duration::ZERO,
                ..r.clone()
            });
            e.taken += r.taken;
            e.throttled += r.throttled;
            e.delayed += r.delayed;
            e.peak_per_second = e.peak_per_second.max(r.peak_per_second);
            e.longest_delay = e.longest_delay.max(r.longest_delay);
        }
        out.extend(families.into_values());
        out
    }
}

/// The source of Lambda's account concurrency figure.
pub const LAMBDA_CONCURRENCY_SOURCE: &str = LAMBDA_QUOTAS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_region_gets_its_own_figures() {
        let east = Quotas::aws_defaults("us-east-1", 1.0).unwrap();
        let frankfurt = Quotas::aws_defaults("eu-central-1", 1.0).unwrap();
        let rate = |q: &Quotas, n| q.get(n).unwrap().rate();
        assert_eq!(
            rate(&east, STANDARD_START_EXECUTION),
            Rate::new(1_300.0, 300.0)
        );
        assert_eq!(
            rate(&frankfurt, STANDARD_START_EXECUTION),
            Rate::new(800.0, 150.0)
        );
        assert_eq!(rate(&frankfurt, STATE_TRANSITION), Rate::new(800.0, 800.0));
        assert_eq!(rate(&frankfurt, PUT_EVENTS), Rate::per_second(2_400.0));
        assert_eq!(
            rate(
                &Quotas::aws_defaults("eu-south-1", 1.0).unwrap(),
                HTTP_API_ACCOUNT
            ),
            Rate::new(1_250.0, 2_500.0)
        );
        assert!(Quotas::aws_defaults("us-east-7", 1.0).is_err());
        assert!(Quotas::aws_defaults("us-east-1", 0.5).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_refuses_when_empty_and_refills_at_its_rate() {
        let q = Quota::new("q", Rate::new(2.0, 50.0), "test");
        assert!(q.try_take() && q.try_take());
        assert!(!q.try_take());
        tokio::time::advance(Duration::from_millis(19)).await;
        assert!(!q.try_take(), "not yet a whole token at 50/s");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(q.try_take(), "a token back after 20 ms at 50/s");
        let r = q.report();
        assert_eq!((r.taken, r.throttled), (3, 2));
        assert_eq!(r.peak_per_second, 3.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delaying_quota_waits_for_its_token() {
        let q = Quota::new("q", Rate::new(1.0, 20.0), "test");
        assert_eq!(q.take().await, Duration::ZERO);
        // Empty: the next token comes 50 ms later on the (paused) clock.
        assert_eq!(q.take().await, Duration::from_millis(50));
        let r = q.report();
        assert_eq!((r.taken, r.delayed, r.throttled), (2, 1, 0));
        assert_eq!(r.longest_delay, Duration::from_millis(50));
    }

    #[test]
    fn keyed_families_report_their_busiest_key() {
        let q = Quotas::aws_defaults("us-east-1", 500.0).unwrap();
        let a = q.keyed(DYNAMODB_PARTITION_WRITES, "orders#a").unwrap();
        assert_eq!(a.rate(), Rate::per_second(2.0));
        assert!(a.try_take() && a.try_take() && !a.try_take());
        assert!(
            q.keyed(DYNAMODB_PARTITION_WRITES, "orders#b")
                .unwrap()
                .try_take()
        );
        let family = q
            .report()
            .into_iter()
            .find(|u| u.name == DYNAMODB_PARTITION_WRITES)
            .unwrap();
        assert_eq!((family.taken, family.throttled), (3, 1));
        assert_eq!(family.peak_per_second, 2.0);
        assert!(Quotas::unlimited().keyed(LAMBDA_SCALING, "f").is_none());
    }
}
