use super::*;
use sqlx::Row;

/// A fresh SQLite database in a temporary directory (kept while the
/// directory lives).
pub(crate) async fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.db").display().to_string();
    let db = Db::open(&DbUrl::Sqlite {
        url: format!("sqlite://{file}"),
        file,
    })
    .await
    .unwrap();
    (dir, db)
}

#[tokio::test]
async fn clients_and_users_round_trip() {
    let (_dir, db) = temp_db().await;
    let c = ClientRow {
        id: "cid".into(),
        name: "App".into(),
        secret_box: Some("box".into()),
        public: false,
        redirect_uris: vec!["https://a/cb".into(), "http://127.0.0.1/cb".into()],
        scope: "read write".into(),
        grant_types: "authorization_code".into(),
        allow_plain_pkce: false,
        allow_no_pkce: true,
        resource_server: true,
        id_token_alg: "ES256".into(),
        post_logout_redirect_uris: vec!["https://a/bye".into()],
        access_token_format: "jwt".into(),
        previous_secret: None,
    };
    db.insert_client(&c).await.unwrap();
    let got = db.client("cid").await.unwrap().unwrap();
    assert_eq!(got.redirect_uris, c.redirect_uris);
    assert_eq!(got.id_token_alg, "ES256");
    assert_eq!(got.access_token_format, "jwt");
    assert_eq!(got.post_logout_redirect_uris, c.post_logout_redirect_uris);
    assert!(got.allow_no_pkce && got.resource_server && !got.allow_plain_pkce);
    assert_eq!(got.secret_box.as_deref(), Some("box"));
    assert!(!got.public);
    assert!(db.client("nope").await.unwrap().is_none());
    assert!(matches!(
        db.insert_client(&c).await,
        Err(DbError::Duplicate(_))
    ));
    let profile = Profile {
        name: Some("Alice Liddell".into()),
        email: Some("alice@example.com".into()),
        email_verified: true,
    };
    db.insert_user("alice", "h", "sub-a", &profile)
        .await
        .unwrap();
    assert!(matches!(
        db.insert_user("alice", "h2", "sub-b", &Profile::default())
            .await,
        Err(DbError::Duplicate(_))
    ));
    assert_eq!(
        db.password_hash("alice").await.unwrap().as_deref(),
        Some("h")
    );
    let u = db.user("alice").await.unwrap().unwrap();
    assert_eq!(u.sub, "sub-a");
    assert_eq!(u.name.as_deref(), Some("Alice Liddell"));
    assert!(u.email_verified);
    // A user from before OpenID Connect gets a sub once, at start.
    sqlx::query("INSERT INTO users (username, password_hash, created_at) VALUES ('old', 'h', 0)")
        .execute(db.writer())
        .await
        .unwrap();
    assert!(db.user("old").await.unwrap().is_none());
    assert_eq!(db.backfill_subs(|| "sub-old".into()).await.unwrap(), 1);
    assert_eq!(db.backfill_subs(|| "again".into()).await.unwrap(), 0);
    assert_eq!(db.user("old").await.unwrap().unwrap().sub, "sub-old");
}

/// Issue 18 item 8: churned short-lived rows do not pile up. Every
/// table with expiring rows gets thousands of expired rows (more than a
/// purge batch) and a few live ones; one purge leaves only the live
/// ones, and each purge query finds its rows through an index.
#[tokio::test]
async fn purge_keeps_tables_bounded() {
    let (_dir, db) = temp_db().await;
    churn_and_purge(&db).await;
    for (table, key, cond) in PURGES {
        let plan: Vec<String> = sqlx::query(&format!(
            "EXPLAIN QUERY PLAN SELECT {key} FROM {table} WHERE {} LIMIT 10",
            cond.replace("$1", "0")
        ))
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
        assert!(
            plan.iter()
                .any(|d| d.contains("USING") && d.contains("INDEX")),
            "{table}: {plan:?}"
        );
    }
}

/// The same churn on PostgreSQL (when the test command started one):
/// the batched `DELETE … IN (SELECT … LIMIT $2)` is portable.
#[tokio::test]
async fn purge_keeps_tables_bounded_on_postgres() {
    let Ok(admin) = std::env::var("LATCH_TEST_PG") else {
        return;
    };
    let name = format!("latch_purge_{}", std::process::id());
    let out = std::process::Command::new("psql")
        .args([
            admin.as_str(),
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let db = Db::open(&DbUrl::Postgres(format!("{base}/{name}")))
        .await
        .unwrap();
    churn_and_purge(&db).await;
}

/// Thousands of expired rows (more than a purge batch) and three live
/// ones in every expiring table; one purge leaves only the live ones.
async fn churn_and_purge(db: &Db) {
    let rows: [(&str, &str); 7] = [
        (
            "oauth2_codes",
            "INSERT INTO oauth2_codes (hash, client_id, subject, scope, redirect_uri, redirect_uri_sent, issued_at, expires_at, consumed) VALUES ($1, 'c', 'u', 's', 'r', 0, 0, $2, 0)",
        ),
        (
            "oauth2_access_tokens",
            "INSERT INTO oauth2_access_tokens (hash, family, client_id, scope, issued_at, expires_at) VALUES ($1, 'f', 'c', 's', 0, $2)",
        ),
        (
            "oauth2_refresh_tokens",
            "INSERT INTO oauth2_refresh_tokens (hash, family, client_id, scope, issued_at, expires_at, retired) VALUES ($1, 'f', 'c', 's', 0, $2, 0)",
        ),
        (
            "oauth2_devices",
            "INSERT INTO oauth2_devices (hash, user_code, client_id, scope, issued_at, expires_at, poll_interval, status) VALUES ($1, 'BCDFGHJK', 'c', 's', 0, $2, 5, 'pending')",
        ),
        (
            "oauth1_temporary",
            "INSERT INTO oauth1_temporary (token_hash, secret_box, client_id, callback, expires_at) VALUES ($1, 'b', 'c', 'oob', $2)",
        ),
        (
            "oauth1_nonces",
            "INSERT INTO oauth1_nonces (nonce_key, forget_after) VALUES ($1, $2)",
        ),
        (
            "login_sessions",
            "INSERT INTO login_sessions (id_hash, username, created_at, expires_at) VALUES ($1, 'u', 0, $2)",
        ),
    ];
    let now = 1_000_000;
    let expired = 2 * PURGE_BATCH + 7;
    for (_, insert) in rows {
        let mut tx = db.writer().begin().await.unwrap();
        for i in 0..expired + 3 {
            // The last three rows are still live.
            let at = if i < expired { now - 1 - i } else { now + 60 };
            sqlx::query(insert)
                .bind(format!("k{i}"))
                .bind(at)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let gone = db.purge_expired(now).await.unwrap();
    assert_eq!(gone, u64::try_from(7 * expired).unwrap());
    for (table, _) in rows {
        let left: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(left, 3, "{table}: only the live rows stay");
    }
    assert_eq!(db.purge_expired(now).await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let (_dir, db) = temp_db().await;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
}
