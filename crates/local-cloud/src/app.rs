//! The application as the template describes it, with every intrinsic resolved to local names:
//! functions (binary, environment, timeout), tables (as CreateTable requests), the bus and its
//! rules, the state machine, and the HTTP routes.

use std::collections::BTreeMap;
use std::path::Path;

use asl::model::Definition;
use event_pattern::Pattern;
use sam_template::{Resolver, Template};
use serde_json::{Value, json};

pub use eventbridge_local::{Rule, RuleInput, Target, rule_arn};
pub use local_aws_core::{ACCOUNT, REGION};

/// How long the local cloud's functions cache a catalogue store (seconds): short, so a pause
/// or a menu change made during a run shows at once.
pub const LOCAL_CATALOG_CACHE_TTL_SECONDS: u64 = 1;

/// How often the local cloud's functions report their catalogue cache's lookups and misses
/// (seconds; 60 deployed).
pub const LOCAL_CATALOG_METRICS_SECONDS: u64 = 10;

/// Why the template could not be turned into a local application.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The template.
    #[error(transparent)]
    Template(#[from] sam_template::TemplateError),
    /// Something in it cannot run locally.
    #[error("{0}")]
    Invalid(String),
}

/// A function.
#[derive(Debug, Clone)]
pub struct Function {
    /// Logical id.
    pub logical_id: String,
    /// Function name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// The binary (package) name.
    pub binary: String,
    /// Environment from the template (resolved).
    pub env: BTreeMap<String, String>,
    /// Timeout, seconds.
    pub timeout_seconds: u64,
    /// Memory, MB.
    pub memory_mb: u64,
    /// `ApplicationLogLevel`.
    pub log_level: Option<String>,
    /// `LogFormat`.
    pub log_format: Option<String>,
    /// Async invocations: retries after a function error (Lambda's default is 2).
    pub async_retries: u32,
    /// Async invocations: where failures go (a queue name), if configured.
    pub on_failure: Option<String>,
    /// Async invocations: the oldest event Lambda still runs, seconds
    /// (`EventInvokeConfig.MaximumEventAgeInSeconds`; Lambda's default is 21,600, six hours).
    pub max_event_age_seconds: u64,
    /// `ReservedConcurrentExecutions`: the most invocations it runs at once; more are refused
    /// with `TooManyRequestsException`. None: it shares the account's unreserved concurrency.
    pub reserved_concurrency: Option<u32>,
    /// `AutoPublishAlias`: the alias SAM points at the version it publishes of each build
    /// (the build the local cloud runs is version 1). The function's event sources (rules,
    /// routes, queues, schedules) invoke the alias, as SAM wires them.
    pub alias: Option<String>,
}

impl Function {
    /// The qualifiers an invocation may name: its published version (`1`) and its alias,
    /// when it has one (a function without `AutoPublishAlias` has only `$LATEST`).
    pub fn qualifiers(&self) -> impl Iterator<Item = &str> {
        self.alias
            .as_deref()
            .into_iter()
            .flat_map(|a| [PUBLISHED_VERSION, a])
    }
}

/// The version a function or state machine with `AutoPublishAlias` is published as: the
/// local cloud runs one build, its first.
pub const PUBLISHED_VERSION: &str = "1";

/// The logical ids SAM gives what it generates for `AutoPublishAlias: <alias>` on a function
/// or state machine of logical id `id` (`<id>Alias<alias>`), and the forms a template refers
/// to them by (`<id>.Alias`, `<id>.Version`; SAM's "Referenceable resources").
fn alias_refs(id: &str, alias: &str) -> [String; 2] {
    [format!("{id}Alias{alias}"), format!("{id}.Alias")]
}

/// A table, as the CreateTable request that makes it.
#[derive(Debug, Clone)]
pub struct Table {
    /// Logical id.
    pub logical_id: String,
    /// Table name.
    pub name: String,
    /// The CreateTable request.
    pub create: Value,
    /// The TTL attribute, if any.
    pub ttl_attribute: Option<String>,
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// The definition with its substitutions made.
    pub definition: Definition,
    /// The definition JSON with its substitutions made.
    pub json: Value,
    /// The template's logical id.
    pub logical_id: String,
    /// `Type`: Standard (the default) or Express.
    pub workflow_type: step_functions_local::WorkflowType,
    /// `AutoPublishAlias`: the alias of its published version, which `StartExecution` may
    /// name (and its rule does, with `UseAliasAsEventTarget`).
    pub alias: Option<String>,
}

/// An HTTP route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Method.
    pub method: String,
    /// Path with `{params}`.
    pub path: String,
    /// The function's name.
    pub function: String,
    /// The route's throttling (its own route settings, else the stage's defaults): steady
    /// rate per second and burst.
    pub throttle: Option<(f64, f64)>,
    /// `arn:aws:execute-api:<region>:<account>:<api id>/<stage>`: with `/<METHOD>/<path>`, the
    /// `aws:SourceArn` the API invokes the function with, and the resource a caller needs
    /// `execute-api:Invoke` on.
    pub source_arn_prefix: String,
    /// The API's id.
    pub api_id: String,
    /// Who may call it.
    pub authorization: RouteAuthorization,
}

/// A route's authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAuthorization {
    /// Open (the partners' webhooks, which intake authenticates itself).
    None,
    /// `AWS_IAM`: a SigV4-signed request from a principal allowed `execute-api:Invoke` on the
    /// route.
    Iam,
}

/// The local application.
#[derive(Debug, Clone)]
pub struct App {
    /// Functions.
    pub functions: Vec<Function>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Bus names (custom buses; `default` always exists).
    pub buses: Vec<String>,
    /// Event archives: `(name, bus)`. The name is `ArchiveName`, or the logical id when the
    /// template leaves it to CloudFormation.
    pub archives: Vec<(String, String)>,
    /// Rules.
    pub rules: Vec<Rule>,
    /// The state machines.
    pub state_machines: Vec<StateMachine>,
    /// HTTP routes.
    pub routes: Vec<Route>,
    /// Queue names (dead letters and failure destinations).
    pub queues: Vec<String>,
    /// Every queue's settings (visibility timeout, retention, redrive policy).
    pub queue_specs: Vec<sqs_local::QueueSpec>,
    /// Event source mappings: the function (by name) each queue's messages go to.
    pub queue_triggers: Vec<(String, sqs_local::EventSourceMapping)>,
    /// Schedules: the function (by name), its rule's name and its period (enabled `rate(...)`
    /// schedules only; a `cron(...)` one is refused at load).
    pub schedules: Vec<(String, String, std::time::Duration)>,
    /// What every logical id and parameter stands for locally.
    pub resolver: Resolver,
}

/// Values for the template's parameters and what stands for external things.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Parameter values (others take their defaults).
    pub parameters: BTreeMap<String, String>,
    /// The version this build of every function and state machine with `AutoPublishAlias`
    /// is published as, which the definitions' `<Id>.Version` references name: the first
    /// deploy's ([`PUBLISHED_VERSION`]) unless a later deploy says (`local-cloud deploy`).
    pub version: Option<u32>,
}

fn s(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::to_owned)
        .or_else(|| v.as_u64().map(|n| n.to_string()))
        .or_else(|| v.as_f64().map(|n| n.to_string()))
}

/// The physical name of a resource: its name property, or `<stack>-<LogicalId>`.
fn physical_name(r: &sam_template::Resource, base: &Resolver) -> Result<String, String> {
    let prop = match r.kind.as_str() {
        "AWS::DynamoDB::Table" => "TableName",
        "AWS::SQS::Queue" => "QueueName",
        "AWS::Serverless::Function" => "FunctionName",
        "AWS::Events::EventBus" | "AWS::Serverless::StateMachine" => "Name",
        _ => "",
    };
    match r.properties.get(prop) {
        Some(v) if !prop.is_empty() => base.resolve(v).map(|v| s(&v).unwrap_or_default()),
        _ => Ok(format!("local-{}", r.id)),
    }
}

/// A rule's `InputPath`, `Input` or `InputTransformer` (at most one).
fn rule_input(rule: &sam_template::Rule) -> Result<RuleInput, String> {
    let t = &rule.input_transformer;
    match (&rule.input_path, &rule.input, t.is_null()) {
        (None, None, true) => Ok(RuleInput::Event),
        (Some(p), None, true) => Ok(RuleInput::Path(p.clone())),
        (None, Some(c), true) => {
            serde_json::from_str::<Value>(c).map_err(|e| format!("Input is not JSON: {e}"))?;
            Ok(RuleInput::Constant(c.clone()))
        }
        (None, None, false) => {
            let template = t
                .get("InputTemplate")
                .and_then(Value::as_str)
                .ok_or("InputTransformer has no InputTemplate")?
                .to_owned();
            let mut paths = BTreeMap::new();
            if let Some(map) = t.get("InputPathsMap").and_then(Value::as_object) {
                for (k, v) in map {
                    let path = v
                        .as_str()
                        .ok_or_else(|| format!("InputPathsMap {k} is not a path"))?;
                    asl::path::JsonPath::parse(path)
                        .map_err(|e| format!("InputPathsMap {k}: {e}"))?;
                    paths.insert(k.clone(), path.to_owned());
                }
            }
            Ok(RuleInput::Transformer { paths, template })
        }
        _ => Err("a target takes at most one of InputPath, Input and InputTransformer".to_owned()),
    }
}

/// How old an asynchronous event may get before Lambda drops it when the template sets no
/// `EventInvokeConfig.MaximumEventAgeInSeconds`, seconds (six hours; the setting takes 60 to
/// 21,600: the Lambda Developer Guide, "Configuring error handling for asynchronous
/// invocation").
pub const DEFAULT_MAX_EVENT_AGE_SECONDS: u64 = 21_600;

/// The name of SAM's CodeDeploy application here (`ServerlessDeploymentApplication`).
pub const CODEDEPLOY_APPLICATION: &str = "local-ServerlessDeploymentApplication";

fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

impl App {
    /// The state machine of logical id `logical_id`.
    pub fn state_machine(&self, logical_id: &str) -> Option<&StateMachine> {
        self.state_machines
            .iter()
            .find(|m| m.logical_id == logical_id)
    }

    /// Reads the template and resolves it for the local cloud.
    pub fn load(template_path: &Path, overrides: &Overrides) -> Result<Self, AppError> {
        let t = Template::load(template_path)?;
        let invalid = |m: String| AppError::Invalid(m);

        // Phase 1: parameters and pseudo parameters.
        let mut base = Resolver::default();
        for (k, v) in [
            ("AWS::Region", REGION),
            ("AWS::AccountId", ACCOUNT),
            ("AWS::Partition", "aws"),
            ("AWS::URLSuffix", "localhost"),
            ("AWS::StackName", "local"),
        ] {
            base.refs.insert(k.to_owned(), json!(v));
        }
        if let Some(params) = t.json.get("Parameters").and_then(Value::as_object) {
            for (name, p) in params {
                let value = overrides
                    .parameters
                    .get(name)
                    .map(|v| json!(v))
                    .or_else(|| p.get("Default").cloned())
                    .ok_or_else(|| {
                        invalid(format!(
                            "template parameter {name} has no default; give it a value"
                        ))
                    })?;
                base.refs.insert(name.clone(), value);
            }
        }
        // Phase 2: every resource's physical name and ARN.
        let mut r = base.clone();
        // SAM's CodeDeploy application, made when a function deploys gradually (the AWS SAM
        // Developer Guide, "Generated AWS CloudFormation resources": `Ref` is its name).
        if t.resources().iter().any(|res| {
            res.kind == "AWS::Serverless::Function" && t.deployment_preference(res).is_some()
        }) {
            r.refs.insert(
                "ServerlessDeploymentApplication".to_owned(),
                json!(CODEDEPLOY_APPLICATION),
            );
        }
        for res in t.resources() {
            let name =
                physical_name(&res, &base).map_err(|e| invalid(format!("{}: {e}", res.id)))?;
            let (reference, the_arn) = match res.kind.as_str() {
                "AWS::DynamoDB::Table" => (name.clone(), arn("dynamodb", &format!("table/{name}"))),
                "AWS::SQS::Queue" => (
                    format!("http://localhost/{ACCOUNT}/{name}"),
                    arn("sqs", &name),
                ),
                "AWS::Serverless::Function" => {
                    (name.clone(), arn("lambda", &format!("function:{name}")))
                }
                "AWS::Events::EventBus" => {
                    (name.clone(), arn("events", &format!("event-bus/{name}")))
                }
                "AWS::Serverless::StateMachine" => {
                    let a = arn("states", &format!("stateMachine:{name}"));
                    (a.clone(), a)
                }
                // `Ref` gives the key id, `Arn` the key's ARN (the CloudFormation reference,
                // AWS::KMS::Key return values).
                "AWS::KMS::Key" => (name.clone(), arn("kms", &format!("key/{name}"))),
                _ => (name.clone(), arn("local", &name)),
            };
            r.refs.insert(res.id.clone(), json!(reference));
            // With AutoPublishAlias, SAM publishes a version and an alias (a function's from the
            // Globals too): what the template and SAM's own resources refer to them by.
            if let Some(alias) = t.auto_publish_alias(&res) {
                for id in alias_refs(&res.id, &alias) {
                    r.refs.insert(id, json!(format!("{the_arn}:{alias}")));
                }
                let version = overrides
                    .version
                    .map_or_else(|| PUBLISHED_VERSION.to_owned(), |v| v.to_string());
                r.refs.insert(
                    format!("{}.Version", res.id),
                    json!(format!("{the_arn}:{version}")),
                );
            }
            r.attrs
                .insert((res.id.clone(), "Arn".to_owned()), json!(the_arn));
            r.attrs
                .insert((res.id.clone(), "Name".to_owned()), json!(name));
            r.attrs
                .insert((res.id.clone(), "QueueName".to_owned()), json!(name));
        }
        let resolve =
            |v: &Value, what: &str| r.resolve(v).map_err(|e| invalid(format!("{what}: {e}")));
        // What a function's event sources invoke: its alias when it has one (SAM points
        // rules, routes, queues and schedules at `<id>Alias<alias>`), else its name.
        let invoked_as = |id: &str| {
            let name = r.refs.get(id).and_then(s).unwrap_or_default();
            match t.resource(id).and_then(|f| t.auto_publish_alias(&f)) {
                Some(a) => format!("{name}:{a}"),
                None => name,
            }
        };

        let mut functions = Vec::new();
        for f in t.of_kind("AWS::Serverless::Function") {
            let name = s(&r.refs[&f.id]).unwrap_or_default();
            let mut env = BTreeMap::new();
            for (k, v) in t.function_environment(&f) {
                env.insert(
                    k.clone(),
                    s(&resolve(&v, &format!("{} environment {k}", f.id))?).unwrap_or_default(),
                );
            }
            // A change to the catalogue shows within seconds here rather than the minute a
            // deployed function caches a store for (unless the template sets its own).
            if env.contains_key("STORES_TABLE") {
                env.entry("CATALOG_CACHE_TTL_SECONDS".to_owned())
                    .or_insert_with(|| LOCAL_CATALOG_CACHE_TTL_SECONDS.to_string());
                // And the cache's lookups and misses are reported every few seconds, so the
                // bench can read them from the logs soon after its orders have ended (each
                // report is log bytes the meter bills: at 1 s they added $0.33 per million
                // orders to the bench, at 10 s about $0.03).
                env.entry("CATALOG_METRICS_SECONDS".to_owned())
                    .or_insert_with(|| LOCAL_CATALOG_METRICS_SECONDS.to_string());
            }
            let prop = |name: &str| t.function_property(&f, name);
            let async_cfg = f
                .properties
                .get("EventInvokeConfig")
                .cloned()
                .unwrap_or(Value::Null);
            let on_failure = match async_cfg.pointer("/DestinationConfig/OnFailure/Destination") {
                Some(d) => {
                    let a = resolve(d, "OnFailure destination")?;
                    s(&a).map(|a| a.rsplit(':').next().unwrap_or_default().to_owned())
                }
                None => None,
            };
            functions.push(Function {
                logical_id: f.id.clone(),
                arn: arn("lambda", &format!("function:{name}")),
                binary: t
                    .function_binary(&f)
                    .ok_or_else(|| invalid(format!("{}: no CodeUri or Binary", f.id)))?,
                name,
                env,
                timeout_seconds: prop("Timeout").and_then(|v| v.as_u64()).unwrap_or(3),
                memory_mb: prop("MemorySize").and_then(|v| v.as_u64()).unwrap_or(128),
                log_level: prop("LoggingConfig").and_then(|l| {
                    l.get("ApplicationLogLevel")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }),
                log_format: prop("LoggingConfig").and_then(|l| {
                    l.get("LogFormat")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }),
                async_retries: async_cfg
                    .get("MaximumRetryAttempts")
                    .and_then(Value::as_u64)
                    .unwrap_or(2) as u32,
                on_failure,
                max_event_age_seconds: async_cfg
                    .get("MaximumEventAgeInSeconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(DEFAULT_MAX_EVENT_AGE_SECONDS),
                reserved_concurrency: prop("ReservedConcurrentExecutions")
                    .and_then(|v| v.as_u64())
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                alias: t.auto_publish_alias(&f),
            });
        }

        let mut tables = Vec::new();
        for tb in t.of_kind("AWS::DynamoDB::Table") {
            let name = s(&r.refs[&tb.id]).unwrap_or_default();
            let p = resolve(&tb.properties, &tb.id)?;
            let mut create = json!({
                "TableName": name,
                "AttributeDefinitions": p["AttributeDefinitions"],
                "KeySchema": p["KeySchema"],
                "BillingMode": "PAY_PER_REQUEST",
            });
            if let Some(gsi) = p.get("GlobalSecondaryIndexes") {
                create["GlobalSecondaryIndexes"] = gsi.clone();
            }
            let ttl = p
                .pointer("/TimeToLiveSpecification/AttributeName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            tables.push(Table {
                logical_id: tb.id.clone(),
                name,
                create,
                ttl_attribute: ttl,
            });
        }

        let buses: Vec<String> = t
            .of_kind("AWS::Events::EventBus")
            .iter()
            .map(|b| s(&r.refs[&b.id]).unwrap_or_default())
            .collect();
        let mut archives = Vec::new();
        for a in t.of_kind("AWS::Events::Archive") {
            let p = resolve(&a.properties, &a.id)?;
            let name = p["ArchiveName"].as_str().unwrap_or(&a.id).to_owned();
            let bus = p["SourceArn"]
                .as_str()
                .and_then(|arn| arn.rsplit_once("event-bus/"))
                .map(|(_, bus)| bus.to_owned())
                .ok_or_else(|| invalid(format!("{}: SourceArn is not a bus ARN", a.id)))?;
            archives.push((name, bus));
        }
        let queues: Vec<String> = t
            .of_kind("AWS::SQS::Queue")
            .iter()
            .map(|q| s(&r.attrs[&(q.id.clone(), "Name".to_owned())]).unwrap_or_default())
            .collect();
        let name_of_arn = |arn: &str| arn.rsplit(':').next().unwrap_or_default().to_owned();
        let mut queue_specs = Vec::new();
        for (q, name) in t.of_kind("AWS::SQS::Queue").iter().zip(&queues) {
            let p = resolve(&q.properties, &q.id)?;
            let seconds =
                |key: &str, default: u64| p.get(key).and_then(Value::as_u64).unwrap_or(default);
            let dead_letter = p.get("RedrivePolicy").and_then(|rp| {
                Some((
                    name_of_arn(rp.get("deadLetterTargetArn")?.as_str()?),
                    u32::try_from(rp.get("maxReceiveCount")?.as_u64()?).ok()?,
                ))
            });
            queue_specs.push(sqs_local::QueueSpec {
                name: name.clone(),
                visibility_timeout: std::time::Duration::from_secs(seconds(
                    "VisibilityTimeout",
                    30,
                )),
                retention: std::time::Duration::from_secs(seconds(
                    "MessageRetentionPeriod",
                    4 * 24 * 3600,
                )),
                dead_letter,
            });
        }
        let mut schedules = Vec::new();
        for schedule in t.schedules().into_iter().filter(|s| s.enabled) {
            let period = sam_template::rate_period(&schedule.expression).map_err(|e| {
                invalid(format!(
                    "{}'s schedule {}: {e} (the local cloud runs rate(...) schedules)",
                    schedule.function, schedule.name
                ))
            })?;
            schedules.push((
                invoked_as(&schedule.function),
                format!("{}{}", schedule.function, schedule.name),
                period,
            ));
        }
        let mut queue_triggers = Vec::new();
        for trigger in t.queue_triggers() {
            let queue = s(&resolve(&trigger.queue, &trigger.function)?)
                .map(|arn| name_of_arn(&arn))
                .ok_or_else(|| {
                    invalid(format!(
                        "{}: its SQS event names no queue",
                        trigger.function
                    ))
                })?;
            queue_triggers.push((
                invoked_as(&trigger.function),
                sqs_local::EventSourceMapping {
                    queue,
                    batch_size: trigger.batch_size,
                    // Lambda's default for a mapping without a ScalingConfig: as many pollers
                    // as the function's concurrency allows; here 5.
                    maximum_concurrency: trigger.maximum_concurrency.unwrap_or(5),
                    report_batch_item_failures: trigger.report_batch_item_failures,
                    idle_wait: std::time::Duration::from_millis(100),
                },
            ));
        }

        let mut rules = Vec::new();
        for rule in t.rules() {
            let pattern = Pattern::parse(&rule.pattern)
                .map_err(|e| invalid(format!("rule {}: {e}", rule.name)))?;
            let bus = s(&resolve(&rule.bus, &rule.name)?).unwrap_or_else(|| "default".to_owned());
            let target = match rule.target_kind.as_str() {
                "AWS::Serverless::StateMachine" => {
                    // A rule that names the machine's alias (its own AWS::Events::Rule, or
                    // SAM's with UseAliasAsEventTarget) starts the alias.
                    let machine = t.resource(&rule.target);
                    let prop = |name: &str| machine.as_ref().and_then(|m| m.properties.get(name));
                    let arn = s(&r.refs[&rule.target]).unwrap_or_default();
                    let sam_alias = match (
                        prop("AutoPublishAlias").and_then(s),
                        prop("UseAliasAsEventTarget"),
                    ) {
                        (Some(alias), Some(Value::Bool(true))) => Some(alias),
                        _ => None,
                    };
                    let arn = match rule.target_alias.clone().or(sam_alias) {
                        Some(alias) => format!("{arn}:{alias}"),
                        None => arn,
                    };
                    Target::StateMachine { arn }
                }
                "AWS::Serverless::Function" => Target::Function {
                    name: invoked_as(&rule.target),
                },
                other => {
                    return Err(invalid(format!(
                        "rule {}: targets of type {other} are not supported locally",
                        rule.name
                    )));
                }
            };
            let dead_letter = match rule.dead_letter.get("Arn") {
                Some(a) => s(&resolve(a, &rule.name)?)
                    .map(|a| a.rsplit(':').next().unwrap_or_default().to_owned()),
                None => None,
            };
            rules.push(Rule {
                arn: rule_arn(&bus, &rule.name.replace('/', "")),
                name: rule.name.clone(),
                bus,
                pattern,
                target,
                input: rule_input(&rule)
                    .map_err(|e| invalid(format!("rule {}: {e}", rule.name)))?,
                max_attempts: rule
                    .retry_policy
                    .get("MaximumRetryAttempts")
                    .and_then(Value::as_u64)
                    .unwrap_or(185) as u32,
                max_age_seconds: rule
                    .retry_policy
                    .get("MaximumEventAgeInSeconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(86_400),
                dead_letter,
            });
        }

        let mut state_machines = Vec::new();
        for sm in t.of_kind("AWS::Serverless::StateMachine") {
            let path = t
                .definition_path(&sm)
                .ok_or_else(|| invalid(format!("{}: no DefinitionUri", sm.id)))?;
            let mut text = std::fs::read_to_string(&path)
                .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
            if let Some(subs) = sm
                .properties
                .get("DefinitionSubstitutions")
                .and_then(Value::as_object)
            {
                for (k, v) in subs {
                    let value = s(&resolve(v, &format!("substitution {k}"))?).unwrap_or_default();
                    text = text.replace(&format!("${{{k}}}"), &value);
                }
            }
            let json: Value = serde_json::from_str(&text)
                .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
            let definition = Definition::from_value(&json)
                .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
            let name = s(&r.attrs[&(sm.id.clone(), "Name".to_owned())]).unwrap_or_default();
            let workflow_type = match sm.properties.get("Type").and_then(Value::as_str) {
                None | Some("STANDARD") => step_functions_local::WorkflowType::Standard,
                Some("EXPRESS") => step_functions_local::WorkflowType::Express,
                Some(other) => {
                    return Err(invalid(format!(
                        "{}: Type {other} is not STANDARD or EXPRESS",
                        sm.id
                    )));
                }
            };
            state_machines.push(StateMachine {
                arn: s(&r.refs[&sm.id]).unwrap_or_default(),
                name,
                definition,
                json,
                logical_id: sm.id.clone(),
                workflow_type,
                alias: t.auto_publish_alias(&sm),
            });
        }

        // Each route with its own API's throttling and id (SAM's implicit API: the first).
        let apis = t.of_kind("AWS::Serverless::HttpApi");
        // A route's throttle: its own `RouteSettings` entry (by route key, `POST /path`), else
        // the stage's `DefaultRouteSettings`, each limit separately as API Gateway reads them.
        let api_settings = |logical: Option<&str>, route_key: &str| {
            let api = match logical {
                Some(id) => apis.iter().find(|a| a.id == id),
                None => apis.first(),
            };
            let throttle = api.and_then(|api| {
                let p = r.resolve(&api.properties).ok()?;
                let limit = |name: &str| {
                    p.get("RouteSettings")
                        .and_then(|rs| rs.get(route_key))
                        .and_then(|rs| rs.get(name))
                        .or_else(|| p.pointer(&format!("/DefaultRouteSettings/{name}")))
                        .and_then(Value::as_f64)
                };
                Some((
                    limit("ThrottlingRateLimit")?,
                    limit("ThrottlingBurstLimit")?,
                ))
            });
            let api_id = api
                .and_then(|api| r.refs.get(&api.id).and_then(s))
                .unwrap_or_else(|| "local-api".to_owned());
            (throttle, api_id)
        };
        let mut routes = Vec::new();
        for route in t.routes() {
            let (throttle, api_id) = api_settings(
                route.api.as_deref(),
                &format!("{} {}", route.method, route.path),
            );
            let authorization = match route.authorizer.as_deref() {
                None => RouteAuthorization::None,
                Some("AWS_IAM") => RouteAuthorization::Iam,
                Some(other) => {
                    return Err(invalid(format!(
                        "route {} {} uses authorizer {other:?}: the local cloud checks AWS_IAM (SigV4) routes only, and would not let a route through unchecked",
                        route.method, route.path
                    )));
                }
            };
            routes.push(Route {
                method: route.method,
                path: route.path,
                function: invoked_as(&route.function),
                throttle,
                source_arn_prefix: arn("execute-api", &format!("{api_id}/$default")),
                api_id,
                authorization,
            });
        }

        Ok(Self {
            functions,
            tables,
            buses,
            archives,
            rules,
            state_machines,
            routes,
            queues,
            queue_specs,
            queue_triggers,
            schedules,
            resolver: r,
        })
    }

    /// A function by name.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// A function by binary name.
    pub fn function_by_binary(&self, binary: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.binary == binary)
    }

    /// A table by logical id.
    pub fn table(&self, logical_id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }
}

#[cfg(test)]
pub(crate) mod tests;
