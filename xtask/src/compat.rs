//! `cargo xtask compat --snapshot <release>`: keeps what this release writes for another
//! release to read, from the samples, under `compat/<release>/`.
//!
//! A release runs beside the previous one during a deploy's canary, and after it reads what
//! the previous one left in flight: the workflow state a held order's execution carries, the
//! events on the bus and in its archive, a handover in its queue. The samples of the
//! functions that read those ([`lambda_support::samples::COMPAT_FUNCTIONS`]) are exactly such
//! writes, made by the release's own use cases (`cargo xtask samples`). The snapshot keeps
//! them with their manifest entries, the memory seed and the partner fixtures; each
//! function's sample test then runs the newest snapshot through today's function and fails
//! if it no longer answers or publishes as that release said (`lambda_support::samples::
//! check_function_samples`). A snapshot is history: it is written once per release and
//! never regenerated.

use std::path::Path;

use lambda_support::samples::{COMPAT_FUNCTIONS, release_version};
use serde_json::Value;

/// How to call it.
pub const USAGE: &str = "usage: cargo xtask compat --snapshot <release, e.g. v0.2>";

/// Runs `compat` with `args` (after the task's name).
pub fn run(root: &Path, args: &[String]) -> Result<String, String> {
    let release = match args {
        [flag, release] if flag == "--snapshot" => release,
        _ => return Err(USAGE.to_owned()),
    };
    if release_version(release).is_none() {
        return Err(format!(
            "{release}: a release is named v<major>.<minor>, e.g. v0.2"
        ));
    }
    let events = root.join("events");
    let to = root.join("compat").join(release);
    if to.exists() {
        return Err(format!(
            "{} exists: a release's snapshot is written once (name the next release)",
            to.display()
        ));
    }
    let read = |rel: &str| -> Result<Value, String> {
        let path = events.join(rel);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut manifest = read("manifest.json")?;
    let samples = manifest["samples"]
        .as_array_mut()
        .ok_or("events/manifest.json has no samples")?;
    samples.retain(|s| {
        s["function"]
            .as_str()
            .is_some_and(|f| COMPAT_FUNCTIONS.contains(&f))
    });
    let files: Vec<String> = samples
        .iter()
        .filter_map(|s| s["file"].as_str().map(str::to_owned))
        .collect();
    let write = |rel: &str, v: &Value| -> Result<(), String> {
        let path = to.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("manifest.json", &manifest)?;
    write("seed.json", &read("seed.json")?)?;
    for file in &files {
        write(file, &read(file)?)?;
    }
    let fixtures = copy_tree(&events.join("partners"), &to.join("partners"))?;
    // The commit the release was cut from: what the upgrade drill builds as the previous
    // release when the clone has no tags (scripts/upgrade-drill.sh).
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("git rev-parse HEAD: {e}"))?;
    if !head.status.success() {
        return Err("git rev-parse HEAD failed: a snapshot is cut from a commit".to_owned());
    }
    std::fs::write(to.join("COMMIT"), &head.stdout)
        .map_err(|e| format!("{}: {e}", to.join("COMMIT").display()))?;
    Ok(format!(
        "compat/{release}: {} samples of {} functions, the seed and {fixtures} partner fixtures",
        files.len(),
        COMPAT_FUNCTIONS.len()
    ))
}

/// Copies the files under `from` to `to`, returning how many.
fn copy_tree(from: &Path, to: &Path) -> Result<usize, String> {
    let mut copied = 0;
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copied += copy_tree(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).map_err(|e| format!("{}: {e}", path.display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}
