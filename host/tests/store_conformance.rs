//! The core's `Store` contract (`latch_core::oauth2::conformance`) against
//! the SQL store, on SQLite and — when the test command started one
//! (`LATCH_TEST_PG`) — PostgreSQL: the same scenario list `MemoryStore`
//! passes in the core's own tests.
//!
//! The server answers the core's state machines with async queries; here
//! a thin adapter implements the core's synchronous `Store` trait on top of
//! the same `Db` methods the handlers call (`oauth2_grant`,
//! `oauth2_token`, `oauth2_device_by_user_code`, `apply`), blocking on a
//! runtime, so what is tested is the server's own SQL.

use latch_core::UnixTime;
use latch_core::oauth2::conformance::{self, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SCOPE};
use latch_core::oauth2::{
    ClientRecord, DeviceRecord, GrantKind, GrantRecord, Store, StoreError, TokenHash, TokenRecord,
    UserCode, Write, Writes,
};
use latch_host::config::DbUrl;
use latch_host::crypto::SecretBox;
use latch_host::storage::{ClientRow, Db};

struct SqlStore {
    rt: tokio::runtime::Runtime,
    db: Db,
    sealed: SecretBox,
}

impl Store for SqlStore {
    fn client(&self, client_id: &str) -> Option<ClientRecord> {
        let row = self.rt.block_on(self.db.client(client_id)).ok()??;
        latch_host::storage::client_record(&row, &self.sealed, false).ok()?
    }

    fn grant(&self, kind: GrantKind, hash: &TokenHash) -> Option<GrantRecord> {
        self.rt.block_on(self.db.oauth2_grant(kind, hash)).ok()?
    }

    fn token(&self, hash: &TokenHash) -> Option<TokenRecord> {
        self.rt.block_on(self.db.oauth2_token(hash)).ok()?
    }

    fn device_by_user_code(&self, code: &UserCode, now: UnixTime) -> Option<DeviceRecord> {
        self.rt
            .block_on(self.db.oauth2_device_by_user_code(code, now))
            .ok()?
    }

    fn apply(&mut self, write: &Write) -> Result<(), StoreError> {
        Ok(self
            .rt
            .block_on(self.db.apply(std::slice::from_ref(write)))?)
    }

    fn apply_all(&mut self, writes: &Writes) -> Result<(), StoreError> {
        Ok(self.rt.block_on(self.db.apply(writes.as_slice()))?)
    }
}

fn open(url: DbUrl) -> SqlStore {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(Db::open(&url)).unwrap();
    let sealed = SecretBox::new(&[7; 32]);
    rt.block_on(db.insert_client(&ClientRow {
        id: CLIENT_ID.into(),
        name: "Conformance".into(),
        secret_box: Some(sealed.seal(CLIENT_ID, CLIENT_SECRET).unwrap()),
        public: false,
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: SCOPE.into(),
        grant_types: "authorization_code refresh_token client_credentials urn:ietf:params:oauth:grant-type:device_code".into(),
        allow_plain_pkce: false,
        allow_no_pkce: false,
        resource_server: false,
        id_token_alg: "RS256".into(),
        post_logout_redirect_uris: vec![],
        access_token_format: "default".into(),
        previous_secret: None,
    }))
    .unwrap();
    SqlStore { rt, db, sealed }
}

fn passes(mut store: SqlStore) {
    let ran = conformance::run_all(&mut store).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(ran, conformance::SCENARIOS.len());
    store.rt.block_on(store.db.close());
}

#[test]
fn sqlite_store_passes_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conformance.db").display().to_string();
    passes(open(DbUrl::Sqlite {
        url: format!("sqlite://{file}"),
        file,
    }));
}

#[test]
fn postgres_store_passes_the_store_contract() {
    let Ok(admin) = std::env::var("LATCH_TEST_PG") else {
        eprintln!("LATCH_TEST_PG not set: PostgreSQL part skipped (the test command sets it)");
        return;
    };
    let name = format!("latch_conformance_{}", std::process::id());
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .args([admin.as_str(), "-q", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    psql(&format!("CREATE DATABASE {name}"));
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    passes(open(DbUrl::Postgres(format!("{base}/{name}"))));
    psql(&format!("DROP DATABASE {name}"));
}
