//! `soulprint memory`: what SoulPrint remembers, in the person's hands.

use std::process::ExitCode;

use soulprint_core::memory::{FactStatus, MemoryFact, Origin};
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
    let mut about = Vec::new();
    if let Some(t) = f.last_observed() {
        about.push(t.date().to_string());
    }
    about.push(format!("{} source(s)", f.times_stated()));
    let first = &f.sources[0];
    about.push(match first.origin {
        Origin::Conversation => format!("e.g. conversation {}", first.conversation_id),
        Origin::Chat => format!("e.g. chat thread {}", first.conversation_id),
        Origin::CustomInstructions => "e.g. the custom instructions".to_owned(),
        Origin::ChatgptMemory => "e.g. ChatGPT's memory".to_owned(),
    });
    format!(
        "{}  [{}]{status} {}  ({})",
        f.id,
        f.category.as_str(),
        f.text,
        about.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use soulprint_core::memory::{consolidate, Category, Fact, Source};

    fn fact(origin: Origin, at: Option<time::OffsetDateTime>) -> MemoryFact {
        consolidate(vec![Fact {
            category: Category::Life,
            text: "Lives in Porto".into(),
            subject: None,
            source: Source {
                origin,
                conversation_id: "c1".into(),
                message_ids: vec!["m1".into()],
                observed_at: at,
            },
        }])
        .remove(0)
    }

    #[test]
    fn a_fact_reads_as_a_sentence_dated_or_not() {
        let dated = line(&fact(
            Origin::Conversation,
            Some(time::macros::datetime!(2026-03-01 10:00 UTC)),
        ));
        assert!(
            dated.ends_with("Lives in Porto  (2026-03-01; 1 source(s); e.g. conversation c1)"),
            "{dated}"
        );
        let undated = line(&fact(Origin::CustomInstructions, None));
        assert!(
            undated.ends_with("(1 source(s); e.g. the custom instructions)"),
            "{undated}"
        );
    }
}
