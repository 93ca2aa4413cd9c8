//! Kubernetes' quantity library: `quantity('1.5Gi')`, `isQuantity`, comparisons, arithmetic
//! and conversions, with upstream's error messages. Values are exact to a thousandth of their
//! unit (quota arithmetic's `Amount`); a finer fraction is rounded up, where upstream keeps
//! nano precision.

use std::cmp::Ordering;

use api::quota::amount::Amount;
use cel::common::types::{CelBool, CelDouble, CelInt, CelString, Type};
use cel::{DeclarationError, Env, ExecutionError};

static QUANTITY_TYPE: Type = Type::new_unspecified_type("kubernetes.Quantity");

/// A parsed quantity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantity(pub Amount);

super::library_val!(Quantity, QUANTITY_TYPE, eq);

fn error(function: &str, message: impl ToString) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

/// `quantity(string)`: the quantity, or the parser's error.
pub fn parse(text: &str) -> Result<Quantity, ExecutionError> {
    if let Err(e) = api::quantity::parse(text) {
        return Err(error("quantity", e));
    }
    Amount::parse(text)
        .map(Quantity)
        .ok_or_else(|| error("quantity", "quantity is out of range"))
}

fn quantity(text: &CelString<'_>) -> Result<Quantity, ExecutionError> {
    parse(text.inner())
}

fn is_quantity(text: &CelString<'_>) -> CelBool {
    CelBool::from(parse(text.inner()).is_ok())
}

fn sign(q: &Quantity) -> CelInt {
    CelInt::from(q.0.milli.signum() as i64)
}

fn is_integer(q: &Quantity) -> CelBool {
    let whole = q.0.milli % 1000 == 0 && i64::try_from(q.0.milli / 1000).is_ok();
    CelBool::from(whole)
}

fn as_integer(q: &Quantity) -> Result<CelInt, ExecutionError> {
    match (q.0.milli % 1000, i64::try_from(q.0.milli / 1000)) {
        (0, Ok(i)) => Ok(CelInt::from(i)),
        _ => Err(error("asInteger", "cannot convert value to integer")),
    }
}

fn as_approximate_float(q: &Quantity) -> CelDouble {
    CelDouble::from(q.0.milli as f64 / 1000.0)
}

fn compare_to(q: &Quantity, other: &Quantity) -> CelInt {
    CelInt::from(match q.0.milli.cmp(&other.0.milli) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

fn is_greater_than(q: &Quantity, other: &Quantity) -> CelBool {
    CelBool::from(q.0.milli > other.0.milli)
}

fn is_less_than(q: &Quantity, other: &Quantity) -> CelBool {
    CelBool::from(q.0.milli < other.0.milli)
}

fn add(q: &Quantity, other: &Quantity) -> Quantity {
    Quantity(q.0.plus(other.0))
}

fn add_int(q: &Quantity, n: &CelInt) -> Quantity {
    Quantity(q.0.plus(Amount::count(i128::from(*n.inner()))))
}

fn sub(q: &Quantity, other: &Quantity) -> Quantity {
    Quantity(q.0.minus(other.0))
}

fn sub_int(q: &Quantity, n: &CelInt) -> Quantity {
    Quantity(q.0.minus(Amount::count(i128::from(*n.inner()))))
}

/// Registers the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_overload!(env, fn quantity: (CelString) -> Result<Quantity>)?;
    cel::add_overload!(env, fn is_quantity: (CelString) -> CelBool, name = "isQuantity")?;
    cel::add_member_overload!(env, fn sign: (Quantity) -> CelInt)?;
    cel::add_member_overload!(env, fn is_integer: (Quantity) -> CelBool)?;
    cel::add_member_overload!(env, fn as_integer: (Quantity) -> Result<CelInt>)?;
    cel::add_member_overload!(env, fn as_approximate_float: (Quantity) -> CelDouble)?;
    cel::add_member_overload!(env, fn compare_to: (Quantity, Quantity) -> CelInt)?;
    cel::add_member_overload!(env, fn is_greater_than: (Quantity, Quantity) -> CelBool)?;
    cel::add_member_overload!(env, fn is_less_than: (Quantity, Quantity) -> CelBool)?;
    cel::add_member_overload!(env, fn add: (Quantity, Quantity) -> Quantity)?;
    cel::add_member_overload!(env, fn add_int: (Quantity, CelInt) -> Quantity, name = "add")?;
    cel::add_member_overload!(env, fn sub: (Quantity, Quantity) -> Quantity)?;
    cel::add_member_overload!(env, fn sub_int: (Quantity, CelInt) -> Quantity, name = "sub")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;
    use cel::Value;

    #[test]
    fn quantities_compare_and_convert() {
        let t = |src: &str| eval(src, serde_json::json!({}));
        assert_eq!(
            t("quantity('1Gi').isGreaterThan(quantity('1G'))"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            t("quantity('500m').isLessThan(quantity('1'))"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            t("quantity('1000m') == quantity('1')"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            t("quantity('1k').compareTo(quantity('2k'))"),
            Ok(Value::Int(-1))
        );
        assert_eq!(t("quantity('-3').sign()"), Ok(Value::Int(-1)));
        assert_eq!(t("quantity('2Ki').asInteger()"), Ok(Value::Int(2048)));
        assert_eq!(t("quantity('1.5').isInteger()"), Ok(Value::Bool(false)));
        assert_eq!(
            t("quantity('1.5').asApproximateFloat()"),
            Ok(Value::Float(1.5))
        );
        assert_eq!(
            t("quantity('1Gi').add(quantity('512Mi')).sub(1).asInteger()"),
            Ok(Value::Int(1_610_612_735))
        );
        assert_eq!(t("isQuantity('1.5Gi')"), Ok(Value::Bool(true)));
        assert_eq!(t("isQuantity('1.5GB')"), Ok(Value::Bool(false)));
    }

    #[test]
    fn errors_in_upstream_words() {
        let t = |src: &str| eval(src, serde_json::json!({}));
        assert_eq!(
            t("quantity('abc') == quantity('1')"),
            Err("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".into())
        );
        assert_eq!(
            t("quantity('1.5').asInteger() == 1"),
            Err("cannot convert value to integer".into())
        );
    }
}
