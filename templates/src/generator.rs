//! The `expression` generator of template parameters: `[a-zA-Z0-9]{16}` becomes sixteen
//! random characters of those ranges, literal text around it is kept (`test[0-9]{1}x` →
//! `test7x`). Classes `\w` (letters, digits, `_`), `\d` (digits), `\a` (letters and digits)
//! and `\A` (symbols); counts 1 to 255. Upstream's quirks are kept, since templates written
//! for OpenShift rely on what it produces: a range `x-y` takes the characters from `x` up to
//! but not including `y` in upstream's alphabet, and its messages are worded (and misspelt)
//! as upstream words them.

use std::sync::LazyLock;

use rand::Rng;
use regex::Regex;

const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERALS: &str = "0123456789";
const SYMBOLS: &str = "~!@#$%^&*()-_+={}[]\\|<,>.?/\"';:`";

/// Every character a range may span, in upstream's order.
fn ascii() -> String {
    format!("{ALPHABET}{NUMERALS}{SYMBOLS}")
}

/// One generator: `[ranges]{count}`.
static GENERATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[([a-zA-Z0-9\-\\]+)\](\{([0-9]+)\})").unwrap_or_else(|_| unreachable!())
});
/// A well-formed class: an escape first, or ranges up to the closing bracket.
static EXPRESSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(\\w|\\d|\\a|\\A)|([a-zA-Z0-9]\-[a-zA-Z0-9])+\]")
        .unwrap_or_else(|_| unreachable!())
});
/// One part of a class: an escape, a range or a single character.
static PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([\\]?[a-zA-Z0-9]\-?[a-zA-Z0-9]?)").unwrap_or_else(|_| unreachable!())
});

/// `expression` with each generator replaced by random characters.
pub fn generate(expression: &str, rng: &mut impl Rng) -> Result<String, String> {
    let mut out = expression.to_string();
    while let Some(found) = GENERATOR.find(&out) {
        let (class, count) = class_and_count(found.as_str())?;
        let alphabet = alphabet_of(class)?;
        if alphabet.is_empty() {
            return Err(format!("malformed expresion syntax: {class}"));
        }
        let generated: String = (0..count)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
            .collect();
        out.replace_range(found.range(), &generated);
    }
    Ok(out)
}

/// The class (`[a-z]`) and count of one generator, checked.
fn class_and_count(generator: &str) -> Result<(&str, usize), String> {
    let brace = generator.rfind('{').unwrap_or(generator.len());
    let class = &generator[..brace];
    if !EXPRESSION.is_match(class) {
        return Err(format!("malformed expresion syntax: {class}"));
    }
    let digits = generator[brace..]
        .trim_start_matches('{')
        .trim_end_matches('}');
    // Go's Atoi gives 0 for what does not fit, which the range check then refuses.
    let count: usize = digits.parse().unwrap_or(0);
    if count == 0 || count > 255 {
        return Err(format!("range must be within [1-255] characters ({count})"));
    }
    Ok((class, count))
}

/// The characters a class draws from, each once.
fn alphabet_of(class: &str) -> Result<Vec<u8>, String> {
    let mut alphabet = String::new();
    for part in PART.find_iter(class) {
        let bytes = part.as_str().as_bytes();
        let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
        match (first, last) {
            (b'\\', b'w') => alphabet.push_str(&format!("{ALPHABET}{NUMERALS}_")),
            (b'\\', b'd') => alphabet.push_str(NUMERALS),
            (b'\\', b'a') => alphabet.push_str(&format!("{ALPHABET}{NUMERALS}")),
            (b'\\', b'A') => alphabet.push_str(SYMBOLS),
            _ => alphabet.push_str(&range(first as char, last as char)?),
        }
    }
    let mut seen = Vec::new();
    for b in alphabet.bytes() {
        if !seen.contains(&b) {
            seen.push(b);
        }
    }
    Ok(seen)
}

/// `from-to` as upstream slices it: from the first `from` to the last `to`, `to` excluded.
fn range(from: char, to: char) -> Result<String, String> {
    let ascii = ascii();
    let left = ascii.find(from);
    let right = ascii.rfind(to);
    match (left, right) {
        (Some(l), Some(r)) if l <= r => Ok(ascii[l..r].to_string()),
        _ => Err(format!("invalid range specified: {from}-{to}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    fn all_in(text: &str, alphabet: &str) -> bool {
        text.chars().all(|c| alphabet.contains(c))
    }

    #[test]
    fn counts_classes_and_literal_text() {
        let mut r = rng();
        let v = generate("[a-zA-Z0-9]{16}", &mut r).unwrap();
        assert_eq!(v.len(), 16);
        assert!(all_in(
            &v,
            "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXY012345678"
        ));
        let v = generate("test[0-9]{1}x", &mut r).unwrap();
        assert!(
            v.starts_with("test") && v.ends_with('x') && v.len() == 6,
            "{v}"
        );
        let v = generate("0x[A-F0-9]{4}", &mut r).unwrap();
        assert!(
            v.starts_with("0x") && all_in(&v[2..], "ABCDE012345678"),
            "{v}"
        );
        let v = generate("[\\d]{40}", &mut r).unwrap();
        assert!(all_in(&v, NUMERALS) && v.len() == 40);
        let v = generate("[\\w]{64}", &mut r).unwrap();
        assert!(all_in(&v, &format!("{ALPHABET}{NUMERALS}_")));
        let v = generate("[\\A]{32}", &mut r).unwrap();
        assert!(all_in(&v, SYMBOLS));
        let v = generate("[\\a]{8}-[\\d]{2}", &mut r).unwrap();
        assert_eq!(v.len(), 11);
        assert_eq!(v.as_bytes()[8], b'-');
        assert_eq!(generate("plain", &mut r).unwrap(), "plain");
    }

    #[test]
    fn a_range_stops_before_its_last_character() {
        let mut r = rng();
        let v = generate("[a-c]{200}", &mut r).unwrap();
        assert!(
            v.contains('a') && v.contains('b') && !v.contains('c'),
            "{v}"
        );
    }

    #[test]
    fn upstreams_messages() {
        let mut r = rng();
        assert_eq!(
            generate("[abc]{3}", &mut r).unwrap_err(),
            "malformed expresion syntax: [abc]"
        );
        assert_eq!(
            generate("[a-z]{0}", &mut r).unwrap_err(),
            "range must be within [1-255] characters (0)"
        );
        assert_eq!(
            generate("[a-z]{256}", &mut r).unwrap_err(),
            "range must be within [1-255] characters (256)"
        );
        assert_eq!(
            generate("[z-a]{3}", &mut r).unwrap_err(),
            "invalid range specified: z-a"
        );
    }
}
