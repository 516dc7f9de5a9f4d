//! The hold: an accepted order that is early waits in a `.waitForTaskToken` task. This stores
//! the token with the release time; `expire` releases the order when the task times out.

use std::sync::Arc;

use order_domain::{OrderId, OrderStatus, ReleasedBy, StoreId};
use order_events::{OrderHeld, OrderReleased};
use tracing::info;

use crate::errors::PipelineError;
use crate::io::{HoldPlan, HoldStored, Release};
use crate::ports::{
    Clock, EventPublisher, HeldOrder, HeldOrders, Metric, Metrics, OrdersRepo, StatusUpdate,
    Transition,
};
use crate::usecases::order_event;

/// The hold-order use case.
pub struct HoldKeeper {
    /// Held-orders table.
    pub held: Arc<dyn HeldOrders>,
    /// Orders table.
    pub orders: Arc<dyn OrdersRepo>,
    /// The bus.
    pub publisher: Arc<dyn EventPublisher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
}

impl HoldKeeper {
    /// Runs one `hold-order` input.
    pub async fn handle(
        &self,
        input: &crate::io::HoldInput,
    ) -> Result<crate::io::HoldOutput, PipelineError> {
        use crate::io::{HoldInput, HoldOutput};
        Ok(match input {
            HoldInput::Hold {
                order_id,
                store_id,
                plan,
                task_token,
                correlation_id,
            } => HoldOutput::Stored(
                self.hold(order_id, store_id, plan, task_token, correlation_id)
                    .await?,
            ),
            HoldInput::Expire {
                order_id,
                store_id,
                correlation_id,
            } => HoldOutput::Released(self.expire(order_id, store_id, correlation_id).await?),
        })
    }

    /// Stores the task token. A cancellation that arrived before the hold fails the task at once.
    pub async fn hold(
        &self,
        order_id: &OrderId,
        store_id: &StoreId,
        plan: &HoldPlan,
        task_token: &str,
        correlation_id: &str,
    ) -> Result<HoldStored, PipelineError> {
        let now = self.clock.now();
        if task_token.trim().is_empty() {
            return Err(PipelineError::InvalidInput("taskToken is empty".to_owned()));
        }
        match self
            .orders
            .transition(order_id, OrderStatus::Held, now, StatusUpdate::default())
            .await?
        {
            Transition::Applied(r) | Transition::AlreadyThere(r) if r.cancel_requested => {
                return Err(PipelineError::Cancelled {
                    order_id: order_id.clone(),
                    detail: String::new(),
                });
            }
            Transition::Applied(_) | Transition::AlreadyThere(_) => {}
            Transition::Refused {
                current: OrderStatus::Cancelled,
            } => {
                return Err(PipelineError::Cancelled {
                    order_id: order_id.clone(),
                    detail: String::new(),
                });
            }
            Transition::Refused { current } => {
                return Err(PipelineError::StatusConflict {
                    order_id: order_id.clone(),
                    current,
                    wanted: OrderStatus::Held,
                });
            }
            Transition::Missing => {
                return Err(PipelineError::InvalidInput(format!(
                    "no record for order {order_id}"
                )));
            }
        }
        self.held
            .put(&HeldOrder {
                order_id: order_id.clone(),
                store_id: store_id.clone(),
                task_token: task_token.to_owned(),
                hold: plan.hold(),
                correlation_id: correlation_id.to_owned(),
            })
            .await?;
        // A cancellation that arrived after the order became Held but before its token was
        // stored found no token to fail: look again now that it is stored. Whoever takes the
        // row back acts on it (here: fail the task at once; release-order: fail the token).
        if self
            .orders
            .get(order_id)
            .await?
            .is_some_and(|r| r.cancel_requested)
        {
            if self.held.take(order_id).await?.is_some() {
                info!(order_id = %order_id, "cancelled while its hold was being stored");
                return Err(PipelineError::Cancelled {
                    order_id: order_id.clone(),
                    detail: String::new(),
                });
            }
            return Ok(HoldStored {
                order_id: order_id.clone(),
            });
        }
        let event = order_event(
            order_id,
            correlation_id,
            now,
            OrderHeld {
                order_id: order_id.clone(),
                store_id: store_id.clone(),
                release_at: plan.release_at,
                early_release_from: plan.early_release_from,
            },
        )?;
        self.publisher.publish(&[event]).await?;
        self.metrics.record(Metric::OrderHeld);
        info!(order_id = %order_id, release_at = %plan.release_at, "order held");
        Ok(HoldStored {
            order_id: order_id.clone(),
        })
    }

    /// The hold's time has come: removes the token and marks the order released by time.
    pub async fn expire(
        &self,
        order_id: &OrderId,
        store_id: &StoreId,
        correlation_id: &str,
    ) -> Result<Release, PipelineError> {
        let now = self.clock.now();
        self.held.take(order_id).await?;
        release(
            &*self.orders,
            &*self.publisher,
            &*self.metrics,
            order_id,
            store_id,
            correlation_id,
            ReleasedBy::Time,
            now,
        )
        .await?;
        Ok(Release {
            released_by: ReleasedBy::Time,
        })
    }
}

/// Marks a held order released and announces it; a cancelled order is reported as such.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn release(
    orders: &dyn OrdersRepo,
    publisher: &dyn crate::ports::EventPublisher,
    metrics: &dyn Metrics,
    order_id: &OrderId,
    store_id: &StoreId,
    correlation_id: &str,
    by: ReleasedBy,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), PipelineError> {
    let update = StatusUpdate {
        note: Some(by.as_str().to_owned()),
        ..Default::default()
    };
    match orders
        .transition(order_id, OrderStatus::Released, now, update)
        .await?
    {
        Transition::Applied(r) if r.cancel_requested => {
            return Err(PipelineError::Cancelled {
                order_id: order_id.clone(),
                detail: String::new(),
            });
        }
        Transition::Applied(_) => {}
        // Released already (by the other path) or further along: nothing to announce twice.
        Transition::AlreadyThere(_)
        | Transition::Refused {
            current: OrderStatus::SentToPos,
        } => return Ok(()),
        Transition::Refused {
            current: OrderStatus::Cancelled,
        } => {
            return Err(PipelineError::Cancelled {
                order_id: order_id.clone(),
                detail: String::new(),
            });
        }
        Transition::Refused { current } => {
            return Err(PipelineError::StatusConflict {
                order_id: order_id.clone(),
                current,
                wanted: OrderStatus::Released,
            });
        }
        Transition::Missing => {
            return Err(PipelineError::InvalidInput(format!(
                "no record for order {order_id}"
            )));
        }
    }
    let event = order_event(
        order_id,
        correlation_id,
        now,
        OrderReleased {
            order_id: order_id.clone(),
            store_id: store_id.clone(),
            released_by: by,
        },
    )?;
    publisher.publish(&[event]).await?;
    metrics.record(Metric::OrderReleased { by: by.as_str() });
    info!(order_id = %order_id, released_by = by.as_str(), "order released");
    Ok(())
}
