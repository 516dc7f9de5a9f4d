//! What became of an order, read from records the functions do not write for themselves: its
//! executions and their paths, its events, the simulators' ledgers, the orders table.

use crate::dynamodb::{self};
use crate::sfn::Execution;
use order_domain::Partner;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

impl LocalCloud {
    /// The orders table's record of an order, as plain JSON.
    pub async fn order_record(&self, order_id: &str) -> Option<Value> {
        let table = self.app.table("OrdersTable")?;
        let dynamo = self.dynamo.lock().await;
        let out = dynamo.call("GetItem", json!({ "TableName": table.name, "Key": { "orderId": { "S": order_id } }, "ConsistentRead": true })).await.ok()?;
        out.get("Item").map(dynamodb::unmarshal)
    }

    /// The status of each of `order_ids` that has a record (at most [`BATCH_GET_KEYS`]),
    /// read consistently in one `BatchGetItem`; keys DynamoDB leaves unprocessed are missing
    /// from the answer (read them again). `Err` is why the request failed.
    pub async fn order_statuses(
        &self,
        order_ids: &[String],
    ) -> Result<Vec<(String, String)>, String> {
        let table = self
            .app
            .table("OrdersTable")
            .ok_or("the template has no OrdersTable")?;
        let keys: Vec<Value> = order_ids
            .iter()
            .map(|id| json!({ "orderId": { "S": id } }))
            .collect();
        let request = json!({ "RequestItems": { &table.name: {
            "Keys": keys,
            "ConsistentRead": true,
            "ProjectionExpression": "orderId, #status",
            "ExpressionAttributeNames": { "#status": "status" },
        } } });
        let out = self
            .dynamo
            .lock()
            .await
            .call("BatchGetItem", request)
            .await
            .map_err(|e| e.to_string())?;
        Ok(out["Responses"][&table.name]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                Some((
                    item["orderId"]["S"].as_str()?.to_owned(),
                    item["status"]["S"].as_str()?.to_owned(),
                ))
            })
            .collect())
    }

    /// Every item of a table (by logical id), as plain JSON.
    pub async fn scan(&self, logical_id: &str) -> Vec<Value> {
        let Some(table) = self.app.table(logical_id) else {
            return Vec::new();
        };
        let dynamo = self.dynamo.lock().await;
        let mut items = Vec::new();
        let mut start: Option<Value> = None;
        loop {
            let mut req = json!({ "TableName": table.name });
            if let Some(k) = start.take() {
                req["ExclusiveStartKey"] = k;
            }
            let Ok(out) = dynamo.call("Scan", req).await else {
                break;
            };
            items.extend(
                out.get("Items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(dynamodb::unmarshal),
            );
            match out.get("LastEvaluatedKey") {
                Some(k) => start = Some(k.clone()),
                None => break,
            }
        }
        items
    }

    /// Executions started for a partner order (by the `Order Received` event they began with).
    pub async fn executions_of(&self, partner_order_id: &str) -> Vec<Arc<Execution>> {
        let mut index = self.executions_by_order.lock().await;
        let new = self.sfn.executions_since(index.seen).await;
        index.seen += new.len();
        for e in new {
            if let Some(id) = partner_order_of(&e.input) {
                index.by_order.entry(id.to_owned()).or_default().push(e);
            }
        }
        index
            .by_order
            .get(partner_order_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The order's runs: each Express execution with the Standard execution it handed over
    /// to (one logical run of the order's workflow across the two state machines), and any
    /// Standard execution started on its own; in start order.
    pub async fn runs_of(&self, partner_order_id: &str) -> Vec<Run> {
        runs(self.executions_of(partner_order_id).await)
    }

    /// Every run (see [`LocalCloud::runs_of`]).
    pub async fn runs(&self) -> Vec<Run> {
        runs(self.sfn.executions().await)
    }

    /// Events about an order (its id in `detail.data.orderId`, or the partner order id for
    /// intake's events), oldest first.
    pub async fn events_of(&self, order_id: &str, partner_order_id: &str) -> Vec<Value> {
        self.bus
            .archive()
            .await
            .into_iter()
            .map(|e| e["event"].clone())
            .filter(|e| {
                let data = &e["detail"]["data"];
                data["orderId"].as_str() == Some(order_id)
                    || data["partnerOrderId"].as_str() == Some(partner_order_id)
            })
            .collect()
    }

    /// Messages naming `order_id` (as a JSON string) in the queues work is waiting in (not
    /// the dead-letter queues): handovers whose Standard execution has not started yet.
    pub async fn pending_messages(&self, order_id: &str) -> usize {
        let needle = format!("\"{order_id}\"");
        let mut n = 0;
        self.each_work_message(|body| n += usize::from(body.contains(&needle)))
            .await;
        n
    }

    /// Calls `f` with the body of every message in the queues work waits in (those with a
    /// dead-letter queue), without copying them.
    async fn each_work_message(&self, mut f: impl FnMut(&str)) {
        for spec in self
            .app
            .queue_specs
            .iter()
            .filter(|q| q.dead_letter.is_some())
        {
            self.sqs.for_each_body(&spec.name, &mut f).await;
        }
    }

    /// The orders with a message waiting in a work queue (a handover: its body's
    /// `input.orderId`), read in one pass over the queues.
    pub async fn queued_orders(&self) -> std::collections::HashSet<String> {
        let mut out = std::collections::HashSet::new();
        self.each_work_message(|body| {
            if let Ok(v) = serde_json::from_str::<Value>(body)
                && let Some(id) = v.pointer("/input/orderId").and_then(Value::as_str)
            {
                out.insert(id.to_owned());
            }
        })
        .await;
        out
    }

    /// Work accepted and not yet done: messages waiting in the queues work waits in (not the
    /// dead-letter queues), bus deliveries not yet ended (retries and backoff included) and
    /// asynchronous invocations in Lambda's internal queue (between retries too). A run reads
    /// its records only when this is zero, or it reads them while a retry is still to come.
    pub async fn pending_work(&self) -> usize {
        let mut n = self.bus.deliveries_in_flight() + self.lambda.queued_events();
        for spec in self
            .app
            .queue_specs
            .iter()
            .filter(|q| q.dead_letter.is_some())
        {
            n += self.sqs.messages(&spec.name).await.len();
        }
        n
    }

    /// Everything known about one order.
    pub async fn order_view(&self, partner: Partner, partner_order_id: &str) -> OrderView {
        let order_id = format!("{}.{}", partner.as_str(), partner_order_id);
        let record = self.order_record(&order_id).await;
        let mut executions = Vec::new();
        for run in self.runs_of(partner_order_id).await {
            let (status, error) = run.status().await;
            executions.push(ExecutionView {
                name: run.name().to_owned(),
                status,
                path: run.path().await,
                error,
            });
        }
        let events = self
            .events_of(&order_id, partner_order_id)
            .await
            .iter()
            .filter_map(|e| e["detail-type"].as_str().map(str::to_owned))
            .collect();
        let pos_orders = self
            .pos_book
            .orders()
            .await
            .into_iter()
            .filter(|o| o.ticket["externalId"].as_str() == Some(order_id.as_str()))
            .map(|o| json!({ "posOrderId": o.pos_order_id, "status": o.status }))
            .collect();
        OrderView {
            status: record
                .as_ref()
                .and_then(|r| r["status"].as_str().map(str::to_owned)),
            history: record
                .as_ref()
                .and_then(|r| {
                    r["history"].as_array().map(|h| {
                        h.iter()
                            .filter_map(|c| c["status"].as_str().map(str::to_owned))
                            .collect()
                    })
                })
                .unwrap_or_default(),
            handovers_pending: self.pending_messages(&order_id).await,
            order_id,
            partner_order_id: partner_order_id.to_owned(),
            executions,
            events,
            pos_orders,
        }
    }

    /// Waits until every execution has ended and no work is pending ([`Self::pending_work`]),
    /// or `within` passes.
    pub async fn quiesce(&self, within: Duration) -> Result<(), String> {
        eventually(within, "every execution to end", || async {
            for e in self.sfn.executions().await {
                if e.status().await == crate::sfn::Status::Running {
                    return None;
                }
            }
            (self.pending_work().await == 0).then_some(())
        })
        .await
    }
}

/// Everything known about one order.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The pipeline's id.
    pub order_id: String,
    /// The partner's id.
    pub partner_order_id: String,
    /// Status in the orders table.
    pub status: Option<String>,
    /// Statuses it went through.
    pub history: Vec<String>,
    /// Its executions.
    pub executions: Vec<ExecutionView>,
    /// Detail-types of the events about it, oldest first.
    pub events: Vec<String>,
    /// Its POS orders (`posOrderId`, `status`).
    pub pos_orders: Vec<Value>,
    /// Handovers of it waiting in a queue for their Standard execution to start.
    #[serde(default)]
    pub handovers_pending: usize,
}

/// One execution.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView {
    /// Name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, …
    pub status: String,
    /// States entered.
    pub path: Vec<String>,
    /// Error, if failed.
    pub error: Option<String>,
}

impl OrderView {
    /// Whether every execution has ended (and there is at least one), and no handover of it
    /// waits to start another.
    pub fn settled(&self) -> bool {
        !self.executions.is_empty()
            && self.executions.iter().all(|e| e.status != "RUNNING")
            && self.handovers_pending == 0
    }
}

/// Polls `check` every 25 ms until it gives a value or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if started.elapsed() > within {
            return Err(format!("timed out after {within:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The partner order id an execution is about: the `Order Received` event's
/// (`detail.data.partnerOrderId`), or, for an execution handed over to, the received order's
/// (`received.data.partnerOrderId`).
pub fn partner_order_of(input: &Value) -> Option<&str> {
    input
        .pointer("/detail/data/partnerOrderId")
        .or_else(|| input.pointer("/received/data/partnerOrderId"))
        .and_then(Value::as_str)
}

/// One run of an order's workflow: an execution and those it handed over to, if any
/// (`handover.from` in a continuation's input names an execution of the run: the Express
/// execution that handed over to the Standard workflow, whose hand-back to the Express
/// workflow carries the same state, or an execution started by one of those).
#[derive(Debug, Clone)]
pub struct Run {
    /// The executions, first the one the event started.
    pub executions: Vec<Arc<Execution>>,
}

impl Run {
    /// The first execution's name.
    pub fn name(&self) -> &str {
        self.executions.first().map_or("", |e| e.name.as_str())
    }

    /// `RUNNING` while any execution runs, else the last one's status; with its error.
    pub async fn status(&self) -> (String, Option<String>) {
        let mut last = ("RUNNING".to_owned(), None);
        for e in &self.executions {
            let s = e.snapshot().await;
            if s.status == crate::sfn::Status::Running {
                return ("RUNNING".to_owned(), None);
            }
            last = (format!("{:?}", s.status).to_uppercase(), s.error);
        }
        last
    }

    /// The states entered, across the executions.
    pub async fn path(&self) -> Vec<String> {
        let mut path = Vec::new();
        for e in &self.executions {
            path.extend(e.path().await);
        }
        path
    }

    /// The history events, across the executions.
    pub async fn history(&self) -> Vec<crate::sfn::HistoryEvent> {
        let mut history = Vec::new();
        for e in &self.executions {
            history.extend(e.history().await);
        }
        history
    }
}

/// Groups executions into runs: one handed over to joins the one that handed over.
fn runs(executions: Vec<Arc<Execution>>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut continuations = Vec::new();
    for e in executions {
        match e.input.pointer("/handover/from").and_then(Value::as_str) {
            Some(from) => continuations.push((from.to_owned(), e)),
            None => out.push(Run {
                executions: vec![e],
            }),
        }
    }
    for (from, e) in continuations {
        match out
            .iter_mut()
            .find(|r| r.executions.iter().any(|x| x.arn == from))
        {
            Some(run) => run.executions.push(e),
            None => out.push(Run {
                executions: vec![e],
            }),
        }
    }
    out
}
