use super::*;

fn base() -> Resolver {
    let mut r = Resolver::default();
    r.refs.insert("Fn".into(), json!("orders-t-fn"));
    r.attrs.insert(
        ("Fn".into(), "Arn".into()),
        json!("arn:aws:lambda:us-east-1:000000000000:function:orders-t-fn"),
    );
    r.refs.insert("Table".into(), json!("orders-t"));
    r
}

fn template(role_extra: Value, function_role: &str) -> Value {
    let mut role = json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            "Policies": [{"PolicyName": "P0", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": {"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:us-east-1:000000000000:table/${t}", {"t": {"Ref": "Table"}}]}}]}}]
        }
    });
    if let (Some(props), Value::Object(extra)) = (role["Properties"].as_object_mut(), role_extra) {
        props.extend(extra);
    }
    json!({"Resources": {
        "FnRole": role,
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": [function_role, "Arn"]}}},
    }})
}

fn resolver() -> Resolver {
    let mut r = base();
    r.refs.insert("AWS::Partition".into(), json!("aws"));
    r
}

#[test]
fn a_function_calls_with_its_own_role_and_its_own_key() {
    let iam = Iam::load(&template(json!({}), "FnRole"), &resolver(), "s").unwrap();
    let key = iam.function_key("orders-t-fn").unwrap();
    assert!(key.starts_with("ASIA"), "{key}");
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        format!("AWS4-HMAC-SHA256 Credential={key}/20261130/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x")
            .parse()
            .unwrap(),
    );
    let who = iam.identify(&headers);
    let Identity::Caller(Caller::Role { session_arn, .. }) = &who else {
        panic!("{who:?}");
    };
    assert_eq!(
        session_arn,
        "arn:aws:sts::000000000000:assumed-role/s-FnRole/orders-t-fn"
    );
    let table = "arn:aws:dynamodb:us-east-1:000000000000:table/orders-t";
    assert!(
        iam.authorize_identity(&who, "dynamodb:PutItem", table)
            .is_ok()
    );
    let denied = iam
        .authorize_identity(&who, "dynamodb:DeleteItem", table)
        .unwrap_err();
    assert_eq!(
        denied.message,
        format!(
            "User: {session_arn} is not authorized to perform: dynamodb:DeleteItem on resource: {table} because no identity-based policy allows the dynamodb:DeleteItem action"
        )
    );
    // Credentials the cloud did not issue are the developer's own.
    assert_eq!(iam.identify(&HeaderMap::new()), Identity::Administrator);
    assert!(
        iam.authorize_identity(&Identity::Administrator, "dynamodb:DeleteItem", table)
            .is_ok()
    );
}

#[test]
fn an_unknown_managed_policy_stops_the_cloud_with_the_role_named() {
    let t = template(
        json!({"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}),
        "FnRole",
    );
    let e = Iam::load(&t, &resolver(), "s").unwrap_err().to_string();
    assert!(
        e.contains("FnRole") && e.contains("AdministratorAccess"),
        "{e}"
    );
}

#[test]
fn a_role_property_or_policy_resource_the_evaluator_does_not_read_stops_the_cloud() {
    let boundary = template(
        json!({"PermissionsBoundary": "arn:aws:iam::000000000000:policy/boundary"}),
        "FnRole",
    );
    let e = Iam::load(&boundary, &resolver(), "s")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("FnRole") && e.contains("PermissionsBoundary"),
        "{e}"
    );

    let mut extra = template(json!({}), "FnRole");
    extra["Resources"]["ExtraPolicy"] = json!({"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyName": "extra", "Roles": [{"Ref": "FnRole"}],
        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}}});
    let e = Iam::load(&extra, &resolver(), "s").unwrap_err().to_string();
    assert!(
        e.contains("ExtraPolicy") && e.contains("AWS::IAM::Policy"),
        "{e}"
    );
}

#[test]
fn a_statement_the_evaluator_does_not_understand_stops_the_cloud_with_it_named() {
    let t = template(
        json!({"Policies": [{"PolicyName": "Odd", "PolicyDocument": {"Statement": [{"Sid": "FromTheOffice", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}}]}),
        "FnRole",
    );
    let e = Iam::load(&t, &resolver(), "s").unwrap_err().to_string();
    assert!(
        e.contains("role FnRole policy Odd statement FromTheOffice") && e.contains("IpAddress"),
        "{e}"
    );
}

#[test]
fn a_role_that_does_not_trust_lambda_cannot_be_a_function_role() {
    let t = template(
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}),
        "FnRole",
    );
    let e = Iam::load(&t, &resolver(), "s").unwrap_err().to_string();
    assert!(e.contains("does not trust lambda.amazonaws.com"), "{e}");
}

#[test]
fn disabled_iam_allows_everything() {
    let iam = Iam::disabled();
    assert!(!iam.enforced());
    assert!(
        iam.authorize(
            &Caller::Service("events.amazonaws.com".into()),
            "lambda:InvokeFunction",
            "arn:aws:lambda:us-east-1:000000000000:function:x",
            BTreeMap::new()
        )
        .is_ok()
    );
}

#[test]
fn a_denied_integration_reads_as_the_service_exception_with_the_sdk_cause() {
    let denied = AccessDenied {
        message: "User: x is not authorized".into(),
    };
    let (t, cause) = integration_denial("lambda", &denied);
    assert_eq!(t, "AWSLambdaException");
    assert!(cause.starts_with("User: x is not authorized (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: "));
    assert_eq!(
        integration_denial("dynamodb", &denied).0,
        "AmazonDynamoDBException"
    );
    assert_eq!(
        integration_denial("events", &denied).0,
        "AmazonEventBridgeException"
    );
}

/// A template whose table `orders-t` is encrypted with the customer managed key `Key`, whose
/// key policy is `key_policy`, and whose function role also has `kms_statement`.
fn encrypted(key_policy: Value, kms_statement: Option<Value>) -> (Iam, Identity) {
    let mut t = template(json!({}), "FnRole");
    if let Some(s) = kms_statement {
        t["Resources"]["FnRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array_mut()
            .unwrap()
            .push(s);
    }
    t["Resources"]["Key"] =
        json!({"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}});
    t["Resources"]["TableRes"] = json!({"Type": "AWS::DynamoDB::Table", "Properties": {
        "TableName": {"Ref": "Table"},
        "SSESpecification": {"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
    }});
    let mut r = resolver();
    r.attrs.insert(("Key".into(), "Arn".into()), json!(KEY));
    let iam = Iam::load(&t, &r, "s").unwrap();
    let caller = iam.function_caller("orders-t-fn").unwrap();
    (iam, Identity::Caller(caller))
}

const KEY: &str = "arn:aws:kms:us-east-1:000000000000:key/local-Key";

fn default_key_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"}]})
}

fn through_dynamodb() -> Value {
    json!({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": KEY,
        "Condition": {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com", "kms:CallerAccount": "000000000000"}}})
}

fn put(iam: &Iam, who: &Identity) -> Result<(), AccessDenied> {
    crate::dynamodb_proxy::authorize(
        iam,
        who,
        "PutItem",
        &json!({"TableName": "orders-t", "Item": {}}),
    )
}

#[test]
fn a_table_with_a_customer_managed_key_needs_the_key_through_dynamodb() {
    let table = "arn:aws:dynamodb:us-east-1:000000000000:table/orders-t";
    // The key's grant through DynamoDB, delegated by the default key policy: the write works.
    let (iam, who) = encrypted(default_key_policy(), Some(through_dynamodb()));
    assert_eq!(iam.table_key(table), Some(KEY));
    assert_eq!(iam.table_key(&format!("{table}/index/byStatus")), Some(KEY));
    put(&iam, &who).unwrap();
    // The same role may not use the key directly (no kms:ViaService).
    let direct = iam
        .authorize_identity(&who, "kms:Decrypt", KEY)
        .unwrap_err();
    assert!(
        direct
            .message
            .contains("kms:Decrypt on resource: arn:aws:kms"),
        "{direct}"
    );
    // Table rights alone read and write nothing: DynamoDB is refused the key for the caller.
    let (iam, who) = encrypted(default_key_policy(), None);
    let denied = put(&iam, &who).unwrap_err();
    assert!(
        denied
            .message
            .contains(&format!("kms:Decrypt on resource: {KEY}")),
        "{denied}"
    );
    // A key policy that does not delegate to the account's IAM policies keeps even a role
    // whose policies grant the key out.
    let own_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:role/someone-else"}, "Action": "kms:*", "Resource": "*"}]});
    let (iam, who) = encrypted(own_only, Some(through_dynamodb()));
    assert!(put(&iam, &who).is_err());
    // One that names the role itself allows without an IAM grant; a Deny in it wins.
    let Identity::Caller(Caller::Role { role_arn, .. }) = &who else {
        unreachable!()
    };
    let names_role = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "kms:*", "Resource": "*"}]});
    let (iam, who) = encrypted(names_role.clone(), None);
    put(&iam, &who).unwrap();
    let mut denying = names_role;
    denying["Statement"].as_array_mut().unwrap().push(
        json!({"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}),
    );
    let (iam, who) = encrypted(denying, None);
    assert!(
        put(&iam, &who)
            .unwrap_err()
            .message
            .contains("explicit deny")
    );
    // A key the template does not define has a policy nobody here can read: refused at load.
    let mut t = template(json!({}), "FnRole");
    t["Resources"]["TableRes"] = json!({"Type": "AWS::DynamoDB::Table", "Properties": {
        "TableName": {"Ref": "Table"},
        "SSESpecification": {"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": "arn:aws:kms:us-east-1:000000000000:key/elsewhere"}
    }});
    let refused = Iam::load(&t, &resolver(), "s").unwrap_err().to_string();
    assert!(
        refused.contains("a key the template does not define"),
        "{refused}"
    );
    // Reads need only kms:Decrypt.
    assert_eq!(
        crate::dynamodb_proxy::kms_actions("dynamodb:GetItem"),
        ["kms:Decrypt"]
    );
    assert!(crate::dynamodb_proxy::kms_actions("dynamodb:DescribeTable").is_empty());
}

#[test]
fn a_workflow_alias_is_authorised_by_the_machine_arn_and_its_qualifier() {
    let machine = "arn:aws:states:us-east-1:000000000000:stateMachine:orders-t-hold";
    let statement = |resource: &str, condition: Value| json!({"Effect": "Allow", "Action": "states:StartExecution", "Resource": resource, "Condition": condition});
    let with = |s: Value| {
        let mut t = template(json!({}), "FnRole");
        t["Resources"]["FnRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array_mut()
            .unwrap()
            .push(s);
        let iam = Iam::load(&t, &resolver(), "s").unwrap();
        let who = Identity::Caller(iam.function_caller("orders-t-fn").unwrap());
        (iam, who)
    };
    // The machine's ARN scoped to its `live` alias: the alias, nothing else.
    let (iam, who) = with(statement(
        machine,
        json!({"StringEquals": {"states:StateMachineQualifier": "live"}}),
    ));
    let start = |arn: String| iam.authorize_identity(&who, "states:StartExecution", &arn);
    assert!(start(format!("{machine}:live")).is_ok());
    assert!(start(format!("{machine}:1")).is_err());
    assert!(start(machine.to_owned()).is_err());
    // The alias's own ARN in a policy grants nothing, as on AWS (Step Functions checks the
    // machine's ARN).
    let (iam, who) = with(statement(&format!("{machine}:live"), json!({})));
    let denied = iam
        .authorize_identity(&who, "states:StartExecution", &format!("{machine}:live"))
        .unwrap_err();
    assert!(
        denied.message.contains(&format!("on resource: {machine} ")),
        "{denied}"
    );
    // Execution ARNs are not state machine ARNs.
    assert_eq!(
        step_functions_local::split_qualifier(machine),
        (machine, None)
    );
}
