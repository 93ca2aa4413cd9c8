#!/usr/bin/env python3
"""Import of a repository with many tags (default 100), each a distinct image, from a
docker-registry on loopback: one ImageStreamImport naming every tag (spec.images) posted to a
running Oxshift, timed end to end; beside it the reference, a plain client fetching the same
manifests and configs one after another. Run by hack/bench-import.sh."""

import hashlib
import json
import ssl
import statistics
import sys
import time
import urllib.request

registry, api, ca, cert, key, tags, rounds = sys.argv[1:8]
tags, rounds = int(tags), int(rounds)
repo = "bench/app"


def http(method, url, body=None, headers=None, context=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, context=context, timeout=120) as r:
        return r.status, dict(r.headers), r.read()


def blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _, h, _ = http("POST", f"http://{registry}/v2/{repo}/blobs/uploads/")
    location = h["Location"]
    sep = "&" if "?" in location else "?"
    if location.startswith("/"):
        location = f"http://{registry}{location}"
    http("PUT", f"{location}{sep}digest={digest}", data,
         {"Content-Type": "application/octet-stream"})
    return digest, len(data)


# One shared layer, a config per tag: distinct images, as a busy repository has.
layer = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"
layer_digest, layer_size = blob(layer)
for i in range(tags):
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"tag": str(i)}, "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(b"").hexdigest()]},
    }).encode()
    config_digest, config_size = blob(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": layer_digest, "size": layer_size}],
    }).encode()
    http("PUT", f"http://{registry}/v2/{repo}/manifests/t{i}", manifest,
         {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})

accept = ",".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
])


def reference():
    start = time.perf_counter()
    for i in range(tags):
        _, _, body = http("GET", f"http://{registry}/v2/{repo}/manifests/t{i}",
                          headers={"Accept": accept})
        digest = json.loads(body)["config"]["digest"]
        http("GET", f"http://{registry}/v2/{repo}/blobs/{digest}")
    return time.perf_counter() - start


context = ssl.create_default_context(cafile=ca)
context.load_cert_chain(cert, key)
isi = json.dumps({
    "kind": "ImageStreamImport", "apiVersion": "image.openshift.io/v1",
    "metadata": {"name": "app", "namespace": "bench"},
    "spec": {"import": True, "images": [
        {"from": {"kind": "DockerImage", "name": f"{registry}/{repo}:t{i}"},
         "to": {"name": f"t{i}"}, "importPolicy": {"insecure": True}}
        for i in range(tags)]},
}).encode()


def oxshift():
    start = time.perf_counter()
    _, _, body = http("POST", f"{api}/apis/image.openshift.io/v1/namespaces/bench/imagestreamimports",
                      isi, {"Content-Type": "application/json"}, context)
    took = time.perf_counter() - start
    images = json.loads(body)["status"]["images"]
    ok = sum(1 for i in images if i["status"]["status"] == "Success")
    assert ok == tags, f"{ok} of {tags} imported"
    return took


first = oxshift()
again = [oxshift() for _ in range(rounds)]
plain = [reference() for _ in range(rounds)]
print(f"tags: {tags}, distinct images, docker-registry on loopback")
print(f"oxshift import, first (stream created, {tags} Images written): {first * 1000:.0f} ms")
print(f"oxshift import, again (median of {rounds}): {statistics.median(again) * 1000:.0f} ms")
print(f"reference, plain sequential fetch of manifests+configs (median of {rounds}): "
      f"{statistics.median(plain) * 1000:.0f} ms")
print(f"ratio first import / reference: {first / statistics.median(plain):.2f}x")
