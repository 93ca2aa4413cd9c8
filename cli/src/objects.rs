//! Objects named on the command line (`TYPE NAME...` or `TYPE/NAME...`), resolved against
//! discovery, and their paths on the server.

use serde_json::Value;

use crate::client::Session;
use crate::discovery::{self, Resource};
use crate::error::CliError;

/// One object: its resource, namespace (namespaced resources) and name.
#[derive(Clone, Debug)]
pub struct Target {
    pub resource: Resource,
    pub namespace: Option<String>,
    pub name: String,
}

impl Target {
    pub fn path(&self) -> String {
        format!(
            "{}/{}",
            self.resource.path(self.namespace.as_deref()),
            self.name
        )
    }

    /// `configmap/a`, as kubectl names objects in its result lines.
    pub fn display(&self) -> String {
        format!("{}/{}", self.resource.qualified_kind(), self.name)
    }

    /// The target an object of `r` stands for (its own namespace, else the session's).
    pub fn of_object(s: &Session, r: Resource, obj: &Value) -> Target {
        let namespace = r.namespaced.then(|| {
            obj["metadata"]["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(&s.namespace)
                .to_string()
        });
        Target {
            resource: r,
            namespace,
            name: obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// What the words name: the types of `TYPE[,TYPE...] [NAME...]` (none for the `TYPE/NAME`
/// form), and the (type word, name) pairs.
pub struct Words {
    pub kinds: Vec<String>,
    pub pairs: Vec<(String, String)>,
}

/// The words of `TYPE NAME...` or `TYPE/NAME...`; a bare `TYPE` gives no pair (the caller
/// decides whether the collection is meant).
pub fn words(words: &[String]) -> Result<Words, CliError> {
    let Some(first) = words.first() else {
        return Ok(Words {
            kinds: Vec::new(),
            pairs: Vec::new(),
        });
    };
    if first.contains('/') {
        let mut pairs = Vec::new();
        for word in words {
            let (kind, name) = word.split_once('/').ok_or_else(|| {
                CliError::msg("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'oc get resource/<resource_name>' instead of 'oc get resource resource/<resource_name>'")
            })?;
            pairs.push((kind.to_string(), name.to_string()));
        }
        return Ok(Words {
            kinds: Vec::new(),
            pairs,
        });
    }
    let kinds: Vec<String> = first
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    let pairs = kinds
        .iter()
        .flat_map(|k| words[1..].iter().map(move |n| (k.clone(), n.clone())))
        .collect();
    Ok(Words { kinds, pairs })
}

/// The objects `TYPE NAME...` or `TYPE/NAME...` name, in the session's namespace.
pub async fn named(s: &Session, args: &[String]) -> Result<Vec<Target>, CliError> {
    let pairs = words(args)?.pairs;
    if pairs.is_empty() {
        return Err(CliError::msg(
            "one or more resources must be specified as <resource> <name> or <resource>/<name>",
        ));
    }
    let mut out = Vec::new();
    for (kind, name) in pairs {
        let resource = discovery::resolve(s, &kind).await?;
        out.push(Target {
            namespace: resource.namespaced.then(|| s.namespace.clone()),
            resource,
            name,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn type_and_names_as_users_write_them() {
        let named = words(&w(&["cm,secret", "a", "b"])).unwrap();
        assert_eq!(named.kinds, ["cm", "secret"]);
        assert_eq!(named.pairs.len(), 4);
        assert_eq!(named.pairs[1], ("cm".to_string(), "b".to_string()));
        let named = words(&w(&["cm/a", "secret/b"])).unwrap();
        assert!(named.kinds.is_empty());
        assert_eq!(named.pairs[1], ("secret".to_string(), "b".to_string()));
        assert!(words(&w(&["cm/a", "b"])).is_err());
        let named = words(&w(&["cm"])).unwrap();
        assert_eq!((named.kinds.len(), named.pairs.len()), (1, 0));
    }
}
