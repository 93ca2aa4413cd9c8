//! The `pod-template-hash` of a Deployment's template: FNV-1a (32 bits) of the template in a
//! canonical form, with the collision count mixed in, written in upstream's alphabet so that
//! names look as kubectl users expect (`web-6f6b679f8f`).

use serde_json::Value;

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn fnv1a(bytes: &[u8], mut h: u32) -> u32 {
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// JSON with object keys sorted, so that equal templates hash equal.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub fn canonical_text(v: &Value) -> String {
    let mut s = String::new();
    canonical(v, &mut s);
    s
}

/// Upstream's SafeEncodeString: each character of the decimal hash mapped into the alphabet.
fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

pub fn pod_template_hash(template: &Value, collision_count: Option<i32>) -> String {
    let mut h = fnv1a(canonical_text(template).as_bytes(), 0x811c_9dc5);
    if let Some(c) = collision_count {
        let mut bytes = (c as u32).to_le_bytes().to_vec();
        bytes.extend([0u8; 4]);
        h = fnv1a(&bytes, h);
    }
    safe_encode(&h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stable_safe_and_collision_aware() {
        let a = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}});
        let b = json!({"spec": {"containers": [{"image": "x", "name": "c"}]}, "metadata": {"labels": {"app": "web"}}});
        let h = pod_template_hash(&a, None);
        assert_eq!(h, pod_template_hash(&b, None));
        assert!(h.bytes().all(|c| ALPHANUMS.contains(&c)), "{h}");
        assert_ne!(h, pod_template_hash(&a, Some(1)));
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        // FNV-1a's published test vector.
        assert_eq!(fnv1a(b"a", 0x811c_9dc5), 0xe40c_292c);
    }
}
