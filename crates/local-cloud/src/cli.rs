//! The command line: every subcommand and its arguments (clap), and their value parsers.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use order_domain::Partner;

#[derive(Parser)]
#[command(
    name = "local-cloud",
    about = "The order pipeline on one machine: no AWS account, no Docker."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args, Clone)]
pub(crate) struct CloudArgs {
    /// How many times faster than real time planned workflow waits run (holds, Wait states,
    /// heartbeats; bus redelivery backoff). Retry intervals and function deadlines stay real.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) time_scale: f64,
    /// Processes per function.
    #[arg(long, default_value_t = 2)]
    pub(crate) concurrency: usize,
    /// Processes of one function, as <binary>=<n> (for example pos=4); repeatable.
    #[arg(long = "concurrency-of", value_parser = parse_concurrency_of)]
    pub(crate) concurrency_of: Vec<(String, usize)>,
    /// Run the release builds of the functions (target/release) instead of debug ones.
    #[arg(long)]
    pub(crate) release: bool,
    /// Keep DynamoDB's data on disk in .local/cloud/dynamodb between runs.
    #[arg(long)]
    pub(crate) persist: bool,
    /// Use a DynamoDB already listening here instead of starting DynamoDB Local.
    #[arg(long)]
    pub(crate) dynamodb_endpoint: Option<String>,
    /// Allow every call instead of enforcing the template's IAM (for debugging only: what
    /// passes without IAM may be refused on AWS).
    #[arg(long)]
    pub(crate) no_iam: bool,
    /// The account's Lambda concurrency: invocations beyond it (queued or running) are refused
    /// with TooManyRequestsException, as Lambda refuses them (its default quota is 1,000).
    #[arg(long, default_value_t = local_cloud::lambda::DEFAULT_ACCOUNT_CONCURRENCY)]
    pub(crate) account_concurrency: usize,
    /// Deliver this share (0 to 1) of bus events twice to their targets, as EventBridge's
    /// at-least-once delivery may (`chaos` sets its own).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) bus_duplicate_rate: f64,
    /// Whose default AWS quotas the services enforce (Step Functions, EventBridge, HTTP API,
    /// Lambda, DynamoDB partitions; their figures differ by region).
    #[arg(long, default_value = "us-east-1", value_parser = parse_region)]
    pub(crate) region: String,
    /// Divide every rate and concurrency quota by this (a run at peak/k then has the peak's
    /// ratio of load to quota).
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    pub(crate) quota_scale: f64,
    /// Enforce no quota at all (for debugging only: what passes without them may be throttled
    /// on AWS).
    #[arg(long)]
    pub(crate) no_quotas: bool,
    /// A template parameter's value, as `sam deploy --parameter-overrides` takes it
    /// (`SweepGraceMinutes=5`); repeatable.
    #[arg(long = "parameter-overrides", value_parser = parse_parameter, num_args = 1..)]
    pub(crate) parameter_overrides: Vec<(String, String)>,
}

fn parse_parameter(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or("expected <Parameter>=<value>, for example SweepGraceMinutes=5")?;
    Ok((k.to_owned(), v.to_owned()))
}

fn parse_region(s: &str) -> Result<String, String> {
    local_aws_core::quota::Quotas::aws_defaults(s, 1.0).map(|_| s.to_owned())
}

fn parse_scale(s: &str) -> Result<f64, String> {
    let k: f64 = s.parse().map_err(|e| format!("{s:?}: {e}"))?;
    local_aws_core::quota::Quotas::aws_defaults("us-east-1", k).map(|_| k)
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Start everything, print the endpoints and show live progress until Ctrl-C.
    Up {
        #[command(flatten)]
        cloud: CloudArgs,
        /// The HTTP API's port.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// The admin API's port.
        #[arg(long, default_value_t = 3001)]
        admin_port: u16,
    },
    /// Send the sample orders and print a table of outcomes and paths; exits non-zero if any
    /// order did not end as expected.
    Demo {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Longest wait for one order, seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Sign a partner webhook file with the development secret and send it to a running `up`.
    Send {
        /// The file (events/partners/<partner>/….json).
        file: PathBuf,
        /// The partner (default: the file's directory name).
        #[arg(long)]
        partner: Option<Partner>,
        /// Send it exactly as it is (no new id, no rebased times).
        #[arg(long)]
        verbatim: bool,
        /// Wait for the order to settle and print its status.
        #[arg(long)]
        wait: bool,
    },
    /// What became of an order in a running `up`.
    Status {
        /// The order id, `<partner>.<partner order id>` as `send` prints it (e.g. `doordash.dd-1001-3f2a9c`).
        #[arg(value_parser = parse_order_id)]
        order_id: (Partner, String),
    },
    /// Replay the archive of a running `up` to the bus's rules (as EventBridge's StartReplay:
    /// each event again, with `replay-name`), everything or a window.
    Replay {
        /// From (RFC 3339); default: the first event archived.
        #[arg(long)]
        from: Option<String>,
        /// To, exclusive (RFC 3339); default: now.
        #[arg(long)]
        to: Option<String>,
    },
    /// Send the dead letters of a running `up` back to their targets (rules' dead-letter
    /// queues, functions' failure destinations).
    Redrive,
    /// Deploy a release over a running `up`, as `sam deploy` would: every function's build
    /// and every workflow's definition published as new versions beside the running ones,
    /// each `live` alias shifted by its DeploymentPreference while its alarms stay quiet, or
    /// all rolled back.
    Deploy {
        /// The release's checkout (its infra/template.yaml and statemachines/). Default:
        /// this one.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Its functions' build. Default: the checkout's target/debug.
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// What the preferences' minutes are divided by (default: the cloud's time scale).
        #[arg(long)]
        minutes_scale: Option<f64>,
    },
    /// Delete the function and workflow versions of a running `up` that nothing can call any
    /// more: no alias routes to them, no running execution (a held order's) needs them.
    PruneVersions,
    /// The upgrade drill (`make upgrade-drill`): the previous release (`--from`, a checkout
    /// with its build) runs a chaos mix of held, scheduled, cancelled and courier-released
    /// orders; this checkout's build is deployed over it mid-run with its canary, then a
    /// build whose `--broken` function fails every call, which must be rolled back. Every
    /// order is reconciled, the previous release's readers must read this release's samples,
    /// and every execution's Lambda tasks must name the functions' `live` aliases.
    UpgradeDrill {
        #[command(flatten)]
        cloud: CloudArgs,
        /// The previous release's checkout.
        #[arg(long)]
        from: PathBuf,
        /// Its build. Default: the checkout's target/debug.
        #[arg(long)]
        from_bin: Option<PathBuf>,
        /// Orders (about ten a second: enough that orders keep coming through both deploys).
        #[arg(long, default_value_t = 1200)]
        orders: usize,
        /// The seed of the plan (printed). Default: new.
        #[arg(long)]
        seed: Option<u64>,
        /// The function the broken build breaks (its binary's name).
        #[arg(long, default_value = "accept-order")]
        broken: String,
        /// Seconds after the first order the new release is deployed.
        #[arg(long, default_value_t = 10.0)]
        deploy_after: f64,
        /// What the preferences' minutes are divided by (a canary's five minutes in 30 s at 10).
        #[arg(long, default_value_t = 10.0)]
        minutes_scale: f64,
    },
    /// Send mixed orders through the pipeline and print throughput, latency, init times, RSS
    /// and what the run would cost on AWS, per topology. Use `--release` (as `make bench`
    /// does): debug binaries make every duration, and so the Lambda and Express cost, larger.
    /// With partner or POS latency, each function runs as many processes as `--clients`.
    Bench {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Orders.
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        /// Clients; each sends an order and waits for it to end before the next (with
        /// `--burst`: webhooks in flight at once).
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Send every order as fast as intake takes them, instead of a closed loop.
        #[arg(long)]
        burst: bool,
        /// Print the report as JSON too.
        #[arg(long)]
        json: bool,
        /// Which topology to measure: `split` (the template's), `standard-only` (the whole
        /// order in the Standard workflow, as before the split) or `both`, one after the
        /// other, with a cost comparison.
        #[arg(long, default_value = "both")]
        topology: String,
        /// Every partner API answer takes this long, ms (realistic for the cost figure; 0 for
        /// the pipeline's own throughput).
        #[arg(long, default_value_t = 150)]
        partner_latency_ms: u64,
        /// Every POS answer takes this long, ms.
        #[arg(long, default_value_t = 250)]
        pos_latency_ms: u64,
        /// Spread the orders over a synthetic catalogue of this many stores (copies of the
        /// repository's, loaded into the catalogue tables first; 0: the repository's four).
        #[arg(long, default_value_t = 0)]
        stores: usize,
        /// Menus in the synthetic catalogue (with `--stores`).
        #[arg(long, default_value_t = 50)]
        menus: usize,
    },
    /// Each function's init time, one process at a time: every function runs one process,
    /// which is restarted `--runs` times; prints the median and range (process start to its
    /// first Runtime API poll).
    InitTimes {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Restarts per function.
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// Send orders of every kind through the pipeline under injected faults (failing partner
    /// and POS calls, lost answers, killed processes, duplicate bus deliveries, DynamoDB
    /// throttling and a DynamoDB crash), then reconcile every order from the simulators'
    /// ledgers, the orders table, the execution histories and the dead letters. Exits non-zero
    /// on any broken promise.
    Chaos {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Orders.
        #[arg(long, default_value_t = 10_000)]
        orders: usize,
        /// The seed of the plan (printed; the same seed plans the same run). Default: new.
        #[arg(long)]
        seed: Option<u64>,
        /// Orders in flight at once.
        #[arg(long, default_value_t = 24)]
        in_flight: usize,
        /// Share of partner and POS calls that fail.
        #[arg(long, default_value_t = 0.2)]
        fault_rate: f64,
        /// Do not kill and restart DynamoDB Local.
        #[arg(long)]
        no_dynamodb_crash: bool,
        /// Print the report as JSON too.
        #[arg(long)]
        json: bool,
    },
    /// A peak through a POS outage (`make peak`): orders at `--rate` divided by
    /// `--quota-scale` a second for `--minutes`, the partners' webhook mix and courier
    /// pickups, the POS down for `--outage-minutes` from `--outage-at`; reconciled as the
    /// chaos run is, with each AWS quota's peak use, throttles and stranded orders.
    Peak {
        #[command(flatten)]
        cloud: CloudArgs,
        /// The peak's orders a second at full scale (divided by --quota-scale).
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        /// How long the orders keep coming, minutes.
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        /// When the POS goes down, minutes after the first order.
        #[arg(long, default_value_t = 2.0)]
        outage_at: f64,
        /// How long the POS stays down, minutes.
        #[arg(long, default_value_t = 10.0)]
        outage_minutes: f64,
        /// The seed of the plan (printed). Default: new.
        #[arg(long)]
        seed: Option<u64>,
        /// Print the report as JSON too.
        #[arg(long)]
        json: bool,
    },
    /// What `--rate` orders a second ask of `--region`'s default quotas and of the template's
    /// throttles, from the calls per order a peak run measured (the last `peak` run's, in
    /// target/capacity/demand.json; a short one is run first when there is none or with
    /// `--measure`): each quota's use, headroom and the increases to request before going live.
    Capacity {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Orders a second at full scale.
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        /// Measure the demand again (a one-minute peak sample without an outage).
        #[arg(long)]
        measure: bool,
        /// Print the rows as JSON too.
        #[arg(long)]
        json: bool,
    },
}

fn parse_order_id(s: &str) -> Result<(Partner, String), String> {
    let (partner, id) = s
        .split_once('.')
        .filter(|(_, id)| !id.is_empty())
        .ok_or("expected <partner>.<partner order id>, for example doordash.dd-1001")?;
    // The operator typed it: the message may show it (the domain's error never does).
    let partner = partner
        .parse::<Partner>()
        .map_err(|e| format!("{partner:?}: {e}"))?;
    Ok((partner, id.to_owned()))
}

fn parse_concurrency_of(s: &str) -> Result<(String, usize), String> {
    let (name, n) = s
        .split_once('=')
        .ok_or("expected <binary>=<processes>, for example pos=4")?;
    let n: usize = n
        .parse()
        .map_err(|_| format!("{n:?} is not a number of processes"))?;
    if n == 0 {
        return Err("a function needs at least one process".to_owned());
    }
    Ok((name.to_owned(), n))
}

#[cfg(test)]
mod tests {
    use super::{parse_concurrency_of, parse_order_id};
    use order_domain::Partner;

    #[test]
    fn status_takes_the_canonical_order_id() {
        assert_eq!(
            parse_order_id("doordash.dd-1001.x"),
            Ok((Partner::DoorDash, "dd-1001.x".to_owned()))
        );
        assert!(
            parse_order_id("dd-1001")
                .unwrap_err()
                .contains("<partner>.")
        );
        assert!(parse_order_id("doordash.").is_err());
        assert!(
            parse_order_id("deliveroo.1")
                .unwrap_err()
                .contains("deliveroo")
        );
    }

    #[test]
    fn concurrency_of_parses_name_equals_count() {
        assert_eq!(parse_concurrency_of("pos=4"), Ok(("pos".to_owned(), 4)));
        assert!(parse_concurrency_of("pos").unwrap_err().contains("pos=4"));
        assert!(parse_concurrency_of("pos=x").unwrap_err().contains("\"x\""));
        assert!(parse_concurrency_of("pos=0").is_err());
    }
}
