//! `Jws::parse` (RFC 7515 §7.1) on arbitrary bytes, then everything a
//! parsed JWS offers. Never panics; a parse succeeds only for exactly
//! three canonical base64url parts whose signing input is the token up to
//! the last dot; the header's strings decode consistently; the payload
//! decodes into exactly `payload_len` bytes (and one byte less reports
//! exactly that); verification against the RFC 7515 A.3 (ES256) and RFC
//! 8037 A.2 (Ed25519) keys succeeds for at most the key of the header's
//! `alg`, and refuses the other with `KeyMismatch`. A token that verifies
//! is re-signed with the matching private key from its own header fields
//! and payload: that parses and verifies too, with the same header and
//! payload, and for EdDSA (deterministic) with a canonical header it is
//! the same token byte for byte. Changing any byte of a verified token
//! makes it fail.
#![no_main]
use latch_core::jose::{
    Alg, Ed25519Key, Es256Key, JoseError, Jws, JwsHeader, Signer, Verifier, sign_compact,
};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// RFC 7515 Appendix A.3.1's private key; RFC 8037 Appendix A.1's.
static KEYS: LazyLock<(Es256Key, Ed25519Key)> = LazyLock::new(|| {
    let es = Es256Key::from_bytes(&[
        0x8e, 0x9b, 0x10, 0x9e, 0x71, 0x90, 0x98, 0xbf, 0x98, 0x04, 0x87, 0xdf, 0x1f, 0x5d, 0x77,
        0xe9, 0xcb, 0x29, 0x60, 0x6e, 0xbe, 0xd2, 0x26, 0x3b, 0x5f, 0x57, 0xc2, 0x13, 0xdf, 0x84,
        0xf4, 0xb2,
    ])
    .unwrap();
    let ed = Ed25519Key::from_seed(&[
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ]);
    (es, ed)
});

fn string(s: Option<latch_core::jose::JsonStr<'_>>) -> Option<String> {
    let s = s?;
    let mut buf = vec![0u8; s.raw().len()];
    let decoded = s
        .decode(&mut buf)
        .expect("unescaping never grows")
        .to_owned();
    assert!(s.eq_str(&decoded));
    assert_eq!(s.unescaped().collect::<Vec<u8>>(), decoded.as_bytes());
    Some(decoded)
}

/// Signs like the token's own header and payload with `signer`.
fn resign(signer: &mut dyn Signer, jws: &Jws<'_>, payload: &[u8]) -> Vec<u8> {
    let h = jws.header();
    let (kid, typ) = (string(h.kid()), string(h.typ()));
    let header = JwsHeader {
        alg: h.alg(),
        kid: kid.as_deref(),
        typ: typ.as_deref(),
    };
    let Err(JoseError::BufferTooSmall(size)) = sign_compact(&header, payload, signer, &mut [])
    else {
        panic!("nothing signs into 0 bytes");
    };
    let mut out = vec![0u8; size.required];
    let n = sign_compact(&header, payload, signer, &mut out).expect("the reported size suffices");
    assert_eq!(n, size.required);
    out
}

fn check(data: &[u8]) {
    let Ok(jws) = Jws::parse(data) else {
        return;
    };
    assert!(data.len() <= latch_core::jose::MAX_JWS_LEN);
    let last_dot = data.iter().rposition(|&b| b == b'.').expect("three parts");
    assert_eq!(data.iter().filter(|&&b| b == b'.').count(), 2);
    assert_eq!(jws.signing_input(), &data[..last_dot]);
    assert!(jws.signing_input().ends_with(jws.payload_b64()));
    let h = jws.header();
    assert_eq!(h.alg(), jws.alg());
    let (kid, typ) = (string(h.kid()), string(h.typ()));
    if let Some(t) = &typ {
        assert!(h.typ_is(t) || t.len() > 128);
    }
    let _ = format!("{jws:?}");

    let len = jws.payload_len();
    let mut payload = vec![0u8; len];
    assert_eq!(jws.decode_payload(&mut payload).unwrap().len(), len);
    if len > 0 {
        let mut short = vec![0u8; len - 1];
        assert_eq!(
            jws.decode_payload(&mut short),
            Err(JoseError::BufferTooSmall(latch_core::BufferTooSmall {
                required: len
            }))
        );
    }

    let (es, ed) = &*KEYS;
    let (es_pub, ed_pub) = (es.public(), ed.public());
    let by_es = jws.verify(&es_pub);
    let by_ed = jws.verify(&ed_pub);
    match jws.alg() {
        Alg::Es256 => assert_eq!(by_ed, Err(JoseError::KeyMismatch)),
        Alg::EdDsa => assert_eq!(by_es, Err(JoseError::KeyMismatch)),
        Alg::Rs256 => {
            assert_eq!(by_es, Err(JoseError::KeyMismatch));
            assert_eq!(by_ed, Err(JoseError::KeyMismatch));
        }
    }
    let verifier: &dyn Verifier = match (by_es, by_ed) {
        (Ok(()), Ok(())) => panic!("verified by two keys"),
        (Ok(()), _) => &es_pub,
        (_, Ok(())) => &ed_pub,
        _ => return,
    };

    // Verified: re-sign from what was read.
    let again = match jws.alg() {
        Alg::Es256 => resign(&mut es.clone(), &jws, &payload),
        _ => resign(&mut ed.clone(), &jws, &payload),
    };
    let parsed = Jws::parse(&again).expect("own token parses");
    parsed.verify(verifier).expect("own token verifies");
    assert_eq!(string(parsed.header().kid()), kid);
    assert_eq!(string(parsed.header().typ()), typ);
    let mut p2 = vec![0u8; parsed.payload_len()];
    assert_eq!(parsed.decode_payload(&mut p2).unwrap(), &payload[..]);
    if parsed.header_json() == jws.header_json() {
        assert_eq!(parsed.signing_input(), jws.signing_input());
        if jws.alg() == Alg::EdDsa {
            assert_eq!(again, data, "EdDSA is deterministic");
        }
    }

    // Any single changed byte breaks it.
    for i in [0, last_dot / 2, last_dot, data.len() - 1] {
        let mut bad = data.to_vec();
        bad[i] ^= 0x01;
        let outcome = Jws::parse(&bad).and_then(|j| j.verify(verifier));
        assert!(outcome.is_err(), "byte {i} changed and it still verifies");
    }
}

fuzz_target!(|data: &[u8]| check(data));
