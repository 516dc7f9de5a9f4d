//! Writes generated files, or compares them with the committed ones (`--check`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The generated files of one run.
pub struct Output {
    root: PathBuf,
    check: bool,
    files: BTreeMap<String, String>,
    managed: Vec<String>,
}

impl Output {
    /// Files relative to `root`.
    pub fn new(root: &Path, check: bool) -> Self {
        Self {
            root: root.to_owned(),
            check,
            files: BTreeMap::new(),
            managed: Vec::new(),
        }
    }

    /// Declares a directory whose every `.json` file this run generates: any other is stale.
    pub fn manage(&mut self, dir: &str) {
        self.managed.push(dir.to_owned());
    }

    /// Adds a JSON file (pretty, with a final newline).
    pub fn json(&mut self, rel: &str, value: &impl serde::Serialize) -> Result<(), String> {
        let text = serde_json::to_string_pretty(value).map_err(|e| format!("{rel}: {e}"))?;
        self.files.insert(rel.to_owned(), text + "\n");
        Ok(())
    }

    /// Adds a text file as is.
    pub fn text(&mut self, rel: &str, text: String) {
        self.files.insert(rel.to_owned(), text);
    }

    /// Writes (or checks) everything; returns a summary line.
    pub fn finish(self) -> Result<String, String> {
        let mut stale = Vec::new();
        for dir in &self.managed {
            let Ok(entries) = std::fs::read_dir(self.root.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = format!("{dir}/{name}");
                if name.ends_with(".json") && !self.files.contains_key(&rel) {
                    stale.push(rel);
                }
            }
        }
        stale.sort();
        if self.check {
            let mut differ: Vec<String> = self
                .files
                .iter()
                .filter(|(rel, text)| {
                    std::fs::read_to_string(self.root.join(rel)).ok().as_deref()
                        != Some(text.as_str())
                })
                .map(|(rel, _)| rel.clone())
                .collect();
            differ.extend(stale.iter().map(|s| format!("{s} (no longer generated)")));
            if differ.is_empty() {
                return Ok(format!(
                    "{} generated files are up to date",
                    self.files.len()
                ));
            }
            return Err(format!(
                "{} generated files are out of date; run `make samples schemas workflows diagram`:\n  {}",
                differ.len(),
                differ.join("\n  ")
            ));
        }
        for rel in &stale {
            std::fs::remove_file(self.root.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
        }
        for (rel, text) in &self.files {
            let path = self.root.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(format!(
            "wrote {} files, removed {} stale ones",
            self.files.len(),
            stale.len()
        ))
    }
}
