//! Gradual deployment: a resource's `DeploymentPreference`, merged with the Globals' as SAM
//! merges them.

use serde_json::Value;

use crate::{Resource, Template};

/// A `DeploymentPreference`, as [`Template::deployment_preference`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentPreference {
    /// `Type`: a function's CodeDeploy configuration (`Canary10Percent5Minutes`, …) or a
    /// state machine's (`CANARY`, `LINEAR`, `ALL_AT_ONCE`), unresolved (it may be a `Ref`).
    pub kind: Value,
    /// A state machine's `Percentage`.
    pub percentage: Option<f64>,
    /// A state machine's `Interval`, minutes.
    pub interval_minutes: Option<f64>,
    /// The logical ids of its `Alarms` (`!Ref` entries).
    pub alarms: Vec<String>,
    /// The logical id of its `Hooks.PreTraffic` function (`!Ref`), which CodeDeploy invokes
    /// before it shifts any traffic.
    pub pre_traffic: Option<String>,
}

/// `global` and `own` merged as SAM merges a resource's property with its Globals: maps key
/// by key (recursively), lists the global entries first, anything else the resource's.
fn merge_globals(global: Value, own: Value) -> Value {
    match (global, own) {
        (Value::Object(mut g), Value::Object(o)) => {
            for (k, v) in o {
                let merged = match g.remove(&k) {
                    Some(gv) => merge_globals(gv, v),
                    None => v,
                };
                g.insert(k, merged);
            }
            Value::Object(g)
        }
        (Value::Array(mut g), Value::Array(o)) => {
            g.extend(o);
            Value::Array(g)
        }
        (_, o) => o,
    }
}

impl Template {
    /// The `DeploymentPreference` of a function (merged with the Globals' as SAM merges them:
    /// maps key by key, lists the global entries then the function's, so a function's
    /// `Alarms` add to the global ones) or a state machine, if it has one and it is enabled.
    pub fn deployment_preference(&self, r: &Resource) -> Option<DeploymentPreference> {
        let own = r.properties.get("DeploymentPreference").cloned();
        let merged = match r.kind.as_str() {
            "AWS::Serverless::Function" => {
                match (
                    self.function_globals().get("DeploymentPreference").cloned(),
                    own,
                ) {
                    (Some(g), Some(o)) => merge_globals(g, o),
                    (g, o) => o.or(g)?,
                }
            }
            "AWS::Serverless::StateMachine" => own?,
            _ => return None,
        };
        if merged.get("Enabled") == Some(&Value::Bool(false)) {
            return None;
        }
        let alarms = merged
            .get("Alarms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("Ref").and_then(Value::as_str).map(str::to_owned))
            .collect();
        Some(DeploymentPreference {
            kind: merged.get("Type").cloned().unwrap_or(Value::Null),
            percentage: merged.get("Percentage").and_then(Value::as_f64),
            interval_minutes: merged.get("Interval").and_then(Value::as_f64),
            alarms,
            pre_traffic: merged
                .pointer("/Hooks/PreTraffic/Ref")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}
