//! `cargo xtask stateful [--check | --accept]`: the template's resources that hold data, and
//! the properties whose change makes CloudFormation replace them, recorded in
//! `infra/stateful.json` as they are deployed.
//!
//! A stack update that changes one of those properties ("Update requires: Replacement" in
//! each property's CloudFormation reference) creates a new resource and deletes the old one: a
//! table, queue, bus, archive or log group with a fixed name fails the update (the name is
//! taken), and one without loses what it held. So `--check` (in `make generated`) fails, naming
//! the resource and the property, when the template would replace or drop a recorded
//! resource; a new one only needs recording. `--accept` records the template as it is, for a
//! replacement meant on purpose (a new stage, data migrated first: say so in the change).

use std::collections::BTreeMap;
use std::path::Path;

use sam_template::Template;
use serde_json::{Value, json};

/// Where the record is kept.
pub const RECORD: &str = "infra/stateful.json";

/// Each stateful resource type and the properties whose change replaces it (the
/// CloudFormation resource reference, "Update requires: Replacement").
pub const REPLACED_BY: [(&str, &[&str]); 5] = [
    (
        "AWS::DynamoDB::Table",
        &["TableName", "KeySchema", "LocalSecondaryIndexes"],
    ),
    ("AWS::SQS::Queue", &["QueueName", "FifoQueue"]),
    ("AWS::Events::EventBus", &["Name", "EventSourceName"]),
    ("AWS::Events::Archive", &["ArchiveName", "SourceArn"]),
    ("AWS::Logs::LogGroup", &["LogGroupName"]),
];

/// The record of `template`: every stateful resource by logical id, its type and the
/// replacing properties it sets (as written, intrinsics in their long form).
pub fn record(template: &Template) -> Value {
    let mut resources = BTreeMap::new();
    for r in template.resources() {
        let Some((_, properties)) = REPLACED_BY.iter().find(|(kind, _)| *kind == r.kind) else {
            continue;
        };
        let set: BTreeMap<&str, Value> = properties
            .iter()
            .filter_map(|p| r.properties.get(*p).map(|v| (*p, v.clone())))
            .collect();
        resources.insert(r.id.clone(), json!({ "type": r.kind, "replacedBy": set }));
    }
    json!({
        "about": "The template's resources that hold data, and the properties whose change makes CloudFormation replace them (cargo xtask stateful; checked by make generated).",
        "resources": resources,
    })
}

/// What `current` would do to the resources `recorded` holds: each replacement or removal,
/// named (empty: nothing recorded is replaced).
pub fn replacements(recorded: &Value, current: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let was = recorded["resources"].as_object().unwrap_or(&empty);
    let now = current["resources"].as_object().unwrap_or(&empty);
    let mut problems = Vec::new();
    for (id, before) in was {
        let Some(after) = now.get(id) else {
            problems.push(format!(
                "{id} ({}) is gone from the template: the update would delete it and what it holds",
                before["type"].as_str().unwrap_or("?")
            ));
            continue;
        };
        if after["type"] != before["type"] {
            problems.push(format!(
                "{id} changes type from {} to {}: the update would replace it",
                before["type"], after["type"]
            ));
            continue;
        }
        let kind = before["type"].as_str().unwrap_or_default();
        let properties = REPLACED_BY
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&[][..], |(_, p)| *p);
        for p in properties {
            if before["replacedBy"].get(*p) != after["replacedBy"].get(*p) {
                problems.push(format!(
                    "{id} ({kind}): changing {p} makes CloudFormation replace it (a new resource, the old one deleted with what it holds, or the update refused on its name)"
                ));
            }
        }
    }
    problems
}

/// Runs the task: writes the record, or checks the template against it.
///
/// # Errors
/// The template or the record cannot be read, or (`check`) the template would replace a
/// recorded resource, or holds one not recorded yet.
pub fn run(root: &Path, check: bool, accept: bool) -> Result<String, String> {
    let template = Template::load(&root.join("infra/template.yaml")).map_err(|e| e.to_string())?;
    let current = record(&template);
    let path = root.join(RECORD);
    let recorded: Option<Value> = std::fs::read_to_string(&path)
        .ok()
        .map(|t| serde_json::from_str(&t).map_err(|e| format!("{RECORD}: {e}")))
        .transpose()?;
    let problems = recorded
        .as_ref()
        .map(|r| replacements(r, &current))
        .unwrap_or_default();
    if check {
        if !problems.is_empty() {
            return Err(format!(
                "the template would replace or remove resources that hold data:\n  {}\nIf that is meant (a new stage, the data moved first), record it with `cargo xtask stateful --accept` and say so in the change.",
                problems.join("\n  ")
            ));
        }
        if recorded.as_ref() != Some(&current) {
            return Err(format!(
                "{RECORD} does not hold every stateful resource of the template (a new one): run `cargo xtask stateful`"
            ));
        }
        let n = current["resources"].as_object().map_or(0, |m| m.len());
        return Ok(format!("{n} stateful resources, none replaced"));
    }
    if !problems.is_empty() && !accept {
        return Err(format!(
            "not recorded: the template would replace or remove resources that hold data:\n  {}\nRun `cargo xtask stateful --accept` if that is meant.",
            problems.join("\n  ")
        ));
    }
    let text = serde_json::to_string_pretty(&current).map_err(|e| e.to_string())? + "\n";
    std::fs::write(&path, text).map_err(|e| format!("{RECORD}: {e}"))?;
    Ok(format!("{RECORD} written"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template::load(&lambda_support::samples::repo_root().join("infra/template.yaml")).unwrap()
    }

    #[test]
    fn the_committed_record_is_the_templates() {
        let recorded: Value = serde_json::from_str(
            &std::fs::read_to_string(lambda_support::samples::repo_root().join(RECORD)).unwrap(),
        )
        .unwrap();
        assert_eq!(recorded, record(&template()));
        let n = recorded["resources"].as_object().unwrap().len();
        assert!(
            n >= 20,
            "tables, queues, the bus, the archive, log groups: {n}"
        );
    }

    #[test]
    fn a_change_that_replaces_or_drops_a_resource_holding_data_is_named() {
        let before = record(&template());
        let mut after = before.clone();
        let table = after["resources"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, r)| r["type"] == "AWS::DynamoDB::Table")
            .map(|(id, _)| id.clone())
            .unwrap();
        after["resources"][&table]["replacedBy"]["KeySchema"] =
            json!([{ "AttributeName": "other", "KeyType": "HASH" }]);
        let queue = after["resources"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, r)| r["type"] == "AWS::SQS::Queue")
            .map(|(id, _)| id.clone())
            .unwrap();
        after["resources"].as_object_mut().unwrap().remove(&queue);
        let problems = replacements(&before, &after);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems.iter().any(|p| p.starts_with(&format!(
                "{table} (AWS::DynamoDB::Table): changing KeySchema"
            ))),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("{queue} (AWS::SQS::Queue) is gone"))),
            "{problems:?}"
        );
        // A property that does not replace the resource (a table's billing mode), and a new
        // resource, replace nothing.
        let mut harmless = before.clone();
        harmless["resources"]["NewQueue"] = json!({ "type": "AWS::SQS::Queue", "replacedBy": {} });
        assert!(replacements(&before, &harmless).is_empty());
    }
}
