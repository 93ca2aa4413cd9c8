//! Scopes of token requests, in distribution's grammar: `type[(class)]:name:action[,action]*`,
//! several separated by spaces; the name may hold a `:` (a registry's port), so the type ends
//! at the first `:` and the actions start after the last.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// The scopes of every `scope` parameter; malformed ones are skipped.
pub(crate) fn parse_all<'a>(params: impl IntoIterator<Item = &'a str>) -> Vec<Scope> {
    params
        .into_iter()
        .flat_map(|p| p.split(' '))
        .filter_map(parse)
        .collect()
}

fn parse(s: &str) -> Option<Scope> {
    let (kind, rest) = s.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let kind = kind.split('(').next().unwrap_or(kind);
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(Scope {
        kind: kind.to_string(),
        name: name.to_string(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// `<project>/<name>` of a repository scope, the only form the registry serves.
pub(crate) fn project_and_stream(name: &str) -> Option<(&str, &str)> {
    let (project, stream) = name.split_once('/')?;
    (!project.is_empty() && !stream.is_empty() && !stream.contains('/'))
        .then_some((project, stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_distribution_scopes() {
        let scopes = parse_all([
            "repository:ns/app:pull,push repository(plugin):ns/b:pull",
            "registry:catalog:*",
            "repository:127.0.0.1:5000/x:pull",
            "garbage",
        ]);
        assert_eq!(scopes.len(), 4);
        assert_eq!(scopes[0].actions, ["pull", "push"]);
        assert_eq!(scopes[1].kind, "repository");
        assert_eq!(scopes[1].name, "ns/b");
        assert_eq!(scopes[2].name, "catalog");
        assert_eq!(scopes[3].name, "127.0.0.1:5000/x");
        assert_eq!(project_and_stream("ns/app"), Some(("ns", "app")));
        assert_eq!(project_and_stream("a/b/c"), None);
        assert_eq!(project_and_stream("app"), None);
    }
}
