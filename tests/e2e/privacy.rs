//! Customer data stays where it is needed. An order whose customer fields carry unique
//! markers goes the long way (held, released by its courier, sent to the POS), and a second,
//! whose mistyped field carries one, is refused; then every record the cloud keeps is read
//! (records the functions did not write for themselves: the bus archive, every execution's
//! history, every queue, every table, every function's log) and the markers are found only
//! in the documents table and the POS ticket, and there only as much as the ticket needs.

use std::io::Read as _;

use base64::Engine as _;

use super::*;

/// Every text the cloud keeps outside the documents table and the simulators, by where.
async fn everything_kept(c: &LocalCloud) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, e) in c.bus.archive().await.iter().enumerate() {
        out.push((format!("bus archive #{i}"), e.to_string()));
    }
    for e in c.sfn.executions().await {
        for h in e.history().await {
            out.push((
                format!("history of {} #{}", e.name, h.id),
                serde_json::to_string(&h).unwrap(),
            ));
        }
    }
    for q in c.sqs.queue_names().await {
        for m in c.sqs.messages(&q).await {
            out.push((format!("queue {q}"), m.body));
        }
    }
    for t in &c.app.tables {
        if t.logical_id == "DocumentsTable" {
            continue;
        }
        for item in c.scan(&t.logical_id).await {
            out.push((format!("table {}", t.logical_id), item.to_string()));
        }
    }
    // The stage's functions' logs (`orders-<stage>-<function>.log`).
    let intake = &c.app.function_by_binary("intake").unwrap().name;
    let prefix = intake.strip_suffix("intake").unwrap().to_owned();
    for entry in std::fs::read_dir(&c.log_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(&prefix) {
            out.push((
                format!("log {name}"),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    out
}

/// The documents table's bodies, decompressed (parts joined in order).
async fn documents(c: &LocalCloud) -> Vec<String> {
    let mut parts: Vec<(String, i64, Vec<u8>)> = c
        .scan("DocumentsTable")
        .await
        .into_iter()
        .map(|item| {
            let body = base64::engine::general_purpose::STANDARD
                .decode(item["body"].as_str().unwrap())
                .unwrap();
            let key = item["documentKey"].as_str().unwrap_or_default();
            let part = item["part"].as_i64().unwrap_or_default();
            (key.to_owned(), part, body)
        })
        .collect();
    parts.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut joined: Vec<(String, Vec<u8>)> = Vec::new();
    for (key, _, body) in parts {
        match joined.last_mut() {
            Some((k, b)) if *k == key => b.extend(body),
            _ => joined.push((key, body)),
        }
    }
    joined
        .into_iter()
        .map(|(_, gz)| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_string(&mut text)
                .unwrap();
            text
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_data_is_only_in_the_documents_table_and_the_calls_that_need_it() {
    let c = cloud("privacy").await;
    let mark = format!("PIIMARK{}", uuid_suffix());
    let (first, last, note, line_note) = (
        format!("{mark}First"),
        format!("{mark}Last"),
        format!("{mark}-leave at the blue door"),
        format!("{mark}-no onions"),
    );
    // Picked up in 45 minutes: held, then released by its courier.
    let mut o = order(
        Partner::DoorDash,
        "events/partners/doordash/order.json",
        &[("/order/estimated_pickup_time", 45)],
    );
    o.payload = o
        .payload
        .set("/order/consumer/first_name", json!(first))
        .unwrap()
        .set("/order/consumer/last_name", json!(last))
        .unwrap()
        .set("/order/order_special_instructions", json!(note))
        .unwrap()
        .set(
            "/order/categories/0/items/0/special_instructions",
            json!(line_note),
        )
        .unwrap();
    assert_eq!(send(&c, &o).await, ack(o.partner));
    held(&c, &o).await;
    let courier = about(
        &o,
        "events/partners/doordash/courier.json",
        "/external_order_id",
    );
    assert_eq!(
        c.send_signed(o.partner, courier).await.unwrap().0,
        ack(o.partner)
    );
    let v = settled(&c, &o, 1).await;
    assert_eq!(v.status.as_deref(), Some("SentToPos"), "{v:#?}");

    // A second order whose mistyped field (a quantity) carries a marker: DoorDash's webhook
    // is taken (intake reads only what routes it), and adapt-order refuses the order, naming
    // the field, never the value.
    let refused = order(
        Partner::DoorDash,
        "events/partners/doordash/order.json",
        &[],
    );
    let refused_mark = format!("{mark}-in-a-quantity");
    let refused = Order {
        payload: refused
            .payload
            .set("/order/categories/0/items/0/quantity", json!(refused_mark))
            .unwrap(),
        ..refused
    };
    assert_eq!(send(&c, &refused).await, ack(refused.partner));
    let r = settled(&c, &refused, 1).await;
    assert_eq!(r.status.as_deref(), Some("Rejected"), "{r:#?}");
    let rejected = events(&c, &refused)
        .await
        .into_iter()
        .find(|e| e["detail-type"] == "Order Rejected")
        .expect("Order Rejected");
    let why = rejected["detail"]["data"].to_string();
    assert!(
        why.contains("quantity") && why.contains("invalid type: a string"),
        "the rejection names the field and the problem: {why}"
    );
    c.quiesce(WITHIN).await.unwrap();

    // Positive controls, from records the pipeline did not write for itself: the markers
    // were sent and reached what needs them.
    let docs = documents(&c).await;
    for m in [&first, &last, &note, &line_note] {
        assert!(
            docs.iter().any(|d| d.contains(m.as_str())),
            "the documents table holds {m}"
        );
    }
    let ticket = c
        .pos_book
        .orders()
        .await
        .into_iter()
        .find(|p| p.ticket["externalId"] == format!("doordash.{}", o.id))
        .expect("the POS order")
        .ticket;
    let ticket_text = ticket.to_string();
    let initial = last.chars().next().unwrap();
    assert!(
        ticket_text.contains(&format!("{} {initial}.", &first[..first.len().min(20)])),
        "the POS ticket calls out the first name and last initial: {ticket}"
    );
    assert!(
        !ticket_text.contains(&last),
        "the POS ticket has no last name: {ticket}"
    );
    assert!(
        ticket_text.contains(&note) && ticket_text.contains(&line_note),
        "the kitchen gets the notes: {ticket}"
    );

    // Nowhere else.
    let kept = everything_kept(&c).await;
    assert!(
        kept.iter().any(|(w, _)| w.starts_with("history of"))
            && kept.iter().any(|(w, _)| w.starts_with("bus archive"))
            && kept.iter().any(|(w, _)| w.starts_with("log "))
            && kept.iter().any(|(w, _)| w.starts_with("table OrdersTable")),
        "every kind of record was read: {:?}",
        kept.iter().map(|(w, _)| w).collect::<Vec<_>>()
    );
    let leaks: Vec<&String> = kept
        .iter()
        .filter(|(_, text)| text.contains(&mark))
        .map(|(w, _)| w)
        .collect();
    assert!(leaks.is_empty(), "customer data found in: {leaks:#?}");
    c.stop().await;
}
