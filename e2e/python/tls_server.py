"""The HTTPS server the e2e tests' Python stand-ins (webhooks, an aggregated API server) run
on a free loopback port: it prints the port, then serves until killed."""

import json
import ssl
from http.server import ThreadingHTTPServer


def serve(handler, cert, key, client_ca=None):
    """Serves `handler` over TLS with `cert` and `key`; with `client_ca`, clients must
    present a certificate it signed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    # A client-certificate handshake is left to the handler's thread: a slow client then
    # holds up no other.
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=client_ca is None)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def send_json(handler, code, body):
    """Answers `body` (bytes as they are, anything else as JSON) with status `code`."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
