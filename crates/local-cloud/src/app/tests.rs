use super::*;

/// The template's parameters that have no default, with loopback and placeholder values.
/// Every parameter the template requires, with local values.
pub(crate) fn required_parameters() -> BTreeMap<String, String> {
    let mut parameters = BTreeMap::new();
    for p in [
        "UberEatsApiUrl",
        "UberEatsTokenUrl",
        "DoorDashApiUrl",
        "GrubhubApiUrl",
        "AppApiUrl",
        "PosApiUrl",
    ] {
        parameters.insert(p.to_owned(), "http://127.0.0.1:1".to_owned());
    }
    parameters.insert("WebhookSecretsArn".to_owned(), "arn:webhooks".to_owned());
    for (parameter, key) in crate::cloud::API_CREDENTIAL_SECRETS {
        parameters.insert(parameter.to_owned(), format!("arn:{key}"));
    }
    parameters
}

#[test]
fn the_real_template_resolves_to_local_names() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut parameters = required_parameters();
    parameters.insert("Stage".to_owned(), "t".to_owned());
    let app = App::load(
        &root.join("infra/template.yaml"),
        &Overrides {
            parameters,
            ..Default::default()
        },
    )
    .unwrap();
    let mut binaries: Vec<&str> = app.functions.iter().map(|f| f.binary.as_str()).collect();
    binaries.sort_unstable();
    assert_eq!(
        binaries,
        [
            "accept-order",
            "adapt-order",
            "catalog-admin",
            "dedup",
            "handover",
            "hold-order",
            "intake",
            "pos",
            "pre-traffic-check",
            "release-order",
            "store-status",
            "sweeper"
        ]
    );
    for f in &app.functions {
        // The hook's name starts as CodeDeploy's role may invoke it (CodeDeployHook_).
        let name = f.name.strip_prefix("CodeDeployHook_").unwrap_or(&f.name);
        assert!(name.starts_with("orders-t-"), "{}", f.name);
        for (k, v) in &f.env {
            assert!(
                !v.is_empty() && !v.contains("${") && !v.contains("Fn::"),
                "{} {k}={v}",
                f.name
            );
        }
    }
    let intake = app.function_by_binary("intake").unwrap();
    assert_eq!(intake.env["EVENT_BUS_NAME"], "orders-t");
    // Asynchronous settings come from EventInvokeConfig, or Lambda's defaults.
    let release = app.function_by_binary("release-order").unwrap();
    assert_eq!(
        (release.async_retries, release.max_event_age_seconds),
        (2, 3600)
    );
    assert_eq!(
        release.on_failure.as_deref(),
        Some("orders-t-release-failures")
    );
    assert_eq!(intake.max_event_age_seconds, 21_600);
    assert_eq!(intake.env["WEBHOOK_SECRETS_ID"], "arn:webhooks");
    assert_eq!(app.tables.len(), 8);
    assert_eq!(intake.env["STORES_TABLE"], "orders-t-stores");
    assert_eq!(
        intake.env["CATALOG_CACHE_TTL_SECONDS"],
        LOCAL_CATALOG_CACHE_TTL_SECONDS.to_string()
    );
    assert!(app.tables.iter().any(|t| t.ttl_attribute.is_some()));
    assert_eq!(app.buses, ["orders-t"]);
    assert_eq!(
        app.archives,
        [("OrdersBusArchive".to_owned(), "orders-t".to_owned())]
    );
    assert!(
        app.rules
            .iter()
            .all(|r| r.bus == "orders-t" && r.dead_letter.is_some())
    );
    // Rules, like every event source, invoke the aliases SAM's AutoPublishAlias makes.
    assert!(app.rules.iter().any(|r| matches!(&r.target,
            Target::StateMachine { arn } if arn == "arn:aws:states:us-east-1:000000000000:stateMachine:orders-t-workflow:live")));
    assert!(app.rules.iter().any(
        |r| matches!(&r.target, Target::Function { name } if name == "orders-t-release-order:live")
    ));
    assert!(app.routes.iter().all(|r| r.function.ends_with(":live")));
    assert!(app.queue_triggers.iter().all(|(f, _)| f.ends_with(":live")));
    assert!(
        app.functions
            .iter()
            .all(|f| f.alias.as_deref() == Some("live"))
    );
    // The partners' webhook routes are open (intake authenticates each partner itself),
    // one per partner with its own throttle from RouteSettings; every catalogue admin
    // route is AWS_IAM, on an API of its own with its own throttling.
    assert_eq!(app.routes.len(), 12);
    let webhook = |partner: &str| {
        app.routes
            .iter()
            .find(|r| r.path == format!("/webhooks/{partner}"))
            .unwrap()
    };
    for (partner, rate, burst) in [
        ("doordash", 3150.0, 6300.0),
        ("ubereats", 500.0, 1000.0),
        ("grubhub", 200.0, 400.0),
        ("app", 800.0, 1600.0),
    ] {
        let r = webhook(partner);
        assert_eq!(
            (r.method.as_str(), r.authorization, r.throttle),
            ("POST", RouteAuthorization::None, Some((rate, burst)))
        );
    }
    let admin: Vec<&Route> = app
        .routes
        .iter()
        .filter(|r| r.path.starts_with("/catalog/"))
        .collect();
    assert_eq!(admin.len(), 8);
    for r in &admin {
        assert_eq!(r.authorization, RouteAuthorization::Iam, "{r:?}");
        assert_ne!(r.api_id, webhook("app").api_id, "{r:?}");
        assert_eq!(r.throttle, Some((50.0, 100.0)), "{r:?}");
    }
    let sm = &app.state_machines[0];
    let text = sm.json.to_string();
    assert!(!text.contains("${"), "substitutions left: {text}");
    assert!(text.contains("arn:aws:lambda:us-east-1:000000000000:function:orders-t-dedup:live"));
}

#[test]
fn a_route_with_an_authorizer_the_local_cloud_cannot_check_stops_it_at_load() {
    // The template's admin API, with a JWT authorizer as its default instead of AWS_IAM:
    // letting the routes through unchecked would pass here and refuse callers on AWS.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap();
    let text = std::fs::read_to_string(root.join("infra/template.yaml"))
        .unwrap()
        .replace(
            "DefaultAuthorizer: AWS_IAM",
            "DefaultAuthorizer: OperatorsJwt",
        )
        .replace("../", &format!("{}/", root.display()));
    let dir = root.join("target/app-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwt-authorizer.yaml");
    std::fs::write(&path, text).unwrap();
    let parameters = required_parameters();
    let e = App::load(
        &path,
        &Overrides {
            parameters,
            ..Default::default()
        },
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("OperatorsJwt") && text.contains("AWS_IAM"),
        "{text}"
    );
    assert!(text.contains("/catalog/"), "{text}");
}

#[test]
fn a_parameter_without_a_default_must_be_given() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let e = App::load(&root.join("infra/template.yaml"), &Overrides::default()).unwrap_err();
    assert!(e.to_string().contains("has no default"), "{e}");
}
