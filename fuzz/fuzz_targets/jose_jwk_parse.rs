//! JWK and JWK Set parsing (RFC 7517 §4, §5) on arbitrary bytes. Never
//! panics. What parses renders again (rendering what was parsed never
//! fails, and a too-small buffer reports exactly the size needed), and
//! the rendering parses to the same keys: same material, `alg`, `kid`
//! text, `use` `sig`-ness and RFC 7638 thumbprint. A set keeps at most its
//! capacity of keys, and the key `select` picks for a header fits it.
#![no_main]
use latch_core::jose::{
    Alg, JoseError, Jwk, JwkSet, Jws, JwsHeader, ParsedJwk, Signer, render_jwk_set, sign_compact,
};
use libfuzzer_sys::fuzz_target;

/// Renders with an empty buffer, then with exactly the size reported.
fn render(f: impl Fn(&mut [u8]) -> Result<usize, JoseError>) -> Vec<u8> {
    let Err(JoseError::BufferTooSmall(size)) = f(&mut []) else {
        panic!("nothing renders into 0 bytes");
    };
    let mut out = vec![0u8; size.required];
    let n = f(&mut out).expect("the reported size suffices");
    assert_eq!(n, size.required);
    out
}

fn same(a: &ParsedJwk<'_>, b: &ParsedJwk<'_>) {
    assert_eq!(a.key, b.key);
    assert_eq!(a.alg, b.alg);
    assert_eq!(a.use_sig(), b.use_sig());
    assert_eq!(a.thumbprint(), b.thumbprint());
    match (a.kid, b.kid) {
        (Some(x), Some(y)) => assert!(x.same_text(&y), "{x:?} vs {y:?}"),
        (None, None) => {}
        (x, y) => panic!("kid {x:?} vs {y:?}"),
    }
    assert_eq!(a.verifier().is_ok(), b.verifier().is_ok());
}

/// The parsed key as a `Jwk`, with its scratch.
fn to_jwk<'s>(k: &'s ParsedJwk<'_>, scratch: &'s mut Vec<u8>) -> Jwk<'s> {
    scratch.resize(k.scratch_len(), 0);
    if k.scratch_len() > 0 {
        let mut short = vec![0u8; k.scratch_len() - 1];
        assert!(matches!(
            k.to_jwk(&mut short),
            Err(JoseError::BufferTooSmall(_))
        ));
    }
    let jwk = k.to_jwk(scratch).expect("enough scratch");
    assert_eq!(jwk.thumbprint(), k.thumbprint());
    jwk
}

fn single(data: &[u8]) {
    let Ok(k) = ParsedJwk::parse(data) else {
        return;
    };
    let mut scratch = Vec::new();
    let jwk = to_jwk(&k, &mut scratch);
    let json = render(|out| jwk.render(out));
    let again = ParsedJwk::parse(&json).expect("own JWK parses");
    same(&k, &again);
    // A verifier made from it checks a signature by the matching
    // algorithm only.
    if let Ok(v) = k.verifier() {
        let mut signer = latch_core::jose::Ed25519Key::from_seed(&[1; 32]);
        let mut token = [0u8; 256];
        let n = sign_compact(&JwsHeader::new(signer.alg()), b"x", &mut signer, &mut token).unwrap();
        let outcome = Jws::parse(&token[..n]).unwrap().verify(&v);
        match k.key.alg() {
            Alg::EdDsa if k.thumbprint() == Jwk::new(signer.public().into()).thumbprint() => {
                assert_eq!(outcome, Ok(()))
            }
            Alg::EdDsa => assert_eq!(outcome, Err(JoseError::BadSignature)),
            _ => assert_eq!(outcome, Err(JoseError::KeyMismatch)),
        }
    }
}

fn set(data: &[u8]) {
    let Ok(s) = JwkSet::<4>::parse(data) else {
        return;
    };
    assert!(s.keys().len() <= 4);
    let mut scratch: Vec<Vec<u8>> = vec![Vec::new(); s.keys().len()];
    let jwks: Vec<Jwk<'_>> = s
        .keys()
        .iter()
        .zip(scratch.iter_mut())
        .map(|(k, buf)| to_jwk(k, buf))
        .collect();
    let json = render(|out| render_jwk_set(&jwks, out));
    let again = JwkSet::<4>::parse(&json).expect("own JWK Set parses");
    assert_eq!(again.skipped(), 0);
    assert_eq!(again.keys().len(), s.keys().len());
    for (a, b) in s.keys().iter().zip(again.keys()) {
        same(a, b);
    }
    for k in s.keys() {
        if let Some(kid) = k.kid {
            let text = kid.to_heapless::<4096>().unwrap();
            let found = s.find(&text).expect("its own kid finds a key");
            assert!(found.kid.is_some_and(|f| f.same_text(&kid)));
        }
    }
    for alg in Alg::ALL {
        let header = JwsHeader::new(alg);
        let mut token = [0u8; 1024];
        let mut sig = Fixed(alg);
        let n = sign_compact(&header, b"", &mut sig, &mut token).unwrap();
        let jws = Jws::parse(&token[..n]).unwrap();
        if let Some(k) = s.select(&jws.header()) {
            assert!(k.fits(alg));
            assert_eq!(s.keys().iter().filter(|k| k.fits(alg)).count(), 1);
        }
    }
}

/// A signer of fixed bytes, to make headers.
struct Fixed(Alg);

impl Signer for Fixed {
    fn alg(&self) -> Alg {
        self.0
    }
    fn sign(&mut self, _: &[u8], out: &mut [u8]) -> Result<usize, JoseError> {
        out[..64].fill(1);
        Ok(64)
    }
}

fuzz_target!(|data: &[u8]| {
    single(data);
    set(data);
});
