//! `soulprint serve`: the HTTP API and the page, with the workers in the same process; and
//! `soulprint token`, a bearer token for the CLI's local user.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use soulprint_http::upload_limits::UploadQuota;
use soulprint_http::{router, Api, RateLimits, Tokens};
use soulprint_local::MemoryWindows;

use crate::http_server::{self, ConnectionLimits};
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
    /// Open connections at most; past it a new one gets 503 at once.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Open connections from one client address at most (a client cannot take every slot).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_address: u32,
    /// Seconds a client has to send a request's headers (an idle connection is closed after
    /// as long).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    header_timeout: u64,
    /// Seconds a request body may pause between two pieces before the request is answered
    /// 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    body_timeout: u64,
    /// Imports one person may start a day (with --spend-per-month; none by default: on your own
    /// machine the spend is yours to watch).
    #[arg(long, value_name = "N", requires = "spend_per_month")]
    imports_per_day: Option<u32>,
    /// US dollars of model spend (at --model-price) one person's imports may reach a month.
    #[arg(long, value_name = "USD", requires = "imports_per_day")]
    spend_per_month: Option<f64>,
    /// Unfinished uploads one person may have at once.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    max_open_uploads: u32,
    /// Bytes one person's unfinished uploads may declare in all, in GiB.
    #[arg(long, value_name = "GIB", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1024))]
    upload_quota_gib: u64,
    #[command(flatten)]
    chat: ChatOptions,
    #[command(flatten)]
    local: LocalArgs,
}

#[derive(clap::Args)]
#[command(about = "Print a bearer token for the local user (for the page, curl, or scripts)")]
pub struct TokenArgs {
    /// How long it is valid, in hours (at most 720, 30 days): short by default, since whoever
    /// holds it is you until it expires.
    #[arg(long, value_name = "HOURS", default_value_t = 12, value_parser = clap::value_parser!(i64).range(1..=720))]
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
        let windows = Arc::new(MemoryWindows::default());
        let limits = if args.no_rate_limits {
            RateLimits::off()
        } else {
            RateLimits::new(windows.clone())
        };
        let mut api = Api::new(local.ports.clone(), limits);
        if let (Some(per_day), Some(spend)) = (args.imports_per_day, args.spend_per_month) {
            api.import_budget = Some(soulprint_http::import_budget::ImportBudget {
                windows,
                per_day,
                spend_per_month_usd: spend,
            });
        }
        api.body_idle = Duration::from_secs(args.body_timeout);
        api.upload_quota = UploadQuota {
            open_uploads: args.max_open_uploads,
            bytes: args.upload_quota_gib << 30,
        };
        let app = router(Arc::new(api), Arc::clone(&tokens));
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        // No token is printed: a server's output ends up in logs and journals.
        eprintln!(
            "SoulPrint on http://{addr}/ (stop with Ctrl-C). To sign in as {user}, open \
             http://{addr}/#token=TOKEN with TOKEN from `soulprint token`, or paste one there.",
            addr = listener.local_addr()?
        );
        let limits = ConnectionLimits {
            max_connections: args.max_connections as usize,
            per_address: args.max_connections_per_address as usize,
            header_timeout: Duration::from_secs(args.header_timeout),
        };
        let sweeper = tokio::spawn(sweep_uploads(local.blobs.clone()));
        http_server::serve(listener, app, limits, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        sweeper.abort();
        workers.stop(Duration::from_secs(10)).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// An upload nobody finished is swept a day after its last part: at start, then hourly.
async fn sweep_uploads(blobs: soulprint_local::DirBlobs) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let swept = {
            let blobs = blobs.clone();
            tokio::task::spawn_blocking(move || blobs.sweep_uploads(Duration::from_secs(24 * 3600)))
                .await
        };
        match swept {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(uploads = n, "abandoned uploads swept"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not sweep abandoned uploads"),
            Err(e) => tracing::warn!(error = %e, "the upload sweep stopped"),
        }
    }
}
