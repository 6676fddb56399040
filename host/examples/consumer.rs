//! An application that logs its users in through a Latch (or any
//! DESIGN.md-compatible) provider.
//!
//! ```sh
//! cargo run -p latch-host --example consumer -- --listen 127.0.0.1:9000 \
//!     --provider http://127.0.0.1:8080 --client-id ID --client-secret SECRET \
//!     --protocol oauth1 [--allow-user alice]...
//! ```
//!
//! Routes: `/` (public), `/private` (login required), `/login?next=`,
//! `/callback`, `/logout`. Register `http://ADDR/callback` as the client's
//! redirect URI.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use clap::Parser;
use latch_host::consumer::{Consumer, LoggedIn, NoHooks, Protocol, Settings};
use latch_host::server::pages::escape;
use std::sync::Arc;

#[derive(Parser)]
struct Args {
    /// ADDR:PORT to listen on.
    #[arg(long)]
    listen: std::net::SocketAddr,
    /// The provider's base URL.
    #[arg(long)]
    provider: String,
    /// Client id (OAuth1 consumer key).
    #[arg(long, allow_hyphen_values = true)]
    client_id: String,
    /// Client secret (base64url: it may start with '-').
    #[arg(long, allow_hyphen_values = true)]
    client_secret: String,
    /// Protocol to log in with.
    #[arg(long, value_parser = ["oauth1", "oauth2"])]
    protocol: String,
    /// Only these users may log in (repeatable).
    #[arg(long = "allow-user")]
    allow_users: Vec<String>,
}

async fn home(State(c): State<Arc<Consumer>>, headers: HeaderMap) -> Html<String> {
    Html(match c.session(&headers) {
        Some(l) => format!(
            "<p>Logged in as {}. <a href=\"/private\">Private page</a> · <a href=\"/logout\">Log out</a></p>",
            escape(&l.user)
        ),
        None => "<p><a href=\"/login?next=/private\">Log in</a></p>".to_owned(),
    })
}

async fn private(who: LoggedIn) -> Html<String> {
    Html(format!(
        "<h1>Private</h1><p>User: {}</p><p>Scope: {}</p>",
        escape(&who.user),
        escape(who.scope.as_deref().unwrap_or(""))
    ))
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let base = a.provider.trim_end_matches('/');
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("OS RNG");
    let protocol = if a.protocol == "oauth2" {
        // OAuth2 endpoints come from the RFC 8414 metadata document.
        let m: serde_json::Value =
            reqwest::get(format!("{base}/.well-known/oauth-authorization-server"))
                .await
                .and_then(|r| r.error_for_status())
                .expect("provider metadata")
                .json()
                .await
                .expect("metadata JSON");
        let field = |k: &str| {
            m[k].as_str()
                .unwrap_or_else(|| panic!("metadata lacks {k}"))
                .to_owned()
        };
        Protocol::OAuth2 {
            authorization_endpoint: field("authorization_endpoint"),
            token_endpoint: field("token_endpoint"),
            issuer: Some(field("issuer")),
            scope: None,
        }
    } else {
        Protocol::OAuth1 {
            request_token_url: format!("{base}/oauth1/request_token"),
            authorize_url: format!("{base}/oauth1/authorize"),
            access_token_url: format!("{base}/oauth1/access_token"),
        }
    };
    let settings = Settings {
        client_id: a.client_id,
        client_secret: a.client_secret,
        protocol,
        callback_url: format!("http://{}/callback", a.listen),
        identity_url: format!("{base}/api/info"),
        cookie_key: key,
        secure_cookies: false,
        allowed_users: (!a.allow_users.is_empty()).then(|| a.allow_users.into_iter().collect()),
    };
    let consumer = Consumer::new(settings, NoHooks);
    let app = Router::new()
        .route("/", get(home))
        .route("/private", get(private))
        .with_state(consumer.clone())
        .merge(consumer.router());
    let listener = tokio::net::TcpListener::bind(a.listen).await.expect("bind");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("addr")
    );
    axum::serve(listener, app).await.expect("serve");
}
