//! How the pipeline's results are printed.

use soulprint_core::import_state::{FullPassStatus, ImportState};
use soulprint_core::memory::FactStatus;
use soulprint_core::ports::UserId;
use soulprint_core::profile::Profile;
use soulprint_local::Local;

/// The soulprint, on stdout: who wrote it, what went less than well, the text chat starts from.
pub fn soulprint(profile: &Profile) {
    println!(
        "Your assistant: {} ({})\nWritten by: {}",
        profile.ai_name(),
        profile.archetype(),
        profile.written_by
    );
    for note in &profile.notes {
        println!("Note: {note}");
    }
    println!("\n{}", profile.soulprint_text);
}

pub async fn full_pass_outcome(
    local: &Local,
    user: &UserId,
    state: &ImportState,
) -> anyhow::Result<()> {
    match state.full_pass.status {
        FullPassStatus::Complete => {
            let memory = local.ports.store.memory(user).await?;
            let current = memory
                .iter()
                .filter(|f| f.status == FactStatus::Current)
                .count();
            eprintln!(
                "Full pass complete: {} facts remembered ({current} current, {} kept as history), \
                 from {} chunks. `soulprint profile` shows MEMORY.",
                memory.len(),
                memory.len() - current,
                state.full_pass.chunks_total
            );
        }
        FullPassStatus::Failed => eprintln!(
            "The full pass failed: {}. Chat still works from the soulprint; \
             `soulprint retry-full-pass` tries again without importing again.",
            state
                .full_pass
                .error
                .as_deref()
                .unwrap_or("no reason recorded")
        ),
        _ => {}
    }
    let usage = local.ports.store.usage(user, &state.import_id).await?;
    if usage.export_tokens > 0 && usage.fact_input_tokens_sent > 0 {
        eprintln!(
            "Fact extraction read {} tokens of {} in the export ({:.2} per export token); model \
             tokens {} in, {} out; cost ${:.4}.",
            usage.fact_input_tokens_sent,
            usage.export_tokens,
            usage.fact_input_tokens_sent as f64 / usage.export_tokens as f64,
            usage.quick_pass.input_tokens
                + usage.fact_extraction.input_tokens
                + usage.memory.input_tokens,
            usage.quick_pass.output_tokens
                + usage.fact_extraction.output_tokens
                + usage.memory.output_tokens,
            usage.cost_usd
        );
    }
    Ok(())
}
