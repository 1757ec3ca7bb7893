//! Deterministic, realistic ChatGPT data exports, from kilobytes to gigabytes.
//!
//! The same seed gives the same bytes. Exports are written as they are generated, so a
//! gigabyte never sits in memory. Each one comes with a [`Report`] of what a correct reader
//! must find in it, which the tests and the benchmark check against.
//!
//! What is in them: branches (regenerations, edited prompts), multimodal parts (images, voice
//! transcriptions), tool calls and their output, hidden system messages, hidden reasoning, memory
//! writes, custom instructions, citation markers, an unknown content type, non-string parts,
//! Unicode from five scripts and emoji, code, a long tail of conversation sizes, duplicates across
//! shards, and a few conversations with invalid Unicode; plus the files an export carries beside
//! the conversations (chat.html, user.json, images).

mod ascii;
pub mod conversation;
mod text;

use std::io::{self, Seek, Write};

use fastrand::Rng;
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use conversation::{Builder, Generated, Shape, LONE_SURROGATE, RAW_INVALID_UTF8};

pub use conversation::DROPPED;

/// Which vintage of the export format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vintage {
    /// 2023–2025: one compact `conversations.json`, full message shape with `children`,
    /// `recipient`, `metadata`; system, tool and hidden messages present.
    Full2025,
    /// 2026: shards of 100 conversations, pretty-printed, sorted keys, ASCII-escaped; no
    /// `children`, no `recipient`, often no `metadata`.
    Slim2026,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A ZIP as downloaded from ChatGPT.
    Zip,
    /// A bare JSON array (one file; shards do not apply).
    Json,
}

#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub seed: u64,
    /// Approximate uncompressed size of the conversations JSON.
    pub target_bytes: u64,
    pub vintage: Vintage,
    pub container: Container,
    /// Size of the long tail's one giant conversation; `None` picks one from the export size
    /// (up to 50 MB for exports of 400 MB and more).
    pub largest_conversation: Option<u64>,
    /// Put invalid Unicode (raw bad UTF-8, unpaired surrogate escapes) in about one
    /// conversation in a thousand. Off for baselines that cannot read it.
    pub invalid_unicode: bool,
}

/// What a correct reader must find in the generated export.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub files: Vec<String>,
    /// Distinct conversations.
    pub conversations: u64,
    /// Extra, older copies of some conversations, in other shards.
    pub duplicates: u64,
    pub json_bytes: u64,
    /// Messages on the active paths of the kept copies, after continuations are merged.
    pub visible_messages: u64,
    pub do_not_remember: u64,
    pub custom_instructions: u64,
    pub memories: u64,
    /// Conversations holding invalid Unicode that a reader must repair.
    pub needs_repair: u64,
    pub largest_conversation_bytes: u64,
    /// Facts about the person planted in their own messages, one in about 20 conversations.
    pub planted: Vec<PlantedFact>,
}

/// A first-person fact stated in one message: what fact extraction must get to see (unless
/// the conversation is do-not-remember, when it must not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedFact {
    pub conversation_id: String,
    pub message_id: String,
    pub fact: String,
    pub do_not_remember: bool,
}

/// A first-person fact, different for each `n`.
fn fact(rng: &mut Rng, n: usize) -> String {
    const CITIES: &[&str] = &[
        "Lisbon",
        "Oslo",
        "Kyoto",
        "Porto Alegre",
        "Tallinn",
        "Accra",
    ];
    const JOBS: &[&str] = &["nurse", "data engineer", "carpenter", "teacher", "pilot"];
    const PETS: &[&str] = &["a greyhound", "two cats", "a parrot", "a tortoise"];
    match n % 4 {
        0 => format!(
            "By the way, I moved to {} in {}.",
            CITIES[rng.usize(..CITIES.len())],
            2000 + n % 25
        ),
        1 => format!(
            "For context, I have worked as a {} for {} years.",
            JOBS[rng.usize(..JOBS.len())],
            2 + n % 30
        ),
        2 => format!(
            "I have {} called Pixel number {n}.",
            PETS[rng.usize(..PETS.len())]
        ),
        _ => format!("My sister's birthday is on the {}th of May.", 4 + n % 25),
    }
}

const SHARD_SIZE: usize = 100;

/// Writes the export to `out` and reports what it holds.
pub fn generate<W: Write + Seek>(spec: &ExportSpec, out: W) -> io::Result<Report> {
    let mut rng = Rng::with_seed(spec.seed);
    let mut report = Report::default();
    let giant = spec
        .largest_conversation
        .unwrap_or_else(|| (spec.target_bytes / 8).min(50_000_000));
    let mut sink = Sink::new(spec, out)?;
    let mut time = 1_672_531_200.0; // 2023-01-01
    let mut index = 0usize;
    // Older snapshots of some conversations, written into a later shard.
    let mut pending_old: Vec<Vec<u8>> = Vec::new();
    let mut giant_done = giant < 64 * 1024;
    while report.json_bytes < spec.target_bytes {
        let is_giant = !giant_done && report.json_bytes >= spec.target_bytes / 3;
        time += rng.f64() * 40_000.0;
        let shape = Shape {
            exchanges: if is_giant {
                (giant / 3600).max(1) as usize
            } else {
                long_tail(&mut rng)
            },
            answer_chars: if is_giant { 2000 } else { rng.usize(300..1800) },
            start_time: time,
            custom_instructions: rng.u8(..10) < 3,
            model_memory: rng.u8(..100) == 0,
            do_not_remember: rng.u8(..100) < 3,
            // The first conversation always, then about one in a thousand.
            bad_unicode: spec.invalid_unicode && (index == 0 || rng.u16(..1000) == 0),
            plant: (!is_giant && (index == 2 || rng.u8(..20) == 0)).then(|| fact(&mut rng, index)),
        };
        giant_done |= is_giant;
        let generated = Builder::new(&mut rng, spec.vintage).build(&shape);
        let bytes = serialize(spec.vintage, &generated)?;
        report.conversations += 1;
        report.visible_messages += generated.expected.visible_messages;
        report.do_not_remember += u64::from(generated.expected.do_not_remember);
        report.custom_instructions += generated.expected.custom_instructions;
        report.memories += generated.expected.memories;
        report.needs_repair += u64::from(generated.expected.needs_repair);
        if let Some((message_id, fact)) = &generated.expected.planted {
            report.planted.push(PlantedFact {
                conversation_id: generated.id.clone(),
                message_id: message_id.clone(),
                fact: fact.clone(),
                do_not_remember: generated.expected.do_not_remember,
            });
        }
        report.largest_conversation_bytes =
            report.largest_conversation_bytes.max(bytes.len() as u64);
        // The second conversation and one in 200 after it also appear as an older, shorter
        // snapshot.
        if !is_giant && (index == 1 || rng.u8(..200) == 0) {
            let snapshot_shape = Shape {
                exchanges: 1,
                bad_unicode: false,
                plant: None,
                ..shape
            };
            let mut old = Builder::new(&mut rng, spec.vintage).build(&snapshot_shape);
            old.value["id"] = serde_json::json!(generated.id);
            old.value["conversation_id"] = serde_json::json!(generated.id);
            old.value["update_time"] = serde_json::json!(shape.start_time);
            pending_old.push(serialize(spec.vintage, &old)?);
            report.duplicates += 1;
        }
        sink.conversation(&bytes)?;
        report.json_bytes = sink.json_bytes;
        index += 1;
        if index.is_multiple_of(SHARD_SIZE) {
            for old in pending_old.drain(..) {
                sink.conversation(&old)?;
            }
        }
    }
    for old in pending_old.drain(..) {
        sink.conversation(&old)?;
    }
    let (files, json_bytes) = sink.finish(&mut rng)?;
    report.files = files;
    report.json_bytes = json_bytes;
    Ok(report)
}

/// Exchanges per conversation: mostly a handful, sometimes hundreds.
fn long_tail(rng: &mut Rng) -> usize {
    let u = rng.f64().max(1e-9);
    ((2.0 * u.powf(-0.75)) as usize).clamp(1, 300)
}

fn serialize(vintage: Vintage, generated: &Generated) -> io::Result<Vec<u8>> {
    let mut bytes = match vintage {
        Vintage::Full2025 => serde_json::to_vec(&generated.value)?,
        Vintage::Slim2026 => ascii::to_vec_pretty_ascii(&generated.value)?,
    };
    if generated.expected.needs_repair {
        replace(&mut bytes, LONE_SURROGATE.as_bytes(), br"\ud83d");
        replace(&mut bytes, RAW_INVALID_UTF8.as_bytes(), b"\xED\xA0\xBD");
    }
    Ok(bytes)
}

fn replace(bytes: &mut Vec<u8>, from: &[u8], to: &[u8]) {
    if let Some(at) = bytes.windows(from.len()).position(|w| w == from) {
        bytes.splice(at..at + from.len(), to.iter().copied());
    }
}

/// Where conversations go: one JSON array, or ZIP entries (one or many shards).
struct Sink<W: Write + Seek> {
    vintage: Vintage,
    zip: Option<zip::ZipWriter<W>>,
    json: Option<W>,
    files: Vec<String>,
    in_file: usize,
    /// Bytes written to conversations files so far.
    json_bytes: u64,
}

impl<W: Write + Seek> Sink<W> {
    fn new(spec: &ExportSpec, out: W) -> io::Result<Self> {
        let mut sink = Sink {
            vintage: spec.vintage,
            zip: None,
            json: None,
            files: Vec::new(),
            in_file: 0,
            json_bytes: 0,
        };
        match spec.container {
            Container::Zip => sink.zip = Some(zip::ZipWriter::new(out)),
            Container::Json => {
                sink.json = Some(out);
                sink.files.push("conversations.json".into());
                sink.write(b"[")?;
            }
        }
        Ok(sink)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.json_bytes += bytes.len() as u64;
        match (&mut self.zip, &mut self.json) {
            (Some(zip), _) => zip.write_all(bytes),
            (None, Some(json)) => json.write_all(bytes),
            (None, None) => unreachable!("a sink has a zip or a json writer"),
        }
    }

    fn options() -> SimpleFileOptions {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(6))
            .large_file(true)
    }

    fn open_shard(&mut self) -> io::Result<()> {
        let name = match self.vintage {
            Vintage::Full2025 => "conversations.json".to_owned(),
            Vintage::Slim2026 => format!("conversations-{:03}.json", self.files.len()),
        };
        let zip = self.zip.as_mut().expect("zip sink");
        zip.start_file(name.as_str(), Self::options())?;
        self.files.push(name);
        self.in_file = 0;
        self.write(b"[")
    }

    fn close_shard(&mut self) -> io::Result<()> {
        self.write(b"\n]\n")
    }

    fn conversation(&mut self, bytes: &[u8]) -> io::Result<()> {
        let sharded = self.zip.is_some() && self.vintage == Vintage::Slim2026;
        if self.zip.is_some() && (self.files.is_empty() || (sharded && self.in_file == SHARD_SIZE))
        {
            if !self.files.is_empty() {
                self.close_shard()?;
            }
            self.open_shard()?;
        }
        let sep: &[u8] = if self.in_file == 0 { b"\n" } else { b",\n" };
        self.write(sep)?;
        self.write(bytes)?;
        self.in_file += 1;
        Ok(())
    }

    /// Closes the export; returns its files and the bytes of its conversations files.
    fn finish(mut self, rng: &mut Rng) -> io::Result<(Vec<String>, u64)> {
        if self.files.is_empty() && self.zip.is_some() {
            self.open_shard()?;
        }
        self.close_shard()?;
        let json_bytes = self.json_bytes;
        if let Some(mut zip) = self.zip.take() {
            let extras: [(&str, Vec<u8>); 5] = [
                (
                    "user.json",
                    br#"{"id": "user-abc", "email": "sam@example.com", "chatgpt_plus_user": true}"#
                        .to_vec(),
                ),
                (
                    "export_manifest.json",
                    format!("{{\"shard_count\": {}}}", self.files.len()).into_bytes(),
                ),
                ("message_feedback.json", b"[]".to_vec()),
                (
                    "chat.html",
                    b"<html><body>"
                        .iter()
                        .copied()
                        .chain(std::iter::repeat_n(b'x', 200_000))
                        .collect(),
                ),
                ("file-AbC123.png", (0..50_000).map(|_| rng.u8(..)).collect()),
            ];
            for (name, bytes) in extras {
                zip.start_file(name, Self::options())?;
                zip.write_all(&bytes)?;
                self.files.push(name.to_owned());
            }
            zip.finish()?;
        } else if let Some(mut json) = self.json.take() {
            json.flush()?;
        }
        Ok((self.files, json_bytes))
    }
}
