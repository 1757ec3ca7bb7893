//! `soulprint chat`: talk with the assistant that knows you.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use soulprint_core::stages::{chat_turn, Chat, ChatBudget, ChatError};

use crate::local::{runtime, ChatOptions, LocalArgs};

#[derive(clap::Args)]
#[command(
    about = "Chat with the assistant that knows you (interactive, or one --message)",
    long_about = "Chat with the assistant that knows you. Each message goes to the model with the \
soulprint, MEMORY, the facts and conversation excerpts most relevant to it, what you told it \
lately, and the thread's last turns; the reply streams as it is written. What you say about \
yourself (\"I moved to Oslo\") is learned, with the message as its source.

Without a model (no --model-url), the offline engine says so and answers with what it recalls, \
with sources. With a Tavily key (--web-search-key or TAVILY_API_KEY), the model may search the web and cites its sources under the reply. Interactive without --message: one message a line, an empty line or end of input \
stops.",
    after_help = "Examples:\n  soulprint chat --message \"What should I cook tonight?\"\n  \
soulprint chat --thread 01a2… \n  soulprint chat --threads"
)]
pub struct Args {
    /// Send this one message and exit.
    #[arg(short, long)]
    message: Option<String>,
    /// Continue this thread (default: a new one).
    #[arg(long, value_name = "ID")]
    thread: Option<String>,
    /// List the threads, newest first, and exit.
    #[arg(long, conflicts_with_all = ["message", "thread"])]
    threads: bool,
    /// Give the model this long for a reply (web searches included).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    #[command(flatten)]
    chat: ChatOptions,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open_for_chat(&args.chat)?;
    runtime()?.block_on(async {
        if args.threads {
            for t in local.ports.store.chat_threads(&user).await? {
                println!(
                    "{}  {}  {} messages  {}",
                    t.id,
                    t.updated_at.date(),
                    t.messages,
                    t.title
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        let chat = Chat::default();
        // The model's time, then the offline engine's (the fallback) when it does not answer.
        let budget = ChatBudget {
            primary: Duration::from_secs(args.timeout),
            ..ChatBudget::LOCAL
        };
        let mut thread = args.thread.clone();
        let stdin = std::io::stdin();
        let interactive = args.message.is_none() && stdin.is_terminal();
        let mut lines = stdin.lock().lines();
        loop {
            let message = match &args.message {
                Some(m) => m.clone(),
                None => {
                    if interactive {
                        eprint!("you> ");
                        std::io::stderr().flush()?;
                    }
                    match lines.next() {
                        Some(line) => line?,
                        None => break,
                    }
                }
            };
            if message.trim().is_empty() && args.message.is_none() {
                break;
            }
            let sink = |piece: &str| {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(piece.as_bytes());
                let _ = out.flush();
            };
            match chat_turn(
                &local.ports,
                &chat,
                &user,
                thread.clone(),
                &message,
                budget,
                &sink,
            )
            .await
            {
                Ok(turn) => {
                    println!();
                    if !turn.sources.is_empty() {
                        println!("\nSources:");
                        for (i, s) in turn.sources.iter().enumerate() {
                            println!("[{}] {} — {}", i + 1, s.title, s.url);
                        }
                    }
                    let learned = if turn.learned.is_empty() {
                        String::new()
                    } else {
                        format!("; learned: {}", turn.learned.join(" "))
                    };
                    eprintln!(
                        "— {}; {} things recalled; thread {}{learned}",
                        turn.answered_by,
                        turn.recalled.len(),
                        turn.thread_id
                    );
                    thread = Some(turn.thread_id);
                }
                Err(e @ (ChatError::BadMessage(_) | ChatError::TimedOut(_))) => {
                    eprintln!("error: {e}");
                    if args.message.is_some() {
                        return Ok(ExitCode::FAILURE);
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            if args.message.is_some() {
                break;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
