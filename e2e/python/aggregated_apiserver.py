"""A small aggregated API server for the end-to-end tests, on loopback TLS.

Usage: aggregated_apiserver.py CERT KEY FRONT_PROXY_CA ALLOWED_NAME. Prints the port it
listens on, then serves the group version wardle.example.com/v1 with one namespaced
resource, flunders, as an extension API server does behind the aggregator:
  - a client certificate signed by FRONT_PROXY_CA is required (the TLS handshake fails
    without one), and its common name must be ALLOWED_NAME (else 401): only then are the
    X-Remote-User and X-Remote-Group headers believed;
  - GET /apis/wardle.example.com/v1 answers its APIResourceList;
  - GET /openapi/v3 answers the OpenAPI v3 index, and the URL it gives the group version's
    document (a Flunder schema, for `kubectl explain`);
  - GET /apis/wardle.example.com/v1/namespaces/NS/flunders answers a FlunderList holding one
    flunder named after the remote user, whose spec records who asked; with `watch=true`, a
    stream of two events half a second apart.
Every request is appended to the file named by AGGREGATED_LOG, one JSON line each.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler

from tls_server import send_json, serve

GROUP_VERSION = "wardle.example.com/v1"

RESOURCES = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": GROUP_VERSION,
    "resources": [
        {"name": "flunders", "singularName": "flunder", "namespaced": True, "kind": "Flunder",
         "verbs": ["get", "list"], "shortNames": ["fl"]},
    ],
}

OPENAPI_URL = "/openapi/v3/apis/" + GROUP_VERSION

GVK = {"group": "wardle.example.com", "version": "v1", "kind": "Flunder"}

OPENAPI = {
    "openapi": "3.0.0",
    "info": {"title": "wardle", "version": "v1"},
    "paths": {
        "/apis/wardle.example.com/v1/namespaces/{namespace}/flunders": {
            "get": {"description": "list flunders", "operationId": "listFlunders",
                    "x-kubernetes-action": "list",
                    "x-kubernetes-group-version-kind": GVK,
                    "responses": {"200": {"description": "OK"}}},
        },
        "/apis/wardle.example.com/v1/namespaces/{namespace}/flunders/{name}": {
            "get": {"description": "read a flunder", "operationId": "readFlunder",
                    "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": GVK,
                    "responses": {"200": {"description": "OK", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/com.example.wardle.v1.Flunder"}}}}}},
        },
    },
    "components": {"schemas": {
        "com.example.wardle.v1.Flunder": {
            "type": "object",
            "description": "A flunder: what the aggregated server of the tests serves.",
            "properties": {
                "apiVersion": {"type": "string", "description": "The flunder's API version."},
                "kind": {"type": "string", "description": "Flunder."},
                "metadata": {"type": "object", "description": "Standard object metadata."},
                "spec": {"type": "object", "description": "What the flunder records.",
                         "properties": {
                             "remoteUser": {"type": "string",
                                            "description": "The user the aggregator named."},
                             "remoteGroups": {"type": "array", "items": {"type": "string"},
                                              "description": "That user's groups."}}},
            },
            "x-kubernetes-group-version-kind": [GVK],
        },
    }},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, code, body):
        send_json(self, code, body)

    def watch(self, namespace, user):
        """Two events, the second a moment after the first, then the end of the stream."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in (1, 2):
            event = {"type": "ADDED", "object": {
                "apiVersion": GROUP_VERSION, "kind": "Flunder",
                "metadata": {"name": "watched-%d" % n, "namespace": namespace, "resourceVersion": str(n)},
                "spec": {"remoteUser": user}}}
            data = (json.dumps(event) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            time.sleep(0.5)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self):
        peer = self.connection.getpeercert() or {}
        common_names = [v for rdn in peer.get("subject", ()) for (k, v) in rdn if k == "commonName"]
        user = self.headers.get("X-Remote-User", "")
        groups = self.headers.get_all("X-Remote-Group") or []
        extra = {k: v for k, v in self.headers.items() if k.lower().startswith("x-remote-extra-")}
        log = os.environ.get("AGGREGATED_LOG")
        if log:
            with open(log, "a") as f:
                f.write(json.dumps({"path": self.path, "user": user, "groups": groups, "extra": extra,
                                    "client": common_names,
                                    "authorization": self.headers.get("Authorization")}) + "\n")
        if sys.argv[4] not in common_names:
            return self.answer(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                     "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        if path == "/apis/" + GROUP_VERSION:
            return self.answer(200, RESOURCES)
        if path == "/openapi/v3":
            return self.answer(200, {"paths": {"apis/" + GROUP_VERSION: {
                "serverRelativeURL": OPENAPI_URL + "?hash=0123456789ABCDEF"}}})
        if path == OPENAPI_URL:
            return self.answer(200, OPENAPI)
        if len(parts) == 6 and parts[:3] == ["apis", "wardle.example.com", "v1"] \
                and parts[3] == "namespaces" and parts[5] == "flunders":
            if "watch=true" in self.path:
                return self.watch(parts[4], user)
            flunder = {"apiVersion": GROUP_VERSION, "kind": "Flunder",
                       "metadata": {"name": "flunder-for-" + user.replace(":", "-"), "namespace": parts[4],
                                    "creationTimestamp": "2026-01-01T00:00:00Z"},
                       "spec": {"remoteUser": user, "remoteGroups": groups}}
            return self.answer(200, {"apiVersion": GROUP_VERSION, "kind": "FlunderList",
                                     "metadata": {"resourceVersion": "1"}, "items": [flunder]})
        self.answer(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                          "message": "the server could not find the requested resource",
                          "reason": "NotFound", "code": 404})


def main():
    cert, key, front_proxy_ca = sys.argv[1:4]
    serve(Handler, cert, key, client_ca=front_proxy_ca)

if __name__ == "__main__":
    main()
