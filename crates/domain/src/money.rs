//! Money in minor units with its currency. Partners use other conventions (e5 units,
//! decimal strings); the parsers here convert exactly or refuse.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an amount could not be represented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The currency code is not three upper-case letters.
    #[error("currency {0:?} is not an ISO 4217 code (three upper-case letters)")]
    BadCurrency(String),
    /// The decimal string is not a plain non-negative decimal.
    #[error("amount {0:?} is not a decimal number like 12.99")]
    BadDecimal(String),
    /// The amount has more fractional digits than the currency allows.
    #[error("amount {amount:?} has more than {exponent} decimal places for {currency}")]
    TooPrecise {
        /// The amount as given.
        amount: String,
        /// The currency.
        currency: Currency,
        /// The currency's number of minor-unit digits.
        exponent: u32,
    },
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
            _ => Err(MoneyError::BadCurrency(code.to_owned())),
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

fn pow10(exp: u32) -> i64 {
    10_i64.pow(exp)
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

    /// Parses a plain decimal string such as `"12.99"` or `"7"` exactly.
    pub fn from_decimal_str(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let bad = || MoneyError::BadDecimal(amount.to_owned());
        let exp = currency.exponent();
        let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (amount.contains('.') && frac.is_empty()) {
            return Err(bad());
        }
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() as u32 > exp {
            return Err(MoneyError::TooPrecise {
                amount: amount.to_owned(),
                currency,
                exponent: exp,
            });
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let mut frac_value: i64 = 0;
        for (i, b) in frac_trimmed.bytes().enumerate() {
            frac_value += i64::from(b - b'0') * pow10(exp - 1 - i as u32);
        }
        let minor = whole
            .checked_mul(pow10(exp))
            .and_then(|w| w.checked_add(frac_value))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, currency))
    }

    /// Converts an amount given in 1e-5 units of the major unit (as some partner APIs do)
    /// exactly, refusing amounts finer than the currency's minor unit.
    pub fn from_e5(amount_e5: i64, currency: Currency) -> Result<Self, MoneyError> {
        let exp = currency.exponent();
        let divisor = pow10(5 - exp.min(5));
        if amount_e5 % divisor != 0 {
            return Err(MoneyError::TooPrecise {
                amount: format!("{amount_e5}e-5"),
                currency,
                exponent: exp,
            });
        }
        Ok(Money::new(amount_e5 / divisor, currency))
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

    /// Whether two amounts in the same currency differ by at most `tolerance_minor`.
    pub fn within(self, other: Money, tolerance_minor: i64) -> bool {
        self.currency == other.currency
            && (self.amount_minor - other.amount_minor).abs() <= tolerance_minor
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
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    #[test]
    fn decimal_strings_convert_exactly_to_minor_units() {
        assert_eq!(
            Money::from_decimal_str("12.99", Currency::USD).unwrap(),
            usd(1299)
        );
        assert_eq!(
            Money::from_decimal_str("7", Currency::USD).unwrap(),
            usd(700)
        );
        assert_eq!(
            Money::from_decimal_str("0.5", Currency::USD).unwrap(),
            usd(50)
        );
        assert_eq!(
            Money::from_decimal_str("1.500", Currency::USD).unwrap(),
            usd(150)
        );
    }

    #[test]
    fn a_decimal_finer_than_the_minor_unit_is_refused() {
        let err = Money::from_decimal_str("1.999", Currency::USD).unwrap_err();
        assert!(
            matches!(err, MoneyError::TooPrecise { exponent: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn malformed_decimals_are_refused() {
        for bad in ["", ".5", "1.", "-1.00", "1,00", "1e3", " 1.00", "abc"] {
            assert!(
                Money::from_decimal_str(bad, Currency::USD).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn zero_exponent_currencies_have_no_minor_digits() {
        let krw = Currency::parse("KRW").unwrap();
        assert_eq!(
            Money::from_decimal_str("5900", krw).unwrap(),
            Money::new(5900, krw)
        );
        assert!(Money::from_decimal_str("5900.5", krw).is_err());
        assert_eq!(
            Money::from_e5(590_000_000, krw).unwrap(),
            Money::new(5900, krw)
        );
    }

    #[test]
    fn e5_amounts_convert_to_cents() {
        assert_eq!(Money::from_e5(599_000, Currency::USD).unwrap(), usd(599));
        assert!(Money::from_e5(599_001, Currency::USD).is_err());
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
    }

    proptest! {
        #[test]
        fn any_cent_amount_round_trips_through_its_decimal_form(minor in 0_i64..10_000_000_000) {
            let text = format!("{}.{:02}", minor / 100, minor % 100);
            prop_assert_eq!(Money::from_decimal_str(&text, Currency::USD).unwrap(), usd(minor));
        }

        #[test]
        fn a_string_the_decimal_parser_takes_reads_back_as_the_same_amount(s in "-?[0-9]{0,8}(\\.[0-9]{0,3})?|.{0,24}") {
            // Whatever it accepts must mean what it says: the amount printed as cents with two
            // decimals parses back to itself; whatever it refuses is refused with a reason.
            match Money::from_decimal_str(&s, Currency::USD) {
                Ok(m) => {
                    let minor = m.amount_minor;
                    let text = format!("{}{}.{:02}", if minor < 0 { "-" } else { "" }, minor.abs() / 100, minor.abs() % 100);
                    prop_assert_eq!(Money::from_decimal_str(&text, Currency::USD).unwrap(), m);
                    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                    prop_assert!(!digits.is_empty(), "{:?} parsed without a digit", s);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
