//! Running Latch in production (issue 18, the parts that have landed):
//! health endpoints for load balancers, files that keep their secrets to
//! themselves, and JSON logs for collectors.

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

/// `--log-format json`: every log line the server writes is one JSON
/// object (tracing's JSON formatter) with a level and the request's fields,
/// and no secret of the request is in it.
#[tokio::test]
async fn json_logs() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("latch.db").display());
    let mut child = tokio::process::Command::new(latch_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &db,
            "--log-format",
            "json",
        ])
        .env("LATCH_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = out.next_line().await.unwrap().unwrap();
    let base = line.strip_prefix("listening on ").unwrap().to_owned();
    let r = http()
        .post(format!("{base}/oauth2/token"))
        .basic_auth("nobody", Some("hunter2-not-logged"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut lines = Vec::new();
    while let Ok(Some(l)) = err.next_line().await {
        lines.push(l);
    }
    assert!(child.wait().await.unwrap().success());
    assert!(!lines.is_empty());
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let request = parsed
        .iter()
        .find(|v| v["fields"]["message"] == "request" && v["fields"]["path"] == "/oauth2/token")
        .expect("the request's log line");
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["fields"]["status"], 401);
    assert!(
        lines.iter().all(|l| !l.contains("hunter2")),
        "no secret in the logs"
    );
}
