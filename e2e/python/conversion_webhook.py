"""A CustomResourceDefinition conversion webhook for the end-to-end tests, on loopback TLS.

Usage: conversion_webhook.py CERT KEY. Prints the port it listens on, then answers
ConversionReviews on any path: gadgets in v1beta1 call their colour `spec.colour`, in v1
`spec.color`; every object is given the desired apiVersion with the field renamed.
Every review received is appended to the file named by WEBHOOK_LOG, one JSON line each.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler

from tls_server import send_json, serve

RENAMES = {"v1": ("colour", "color"), "v1beta1": ("color", "colour")}


def convert(obj, desired):
    version = desired.split("/")[-1]
    old, new = RENAMES[version]
    spec = obj.get("spec") or {}
    if old in spec:
        spec[new] = spec.pop(old)
    obj["spec"] = spec
    obj["apiVersion"] = desired
    return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        review = json.loads(self.rfile.read(length))
        log = os.environ.get("WEBHOOK_LOG")
        if log:
            with open(log, "a") as f:
                f.write(json.dumps({"path": self.path, "review": review}) + "\n")
        request = review["request"]
        desired = request["desiredAPIVersion"]
        answer = {
            "apiVersion": review["apiVersion"],
            "kind": "ConversionReview",
            "response": {
                "uid": request["uid"],
                "result": {"status": "Success"},
                "convertedObjects": [convert(o, desired) for o in request["objects"]],
            },
        }
        body = json.dumps(answer).encode()
        send_json(self, 200, body)


def main():
    serve(Handler, sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
