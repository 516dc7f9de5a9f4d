//! Which workflows an order runs through: the split topology of the template (an Express
//! workflow that hands the slow part over to a Standard one), or the whole pipeline in the
//! Standard workflow alone, as before the split, kept runnable so the meter can price both in
//! the same bench run.

use std::path::{Path, PathBuf};

/// The workflow topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// The template as it is: `Order Received` starts the Express `OrderWorkflow`.
    #[default]
    Split,
    /// `Order Received` starts the Standard `OrderHoldWorkflow`, which runs the whole order.
    StandardOnly,
}

impl std::fmt::Display for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Split => "split",
            Self::StandardOnly => "standard-only",
        })
    }
}

impl std::str::FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "split" => Ok(Self::Split),
            "standard-only" => Ok(Self::StandardOnly),
            other => Err(format!(
                "{other:?} is not a topology (split, standard-only)"
            )),
        }
    }
}

/// The Express workflow's logical id.
pub const EXPRESS: &str = "OrderWorkflow";
/// The Standard workflow's logical id.
pub const STANDARD: &str = "OrderHoldWorkflow";

/// The rule that starts a workflow for each `Order Received`, and its role.
pub const RULE: &str = "OrderReceivedRule";
/// The rule's role.
pub const RULE_ROLE: &str = "OrderReceivedRuleRole";

/// `template` with the Order Received rule pointed at the Standard workflow's alias instead
/// of the Express one's, and its role's grant with it, written under `dir` (with links to the
/// definitions and functions the template names relatively). IAM stays as strict as for the
/// split: the role may start the Standard workflow's alias and nothing else.
pub fn standard_only_template(template: &Path, dir: &Path) -> Result<PathBuf, String> {
    let text =
        std::fs::read_to_string(template).map_err(|e| format!("{}: {e}", template.display()))?;
    let moved = retarget_rule(&text)?;
    let root = template
        .parent()
        .and_then(Path::parent)
        .ok_or("the template is not under <root>/infra")?;
    std::fs::create_dir_all(dir.join("infra")).map_err(|e| e.to_string())?;
    for shared in ["functions", "statemachines"] {
        let link = dir.join(shared);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(root.join(shared), &link).map_err(|e| e.to_string())?;
    }
    let path = dir.join("infra/template.yaml");
    std::fs::write(&path, moved).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The end of the resource that starts at `start` (the blank line before the next one).
fn resource_end(text: &str, start: usize) -> usize {
    text[start..]
        .find("\n\n  ")
        .map_or(text.len(), |i| start + i + 1)
}

/// `text` with `from` replaced by `to` inside the resource `id` (each must be there).
fn within(text: &str, id: &str, from: &str, to: &str) -> Result<String, String> {
    let start = text
        .find(&format!("\n  {id}:\n"))
        .ok_or_else(|| format!("the template has no {id}"))?;
    let end = resource_end(text, start + 1);
    let body = &text[start..end];
    if !body.contains(from) {
        return Err(format!("{id} has no {from:?}"));
    }
    Ok(format!(
        "{}{}{}",
        &text[..start],
        body.replace(from, to),
        &text[end..]
    ))
}

fn retarget_rule(text: &str) -> Result<String, String> {
    let text = within(
        text,
        RULE,
        &format!("!Ref {EXPRESS}Aliaslive"),
        &format!("!Ref {STANDARD}Aliaslive"),
    )?;
    within(
        &text,
        RULE_ROLE,
        &format!("Resource: !Ref {EXPRESS}\n"),
        &format!("Resource: !Ref {STANDARD}\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{App, Overrides, Target};

    #[test]
    fn standard_only_starts_the_standard_workflow_from_the_event() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = std::env::temp_dir().join(format!("topology-test-{}", std::process::id()));
        let t = standard_only_template(&root.join("infra/template.yaml"), &dir).unwrap();
        let mut parameters: std::collections::BTreeMap<String, String> = [
            "UberEatsApiUrl",
            "UberEatsTokenUrl",
            "DoorDashApiUrl",
            "GrubhubApiUrl",
            "AppApiUrl",
            "PosApiUrl",
        ]
        .into_iter()
        .map(|p| (p.to_owned(), "http://127.0.0.1:1".to_owned()))
        .collect();
        parameters.insert("WebhookSecretsArn".to_owned(), "arn:webhooks".to_owned());
        for (parameter, key) in crate::cloud::API_CREDENTIAL_SECRETS {
            parameters.insert(parameter.to_owned(), format!("arn:{key}"));
        }
        parameters.insert("Stage".to_owned(), "t".to_owned());
        let overrides = Overrides {
            parameters,
            ..Default::default()
        };
        let app = App::load(&t, &overrides).unwrap();
        let standard = app.state_machine(STANDARD).unwrap().arn.clone();
        let workflow_rules: Vec<_> = app
            .rules
            .iter()
            .filter(|r| matches!(r.target, Target::StateMachine { .. }))
            .collect();
        assert_eq!(workflow_rules.len(), 1);
        assert_eq!(
            workflow_rules[0].target,
            Target::StateMachine {
                arn: format!("{standard}:live")
            }
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
