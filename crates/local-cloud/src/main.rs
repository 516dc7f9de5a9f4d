//! `local-cloud`: the order pipeline on this machine.
//!
//! ```text
//! local-cloud up                 start everything, print the endpoints, show orders' progress
//! local-cloud demo               run the sample orders through it and print their outcomes
//! local-cloud send <file>        sign a partner webhook sample and send it to a running `up`
//! local-cloud status <p> <id>    what became of a partner's order (in a running `up`)
//! local-cloud bench              1,000 mixed orders: throughput, latency, init times, RSS
//! local-cloud chaos              10,000 orders under faults, reconciled from independent records
//! local-cloud peak               a peak through a POS outage against AWS's quotas (scaled)
//! local-cloud capacity           what a rate asks of a region's quotas, from a peak run's demand
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use local_cloud::bench::Mode;
use local_cloud::clock::TimeScale;
use local_cloud::cloud::{Endpoints, LocalCloud, Options, OrderView};
use local_cloud::topology::Topology;
use local_cloud::{demo, webhooks};
use order_domain::Partner;
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "local-cloud",
    about = "The order pipeline on one machine: no AWS account, no Docker."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct CloudArgs {
    /// How many times faster than real time planned workflow waits run (holds, Wait states,
    /// heartbeats; bus redelivery backoff). Retry intervals and function deadlines stay real.
    #[arg(long, default_value_t = 60.0)]
    time_scale: f64,
    /// Processes per function.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Processes of one function, as <binary>=<n> (for example pos=4); repeatable.
    #[arg(long = "concurrency-of", value_parser = parse_concurrency_of)]
    concurrency_of: Vec<(String, usize)>,
    /// Run the release builds of the functions (target/release) instead of debug ones.
    #[arg(long)]
    release: bool,
    /// Keep DynamoDB's data on disk in .local/cloud/dynamodb between runs.
    #[arg(long)]
    persist: bool,
    /// Use a DynamoDB already listening here instead of starting DynamoDB Local.
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
    /// Allow every call instead of enforcing the template's IAM (for debugging only: what
    /// passes without IAM may be refused on AWS).
    #[arg(long)]
    no_iam: bool,
    /// The account's Lambda concurrency: invocations beyond it (queued or running) are refused
    /// with TooManyRequestsException, as Lambda refuses them (its default quota is 1,000).
    #[arg(long, default_value_t = local_cloud::lambda::DEFAULT_ACCOUNT_CONCURRENCY)]
    account_concurrency: usize,
    /// Deliver this share (0 to 1) of bus events twice to their targets, as EventBridge's
    /// at-least-once delivery may (`chaos` sets its own).
    #[arg(long, default_value_t = 0.0)]
    bus_duplicate_rate: f64,
    /// Whose default AWS quotas the services enforce (Step Functions, EventBridge, HTTP API,
    /// Lambda, DynamoDB partitions; their figures differ by region).
    #[arg(long, default_value = "us-east-1", value_parser = parse_region)]
    region: String,
    /// Divide every rate and concurrency quota by this (a run at peak/k then has the peak's
    /// ratio of load to quota).
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    quota_scale: f64,
    /// Enforce no quota at all (for debugging only: what passes without them may be throttled
    /// on AWS).
    #[arg(long)]
    no_quotas: bool,
    /// A template parameter's value, as `sam deploy --parameter-overrides` takes it
    /// (`SweepGraceMinutes=5`); repeatable.
    #[arg(long = "parameter-overrides", value_parser = parse_parameter, num_args = 1..)]
    parameter_overrides: Vec<(String, String)>,
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
enum Command {
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

/// Where a peak run leaves the demand it measured, for `capacity`.
fn demand_path(root: &Path) -> PathBuf {
    root.join("target/capacity/demand.json")
}

fn save_demand(root: &Path, demand: &local_cloud::capacity::Demand) -> Result<(), String> {
    let path = demand_path(root);
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(demand)?)
    };
    write().map_err(|e| format!("{}: {e}", path.display()))
}

fn load_demand(root: &Path) -> Option<local_cloud::capacity::Demand> {
    let bytes = std::fs::read(demand_path(root)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The capacity table at `rate` in `region` and, when that is one of Step Functions' large
/// regions, in a smaller one too (what binds first differs).
fn print_capacity(
    demand: &local_cloud::capacity::Demand,
    region: &str,
    rate: f64,
    json: bool,
) -> bool {
    let mut regions = vec![region.to_owned()];
    if local_aws_core::quota::STEP_FUNCTIONS_LARGE.contains(&region) {
        regions.push("eu-central-1".to_owned());
    }
    for r in &regions {
        match local_cloud::capacity::plan(demand, r, rate) {
            Ok(rows) => {
                print!("{}", local_cloud::capacity::table(r, rate, demand, &rows));
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&rows).unwrap_or_default()
                    );
                }
            }
            Err(e) => {
                eprintln!("local-cloud: {e}");
                return false;
            }
        }
    }
    true
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

fn root() -> PathBuf {
    if let Ok(r) = std::env::var("LOCAL_CLOUD_ROOT") {
        return PathBuf::from(r);
    }
    let mut dir = std::env::current_dir().unwrap_or_default();
    loop {
        if dir.join("infra/template.yaml").is_file() {
            return dir;
        }
        if !dir.pop() {
            return std::env::current_dir().unwrap_or_default();
        }
    }
}

fn options(root: &Path, a: &CloudArgs) -> Options {
    let mut o = Options::for_repo(root);
    o.time_scale = TimeScale::new(a.time_scale);
    o.concurrency = a.concurrency.max(1);
    o.concurrency_of = a.concurrency_of.iter().cloned().collect();
    o.persist = a.persist;
    o.dynamodb_endpoint = a.dynamodb_endpoint.clone();
    o.iam = !a.no_iam;
    o.account_concurrency = a.account_concurrency.max(1);
    o.parameter_overrides = a.parameter_overrides.iter().cloned().collect();
    o.quotas = Arc::new(if a.no_quotas {
        local_aws_core::quota::Quotas::unlimited()
    } else {
        // Both were checked when the arguments were parsed.
        local_aws_core::quota::Quotas::aws_defaults(&a.region, a.quota_scale)
            .unwrap_or_else(|_| local_aws_core::quota::Quotas::unlimited())
    });
    if a.release {
        o.bin_dir = root.join("target/release");
    }
    o
}

fn state_file(root: &Path) -> PathBuf {
    root.join(".local/cloud.json")
}

async fn start_with(opts: Options, a: &CloudArgs) -> Result<Arc<LocalCloud>, ExitCode> {
    let cloud = start(opts).await?;
    cloud.bus.set_duplicate_rate(a.bus_duplicate_rate);
    Ok(cloud)
}

async fn start(opts: Options) -> Result<Arc<LocalCloud>, ExitCode> {
    eprintln!(
        "starting the local cloud from {} …",
        opts.template.display()
    );
    LocalCloud::start(opts).await.map_err(|e| {
        eprintln!("local-cloud: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            eprintln!("  caused by: {s}");
            source = s.source();
        }
        ExitCode::FAILURE
    })
}

fn print_endpoints(e: &Endpoints) {
    println!(
        "HTTP API        {}/webhooks/{{ubereats,doordash,grubhub,app}}",
        e.api
    );
    println!(
        "admin           {}  (/orders/<partner>/<id>, /executions, /events, /dead-letters, /stats)",
        e.admin
    );
    println!("EventBridge     {}", e.eventbridge);
    println!("Step Functions  {}", e.sfn);
    println!("DynamoDB        {}", e.dynamodb);
    println!("Secrets Manager {}", e.secrets_manager);
    for (p, url) in &e.partners {
        println!("{:<15} {url}  (simulator; /_sim/calls, /_sim/faults)", p);
    }
    println!(
        "{:<15} {}  (simulator; /_sim/calls, /_sim/faults)",
        "pos", e.pos
    );
}

async fn up(root: &Path, a: &CloudArgs, port: u16, admin_port: u16) -> ExitCode {
    let mut opts = options(root, a);
    opts.api_port = port;
    opts.admin_port = admin_port;
    let cloud = match start_with(opts, a).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    print_endpoints(&cloud.endpoints);
    let file = state_file(root);
    if let Err(e) = std::fs::write(
        &file,
        serde_json::to_string_pretty(&cloud.endpoints).unwrap_or_default(),
    ) {
        eprintln!("local-cloud: cannot write {}: {e}", file.display());
    }
    println!(
        "\nready. send an order:  cargo run -q -p local-cloud -- send events/partners/app/order.json --wait"
    );
    println!("Ctrl-C stops everything.\n");
    let mut progress = cloud.sfn.subscribe();
    let started = Instant::now();
    loop {
        tokio::select! {
            p = progress.recv() => match p {
                Ok(p) => println!("{:>8.2}s  {:<40} {}", started.elapsed().as_secs_f64(), p.label.unwrap_or_else(|| p.execution.clone()), p.what),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => println!("… {n} progress notices skipped"),
                Err(_) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("stopping …");
    cloud.stop().await;
    let _ = std::fs::remove_file(&file);
    ExitCode::SUCCESS
}

async fn run_demo(root: &Path, a: &CloudArgs, timeout: u64) -> ExitCode {
    let cloud = match start_with(options(root, a), a).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    println!(
        "sending {} scenarios (run {run}, time {}× faster) …\n",
        demo::scenarios().len(),
        a.time_scale
    );
    let started = Instant::now();
    let runs = demo::scenarios().into_iter().enumerate().map(|(i, s)| {
        let cloud = cloud.clone();
        let run = format!("{run}{i}");
        let root = root.to_owned();
        async move { demo::run(&cloud, &root, &s, &run, Duration::from_secs(timeout)).await }
    });
    let mut results = futures::future::join_all(runs).await;
    match demo::pause_and_resume(&cloud, root, &run, Duration::from_secs(timeout)).await {
        Ok(more) => results.extend(more.into_iter().map(Ok)),
        Err(e) => results.push(Err(e)),
    }
    let mut outcomes = Vec::new();
    let mut failed = false;
    for r in results {
        match r {
            Ok(o) => {
                failed |= o.verdict.is_err();
                outcomes.push(o);
            }
            Err(e) => {
                eprintln!("local-cloud: {e}");
                failed = true;
            }
        }
    }
    print!("{}", demo::table(&outcomes));
    let dead = cloud.queues.all().await;
    let dead_count: usize = dead.values().map(Vec::len).sum();
    let pos = cloud.pos_book.orders().await.len();
    println!(
        "\n{} executions, {} events on the bus, {pos} POS orders, {dead_count} dead letters; {:.1} s",
        cloud.sfn.executions().await.len(),
        cloud.bus.archive().await.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "function logs: {}",
        root.join(".local/cloud/logs").display()
    );
    cloud.stop().await;
    if failed {
        eprintln!("local-cloud: some orders did not end as expected (FAIL rows above)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn running(root: &Path) -> Result<Endpoints, ExitCode> {
    let file = state_file(root);
    std::fs::read_to_string(&file).ok().and_then(|t| serde_json::from_str(&t).ok()).ok_or_else(|| {
        eprintln!("local-cloud: no running local cloud ({} not found); start one with `make up` or `local-cloud up`", file.display());
        ExitCode::FAILURE
    })
}

fn print_view(v: &OrderView) {
    println!("order       {}", v.order_id);
    println!(
        "status      {}",
        v.status.as_deref().unwrap_or("(no record)")
    );
    println!("history     {}", v.history.join(" → "));
    println!("events      {}", v.events.join(", "));
    println!(
        "POS orders  {}",
        v.pos_orders
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    for e in &v.executions {
        println!(
            "execution   {} {}{}",
            e.name,
            e.status,
            e.error
                .as_ref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default()
        );
        println!("  path      {}", demo::story(&e.path));
    }
}

async fn fetch_view(
    http: &reqwest::Client,
    e: &Endpoints,
    partner: Partner,
    id: &str,
) -> Option<OrderView> {
    let url = format!(
        "{}/orders/{}/{}",
        e.admin,
        partner.as_str(),
        partners::api::encode_segment(id)
    );
    let v: Value = http.get(url).send().await.ok()?.json().await.ok()?;
    local_cloud::admin::parse_order(v)
}

async fn send(
    root: &Path,
    file: &Path,
    partner: Option<Partner>,
    verbatim: bool,
    wait: bool,
) -> ExitCode {
    let e = match running(root) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let Some(partner) = partner.or_else(|| webhooks::partner_of(file)) else {
        eprintln!(
            "local-cloud: cannot tell the partner from {}; pass --partner",
            file.display()
        );
        return ExitCode::FAILURE;
    };
    let mut p = match webhooks::Payload::load(partner, file) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("local-cloud: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut id = p.partner_order_id().ok().map(|i| i.as_str().to_owned());
    if !verbatim {
        p = p.rebase(chrono::Utc::now());
        if let Some(old) = id.clone() {
            let new = format!("{old}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
            p = p.rename(&old, &new);
            id = Some(new);
        }
    }
    let secrets: std::collections::BTreeMap<String, String> =
        std::fs::read_to_string(root.join("events/dev-secrets/webhooks.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
    let body = p.body();
    let headers = webhooks::sign(
        partner,
        &body,
        secrets.get(partner.as_str()).map_or("", String::as_str),
    );
    let http = local_cloud::loopback_client();
    let mut req = http
        .post(format!("{}/webhooks/{}", e.api, partner.as_str()))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let (status, answer) = match req.send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(err) => {
            eprintln!("local-cloud: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("HTTP {status} {answer}");
    if let Some(id) = &id {
        println!("order id {partner}.{id}");
    }
    let taken = status == partners::acknowledgement(partner).status;
    if let (true, Some(id)) = (wait && taken, id) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Some(v) = fetch_view(&http, &e, partner, &id)
                .await
                .filter(|v| v.settled())
            {
                print_view(&v);
                return ExitCode::SUCCESS;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "local-cloud: the order had not settled after 120 s; see `local-cloud status {partner}.{id}`"
        );
        return ExitCode::FAILURE;
    }
    if (200..300).contains(&status) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn status(root: &Path, partner: Partner, id: &str) -> ExitCode {
    let e = match running(root) {
        Ok(e) => e,
        Err(c) => return c,
    };
    match fetch_view(&local_cloud::loopback_client(), &e, partner, id).await {
        Some(v) => {
            print_view(&v);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("local-cloud: the admin API at {} did not answer", e.admin);
            ExitCode::FAILURE
        }
    }
}

/// POSTs to a running cloud's admin API and prints its answer.
async fn admin_post(root: &Path, path: &str, body: serde_json::Value) -> ExitCode {
    let e = match running(root) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let answer = local_cloud::loopback_client()
        .post(format!("{}/{path}", e.admin))
        .json(&body)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => {
            println!("{}", r.text().await.unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(r) => {
            eprintln!("local-cloud: {path}: HTTP {}", r.status());
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!(
                "local-cloud: the admin API at {} did not answer: {err}",
                e.admin
            );
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn bench(
    root: &Path,
    a: &CloudArgs,
    mut plan: local_cloud::bench::Plan,
    json: bool,
    topologies: &[Topology],
    (partner_ms, pos_ms): (u64, u64),
) -> ExitCode {
    let (orders, clients) = (plan.orders, plan.clients);
    let mut reports = Vec::new();
    for topology in topologies {
        let mut opts = options(root, a);
        opts.topology = *topology;
        // With partner and POS latency, a function's processes spend the run waiting on them:
        // as many per function as clients, so orders do not queue for a process (Lambda would
        // run them at once), which would inflate latency and the Express workflow's billed
        // duration with a local limit.
        if partner_ms > 0 || pos_ms > 0 {
            opts.concurrency = opts.concurrency.max(clients);
        }
        plan.concurrency = opts.concurrency;
        let cloud = match start(opts).await {
            Ok(c) => c,
            Err(code) => return code,
        };
        if let Some(spread) = &plan.spread {
            let started = std::time::Instant::now();
            match local_cloud::catalogue::load(&cloud, &spread.catalogue.to_string()).await {
                Ok(l) => println!(
                    "loaded a synthetic catalogue: {} stores, {} partner store ids, {} menus in {:.1} s",
                    l.stores,
                    l.aliases,
                    l.menus,
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => {
                    eprintln!("local-cloud: loading the synthetic catalogue: {e}");
                    cloud.stop().await;
                    return ExitCode::FAILURE;
                }
            }
        }
        for p in cloud.partners.values() {
            p.sim
                .set_faults(local_cloud::sim::Faults {
                    latency_ms: partner_ms,
                    ..Default::default()
                })
                .await;
        }
        cloud
            .pos
            .set_faults(local_cloud::sim::Faults {
                latency_ms: pos_ms,
                ..Default::default()
            })
            .await;
        println!(
            "sending {orders} mixed orders ({topology} topology; partners answer in {partner_ms} ms, the POS in {pos_ms} ms) …"
        );
        let report = local_cloud::bench::run(cloud.clone(), root, &plan).await;
        cloud.stop().await;
        match report {
            Ok(r) => {
                print!("{r}");
                if json {
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                }
                println!();
                reports.push(r);
            }
            Err(e) => {
                eprintln!("local-cloud: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if reports.len() > 1 {
        print!("{}", local_cloud::bench::comparison(&reports));
    }
    ExitCode::SUCCESS
}

async fn init_times(root: &Path, a: &CloudArgs, runs: usize) -> ExitCode {
    let mut opts = options(root, a);
    opts.concurrency = 1;
    let cloud = match start(opts).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let measured = local_cloud::bench::init_times(&cloud, runs.max(1)).await;
    cloud.stop().await;
    match measured {
        Ok(all) => {
            println!(
                "init time, one process at a time ({runs} restarts each; process start to first poll):"
            );
            println!(
                "{:<28} {:>10} {:>10} {:>10}",
                "function", "median ms", "min ms", "max ms"
            );
            for (name, t) in all {
                println!(
                    "{name:<28} {:>10.1} {:>10.1} {:>10.1}",
                    t[t.len() / 2],
                    t[0],
                    t[t.len() - 1]
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("local-cloud: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A run reconciled order by order (`chaos`, `peak`): its own stage and state (on disk when
/// DynamoDB Local is to be killed), the report printed, and the exit status the verdict's.
async fn reconciled(
    root: &Path,
    a: &CloudArgs,
    settings: local_cloud::chaos::Settings,
    stage: &str,
    json: bool,
    capacity_at: Option<f64>,
) -> ExitCode {
    let seed = settings.seed;
    let mut opts = options(root, a);
    opts.stage = stage.to_owned();
    if let Some(minutes) = settings.sweep_grace_minutes {
        opts.parameter_overrides
            .insert("SweepGraceMinutes".to_owned(), minutes.to_string());
    }
    opts.state_dir = root.join(format!("target/local-cloud-{stage}/{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&opts.state_dir);
    opts.persist = settings.crash_dynamodb || opts.persist;
    let state_dir = opts.state_dir.clone();
    let cloud = match start(opts).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let report = local_cloud::chaos::run(cloud.clone(), root, &settings).await;
    cloud.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    match report {
        Ok(r) => {
            print!("{r}");
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            }
            if stage == "peak"
                && let Err(e) = save_demand(root, &r.demand)
            {
                eprintln!("local-cloud: the demand could not be kept for `capacity`: {e}");
            }
            if let Some(rate) = capacity_at {
                print_capacity(&r.demand, &a.region, rate, false);
            }
            if r.dynamodb_restart_seconds.is_some_and(f64::is_nan) {
                eprintln!(
                    "local-cloud: DynamoDB Local could not be killed and restarted (see the log above)"
                );
                ExitCode::FAILURE
            } else if r.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "local-cloud: {} broken promises; repeat the plan with --seed {seed}",
                    r.violations.len()
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("local-cloud: the {stage} run could not finish: {e} (seed {seed})");
            ExitCode::FAILURE
        }
    }
}

fn new_seed() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or_default() % 1_000_000_007
}

#[tokio::main]
async fn main() -> ExitCode {
    let level = match std::env::var("LOCAL_CLOUD_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("info") => tracing::Level::INFO,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::WARN,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    local_cloud::install_crypto();
    let cli = Cli::parse();
    let root = root();
    match cli.command {
        Command::Up {
            cloud,
            port,
            admin_port,
        } => up(&root, &cloud, port, admin_port).await,
        Command::Demo { cloud, timeout } => run_demo(&root, &cloud, timeout).await,
        Command::Send {
            file,
            partner,
            verbatim,
            wait,
        } => send(&root, &file, partner, verbatim, wait).await,
        Command::Status {
            order_id: (partner, id),
        } => status(&root, partner, &id).await,
        Command::Replay { from, to } => {
            admin_post(
                &root,
                "replay",
                serde_json::json!({ "from": from, "to": to }),
            )
            .await
        }
        Command::Redrive => admin_post(&root, "redrive", serde_json::json!({})).await,
        Command::Bench {
            cloud,
            orders,
            clients,
            burst,
            json,
            topology,
            partner_latency_ms,
            pos_latency_ms,
            stores,
            menus,
        } => {
            let mode = if burst { Mode::Burst } else { Mode::Closed };
            let spread = if stores == 0 {
                None
            } else {
                let base = std::fs::read_to_string(
                    root.join(local_cloud::catalogue::REPOSITORY_CATALOGUE),
                )
                .map_err(|e| e.to_string())
                .and_then(|base| local_cloud::catalogue::synthetic::generate(&base, stores, menus));
                match base {
                    Ok(s) => Some(s),
                    Err(e) => {
                        eprintln!("local-cloud: --stores {stores} --menus {menus}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            };
            if orders == 0 || clients == 0 {
                eprintln!("local-cloud: --orders and --clients must be at least 1");
                return ExitCode::FAILURE;
            }
            let topologies = match topology.as_str() {
                "both" => vec![Topology::StandardOnly, Topology::Split],
                one => match one.parse::<Topology>() {
                    Ok(t) => vec![t],
                    Err(_) => {
                        eprintln!(
                            "local-cloud: --topology {one:?}: expected split, standard-only or both"
                        );
                        return ExitCode::FAILURE;
                    }
                },
            };
            let latency = (partner_latency_ms, pos_latency_ms);
            let plan = local_cloud::bench::Plan {
                orders,
                clients,
                concurrency: 0,
                mode,
                within: Duration::from_secs(900),
                spread,
            };
            bench(&root, &cloud, plan, json, &topologies, latency).await
        }
        Command::InitTimes { cloud, runs } => init_times(&root, &cloud, runs).await,
        Command::Chaos {
            cloud,
            orders,
            seed,
            in_flight,
            fault_rate,
            no_dynamodb_crash,
            json,
        } => {
            let seed = seed.unwrap_or_else(new_seed);
            let mut settings = local_cloud::chaos::Settings::new(orders, seed);
            settings.in_flight = in_flight;
            settings.fault_rate = fault_rate;
            settings.crash_dynamodb = !no_dynamodb_crash && cloud.dynamodb_endpoint.is_none();
            println!(
                "chaos: {orders} orders, seed {seed}, {in_flight} in flight, {:.0} % of partner and POS calls failing …",
                fault_rate * 100.0
            );
            reconciled(&root, &cloud, settings, "chaos", json, None).await
        }
        Command::Peak {
            cloud,
            rate,
            minutes,
            outage_at,
            outage_minutes,
            seed,
            json,
        } => {
            let seed = seed.unwrap_or_else(new_seed);
            let plan = local_cloud::peak::PeakPlan {
                rate,
                minutes,
                outage_at,
                outage_minutes,
                quota_scale: if cloud.no_quotas {
                    1.0
                } else {
                    cloud.quota_scale
                },
            };
            println!("{}", plan.describe(&cloud.region, seed));
            reconciled(&root, &cloud, plan.settings(seed), "peak", json, Some(rate)).await
        }
        Command::Capacity {
            mut cloud,
            rate,
            measure,
            json,
        } => {
            if measure || load_demand(&root).is_none() {
                // The peak CI's profile without its outage: a minute of the peak's mix at a
                // 250th of the peak against quotas divided by 250.
                let plan = local_cloud::peak::PeakPlan {
                    rate: 500.0,
                    minutes: 1.0,
                    outage_at: 0.0,
                    outage_minutes: 0.0,
                    quota_scale: 250.0,
                };
                cloud.quota_scale = plan.quota_scale;
                cloud.no_quotas = false;
                let seed = new_seed();
                println!(
                    "capacity: measuring what an order takes: {}",
                    plan.describe(&cloud.region, seed)
                );
                let code =
                    reconciled(&root, &cloud, plan.settings(seed), "peak", false, None).await;
                if code != ExitCode::SUCCESS {
                    return code;
                }
            }
            let Some(demand) = load_demand(&root) else {
                eprintln!(
                    "local-cloud: no demand in {} (run `make peak-ci` or `capacity --measure`)",
                    demand_path(&root).display()
                );
                return ExitCode::FAILURE;
            };
            if print_capacity(&demand, &cloud.region, rate, json) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
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
