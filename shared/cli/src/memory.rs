//! `soulprint memory`: what SoulPrint remembers, in the person's hands.

use std::process::ExitCode;

use soulprint_core::memory::{FactStatus, MemoryFact};
use soulprint_core::stages::{delete_memory, recall, Deleted, IndexCache};

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
    /// Forget one fact or conversation excerpt (its id from `memory list` or `memory search`):
    /// it is never recalled again, and MEMORY is written again without it.
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
                let hits =
                    recall(&local.ports, &IndexCache::default(), &user, &query, limit).await?;
                if hits.is_empty() {
                    println!("Nothing relevant to {query:?}.");
                }
                for (doc, score) in hits {
                    let text: String = doc.text.split_whitespace().collect::<Vec<_>>().join(" ");
                    let text: String = text.chars().take(200).collect();
                    let when = doc.at.map(|t| t.date().to_string()).unwrap_or_default();
                    println!(
                        "{score:>6.2}  {:?}  {}  {when}  {text}  [conversation {}]",
                        doc.kind, doc.id, doc.conversation_id
                    );
                }
            }
            Command::Delete { id } => {
                match delete_memory(&local.ports, &IndexCache::default(), &user, &id).await? {
                    Some(Deleted::Fact) => eprintln!("Forgotten: fact {id}."),
                    Some(Deleted::Chunk) => eprintln!("Forgotten: conversation excerpt {id}."),
                    None => {
                        eprintln!(
                            "error: no fact or excerpt {id:?}; `soulprint memory list` and \
                             `soulprint memory search` show the ids"
                        );
                        return Ok(ExitCode::FAILURE);
                    }
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
        f.times_stated(),
        first.origin,
        first.conversation_id
    )
}
