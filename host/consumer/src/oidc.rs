//! OpenID Connect providers: found from the issuer URL alone (Discovery
//! 1.0 §4, falling back to RFC 8414 §3), their JWK Set fetched and cached,
//! and RS256 verification for the core's id_token check
//! (`latch_core::oidc::rp`, which does ES256 and EdDSA itself).
//!
//! * The metadata's `issuer` must be exactly the configured one (Discovery
//!   §4.3): a document that names another issuer is refused, which is the
//!   first defence against mix-up.
//! * Every endpoint it names goes through [`check_url`]: https, or http to
//!   loopback only.
//! * The id_token algorithms accepted are those the metadata lists that
//!   Latch verifies (RS256, ES256, EdDSA); without the list, RS256, the
//!   default of OpenID Connect Registration §2.
//! * The JWK Set is fetched on first use and kept; a token whose `kid` is
//!   not in it makes the consumer fetch the set once more (providers
//!   rotate keys) and, if still unknown, refuse the login.

use crate::outbound::{Outbound, check_url};
use latch_core::jose::{Alg, JoseError, Verifier};

/// An OpenID provider, as its metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    /// The issuer identifier.
    pub issuer: String,
    /// The authorization endpoint.
    pub authorization_endpoint: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The UserInfo endpoint, if it has one.
    pub userinfo_endpoint: Option<String>,
    /// Where its JWK Set is.
    pub jwks_uri: String,
    /// The id_token algorithms accepted from it.
    pub id_token_algs: Vec<Alg>,
    /// Whether its authorization responses carry `iss` (RFC 9207); then
    /// the callback must carry the right one.
    pub iss_parameter: bool,
    /// The scope asked for (`openid` and more).
    pub scope: String,
}

/// Why discovery failed; one line each.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// A URL may not be called.
    #[error(transparent)]
    Outbound(#[from] crate::outbound::OutboundError),
    /// The metadata could not be fetched.
    #[error("provider metadata {url}: {message}")]
    Fetch {
        /// Which document.
        url: String,
        /// Why.
        message: String,
    },
    /// The metadata is not acceptable.
    #[error("provider metadata {url}: {message}")]
    Invalid {
        /// Which document.
        url: String,
        /// Why.
        message: String,
    },
}

impl OidcProvider {
    /// Fetches the provider's metadata from its issuer URL:
    /// `ISSUER/.well-known/openid-configuration`, or, if that is not found,
    /// RFC 8414's `/.well-known/oauth-authorization-server` (inserted
    /// before the issuer's path). `scope` is what to ask for (`None`:
    /// `openid profile`).
    pub async fn discover(
        issuer: &str,
        scope: Option<&str>,
        outbound: &Outbound,
    ) -> Result<Self, DiscoveryError> {
        check_url("issuer", issuer)?;
        let http = outbound.client()?;
        let openid = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let (url, doc) = match fetch_json(&http, &openid).await? {
            Some(doc) => (openid, doc),
            None => {
                let rfc8414 = rfc8414_url(issuer).ok_or_else(|| DiscoveryError::Invalid {
                    url: issuer.to_owned(),
                    message: "not an absolute URL".into(),
                })?;
                match fetch_json(&http, &rfc8414).await? {
                    Some(doc) => (rfc8414, doc),
                    None => {
                        return Err(DiscoveryError::Fetch {
                            url: openid,
                            message: "404 Not Found (and at the RFC 8414 address)".into(),
                        });
                    }
                }
            }
        };
        Self::from_metadata(issuer, &url, &doc, scope)
    }

    /// The provider a metadata document describes (`url`: where it came
    /// from, for messages).
    pub fn from_metadata(
        issuer: &str,
        url: &str,
        doc: &serde_json::Value,
        scope: Option<&str>,
    ) -> Result<Self, DiscoveryError> {
        let invalid = |message: String| DiscoveryError::Invalid {
            url: url.to_owned(),
            message,
        };
        let field = |k: &str| -> Result<String, DiscoveryError> {
            doc.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("lacks {k}")))
        };
        let named = field("issuer")?;
        if named != issuer {
            return Err(invalid(format!(
                "names the issuer {named:?}, not {issuer:?} (OpenID Discovery §4.3)"
            )));
        }
        let authorization_endpoint = field("authorization_endpoint")?;
        let token_endpoint = field("token_endpoint")?;
        let jwks_uri = field("jwks_uri")?;
        let userinfo_endpoint = field("userinfo_endpoint").ok();
        check_url("authorization_endpoint", &authorization_endpoint)?;
        check_url("token_endpoint", &token_endpoint)?;
        check_url("jwks_uri", &jwks_uri)?;
        if let Some(u) = &userinfo_endpoint {
            check_url("userinfo_endpoint", u)?;
        }
        let id_token_algs = match doc
            .get("id_token_signing_alg_values_supported")
            .and_then(serde_json::Value::as_array)
        {
            None => vec![Alg::Rs256],
            Some(list) => {
                let algs: Vec<Alg> = Alg::ALL
                    .iter()
                    .copied()
                    .filter(|a| list.iter().any(|v| v.as_str() == Some(a.as_str())))
                    .collect();
                if algs.is_empty() {
                    return Err(invalid(
                        "signs id_tokens with none of RS256, ES256, EdDSA".into(),
                    ));
                }
                algs
            }
        };
        Ok(OidcProvider {
            issuer: named,
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            jwks_uri,
            id_token_algs,
            iss_parameter: doc
                .get("authorization_response_iss_parameter_supported")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            scope: scope.unwrap_or("openid profile").to_owned(),
        })
    }

    /// The URLs the consumer will call, by metadata name.
    pub(crate) fn urls(&self) -> Vec<(&'static str, &str)> {
        let mut urls = vec![
            (
                "authorization_endpoint",
                self.authorization_endpoint.as_str(),
            ),
            ("token_endpoint", self.token_endpoint.as_str()),
            ("jwks_uri", self.jwks_uri.as_str()),
        ];
        if let Some(u) = &self.userinfo_endpoint {
            urls.push(("userinfo_endpoint", u.as_str()));
        }
        urls
    }
}

/// RFC 8414 §3.1: the well-known segment goes between the host and the
/// issuer's path.
fn rfc8414_url(issuer: &str) -> Option<String> {
    let u = url::Url::parse(issuer).ok()?;
    let path = u.path().trim_end_matches('/');
    let mut base = u.clone();
    base.set_path("");
    base.set_query(None);
    Some(format!(
        "{}/.well-known/oauth-authorization-server{path}",
        base.as_str().trim_end_matches('/')
    ))
}

/// `Ok(None)` on 404; the JSON document otherwise.
async fn fetch_json(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<serde_json::Value>, DiscoveryError> {
    let fetch = |message: String| DiscoveryError::Fetch {
        url: url.to_owned(),
        message,
    };
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| fetch(e.to_string()))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !resp.status().is_success() {
        return Err(fetch(resp.status().to_string()));
    }
    resp.json()
        .await
        .map(Some)
        .map_err(|e| fetch(format!("not JSON: {e}")))
}

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) under a JWK's `n` and `e`,
/// through aws-lc-rs (the crypto library rustls already uses here).
pub(crate) struct RsaVerifier {
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
}

impl Verifier for RsaVerifier {
    fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if alg != Alg::Rs256 {
            return Err(JoseError::KeyMismatch);
        }
        aws_lc_rs::signature::RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signing_input,
            signature,
        )
        .map_err(|_| JoseError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(issuer: &str) -> serde_json::Value {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "userinfo_endpoint": format!("{issuer}/me"),
            "id_token_signing_alg_values_supported": ["HS256", "ES256", "RS256"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    #[test]
    fn metadata_is_read_and_checked() {
        let iss = "https://op.example";
        let p = OidcProvider::from_metadata(iss, "u", &doc(iss), None).unwrap();
        assert_eq!(p.token_endpoint, "https://op.example/token");
        assert_eq!(p.id_token_algs, vec![Alg::Rs256, Alg::Es256]);
        assert!(p.iss_parameter);
        assert_eq!(p.scope, "openid profile");
        // Another issuer in the document: refused (mix-up).
        let e =
            OidcProvider::from_metadata("https://other.example", "u", &doc(iss), None).unwrap_err();
        assert!(e.to_string().contains("names the issuer"), "{e}");
        // Plain http endpoints to a non-loopback host: refused.
        let mut d = doc(iss);
        d["token_endpoint"] = "http://op.example/token".into();
        assert!(OidcProvider::from_metadata(iss, "u", &d, None).is_err());
        // Only algorithms Latch does not verify: refused.
        let mut d = doc(iss);
        d["id_token_signing_alg_values_supported"] = serde_json::json!(["HS256", "none"]);
        assert!(OidcProvider::from_metadata(iss, "u", &d, None).is_err());
        // No list: RS256.
        let mut d = doc(iss);
        d.as_object_mut()
            .unwrap()
            .remove("id_token_signing_alg_values_supported");
        let p = OidcProvider::from_metadata(iss, "u", &d, Some("openid email")).unwrap();
        assert_eq!(p.id_token_algs, vec![Alg::Rs256]);
        assert_eq!(p.scope, "openid email");
    }

    #[test]
    fn rfc8414_inserts_the_well_known_segment() {
        assert_eq!(
            rfc8414_url("https://op.example/tenant/1").unwrap(),
            "https://op.example/.well-known/oauth-authorization-server/tenant/1"
        );
        assert_eq!(
            rfc8414_url("https://op.example").unwrap(),
            "https://op.example/.well-known/oauth-authorization-server"
        );
    }
}
