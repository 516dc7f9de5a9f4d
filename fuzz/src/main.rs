//! `FUZZ_TARGET=<name> cargo afl fuzz … target/release/fuzz`: the named target of
//! `fuzz_targets::targets()` under AFL++.

fn main() {
    let name = std::env::var("FUZZ_TARGET").unwrap_or_default();
    let Some(target) = fuzz_targets::target(&name) else {
        let names: Vec<&str> = fuzz_targets::targets().iter().map(|t| t.name).collect();
        eprintln!("FUZZ_TARGET must be one of {names:?}, not {name:?}");
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        (target.run)(data);
    });
}
