//! IAM policy documents: parsed strictly (an element, operator or condition key this evaluator
//! does not understand is refused with the statement named, never ignored) and evaluated as
//! AWS documents it (IAM User Guide, "Policy evaluation logic": an explicit deny wins, then
//! any allow, else the request is implicitly denied).
//!
//! Matching follows the IAM User Guide's policy-element reference: actions are matched case
//! insensitively with `*` and `?`; resources and ARNs case sensitively, component by component
//! (partition, service, region, account, resource; the resource part may hold `:` and `/`).

use std::collections::BTreeMap;

use serde_json::Value;

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: patterns, or their complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patterns {
    /// Matches any of these.
    AnyOf(Vec<String>),
    /// Matches anything but these.
    NoneOf(Vec<String>),
}

/// Who a resource-based statement applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    /// `"*"` or `{"AWS": "*"}`.
    pub anyone: bool,
    /// `{"Service": [...]}`.
    pub services: Vec<String>,
    /// `{"AWS": [...]}`: account ids, account root ARNs or role ARNs.
    pub aws: Vec<String>,
}

/// The condition operators this evaluator understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// Exact, case sensitive.
    StringEquals,
    /// Not `StringEquals`.
    StringNotEquals,
    /// `*` and `?`, case sensitive.
    StringLike,
    /// Not `StringLike`.
    StringNotLike,
    /// ARN match with wildcards per component (AWS: the same as `ArnLike`).
    ArnEquals,
    /// ARN match with wildcards per component.
    ArnLike,
    /// Not `ArnEquals`.
    ArnNotEquals,
    /// Not `ArnLike`.
    ArnNotLike,
}

impl Operator {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "StringEquals" => Self::StringEquals,
            "StringNotEquals" => Self::StringNotEquals,
            "StringLike" => Self::StringLike,
            "StringNotLike" => Self::StringNotLike,
            "ArnEquals" => Self::ArnEquals,
            "ArnLike" => Self::ArnLike,
            "ArnNotEquals" => Self::ArnNotEquals,
            "ArnNotLike" => Self::ArnNotLike,
            _ => return None,
        })
    }

    /// Whether the request's value satisfies the operator against the policy's values. A key
    /// absent from the request fails every positive operator and passes every negated one (IAM
    /// User Guide, "Condition operators": a missing key evaluates to false, negated: true).
    fn holds(self, actual: Option<&str>, values: &[String]) -> bool {
        let any =
            |f: &dyn Fn(&str, &str) -> bool| actual.is_some_and(|a| values.iter().any(|v| f(v, a)));
        match self {
            Self::StringEquals => any(&|v, a| v == a),
            Self::StringNotEquals => !any(&|v, a| v == a),
            Self::StringLike => any(&|v, a| glob(v, a, false)),
            Self::StringNotLike => !any(&|v, a| glob(v, a, false)),
            Self::ArnEquals | Self::ArnLike => any(&arn_like),
            Self::ArnNotEquals | Self::ArnNotLike => !any(&arn_like),
        }
    }
}

/// The condition keys the local cloud puts in a request's context: the global ones it knows
/// (`aws:SourceArn`, `aws:SourceAccount`, `aws:PrincipalArn`), EventBridge's `PutEvents`
/// keys, set per entry (the EventBridge User Guide, "Using IAM policy conditions in Amazon
/// EventBridge": `events:source`, `events:detail-type`), and the two AWS KMS keys of a call
/// DynamoDB makes on a caller's behalf to a table's customer managed key (the AWS KMS
/// Developer Guide, "Condition keys for AWS KMS": `kms:ViaService`, `kms:CallerAccount`), and
/// the version or alias a Step Functions call names (`states:StateMachineQualifier`: the Step
/// Functions Developer Guide, "Authorization for versions and aliases"). A policy that names
/// any other key is refused at load: a condition the local cloud cannot evaluate would pass
/// here and bind there.
pub const CONDITION_KEYS: [&str; 8] = [
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:PrincipalArn",
    "events:source",
    "events:detail-type",
    "kms:ViaService",
    "kms:CallerAccount",
    "states:StateMachineQualifier",
];

/// One condition: operator, key, values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The key (one of [`CONDITION_KEYS`]).
    pub key: String,
    /// The values (any may match).
    pub values: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Where it comes from, for messages: `<policy> statement <Sid or index>`.
    pub label: String,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Principal` (resource-based policies only).
    pub principal: Option<Principals>,
    /// `Action` or `NotAction`.
    pub actions: Patterns,
    /// `Resource` or `NotResource` (a resource-based statement may leave it out).
    pub resources: Option<Patterns>,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A role session (a function, a state machine, a rule target).
    Role {
        /// The role's ARN.
        role_arn: String,
        /// `arn:aws:sts::<account>:assumed-role/<role name>/<session>`.
        session_arn: String,
    },
    /// An AWS service principal such as `events.amazonaws.com`, acting for a resource.
    Service(String),
}

impl Caller {
    /// The ARN AWS names in an access-denied message.
    pub fn arn(&self) -> &str {
        match self {
            Caller::Role { session_arn, .. } => session_arn,
            Caller::Service(s) => s,
        }
    }
}

/// One request to authorise.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Who.
    pub caller: &'a Caller,
    /// `service:Operation`.
    pub action: &'a str,
    /// The resource's ARN (`*` for actions without resource-level permissions).
    pub resource: &'a str,
    /// Condition keys with their values for this request.
    pub context: BTreeMap<&'static str, String>,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An allow applies and no deny does.
    Allow,
    /// No statement allows it.
    ImplicitDeny,
    /// A deny statement applies.
    ExplicitDeny,
}

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{label}: {why}")]
pub struct PolicyError {
    /// The statement (or document).
    pub label: String,
    /// What the evaluator does not understand.
    pub why: String,
}

fn strings(v: &Value, label: &str, element: &str) -> Result<Vec<String>, PolicyError> {
    let err = |why: String| PolicyError {
        label: label.to_owned(),
        why,
    };
    let list = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| err(format!("{element} holds {i}, not a string")))
            })
            .collect::<Result<_, _>>()?,
        other => return Err(err(format!("{element} is {other}, not a string or list"))),
    };
    if let Some(v) = list.iter().find(|s| s.contains("${")) {
        return Err(err(format!(
            "{element} {v} uses a policy variable, which the local evaluator does not resolve"
        )));
    }
    Ok(list)
}

fn patterns(
    s: &serde_json::Map<String, Value>,
    yes: &str,
    no: &str,
    label: &str,
) -> Result<Option<Patterns>, PolicyError> {
    match (s.get(yes), s.get(no)) {
        (Some(v), None) => Ok(Some(Patterns::AnyOf(strings(v, label, yes)?))),
        (None, Some(v)) => Ok(Some(Patterns::NoneOf(strings(v, label, no)?))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(PolicyError {
            label: label.to_owned(),
            why: format!("has both {yes} and {no}"),
        }),
    }
}

fn principals(v: &Value, label: &str) -> Result<Principals, PolicyError> {
    let err = |why: String| PolicyError {
        label: label.to_owned(),
        why,
    };
    match v {
        Value::String(s) if s == "*" => Ok(Principals {
            anyone: true,
            ..Default::default()
        }),
        Value::Object(m) => {
            let mut p = Principals::default();
            for (kind, who) in m {
                let who = strings(who, label, "Principal")?;
                match kind.as_str() {
                    "Service" => p.services.extend(who),
                    "AWS" if who.iter().any(|w| w == "*") => p.anyone = true,
                    "AWS" => p.aws.extend(who),
                    other => {
                        return Err(err(format!(
                            "Principal type {other} is not understood here (Service and AWS are)"
                        )));
                    }
                }
            }
            Ok(p)
        }
        other => Err(err(format!("Principal {other} is not understood here"))),
    }
}

fn conditions(v: &Value, label: &str) -> Result<Vec<Condition>, PolicyError> {
    let err = |why: String| PolicyError {
        label: label.to_owned(),
        why,
    };
    let Value::Object(ops) = v else {
        return Err(err("Condition is not an object".to_owned()));
    };
    let mut out = Vec::new();
    for (op, keys) in ops {
        let operator = Operator::parse(op).ok_or_else(|| {
            err(format!(
                "condition operator {op} is not understood by the local evaluator"
            ))
        })?;
        let Value::Object(keys) = keys else {
            return Err(err(format!("{op} is not an object of keys")));
        };
        for (key, values) in keys {
            if !CONDITION_KEYS.contains(&key.as_str()) {
                return Err(err(format!(
                    "condition key {key} is not set by the local cloud (it sets {})",
                    CONDITION_KEYS.join(", ")
                )));
            }
            out.push(Condition {
                operator,
                key: key.clone(),
                values: strings(values, label, key)?,
            });
        }
    }
    Ok(out)
}

/// Parses a policy document's statements; `name` labels them in errors and denials.
pub fn parse_document(doc: &Value, name: &str) -> Result<Vec<Statement>, PolicyError> {
    let err = |why: String| PolicyError {
        label: name.to_owned(),
        why,
    };
    let Value::Object(d) = doc else {
        return Err(err("the policy document is not an object".to_owned()));
    };
    for k in d.keys() {
        if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
            return Err(err(format!("document element {k} is not understood here")));
        }
    }
    if let Some(v) = d.get("Version").filter(|v| *v != "2012-10-17") {
        return Err(err(format!(
            "Version {v} is not 2012-10-17 (the only version with today's semantics)"
        )));
    }
    let list = match d.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Err(err("it has no Statement".to_owned())),
    };
    list.iter()
        .enumerate()
        .map(|(i, s)| statement(s, name, i))
        .collect()
}

fn statement(v: &Value, policy: &str, index: usize) -> Result<Statement, PolicyError> {
    let sid = v.get("Sid").and_then(Value::as_str);
    let label = match sid {
        Some(sid) => format!("{policy} statement {sid}"),
        None => format!("{policy} statement {index}"),
    };
    let err = |why: String| PolicyError {
        label: label.clone(),
        why,
    };
    let Value::Object(s) = v else {
        return Err(err("the statement is not an object".to_owned()));
    };
    for k in s.keys() {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Principal"
                | "Condition"
        ) {
            return Err(err(format!(
                "element {k} is not understood by the local evaluator"
            )));
        }
    }
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(err(format!("Effect {other:?} is neither Allow nor Deny"))),
    };
    let actions = patterns(s, "Action", "NotAction", &label)?
        .ok_or_else(|| err("it has no Action or NotAction".to_owned()))?;
    Ok(Statement {
        principal: s
            .get("Principal")
            .map(|p| principals(p, &label))
            .transpose()?,
        actions,
        resources: patterns(s, "Resource", "NotResource", &label)?,
        conditions: s
            .get("Condition")
            .map(|c| conditions(c, &label))
            .transpose()?
            .unwrap_or_default(),
        effect,
        label,
    })
}

impl Statement {
    /// Whether the statement applies to the request (its effect aside). `resource_based`:
    /// the statement is in a resource's policy, so its `Principal` must name the caller.
    pub fn applies(&self, r: &Request<'_>, resource_based: bool) -> bool {
        let action = |p: &str| glob(p, r.action, true);
        let resource = |p: &str| p == "*" || arn_like(p, r.resource);
        let actions = match &self.actions {
            Patterns::AnyOf(ps) => ps.iter().any(|p| action(p)),
            Patterns::NoneOf(ps) => !ps.iter().any(|p| action(p)),
        };
        let resources = match &self.resources {
            Some(Patterns::AnyOf(ps)) => ps.iter().any(|p| resource(p)),
            Some(Patterns::NoneOf(ps)) => !ps.iter().any(|p| resource(p)),
            None => resource_based,
        };
        let principal = match (&self.principal, resource_based) {
            (_, false) => true,
            (None, true) => false,
            (Some(p), true) => p.names(r.caller),
        };
        actions
            && resources
            && principal
            && self.conditions.iter().all(|c| {
                c.operator
                    .holds(r.context.get(c.key.as_str()).map(String::as_str), &c.values)
            })
    }
}

impl Principals {
    /// Whether it names `caller` itself (anyone, or the role's ARN), not through its account:
    /// an AWS KMS key policy that names the account delegates to the account's IAM policies
    /// (the AWS KMS Developer Guide, "Default key policy": "Allows access to the AWS account
    /// and enables IAM policies") rather than granting by itself.
    pub fn names_directly(&self, caller: &Caller) -> bool {
        self.anyone
            || match caller {
                Caller::Service(s) => self.services.iter().any(|x| x == s),
                Caller::Role { role_arn, .. } => self.aws.iter().any(|a| a == role_arn),
            }
    }

    fn names(&self, caller: &Caller) -> bool {
        if self.anyone {
            return true;
        }
        match caller {
            Caller::Service(s) => self.services.iter().any(|x| x == s),
            Caller::Role { role_arn, .. } => self.aws.iter().any(|a| {
                a == role_arn
                    || role_arn.split(':').nth(4).is_some_and(|account| {
                        a == account || *a == format!("arn:aws:iam::{account}:root")
                    })
            }),
        }
    }
}

/// Evaluates a request against identity-based statements and a resource's statements.
pub fn evaluate(identity: &[&Statement], resource: &[Statement], r: &Request<'_>) -> Decision {
    let applying = identity
        .iter()
        .map(|s| (*s, false))
        .chain(resource.iter().map(|s| (s, true)))
        .filter(|(s, resource_based)| s.applies(r, *resource_based));
    let mut allowed = false;
    for (s, _) in applying {
        match s.effect {
            Effect::Deny => return Decision::ExplicitDeny,
            Effect::Allow => allowed = true,
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Evaluates a request on an AWS KMS key (the AWS KMS Developer Guide, "Determining access
/// to an AWS KMS key"): the key policy is the key's primary access control, so nothing is
/// allowed unless it applies. A key policy statement that names the caller allows by itself;
/// one that names only the caller's account delegates to the identity-based policies, which
/// must then allow too. An explicit deny in either wins.
pub fn evaluate_key(
    identity: &[&Statement],
    key_policy: &[Statement],
    r: &Request<'_>,
) -> Decision {
    let key: Vec<&Statement> = key_policy.iter().filter(|s| s.applies(r, true)).collect();
    let own: Vec<&Statement> = identity
        .iter()
        .copied()
        .filter(|s| s.applies(r, false))
        .collect();
    if key.iter().chain(&own).any(|s| s.effect == Effect::Deny) {
        return Decision::ExplicitDeny;
    }
    let direct = key.iter().any(|s| {
        s.principal
            .as_ref()
            .is_some_and(|p| p.names_directly(r.caller))
    });
    if direct || (!key.is_empty() && !own.is_empty()) {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// `*` (any run) and `?` (any one character) matching of `text` against `pattern`.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| {
        if ignore_case {
            s.to_ascii_lowercase().chars().collect::<Vec<_>>()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    // Iterative matching with one backtrack point (the last `*`).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `ArnLike`: the six components (`arn`, partition, service, region, account, resource) each
/// matched with wildcards; the resource component keeps its own `:` and `/`.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() != 6 || a.len() != 6 {
        return glob(pattern, arn, false);
    }
    p.iter().zip(&a).all(|(p, a)| glob(p, a, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role() -> Caller {
        Caller::Role {
            role_arn: "arn:aws:iam::000000000000:role/f-role".into(),
            session_arn: "arn:aws:sts::000000000000:assumed-role/f-role/f".into(),
        }
    }

    fn req<'a>(caller: &'a Caller, action: &'a str, resource: &'a str) -> Request<'a> {
        Request {
            caller,
            action,
            resource,
            context: BTreeMap::new(),
        }
    }

    fn decide(doc: Value, action: &str, resource: &str) -> Decision {
        let statements = parse_document(&doc, "p").unwrap();
        let refs: Vec<&Statement> = statements.iter().collect();
        let caller = role();
        evaluate(&refs, &[], &req(&caller, action, resource))
    }

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/orders";

    #[test]
    fn an_action_is_allowed_only_on_the_resources_a_statement_names() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [TABLE, format!("{TABLE}/index/*")]}]});
        assert_eq!(
            decide(doc.clone(), "dynamodb:PutItem", TABLE),
            Decision::Allow
        );
        assert_eq!(
            decide(
                doc.clone(),
                "dynamodb:PutItem",
                &format!("{TABLE}/index/byStore")
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(doc.clone(), "dynamodb:DeleteItem", TABLE),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(doc, "dynamodb:PutItem", &format!("{TABLE}-held")),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn actions_match_without_case_and_with_wildcards() {
        let doc =
            json!({"Statement": {"Effect": "Allow", "Action": "DynamoDB:*Item", "Resource": "*"}});
        assert_eq!(
            decide(doc.clone(), "dynamodb:GetItem", TABLE),
            Decision::Allow
        );
        assert_eq!(decide(doc, "dynamodb:Query", TABLE), Decision::ImplicitDeny);
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}
        ]});
        assert_eq!(
            decide(doc.clone(), "dynamodb:DeleteItem", TABLE),
            Decision::ExplicitDeny
        );
        assert_eq!(decide(doc, "dynamodb:PutItem", TABLE), Decision::Allow);
    }

    #[test]
    fn not_action_and_not_resource_are_complements() {
        let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "NotResource": format!("{TABLE}-held")}]});
        assert_eq!(
            decide(doc.clone(), "dynamodb:PutItem", TABLE),
            Decision::Allow
        );
        assert_eq!(
            decide(doc.clone(), "dynamodb:DeleteItem", TABLE),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(doc, "dynamodb:PutItem", &format!("{TABLE}-held")),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn a_function_arn_with_a_trailing_wildcard_covers_its_versions_and_aliases() {
        // SAM's LambdaInvokePolicy: function:<name>*.
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f*"}]});
        for arn in ["function:f", "function:f:live", "function:f:3"] {
            let arn = format!("arn:aws:lambda:us-east-1:000000000000:{arn}");
            assert_eq!(
                decide(doc.clone(), "lambda:InvokeFunction", &arn),
                Decision::Allow,
                "{arn}"
            );
        }
        assert_eq!(
            decide(
                doc,
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-2:000000000000:function:f"
            ),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn a_resource_policy_applies_to_the_principal_it_names_when_its_condition_holds() {
        // The template's dead-letter queue policy: EventBridge, from the bus's rules only.
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "EventBridgeRulesDeadLetters", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:000000000000:dlq", "Condition": {"ArnEquals": {"aws:SourceArn": ["arn:aws:events:us-east-1:000000000000:rule/orders/*"]}}}]});
        let statements = parse_document(&doc, "queue policy").unwrap();
        let events = Caller::Service("events.amazonaws.com".into());
        let queue = "arn:aws:sqs:us-east-1:000000000000:dlq";
        let mut r = req(&events, "sqs:SendMessage", queue);
        assert_eq!(
            evaluate(&[], &statements, &r),
            Decision::ImplicitDeny,
            "no source"
        );
        r.context.insert(
            "aws:SourceArn",
            "arn:aws:events:us-east-1:000000000000:rule/orders/OrderWorkflowOrderReceived".into(),
        );
        assert_eq!(evaluate(&[], &statements, &r), Decision::Allow);
        r.context.insert(
            "aws:SourceArn",
            "arn:aws:events:us-east-1:000000000000:rule/other-bus/R".into(),
        );
        assert_eq!(
            evaluate(&[], &statements, &r),
            Decision::ImplicitDeny,
            "another bus"
        );
        let lambda = Caller::Service("lambda.amazonaws.com".into());
        let mut r = req(&lambda, "sqs:SendMessage", queue);
        r.context.insert(
            "aws:SourceArn",
            "arn:aws:events:us-east-1:000000000000:rule/orders/R".into(),
        );
        assert_eq!(
            evaluate(&[], &statements, &r),
            Decision::ImplicitDeny,
            "another principal"
        );
    }

    #[test]
    fn what_the_evaluator_does_not_understand_is_refused_with_the_statement_named() {
        let cases = [
            (
                json!({"Statement": [{"Sid": "S1", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}),
                "p statement S1",
                "IpAddress",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}),
                "p statement 0",
                "aws:RequestedRegion",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}"}]}),
                "p statement 0",
                "policy variable",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "NotPrincipal": {"AWS": "x"}}]}),
                "p statement 0",
                "NotPrincipal",
            ),
            (
                json!({"Statement": [{"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]}),
                "p statement 0",
                "Effect",
            ),
            (
                json!({"Version": "2008-10-17", "Statement": []}),
                "p",
                "Version",
            ),
        ];
        for (doc, label, why) in cases {
            let e = parse_document(&doc, "p").unwrap_err();
            assert_eq!(e.label, label, "{doc}");
            assert!(e.why.contains(why), "{e} should mention {why}");
        }
    }

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob("a*c", "abbbc", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "abbc", false));
        assert!(glob("*", "", false));
        assert!(!glob("A*", "abc", false));
        assert!(glob("A*", "abc", true));
        assert!(glob("*:*b", "x:yb", false));
        assert!(!arn_like(
            "arn:aws:events:*:*:rule/orders/*",
            "arn:aws:events:us-east-1"
        ));
    }
}
