//! The signature base string (RFC 5849 §3.4.1), streamed.
//!
//! `METHOD & enc(base-uri) & enc(normalised-params)`, where the normalised
//! parameters (§3.4.1.3.2) are `enc(name)=enc(value)` joined by `&` in sorted
//! order — so every parameter byte is encoded twice. Both encodings happen
//! in one pass, straight into the sink (a MAC, in practice); the string never
//! exists in memory as a whole.

use super::params::Param;
use crate::buf::Sink;
use crate::percent;
use crate::text::Text;
use crate::url::Url;
use core::cmp::Ordering;

/// A sink adapter that §3.6-encodes everything written through it.
struct Encoding<'s, S: Sink + ?Sized>(&'s mut S);

impl<S: Sink + ?Sized> Sink for Encoding<'_, S> {
    fn put(&mut self, bytes: &[u8]) {
        percent::encode_into(bytes, self.0);
    }
}

/// Writes `enc(enc(text))`: unreserved bytes as they are, every other
/// decoded byte `b` as `%25XX`.
fn put_double_encoded<S: Sink + ?Sized>(text: &Text<'_>, sink: &mut S) {
    if text.is_simple() {
        sink.put(text.raw());
        return;
    }
    let mut chunk = [0u8; 96];
    let mut len = 0usize;
    for b in text.decoded() {
        if len.saturating_add(5) > chunk.len() {
            sink.put(chunk.get(..len).unwrap_or(&[]));
            len = 0;
        }
        let escaped;
        let piece: &[u8] = if percent::is_unreserved(b) {
            core::slice::from_ref(&b)
        } else {
            let [_, hi, lo] = percent::escape(b);
            escaped = [b'%', b'2', b'5', hi, lo];
            &escaped
        };
        let end = len.saturating_add(piece.len());
        if let Some(dst) = chunk.get_mut(len..end) {
            dst.copy_from_slice(piece);
            len = end;
        }
    }
    sink.put(chunk.get(..len).unwrap_or(&[]));
}

/// Streams the base string for `method` and `url` over the parameters of
/// `a` and `b` merged, each already sorted by [`Param::cmp_normalized`].
///
/// `a` is typically the query and body parameters, `b` the protocol
/// parameters; neither may contain `oauth_signature` (§3.4.1.3.1).
pub fn write_base_string<S: Sink + ?Sized>(
    sink: &mut S,
    method: &str,
    url: &Url<'_>,
    a: &[Param<'_>],
    b: &[Param<'_>],
) {
    let mut upper = [0u8; 16];
    for piece in method.as_bytes().chunks(upper.len()) {
        let dst = upper.get_mut(..piece.len()).unwrap_or(&mut []);
        dst.copy_from_slice(piece);
        dst.make_ascii_uppercase();
        percent::encode_into(dst, sink);
    }
    sink.put(b"&");
    url.write_base_uri(&mut Encoding(&mut *sink));
    sink.put(b"&");

    let (mut a, mut b) = (a, b);
    let mut first = true;
    loop {
        let next = match (a.split_first(), b.split_first()) {
            (Some((pa, ra)), Some((pb, rb))) => {
                if pa.cmp_normalized(pb) != Ordering::Greater {
                    a = ra;
                    pa
                } else {
                    b = rb;
                    pb
                }
            }
            (Some((pa, ra)), None) => {
                a = ra;
                pa
            }
            (None, Some((pb, rb))) => {
                b = rb;
                pb
            }
            (None, None) => break,
        };
        if !first {
            sink.put(b"%26");
        }
        first = false;
        put_double_encoded(&next.name, sink);
        sink.put(b"%3D");
        put_double_encoded(&next.value, sink);
    }
}
