//! Property tests across the OAuth 1.0a surface: sign → parse → verify
//! round-trips, tamper detection, and parsers fed arbitrary bytes.

use latch_core::oauth1::{
    AuthorizationHeader, Endpoint, MemoryNonceStore, Policy, Problem, ProtocolParams, Request,
    RequestParts, Secrets, SignatureMethod, SignedRequest,
};
use latch_core::{UnixTime, form, percent, url::Url};
use proptest::prelude::*;

/// Text with the characters that break naive implementations: reserved
/// characters, `+`, `%`, spaces, non-ASCII (including U+3001) and empty.
fn tricky_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._~-]{0,12}",
        "[ !*'();:@&=+$,/?#\\[\\]%\"]{0,6}",
        "\\PC{0,8}",
        Just("\u{3001}".to_owned()),
        Just("x%20y".to_owned()),
    ]
}

fn form_encode(s: &str, plus_for_space: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b == b' ' && plus_for_space {
            out.push('+');
        } else if percent::is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    scheme: &'static str,
    host: String,
    port: Option<u16>,
    path: String,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    plus: bool,
    consumer_key: String,
    consumer_secret: String,
    token: String,
    token_secret: String,
    nonce: String,
    timestamp: u64,
    signature_method: SignatureMethod,
    version: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        prop::sample::select(vec!["http", "https"]),
        "[a-z]{1,10}(\\.[a-z]{2,5}){0,2}",
        prop::option::of(1u16..),
        "(/[a-zA-Z0-9._~-]{0,6}){0,3}",
        prop::collection::vec((tricky_text(), tricky_text()), 0..6),
        prop::collection::vec((tricky_text(), tricky_text()), 0..6),
        any::<bool>(),
        (
            "\\PC{1,12}",
            "\\PC{0,24}",
            "[A-Za-z0-9]{1,20}",
            "\\PC{0,24}",
        ),
        ("[A-Za-z0-9]{8,32}", 1u64..4_000_000_000),
        prop::sample::select(vec![
            SignatureMethod::HmacSha1,
            SignatureMethod::HmacSha256,
            SignatureMethod::Plaintext,
        ]),
        any::<bool>(),
    )
        .prop_map(
            |(
                method,
                scheme,
                host,
                port,
                path,
                query,
                body,
                plus,
                (ck, cs, tk, ts),
                (nonce, timestamp),
                sm,
                version,
            )| Case {
                method,
                scheme,
                host,
                port,
                path,
                query,
                body,
                plus,
                consumer_key: ck,
                consumer_secret: cs,
                token: tk,
                token_secret: ts,
                nonce,
                timestamp,
                signature_method: sm,
                version,
            },
        )
}

impl Case {
    fn url(&self) -> String {
        let mut url = format!("{}://{}", self.scheme, self.host);
        if let Some(p) = self.port {
            url.push_str(&format!(":{p}"));
        }
        url.push_str(&self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.encode_pairs(&self.query));
        }
        url
    }

    fn encode_pairs(&self, pairs: &[(String, String)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    form_encode(k, self.plus),
                    form_encode(v, self.plus)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    fn body(&self) -> String {
        self.encode_pairs(&self.body)
    }

    fn secrets(&self) -> Secrets<'_> {
        Secrets::new(&self.consumer_secret, &self.token_secret)
    }

    fn sign(&self) -> String {
        let url = self.url();
        let body = self.body();
        let mut req = Request::<16>::new(self.method, &url).unwrap();
        req.form_body(body.as_bytes()).unwrap();
        let oauth = ProtocolParams {
            token: Some(&self.token),
            timestamp: Some(self.timestamp),
            nonce: Some(&self.nonce),
            version: self.version,
            ..ProtocolParams::new(&self.consumer_key, self.signature_method)
        };
        let mut out = vec![0u8; 4096];
        let n = req
            .sign_to_slice(&oauth, &self.secrets(), &mut out)
            .unwrap();
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    fn verify(
        &self,
        method: &str,
        url: &str,
        header: &str,
        body: &str,
        secrets: &Secrets<'_>,
    ) -> Result<(), Problem> {
        let parts = RequestParts {
            method,
            url,
            authorization: Some(header),
            form_body: Some(body.as_bytes()),
        };
        let policy = Policy {
            allow_plaintext: true,
            ..Policy::default()
        };
        let req = SignedRequest::<16>::parse(parts, Endpoint::ProtectedResource, policy)?;
        let mut nonces = MemoryNonceStore::<1>::new();
        req.verify(secrets, UnixTime(self.timestamp), &mut nonces)
    }
}

/// Replaces byte `i % len` of `s` by a different unreserved ASCII letter or
/// digit that is not merely a case variant (methods and hosts are
/// case-normalised by the base string, so a case flip is no change at all).
fn tamper(s: &str, i: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = i % bytes.len();
    let old = bytes[i].to_ascii_uppercase();
    bytes[i] = if old == b'Q' { b'Z' } else { b'Q' };
    // Keep UTF-8 valid: only tamper ASCII positions.
    String::from_utf8(bytes).unwrap_or_else(|_| format!("{s}Q"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sign_parse_verify_round_trips(c in case()) {
        let header = c.sign();
        let parsed = AuthorizationHeader::parse(&header).unwrap();
        prop_assert!(parsed.get("oauth_consumer_key").unwrap().eq_str(&c.consumer_key));
        prop_assert!(parsed.get("oauth_token").unwrap().eq_str(&c.token));
        prop_assert_eq!(c.verify(c.method, &c.url(), &header, &c.body(), &c.secrets()), Ok(()));
    }

    #[test]
    fn any_one_byte_change_fails(c in case(), which in 0usize..5, at in any::<usize>()) {
        prop_assume!(c.signature_method != SignatureMethod::Plaintext || which == 4);
        let header = c.sign();
        let (url, body) = (c.url(), c.body());
        let result = match which {
            0 => {
                let m = tamper(c.method, at);
                c.verify(&m, &url, &header, &body, &c.secrets())
            }
            1 => {
                // A byte of the path.
                let mut c2 = c.clone();
                c2.path = if c.path.len() > 1 { format!("/{}", tamper(&c.path[1..], at)) } else { "/Q".into() };
                c.verify(c.method, &c2.url(), &header, &body, &c.secrets())
            }
            2 => {
                // A parameter value: append to the body a pair or change one.
                let mut c2 = c.clone();
                match c2.body.first_mut() {
                    Some((_, v)) => v.push('Q'),
                    None => c2.body.push(("Q".into(), String::new())),
                }
                c.verify(c.method, &url, &header, &c2.body(), &c.secrets())
            }
            3 => {
                let cs = if c.consumer_secret.is_empty() { "Q".to_owned() } else { format!("{}Q", &c.consumer_secret[..c.consumer_secret.len() - c.consumer_secret.chars().last().unwrap().len_utf8()]) };
                let cs = if cs == c.consumer_secret { format!("{cs}Q") } else { cs };
                c.verify(c.method, &url, &header, &body, &Secrets::new(&cs, &c.token_secret))
            }
            _ => {
                let ts = format!("{}Q", c.token_secret);
                c.verify(c.method, &url, &header, &body, &Secrets::new(&c.consumer_secret, &ts))
            }
        };
        prop_assert_eq!(result, Err(Problem::SignatureInvalid));
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = form::validate(&bytes);
        let mut out = [0u8; 256];
        let _ = percent::decode_to_slice(&bytes, percent::Mode::Form, &mut out);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Url::parse(&text);
        if let Ok(h) = AuthorizationHeader::parse(&text) {
            prop_assert!(h.params().count() <= bytes.len());
        }
        let header = format!("OAuth {text}");
        for auth in [text.as_ref(), header.as_str()] {
            let parts = RequestParts {
                method: "POST",
                url: "http://example.com/r?a=1",
                authorization: Some(auth),
                form_body: Some(&bytes),
            };
            if let Ok(req) = SignedRequest::<8>::parse(parts, Endpoint::ProtectedResource, Policy::default()) {
                let mut nonces = MemoryNonceStore::<1>::new();
                let _ = req.verify(&Secrets::new("a", "b"), UnixTime(0), &mut nonces);
            }
        }
    }

    #[test]
    fn header_params_parse_to_what_was_signed(c in case()) {
        // Every protocol value written by the builder decodes back exactly.
        let header = c.sign();
        let h = AuthorizationHeader::parse(&header).unwrap();
        prop_assert!(h.get("oauth_nonce").unwrap().eq_str(&c.nonce));
        let ts = c.timestamp.to_string();
        prop_assert!(h.get("oauth_timestamp").unwrap().eq_str(&ts));
        prop_assert!(h.get("oauth_signature_method").unwrap().eq_str(c.signature_method.as_str()));
        prop_assert_eq!(h.get("oauth_version").is_some(), c.version);
    }
}
