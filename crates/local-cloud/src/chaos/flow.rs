//! One order's life as its partner lives it, and the waits the run makes on it.

use super::*;

/// Sends `body` as `partner`'s webhook sender does ([`LocalCloud::deliver_webhook`]: again
/// while unacknowledged, on the partner's schedule), and, if intake never took it, once more
/// after the whole schedule: a partner's operator re-sends a lost order by hand, and the run
/// must end every order.
pub(super) async fn deliver(ctx: &Ctx, partner: Partner, body: &[u8]) -> Result<(), String> {
    ctx.deliveries.fetch_add(1, Ordering::Relaxed);
    let mut last = String::new();
    for round in 0..3 {
        let d = ctx.cloud.deliver_webhook(partner, body).await;
        let resends = d.sends.saturating_sub(1) as usize + usize::from(round > 0);
        ctx.redeliveries.fetch_add(resends, Ordering::Relaxed);
        if d.acknowledged(partner) {
            return Ok(());
        }
        match d.last {
            // Refused for what it is: sending it again changes nothing.
            Ok((status @ 400..=499, answer)) if status != 429 && status != 408 => {
                return Err(format!(
                    "intake refused a {partner} webhook with {status}: {answer}"
                ));
            }
            Ok((status, answer)) => last = format!("{status} {answer}"),
            Err(e) => last = e,
        }
    }
    Err(format!("intake never took a {partner} webhook: {last}"))
}

/// The order's status in the orders table and whether every execution of it has ended and
/// no handover of it waits in a queue (the status and the queue as last read,
/// [`watch::StatusWatch`]).
pub(super) async fn state(ctx: &Ctx, o: &plan::Prepared) -> (Option<OrderStatus>, bool) {
    let status = ctx.statuses.status(&o.order_id);
    let runs = ctx.cloud.executions_of(&o.partner_order_id).await;
    let mut ended = !runs.is_empty();
    for e in runs {
        if e.status().await == crate::sfn::Status::Running {
            ended = false;
            break;
        }
    }
    ended = ended && !ctx.statuses.queued(&o.order_id);
    (status, ended)
}

/// Polls until `until` holds for the order's status (and, with `settled`, every execution has
/// ended), or `within` passes.
pub(super) async fn wait_for(
    ctx: &Ctx,
    o: &plan::Prepared,
    within: Duration,
    settled: bool,
    until: impl Fn(OrderStatus) -> bool,
) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let (status, ended) = state(ctx, o).await;
        if status.is_some_and(&until) && (ended || !settled) {
            return true;
        }
        tokio::time::sleep(watch::PERIOD).await;
    }
    false
}

/// One order's life as its partner lives it: the webhook (and its copies), the follow-up, and
/// waiting for the end.
pub(super) async fn flow(ctx: &Arc<Ctx>, p: &Planned) -> Result<OrderFacts, String> {
    let prepared = plan::prepare(&ctx.root, p, &ctx.run, chrono::Utc::now())?;
    if let (Some(order), Some(sim)) = (&prepared.fetched, ctx.cloud.partners.get(&p.partner)) {
        sim.book
            .add(&prepared.partner_order_id, order.clone())
            .await;
    }
    let scale = ctx.cloud.time_scale.factor();
    let release_at = prepared
        .release_at
        .map(|t| t.timestamp_micros() as f64 / 1e6);
    let hold = release_at.map_or(0.0, |at| (at - epoch_now()).max(0.0) / scale);
    // Through a POS outage an order waits for the POS as long as it can still be made in
    // time (its send-by, the design's promise), then is cancelled with its partner: an order
    // that may meet the outage is bound by its send-by, not by the outage's end (the backlog
    // that waited it out drains through pos's concurrency once the POS is back).
    let outage_ahead = ctx.outage_ends.is_some_and(|end| end > epoch_now());
    // Real time at any time scale: the POS is retried at real intervals and pos checks the
    // send-by against the real clock.
    let send_by_left = if outage_ahead {
        (prepared.send_by.timestamp_micros() as f64 / 1e6 - epoch_now()).max(0.0)
    } else {
        0.0
    };
    let mut bound = hold.max(send_by_left) + 150.0 + ctx.redelivery;
    // A cancellation or a courier's arrival is ended by release-order, which the bus invokes
    // asynchronously: Lambda's two retries of it come a minute and two minutes after a failure
    // (real time, as on AWS), so such an order may take that much longer through an outage.
    if p.scenario.cancelled() || p.scenario == Scenario::CourierRace {
        bound += crate::lambda::ASYNC_RETRY_BUDGET_SECONDS;
    }
    if p.stranded {
        *ctx.strand
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(prepared.partner_order_id.clone());
        bound += ctx.strand_bound;
    }
    let first_sent = epoch_now();
    deliver(ctx, p.partner, &prepared.body).await?;
    let mut copies = Vec::new();
    let mut after_end = 0;
    for d in &p.extra {
        match *d {
            Delivery::Concurrent | Delivery::Later(_) => {
                let wait = match *d {
                    Delivery::Later(w) => w,
                    _ => Duration::ZERO,
                };
                let (ctx, body, partner) = (ctx.clone(), prepared.body.clone(), p.partner);
                copies.push(tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    deliver(&ctx, partner, &body).await
                }));
            }
            Delivery::AfterEnd => after_end += 1,
        }
    }
    for body in &prepared.noise {
        deliver(ctx, p.partner, body).await?;
    }
    let mut courier_sent = None;
    match (p.scenario, &prepared.follow_up) {
        (Scenario::CancelBeforeAccept, Some(cancel)) => {
            deliver(ctx, p.partner, cancel).await?;
        }
        (Scenario::CourierRace, Some(courier)) => {
            tokio::time::sleep(p.courier_after).await;
            courier_sent = Some(epoch_now());
            deliver(ctx, p.partner, courier).await?;
        }
        (Scenario::CancelWhileHeld, Some(cancel)) => {
            // Cancel once it is held; if it never is (it failed first), cancel anyway.
            wait_for(ctx, &prepared, Duration::from_secs_f64(bound), false, |s| {
                s == OrderStatus::Held || ENDINGS.contains(&s)
            })
            .await;
            deliver(ctx, p.partner, cancel).await?;
        }
        (Scenario::CancelAfterPos, Some(cancel)) => {
            wait_for(ctx, &prepared, Duration::from_secs_f64(bound), false, |s| {
                ENDINGS.contains(&s)
            })
            .await;
            deliver(ctx, p.partner, cancel).await?;
        }
        _ => {}
    }
    for c in copies {
        c.await.map_err(|e| e.to_string())??;
    }
    // A cancelled order ends when the cancellation has been dealt with, not at SentToPos.
    let ending = |s: OrderStatus| {
        ENDINGS.contains(&s) && !(p.scenario.cancelled() && s == OrderStatus::SentToPos)
    };
    let remaining = Duration::from_secs_f64((bound - (epoch_now() - first_sent)).max(1.0));
    let mut ended = wait_for(ctx, &prepared, remaining, true, ending)
        .await
        .then(epoch_now);
    // Past its bound with a handover still in the queue (its batch refused or killed again:
    // SQS brings it back after each visibility timeout) the order is the queue absorbing a
    // failure, as designed, not stranded: wait on while the queue holds its handover, a
    // visibility timeout at a time and at most QUEUED_REDELIVERIES of them, and widen its
    // bound by the time waited. A handover that is not in the queue (lost) gets no more time.
    let mut queued = 0;
    while ended.is_none()
        && queued < QUEUED_REDELIVERIES
        && ctx.cloud.pending_messages(&prepared.order_id).await > 0
    {
        queued += 1;
        bound += ctx.redelivery;
        let wait = Duration::from_secs_f64(ctx.redelivery.max(1.0));
        ended = wait_for(ctx, &prepared, wait, true, ending)
            .await
            .then(epoch_now);
    }
    for _ in 0..after_end {
        deliver(ctx, p.partner, &prepared.body).await?;
    }
    if after_end > 0 {
        // The late copy's execution must end too (as a duplicate).
        wait_for(ctx, &prepared, Duration::from_secs(60), true, |_| true).await;
    }
    ctx.statuses.forget(&prepared.order_id);
    Ok(OrderFacts {
        order_id: prepared.order_id,
        partner: p.partner,
        partner_order_id: prepared.partner_order_id,
        store_id: plan::STORE.to_owned(),
        scenario: p.scenario,
        first_sent,
        ended,
        courier_sent,
        release_at,
        bound_seconds: bound,
        stranded: p.stranded,
    })
}
