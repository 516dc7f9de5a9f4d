use super::*;

#[test]
fn codedeploys_lambda_configurations_read_as_their_steps() {
    assert_eq!(
        Shift::of_function("Canary10Percent5Minutes")
            .unwrap()
            .steps(),
        [(0.1, 5.0)]
    );
    let linear = Shift::of_function("Linear10PercentEvery1Minute")
        .unwrap()
        .steps();
    assert_eq!(linear.len(), 9, "10 % to 90 %, then all: {linear:?}");
    assert!((linear[8].0 - 0.9).abs() < 1e-9);
    assert_eq!(
        Shift::of_function("Linear10PercentEvery3Minutes").unwrap(),
        Shift::Linear {
            percent: 10.0,
            minutes: 3.0
        }
    );
    assert!(Shift::of_function("AllAtOnce").unwrap().steps().is_empty());
    for bad in ["Canary10Percent", "Gradual", "Canary10Percent5Hours", ""] {
        assert!(Shift::of_function(bad).is_err(), "{bad}");
    }
}

#[test]
fn state_machine_preferences_need_their_percentage_and_interval() {
    assert_eq!(
        Shift::of_state_machine("CANARY", Some(10.0), Some(5.0)).unwrap(),
        Shift::Canary {
            percent: 10.0,
            minutes: 5.0
        }
    );
    assert_eq!(
        Shift::of_state_machine("LINEAR", Some(25.0), Some(1.0))
            .unwrap()
            .steps()
            .len(),
        3
    );
    assert_eq!(
        Shift::of_state_machine("ALL_AT_ONCE", None, None).unwrap(),
        Shift::AllAtOnce
    );
    let e = Shift::of_state_machine("CANARY", None, Some(5.0)).unwrap_err();
    assert!(e.contains("Percentage"), "{e}");
    assert!(Shift::of_state_machine("BLUE_GREEN", None, None).is_err());
}

/// What each alias's deployment watches, from the template as SAM merges it: a function's own
/// `Alarms` add to the Globals' (SAM's Globals merge lists, global entries first), and every
/// function's list holds its own canary alarm on the version being deployed.
#[test]
fn every_function_deployment_watches_the_global_alarms_and_its_own_canary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let t = sam_template::Template::load(&root.join("infra/template.yaml")).unwrap();
    let global: Vec<String> = t
        .function_globals()
        .pointer("/DeploymentPreference/Alarms")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .filter_map(|a| a["Ref"].as_str().map(str::to_owned))
        .collect();
    assert!(!global.is_empty());
    let hook = "PreTrafficCheckFunction";
    for f in t.of_kind("AWS::Serverless::Function") {
        if f.id == hook {
            // The hook deploys at once: it must be the new one when the deployments ask.
            assert_eq!(
                t.deployment_preference(&f),
                None,
                "{hook} deploys gradually"
            );
            continue;
        }
        let p = t
            .deployment_preference(&f)
            .unwrap_or_else(|| panic!("{} has no deployment preference", f.id));
        assert_eq!(
            p.pre_traffic.as_deref(),
            Some(hook),
            "{}: no PreTraffic hook",
            f.id
        );
        assert_eq!(p.alarms[..global.len()], global[..], "{}", f.id);
        let canary = format!("{}CanaryErrorRateAlarm", f.id.trim_end_matches("Function"));
        assert!(p.alarms.contains(&canary), "{}: {:?}", f.id, p.alarms);
        let watch = alarms::watch(&t.json, &canary).unwrap();
        assert!(
            matches!(&watch, alarms::Watch::ErrorRate { function, deployed_version: true, .. } if *function == f.id),
            "{canary}: {watch:?}"
        );
        assert_eq!(
            Shift::of_function(p.kind.as_str().unwrap()).unwrap(),
            Shift::Canary {
                percent: 10.0,
                minutes: 5.0
            }
        );
    }
    // A business error rate (rejections are errors) is an operator's alarm, not a deploy's
    // gate: the deployment asks whether the new version fails, which its canary alarm says.
    for f in t.of_kind("AWS::Serverless::Function") {
        let Some(p) = t.deployment_preference(&f) else {
            continue;
        };
        let alarms = p.alarms;
        assert!(
            !alarms
                .iter()
                .any(|a| a.ends_with("ErrorRateAlarm") && !a.ends_with("CanaryErrorRateAlarm")),
            "{}: {alarms:?}",
            f.id
        );
    }
    for m in t.of_kind("AWS::Serverless::StateMachine") {
        let alarms = t.deployment_preference(&m).unwrap().alarms;
        assert!(
            !alarms.iter().any(|a| a.ends_with("ErrorRateAlarm")),
            "{}: {alarms:?}",
            m.id
        );
    }
}

#[test]
fn a_broken_build_links_the_good_binaries_and_replaces_one() {
    let dir = std::env::temp_dir().join(format!("broken-build-{}", uuid::Uuid::new_v4()));
    let build = dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("pos"), "good pos").unwrap();
    std::fs::write(build.join("intake"), "good intake").unwrap();
    let out = broken_build(&build, "pos", &dir.join("broken")).unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("intake")).unwrap(),
        "good intake"
    );
    let pos = std::fs::read_to_string(out.join("pos")).unwrap();
    assert!(pos.contains("os._exit"), "{pos}");
    assert_eq!(
        std::fs::read_to_string(build.join("pos")).unwrap(),
        "good pos",
        "the build itself is untouched"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
