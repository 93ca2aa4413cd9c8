//! What the image API asks of the authorizer on a requester's behalf (upstream's
//! SubjectAccessReviews): reading another namespace's stream layers, creating images.

use auth::rbac::Attributes;

use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::http::serve::User;

/// Whether `user` may `verb` the image.openshift.io `resource[/subresource]` `name` in
/// `namespace` ("" for cluster scope).
pub async fn allowed(
    server: &ApiServer,
    user: &User,
    verb: &str,
    (resource, subresource): (&str, &str),
    namespace: &str,
    name: &str,
) -> bool {
    let attrs = Attributes {
        verb: verb.into(),
        namespace: namespace.into(),
        api_group: "image.openshift.io".into(),
        resource: resource.into(),
        subresource: subresource.into(),
        name: name.into(),
        path: String::new(),
        resource_request: true,
    };
    let policy = server.authorizer.policy().await;
    policy.authorize(&user_info(user), &attrs).allowed()
}
