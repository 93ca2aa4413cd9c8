//! CEL as admission uses it (webhooks' `matchConditions`, policies' validations, variables and
//! messages): the `cel` crate's standard library with its strings, lists and math extensions,
//! and Kubernetes' own libraries (`quantity.rs`, `url.rs`, `ip.rs`, `cidr.rs`, `format.rs`,
//! `lists.rs`, `regex.rs`, `authorizer.rs`); expressions compiled once, and the JSON of
//! requests and objects as CEL values (integers stay `int`, as upstream's typed objects give
//! them).

pub mod authorizer;
pub mod check;
mod cidr;
pub mod declared;
mod format;
mod ip;
mod lists;
pub mod quantity;
mod regex;
pub mod shape;
mod url;

/// `Val` for a value type of a library: its CEL type and copies; with `eq`, equality by
/// `PartialEq` (values of other types are unequal).
macro_rules! library_val {
    ($t:ty, $cel_type:expr) => {
        $crate::admission::cel::library_val!(@impl $t, $cel_type, {});
    };
    ($t:ty, $cel_type:expr, eq) => {
        $crate::admission::cel::library_val!(@impl $t, $cel_type, {
            fn equals(&self, other: &dyn cel::common::value::Val) -> bool {
                other.downcast_ref::<$t>().is_some_and(|o| o == self)
            }
        });
    };
    (@impl $t:ty, $cel_type:expr, { $($equals:tt)* }) => {
        impl cel::common::value::Val for $t {
            fn get_type(&self) -> &cel::common::types::Type {
                <Self as cel::common::value::Val>::cel_type()
            }
            fn cel_type() -> &'static cel::common::types::Type {
                &$cel_type
            }
            $($equals)*
            fn clone_as_boxed<'v>(&self) -> Box<dyn cel::common::value::Val + 'v> {
                Box::new(Clone::clone(self))
            }
            fn as_any(&self) -> Option<&dyn std::any::Any> {
                Some(self)
            }
        }
        impl cel::common::value::StaticVal for $t {}
    };
}
pub(crate) use library_val;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

pub use cel::Value as CelValue;
use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelMap, CelMapKey};
use cel::common::value::Val;
use cel::{Context, Env, Program};
use serde_json::Value;

/// The one environment every admission expression compiles and runs in.
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    // Each extension declares distinct overloads; a clash would be a bug of the crate, and
    // the environment is still usable without the extension.
    for (name, ext) in [
        ("strings", cel::extensions::strings as fn(&mut Env) -> _),
        ("lists", cel::extensions::lists),
        ("math", cel::extensions::math),
        ("quantity", quantity::extension),
        ("url", url::extension),
        ("ip", ip::extension),
        ("cidr", cidr::extension),
        ("format", format::extension),
        ("kubernetes lists", lists::extension),
        ("regex", regex::extension),
        ("authorizer", authorizer::extension),
    ] {
        if let Err(e) = env.add_extension(ext) {
            tracing::warn!(extension = name, error = %e, "a CEL extension is unavailable");
        }
    }
    Arc::new(env)
});

/// The most one evaluation may cost (upstream's `PerCallLimit`).
pub const PER_CALL_LIMIT: u64 = 1_000_000;

/// What an evaluation over the limit fails with, as cel-go's.
pub const COST_EXCEEDED: &str = "operation cancelled: actual cost limit exceeded";

/// A compiled expression with its source (for messages).
#[derive(Debug)]
pub struct Expression {
    pub source: String,
    program: Program,
    /// The most it may cost (estimated over values of any size unless a schema said more).
    cost: u64,
}

/// Compiles `source`, or says why not in upstream's words (`compilation failed: ...`).
pub fn compile(source: &str) -> Result<Expression, String> {
    ENV.compile(source)
        .map(|program| {
            let cost = check::check(program.expression(), &[], check::STATIC_UNBOUNDED).cost;
            Expression {
                source: source.to_string(),
                program,
                cost,
            }
        })
        .map_err(|e| format!("compilation failed: {e}"))
}

/// Compiles an admission expression: besides what `compile` refuses, a field or method that
/// `request`, `namespaceObject` or `authorizer` do not have, in cel-go's words.
pub fn compile_admission(source: &str) -> Result<Expression, String> {
    compile_admission_with(source, &[])
}

/// `compile_admission` with more variables declared (a policy's `variables`).
pub fn compile_admission_with(
    source: &str,
    more: &[(&str, shape::Shape)],
) -> Result<Expression, String> {
    let expression = compile(source)?;
    let mut scope = declared::variables();
    scope.extend(more.iter().cloned());
    let problems = expression.check(&scope).problems;
    if problems.is_empty() {
        return Ok(expression);
    }
    let described: Vec<String> = problems.iter().map(|p| expression.describe(p)).collect();
    Err(format!("compilation failed: {}", described.join("\n")))
}

/// A value as the interpreter holds it: any library's (a quantity, an IP, an authorizer's
/// decision...), not only what `CelValue` can represent.
pub type Held = Arc<dyn Val>;

/// The variables an expression sees.
#[derive(Clone, Default)]
pub struct Activation {
    vars: Vec<(&'static str, CelValue)>,
    authorizer: Option<authorizer::Authorizer>,
    /// A policy's `variables`, by name.
    variables: Option<Arc<Vec<(String, Held)>>>,
}

impl Activation {
    pub fn set(&mut self, name: &'static str, value: CelValue) {
        self.vars.retain(|(n, _)| *n != name);
        self.vars.push((name, value));
    }

    /// Binds `variables` (admission policies only): the values computed so far.
    pub fn set_variables(&mut self, values: Arc<Vec<(String, Held)>>) {
        self.variables = Some(values);
    }

    /// Binds `authorizer` (admission policies only).
    pub fn set_authorizer(&mut self, authorizer: authorizer::Authorizer) {
        self.authorizer = Some(authorizer);
    }
}

impl Expression {
    /// Checks the expression against its variables' shapes: problems, result type and cost.
    pub fn check(&self, vars: &[(&str, shape::Shape)]) -> check::Checked {
        check::check(self.program.expression(), vars, check::STATIC_UNBOUNDED)
    }

    /// A problem of `check`, in cel-go's words with its position in the source.
    pub fn describe(&self, problem: &check::Problem) -> String {
        let offset = self
            .program
            .source_info()
            .offset_for(problem.id)
            .map(|o| o.0);
        check::describe(problem, &self.source, offset)
    }

    /// The static estimate of the expression's cost.
    pub fn cost(&self) -> u64 {
        self.cost
    }

    /// Narrows the static estimate (a schema bounded what the expression reads).
    pub fn set_cost(&mut self, cost: u64) {
        self.cost = self.cost.min(cost);
    }

    /// The cost of evaluating over `vars`: the static estimate when it is within the limit,
    /// else an estimate over the actual values' sizes (an upper bound of the steps taken, as
    /// the interpreter counts none).
    fn runtime_cost(&self, vars: &Activation) -> u64 {
        if self.cost <= PER_CALL_LIMIT {
            return self.cost;
        }
        let shapes: Vec<(&str, shape::Shape)> = vars
            .vars
            .iter()
            .map(|(n, v)| (*n, shape::Shape::of_value(v)))
            .collect();
        let extent = vars.vars.iter().map(|(_, v)| extent(v)).sum::<u64>().max(1);
        check::check(self.program.expression(), &shapes, extent).cost
    }

    /// The context an evaluation over `vars` runs in, refused when it would cost more than
    /// the limit.
    fn context(&self, vars: &Activation) -> Result<Context<'static, 'static>, String> {
        if self.runtime_cost(vars) > PER_CALL_LIMIT {
            return Err(COST_EXCEEDED.to_string());
        }
        let mut context = Context::with_env(ENV.clone());
        for (name, value) in &vars.vars {
            context.add_variable_from_value(*name, value.clone());
        }
        if let Some(a) = &vars.authorizer {
            context.add_variable_as_val("authorizer", Box::new(a.clone()));
        }
        if let Some(values) = &vars.variables {
            let map: HashMap<CelMapKey<'static>, Box<dyn Val>> = values
                .iter()
                .map(|(name, v)| (CelMapKey::from(name.clone()), v.clone_as_boxed()))
                .collect();
            context.add_variable_as_val("variables", Box::new(CelMap::from(map)));
        }
        Ok(context)
    }

    /// Evaluates the expression over `vars`, refused when it would cost more than the limit.
    pub fn eval(&self, vars: &Activation) -> Result<CelValue, String> {
        let context = self.context(vars)?;
        self.program.execute(&context).map_err(message)
    }

    /// Evaluates the expression to a value of any type (a policy's variable).
    pub fn eval_held(&self, vars: &Activation) -> Result<Held, String> {
        let context = self.context(vars)?;
        CelValue::resolve_val(self.program.expression(), &context)
            .map(|v| Arc::from(v.into_owned()))
            .map_err(message)
    }

    /// Whether the expression reads the variable `name` (a CRD rule's `oldSelf`).
    pub fn reads(&self, name: &str) -> bool {
        self.program.references().has_variable(name)
    }

    /// Whether the expression may read `member` of the variable `var` (`variables.x` or
    /// `variables['x']`; `var` used whole may read any member).
    pub fn reads_member(&self, var: &str, member: &str) -> bool {
        reads_member(self.program.expression(), var, member)
    }

    /// Evaluates a condition: anything but a bool is an error, as upstream's type check.
    pub fn eval_bool(&self, vars: &Activation) -> Result<bool, String> {
        match self.eval(vars)? {
            CelValue::Bool(b) => Ok(b),
            other => Err(format!(
                "expression '{}' resulted in a non-bool value: {:?}",
                self.source,
                other.type_of()
            )),
        }
    }

    /// Evaluates to a string (`messageExpression`, audit annotations).
    pub fn eval_string(&self, vars: &Activation) -> Result<String, String> {
        match self.eval(vars)? {
            CelValue::String(s) => Ok(s.to_string()),
            other => Err(format!(
                "must evaluate to string but got {:?}",
                other.type_of()
            )),
        }
    }
}

fn reads_member(e: &IdedExpr, var: &str, member: &str) -> bool {
    let named = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if n == var);
    let reads = |e: &IdedExpr| reads_member(e, var, member);
    match &e.expr {
        Expr::Ident(n) => n == var,
        Expr::Select(s) if named(&s.operand) => s.field == member,
        Expr::Select(s) => reads(&s.operand),
        Expr::Call(c) if c.func_name == "_[_]" && c.args.first().is_some_and(named) => {
            match c.args.get(1).map(|a| &a.expr) {
                Some(Expr::Literal(LiteralValue::String(s))) => s.inner() == member,
                _ => true,
            }
        }
        Expr::Call(c) => c.target.as_deref().is_some_and(reads) || c.args.iter().any(reads),
        Expr::List(l) => l.elements.iter().any(reads),
        Expr::Map(m) => m.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(m) => reads(&m.key) || reads(&m.value),
            EntryExpr::StructField(f) => reads(&f.value),
        }),
        Expr::Struct(s) => s.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(m) => reads(&m.key) || reads(&m.value),
            EntryExpr::StructField(f) => reads(&f.value),
        }),
        Expr::Comprehension(c) => [
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]
        .into_iter()
        .any(reads),
        Expr::Literal(_) | Expr::Unspecified => false,
    }
}

/// An evaluation's error in cel-go's words: a library function's error is its message.
fn message(e: cel::ExecutionError) -> String {
    match e {
        cel::ExecutionError::FunctionError { message, .. } => message,
        e => e.to_string(),
    }
}

/// How many values and characters `v` holds: a bound of what any function's result over it
/// may hold.
fn extent(v: &CelValue) -> u64 {
    match v {
        CelValue::String(s) => s.len() as u64 + 1,
        CelValue::Bytes(b) => b.len() as u64 + 1,
        CelValue::List(items) => items.iter().map(extent).sum::<u64>() + 1,
        CelValue::Map(m) => m.map.values().map(extent).sum::<u64>() + m.map.len() as u64 + 1,
        _ => 1,
    }
}

/// A JSON value as CEL sees it: null, bool, int (or double), string, list, map.
pub fn from_json(v: &Value) -> CelValue {
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => CelValue::Int(i),
            None => n
                .as_u64()
                .map(CelValue::UInt)
                .unwrap_or_else(|| CelValue::Float(n.as_f64().unwrap_or_default())),
        },
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(from_json).collect())),
        Value::Object(map) => {
            let map: HashMap<String, CelValue> =
                map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect();
            CelValue::from(map)
        }
    }
}

/// A CEL optional (`optional.of(v)`, or `optional.none()` for `None`).
pub fn optional(v: Option<CelValue>) -> CelValue {
    let optional = match v {
        Some(v) => cel::objects::OptionalValue::of(v),
        None => cel::objects::OptionalValue::none(),
    };
    CelValue::Opaque(Arc::new(optional))
}

/// `null` for an absent object (`oldObject` on a create), as upstream binds it.
pub fn from_optional(v: Option<&Value>) -> CelValue {
    v.map_or(CelValue::Null, from_json)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    pub fn eval(src: &str, object: Value) -> Result<CelValue, String> {
        let mut vars = Activation::default();
        vars.set("object", from_json(&object));
        compile(src)?.eval(&vars)
    }

    /// An expression that reads no object.
    pub fn eval_alone(src: &str) -> Result<CelValue, String> {
        eval(src, json!({}))
    }

    #[test]
    fn kubernetes_style_expressions() {
        let deploy = json!({"metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 7, "template": {"spec": {"containers": [
                {"name": "a", "image": "quay.io/x:1"}, {"name": "b", "image": "nginx"}]}}}});
        let t = |src: &str| eval(src, deploy.clone());
        assert_eq!(t("object.spec.replicas > 5"), Ok(CelValue::Bool(true)));
        assert_eq!(t("has(object.metadata.labels)"), Ok(CelValue::Bool(true)));
        assert_eq!(t("has(object.spec.paused)"), Ok(CelValue::Bool(false)));
        assert_eq!(
            t("object.spec.template.spec.containers.all(c, c.image.contains(':'))"),
            Ok(CelValue::Bool(false))
        );
        assert_eq!(
            t("object.metadata.name.matches('^w[a-z]+$')"),
            Ok(CelValue::Bool(true))
        );
        assert_eq!(
            t(
                "'app' in object.metadata.labels && object.metadata.labels.app.upperAscii() == 'WEB'"
            ),
            Ok(CelValue::Bool(true))
        );
        assert_eq!(
            t("object.spec.template.spec.containers.map(c, c.name).join(',')"),
            Ok(CelValue::String(Arc::new("a,b".into())))
        );
    }

    #[test]
    fn errors_are_words() {
        assert!(
            compile("object.spec.replicas >")
                .unwrap_err()
                .starts_with("compilation failed: ")
        );
        let e = compile("object.spec.replicas")
            .unwrap()
            .eval_bool(&Activation::default());
        assert!(e.is_err());
    }
}
