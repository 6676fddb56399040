//! Issue 15, item 1: an app that only logs users in compiles none of the
//! server's dependencies. `cargo tree` of `latch-consumer` (default
//! features) has no sqlx, argon2 or clap; the example app, which chose the
//! SQLite session store, adds sqlx and nothing else of the server's.

fn normal_deps(package: &str) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree", "-q", "-p", package, "-e", "normal", "--prefix", "none",
        ])
        .arg("--format")
        .arg("{p}")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn has(deps: &[String], name: &str) -> bool {
    deps.iter().any(|d| d == name)
}

#[test]
fn the_consumer_crate_compiles_none_of_the_server() {
    let deps = normal_deps("latch-consumer");
    for needed in ["latch-core", "axum", "reqwest", "rustls", "tower-sessions"] {
        assert!(has(&deps, needed), "{needed} missing from {deps:?}");
    }
    for server_only in [
        "latch-host",
        "sqlx",
        "sqlx-core",
        "argon2",
        "clap",
        "rusqlite",
    ] {
        assert!(
            !has(&deps, server_only),
            "latch-consumer pulls in {server_only}"
        );
    }
}

#[test]
fn the_example_app_adds_only_sqlx_for_its_sql_sessions() {
    let deps = normal_deps("latch-consumer-example");
    assert!(has(&deps, "latch-consumer"));
    assert!(
        has(&deps, "sqlx"),
        "the example chose the SQLite session store"
    );
    for server_only in ["latch-host", "argon2", "clap", "rusqlite"] {
        assert!(
            !has(&deps, server_only),
            "the example app pulls in {server_only}"
        );
    }
}
