//! `soulprint resume` and `soulprint retry-full-pass`: work from the durable queues.

use std::process::ExitCode;
use std::time::Duration;

use soulprint_core::import_state::FullPassStatus;
use soulprint_core::stages::retry_full_pass;

use crate::follow::{follow, Until};
use crate::local::{runtime, LocalArgs};
use crate::show;

#[derive(clap::Args)]
#[command(
    about = "Continue whatever work the queues hold (after an interruption or --no-wait)",
    long_about = "Continue whatever work the durable queues hold: an import or a full pass that \
was interrupted (the process killed, the machine restarted) or left behind by `import \
--no-wait`. Work in progress when the process died starts again from its last recorded step; \
nothing is counted twice. A full pass past its 30-minute limit is recorded as failed."
)]
pub struct ResumeArgs {
    #[command(flatten)]
    local: LocalArgs,
}

pub fn resume(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        let workers = local.start_workers().await?;
        if local.idle().await {
            workers.stop(Duration::from_secs(1)).await;
            eprintln!("Nothing to resume: the queues are empty.");
            return Ok(ExitCode::SUCCESS);
        }
        let state = follow(&local, &user, Until::Idle).await?;
        workers.stop(Duration::from_secs(5)).await;
        if let Some(state) = state {
            show::full_pass_outcome(&local, &user, &state).await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(clap::Args)]
#[command(
    about = "Run the full pass again after it failed, from the stored conversations",
    long_about = "Run the full pass again after it failed (or ran past its 30-minute limit), \
from the conversations stored by the import: no need to import again. The soulprint and chat \
keep working meanwhile."
)]
pub struct RetryArgs {
    /// Return at once; `soulprint resume` continues the work.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn retry(args: RetryArgs) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        match retry_full_pass(&local.ports, &user, None).await {
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: cannot retry the full pass: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
        if args.no_wait {
            eprintln!("The full pass waits in the queue: `soulprint resume` runs it.");
            return Ok(ExitCode::SUCCESS);
        }
        let workers = local.start_workers().await?;
        let state = follow(&local, &user, Until::FullPass).await?;
        workers.stop(Duration::from_secs(5)).await;
        let Some(state) = state else {
            return Ok(ExitCode::FAILURE);
        };
        show::full_pass_outcome(&local, &user, &state).await?;
        Ok(if state.full_pass.status == FullPassStatus::Complete {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
