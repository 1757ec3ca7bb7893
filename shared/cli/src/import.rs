//! `soulprint import`: an export in, a soulprint out within seconds, memory behind it.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use soulprint_core::import_state::{FullPassStatus, ImportStatus};
use soulprint_core::stages::{import_blob, new_import_id, start_import, StartError, EXPORT_BLOB};

use crate::follow::{follow, Until};
use crate::local::{runtime, LocalArgs};
use crate::show;

#[derive(clap::Args)]
#[command(
    about = "Import a ChatGPT export: the soulprint in seconds, then memory from everything",
    long_about = "Import a ChatGPT data export. The export is copied into SoulPrint's data \
directory and read; a quick pass writes the soulprint (five profile sections and the system \
prompt chat starts from) from a sample of the richest conversations, and prints it. Then the \
full pass reads every conversation, extracts facts about you with their sources, merges them \
and writes MEMORY; the command waits for it unless --no-wait.

Work is kept in durable queues: if the command is interrupted, `soulprint resume` continues \
where it stopped. A second import while one is still processing is refused, unless the first \
has been stuck for 15 minutes.

Without --model-url, the offline engine reads the export by rules: no model, and every field \
it fills cites its evidence or says \"not enough data\".",
    after_help = "Examples:\n  soulprint generate demo.zip && soulprint import demo.zip\n  \
soulprint import export.zip --no-wait\n  \
soulprint import export.zip --model-url http://127.0.0.1:11434/v1 --model qwen2.5:7b"
)]
pub struct Args {
    /// The export: the .zip from ChatGPT, its conversations.json, or a gzip of that.
    export: PathBuf,
    /// Return once the soulprint is written; the full pass waits in the queue for
    /// `soulprint resume`.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = File::open(&args.export)
        .with_context(|| format!("cannot open the export {}", args.export.display()))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        anyhow::bail!(
            "{} is a directory: pass the export's .zip file",
            args.export.display()
        );
    }
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        // The workers first: they hold the data directory, so no other process takes this
        // import's jobs.
        let workers = local.start_workers().await?;
        let import_id = new_import_id();
        let key = import_blob(&user, &import_id, EXPORT_BLOB)?;
        local
            .ports
            .blobs
            .put_file(&key, Box::new(file))
            .await
            .context("cannot copy the export into the data directory")?;
        match start_import(&local.ports, &user, &import_id, &key, None).await {
            Ok(_) => {}
            Err(StartError::Refused(why)) => {
                workers.stop(Duration::from_secs(5)).await;
                local.ports.blobs.delete(&key).await.ok();
                eprintln!("error: {why}");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e.into()),
        }
        let state = follow(&local, &user, Until::QuickReady).await?;
        let Some(state) = state else {
            anyhow::bail!("the import disappeared (was `soulprint forget` run meanwhile?)");
        };
        if state.status == ImportStatus::Failed {
            workers.stop(Duration::from_secs(5)).await;
            eprintln!(
                "error: the import failed: {}",
                state.error.as_deref().unwrap_or("no reason recorded")
            );
            return Ok(ExitCode::FAILURE);
        }
        if let Some(profile) = local.ports.store.profile(&user).await? {
            show::soulprint(&profile);
        }
        if args.no_wait {
            workers.stop(Duration::from_secs(2)).await;
            eprintln!("The full pass waits in the queue: `soulprint resume` continues it.");
            return Ok(ExitCode::SUCCESS);
        }
        let state = follow(&local, &user, Until::FullPass).await?;
        workers.stop(Duration::from_secs(5)).await;
        let Some(state) = state else {
            return Ok(ExitCode::FAILURE);
        };
        show::full_pass_outcome(&local, &user, &state).await?;
        Ok(if state.full_pass.status == FullPassStatus::Failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}
