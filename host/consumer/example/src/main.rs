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
//!
//! The provider is reached over https (rustls, the platform's roots plus
//! `--ca FILE`, repeatable); a plain `http://` provider is accepted only on
//! loopback. Bad arguments or an unusable provider: one line, exit 2.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use clap::Parser;
use latch_host::consumer::{Consumer, LoggedIn, NoHooks, Outbound, Protocol, Settings};
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
    /// Also trust the CA certificates in this PEM file (repeatable).
    #[arg(long = "ca", value_name = "FILE")]
    cas: Vec<std::path::PathBuf>,
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("consumer: {message}");
    std::process::exit(2)
}

async fn home(State(c): State<Arc<Consumer>>, headers: HeaderMap) -> Html<String> {
    Html(match c.session(&headers) {
        Some(l) => format!(
            "<p>Logged in as {}. <a href=\"/private\">Private page</a></p>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Log out</button></form>",
            escape(&l.user),
            escape(&c.logout_token(&headers).unwrap_or_default())
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
    getrandom::fill(&mut key).unwrap_or_else(|e| fail(format!("OS RNG: {e}")));
    let mut outbound = Outbound::default();
    for ca in &a.cas {
        outbound = outbound.trust_pem_file(ca).unwrap_or_else(|e| fail(e));
    }
    // Refused before any request: a non-loopback http:// provider.
    let metadata_url = format!("{base}/.well-known/oauth-authorization-server");
    latch_host::consumer::outbound::check_url("--provider", &metadata_url)
        .unwrap_or_else(|e| fail(e));
    let protocol = if a.protocol == "oauth2" {
        // OAuth2 endpoints come from the RFC 8414 metadata document.
        let http = outbound.client().unwrap_or_else(|e| fail(e));
        let m: serde_json::Value = match http.get(&metadata_url).send().await {
            Ok(r) if r.status().is_success() => r
                .json()
                .await
                .unwrap_or_else(|e| fail(format!("provider metadata {metadata_url}: {e}"))),
            Ok(r) => fail(format!("provider metadata {metadata_url}: {}", r.status())),
            Err(e) => fail(format!("provider metadata {metadata_url}: {e}")),
        };
        let field = |k: &str| {
            m[k].as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| fail(format!("provider metadata lacks {k}")))
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
        outbound,
    };
    let consumer = Consumer::new(settings, NoHooks).unwrap_or_else(|e| fail(e));
    let app = Router::new()
        .route("/", get(home))
        .route("/private", get(private))
        .with_state(consumer.clone())
        .merge(consumer.router());
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {}: {e}", a.listen)));
    let local = listener
        .local_addr()
        .unwrap_or_else(|e| fail(format!("cannot read the bound address: {e}")));
    println!("listening on http://{local}");
    // ConnectInfo lets the consumer rate-limit login starts per address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("consumer: {e}");
        std::process::exit(1);
    }
}
