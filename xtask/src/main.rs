//! Project tasks (`cargo xtask <task>`): generates the files derived from the code, or with
//! `--check` verifies that the committed ones are up to date.
//!
//! * `samples`: every sample under `events/` (run through the real use cases in memory at a
//!   fixed time), the memory seed, the manifest and one sample of every event type;
//! * `schemas`: the JSON Schema of every event under `events/schemas/`.

mod output;
mod samples;

use std::process::ExitCode;

use output::Output;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let root = lambda_support::samples::repo_root();
    let mut out = Output::new(&root, check);
    let result = match args.first().map(String::as_str) {
        Some("samples") => samples::generate(&root, &mut out).await,
        Some("schemas") => schemas(&mut out),
        _ => Err("usage: cargo xtask <samples|schemas> [--check]".to_owned()),
    };
    match result.and_then(|()| out.finish()) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn schemas(out: &mut Output) -> Result<(), String> {
    out.manage("events/schemas");
    for (detail_type, schema) in order_events::schema::catalogue() {
        out.json(
            &format!("events/schemas/{}.json", order_events::slug(detail_type)),
            &schema,
        )?;
    }
    Ok(())
}
