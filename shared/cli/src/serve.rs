//! `soulprint serve`: the HTTP API and the page, with the workers in the same process; and
//! `soulprint token`, a bearer token for the CLI's local user.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use soulprint_http::{router, Api, RateLimits, Tokens};
use soulprint_local::MemoryWindows;

use crate::local::{runtime, ChatOptions, LocalArgs};

/// Who signs local tokens and whom they are for: checked on every request, as API Gateway's
/// JWT authorizer checks its own issuer and audience.
const ISSUER: &str = "soulprint-local";
const AUDIENCE: &str = "soulprint";

#[derive(clap::Args)]
#[command(
    about = "Serve the HTTP API and the page at http://127.0.0.1:8080/",
    long_about = "Serve SoulPrint's HTTP API (the routes of the OpenAPI document at \
/openapi.json) and a page at / to upload an export, watch the import, read the soulprint, chat \
and browse memory. The workers run in the same process: an import left unfinished by a stopped \
server continues when it starts again.

Every route but /health, /openapi.json and / needs `Authorization: Bearer <JWT>`, signed with \
the key made in the data directory on first run (jwt.key): `soulprint token` prints one for the \
CLI's local user, so the page shows what `soulprint import` imported.",
    after_help = "Examples:\n  soulprint serve\n  soulprint serve --listen 0.0.0.0:8080\n  \
curl -H \"Authorization: Bearer $(soulprint token)\" http://127.0.0.1:8080/imports/latest"
)]
pub struct ServeArgs {
    /// Where to listen.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "SOULPRINT_LISTEN"
    )]
    listen: SocketAddr,
    /// Serve without per-user rate limits (for load tests and contract fuzzing).
    #[arg(long, hide = true)]
    no_rate_limits: bool,
    #[command(flatten)]
    chat: ChatOptions,
    #[command(flatten)]
    local: LocalArgs,
}

#[derive(clap::Args)]
#[command(about = "Print a bearer token for the local user (for the page, curl, or scripts)")]
pub struct TokenArgs {
    /// How long it is valid, in hours.
    #[arg(long, value_name = "HOURS", default_value_t = 24 * 30)]
    hours: i64,
    #[command(flatten)]
    local: LocalArgs,
}

/// The data directory's signing key, made on first use (readable by its owner only).
fn tokens(data_dir: &Path) -> anyhow::Result<Tokens> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let path = data_dir.join("jwt.key");
    let key = match std::fs::read(&path) {
        Ok(key) if key.len() >= 32 => key,
        Ok(_) => anyhow::bail!(
            "{} is too short to be a signing key; delete it to make a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| anyhow::anyhow!("no randomness for a signing key: {e}"))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            use std::io::Write;
            match options.open(&path) {
                Ok(mut file) => file.write_all(&key)?,
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return tokens(data_dir);
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot write {}", path.display()))
                }
            }
            key
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(Tokens::hs256(&key, ISSUER, AUDIENCE))
}

pub fn token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let tokens = tokens(&args.local.data_dir()?)?;
    println!("{}", tokens.issue(&user, time::Duration::hours(args.hours)));
    Ok(ExitCode::SUCCESS)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let tokens = Arc::new(tokens(&args.local.data_dir()?)?);
    let local = args.local.open_for_chat(&args.chat)?;
    let user = args.local.user()?;
    runtime()?.block_on(async {
        let workers = local.start_workers().await?;
        let limits = if args.no_rate_limits {
            RateLimits::off()
        } else {
            RateLimits::new(Arc::new(MemoryWindows::default()))
        };
        let api = Arc::new(Api::new(local.ports.clone(), limits));
        let app = router(api, Arc::clone(&tokens));
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        // The page signs in with the token in the address's fragment (never sent to a server).
        let page_token = tokens.issue(&user, time::Duration::days(30));
        eprintln!(
            "SoulPrint on http://{addr}/ (stop with Ctrl-C)\nOpen http://{addr}/#token={page_token} \
             to sign in as the local user; `soulprint token` prints another.",
            addr = listener.local_addr()?
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        workers.stop(Duration::from_secs(10)).await;
        Ok(ExitCode::SUCCESS)
    })
}
