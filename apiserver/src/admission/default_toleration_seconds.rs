//! Upstream's DefaultTolerationSeconds admission: a new pod that does not tolerate its node
//! becoming not-ready or unreachable tolerates each for 300 s, so that the node lifecycle
//! controller evicts it five minutes after its node is lost.

use serde_json::{Value, json};

use super::Attributes;

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
    a.creates_pod()
}

pub fn admit(pod: &mut Value) {
    default_tolerations(pod.get_mut("spec"));
}

/// The two tolerations, built once: nearly every new pod gets both.
static TOLERATIONS: std::sync::LazyLock<[Value; 2]> = std::sync::LazyLock::new(|| {
    [NOT_READY, UNREACHABLE].map(|key| {
        json!({"key": key, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": SECONDS})
    })
});

fn default_tolerations(spec: Option<&mut Value>) {
    let Some(spec) = spec.and_then(Value::as_object_mut) else {
        return;
    };
    let existing = spec.get("tolerations").and_then(Value::as_array);
    let missing: Vec<&Value> = TOLERATIONS
        .iter()
        .filter(|wanted| {
            let key = wanted["key"].as_str().unwrap_or_default();
            !existing.is_some_and(|list| list.iter().any(|t| tolerates(t, key)))
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let list = spec
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Some(list) = list.as_array_mut() {
        list.extend(missing.into_iter().cloned());
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
