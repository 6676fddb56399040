//! URL splitting: never panics; the base string URI it writes (RFC 5849
//! §3.4.1.2) parses again to itself.
#![no_main]
use latch_core::{SliceWriter, url::Url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(url) = Url::parse(s) else { return };
    let mut buf = vec![0u8; s.len() + 16];
    let mut w = SliceWriter::new(&mut buf);
    url.write_base_uri(&mut w);
    let n = w
        .finish()
        .expect("base URI is never longer than the URL plus a slash and port");
    let base = std::str::from_utf8(&buf[..n]).unwrap();
    let again = Url::parse(base).expect("a base string URI is a valid URL");
    assert_eq!(again.query, None);
    let mut buf2 = vec![0u8; n + 16];
    let mut w2 = SliceWriter::new(&mut buf2);
    again.write_base_uri(&mut w2);
    let n2 = w2.finish().unwrap();
    assert_eq!(&buf2[..n2], base.as_bytes(), "base URI is a fixed point");
});
