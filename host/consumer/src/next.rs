//! `next`: where to go after login, restricted to this application.
//!
//! Only an absolute path is kept: it must start with a single `/` (not `//`
//! or `/\`, which browsers read as another host), contain no scheme, no
//! backslash and no control characters. Anything else becomes `/`.

/// `next` if it stays within the application, else `/`.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control())
                && n.len() <= 2048 =>
        {
            n
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_survive() {
        assert_eq!(safe_next(Some("/private?x=1#y")), "/private?x=1#y");
        assert_eq!(safe_next(Some("/")), "/");
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/a\nLocation: x",
            "",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
