//! `cargo xtask secrets check <secret> <file.json>`: a secret's value, checked before it is
//! stored, exactly as the functions read it: a flat JSON object of strings
//! (`lambda_support`'s secret source), each webhook credential through
//! [`partners::auth::check_webhook_credential`], each API credential through
//! [`partners::outbound::ApiCredentials::parse`]. Every problem is named (the secret, the key,
//! what is wrong), never a value.
//!
//! The secrets are the deploy guide's (`docs/deploy.md`): `webhooks` (every partner's webhook
//! credential, `"<partner>.previous"` during a rotation), one per partner's API (`ubereats`,
//! `doordash`, `grubhub`, `app`: `{"<partner>": "<credentials in its scheme>"}` and nothing
//! else) and `pos` (`{"pos": "<api key>"}`).

use std::collections::BTreeMap;
use std::path::Path;

use order_domain::Partner;
use pipeline::usecases::webhook_secrets::PREVIOUS_SUFFIX;

/// How the task is called.
pub const USAGE: &str =
    "usage: cargo xtask secrets check <webhooks|ubereats|doordash|grubhub|app|pos> <file.json>";

/// Runs `secrets check <secret> <file>`: what was checked, or every problem found.
///
/// # Errors
/// The usage, an unreadable file, or the problems, one per line.
pub fn run(args: &[String]) -> Result<String, String> {
    let (secret, file) = match args {
        [check, secret, file] if check == "check" => (secret.as_str(), Path::new(file)),
        _ => return Err(USAGE.to_owned()),
    };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let problems = check(secret, &text)?;
    if problems.is_empty() {
        Ok(format!(
            "{}: the {secret} secret is in the form the functions read",
            file.display()
        ))
    } else {
        Err(format!(
            "{}: the {secret} secret would not work:\n  {}",
            file.display(),
            problems.join("\n  ")
        ))
    }
}

/// The problems of `text` as the value of the secret named `secret` (none: it is good).
///
/// # Errors
/// `secret` is not one of the deploy guide's secrets.
pub fn check(secret: &str, text: &str) -> Result<Vec<String>, String> {
    let map = match flat_object(text) {
        Ok(map) => map,
        Err(problem) => return Ok(vec![problem]),
    };
    if secret == "webhooks" {
        return Ok(webhooks(&map));
    }
    if secret == "pos" {
        return Ok(only_key(&map, "pos", |value| {
            let weak = value.trim().is_empty() || value.trim() != value;
            weak.then(|| "the POS key is empty or padded with whitespace".to_owned())
        }));
    }
    let partner: Partner = secret
        .parse()
        .map_err(|_| format!("no secret named {secret:?}\n{USAGE}"))?;
    Ok(only_key(&map, partner.as_str(), |value| {
        partners::outbound::ApiCredentials::parse(partner, value)
            .err()
            .map(|e| e.to_string())
    }))
}

/// The secret as the functions read it ([`lambda_support::secrets::flat_strings`]), after
/// its JSON is parsed (the error's position only, never the text).
fn flat_object(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "not JSON (line {}, column {}: {:?})",
            e.line(),
            e.column(),
            e.classify()
        )
    })?;
    lambda_support::secrets::flat_strings(value).map(|m| m.into_iter().collect())
}

/// Every partner's webhook credential present and strong, and no key the functions ignore.
fn webhooks(map: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for partner in Partner::ALL {
        let key = partner.as_str();
        match map.get(key) {
            None => problems.push(format!(
                "no {key:?} key: {partner}'s webhooks would all be refused"
            )),
            Some(value) => {
                if let Err(weak) = partners::auth::check_webhook_credential(partner, value) {
                    problems.push(format!("{key:?}: {weak}"));
                }
            }
        }
        let previous = format!("{key}{PREVIOUS_SUFFIX}");
        if let Some(value) = map.get(&previous)
            && let Err(weak) = partners::auth::check_webhook_credential(partner, value)
        {
            problems.push(format!("{previous:?}: {weak} (it would be ignored)"));
        }
    }
    for key in map.keys() {
        let partner = key.strip_suffix(PREVIOUS_SUFFIX).unwrap_or(key);
        if partner.parse::<Partner>().is_err() {
            problems.push(format!(
                "{key:?} is not a partner (\"<partner>\" or \"<partner>{PREVIOUS_SUFFIX}\"): the functions ignore it"
            ));
        }
    }
    problems
}

/// `key` present and good by `problem`, and no other key (each API's credentials are a secret
/// of their own).
fn only_key(
    map: &BTreeMap<String, String>,
    key: &str,
    problem: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    match map.get(key) {
        None => problems.push(format!("no {key:?} key")),
        Some(value) => problems.extend(problem(value).map(|p| format!("{key:?}: {p}"))),
    }
    let others: Vec<&String> = map.keys().filter(|k| k.as_str() != key).collect();
    if !others.is_empty() {
        problems.push(format!(
            "it also holds {others:?}: each API's credentials go in a secret of their own"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev_secret(name: &str) -> String {
        let path =
            lambda_support::samples::repo_root().join(format!("events/dev-secrets/{name}.json"));
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn the_development_secrets_pass() {
        for name in ["webhooks", "ubereats", "doordash", "grubhub", "app", "pos"] {
            assert_eq!(
                check(name, &dev_secret(name)).unwrap(),
                Vec::<String>::new(),
                "{name}"
            );
        }
    }

    #[test]
    fn each_problem_is_named_and_no_value_is_echoed() {
        // The old deploy guide's form: a bare token where client credentials belong.
        let problems = check("ubereats", r#"{"ubereats": "tok-8f2a"}"#).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("\"ubereats\": "), "{problems:?}");
        // Every partner's credentials in one secret, as before one secret per API.
        let problems = check(
            "doordash",
            r#"{"doordash": "jwt:d:k:c2VjcmV0LXZhbHVl", "pos": "key-77c1"}"#,
        )
        .unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("[\"pos\"]"), "{problems:?}");
        // A prefix only (an empty HMAC key), a short one, a missing partner, a stray key.
        let problems = check(
            "webhooks",
            r#"{"ubereats": "short-9d", "doordash": "a-bearer-token-long-enough", "grubhub": "hmac:", "ubereats.previous": "x", "app ": "v"}"#,
        )
        .unwrap();
        let text = problems.join("\n");
        for expected in [
            "\"ubereats\": ",
            "\"grubhub\": ",
            "no \"app\" key",
            "\"ubereats.previous\"",
            "\"app \" is not a partner",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert_eq!(problems.len(), 5, "{text}");
        for value in ["tok-8f2a", "key-77c1", "short-9d", "c2VjcmV0LXZhbHVl"] {
            assert!(!text.contains(value), "{text}");
        }
        // Not the shape the functions read at all.
        assert_eq!(
            check("pos", r#"{"pos": 7}"#).unwrap(),
            ["the value of \"pos\" is not a string"]
        );
        assert_eq!(check("pos", "[]").unwrap(), ["not a JSON object"]);
        assert!(check("pos", "{\"pos\": ").unwrap()[0].starts_with("not JSON"));
        assert!(check("square", "{}").is_err());
    }
}
