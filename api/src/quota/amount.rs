//! Quantities as quota arithmetic needs them: exact sums and differences (in thousandths, as
//! upstream's milli-precision), printed back in the format of the quantity they started from
//! (`256Mi` + `256Mi` = `512Mi`, `500m` + `500m` = `1`), as Go's `resource.Quantity` does.

use std::cmp::Ordering;
use std::fmt;

/// How a quantity is written: SI suffixes, binary suffixes, or a decimal exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// A quantity in thousandths of its unit, with the format it prints in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Amount {
    pub milli: i128,
    pub format: Format,
}

impl PartialEq for Amount {
    fn eq(&self, other: &Self) -> bool {
        self.milli == other.milli
    }
}

impl PartialOrd for Amount {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.milli.cmp(&other.milli))
    }
}

impl Amount {
    /// A whole number of units (object counts).
    pub fn count(n: i128) -> Amount {
        Amount {
            milli: n * 1000,
            format: Format::DecimalSi,
        }
    }

    /// Parses a quantity; a fraction of a thousandth is rounded up, as upstream rounds it.
    pub fn parse(text: &str) -> Option<Amount> {
        let text = text.trim();
        crate::quantity::parse(text).ok()?;
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let split = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (number, suffix) = body.split_at(split);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
        let decimals = fraction.len() as i32;
        let (format, ten, two) = match suffix {
            "" => (Format::DecimalSi, 0, 0),
            "n" => (Format::DecimalSi, -9, 0),
            "u" => (Format::DecimalSi, -6, 0),
            "m" => (Format::DecimalSi, -3, 0),
            "k" => (Format::DecimalSi, 3, 0),
            "M" => (Format::DecimalSi, 6, 0),
            "G" => (Format::DecimalSi, 9, 0),
            "T" => (Format::DecimalSi, 12, 0),
            "P" => (Format::DecimalSi, 15, 0),
            "E" => (Format::DecimalSi, 18, 0),
            "Ki" => (Format::BinarySi, 0, 10),
            "Mi" => (Format::BinarySi, 0, 20),
            "Gi" => (Format::BinarySi, 0, 30),
            "Ti" => (Format::BinarySi, 0, 40),
            "Pi" => (Format::BinarySi, 0, 50),
            "Ei" => (Format::BinarySi, 0, 60),
            exp => (Format::DecimalExponent, exp[1..].parse().ok()?, 0),
        };
        // value = digits × 10^(ten − decimals) × 2^two, in thousandths.
        let mut numerator = digits.checked_mul(1i128.checked_shl(two)?)?;
        let mut denominator: i128 = 1;
        let power = ten - decimals + 3;
        if power >= 0 {
            numerator = numerator.checked_mul(10i128.checked_pow(power as u32)?)?;
        } else {
            denominator = 10i128.checked_pow((-power) as u32)?;
        }
        let mut milli = numerator / denominator;
        if numerator % denominator != 0 {
            milli += 1;
        }
        Some(Amount {
            milli: if negative { -milli } else { milli },
            format,
        })
    }

    /// Go's `Add`: a zero takes the other's format.
    pub fn plus(self, other: Amount) -> Amount {
        let format = if self.milli == 0 {
            other.format
        } else {
            self.format
        };
        Amount {
            milli: self.milli.saturating_add(other.milli),
            format,
        }
    }

    pub fn minus(self, other: Amount) -> Amount {
        Amount {
            milli: self.milli.saturating_sub(other.milli),
            format: self.format,
        }
    }

    /// The same value printed in `format`, rounded up to a whole unit (kubectl's
    /// `NewQuantity(q.Value(), format)`).
    pub fn whole_in(self, format: Format) -> Amount {
        let units = self.milli.div_euclid(1000) + i128::from(self.milli.rem_euclid(1000) != 0);
        Amount {
            milli: units * 1000,
            format,
        }
    }
}

impl fmt::Display for Amount {
    /// Go's canonical form: the largest suffix that keeps the number whole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.milli < 0 { "-" } else { "" };
        let milli = self.milli.unsigned_abs();
        if milli == 0 {
            return f.write_str("0");
        }
        if !milli.is_multiple_of(1000) {
            return match self.format {
                Format::DecimalExponent => write!(f, "{sign}{milli}e-3"),
                _ => write!(f, "{sign}{milli}m"),
            };
        }
        let units = milli / 1000;
        if self.format == Format::BinarySi && units >= 1024 {
            let mut n = units;
            let mut power = 0;
            while power < 6 && n.is_multiple_of(1024) {
                n /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return write!(f, "{sign}{n}{suffix}");
        }
        let mut n = units;
        let mut power = 0;
        while power < 6 && n.is_multiple_of(1000) {
            n /= 1000;
            power += 1;
        }
        match self.format {
            Format::DecimalExponent if power > 0 => write!(f, "{sign}{n}e{}", power * 3),
            Format::DecimalExponent => write!(f, "{sign}{n}"),
            _ => {
                let suffix = ["", "k", "M", "G", "T", "P", "E"][power];
                write!(f, "{sign}{n}{suffix}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        Amount::parse(text)
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    fn sum(a: &str, b: &str) -> String {
        match (Amount::parse(a), Amount::parse(b)) {
            (Some(a), Some(b)) => a.plus(b).to_string(),
            _ => String::new(),
        }
    }

    #[test]
    fn canonical_forms_are_gos() {
        assert_eq!(show("1.5"), "1500m");
        assert_eq!(show("1000"), "1k");
        assert_eq!(show("2000m"), "2");
        assert_eq!(show("1536Mi"), "1536Mi");
        assert_eq!(show("1.5Gi"), "1536Mi");
        assert_eq!(show("1Gi"), "1Gi");
        assert_eq!(show("1000Ki"), "1000Ki");
        assert_eq!(show("0.5Ki"), "512");
        assert_eq!(show("1e3"), "1e3");
        assert_eq!(show("0"), "0");
        assert_eq!(show("1n"), "1m");
        assert_eq!(show("10Ei"), "10Ei");
    }

    #[test]
    fn sums_keep_the_first_non_zero_format() {
        assert_eq!(sum("256Mi", "256Mi"), "512Mi");
        assert_eq!(sum("500m", "500m"), "1");
        assert_eq!(sum("0", "1Gi"), "1Gi");
        assert_eq!(sum("1G", "1Gi"), "2073741824");
        assert_eq!(sum("4", "1"), "5");
    }

    #[test]
    fn comparisons_are_by_value() {
        let (Some(a), Some(b)) = (Amount::parse("1Gi"), Amount::parse("1073741824")) else {
            panic!("quantities")
        };
        assert!(a == b);
        assert!(Amount::parse("1001m") > Amount::parse("1"));
        assert_eq!(
            Amount::parse("1500m").map(|a| a.whole_in(Format::BinarySi).to_string()),
            Some("2".into())
        );
    }
}
