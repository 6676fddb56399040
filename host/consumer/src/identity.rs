//! Who logged in, for providers that are not OpenID providers: a JSON API
//! the application names, called with the new token (OAuth 1.0a-signed or
//! Bearer), and the members of its answer that hold the user's stable id
//! and display name. Members are named by dotted paths (`data.id` for
//! X's `/2/users/me`); numbers count as their decimal text (GitHub's `id`).

/// The identity API and where its answer holds the user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentityApi {
    /// The URL (https, or http to loopback).
    pub url: String,
    /// The member holding the user's stable id (GitHub: `id`).
    pub id_field: String,
    /// The member holding a display name (GitHub: `login`); without one,
    /// or when the answer lacks it, the id.
    pub name_field: Option<String>,
}

impl IdentityApi {
    /// The API at `url`, the id in `id_field`.
    pub fn new(url: impl Into<String>, id_field: impl Into<String>) -> Self {
        IdentityApi {
            url: url.into(),
            id_field: id_field.into(),
            name_field: None,
        }
    }

    /// The display name in `field`.
    #[must_use]
    pub fn with_name(mut self, field: impl Into<String>) -> Self {
        self.name_field = Some(field.into());
        self
    }

    /// A Latch provider's (DESIGN.md's `/api/info`: `{"user": …}`) at
    /// `base`.
    pub fn latch(base: &str) -> Self {
        IdentityApi::new(format!("{}/api/info", base.trim_end_matches('/')), "user")
    }
}

/// The member at the dotted `path`, as text: a non-empty string, or a
/// number's decimal form.
pub(crate) fn member(value: &serde_json::Value, path: &str) -> Option<String> {
    let found = path
        .split('.')
        .try_fold(value, |v, name| v.as_object()?.get(name))?;
    match found {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_by_dotted_path() {
        let github = serde_json::json!({"login": "octocat", "id": 583231, "name": null});
        assert_eq!(member(&github, "id").as_deref(), Some("583231"));
        assert_eq!(member(&github, "login").as_deref(), Some("octocat"));
        assert_eq!(member(&github, "name"), None);
        let x = serde_json::json!({"data": {"id": "2244994945", "username": "XDevelopers"}});
        assert_eq!(member(&x, "data.id").as_deref(), Some("2244994945"));
        assert_eq!(member(&x, "data.missing"), None);
        assert_eq!(member(&x, "data.id.deeper"), None);
        assert_eq!(member(&serde_json::json!({"user": ""}), "user"), None);
        assert_eq!(member(&serde_json::json!([1]), "0"), None);
    }
}
