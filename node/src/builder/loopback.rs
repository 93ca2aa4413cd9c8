//! Builds reach only this machine: git sources on loopback (or in a local directory) and
//! images in registries on loopback, whatever the Build names.

use std::net::IpAddr;

/// Whether `host` (a name or address, without port) is a loopback one.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `host[:port]` without the port.
fn host_of(authority: &str) -> &str {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

/// Whether git may fetch `uri`: a `file://` URL, or a `git://`, `http://` or `https://` URL
/// whose host is a loopback one. Other forms (scp-like, ssh, plain paths) are refused.
pub fn git_uri_allowed(uri: &str) -> Result<(), String> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(format!(
            "unsupported source URL {uri:?}: only file://, git://, http:// and https:// URLs are fetched"
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "file" => Ok(()),
        "git" | "http" | "https" => {
            let authority = rest.split('/').next().unwrap_or("");
            if is_loopback_host(host_of(authority)) {
                Ok(())
            } else {
                Err(format!(
                    "source URL {uri:?} is not on this machine: this node fetches sources from loopback addresses only"
                ))
            }
        }
        _ => Err(format!(
            "unsupported source URL {uri:?}: only file://, git://, http:// and https:// URLs are fetched"
        )),
    }
}

/// Whether an `http://` or `https://` URL (a scripts URL) is on loopback.
pub fn http_url_allowed(url: &str) -> bool {
    match url.split_once("://") {
        Some((scheme, rest))
            if matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") =>
        {
            is_loopback_host(host_of(rest.split('/').next().unwrap_or("")))
        }
        _ => false,
    }
}

/// Whether the image's registry is on loopback (`127.0.0.1:5000/ns/name:tag`); a name
/// without a registry would go to a public one and is refused.
pub fn image_allowed(image: &str) -> Result<(), String> {
    let first = image.split('/').next().unwrap_or("");
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry && is_loopback_host(host_of(first)) {
        Ok(())
    } else {
        Err(format!(
            "image {image:?} is not in a registry on this machine: this node pulls and pushes on loopback only"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_on_this_machine_only() {
        assert!(git_uri_allowed("file:///srv/repo.git").is_ok());
        assert!(git_uri_allowed("git://127.0.0.1:9418/repo").is_ok());
        assert!(git_uri_allowed("http://localhost:8080/r.git").is_ok());
        assert!(git_uri_allowed("https://user@127.0.0.2/r.git").is_ok());
        assert!(git_uri_allowed("http://[::1]:80/r").is_ok());
        assert!(git_uri_allowed("https://github.com/openshift/ruby-hello-world").is_err());
        assert!(git_uri_allowed("http://127.0.0.1.example.com/r").is_err());
        assert!(git_uri_allowed("git@github.com:a/b.git").is_err());
        assert!(git_uri_allowed("ext::sh -c touch% /tmp/x").is_err());
        assert!(git_uri_allowed("ssh://127.0.0.1/r").is_err());
        assert!(git_uri_allowed("/srv/repo").is_err());
    }

    #[test]
    fn scripts_urls_on_this_machine_only() {
        assert!(http_url_allowed("http://127.0.0.1:8080/s2i"));
        assert!(http_url_allowed("HTTPS://localhost/s2i"));
        assert!(!http_url_allowed("http://example.com/s2i"));
        assert!(!http_url_allowed("file:///usr/libexec/s2i"));
        assert!(!http_url_allowed("ftp://127.0.0.1/s2i"));
    }

    #[test]
    fn images_on_this_machine_only() {
        assert!(image_allowed("127.0.0.1:5000/p/web:latest").is_ok());
        assert!(image_allowed("localhost:5000/web@sha256:00").is_ok());
        assert!(image_allowed("localhost/web").is_ok());
        assert!(image_allowed("busybox").is_err());
        assert!(image_allowed("library/busybox").is_err());
        assert!(image_allowed("docker.io/library/busybox").is_err());
        assert!(image_allowed("quay.io:443/a/b").is_err());
    }
}
