//! Both order workflows from one description: `cargo xtask workflows` writes
//! `statemachines/order-workflow.asl.json` (Express) and
//! `statemachines/order-hold-workflow.asl.json` (Standard), and `--check` (in
//! `make generated`) fails if the committed files are not what this generates.
//!
//! Each state is written once ([`states`]). What differs between the workflows is a retry
//! profile ([`Flavor`]): the Express one retries briefly (every path must fit its five
//! minutes) and hands whatever may take longer over to the Standard one at the state it would
//! have run next; the Standard one retries for as long as the step deserves and compensates
//! when retries are spent. Error names come from the code (`pipeline::errors::names`).

pub mod json;
mod states;

use json::Json;

use crate::output::Output;

/// Which workflow a state is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// The immediate path (`Type: EXPRESS`): short retries, handovers.
    Express,
    /// The hold and everything that may outlast five minutes (`Type: STANDARD`).
    Standard,
}

/// The generated files: (path, flavor).
pub const FILES: [(&str, Flavor); 2] = [
    ("statemachines/order-workflow.asl.json", Flavor::Express),
    (
        "statemachines/order-hold-workflow.asl.json",
        Flavor::Standard,
    ),
];

/// The definition of `flavor`'s workflow.
pub fn definition(flavor: Flavor) -> Json {
    states::definition(flavor)
}

/// Writes (or checks) both workflow files.
pub fn generate(out: &mut Output) -> Result<(), String> {
    for (file, flavor) in FILES {
        let def = definition(flavor);
        // What the interpreter accepts is what is written.
        asl::model::Definition::parse(&def.to_value().to_string())
            .map_err(|e| format!("{file}: the generated definition is refused: {e}"))?;
        out.text(file, def.pretty() + "\n");
    }
    Ok(())
}
