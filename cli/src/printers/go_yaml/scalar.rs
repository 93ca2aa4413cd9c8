//! How go-yaml v2 writes a string: the encoder asks for a literal block when it has a line
//! break, for a plain scalar when the text would read back as a string, else for double
//! quotes (`stringv`); the emitter then falls back from plain to single quotes and from
//! those or a block to double quotes as its analysis of the text requires
//! (`yaml_emitter_analyze_scalar`, `yaml_emitter_select_scalar_style`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// The style of `text` as a block mapping's value or a sequence item, or as a simple key.
pub fn style(text: &str, simple_key: bool) -> Style {
    let requested = if text.contains('\n') {
        Style::Literal
    } else if reads_as_string(text) && !base60_float(text) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    let allowed = Analysis::of(text);
    let mut style = requested;
    if style == Style::Plain && (!allowed.block_plain || (text.is_empty() && simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !allowed.single_quoted {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!allowed.block || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// The characters YAML may carry unescaped (the emitter writes Unicode as is).
pub fn printable(c: char) -> bool {
    matches!(c, '\n' | '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}')
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

pub fn line_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => matches!(c, ' ' | '\t' | '\0') || line_break(c),
    }
}

/// Which styles the text allows in block context.
struct Analysis {
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

impl Analysis {
    fn of(text: &str) -> Analysis {
        if text.is_empty() {
            return Analysis {
                block_plain: true,
                single_quoted: true,
                block: false,
            };
        }
        let chars: Vec<char> = text.chars().collect();
        let last = chars.len() - 1;
        let mut indicators = text.starts_with("---") || text.starts_with("...");
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let (mut line_breaks, mut special) = (false, false);
        let mut preceded_by_blank = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_blank = blank_or_end(chars.get(i + 1).copied());
            if i == 0 {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => indicators = true,
                    '?' | ':' | '-' if followed_by_blank => indicators = true,
                    _ => {}
                }
            } else {
                match c {
                    ':' if followed_by_blank => indicators = true,
                    '#' if preceded_by_blank => indicators = true,
                    _ => {}
                }
            }
            if !printable(c) {
                special = true;
            }
            if line_break(c) {
                line_breaks = true;
            }
            if c == ' ' {
                leading_space |= i == 0;
                trailing_space |= i == last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if line_break(c) {
                leading_break |= i == 0;
                trailing_break |= i == last;
                space_break |= previous_space;
                previous_break = true;
                previous_space = false;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_blank = blank_or_end(Some(c));
        }
        let mut a = Analysis {
            block_plain: true,
            single_quoted: true,
            block: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break || line_breaks {
            a.block_plain = false;
        }
        if trailing_space {
            a.block = false;
        }
        if break_space {
            a.block_plain = false;
            a.single_quoted = false;
        }
        if space_break || special {
            a = Analysis {
                block_plain: false,
                single_quoted: false,
                block: false,
            };
        }
        if indicators {
            a.block_plain = false;
        }
        a
    }
}

/// Whether go-yaml v2 reads the plain text back as a string (its `resolve`): not null,
/// a boolean (`yes`, `on`, `n`...), a number (Go's integer syntax, YAML floats, `.inf`) or
/// a timestamp.
fn reads_as_string(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
        "on", "On", "ON", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off",
        "OFF", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if WORDS.contains(&text) {
        return false;
    }
    match text.as_bytes()[0] {
        b'.' => !decimal_float(text),
        b'0'..=b'9' | b'+' | b'-' => {
            if timestamp(text) {
                return false;
            }
            let plain = text.replace('_', "");
            !(go_integer(&plain) || decimal_float(&plain))
        }
        _ => true,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` or `ParseUint`: a sign, then `0x`, `0o`, `0b`, a
/// leading `0` (octal) or decimal digits, within 64 bits.
fn go_integer(text: &str) -> bool {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return false;
    }
    match u64::from_str_radix(digits, radix) {
        Ok(v) if negative => v <= i64::MIN.unsigned_abs(),
        Ok(_) => true,
        Err(_) => false,
    }
}

/// YAML's float syntax as go-yaml v2 accepts it:
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn decimal_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && fraction.bytes().all(|b| b.is_ascii_digit()),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// A sexagesimal number (`12:30`), which YAML 1.1 reads as a float:
/// `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`.
fn base60_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (s, fraction) = match s.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (s, None),
    };
    if fraction.is_some_and(|f| !f.bytes().all(|b| b.is_ascii_digit() || b == b'_')) {
        return false;
    }
    let mut parts = s.split(':');
    let head = parts.next().unwrap_or_default();
    let head_ok = head.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && head.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let mut sexagesimals = 0;
    for part in parts {
        let ok = match part.as_bytes() {
            [d] => d.is_ascii_digit(),
            [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        sexagesimals += 1;
    }
    head_ok && sexagesimals > 0
}

/// A timestamp in one of the layouts go-yaml v2 tries: `2006-1-2`, with `T`, `t` or a space
/// and `15:4:5[.fraction]`, a zone (`Z` or `±07:00`) after `T`/`t` only.
fn timestamp(text: &str) -> bool {
    let number = |s: &str, min: usize, max: usize| -> Option<u32> {
        (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some((&text[at..at + 1], &text[at + 1..]))),
        None => (text, None),
    };
    let mut fields = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) =
        (number(year, 4, 4), number(month, 1, 2), number(day, 1, 2))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    let Some((separator, time)) = time else {
        return true;
    };
    let (clock, zone) = if separator == " " {
        (time, None)
    } else if let Some(clock) = time.strip_suffix('Z') {
        (clock, Some(""))
    } else {
        match time.rfind(['+', '-']) {
            Some(at) => (&time[..at], Some(&time[at + 1..])),
            None => return false,
        }
    };
    if let Some(zone) = zone.filter(|z| !z.is_empty()) {
        let Some((h, m)) = zone.split_once(':') else {
            return false;
        };
        if number(h, 2, 2).is_none_or(|h| h > 24) || number(m, 2, 2).is_none_or(|m| m > 59) {
            return false;
        }
    }
    let (clock, fraction) = match clock.split_once('.') {
        Some((c, f)) => (c, Some(f)),
        None => (clock, None),
    };
    if fraction.is_some_and(|f| number(f, 1, 9).is_none()) {
        return false;
    }
    let mut parts = clock.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    matches!(
        (number(h, 1, 2), number(m, 1, 2), number(s, 1, 2)),
        (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_as_kubectl_writes_them() {
        use Style::*;
        for (text, want) in [
            ("plain words", Plain),
            ("true", DoubleQuoted),
            ("yes", DoubleQuoted),
            ("~", DoubleQuoted),
            ("", DoubleQuoted),
            ("it's: here", SingleQuoted),
            ("- dash", SingleQuoted),
            (" lead", SingleQuoted),
            ("trail ", SingleQuoted),
            ("2024-01-01", DoubleQuoted),
            ("2024-01-01T00:00:00Z", DoubleQuoted),
            ("2024-02-30", Plain),
            ("0x1F", DoubleQuoted),
            ("12:30", DoubleQuoted),
            ("1_000", DoubleQuoted),
            ("# hash", SingleQuoted),
            ("a #b", SingleQuoted),
            ("a#b", Plain),
            ("tab\tx", DoubleQuoted),
            ("ünï", Plain),
            ("multi\nline\n", Literal),
            ("trailing space \nline", DoubleQuoted),
            ("@at", SingleQuoted),
            ("1e3", DoubleQuoted),
            (".5", DoubleQuoted),
            ("0b101", DoubleQuoted),
            ("08", DoubleQuoted),
            ("1.2.3", Plain),
            ("{a}", SingleQuoted),
            ("a, b", Plain),
            ("sha256:abc", Plain),
            ("http://x", Plain),
            ("emoji \u{1f600}", DoubleQuoted),
        ] {
            assert_eq!(style(text, false), want, "{text:?}");
        }
        assert_eq!(style("n", true), DoubleQuoted);
        assert_eq!(style("a\nb", true), DoubleQuoted);
    }
}
