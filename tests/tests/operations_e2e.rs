//! Running Latch in production (issue 18, the parts that have landed):
//! health endpoints for load balancers, and files that keep their secrets
//! to themselves.

use latch_tests::{Server, backends, http, latch_bin};
use serde_json::Value;

/// `/healthz` says the process is up; `/readyz` that the database answers,
/// its migrations are current and the keys are loaded.
#[tokio::test]
async fn health_and_readiness() {
    for backend in backends() {
        let server = Server::start_with(backend).await;
        let r = http().get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
        let r = http().get(server.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "ready");
        assert_eq!(v["checks"]["migrations"], "ok");
    }
}

/// A new SQLite database is created 0600, and a key file that group or
/// others can read is refused at start (as ssh refuses such a key), with
/// one line and exit 2, by the server and by the CLI.
#[cfg(unix)]
#[tokio::test]
async fn database_file_0600_and_lax_key_file_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("latch.db");
    let db_args = vec!["--db".to_owned(), format!("sqlite://{}", db_file.display())];
    let mut server = Server::start_on(&db_args).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db_file), 0o600, "database file");
    let keys = dir.path().join("latch.db.keys.toml");
    assert_eq!(mode(&keys), 0o600, "generated key file");
    assert!(server.terminate().await.success());

    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [
        vec!["serve", "--listen", "127.0.0.1:0", "--db"],
        vec!["client", "add", "--name", "X", "--db"],
    ] {
        let out = std::process::Command::new(latch_bin())
            .args(&args)
            .arg(format!("sqlite://{}", db_file.display()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("chmod 600"), "{err}");
    }
}
