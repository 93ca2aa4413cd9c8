"""Requests only a plain HTTP/1.1 client sends: a body over the server's limit (the answer
must be readable, not a reset connection) and a request head that is never finished (the
server must drop it). Prints what happened, as JSON.

Usage: hostile_http.py SERVER CA_FILE TOKEN
"""

import http.client
import json
import socket
import ssl
import sys
import time
from urllib.parse import urlparse

server, ca, token = sys.argv[1:4]
url = urlparse(server)
context = ssl.create_default_context(cafile=ca)
result = {}

# 6 MiB of JSON: over the 3 MiB limit.
body = json.dumps({"metadata": {"name": "huge"}, "data": {"a": "x" * (6 << 20)}}).encode()
conn = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=60)
conn.request(
    "POST",
    "/api/v1/namespaces/hostile/configmaps",
    body=body,
    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
)
response = conn.getresponse()
payload = response.read()
try:
    message = json.loads(payload).get("message")
except ValueError:
    message = payload.decode(errors="replace")
result["big_body"] = {"code": response.status, "message": message}
conn.close()

# A request head that never ends: the server must close the connection (upstream gives up
# after 32 s).
raw = socket.create_connection((url.hostname, url.port), timeout=60)
tls = context.wrap_socket(raw, server_hostname=url.hostname)
tls.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\nX-Slow: ")
started = time.monotonic()
closed = False
try:
    while time.monotonic() - started < 45:
        if tls.recv(1024) == b"":
            closed = True
            break
except (ConnectionError, ssl.SSLError, OSError):
    closed = True
result["slowloris"] = {"closed": closed, "after_seconds": round(time.monotonic() - started, 1)}

print(json.dumps(result))
