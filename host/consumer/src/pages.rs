//! The few pages the consumer shows itself: a refusal and the sign-out
//! button. Every value is HTML-escaped (`html-escape`).

use html_escape::{encode_double_quoted_attribute, encode_text};

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title></head><body>{body}</body></html>",
        encode_text(title)
    )
}

/// A page saying why something was refused.
pub(crate) fn error(title: &str, message: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p>",
            encode_text(title),
            encode_text(message)
        ),
    )
}

/// The sign-out form: a POST carrying the session's CSRF token.
pub(crate) fn logout(csrf: &str) -> String {
    page(
        "Sign out",
        &format!(
            "<h1>Sign out</h1><form method=\"post\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form>",
            encode_double_quoted_attribute(csrf)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let p = error("<b>", "a & \"b\"");
        assert!(p.contains("<h1>&lt;b&gt;</h1>"), "{p}");
        assert!(p.contains("<p>a &amp; \"b\"</p>"), "{p}");
        let p = logout("x\"><script>");
        assert!(p.contains("value=\"x&quot;"), "{p}");
        assert!(!p.contains("x\">"), "{p}");
    }
}
