//! Objects decoded so that a field of the wrong JSON type never fails a whole list or watch.
//!
//! kube decodes a list in one go: a single stored object whose fields have the wrong types
//! (a label holding a number, `automountServiceAccountToken: "yes"`) fails the list, and a
//! watcher built on it never starts. The types here cannot fail on well-formed JSON:
//! - [`Metadata`] decodes each metadata field on its own; one of the wrong type is left empty
//!   and named in `broken`, so that callers decide whether they can act without it;
//! - [`Meta<K>`] is a `K` read for its metadata only (the rest is skipped, not built);
//! - [`Object<K>`] is a whole `K` when it decodes, and its metadata in any case;
//! - [`Raw<K>`] is a `K` as the JSON it came as, with its metadata decoded;
//! - [`list`] lists `K`s and keeps those that decode.

use std::borrow::Cow;
use std::marker::PhantomData;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::Resource;
use kube::api::{Api, ListParams};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// One metadata field: absent (or null), decoded, or of the wrong type.
#[derive(Default)]
enum Field<T> {
    #[default]
    Absent,
    Decoded(T),
    Broken,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(match Option::<T>::deserialize(value) {
            Ok(Some(v)) => Field::Decoded(v),
            Ok(None) => Field::Absent,
            Err(_) => Field::Broken,
        })
    }
}

/// The metadata fields the controllers read (managed fields are skipped).
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Fields {
    name: Field<String>,
    generate_name: Field<String>,
    namespace: Field<String>,
    uid: Field<String>,
    resource_version: Field<String>,
    generation: Field<i64>,
    creation_timestamp: Field<Time>,
    deletion_timestamp: Field<Time>,
    deletion_grace_period_seconds: Field<i64>,
    labels: Field<std::collections::BTreeMap<String, String>>,
    annotations: Field<std::collections::BTreeMap<String, String>>,
    owner_references: Field<Vec<OwnerReference>>,
    finalizers: Field<Vec<String>>,
}

/// An object's metadata, each field decoded on its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    pub meta: ObjectMeta,
    /// The fields (by JSON name) that had the wrong type and were left empty; `metadata` when
    /// the metadata itself was not an object.
    pub broken: Vec<&'static str>,
}

impl Metadata {
    pub fn is_intact(&self) -> bool {
        self.broken.is_empty()
    }

    /// Whether any of `fields` (JSON names) could not be read.
    pub fn lacks(&self, fields: &[&str]) -> bool {
        self.broken
            .iter()
            .any(|b| *b == "metadata" || fields.contains(b))
    }

    fn from_value(value: Option<&Value>) -> Metadata {
        let fields = match value {
            None | Some(Value::Null) => Fields::default(),
            Some(value) => match Fields::deserialize(value) {
                Ok(fields) => fields,
                Err(_) => {
                    return Metadata {
                        meta: ObjectMeta::default(),
                        broken: vec!["metadata"],
                    };
                }
            },
        };
        let mut broken = Vec::new();
        let b = &mut broken;
        let meta = ObjectMeta {
            name: take(fields.name, "name", b),
            generate_name: take(fields.generate_name, "generateName", b),
            namespace: take(fields.namespace, "namespace", b),
            uid: take(fields.uid, "uid", b),
            resource_version: take(fields.resource_version, "resourceVersion", b),
            generation: take(fields.generation, "generation", b),
            creation_timestamp: take(fields.creation_timestamp, "creationTimestamp", b),
            deletion_timestamp: take(fields.deletion_timestamp, "deletionTimestamp", b),
            deletion_grace_period_seconds: take(
                fields.deletion_grace_period_seconds,
                "deletionGracePeriodSeconds",
                b,
            ),
            labels: take(fields.labels, "labels", b),
            annotations: take(fields.annotations, "annotations", b),
            owner_references: take(fields.owner_references, "ownerReferences", b),
            finalizers: take(fields.finalizers, "finalizers", b),
            ..Default::default()
        };
        Metadata { meta, broken }
    }
}

fn take<T>(field: Field<T>, name: &'static str, broken: &mut Vec<&'static str>) -> Option<T> {
    match field {
        Field::Decoded(v) => Some(v),
        Field::Absent => None,
        Field::Broken => {
            broken.push(name);
            None
        }
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(Metadata::from_value(Some(&value)))
    }
}

/// Type information of `K` for the wrappers below, which are `K`s to kube.
macro_rules! resource_of {
    ($wrapper:ident) => {
        impl<K: Resource> Resource for $wrapper<K> {
            type DynamicType = K::DynamicType;
            type Scope = K::Scope;

            fn kind(dt: &Self::DynamicType) -> Cow<'_, str> {
                K::kind(dt)
            }
            fn group(dt: &Self::DynamicType) -> Cow<'_, str> {
                K::group(dt)
            }
            fn version(dt: &Self::DynamicType) -> Cow<'_, str> {
                K::version(dt)
            }
            fn api_version(dt: &Self::DynamicType) -> Cow<'_, str> {
                K::api_version(dt)
            }
            fn plural(dt: &Self::DynamicType) -> Cow<'_, str> {
                K::plural(dt)
            }
            fn meta(&self) -> &ObjectMeta {
                self.meta_ref()
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                self.meta_mut_ref()
            }
        }
    };
}

/// A `K` read for its metadata only.
pub struct Meta<K> {
    pub metadata: Metadata,
    kind: PhantomData<fn() -> K>,
}

impl<K> Meta<K> {
    pub fn new(metadata: Metadata) -> Self {
        Meta {
            metadata,
            kind: PhantomData,
        }
    }

    fn meta_ref(&self) -> &ObjectMeta {
        &self.metadata.meta
    }

    fn meta_mut_ref(&mut self) -> &mut ObjectMeta {
        &mut self.metadata.meta
    }
}

impl<K> Clone for Meta<K> {
    fn clone(&self) -> Self {
        Meta::new(self.metadata.clone())
    }
}

impl<K> std::fmt::Debug for Meta<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meta")
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl<'de, K> Deserialize<'de> for Meta<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Everything but the metadata is skipped without being built.
        #[derive(Deserialize)]
        struct Only {
            #[serde(default)]
            metadata: Option<Metadata>,
        }
        let only = Only::deserialize(d)?;
        Ok(Meta::new(only.metadata.unwrap_or_default()))
    }
}

resource_of!(Meta);

/// A `K` if it decodes; its metadata in any case.
pub struct Object<K> {
    pub metadata: Metadata,
    pub object: Option<K>,
}

impl<K: Resource> Object<K> {
    /// An object to send (create, replace).
    pub fn new(object: K) -> Self {
        Object {
            metadata: Metadata {
                meta: object.meta().clone(),
                broken: Vec::new(),
            },
            object: Some(object),
        }
    }

    fn meta_ref(&self) -> &ObjectMeta {
        match &self.object {
            Some(o) => o.meta(),
            None => &self.metadata.meta,
        }
    }

    fn meta_mut_ref(&mut self) -> &mut ObjectMeta {
        match &mut self.object {
            Some(o) => o.meta_mut(),
            None => &mut self.metadata.meta,
        }
    }
}

impl<K: Clone> Clone for Object<K> {
    fn clone(&self) -> Self {
        Object {
            metadata: self.metadata.clone(),
            object: self.object.clone(),
        }
    }
}

impl<K: std::fmt::Debug> std::fmt::Debug for Object<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("metadata", &self.metadata)
            .field("object", &self.object)
            .finish()
    }
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Object<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(Object {
            metadata: Metadata::from_value(value.get("metadata")),
            object: K::deserialize(&value).ok(),
        })
    }
}

impl<K: Serialize> Serialize for Object<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.object {
            Some(o) => o.serialize(s),
            None => Err(serde::ser::Error::custom(
                "an object that could not be decoded is never written back",
            )),
        }
    }
}

resource_of!(Object);

/// A `K` kept as the JSON it came as (nothing of it is typed but its metadata): for callers
/// that patch paths of it and need no more of its shape.
pub struct Raw<K> {
    pub metadata: Metadata,
    pub value: Value,
    kind: PhantomData<fn() -> K>,
}

impl<K> Raw<K> {
    fn meta_ref(&self) -> &ObjectMeta {
        &self.metadata.meta
    }

    fn meta_mut_ref(&mut self) -> &mut ObjectMeta {
        &mut self.metadata.meta
    }
}

impl<K> Clone for Raw<K> {
    fn clone(&self) -> Self {
        Raw {
            metadata: self.metadata.clone(),
            value: self.value.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Raw<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Raw")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl<'de, K> Deserialize<'de> for Raw<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(Raw {
            metadata: Metadata::from_value(value.get("metadata")),
            value,
            kind: PhantomData,
        })
    }
}

resource_of!(Raw);

/// The listed `K`s that decode, in the list's order: one of the wrong types is left out, as a
/// watch leaves it out, and never fails the list.
pub async fn list<K>(api: &Api<Object<K>>, params: &ListParams) -> kube::Result<Vec<K>>
where
    K: Clone + std::fmt::Debug + DeserializeOwned,
    Object<K>: Resource,
{
    Ok(api
        .list(params)
        .await?
        .items
        .into_iter()
        .filter_map(|o| o.object)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
    use kube::api::{DynamicObject, ObjectList};
    use serde_json::json;

    fn list(items: Vec<Value>) -> Value {
        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "7"}, "items": items})
    }

    fn bad_account() -> Value {
        json!({"metadata": {"name": "builder", "namespace": "a", "uid": "u1"},
            "automountServiceAccountToken": "yes"})
    }

    fn good_account() -> Value {
        json!({"metadata": {"name": "deployer", "namespace": "b", "uid": "u2"}})
    }

    fn bad_config_map() -> Value {
        json!({"metadata": {"name": "c", "namespace": "a", "uid": "u3", "labels": {"n": 5},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "o1"}]},
            "data": {"secret": "do not log"}})
    }

    #[test]
    fn a_list_with_an_object_of_wrong_types_still_decodes() {
        let accounts = list(vec![bad_account(), good_account()]);
        // What kube's typed list did: the whole list fails.
        assert!(serde_json::from_value::<ObjectList<ServiceAccount>>(accounts.clone()).is_err());
        let decoded: ObjectList<Object<ServiceAccount>> =
            serde_json::from_value(accounts.clone()).unwrap();
        assert_eq!(decoded.items.len(), 2);
        assert!(decoded.items[0].object.is_none());
        assert_eq!(decoded.items[0].meta().name.as_deref(), Some("builder"));
        assert!(decoded.items[0].metadata.is_intact());
        assert!(decoded.items[1].object.is_some());
        let metas: ObjectList<Meta<ServiceAccount>> =
            serde_json::from_value(accounts.clone()).unwrap();
        assert_eq!(metas.items[0].meta().namespace.as_deref(), Some("a"));
        // As JSON, the object of wrong types comes whole.
        let raws: ObjectList<Raw<ServiceAccount>> = serde_json::from_value(accounts).unwrap();
        assert_eq!(raws.items[0].value, bad_account());
        assert_eq!(raws.items[0].meta().uid.as_deref(), Some("u1"));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_left_empty_and_named() {
        let maps = list(vec![bad_config_map()]);
        assert!(serde_json::from_value::<ObjectList<ConfigMap>>(maps.clone()).is_err());
        assert!(serde_json::from_value::<ObjectList<DynamicObject>>(maps.clone()).is_err());
        let decoded: ObjectList<Meta<DynamicObject>> = serde_json::from_value(maps).unwrap();
        let meta = &decoded.items[0].metadata;
        assert_eq!(meta.broken, ["labels"]);
        assert!(meta.lacks(&["labels"]));
        assert!(!meta.lacks(&["ownerReferences"]));
        assert_eq!(meta.meta.uid.as_deref(), Some("u3"));
        assert_eq!(meta.meta.owner_references.as_ref().map(Vec::len), Some(1));
        assert!(meta.meta.labels.is_none());
    }

    #[test]
    fn every_field_falls_back_on_its_own() {
        let m: Metadata = serde_json::from_value(json!({
            "name": 1, "namespace": "a", "uid": ["x"], "resourceVersion": "3", "generation": "x",
            "deletionTimestamp": 7, "finalizers": "f", "ownerReferences": [{"kind": 1}],
            "annotations": {"a": "b"}, "managedFields": "anything"}))
        .unwrap();
        assert_eq!(m.meta.namespace.as_deref(), Some("a"));
        assert_eq!(m.meta.resource_version.as_deref(), Some("3"));
        assert_eq!(m.meta.annotations.as_ref().map(|a| a.len()), Some(1));
        let mut broken = m.broken.clone();
        broken.sort();
        assert_eq!(
            broken,
            [
                "deletionTimestamp",
                "finalizers",
                "generation",
                "name",
                "ownerReferences",
                "uid"
            ]
        );
        let not_an_object: Meta<ConfigMap> =
            serde_json::from_value(json!({"metadata": "x"})).unwrap();
        assert!(not_an_object.metadata.lacks(&["name"]));
        let nulls: Meta<ConfigMap> =
            serde_json::from_value(json!({"metadata": {"labels": null}})).unwrap();
        assert!(nulls.metadata.is_intact());
    }

    #[test]
    fn only_decoded_objects_are_written() {
        let good: Object<ServiceAccount> = serde_json::from_value(good_account()).unwrap();
        assert_eq!(
            serde_json::to_value(&good).unwrap()["metadata"],
            good_account()["metadata"]
        );
        let bad: Object<ServiceAccount> = serde_json::from_value(bad_account()).unwrap();
        assert!(serde_json::to_value(&bad).is_err());
    }
}
