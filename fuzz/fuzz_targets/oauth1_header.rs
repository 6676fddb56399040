//! `Authorization: OAuth` parsing: never panics; the parameters of a parsed
//! header, written again by the builder, parse to the same parameters.
#![no_main]
use latch_core::oauth1::{AuthorizationHeader, Param, write_authorization};
use latch_core::{Sink, SliceWriter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(h) = AuthorizationHeader::parse(s) else {
        return;
    };
    // Rebuild without realm and signature (the builder adds its own).
    let params: Vec<Param<'_>> = h
        .params()
        .filter(|p| !p.name.eq_str("realm") && !p.name.eq_str("oauth_signature"))
        .collect();
    let sig: Vec<u8> = h
        .get("oauth_signature")
        .map(|t| t.decoded().collect())
        .unwrap_or_default();
    let mut out = vec![0u8; 3 * s.len() + 64];
    let mut w = SliceWriter::new(&mut out);
    write_authorization(&mut w, None, &params, &|sink: &mut dyn Sink| sink.put(&sig));
    let n = w.finish().expect("3x room suffices");
    let rebuilt = std::str::from_utf8(&out[..n]).unwrap();
    let h2 = AuthorizationHeader::parse(rebuilt).expect("builder output parses");
    let again: Vec<Param<'_>> = h2
        .params()
        .filter(|p| !p.name.eq_str("oauth_signature"))
        .collect();
    assert_eq!(params, again);
    let sig2: Vec<u8> = h2.get("oauth_signature").unwrap().decoded().collect();
    assert_eq!(sig, sig2);
});
