//! `soulprint`: SoulPrint on one machine.

mod chat;
mod export_all;
mod export_profile;
mod follow;
mod forget;
mod generate;
mod http_server;
mod import;
mod local;
mod memory;
mod parse;
mod rename;
mod serve;
mod show;
mod status;
mod work;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "soulprint",
    version,
    about = "Turn a ChatGPT data export into an assistant that knows you.",
    long_about = "Turn a ChatGPT data export into an assistant that knows you.\n\n\
        Start with `soulprint import export.zip` (the .zip from ChatGPT: Settings → Data \
        controls → Export data): the soulprint prints in seconds, memory follows.\n\
        No export at hand? `soulprint generate demo.zip` writes a realistic one.\n\n\
        Data lives in ~/.local/share/soulprint (--data-dir, SOULPRINT_DATA_DIR). Without \
        --model-url, no model is used: the offline engine reads the export by rules."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Import(import::Args),
    Status(status::StatusArgs),
    Profile(status::ProfileArgs),
    Chat(chat::Args),
    Memory(memory::Args),
    Resume(work::ResumeArgs),
    RetryFullPass(work::RetryArgs),
    ExportProfile(export_profile::Args),
    Export(export_all::Args),
    Rename(rename::Args),
    Serve(serve::ServeArgs),
    Token(serve::TokenArgs),
    Forget(forget::Args),
    Parse(parse::Args),
    Generate(generate::Args),
}

fn main() -> ExitCode {
    // Piped into `head`, stop quietly like other command-line tools instead of panicking.
    // SAFETY: restoring a signal's default disposition, before any thread is started.
    #[cfg(unix)]
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => import::run(args),
        Command::Status(args) => status::status(args),
        Command::Profile(args) => status::profile(args),
        Command::Chat(args) => chat::run(args),
        Command::Memory(args) => memory::run(args),
        Command::Resume(args) => work::resume(args),
        Command::RetryFullPass(args) => work::retry(args),
        Command::ExportProfile(args) => export_profile::run(args),
        Command::Export(args) => export_all::run(args),
        Command::Rename(args) => rename::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Token(args) => serve::token(args),
        Command::Forget(args) => forget::run(args),
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
