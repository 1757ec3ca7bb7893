//! `soulprint`: SoulPrint on one machine.

mod generate;
mod parse;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "soulprint",
    version,
    about = "Turn a ChatGPT data export into an assistant that knows you.",
    long_about = "Turn a ChatGPT data export into an assistant that knows you.\n\n\
        Start by reading your export: `soulprint parse export.zip > conversations.jsonl`.\n\
        No export at hand? `soulprint generate demo.zip` writes a realistic one."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Parse(parse::Args),
    Generate(generate::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parse(args) => parse::run(args),
        Command::Generate(args) => generate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
