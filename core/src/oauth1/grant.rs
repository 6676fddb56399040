//! The provider's side of the three-legged flow (RFC 5849 §2): the
//! decisions, with storage left to the caller.
//!
//! 1. **Temporary credentials** (§2.1) — [`issue_temporary`]: the request
//!    is verified with the client's secret, `oauth_callback` must be `oob`
//!    or exactly one of the client's registered callbacks, and fresh
//!    credentials are minted. The caller stores the token's hash, the secret
//!    (encrypted), the client and the callback, until
//!    [`TemporaryIssued::expires_at`].
//! 2. **Resource owner authorization** (§2.2) — [`authorize`]: the user's
//!    decision on a stored temporary credential. Approval mints a
//!    single-use verifier (the caller stores its hash and the user);
//!    the redirect carries `oauth_token` and `oauth_verifier`. Denial
//!    redirects with `oauth_problem=user_refused` (the OAuth Problem
//!    Reporting name), and the caller deletes the temporary credential.
//! 3. **Token credentials** (§2.3) — [`issue_token`]: the temporary
//!    credential must belong to the signing client, be unexpired and
//!    authorized; the signature is checked with the client and temporary
//!    secrets; the verifier must match in constant time. The caller then
//!    consumes the temporary credential — atomically, so that two
//!    concurrent exchanges cannot both succeed — and stores the token.
//!
//! Every token, secret and verifier is 256 bits from the caller's
//! randomness, written base64url without padding (43 characters). What is
//! stored to look one up is its SHA-256 ([`Minted::hash`]).

use super::nonce::NonceStore;
use super::problem::Problem;
use super::provider::SignedRequest;
use super::signature::{Secrets, sha256_decoded};
use crate::buf::Sink;
use crate::percent;
use crate::text::Text;
use crate::time::UnixTime;
use base64ct::{Base64UrlUnpadded, Encoding};
use core::fmt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long temporary credentials live, and how long a verifier does once
/// issued, by default (seconds).
pub const DEFAULT_TEMPORARY_TTL: u64 = 600;

/// A freshly minted token, secret or verifier, and the hash to store.
#[derive(Clone, PartialEq, Eq)]
pub struct Minted {
    value: heapless::String<43>,
    /// SHA-256 of the value: what the provider stores and looks up by.
    pub hash: [u8; 32],
}

impl Minted {
    /// Mints a value from 32 random bytes.
    pub fn from_random(random: &[u8; 32]) -> Self {
        let mut buf = [0u8; 43];
        let value = Base64UrlUnpadded::encode(random, &mut buf)
            .ok()
            .and_then(|s| heapless::String::try_from(s).ok())
            .unwrap_or_default();
        let hash = hash(value.as_bytes());
        Minted { value, hash }
    }

    /// The value to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Minted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Minted(<redacted>)")
    }
}

/// SHA-256 of a token as presented: the lookup key.
pub fn hash(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// What the provider knows of the client for these steps.
#[derive(Clone, Copy)]
pub struct ClientRecord<'r> {
    /// The client (consumer) secret.
    pub secret: &'r str,
    /// Registered callbacks; `oauth_callback` must equal one exactly (or be
    /// `oob`).
    pub callbacks: &'r [&'r str],
}

impl fmt::Debug for ClientRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("secret", &"<redacted>")
            .field("callbacks", &self.callbacks)
            .finish()
    }
}

/// Step 1's outcome: what to store and what to answer.
#[derive(Debug, Clone)]
pub struct TemporaryIssued<'a> {
    /// The temporary token (store its hash).
    pub token: Minted,
    /// The temporary secret (store it encrypted).
    pub secret: Minted,
    /// The accepted callback, as sent (`oob` or a registered URI).
    pub callback: Text<'a>,
    /// When the temporary credential stops being usable.
    pub expires_at: UnixTime,
}

impl TemporaryIssued<'_> {
    /// The response body (§2.1), `application/x-www-form-urlencoded`.
    pub fn write_response<S: Sink + ?Sized>(&self, sink: &mut S) {
        sink.put(b"oauth_token=");
        sink.put(self.token.as_str().as_bytes());
        sink.put(b"&oauth_token_secret=");
        sink.put(self.secret.as_str().as_bytes());
        sink.put(b"&oauth_callback_confirmed=true");
    }
}

/// §2.1 on the provider: verify, check the callback, mint credentials.
/// `req` must have been parsed for [`Endpoint::TemporaryCredentials`](super::Endpoint::TemporaryCredentials).
pub fn issue_temporary<'a, const N: usize, S: NonceStore + ?Sized>(
    req: &SignedRequest<'a, N>,
    client: &ClientRecord<'_>,
    now: UnixTime,
    nonces: &mut S,
    random: &[u8; 64],
    ttl: u64,
) -> Result<TemporaryIssued<'a>, Problem> {
    let callback = req.callback().ok_or(Problem::ParameterAbsent {
        name: "oauth_callback",
    })?;
    req.verify(&Secrets::new(client.secret, ""), now, nonces)?;
    if !callback.eq_str("oob") && !client.callbacks.iter().any(|c| callback.eq_str(c)) {
        return Err(Problem::ParameterRejected {
            name: "oauth_callback",
        });
    }
    let (a, b) = random.split_at(32);
    let (mut ra, mut rb) = ([0u8; 32], [0u8; 32]);
    ra.copy_from_slice(a);
    rb.copy_from_slice(b);
    Ok(TemporaryIssued {
        token: Minted::from_random(&ra),
        secret: Minted::from_random(&rb),
        callback,
        expires_at: now.saturating_add(ttl),
    })
}

/// A stored temporary credential, as the caller loaded it by token hash.
#[derive(Clone, Copy)]
pub struct TemporaryRecord<'r> {
    /// The client it was issued to.
    pub consumer_key: &'r str,
    /// The temporary secret (decrypted).
    pub secret: &'r str,
    /// The accepted callback.
    pub callback: &'r str,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// The verifier's hash, once the user approved.
    pub verifier_hash: Option<[u8; 32]>,
}

impl fmt::Debug for TemporaryRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryRecord")
            .field("consumer_key", &self.consumer_key)
            .field("secret", &"<redacted>")
            .field("callback", &self.callback)
            .field("expires_at", &self.expires_at)
            .field("authorized", &self.verifier_hash.is_some())
            .finish()
    }
}

/// Why an authorization decision could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The temporary credential has expired.
    Expired,
    /// A verifier was already issued for it.
    AlreadyAuthorized,
}

impl fmt::Display for AuthorizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthorizeError::Expired => "the authorization request has expired",
            AuthorizeError::AlreadyAuthorized => "the authorization request was already answered",
        })
    }
}

impl core::error::Error for AuthorizeError {}

/// §2.2's outcome.
#[derive(Debug, Clone)]
pub enum Authorization<'r> {
    /// Approved: store `verifier.hash` and the user on the temporary
    /// credential, then redirect (or, for `oob`, show the verifier).
    Approved {
        /// The verifier to deliver.
        verifier: Minted,
        /// The temporary token being authorized.
        token: &'r str,
        /// The callback (`oob` means: display the verifier instead).
        callback: &'r str,
    },
    /// Denied: delete the temporary credential, then redirect.
    Denied {
        /// The temporary token refused.
        token: &'r str,
        /// The callback.
        callback: &'r str,
    },
}

impl Authorization<'_> {
    /// Whether the callback is out-of-band (nothing to redirect to).
    pub fn is_out_of_band(&self) -> bool {
        let (Authorization::Approved { callback, .. } | Authorization::Denied { callback, .. }) =
            self;
        *callback == "oob"
    }

    /// The redirect URL: the callback with `oauth_token` and either
    /// `oauth_verifier` or `oauth_problem=user_refused` added to its query.
    pub fn write_redirect<S: Sink + ?Sized>(&self, sink: &mut S) {
        let (callback, token) = match self {
            Authorization::Approved {
                callback, token, ..
            }
            | Authorization::Denied { callback, token } => (*callback, *token),
        };
        let (base, fragment) = match callback.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (callback, None),
        };
        sink.put(base.as_bytes());
        sink.put(match base.find('?') {
            None => b"?",
            Some(_) if base.ends_with('?') || base.ends_with('&') => b"",
            Some(_) => b"&",
        });
        sink.put(b"oauth_token=");
        percent::encode_into(token.as_bytes(), sink);
        match self {
            Authorization::Approved { verifier, .. } => {
                sink.put(b"&oauth_verifier=");
                sink.put(verifier.as_str().as_bytes());
            }
            Authorization::Denied { .. } => sink.put(b"&oauth_problem=user_refused"),
        }
        if let Some(f) = fragment {
            sink.put(b"#");
            sink.put(f.as_bytes());
        }
    }
}

/// §2.2 on the provider: the user approved or denied `token`.
pub fn authorize<'r>(
    token: &'r str,
    record: &TemporaryRecord<'r>,
    now: UnixTime,
    approve: bool,
    random: &[u8; 32],
) -> Result<Authorization<'r>, AuthorizeError> {
    if now > record.expires_at {
        return Err(AuthorizeError::Expired);
    }
    if record.verifier_hash.is_some() {
        return Err(AuthorizeError::AlreadyAuthorized);
    }
    Ok(if approve {
        Authorization::Approved {
            verifier: Minted::from_random(random),
            token,
            callback: record.callback,
        }
    } else {
        Authorization::Denied {
            token,
            callback: record.callback,
        }
    })
}

/// Step 3's outcome: consume the temporary credential (atomically), store
/// the token, answer with [`write_response`](Self::write_response).
#[derive(Debug, Clone)]
pub struct TokenIssued {
    /// The access token (store its hash).
    pub token: Minted,
    /// The token secret (store it encrypted).
    pub secret: Minted,
}

impl TokenIssued {
    /// The response body (§2.3).
    pub fn write_response<S: Sink + ?Sized>(&self, sink: &mut S) {
        sink.put(b"oauth_token=");
        sink.put(self.token.as_str().as_bytes());
        sink.put(b"&oauth_token_secret=");
        sink.put(self.secret.as_str().as_bytes());
    }
}

/// §2.3 on the provider. `req` was parsed for
/// [`Endpoint::TokenCredentials`](super::Endpoint::TokenCredentials); the
/// caller loaded `client_secret` by its consumer key and `temporary` by the
/// hash of its `oauth_token`.
pub fn issue_token<const N: usize, S: NonceStore + ?Sized>(
    req: &SignedRequest<'_, N>,
    client_secret: &str,
    temporary: &TemporaryRecord<'_>,
    now: UnixTime,
    nonces: &mut S,
    random: &[u8; 64],
) -> Result<TokenIssued, Problem> {
    if !req.consumer_key().eq_str(temporary.consumer_key) || now > temporary.expires_at {
        return Err(Problem::TokenRejected);
    }
    let verifier_hash = temporary.verifier_hash.ok_or(Problem::TokenRejected)?;
    req.verify(&Secrets::new(client_secret, temporary.secret), now, nonces)?;
    let presented = req.verifier().ok_or(Problem::ParameterAbsent {
        name: "oauth_verifier",
    })?;
    if !bool::from(sha256_decoded(&presented).ct_eq(&verifier_hash)) {
        return Err(Problem::TokenRejected);
    }
    let (a, b) = random.split_at(32);
    let (mut ra, mut rb) = ([0u8; 32], [0u8; 32]);
    ra.copy_from_slice(a);
    rb.copy_from_slice(b);
    Ok(TokenIssued {
        token: Minted::from_random(&ra),
        secret: Minted::from_random(&rb),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;
    use crate::oauth1::{
        ConsumerConfig, Endpoint, Login, MemoryNonceStore, Policy, RequestParts, SignatureMethod,
    };
    use std::string::String;

    const CALLBACKS: [&str; 1] = ["http://printer.example.com/ready"];
    const CLIENT: ClientRecord<'static> = ClientRecord {
        secret: "kd94hf93k423kf44",
        callbacks: &CALLBACKS,
    };
    const CONFIG: ConsumerConfig<'static> = ConsumerConfig {
        consumer_key: "dpf43f3p2l4k3l03",
        consumer_secret: "kd94hf93k423kf44",
        temporary_credentials_url: "https://photos.example.net/initiate",
        authorization_url: "https://photos.example.net/authorize",
        token_url: "https://photos.example.net/token",
        callback: "http://printer.example.com/ready",
        signature_method: SignatureMethod::HmacSha1,
        realm: None,
    };

    fn write(f: impl FnOnce(&mut SliceWriter<'_>)) -> String {
        let mut buf = [0u8; 1024];
        let mut w = SliceWriter::new(&mut buf);
        f(&mut w);
        let n = w.finish().unwrap();
        String::from(core::str::from_utf8(&buf[..n]).unwrap())
    }

    fn parse<'a>(url: &'a str, header: &'a str, endpoint: Endpoint) -> SignedRequest<'a, 8> {
        let parts = RequestParts {
            method: "POST",
            url,
            authorization: Some(header),
            form_body: None,
        };
        SignedRequest::parse(parts, endpoint, Policy::default()).unwrap()
    }

    /// The consumer state machine against the provider decisions: the whole
    /// §2 dance, in memory.
    #[test]
    fn consumer_and_provider_complete_the_flow() {
        let now = UnixTime(1_700_000_000);
        let mut nonces = MemoryNonceStore::<16>::new();
        let login = Login::new(CONFIG);
        let header = write(|w| login.authorization(now, "n1", w).unwrap());
        let req = parse(
            CONFIG.temporary_credentials_url,
            &header,
            Endpoint::TemporaryCredentials,
        );
        let random: [u8; 64] = core::array::from_fn(|i| i as u8);
        let temp = issue_temporary(
            &req,
            &CLIENT,
            now,
            &mut nonces,
            &random,
            DEFAULT_TEMPORARY_TTL,
        )
        .unwrap();
        assert_eq!(temp.token.as_str().len(), 43);
        assert_ne!(temp.token.as_str(), temp.secret.as_str());
        assert_eq!(temp.token.hash, hash(temp.token.as_str().as_bytes()));
        let body = write(|w| temp.write_response(w));
        let pending = login.handle_response::<64>(200, body.as_bytes()).unwrap();

        let record = TemporaryRecord {
            consumer_key: CONFIG.consumer_key,
            secret: temp.secret.as_str(),
            callback: "http://printer.example.com/ready",
            expires_at: temp.expires_at,
            verifier_hash: None,
        };
        let decision = authorize(temp.token.as_str(), &record, now, true, &[2; 32]).unwrap();
        let redirect = write(|w| decision.write_redirect(w));
        let Authorization::Approved { verifier, .. } = &decision else {
            panic!()
        };
        let query = redirect.split_once('?').unwrap().1;
        let authorized = pending.handle_callback(query.as_bytes()).unwrap();

        let header = write(|w| authorized.authorization(now, "n2", w).unwrap());
        let req = parse(CONFIG.token_url, &header, Endpoint::TokenCredentials);
        let record = TemporaryRecord {
            verifier_hash: Some(verifier.hash),
            ..record
        };
        let issued = issue_token(&req, CLIENT.secret, &record, now, &mut nonces, &[3; 64]).unwrap();
        let body = write(|w| issued.write_response(w));
        let creds = authorized.handle_response(200, body.as_bytes()).unwrap();
        assert_eq!(creds.token.as_str(), issued.token.as_str());
        assert_eq!(creds.secret.as_str(), issued.secret.as_str());
    }

    fn temporary_request(callback: &str) -> (String, String) {
        let mut req =
            crate::oauth1::Request::<4>::new("POST", CONFIG.temporary_credentials_url).unwrap();
        let oauth = crate::oauth1::ProtocolParams {
            callback: Some(callback),
            timestamp: Some(100),
            nonce: Some("n"),
            ..crate::oauth1::ProtocolParams::new(CONFIG.consumer_key, SignatureMethod::HmacSha1)
        };
        let header = write(|w| {
            req.sign(&oauth, &Secrets::new(CLIENT.secret, ""), w)
                .unwrap()
        });
        (String::from(CONFIG.temporary_credentials_url), header)
    }

    #[test]
    fn unregistered_callback_is_rejected() {
        for (callback, ok) in [
            ("http://printer.example.com/ready", true),
            ("oob", true),
            ("http://printer.example.com/ready/", false),
            ("http://evil.example/ready", false),
        ] {
            let (url, header) = temporary_request(callback);
            let req = parse(&url, &header, Endpoint::TemporaryCredentials);
            let mut nonces = MemoryNonceStore::<1>::new();
            let r = issue_temporary(&req, &CLIENT, UnixTime(100), &mut nonces, &[0; 64], 600);
            assert_eq!(r.is_ok(), ok, "{callback}");
            if !ok {
                assert_eq!(
                    r.unwrap_err(),
                    Problem::ParameterRejected {
                        name: "oauth_callback"
                    }
                );
            }
        }
    }

    #[test]
    fn authorization_is_single_use_and_expires() {
        let record = TemporaryRecord {
            consumer_key: "ck",
            secret: "s",
            callback: "https://app.example/cb?x=1#top",
            expires_at: UnixTime(700),
            verifier_hash: None,
        };
        let d = authorize("tok en", &record, UnixTime(100), false, &[0; 32]).unwrap();
        assert_eq!(
            write(|w| d.write_redirect(w)),
            "https://app.example/cb?x=1&oauth_token=tok%20en&oauth_problem=user_refused#top"
        );
        assert_eq!(
            authorize("t", &record, UnixTime(701), true, &[0; 32]).unwrap_err(),
            AuthorizeError::Expired
        );
        let answered = TemporaryRecord {
            verifier_hash: Some([0; 32]),
            ..record
        };
        assert_eq!(
            authorize("t", &answered, UnixTime(100), true, &[0; 32]).unwrap_err(),
            AuthorizeError::AlreadyAuthorized
        );
    }

    fn token_request(verifier: &str, consumer_key: &str) -> String {
        let mut req = crate::oauth1::Request::<4>::new("POST", CONFIG.token_url).unwrap();
        let oauth = crate::oauth1::ProtocolParams {
            token: Some("temp"),
            verifier: Some(verifier),
            timestamp: Some(100),
            nonce: Some("n"),
            ..crate::oauth1::ProtocolParams::new(consumer_key, SignatureMethod::HmacSha1)
        };
        write(|w| {
            req.sign(&oauth, &Secrets::new(CLIENT.secret, "temp-secret"), w)
                .unwrap()
        })
    }

    #[test]
    fn token_exchange_checks_binding_expiry_and_verifier() {
        let verifier = Minted::from_random(&[9; 32]);
        let record = TemporaryRecord {
            consumer_key: CONFIG.consumer_key,
            secret: "temp-secret",
            callback: "oob",
            expires_at: UnixTime(700),
            verifier_hash: Some(verifier.hash),
        };
        let run = |header: &str, record: &TemporaryRecord<'_>, now: u64| {
            let req = parse(CONFIG.token_url, header, Endpoint::TokenCredentials);
            let mut nonces = MemoryNonceStore::<1>::new();
            issue_token(
                &req,
                CLIENT.secret,
                record,
                UnixTime(now),
                &mut nonces,
                &[0; 64],
            )
            .map(|_| ())
        };
        let good = token_request(verifier.as_str(), CONFIG.consumer_key);
        assert_eq!(run(&good, &record, 100), Ok(()));
        assert_eq!(
            run(&token_request("wrong", CONFIG.consumer_key), &record, 100),
            Err(Problem::TokenRejected)
        );
        assert_eq!(
            run(
                &token_request(verifier.as_str(), "other-client"),
                &record,
                100
            ),
            Err(Problem::TokenRejected)
        );
        let expired = TemporaryRecord {
            expires_at: UnixTime(99),
            ..record
        };
        assert_eq!(run(&good, &expired, 100), Err(Problem::TokenRejected));
        let unapproved = TemporaryRecord {
            verifier_hash: None,
            ..record
        };
        assert_eq!(run(&good, &unapproved, 100), Err(Problem::TokenRejected));
        let other_secret = TemporaryRecord {
            secret: "different",
            ..record
        };
        assert_eq!(
            run(&good, &other_secret, 100),
            Err(Problem::SignatureInvalid)
        );
    }
}
