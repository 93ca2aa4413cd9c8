//! Updates and creates: a manager owns what it changed.

use api::scheme::ResourceDef;
use serde_json::Value;

use super::entries::{entries, slot, store};
use super::fields::Fields;
use super::paths::{lookup, of};

/// Records an update (or create) by `manager`: it owns what it changed; fields it changed or
/// removed are no longer anyone else's.
pub fn record_update(
    def: &ResourceDef,
    before: Option<&Value>,
    after: &mut Value,
    manager: &str,
    subresource: &str,
    now: &str,
) {
    let mut list = before.map(entries).unwrap_or_default();
    let (set, removed) = match before {
        Some(before) => changed(def, before, after),
        None => (of(def, after), Fields::default()),
    };
    if set.is_empty() && removed.is_empty() {
        store(after, list);
        return;
    }
    for e in list.iter_mut() {
        e.fields = e.fields.minus(&set).minus(&removed);
    }
    slot(&mut list, def, manager, "Update", subresource, now)
        .fields
        .union(&set);
    store(after, list);
}

/// The fields whose values differ between `before` and `after` (added, changed or removed).
fn changed(def: &ResourceDef, before: &Value, after: &Value) -> (Fields, Fields) {
    let (old, new) = (of(def, before), of(def, after));
    let mut set = Fields::default();
    for path in new.leaves() {
        if lookup(before, &path) != lookup(after, &path) {
            set.add(&path);
        }
    }
    (set, old.minus(&new))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cm() -> ResourceDef {
        *api::Scheme::builtin()
            .lookup("", "v1", "configmaps")
            .unwrap()
    }

    #[test]
    fn updates_own_what_they_change() {
        let before = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        let mut created = before.clone();
        record_update(&cm(), None, &mut created, "kubectl-create", "", "T");
        let mut after = created.clone();
        after["data"]["b"] = json!("3");
        record_update(&cm(), Some(&created), &mut after, "kubectl-edit", "", "U");
        let list = entries(&after);
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0].fields.clone().into_json(),
            json!({"f:data": {"f:a": {}}})
        );
        assert_eq!(list[1].manager, "kubectl-edit");
        assert_eq!(
            list[1].fields.clone().into_json(),
            json!({"f:data": {"f:b": {}}})
        );
    }
}
