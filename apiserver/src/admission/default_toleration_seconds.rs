//! Upstream's DefaultTolerationSeconds admission: a new pod that does not tolerate its node
//! becoming not-ready or unreachable tolerates each for 300 s, so that the node lifecycle
//! controller evicts it five minutes after its node is lost.

use serde_json::{Value, json};

use super::{Attributes, Operation};

pub const NAME: &str = "DefaultTolerationSeconds";

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const SECONDS: i64 = 300;

/// Whether `t` tolerates the NoExecute taint `key` (an empty key or effect matches any).
fn tolerates(t: &Value, key: &str) -> bool {
    let k = t["key"].as_str().unwrap_or_default();
    let effect = t["effect"].as_str().unwrap_or_default();
    (k == key || k.is_empty()) && (effect == "NoExecute" || effect.is_empty())
}

/// New pods.
pub fn applies(a: &Attributes<'_>) -> bool {
    a.def.group.is_empty()
        && a.def.plural == "pods"
        && a.subresource.is_empty()
        && a.operation == Operation::Create
}

pub fn admit(pod: &mut Value) {
    default_tolerations(pod.get_mut("spec"));
}

fn default_tolerations(spec: Option<&mut Value>) {
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        return;
    };
    let existing = spec["tolerations"].as_array().cloned().unwrap_or_default();
    let mut added = Vec::new();
    for key in [NOT_READY, UNREACHABLE] {
        if !existing.iter().any(|t| tolerates(t, key)) {
            added.push(
                json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": SECONDS}),
            );
        }
    }
    if !added.is_empty() {
        let mut all = existing;
        all.extend(added);
        spec["tolerations"] = Value::Array(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_what_is_not_tolerated() {
        let mut spec = json!({"containers": []});
        default_tolerations(Some(&mut spec));
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(spec["tolerations"][0]["key"], NOT_READY);
        assert_eq!(spec["tolerations"][1]["tolerationSeconds"], 300);
        let mut spec = json!({"tolerations": [{"key": UNREACHABLE, "operator": "Exists"}]});
        default_tolerations(Some(&mut spec));
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(spec["tolerations"][1]["key"], NOT_READY);
        let mut spec = json!({"tolerations": [{"operator": "Exists"}]});
        default_tolerations(Some(&mut spec));
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 1);
    }
}
