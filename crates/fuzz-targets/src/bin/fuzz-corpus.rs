//! Writes each fuzz target's seed corpus: `fuzz-corpus <out dir>` makes `<out>/<target>/<n>`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz-corpus <out dir>");
        return ExitCode::FAILURE;
    };
    let root = std::env::var("REPO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("."));
    for t in fuzz_targets::targets() {
        let dir = out.join(t.name);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("{}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        let seeds = (t.seeds)(&root);
        for (i, seed) in seeds.iter().enumerate() {
            if let Err(e) = std::fs::write(dir.join(format!("{i:03}")), seed) {
                eprintln!("{}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
        println!("{:<18} {} seeds", t.name, seeds.len());
    }
    ExitCode::SUCCESS
}
