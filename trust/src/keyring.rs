//! GPG public keys a `signedBy` requirement trusts: the contents of a keyring file (what
//! `gpg --export` writes, binary or ASCII-armored), as policy.json's `keyData` holds it.

use pgp::composed::{Deserializable, SignedPublicKey};
use pgp::types::KeyDetails;

/// Keyrings larger than this are refused: a public keyring of a few keys is a few KiB.
pub const MAX_KEYRING_BYTES: usize = 1 << 20;

/// The keys of one keyring.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

/// One key that verified a signature: its fingerprint (upper-case hex), its long key ID and
/// its first user ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub fingerprint: String,
    pub key_id: String,
    pub user_id: String,
}

impl Keyring {
    /// Parses the keys of a keyring; refuses an empty one or one with no key at all.
    pub fn parse(data: &[u8]) -> Result<Keyring, String> {
        if data.len() > MAX_KEYRING_BYTES {
            return Err(format!(
                "the keyring is larger than {MAX_KEYRING_BYTES} bytes"
            ));
        }
        let armored = data
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .is_some_and(|i| data[i..].starts_with(b"-----BEGIN PGP"));
        let parsed: Vec<_> = if armored {
            SignedPublicKey::from_armor_many(data)
                .map_err(|e| format!("not an OpenPGP keyring: {e}"))?
                .0
                .collect()
        } else {
            SignedPublicKey::from_bytes_many(data)
                .map_err(|e| format!("not an OpenPGP keyring: {e}"))?
                .collect()
        };
        let mut keys = Vec::new();
        for key in parsed {
            keys.push(key.map_err(|e| format!("not an OpenPGP keyring: {e}"))?);
        }
        if keys.is_empty() {
            return Err("not an OpenPGP keyring: it holds no public key".into());
        }
        Ok(Keyring { keys })
    }

    /// The keyring's keys.
    pub fn keys(&self) -> &[SignedPublicKey] {
        &self.keys
    }

    /// Adds the keys of another keyring.
    pub fn extend(&mut self, other: Keyring) {
        self.keys.extend(other.keys);
    }

    /// Fingerprints of the primary keys, for messages.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| hex_upper(k.primary_key.fingerprint().as_bytes()))
            .collect()
    }
}

/// Who holds `key`: the first user ID, as text.
pub(crate) fn signer_of(key: &SignedPublicKey, fingerprint: &[u8], key_id: &[u8]) -> Signer {
    let user_id = key
        .details
        .users
        .first()
        .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
        .unwrap_or_default();
    Signer {
        fingerprint: hex_upper(fingerprint),
        key_id: hex_upper(key_id),
        user_id,
    }
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_armored_keyrings_parse() {
        let rsa = Keyring::parse(include_bytes!("testdata/signer.gpg")).unwrap();
        assert_eq!(
            rsa.fingerprints(),
            ["A2DAC07C2BAB36D2C46229654B3F6E254AD20037"]
        );
        let ed = Keyring::parse(include_bytes!("testdata/ed.asc")).unwrap();
        assert_eq!(
            ed.fingerprints(),
            ["7C6DDE87B11DCB7BDAE0A019B3E896C96B3DBA8C"]
        );
    }

    #[test]
    fn garbage_is_no_keyring() {
        for bad in [
            &b""[..],
            b"hello",
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n",
        ] {
            assert!(Keyring::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Keyring::parse(&vec![0u8; MAX_KEYRING_BYTES + 1]).is_err());
    }
}
