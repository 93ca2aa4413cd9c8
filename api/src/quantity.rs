//! The string forms of upstream's value types that are not plain JSON: resource quantities
//! (`500m`, `1.5Gi`, `1e3`) and Go durations (`1h30m`), with the errors upstream's parsers
//! give.

/// The form every quantity must have, as upstream's message states it.
pub const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_NUMERIC: &str = "unable to parse numeric part of quantity";
const QUANTITY_SUFFIX: &str = "unable to parse quantity's suffix";

/// Checks `text` as a resource quantity; upstream's error when it is not one.
pub fn parse(text: &str) -> Result<(), &'static str> {
    let bytes = text.as_bytes();
    let signed = bytes.first().is_some_and(|b| *b == b'+' || *b == b'-');
    let number_end = bytes
        .iter()
        .enumerate()
        .skip(usize::from(signed))
        .find(|(_, b)| !(b.is_ascii_digit() || **b == b'.'))
        .map_or(bytes.len(), |(i, _)| i);
    let number = &text[usize::from(signed)..number_end];
    let suffix = &text[number_end..];
    // The shape first: a number, then suffix letters and an optional signed exponent.
    let letters_end = suffix
        .bytes()
        .position(|b| !b"eEinumkKMGTP".contains(&b))
        .unwrap_or(suffix.len());
    let rest = &suffix[letters_end..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if number.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QUANTITY_FORMAT);
    }
    let dots = number.bytes().filter(|b| *b == b'.').count();
    if dots > 1 || number == "." {
        return Err(QUANTITY_NUMERIC);
    }
    let valid_suffix = match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T"
        | "P" | "E" => true,
        s => s
            .strip_prefix(['e', 'E'])
            .map(|exp| exp.strip_prefix(['+', '-']).unwrap_or(exp))
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())),
    };
    match valid_suffix {
        true => Ok(()),
        false => Err(QUANTITY_SUFFIX),
    }
}

/// A Go duration (`300ms`, `-1.5h`, `1h2m3s`, `0`) in nanoseconds; `None` if it is not one.
pub fn parse_go_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .bytes()
            .position(|b| !(b.is_ascii_digit() || b == b'.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    let nanos = total as i128;
    Some(if negative { -nanos } else { nanos })
}

/// A quantity's value in its unit (`"1Gi"` → 1073741824.0), for comparing sizes; `None` for
/// text that is not a quantity.
pub fn value(text: &str) -> Option<f64> {
    parse(text).ok()?;
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let binary = |p: i32| 1024f64.powi(p);
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exp => 10f64.powi(exp[1..].parse().ok()?),
    };
    Some(number * scale)
}

/// A quantity in thousandths of its unit (`"500m"` → 500, `"1Ki"` → 1 024 000), a fraction of a
/// thousandth rounded up as upstream rounds it, saturating; `None` for text that is not one.
pub fn milli(text: &str) -> Option<i64> {
    let v = value(text.trim())?;
    Some((v * 1000.0).ceil().clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

/// A quantity as Go's `%#v` prints upstream's `resource.Quantity` (the bad value of field
/// errors on quantities): its integer amount and scale, its canonical text and format. `None`
/// for text that is not a quantity or whose amount exceeds the integer form.
pub fn go_value(text: &str) -> Option<String> {
    parse(text).ok()?;
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(digits_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let (format, exponent, binary) = match suffix {
        "" => ("DecimalSI", 0, 0),
        "n" => ("DecimalSI", -9, 0),
        "u" => ("DecimalSI", -6, 0),
        "m" => ("DecimalSI", -3, 0),
        "k" => ("DecimalSI", 3, 0),
        "M" => ("DecimalSI", 6, 0),
        "G" => ("DecimalSI", 9, 0),
        "T" => ("DecimalSI", 12, 0),
        "P" => ("DecimalSI", 15, 0),
        "E" => ("DecimalSI", 18, 0),
        "Ki" => ("BinarySI", 0, 10),
        "Mi" => ("BinarySI", 0, 20),
        "Gi" => ("BinarySI", 0, 30),
        "Ti" => ("BinarySI", 0, 40),
        "Pi" => ("BinarySI", 0, 50),
        "Ei" => ("BinarySI", 0, 60),
        e => ("DecimalExponent", e[1..].parse::<i32>().ok()?, 0),
    };
    let mantissa: i128 = format!("{whole}{fraction}0").parse::<i128>().ok()? / 10;
    let mut value = mantissa.checked_mul(1i128 << binary)?;
    if negative {
        value = -value;
    }
    let scale = exponent - fraction.len() as i32;
    let amount = i64::try_from(value).ok()?;
    let canonical = canonical(value, scale, format)?;
    Some(format!(
        "resource.Quantity{{i:resource.int64Amount{{value:{amount}, scale:{scale}}}, \
         d:resource.infDecAmount{{Dec:(*inf.Dec)(nil)}}, s:{canonical:?}, Format:{format:?}}}"
    ))
}

/// Upstream's canonical text of `value`×10^`scale` in `format`: the mantissa with its trailing
/// thousands folded into the suffix (`1500m`, `1k`, `2Ki`).
fn canonical(mut value: i128, mut scale: i32, format: &str) -> Option<String> {
    if value == 0 {
        return Some("0".into());
    }
    if format == "BinarySI" && scale >= 0 {
        let whole = value.checked_mul(10i128.checked_pow(scale as u32)?)?;
        if whole.abs() >= 1024 {
            let mut power = 0;
            let mut v = whole;
            while v % 1024 == 0 && power < 6 {
                v /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return Some(format!("{v}{suffix}"));
        }
        (value, scale) = (whole, 0);
    }
    while scale.rem_euclid(3) != 0 {
        value = value.checked_mul(10)?;
        scale -= 1;
    }
    while value % 1000 == 0 && scale < 18 {
        value /= 1000;
        scale += 3;
    }
    if format == "DecimalExponent" {
        return Some(match scale {
            0 => value.to_string(),
            s => format!("{value}e{s}"),
        });
    }
    let suffix = match scale {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return None,
    };
    Some(format!("{value}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_thousandths() {
        assert_eq!(milli("500m"), Some(500));
        assert_eq!(milli("2"), Some(2000));
        assert_eq!(milli("1Ki"), Some(1_024_000));
        assert_eq!(milli("0.5"), Some(500));
        assert_eq!(milli("lots"), None);
    }

    #[test]
    fn quantities_as_upstream_parses_them() {
        for ok in [
            "1", "500m", "1.5Gi", "1e3", "1E-3", "+2", "-1", ".5", "5.", "1Ki", "0", "12n",
        ] {
            assert_eq!(parse(ok), Ok(()), "{ok}");
        }
        assert_eq!(parse(""), Err(QUANTITY_FORMAT));
        assert_eq!(parse("abc"), Err(QUANTITY_FORMAT));
        assert_eq!(parse("1 Gi"), Err(QUANTITY_FORMAT));
        assert_eq!(parse("1.2.3"), Err(QUANTITY_NUMERIC));
        assert_eq!(parse("1Gb"), Err(QUANTITY_FORMAT));
        assert_eq!(parse("1GiB"), Err(QUANTITY_FORMAT));
        assert_eq!(parse("1KM"), Err(QUANTITY_SUFFIX));
        assert_eq!(parse("1e"), Err(QUANTITY_SUFFIX));
        assert_eq!(value("1Gi"), Some(1073741824.0));
        assert_eq!(value("2e3"), Some(2000.0));
        assert_eq!(value("500m"), Some(0.5));
        assert_eq!(value("1Gx"), None);
    }

    #[test]
    fn quantities_in_go_form() {
        let go = |t: &str| go_value(t).unwrap();
        assert_eq!(
            go("0"),
            "resource.Quantity{i:resource.int64Amount{value:0, scale:0}, \
             d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"0\", Format:\"DecimalSI\"}"
        );
        assert!(go("-1").contains("{value:-1, scale:0}") && go("-1").contains("s:\"-1\""));
        assert!(go("-1.5").contains("{value:-15, scale:-1}") && go("-1.5").contains("\"-1500m\""));
        assert!(go("-2Ki").contains("value:-2048, scale:0") && go("-2Ki").contains("\"-2Ki\""));
        assert!(go("-3000").contains("s:\"-3k\""));
        assert!(go("-1e3").contains("s:\"-1e3\", Format:\"DecimalExponent\""));
        assert_eq!(go_value("x"), None);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_go_duration("1h2m3s"), Some(3_723_000_000_000));
        assert_eq!(parse_go_duration("-1.5h"), Some(-5_400_000_000_000));
        for bad in ["", "1", "h", "1x", "1.2.3s", "--1s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }
}
