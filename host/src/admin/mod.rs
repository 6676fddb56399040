//! Administration: `latch client add` and `latch user add` (validate
//! everything first, then write one row, so bad input never leaves
//! anything half-written), and in [`ops`] every other operator operation,
//! shared by the command line and the admin API.

pub mod ops;
pub mod render;

use crate::config::{ConfigError, DbUrl, FileConfig};
use crate::crypto::{self, CryptoError, SecretBox};
use crate::keys::{self, KeyError, Keys};
use crate::storage::{ClientRow, Db, DbError, Profile};
use base64ct::{Base64UrlUnpadded, Encoding};

/// Why an administrative command failed; `exit_code` says whose fault.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Input the user can fix.
    #[error("{0}")]
    Input(String),
    /// The client, user or token named does not exist (bad input too).
    #[error("{0}")]
    NotFound(String),
    /// Configuration problems.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Keys could not be read or made.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Sealing or hashing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl AdminError {
    /// 2 for input the user can fix (bad flags, duplicates, bad config), 1
    /// for failures of the machine.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Input(_)
            | AdminError::NotFound(_)
            | AdminError::Config(_)
            | AdminError::Db(DbError::Duplicate(_)) => 2,
            AdminError::Keys(KeyError::Invalid(_) | KeyError::Permissions { .. })
            | AdminError::Db(DbError::Open { .. }) => 2,
            _ => 1,
        }
    }
}

/// The server keys for `db`: from the configuration, else (SQLite only) from
/// the key file beside the database, created on first use.
pub fn resolve_keys(file: &FileConfig, db: &DbUrl) -> Result<Keys, AdminError> {
    if let Some(k) = &file.keys {
        return Ok(k.decode()?);
    }
    match db {
        DbUrl::Sqlite { file, .. } => Ok(keys::load_or_create(&keys::key_file_for(
            std::path::Path::new(file),
        ))?),
        DbUrl::Postgres(_) => Err(AdminError::Input(
            "PostgreSQL needs [keys] in the config file (replicas must share them)".into(),
        )),
    }
}

/// 128 random bits for ids, 256 for secrets, base64url without padding.
pub fn random_token(bytes: usize) -> Result<String, AdminError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|_| AdminError::Crypto(CryptoError::Rng))?;
    Ok(Base64UrlUnpadded::encode_string(&buf))
}

/// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment, and one a
/// server may redirect credentials to (RFC 9700 §2.1, RFC 8252): `https`,
/// `http` only to a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`;
/// any port matches at request time, RFC 8252 §7.3), or a private-use
/// scheme named after a reverse domain (`com.example.app:/cb`, RFC 8252
/// §7.1).
pub fn check_redirect_uri(uri: &str) -> Result<(), AdminError> {
    let bad = |why: &str| AdminError::Input(format!("invalid --redirect-uri {uri:?}: {why}"));
    if uri.contains('#') {
        return Err(bad("must not contain a fragment"));
    }
    if let Some((scheme, rest)) = uri.split_once(':')
        && !scheme.eq_ignore_ascii_case("http")
        && !scheme.eq_ignore_ascii_case("https")
    {
        let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme || !scheme.contains('.') {
            return Err(bad(
                "expected https, loopback http, or a private-use scheme like com.example.app:/cb",
            ));
        }
        if rest.is_empty() || rest.bytes().any(|b| b <= b' ' || b >= 0x7F) {
            return Err(bad("malformed private-use URI"));
        }
        return Ok(());
    }
    let u = latch_core::url::Url::parse(uri).map_err(|e| bad(&e.to_string()))?;
    if u.scheme == latch_core::url::Scheme::Http && !latch_core::oauth2::is_loopback_host(u.host) {
        return Err(bad(
            "plain http is allowed only to a loopback address (127.0.0.1, [::1], localhost); use https",
        ));
    }
    Ok(())
}

/// What `latch client add` was asked for (`Default`: a confidential
/// client with nothing registered but what is set).
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// Display name.
    pub name: String,
    /// Redirect URIs (and OAuth1 callbacks).
    pub redirect_uris: Vec<String>,
    /// Space-separated allowed scopes.
    pub scope: Option<String>,
    /// Public client (no secret).
    pub public: bool,
    /// `--allow-no-pkce`: a legacy confidential client exempt from PKCE.
    pub allow_no_pkce: bool,
    /// `--resource-server`: may introspect any client's tokens.
    pub resource_server: bool,
    /// `--id-token-alg`: RS256 (default), ES256 or EdDSA.
    pub id_token_alg: Option<String>,
    /// `--post-logout-redirect-uri`: where RP-initiated logout may return.
    pub post_logout_redirect_uris: Vec<String>,
    /// `--access-token-format`: opaque or jwt (default: the server's).
    pub access_token_format: Option<String>,
}

/// The id_token algorithms a client may register.
pub const ID_TOKEN_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// The credentials of a new client.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, absent for public clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Checks a new client's fields.
pub fn check_client(c: &NewClient) -> Result<String, AdminError> {
    if c.public && (c.allow_no_pkce || c.resource_server) {
        return Err(AdminError::Input(
            "--allow-no-pkce and --resource-server need a confidential client (not --public)"
                .into(),
        ));
    }
    let name = c.name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(AdminError::Input(
            "--name must be non-empty text without control characters".into(),
        ));
    }
    if c.redirect_uris.len() > latch_core::oauth2::MAX_REDIRECT_URIS {
        return Err(AdminError::Input(format!(
            "at most {} --redirect-uri per client",
            latch_core::oauth2::MAX_REDIRECT_URIS
        )));
    }
    for uri in &c.redirect_uris {
        check_redirect_uri(uri)?;
        if uri.len() > latch_core::oauth2::MAX_REDIRECT_URI {
            return Err(AdminError::Input(format!(
                "--redirect-uri longer than {} bytes",
                latch_core::oauth2::MAX_REDIRECT_URI
            )));
        }
    }
    if let Some(alg) = &c.id_token_alg
        && !ID_TOKEN_ALGS.contains(&alg.as_str())
    {
        return Err(AdminError::Input(format!(
            "--id-token-alg must be one of RS256, ES256, EdDSA (got {alg:?})"
        )));
    }
    if let Some(f) = &c.access_token_format
        && f != "opaque"
        && f != "jwt"
    {
        return Err(AdminError::Input(format!(
            "--access-token-format must be opaque or jwt (got {f:?})"
        )));
    }
    if c.post_logout_redirect_uris.len() > latch_core::oauth2::MAX_REDIRECT_URIS {
        return Err(AdminError::Input(format!(
            "at most {} --post-logout-redirect-uri per client",
            latch_core::oauth2::MAX_REDIRECT_URIS
        )));
    }
    for uri in &c.post_logout_redirect_uris {
        check_redirect_uri(uri)?;
    }
    let scope = c
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>();
    if let Some(bad) = scope.iter().find(|s| !valid_scope_token(s)) {
        return Err(AdminError::Input(format!(
            "invalid scope token {bad:?} in --scope"
        )));
    }
    let scope = scope.join(" ");
    if scope.len() > latch_core::oauth2::MAX_SCOPE {
        return Err(AdminError::Input(format!(
            "--scope longer than {} bytes",
            latch_core::oauth2::MAX_SCOPE
        )));
    }
    Ok(scope)
}

/// Registers a client and returns its credentials.
pub async fn add_client(db: &Db, keys: &Keys, c: &NewClient) -> Result<IssuedClient, AdminError> {
    let scope = check_client(c)?;
    let client_id = random_token(16)?;
    let secret = if c.public {
        None
    } else {
        Some(random_token(32)?)
    };
    let secret_box = match &secret {
        Some(s) => Some(SecretBox::new(&keys.secret_box).seal(&client_id, s)?),
        None => None,
    };
    db.insert_client(&ClientRow {
        id: client_id.clone(),
        name: c.name.trim().to_owned(),
        secret_box,
        public: c.public,
        redirect_uris: c.redirect_uris.clone(),
        scope,
        grant_types: if c.public {
            "authorization_code refresh_token urn:ietf:params:oauth:grant-type:device_code".into()
        } else {
            "authorization_code refresh_token client_credentials urn:ietf:params:oauth:grant-type:device_code".into()
        },
        allow_plain_pkce: false,
        allow_no_pkce: c.allow_no_pkce,
        resource_server: c.resource_server,
        id_token_alg: c.id_token_alg.clone().unwrap_or_else(|| "RS256".into()),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        access_token_format: c
            .access_token_format
            .clone()
            .unwrap_or_else(|| "default".into()),
        previous_secret: None,
    })
    .await?;
    Ok(IssuedClient {
        client_id,
        client_secret: secret,
    })
}

/// Checks a username: 1–64 characters, no whitespace or control characters.
pub fn check_username(u: &str) -> Result<(), AdminError> {
    if u.is_empty()
        || u.chars().count() > 64
        || u.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AdminError::Input(
            "USERNAME must be 1-64 characters without spaces or control characters".into(),
        ));
    }
    Ok(())
}

/// Checks a user's OpenID profile: a name without control characters, an
/// e-mail address of the `local@domain` shape.
pub fn check_profile(p: &Profile) -> Result<(), AdminError> {
    if let Some(n) = &p.name
        && (n.trim().is_empty() || n.chars().any(char::is_control) || n.len() > 256)
    {
        return Err(AdminError::Input(
            "--name must be 1-256 bytes of text without control characters".into(),
        ));
    }
    if let Some(e) = &p.email {
        let ok = e.len() <= 254
            && e.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && !d.is_empty() && !d.contains('@') && d.contains('.')
            })
            && !e.chars().any(|c| c.is_control() || c.is_whitespace());
        if !ok {
            return Err(AdminError::Input(format!(
                "--email {e:?} is not an e-mail address"
            )));
        }
    }
    if p.email_verified && p.email.is_none() {
        return Err(AdminError::Input("--email-verified needs --email".into()));
    }
    Ok(())
}

/// A fresh public subject identifier: 128 random bits, base64url.
pub fn new_sub() -> Result<String, AdminError> {
    random_token(16)
}

/// Adds a user with an argon2id password hash and a fresh, random `sub`.
pub async fn add_user(
    db: &Db,
    username: &str,
    password: &str,
    profile: &Profile,
) -> Result<(), AdminError> {
    check_username(username)?;
    check_profile(profile)?;
    if password.is_empty() {
        return Err(AdminError::Input("the password must not be empty".into()));
    }
    let hash = crypto::hash_password(password)?;
    db.insert_user(username, &hash, &new_sub()?, profile)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens() {
        assert!(valid_scope_token("read:all"));
        assert!(!valid_scope_token("a\"b"));
        assert!(!valid_scope_token("a\\b"));
        assert!(!valid_scope_token(""));
    }

    #[test]
    fn client_checks() {
        let ok = NewClient {
            name: " App ".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            scope: Some("read  write".into()),
            public: false,
            allow_no_pkce: false,
            resource_server: false,
            id_token_alg: None,
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            access_token_format: None,
        };
        let fmt = NewClient {
            access_token_format: Some("paseto".into()),
            ..ok.clone()
        };
        assert!(check_client(&fmt).is_err());
        assert_eq!(check_client(&ok).unwrap(), "read write");
        let alg = NewClient {
            id_token_alg: Some("HS256".into()),
            ..ok.clone()
        };
        assert!(
            check_client(&alg)
                .unwrap_err()
                .to_string()
                .contains("RS256")
        );
        let es = NewClient {
            id_token_alg: Some("ES256".into()),
            ..ok.clone()
        };
        assert!(check_client(&es).is_ok());
        let bye = NewClient {
            post_logout_redirect_uris: vec!["http://evil.example/".into()],
            ..ok.clone()
        };
        assert!(check_client(&bye).is_err());
        let frag = NewClient {
            redirect_uris: vec!["https://a/cb#x".into()],
            ..ok.clone()
        };
        assert!(
            check_client(&frag)
                .unwrap_err()
                .to_string()
                .contains("fragment")
        );
        let rel = NewClient {
            redirect_uris: vec!["/cb".into()],
            ..ok.clone()
        };
        assert!(check_client(&rel).is_err());
        let scope = NewClient {
            scope: Some("a\"b".into()),
            ..ok.clone()
        };
        assert!(check_client(&scope).is_err());
        let name = NewClient {
            name: " ".into(),
            ..ok
        };
        assert!(check_client(&name).is_err());
    }

    #[test]
    fn profile_checks() {
        let ok = Profile {
            name: Some("Alice Liddell".into()),
            email: Some("alice@example.com".into()),
            email_verified: true,
        };
        assert!(check_profile(&ok).is_ok());
        for bad in [
            Profile {
                email: Some("alice".into()),
                ..ok.clone()
            },
            Profile {
                email: Some("a b@example.com".into()),
                ..ok.clone()
            },
            Profile {
                name: Some("a\nb".into()),
                ..ok.clone()
            },
            Profile {
                email: None,
                ..ok.clone()
            },
        ] {
            assert!(check_profile(&bad).is_err(), "{bad:?}");
        }
    }

    /// Hardening item 6: https, loopback http and private-use schemes only.
    #[test]
    fn redirect_uris_must_be_https_loopback_or_private_use() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8400/cb",
            "http://[::1]:9/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
            "com.example.app:/cb?x=1",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "http://10.0.0.1/cb",
            "http://localhost.example/cb",
            "myapp:/cb",
            "javascript:alert(1)",
            "com.example.app:",
            "1com.example:/x",
            "https://a/cb#frag",
            "/cb",
        ] {
            let e = check_redirect_uri(bad).unwrap_err();
            assert!(!e.to_string().contains('\n'), "{bad}");
        }
    }
}
