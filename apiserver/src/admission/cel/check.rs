//! A typed walk of an expression against the shapes of its variables: the fields it names
//! that the schema does not have and the operators applied to values they do not take (in
//! cel-go's words and positions), the type of its result, and the most it may cost — cel-go's
//! cost model in outline (one per variable, field and call, a tenth per character of string
//! work, a comprehension's body once per item it may see). Anything the walk cannot know
//! (`dyn`) passes, so only certain errors are reported; the cost is an upper bound, not
//! cel-go's exact figure.

use cel::common::ast::{Expr, IdedExpr, LiteralValue};

use super::declared;
use super::shape::{MAX_REQUEST_BYTES, Shape};

/// An error at an expression of the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub id: u64,
    pub message: String,
}

/// What the walk found.
#[derive(Debug)]
pub struct Checked {
    pub shape: Shape,
    pub cost: u64,
    pub problems: Vec<Problem>,
}

/// Checks `expr` with `vars` in scope. `unbounded` is how many items a value of unknown
/// size is taken to have.
pub fn check(expr: &IdedExpr, vars: &[(&str, Shape)], unbounded: u64) -> Checked {
    let mut walk = Walk {
        scope: vars
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect(),
        problems: Vec::new(),
        unbounded,
    };
    let (shape, cost) = walk.expr(expr);
    Checked {
        shape,
        cost,
        problems: walk.problems,
    }
}

/// How many items a static check takes an unbounded value to have.
pub const STATIC_UNBOUNDED: u64 = MAX_REQUEST_BYTES / 2;

struct Walk {
    scope: Vec<(String, Shape)>,
    problems: Vec<Problem>,
    unbounded: u64,
}

/// A tenth of `n`, rounded up: what string work costs per character.
fn tenth(n: u64) -> u64 {
    n.div_ceil(10)
}

/// Numbers of one kind compare and add with each other; these families never mix.
fn family(s: &Shape) -> Option<&'static str> {
    match s {
        Shape::Int | Shape::Uint | Shape::Double => Some("number"),
        Shape::String(_) => Some("string"),
        Shape::Bool => Some("bool"),
        Shape::Bytes(_) => Some("bytes"),
        Shape::List(..) => Some("list"),
        Shape::Map(..) | Shape::Object(..) => Some("map"),
        Shape::Declared(name, _) => Some(name),
        _ => None,
    }
}

impl Walk {
    fn problem(&mut self, id: u64, message: String) {
        self.problems.push(Problem { id, message });
    }

    fn size(&self, s: &Shape) -> u64 {
        match s {
            Shape::String(n) | Shape::Bytes(n) | Shape::List(_, n) | Shape::Map(_, n) => *n,
            Shape::Object(fields, false) | Shape::Declared(_, fields) => fields.len() as u64,
            _ => self.unbounded,
        }
    }

    fn lookup(&self, name: &str) -> Shape {
        self.scope
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(Shape::Dyn, |(_, s)| s.clone())
    }

    fn expr(&mut self, e: &IdedExpr) -> (Shape, u64) {
        match &e.expr {
            Expr::Literal(l) => (
                match l {
                    LiteralValue::Boolean(_) => Shape::Bool,
                    LiteralValue::Int(_) => Shape::Int,
                    LiteralValue::UInt(_) => Shape::Uint,
                    LiteralValue::Double(_) => Shape::Double,
                    LiteralValue::String(s) => Shape::String(s.inner().len() as u64),
                    LiteralValue::Bytes(b) => Shape::Bytes(b.inner().len() as u64),
                    LiteralValue::Null => Shape::Null,
                },
                0,
            ),
            Expr::Ident(name) => (self.lookup(name), 1),
            Expr::Select(select) => {
                let (operand, cost) = self.expr(&select.operand);
                let shape = self.field(e.id, &operand, &select.field);
                match select.test {
                    true => (Shape::Bool, cost + 1),
                    false => (shape, cost + 1),
                }
            }
            Expr::List(list) => {
                let mut cost = 10;
                let mut item: Option<Shape> = None;
                for element in &list.elements {
                    let (s, c) = self.expr(element);
                    cost += c;
                    item = Some(match item {
                        Some(i) if i == s => i,
                        Some(_) => Shape::Dyn,
                        None => s,
                    });
                }
                let n = list.elements.len() as u64;
                (Shape::List(Box::new(item.unwrap_or(Shape::Dyn)), n), cost)
            }
            Expr::Map(map) => {
                let mut cost = 30;
                for entry in &map.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(m) = &entry.expr {
                        cost += self.expr(&m.key).1 + self.expr(&m.value).1;
                    }
                }
                (
                    Shape::Map(Box::new(Shape::Dyn), map.entries.len() as u64),
                    cost,
                )
            }
            Expr::Struct(_) | Expr::Unspecified => (Shape::Dyn, 1),
            Expr::Call(call) => {
                self.call(e.id, &call.func_name, call.target.as_deref(), &call.args)
            }
            Expr::Comprehension(c) => {
                let (range, range_cost) = self.expr(&c.iter_range);
                let n = self.size(&range);
                let (key, value) = match &range {
                    Shape::List(item, _) => (Shape::Int, (**item).clone()),
                    Shape::Map(v, _) => (Shape::String(MAX_REQUEST_BYTES), (**v).clone()),
                    Shape::Object(..) => (Shape::String(MAX_REQUEST_BYTES), Shape::Dyn),
                    _ => (Shape::Dyn, Shape::Dyn),
                };
                let (accu, init_cost) = self.expr(&c.accu_init);
                let depth = self.scope.len();
                match &c.iter_var2 {
                    Some(second) => {
                        self.scope.push((c.iter_var.clone(), key));
                        self.scope.push((second.clone(), value));
                    }
                    None => {
                        let single = match &range {
                            Shape::List(..) => value,
                            _ => key,
                        };
                        self.scope.push((c.iter_var.clone(), single));
                    }
                }
                self.scope.push((c.accu_var.clone(), accu.clone()));
                let (_, cond_cost) = self.expr(&c.loop_cond);
                let (step, step_cost) = self.expr(&c.loop_step);
                self.scope.truncate(depth);
                // `map` and `filter` build a list as they go: as long as the range at most.
                let accu = match step {
                    Shape::List(item, _) => Shape::List(item, n),
                    _ => accu,
                };
                self.scope.push((c.accu_var.clone(), accu));
                let (result, result_cost) = self.expr(&c.result);
                self.scope.truncate(depth);
                let body = cond_cost.saturating_add(step_cost);
                let cost = range_cost
                    .saturating_add(init_cost)
                    .saturating_add(n.saturating_mul(body))
                    .saturating_add(result_cost);
                (result, cost)
            }
        }
    }

    /// `operand.field`.
    fn field(&mut self, id: u64, operand: &Shape, field: &str) -> Shape {
        match operand {
            Shape::Object(fields, open) => match fields.iter().find(|(n, _)| n == field) {
                Some((_, s)) => s.clone(),
                None if *open => Shape::Dyn,
                None => {
                    self.problem(id, format!("undefined field '{field}'"));
                    Shape::Dyn
                }
            },
            Shape::Declared(_, fields) => match fields.iter().find(|(n, _)| n == field) {
                Some((_, s)) => s.clone(),
                None => {
                    self.problem(id, format!("undefined field '{field}'"));
                    Shape::Dyn
                }
            },
            Shape::Map(value, _) => (**value).clone(),
            Shape::Named(declared::AUTHORIZER) => {
                declared::authorizer_field(field).unwrap_or(Shape::Dyn)
            }
            Shape::Int
            | Shape::Uint
            | Shape::Double
            | Shape::Bool
            | Shape::String(_)
            | Shape::Bytes(_)
            | Shape::List(..) => {
                self.problem(
                    id,
                    format!("type '{}' does not support field selection", operand.name()),
                );
                Shape::Dyn
            }
            _ => Shape::Dyn,
        }
    }

    fn call(
        &mut self,
        id: u64,
        name: &str,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) -> (Shape, u64) {
        let mut cost = 1u64;
        let mut shapes = Vec::new();
        if let Some(t) = target {
            let (s, c) = self.expr(t);
            shapes.push(s);
            cost = cost.saturating_add(c);
        }
        for a in args {
            let (s, c) = self.expr(a);
            shapes.push(s);
            cost = cost.saturating_add(c);
        }
        // The authorizer's types have their own methods; the other declared types, none.
        let receiver = match (target, shapes.first()) {
            (Some(_), Some(Shape::Named(r))) if declared::is_authorizer_type(r) => Some(*r),
            (Some(_), Some(Shape::Declared(r, _))) => Some(*r),
            _ => None,
        };
        if let Some(receiver) = receiver {
            return (self.method(id, receiver, name, &shapes[1..]), cost);
        }
        let first = shapes.first().cloned().unwrap_or(Shape::Dyn);
        let second = shapes.get(1).cloned().unwrap_or(Shape::Dyn);
        let string_work = |s: &Shape| match s {
            Shape::String(n) | Shape::Bytes(n) => tenth(*n),
            _ => 0,
        };
        let mismatch = |this: &mut Walk| {
            if let (Some(a), Some(b)) = (family(&first), family(&second))
                && a != b
            {
                let types: Vec<String> = shapes.iter().map(Shape::name).collect();
                this.problem(
                    id,
                    format!(
                        "found no matching overload for '{name}' applied to '({})'",
                        types.join(", ")
                    ),
                );
            }
        };
        let shape = match name {
            "_&&_" | "_||_" | "!_" | "@not_strictly_false" => Shape::Bool,
            "_==_" | "_!=_" => {
                mismatch(self);
                cost = cost.saturating_add(match &first {
                    Shape::List(_, n) | Shape::Map(_, n) => *n,
                    s => string_work(s),
                });
                Shape::Bool
            }
            "_<_" | "_<=_" | "_>_" | "_>=_" => {
                mismatch(self);
                cost = cost.saturating_add(string_work(&first));
                Shape::Bool
            }
            "_+_" => {
                mismatch(self);
                match (&first, &second) {
                    (Shape::String(a), Shape::String(b)) => {
                        cost = cost.saturating_add(tenth(a + b));
                        Shape::String(a.saturating_add(*b))
                    }
                    (Shape::List(a, n), Shape::List(_, m)) => {
                        cost = cost.saturating_add(n.saturating_add(*m));
                        Shape::List(a.clone(), n.saturating_add(*m))
                    }
                    (a, b) if a == b => a.clone(),
                    _ => Shape::Dyn,
                }
            }
            "_-_" | "_*_" | "_/_" | "_%_" => {
                mismatch(self);
                match first == second {
                    true => first.clone(),
                    false => Shape::Dyn,
                }
            }
            "-_" => first.clone(),
            "_?_:_" => {
                let (a, b) = (second.clone(), shapes.get(2).cloned().unwrap_or(Shape::Dyn));
                if a == b { a } else { Shape::Dyn }
            }
            "_[_]" | "_[?_]" => match (&first, &args.get(1).map(|a| &a.expr)) {
                (Shape::List(item, _), _) => (**item).clone(),
                (Shape::Map(value, _), _) => (**value).clone(),
                (Shape::Object(..), Some(Expr::Literal(LiteralValue::String(s)))) => {
                    self.field(id, &first, s.inner())
                }
                _ => Shape::Dyn,
            },
            "@in" => {
                cost = cost.saturating_add(match &second {
                    Shape::List(_, n) => *n,
                    _ => 0,
                });
                Shape::Bool
            }
            "size" => Shape::Int,
            "contains" | "startsWith" | "endsWith" | "matches" => {
                cost = cost.saturating_add(string_work(&first));
                Shape::Bool
            }
            "lowerAscii" | "upperAscii" | "trim" | "replace" | "substring" | "charAt"
            | "reverse" => {
                cost = cost.saturating_add(string_work(&first));
                match first {
                    Shape::String(n) => Shape::String(n),
                    _ => Shape::Dyn,
                }
            }
            "split" => {
                cost = cost.saturating_add(string_work(&first));
                let n = self.size(&first);
                Shape::List(Box::new(Shape::String(n)), n.saturating_add(1))
            }
            "join" => {
                let n = match &first {
                    Shape::List(item, n) => n.saturating_mul(self.size(item)),
                    _ => self.unbounded,
                };
                cost = cost.saturating_add(tenth(n));
                Shape::String(n)
            }
            "find" => Shape::String(self.size(&first)),
            "findAll" => {
                let n = self.size(&first);
                Shape::List(Box::new(Shape::String(n)), n)
            }
            "isSorted" | "sum" | "min" | "max" | "indexOf" | "lastIndexOf" => {
                cost = cost.saturating_add(self.size(&first));
                match (name, &first) {
                    ("isSorted", _) => Shape::Bool,
                    ("indexOf" | "lastIndexOf", _) => Shape::Int,
                    (_, Shape::List(item, _)) => (**item).clone(),
                    _ => Shape::Dyn,
                }
            }
            // The ip, cidr and format libraries read their strings once.
            "ip" | "cidr" | "isIP" | "isCIDR" | "isCanonical" | "containsIP" | "containsCIDR"
            | "validate" => {
                cost = cost.saturating_add(shapes.iter().map(string_work).sum::<u64>());
                match name {
                    "ip" => Shape::Named("net.IP"),
                    "cidr" => Shape::Named("net.CIDR"),
                    "validate" => Shape::Dyn,
                    _ => Shape::Bool,
                }
            }
            "masked" => Shape::Named("net.CIDR"),
            "isUnspecified"
            | "isLoopback"
            | "isLinkLocalMulticast"
            | "isLinkLocalUnicast"
            | "isGlobalUnicast" => Shape::Bool,
            "int" | "sign" | "asInteger" | "compareTo" | "family" | "prefixLength" => Shape::Int,
            "uint" => Shape::Uint,
            "double" | "asApproximateFloat" => Shape::Double,
            "string" => Shape::String(self.size(&first).max(20)),
            "bool" | "isQuantity" | "isURL" | "isGreaterThan" | "isLessThan" | "isInteger"
            | "allowed" | "errored" | "hasValue" => Shape::Bool,
            "quantity" | "add" | "sub" => Shape::Named("kubernetes.Quantity"),
            "url" => Shape::Named("kubernetes.URL"),
            "getScheme" | "getHost" | "getHostname" | "getPort" | "getEscapedPath" | "reason"
            | "error" => Shape::String(MAX_REQUEST_BYTES),
            _ => Shape::Dyn,
        };
        (shape, cost)
    }
}

impl Walk {
    /// A method of a declared type (only the authorizer's have any: their arguments are
    /// strings).
    fn method(&mut self, id: u64, receiver: &'static str, name: &str, args: &[Shape]) -> Shape {
        let strings = args.iter().all(|a| family(a).is_none_or(|f| f == "string"));
        match declared::authorizer_method(receiver, name, args.len()) {
            Some(shape) if strings => shape,
            _ => {
                let types: Vec<String> = args.iter().map(Shape::name).collect();
                self.problem(
                    id,
                    format!(
                        "found no matching overload for '{name}' applied to '{receiver}.({})'",
                        types.join(", ")
                    ),
                );
                Shape::Dyn
            }
        }
    }
}

/// A problem as cel-go reports it: `ERROR: <input>:1:5: undefined field 'x'`, then the line
/// and a caret under the column.
pub fn describe(problem: &Problem, source: &str, offset: Option<u32>) -> String {
    let offset = offset.unwrap_or(0) as usize;
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count();
    let snippet = source[line_start..].lines().next().unwrap_or_default();
    format!(
        "ERROR: <input>:{line}:{}: {}\n | {snippet}\n | {}^",
        column + 1,
        problem.message,
        ".".repeat(column)
    )
}

#[cfg(test)]
mod tests {
    use super::super::shape::Shape;
    use super::super::{Activation, COST_EXCEEDED, compile, from_json};
    use serde_json::json;

    fn schema() -> serde_json::Value {
        json!({"type": "object", "properties": {
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "name": {"type": "string", "maxLength": 10},
                "tags": {"type": "array", "maxItems": 10,
                         "items": {"type": "string", "maxLength": 10}},
                "any": {"type": "array", "items": {"type": "string"}}}}}})
    }

    fn problems(src: &str) -> Vec<String> {
        let e = compile(src).expect("compiles");
        let checked = e.check(&[("self", Shape::of_schema(&schema(), true))]);
        checked.problems.iter().map(|p| e.describe(p)).collect()
    }

    #[test]
    fn fields_the_schema_lacks_in_cel_go_words() {
        assert_eq!(
            problems("self.spec.replica > 1"),
            [
                "ERROR: <input>:1:10: undefined field 'replica'\n | self.spec.replica > 1\n | .........^"
            ]
        );
        assert_eq!(
            problems("self.metadata.labels.size() > 0"),
            [
                "ERROR: <input>:1:14: undefined field 'labels'\n | self.metadata.labels.size() > 0\n | .............^"
            ]
        );
        assert_eq!(
            problems("self.spec.name > 1"),
            [
                "ERROR: <input>:1:16: found no matching overload for '_>_' applied to '(string, int)'\n | self.spec.name > 1\n | ...............^"
            ]
        );
        assert_eq!(
            problems("self.spec.replicas.x == 1"),
            [
                "ERROR: <input>:1:19: type 'int' does not support field selection\n | self.spec.replicas.x == 1\n | ..................^"
            ]
        );
        assert!(
            problems("self.spec.tags.all(t, t.startsWith('a')) && self.metadata.name != ''")
                .is_empty()
        );
        let e = compile("self.spec.replicas + 1").expect("compiles");
        assert_eq!(
            e.check(&[("self", Shape::of_schema(&schema(), true))])
                .shape,
            Shape::Int
        );
    }

    #[test]
    fn costs_follow_the_bounds() {
        let cost = |src: &str| {
            let e = compile(src).expect("compiles");
            e.check(&[("self", Shape::of_schema(&schema(), true))]).cost
        };
        let bounded = cost("self.spec.tags.all(a, self.spec.tags.all(b, a != b))");
        assert!(bounded < 10_000, "{bounded}");
        let unbounded = cost("self.spec.any.all(a, self.spec.any.all(b, a != b))");
        assert!(unbounded > 1_000_000_000, "{unbounded}");
    }

    #[test]
    fn evaluations_over_the_limit_are_refused() {
        let e = compile("object.l.all(a, object.l.all(b, object.l.all(c, a + b + c >= 0)))")
            .expect("compiles");
        assert!(e.cost() > super::super::PER_CALL_LIMIT);
        let run = |n: usize| {
            let mut vars = Activation::default();
            vars.set("object", from_json(&json!({"l": vec![1; n]})));
            e.eval(&vars)
        };
        assert_eq!(run(10), Ok(cel::Value::Bool(true)));
        assert_eq!(run(200), Err(COST_EXCEEDED.to_string()));
    }
}
