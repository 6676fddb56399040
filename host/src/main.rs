//! The `latch` command line (DESIGN.md, "CLI contract").

use clap::{Parser, Subcommand, error::ErrorKind};
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
    /// Print the OAuth 1.0a Authorization header value for a request.
    Sign(SignArgs),
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
    #[arg(long)]
    consumer_key: String,
    /// Consumer (client) secret.
    #[arg(long)]
    consumer_secret: String,
    /// Token (temporary or access).
    #[arg(long, requires = "token_secret")]
    token: Option<String>,
    /// Token secret.
    #[arg(long, requires = "token")]
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
    eprintln!("latch: {message}");
    ExitCode::from(2)
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
    }
}
