//! What the `openshift` namespace holds on a fresh cluster for `oc new-app` and `oc process`:
//! templates that run on this cluster (the image is a parameter: the cluster ships no images),
//! and upstream's `shared-resource-viewer` Role with its binding, so every authenticated user
//! may read the shared templates and image streams.

use serde_json::{Value, json};

/// `(group, plural, object)` of each seed, created when missing.
pub fn objects() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("rbac.authorization.k8s.io", "roles", viewer_role()),
        (
            "rbac.authorization.k8s.io",
            "rolebindings",
            viewer_binding(),
        ),
        ("template.openshift.io", "templates", busybox_httpd()),
    ]
}

fn viewer_role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "shared-resource-viewer", "namespace": "openshift"},
        "rules": [
            {"apiGroups": ["", "template.openshift.io"], "resources": ["templates"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["", "image.openshift.io"],
             "resources": ["imagestreamimages", "imagestreams", "imagestreamtags", "imagetags"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["", "image.openshift.io"], "resources": ["imagestreams/layers"],
             "verbs": ["get"]},
        ],
    })
}

fn viewer_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "shared-resource-viewers", "namespace": "openshift"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "shared-resource-viewer"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
    })
}

/// A page served by busybox's httpd from any image that has `/bin/busybox`.
fn busybox_httpd() -> Value {
    let serve =
        "echo \"${MESSAGE}\" > /srv/index.html && exec /bin/busybox httpd -f -p 8080 -h /srv";
    json!({
        "apiVersion": "template.openshift.io/v1", "kind": "Template",
        "metadata": {
            "name": "busybox-httpd-example", "namespace": "openshift",
            "annotations": {
                "openshift.io/display-name": "Busybox HTTP server",
                "description": "A page served on port 8080 by busybox's httpd, from an image that has /bin/busybox.",
                "tags": "quickstart,httpd",
                "iconClass": "icon-apache",
            },
        },
        "message": "The page of ${NAME} is served on port 8080 of service ${NAME}.",
        "labels": {"template": "busybox-httpd-example", "app": "${NAME}"},
        "parameters": [
            {"name": "NAME", "displayName": "Name",
             "description": "The name of the objects the template creates.",
             "value": "web", "required": true},
            {"name": "IMAGE", "displayName": "Image",
             "description": "A pull spec of an image with /bin/busybox.", "required": true},
            {"name": "MESSAGE", "displayName": "Message", "description": "The page's text.",
             "value": "Welcome to your static page"},
            {"name": "REPLICAS", "displayName": "Replicas", "description": "How many pods serve the page.",
             "value": "1"},
        ],
        "objects": [
            {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "${NAME}"},
                "spec": {
                    "selector": {"deployment": "${NAME}"},
                    "ports": [{"name": "8080-tcp", "port": 8080, "protocol": "TCP", "targetPort": 8080}],
                },
            },
            {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {
                    "name": "${NAME}",
                    "annotations": {"template.alpha.openshift.io/wait-for-ready": "true"},
                },
                "spec": {
                    "replicas": "${{REPLICAS}}",
                    "selector": {"matchLabels": {"deployment": "${NAME}"}},
                    "template": {
                        "metadata": {"labels": {"deployment": "${NAME}", "app": "${NAME}"}},
                        // The page is written to an emptyDir: pods run as the project's
                        // UID (restricted-v2), which may not write the image's root.
                        "spec": {"containers": [{
                            "name": "httpd", "image": "${IMAGE}",
                            "command": ["/bin/busybox", "sh", "-c", serve],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "volumeMounts": [{"name": "srv", "mountPath": "/srv"}],
                        }], "volumes": [{"name": "srv", "emptyDir": {}}]},
                    },
                },
            },
        ],
    })
}
