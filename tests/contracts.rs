//! Contracts that must not drift: every file under `events/` parses into its type, the
//! committed schemas are the types' schemas, and every event the code emits validates
//! against its schema.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_support::samples::{
    self, Manifest, SeedStep, memory_env, memory_world, replay_seed, run_step, sample_time,
};
use lambda_support::wiring::{self, Backend};
use order_events::OutboundEvent;
use pipeline::io::{AcceptInput, AdaptInput, DedupInput, HoldInput, PosInput};
use pipeline::usecases::intake::WebhookRequest;
use serde_json::Value;
use suites::repo_root;

fn read(path: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifest() -> Manifest {
    samples::load_manifest(&repo_root()).unwrap()
}

fn parses_as<T: serde::de::DeserializeOwned>(v: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(v.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses a bus event into the type its detail-type names.
fn parse_event(envelope: &Value) -> Result<(), String> {
    fn typed<E: BusEvent>(v: &Value) -> Result<(), String> {
        let e: Envelope<Detail<E>> =
            serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        if e.source != E::SOURCE {
            return Err(format!("source {} is not {}", e.source, E::SOURCE));
        }
        Ok(())
    }
    use order_events::*;
    match envelope["detail-type"].as_str().unwrap_or_default() {
        OrderReceived::DETAIL_TYPE => typed::<OrderReceived>(envelope),
        WebhookRejected::DETAIL_TYPE => typed::<WebhookRejected>(envelope),
        MenuRefreshRequested::DETAIL_TYPE => typed::<MenuRefreshRequested>(envelope),
        CourierArriving::DETAIL_TYPE => typed::<CourierArriving>(envelope),
        CourierLocationUpdated::DETAIL_TYPE => typed::<CourierLocationUpdated>(envelope),
        OrderCancellationRequested::DETAIL_TYPE => typed::<OrderCancellationRequested>(envelope),
        OrderDuplicateIgnored::DETAIL_TYPE => typed::<OrderDuplicateIgnored>(envelope),
        OrderHeld::DETAIL_TYPE => typed::<OrderHeld>(envelope),
        OrderReleased::DETAIL_TYPE => typed::<OrderReleased>(envelope),
        OrderSentToPos::DETAIL_TYPE => typed::<OrderSentToPos>(envelope),
        OrderRejected::DETAIL_TYPE => typed::<OrderRejected>(envelope),
        OrderCancelled::DETAIL_TYPE => typed::<OrderCancelled>(envelope),
        OrderFailed::DETAIL_TYPE => typed::<OrderFailed>(envelope),
        StorePaused::DETAIL_TYPE => typed::<StorePaused>(envelope),
        StoreResumed::DETAIL_TYPE => typed::<StoreResumed>(envelope),
        MenuPublished::DETAIL_TYPE => typed::<MenuPublished>(envelope),
        ItemAvailabilityChanged::DETAIL_TYPE => typed::<ItemAvailabilityChanged>(envelope),
        other => Err(format!("unknown detail-type {other:?}")),
    }
}

fn parse_input(function: &str, v: &Value) -> Result<(), String> {
    match function {
        "intake" | "catalog-admin" => parses_as::<ApiGatewayV2httpRequest>(v),
        "dedup" => parses_as::<DedupInput>(v),
        "adapt-order" => parses_as::<AdaptInput>(v),
        "accept-order" => parses_as::<AcceptInput>(v),
        "hold-order" => parses_as::<HoldInput>(v),
        "pos" => parses_as::<PosInput>(v),
        // An SQS batch whose bodies are handovers (or, in one sample, meant not to be).
        "handover" => parses_as::<aws_lambda_events::sqs::SqsEvent>(v),
        "release-order" => parse_event(v).and_then(|()| {
            let detail_type = v["detail-type"].as_str().unwrap_or_default();
            let handled = pipeline::usecases::release::HANDLED;
            if handled.iter().any(|(_, d)| *d == detail_type) {
                Ok(())
            } else {
                Err(format!("release-order does not take {detail_type:?}"))
            }
        }),
        "store-status" => parse_event(v).and_then(|()| {
            let detail_type = v["detail-type"].as_str().unwrap_or_default();
            let handled = pipeline::usecases::store_status::HANDLED;
            if handled.iter().any(|(_, d)| *d == detail_type) {
                Ok(())
            } else {
                Err(format!("store-status does not take {detail_type:?}"))
            }
        }),
        // EventBridge's scheduled event (the sweeper reads none of it, but it must be one).
        "sweeper" => match (v["source"].as_str(), v["detail-type"].as_str()) {
            (Some("aws.events"), Some("Scheduled Event")) => Ok(()),
            _ => Err("the sweeper's sample is EventBridge's Scheduled Event".to_owned()),
        },
        // A seed step: a document as intake stored it (a prefix and a body that is a
        // webhook, JSON).
        samples::DOCUMENTS_STEP => match (v["prefix"].as_str(), v["body"].as_str()) {
            (Some(prefix), Some(body)) if prefix.starts_with("payload/") => {
                serde_json::from_str::<serde_json::Value>(body)
                    .map(|_| ())
                    .map_err(|e| format!("{prefix}: the body is not JSON: {e}"))
            }
            _ => Err(format!(
                "a documents step is a payload prefix and a body: {v}"
            )),
        },
        // CodeDeploy's hook event, as the hook reads it.
        "pre-traffic-check" => serde_json::from_value::<
            aws_lambda_events::event::codedeploy::CodeDeployLifecycleEvent,
        >(v.clone())
        .map(drop)
        .map_err(|e| e.to_string()),
        other => Err(format!("unknown function {other}")),
    }
}

#[test]
fn every_sample_parses_into_its_functions_input_type_unless_it_is_meant_not_to() {
    let root = repo_root();
    let mut checked = 0;
    for s in manifest().samples {
        let v = read(&root.join("events").join(&s.file));
        let parsed = parse_input(&s.function, &v);
        let meant_invalid = s.expect.error_type.as_deref() == Some(pipeline::names::INVALID_INPUT);
        match (parsed, meant_invalid) {
            (Ok(()), false) | (Err(_), true) => {}
            (Ok(()), true) => panic!("{} is meant to be invalid but parses", s.file),
            (Err(e), false) => panic!("{} does not parse for {}: {e}", s.file, s.function),
        }
        checked += 1;
    }
    assert!(checked > 50, "{checked}");
}

/// Every JSON file under `events/` is accounted for: a sample in the manifest, the seed, a
/// schema, an event sample, a partner payload, or a dev secret, and each parses as its kind.
#[test]
fn every_file_under_events_is_known_and_parses_into_its_type() {
    let root = repo_root();
    let events = root.join("events");
    // Each sample's function, and whether it is meant not to parse (`InvalidInput`).
    let in_manifest: BTreeMap<String, (String, bool)> = manifest()
        .samples
        .into_iter()
        .map(|s| {
            let invalid = s.expect.error_type.as_deref() == Some(pipeline::names::INVALID_INPUT);
            (s.file, (s.function, invalid))
        })
        .collect();
    let mut seen = 0;
    let mut stack = vec![events.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&events)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel.ends_with(".env") {
                // `KEY=VALUE` lines naming variables the functions read.
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                {
                    let (key, _) = line
                        .split_once('=')
                        .unwrap_or_else(|| panic!("events/{rel}: {line:?} is not KEY=VALUE"));
                    let known = key.starts_with("AWS_LAMBDA_")
                        || lambda_support::config::vars::ALL.contains(&key);
                    assert!(
                        known,
                        "events/{rel}: {key} is not a variable the functions read"
                    );
                }
                seen += 1;
                continue;
            }
            let v = read(&path);
            let result = if let Some((function, meant_invalid)) = in_manifest.get(&rel) {
                match (parse_input(function, &v), meant_invalid) {
                    (Ok(()), false) | (Err(_), true) => Ok(()),
                    (Ok(()), true) => Err("meant to be invalid, but parses".to_owned()),
                    (Err(e), false) => Err(format!("does not parse for {function}: {e}")),
                }
            } else if rel == "manifest.json" {
                parses_as::<Manifest>(&v)
            } else if rel == "seed.json" {
                serde_json::from_value::<Vec<SeedStep>>(v.clone())
                    .map_err(|e| e.to_string())
                    .and_then(|steps| {
                        steps
                            .iter()
                            .try_for_each(|s| parse_input(&s.function, &s.input))
                    })
            } else if rel.starts_with("schemas/") {
                jsonschema::validator_for(&v)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            } else if rel.starts_with("samples/") {
                parse_event(&v)
            } else if rel.starts_with("partners/ubereats/order") {
                parses_as::<partners::ubereats::UberOrder>(&v)
            } else if let Some(p) = rel.strip_prefix("partners/") {
                let partner: order_domain::Partner = p.split('/').next().unwrap().parse().unwrap();
                // A type the partner sends to the one endpoint and the pipeline ignores (a
                // DoorDash Dasher status that does not mean near) is a webhook all the same.
                match partners::parse_webhook(partner, v.to_string().as_bytes()) {
                    Ok(_) => Ok(()),
                    Err(partners::WebhookError::UnsupportedType { .. })
                        if partners::acknowledgement(partner).ignores_other_types =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            } else if rel.starts_with("dev-secrets/") {
                parses_as::<BTreeMap<String, String>>(&v)
            } else {
                Err("not a known kind of file; add it to the manifest or to this test".to_owned())
            };
            result.unwrap_or_else(|e| panic!("events/{rel}: {e}"));
            seen += 1;
        }
    }
    assert!(seen > 100, "{seen}");
}

#[test]
fn the_committed_schemas_are_the_types_schemas() {
    let root = repo_root();
    for (detail_type, schema) in order_events::schema::catalogue() {
        let path = root.join(format!(
            "events/schemas/{}.json",
            order_events::slug(detail_type)
        ));
        assert_eq!(
            read(&path),
            schema,
            "{} is stale: run `cargo xtask schemas`",
            path.display()
        );
    }
}

fn validators() -> BTreeMap<String, jsonschema::Validator> {
    order_events::schema::catalogue()
        .into_iter()
        .map(|(t, s)| (t.to_owned(), jsonschema::validator_for(&s).unwrap()))
        .collect()
}

fn validate(validators: &BTreeMap<String, jsonschema::Validator>, e: &OutboundEvent, origin: &str) {
    let envelope = e.to_envelope("id", sample_time(), "123456789012", "us-east-1");
    let v = validators
        .get(&e.detail_type)
        .unwrap_or_else(|| panic!("{origin}: no schema for {}", e.detail_type));
    let errors: Vec<String> = v
        .iter_errors(&envelope)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{origin}: {} does not match its schema: {errors:?}",
        e.detail_type
    );
}

#[test]
fn every_event_sample_validates_against_its_schema() {
    let validators = validators();
    let dir = repo_root().join("events/samples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let v = read(&path);
        let e = OutboundEvent {
            source: v["source"].as_str().unwrap().into(),
            detail_type: v["detail-type"].as_str().unwrap().into(),
            detail: v["detail"].clone(),
        };
        validate(&validators, &e, &path.display().to_string());
        n += 1;
    }
    assert_eq!(
        n,
        order_events::ALL_EVENTS.len() + order_events::CATALOGUE_CHANGE_EVENTS.len()
    );
}

/// Runs every sample through the code (intake and every workflow step, on the seeded memory
/// backend) and validates every event it published or returned for the workflow to publish.
#[tokio::test]
async fn every_event_the_code_emits_validates_against_its_schema() {
    let root = repo_root();
    let validators = validators();
    let seed = samples::load_seed(&root.join("events/seed.json")).unwrap();
    let env = memory_env(&root);
    let mut seen = std::collections::BTreeSet::new();
    for s in manifest().samples {
        let (world, _) = memory_world(&root).unwrap();
        let backend = Backend::Memory(world.clone());
        replay_seed(&backend, &env, &seed, sample_time())
            .await
            .unwrap();
        let input = read(&root.join("events").join(&s.file));
        let mut emitted: Vec<OutboundEvent> = Vec::new();
        if s.function == "intake" {
            // Read as the intake function reads it (the route names the partner).
            let request: ApiGatewayV2httpRequest = serde_json::from_value(input).unwrap();
            let parts = lambda_support::apigw::webhook_parts(request).unwrap();
            let intake = wiring::intake(&env, &backend).await.unwrap();
            intake
                .handle(WebhookRequest {
                    partner: &parts.partner,
                    headers: &parts.headers,
                    body: &parts.body,
                })
                .await;
        } else if let Ok(output) =
            run_step(&backend, &env, &s.function, &input, sample_time()).await
        {
            for key in ["outcome", "event"] {
                if let Some(e) = output.get(key).filter(|v| v.is_object()) {
                    emitted.push(serde_json::from_value(e.clone()).unwrap());
                }
            }
        }
        emitted.extend(world.publisher.events());
        for e in &emitted {
            validate(&validators, e, &s.file);
            seen.insert(e.detail_type.clone());
        }
    }
    let all: std::collections::BTreeSet<String> = order_events::ALL_EVENTS
        .iter()
        .map(|(_, d)| (*d).to_owned())
        .collect();
    assert_eq!(seen, all, "every event type is emitted by some sample");
}
