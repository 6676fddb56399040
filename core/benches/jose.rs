//! JOSE in the core: signing and verifying an id_token-sized JWT (about
//! 300 bytes of claims) with ES256 and EdDSA, parsing one, and the claims
//! and JWK Set work around it.
//!
//! `cargo bench -p latch-core --bench jose`
//!
//! The core builds `p256` and `ed25519-dalek` without their precomputed
//! base-point tables (flash on a microcontroller); a host that enables
//! them (`p256/precomputed-tables`, `ed25519-dalek/fast`) signs faster.

use criterion::{Criterion, criterion_group, criterion_main};
use latch_core::UnixTime;
use latch_core::jose::{
    Alg, Ed25519Key, Es256Key, Jwk, JwkSet, Jws, JwsHeader, RegisteredClaims, Validation,
    render_jwk_set, sign_compact,
};
use std::hint::black_box;

/// An OpenID Connect id_token's claims: 300 bytes.
const CLAIMS: &[u8] = br#"{"iss":"https://login.example.com","sub":"248289761001","aud":"s6BhdRkqt3","exp":1700003600,"iat":1700000000,"auth_time":1699999990,"nonce":"n-0S6_WzA2Mj","at_hash":"77QmUPtjPfzWtF2AnpK9RQ","name":"Jane Doe","email":"janedoe@example.com","email_verified":true,"locale":"en-US","jti":"0b2f6cd3-a4b1c"}"#;

fn bench(c: &mut Criterion) {
    assert_eq!(CLAIMS.len(), 300);
    let mut es = Es256Key::from_bytes(&[7; 32]).unwrap();
    let mut ed = Ed25519Key::from_seed(&[7; 32]);
    let (es_pub, ed_pub) = (es.public(), ed.public());
    let header = |alg| JwsHeader {
        kid: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
        typ: Some("JWT"),
        ..JwsHeader::new(alg)
    };
    let mut es_token = [0u8; 1024];
    let es_len = sign_compact(&header(Alg::Es256), CLAIMS, &mut es, &mut es_token).unwrap();
    let es_token = &es_token[..es_len];
    let mut ed_token = [0u8; 1024];
    let ed_len = sign_compact(&header(Alg::EdDsa), CLAIMS, &mut ed, &mut ed_token).unwrap();
    let ed_token = &ed_token[..ed_len];

    let mut g = c.benchmark_group("jose");
    g.bench_function("es256_sign", |b| {
        b.iter(|| {
            let mut out = [0u8; 1024];
            let n = sign_compact(&header(Alg::Es256), black_box(CLAIMS), &mut es, &mut out);
            black_box((n, out))
        })
    });
    g.bench_function("es256_verify", |b| {
        b.iter(|| {
            let jws = Jws::parse(black_box(es_token)).unwrap();
            black_box(jws.verify(&es_pub)).unwrap()
        })
    });
    g.bench_function("eddsa_sign", |b| {
        b.iter(|| {
            let mut out = [0u8; 1024];
            let n = sign_compact(&header(Alg::EdDsa), black_box(CLAIMS), &mut ed, &mut out);
            black_box((n, out))
        })
    });
    g.bench_function("eddsa_verify", |b| {
        b.iter(|| {
            let jws = Jws::parse(black_box(ed_token)).unwrap();
            black_box(jws.verify(&ed_pub)).unwrap()
        })
    });
    g.bench_function("jws_parse", |b| {
        b.iter(|| black_box(Jws::parse(black_box(es_token)).unwrap()))
    });
    g.bench_function("jws_parse_decode_validate_claims", |b| {
        let v = Validation {
            issuer: Some("https://login.example.com"),
            audience: Some("s6BhdRkqt3"),
            leeway: 60,
            ..Validation::new(UnixTime(1_700_000_100))
        };
        b.iter(|| {
            let jws = Jws::parse(black_box(es_token)).unwrap();
            let mut buf = [0u8; 512];
            let claims = RegisteredClaims::parse(jws.decode_payload(&mut buf).unwrap()).unwrap();
            black_box(claims.validate(&v)).unwrap()
        })
    });
    let keys = [
        Jwk::new(es_pub.into()).with_kid("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
        Jwk::new(ed_pub.into()).with_kid("ed"),
    ];
    let mut jwks = [0u8; 1024];
    let jwks_len = render_jwk_set(&keys, &mut jwks).unwrap();
    let jwks = &jwks[..jwks_len];
    g.bench_function("jwks_render_2_keys", |b| {
        b.iter(|| {
            let mut out = [0u8; 1024];
            black_box(render_jwk_set(black_box(&keys), &mut out)).unwrap()
        })
    });
    g.bench_function("jwks_parse_select_2_keys", |b| {
        let jws = Jws::parse(es_token).unwrap();
        let set = JwkSet::<8>::parse(jwks).unwrap();
        assert!(set.select(&jws.header()).is_some());
        b.iter(|| {
            let set = JwkSet::<8>::parse(black_box(jwks)).unwrap();
            black_box(set.select(&jws.header()).map(|k| k.verifier())).is_some()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
