//! What Kubernetes' list library adds to the lists extension: `isSorted`, `sum`, `min`,
//! `max`, `indexOf` and `lastIndexOf`, with upstream's messages.

use std::cmp::Ordering;

use cel::common::types::{CelBool, CelDouble, CelInt, DYN_TYPE, LIST_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

type Result<'b, 'v> = std::result::Result<CowVal<'b, 'v>, ExecutionError>;

/// The elements of the receiver (the first argument).
fn elements<'a, 'v>(
    list: &'a (dyn Val + 'v),
) -> std::result::Result<Vec<&'a (dyn Val + 'v)>, ExecutionError> {
    let iterable = list
        .as_iterable()
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: list.get_type().name().to_owned(),
            want: "list".to_owned(),
        })?;
    let mut items = iterable.iter();
    let mut out = Vec::new();
    while let Some(item) = items.next() {
        out.push(item);
    }
    Ok(out)
}

fn compare(
    function: &str,
    a: &dyn Val,
    b: &dyn Val,
) -> std::result::Result<Ordering, ExecutionError> {
    a.as_comparer()
        .ok_or_else(|| {
            ExecutionError::function_error(
                function,
                format!("no such overload: {}", a.get_type().name()),
            )
        })?
        .compare(b)
}

fn one(args: &[CowVal<'_, '_>]) -> std::result::Result<(), ExecutionError> {
    match args.len() {
        1 => Ok(()),
        n => Err(ExecutionError::invalid_argument_count(1, n)),
    }
}

fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    one(&args)?;
    let items = elements(args[0].as_ref())?;
    for pair in items.windows(2) {
        if compare("isSorted", pair[0], pair[1])? == Ordering::Greater {
            return Ok(CowVal::owned(CelBool::from(false)));
        }
    }
    Ok(CowVal::owned(CelBool::from(true)))
}

fn sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    one(&args)?;
    let items = elements(args[0].as_ref())?;
    let (mut int, mut float, mut floats) = (0i64, 0f64, false);
    for item in items {
        if let Some(i) = item.downcast_ref::<CelInt>() {
            int = int
                .checked_add(*i.inner())
                .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?;
        } else if let Some(d) = item.downcast_ref::<CelDouble>() {
            float += *d.inner();
            floats = true;
        } else {
            return Err(ExecutionError::function_error(
                "sum",
                format!("no such overload: sum(list({}))", item.get_type().name()),
            ));
        }
    }
    Ok(match floats {
        true => CowVal::owned(CelDouble::from(float + int as f64)),
        false => CowVal::owned(CelInt::from(int)),
    })
}

fn extreme<'b, 'v>(args: Vec<CowVal<'b, 'v>>, name: &str, keep: Ordering) -> Result<'b, 'v> {
    one(&args)?;
    let items = elements(args[0].as_ref())?;
    let mut best: Option<&dyn Val> = None;
    for item in items {
        best = match best {
            Some(b) if compare(name, item, b)? != keep => Some(b),
            _ => Some(item),
        };
    }
    match best {
        Some(b) => Ok(CowVal::Owned(b.clone_as_boxed())),
        None => Err(ExecutionError::function_error(
            name,
            format!("{name}(list) argument must not be empty"),
        )),
    }
}

fn min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    extreme(args, "min", Ordering::Less)
}

fn max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    extreme(args, "max", Ordering::Greater)
}

fn position<'b, 'v>(args: Vec<CowVal<'b, 'v>>, last: bool) -> Result<'b, 'v> {
    if args.len() != 2 {
        return Err(ExecutionError::invalid_argument_count(2, args.len()));
    }
    let items = elements(args[0].as_ref())?;
    let wanted = args[1].as_ref();
    let found = match last {
        false => items.iter().position(|i| i.equals(wanted)),
        true => items.iter().rposition(|i| i.equals(wanted)),
    };
    Ok(CowVal::owned(CelInt::from(found.map_or(-1, |i| i as i64))))
}

fn index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    position(args, false)
}

fn last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<'b, 'v> {
    position(args, true)
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> std::result::Result<(), DeclarationError> {
    env.add_member_overload("isSorted", "list.isSorted()", LIST_TYPE, vec![], is_sorted)?;
    env.add_member_overload("sum", "list.sum()", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "list.min()", LIST_TYPE, vec![], min)?;
    env.add_member_overload("max", "list.max()", LIST_TYPE, vec![], max)?;
    env.add_member_overload(
        "indexOf",
        "list.indexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list.lastIndexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;
    use cel::Value;

    #[test]
    fn kubernetes_list_functions() {
        let t = |src: &str| eval(src, serde_json::json!({"l": [3, 1, 2]}));
        assert_eq!(t("object.l.isSorted()"), Ok(Value::Bool(false)));
        assert_eq!(t("[1, 2, 2].isSorted()"), Ok(Value::Bool(true)));
        assert_eq!(t("object.l.sum()"), Ok(Value::Int(6)));
        assert_eq!(t("[1.5, 2.0].sum()"), Ok(Value::Float(3.5)));
        assert_eq!(t("[].sum()"), Ok(Value::Int(0)));
        assert_eq!(t("object.l.min()"), Ok(Value::Int(1)));
        assert_eq!(t("object.l.max()"), Ok(Value::Int(3)));
        assert_eq!(
            t("['b', 'a'].min()"),
            Ok(Value::String("a".to_string().into()))
        );
        assert_eq!(t("[1, 2, 1].indexOf(1)"), Ok(Value::Int(0)));
        assert_eq!(t("[1, 2, 1].lastIndexOf(1)"), Ok(Value::Int(2)));
        assert_eq!(t("[1, 2].indexOf(5)"), Ok(Value::Int(-1)));
        assert_eq!(t("'abcb'.lastIndexOf('b')"), Ok(Value::Int(3)));
        assert_eq!(
            t("[].min() == 1"),
            Err("min(list) argument must not be empty".into())
        );
    }
}
