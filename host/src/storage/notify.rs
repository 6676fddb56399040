//! What a committed change tells the other replicas: the payload of a
//! PostgreSQL notification on [`CHANNEL`], sent inside the change's own
//! transaction (so it is delivered exactly when the change commits). The
//! receiving half, and what a replica does with one, is `crate::invalidate`.

use latch_core::oauth2::{FamilyId, TokenHash};
use sqlx::{Any, Transaction};

/// The notification channel.
pub const CHANNEL: &str = "latch_invalidate";

/// PostgreSQL's limit on a payload is 8000 bytes (less than that).
const MAX_PAYLOAD: usize = 7999;

/// What the other replicas must forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// One access token, by its stored hash.
    AccessToken(TokenHash),
    /// Every token of a family.
    Family(FamilyId),
    /// A client record (updated, removed, new secret).
    Client(String),
    /// Every token issued to a client.
    ClientTokens(String),
    /// Every token a user holds.
    UserTokens(String),
    /// Every token of one (user, client) grant.
    GrantTokens {
        /// The user.
        username: String,
        /// The client.
        client_id: String,
    },
    /// Everything cached.
    Everything,
}

impl Invalidation {
    /// `ClientTokens` (for a `fn` table of revocation scopes).
    pub fn client_tokens(client_id: &str, _: Option<&str>) -> Self {
        Invalidation::ClientTokens(client_id.to_owned())
    }

    /// `UserTokens` (for a `fn` table of revocation scopes).
    pub fn user_tokens(username: &str, _: Option<&str>) -> Self {
        Invalidation::UserTokens(username.to_owned())
    }

    /// `GrantTokens` for `client_id` and `username` (for a `fn` table of
    /// revocation scopes; without a username, every token of the client).
    pub fn grant_tokens(client_id: &str, username: Option<&str>) -> Self {
        match username {
            Some(u) => Invalidation::GrantTokens {
                username: u.to_owned(),
                client_id: client_id.to_owned(),
            },
            None => Invalidation::ClientTokens(client_id.to_owned()),
        }
    }

    /// The notification payload (see the module docs): small, and never a
    /// token.
    pub fn payload(&self) -> String {
        let p = match self {
            Invalidation::AccessToken(h) => format!("a:{}", hex::encode(h.0)),
            Invalidation::Family(f) => format!("f:{}", hex::encode(f.0)),
            Invalidation::Client(id) => format!("c:{id}"),
            Invalidation::ClientTokens(id) => format!("t:{id}"),
            Invalidation::UserTokens(u) => format!("u:{u}"),
            Invalidation::GrantTokens {
                username,
                client_id,
            } if !username.contains(' ') => format!("g:{username} {client_id}"),
            Invalidation::GrantTokens { .. } | Invalidation::Everything => "*".to_owned(),
        };
        if p.len() > MAX_PAYLOAD {
            "*".to_owned()
        } else {
            p
        }
    }

    /// Reads a payload; anything unknown or malformed is `Everything` (a
    /// newer replica's kind is handled the safe way).
    pub fn parse(payload: &str) -> Self {
        let everything = Invalidation::Everything;
        let Some((kind, rest)) = payload.split_once(':') else {
            return everything;
        };
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let parsed = match kind {
            "a" => {
                let mut h = [0u8; 32];
                hex::decode_to_slice(rest, &mut h)
                    .ok()
                    .map(|()| Invalidation::AccessToken(TokenHash(h)))
            }
            "f" => {
                let mut f = [0u8; 16];
                hex::decode_to_slice(rest, &mut f)
                    .ok()
                    .map(|()| Invalidation::Family(FamilyId(f)))
            }
            "c" => nonempty(rest).map(Invalidation::Client),
            "t" => nonempty(rest).map(Invalidation::ClientTokens),
            "u" => nonempty(rest).map(Invalidation::UserTokens),
            "g" => rest.split_once(' ').and_then(|(u, c)| {
                Some(Invalidation::GrantTokens {
                    username: nonempty(u)?,
                    client_id: nonempty(c)?,
                })
            }),
            _ => None,
        };
        parsed.unwrap_or(everything)
    }
}

/// Sends `what` to every replica when `tx` commits (PostgreSQL; on SQLite,
/// nothing).
pub async fn notify(tx: &mut Transaction<'_, Any>, what: &Invalidation) -> Result<(), sqlx::Error> {
    if tx.backend_name() != <sqlx::Postgres as sqlx::Database>::NAME {
        return Ok(());
    }
    // `pg_notify` returns `void`, which the `Any` driver cannot decode: the
    // outer query returns an integer instead.
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS n")
        .bind(CHANNEL)
        .bind(what.payload())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Invalidation> {
        vec![
            Invalidation::AccessToken(TokenHash::of(b"an access token")),
            Invalidation::Family(FamilyId([7; 16])),
            Invalidation::Client("cid-1".into()),
            Invalidation::ClientTokens("cid-1".into()),
            Invalidation::UserTokens("alice".into()),
            Invalidation::GrantTokens {
                username: "alice".into(),
                client_id: "cid with space".into(),
            },
            Invalidation::Everything,
        ]
    }

    #[test]
    fn payloads_round_trip_and_never_carry_the_token() {
        for i in all() {
            let p = i.payload();
            assert!(p.len() <= MAX_PAYLOAD);
            assert_eq!(Invalidation::parse(&p), i, "{p}");
        }
        let p = Invalidation::AccessToken(TokenHash::of(b"an access token")).payload();
        assert!(!p.contains("an access token"));
        assert_eq!(p.len(), 2 + 64, "the stored hash, hex");
    }

    #[test]
    fn unknown_or_oversized_payloads_mean_everything() {
        for p in [
            "", "*", "x:1", "a:zz", "a:00", "f:", "c:", "g:alice", "g: cid", "no colon",
        ] {
            assert_eq!(Invalidation::parse(p), Invalidation::Everything, "{p:?}");
        }
        let huge = Invalidation::Client("c".repeat(9000));
        assert_eq!(huge.payload(), "*");
        // A username with a space cannot be told from the client id: all.
        let odd = Invalidation::GrantTokens {
            username: "a b".into(),
            client_id: "c".into(),
        };
        assert_eq!(odd.payload(), "*");
    }
}
