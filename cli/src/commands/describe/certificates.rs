//! `oc describe csr` as kubectl describes a CertificateSigningRequest: who asked, the signer,
//! the requested duration and the status, then the subject and alternative names read from
//! the PKCS#10 request itself.

use base64::Engine;
use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use super::text::{human_duration, str_of, timestamp};

pub(super) fn certificate_signing_request(out: &mut String, csr: &Value) {
    let (meta, spec) = (&csr["metadata"], &csr["spec"]);
    out.push_str(&format!("Name:\t{}\n", str_of(&meta["name"])));
    out.push_str(&format!("Labels:\t{}\n", one_line(&meta["labels"])));
    out.push_str(&format!(
        "Annotations:\t{}\n",
        one_line(&meta["annotations"])
    ));
    out.push_str(&format!(
        "CreationTimestamp:\t{}\n",
        timestamp(str_of(&meta["creationTimestamp"]))
    ));
    out.push_str(&format!(
        "Requesting User:\t{}\n",
        str_of(&spec["username"])
    ));
    if let Some(signer) = spec["signerName"].as_str().filter(|s| !s.is_empty()) {
        out.push_str(&format!("Signer:\t{signer}\n"));
    }
    if let Some(seconds) = spec["expirationSeconds"].as_i64() {
        out.push_str(&format!(
            "Requested Duration:\t{}\n",
            human_duration(seconds)
        ));
    }
    out.push_str(&format!("Status:\t{}\n", status(csr)));
    let Some(der) = request_der(str_of(&spec["request"])) else {
        return;
    };
    let Ok((_, request)) = X509CertificationRequest::from_der(&der) else {
        return;
    };
    let subject = &request.certification_request_info.subject;
    out.push_str("Subject:\n");
    out.push_str(&format!("\tCommon Name:\t{}\n", last(subject, "2.5.4.3")));
    out.push_str(&format!("\tSerial Number:\t{}\n", last(subject, "2.5.4.5")));
    for (title, oid) in [
        ("Organization", "2.5.4.10"),
        ("Organizational Unit", "2.5.4.11"),
        ("Country", "2.5.4.6"),
        ("Locality", "2.5.4.7"),
        ("Province", "2.5.4.8"),
        ("StreetAddress", "2.5.4.9"),
        ("PostalCode", "2.5.4.17"),
    ] {
        list(out, title, &all(subject, oid));
    }
    let (mut dns, mut emails, mut uris, mut ips) = (vec![], vec![], vec![], vec![]);
    for extension in request.requested_extensions().into_iter().flatten() {
        let ParsedExtension::SubjectAlternativeName(names) = extension else {
            continue;
        };
        for name in &names.general_names {
            match name {
                GeneralName::DNSName(n) => dns.push(n.to_string()),
                GeneralName::RFC822Name(n) => emails.push(n.to_string()),
                GeneralName::URI(n) => uris.push(n.to_string()),
                GeneralName::IPAddress(bytes) => ips.push(ip(bytes)),
                _ => {}
            }
        }
    }
    if dns.len() + emails.len() + uris.len() + ips.len() > 0 {
        out.push_str("Subject Alternative Names:\n");
        list(out, "DNS Names", &dns);
        list(out, "Email Addresses", &emails);
        list(out, "URIs", &uris);
        list(out, "IP Addresses", &ips);
    }
}

/// kubectl's status of a request: Denied, Approved or Pending, then Failed and Issued.
fn status(csr: &Value) -> String {
    let has = |kind: &str| {
        csr["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == kind)
    };
    let mut status = match (has("Denied"), has("Approved")) {
        (true, _) => "Denied".to_string(),
        (false, true) => "Approved".to_string(),
        (false, false) => "Pending".to_string(),
    };
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !str_of(&csr["status"]["certificate"]).is_empty() {
        status.push_str(",Issued");
    }
    status
}

/// Labels or annotations on one line, `k=v,k2=v2` sorted, or `<none>` (Go's `FormatLabels`).
fn one_line(map: &Value) -> String {
    let mut pairs: Vec<String> = map
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    if pairs.is_empty() {
        return "<none>".into();
    }
    pairs.sort();
    pairs.join(",")
}

/// The DER of the request's first PEM block (the field holds the PEM, base64-encoded).
fn request_der(field: &str) -> Option<Vec<u8>> {
    let pem = base64::engine::general_purpose::STANDARD
        .decode(field)
        .ok()?;
    let pem = String::from_utf8(pem).ok()?;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END "))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn all(name: &X509Name<'_>, oid: &str) -> Vec<String> {
    name.iter_attributes()
        .filter(|a| a.attr_type().to_id_string() == oid)
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect()
}

/// A single-valued attribute: its last value, as Go's `pkix.Name` keeps it.
fn last(name: &X509Name<'_>, oid: &str) -> String {
    all(name, oid).pop().unwrap_or_default()
}

/// `\tTitle:\tfirst` then `\t\tnext` lines, nothing when there are no values.
fn list(out: &mut String, title: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    out.push_str(&format!("\t{title}:\t{}\n", values.join("\n\t\t")));
}

fn ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            let v6 = std::net::Ipv6Addr::from(octets);
            // Go prints IPv4-mapped addresses as IPv4.
            match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            }
        }
        _ => format!(
            "?{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}
