//! The HTML pages: small, self-contained (no external assets), accessible
//! (every input has a label; the client and the requested scopes are
//! named in words). All interpolated text is HTML-escaped.

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The pages' one stylesheet (inline; the CSP allows it by hash).
pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}\
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
.buttons{margin-top:1.2rem;display:flex;gap:.6rem}button{padding:.55rem 1.2rem;font-size:1rem}\
.error{color:#a00;border-left:3px solid #a00;padding-left:.6rem}ul{padding-left:1.2rem}code{font-size:1.1rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// What the login + consent page shows and carries.
#[derive(Debug, Default)]
pub struct Consent<'a> {
    /// Page heading context: the client's display name.
    pub client_name: &'a str,
    /// Requested scopes, each with its description if one is configured.
    pub scopes: Vec<(&'a str, Option<&'a str>)>,
    /// A warning shown above the form (the device page's phishing warning).
    pub warning: Option<&'a str>,
    /// The submit label of a first step that only looks the code up.
    pub lookup_only: bool,
    /// The logged-in user, if a session exists (then no password fields).
    pub user: Option<&'a str>,
    /// Hidden inputs carrying the request (name, value).
    pub hidden: Vec<(&'a str, &'a str)>,
    /// The CSRF form token.
    pub csrf: &'a str,
    /// An error to show above the form.
    pub error: Option<&'a str>,
    /// Whether to ask for a device's user code.
    pub user_code: Option<&'a str>,
    /// The username to prefill (OpenID Connect `login_hint`).
    pub login_hint: Option<&'a str>,
}

/// The login + consent form: one `<form method="post">` with `username`,
/// `password`, hidden inputs, and `decision` buttons `approve` / `deny`.
pub fn consent(c: &Consent<'_>) -> String {
    let mut body = if c.lookup_only {
        "<h1>Connect a device</h1>".to_owned()
    } else {
        format!(
            "<h1>{} wants to access your account</h1>",
            escape(c.client_name)
        )
    };
    if let Some(e) = c.error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    if let Some(w) = c.warning {
        body.push_str(&format!(
            "<p class=\"error\" role=\"note\"><strong>Warning:</strong> {}</p>",
            escape(w)
        ));
    }
    if c.lookup_only {
        body.push_str(
            "<p>Enter the code your device shows to see which application asks and for what.</p>",
        );
    } else if c.scopes.is_empty() {
        body.push_str("<p>It asks for no specific permissions (an empty scope).</p>");
    } else {
        body.push_str("<p>It asks for these permissions:</p><ul>");
        for (s, d) in &c.scopes {
            match d {
                Some(d) => body.push_str(&format!(
                    "<li><strong>{}</strong>: {}</li>",
                    escape(s),
                    escape(d)
                )),
                None => body.push_str(&format!("<li>{}</li>", escape(s))),
            }
        }
        body.push_str("</ul>");
    }
    body.push_str("<form method=\"post\">");
    for (name, value) in &c.hidden {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        ));
    }
    body.push_str(&format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(c.csrf)
    ));
    if let Some(code) = c.user_code {
        body.push_str(&format!(
            "<label for=\"user_code\">Code shown on your device</label>\
             <input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" required>",
            escape(code)
        ));
    }
    match c.user {
        Some(u) => body.push_str(&format!("<p>Signed in as <strong>{}</strong>.</p>", escape(u))),
        None => body.push_str(&format!(
            "<label for=\"username\">Username</label>\
             <input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>",
            escape(c.login_hint.unwrap_or(""))
        )),
    }
    body.push_str(
        "<div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></div></form>",
    );
    page(&format!("Authorize {}", c.client_name), &body)
}

/// The sign-out page: one POST form with the CSRF token.
pub fn logout(user: Option<&str>, csrf: &str) -> String {
    logout_with(user, csrf, &[])
}

/// The sign-out page carrying hidden inputs (an OpenID logout request).
pub fn logout_with(user: Option<&str>, csrf: &str, hidden: &[(&str, &str)]) -> String {
    let who = match user {
        Some(u) => format!("<p>Signed in as <strong>{}</strong>.</p>", escape(u)),
        None => "<p>You are not signed in.</p>".to_owned(),
    };
    let fields: String = hidden
        .iter()
        .map(|(n, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(n),
                escape(v)
            )
        })
        .collect();
    page(
        "Sign out",
        &format!(
            "<h1>Sign out</h1>{who}<form method=\"post\">{fields}<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"logout\">Sign out</button></div></form>",
            escape(csrf)
        ),
    )
}

/// A page saying what went wrong (never a redirect).
pub fn error(title: &str, message: &str) -> String {
    page(
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(message)),
    )
}

/// A page showing an out-of-band code.
pub fn show_code(title: &str, message: &str, code: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p><code>{}</code></p>",
            escape(title),
            escape(message),
            escape(code)
        ),
    )
}

/// A plain confirmation page.
pub fn done(title: &str, message: &str) -> String {
    error(title, message)
}

/// One connected app on `/account`.
#[derive(Debug)]
pub struct ConnectedApp<'a> {
    /// The client's id (the revoke form's value).
    pub client_id: &'a str,
    /// Its display name.
    pub name: &'a str,
    /// The scopes granted, each with its description if configured.
    pub scopes: Vec<(&'a str, Option<&'a str>)>,
    /// When the oldest live token was issued (RFC 3339).
    pub since: String,
    /// When the newest was.
    pub last: String,
}

/// One login session on `/account`.
#[derive(Debug)]
pub struct AccountSession<'a> {
    /// The stored hash naming it (the end form's value; not the cookie).
    pub id: &'a str,
    /// When the password was entered (RFC 3339).
    pub started: String,
    /// When it ends.
    pub expires: String,
    /// Whether it is the session showing this page.
    pub current: bool,
}

/// `/account` before signing in: username and password.
pub fn account_login(csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Your account",
        &format!(
            "<h1>Sign in to manage your account</h1>{error}<form method=\"post\" action=\"/account/login\">\
             <label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <div class=\"buttons\"><button type=\"submit\">Sign in</button></div></form>",
            escape(csrf)
        ),
    )
}

/// `/account`: the apps the user granted, each revocable, and the user's
/// login sessions, each endable; every form carries the CSRF token and
/// every button says what it acts on.
pub fn account(
    user: &str,
    apps: &[ConnectedApp<'_>],
    sessions: &[AccountSession<'_>],
    csrf: &str,
    notice: Option<&str>,
) -> String {
    let csrf = escape(csrf);
    let mut body = format!(
        "<h1>Your account</h1><p>Signed in as <strong>{}</strong>.</p>",
        escape(user)
    );
    if let Some(n) = notice {
        body.push_str(&format!("<p role=\"status\">{}</p>", escape(n)));
    }
    body.push_str("<h2>Connected apps</h2>");
    if apps.is_empty() {
        body.push_str("<p>No app has access to your account.</p>");
    } else {
        body.push_str("<ul class=\"apps\">");
        for a in apps {
            let scopes: String = a
                .scopes
                .iter()
                .map(|(name, d)| match d {
                    Some(d) => format!("<li>{} (<code>{}</code>)</li>", escape(d), escape(name)),
                    None => format!("<li><code>{}</code></li>", escape(name)),
                })
                .collect();
            let scopes = if scopes.is_empty() {
                "<p>Access without named scopes.</p>".to_owned()
            } else {
                format!("<ul>{scopes}</ul>")
            };
            body.push_str(&format!(
                "<li class=\"app\"><strong>{name}</strong>{scopes}<p>Since {since}; last authorized {last}.</p>\
                 <form method=\"post\" action=\"/account/revoke\"><input type=\"hidden\" name=\"client_id\" value=\"{id}\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" aria-label=\"Revoke access for {name}\">Revoke access</button></form></li>",
                name = escape(a.name),
                since = escape(&a.since),
                last = escape(&a.last),
                id = escape(a.client_id),
            ));
        }
        body.push_str("</ul>");
    }
    body.push_str("<h2>Sessions</h2><ul class=\"sessions\">");
    for (i, sess) in sessions.iter().enumerate() {
        let this = if sess.current { " (this browser)" } else { "" };
        body.push_str(&format!(
            "<li class=\"session\">Signed in {started}{this}, until {expires}.\
             <form method=\"post\" action=\"/account/sessions/end\"><input type=\"hidden\" name=\"session\" value=\"{id}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" aria-label=\"End session {n} signed in {started}\">End session</button></form></li>",
            started = escape(&sess.started),
            expires = escape(&sess.expires),
            id = escape(sess.id),
            n = i + 1,
        ));
    }
    body.push_str("</ul>");
    page("Your account", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_escapes_and_carries_fields() {
        let html = consent(&Consent {
            client_name: "<script>x</script>",
            scopes: vec![("read", None), ("write", Some("Upload <photos>"))],
            hidden: vec![("oauth_token", "a\"b")],
            csrf: "tok",
            ..Consent::default()
        });
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("name=\"oauth_token\" value=\"a&quot;b\""));
        assert!(
            html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">")
        );
        assert!(
            html.contains("name=\"decision\" value=\"approve\"") && html.contains("value=\"deny\"")
        );
        assert!(html.contains("<li>read</li>"));
        assert!(html.contains("<li><strong>write</strong>: Upload &lt;photos&gt;</li>"));
        let logged_in = consent(&Consent {
            user: Some("alice"),
            csrf: "t",
            ..Consent::default()
        });
        assert!(!logged_in.contains("name=\"password\""));
    }
}
