//! Choice rules: boolean combinations (`And`, `Or`, `Not`) of data tests on a `Variable`.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::AslError;
use crate::path::JsonPath;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Literal(Value),
    Path(JsonPath),
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    String(Cmp, Operand),
    StringMatches(String),
    Numeric(Cmp, Operand),
    Boolean(Operand),
    Timestamp(Cmp, Operand),
    IsNull(bool),
    IsPresent(bool),
    IsNumeric(bool),
    IsString(bool),
    IsBoolean(bool),
    IsTimestamp(bool),
}

/// A rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// All must hold.
    And(Vec<Rule>),
    /// One must hold.
    Or(Vec<Rule>),
    /// Must not hold.
    Not(Box<Rule>),
    /// A test of one variable.
    Data {
        /// The variable.
        variable: JsonPath,
        /// The test.
        test: TestBox,
    },
}

/// A boxed test (opaque).
#[derive(Debug, Clone, PartialEq)]
pub struct TestBox(Test);

/// A top-level rule with its target.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    /// The condition.
    pub rule: Rule,
    /// Where to go when it holds.
    pub next: String,
}

fn fail<T>(why: impl Into<String>) -> Result<T, AslError> {
    Err(AslError::runtime(why))
}

const OPS: [(&str, &str); 26] = [
    ("StringEquals", "s="),
    ("StringLessThan", "s<"),
    ("StringGreaterThan", "s>"),
    ("StringLessThanEquals", "s<="),
    ("StringGreaterThanEquals", "s>="),
    ("StringEqualsPath", "sp="),
    ("StringLessThanPath", "sp<"),
    ("StringGreaterThanPath", "sp>"),
    ("StringLessThanEqualsPath", "sp<="),
    ("StringGreaterThanEqualsPath", "sp>="),
    ("StringMatches", "match"),
    ("NumericEquals", "n="),
    ("NumericLessThan", "n<"),
    ("NumericGreaterThan", "n>"),
    ("NumericLessThanEquals", "n<="),
    ("NumericGreaterThanEquals", "n>="),
    ("NumericEqualsPath", "np="),
    ("NumericLessThanPath", "np<"),
    ("NumericGreaterThanPath", "np>"),
    ("NumericLessThanEqualsPath", "np<="),
    ("NumericGreaterThanEqualsPath", "np>="),
    ("BooleanEquals", "b"),
    ("BooleanEqualsPath", "bp"),
    ("TimestampEquals", "t="),
    ("TimestampLessThan", "t<"),
    ("TimestampGreaterThan", "t>"),
];
const MORE_OPS: [(&str, &str); 13] = [
    ("TimestampLessThanEquals", "t<="),
    ("TimestampGreaterThanEquals", "t>="),
    ("TimestampEqualsPath", "tp="),
    ("TimestampLessThanPath", "tp<"),
    ("TimestampGreaterThanPath", "tp>"),
    ("TimestampLessThanEqualsPath", "tp<="),
    ("TimestampGreaterThanEqualsPath", "tp>="),
    ("IsNull", "isnull"),
    ("IsPresent", "ispresent"),
    ("IsNumeric", "isnumeric"),
    ("IsString", "isstring"),
    ("IsBoolean", "isboolean"),
    ("IsTimestamp", "istimestamp"),
];

fn cmp_of(code: &str) -> Cmp {
    if code.ends_with("<=") {
        Cmp::Le
    } else if code.ends_with(">=") {
        Cmp::Ge
    } else if code.ends_with('<') {
        Cmp::Lt
    } else if code.ends_with('>') {
        Cmp::Gt
    } else {
        Cmp::Eq
    }
}

fn parse_rule(v: &Value, top: bool) -> Result<(Rule, Option<String>), AslError> {
    let Value::Object(m) = v else {
        return fail("a choice rule must be an object");
    };
    let next = m.get("Next").and_then(Value::as_str).map(str::to_owned);
    if top && next.is_none() {
        return fail("a top-level choice rule needs Next");
    }
    if !top && next.is_some() {
        return fail("a nested choice rule cannot have Next");
    }
    let rules = |key: &str| -> Result<Vec<Rule>, AslError> {
        match m.get(key) {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|i| parse_rule(i, false).map(|r| r.0))
                .collect(),
            _ => fail(format!("{key} takes a non-empty array of rules")),
        }
    };
    if m.contains_key("And") {
        return Ok((Rule::And(rules("And")?), next));
    }
    if m.contains_key("Or") {
        return Ok((Rule::Or(rules("Or")?), next));
    }
    if let Some(inner) = m.get("Not") {
        return Ok((Rule::Not(Box::new(parse_rule(inner, false)?.0)), next));
    }
    let variable = m
        .get("Variable")
        .and_then(Value::as_str)
        .map_or_else(|| fail("a data-test rule needs Variable"), Ok)?;
    let variable = JsonPath::parse(variable)?;
    let mut tests = OPS
        .iter()
        .chain(MORE_OPS.iter())
        .filter(|(k, _)| m.contains_key(*k));
    let (&(key, code), extra) = (
        tests
            .next()
            .map_or_else(|| fail("a data-test rule needs a comparison"), Ok)?,
        tests.next(),
    );
    if extra.is_some() {
        return fail("a data-test rule has exactly one comparison");
    }
    for k in m.keys() {
        if !["Variable", "Next", "Comment", key].contains(&k.as_str()) {
            return fail(format!("unsupported field {k:?} in a choice rule"));
        }
    }
    let operand = &m[key];
    let path_operand = || -> Result<Operand, AslError> {
        operand.as_str().map_or_else(
            || fail(format!("{key} takes a path")),
            |p| JsonPath::parse(p).map(Operand::Path),
        )
    };
    let flag = || {
        operand
            .as_bool()
            .map_or_else(|| fail(format!("{key} takes true or false")), Ok)
    };
    let test = match code {
        c if c.starts_with("sp") => Test::String(cmp_of(c), path_operand()?),
        c if c.starts_with("s") && c.len() <= 3 => {
            if !operand.is_string() {
                return fail(format!("{key} takes a string"));
            }
            Test::String(cmp_of(c), Operand::Literal(operand.clone()))
        }
        "match" => Test::StringMatches(operand.as_str().map_or_else(
            || fail("StringMatches takes a string"),
            |s| Ok(s.to_owned()),
        )?),
        c if c.starts_with("np") => Test::Numeric(cmp_of(c), path_operand()?),
        c if c.starts_with('n') => {
            if !operand.is_number() {
                return fail(format!("{key} takes a number"));
            }
            Test::Numeric(cmp_of(c), Operand::Literal(operand.clone()))
        }
        "b" => Test::Boolean(Operand::Literal(Value::Bool(flag()?))),
        "bp" => Test::Boolean(path_operand()?),
        c if c.starts_with("tp") => Test::Timestamp(cmp_of(c), path_operand()?),
        c if c.starts_with('t') => {
            if operand.as_str().and_then(timestamp).is_none() {
                return fail(format!("{key} takes an RFC 3339 timestamp"));
            }
            Test::Timestamp(cmp_of(c), Operand::Literal(operand.clone()))
        }
        "isnull" => Test::IsNull(flag()?),
        "ispresent" => Test::IsPresent(flag()?),
        "isnumeric" => Test::IsNumeric(flag()?),
        "isstring" => Test::IsString(flag()?),
        "isboolean" => Test::IsBoolean(flag()?),
        _ => Test::IsTimestamp(flag()?),
    };
    Ok((
        Rule::Data {
            variable,
            test: TestBox(test),
        },
        next,
    ))
}

/// Parses the `Choices` of a Choice state.
pub fn parse_choices(choices: &[Value]) -> Result<Vec<ChoiceRule>, AslError> {
    if choices.is_empty() {
        return fail("Choices must not be empty");
    }
    choices
        .iter()
        .map(|c| {
            let (rule, next) = parse_rule(c, true)?;
            Ok(ChoiceRule {
                rule,
                next: next.unwrap_or_default(),
            })
        })
        .collect()
}

fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

fn glob(pattern: &str, text: &str) -> bool {
    // `*` matches any run; `\*` a literal star; `\\` a backslash.
    let mut parts: Vec<Option<char>> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => parts.push(Some(chars.next().unwrap_or('\\'))),
            '*' => parts.push(None),
            other => parts.push(Some(other)),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let (mut ti, mut pi, mut star) = (0, 0, None::<(usize, usize)>);
    while ti < t.len() {
        match parts.get(pi) {
            Some(Some(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            Some(None) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    parts[pi..].iter().all(Option::is_none)
}

fn ordered<T: PartialOrd>(cmp: Cmp, a: &T, b: &T) -> bool {
    match cmp {
        Cmp::Eq => a == b,
        Cmp::Lt => a < b,
        Cmp::Gt => a > b,
        Cmp::Le => a <= b,
        Cmp::Ge => a >= b,
    }
}

impl Rule {
    /// Whether the rule holds for `input`.
    pub fn eval(&self, input: &Value, context: &Value) -> Result<bool, AslError> {
        match self {
            Rule::And(rules) => {
                for r in rules {
                    if !r.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, context)?),
            Rule::Data { variable, test } => {
                let found = variable.select(input, context).into_iter().next();
                if let Test::IsPresent(want) = test.0 {
                    return Ok(found.is_some() == want);
                }
                let Some(v) = found else {
                    return Err(AslError::runtime(format!(
                        "Invalid path '{variable}': the choice state's condition path references an undefined value"
                    )));
                };
                let operand = |o: &Operand| -> Result<Value, AslError> {
                    match o {
                        Operand::Literal(l) => Ok(l.clone()),
                        Operand::Path(p) => p.value(input, context),
                    }
                };
                Ok(match &test.0 {
                    Test::String(c, o) => match (v.as_str(), operand(o)?.as_str()) {
                        (Some(a), Some(b)) => ordered(*c, &a, &b),
                        _ => false,
                    },
                    Test::StringMatches(p) => v.as_str().is_some_and(|s| glob(p, s)),
                    Test::Numeric(c, o) => match (v.as_f64(), operand(o)?.as_f64()) {
                        (Some(a), Some(b)) if v.is_number() => ordered(*c, &a, &b),
                        _ => false,
                    },
                    Test::Boolean(o) => v.is_boolean() && *v == operand(o)?,
                    Test::Timestamp(c, o) => match (
                        v.as_str().and_then(timestamp),
                        operand(o)?.as_str().and_then(timestamp),
                    ) {
                        (Some(a), Some(b)) => ordered(*c, &a, &b),
                        _ => false,
                    },
                    Test::IsNull(want) => v.is_null() == *want,
                    Test::IsNumeric(want) => v.is_number() == *want,
                    Test::IsString(want) => v.is_string() == *want,
                    Test::IsBoolean(want) => v.is_boolean() == *want,
                    Test::IsTimestamp(want) => v.as_str().and_then(timestamp).is_some() == *want,
                    Test::IsPresent(_) => unreachable!("handled above"),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first_match(choices: Value, input: Value) -> Result<Option<String>, AslError> {
        let rules = parse_choices(choices.as_array().unwrap())?;
        for r in rules {
            if r.rule.eval(&input, &json!({}))? {
                return Ok(Some(r.next));
            }
        }
        Ok(None)
    }

    #[test]
    fn data_tests_of_every_type() {
        let input =
            json!({"s": "new", "n": 5, "b": true, "t": "2026-11-22T18:00:00Z", "z": null, "m": 10});
        let cases = [
            (
                json!({"Variable": "$.s", "StringEquals": "new", "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringGreaterThan": "m", "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringMatches": "n*w", "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericLessThan": 6, "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericLessThanPath": "$.m", "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericEquals": 5.0, "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "NumericEquals": 5, "Next": "A"}),
                false,
            ),
            (
                json!({"Variable": "$.b", "BooleanEquals": true, "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThan": "2026-11-22T17:00:00Z", "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampEquals": "2026-11-22T13:00:00-05:00", "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.z", "IsNull": true, "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "IsNull": true, "Next": "A"}),
                false,
            ),
            (
                json!({"Variable": "$.nope", "IsPresent": false, "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "IsTimestamp": true, "Next": "A"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "IsString": false, "Next": "A"}),
                true,
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(
                first_match(json!([rule.clone()]), input.clone())
                    .unwrap()
                    .is_some(),
                expected,
                "{rule}"
            );
        }
    }

    #[test]
    fn boolean_combinations() {
        let input = json!({"a": 1, "b": "x"});
        let and = json!([{"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Not": {"Variable": "$.b", "StringEquals": "y"}}], "Next": "Both"}]);
        assert_eq!(
            first_match(and, input.clone()).unwrap().as_deref(),
            Some("Both")
        );
        let or = json!([{"Or": [{"Variable": "$.a", "NumericEquals": 2}, {"Variable": "$.b", "StringEquals": "y"}], "Next": "Either"}]);
        assert_eq!(first_match(or, input).unwrap(), None);
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error_except_for_is_present() {
        let e = first_match(
            json!([{"Variable": "$.nope", "StringEquals": "x", "Next": "A"}]),
            json!({}),
        )
        .unwrap_err();
        assert_eq!(e.error, "States.Runtime");
    }

    #[test]
    fn malformed_rules_are_refused() {
        for bad in [
            json!([]),
            json!([{"Variable": "$.a", "StringEquals": "x"}]),
            json!([{"Variable": "$.a", "Next": "A"}]),
            json!([{"Variable": "$.a", "StringEquals": 1, "Next": "A"}]),
            json!([{"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "A"}]),
            json!([{"And": [], "Next": "A"}]),
            json!([{"Not": {"Variable": "$.a", "IsNull": true, "Next": "B"}, "Next": "A"}]),
        ] {
            assert!(parse_choices(bad.as_array().unwrap()).is_err(), "{bad}");
        }
    }
}
