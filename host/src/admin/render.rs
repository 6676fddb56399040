//! Readable output of the admin commands (without `--json`): aligned
//! tables (comfy-table, no borders) and times as RFC 3339 UTC.

use super::ops::{ClientInfo, Grant, Revoked, UserInfo};
use comfy_table::{Table, presets::NOTHING};

/// A Unix time as RFC 3339 in UTC (`-` for none).
pub fn when(t: Option<i64>) -> String {
    t.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".into())
}

fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(NOTHING).set_header(header.to_vec());
    for r in rows {
        t.add_row(r);
    }
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    t.lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// `client list`.
pub fn clients(list: &[ClientInfo]) -> String {
    table(
        &[
            "CLIENT_ID",
            "NAME",
            "TYPE",
            "SCOPE",
            "REDIRECT_URIS",
            "CREATED",
        ],
        list.iter().map(|c| {
            vec![
                c.client_id.clone(),
                c.name.clone(),
                if c.public { "public" } else { "confidential" }.to_owned(),
                c.scope.clone(),
                c.redirect_uris.join(" "),
                when(Some(c.created_at)),
            ]
        }),
    )
}

/// `client show`: one field per line.
pub fn client(c: &ClientInfo) -> String {
    table(
        &["FIELD", "VALUE"],
        [
            ("client_id", c.client_id.clone()),
            ("name", c.name.clone()),
            (
                "type",
                if c.public { "public" } else { "confidential" }.to_owned(),
            ),
            ("scope", c.scope.clone()),
            ("redirect_uris", c.redirect_uris.join(" ")),
            ("grant_types", c.grant_types.clone()),
            ("allow_no_pkce", yes(c.allow_no_pkce)),
            ("resource_server", yes(c.resource_server)),
            ("id_token_alg", c.id_token_alg.clone()),
            (
                "post_logout_redirect_uris",
                c.post_logout_redirect_uris.join(" "),
            ),
            ("access_token_format", c.access_token_format.clone()),
            ("created", when(Some(c.created_at))),
            ("previous_secret_until", when(c.previous_secret_until)),
        ]
        .into_iter()
        .map(|(k, v)| vec![k.to_owned(), v]),
    )
}

/// `user list`.
pub fn users(list: &[UserInfo]) -> String {
    table(
        &["USERNAME", "NAME", "EMAIL", "DISABLED", "CREATED"],
        list.iter().map(|u| {
            vec![
                u.username.clone(),
                u.name.clone().unwrap_or_default(),
                u.email.clone().unwrap_or_default(),
                yes(u.disabled),
                when(Some(u.created_at)),
            ]
        }),
    )
}

/// `grant list`.
pub fn grants(list: &[Grant]) -> String {
    table(
        &[
            "USERNAME",
            "CLIENT_ID",
            "CLIENT",
            "PROTOCOL",
            "SCOPE",
            "SINCE",
            "LAST_ISSUED",
        ],
        list.iter().map(|g| {
            vec![
                g.username.clone(),
                g.client_id.clone(),
                g.client_name.clone(),
                g.protocol.clone(),
                g.scope.clone(),
                when(Some(g.since)),
                when(Some(g.last_issued)),
            ]
        }),
    )
}

/// What a removal or revocation took away, in one line.
pub fn revoked(what: &str, r: &Revoked) -> String {
    format!("{what}; revoked {}", r.summary())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(when(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(when(Some(1_700_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(when(None), "-");
    }

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["A", "LONGER"],
            [
                vec!["x".into(), "1".into()],
                vec!["yyyy".into(), "2".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        let col = |l: &str, s: &str| l.find(s).unwrap();
        assert_eq!(col(lines[0], "LONGER"), col(lines[2], "2"), "{t}");
        assert_eq!(col(lines[1], "1"), col(lines[2], "2"), "{t}");
    }
}
