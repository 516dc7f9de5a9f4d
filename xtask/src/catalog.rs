//! `cargo xtask catalog`: changes to the store catalogue of a running local cloud (`--local`)
//! or of a deployed stage (`--stage <stage>`, with AWS credentials in the environment).
//!
//! ```text
//! cargo xtask catalog load   (--local | --stage <stage>) [--file <catalog.json>]
//! cargo xtask catalog pause  (--local | --stage <stage>) --store <id> --reason <text> [--until <RFC 3339>]
//! cargo xtask catalog resume (--local | --stage <stage>) --store <id>
//! cargo xtask catalog sold-out (--local | --stage <stage>) --store <id> --item <POS code>
//! cargo xtask catalog back     (--local | --stage <stage>) --store <id> --item <POS code>
//! cargo xtask catalog publish-menu (--local | --stage <stage>) --file <menu.json>
//! cargo xtask catalog special-hours (--local | --stage <stage>) --store <id> --date <YYYY-MM-DD> (--hours <HH:MM-HH:MM,…> | --closed | --clear)
//! cargo xtask catalog list (--local | --stage <stage>)
//! ```
//!
//! There is no default target: without `--local` or `--stage` nothing is called.
//!
//! Each change, once made, is announced on the stage's order bus (`orders-<stage>`): `Store
//! Paused`, `Store Resumed`, `Menu Published`, `Item Availability Changed`.

use std::path::Path;
use std::sync::Arc;

use aws_adapters::catalog_admin::{self, PauseChange};
use order_domain::StoreId;
use pipeline::catalog_admin::{Applied, CatalogAdministration, Change};

/// Usage, printed on a wrong call.
pub const USAGE: &str = "usage: cargo xtask catalog load   (--local | --stage <stage>) [--file <catalog.json>]
       cargo xtask catalog pause  (--local | --stage <stage>) --store <id> --reason <text> [--until <RFC 3339>]
       cargo xtask catalog resume (--local | --stage <stage>) --store <id>
       cargo xtask catalog sold-out (--local | --stage <stage>) --store <id> --item <POS code>
       cargo xtask catalog back     (--local | --stage <stage>) --store <id> --item <POS code>
       cargo xtask catalog publish-menu (--local | --stage <stage>) --file <menu.json>
       cargo xtask catalog special-hours (--local | --stage <stage>) --store <id> --date <YYYY-MM-DD> (--hours <HH:MM-HH:MM,…> | --closed | --clear)
       cargo xtask catalog list (--local | --stage <stage>)";

/// Where the catalogue tables and the order bus are.
struct Target {
    client: aws_sdk_dynamodb::Client,
    stores: String,
    menus: String,
    bus: aws_adapters::EventBridgePublisher,
}

impl Target {
    /// The catalogue admin use case over the target's tables and bus.
    fn administration(&self) -> CatalogAdministration {
        CatalogAdministration {
            admin: Arc::new(catalog_admin::DynamoCatalogAdmin::new(
                self.client.clone(),
                &self.stores,
                &self.menus,
            )),
            bus: Arc::new(self.bus.clone()),
            clock: Arc::new(pipeline::ports::SystemClock),
        }
    }

    /// Makes `change` and announces it.
    async fn apply(&self, change: Change) -> Result<Applied, String> {
        self.administration()
            .apply(change)
            .await
            .map_err(|e| pipeline::catalog_admin::error_chain(&e))
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The template's table names for `stage` (`orders-<stage>-stores`, `orders-<stage>-menus`).
fn table_names(stage: &str) -> (String, String) {
    (
        format!("orders-{stage}-stores"),
        format!("orders-{stage}-menus"),
    )
}

/// The template's order bus for `stage`.
fn bus_name(stage: &str) -> String {
    format!("orders-{stage}")
}

fn target(root: &Path, args: &[String]) -> Result<Target, String> {
    let env = |k: &str| std::env::var(k).ok();
    if args.iter().any(|a| a == "--local") {
        let path = root.join(".local/cloud.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (is `make up` or `local-cloud up` running?)",
                path.display()
            )
        })?;
        let endpoints: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let endpoint = |key: &str| {
            endpoints[key]
                .as_str()
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("{} names no {key} endpoint", path.display()))
        };
        let stage = flag(args, "--stage").unwrap_or("local");
        let (stores, menus) = table_names(stage);
        return Ok(Target {
            client: aws_adapters::AwsConfig::loopback(&endpoint("dynamodbLocal")?).dynamodb(),
            stores,
            menus,
            bus: aws_adapters::EventBridgePublisher::new(
                aws_adapters::AwsConfig::loopback(&endpoint("eventbridge")?).eventbridge(),
                bus_name(stage),
            ),
        });
    }
    let stage = flag(args, "--stage")
        .ok_or_else(|| format!("say where: --local or --stage <stage>\n{USAGE}"))?;
    let config = aws_adapters::AwsConfig::from_env(env).map_err(|e| {
        format!(
            "{e} (export the credentials, e.g. eval \"$(aws configure export-credentials --format env)\")"
        )
    })?;
    let (stores, menus) = table_names(stage);
    Ok(Target {
        client: config.dynamodb(),
        stores,
        menus,
        bus: aws_adapters::EventBridgePublisher::new(config.eventbridge(), bus_name(stage)),
    })
}

/// The store document a store change wrote (`null` for a menu).
fn store_doc(applied: &Applied) -> &serde_json::Value {
    match applied {
        Applied::Store(doc) => doc,
        Applied::Menu(_) => &serde_json::Value::Null,
    }
}

fn store(args: &[String]) -> Result<StoreId, String> {
    let id = flag(args, "--store").ok_or_else(|| format!("--store <id> is required\n{USAGE}"))?;
    StoreId::parse(id).map_err(|e| e.to_string())
}

/// Runs `cargo xtask catalog <args>`; returns what to print.
pub async fn run(root: &Path, args: &[String]) -> Result<String, String> {
    let command = args.first().map(String::as_str);
    let rest = args.get(1..).unwrap_or_default();
    match command {
        Some("load") => {
            let t = target(root, rest)?;
            let file = flag(rest, "--file")
                .map(|f| root.join(f))
                .unwrap_or_else(|| root.join("crates/domain/catalog/catalog.json"));
            let json =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let loaded = catalog_admin::load(&t.client, &t.stores, &t.menus, &json)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "loaded {} stores ({} partner ids) and {} menus into {} and {}; {} already there kept as they were (change them with the other commands)",
                loaded.stores, loaded.aliases, loaded.menus, t.stores, t.menus, loaded.kept
            ))
        }
        Some("pause") => {
            let t = target(root, rest)?;
            let id = store(rest)?;
            let reason = flag(rest, "--reason")
                .ok_or_else(|| format!("--reason <text> is required\n{USAGE}"))?;
            let until = flag(rest, "--until")
                .map(|u| {
                    chrono::DateTime::parse_from_rfc3339(u)
                        .map(|t| t.to_utc())
                        .map_err(|e| format!("--until {u:?}: {e}"))
                })
                .transpose()?;
            let pause = PauseChange {
                reason: reason.to_owned(),
                until,
            };
            let doc = t
                .apply(Change::Pause {
                    store: id.clone(),
                    pause,
                })
                .await?;
            Ok(format!("store {id} paused: {}", store_doc(&doc)["pause"]))
        }
        Some("resume") => {
            let t = target(root, rest)?;
            let id = store(rest)?;
            t.apply(Change::Resume { store: id.clone() }).await?;
            Ok(format!("store {id} resumed"))
        }
        Some(verb @ ("sold-out" | "back")) => {
            let t = target(root, rest)?;
            let id = store(rest)?;
            let item = flag(rest, "--item")
                .ok_or_else(|| format!("--item <POS code> is required\n{USAGE}"))?;
            let available = verb == "back";
            t.apply(Change::ItemAvailability {
                store: id.clone(),
                pos_code: item.to_owned(),
                available,
            })
            .await?;
            Ok(format!(
                "{item} at store {id}: {}",
                if available { "available" } else { "sold out" }
            ))
        }
        Some("publish-menu") => {
            let file = flag(rest, "--file")
                .ok_or_else(|| format!("--file <menu.json> is required\n{USAGE}"))?;
            let json = std::fs::read_to_string(root.join(file))
                .or_else(|_| std::fs::read_to_string(file))
                .map_err(|e| format!("{file}: {e}"))?;
            let t = target(root, rest)?;
            let Applied::Menu(p) = t.apply(Change::PublishMenu { menu: json }).await? else {
                return Err("publishing a menu answered with a store".to_owned());
            };
            Ok(format!(
                "menu {} version {} published; {} stores moved to it",
                p.menu, p.version, p.stores
            ))
        }
        Some("special-hours") => {
            let id = store(rest)?;
            let date = flag(rest, "--date")
                .ok_or_else(|| format!("--date <YYYY-MM-DD> is required\n{USAGE}"))?;
            let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|e| format!("--date {date}: {e}"))?;
            let intervals = match (
                flag(rest, "--hours"),
                rest.iter().any(|a| a == "--closed"),
                rest.iter().any(|a| a == "--clear"),
            ) {
                (Some(h), false, false) => Some(h.split(',').map(str::to_owned).collect()),
                (None, true, false) => Some(Vec::new()),
                (None, false, true) => None,
                _ => return Err(format!("one of --hours, --closed or --clear\n{USAGE}")),
            };
            let t = target(root, rest)?;
            let applied = t
                .apply(Change::SpecialHours {
                    store: id.clone(),
                    date,
                    hours: intervals,
                })
                .await?;
            let doc = store_doc(&applied);
            Ok(format!(
                "store {id} on {date}: {}",
                doc["specialHours"]
                    .get(date.to_string())
                    .map_or("weekly hours".to_owned(), |h| {
                        if h.as_array().is_some_and(Vec::is_empty) {
                            "closed".to_owned()
                        } else {
                            h.to_string()
                        }
                    })
            ))
        }
        Some("list") => {
            let t = target(root, rest)?;
            let stores = catalog_admin::list(&t.client, &t.stores)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&stores).map_err(|e| e.to_string())
        }
        _ => Err(USAGE.to_owned()),
    }
}
