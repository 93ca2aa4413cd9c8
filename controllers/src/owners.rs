//! An object's controller: the owner reference marked `controller: true`. The API server
//! admits at most one per object, so the first is the one.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The object's controller reference, if it has one.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

/// The uid of the object's controller, if it has one.
pub fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    controller_of(meta).map(|o| o.uid.as_str())
}

/// Whether the object's controller is the one with `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_uid(meta) == Some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(uid: &str, controller: Option<bool>) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web".into(),
            uid: uid.into(),
            controller,
            ..Default::default()
        }
    }

    #[test]
    fn only_the_reference_marked_controller_controls() {
        let meta = ObjectMeta {
            owner_references: Some(vec![
                reference("a", None),
                reference("b", Some(false)),
                reference("c", Some(true)),
            ]),
            ..Default::default()
        };
        assert_eq!(controller_uid(&meta), Some("c"));
        assert!(is_controlled_by(&meta, "c"));
        assert!(!is_controlled_by(&meta, "a"));
        assert_eq!(controller_of(&ObjectMeta::default()), None);
        assert!(!is_controlled_by(&ObjectMeta::default(), ""));
    }
}
