//! `allowedRegistriesForImport`: which registries image stream tags and imports may name
//! (upstream's "whitelister"). Entries without a port stand for 443 (secure) or 80
//! (insecure); `*` and `?` glob host and port; Docker Hub's names all match `docker.io`. The
//! integrated registry is always allowed. No list: everything is.

use images::DockerImageReference;

use super::config::{AllowedRegistry, ImageConfig};

/// An allow-list entry as host and port patterns.
struct Entry {
    host: String,
    port: String,
}

pub struct AllowList {
    /// `None`: everything allowed.
    entries: Option<Vec<Entry>>,
}

fn hub(host: &str) -> bool {
    images::reference::is_docker_hub(host)
}

impl AllowList {
    pub fn new(config: &ImageConfig) -> AllowList {
        let Some(allowed) = &config.allowed else {
            return AllowList { entries: None };
        };
        let mut entries: Vec<Entry> = allowed.iter().flat_map(expand).collect();
        if let Some(internal) = &config.internal {
            entries.extend(expand(&AllowedRegistry {
                domain_name: internal.clone(),
                insecure: false,
            }));
        }
        AllowList {
            entries: Some(entries),
        }
    }

    /// Whether images may come from `reference`'s registry; upstream's message if not.
    pub fn check(&self, reference: &DockerImageReference, insecure: bool) -> Result<(), String> {
        let Some(entries) = &self.entries else {
            return Ok(());
        };
        let (host, port) = reference.registry_host_port(insecure);
        let matches = |e: &Entry| {
            let host_ok = glob(&e.host, &host) || (hub(&e.host) && hub(&host));
            // A secure reference on 443 may also be served insecurely on 80, not the reverse.
            host_ok && (glob(&e.port, &port) || (insecure && port == "443" && e.port == "80"))
        };
        if entries.iter().any(matches) {
            return Ok(());
        }
        let registry = format!("{host}:{port}");
        if entries.is_empty() {
            return Err(format!(
                "registry {registry:?} not allowed by empty whitelist"
            ));
        }
        let shown: Vec<String> = entries
            .iter()
            .take(5)
            .map(|e| format!("{:?}", format!("{}:{}", e.host, e.port)))
            .collect();
        let list = if entries.len() > 5 {
            format!(
                "{}, and {} more ...",
                shown[..4].join(", "),
                entries.len() - 4
            )
        } else {
            shown.join(", ")
        };
        Err(format!(
            "registry {registry:?} not allowed by whitelist: {list}"
        ))
    }
}

/// An entry's host and port patterns: without a port, 443 (and 80 when insecure).
fn expand(r: &AllowedRegistry) -> Vec<Entry> {
    let domain = r.domain_name.as_str();
    match domain.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => vec![Entry {
            host: host.to_string(),
            port: port.to_string(),
        }],
        _ => {
            let mut out = vec![Entry {
                host: domain.to_string(),
                port: "443".into(),
            }];
            if r.insecure {
                out.push(Entry {
                    host: domain.to_string(),
                    port: "80".into(),
                });
            }
            out
        }
    }
}

/// Shell-style glob with `*` and `?`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(domains: &[(&str, bool)]) -> AllowList {
        AllowList::new(&ImageConfig {
            allowed: Some(
                domains
                    .iter()
                    .map(|(d, insecure)| AllowedRegistry {
                        domain_name: d.to_string(),
                        insecure: *insecure,
                    })
                    .collect(),
            ),
            ..Default::default()
        })
    }

    fn r(s: &str) -> DockerImageReference {
        DockerImageReference::parse(s).unwrap_or_default()
    }

    #[test]
    fn hosts_ports_and_globs() {
        let l = list(&[
            ("quay.io", false),
            ("*.example.com:5000", false),
            ("docker.io", false),
        ]);
        assert!(l.check(&r("quay.io/a/b"), false).is_ok());
        assert!(l.check(&r("reg.example.com:5000/a"), false).is_ok());
        assert!(l.check(&r("busybox"), false).is_ok());
        assert_eq!(
            l.check(&r("evil.io/a"), false),
            Err("registry \"evil.io:443\" not allowed by whitelist: \"quay.io:443\", \"*.example.com:5000\", \"docker.io:443\"".into())
        );
        assert_eq!(
            list(&[]).check(&r("evil.io/a"), true),
            Err("registry \"evil.io:80\" not allowed by empty whitelist".into())
        );
        assert!(
            AllowList::new(&ImageConfig::default())
                .check(&r("evil.io/a"), false)
                .is_ok()
        );
    }

    #[test]
    fn long_lists_are_shortened() {
        let l = list(&[
            ("a.io", false),
            ("b.io", false),
            ("c.io", false),
            ("d.io", false),
            ("e.io", false),
            ("f.io", false),
        ]);
        let e = l.check(&r("x.io/a"), false).err().unwrap_or_default();
        assert!(e.ends_with("\"d.io:443\", and 2 more ..."), "{e}");
    }
}
