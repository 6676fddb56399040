//! The `latch` command line (DESIGN.md, "CLI contract").

use clap::{Parser, Subcommand, error::ErrorKind};
use latch_host::admin::{self, AdminError, NewClient, ops, render};
use latch_host::config::{self, FileConfig};
use latch_host::sign::{SignInput, authorization_header};
use latch_host::storage::Db;
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: under issuance load glibc's
/// `malloc`/`free` (arena locks, consolidation) were a tenth of the
/// server's samples (bench/NOTES.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Revoke tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// See what users granted to clients.
    #[command(subcommand)]
    Grant(GrantCommand),
}

/// `--password P | --password-stdin` (`user add`, `user passwd`).
#[derive(clap::Args)]
struct PasswordArgs {
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
}

/// `--json`: machine-readable output instead of a table.
#[derive(clap::Args)]
struct JsonFlag {
    /// Print JSON instead of a readable table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Revoke everything issued to a client, everything a user holds, or
    /// one token (with its whole refresh family).
    Revoke {
        /// Every token, code and device code issued to this client.
        #[arg(long, value_name = "ID", group = "target", allow_hyphen_values = true)]
        client: Option<String>,
        /// Every token this user holds, with any client.
        #[arg(
            long,
            value_name = "NAME",
            group = "target",
            allow_hyphen_values = true
        )]
        user: Option<String>,
        /// One access or refresh token (OAuth 2.0: its whole family) or OAuth 1.0a token.
        #[arg(long, value_name = "T", group = "target", allow_hyphen_values = true)]
        token: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum GrantCommand {
    /// List what users approved for clients and still hold.
    List {
        /// Only this user's grants.
        #[arg(
            long,
            value_name = "NAME",
            conflicts_with = "client",
            allow_hyphen_values = true
        )]
        user: Option<String>,
        /// Only grants to this client.
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        client: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
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
    /// List the registered clients.
    List {
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show one client (never its secret).
    Show {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Change a client; lists given replace the registered ones.
    Update {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// Redirect URI; repeatable; replaces the registered list.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Allowed scopes, space-separated.
        #[arg(long)]
        scope: Option<String>,
        /// Post-logout redirect URI; repeatable; replaces the registered list.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// The id_token signing algorithm: RS256, ES256 or EdDSA.
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        /// opaque or jwt.
        #[arg(long, value_name = "FORMAT")]
        access_token_format: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a client and revoke everything issued to it.
    Remove {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Give a confidential client a new secret; prints
    /// {"client_id": ..., "client_secret": ...}.
    RotateSecret {
        /// The client_id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Seconds the old secret keeps working (OAuth 2.0 client
        /// authentication; default 0: it stops at once; at most 30 days).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        grace: u64,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user who can log in on the consent pages.
    Add {
        /// The user name.
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
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
    /// List the users.
    List {
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a user's password.
    Passwd {
        /// The user name.
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Stop a user from logging in; revokes what they hold and ends their sessions.
    Disable {
        /// The user name.
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        out: JsonFlag,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Let a disabled user log in again.
    Enable {
        /// The user name.
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a user, revoking what they hold and ending their sessions.
    Remove {
        /// The user name.
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        out: JsonFlag,
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

/// Opens the database, runs `f`, closes the database (flushing SQLite).
fn with_db(
    args: &DbArgs,
    f: impl AsyncFnOnce(&Db, &latch_host::keys::Keys) -> Result<(), AdminError>,
) -> ExitCode {
    admin_result(runtime().block_on(async {
        let (db, keys) = open(args).await?;
        let r = f(&db, &keys).await;
        db.close().await;
        r
    }))
}

/// The audit log's actor for a command-line change: `cli:` and the OS user.
fn cli_actor() -> String {
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{who}")
}

/// Records a change in the audit log (the operation named the event) and
/// hands back its result.
async fn audited<T>(db: &Db, change: ops::Change<T>) -> Result<T, AdminError> {
    latch_host::audit::record_now(db, change.event).await?;
    Ok(change.value)
}

/// Prints `value` as one line of JSON, or `readable` without `--json`.
fn print<T: serde::Serialize>(out: &JsonFlag, value: &T, readable: impl FnOnce(&T) -> String) {
    if out.json {
        println!("{}", serde_json::to_string(value).unwrap_or_default());
    } else {
        println!("{}", readable(value));
    }
}

/// A password from `--password` or the first line of standard input.
fn read_password(password: Option<String>) -> Result<String, ExitCode> {
    let password = match password {
        Some(p) => p,
        None => {
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                return Err(fail(&format!("cannot read the password from stdin: {e}")));
            }
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        return Err(fail("the password must not be empty"));
    }
    Ok(password)
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
            with_db(&db, async |db, keys| {
                let added =
                    audited(db, ops::add_client(db, keys, &new, &cli_actor()).await?).await?;
                println!("{}", serde_json::to_string(&added).unwrap_or_default());
                Ok(())
            })
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
            with_db(&db, async |database, keys| {
                let sealed = latch_host::crypto::SecretBox::new(&keys.secret_box);
                let now = latch_host::storage::unix_now();
                let kids = latch_host::signing::rotate(database, &sealed, now, delay, lifetime)
                    .await
                    .map_err(|e| AdminError::Input(e.to_string()))?;
                for kid in kids {
                    println!("{kid}");
                }
                Ok(())
            })
        }
        Command::Client(ClientCommand::List { out, db }) => with_db(&db, async |db, _| {
            print(&out, &db.list_clients().await?, |l| render::clients(l));
            Ok(())
        }),
        Command::Client(ClientCommand::Show { id, out, db }) => with_db(&db, async |db, _| {
            print(&out, &ops::show_client(db, &id).await?, render::client);
            Ok(())
        }),
        Command::Client(ClientCommand::Update {
            id,
            name,
            redirect_uris,
            scope,
            post_logout_redirect_uris,
            id_token_alg,
            access_token_format,
            out,
            db,
        }) => {
            let update = ops::ClientUpdate {
                name,
                redirect_uris: (!redirect_uris.is_empty()).then_some(redirect_uris),
                scope,
                post_logout_redirect_uris: (!post_logout_redirect_uris.is_empty())
                    .then_some(post_logout_redirect_uris),
                id_token_alg,
                access_token_format,
            };
            with_db(&db, async |db, _| {
                let c = audited(
                    db,
                    ops::update_client(db, &id, &update, &cli_actor()).await?,
                )
                .await?;
                print(&out, &c, render::client);
                Ok(())
            })
        }
        Command::Client(ClientCommand::Remove { id, out, db }) => with_db(&db, async |db, _| {
            let r = audited(db, ops::remove_client(db, &id, &cli_actor()).await?).await?;
            print(&out, &r, |r| {
                render::revoked(&format!("removed client {id}"), r)
            });
            Ok(())
        }),
        Command::Client(ClientCommand::RotateSecret { id, grace, db }) => {
            with_db(&db, async |db, keys| {
                let rotated = audited(
                    db,
                    ops::rotate_secret(db, keys, &id, grace, &cli_actor()).await?,
                )
                .await?;
                println!("{}", serde_json::to_string(&rotated).unwrap_or_default());
                Ok(())
            })
        }
        Command::User(UserCommand::List { out, db }) => with_db(&db, async |db, _| {
            print(&out, &db.list_users().await?, |l| render::users(l));
            Ok(())
        }),
        Command::User(UserCommand::Passwd {
            username,
            password,
            db,
        }) => {
            let password = match read_password(password.password) {
                Ok(p) => p,
                Err(code) => return code,
            };
            with_db(&db, async |db, _| {
                audited(
                    db,
                    ops::set_password(db, &username, &password, &cli_actor()).await?,
                )
                .await
            })
        }
        Command::User(UserCommand::Disable { username, out, db }) => with_db(&db, async |db, _| {
            let r = audited(
                db,
                ops::set_disabled(db, &username, true, &cli_actor()).await?,
            )
            .await?;
            print(&out, &r, |r| {
                render::revoked(&format!("disabled user {username}"), r)
            });
            Ok(())
        }),
        Command::User(UserCommand::Enable { username, db }) => with_db(&db, async |db, _| {
            audited(
                db,
                ops::set_disabled(db, &username, false, &cli_actor()).await?,
            )
            .await?;
            Ok(())
        }),
        Command::User(UserCommand::Remove { username, out, db }) => with_db(&db, async |db, _| {
            let r = audited(db, ops::remove_user(db, &username, &cli_actor()).await?).await?;
            print(&out, &r, |r| {
                render::revoked(&format!("removed user {username}"), r)
            });
            Ok(())
        }),
        Command::Token(TokenCommand::Revoke {
            client,
            user,
            token,
            out,
            db,
        }) => {
            let target = match (client, user, token) {
                (Some(c), None, None) => ops::Target::Client(c),
                (None, Some(u), None) => ops::Target::User(u),
                (None, None, Some(t)) => ops::Target::Token(t),
                _ => return fail("token revoke needs exactly one of --client, --user, --token"),
            };
            with_db(&db, async |db, _| {
                let r = audited(db, ops::revoke(db, &target, &cli_actor()).await?).await?;
                print(&out, &r, |r| format!("revoked {}", r.summary()));
                Ok(())
            })
        }
        Command::Grant(GrantCommand::List {
            user,
            client,
            out,
            db,
        }) => with_db(&db, async |db, _| {
            let grants = ops::grants(db, user.as_deref(), client.as_deref()).await?;
            print(&out, &grants, |g| render::grants(g));
            Ok(())
        }),
        Command::User(UserCommand::Add {
            username,
            password,
            name,
            email,
            email_verified,
            db,
        }) => {
            let profile = latch_host::storage::Profile {
                name,
                email,
                email_verified,
            };
            if let Err(e) = admin::check_profile(&profile) {
                return fail_with(e.exit_code(), &e.to_string());
            }
            let password = match read_password(password.password) {
                Ok(p) => p,
                Err(code) => return code,
            };
            if let Err(e) = admin::check_username(&username) {
                return fail_with(e.exit_code(), &e.to_string());
            }
            with_db(&db, async |db, _| {
                audited(
                    db,
                    ops::add_user(db, &username, &password, &profile, &cli_actor()).await?,
                )
                .await
            })
        }
    }
}
