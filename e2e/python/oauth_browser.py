"""Drives the OAuth server as a browser does: the token request page, the login form (with
its CSRF cookie), the session cookie, the code exchange on the display page, logout; then a
client whose grant method is `prompt` (approval page, deny and allow), and a token limited to
the `user:info` scope through the challenging client. Prints the tokens it obtained as JSON.

usage: oauth_browser.py SERVER CA_FILE USER PASSWORD
"""

import base64
import html
import json
import re
import sys
import urllib.parse

import urllib3

server, ca, user, password = sys.argv[1:5]
http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca)
cookies = {}


def remember(r):
    for header in r.headers.getlist("Set-Cookie"):
        name, value = header.split(";")[0].split("=", 1)
        if value:
            cookies[name] = value
        else:
            cookies.pop(name, None)


def request(method, path, fields=None, headers=None):
    headers = dict(headers or {})
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    url = path if path.startswith("https://") else server + path
    if fields is None:
        r = http.request(method, url, headers=headers, redirect=False)
    else:
        r = http.request(method, url, fields=fields, headers=headers, redirect=False,
                         encode_multipart=False)
    remember(r)
    return r


def hidden(page, name):
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, (name, page)
    return html.unescape(m.group(1))


def follow_to_login(path):
    """Follows redirects from `path` to the login form; the form's `then`."""
    r = request("GET", path)
    while r.status == 302 and not r.headers["Location"].startswith("/login"):
        r = request("GET", r.headers["Location"])
    assert r.status == 302, (r.status, r.data)
    r = request("GET", r.headers["Location"])
    assert r.status == 200 and b"<form" in r.data, (r.status, r.data)
    page = r.data.decode()
    assert "csrf" in cookies, cookies
    return hidden(page, "then"), hidden(page, "csrf")


# The token request page starts the browser client's code flow, which needs a login.
then, csrf = follow_to_login("/oauth/token/request")
assert then.startswith("/oauth/authorize?") and "openshift-browser-client" in then, then

# A form without the CSRF value is refused; a wrong password is refused.
r = request("POST", "/login", {"username": user, "password": password, "then": then, "csrf": "x"})
assert r.status == 403 and b"CSRF" in r.data, (r.status, r.data)
r = request("POST", "/login", {"username": user, "password": "wrong", "then": then, "csrf": csrf})
assert r.status == 401 and b"Invalid login or password. Please try again." in r.data, r.status
assert "ssn" not in cookies

r = request("POST", "/login", {"username": user, "password": password, "then": then, "csrf": csrf})
assert r.status == 302 and r.headers["Location"] == then, (r.status, r.headers)
assert "ssn" in cookies and "HttpOnly" in r.headers["Set-Cookie"], r.headers

# With the session, authorize answers with a code for the display page.
r = request("GET", then)
assert r.status == 302, (r.status, r.data)
location = r.headers["Location"]
assert location.startswith(server + "/oauth/token/display?code="), location
# Loading the display page does not spend the code; its button does.
r = request("GET", location)
assert r.status == 200 and b"Display Token" in r.data, r.status
page = r.data.decode()
r = request("POST", "/oauth/token/display",
            {"code": hidden(page, "code"), "csrf": hidden(page, "csrf")})
assert r.status == 200, (r.status, r.data)
browser_token = re.search(r'<code id="token">(sha256~[\w-]+)</code>', r.data.decode()).group(1)
assert f"oc login --token={browser_token} --server={server}" in r.data.decode()
# A code is spent once.
r = request("POST", "/oauth/token/display",
            {"code": hidden(page, "code"), "csrf": hidden(page, "csrf")})
assert r.status == 400, r.status

# A client that must be approved: the approval page, then deny or allow.
web = "/oauth/authorize?" + urllib.parse.urlencode({
    "client_id": "web", "response_type": "code", "scope": "user:info user:check-access",
    "redirect_uri": "https://app.example/cb", "state": "st8"})
r = request("GET", web)
assert r.status == 200 and b"Authorize Access" in r.data, (r.status, r.data)
page = r.data.decode()
fields = {k: hidden(page, k) for k in ["then", "client_id", "scope", "redirect_uri", "state", "csrf"]}
r = request("POST", "/oauth/authorize/approve", dict(fields, approve="deny"))
assert r.status == 302, (r.status, r.data)
denied = urllib.parse.urlparse(r.headers["Location"])
assert denied.netloc == "app.example", denied
assert urllib.parse.parse_qs(denied.query)["error"] == ["access_denied"], denied
assert urllib.parse.parse_qs(denied.query)["state"] == ["st8"], denied
# A forged redirect URI is refused.
r = request("POST", "/oauth/authorize/approve",
            dict(fields, approve="approve", redirect_uri="https://evil.example/"))
assert r.status == 400, r.status
r = request("POST", "/oauth/authorize/approve", dict(fields, approve="approve"))
assert r.status == 302 and r.headers["Location"] == fields["then"], (r.status, r.headers)
r = request("GET", r.headers["Location"])
assert r.status == 302, (r.status, r.data)
granted = urllib.parse.urlparse(r.headers["Location"])
assert granted.netloc == "app.example" and "code" in urllib.parse.parse_qs(granted.query), granted
# Granted once, not asked again.
r = request("GET", web)
assert r.status == 302 and "code=" in r.headers["Location"], r.status

# Logging out ends the session: authorize asks for a login again.
r = request("GET", "/logout")
assert r.status == 200 and "ssn" not in cookies, (r.status, cookies)
r = request("GET", then)
assert r.status == 302 and r.headers["Location"].startswith("/login?then="), r.headers

# A token limited to reading who its user is.
basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
r = request("GET", "/oauth/authorize?client_id=openshift-challenging-client&response_type=token"
            "&scope=user:info", headers={"X-CSRF-Token": "1", "Authorization": basic})
assert r.status == 302, (r.status, r.data)
fragment = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["Location"]).fragment)
assert fragment["scope"] == ["user:info"], fragment
r = request("GET", "/oauth/authorize?client_id=openshift-challenging-client&response_type=token"
            "&scope=user:root", headers={"X-CSRF-Token": "1", "Authorization": basic})
assert r.status == 302 and "error=invalid_scope" in r.headers["Location"], r.headers

print(json.dumps({"browser": browser_token, "info": fragment["access_token"][0]}))
