//! IAM, enforced: every call a function, the workflow, a rule or the HTTP API makes is
//! authorised against the permissions the deployed stack would have, and refused with
//! `AccessDeniedException` worded as AWS words it.
//!
//! The permissions are not re-derived here: the local cloud runs AWS's own SAM translator
//! (`scripts/sam_transform.py`, from the `aws-sam-translator` that `make setup` installs) over
//! the template and reads what it generates: one role per function and state machine with the
//! template's `Policies` expanded from SAM's policy templates, the roles SAM gives rule targets,
//! `AWS::Lambda::Permission` resources, and the template's queue policies; intrinsics are then
//! resolved to the local names. A statement, managed policy or trust policy the evaluator does
//! not understand stops the cloud at start, named; nothing is allowed by default.
//!
//! Callers are told apart by their access key id (the `Credential=` of the SigV4
//! `Authorization` header): each function's processes get their role's key, as Lambda gives a
//! function its role's session credentials. A key the local cloud did not issue is the
//! developer's own (the AWS CLI, tests): it acts as the account's administrator.

pub mod policy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::http::HeaderMap;
use sam_template::Resolver;
use serde_json::{Value, json};

use crate::app::{ACCOUNT, REGION};
pub use policy::{Caller, Decision, PolicyError, Statement};

/// Why the template's IAM could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// The SAM translator could not be run.
    #[error("running the SAM translator ({command}): {why}")]
    Transform {
        /// What was run.
        command: String,
        /// Why it failed.
        why: String,
    },
    /// A policy the evaluator does not understand.
    #[error("IAM: {0}")]
    Policy(#[from] PolicyError),
    /// Something else in the generated template.
    #[error("IAM: {0}")]
    Invalid(String),
}

/// A role and what its policies say.
#[derive(Debug, Clone)]
pub struct Role {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Every statement of its inline and managed policies.
    pub statements: Vec<Statement>,
    /// The services its trust policy lets assume it.
    pub trusted: Vec<String>,
}

/// The managed policies SAM attaches, with the statements AWS publishes for them (AWS Managed
/// Policy Reference Guide: AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess,
/// AWSLambdaSQSQueueExecutionRole for a function with an SQS event source, and
/// AWSCodeDeployRoleForLambda for CodeDeploy's role when a function has a
/// DeploymentPreference). Any other managed policy stops the cloud at start.
fn managed_policy(arn: &str) -> Option<Value> {
    let actions: &[&str] = match arn.rsplit('/').next()? {
        "AWSLambdaBasicExecutionRole" => &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        "AWSXrayWriteOnlyAccess" => &[
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:GetSamplingStatisticSummaries",
        ],
        // What SAM attaches to a function with an SQS event source, for its pollers.
        "AWSLambdaSQSQueueExecutionRole" => &[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        // What SAM gives CodeDeploy for a function's DeploymentPreference: reading alarms,
        // moving aliases, notifying, and invoking hooks named CodeDeployHook_*. (AWS's policy
        // also reads S3 objects tagged for CodeDeploy, under a condition key the local cloud
        // does not evaluate; nothing local is in S3, so that statement is left out.)
        "AWSCodeDeployRoleForLambda" => {
            return arn.starts_with("arn:aws:iam::aws:policy/").then(|| {
                json!({ "Version": "2012-10-17", "Statement": [
                    { "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms", "lambda:UpdateAlias", "lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "sns:Publish"], "Resource": "*" },
                    { "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::*/CodeDeploy/*" },
                    { "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:*:function:CodeDeployHook_*" },
                ]})
            });
        }
        _ => return None,
    };
    arn.starts_with("arn:aws:iam::aws:policy/")
        .then(|| json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }] }))
}

/// An access denial, worded as AWS words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AccessDenied {
    /// `User: <arn> is not authorized to perform: <action> on resource: <arn> because …`.
    pub message: String,
}

/// Who is calling a service endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A role session the local cloud issued credentials for.
    Caller(Caller),
    /// Credentials the local cloud did not issue: the developer's own, the account's admin.
    Administrator,
}

/// The `AWS::IAM::Role` properties the evaluator reads or that cannot change a decision;
/// any other (a `PermissionsBoundary`, for one) stops the cloud rather than be ignored.
const ROLE_PROPERTIES: [&str; 7] = [
    "AssumeRolePolicyDocument",
    "Policies",
    "ManagedPolicyArns",
    "Tags",
    "Description",
    "Path",
    "MaxSessionDuration",
];

/// Resources that grant or limit permissions in ways the evaluator does not read: a template
/// with one stops the cloud with the resource named, since ignoring it would allow or refuse
/// differently from AWS.
const UNSUPPORTED_POLICY_RESOURCES: [&str; 9] = [
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::Events::EventBusPolicy",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::Lambda::Url",
    "AWS::DynamoDB::ResourcePolicy",
];

/// The account's IAM as the template defines it.
#[derive(Debug, Default)]
pub struct Iam {
    roles: BTreeMap<String, Role>,
    /// The roles' statements as a deployed release defines them, by role ARN: a stack
    /// update's new policies ([`Iam::deploy_policies`]), evaluated instead of `roles`'.
    deployed: std::sync::RwLock<BTreeMap<String, Vec<Statement>>>,
    function_roles: BTreeMap<String, String>,
    state_machine_roles: BTreeMap<String, String>,
    rule_roles: BTreeMap<String, String>,
    /// Each rule's targets that run with a role: (rule ARN, role ARN, target ARN).
    rule_targets: Vec<(String, String, String)>,
    resource_policies: BTreeMap<String, Vec<Statement>>,
    /// Each AWS KMS key's key policy, by key ARN.
    key_policies: BTreeMap<String, Vec<Statement>>,
    /// The customer managed key of each table encrypted with one: table ARN → key ARN.
    table_keys: BTreeMap<String, String>,
    keys: BTreeMap<String, Caller>,
    function_keys: BTreeMap<String, String>,
    enforce: bool,
}

/// The ARN of a role.
pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn session(role: &Role, session: &str) -> Caller {
    Caller::Role {
        role_arn: role.arn.clone(),
        session_arn: format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/{}/{session}",
            role.name
        ),
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Runs the SAM translator over `template` (cached in `cache_dir` by the template's and the
/// definitions' contents) and returns the CloudFormation it generates.
pub fn transform(root: &Path, template: &Path, cache_dir: &Path) -> Result<Value, IamError> {
    let python = root.join(".venv/bin/python");
    let script = root.join("scripts/sam_transform.py");
    let command = format!("{} {}", python.display(), script.display());
    let fail = |why: String| IamError::Transform {
        command: command.clone(),
        why,
    };
    if !python.is_file() {
        return Err(fail(
            "the project's Python tools are not installed: run `make setup`".to_owned(),
        ));
    }
    // The cache key: the template, every file next to it it may inline, and the script.
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut feed = |p: &Path| {
        if let Ok(bytes) = std::fs::read(p) {
            sha2::Digest::update(&mut hasher, p.to_string_lossy().as_bytes());
            sha2::Digest::update(&mut hasher, &bytes);
        }
    };
    feed(template);
    feed(&script);
    let dir = template.parent().unwrap_or(Path::new("."));
    for sub in ["../statemachines", "statemachines"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            files.iter().for_each(|f| feed(f));
        }
    }
    let digest = hex::encode(sha2::Digest::finalize(hasher));
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| fail(format!("{}: {e}", cache_dir.display())))?;
    let out = cache_dir.join(format!("template.cfn.{}.json", &digest[..16]));
    if !out.is_file() {
        // Written aside and renamed, so clouds starting at once never read a partial file.
        let partial = out.with_extension(format!(
            "{}.{}.partial",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let run = std::process::Command::new(&python)
            .arg(&script)
            .arg(template)
            .arg(&partial)
            .env("SAM_CLI_TELEMETRY", "0")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .map_err(|e| fail(e.to_string()))?;
        if !run.status.success() {
            return Err(fail(String::from_utf8_lossy(&run.stderr).trim().to_owned()));
        }
        std::fs::rename(&partial, &out).map_err(|e| fail(e.to_string()))?;
    }
    let text = std::fs::read_to_string(&out).map_err(|e| fail(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| fail(format!("{}: {e}", out.display())))
}

impl Iam {
    /// No enforcement: every call is allowed (`--no-iam`).
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Reads the roles, permissions and resource policies from `cfn` (the SAM translator's
    /// output for the template), resolving intrinsics with `base` (what the SAM template's
    /// logical ids stand for locally). `stack` prefixes the roles' names.
    pub fn load(cfn: &Value, base: &Resolver, stack: &str) -> Result<Self, IamError> {
        let resources = cfn
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or_else(|| IamError::Invalid("the generated template has no Resources".into()))?;
        let kind = |id: &str| {
            resources
                .get(id)
                .and_then(|r| r.get("Type"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        // What the generated resources stand for: roles and rules get local names and ARNs.
        let mut r = base.clone();
        for (id, res) in resources {
            match kind(id).as_str() {
                "AWS::IAM::Role" => {
                    let name = format!("{stack}-{id}");
                    r.attrs
                        .insert((id.clone(), "Arn".into()), json!(role_arn(&name)));
                    r.refs.insert(id.clone(), json!(name));
                }
                // SAM's published version of a function (`<Function>Version<hash>`): `Ref`
                // is the version's ARN, as the SAM template's `<Function>.Version` is.
                "AWS::Lambda::Version" => {
                    let function = res
                        .pointer("/Properties/FunctionName/Ref")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if let Some(arn) = base.refs.get(&format!("{function}.Version")) {
                        r.refs.insert(id.clone(), arn.clone());
                    }
                }
                "AWS::Events::Rule" => {
                    let bus = match res.pointer("/Properties/EventBusName") {
                        Some(b) => r.resolve(b).ok().and_then(|b| text(&b)).unwrap_or_default(),
                        None => "default".to_owned(),
                    };
                    r.attrs.insert(
                        (id.clone(), "Arn".into()),
                        json!(crate::app::rule_arn(&bus, id)),
                    );
                    r.refs.insert(id.clone(), json!(id));
                }
                _ => {}
            }
        }
        let resolve = |v: &Value, what: &str| {
            r.resolve(v)
                .map_err(|e| IamError::Invalid(format!("{what}: {e}")))
        };

        let mut iam = Iam {
            enforce: true,
            ..Default::default()
        };
        for (id, res) in resources {
            let props = res.get("Properties").cloned().unwrap_or(Value::Null);
            match kind(id).as_str() {
                "AWS::IAM::Role" => {
                    let p = resolve(&props, id)?;
                    if let Some(unknown) = p
                        .as_object()
                        .into_iter()
                        .flat_map(|o| o.keys())
                        .find(|k| !ROLE_PROPERTIES.contains(&k.as_str()))
                    {
                        return Err(IamError::Invalid(format!(
                            "role {id}: property {unknown} is not understood by the local evaluator (a PermissionsBoundary, for one, would narrow what AWS allows)"
                        )));
                    }
                    let name = format!("{stack}-{id}");
                    let mut statements = Vec::new();
                    for policy in p["Policies"].as_array().into_iter().flatten() {
                        let label = format!(
                            "role {id} policy {}",
                            policy["PolicyName"].as_str().unwrap_or("?")
                        );
                        statements
                            .extend(policy::parse_document(&policy["PolicyDocument"], &label)?);
                    }
                    for arn in p["ManagedPolicyArns"].as_array().into_iter().flatten() {
                        let arn = arn.as_str().unwrap_or_default();
                        let doc = managed_policy(arn).ok_or_else(|| {
                            IamError::Invalid(format!(
                                "role {id}: managed policy {arn} is not known to the local evaluator"
                            ))
                        })?;
                        statements
                            .extend(policy::parse_document(&doc, &format!("role {id} {arn}"))?);
                    }
                    let mut trusted = Vec::new();
                    for s in policy::parse_document(
                        &p["AssumeRolePolicyDocument"],
                        &format!("role {id} trust policy"),
                    )? {
                        if let Some(pr) = s.principal.filter(|_| s.effect == policy::Effect::Allow)
                        {
                            trusted.extend(pr.services);
                        }
                    }
                    let arn = role_arn(&name);
                    iam.roles.insert(
                        arn.clone(),
                        Role {
                            name,
                            arn,
                            statements,
                            trusted,
                        },
                    );
                }
                "AWS::Lambda::Permission" => {
                    let p = resolve(&props, id)?;
                    iam.add_lambda_permission(id, &p)?;
                }
                "AWS::SQS::QueuePolicy" => {
                    let p = resolve(&props, id)?;
                    let statements = policy::parse_document(
                        &p["PolicyDocument"],
                        &format!("queue policy {id}"),
                    )?;
                    for q in p["Queues"].as_array().into_iter().flatten() {
                        let url = q.as_str().unwrap_or_default();
                        let name = url.rsplit('/').next().unwrap_or_default();
                        iam.resource_policies
                            .entry(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
                            .or_default()
                            .extend(statements.iter().cloned());
                    }
                }
                "AWS::KMS::Key" => {
                    let p = resolve(&props, id)?;
                    let arn = r
                        .attrs
                        .get(&(id.clone(), "Arn".to_owned()))
                        .and_then(text)
                        .ok_or_else(|| IamError::Invalid(format!("{id}: the key has no ARN")))?;
                    let statements =
                        policy::parse_document(&p["KeyPolicy"], &format!("key policy {id}"))?;
                    iam.key_policies.insert(arn, statements);
                }
                "AWS::DynamoDB::Table" => {
                    let p = resolve(&props, id)?;
                    if let Some(key) = p.pointer("/SSESpecification/KMSMasterKeyId") {
                        let key = text(key).unwrap_or_default();
                        let arn = if key.starts_with("arn:") {
                            key
                        } else if key.starts_with("alias/") {
                            return Err(IamError::Invalid(format!(
                                "{id}: KMSMasterKeyId {key} is an alias; name the key by its id or ARN, whose policy the local cloud evaluates"
                            )));
                        } else {
                            format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}")
                        };
                        let table = p["TableName"].as_str().unwrap_or(id);
                        iam.table_keys.insert(
                            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"),
                            arn,
                        );
                    }
                }
                other if UNSUPPORTED_POLICY_RESOURCES.contains(&other) => {
                    return Err(IamError::Invalid(format!(
                        "{id}: {other} carries permissions the local evaluator does not read; it would decide differently from AWS"
                    )));
                }
                _ => {}
            }
        }
        // A table's key must be one the template defines: a key elsewhere has a policy the
        // local cloud cannot read, and IAM alone would allow what that policy may not.
        if let Some((table, key)) = iam
            .table_keys
            .iter()
            .find(|(_, key)| !iam.key_policies.contains_key(*key))
        {
            return Err(IamError::Invalid(format!(
                "{table} is encrypted with {key}, a key the template does not define: its key policy cannot be evaluated here"
            )));
        }
        // Which role each function, state machine and rule target runs with.
        for (id, res) in resources {
            let props = res.get("Properties").cloned().unwrap_or(Value::Null);
            match kind(id).as_str() {
                "AWS::Lambda::Function" => {
                    let role =
                        iam.role_of(id, &resolve(&props["Role"], id)?, "lambda.amazonaws.com")?;
                    let name = base.refs.get(id).and_then(text).unwrap_or_default();
                    iam.function_roles.insert(name, role);
                }
                "AWS::StepFunctions::StateMachine" => {
                    let role =
                        iam.role_of(id, &resolve(&props["RoleArn"], id)?, "states.amazonaws.com")?;
                    let arn = base.refs.get(id).and_then(text).unwrap_or_default();
                    iam.state_machine_roles.insert(arn, role);
                }
                "AWS::Events::Rule" => {
                    let rule = r
                        .attrs
                        .get(&(id.clone(), "Arn".to_owned()))
                        .and_then(text)
                        .unwrap_or_default();
                    for t in props["Targets"].as_array().into_iter().flatten() {
                        if let Some(role) = t.get("RoleArn") {
                            let role =
                                iam.role_of(id, &resolve(role, id)?, "events.amazonaws.com")?;
                            let target = text(&resolve(&t["Arn"], id)?).unwrap_or_default();
                            iam.rule_targets.push((rule.clone(), role.clone(), target));
                            iam.rule_roles.insert(rule.clone(), role);
                        }
                    }
                }
                _ => {}
            }
        }
        // One access key per function, as Lambda hands each its role's session credentials.
        let functions: Vec<(String, String)> = iam
            .function_roles
            .iter()
            .map(|(f, r)| (f.clone(), r.clone()))
            .collect();
        for (i, (function, role)) in functions.iter().enumerate() {
            let key = format!("ASIALOCAL{:011}", i + 1);
            let caller = session(&iam.roles[role], function);
            iam.keys.insert(key.clone(), caller);
            iam.function_keys.insert(function.clone(), key);
        }
        Ok(iam)
    }

    fn role_of(&self, id: &str, arn: &Value, service: &str) -> Result<String, IamError> {
        let arn = text(arn).unwrap_or_default();
        let role = self.roles.get(&arn).ok_or_else(|| {
            IamError::Invalid(format!("{id}: its role {arn} is not in the template"))
        })?;
        if !role.trusted.iter().any(|s| s == service) {
            return Err(IamError::Invalid(format!(
                "{id}: role {} does not trust {service} to assume it",
                role.name
            )));
        }
        Ok(arn)
    }

    fn add_lambda_permission(&mut self, id: &str, p: &Value) -> Result<(), IamError> {
        for k in p.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !matches!(
                k.as_str(),
                "Action" | "FunctionName" | "Principal" | "SourceArn" | "SourceAccount"
            ) {
                return Err(IamError::Invalid(format!(
                    "{id}: Lambda permission property {k} is not understood by the local evaluator"
                )));
            }
        }
        let function = text(&p["FunctionName"]).unwrap_or_default();
        let function_arn = if function.starts_with("arn:") {
            function
        } else {
            format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}")
        };
        let mut condition = serde_json::Map::new();
        if let Some(source) = p.get("SourceArn") {
            condition.insert("ArnLike".into(), json!({ "aws:SourceArn": source }));
        }
        if let Some(account) = p.get("SourceAccount") {
            condition.insert(
                "StringEquals".into(),
                json!({ "aws:SourceAccount": account }),
            );
        }
        let principal = text(&p["Principal"]).unwrap_or_default();
        let principal = if principal.ends_with(".amazonaws.com") {
            json!({ "Service": principal })
        } else {
            json!({ "AWS": principal })
        };
        let doc = json!({ "Version": "2012-10-17", "Statement": [{
            "Sid": id, "Effect": "Allow", "Principal": principal, "Action": p["Action"],
            "Resource": function_arn, "Condition": condition,
        }]});
        let statements = policy::parse_document(&doc, &format!("function policy {id}"))?;
        self.resource_policies
            .entry(function_arn)
            .or_default()
            .extend(statements);
        Ok(())
    }

    /// Whether calls are checked.
    pub fn enforced(&self) -> bool {
        self.enforce
    }

    /// The access key a function's processes get (`AWS_ACCESS_KEY_ID`).
    pub fn function_key(&self, function: &str) -> Option<&str> {
        self.function_keys.get(function).map(String::as_str)
    }

    /// The role session a function's calls are made with.
    pub fn function_caller(&self, function: &str) -> Option<Caller> {
        self.function_key(function)
            .and_then(|k| self.keys.get(k))
            .cloned()
    }

    /// The role session a state machine's Task states call services with.
    pub fn state_machine_caller(&self, arn: &str) -> Option<Caller> {
        let role = self.roles.get(self.state_machine_roles.get(arn)?)?;
        Some(session(role, arn.rsplit(':').next().unwrap_or("execution")))
    }

    /// The role session a rule's target is reached with.
    pub fn rule_caller(&self, rule_arn: &str) -> Option<Caller> {
        let role = self.roles.get(self.rule_roles.get(rule_arn)?)?;
        Some(session(role, "events"))
    }

    /// Whether the local cloud issued access key `key` (to a function's processes).
    pub fn issued(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// The caller of an AWS API request, from its SigV4 `Authorization` header.
    pub fn identify(&self, headers: &HeaderMap) -> Identity {
        let key = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next());
        match key.and_then(|k| self.keys.get(k)) {
            Some(c) => Identity::Caller(c.clone()),
            None => Identity::Administrator,
        }
    }

    /// Authorises `action` on `resource` for `identity`.
    pub fn authorize_identity(
        &self,
        identity: &Identity,
        action: &str,
        resource: &str,
    ) -> Result<(), AccessDenied> {
        self.authorize_identity_in(identity, action, resource, &[])
    }

    /// [`Self::authorize_identity`] with the request's condition keys.
    pub fn authorize_identity_in(
        &self,
        identity: &Identity,
        action: &str,
        resource: &str,
        context: &[(&'static str, String)],
    ) -> Result<(), AccessDenied> {
        match identity {
            Identity::Administrator => Ok(()),
            Identity::Caller(c) => {
                self.authorize(c, action, resource, context.iter().cloned().collect())
            }
        }
    }

    /// Authorises one request: the caller's role policies (a role session) and the resource's
    /// policy, with `context`'s condition keys (plus `aws:PrincipalArn` for a role).
    pub fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        mut context: BTreeMap<&'static str, String>,
    ) -> Result<(), AccessDenied> {
        if !self.enforce {
            return Ok(());
        }
        // Step Functions authorises a call on a version or an alias by the state machine's own
        // ARN, with the qualifier as `states:StateMachineQualifier` (the Step Functions
        // Developer Guide, "Authorization for versions and aliases"): a policy that names the
        // alias's ARN grants nothing.
        let resource = match step_functions_local::split_qualifier(resource) {
            (machine, Some(qualifier))
                if action.starts_with("states:") && machine.contains(":stateMachine:") =>
            {
                context.insert("states:StateMachineQualifier", qualifier.to_owned());
                machine
            }
            _ => resource,
        };
        let deployed = self.deployed.read().unwrap_or_else(|e| e.into_inner());
        let identity: Vec<&Statement> = match caller {
            Caller::Role { role_arn, .. } => {
                context.insert("aws:PrincipalArn", role_arn.clone());
                match deployed.get(role_arn) {
                    Some(statements) => statements.iter().collect(),
                    None => self
                        .roles
                        .get(role_arn)
                        .map(|r| r.statements.iter().collect())
                        .unwrap_or_default(),
                }
            }
            Caller::Service(_) => Vec::new(),
        };
        let request = policy::Request {
            caller,
            action,
            resource,
            context,
        };
        let decision = match self.key_policies.get(resource) {
            Some(key_policy) => policy::evaluate_key(&identity, key_policy, &request),
            None => {
                let resource_policy = self
                    .resource_policies
                    .get(resource)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                policy::evaluate(&identity, resource_policy, &request)
            }
        };
        let why = match decision {
            Decision::Allow => return Ok(()),
            Decision::ExplicitDeny => {
                "with an explicit deny in an identity-based policy".to_owned()
            }
            Decision::ImplicitDeny => match caller {
                Caller::Role { .. } => {
                    format!("because no identity-based policy allows the {action} action")
                }
                Caller::Service(_) => {
                    format!("because no resource-based policy allows the {action} action")
                }
            },
        };
        Err(AccessDenied {
            message: format!(
                "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
                caller.arn()
            ),
        })
    }

    /// The customer managed AWS KMS key (its ARN) the table of ARN `table` is encrypted with,
    /// if the template gives it one: DynamoDB uses that key on each caller's behalf.
    pub fn table_key(&self, table: &str) -> Option<&str> {
        let table = table.split("/index/").next().unwrap_or(table);
        self.table_keys.get(table).map(String::as_str)
    }

    /// Puts the policies of `release` (the same template's IAM, as a release defines it) in
    /// place of the roles' current ones, as a stack update does before it publishes the new
    /// versions, and answers the policies it replaced, for [`Iam::restore_policies`] on a
    /// rollback. `Err` names a role the release adds or lacks (that is more than a deploy).
    pub fn deploy_policies(
        &self,
        release: &Iam,
    ) -> Result<BTreeMap<String, Vec<Statement>>, String> {
        let names = |iam: &Iam| iam.roles.keys().cloned().collect::<Vec<_>>();
        if names(self) != names(release) {
            return Err(format!(
                "the release's roles differ from the running ones ({:?} → {:?})",
                names(self),
                names(release)
            ));
        }
        let new = release
            .roles
            .iter()
            .map(|(arn, r)| (arn.clone(), r.statements.clone()))
            .collect();
        let mut deployed = self.deployed.write().unwrap_or_else(|e| e.into_inner());
        Ok(std::mem::replace(&mut *deployed, new))
    }

    /// The policies [`Iam::deploy_policies`] answered, back in place.
    pub fn restore_policies(&self, previous: BTreeMap<String, Vec<Statement>>) {
        *self.deployed.write().unwrap_or_else(|e| e.into_inner()) = previous;
    }

    /// Every statement that grants something to a role (for the contract tests and `iam` CLI).
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(arn)
    }

    /// Every role the template defines, by ARN.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.roles.values()
    }

    /// The targets rules invoke with a role: (rule ARN, role ARN, target ARN).
    pub fn rule_targets(&self) -> &[(String, String, String)] {
        &self.rule_targets
    }

    /// The role a function runs with.
    pub fn function_role(&self, function: &str) -> Option<&Role> {
        self.roles.get(self.function_roles.get(function)?)
    }

    /// The role a state machine runs with.
    pub fn state_machine_role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(self.state_machine_roles.get(arn)?)
    }
}

/// What a Step Functions optimized integration reports when the state machine's role is
/// denied: the service client's generic exception (the interpreter prefixes the service:
/// `Lambda.AWSLambdaException`, `DynamoDB.AmazonDynamoDBException`,
/// `EventBridge.AmazonEventBridgeException`), with the AWS SDK for Java's cause format, as
/// execution histories on AWS show it.
pub fn integration_denial(service: &str, denied: &AccessDenied) -> (String, String) {
    let (error, sdk_service, status) = match service {
        "lambda" => ("AWSLambdaException", "AWSLambda", 403),
        "dynamodb" => ("AmazonDynamoDBException", "AmazonDynamoDBv2", 400),
        _ => ("AmazonEventBridgeException", "AmazonEventBridge", 400),
    };
    (
        error.to_owned(),
        format!(
            "{} (Service: {sdk_service}; Status Code: {status}; Error Code: AccessDeniedException; Request ID: {}; Proxy: null)",
            denied.message,
            uuid::Uuid::new_v4()
        ),
    )
}

#[cfg(test)]
mod tests;

/// The local services ask IAM through this: the caller is the access key that signed the
/// request (an administrator when it is none of the stack's).
impl local_aws_core::Authorizer for Iam {
    fn authorize(
        &self,
        headers: &axum::http::HeaderMap,
        action: &str,
        resource: &str,
    ) -> Result<(), String> {
        self.authorize_identity(&self.identify(headers), action, resource)
            .map_err(|d| d.message)
    }

    fn authorize_in(
        &self,
        headers: &axum::http::HeaderMap,
        action: &str,
        resource: &str,
        context: &[(&'static str, String)],
    ) -> Result<(), String> {
        self.authorize_identity_in(&self.identify(headers), action, resource, context)
            .map_err(|d| d.message)
    }
}
