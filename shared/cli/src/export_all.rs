//! `soulprint export DIR`: everything SoulPrint holds about the person, as files.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use soulprint_core::stages::{import_blob, CONVERSATIONS_BLOB};

use crate::export_profile::write_profile;
use crate::local::{runtime, LocalArgs};

#[derive(clap::Args)]
#[command(
    about = "Export everything SoulPrint holds about you, as files",
    long_about = "Write everything SoulPrint holds about you to DIR: the profile files of \
`export-profile` (SOUL.md … MEMORY.md, facts.json with every source), chats/ (one JSON file a \
thread, every message), conversations.jsonl (the normalised conversations of the latest \
import) and import.json (its state, tokens and cost)."
)]
pub struct Args {
    dir: PathBuf,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        let code = write_profile(&local, &user, &args.dir).await?;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
        let chats = args.dir.join("chats");
        fs::create_dir_all(&chats).with_context(|| format!("cannot create {}", chats.display()))?;
        let threads = local.ports.store.chat_threads(&user).await?;
        for t in &threads {
            let messages = local
                .ports
                .store
                .chat_messages(&user, &t.id, None, usize::MAX >> 1)
                .await?;
            let body = serde_json::json!({"thread": t, "messages": messages});
            fs::write(
                chats.join(format!("{}.json", t.id)),
                serde_json::to_string_pretty(&body)?,
            )?;
        }
        if let Some(state) = local.ports.store.import_state(&user).await? {
            let state = state.value;
            let usage = local.ports.store.usage(&user, &state.import_id).await?;
            let body = serde_json::json!({"import": state, "usage": usage});
            fs::write(
                args.dir.join("import.json"),
                serde_json::to_string_pretty(&body)?,
            )?;
            let key = import_blob(&user, &state.import_id, CONVERSATIONS_BLOB)?;
            if let Ok(mut from) = local.ports.blobs.open(&key).await {
                let mut to = fs::File::create(args.dir.join("conversations.jsonl"))?;
                std::io::copy(&mut from, &mut to)?;
            }
        }
        eprintln!(
            "Also wrote chats/ ({} threads), conversations.jsonl and import.json to {}",
            threads.len(),
            args.dir.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
