//! Starting the local cloud: the simulators, the secrets, IAM, DynamoDB Local and its tables,
//! the bus, the workflows, the queues, the functions' processes and the schedules, from the
//! template.

use crate::apigw::HttpApi;
use crate::app::{App, AppError, Overrides};
use crate::bus_targets::BusTargets;
use crate::dynamodb::{self, DynamoLocal};
use crate::eventbridge::EventBridge;
use crate::iam::Iam;
use crate::lambda::{Lambda, LambdaConfig};
use crate::queues::Queues;
use crate::sfn::Sfn;
use crate::sim::Sim;
use crate::sim::partner::{OrderBook, PartnerLedger};
use crate::sim::pos::PosBook;
use order_domain::Partner;
use secrets_local::Secrets;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::integrations::*;
use super::*;

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
        let overrides = Overrides {
            parameters,
            ..Default::default()
        };
        let app = App::load(&opts.template, &overrides)?;
        let iam_source = opts.iam.then(|| super::IamSource {
            root: opts.root.clone(),
            stack: format!("order-pipeline-{}", opts.stage),
            cache_dir: opts.state_dir.join("iam"),
        });
        let iam = Arc::new(match &iam_source {
            Some(source) => {
                let cfn = crate::iam::transform(&source.root, &opts.template, &source.cache_dir)?;
                Iam::load(&cfn, &app.resolver, &source.stack)?
            }
            None => Iam::disabled(),
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
        let (lambda_listener, lambda_url) = bind(0).await?;
        let (codedeploy_listener, codedeploy_url) = bind(0).await?;
        let shared_env = BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), "local".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "local".to_owned()),
            ("AWS_SESSION_TOKEN".to_owned(), "local".to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), dynamodb_url.clone()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE".to_owned(), bus_url.clone()),
            ("AWS_ENDPOINT_URL_SFN".to_owned(), sfn_url.clone()),
            ("AWS_ENDPOINT_URL_LAMBDA".to_owned(), lambda_url.clone()),
            (
                "AWS_ENDPOINT_URL_CODEDEPLOY".to_owned(),
                codedeploy_url.clone(),
            ),
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
                async_wait_scale: local_aws_core::clock::TimeScale::REAL,
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
            let definition = |source| CloudError::Definition {
                name: m.name.clone(),
                source,
            };
            let arn = sfn
                .create_typed_state_machine(&m.name, &m.json, m.workflow_type)
                .await
                .map_err(definition)?;
            if let Some(alias) = &m.alias {
                sfn.publish(&arn, alias).await.map_err(definition)?;
            }
        }
        targets.connect(sfn.clone());
        bus.set_archives(app.archives.clone());
        servers.push(serve(bus_listener, bus.router()));
        servers.push(serve(lambda_listener, lambda.api_router()));
        let codedeploy =
            codedeploy_local::CodeDeploy::new(iam.clone(), crate::app::CODEDEPLOY_APPLICATION);
        servers.push(serve(codedeploy_listener, codedeploy.router()));
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
            lambda: lambda_url,
            codedeploy: codedeploy_url,
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
            executions_by_order: Mutex::default(),
            overrides,
            codedeploy,
            iam_source,
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
            // The mapping polls with its function's role (the function may be named by its
            // alias); IAM switched off (`--no-iam`) has no roles and allows it.
            let caller = self
                .iam
                .function_caller(crate::lambda::unqualified(function));
            let denied = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
                .into_iter()
                .find_map(|action| match caller.as_ref() {
                    Some(c) => self
                        .iam
                        .authorize(c, action, &queue_arn, BTreeMap::new())
                        .err()
                        .map(|d| d.to_string()),
                    None if self.iam.enforced() => {
                        Some(format!("{function} has no role to poll {queue_arn} with"))
                    }
                    None => None,
                });
            if let Some(d) = denied {
                tracing::error!(function, queue = %mapping.queue, error = %d, "the event source mapping cannot poll its queue; its messages wait");
                continue;
            }
            // Its MaximumConcurrency is a concurrency the template sets, scaled with the
            // function's reserved concurrency so their ratio stays AWS's (5 pollers under a
            // reserved 10 never throttle there; unscaled, they would here).
            let mut mapping = mapping.clone();
            mapping.maximum_concurrency = self
                .quotas
                .scaled_concurrency(u32::try_from(mapping.maximum_concurrency).unwrap_or(u32::MAX))
                as usize;
            let invoker = Arc::new(FunctionInvoker {
                lambda: self.lambda.clone(),
                function: function.clone(),
            });
            let task = sqs_local::start_mapping(
                self.sqs.clone(),
                mapping,
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
}
