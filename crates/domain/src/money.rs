//! Money in minor units with its currency. Every partner format the pipeline reads states
//! money in minor units (Uber Eats v2's `amount`, DoorDash's, Grubhub's and the app's cents).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an amount could not be represented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The currency code is not three upper-case letters. The code itself is not kept: an
    /// error names the problem, never the payload's value.
    #[error("the currency is not an ISO 4217 code (three upper-case letters)")]
    BadCurrency,
    /// The amount does not fit in 64 bits of minor units.
    #[error("amount overflows")]
    Overflow,
    /// Two amounts in different currencies were combined.
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    /// A negative amount where only non-negative ones make sense.
    #[error("amount {0} is negative")]
    Negative(i64),
}

/// An ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollars.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a three-letter upper-case code.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(MoneyError::BadCurrency),
        }
    }

    /// The code as a string.
    pub fn as_str(&self) -> &str {
        // The bytes were checked to be ASCII upper-case letters on construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in the currency's minor unit (ISO 4217).
    pub fn exponent(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"VND" | b"CLP" | b"ISK" | b"UGX" | b"XAF" | b"XOF" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"IQD" | b"LYD" => 3,
            _ => 2,
        }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Currency".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": "^[A-Z]{3}$" })
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in the currency's minor unit (cents for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Money {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in minor units.
    pub const fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    /// Zero in a currency.
    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// `self + other`, refusing mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.amount_minor
            .checked_add(other.amount_minor)
            .map(|m| Money::new(m, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self * n`, refusing overflow.
    pub fn checked_mul(self, n: u32) -> Result<Money, MoneyError> {
        self.amount_minor
            .checked_mul(i64::from(n))
            .map(|m| Money::new(m, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Whether two amounts in the same currency differ by at most `tolerance_minor`. The
    /// difference is taken in 128 bits: two `i64` amounts can differ by more than `i64` holds
    /// (a stated subtotal near `i64::MIN` against a computed one), which must be "not within",
    /// never an overflow that wraps to a small difference or panics.
    pub fn within(self, other: Money, tolerance_minor: i64) -> bool {
        let difference = (i128::from(self.amount_minor) - i128::from(other.amount_minor)).abs();
        self.currency == other.currency && difference <= i128::from(tolerance_minor)
    }

    /// Refuses negative amounts.
    pub fn non_negative(self) -> Result<Money, MoneyError> {
        if self.amount_minor < 0 {
            Err(MoneyError::Negative(self.amount_minor))
        } else {
            Ok(self)
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        if exp == 0 {
            return write!(f, "{} {}", self.amount_minor, self.currency);
        }
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        let p = 10_u64.pow(exp);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / p,
            abs % p,
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_far_apart_are_not_within_any_tolerance_and_never_overflow() {
        let usd = |m| Money::new(m, Currency::USD);
        for (a, b) in [
            (i64::MIN, 0),
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (i64::MIN + 1, 1_000),
            (0, i64::MIN),
        ] {
            assert!(!usd(a).within(usd(b), 1), "{a} vs {b}");
            assert!(!usd(a).within(usd(b), i64::MAX), "{a} vs {b}");
        }
        assert!(usd(i64::MAX).within(usd(i64::MAX - 1), 1));
        assert!(usd(i64::MIN).within(usd(i64::MIN), 0));
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let eur = Money::new(1, Currency::parse("EUR").unwrap());
        assert!(matches!(
            usd(1).checked_add(eur),
            Err(MoneyError::CurrencyMismatch(..))
        ));
    }

    #[test]
    fn currency_codes_must_be_three_upper_case_letters() {
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("USDX").is_err());
    }

    #[test]
    fn money_displays_in_major_units() {
        assert_eq!(usd(1299).to_string(), "12.99 USD");
        assert_eq!(usd(-5).to_string(), "-0.05 USD");
        let krw = Currency::parse("KRW").unwrap();
        assert_eq!(Money::new(5900, krw).to_string(), "5900 KRW");
    }
}
