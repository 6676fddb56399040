//! `latch client add` / `latch user add` as a user runs them.

use assert_cmd::Command;

fn latch() -> Command {
    Command::cargo_bin("latch").unwrap()
}

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("latch.db").display())
}

#[test]
fn client_add_prints_credentials_and_seals_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = latch()
        .args([
            "client",
            "add",
            "--name",
            "My App",
            "--redirect-uri",
            "https://app.example/cb",
        ])
        .args([
            "--redirect-uri",
            "http://127.0.0.1:9000/callback",
            "--scope",
            "read write",
            "--db",
        ])
        .arg(db_url(&dir))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = json["client_id"].as_str().unwrap();
    let secret = json["client_secret"].as_str().unwrap();
    assert!(id.len() >= 22 && secret.len() >= 43, "{json}");
    // The secret is not stored in clear, and the key file is private.
    let db = std::fs::read(dir.path().join("latch.db")).unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let keys = dir.path().join("latch.db.keys.toml");
        assert_eq!(
            std::fs::metadata(keys).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn public_client_has_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = latch()
        .args(["client", "add", "--name", "CLI", "--public", "--db"])
        .arg(db_url(&dir))
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.get("client_secret").is_none(), "{json}");
}

fn refused(args: &[&str], dir: &tempfile::TempDir, needle: &str) {
    let out = latch()
        .args(args)
        .arg("--db")
        .arg(db_url(dir))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
}

#[test]
fn bad_input_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &[
            "client",
            "add",
            "--name",
            "X",
            "--redirect-uri",
            "/relative",
        ],
        &dir,
        "--redirect-uri",
    );
    refused(
        &[
            "client",
            "add",
            "--name",
            "X",
            "--redirect-uri",
            "https://a/cb#frag",
        ],
        &dir,
        "fragment",
    );
    // Hardening item 6: plain http only to loopback.
    for uri in [
        "http://app.example/cb",
        "http://192.168.1.5/cb",
        "myapp:/cb",
    ] {
        refused(
            &["client", "add", "--name", "X", "--redirect-uri", uri],
            &dir,
            "--redirect-uri",
        );
    }
    refused(
        &[
            "client",
            "add",
            "--name",
            "X",
            "--public",
            "--resource-server",
        ],
        &dir,
        "confidential",
    );
    refused(
        &["client", "add", "--name", "X", "--scope", "bad\"scope"],
        &dir,
        "scope",
    );
    refused(&["client", "add", "--name", " "], &dir, "--name");
    refused(
        &["user", "add", "has space", "--password", "x"],
        &dir,
        "USERNAME",
    );
    refused(&["user", "add", "bob"], &dir, "--password");
    assert!(
        !dir.path().join("latch.db").exists(),
        "no database is created for bad input"
    );
}

#[test]
fn users_are_added_once() {
    let dir = tempfile::tempdir().unwrap();
    let ok = latch()
        .args(["user", "add", "alice", "--password-stdin", "--db"])
        .arg(db_url(&dir))
        .write_stdin("correct horse\n")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    refused(
        &["user", "add", "alice", "--password", "other"],
        &dir,
        "already exists",
    );
    let db = std::fs::read(dir.path().join("latch.db")).unwrap();
    assert!(
        !db.windows(13).any(|w| w == b"correct horse"),
        "password stored hashed"
    );
}

#[test]
fn bad_database_url_is_input_error() {
    let out = latch()
        .args(["user", "add", "a", "--password", "b", "--db", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}
