//! The local cloud put together: the application read from the template with its external
//! things pointed at loopback (partner and POS simulators, local secrets), DynamoDB Local with
//! the template's tables, every function's binary on the Runtime API, the bus, the workflow
//! interpreter and the HTTP API, each service on its own loopback port.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use order_domain::Partner;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::apigw::HttpApi;
use crate::app::{ACCOUNT, App, AppError, Overrides, REGION};
use crate::bus_targets::BusTargets;
use crate::clock::TimeScale;
use crate::dynamodb::{self, DynamoError, DynamoLocal};
use crate::eventbridge::EventBridge;
use crate::iam::{Caller, Iam, IamError, Identity};
use crate::lambda::{Lambda, LambdaConfig, Outcome};
use crate::queues::Queues;
use crate::secrets::Secrets;
use crate::sfn::{ApiError, Execution, Integrations, Sfn};
use crate::sim::partner::{OrderBook, PartnerLedger};
use crate::sim::pos::PosBook;
use crate::sim::{Faults, Sim};
use crate::webhooks;
use local_aws_core::quota::Quotas;

/// The partners, in display order.
pub const PARTNERS: [Partner; 4] = [
    Partner::UberEats,
    Partner::DoorDash,
    Partner::Grubhub,
    Partner::ChainApp,
];

/// The template parameter holding each partner's API base URL.
fn url_parameter(p: Partner) -> &'static str {
    match p {
        Partner::UberEats => "UberEatsApiUrl",
        Partner::DoorDash => "DoorDashApiUrl",
        Partner::Grubhub => "GrubhubApiUrl",
        Partner::ChainApp => "AppApiUrl",
    }
}

/// Why the local cloud could not start.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The template.
    #[error("infra/template.yaml: {0}")]
    App(#[from] AppError),
    /// A port or file.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A development secrets file.
    #[error("{path}: {why}")]
    Secrets {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// DynamoDB Local.
    #[error("DynamoDB Local: {0}")]
    Dynamo(String),
    /// Creating the tables.
    #[error("creating the template's tables: {0}")]
    Tables(#[from] DynamoError),
    /// The functions.
    #[error("Lambda: {0}")]
    Lambda(String),
    /// The workflow definition.
    #[error("state machine {name}: {source}")]
    Definition {
        /// Its name.
        name: String,
        /// Why it was refused.
        #[source]
        source: ApiError,
    },
    /// Something would leave this machine.
    #[error("{0}")]
    NotLocal(String),
    /// The template's IAM.
    #[error(transparent)]
    Iam(#[from] IamError),
    /// Loading the repository's catalogue into the catalogue tables.
    #[error("loading the catalogue: {0}")]
    Catalogue(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CloudError {
    let what = what.into();
    move |source| CloudError::Io { what, source }
}

/// How to start it.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository root (the template, the dev secrets and DynamoDB Local are found from it).
    pub root: PathBuf,
    /// The SAM template.
    pub template: PathBuf,
    /// Where the function binaries are.
    pub bin_dir: PathBuf,
    /// Processes per function.
    pub concurrency: usize,
    /// Processes of particular functions (by binary name, e.g. `pos`), instead of `concurrency`.
    pub concurrency_of: BTreeMap<String, usize>,
    /// How much faster than real time waits run.
    pub time_scale: TimeScale,
    /// Keep DynamoDB's data on disk (under the state directory) between runs.
    pub persist: bool,
    /// Logs and DynamoDB data.
    pub state_dir: PathBuf,
    /// The HTTP API's port (0: any free port).
    pub api_port: u16,
    /// The admin API's port (0: any free port).
    pub admin_port: u16,
    /// Use a DynamoDB already running here instead of starting one.
    pub dynamodb_endpoint: Option<String>,
    /// The template's `Stage` (it names the tables, bus and functions): clouds sharing one
    /// DynamoDB need different stages.
    pub stage: String,
    /// Enforce the template's IAM (the default); `false` allows every call (`--no-iam`).
    pub iam: bool,
    /// The account's Lambda concurrency (`--account-concurrency`; Lambda's default quota).
    pub account_concurrency: usize,
    /// Which workflows orders run through (the template's split, or Standard only).
    pub topology: crate::topology::Topology,
    /// AWS's quotas the services enforce (`--region`, `--quota-scale`; us-east-1's defaults
    /// unscaled unless a run asks otherwise).
    pub quotas: Arc<Quotas>,
    /// Template parameter values, as `sam deploy --parameter-overrides` gives them (over the
    /// defaults; the simulators' URLs, the secrets' ARNs and the stage are the cloud's own).
    pub parameter_overrides: BTreeMap<String, String>,
}

impl Options {
    /// Defaults for a checkout at `root`: debug binaries, 2 processes per function, 60× time.
    pub fn for_repo(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            template: root.join("infra/template.yaml"),
            bin_dir: root.join("target/debug"),
            concurrency: 2,
            concurrency_of: BTreeMap::new(),
            time_scale: TimeScale::new(60.0),
            persist: false,
            state_dir: root.join(".local/cloud"),
            api_port: 0,
            admin_port: 0,
            dynamodb_endpoint: None,
            stage: "local".to_owned(),
            iam: true,
            account_concurrency: crate::lambda::DEFAULT_ACCOUNT_CONCURRENCY,
            topology: crate::topology::Topology::Split,
            quotas: Arc::new(
                Quotas::aws_defaults(crate::app::REGION, 1.0)
                    .unwrap_or_else(|_| Quotas::unlimited()),
            ),
            parameter_overrides: BTreeMap::new(),
        }
    }
}

/// Where everything listens.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// The HTTP API (webhooks).
    pub api: String,
    /// The admin API (status, executions, events, dead letters, stats).
    pub admin: String,
    /// EventBridge.
    pub eventbridge: String,
    /// Step Functions.
    pub sfn: String,
    /// Secrets Manager.
    pub secrets_manager: String,
    /// DynamoDB as the functions reach it (through the front that enforces their roles).
    pub dynamodb: String,
    /// DynamoDB Local itself, as an operator's tools reach it (the catalogue commands): no
    /// role applies, as none of the stack's roles is an operator's.
    #[serde(default)]
    pub dynamodb_local: String,
    /// Each partner simulator.
    pub partners: BTreeMap<String, String>,
    /// The POS simulator.
    pub pos: String,
}

/// A partner simulator.
#[derive(Clone)]
pub struct PartnerSim {
    /// Calls, faults.
    pub sim: Arc<Sim>,
    /// Orders it serves on fetch.
    pub book: Arc<OrderBook>,
    /// What it was told about each order.
    pub ledger: Arc<PartnerLedger>,
}

/// The local cloud.
pub struct LocalCloud {
    /// The application the template describes.
    pub app: App,
    /// Where everything listens.
    pub endpoints: Endpoints,
    /// Lambda.
    pub lambda: Arc<Lambda>,
    /// EventBridge.
    pub bus: Arc<EventBridge>,
    /// Step Functions.
    pub sfn: Arc<Sfn>,
    /// Dead letters and failure destinations.
    pub queues: Arc<Queues>,
    /// Partner simulators.
    pub partners: BTreeMap<Partner, PartnerSim>,
    /// The POS simulator.
    pub pos: Arc<Sim>,
    /// The POS's orders.
    pub pos_book: Arc<PosBook>,
    /// The time scale.
    pub time_scale: TimeScale,
    /// The account's IAM, as the template defines it.
    pub iam: Arc<Iam>,
    /// Refusals the functions' DynamoDB endpoint makes (fault injection).
    pub dynamo_throttle: Arc<crate::dynamodb_proxy::Throttle>,
    /// What the run has used, as AWS would bill it (see [`crate::meter`]).
    pub meter: Arc<crate::meter::Meter>,
    /// The workflow topology it runs.
    pub topology: crate::topology::Topology,
    /// AWS's quotas the services enforce, with what each was asked for.
    pub quotas: Arc<Quotas>,
    /// SQS: the template's queues (the handover's).
    pub sqs: Arc<sqs_local::Sqs>,
    stopping: tokio::sync::watch::Sender<bool>,
    /// Where the functions' logs go.
    pub log_dir: PathBuf,
    webhook_secrets: BTreeMap<String, String>,
    dynamo: Mutex<DynamoLocal>,
    http: reqwest::Client,
    servers: Mutex<Vec<JoinHandle<()>>>,
}

/// What the workflow's Task states reach, with the state machine's role.
struct LocalIntegrations {
    lambda: Arc<Lambda>,
    bus: Arc<EventBridge>,
    dynamodb: String,
    /// The same throttle as the functions' DynamoDB endpoint: a throttled table refuses the
    /// workflow's own tasks too.
    dynamo_throttle: Arc<crate::dynamodb_proxy::Throttle>,
    http: reqwest::Client,
    iam: Arc<Iam>,
    meter: Arc<crate::meter::Meter>,
    /// The Step Functions service, for `states:startExecution` (weak: it owns these).
    sfn: std::sync::OnceLock<std::sync::Weak<Sfn>>,
    /// SQS, for `sqs:sendMessage`.
    sqs: Arc<sqs_local::Sqs>,
}

/// An event source mapping's function, invoked synchronously as Lambda's pollers do.
struct FunctionInvoker {
    lambda: Arc<Lambda>,
    function: String,
}

#[async_trait]
impl sqs_local::Invoker for FunctionInvoker {
    async fn invoke(&self, event: Value) -> Result<Value, String> {
        match self.lambda.invoke(&self.function, event).await {
            Outcome::Ok(v) => Ok(v),
            Outcome::Err {
                error_type,
                error_message,
            } => Err(format!("{error_type}: {error_message}")),
        }
    }
}

impl LocalIntegrations {
    /// The identity a state machine's Task states call with: its role (no role at all can
    /// allow nothing).
    fn identity(&self, machine: &str) -> Identity {
        Identity::Caller(
            self.iam
                .state_machine_caller(machine)
                .unwrap_or_else(|| Caller::Service("states.amazonaws.com".to_owned())),
        )
    }
}

#[async_trait]
impl Integrations for LocalIntegrations {
    async fn invoke(
        &self,
        machine: &str,
        function: &str,
        payload: Value,
    ) -> Result<Value, (String, String)> {
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}");
        self.iam
            .authorize_identity(&self.identity(machine), "lambda:InvokeFunction", &arn)
            .map_err(|d| crate::iam::integration_denial("lambda", &d))?;
        // An Express execution is billed for its duration: what this machine added to the
        // invocation (a wait for a free process or for a core) is reported as not billed.
        let called = std::time::Instant::now();
        let (outcome, billed) = self.lambda.invoke_billed(function, payload).await;
        step_functions_local::not_billed(called.elapsed().saturating_sub(billed));
        match outcome {
            Outcome::Ok(v) => Ok(v),
            Outcome::Err {
                error_type,
                error_message,
            } => Err((error_type, error_message)),
        }
    }

    async fn put_events(
        &self,
        machine: &str,
        entries: Vec<Value>,
    ) -> Result<Value, (String, String)> {
        let identity = self.identity(machine);
        entries
            .iter()
            .try_for_each(|e| {
                let bus = crate::eventbridge::entry_bus_arn(e);
                self.iam.authorize_identity_in(
                    &identity,
                    "events:PutEvents",
                    &bus,
                    &crate::eventbridge::put_events_context(e),
                )
            })
            .map_err(|d| crate::iam::integration_denial("events", &d))?;
        if !self.bus.admit_put_events() {
            return Err(("ThrottlingException".to_owned(), "Rate exceeded".to_owned()));
        }
        Ok(self.bus.put_events(&entries).await)
    }

    async fn dynamodb(
        &self,
        machine: &str,
        operation: &str,
        params: Value,
    ) -> Result<Value, (String, String)> {
        crate::dynamodb_proxy::authorize(&self.iam, &self.identity(machine), operation, &params)
            .map_err(|d| crate::iam::integration_denial("dynamodb", &d))?;
        if let Some((_, error_type, message)) = self.dynamo_throttle.refusal(&params) {
            return Err((error_type.to_owned(), message.to_owned()));
        }
        let mut params = params;
        let asked = crate::meter::Meter::ask_capacity(&mut params);
        match dynamodb::call(&self.http, &self.dynamodb, operation, params.clone()).await {
            Ok(mut answer) => {
                self.meter
                    .dynamodb(operation, &params, Ok(&mut answer), asked);
                Ok(answer)
            }
            Err(e) => {
                self.meter
                    .dynamodb(operation, &params, Err(&e.error_type), asked);
                Err((e.error_type, e.message))
            }
        }
    }

    async fn send_message(&self, machine: &str, params: Value) -> Result<Value, (String, String)> {
        let url = params["QueueUrl"].as_str().unwrap_or_default();
        let queue = url.rsplit('/').next().unwrap_or_default();
        self.iam
            .authorize_identity(
                &self.identity(machine),
                "sqs:SendMessage",
                &sqs_local::queue_arn(queue),
            )
            .map_err(|d| ("AccessDenied".to_owned(), d.message))?;
        let body = params["MessageBody"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let id = self
            .sqs
            .send(queue, body)
            .await
            .map_err(|e| (e.code, e.message))?;
        Ok(json!({ "MessageId": id }))
    }

    async fn start_execution(
        &self,
        machine: &str,
        params: Value,
    ) -> Result<Value, (String, String)> {
        let target = params["StateMachineArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.iam
            .authorize_identity(&self.identity(machine), "states:StartExecution", &target)
            .map_err(|d| ("AccessDenied".to_owned(), d.message))?;
        let Some(sfn) = self.sfn.get().and_then(std::sync::Weak::upgrade) else {
            return Err((
                "ServiceUnavailable".to_owned(),
                "Step Functions is stopping".to_owned(),
            ));
        };
        // `Input` is JSON text or, in the optimized integration, a JSON value.
        let input = match &params["Input"] {
            Value::String(text) => serde_json::from_str(text).map_err(|e| {
                (
                    "InvalidExecutionInput".to_owned(),
                    format!("Input is not JSON: {e}"),
                )
            })?,
            Value::Null => json!({}),
            other => other.clone(),
        };
        let execution = sfn
            .start_execution(&target, params["Name"].as_str(), input)
            .await
            .map_err(|e| (e.error_type, e.message))?;
        Ok(json!({
            "ExecutionArn": execution.arn,
            "StartDate": execution.start.timestamp_millis() as f64 / 1000.0,
        }))
    }
}

async fn bind(port: u16) -> Result<(TcpListener, String), CloudError> {
    let l = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(io(format!("binding 127.0.0.1:{port}")))?;
    let addr = l.local_addr().map_err(io("reading a bound address"))?;
    Ok((l, format!("http://{addr}")))
}

fn serve(listener: TcpListener, router: axum::Router) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("server stopped: {e}");
        }
    })
}

fn read_secrets(path: &Path) -> Result<BTreeMap<String, String>, CloudError> {
    let text = std::fs::read_to_string(path).map_err(io(format!("reading {}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| CloudError::Secrets {
        path: path.display().to_string(),
        why: format!("not a JSON object of strings: {e}"),
    })
}

/// The template's API credential parameters and the key each secret holds: one secret per
/// partner's API and one for the POS (`events/dev-secrets/<key>.json` here).
pub const API_CREDENTIAL_SECRETS: [(&str, &str); 5] = [
    ("UberEatsCredentialsArn", "ubereats"),
    ("DoorDashCredentialsArn", "doordash"),
    ("GrubhubCredentialsArn", "grubhub"),
    ("AppCredentialsArn", "app"),
    ("PosCredentialsArn", "pos"),
];

fn secret_arn(name: &str) -> String {
    format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}")
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// What a partner's webhook sender did with one webhook.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Times it was sent.
    pub sends: u32,
    /// The last answer (status and body), or why the last send failed.
    pub last: Result<(u16, Value), String>,
}

impl Delivery {
    /// Whether the partner got its acknowledgement.
    pub fn acknowledged(&self, partner: Partner) -> bool {
        matches!(&self.last, Ok((status, _)) if *status == partners::acknowledgement(partner).status)
    }
}

impl LocalCloud {
    /// Starts everything and waits until every function process has initialised.
    pub async fn start(opts: Options) -> Result<Arc<Self>, CloudError> {
        let started = Instant::now();
        std::fs::create_dir_all(&opts.state_dir)
            .map_err(io(format!("creating {}", opts.state_dir.display())))?;
        let http = crate::loopback_client();

        // The simulators first: the template's URL parameters point at them.
        let mut api_secrets = BTreeMap::new();
        for (_, key) in API_CREDENTIAL_SECRETS {
            let path = opts.root.join(format!("events/dev-secrets/{key}.json"));
            api_secrets.insert(key, read_secrets(&path)?);
        }
        let webhook_secrets = read_secrets(&opts.root.join("events/dev-secrets/webhooks.json"))?;
        let token = |k: &str| {
            api_secrets
                .get(k)
                .and_then(|s| s.get(k))
                .cloned()
                .unwrap_or_default()
        };
        let mut servers = Vec::new();
        let mut partners = BTreeMap::new();
        let mut partner_urls = BTreeMap::new();
        let mut parameters = BTreeMap::new();
        for p in PARTNERS {
            let expect =
                crate::sim::auth::Expect::for_partner(p, &token(p.as_str())).map_err(|why| {
                    CloudError::Secrets {
                        path: format!("events/dev-secrets/{p}.json"),
                        why,
                    }
                })?;
            let sim = Sim::with_auth(p.as_str(), expect);
            let book = Arc::new(OrderBook::default());
            let ledger = Arc::new(PartnerLedger::default());
            let (l, url) = bind(0).await?;
            servers.push(serve(
                l,
                crate::sim::partner::router(p, sim.clone(), book.clone(), ledger.clone()),
            ));
            parameters.insert(url_parameter(p).to_owned(), url.clone());
            if p == Partner::UberEats {
                parameters.insert(
                    "UberEatsTokenUrl".to_owned(),
                    format!("{url}{}", partners::outbound::UBER_TOKEN_PATH),
                );
            }
            partner_urls.insert(p.as_str().to_owned(), url);
            partners.insert(p, PartnerSim { sim, book, ledger });
        }
        let pos = Sim::new("pos", &token("pos"));
        let pos_book = Arc::new(PosBook::default());
        let (l, pos_url) = bind(0).await?;
        servers.push(serve(
            l,
            crate::sim::pos::router(pos.clone(), pos_book.clone()),
        ));
        parameters.insert("PosApiUrl".to_owned(), pos_url.clone());

        // Secrets Manager with the development secrets under the ARNs the template is given.
        let webhooks_arn = secret_arn("order-pipeline/local/webhooks");
        parameters.insert("WebhookSecretsArn".to_owned(), webhooks_arn.clone());
        let api_arns: Vec<(String, &str)> = API_CREDENTIAL_SECRETS
            .iter()
            .map(|&(parameter, key)| {
                let arn = secret_arn(&format!("order-pipeline/local/{key}-credentials"));
                parameters.insert(parameter.to_owned(), arn.clone());
                (arn, key)
            })
            .collect();
        parameters.insert("Stage".to_owned(), opts.stage.clone());
        for (name, value) in &opts.parameter_overrides {
            parameters
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        let template = match opts.topology {
            crate::topology::Topology::Split => opts.template.clone(),
            crate::topology::Topology::StandardOnly => crate::topology::standard_only_template(
                &opts.template,
                &opts.state_dir.join("standard-only"),
            )
            .map_err(|e| AppError::Invalid(format!("the standard-only topology: {e}")))?,
        };
        let opts = &Options {
            template,
            ..opts.clone()
        };
        let app = App::load(&opts.template, &Overrides { parameters })?;
        let iam = Arc::new(if opts.iam {
            let cfn =
                crate::iam::transform(&opts.root, &opts.template, &opts.state_dir.join("iam"))?;
            Iam::load(
                &cfn,
                &app.resolver,
                &format!("order-pipeline-{}", opts.stage),
            )?
        } else {
            Iam::disabled()
        });
        let to_text = |m: &BTreeMap<String, String>| serde_json::to_string(m).unwrap_or_default();
        let meter = Arc::new(crate::meter::Meter::default());
        let mut secret_values = BTreeMap::from([(webhooks_arn, to_text(&webhook_secrets))]);
        for (arn, key) in api_arns {
            secret_values.insert(arn, to_text(&api_secrets[key]));
        }
        let secrets = Secrets::new(secret_values, iam.clone(), meter.clone());
        let (l, secrets_url) = bind(0).await?;
        servers.push(serve(l, secrets.router()));
        for f in &app.functions {
            for (k, v) in &f.env {
                if (v.starts_with("http://") || v.starts_with("https://")) && !is_loopback(v) {
                    return Err(CloudError::NotLocal(format!(
                        "{}'s {k} is {v}, which is not on this machine; the local cloud overrides every URL parameter, so the template has a URL it does not know",
                        f.name
                    )));
                }
            }
        }

        // DynamoDB Local and the tables.
        let dynamo = match &opts.dynamodb_endpoint {
            Some(e) => DynamoLocal::existing(e),
            None => {
                let port = TcpListener::bind("127.0.0.1:0")
                    .await
                    .and_then(|l| l.local_addr())
                    .map_err(io("finding a port for DynamoDB Local"))?
                    .port();
                let db_dir = opts.persist.then(|| opts.state_dir.join("dynamodb"));
                DynamoLocal::start(
                    &dynamodb::default_jar_dir(&opts.root),
                    port,
                    db_dir.as_deref(),
                    &opts.state_dir.join(format!("dynamodb-{}.log", opts.stage)),
                )
                .await
                .map_err(CloudError::Dynamo)?
            }
        };
        dynamo.create_tables(&app.tables).await?;
        let dynamodb_local = dynamo.endpoint().to_owned();
        let dynamodb_local_url = dynamodb_local.clone();
        crate::catalogue::load_repository_catalogue(&app, &dynamodb_local, &opts.root).await?;
        // The functions reach DynamoDB Local through a front that enforces their roles.
        let (l, dynamodb_url) = bind(0).await?;
        let dynamo_throttle = Arc::new(crate::dynamodb_proxy::Throttle::default());
        servers.push(serve(
            l,
            crate::dynamodb_proxy::router(
                &dynamodb_local,
                iam.clone(),
                dynamo_throttle.clone(),
                meter.clone(),
                opts.quotas.clone(),
            ),
        ));

        // The service endpoints the functions' SDK clients reach.
        let (bus_listener, bus_url) = bind(0).await?;
        let (sfn_listener, sfn_url) = bind(0).await?;
        let shared_env = BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), "local".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "local".to_owned()),
            ("AWS_SESSION_TOKEN".to_owned(), "local".to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), dynamodb_url.clone()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE".to_owned(), bus_url.clone()),
            ("AWS_ENDPOINT_URL_SFN".to_owned(), sfn_url.clone()),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_owned(),
                secrets_url.clone(),
            ),
            // Anything else goes nowhere (the discard port), never to AWS.
            (
                "AWS_ENDPOINT_URL".to_owned(),
                "http://127.0.0.1:9".to_owned(),
            ),
        ]);
        // SQS: the template's queues (the handover's with its dead letters); the failure
        // destinations and rules' dead letters are kept by `Queues`, which reports both.
        let sqs = sqs_local::Sqs::new();
        for spec in &app.queue_specs {
            sqs.create_queue(spec.clone()).await;
        }
        let sqs_dead_letters: Vec<String> = app
            .queue_specs
            .iter()
            .filter_map(|q| q.dead_letter.as_ref().map(|(d, _)| d.clone()))
            .collect();
        let queues = Arc::new(Queues::new(iam.clone()).with_sqs(sqs.clone(), sqs_dead_letters));
        let lambda = Lambda::start(
            &app.functions,
            LambdaConfig {
                bin_dir: opts.bin_dir.clone(),
                concurrency: opts.concurrency,
                concurrency_of: opts.concurrency_of.clone(),
                shared_env,
                log_dir: opts.state_dir.join("logs"),
                time_scale: opts.time_scale,
                iam: iam.clone(),
                account_concurrency: opts
                    .quotas
                    .lambda_account_concurrency()
                    .map_or(opts.account_concurrency, |q| {
                        q.min(opts.account_concurrency)
                    }),
                quotas: opts.quotas.clone(),
            },
            queues.clone(),
        )
        .await
        .map_err(CloudError::Lambda)?;

        let targets = BusTargets::new(lambda.clone(), queues.clone(), iam.clone());
        let bus = EventBridge::new(
            app.rules.clone(),
            app.buses.clone(),
            targets.clone(),
            iam.clone(),
            opts.time_scale,
        );
        let integrations = Arc::new(LocalIntegrations {
            lambda: lambda.clone(),
            bus: bus.clone(),
            dynamodb: dynamodb_local,
            dynamo_throttle: dynamo_throttle.clone(),
            http: http.clone(),
            iam: iam.clone(),
            meter: meter.clone(),
            sfn: std::sync::OnceLock::new(),
            sqs: sqs.clone(),
        });
        bus.set_quotas(opts.quotas.clone());
        let sfn = Sfn::new(integrations.clone(), opts.time_scale);
        sfn.set_quotas(opts.quotas.clone());
        let _ = integrations.sfn.set(Arc::downgrade(&sfn));
        sfn.label_progress(&[
            "/detail/data/partnerOrderId",
            "/received/data/partnerOrderId",
        ]);
        for m in &app.state_machines {
            sfn.create_typed_state_machine(&m.name, &m.json, m.workflow_type)
                .await
                .map_err(|source| CloudError::Definition {
                    name: m.name.clone(),
                    source,
                })?;
        }
        targets.connect(sfn.clone());
        bus.set_archives(app.archives.clone());
        servers.push(serve(bus_listener, bus.router()));
        servers.push(serve(
            sfn_listener,
            crate::sfn::api::router(&sfn, iam.clone()),
        ));

        let api = HttpApi::new(
            app.routes.clone(),
            lambda.clone(),
            iam.clone(),
            meter.clone(),
            &opts.quotas,
        );
        let (l, api_url) = bind(opts.api_port).await?;
        servers.push(serve(l, api.router()));

        let (admin_listener, admin_url) = bind(opts.admin_port).await?;
        let endpoints = Endpoints {
            api: api_url,
            admin: admin_url,
            eventbridge: bus_url,
            sfn: sfn_url,
            secrets_manager: secrets_url,
            dynamodb: dynamodb_url,
            dynamodb_local: dynamodb_local_url,
            partners: partner_urls,
            pos: pos_url,
        };
        let cloud = Arc::new(Self {
            app,
            endpoints,
            lambda: lambda.clone(),
            bus,
            sfn,
            queues,
            partners,
            pos,
            pos_book,
            time_scale: opts.time_scale,
            iam,
            dynamo_throttle,
            meter,
            topology: opts.topology,
            quotas: opts.quotas.clone(),
            sqs,
            stopping: tokio::sync::watch::channel(false).0,
            log_dir: opts.state_dir.join("logs"),
            webhook_secrets,
            dynamo: Mutex::new(dynamo),
            http,
            servers: Mutex::new(servers),
        });
        cloud
            .servers
            .lock()
            .await
            .push(serve(admin_listener, crate::admin::router(cloud.clone())));
        if let Err(e) = lambda.ready(Duration::from_secs(60)).await {
            // Nothing is left running: processes, DynamoDB Local and servers go.
            cloud.stop().await;
            return Err(CloudError::Lambda(e));
        }
        cloud.start_queue_triggers().await;
        cloud.start_schedules().await;
        tracing::info!("local cloud up in {:.1} s", started.elapsed().as_secs_f64());
        Ok(cloud)
    }

    /// Starts each event source mapping: its function's role must let Lambda poll the queue
    /// (`sqs:ReceiveMessage`, `sqs:DeleteMessage`); a mapping it does not is not started, as
    /// AWS refuses to enable it, and its messages wait (visibly) in the queue.
    async fn start_queue_triggers(&self) {
        for (function, mapping) in &self.app.queue_triggers {
            let queue_arn = sqs_local::queue_arn(&mapping.queue);
            let caller = self.iam.function_caller(function);
            let denied = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
                .into_iter()
                .find_map(|action| {
                    let c = caller.as_ref()?;
                    self.iam
                        .authorize(c, action, &queue_arn, BTreeMap::new())
                        .err()
                });
            if let Some(d) = denied {
                tracing::error!(function, queue = %mapping.queue, error = %d, "the event source mapping cannot poll its queue; its messages wait");
                continue;
            }
            let invoker = Arc::new(FunctionInvoker {
                lambda: self.lambda.clone(),
                function: function.clone(),
            });
            let task = sqs_local::start_mapping(
                self.sqs.clone(),
                mapping.clone(),
                invoker,
                self.stopping.subscribe(),
            );
            self.servers.lock().await.push(task);
        }
    }

    /// Runs each `rate(...)` schedule of the template: its function invoked with EventBridge's
    /// `Scheduled Event` every period, the period at the cloud's time scale (so a sweep every
    /// five minutes runs every five seconds at 60×). The first run is one period after start,
    /// as a new rule's is.
    async fn start_schedules(&self) {
        for (function, rule, period) in &self.app.schedules {
            let lambda = self.lambda.clone();
            let function = function.clone();
            let rule = rule.clone();
            let every = self
                .time_scale
                .scale(*period)
                .max(Duration::from_millis(100));
            let region = self.quotas.region().to_owned();
            let mut stopping = self.stopping.subscribe();
            let task = tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks.tick().await;
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        _ = stopping.changed() => return,
                    }
                    let event = serde_json::json!({
                        "version": "0",
                        "id": uuid::Uuid::new_v4().to_string(),
                        "detail-type": "Scheduled Event",
                        "source": "aws.events",
                        "account": local_aws_core::ACCOUNT,
                        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        "region": region,
                        "resources": [format!("arn:aws:events:{region}:{}:rule/{rule}", local_aws_core::ACCOUNT)],
                        "detail": {},
                    });
                    if let crate::lambda::Outcome::Err {
                        error_type,
                        error_message,
                    } = lambda.invoke(&function, event).await
                    {
                        tracing::warn!(
                            function,
                            rule,
                            error_type,
                            error_message,
                            "a scheduled run failed; the next one repeats it"
                        );
                    }
                }
            });
            self.servers.lock().await.push(task);
        }
    }

    /// Stops the functions, DynamoDB Local and the servers.
    pub async fn stop(&self) {
        let _ = self.stopping.send(true);
        self.lambda.stop().await;
        self.dynamo.lock().await.stop().await;
        for s in self.servers.lock().await.drain(..) {
            s.abort();
        }
    }

    /// Kills DynamoDB Local and starts it again from its data on disk (fault injection; the
    /// cloud must run with `persist`). Returns how long it was away.
    pub async fn crash_dynamodb(&self) -> Result<Duration, String> {
        self.dynamo.lock().await.crash_and_restart().await
    }

    /// The development signing secret of a partner.
    pub fn webhook_secret(&self, partner: Partner) -> &str {
        self.webhook_secrets
            .get(partner.as_str())
            .map_or("", String::as_str)
    }

    /// Posts a webhook body with these headers to the HTTP API: status and JSON answer.
    pub async fn post_webhook(
        &self,
        partner: Partner,
        body: Vec<u8>,
        headers: &[(String, String)],
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut req = self
            .http
            .post(format!(
                "{}/webhooks/{}",
                self.endpoints.api,
                partner.as_str()
            ))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let response = req.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Signs a body as the partner would and posts it.
    pub async fn send_signed(
        &self,
        partner: Partner,
        body: Vec<u8>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let headers = webhooks::sign(partner, &body, self.webhook_secret(partner));
        self.post_webhook(partner, body, &headers).await
    }

    /// Sends `body` as `partner`'s webhook sender does: signed afresh each time, and sent
    /// again while it is not acknowledged, on the partner's schedule
    /// ([`partners::redelivery`]: Uber Eats' seven sends doubling from one second), its waits
    /// run at the cloud's time scale.
    pub async fn deliver_webhook(&self, partner: Partner, body: &[u8]) -> Delivery {
        let policy = partners::redelivery(partner);
        let mut delivery = Delivery {
            sends: 0,
            last: Err("not sent".to_owned()),
        };
        while let Some(wait) = policy.wait_before(delivery.sends) {
            // The schedule runs at the cloud's time scale, but after a throttle (429) in real
            // time: a throttle's bucket refills in real seconds, and a resend scaled to a
            // fraction of one would meet it empty again.
            let throttled = matches!(delivery.last, Ok((429, _)));
            let wait = if throttled {
                wait
            } else {
                self.time_scale.scale(wait)
            };
            tokio::time::sleep(wait).await;
            delivery.sends += 1;
            let headers = webhooks::sign(partner, body, self.webhook_secret(partner));
            delivery.last = self
                .post_webhook(partner, body.to_vec(), &headers)
                .await
                .map_err(|e| e.to_string());
            match &delivery.last {
                Ok((status, _)) if !policy.resends(partner, *status) => break,
                _ => {}
            }
        }
        delivery
    }

    /// Redrives the dead letters: a rule's (`{rule, event}`) is delivered to that rule's
    /// target again, a function's failure record (`{requestContext.functionArn,
    /// requestPayload}`) invoked asynchronously again. Messages it cannot place stay in their
    /// queue. Returns how many it sent on.
    pub async fn redrive(&self) -> usize {
        let mut sent = 0;
        for (queue, messages) in self.queues.drain().await {
            let mut kept = Vec::new();
            for m in messages {
                let done = if let Some(rule) = m["rule"].as_str() {
                    self.bus.redeliver(rule, m["event"].clone()).await
                } else if let Some(arn) = m
                    .pointer("/requestContext/functionArn")
                    .and_then(Value::as_str)
                {
                    let function = arn.rsplit(':').next().unwrap_or_default();
                    self.lambda
                        .invoke_async(function, m["requestPayload"].clone())
                        .is_ok()
                } else {
                    false
                };
                if done {
                    sent += 1;
                } else {
                    kept.push(m);
                }
            }
            self.queues.put_back(&queue, kept).await;
        }
        // SQS's own dead-letter queues: their messages back to the queue they came from, as
        // a DLQ redrive (StartMessageMoveTask) moves them.
        for spec in &self.app.queue_specs {
            if let Some((dead_letters, _)) = &spec.dead_letter {
                sent += self.sqs.move_messages(dead_letters, &spec.name).await;
            }
        }
        sent
    }

    /// Sets a simulator's faults (`pos` or a partner name).
    pub async fn set_faults(&self, sim: &str, faults: Faults) -> bool {
        match self.sim(sim) {
            Some(s) => {
                s.set_faults(faults).await;
                true
            }
            None => false,
        }
    }

    /// A simulator by name.
    pub fn sim(&self, name: &str) -> Option<&Arc<Sim>> {
        if name == "pos" {
            return Some(&self.pos);
        }
        let p: Partner = name.parse().ok()?;
        self.partners.get(&p).map(|s| &s.sim)
    }

    /// The orders table's record of an order, as plain JSON.
    pub async fn order_record(&self, order_id: &str) -> Option<Value> {
        let table = self.app.table("OrdersTable")?;
        let dynamo = self.dynamo.lock().await;
        let out = dynamo.call("GetItem", json!({ "TableName": table.name, "Key": { "orderId": { "S": order_id } }, "ConsistentRead": true })).await.ok()?;
        out.get("Item").map(dynamodb::unmarshal)
    }

    /// Every item of a table (by logical id), as plain JSON.
    pub async fn scan(&self, logical_id: &str) -> Vec<Value> {
        let Some(table) = self.app.table(logical_id) else {
            return Vec::new();
        };
        let dynamo = self.dynamo.lock().await;
        let mut items = Vec::new();
        let mut start: Option<Value> = None;
        loop {
            let mut req = json!({ "TableName": table.name });
            if let Some(k) = start.take() {
                req["ExclusiveStartKey"] = k;
            }
            let Ok(out) = dynamo.call("Scan", req).await else {
                break;
            };
            items.extend(
                out.get("Items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(dynamodb::unmarshal),
            );
            match out.get("LastEvaluatedKey") {
                Some(k) => start = Some(k.clone()),
                None => break,
            }
        }
        items
    }

    /// Executions started for a partner order (by the `Order Received` event they began with).
    pub async fn executions_of(&self, partner_order_id: &str) -> Vec<Arc<Execution>> {
        self.sfn
            .executions()
            .await
            .into_iter()
            .filter(|e| partner_order_of(&e.input) == Some(partner_order_id))
            .collect()
    }

    /// The order's runs: each Express execution with the Standard execution it handed over
    /// to (one logical run of the order's workflow across the two state machines), and any
    /// Standard execution started on its own; in start order.
    pub async fn runs_of(&self, partner_order_id: &str) -> Vec<Run> {
        runs(self.executions_of(partner_order_id).await)
    }

    /// Every run (see [`LocalCloud::runs_of`]).
    pub async fn runs(&self) -> Vec<Run> {
        runs(self.sfn.executions().await)
    }

    /// Events about an order (its id in `detail.data.orderId`, or the partner order id for
    /// intake's events), oldest first.
    pub async fn events_of(&self, order_id: &str, partner_order_id: &str) -> Vec<Value> {
        self.bus
            .archive()
            .await
            .into_iter()
            .map(|e| e["event"].clone())
            .filter(|e| {
                let data = &e["detail"]["data"];
                data["orderId"].as_str() == Some(order_id)
                    || data["partnerOrderId"].as_str() == Some(partner_order_id)
            })
            .collect()
    }

    /// Messages naming `order_id` (as a JSON string) in the queues work is waiting in (not
    /// the dead-letter queues): handovers whose Standard execution has not started yet.
    pub async fn pending_messages(&self, order_id: &str) -> usize {
        let needle = format!("\"{order_id}\"");
        let mut n = 0;
        for spec in self
            .app
            .queue_specs
            .iter()
            .filter(|q| q.dead_letter.is_some())
        {
            n += self
                .sqs
                .messages(&spec.name)
                .await
                .iter()
                .filter(|m| m.body.contains(&needle))
                .count();
        }
        n
    }

    /// Messages waiting in the queues work is waiting in (not the dead-letter queues).
    pub async fn pending_work(&self) -> usize {
        let mut n = 0;
        for spec in self
            .app
            .queue_specs
            .iter()
            .filter(|q| q.dead_letter.is_some())
        {
            n += self.sqs.messages(&spec.name).await.len();
        }
        n
    }

    /// Everything known about one order.
    pub async fn order_view(&self, partner: Partner, partner_order_id: &str) -> OrderView {
        let order_id = format!("{}.{}", partner.as_str(), partner_order_id);
        let record = self.order_record(&order_id).await;
        let mut executions = Vec::new();
        for run in self.runs_of(partner_order_id).await {
            let (status, error) = run.status().await;
            executions.push(ExecutionView {
                name: run.name().to_owned(),
                status,
                path: run.path().await,
                error,
            });
        }
        let events = self
            .events_of(&order_id, partner_order_id)
            .await
            .iter()
            .filter_map(|e| e["detail-type"].as_str().map(str::to_owned))
            .collect();
        let pos_orders = self
            .pos_book
            .orders()
            .await
            .into_iter()
            .filter(|o| o.ticket["externalId"].as_str() == Some(order_id.as_str()))
            .map(|o| json!({ "posOrderId": o.pos_order_id, "status": o.status }))
            .collect();
        OrderView {
            status: record
                .as_ref()
                .and_then(|r| r["status"].as_str().map(str::to_owned)),
            history: record
                .as_ref()
                .and_then(|r| {
                    r["history"].as_array().map(|h| {
                        h.iter()
                            .filter_map(|c| c["status"].as_str().map(str::to_owned))
                            .collect()
                    })
                })
                .unwrap_or_default(),
            handovers_pending: self.pending_messages(&order_id).await,
            order_id,
            partner_order_id: partner_order_id.to_owned(),
            executions,
            events,
            pos_orders,
        }
    }

    /// Waits until every execution has ended and no handover waits to start another, or
    /// `within` passes.
    pub async fn quiesce(&self, within: Duration) -> Result<(), String> {
        eventually(within, "every execution to end", || async {
            for e in self.sfn.executions().await {
                if e.snapshot().await.status == crate::sfn::Status::Running {
                    return None;
                }
            }
            (self.pending_work().await == 0).then_some(())
        })
        .await
    }
}

/// Everything known about one order.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The pipeline's id.
    pub order_id: String,
    /// The partner's id.
    pub partner_order_id: String,
    /// Status in the orders table.
    pub status: Option<String>,
    /// Statuses it went through.
    pub history: Vec<String>,
    /// Its executions.
    pub executions: Vec<ExecutionView>,
    /// Detail-types of the events about it, oldest first.
    pub events: Vec<String>,
    /// Its POS orders (`posOrderId`, `status`).
    pub pos_orders: Vec<Value>,
    /// Handovers of it waiting in a queue for their Standard execution to start.
    #[serde(default)]
    pub handovers_pending: usize,
}

/// One execution.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView {
    /// Name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, …
    pub status: String,
    /// States entered.
    pub path: Vec<String>,
    /// Error, if failed.
    pub error: Option<String>,
}

impl OrderView {
    /// Whether every execution has ended (and there is at least one), and no handover of it
    /// waits to start another.
    pub fn settled(&self) -> bool {
        !self.executions.is_empty()
            && self.executions.iter().all(|e| e.status != "RUNNING")
            && self.handovers_pending == 0
    }
}

/// Polls `check` every 25 ms until it gives a value or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if started.elapsed() > within {
            return Err(format!("timed out after {within:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_count_as_local() {
        assert!(is_loopback("http://127.0.0.1:4000/x"));
        assert!(is_loopback("http://localhost:1"));
        assert!(!is_loopback("https://api.uber.com"));
        assert!(!is_loopback("http://127.0.0.1.example.com/"));
    }
}

/// The partner order id an execution is about: the `Order Received` event's
/// (`detail.data.partnerOrderId`), or, for an execution handed over to, the received order's
/// (`received.data.partnerOrderId`).
pub fn partner_order_of(input: &Value) -> Option<&str> {
    input
        .pointer("/detail/data/partnerOrderId")
        .or_else(|| input.pointer("/received/data/partnerOrderId"))
        .and_then(Value::as_str)
}

/// One run of an order's workflow: an execution and those it handed over to, if any
/// (`handover.from` in a continuation's input names an execution of the run: the Express
/// execution that handed over to the Standard workflow, whose hand-back to the Express
/// workflow carries the same state, or an execution started by one of those).
#[derive(Debug, Clone)]
pub struct Run {
    /// The executions, first the one the event started.
    pub executions: Vec<Arc<Execution>>,
}

impl Run {
    /// The first execution's name.
    pub fn name(&self) -> &str {
        self.executions.first().map_or("", |e| e.name.as_str())
    }

    /// `RUNNING` while any execution runs, else the last one's status; with its error.
    pub async fn status(&self) -> (String, Option<String>) {
        let mut last = ("RUNNING".to_owned(), None);
        for e in &self.executions {
            let s = e.snapshot().await;
            if s.status == crate::sfn::Status::Running {
                return ("RUNNING".to_owned(), None);
            }
            last = (format!("{:?}", s.status).to_uppercase(), s.error);
        }
        last
    }

    /// The states entered, across the executions.
    pub async fn path(&self) -> Vec<String> {
        let mut path = Vec::new();
        for e in &self.executions {
            path.extend(e.path().await);
        }
        path
    }

    /// The history events, across the executions.
    pub async fn history(&self) -> Vec<crate::sfn::HistoryEvent> {
        let mut history = Vec::new();
        for e in &self.executions {
            history.extend(e.history().await);
        }
        history
    }
}

/// Groups executions into runs: one handed over to joins the one that handed over.
fn runs(executions: Vec<Arc<Execution>>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut continuations = Vec::new();
    for e in executions {
        match e.input.pointer("/handover/from").and_then(Value::as_str) {
            Some(from) => continuations.push((from.to_owned(), e)),
            None => out.push(Run {
                executions: vec![e],
            }),
        }
    }
    for (from, e) in continuations {
        match out
            .iter_mut()
            .find(|r| r.executions.iter().any(|x| x.arn == from))
        {
            Some(run) => run.executions.push(e),
            None => out.push(Run {
                executions: vec![e],
            }),
        }
    }
    out
}
