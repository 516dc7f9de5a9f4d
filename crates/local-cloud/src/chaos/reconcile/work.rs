//! Which runs of an order did its work, read from the workflows' definitions rather than
//! from state names written into the verdict: a run got past dedup when it entered a state
//! that invokes the dedup function and, after it, a state that invokes the adapt-order
//! function (dedup's "new order" branch). A run that only continues another's work (a
//! handover starting at Adapt, a hand-back for the send) never enters dedup, and a duplicate
//! that enters dedup never reaches adapt.

use std::collections::BTreeSet;

use serde_json::Value;

/// The states of both workflows that invoke dedup and adapt-order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkStates {
    /// States that invoke the dedup function.
    pub dedup: BTreeSet<String>,
    /// States that invoke the adapt-order function.
    pub adapt: BTreeSet<String>,
}

impl WorkStates {
    /// From the workflows' definitions (ASL JSON, substitutions resolved) and the two
    /// functions' ARNs (a state naming a version or alias of one, `<arn>:<qualifier>`, counts).
    /// Errors when either set is empty: a verdict that could never find the work would pass
    /// every order.
    pub fn from_definitions(
        definitions: &[&Value],
        dedup_arn: &str,
        adapt_arn: &str,
    ) -> Result<Self, String> {
        let mut w = WorkStates::default();
        for d in definitions {
            collect(d, dedup_arn, adapt_arn, &mut w);
        }
        if w.dedup.is_empty() || w.adapt.is_empty() {
            return Err(format!(
                "the workflows invoke dedup in {:?} and adapt-order in {:?}: the verdict needs both",
                w.dedup, w.adapt
            ));
        }
        Ok(w)
    }

    /// Whether a run whose states were entered in `path` got past dedup.
    pub fn passed_dedup(&self, path: &[String]) -> bool {
        path.iter()
            .position(|s| self.dedup.contains(s))
            .is_some_and(|at| path[at..].iter().any(|s| self.adapt.contains(s)))
    }
}

fn invokes(state: &Value, arn: &str) -> bool {
    let name = state
        .pointer("/Parameters/FunctionName")
        .or_else(|| state.pointer("/Arguments/FunctionName"))
        .and_then(Value::as_str);
    name.is_some_and(|n| n == arn || n.strip_prefix(arn).is_some_and(|q| q.starts_with(':')))
}

fn collect(definition: &Value, dedup: &str, adapt: &str, out: &mut WorkStates) {
    let Some(states) = definition["States"].as_object() else {
        return;
    };
    for (name, state) in states {
        if state["Type"] == "Task" {
            if invokes(state, dedup) {
                out.dedup.insert(name.clone());
            }
            if invokes(state, adapt) {
                out.adapt.insert(name.clone());
            }
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            collect(branch, dedup, adapt, out);
        }
        for inner in [&state["ItemProcessor"], &state["Iterator"]] {
            collect(inner, dedup, adapt, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEDUP: &str = "arn:aws:lambda:us-east-1:0:function:o-dedup";
    const ADAPT: &str = "arn:aws:lambda:us-east-1:0:function:o-adapt";

    fn definition() -> Value {
        json!({ "StartAt": "Claim", "States": {
            "Claim": { "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": { "FunctionName": DEDUP }, "Next": "Map it" },
            "Map it": { "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": { "FunctionName": format!("{ADAPT}:live") }, "End": true },
            "Adapt": { "Type": "Pass", "End": true },
            "Lookalike": { "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": { "FunctionName": format!("{ADAPT}-other") }, "End": true }
        }})
    }

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_states_are_read_from_what_they_invoke_not_from_their_names() {
        let d = definition();
        let w = WorkStates::from_definitions(&[&d], DEDUP, ADAPT).unwrap();
        assert_eq!(w.dedup, BTreeSet::from(["Claim".to_owned()]));
        assert_eq!(w.adapt, BTreeSet::from(["Map it".to_owned()]));
        assert!(w.passed_dedup(&path(&["Start", "Claim", "Map it"])));
        // A state named Adapt that invokes nothing, a continuation without dedup, a
        // duplicate that never adapts.
        assert!(!w.passed_dedup(&path(&["Claim", "Adapt"])));
        assert!(!w.passed_dedup(&path(&["Map it", "Claim"])));
        assert!(!w.passed_dedup(&path(&["Claim", "Publish duplicate"])));
    }

    #[test]
    fn definitions_without_either_function_are_refused() {
        let d = definition();
        let e = WorkStates::from_definitions(&[&d], DEDUP, "arn:other").unwrap_err();
        assert!(e.contains("adapt-order"), "{e}");
    }
}
