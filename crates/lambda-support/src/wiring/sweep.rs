//! The sweeper's wiring: the sweep of overdue orders and the POS watch, which pauses and
//! resumes stores through the catalogue's administration.

use std::sync::Arc;

use pipeline::ports::*;

use super::{Backend, embedded_catalog_admin};
use crate::config::{ConfigError, Env, vars};

/// The default of [`vars::SWEEP_GRACE_MINUTES`].
pub const SWEEP_GRACE_MINUTES: i64 = 90;

/// The sweeper use case: ends orders left open past their deadline and grace, through the
/// Standard workflow.
pub async fn sweeper(
    env: &Env,
    backend: &Backend,
) -> Result<pipeline::usecases::sweep::Sweeper, ConfigError> {
    let minutes = env.parsed_or::<i64>(vars::SWEEP_GRACE_MINUTES, SWEEP_GRACE_MINUTES)?;
    if minutes < 1 {
        return Err(ConfigError::Invalid {
            name: vars::SWEEP_GRACE_MINUTES,
            value: minutes.to_string(),
            why: "must be at least 1 minute".to_owned(),
        });
    }
    let pause_after =
        env.parsed_or::<i64>(vars::POS_PAUSE_AFTER_SECONDS, POS_PAUSE_AFTER_SECONDS)?;
    if pause_after < 1 {
        return Err(ConfigError::Invalid {
            name: vars::POS_PAUSE_AFTER_SECONDS,
            value: pause_after.to_string(),
            why: "must be at least 1 second".to_owned(),
        });
    }
    // The watch reads each store's status where the administration writes it (in memory,
    // the administration's own catalogue).
    let (administration, catalog): (_, Arc<dyn CatalogSource>) = match backend {
        Backend::Memory(_) => {
            let admin = Arc::new(embedded_catalog_admin()?);
            let catalog = admin.catalog();
            let administration = pipeline::catalog_admin::CatalogAdministration {
                admin,
                bus: backend.publisher(env)?,
                clock: backend.clock(),
            };
            (administration, catalog)
        }
        Backend::Aws(aws) => {
            let Some(client) = backend.dynamo() else {
                unreachable!("an AWS backend has a DynamoDB client")
            };
            // Pauses and resumes only: the stores table's read and conditional write.
            aws.named(
                aws_adapters::catalog_admin::PAUSE_IAM_ACTIONS,
                vars::STORES_TABLE,
            );
            let admin = Arc::new(aws_adapters::catalog_admin::DynamoCatalogAdmin::new(
                client,
                env.required(vars::STORES_TABLE)?,
                env.required(vars::MENUS_TABLE)?,
            ));
            let administration = pipeline::catalog_admin::CatalogAdministration {
                admin,
                bus: backend.publisher(env)?,
                clock: backend.clock(),
            };
            (administration, backend.catalog(env)?)
        }
    };
    Ok(pipeline::usecases::sweep::Sweeper {
        orders: backend.sweep_orders(env)?,
        starter: backend.starter(env)?,
        clock: backend.clock(),
        metrics: backend.metrics(env),
        grace: chrono::Duration::minutes(minutes),
        watch: pipeline::usecases::pos_watch::PosWatch {
            health: backend.pos_health_watched(env)?,
            pos: backend.pos_api(env).await?,
            catalog,
            administration,
            clock: backend.clock(),
            pause_after: chrono::Duration::seconds(pause_after),
        },
    })
}

/// How often one process records a store's POS failing while it fails, seconds: far below
/// the pause's threshold, far above a busy store's rate of failed calls.
pub const POS_HEALTH_WRITE_EVERY_SECONDS: i64 = 30;

/// The default of [`vars::POS_PAUSE_AFTER_SECONDS`]: ten minutes.
pub const POS_PAUSE_AFTER_SECONDS: i64 = 600;
