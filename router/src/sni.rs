//! The server name of a TLS ClientHello, read from the bytes a client sent first (without
//! consuming them), so that a passthrough connection is spliced to its backend untouched.

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
pub enum Hello {
    /// Not all of the ClientHello has arrived yet.
    Incomplete,
    /// A ClientHello, with its server name if it has one.
    Complete(Option<String>),
    /// Not a TLS handshake.
    NotTls,
}

pub fn parse(buf: &[u8]) -> Hello {
    // Record header: type 22 (handshake), version, length.
    if buf.len() < 5 {
        return Hello::Incomplete;
    }
    if buf[0] != 22 || buf[1] != 3 {
        return Hello::NotTls;
    }
    let record_len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    if buf.len() < 5 + record_len {
        return Hello::Incomplete;
    }
    let hs = &buf[5..5 + record_len];
    // Handshake header: type 1 (ClientHello), 3-byte length.
    if hs.len() < 4 || hs[0] != 1 {
        return Hello::NotTls;
    }
    match client_hello(&hs[4..]) {
        Some(name) => Hello::Complete(name),
        None => Hello::Complete(None),
    }
}

/// The server name of a ClientHello body (`None` inside when there is none).
fn client_hello(body: &[u8]) -> Option<Option<String>> {
    let mut r = Reader(body);
    r.skip(2 + 32)?; // version, random
    let session = r.u8()?;
    r.skip(usize::from(session))?;
    let suites = r.u16()?;
    r.skip(usize::from(suites))?;
    let compressions = r.u8()?;
    r.skip(usize::from(compressions))?;
    if r.0.is_empty() {
        return Some(None);
    }
    let extensions_len = r.u16()?;
    let mut ext = Reader(r.take(usize::from(extensions_len))?);
    while !ext.0.is_empty() {
        let kind = ext.u16()?;
        let len = ext.u16()?;
        let data = ext.take(usize::from(len))?;
        if kind == 0 {
            let mut names = Reader(data);
            let list_len = names.u16()?;
            let mut list = Reader(names.take(usize::from(list_len))?);
            while !list.0.is_empty() {
                let name_type = list.u8()?;
                let name_len = list.u16()?;
                let name = list.take(usize::from(name_len))?;
                if name_type == 0 {
                    let name = std::str::from_utf8(name).ok()?;
                    return Some(Some(name.trim_end_matches('.').to_ascii_lowercase()));
                }
            }
        }
    }
    Some(None)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(drop)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello as rustls sends it for `name`.
    fn hello(name: &str) -> Vec<u8> {
        let mut roots = rustls::RootCertStore::empty();
        roots.roots.clear();
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let server = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
        let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), server).unwrap();
        let mut out = Vec::new();
        conn.write_tls(&mut out).unwrap();
        out
    }

    #[test]
    fn reads_the_server_name() {
        let bytes = hello("App.Example.com");
        assert_eq!(
            parse(&bytes),
            Hello::Complete(Some("app.example.com".into()))
        );
        assert_eq!(parse(&bytes[..bytes.len() - 1]), Hello::Incomplete);
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Hello::NotTls);
    }
}
