//! Compiles in the samples the check sends: every sample of `events/manifest.json` a function
//! must read (those it answers; a sample it must refuse is left out, and so is the hook's own).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), String> {
    let var = |name: &str| std::env::var(name).map_err(|e| format!("{name}: {e}"));
    let events = PathBuf::from(var("CARGO_MANIFEST_DIR")?).join("../../events");
    let manifest = events.join("manifest.json");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let samples = doc["samples"]
        .as_array()
        .ok_or_else(|| format!("{}: no samples list", manifest.display()))?;
    let mut out = String::from(
        "/// The samples: (function, file under `events/`, JSON).\npub const SAMPLES: &[(&str, &str, &str)] = &[\n",
    );
    for s in samples {
        let (Some(function), Some(file)) = (s["function"].as_str(), s["file"].as_str()) else {
            return Err(format!(
                "{}: a sample without a function or a file",
                manifest.display()
            ));
        };
        if s["expect"].get("errorType").is_some() || function == "pre-traffic-check" {
            continue;
        }
        let path = events.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let path = path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        writeln!(
            out,
            "    ({function:?}, {file:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .map_err(|e| e.to_string())?;
    }
    out.push_str("];\n");
    let dest = PathBuf::from(var("OUT_DIR")?).join("samples.rs");
    std::fs::write(&dest, out).map_err(|e| format!("{}: {e}", dest.display()))
}
