//! The `latch` command line (DESIGN.md, "CLI contract").

use clap::{Parser, Subcommand, error::ErrorKind};
use latch_host::admin::{self, AdminError, NewClient};
use latch_host::config::{self, FileConfig};
use latch_host::db::Db;
use latch_host::sign::{SignInput, authorization_header};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "latch",
    version,
    about = "Latch: OAuth 1.0a and OAuth 2.0, from firmware to server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the authorization server.
    Serve {
        /// Configuration file (TOML); flags override it.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// ADDR:PORT to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Database URL (default sqlite://latch.db, created if missing).
        #[arg(long)]
        db: Option<String>,
        /// Issuer URL (default https://ADDR:PORT with TLS, http://ADDR:PORT without).
        #[arg(long)]
        issuer: Option<String>,
        /// TLS certificate chain, PEM, leaf first (with --tls-key).
        #[arg(long, requires = "tls_key", value_name = "FILE")]
        tls_cert: Option<std::path::PathBuf>,
        /// TLS private key, PEM: PKCS#8, SEC1 or PKCS#1 (with --tls-cert).
        #[arg(long, requires = "tls_cert", value_name = "FILE")]
        tls_key: Option<std::path::PathBuf>,
        /// Serve TLS with a local CA and certificate made on start (kept beside the keys).
        #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
        tls_self_signed: bool,
        /// Allow plain HTTP on a non-loopback address (lab networks only).
        #[arg(long)]
        allow_insecure_http: bool,
        /// Log lines on stderr: readable text (default) or one JSON object per line.
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Print the OAuth 1.0a Authorization header value for a request.
    Sign(SignArgs),
    /// Manage registered clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the id_token / JWT signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (tracing-subscriber's JSON formatter), for
    /// log collectors.
    Json,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key per algorithm (RS256, ES256, EdDSA) and print
    /// their kids, one per line; they sign after `[oauth2]
    /// key_rotation_delay` seconds, and the old keys leave the JWK Set after
    /// the longest token lifetime.
    Rotate {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Where the database is: `--db URL` or `--config FILE`.
#[derive(clap::Args)]
struct DbArgs {
    /// Database URL (sqlite://FILE or postgres://...); default sqlite://latch.db.
    #[arg(long, conflicts_with = "config")]
    db: Option<String>,
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; prints {"client_id": ..., "client_secret": ...}.
    Add {
        /// Display name shown on the consent page.
        #[arg(long)]
        name: String,
        /// Allowed redirect URI (also an allowed OAuth1 callback); repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Allowed scopes, space-separated.
        #[arg(long)]
        scope: Option<String>,
        /// A public client: no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// May introspect tokens issued to any client (a resource server).
        #[arg(long)]
        resource_server: bool,
        /// A legacy confidential client exempt from the PKCE requirement.
        #[arg(long)]
        allow_no_pkce: bool,
        /// The id_token signing algorithm: RS256 (default), ES256 or EdDSA.
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        /// Where OpenID RP-initiated logout may send the browser; repeatable.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Access tokens for this client: opaque or jwt (RFC 9068); default: the server's `[oauth2] access_token_format`.
        #[arg(long, value_name = "FORMAT")]
        access_token_format: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user who can log in on the consent pages.
    Add {
        /// The user name.
        username: String,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(
            long,
            required_unless_present = "password_stdin",
            conflicts_with = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Full name (the OpenID Connect claim `name`).
        #[arg(long)]
        name: Option<String>,
        /// E-mail address (the OpenID Connect claim `email`).
        #[arg(long)]
        email: Option<String>,
        /// The e-mail address is verified (`email_verified`: true).
        #[arg(long)]
        email_verified: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(clap::Args)]
struct SignArgs {
    /// HTTP method (GET, POST, ...).
    #[arg(long)]
    method: String,
    /// Absolute http(s) URL; its query parameters are signed.
    #[arg(long)]
    url: String,
    /// Consumer (client) key.
    #[arg(long, allow_hyphen_values = true)]
    consumer_key: String,
    /// Consumer (client) secret.
    #[arg(long, allow_hyphen_values = true)]
    consumer_secret: String,
    /// Token (temporary or access).
    #[arg(long, requires = "token_secret", allow_hyphen_values = true)]
    token: Option<String>,
    /// Token secret.
    #[arg(long, requires = "token", allow_hyphen_values = true)]
    token_secret: Option<String>,
    /// HMAC-SHA1 (default), HMAC-SHA256 or PLAINTEXT.
    #[arg(long)]
    signature_method: Option<String>,
    /// Nonce; 128 random bits from the OS when omitted.
    #[arg(long)]
    nonce: Option<String>,
    /// Timestamp in seconds since the epoch; now when omitted.
    #[arg(long)]
    timestamp: Option<u64>,
    /// realm, sent in the header and not signed.
    #[arg(long)]
    realm: Option<String>,
    /// oauth_callback.
    #[arg(long)]
    callback: Option<String>,
    /// oauth_verifier.
    #[arg(long)]
    verifier: Option<String>,
    /// A form-body parameter as name=value (raw text, split at the first '='); repeatable.
    #[arg(long = "body-param", value_name = "NAME=VALUE")]
    body_params: Vec<String>,
    /// Send oauth_version="1.0" (optional in RFC 5849, left out by default).
    #[arg(long)]
    oauth_version: bool,
}

fn fail(message: &str) -> ExitCode {
    fail_with(2, message)
}

fn fail_with(code: u8, message: &str) -> ExitCode {
    eprintln!("latch: {message}");
    ExitCode::from(code)
}

/// Opens the database and keys named by `--db` / `--config`.
async fn open(args: &DbArgs) -> Result<(Db, latch_host::keys::Keys), AdminError> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let url = config::resolve_db(args.db.as_deref(), &file)?;
    // Keys first: a bad key configuration must not leave a new empty database.
    let keys = admin::resolve_keys(&file, &url)?;
    let db = Db::open(&url).await?;
    Ok((db, keys))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("latch: cannot start the async runtime: {e}");
            std::process::exit(1)
        })
}

fn admin_result(r: Result<(), AdminError>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail_with(e.exit_code(), &e.to_string()),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            // One line: clap's message up to its usage block, joined.
            let rendered = e.to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            return fail(message.join(" ").trim_start_matches("error: "));
        }
    };
    match cli.command {
        Command::Serve {
            config,
            listen,
            db,
            issuer,
            tls_cert,
            tls_key,
            tls_self_signed,
            allow_insecure_http,
            log_format,
        } => {
            let filter = tracing_subscriber::EnvFilter::try_from_env("LATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
            let logs = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr);
            match log_format {
                LogFormat::Json => logs.json().with_current_span(false).init(),
                LogFormat::Text => logs
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .init(),
            }
            let args = latch_host::server::ServeArgs {
                config,
                listen,
                db,
                issuer,
                tls_cert,
                tls_key,
                tls_self_signed,
                allow_insecure_http,
            };
            admin_result(runtime().block_on(latch_host::server::serve(args)))
        }
        Command::Sign(a) => {
            let input = SignInput {
                method: a.method,
                url: a.url,
                consumer_key: a.consumer_key,
                consumer_secret: a.consumer_secret,
                token: a.token,
                token_secret: a.token_secret,
                signature_method: a.signature_method,
                nonce: a.nonce,
                timestamp: a.timestamp,
                realm: a.realm,
                callback: a.callback,
                verifier: a.verifier,
                body_params: a.body_params,
                oauth_version: a.oauth_version,
            };
            match authorization_header(&input) {
                Ok(header) => {
                    println!("{header}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("sign: {e}")),
            }
        }
        Command::Client(ClientCommand::Add {
            name,
            redirect_uris,
            scope,
            public,
            resource_server,
            allow_no_pkce,
            id_token_alg,
            post_logout_redirect_uris,
            access_token_format,
            db,
        }) => {
            let new = NewClient {
                name,
                redirect_uris,
                scope,
                public,
                allow_no_pkce,
                resource_server,
                id_token_alg,
                post_logout_redirect_uris,
                access_token_format,
            };
            if let Err(e) = admin::check_client(&new) {
                return fail_with(e.exit_code(), &e.to_string());
            }
            admin_result(runtime().block_on(async {
                let (db, keys) = open(&db).await?;
                let issued = admin::add_client(&db, &keys, &new).await;
                db.close().await;
                let issued = issued?;
                println!("{}", serde_json::to_string(&issued).unwrap_or_default());
                Ok(())
            }))
        }
        Command::Keys(KeysCommand::Rotate { db }) => {
            let file = match &db.config {
                Some(path) => match FileConfig::load(path) {
                    Ok(f) => f,
                    Err(e) => return fail(&e.to_string()),
                },
                None => FileConfig::default(),
            };
            let (delay, lifetime) = match &file.oauth2 {
                Some(o) => match o.policy() {
                    Ok(p) => (o.key_rotation_delay(), p.access_token_ttl),
                    Err(e) => return fail(&e.to_string()),
                },
                None => (
                    config::DEFAULT_KEY_ROTATION_DELAY,
                    latch_core::oauth2::Policy::DEFAULT.access_token_ttl,
                ),
            };
            admin_result(runtime().block_on(async {
                let (database, keys) = open(&db).await?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                let sealed = latch_host::crypto::SecretBox::new(&keys.secret_box);
                let rotated =
                    latch_host::signing::rotate(&database, &sealed, now, delay, lifetime).await;
                database.close().await;
                let kids = rotated.map_err(|e| AdminError::Input(e.to_string()))?;
                for kid in kids {
                    println!("{kid}");
                }
                Ok(())
            }))
        }
        Command::User(UserCommand::Add {
            username,
            password,
            password_stdin,
            name,
            email,
            email_verified,
            db,
        }) => {
            let profile = latch_host::db::Profile {
                name,
                email,
                email_verified,
            };
            if let Err(e) = admin::check_profile(&profile) {
                return fail_with(e.exit_code(), &e.to_string());
            }
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, _) => {
                    let mut line = String::new();
                    if let Err(e) = std::io::stdin().read_line(&mut line) {
                        return fail(&format!("cannot read the password from stdin: {e}"));
                    }
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            if let Err(e) = admin::check_username(&username) {
                return fail_with(e.exit_code(), &e.to_string());
            }
            if password.is_empty() {
                return fail("the password must not be empty");
            }
            admin_result(runtime().block_on(async {
                let (db, _keys) = open(&db).await?;
                let added = admin::add_user(&db, &username, &password, &profile).await;
                db.close().await;
                added
            }))
        }
    }
}
