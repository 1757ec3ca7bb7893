//! `soulprint export-profile DIR`: the soulprint as files an agent framework reads.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use soulprint_core::memory::markdown::EMPTY;
use soulprint_core::system_prompt::section_markdown;

use crate::local::{runtime, LocalArgs};

#[derive(clap::Args)]
#[command(
    about = "Write the soulprint as files: SOUL.md, IDENTITY.md, USER.md, AGENTS.md, TOOLS.md, MEMORY.md",
    long_about = "Write the soulprint as markdown files in DIR (created if missing; files of \
these names are replaced): SOUL.md, IDENTITY.md, USER.md, AGENTS.md and TOOLS.md (the five \
sections), MEMORY.md (what the full pass remembered), and facts.json (every fact with its \
sources: conversation, messages, date)."
)]
pub struct Args {
    dir: PathBuf,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(write_profile(&local, &user, &args.dir))
}

/// The profile files in `dir`; a failure status (with the reason said) when there is none.
pub async fn write_profile(
    local: &soulprint_local::Local,
    user: &soulprint_core::ports::UserId,
    dir: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    {
        let Some(profile) = local.ports.store.profile(user).await? else {
            eprintln!("No soulprint yet: `soulprint import EXPORT.zip` writes one.");
            return Ok(ExitCode::FAILURE);
        };
        let facts = local.ports.store.memory(user).await?;
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let s = &profile.sections;
        let memory = profile
            .memory_md
            .clone()
            .unwrap_or_else(|| format!("{EMPTY} (the full pass has not finished)\n"));
        let files = [
            ("SOUL.md", section_markdown("SOUL", &s.soul)),
            ("IDENTITY.md", section_markdown("IDENTITY", &s.identity)),
            ("USER.md", section_markdown("USER", &s.user)),
            ("AGENTS.md", section_markdown("AGENTS", &s.agents)),
            ("TOOLS.md", section_markdown("TOOLS", &s.tools)),
            ("MEMORY.md", format!("## MEMORY\n\n{memory}")),
            ("facts.json", serde_json::to_string_pretty(&facts)? + "\n"),
        ];
        for (name, body) in files {
            let path = dir.join(name);
            fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
        }
        eprintln!(
            "Wrote SOUL.md, IDENTITY.md, USER.md, AGENTS.md, TOOLS.md, MEMORY.md and facts.json ({} facts) to {}",
            facts.len(),
            dir.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
