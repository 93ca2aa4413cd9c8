"""The Python `kubernetes` client against a running Oxshift: typed CRUD, conflicts, JSON
patch, paginated lists and a watch resumed from a resourceVersion. Usage: client_e2e.py KUBECONFIG
"""

import json
import sys

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
NS = "default"


def fails_with(status, reason, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ApiException as e:
        body = json.loads(e.body)
        assert (e.status, body["reason"]) == (status, reason), (e.status, body)
        return body
    raise AssertionError(f"{call.__name__} should have failed with {status} {reason}")


# CRUD with typed models; the client POSTs JSON without a Content-Type.
cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py1", labels={"from": "python"}), data={"a": "1"})
created = v1.create_namespaced_config_map(NS, cm)
assert created.metadata.uid and created.metadata.resource_version, created.metadata
got = v1.read_namespaced_config_map("py1", NS)
assert got.data == {"a": "1"}
got.data["a"] = "2"
updated = v1.replace_namespaced_config_map("py1", NS, got)
assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
got.metadata.resource_version = created.metadata.resource_version
body = fails_with(409, "Conflict", v1.replace_namespaced_config_map, "py1", NS, got)
assert "the object has been modified" in body["message"], body
fails_with(409, "AlreadyExists", v1.create_namespaced_config_map, NS, cm)
# A list body is sent as a JSON patch.
patched = v1.patch_namespaced_config_map("py1", NS, [{"op": "add", "path": "/data/b", "value": "3"}])
assert patched.data == {"a": "2", "b": "3"}, patched.data

# Pagination: limit + continue over one snapshot, with a label selector.
for i in range(12):
    meta = client.V1ObjectMeta(name=f"page-{i:02}", labels={"page": "yes"})
    v1.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=meta))
names, token, pages = [], None, 0
while True:
    page = v1.list_namespaced_config_map(NS, limit=5, _continue=token, label_selector="page=yes")
    names += [item.metadata.name for item in page.items]
    pages += 1
    token = page.metadata._continue
    if not token:
        break
assert names == [f"page-{i:02}" for i in range(12)] and pages == 3, (names, pages)

# Watch, then resume from the last resourceVersion seen.
start = v1.list_namespaced_config_map(NS).metadata.resource_version
v1.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w1")))
w = watch.Watch()
last = None
for event in w.stream(v1.list_namespaced_config_map, NS, resource_version=start, timeout_seconds=10):
    if event["object"].metadata.name == "w1":
        assert event["type"] == "ADDED", event["type"]
        last = event["object"].metadata.resource_version
        w.stop()
assert last, "saw w1"
v1.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w2")))
v1.delete_namespaced_config_map("w1", NS)
seen = []
w = watch.Watch()
for event in w.stream(v1.list_namespaced_config_map, NS, resource_version=last, timeout_seconds=10):
    if event["object"].metadata.name == "kube-root-ca.crt":
        continue  # the namespace's published CA bundle, written by the controllers
    seen.append((event["type"], event["object"].metadata.name))
    if len(seen) == 2:
        w.stop()
assert seen == [("ADDED", "w2"), ("DELETED", "w1")], seen

# Delete answers with a success Status; then the object is gone.
status = v1.delete_namespaced_config_map("py1", NS)
status = status if isinstance(status, dict) else status.to_dict()  # a dict in client 37
assert status["status"] == "Success" and status["details"]["name"] == "py1", status
body = fails_with(404, "NotFound", v1.read_namespaced_config_map, "py1", NS)
assert body["message"] == 'configmaps "py1" not found', body
print("python client: ok")
