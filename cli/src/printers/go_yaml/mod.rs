//! YAML as kubectl writes it: sigs.k8s.io/yaml turns the JSON into YAML with go-yaml v2's
//! emitter, so keys come in its order (`keys.rs`), strings in its styles (`scalar.rs`),
//! sequences under a key are not indented, empty maps and lists are `{}` and `[]`, and a
//! plain or quoted scalar is folded at a space once its line is past 80 columns, its next
//! lines indented under its key.

mod keys;
mod scalar;

use serde_json::{Map, Number, Value};

use scalar::Style;

/// The column past which the emitter folds scalars at spaces.
const BEST_WIDTH: usize = 80;
/// Spaces per level of nesting.
const BEST_INDENT: i32 = 2;

pub fn to_string(value: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    e.node(value, -1, Context::Root);
    e.write_indent(0);
    e.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    MappingValue,
    SequenceItem,
}

/// The emitter's state where it decides on breaks and spaces: the column, whether the last
/// character written was white space, and whether only indentation is on the line.
struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
}

/// The indentation of a node nested in one at `indent`: a block collection is indented by
/// two unless it is a sequence under a key; a scalar's folded lines by two.
fn increase(indent: i32, scalar: bool, indentless: bool) -> i32 {
    if indent < 0 {
        if scalar { BEST_INDENT } else { 0 }
    } else if indentless {
        indent
    } else {
        indent + BEST_INDENT
    }
}

impl Emitter {
    fn node(&mut self, value: &Value, indent: i32, context: Context) {
        match value {
            Value::Object(map) if map.is_empty() => self.flow_empty("{", "}"),
            Value::Array(items) if items.is_empty() => self.flow_empty("[", "]"),
            Value::Object(map) => self.mapping(map, increase(indent, false, false)),
            Value::Array(items) => {
                let indentless = context == Context::MappingValue && !self.indention;
                self.sequence(items, increase(indent, false, indentless))
            }
            Value::String(text) => self.string(text, increase(indent, true, false), false),
            Value::Number(n) => self.plain(&number(n), increase(indent, true, false), true),
            Value::Bool(b) => self.plain(if *b { "true" } else { "false" }, 0, false),
            Value::Null => self.plain("null", 0, false),
        }
    }

    fn mapping(&mut self, map: &Map<String, Value>, indent: i32) {
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        entries.sort_by(|a, b| keys::order(a.0, b.0));
        for (key, value) in entries {
            self.write_indent(indent);
            self.string(key, indent + BEST_INDENT, true);
            self.indicator(":", false, false, false);
            self.node(value, indent, Context::MappingValue);
        }
    }

    fn sequence(&mut self, items: &[Value], indent: i32) {
        for item in items {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.node(item, indent, Context::SequenceItem);
        }
    }

    fn flow_empty(&mut self, open: &str, close: &str) {
        self.indicator(open, true, true, false);
        self.indicator(close, false, false, false);
    }

    fn string(&mut self, text: &str, indent: i32, simple_key: bool) {
        match scalar::style(text, simple_key) {
            Style::Plain => self.plain(text, indent, !simple_key),
            Style::SingleQuoted => self.single_quoted(text, indent, !simple_key),
            Style::DoubleQuoted => self.double_quoted(text, indent, !simple_key),
            Style::Literal => self.literal(text, indent),
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// A new line unless the line holds only indentation up to `indent`, then spaces to it.
    fn write_indent(&mut self, indent: i32) {
        let indent = indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(
        &mut self,
        text: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        text.chars().for_each(|c| self.put(c));
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// Whether a space at `i` is where the line folds: past the width, not after another
    /// space (and, quoted, not the text's first or last character).
    fn folds(&self, chars: &[char], i: usize, spaces: bool, allow_breaks: bool) -> bool {
        allow_breaks && !spaces && self.column > BEST_WIDTH && chars.get(i + 1) != Some(&' ')
    }

    fn plain(&mut self, text: &str, indent: i32, allow_breaks: bool) {
        if !text.is_empty() && !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if self.folds(&chars, i, spaces, allow_breaks) {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single_quoted(&mut self, text: &str, indent: i32, allow_breaks: bool) {
        self.indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let last = chars.len().saturating_sub(1);
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if i != 0 && i != last && self.folds(&chars, i, spaces, allow_breaks) {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.indicator("'", false, false, false);
    }

    fn double_quoted(&mut self, text: &str, indent: i32, allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let last = chars.len().saturating_sub(1);
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !scalar::printable(c)
                || c == '\u{feff}'
                || scalar::line_break(c)
                || c == '"'
                || c == '\\'
            {
                self.put('\\');
                match escape(c) {
                    Some(e) => self.put(e),
                    None => {
                        let code = c as u32;
                        let (prefix, width) = match code {
                            0..=0xff => ('x', 2),
                            0x100..=0xffff => ('u', 4),
                            _ => ('U', 8),
                        };
                        self.put(prefix);
                        format!("{code:0width$X}").chars().for_each(|d| self.put(d));
                    }
                }
                spaces = false;
            } else if c == ' ' {
                // Only the emitter's own check, not the next character's: a space fold
                // before another space is kept with a backslash.
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i != last {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
    }

    fn literal(&mut self, text: &str, indent: i32) {
        self.indicator("|", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        if chars
            .first()
            .is_some_and(|&c| c == ' ' || scalar::line_break(c))
        {
            self.indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let last_break = chars.last().is_some_and(|&c| scalar::line_break(c));
        let keep = last_break
            && (chars.len() == 1
                || chars
                    .get(chars.len() - 2)
                    .is_some_and(|&c| scalar::line_break(c)));
        if !last_break {
            self.indicator("-", false, false, false);
        } else if keep {
            self.indicator("+", false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if scalar::line_break(c) {
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                }
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// The short escapes of YAML's double-quoted scalars.
fn escape(c: char) -> Option<char> {
    Some(match c {
        '\0' => '0',
        '\x07' => 'a',
        '\x08' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\x0b' => 'v',
        '\x0c' => 'f',
        '\r' => 'r',
        '\x1b' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{a0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => return None,
    })
}

/// A JSON number as go-yaml v2 writes what it decoded: integers as they are, floats in Go's
/// shortest `%g` (`1e+06`, `0.5`, `1` for `1.0`).
fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest digits that read back, as Go's shortest does.
    let scientific = format!("{:e}", f.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{point}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let n = digits.len() as i32;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{digits}{}", "0".repeat((point - n) as usize))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests;
