//! Builds each function's use case once per cold start, from the environment: real adapters
//! (`PIPELINE_BACKEND=aws`, the default) or the in-memory twins (`memory`, for
//! `cargo lambda watch` and handler tests).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_adapters::{
    DynamoDocuments, DynamoHeld, DynamoIdempotencyStore, DynamoOrders, EventBridgePublisher,
    SfnCallbacks,
};
use idempotency::{Config as IdempotencyConfig, Idempotency, IdempotencyStore, InMemoryStore};
use order_domain::{HoldPolicy, Partner};
use pipeline::memory::*;
use pipeline::ports::*;
use pipeline::usecases::accept::PartnerConversation;
use pipeline::usecases::adapt::Adapt;
use pipeline::usecases::dedup::Dedup;
use pipeline::usecases::hold::HoldKeeper;
use pipeline::usecases::intake::{Intake, IntakeConfig, WebhookSecrets};
use pipeline::usecases::pos::PosSender;
use pipeline::usecases::release::Releaser;

use crate::config::{ConfigError, Env, vars};
use crate::metrics::EmfMetrics;
use crate::secrets::SecretCell;

mod sweep;
pub use sweep::*;

/// Every port in memory, shared by all use cases built from it.
pub struct MemoryWorld {
    /// Orders table.
    pub orders: Arc<InMemoryOrders>,
    /// Held-orders table.
    pub held: Arc<InMemoryHeld>,
    /// Idempotency table.
    pub idempotency: Arc<InMemoryStore>,
    /// Documents table.
    pub documents: Arc<InMemoryDocuments>,
    /// The bus.
    pub publisher: Arc<RecordingPublisher>,
    /// Workflow callbacks.
    pub callbacks: Arc<RecordingCallbacks>,
    /// Standard executions started (the handover).
    pub starter: Arc<pipeline::ports::RecordingStarter>,
    /// Partner APIs.
    pub partners: Arc<InMemoryPartnerApi>,
    /// The POS.
    pub pos: Arc<InMemoryPos>,
    /// The stores whose POS is failing.
    pub pos_health: Arc<pipeline::memory::InMemoryPosHealth>,
    /// Metrics.
    pub metrics: Arc<RecordingMetrics>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl MemoryWorld {
    /// An empty world on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            orders: Arc::default(),
            held: Arc::default(),
            idempotency: Arc::default(),
            documents: Arc::default(),
            publisher: Arc::default(),
            callbacks: Arc::default(),
            starter: Arc::default(),
            partners: Arc::default(),
            pos: Arc::default(),
            pos_health: Arc::default(),
            metrics: Arc::default(),
            clock,
        }
    }
}

/// Where the ports come from.
pub enum Backend {
    /// AWS (or the local cloud, through `AWS_ENDPOINT_URL_*`).
    Aws(Box<AwsBackend>),
    /// Everything in memory.
    Memory(Arc<MemoryWorld>),
}

/// The AWS backend: the SDK configuration, and a record of the AWS calls the adapters it has
/// handed out can make (what the function's IAM role must allow; the template's contract
/// tests check the role against it).
pub struct AwsBackend {
    config: aws_adapters::AwsConfig,
    calls: std::sync::Mutex<BTreeSet<AwsCall>>,
    /// Each secret's value once read, shared by the use case's clients: `release-order`'s POS
    /// and partner clients read the same secret once, not once each.
    pub(crate) secrets: std::sync::Mutex<HashMap<&'static str, SecretCell>>,
    /// The catalogue, shared by the use case's parts: `release-order`'s releaser and partner
    /// conversation read one cache, not two.
    catalog: std::sync::OnceLock<Arc<dyn pipeline::ports::CatalogSource>>,
}

/// An AWS call a use case built from an [`AwsBackend`] can make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AwsCall {
    /// The IAM action, e.g. `dynamodb:PutItem`.
    pub action: &'static str,
    /// What it is made on.
    pub resource: AwsResource,
}

/// What an [`AwsCall`] is made on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AwsResource {
    /// The resource the environment variable names (a table, a bus, a secret), or an index of
    /// that table.
    Named {
        /// The variable (e.g. `ORDERS_TABLE`).
        var: &'static str,
        /// The table's index, for an index query.
        index: Option<&'static str>,
    },
    /// The state machine that issued the task token the call carries.
    TaskTokenStateMachine,
}

impl AwsBackend {
    fn record(&self, actions: &[&'static str], resource: AwsResource) {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for action in actions {
            calls.insert(AwsCall {
                action,
                resource: resource.clone(),
            });
        }
    }

    pub(crate) fn named(&self, actions: &[&'static str], var: &'static str) {
        self.record(actions, AwsResource::Named { var, index: None });
    }
}

impl std::ops::Deref for AwsBackend {
    type Target = aws_adapters::AwsConfig;

    fn deref(&self) -> &Self::Target {
        &self.config
    }
}

/// The memory backend's clock: the samples' time while the seed replays (the seeded orders
/// were made then, and a step that checks a deadline, such as Uber Eats' 11.5-minute window
/// to accept, would refuse them at today's date), the system clock once it has.
#[derive(Debug, Default)]
struct SeedingClock {
    seeded: std::sync::atomic::AtomicBool,
}

impl SeedingClock {
    fn seeded(&self) {
        self.seeded
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

impl Clock for SeedingClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        if self.seeded.load(std::sync::atomic::Ordering::Acquire) {
            chrono::Utc::now()
        } else {
            // Exactly the time the seed was made at (`cargo xtask samples`, a fixed clock at
            // the samples' time): adapt-order stamps the canonical order with it, and the
            // order is kept under its hash, which the seed's later steps name.
            crate::samples::sample_time()
        }
    }
}

impl Backend {
    /// The backend `PIPELINE_BACKEND` names.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        match env.optional(vars::BACKEND).unwrap_or("aws") {
            "aws" => {
                let config =
                    aws_adapters::AwsConfig::from_env(|k| env.optional(k).map(str::to_owned))
                        .map_err(|e| ConfigError::Missing(e.0))?;
                Ok(Backend::Aws(Box::new(AwsBackend {
                    config,
                    calls: std::sync::Mutex::default(),
                    secrets: std::sync::Mutex::default(),
                    catalog: std::sync::OnceLock::new(),
                })))
            }
            "memory" => {
                let clock = Arc::new(SeedingClock::default());
                let world = MemoryWorld::new(clock.clone());
                if let Some(dir) = env.optional(vars::PARTNER_FIXTURES_DIR) {
                    world.partners.load_fixtures(Path::new(dir)).map_err(|e| {
                        ConfigError::Load {
                            what: format!("partner fixtures from {dir}"),
                            why: e.to_string(),
                        }
                    })?;
                }
                let backend = Backend::Memory(Arc::new(world));
                if let Some(path) = env.optional(vars::MEMORY_SEED) {
                    seed(&backend, env, path).await?;
                }
                clock.seeded();
                Ok(backend)
            }
            other => Err(ConfigError::Invalid {
                name: vars::BACKEND,
                value: other.to_owned(),
                why: "expected aws or memory".to_owned(),
            }),
        }
    }

    /// The AWS calls the use cases built from this backend can make (none in memory).
    pub fn aws_calls(&self) -> Vec<AwsCall> {
        match self {
            Backend::Aws(aws) => aws
                .calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned()
                .collect(),
            Backend::Memory(_) => Vec::new(),
        }
    }

    fn clock(&self) -> Arc<dyn Clock> {
        match self {
            Backend::Aws(_) => Arc::new(SystemClock),
            Backend::Memory(w) => w.clock.clone(),
        }
    }

    fn metrics(&self, env: &Env) -> Arc<dyn Metrics> {
        match self {
            Backend::Aws(_) => {
                let service = env
                    .optional("AWS_LAMBDA_FUNCTION_NAME")
                    .unwrap_or("order-pipeline");
                Arc::new(EmfMetrics::stdout(
                    env.optional(vars::METRICS_NAMESPACE)
                        .unwrap_or("OrderPipeline"),
                    service,
                ))
            }
            Backend::Memory(w) => w.metrics.clone(),
        }
    }

    pub(crate) fn dynamo(&self) -> Option<aws_sdk_dynamodb::Client> {
        match self {
            Backend::Aws(aws) => Some(aws.dynamodb()),
            Backend::Memory(_) => None,
        }
    }

    /// The store catalogue: the stores and menus tables when `STORES_TABLE` is set (cached
    /// for `CATALOG_CACHE_TTL_SECONDS`, one cache per process), else the catalogue embedded in
    /// the binary.
    fn catalog(&self, env: &Env) -> Result<Arc<dyn pipeline::ports::CatalogSource>, ConfigError> {
        let (Backend::Aws(aws), Some(client), Some(stores)) =
            (self, self.dynamo(), env.optional(vars::STORES_TABLE))
        else {
            return embedded_catalog();
        };
        if let Some(built) = aws.catalog.get() {
            return Ok(built.clone());
        }
        let ttl: u64 = env.parsed_or(vars::CATALOG_CACHE_TTL_SECONDS, 60)?;
        let report: u64 = env.parsed_or(vars::CATALOG_METRICS_SECONDS, 60)?;
        aws.named(aws_adapters::DynamoCatalog::IAM_ACTIONS, vars::STORES_TABLE);
        aws.named(aws_adapters::DynamoCatalog::IAM_ACTIONS, vars::MENUS_TABLE);
        let built: Arc<dyn pipeline::ports::CatalogSource> = Arc::new(
            aws_adapters::DynamoCatalog::new(
                client,
                stores,
                env.required(vars::MENUS_TABLE)?,
                aws_adapters::catalog::CacheSettings {
                    ttl: Duration::from_secs(ttl),
                    ..Default::default()
                },
            )
            .report_every(Duration::from_secs(report.max(1)), self.metrics(env)),
        );
        Ok(aws.catalog.get_or_init(|| built).clone())
    }

    fn orders(&self, env: &Env) -> Result<Arc<dyn OrdersRepo>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => w.orders.clone(),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(DynamoOrders::IAM_ACTIONS, vars::ORDERS_TABLE);
                Arc::new(DynamoOrders::new(client, env.required(vars::ORDERS_TABLE)?))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    /// The POS health table as `pos` and `release-order` use it: recording failures, each
    /// store at most once per [`POS_HEALTH_WRITE_EVERY_SECONDS`] from a process.
    fn pos_health(&self, env: &Env) -> Result<Arc<dyn PosHealth>, ConfigError> {
        let table =
            self.pos_health_with(env, aws_adapters::DynamoPosHealth::RECORDER_IAM_ACTIONS)?;
        Ok(Arc::new(RecordedEvery::new(
            table,
            chrono::Duration::seconds(POS_HEALTH_WRITE_EVERY_SECONDS),
        )))
    }

    /// The POS health table as the sweeper's watch uses it: reading and clearing.
    fn pos_health_watched(&self, env: &Env) -> Result<Arc<dyn PosHealth>, ConfigError> {
        self.pos_health_with(env, aws_adapters::DynamoPosHealth::WATCHER_IAM_ACTIONS)
    }

    fn pos_health_with(
        &self,
        env: &Env,
        actions: &'static [&'static str],
    ) -> Result<Arc<dyn PosHealth>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => w.pos_health.clone(),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(actions, vars::POS_HEALTH_TABLE);
                Arc::new(aws_adapters::DynamoPosHealth::new(
                    client,
                    env.required(vars::POS_HEALTH_TABLE)?,
                ))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    /// The orders table as the sweeper uses it: reads (`GetItem`), its sweep marks
    /// (`UpdateItem`) and its sweep index (`Query`); it never creates a record.
    fn sweep_orders(&self, env: &Env) -> Result<Arc<dyn OrdersRepo>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => w.orders.clone(),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(DynamoOrders::SWEEPER_IAM_ACTIONS, vars::ORDERS_TABLE);
                for (action, index) in DynamoOrders::IAM_SWEEP_INDEX_ACTIONS {
                    aws.record(
                        &[action],
                        AwsResource::Named {
                            var: vars::ORDERS_TABLE,
                            index: Some(index),
                        },
                    );
                }
                Arc::new(DynamoOrders::new(client, env.required(vars::ORDERS_TABLE)?))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    /// The documents table, for reading only: the role needs `GetItem` alone.
    fn documents_read_only(&self, env: &Env) -> Result<Arc<dyn Documents>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => Arc::new(ReadOnlyDocuments(w.documents.clone())),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(DynamoDocuments::IAM_READ_ACTIONS, vars::DOCUMENTS_TABLE);
                Arc::new(ReadOnlyDocuments(Arc::new(DynamoDocuments::new(
                    client,
                    env.required(vars::DOCUMENTS_TABLE)?,
                ))))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    /// The documents table, for storing only: the role needs `PutItem` alone.
    fn documents_write_only(&self, env: &Env) -> Result<Arc<dyn Documents>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => Arc::new(WriteOnlyDocuments(w.documents.clone())),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(DynamoDocuments::IAM_WRITE_ACTIONS, vars::DOCUMENTS_TABLE);
                Arc::new(WriteOnlyDocuments(Arc::new(DynamoDocuments::new(
                    client,
                    env.required(vars::DOCUMENTS_TABLE)?,
                ))))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    fn documents(&self, env: &Env) -> Result<Arc<dyn Documents>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => w.documents.clone(),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(DynamoDocuments::IAM_ACTIONS, vars::DOCUMENTS_TABLE);
                Arc::new(DynamoDocuments::new(
                    client,
                    env.required(vars::DOCUMENTS_TABLE)?,
                ))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    fn held(&self, env: &Env) -> Result<Arc<dyn HeldOrders>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => w.held.clone(),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(DynamoHeld::IAM_ACTIONS, vars::HELD_ORDERS_TABLE);
                for (action, index) in DynamoHeld::IAM_INDEX_ACTIONS {
                    aws.record(
                        &[action],
                        AwsResource::Named {
                            var: vars::HELD_ORDERS_TABLE,
                            index: Some(index),
                        },
                    );
                }
                Arc::new(DynamoHeld::new(
                    client,
                    env.required(vars::HELD_ORDERS_TABLE)?,
                ))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    fn idempotency_store(&self, env: &Env) -> Result<Arc<dyn IdempotencyStore>, ConfigError> {
        Ok(match (self, self.dynamo()) {
            (Backend::Memory(w), _) => w.idempotency.clone(),
            (Backend::Aws(aws), Some(client)) => {
                aws.named(DynamoIdempotencyStore::IAM_ACTIONS, vars::IDEMPOTENCY_TABLE);
                Arc::new(DynamoIdempotencyStore::new(
                    client,
                    env.required(vars::IDEMPOTENCY_TABLE)?,
                ))
            }
            _ => unreachable!("an AWS backend has a DynamoDB client"),
        })
    }

    fn publisher(&self, env: &Env) -> Result<Arc<dyn EventPublisher>, ConfigError> {
        Ok(match self {
            Backend::Memory(w) => w.publisher.clone(),
            Backend::Aws(aws) => {
                aws.named(EventBridgePublisher::IAM_ACTIONS, vars::EVENT_BUS_NAME);
                Arc::new(EventBridgePublisher::new(
                    aws.eventbridge(),
                    env.required(vars::EVENT_BUS_NAME)?,
                ))
            }
        })
    }

    fn starter(&self, env: &Env) -> Result<Arc<dyn pipeline::ports::WorkflowStarter>, ConfigError> {
        Ok(match self {
            Backend::Memory(w) => w.starter.clone(),
            Backend::Aws(aws) => {
                aws.named(
                    aws_adapters::SfnStarter::IAM_ACTIONS,
                    vars::ORDER_HOLD_WORKFLOW_ARN,
                );
                Arc::new(aws_adapters::SfnStarter::new(
                    aws.sfn(),
                    env.required(vars::ORDER_HOLD_WORKFLOW_ARN)?.to_owned(),
                ))
            }
        })
    }

    fn callbacks(&self) -> Arc<dyn TaskCallbacks> {
        match self {
            Backend::Memory(w) => w.callbacks.clone(),
            Backend::Aws(aws) => {
                aws.record(
                    SfnCallbacks::IAM_ACTIONS,
                    AwsResource::TaskTokenStateMachine,
                );
                Arc::new(SfnCallbacks::new(aws.sfn()))
            }
        }
    }
}

/// Replays a seed into a fresh memory backend. Debug builds only: the seed runs every use
/// case, so linking it would put every adapter into every release binary.
#[cfg(debug_assertions)]
async fn seed(backend: &Backend, env: &Env, path: &str) -> Result<(), ConfigError> {
    let load = |why: String| ConfigError::Load {
        what: format!("memory seed {path}"),
        why,
    };
    let steps = crate::samples::load_seed(Path::new(path)).map_err(load)?;
    let deadline = chrono::Utc::now() + chrono::TimeDelta::seconds(60);
    crate::samples::replay_seed(backend, env, &steps, deadline)
        .await
        .map_err(load)
}

#[cfg(not(debug_assertions))]
async fn seed(_: &Backend, _: &Env, path: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Load {
        what: format!("memory seed {path}"),
        why: "the memory seed is available in debug builds only (cargo lambda watch, tests)"
            .to_owned(),
    })
}

const ALL_PARTNER_URLS: [(Partner, &str); 4] = [
    (Partner::UberEats, vars::UBEREATS_API_URL),
    (Partner::DoorDash, vars::DOORDASH_API_URL),
    (Partner::Grubhub, vars::GRUBHUB_API_URL),
    (Partner::ChainApp, vars::APP_API_URL),
];

fn embedded_catalog() -> Result<Arc<dyn pipeline::ports::CatalogSource>, ConfigError> {
    pipeline::memory::InMemoryCatalog::embedded()
        .map(|c| Arc::new(c) as Arc<dyn pipeline::ports::CatalogSource>)
        .map_err(|e| ConfigError::Load {
            what: "the embedded store catalogue".to_owned(),
            why: e.to_string(),
        })
}

/// The intake use case. Its first request needs the webhook secrets, so init waits for them,
/// but reads them while it builds the rest.
pub async fn intake(env: &Env, backend: &Backend) -> Result<Intake, ConfigError> {
    let source = backend.secret_source(env, vars::WEBHOOK_SECRETS_ID)?;
    let reading = tokio::spawn(source.clone().load());
    let window: i64 = env.parsed_or(vars::WEBHOOK_REPLAY_WINDOW_SECONDS, 300)?;
    if window <= 0 {
        tracing::warn!(
            "WEBHOOK_REPLAY_WINDOW_SECONDS=0: replayed webhooks are not refused (local use only)"
        );
    }
    let catalog = backend.catalog(env)?;
    let publisher = backend.publisher(env)?;
    let documents = backend.documents_write_only(env)?;
    let config = IntakeConfig {
        max_body_bytes: env.parsed_or(
            vars::WEBHOOK_MAX_BODY_BYTES,
            pipeline::usecases::intake::MAX_WEBHOOK_BODY_BYTES,
        )?,
        replay_window_seconds: (window > 0).then_some(window),
    };
    let secrets = reading.await.map_err(|e| ConfigError::Load {
        what: format!("secret {}", vars::WEBHOOK_SECRETS_ID),
        why: e.to_string(),
    })??;
    // Read again when a signature fails (a rotation), at most once a minute.
    let secrets = WebhookSecrets::from_secret(secrets)
        .rereading_from(Arc::new(source), backend.clock().now());
    for (partner, why) in secrets.refused() {
        tracing::error!(partner = partner.as_str(), problem = %why, "webhook credential refused; the partner's webhooks are refused until it is replaced, the others go on");
    }
    Ok(Intake {
        catalog,
        secrets,
        publisher,
        clock: backend.clock(),
        metrics: backend.metrics(env),
        documents,
        config,
    })
}

/// The dedup use case.
pub async fn dedup(env: &Env, backend: &Backend) -> Result<Dedup, ConfigError> {
    let ttl: i64 = env.parsed_or(vars::IDEMPOTENCY_TTL_SECONDS, 48 * 3600)?;
    Ok(Dedup {
        idempotency: Idempotency::new(
            backend.idempotency_store(env)?,
            IdempotencyConfig {
                ttl: chrono::TimeDelta::seconds(ttl),
            },
        ),
        orders: backend.orders(env)?,
        clock: backend.clock(),
        metrics: backend.metrics(env),
    })
}

/// Every function's binary name.
pub const BINARIES: [&str; 11] = [
    "intake",
    "dedup",
    "adapt-order",
    "accept-order",
    "hold-order",
    "pos",
    "release-order",
    "catalog-admin",
    "store-status",
    "handover",
    "sweeper",
];

/// Builds the use case of the function `binary` exactly as its `main` does, and drops it
/// (the contract tests: what its environment lets it start with, what AWS calls it can make).
///
/// # Errors
/// What its wiring fails with; an unknown binary is named.
pub async fn build(binary: &str, env: &Env, backend: &Backend) -> Result<(), ConfigError> {
    match binary {
        "intake" => intake(env, backend).await.map(drop),
        "dedup" => dedup(env, backend).await.map(drop),
        "adapt-order" => adapt(env, backend).await.map(drop),
        "accept-order" => accept(env, backend).await.map(drop),
        "hold-order" => hold(env, backend).await.map(drop),
        "pos" => pos(env, backend).await.map(drop),
        "release-order" => release(env, backend).await.map(drop),
        "catalog-admin" => catalog_admin(env, backend).await.map(drop),
        "store-status" => store_status(env, backend).await.map(drop),
        "handover" => handover(env, backend).await.map(drop),
        "sweeper" => sweeper(env, backend).await.map(drop),
        other => Err(ConfigError::Load {
            what: format!("function {other:?}"),
            why: format!("no such binary (known: {})", BINARIES.join(", ")),
        }),
    }
}

/// The handover use case: starts the Standard workflow for each message of the handover
/// queue.
pub async fn handover(
    env: &Env,
    backend: &Backend,
) -> Result<pipeline::usecases::handover::Handover, ConfigError> {
    Ok(pipeline::usecases::handover::Handover {
        starter: backend.starter(env)?,
        metrics: backend.metrics(env),
    })
}

/// The adapt-order use case.
pub async fn adapt(env: &Env, backend: &Backend) -> Result<Adapt, ConfigError> {
    Ok(Adapt {
        catalog: backend.catalog(env)?,
        // Only notification partners are fetched from.
        partners: backend
            .partner_api(env, &[(Partner::UberEats, vars::UBEREATS_API_URL)])
            .await?,
        clock: backend.clock(),
        documents: backend.documents(env)?,
    })
}

async fn conversation(
    env: &Env,
    backend: &Backend,
    documents: Arc<dyn Documents>,
) -> Result<PartnerConversation, ConfigError> {
    Ok(PartnerConversation {
        catalog: backend.catalog(env)?,
        partners: backend.partner_api(env, &ALL_PARTNER_URLS).await?,
        orders: backend.orders(env)?,
        clock: backend.clock(),
        metrics: backend.metrics(env),
        policy: HoldPolicy::default(),
        documents,
    })
}

/// The accept-order use case.
pub async fn accept(env: &Env, backend: &Backend) -> Result<PartnerConversation, ConfigError> {
    conversation(env, backend, backend.documents_read_only(env)?).await
}

/// The hold-order use case.
pub async fn hold(env: &Env, backend: &Backend) -> Result<HoldKeeper, ConfigError> {
    Ok(HoldKeeper {
        held: backend.held(env)?,
        orders: backend.orders(env)?,
        publisher: backend.publisher(env)?,
        clock: backend.clock(),
        metrics: backend.metrics(env),
    })
}

/// The pos use case.
pub async fn pos(env: &Env, backend: &Backend) -> Result<PosSender, ConfigError> {
    pos_with(env, backend, backend.documents_read_only(env)?).await
}

async fn pos_with(
    env: &Env,
    backend: &Backend,
    documents: Arc<dyn Documents>,
) -> Result<PosSender, ConfigError> {
    Ok(PosSender {
        pos: backend.pos_api(env).await?,
        orders: backend.orders(env)?,
        clock: backend.clock(),
        metrics: backend.metrics(env),
        documents,
        health: backend.pos_health(env)?,
    })
}

/// The release-order use case.
pub async fn release(env: &Env, backend: &Backend) -> Result<Releaser, ConfigError> {
    Ok(Releaser {
        catalog: backend.catalog(env)?,
        held: backend.held(env)?,
        orders: backend.orders(env)?,
        callbacks: backend.callbacks(),
        publisher: backend.publisher(env)?,
        clock: backend.clock(),
        metrics: backend.metrics(env),
        // Release voids and cancels by the order's handle and never reads a document: it
        // gets no access to the documents table.
        pos: pos_with(env, backend, Arc::new(NoDocuments)).await?,
        conversation: conversation(env, backend, Arc::new(NoDocuments)).await?,
    })
}

/// The store-status use case: the catalogue (read uncached and strongly consistent on AWS,
/// `CATALOG_CACHE_TTL_SECONDS` 0 in the template, so partners are told the latest state) and
/// every partner's API.
pub async fn store_status(
    env: &Env,
    backend: &Backend,
) -> Result<pipeline::usecases::store_status::StoreStatusSync, ConfigError> {
    Ok(pipeline::usecases::store_status::StoreStatusSync {
        catalog: backend.catalog(env)?,
        partners: backend.partner_api(env, &ALL_PARTNER_URLS).await?,
        clock: backend.clock(),
    })
}

/// The repository's catalogue held in memory, for the administration on the memory backend.
fn embedded_catalog_admin() -> Result<InMemoryCatalogAdmin, ConfigError> {
    InMemoryCatalogAdmin::embedded().map_err(|e| ConfigError::Load {
        what: "the embedded store catalogue".to_owned(),
        why: e.to_string(),
    })
}

/// The catalogue admin use case (the `catalog-admin` function, behind the IAM-authorised
/// admin route): the stores and menus tables (`STORES_TABLE`, `MENUS_TABLE`, with
/// [`aws_adapters::catalog_admin::IAM_ACTIONS`]) and the order bus; on the memory backend,
/// the repository's catalogue held in memory.
pub async fn catalog_admin(
    env: &Env,
    backend: &Backend,
) -> Result<pipeline::catalog_admin::CatalogAdministration, ConfigError> {
    let admin: Arc<dyn pipeline::catalog_admin::CatalogAdmin> = match (backend, backend.dynamo()) {
        (Backend::Memory(_), _) => Arc::new(embedded_catalog_admin()?),
        (Backend::Aws(aws), Some(client)) => {
            aws.named(aws_adapters::catalog_admin::IAM_ACTIONS, vars::STORES_TABLE);
            aws.named(aws_adapters::catalog_admin::IAM_ACTIONS, vars::MENUS_TABLE);
            Arc::new(aws_adapters::catalog_admin::DynamoCatalogAdmin::new(
                client,
                env.required(vars::STORES_TABLE)?,
                env.required(vars::MENUS_TABLE)?,
            ))
        }
        _ => unreachable!("an AWS backend has a DynamoDB client"),
    };
    Ok(pipeline::catalog_admin::CatalogAdministration {
        admin,
        bus: backend.publisher(env)?,
        clock: backend.clock(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory backend as `cargo lambda watch` starts it (`events/watch.env`): the seed
    /// replays whole, each step as `cargo xtask samples` recorded it (a canonical order is
    /// found under the hash the seed names).
    #[tokio::test]
    async fn the_memory_backend_replays_the_seed_as_cargo_lambda_watch_starts_it() {
        let root = crate::samples::repo_root();
        let seed = root.join("events/seed.json");
        let fixtures = root.join("events/partners");
        let env = crate::samples::memory_env(&root)
            .with(vars::MEMORY_SEED, &seed.display().to_string())
            .with(vars::PARTNER_FIXTURES_DIR, &fixtures.display().to_string());
        let backend = Backend::from_env(&env).await;
        assert!(backend.is_ok(), "{:?}", backend.err());
    }

    #[tokio::test]
    async fn the_parts_of_a_use_case_share_one_catalogue_cache() {
        let env = Env::from_pairs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            (vars::STORES_TABLE, "stores"),
            (vars::MENUS_TABLE, "menus"),
        ]);
        let backend = Backend::from_env(&env).await.unwrap();
        let first = backend.catalog(&env).unwrap();
        let second = backend.catalog(&env).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }
}
