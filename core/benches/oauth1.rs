//! Sign and verify a typical request (GET, 4 query parameters, access token,
//! HMAC-SHA1), beside the floor: HMAC-SHA1 over the same base string already
//! built.
//!
//! `cargo bench -p latch-core --bench oauth1`

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use latch_core::oauth1::{
    Endpoint, MemoryNonceStore, NonceError, NonceKey, NonceStore, Policy, ProtocolParams, Request,
    RequestParts, Secrets, SignatureMethod, SignedRequest,
};
use latch_core::{SliceWriter, UnixTime};
use std::hint::black_box;

const URL: &str = "https://api.example.com/1.1/statuses/home_timeline.json?count=20&since_id=12345&include_entities=true&trim_user=false";
const TS: u64 = 1_318_622_958;

fn oauth() -> ProtocolParams<'static> {
    ProtocolParams {
        token: Some("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
        timestamp: Some(TS),
        nonce: Some("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
        ..ProtocolParams::new("xvz1evFS4wEEPTGEFPHBog", SignatureMethod::HmacSha1)
    }
}

const SECRETS: Secrets<'static> = Secrets::new(
    "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
);

/// A nonce store that accepts everything, so the benchmark measures
/// verification rather than table growth.
struct AcceptAll;
impl NonceStore for AcceptAll {
    fn check_and_record(
        &mut self,
        _: &NonceKey,
        _: UnixTime,
        _: UnixTime,
    ) -> Result<(), NonceError> {
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let oauth = oauth();
    let mut g = c.benchmark_group("oauth1_hmac_sha1");

    // The floor: the base string built once, then only the MAC.
    let mut base = [0u8; 1024];
    let mut w = SliceWriter::new(&mut base);
    Request::<16>::new("GET", URL)
        .unwrap()
        .write_base_string(&oauth, &mut w)
        .unwrap();
    let base_len = w.finish().unwrap();
    let base = &base[..base_len];
    let key = format!("{}&{}", SECRETS.consumer_secret, SECRETS.token_secret);
    g.bench_function("floor_hmac_over_built_base_string", |b| {
        b.iter(|| {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(black_box(key.as_bytes())).unwrap();
            mac.update(black_box(base));
            black_box(mac.finalize().into_bytes())
        })
    });

    g.bench_function("sign", |b| {
        let mut out = [0u8; 1024];
        b.iter(|| {
            let mut req = Request::<16>::new("GET", black_box(URL)).unwrap();
            black_box(req.sign_to_slice(&oauth, &SECRETS, &mut out).unwrap())
        })
    });

    let mut out = [0u8; 1024];
    let n = Request::<16>::new("GET", URL)
        .unwrap()
        .sign_to_slice(&oauth, &SECRETS, &mut out)
        .unwrap();
    let header = std::str::from_utf8(&out[..n]).unwrap().to_owned();
    g.bench_function("verify", |b| {
        b.iter(|| {
            let parts = RequestParts {
                method: "GET",
                url: black_box(URL),
                authorization: Some(black_box(&header)),
                form_body: None,
            };
            let req =
                SignedRequest::<16>::parse(parts, Endpoint::ProtectedResource, Policy::default())
                    .unwrap();
            black_box(req.verify(&SECRETS, UnixTime(TS), &mut AcceptAll)).unwrap()
        })
    });

    g.bench_function("verify_with_64_slot_memory_nonce_store", |b| {
        let mut store = MemoryNonceStore::<64>::new();
        b.iter(|| {
            let parts = RequestParts {
                method: "GET",
                url: URL,
                authorization: Some(&header),
                form_body: None,
            };
            let req =
                SignedRequest::<16>::parse(parts, Endpoint::ProtectedResource, Policy::default())
                    .unwrap();
            // A fresh store each time keeps the nonce unused; includes a 64-slot scan.
            store = MemoryNonceStore::new();
            black_box(req.verify(&SECRETS, UnixTime(TS), &mut store)).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
