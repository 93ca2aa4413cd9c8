//! The 503 page, with upstream's status, headers and reasons (`error-page-503.http`): what a request for an unknown host, or for a
//! route without servers, gets.

use bytes::Bytes;
use hyper::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, PRAGMA};
use hyper::{Response, StatusCode};

const BODY: &str = r#"<html>
  <head><meta name="viewport" content="width=device-width, initial-scale=1"></head>
  <body>
    <h1>Application is not available</h1>
    <p>The application is currently not serving requests at this endpoint. It may not have been started or is still starting.</p>
    <p>Possible reasons you are seeing this page:</p>
    <ul>
      <li><strong>The host doesn't exist.</strong> Make sure the hostname was typed correctly and that a route matching this hostname exists.</li>
      <li><strong>The host exists, but doesn't have a matching path.</strong> Check if the URL path was typed correctly and that the route was created using the desired path.</li>
      <li><strong>Route and path matches, but all pods are down.</strong> Make sure that the resources exposed by this route (pods) are not crashed or have not been scaled down.</li>
    </ul>
  </body>
</html>
"#;

/// The 503 page, closing the connection as upstream's does.
pub fn unavailable() -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(BODY.as_bytes()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(PRAGMA, hyper::header::HeaderValue::from_static("no-cache"));
    headers.insert(
        CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("private, max-age=0, no-cache, no-store"),
    );
    headers.insert(CONNECTION, hyper::header::HeaderValue::from_static("close"));
    headers.insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html"),
    );
    response
}

/// HAProxy's own 504 (the router sets no page of its own for it): what a request gets when
/// the backend does not answer within the route's timeout.
pub fn gateway_timeout() -> Response<Bytes> {
    const BODY: &str = "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n";
    let mut response = Response::new(Bytes::from_static(BODY.as_bytes()));
    *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    headers.insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html"),
    );
    response
}
