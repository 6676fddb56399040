//! Keeps the documentation in `docs/` from drifting from the code.
//!
//! * **Configuration** (`docs/operator-guide.md`): the JSON Schema of
//!   [`FileConfig`] (schemars, derived on the config structs) is walked for
//!   every key path (`listen`, `tls.cert`, `limits.max_connections`, …).
//!   The guide's convention: every table row inside its `## Configuration
//!   reference` section whose first cell is a backticked name documents
//!   that key path, with the columns key, type, default, allowed, what it
//!   does. Each schema key must have exactly one row, each row must name a
//!   schema key, the type cell must start with the schema's type, and where
//!   the code has a default constant the default cell's first backticked
//!   value must be it. Every ```toml block of README.md and docs/*.md must
//!   parse as a [`FileConfig`] (which denies unknown keys) and pass the
//!   checks `latch serve` makes at start.
//! * **CLI** (`docs/cli.md`): every `### latch <words>` heading is a
//!   command; its flags are the list items that start with `` `--flag ``.
//!   For each heading the built binary's `<words> --help` must list exactly
//!   those flags (`--help` and `--version` aside), and every command the
//!   binary's help lists, down to the leaves, must have a heading.
//! * **Links**: every relative link of README.md and docs/*.md points to a
//!   file of the repository (and, with a `#fragment`, to one of its
//!   headings); no file of the repository points into the design notes
//!   outside it, and README.md and docs/ do not send readers to DESIGN.md,
//!   which a clone does not have.

use latch_host::config::{self, FileConfig};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_owned()
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every docs/*.md, as (repository-relative path, text).
fn doc_files() -> Vec<(String, String)> {
    let mut files = vec![("README.md".to_owned(), read("README.md"))];
    let mut names: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    for n in names {
        let rel = format!("docs/{n}");
        let text = read(&rel);
        files.push((rel, text));
    }
    files
}

/// The lines of `text` outside fenced code blocks, with their numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// The contents of every fenced block whose info string is `lang`.
fn code_blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        match &mut current {
            None if t.starts_with("```") => {
                if t.trim_start_matches('`').trim() == lang {
                    current = Some((i + 1, String::new()));
                } else {
                    // Some other block: skip to its end.
                    current = Some((0, String::new()));
                }
            }
            None => {}
            Some(_) if t.starts_with("```") => {
                if let Some((start, body)) = current.take()
                    && start != 0
                {
                    out.push((start, body));
                }
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Configuration keys

/// `schema` with `$ref`s to `#/$defs/…` followed.
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/$defs/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}"));
            resolve(&root["$defs"][name], root)
        }
        None => schema,
    }
}

/// The alternatives a value may take, `null` (an `Option`'s `None`) left
/// out, with `anyOf`/`oneOf` flattened and `$ref`s followed.
fn alternatives<'a>(schema: &'a Value, root: &'a Value) -> Vec<&'a Value> {
    let schema = resolve(schema, root);
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            return alts.iter().flat_map(|a| alternatives(a, root)).collect();
        }
    }
    if schema.get("type").and_then(Value::as_str) == Some("null") {
        return Vec::new();
    }
    vec![schema]
}

/// The JSON types of one alternative (`type` may be a list), `null` aside.
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|t| *t != "null")
    .collect()
}

/// The word the guide's type column uses for a value of this schema:
/// `string`, `integer`, `boolean`, `array of strings`, `table`, or several
/// joined with ` or `.
fn type_word(schema: &Value, root: &Value) -> String {
    let mut words: Vec<String> = Vec::new();
    for alt in alternatives(schema, root) {
        for t in types(alt) {
            let word = match t {
                "array" => match alt.get("items") {
                    Some(items) => format!("array of {}s", type_word(items, root)),
                    None => "array".to_owned(),
                },
                "object" => "table".to_owned(),
                "number" => "number".to_owned(),
                other => other.to_owned(),
            };
            if !words.contains(&word) {
                words.push(word);
            }
        }
    }
    words.join(" or ")
}

/// Every leaf key path of `schema` under `prefix`, with its type word.
fn collect_keys(schema: &Value, root: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    let schema = resolve(schema, root);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, sub) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let alts = alternatives(sub, root);
        match alts.as_slice() {
            [table] if table.get("properties").is_some() => collect_keys(table, root, &path, out),
            _ => {
                out.insert(path, type_word(sub, root));
            }
        }
    }
}

/// The configuration file's keys according to the code.
fn schema_keys() -> BTreeMap<String, String> {
    let schema = schemars::schema_for!(FileConfig);
    let root = schema.as_value();
    let mut keys = BTreeMap::new();
    collect_keys(root, root, "", &mut keys);
    keys
}

/// One row of the guide's configuration reference.
#[derive(Debug)]
struct KeyRow {
    line: usize,
    type_cell: String,
    default_cell: String,
}

/// The `## Configuration reference` section's key rows, by key path;
/// duplicates are reported in the second value.
fn documented_keys(guide: &str) -> (BTreeMap<String, KeyRow>, Vec<String>) {
    let mut rows = BTreeMap::new();
    let mut problems = Vec::new();
    let mut inside = false;
    for (line, text) in prose_lines(guide) {
        if text.starts_with("## ") {
            inside = text.trim() == "## Configuration reference";
            continue;
        }
        if !inside || !text.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = text.split('|').map(str::trim).collect();
        // "", key, type, default, allowed, what, "".
        if cells.len() != 7 {
            problems.push(format!(
                "docs/operator-guide.md:{line}: a key row needs 5 cells (key, type, default, allowed, what it does), has {}",
                cells.len().saturating_sub(2)
            ));
            continue;
        }
        let key = cells[1].trim_matches('`').to_owned();
        let row = KeyRow {
            line,
            type_cell: cells[2].to_owned(),
            default_cell: cells[3].to_owned(),
        };
        if let Some(first) = rows.insert(key.clone(), row) {
            problems.push(format!(
                "docs/operator-guide.md:{line}: `{key}` is documented twice (first on line {})",
                first.line
            ));
        }
    }
    (rows, problems)
}

/// The first backticked value of a cell.
fn first_code(cell: &str) -> Option<&str> {
    let rest = cell.split_once('`')?.1;
    Some(rest.split_once('`')?.0)
}

/// Defaults the code states as values, in the TOML the guide shows.
fn code_defaults() -> BTreeMap<&'static str, String> {
    use latch_host::server::limits::LimitSettings;
    use latch_host::server::listen::ConnLimits;
    let conn = ConnLimits::default();
    let lim = LimitSettings::default();
    let p = latch_core::oauth2::Policy::DEFAULT;
    let q = |s: &str| format!("{s:?}");
    BTreeMap::from([
        ("listen", q(config::DEFAULT_LISTEN)),
        ("db", q(config::DEFAULT_DB)),
        (
            "limits.header_read_timeout",
            conn.header_read_timeout.as_secs().to_string(),
        ),
        (
            "limits.idle_timeout",
            conn.idle_timeout.as_secs().to_string(),
        ),
        ("limits.max_connections", conn.max_connections.to_string()),
        (
            "limits.failed_logins_per_user",
            lim.failed_logins_per_user.to_string(),
        ),
        (
            "limits.failed_logins_per_address",
            lim.failed_logins_per_address.to_string(),
        ),
        (
            "limits.login_window",
            lim.login_window.as_secs().to_string(),
        ),
        (
            "limits.wrong_user_codes_per_address",
            lim.wrong_user_codes_per_address.to_string(),
        ),
        (
            "limits.user_code_window",
            lim.user_code_window.as_secs().to_string(),
        ),
        (
            "limits.failed_client_auths",
            lim.failed_client_auths.to_string(),
        ),
        (
            "limits.client_auth_window",
            lim.client_auth_window.as_secs().to_string(),
        ),
        ("limits.trusted_proxies", "[]".to_owned()),
        ("oauth2.access_token_ttl", p.access_token_ttl.to_string()),
        (
            "oauth2.refresh_token_ttl",
            p.refresh_token_ttl.unwrap_or(0).to_string(),
        ),
        ("oauth2.code_ttl", p.code_ttl.to_string()),
        ("oauth2.device_code_ttl", p.device_code_ttl.to_string()),
        ("oauth2.device_interval", p.device_interval.to_string()),
        (
            "oauth2.key_rotation_delay",
            config::DEFAULT_KEY_ROTATION_DELAY.to_string(),
        ),
        ("oauth2.access_token_format", q("opaque")),
        ("oauth2.refresh_grace_seconds", p.refresh_grace.to_string()),
        (
            "audit.retention_days",
            config::DEFAULT_AUDIT_RETENTION_DAYS.to_string(),
        ),
    ])
}

#[test]
fn every_config_key_is_documented_and_every_documented_key_exists() {
    let schema = schema_keys();
    assert!(
        schema.contains_key("limits.max_connections") && schema.contains_key("oauth2.scopes"),
        "the schema walk found {schema:?}"
    );
    let guide = read("docs/operator-guide.md");
    let (documented, mut problems) = documented_keys(&guide);
    for (key, ty) in &schema {
        match documented.get(key.as_str()) {
            None => problems.push(format!(
                "`{key}` ({ty}) is a configuration key but has no row in docs/operator-guide.md's \"## Configuration reference\""
            )),
            Some(row) if !row.type_cell.starts_with(ty.as_str()) => problems.push(format!(
                "docs/operator-guide.md:{}: `{key}` is a {ty}, the guide says {:?}",
                row.line, row.type_cell
            )),
            Some(_) => {}
        }
    }
    for (key, row) in &documented {
        if !schema.contains_key(key) {
            problems.push(format!(
                "docs/operator-guide.md:{}: `{key}` is documented but is not a configuration key (FileConfig has {:?})",
                row.line,
                schema.keys().collect::<Vec<_>>()
            ));
        }
    }
    for (key, default) in code_defaults() {
        assert!(
            schema.contains_key(key),
            "code_defaults names `{key}`, which is no longer a key"
        );
        if let Some(row) = documented.get(key)
            && first_code(&row.default_cell) != Some(default.as_str())
        {
            problems.push(format!(
                "docs/operator-guide.md:{}: `{key}` defaults to `{default}` in the code, the guide says {:?}",
                row.line, row.default_cell
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// What `latch serve` checks before it opens the database (keys aside:
/// the examples carry placeholders for them).
fn check_like_serve(c: &FileConfig) -> Result<(), String> {
    let e = |e: config::ConfigError| e.to_string();
    let listen = config::resolve_listen(None, c).map_err(e)?;
    config::resolve_db(None, c).map_err(e)?;
    let tls = config::resolve_tls(None, None, false, c).map_err(e)?;
    config::resolve_issuer(None, c, listen, tls.is_some(), false).map_err(e)?;
    if let Some(o) = &c.oauth2 {
        o.policy().map_err(e)?;
        o.jwt_access_tokens().map_err(e)?;
        if let Some(s) = &o.scopes {
            s.entries().map_err(e)?;
        }
    }
    if let Some(l) = &c.limits {
        l.limit_settings().map_err(e)?;
        l.conn_limits().map_err(e)?;
    }
    if let Some(a) = &c.audit {
        a.retention_secs().map_err(e)?;
    }
    if let Some(addr) = c.admin.as_ref().and_then(|a| a.listen.as_deref()) {
        let at = addr
            .parse::<std::net::SocketAddr>()
            .map_err(|_| format!("[admin] listen {addr:?} is not ADDR:PORT"))?;
        if tls.is_none() && !at.ip().is_loopback() {
            return Err(format!(
                "[admin] listen {addr} is not loopback and there is no TLS"
            ));
        }
    }
    if let Some(k) = &c.keys {
        for (name, v) in [
            ("secret_box_key", &k.secret_box_key),
            ("session_key", &k.session_key),
        ] {
            // A real key in an example would be copied into production.
            if !v.contains("REPLACE") {
                return Err(format!(
                    "[keys] {name} in an example must be a REPLACE placeholder"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_toml_example_is_a_valid_configuration() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for (file, text) in doc_files() {
        for (line, block) in code_blocks(&text, "toml") {
            seen += 1;
            match toml::from_str::<FileConfig>(&block) {
                Err(e) => problems.push(format!(
                    "{file}:{line}: not a valid configuration file: {}",
                    e.message()
                )),
                Ok(c) => {
                    if let Err(why) = check_like_serve(&c) {
                        problems.push(format!("{file}:{line}: latch serve would refuse it: {why}"));
                    }
                }
            }
        }
    }
    assert!(
        seen >= 3,
        "expected the guide's TOML examples, found {seen}"
    );
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// The command line

/// `latch <words> --help`, or why it failed.
fn help(words: &[String]) -> Result<String, String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latch"))
        .args(words)
        .arg("--help")
        .output()
        .map_err(|e| format!("cannot run latch: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The long flags a help text lists (option lines are indented at most six
/// spaces; wrapped descriptions more), `--help` and `--version` aside.
fn help_flags(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_start();
        if indent > 6 || !t.starts_with('-') {
            continue;
        }
        if let Some(tok) = t
            .split_whitespace()
            .map(|w| w.trim_end_matches(','))
            .find(|w| w.starts_with("--"))
        {
            let flag: String = tok
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag != "--help" && flag != "--version" {
                flags.insert(flag);
            }
        }
    }
    flags
}

/// The subcommands a help text lists (`help` aside).
fn help_commands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line.trim_end() == "Commands:" {
            inside = true;
            continue;
        }
        if inside {
            if line.trim().is_empty() || !line.starts_with(' ') {
                break;
            }
            if let Some(name) = line.split_whitespace().next()
                && name != "help"
            {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// docs/cli.md's commands: heading words → (line, flags listed).
fn documented_commands(doc: &str) -> BTreeMap<Vec<String>, (usize, BTreeSet<String>)> {
    let mut out: BTreeMap<Vec<String>, (usize, BTreeSet<String>)> = BTreeMap::new();
    let mut current: Option<Vec<String>> = None;
    for (line, text) in prose_lines(doc) {
        if text.starts_with('#') {
            current = text.strip_prefix("### latch ").map(|rest| {
                let words: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
                out.entry(words.clone()).or_insert((line, BTreeSet::new()));
                words
            });
            continue;
        }
        let (Some(words), Some(item)) = (&current, text.strip_prefix("- `--")) else {
            continue;
        };
        let name: String = item
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if let Some((_, flags)) = out.get_mut(words) {
            flags.insert(format!("--{name}"));
        }
    }
    out
}

/// Every leaf command of the binary, found through the help texts.
fn binary_commands(prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let text = help(&prefix).unwrap_or_else(|e| panic!("latch {prefix:?} --help: {e}"));
    let subs = help_commands(&text);
    if subs.is_empty() {
        out.push(prefix);
        return;
    }
    for s in subs {
        let mut words = prefix.clone();
        words.push(s);
        binary_commands(words, out);
    }
}

#[test]
fn every_command_and_flag_is_documented_and_every_documented_one_exists() {
    let doc = read("docs/cli.md");
    let documented = documented_commands(&doc);
    assert!(
        documented.contains_key(&vec!["serve".to_owned()]),
        "docs/cli.md has no `### latch serve` heading"
    );
    let mut problems = Vec::new();
    let mut leaves = Vec::new();
    binary_commands(Vec::new(), &mut leaves);
    for words in &leaves {
        if !documented.contains_key(words) {
            problems.push(format!(
                "`latch {}` exists but docs/cli.md has no `### latch {}` heading",
                words.join(" "),
                words.join(" ")
            ));
        }
    }
    for (words, (line, flags)) in &documented {
        let name = format!("latch {}", words.join(" "));
        let text = match help(words) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!(
                    "docs/cli.md:{line}: `{name}` is documented but the binary does not have it (not landed yet?): {e}"
                ));
                continue;
            }
        };
        if !help_commands(&text).is_empty() {
            problems.push(format!(
                "docs/cli.md:{line}: `{name}` is a group of commands; document its subcommands instead"
            ));
            continue;
        }
        let actual = help_flags(&text);
        for f in actual.difference(flags) {
            problems.push(format!(
                "docs/cli.md:{line}: `{name}` takes `{f}` but the doc does not list it (add a \"- `{f} …`\" item)"
            ));
        }
        for f in flags.difference(&actual) {
            problems.push(format!(
                "docs/cli.md:{line}: `{name}` is documented with `{f}`, which `{name} --help` does not list"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_help_parsers_read_clap_output() {
    let help = "\
Register a client

Usage: latch client add [OPTIONS] --name <NAME>

Arguments:
  <USERNAME>  The user name

Options:
      --name <NAME>
          Display name shown on the consent page
      --redirect-uri <REDIRECT_URIS>  Allowed redirect URI
      --public                        A public client
  -h, --help                          Print help
";
    assert_eq!(
        help_flags(help).into_iter().collect::<Vec<_>>(),
        ["--name", "--public", "--redirect-uri"]
    );
    let root = "\
Usage: latch <COMMAND>

Commands:
  serve   Run the authorization server
  client  Manage registered clients
  help    Print this message

Options:
  -h, --help     Print help
  -V, --version  Print version
";
    assert_eq!(help_commands(root), ["serve", "client"]);
    assert!(help_flags(root).is_empty());
}

// ---------------------------------------------------------------------------
// Links

/// GitHub's anchor for a heading: lower case, punctuation other than `-`
/// and `_` dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings (with GitHub's `-1`, `-2`
/// suffixes for repeats).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let title = title.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let s = slug(title);
        let n = seen.entry(s.clone()).or_insert(0);
        out.insert(if *n == 0 {
            s.clone()
        } else {
            format!("{s}-{n}")
        });
        *n += 1;
    }
    out
}

/// The targets of the inline links `[text](target)` of a line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        match after.find(')') {
            Some(end) => {
                out.push(after[..end].split_whitespace().next().unwrap_or(""));
                rest = &after[end..];
            }
            None => break,
        }
    }
    out
}

#[test]
fn relative_links_resolve_and_nothing_points_outside_the_repository() {
    let root = repo();
    let mut problems = Vec::new();
    let files = doc_files();
    for name in [
        "docs/operator-guide.md",
        "docs/cli.md",
        "docs/ARCHITECTURE.md",
    ] {
        if !files.iter().any(|(f, _)| f == name) {
            problems.push(format!("{name} is missing"));
        }
        if !files[0].1.contains(&format!("]({name})")) {
            problems.push(format!("README.md does not link to {name}"));
        }
    }
    for (file, text) in &files {
        let dir = root
            .join(file)
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default();
        for (line, prose) in prose_lines(text) {
            for target in link_targets(prose) {
                if target.is_empty()
                    || target.starts_with("http://")
                    || target.starts_with("https://")
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                let (path, fragment) = match target.split_once('#') {
                    Some((p, f)) => (p, Some(f)),
                    None => (target, None),
                };
                let resolved = if path.is_empty() {
                    root.join(file)
                } else {
                    dir.join(path)
                };
                let inside = resolved
                    .canonicalize()
                    .ok()
                    .filter(|p| p.starts_with(root.canonicalize().unwrap_or(root.clone())));
                let Some(resolved) = inside else {
                    problems.push(format!(
                        "{file}:{line}: link to {target:?}: no such file in the repository"
                    ));
                    continue;
                };
                if let Some(fragment) = fragment
                    && resolved.extension().is_some_and(|e| e == "md")
                {
                    let target_text = std::fs::read_to_string(&resolved).unwrap_or_default();
                    if !anchors(&target_text).contains(fragment) {
                        problems.push(format!(
                            "{file}:{line}: link to {target:?}: no heading with the anchor #{fragment}"
                        ));
                    }
                }
            }
        }
        if text.contains("DESIGN.md") {
            problems.push(format!(
                "{file} mentions DESIGN.md, which a clone of the repository does not have; point at docs/ instead"
            ));
        }
    }
    // Nothing in the repository points at the design notes beside it.
    let needle = concat!("..", "/shared/");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text_file = [
                "md", "rs", "toml", "sh", "py", "yml", "yaml", "json", "txt", "html",
            ]
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e));
            if !text_file {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path)
                && text.contains(needle)
            {
                let rel = path.strip_prefix(&root).unwrap_or(&path);
                problems.push(format!(
                    "{} points at {needle}, outside the repository",
                    rel.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn anchors_follow_github() {
    assert_eq!(slug(" `[tls]`"), "tls");
    assert_eq!(
        slug(" Health, metrics and the admin listener"),
        "health-metrics-and-the-admin-listener"
    );
    assert_eq!(
        slug(" latch client rotate-secret"),
        "latch-client-rotate-secret"
    );
    let a = anchors("# A\n## B\n```\n# not a heading\n```\n### B\n");
    assert_eq!(a.into_iter().collect::<Vec<_>>(), ["a", "b", "b-1"]);
}
