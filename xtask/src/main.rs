//! Project tasks (`cargo xtask <task>`): generates the files derived from the code, or with
//! `--check` verifies that the committed ones are up to date.
//!
//! * `samples`: every sample under `events/` (run through the real use cases in memory at a
//!   fixed time), the memory seed, the manifest and one sample of every event type;
//! * `schemas`: the JSON Schema of every event under `events/schemas/`;
//! * `workflows`: both Step Functions definitions under `statemachines/`, from one
//!   description ([`workflows`]);
//! * `diagram`: the workflow diagrams in `docs/workflows.md`, from the ASL;
//! * `sign`: the headers a partner would send with a body (curl `-H` flags), to try a
//!   deployed webhook by hand;
//! * `catalog`: load the store catalogue into a stage's tables, pause or resume a store
//!   ([`catalog`]);
//! * `secrets check`: a secret's value checked as the functions read it, before it is stored
//!   ([`secrets`]);
//! * `compat --snapshot <release>`: what this release writes for another release to read,
//!   kept under `compat/<release>/` for the compatibility tests ([`compat`]);
//! * `stateful`: the template's resources that hold data and the properties that would
//!   replace them, recorded in `infra/stateful.json`; `--check` fails on a replacement
//!   ([`stateful`]).

mod catalog;
mod catalog_samples;
mod compat;
mod output;
mod samples;
mod secrets;
mod stateful;
mod workflows;

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
        Some("diagram") => diagram(&root, &mut out),
        Some("workflows") => workflows::generate(&mut out),
        Some("sign") => return sign(&args[1..]),
        Some("stateful") => {
            let accept = args.iter().any(|a| a == "--accept");
            return match stateful::run(&root, check, accept) {
                Ok(done) => {
                    println!("{done}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask stateful: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some("compat") => {
            return match compat::run(&root, &args[1..]) {
                Ok(done) => {
                    println!("{done}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask compat: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some("secrets") => {
            return match secrets::run(&args[1..]) {
                Ok(done) => {
                    println!("{done}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask secrets: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some("catalog") => {
            return match catalog::run(&root, &args[1..]).await {
                Ok(done) => {
                    println!("{done}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask catalog: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => Err(format!(
            "usage: cargo xtask <samples|schemas|workflows|diagram> [--check]\n       cargo xtask stateful [--check | --accept]\n       cargo xtask compat --snapshot <release>\n       cargo xtask sign <partner> <body-file> (--secret <value> | --secret-file <webhooks.json>)\n{}\n{}",
            catalog::USAGE.replace("usage: ", "       "),
            secrets::USAGE.replace("usage: ", "       ")
        )),
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

/// The workflows whose diagrams `docs/workflows.md` shows, each between its own markers.
pub const DIAGRAMS: [&str; 2] = [
    "statemachines/order-workflow.asl.json",
    "statemachines/order-hold-workflow.asl.json",
];

/// The marker before `file`'s diagram.
pub fn diagram_start(file: &str) -> String {
    format!("<!-- workflow diagram: generated by `cargo xtask diagram` from {file} -->")
}

/// The marker after `file`'s diagram.
pub fn diagram_end(file: &str) -> String {
    format!("<!-- end of workflow diagram: {file} -->")
}

/// Where the workflow diagrams are drawn.
pub const DIAGRAM_PAGE: &str = "docs/workflows.md";

fn diagram(root: &std::path::Path, out: &mut Output) -> Result<(), String> {
    let mut readme = std::fs::read_to_string(root.join(DIAGRAM_PAGE)).map_err(|e| e.to_string())?;
    for file in DIAGRAMS {
        let asl = std::fs::read_to_string(root.join(file)).map_err(|e| format!("{file}: {e}"))?;
        let def = asl::model::Definition::parse(&asl).map_err(|e| format!("{file}: {e}"))?;
        let (start_marker, end_marker) = (diagram_start(file), diagram_end(file));
        let block = format!(
            "{start_marker}\n```mermaid\n{}```\n{end_marker}",
            asl::diagram::mermaid(&def)
        );
        let (Some(start), Some(end)) = (readme.find(&start_marker), readme.find(&end_marker))
        else {
            return Err(format!(
                "{DIAGRAM_PAGE} lacks the diagram markers for {file}"
            ));
        };
        readme = format!(
            "{}{block}{}",
            &readme[..start],
            &readme[end + end_marker.len()..]
        );
    }
    out.text(DIAGRAM_PAGE, readme);
    Ok(())
}

/// Prints the partner's authentication headers for a body file, as curl `-H` flags.
fn sign(args: &[String]) -> ExitCode {
    let usage = || {
        eprintln!(
            "usage: cargo xtask sign <partner> <body-file> (--secret <value> | --secret-file <webhooks.json>)"
        );
        ExitCode::FAILURE
    };
    let (Some(partner), Some(file)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let Ok(partner) = partner.parse::<order_domain::Partner>() else {
        return usage();
    };
    let secret = match (args.get(2).map(String::as_str), args.get(3)) {
        (Some("--secret"), Some(s)) => s.clone(),
        (Some("--secret-file"), Some(f)) => {
            let map: std::collections::BTreeMap<String, String> = match std::fs::read_to_string(f)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
            {
                Some(m) => m,
                None => {
                    eprintln!("xtask: {f} is not a JSON object of partner secrets");
                    return ExitCode::FAILURE;
                }
            };
            match map.get(partner.as_str()) {
                Some(s) => s.clone(),
                None => {
                    eprintln!("xtask: {f} has no secret for {partner}");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => return usage(),
    };
    let Ok(body) = std::fs::read(file) else {
        eprintln!("xtask: cannot read {file}");
        return ExitCode::FAILURE;
    };
    let nonce = format!(
        "{:016x}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let headers = partners::auth::sign(partner, &body, &secret, chrono::Utc::now(), &nonce);
    let flags: Vec<String> = std::iter::once("-H 'content-type: application/json'".to_owned())
        .chain(headers.iter().map(|(k, v)| format!("-H '{k}: {v}'")))
        .collect();
    println!("{}", flags.join(" "));
    ExitCode::SUCCESS
}
