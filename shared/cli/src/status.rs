//! `soulprint status` and `soulprint profile`.

use std::process::ExitCode;

use serde_json::json;
use soulprint_core::import_state::{FullPassStatus, ImportStatus};
use soulprint_core::ports::{Queue, QueueName};

use crate::follow::describe;
use crate::local::{runtime, LocalArgs};
use crate::show;

#[derive(clap::Args)]
#[command(
    about = "Where the latest import stands: status, progress, stage, errors, tokens and cost"
)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        let Some(state) = local.ports.store.import_state(&user).await?.map(|s| s.value) else {
            if args.json {
                println!("{}", json!({"import_status": "none"}));
            } else {
                println!("No import yet: `soulprint import EXPORT.zip` starts one.");
            }
            return Ok(ExitCode::SUCCESS);
        };
        let usage = local.ports.store.usage(&user, &state.import_id).await?;
        let mut waiting = serde_json::Map::new();
        for q in QueueName::ALL {
            waiting.insert(q.as_str().into(), local.queue.depth(q).await?.into());
        }
        let now = time::OffsetDateTime::now_utc();
        let overdue = state.full_pass_overdue(now);
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "import_id": state.import_id,
                    "import_status": state.status,
                    "progress_percent": state.progress_percent,
                    "import_stage": state.stage,
                    "import_error": state.error,
                    "started_at": state.started_at.format(&time::format_description::well_known::Rfc3339)?,
                    "full_pass_status": state.full_pass.status,
                    "full_pass_error": state.full_pass.error,
                    "full_pass_overdue": overdue,
                    "chunks_done": state.full_pass.chunks_done,
                    "chunks_total": state.full_pass.chunks_total,
                    "full_pass_seconds_left": state.full_pass.seconds_left(),
                    "usage": usage,
                    "jobs_waiting": waiting,
                }))?
            );
            return Ok(ExitCode::SUCCESS);
        }
        println!("{}", describe(&state));
        println!(
            "import id: {}, started {}",
            state.import_id,
            state
                .started_at
                .replace_nanosecond(0)
                .unwrap_or(state.started_at)
                .format(&time::format_description::well_known::Rfc3339)?
        );
        if let Some(e) = &state.error {
            println!("import error: {e}");
        }
        if let Some(e) = &state.full_pass.error {
            println!("full pass error: {e}");
        }
        let pending: u64 = waiting.values().filter_map(|v| v.as_u64()).sum();
        if state.status == ImportStatus::Processing
            || state.full_pass.status == FullPassStatus::Processing
        {
            if overdue {
                println!("The full pass has not moved for 30 minutes: `soulprint resume` records it as failed; then `soulprint retry-full-pass`.");
            } else if let Some(left) = state.full_pass.seconds_left() {
                println!("full pass: about {} min left at its pace so far", left.div_ceil(60));
            }
            if !overdue && pending > 0 {
                println!("{pending} jobs wait in the queues: `soulprint resume` continues them.");
            }
        }
        println!(
            "tokens: quick pass {} in / {} out; facts {} in / {} out; memory {} in / {} out; cost ${:.4}",
            usage.quick_pass.input_tokens,
            usage.quick_pass.output_tokens,
            usage.fact_extraction.input_tokens,
            usage.fact_extraction.output_tokens,
            usage.memory.input_tokens,
            usage.memory.output_tokens,
            usage.cost_usd
        );
        if usage.export_tokens > 0 && usage.fact_input_tokens_sent > 0 {
            println!(
                "fact extraction read {:.2} tokens per export token ({} of {})",
                usage.fact_input_tokens_sent as f64 / usage.export_tokens as f64,
                usage.fact_input_tokens_sent,
                usage.export_tokens
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(clap::Args)]
#[command(
    about = "Print the soulprint: the assistant's name, the five sections and MEMORY, as chat's system prompt"
)]
pub struct ProfileArgs {
    /// Print the profile as JSON (sections, memory_md, soulprint_text, notes).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn profile(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        let Some(profile) = local.ports.store.profile(&user).await? else {
            eprintln!("No soulprint yet: `soulprint import EXPORT.zip` writes one.");
            return Ok(ExitCode::FAILURE);
        };
        if args.json {
            println!("{}", serde_json::to_string_pretty(&profile)?);
        } else {
            show::soulprint(&profile);
        }
        Ok(ExitCode::SUCCESS)
    })
}
