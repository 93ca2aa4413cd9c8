//! What a request is about, read off its method and path as upstream does:
//! `/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}` and
//! `/apis/{group}/{version}/...`; everything else is a non-resource request.

use axum::http::Method;

/// Namespace subresources: after `/namespaces/{name}/` these are not a nested resource.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Whether this addresses a resource (as opposed to discovery, health, version...).
    pub is_resource: bool,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, or
    /// the lowercase method for non-resource requests.
    pub verb: String,
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub subresource: Option<String>,
    /// The path after the subresource, if any.
    pub subpath: String,
    pub name: Option<String>,
}

/// Whether the query asks for a watch: its first `watch` is anything but `0` or `false`
/// (an empty value too), as upstream reads booleans.
pub fn query_wants_watch(query: Option<&str>) -> bool {
    let Some(first) =
        query
            .unwrap_or_default()
            .split('&')
            .find_map(|kv| match kv.split_once('=') {
                Some(("watch", value)) => Some(value),
                None if kv == "watch" => Some(""),
                _ => None,
            })
    else {
        return false;
    };
    !(first == "0" || first.eq_ignore_ascii_case("false"))
}

/// The name a list or watch selects with `fieldSelector=metadata.name=<name>`: upstream
/// authorizes such a request for that one name (so that a role limited to `resourceNames`
/// may watch its object). Not a valid path segment name: none.
pub fn selected_name(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    let (_, selector) = pairs.iter().find(|(k, _)| k == "fieldSelector")?;
    let selector = api::selector::FieldSelector::parse(selector, |_| true).ok()?;
    let name = selector.exact_match("metadata.name")?;
    let valid = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '%']);
    valid.then(|| name.to_string())
}

/// The request info of a request: parsed once by the outermost layer (`attach`) and read
/// from the request's extensions after that.
pub fn of<B>(request: &axum::http::Request<B>) -> RequestInfo {
    match request.extensions().get::<RequestInfo>() {
        Some(info) => info.clone(),
        None => from_parts(request.method(), request.uri()),
    }
}

/// Parses the request info of a request and attaches it for the layers within.
pub fn attach<B>(request: &mut axum::http::Request<B>) -> RequestInfo {
    let info = of(request);
    request.extensions_mut().insert(info.clone());
    info
}

fn from_parts(method: &Method, uri: &axum::http::Uri) -> RequestInfo {
    parse(method, uri.path(), query_wants_watch(uri.query()))
}

pub fn parse(method: &Method, path: &str, watch_query: bool) -> RequestInfo {
    let non_resource = || RequestInfo {
        verb: method.as_str().to_lowercase(),
        ..Default::default()
    };
    // Segments are read decoded (`system%3Aadmin` is `system:admin`), as Go's URL parser
    // hands upstream its path.
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let parts: Vec<&str> = decoded
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let (group, version, mut rest) = match parts.as_slice() {
        ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ => return non_resource(),
    };
    let mut verb = match *method {
        Method::POST => "create",
        Method::GET | Method::HEAD => "get",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => return non_resource(),
    };
    // The deprecated `/watch/` path prefix.
    if rest.first() == Some(&"watch") {
        verb = "watch";
        rest = &rest[1..];
    }
    let mut info = RequestInfo {
        is_resource: true,
        group: group.to_string(),
        version: version.to_string(),
        ..Default::default()
    };
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        info.namespace = Some(rest[1].to_string());
        // `/namespaces/{ns}/{resource}...` unless what follows is the namespace's own
        // subresource; in that case the resource is the namespace itself.
        if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            rest = &rest[2..];
        }
    }
    info.resource = rest.first().map(|s| s.to_string()).unwrap_or_default();
    info.name = rest.get(1).map(|s| s.to_string());
    info.subresource = rest.get(2).map(|s| s.to_string());
    // What follows a subresource (a webhook's `<secret>/<type>`).
    info.subpath = rest.get(3..).map(|s| s.join("/")).unwrap_or_default();
    // A project is authorized as its namespace, so that a namespace's admins manage it.
    if info.group == "project.openshift.io" && info.resource == "projects" {
        info.namespace = info.name.clone();
    }
    if info.name.is_none() {
        verb = match verb {
            "get" if watch_query => "watch",
            "get" => "list",
            "delete" => "deletecollection",
            v => v,
        };
    } else if verb == "get" && watch_query {
        verb = "watch";
    }
    info.verb = verb.to_string();
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> RequestInfo {
        parse(&Method::GET, path, false)
    }

    #[test]
    fn resources_and_namespaces() {
        let i = get("/api/v1/namespaces/default/configmaps/a");
        assert!(i.is_resource);
        assert_eq!(
            (
                i.verb.as_str(),
                i.group.as_str(),
                i.version.as_str(),
                i.namespace.as_deref(),
                i.resource.as_str(),
                i.name.as_deref()
            ),
            ("get", "", "v1", Some("default"), "configmaps", Some("a"))
        );
        let i = get("/apis/apps/v1/namespaces/ns/deployments/d/scale");
        assert_eq!(
            (i.group.as_str(), i.subresource.as_deref()),
            ("apps", Some("scale"))
        );
        let i = get("/api/v1/namespaces/default");
        assert_eq!(
            (
                i.resource.as_str(),
                i.name.as_deref(),
                i.namespace.as_deref()
            ),
            ("namespaces", Some("default"), Some("default"))
        );
        let i = parse(&Method::PUT, "/api/v1/namespaces/ns1/finalize", false);
        assert_eq!(
            (
                i.verb.as_str(),
                i.resource.as_str(),
                i.name.as_deref(),
                i.subresource.as_deref()
            ),
            ("update", "namespaces", Some("ns1"), Some("finalize"))
        );
        let i = get("/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aaggregate-to-admin");
        assert_eq!(i.name.as_deref(), Some("system:aggregate-to-admin"));
        let i = get("/api/v1/nodes");
        assert_eq!(
            (i.verb.as_str(), i.namespace, i.resource.as_str()),
            ("list", None, "nodes")
        );
    }

    #[test]
    fn verbs() {
        assert_eq!(parse(&Method::GET, "/api/v1/pods", true).verb, "watch");
        assert_eq!(
            parse(&Method::GET, "/api/v1/watch/namespaces/a/pods", false).verb,
            "watch"
        );
        assert_eq!(
            parse(&Method::DELETE, "/api/v1/namespaces/a/pods", false).verb,
            "deletecollection"
        );
        assert_eq!(
            parse(&Method::POST, "/api/v1/namespaces/a/pods", false).verb,
            "create"
        );
        assert_eq!(
            parse(
                &Method::PATCH,
                "/apis/apps/v1/namespaces/a/deployments/d",
                false
            )
            .verb,
            "patch"
        );
        assert!(query_wants_watch(Some("limit=5&watch=true")));
        assert!(!query_wants_watch(Some("watchy=true")));
        assert!(query_wants_watch(Some("watch=notbool")));
        assert!(!query_wants_watch(Some("watch=False&watch=1")));
    }

    #[test]
    fn non_resource_paths() {
        for path in [
            "/",
            "/healthz",
            "/version",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/openapi/v3",
        ] {
            let i = get(path);
            assert!(!i.is_resource, "{path}");
            assert_eq!(i.verb, "get");
        }
    }

    #[test]
    fn a_list_or_watch_may_select_one_name() {
        let name = |q: &str| selected_name(Some(q));
        assert_eq!(
            name("watch=1&fieldSelector=metadata.name%3Dservice-ca").as_deref(),
            Some("service-ca")
        );
        assert_eq!(
            name("fieldSelector=type%3Dx,metadata.name%3D%3Da").as_deref(),
            Some("a")
        );
        assert_eq!(name("fieldSelector=metadata.name!%3Da"), None);
        assert_eq!(name("fieldSelector=metadata.name%3D.."), None);
        assert_eq!(name("fieldSelector=metadata.name%3Da%2Fb"), None);
        assert_eq!(name("labelSelector=a%3Db"), None);
        assert_eq!(selected_name(None), None);
    }
}
