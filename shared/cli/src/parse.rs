//! `soulprint parse`: an export in, normalised conversations out.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use soulprint_core::export::{read_export, ExportError, Progress, ReadOptions};

#[derive(clap::Args)]
#[command(
    about = "Read a ChatGPT export and write its conversations as JSON Lines",
    long_about = "Read a ChatGPT data export and write its conversations, normalised, as JSON Lines: \
one conversation a line, in the order of the export.

EXPORT is the .zip downloaded from ChatGPT (Settings → Data controls → Export data), the \
conversations.json inside it, or a gzip of that; the kind is recognised from the file's first \
bytes, not its name. In a ZIP, conversations.json and its shards conversations-NNN.json are \
read; the other files are never opened.

Each line holds format_version, id, title, created_at, updated_at (RFC 3339 UTC or null), \
do_not_remember, messages [{id, role (user|assistant), text, created_at}] along the branch the \
person last saw, and profile_signals (custom instructions, ChatGPT's own memory) when the export \
has them. docs/normalised-format.md describes every field.

A summary goes to stderr: conversations and messages written, duplicates dropped, and what was \
left out and why, counted, with the file, index and byte offset of each skipped conversation.

Exit status: 0 when the export was read (even if some conversations were skipped, or it holds \
none); 1 when it cannot be used (not an export, no conversations file, cut short before the \
first conversation, every conversation unreadable), with one line saying what, where and what \
to do; 2 for a usage error.",
    after_help = "Examples:\n  soulprint parse export.zip > conversations.jsonl\n  \
soulprint parse conversations.json -o out.jsonl --summary json 2> summary.json"
)]
pub struct Args {
    /// The export: a ZIP, a conversations.json, or a gzip of one.
    export: PathBuf,
    /// Write the JSON Lines here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// How to print the summary on stderr.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    summary: SummaryFormat,
    /// Skip conversations larger than this (MiB of JSON); memory use grows with it.
    #[arg(long, value_name = "MIB", default_value_t = 128)]
    max_conversation_mib: u64,
    /// Skip conversations holding a single string longer than this (MiB).
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    max_string_mib: u64,
    /// Refuse a conversations file larger than this uncompressed (GiB).
    #[arg(long, value_name = "GIB", default_value_t = 64)]
    max_entry_gib: u64,
    /// Threads normalising conversations (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    workers: usize,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SummaryFormat {
    Text,
    Json,
    None,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input = File::open(&args.export)
        .with_context(|| format!("cannot open {}", args.export.display()))?;
    let total = input.metadata().map(|m| m.len()).unwrap_or(0);
    let mut options = ReadOptions::default();
    options.frames.max_conversation_bytes = args.max_conversation_mib << 20;
    options.frames.max_string_bytes = args.max_string_mib << 20;
    options.entries.max_entry_bytes = args.max_entry_gib << 30;
    options.workers = args.workers;
    options.input_name = args
        .export
        .file_name()
        .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());

    let mut spill = tempfile::tempfile().context("cannot create a temporary file")?;
    let bar = progress_bar(total);
    let on_progress = |p: Progress| {
        if let Some(bar) = &bar {
            bar.set_position(p.input_bytes);
            bar.set_message(format!("{} conversations", p.conversations));
        }
    };
    let result = match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::with_capacity(256 << 10, file);
            read_export(input, &options, &mut spill, &mut out, &on_progress)
        }
        None => {
            let mut out = BufWriter::with_capacity(256 << 10, io::stdout().lock());
            read_export(input, &options, &mut spill, &mut out, &on_progress)
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if result.is_err() {
        if let Some(path) = &args.output {
            let _ = std::fs::remove_file(path); // leave no empty or partial output behind
        }
    }
    let summary = match result {
        Ok(summary) => summary,
        Err(ExportError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS)
        }
        Err(err) if err.names_a_file() => {
            eprintln!("error: {err}");
            return Ok(ExitCode::FAILURE);
        }
        Err(err) => {
            eprintln!("error: {}: {err}", args.export.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut stderr = io::stderr().lock();
    match args.summary {
        SummaryFormat::Text => write!(stderr, "{summary}")?,
        SummaryFormat::Json => writeln!(stderr, "{}", serde_json::to_string_pretty(&summary)?)?,
        SummaryFormat::None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr, only when a person is watching it.
fn progress_bar(total: u64) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() || total == 0 {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} reading {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    Some(bar)
}
