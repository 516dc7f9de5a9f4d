use super::*;

/// A killed handover's message comes back after the handover queue's visibility timeout
/// (the 10,000-order run of 2026-12-07 stopped waiting for two held orders whose handover
/// batch was killed: their bound had no room for it).
#[test]
fn an_orders_bound_has_room_for_a_handover_to_come_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut parameters = crate::app::tests::required_parameters();
    parameters.insert("Stage".to_owned(), "t".to_owned());
    let app = crate::app::App::load(
        &root.join("infra/template.yaml"),
        &crate::app::Overrides {
            parameters,
            ..Default::default()
        },
    )
    .unwrap();
    let handover = app
        .queue_specs
        .iter()
        .find(|q| app.queue_triggers.iter().any(|(_, m)| m.queue == q.name))
        .unwrap();
    assert!(handover.visibility_timeout >= Duration::from_secs(30));
    assert_eq!(
        redelivery_seconds(&app),
        handover.visibility_timeout.as_secs_f64()
    );
}
