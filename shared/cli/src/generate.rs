//! `soulprint generate`: a realistic export to try SoulPrint on, or to test and measure it with.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bytesize::ByteSize;
use soulprint_generator::{generate, Container, ExportSpec, Vintage};

#[derive(clap::Args)]
#[command(
    about = "Write a realistic, generated ChatGPT export (deterministic for a seed)",
    long_about = "Write a realistic, generated ChatGPT data export: the same seed gives the same \
bytes. It holds branches, images and voice, tool calls, hidden reasoning, memory writes, custom \
instructions, citations, Unicode and emoji, duplicates across shards and a few conversations \
with invalid Unicode. Prints, as JSON on stdout, what a correct reader must find in it.",
    after_help = "Examples:\n  soulprint generate demo.zip\n  \
soulprint generate big.zip --size 1GiB --vintage 2025\n  soulprint generate conversations.json --json --size 2MB"
)]
pub struct Args {
    /// Where to write the export.
    out: PathBuf,
    /// Approximate size of the conversations JSON, uncompressed (e.g. 20MB, 1GiB).
    #[arg(long, default_value = "20MB")]
    size: ByteSize,
    /// Format vintage: 2025 (one compact file, full message shape) or 2026 (pretty, sorted,
    /// ASCII-escaped shards of 100 conversations, slim messages).
    #[arg(long, value_parser = ["2025", "2026"], default_value = "2026")]
    vintage: String,
    /// Write a bare conversations.json instead of a ZIP.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Size of the one giant conversation of the long tail (default: an eighth of --size, at
    /// most 50MB).
    #[arg(long)]
    largest: Option<ByteSize>,
    /// Leave out the invalid Unicode (for baselines that fail on it, such as ijson).
    #[arg(long)]
    valid_unicode: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let spec = ExportSpec {
        seed: args.seed,
        target_bytes: args.size.as_u64(),
        vintage: if args.vintage == "2025" {
            Vintage::Full2025
        } else {
            Vintage::Slim2026
        },
        container: if args.json {
            Container::Json
        } else {
            Container::Zip
        },
        largest_conversation: args.largest.map(|s| s.as_u64()),
        invalid_unicode: !args.valid_unicode,
    };
    let file =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let report = generate(&spec, BufWriter::with_capacity(1 << 20, file))
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
