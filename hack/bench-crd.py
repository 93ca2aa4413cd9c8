#!/usr/bin/env python3
"""Creates/s of a custom resource with a 20-field schema and one CEL rule against a ConfigMap's in the same
run, and how long a new CustomResourceDefinition takes from creation to its resource being
served. Usage: bench-crd.py <kubeconfig> [count] [threads]. Loopback servers only."""

import sys
import time
import concurrent.futures as cf

from kubernetes import client, config

kubeconfig = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 16
config.load_kube_config(kubeconfig)
api = client.ApiClient()
core = client.CoreV1Api(api)
ext = client.ApiextensionsV1Api(api)
custom = client.CustomObjectsApi(api)

fields = {f"f{i}": {"type": "integer" if i % 2 else "string", **({"maximum": 1000} if i % 2 else {"maxLength": 64})} for i in range(20)}


def crd(plural):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.bench.example.com"},
            "spec": {"group": "bench.example.com", "scope": "Namespaced",
                     "names": {"plural": plural, "kind": plural.capitalize()[:-1]},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                       "spec": {"type": "object", "properties": fields,
                                                "x-kubernetes-validations": [
                                                    {"rule": "self.f1 < self.f3", "message": "f1 must be below f3"}]}}}}}]}}


def established_to_served(plural):
    start = time.monotonic()
    ext.create_custom_resource_definition(crd(plural))
    while True:
        try:
            custom.list_namespaced_custom_object("bench.example.com", "v1", "default", plural)
            return time.monotonic() - start
        except client.ApiException:
            time.sleep(0.005)


def rate(create):
    start = time.monotonic()
    with cf.ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, range(count)))
    return count / (time.monotonic() - start)


latency = established_to_served("widgets")
spec = {f"f{i}": (i if i % 2 else f"value-{i}") for i in range(20)}
cr_rate = rate(lambda i: custom.create_namespaced_custom_object(
    "bench.example.com", "v1", "default", "widgets",
    {"apiVersion": "bench.example.com/v1", "kind": "Widget", "metadata": {"name": f"w{i}"}, "spec": spec}))
cm_rate = rate(lambda i: core.create_namespaced_config_map(
    "default", {"metadata": {"name": f"c{i}"}, "data": {k: str(v) for k, v in spec.items()}}))
print(f"definition created to served: {latency * 1000:.0f} ms")
print(f"custom resource creates/s: {cr_rate:.0f}")
print(f"config map creates/s: {cm_rate:.0f}")
print(f"custom resource / config map: {100 * cr_rate / cm_rate:.0f}%")
