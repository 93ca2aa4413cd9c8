"""An admission webhook server for the end-to-end tests, on loopback TLS.

Usage: admission_webhook.py CERT KEY. Prints the port it listens on, then serves:
  /mutate   adds the label `webhook: mutated` (JSONPatch), with a warning
  /deny     refuses objects named `deny-*` (403, with a message), allows the rest
  /slow     answers (allowed) after 3 seconds
  /garbage  answers with a body that is no AdmissionReview
Every review received is appended to the file named by WEBHOOK_LOG, one JSON line each.
"""

import base64
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler

from tls_server import send_json, serve


def respond(review, **fields):
    response = {"uid": review["request"]["uid"], "allowed": True}
    response.update(fields)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}


def mutate(review):
    obj = review["request"]["object"] or {}
    if "labels" in obj.get("metadata", {}):
        patch = [{"op": "add", "path": "/metadata/labels/webhook", "value": "mutated"}]
    else:
        patch = [{"op": "add", "path": "/metadata/labels", "value": {"webhook": "mutated"}}]
    encoded = base64.b64encode(json.dumps(patch).encode()).decode()
    return respond(review, patchType="JSONPatch", patch=encoded, warnings=["labelled by the webhook"],
                   auditAnnotations={"labelled": "true"})


def deny(review):
    name = review["request"]["name"]
    if name.startswith("deny-"):
        return respond(review, allowed=False,
                       status={"code": 403, "reason": "Forbidden", "message": "names starting with deny- are refused"})
    return respond(review)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: without this, Nagle's algorithm holds the
    # body until the client's delayed ACK (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        review = json.loads(self.rfile.read(length))
        log = os.environ.get("WEBHOOK_LOG")
        if log:
            with open(log, "a") as f:
                f.write(json.dumps({"path": self.path, "request": review["request"]}) + "\n")
        path = self.path.split("?")[0]
        if path == "/garbage":
            body = b"this is not an admission review"
        else:
            if path == "/slow":
                time.sleep(3)
            answer = {"/mutate": mutate, "/deny": deny}.get(path, respond)(review)
            body = json.dumps(answer).encode()
        send_json(self, 200, body)


def main():
    serve(Handler, sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
