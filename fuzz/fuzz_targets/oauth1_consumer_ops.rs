//! Stateful: the OAuth 1.0a consumer's three-legged login (RFC 5849 §2),
//! `Login` → `PendingAuthorization` → `AuthorizedLogin`, fed arbitrary
//! provider responses and callbacks (raw bytes, or well-formed ones with
//! arbitrary values so that every state is reached). Never panics; every
//! answer is the one a reference reading of the form predicts — in
//! particular a callback whose `oauth_token` differs from the pending one
//! is always `TokenMismatch`; both signed requests verify at the provider
//! (`SignedRequest`) with the secrets they were signed with and carry the
//! pending token and the verifier.
#![no_main]
use arbitrary::Arbitrary;
use latch_core::oauth1::{
    ConsumerConfig, ConsumerError, Endpoint, Login, MemoryNonceStore, PendingAuthorization, Policy,
    RequestParts, Secrets, SignatureMethod, SignedRequest,
};
use latch_core::{UnixTime, form};
use latch_fuzz::{enc, written};
use libfuzzer_sys::fuzz_target;

/// Token, secret and verifier capacity.
const N: usize = 32;

/// RFC 5849 §1.2's printer, talking to photos.example.net.
const CONFIG: ConsumerConfig<'static> = ConsumerConfig {
    consumer_key: "dpf43f3p2l4k3l03",
    consumer_secret: "kd94hf93k423kf44",
    temporary_credentials_url: "https://photos.example.net/initiate",
    authorization_url: "https://photos.example.net/authorize",
    token_url: "https://photos.example.net/token",
    callback: "http://printer.example.com/ready",
    signature_method: SignatureMethod::HmacSha1,
    realm: Some("Photos"),
};

#[derive(Arbitrary, Debug)]
enum Response<'a> {
    Raw {
        status: u16,
        body: &'a [u8],
    },
    Built {
        token: &'a str,
        secret: &'a str,
        confirmed: Option<bool>,
        extra: &'a [u8],
    },
}

impl Response<'_> {
    fn bytes(&self) -> (u16, Vec<u8>) {
        match self {
            Response::Raw { status, body } => (*status, body.to_vec()),
            Response::Built {
                token,
                secret,
                confirmed,
                extra,
            } => {
                let mut b = format!(
                    "oauth_token={}&oauth_token_secret={}",
                    enc(token),
                    enc(secret)
                );
                if let Some(c) = confirmed {
                    b.push_str(&format!("&oauth_callback_confirmed={c}"));
                }
                let mut b = b.into_bytes();
                b.extend_from_slice(extra);
                (200, b)
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Callback<'a> {
    Raw(&'a [u8]),
    /// The pending token and a verifier, then anything.
    Echo {
        verifier: &'a str,
        extra: &'a [u8],
    },
    /// A well-formed callback for some other token.
    Forged {
        token: &'a str,
        verifier: &'a str,
    },
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: u8,
    realm: bool,
    now: u32,
    nonce: &'a str,
    temporary: Response<'a>,
    restore: Option<(&'a str, &'a str)>,
    callback: Callback<'a>,
    token: Response<'a>,
}

fn decoded(t: latch_core::Text<'_>) -> String {
    String::from_utf8(t.decoded().collect()).unwrap()
}

/// The one value of each of `names` in a form; `Err(Malformed)` if the
/// form is malformed or repeats one of them.
fn fields(body: &[u8], names: &[&str]) -> Result<Vec<Option<String>>, ConsumerError> {
    if form::validate(body).is_err() {
        return Err(ConsumerError::Malformed);
    }
    let mut out = vec![None; names.len()];
    for p in form::parse(body) {
        let p = p.unwrap();
        if let Some(i) = names.iter().position(|n| p.name.eq_str(n)) {
            if out[i].replace(decoded(p.value)).is_some() {
                return Err(ConsumerError::Malformed);
            }
        }
    }
    Ok(out)
}

/// What the consumer must make of a provider response (§2.1, §2.3).
fn expected_credentials(
    status: u16,
    body: &[u8],
    require_confirmed: bool,
) -> Result<(String, String), ConsumerError> {
    if !(200..300).contains(&status) {
        return Err(ConsumerError::Provider {
            status,
            problem: Default::default(),
        });
    }
    let f = fields(body, &["oauth_token", "oauth_token_secret"])?;
    let [token, secret] = <[Option<String>; 2]>::try_from(f).unwrap();
    // The last oauth_callback_confirmed counts.
    let confirmed = form::parse(body)
        .map(Result::unwrap)
        .filter(|p| p.name.eq_str("oauth_callback_confirmed"))
        .last()
        .is_some_and(|p| p.value.eq_str("true"));
    let token = token.ok_or(ConsumerError::MissingParameter("oauth_token"))?;
    let secret = secret.ok_or(ConsumerError::MissingParameter("oauth_token_secret"))?;
    if require_confirmed && !confirmed {
        return Err(ConsumerError::CallbackNotConfirmed);
    }
    if token.len() > N || secret.len() > N {
        return Err(ConsumerError::Capacity);
    }
    Ok((token, secret))
}

fn same_outcome(
    got: &Result<(String, String), ConsumerError>,
    want: &Result<(String, String), ConsumerError>,
) {
    match (got, want) {
        (
            Err(ConsumerError::Provider { status, problem }),
            Err(ConsumerError::Provider { status: s, .. }),
        ) => {
            assert_eq!(status, s);
            assert!(problem.len() <= 32 && problem.bytes().all(|b| b.is_ascii_graphic()));
        }
        _ => assert_eq!(got, want),
    }
}

/// The signed request verifies at the provider with `secrets`, and its
/// protocol parameters are the expected ones.
fn verify(
    header: &str,
    url: &str,
    endpoint: Endpoint,
    secrets: Secrets<'_>,
    now: u64,
    nonce: &str,
    token: Option<&str>,
    verifier: Option<&str>,
) {
    let parts = RequestParts {
        method: "POST",
        url,
        authorization: Some(header),
        form_body: None,
    };
    let policy = Policy {
        allow_plaintext: true,
        ..Policy::DEFAULT
    };
    let req = match SignedRequest::<16>::parse(parts, endpoint, policy) {
        Ok(r) => r,
        Err(e) => {
            assert!(nonce.is_empty(), "own request refused: {e:?}\n{header}");
            return;
        }
    };
    assert_eq!(req.timestamp(), Some(now));
    assert!(req.nonce().unwrap().eq_str(nonce));
    assert_eq!(req.token().map(decoded).as_deref(), token);
    assert_eq!(req.verifier().map(decoded).as_deref(), verifier);
    let mut nonces = MemoryNonceStore::<2>::new();
    assert_eq!(
        req.verify(&secrets, UnixTime(now), &mut nonces),
        Ok(()),
        "{header}"
    );
}

fuzz_target!(|i: Input<'_>| {
    let config = ConsumerConfig {
        signature_method: match i.method % 3 {
            0 => SignatureMethod::HmacSha1,
            1 => SignatureMethod::HmacSha256,
            _ => SignatureMethod::Plaintext,
        },
        realm: i.realm.then_some("Photos"),
        ..CONFIG
    };
    let now = u64::from(i.now);
    let login = Login::new(config);
    let mut sink = latch_fuzz::VecSink::default();
    login
        .authorization(UnixTime(now), i.nonce, &mut sink)
        .expect("the temporary credentials request always signs");
    let header = String::from_utf8(sink.0).unwrap();
    verify(
        &header,
        config.temporary_credentials_url,
        Endpoint::TemporaryCredentials,
        Secrets::new(config.consumer_secret, ""),
        now,
        i.nonce,
        None,
        None,
    );

    let pending: PendingAuthorization<'_, N> = match i.restore {
        Some((token, secret)) => {
            let p = PendingAuthorization::restore(config, token, secret);
            if token.len() > N || secret.len() > N {
                assert_eq!(p.unwrap_err(), ConsumerError::Capacity);
                return;
            }
            p.unwrap()
        }
        None => {
            let (status, body) = i.temporary.bytes();
            let p = login.handle_response::<N>(status, &body);
            let got = p
                .as_ref()
                .map(|p| (p.parts().token.to_string(), p.parts().secret.to_string()))
                .map_err(Clone::clone);
            same_outcome(&got, &expected_credentials(status, &body, true));
            let Ok(p) = p else { return };
            p
        }
    };
    let token = pending.parts().token.to_string();
    let secret = pending.parts().secret.to_string();

    let url = written(|w| pending.write_authorization_url(w));
    let expected_url = format!("{}?oauth_token={}", config.authorization_url, enc(&token));
    assert_eq!(String::from_utf8(url).unwrap(), expected_url);

    let callback = match i.callback {
        Callback::Raw(b) => b.to_vec(),
        Callback::Echo { verifier, extra } => {
            let mut b = format!(
                "oauth_token={}&oauth_verifier={}",
                enc(&token),
                enc(verifier)
            )
            .into_bytes();
            b.extend_from_slice(extra);
            b
        }
        Callback::Forged { token, verifier } => format!(
            "oauth_token={}&oauth_verifier={}",
            enc(token),
            enc(verifier)
        )
        .into_bytes(),
    };
    let expected = fields(&callback, &["oauth_token", "oauth_verifier"]).and_then(|f| {
        let [t, v] = <[Option<String>; 2]>::try_from(f).unwrap();
        let t = t.ok_or(ConsumerError::MissingParameter("oauth_token"))?;
        let v = v.ok_or(ConsumerError::MissingParameter("oauth_verifier"))?;
        if t != token {
            return Err(ConsumerError::TokenMismatch);
        }
        if v.len() > N {
            return Err(ConsumerError::Capacity);
        }
        Ok(v)
    });
    let authorized = pending.handle_callback(&callback);
    match (&authorized, &expected) {
        (Ok(_), Ok(_)) => {}
        (Err(got), Err(want)) => assert_eq!(got, want),
        (got, want) => panic!("callback: got {got:?}, expected {want:?}"),
    }
    let (Ok(authorized), Ok(verifier)) = (authorized, expected) else {
        return;
    };

    let later = now + 1;
    let mut sink = latch_fuzz::VecSink::default();
    authorized
        .authorization(UnixTime(later), i.nonce, &mut sink)
        .expect("the token request always signs");
    let header = String::from_utf8(sink.0).unwrap();
    verify(
        &header,
        config.token_url,
        Endpoint::TokenCredentials,
        Secrets::new(config.consumer_secret, &secret),
        later,
        i.nonce,
        Some(&token),
        Some(&verifier),
    );

    let (status, body) = i.token.bytes();
    let got = authorized
        .handle_response(status, &body)
        .map(|c| (c.token.to_string(), c.secret.to_string()));
    same_outcome(&got, &expected_credentials(status, &body, false));
});
