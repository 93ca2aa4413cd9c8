//! Kubernetes' regex library: `find` and `findAll` (the standard library has `matches`).
//! Patterns are RE2 in upstream; the `regex` crate takes the same syntax.

use cel::common::types::{CelInt, CelList, CelString};
use cel::common::value::Val;
use cel::{DeclarationError, Env, ExecutionError};

fn compile(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(pattern)
        .map_err(|e| ExecutionError::function_error(function, format!("error parsing regexp: {e}")))
}

fn find(s: &CelString<'_>, pattern: &CelString<'_>) -> Result<CelString<'static>, ExecutionError> {
    let re = compile("find", pattern.inner())?;
    let found = re.find(s.inner()).map_or("", |m| m.as_str());
    Ok(CelString::from(found.to_string()))
}

fn matches_up_to(
    s: &str,
    pattern: &str,
    limit: Option<i64>,
) -> Result<CelList<'static>, ExecutionError> {
    let re = compile("findAll", pattern)?;
    let limit = match limit {
        Some(n) if n >= 0 => n as usize,
        _ => usize::MAX,
    };
    let found: Vec<Box<dyn Val>> = re
        .find_iter(s)
        .take(limit)
        .map(|m| Box::new(CelString::from(m.as_str().to_string())) as Box<dyn Val>)
        .collect();
    Ok(CelList::from(found))
}

fn find_all(
    s: &CelString<'_>,
    pattern: &CelString<'_>,
) -> Result<CelList<'static>, ExecutionError> {
    matches_up_to(s.inner(), pattern.inner(), None)
}

fn find_all_limited(
    s: &CelString<'_>,
    pattern: &CelString<'_>,
    limit: &CelInt,
) -> Result<CelList<'static>, ExecutionError> {
    matches_up_to(s.inner(), pattern.inner(), Some(*limit.inner()))
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_member_overload!(env, fn find: (CelString, CelString) -> Result<CelString>)?;
    cel::add_member_overload!(env, fn find_all: (CelString, CelString) -> Result<CelList>)?;
    cel::add_member_overload!(env,
        fn find_all_limited: (CelString, CelString, CelInt) -> Result<CelList>, name = "findAll")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;
    use cel::Value;

    #[test]
    fn find_and_find_all() {
        let t = |src: &str| eval(src, serde_json::json!({}));
        assert_eq!(
            t("'abc 123 def 456'.find('[0-9]+')"),
            Ok(Value::String("123".to_string().into()))
        );
        assert_eq!(
            t("'abc'.find('[0-9]+')"),
            Ok(Value::String(String::new().into()))
        );
        assert_eq!(t("'1 2 3'.findAll('[0-9]').size()"), Ok(Value::Int(3)));
        assert_eq!(
            t("'1 2 3'.findAll('[0-9]', 2)"),
            eval("['1', '2']", serde_json::json!({}))
        );
        assert!(
            t("'x'.find('(')")
                .unwrap_err()
                .starts_with("error parsing regexp: ")
        );
    }
}
