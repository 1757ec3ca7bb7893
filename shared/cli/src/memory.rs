//! `soulprint memory`: what SoulPrint remembers, in the person's hands.

use std::process::ExitCode;

use soulprint_core::memory::{FactStatus, MemoryFact};
use soulprint_core::stages::IndexCache;

use crate::local::{runtime, LocalArgs};

#[derive(clap::Args)]
#[command(about = "List, search and delete what SoulPrint remembers about you")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    local: LocalArgs,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Every fact, current first, with where it was learned.
    List {
        /// Print JSON (every source of every fact).
        #[arg(long)]
        json: bool,
    },
    /// Facts and conversation excerpts relevant to QUERY, best first.
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Forget one fact (its id from `memory list`).
    Delete { id: String },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        match args.command {
            Command::List { json } => {
                let facts = local.ports.store.memory(&user).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&facts)?);
                } else if facts.is_empty() {
                    println!("Nothing remembered yet: `soulprint import EXPORT.zip` fills memory.");
                } else {
                    for f in &facts {
                        println!("{}", line(f));
                    }
                }
            }
            Command::Search { query, limit } => {
                let index = IndexCache::default().get(&local.ports, &user).await?;
                let hits = index.search(&query, limit);
                if hits.is_empty() {
                    println!("Nothing relevant to {query:?}.");
                }
                for h in hits {
                    let text: String = h.doc.text.split_whitespace().collect::<Vec<_>>().join(" ");
                    let text: String = text.chars().take(200).collect();
                    let when = h.doc.at.map(|t| t.date().to_string()).unwrap_or_default();
                    println!(
                        "{:>6.2}  {:?}  {}  {when}  {text}  [conversation {}]",
                        h.score, h.doc.kind, h.doc.id, h.doc.conversation_id
                    );
                }
            }
            Command::Delete { id } => {
                if local.ports.store.delete_fact(&user, &id).await? {
                    eprintln!("Forgotten: {id}.");
                } else {
                    eprintln!("error: no fact {id:?}; `soulprint memory list` shows the ids");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn line(f: &MemoryFact) -> String {
    let status = match f.status {
        FactStatus::Current => "",
        FactStatus::History => " (history)",
    };
    let when = f
        .last_observed()
        .map(|t| t.date().to_string())
        .unwrap_or_default();
    let first = &f.sources[0];
    format!(
        "{}  [{}]{status} {}  ({when}; {} source(s), e.g. {:?} conversation {})",
        f.id,
        f.category.as_str(),
        f.text,
        f.sources.len(),
        first.origin,
        first.conversation_id
    )
}
