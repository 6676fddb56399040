//! A crash test: tokens are issued under load, the server is killed with
//! SIGKILL mid-flight, and restarted on the same database. Every token that
//! was answered with 200 must still introspect as active, and the database
//! must be intact.

use latch_tests::{Backend, Server, backends};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test]
async fn tokens_answered_200_survive_kill_9() {
    for backend in backends() {
        let mut server = Server::start_with(backend).await;
        let c = server.add_client(&["--name", "Load", "--scope", "read"]);
        let issued: Arc<Mutex<Vec<String>>> = Arc::default();
        let token_url = server.url("/oauth2/token");
        let mut workers = Vec::new();
        for _ in 0..16 {
            let (issued, url, id, secret) = (
                issued.clone(),
                token_url.clone(),
                c.id.clone(),
                c.secret.clone(),
            );
            workers.push(tokio::spawn(async move {
                let http = latch_tests::http();
                loop {
                    let r = http
                        .post(&url)
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await;
                    // Once the server is gone, connections fail: stop.
                    let Ok(r) = r else { return };
                    if r.status() == 200 {
                        let Ok(body) = r.json::<Value>().await else {
                            return;
                        };
                        let token = body["access_token"]
                            .as_str()
                            .expect("access_token")
                            .to_owned();
                        issued.lock().unwrap().push(token);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill().await;
        for w in workers {
            let _ = w.await;
        }
        let issued = issued.lock().unwrap().clone();
        assert!(
            issued.len() > 100,
            "load was applied: {} tokens",
            issued.len()
        );

        let restarted = Server::start_on(&server.db_args).await;
        let http = latch_tests::http();
        let url = restarted.url("/oauth2/introspect");
        let mut inactive = Vec::new();
        for chunk in issued.chunks(32) {
            let checks = chunk.iter().map(|t| {
                let (http, url, id, secret) = (&http, &url, &c.id, &c.secret);
                async move {
                    let v: Value = http
                        .post(url)
                        .basic_auth(id, Some(secret))
                        .form(&[("token", t.as_str())])
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    (t.clone(), v["active"] == true)
                }
            });
            for (t, active) in futures::future::join_all(checks).await {
                if !active {
                    inactive.push(t);
                }
            }
        }
        assert!(
            inactive.is_empty(),
            "{backend:?}: {} of {} tokens lost after kill -9",
            inactive.len(),
            issued.len()
        );

        if backend == Backend::Sqlite {
            use sqlx::{Connection, Row};
            let mut conn = sqlx::SqliteConnection::connect(&server.db_args[1])
                .await
                .unwrap();
            let row = sqlx::query("PRAGMA integrity_check")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(
                row.get::<String, _>(0),
                "ok",
                "SQLite integrity after kill -9"
            );
        }
        eprintln!(
            "{backend:?}: {} tokens issued before kill -9, all active after restart",
            issued.len()
        );
    }
}
