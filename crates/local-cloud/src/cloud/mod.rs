//! The local cloud put together: the application read from the template with its external
//! things pointed at loopback (partner and POS simulators, local secrets), DynamoDB Local with
//! the template's tables, every function's binary on the Runtime API, the bus, the workflow
//! interpreter and the HTTP API, each service on its own loopback port.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use order_domain::Partner;
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::app::{ACCOUNT, App, AppError, REGION};
use crate::clock::TimeScale;
use crate::dynamodb::{DynamoError, DynamoLocal};
use crate::eventbridge::EventBridge;
use crate::iam::{Iam, IamError};
use crate::lambda::Lambda;
use crate::queues::Queues;
use crate::sfn::{ApiError, Sfn};
use crate::sim::partner::{OrderBook, PartnerLedger};
use crate::sim::pos::PosBook;
use crate::sim::{Faults, Sim};
use crate::webhooks;
use local_aws_core::quota::Quotas;

mod integrations;
mod start;
mod usage;
mod views;

pub use views::*;

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
    /// Lambda's `Invoke` API (the pre-traffic hook's calls).
    #[serde(default)]
    pub lambda: String,
    /// CodeDeploy's hook reports.
    #[serde(default)]
    pub codedeploy: String,
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

/// Keys one `BatchGetItem` may ask for: 100 (the DynamoDB API Reference, BatchGetItem: "A
/// single operation can retrieve up to 16 MB of data, which can contain as many as 100
/// items").
pub const BATCH_GET_KEYS: usize = 100;

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
    /// The executions by partner order id, brought up to date as they are asked for.
    executions_by_order: Mutex<ExecutionIndex>,
    /// The template's parameter values it was started with (a deploy loads the new
    /// release's template with the same).
    pub(crate) overrides: crate::app::Overrides,
    /// CodeDeploy: the deployments' hook executions.
    pub codedeploy: Arc<codedeploy_local::CodeDeploy>,
    /// How the IAM it enforces was read (`None` when it enforces none): a deploy reads the
    /// release's the same way and puts its policies in place.
    pub(crate) iam_source: Option<IamSource>,
}

/// Where the enforced IAM came from: the checkout whose SAM translator read the template,
/// the stack's name, and the translator's cache.
#[derive(Debug, Clone)]
pub(crate) struct IamSource {
    pub(crate) root: PathBuf,
    pub(crate) stack: String,
    pub(crate) cache_dir: PathBuf,
}

/// [`Sfn::executions`] by partner order id: a run that watches thousands of orders asks for
/// one order's executions many times a second, and the whole list grows with every order.
#[derive(Default)]
pub(crate) struct ExecutionIndex {
    /// How many of the executions, in start order, are indexed.
    seen: usize,
    by_order: std::collections::HashMap<String, Vec<Arc<crate::sfn::Execution>>>,
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
