use super::*;

const PAYLOAD: &[u8] = include_bytes!("../testdata/payload.json");

#[test]
fn pkix_ecdsa_and_rsa_signatures_verify_over_the_payload() {
    let ec = parse_pkix(
        include_bytes!("../testdata/ec-p256.pub"),
        "ECDSA_P256_SHA256",
    )
    .unwrap();
    let signature = include_bytes!("../testdata/ec-p256.sig");
    assert_eq!(ec.verify(PAYLOAD, signature), Ok(()));
    let mut changed = PAYLOAD.to_vec();
    changed[20] ^= 1;
    assert_eq!(
        ec.verify(&changed, signature).unwrap_err(),
        "the signature does not verify with the ECDSA_P256_SHA256 key"
    );
    let rsa = parse_pkix(
        include_bytes!("../testdata/rsa-2048.pub"),
        "RSA_SIGN_PKCS1_2048_SHA256",
    )
    .unwrap();
    assert_eq!(
        rsa.verify(PAYLOAD, include_bytes!("../testdata/rsa-pkcs1.sig")),
        Ok(())
    );
    assert!(rsa.verify(PAYLOAD, signature).is_err());
}

#[test]
fn a_pkix_key_must_be_of_its_algorithm() {
    let ec = include_bytes!("../testdata/ec-p256.pub");
    assert_eq!(
        parse_pkix(ec, "ECDSA_P384_SHA384").unwrap_err(),
        "the key is not a key of ECDSA_P384_SHA384"
    );
    assert!(parse_pkix(ec, "RSA_PSS_2048_SHA256").is_err());
    assert!(
        parse_pkix(ec, "DSA")
            .unwrap_err()
            .contains("unknown signature algorithm")
    );
    assert!(parse_pkix(b"garbage", "ECDSA_P256_SHA256").is_err());
    let private = include_bytes!("../testdata/ec-p256.key");
    assert!(
        parse_pkix(private, "ECDSA_P256_SHA256")
            .unwrap_err()
            .contains("not a \"PUBLIC KEY\"")
    );
}

#[test]
fn pgp_detached_signatures_verify_over_the_payload() {
    let (key, id) = parse_pgp(include_bytes!("../testdata/attestor.asc")).unwrap();
    assert_eq!(id, "B081B246C72E72814071E310C31EEB6BFBC6C8BE");
    let signature = include_bytes!("../testdata/pgp.sig.asc");
    assert_eq!(key.verify(PAYLOAD, signature), Ok(()));
    assert_eq!(
        key.verify(b"{}", signature).unwrap_err(),
        "the OpenPGP signature does not verify with the attestor's key"
    );
    let (other, _) = parse_pgp(include_bytes!("../../testdata/ed.asc")).unwrap();
    assert!(other.verify(PAYLOAD, signature).is_err());
    for bad in [
        &b""[..],
        b"garbage",
        b"-----BEGIN PGP SIGNATURE-----\n\nxx\n",
    ] {
        assert!(key.verify(PAYLOAD, bad).is_err(), "{bad:?}");
    }
    assert!(
        key.verify(PAYLOAD, &vec![0u8; MAX_SIGNATURE_BYTES + 1])
            .is_err()
    );
}
