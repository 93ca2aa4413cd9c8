//! One policy evaluated for one binding and parameter: variables, match conditions, then the
//! validations, with upstream's messages; and what a failure does under each action.

use api::status::StatusCause;
use serde_json::{Value, json};

use super::compiled::{Binding, Policy};
use crate::ApiServer;
use crate::admission::cel::{self, Activation};
use crate::admission::{Admitted, Attributes};
use crate::error::ApiError;

/// The request as CEL sees it (`object`, `oldObject`, `request`, `namespaceObject`).
pub struct Input {
    vars: Activation,
}

impl Input {
    pub async fn new(
        server: &ApiServer,
        a: &Attributes<'_>,
        object: Option<&Value>,
    ) -> Result<Input, ApiError> {
        let mut vars = Activation::default();
        vars.set("object", cel::from_optional(object));
        vars.set("oldObject", cel::from_optional(a.old));
        vars.set(
            "request",
            cel::from_json(&crate::admission::webhook::request_variable(a)),
        );
        let namespace = match a.namespace {
            Some(ns) if a.def.namespaced() => a.namespace_object(server, ns).await?,
            _ => None,
        };
        vars.set("namespaceObject", cel::from_optional(namespace.as_deref()));
        // `authorizer` checks what the requesting user may do, as RBAC decides it now; a
        // request of the server itself is checked as a user with no permissions.
        let user = a
            .user
            .map(crate::authz::authorizer::user_info)
            .unwrap_or_default();
        let request = cel::authorizer::Resource {
            group: a.def.group.to_string(),
            resource: a.def.plural.to_string(),
            subresource: a.subresource.to_string(),
            namespace: a.namespace.unwrap_or_default().to_string(),
            name: a.name.to_string(),
        };
        let policy = server.authorizer.policy().await;
        vars.set_authorizer(cel::authorizer::Authorizer::new(
            policy,
            user,
            Some(request),
        ));
        Ok(Input { vars })
    }
}

/// A validation that did not pass (or could not be evaluated under failurePolicy Fail).
pub struct Failure {
    pub message: String,
    pub reason: String,
}

/// Evaluates `policy` with `param` over the request: the failures.
pub fn run(policy: &Policy, input: &Input, param: Option<&Value>) -> Vec<Failure> {
    let mut failures = Vec::new();
    let mut vars = input.vars.clone();
    vars.set("params", cel::from_optional(param));
    let error = |message: String| Failure {
        message,
        reason: "Invalid".into(),
    };
    if policy.fail_closed
        && let Some(problem) = policy.problems.first()
    {
        return vec![error(problem.to_string())];
    }
    // Variables in order, each seeing those before it (`variables.<name>`). One that fails is
    // left out: an expression that then fails while reading it fails with the variable's
    // error, as upstream's lazily evaluated variables do (one not read costs nothing).
    let mut values: Vec<(String, cel::Held)> = Vec::new();
    let mut failed: Vec<(&str, String)> = Vec::new();
    for (name, expr) in &policy.variables {
        vars.set_variables(std::sync::Arc::new(values.clone()));
        match expr.eval_held(&vars).map_err(|e| blame(expr, &failed, e)) {
            Ok(value) => values.push((name.clone(), value)),
            Err(e) => failed.push((
                name,
                format!("composited variable {name:?} fails to evaluate: {e}"),
            )),
        }
    }
    vars.set_variables(std::sync::Arc::new(values));
    let eval_bool =
        |expr: &cel::Expression| expr.eval_bool(&vars).map_err(|e| blame(expr, &failed, e));
    let eval_string =
        |expr: &cel::Expression| expr.eval_string(&vars).map_err(|e| blame(expr, &failed, e));
    for (name, expr) in &policy.conditions {
        match eval_bool(expr) {
            Ok(true) => {}
            Ok(false) => return failures,
            Err(e) if policy.fail_closed => {
                return vec![error(format!(
                    "failed to evaluate match condition '{name}': {e}"
                ))];
            }
            Err(_) => return failures,
        }
    }
    for v in &policy.validations {
        match eval_bool(&v.expression) {
            Ok(true) => {}
            Ok(false) => {
                let from_expression = v
                    .message_expression
                    .as_ref()
                    .and_then(|m| eval_string(m).ok())
                    .filter(|m| !m.trim().is_empty() && !m.contains('\n'));
                let message = from_expression
                    .or_else(|| v.message.clone())
                    .unwrap_or_else(|| format!("failed expression: {}", v.expression.source));
                failures.push(Failure {
                    message,
                    reason: v.reason.clone(),
                });
            }
            Err(e) if policy.fail_closed => failures.push(error(format!(
                "expression '{}' resulted in error: {e}",
                v.expression.source
            ))),
            Err(_) => {}
        }
    }
    for (key, expr) in &policy.audit_annotations {
        if let Ok(value) = eval_string(expr) {
            crate::audit::annotate_current(&format!("{}/{key}", policy.name), &value);
        }
    }
    failures
}

/// The error of an evaluation of `expr`: the first failed variable's it reads, else its own.
fn blame(expr: &cel::Expression, failed: &[(&str, String)], own: String) -> String {
    failed
        .iter()
        .find(|(name, _)| expr.reads_member("variables", name))
        .map_or(own, |(_, e)| e.clone())
}

/// What a failure does under the binding's actions: Deny refuses the request (the error),
/// Warn adds a warning, Audit an entry of the audit annotation.
pub fn act(
    a: &Attributes<'_>,
    policy: &Policy,
    binding: &Binding,
    failure: Failure,
    admitted: &mut Admitted,
    audit: &mut Vec<Value>,
) -> Result<(), ApiError> {
    let (p, b) = (&policy.name, &binding.name);
    if binding.audit {
        let actions: Vec<&str> = [
            ("Deny", binding.deny),
            ("Warn", binding.warn),
            ("Audit", true),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        audit.push(
            json!({"message": failure.message, "policy": p, "binding": b,
            "validationActions": actions}),
        );
    }
    if binding.warn {
        admitted.warnings.push(format!(
            "Validation failed for ValidatingAdmissionPolicy '{p}' with binding '{b}': {}",
            failure.message
        ));
    }
    if binding.deny {
        let message = format!(
            "ValidatingAdmissionPolicy '{p}' with binding '{b}' denied request: {}",
            failure.message
        );
        let forbidden = ApiError::Forbidden {
            target: crate::registry::object::target(a.def, a.name),
            message: message.clone(),
        };
        let mut status = forbidden.status();
        status.code = match failure.reason.as_str() {
            "Forbidden" => 403,
            "Unauthorized" => 401,
            "RequestEntityTooLarge" => 413,
            _ => 422,
        };
        status.reason = failure.reason;
        status
            .details
            .get_or_insert_with(Default::default)
            .causes
            .push(StatusCause {
                message,
                ..Default::default()
            });
        return Err(ApiError::Status(Box::new(status)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(spec: Value) -> Policy {
        Policy::from_json(&json!({"metadata": {"name": "limit"}, "spec": spec}))
    }

    fn input(object: Value) -> Input {
        let mut vars = Activation::default();
        vars.set("object", cel::from_json(&object));
        vars.set("oldObject", cel::CelValue::Null);
        vars.set("request", cel::from_json(&json!({"operation": "CREATE"})));
        Input { vars }
    }

    fn messages(p: &Policy, object: Value, param: Option<Value>) -> Vec<String> {
        run(p, &input(object), param.as_ref())
            .into_iter()
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn validations_variables_params_and_messages() {
        let p = policy(json!({
            "variables": [{"name": "limit", "expression": "int(params.data.max)"}],
            "matchConditions": [{"name": "creates", "expression": "request.operation == 'CREATE'"}],
            "validations": [
                {"expression": "object.spec.replicas <= variables.limit",
                 "messageExpression": "'at most ' + string(variables.limit)"},
                {"expression": "has(object.metadata.labels)", "message": "labels, please"},
                {"expression": "object.metadata.name != 'x'"}]}));
        let params = Some(json!({"data": {"max": "5"}}));
        let small = json!({"metadata": {"name": "ok", "labels": {}}, "spec": {"replicas": 3}});
        assert!(messages(&p, small, params.clone()).is_empty());
        let big = json!({"metadata": {"name": "x"}, "spec": {"replicas": 9}});
        assert_eq!(
            messages(&p, big, params),
            [
                "at most 5",
                "labels, please",
                "failed expression: object.metadata.name != 'x'"
            ]
        );
    }

    #[test]
    fn errors_follow_the_failure_policy() {
        let spec = |failure: &str| {
            json!({"failurePolicy": failure,
            "validations": [{"expression": "object.spec.missing.deeper > 1"}]})
        };
        let object = json!({"metadata": {"name": "a"}, "spec": {}});
        let failed = messages(&policy(spec("Fail")), object.clone(), None);
        assert_eq!(failed.len(), 1);
        assert!(
            failed[0]
                .starts_with("expression 'object.spec.missing.deeper > 1' resulted in error: "),
            "{failed:?}"
        );
        assert!(messages(&policy(spec("Ignore")), object, None).is_empty());
    }

    #[test]
    fn failed_variables_fail_what_reads_them() {
        let spec = |failure: &str| {
            json!({"failurePolicy": failure,
            "variables": [
                {"name": "memory", "expression": "quantity(object.spec.memory)"},
                {"name": "double", "expression": "variables.memory.add(variables.memory)"},
                {"name": "named", "expression": "object.metadata.name"}],
            "validations": [
                {"expression": "variables.double.isLessThan(quantity('1Gi'))",
                 "messageExpression": "'too much: ' + string(variables.double.asInteger())"},
                {"expression": "variables.named != 'x'"}]})
        };
        let object = |memory: &str| json!({"metadata": {"name": "x"}, "spec": {"memory": memory}});
        // Library values held by variables reach the validations.
        assert_eq!(
            messages(&policy(spec("Fail")), object("256Mi"), None),
            ["failed expression: variables.named != 'x'"]
        );
        assert_eq!(
            messages(&policy(spec("Fail")), object("1Gi"), None),
            [
                "too much: 2147483648",
                "failed expression: variables.named != 'x'"
            ]
        );
        // A variable that fails fails each expression reading it, named in the message.
        assert_eq!(
            messages(&policy(spec("Fail")), object("lots"), None),
            [
                "expression 'variables.double.isLessThan(quantity('1Gi'))' resulted in error: composited variable \"double\" fails to evaluate: composited variable \"memory\" fails to evaluate: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                "failed expression: variables.named != 'x'"
            ]
        );
        assert_eq!(
            messages(&policy(spec("Ignore")), object("lots"), None),
            ["failed expression: variables.named != 'x'"]
        );
        // A failed variable an expression does not come to read fails nothing.
        let lazy = policy(
            json!({"variables": [{"name": "memory", "expression": "quantity(object.spec.memory)"}],
            "validations": [{"expression": "!has(object.spec.memory) || variables.memory.isLessThan(quantity('1Gi'))"}]}),
        );
        let object = json!({"metadata": {"name": "x"}, "spec": {}});
        assert!(messages(&lazy, object, None).is_empty());
    }

    /// The cost of one policy's evaluation over a Deployment, as `hack/bench-webhooks.sh`
    /// prints it (run with `--ignored`; meaningful in release builds).
    #[test]
    #[ignore]
    fn cel_policy_evaluation_cost() {
        let p = policy(json!({"validations": [
            {"expression": "object.spec.replicas <= 5",
             "messageExpression": "'replicas must be no greater than 5'"}]}));
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "p", "labels": {"app": "web"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                    {"name": "web", "image": "quay.io/example/web:1",
                     "ports": [{"containerPort": 8080}]}]}}}});
        let rounds = 20_000;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            // The request's variables are built once per request; the evaluation is per policy.
            let input = input(deployment.clone());
            assert!(run(&p, &input, None).is_empty());
        }
        let with_input = started.elapsed() / rounds;
        let input = input(deployment);
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            assert!(run(&p, &input, None).is_empty());
        }
        let evaluation = started.elapsed() / rounds;
        println!(
            "CEL policy (replicas <= 5) on a Deployment: {:.1} µs per evaluation, {:.1} µs with the request's variables built (target <= 50 µs)",
            evaluation.as_secs_f64() * 1e6,
            with_input.as_secs_f64() * 1e6
        );
    }

    #[test]
    fn what_does_not_compile_is_a_problem() {
        let p = policy(json!({"validations": [{"expression": "1 +"}]}));
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].field, "spec.validations[0].expression");
        assert!(p.problems[0].detail.starts_with("compilation failed: "));
    }

    #[test]
    fn variables_are_typed_by_their_expressions_in_order() {
        let p = policy(json!({
            "variables": [
                {"name": "user", "expression": "request.userInfo"},
                {"name": "early", "expression": "variables.late == 1"},
                {"name": "name", "expression": "variables.user.usernam"},
                {"name": "late", "expression": "object.spec.replicas"},
            ],
            "validations": [
                {"expression": "variables.user.username != '' && variables.late < 5"},
                {"expression": "variables.nope", "messageExpression": "variables.user.groups[0]"},
            ],
        }));
        let problems: Vec<(String, String)> = p
            .problems
            .iter()
            .map(|p| {
                let detail = p.detail.lines().next().unwrap_or_default();
                (p.field.clone(), detail.to_string())
            })
            .collect();
        assert_eq!(
            problems,
            [
                (
                    "spec.variables[1].expression".to_string(),
                    "compilation failed: ERROR: <input>:1:10: undefined field 'late'".to_string()
                ),
                (
                    "spec.variables[2].expression".to_string(),
                    "compilation failed: ERROR: <input>:1:15: undefined field 'usernam'"
                        .to_string()
                ),
                (
                    "spec.validations[1].expression".to_string(),
                    "compilation failed: ERROR: <input>:1:10: undefined field 'nope'".to_string()
                ),
            ]
        );
        assert_eq!(p.variables.len(), 2);
        assert_eq!(p.validations.len(), 1);
    }
}
