//! Kubernetes' format library: `format.dns1123Label()`, `format.named('uuid')` and the other
//! named formats, and `<format>.validate(string)`: `optional.none()` for a valid string, else
//! the list of what is wrong with it, in the words object validation uses.

use cel::common::types::{CelList, CelOptional, CelString, Type};
use cel::common::value::Val;
use cel::{DeclarationError, Env};

use api::names;

static FORMAT_TYPE: Type = Type::new_unspecified_type("kubernetes.NamedFormat");

/// One of the named formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format(&'static str);

super::library_val!(Format, FORMAT_TYPE, eq);

/// Upstream's `maskTrailingDash`: a prefix may end with a dash (a generated suffix follows);
/// the dash and the character before it become an `a`.
fn mask_trailing_dash(s: &str) -> String {
    match s.strip_suffix('-') {
        Some(rest) if s.len() > 1 => {
            let mut kept: String = rest.to_string();
            kept.pop();
            kept + "a"
        }
        _ => s.to_string(),
    }
}

fn unless(fits: bool, message: &str) -> Vec<String> {
    match fits {
        true => Vec::new(),
        false => vec![message.to_string()],
    }
}

const FORMATS: &[&str] = &[
    "dns1123Label",
    "dns1123Subdomain",
    "dns1035Label",
    "qualifiedName",
    "dns1123LabelPrefix",
    "dns1123SubdomainPrefix",
    "dns1035LabelPrefix",
    "labelValue",
    "uri",
    "uuid",
    "byte",
    "date",
    "datetime",
];

impl Format {
    /// What is wrong with `s` in this format (nothing when it fits).
    fn check(&self, s: &str) -> Vec<String> {
        use crate::custom_resources::formats::fits;
        match self.0 {
            "dns1123Label" => names::dns1123_label(s),
            "dns1123Subdomain" => names::dns1123_subdomain(s),
            "dns1035Label" => names::dns1035_label(s),
            "qualifiedName" => names::qualified_name(s),
            "dns1123LabelPrefix" => names::dns1123_label(&mask_trailing_dash(s)),
            "dns1123SubdomainPrefix" => names::dns1123_subdomain(&mask_trailing_dash(s)),
            "dns1035LabelPrefix" => names::dns1035_label(&mask_trailing_dash(s)),
            "labelValue" => names::label_value(s),
            "uri" => super::url::parse(s).err().into_iter().collect(),
            "uuid" => unless(fits("uuid", s), "does not match the UUID format"),
            "byte" => unless(fits("byte", s), "invalid base64"),
            "date" => unless(fits("date", s), "invalid date"),
            _ => unless(fits("datetime", s), "invalid datetime"),
        }
    }
}

fn dns1123_label() -> Format {
    Format("dns1123Label")
}
fn dns1123_subdomain() -> Format {
    Format("dns1123Subdomain")
}
fn dns1035_label() -> Format {
    Format("dns1035Label")
}
fn qualified_name() -> Format {
    Format("qualifiedName")
}
fn dns1123_label_prefix() -> Format {
    Format("dns1123LabelPrefix")
}
fn dns1123_subdomain_prefix() -> Format {
    Format("dns1123SubdomainPrefix")
}
fn dns1035_label_prefix() -> Format {
    Format("dns1035LabelPrefix")
}
fn label_value() -> Format {
    Format("labelValue")
}
fn uri() -> Format {
    Format("uri")
}
fn uuid() -> Format {
    Format("uuid")
}
fn byte() -> Format {
    Format("byte")
}
fn date() -> Format {
    Format("date")
}
fn datetime() -> Format {
    Format("datetime")
}

/// `format.named(name)`: the format of that name, if there is one.
fn named(name: &CelString<'_>) -> CelOptional<'static> {
    match FORMATS.iter().find(|f| **f == name.inner()) {
        Some(f) => CelOptional::of(Box::new(Format(f))),
        None => CelOptional::none(),
    }
}

fn validate(f: &Format, s: &CelString<'_>) -> CelOptional<'static> {
    let problems = f.check(s.inner());
    if problems.is_empty() {
        return CelOptional::none();
    }
    let list: Vec<Box<dyn Val>> = problems
        .into_iter()
        .map(|p| Box::new(CelString::from(p)) as Box<dyn Val>)
        .collect();
    CelOptional::of(Box::new(CelList::from(list)))
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_overload!(env, fn dns1123_label: () -> Format, name = "format.dns1123Label")?;
    cel::add_overload!(env, fn dns1123_subdomain: () -> Format, name = "format.dns1123Subdomain")?;
    cel::add_overload!(env, fn dns1035_label: () -> Format, name = "format.dns1035Label")?;
    cel::add_overload!(env, fn qualified_name: () -> Format, name = "format.qualifiedName")?;
    cel::add_overload!(env, fn dns1123_label_prefix: () -> Format, name = "format.dns1123LabelPrefix")?;
    cel::add_overload!(env, fn dns1123_subdomain_prefix: () -> Format, name = "format.dns1123SubdomainPrefix")?;
    cel::add_overload!(env, fn dns1035_label_prefix: () -> Format, name = "format.dns1035LabelPrefix")?;
    cel::add_overload!(env, fn label_value: () -> Format, name = "format.labelValue")?;
    cel::add_overload!(env, fn uri: () -> Format, name = "format.uri")?;
    cel::add_overload!(env, fn uuid: () -> Format, name = "format.uuid")?;
    cel::add_overload!(env, fn byte: () -> Format, name = "format.byte")?;
    cel::add_overload!(env, fn date: () -> Format, name = "format.date")?;
    cel::add_overload!(env, fn datetime: () -> Format, name = "format.datetime")?;
    cel::add_overload!(env, fn named: (CelString) -> CelOptional, name = "format.named")?;
    cel::add_member_overload!(env, fn validate: (Format, CelString) -> CelOptional)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval_alone as t;
    use cel::Value;

    #[test]
    fn named_formats_validate_in_object_validation_words() {
        let yes = Ok(Value::Bool(true));
        assert_eq!(
            t("format.dns1123Label().validate('my-name') == optional.none()"),
            yes
        );
        assert_eq!(
            t("format.dns1123Label().validate('contains a space').value()[0]"),
            Ok(Value::String(std::sync::Arc::new("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".into())))
        );
        assert_eq!(
            t("!format.dns1123LabelPrefix().validate('web-').hasValue()"),
            yes
        );
        assert_eq!(t("format.dns1123Label().validate('web-').hasValue()"), yes);
        assert_eq!(
            t(
                "format.named('uuid').value().validate('123e4567-e89b-12d3-a456-426614174000') == optional.none()"
            ),
            yes
        );
        assert_eq!(t("format.named('nope') == optional.none()"), yes);
        assert_eq!(
            t("format.named('byte').value().validate('%%%').value() == ['invalid base64']"),
            yes
        );
        let long = format!(
            "format.labelValue().validate('{}').value()[0]",
            "a".repeat(64)
        );
        assert_eq!(
            t(&long),
            Ok(Value::String(std::sync::Arc::new(
                "must be no more than 63 characters".into()
            )))
        );
        assert_eq!(
            t("format.uri().validate('https://example.com/p') == optional.none()"),
            yes
        );
        assert_eq!(t("format.date().validate('2024-02-30').hasValue()"), yes);
        assert_eq!(
            t("format.datetime().validate('2024-01-02T03:04:05Z').hasValue()"),
            Ok(Value::Bool(false))
        );
    }
}
