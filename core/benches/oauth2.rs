//! One authorization-code exchange at the token endpoint, against the
//! in-memory store: parse the `Authorization: Basic` header and the form
//! body, authenticate the client, look up and check the code (and PKCE
//! S256), draw the tokens, make the writes, render the JSON answer. Each
//! iteration gets a fresh store holding one unused code (set up untimed).
//!
//! Beside it: the authorization endpoint's parse + validate + approve +
//! redirect, and the render step alone.
//!
//! `cargo bench -p latch-core --bench oauth2`

use chacha20::ChaCha20Rng;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use latch_core::SliceWriter;
use latch_core::oauth2::{
    AuthorizationRequest, ChallengeMethod, PkceChallenge, Policy, Store, Token, token_endpoint,
};
use rand_core::SeedableRng;
use std::hint::black_box;

#[path = "fixtures/mod.rs"]
mod fixtures;
use fixtures::{BASIC, CODE, Mem, NOW, store_with_code, store_with_openid_code};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn store(pkce: bool) -> Mem {
    store_with_code(pkce.then(|| {
        PkceChallenge {
            method: ChallengeMethod::S256,
            value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                .try_into()
                .unwrap(),
        }
    }))
}

fn bench(c: &mut Criterion) {
    let policy = Policy::DEFAULT;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let body = format!(
        "grant_type=authorization_code&code={CODE}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb"
    );
    let body_pkce = format!("{body}&code_verifier={VERIFIER}");
    let mut g = c.benchmark_group("oauth2");

    for (name, body, pkce) in [
        ("code_exchange_basic", body.as_bytes(), false),
        ("code_exchange_basic_pkce_s256", body_pkce.as_bytes(), true),
    ] {
        let template = store(pkce);
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || template.clone(),
                |s| {
                    let done =
                        token_endpoint(s, Some(BASIC), black_box(body), NOW, &policy, &mut rng);
                    let mut out = [0u8; 512];
                    let n = done.render(&mut out).unwrap();
                    assert_eq!(done.http_status(), 200);
                    black_box((n, out))
                },
                BatchSize::SmallInput,
            )
        });
    }

    // The same exchange for an OpenID request, with the id_token signed in
    // the core (ES256, EdDSA): claims rendered, JWS built, token body with
    // the id_token rendered — what the server adds per code.
    for (name, alg) in [
        ("code_exchange_openid_es256", latch_core::jose::Alg::Es256),
        ("code_exchange_openid_eddsa", latch_core::jose::Alg::EdDsa),
    ] {
        let template = store_with_openid_code(
            Some(PkceChallenge {
                method: ChallengeMethod::S256,
                value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                    .try_into()
                    .unwrap(),
            }),
            Some(alg),
        );
        let mut es = latch_core::jose::Es256Key::from_bytes(&[7; 32]).unwrap();
        let mut ed = latch_core::jose::Ed25519Key::from_seed(&[7; 32]);
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || template.clone(),
                |s| {
                    let done = token_endpoint(
                        s,
                        Some(BASIC),
                        black_box(body_pkce.as_bytes()),
                        NOW,
                        &policy,
                        &mut rng,
                    );
                    let t = done.tokens().unwrap();
                    let claims = t.id_token.as_ref().unwrap();
                    let mut payload = [0u8; 512];
                    let n = claims
                        .render_payload(
                            "https://server.example.com",
                            "u-248289761001",
                            &mut payload,
                        )
                        .unwrap();
                    let header = latch_core::jose::JwsHeader {
                        kid: Some("k1"),
                        typ: Some("JWT"),
                        ..latch_core::jose::JwsHeader::new(claims.alg)
                    };
                    let mut jws = [0u8; 1024];
                    let m = match claims.alg {
                        latch_core::jose::Alg::Es256 => latch_core::jose::sign_compact(
                            &header,
                            &payload[..n],
                            &mut es,
                            &mut jws,
                        ),
                        _ => latch_core::jose::sign_compact(
                            &header,
                            &payload[..n],
                            &mut ed,
                            &mut jws,
                        ),
                    }
                    .unwrap();
                    let id_token = std::str::from_utf8(&jws[..m]).unwrap();
                    let mut out = [0u8; 2048];
                    let k = t.render_with(None, Some(id_token), &mut out).unwrap();
                    black_box((k, out))
                },
                BatchSize::SmallInput,
            )
        });
    }

    let template = store(false);
    g.bench_function("authorize_validate_approve_redirect", |b| {
        let query = b"response_type=code&client_id=s6BhdRkqt3&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
        let client = template.client("s6BhdRkqt3");
        b.iter(|| {
            let req = AuthorizationRequest::parse(black_box(query)).unwrap();
            let _id = req.client_id().unwrap();
            let valid = req.validate(client.as_ref(), &policy).unwrap();
            let approval = valid.approve("alice", NOW, &policy, &mut rng).unwrap();
            let mut out = [0u8; 256];
            let mut w = SliceWriter::new(&mut out);
            approval.write_location("https://server.example.com", &mut w);
            black_box((approval.write(), w.finish().unwrap()))
        })
    });

    g.bench_function("token_response_render", |b| {
        let issued = latch_core::oauth2::IssuedTokens {
            access_token: Token::from_bytes(&[1; 32]),
            expires_in: 3600,
            refresh_token: Some(Token::from_bytes(&[2; 32])),
            scope: "read write".try_into().unwrap(),
            id_token: None,
            jwt_access_token: None,
        };
        b.iter(|| {
            let mut out = [0u8; 256];
            let n = black_box(&issued).render(&mut out).unwrap();
            black_box((n, out))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
