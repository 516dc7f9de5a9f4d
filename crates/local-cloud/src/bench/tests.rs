use super::*;

#[test]
fn percentiles_take_the_nearest_rank() {
    let v: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&v, 50.0), 50.0);
    assert_eq!(percentile(&v, 99.0), 99.0);
    assert_eq!(percentile(&[7.0], 99.0), 7.0);
    assert!(percentile(&[], 50.0).is_nan());
}

#[test]
fn the_mix_uses_real_samples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (k, _) in mix() {
        let p = Payload::load(k.partner, &root.join(k.sample)).unwrap();
        p.partner_order_id().unwrap();
        if let Some((pointer, _)) = k.time {
            let fetched = k
                .fetched
                .map(|f| Payload::load(k.partner, &root.join(f)).unwrap());
            let found = p.json.pointer(pointer).is_some()
                || fetched.is_some_and(|f| f.json.pointer(pointer).is_some());
            assert!(found, "{} has {pointer}", k.sample);
        }
    }
}
