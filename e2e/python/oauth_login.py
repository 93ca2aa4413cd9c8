"""Logs in to the OAuth server over HTTP exactly as `oc login -u -p` does (metadata document,
challenging client, Basic credentials with X-CSRF-Token, authorization code with PKCE S256,
code exchange), and checks its refusals. Prints the tokens it obtained as JSON.

usage: oauth_login.py SERVER CA_FILE USER PASSWORD [TOKEN_LIFETIME_SECONDS]
"""

import base64
import hashlib
import json
import os
import sys
import urllib.parse

import urllib3

server, ca, user, password = sys.argv[1:5]
lifetime = int(sys.argv[5]) if len(sys.argv) > 5 else 86400
http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca)


def get(url, headers=None):
    return http.request("GET", url, headers=headers or {}, redirect=False)


def basic(u, p):
    return "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()


meta = json.loads(get(server + "/.well-known/oauth-authorization-server").data)
assert meta["issuer"] == server, meta
assert "S256" in meta["code_challenge_methods_supported"], meta
authorize = meta["authorization_endpoint"]

verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
query = urllib.parse.urlencode({
    "client_id": "openshift-challenging-client",
    "response_type": "code",
    "redirect_uri": server + "/oauth/token/implicit",
    "code_challenge": challenge,
    "code_challenge_method": "S256",
})

# Without X-CSRF-Token no challenge is offered; with it, a Basic challenge.
r = get(f"{authorize}?{query}")
assert r.status == 401 and "WWW-Authenticate" not in r.headers, (r.status, r.headers)
assert b"X-CSRF-Token" in r.data, r.data
r = get(f"{authorize}?{query}", {"X-CSRF-Token": "1"})
assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic"), (r.status, r.headers)
# Wrong password: challenged again.
r = get(f"{authorize}?{query}", {"X-CSRF-Token": "1", "Authorization": basic(user, "wrong")})
assert r.status == 401 and "WWW-Authenticate" in r.headers, r.status

r = get(f"{authorize}?{query}", {"X-CSRF-Token": "1", "Authorization": basic(user, password)})
assert r.status == 302, (r.status, r.data)
assert r.headers["Cache-Control"].startswith("no-cache"), r.headers
location = urllib.parse.urlparse(r.headers["Location"])
code = urllib.parse.parse_qs(location.query)["code"][0]

form = {
    "grant_type": "authorization_code",
    "code": code,
    "redirect_uri": server + "/oauth/token/implicit",
    "client_id": "openshift-challenging-client",
    "code_verifier": "wrong-verifier",
}
r = http.request("POST", meta["token_endpoint"], fields=form, encode_multipart=False)
assert r.status == 400 and json.loads(r.data)["error"] == "invalid_grant", (r.status, r.data)
form["code_verifier"] = verifier
r = http.request("POST", meta["token_endpoint"], fields=form, encode_multipart=False)
assert r.status == 200, (r.status, r.data)
body = json.loads(r.data)
assert body["token_type"] == "Bearer" and body["expires_in"] == lifetime, body
code_token = body["access_token"]
assert code_token.startswith("sha256~"), code_token
# A code is used once.
r = http.request("POST", meta["token_endpoint"], fields=form, encode_multipart=False)
assert r.status == 400, r.status

# The implicit flow: the token in the redirect's fragment.
r = get(f"{authorize}?client_id=openshift-challenging-client&response_type=token",
        {"X-CSRF-Token": "1", "Authorization": basic(user, password)})
assert r.status == 302, r.status
fragment = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["Location"]).fragment)
assert fragment["expires_in"] == [str(lifetime)] and fragment["scope"] == ["user:full"], fragment
assert fragment["token_type"] == ["Bearer"], fragment

def object_name(token):
    secret = token.removeprefix("sha256~").encode()
    return "sha256~" + base64.urlsafe_b64encode(hashlib.sha256(secret).digest()).rstrip(b"=").decode()


implicit_token = fragment["access_token"][0]
print(json.dumps({
    "code_flow": code_token,
    "implicit": implicit_token,
    "code_flow_name": object_name(code_token),
}))
