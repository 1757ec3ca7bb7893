//! The reading pipeline: one thread inflates, one frames, workers normalise, the caller's
//! thread spills results as they come and, at the end, writes the kept lines in export order.
//!
//! ```text
//! inflate ──chunks──▶ frame ──batches──▶ normalise × N ──results──▶ spill ──in order──▶ out
//! ```
//! A fixed number of batches is in flight at once (a batch takes a slot when it is framed and
//! gives it back when it is spilled), so memory stays bounded however far one stage runs ahead.
//! Results are spilled in the order they finish, so one giant conversation never holds up the
//! workers behind it. Lines go to a spill file first for a second reason: a duplicate later in
//! the export may replace one already seen, so only once every file is read are the kept lines
//! copied, in export order, to `out`.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::cell::Cell;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use std::hash::BuildHasher;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use super::archive::{each_source, fill, BoundError, EntryLimits};
use super::framing::{FrameBatch, FrameLimits, Framer, FramingError, Oversize, Oversized};
use super::normalize::{normalize, ConversationError};
use super::summary::{SkippedConversation, SourceSummary, Summary, Tally, MAX_EXAMPLES};
use super::ExportError;

/// Limits and parallelism of [`read_export`].
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Bounds on one conversation, and on one string in it.
    pub frames: FrameLimits,
    /// Bounds on one archive entry: its size and compression ratio.
    pub entries: EntryLimits,
    /// Threads normalising conversations; 0 means one per core.
    pub workers: usize,
    /// How a bare JSON input is named in messages.
    pub input_name: String,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            frames: FrameLimits {
                max_conversation_bytes: 128 << 20,
                max_string_bytes: 32 << 20,
            },
            entries: EntryLimits {
                max_entry_bytes: 64 << 30,
                max_ratio: 100,
                ratio_grace_bytes: 16 << 20,
            },
            workers: 0,
            input_name: "conversations.json".into(),
        }
    }
}

/// How far reading has got, reported as it goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Bytes of the input file read (compressed, for a ZIP).
    pub input_bytes: u64,
    /// Uncompressed JSON bytes read.
    pub json_bytes: u64,
    /// Conversations framed so far, over all files (skipped ones included).
    pub conversations: u64,
}

const CHUNK: usize = 128 << 10;
const BATCH_BYTES: usize = 256 << 10;

/// Reads the export in `input`, writes its normalised conversations to `out` as JSON Lines (one
/// [`crate::conversation::Conversation`] a line) and returns what was found.
///
/// `spill` is scratch space for the lines before duplicates are dropped (a temporary file);
/// its previous content is overwritten.
pub fn read_export<R, S, W>(
    input: R,
    options: &ReadOptions,
    spill: &mut S,
    out: &mut W,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary, ExportError>
where
    R: Read + Seek + Send,
    S: Read + Write + Seek,
    W: Write,
{
    let started = std::time::Instant::now();
    let workers = match options.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let slots = workers + 2;
    let (work_tx, work_rx) = bounded::<Batch>(slots);
    let (main_tx, main_rx) = unbounded::<ToMain>();
    let (slot_tx, slot_rx) = bounded::<Buffers>(slots);
    for _ in 0..slots {
        slot_tx.send(Buffers::default()).expect("receiver alive");
    }
    // At most one batch holding a giant conversation is in flight, so memory is bounded by
    // the largest conversation (a few times over: its JSON, what is parsed from it, its line),
    // not by the number of slots.
    let (heavy_tx, heavy_rx) = bounded::<()>(1);
    heavy_tx.send(()).expect("receiver alive");

    spill.seek(SeekFrom::Start(0)).map_err(ExportError::Io)?;
    // Inflating and framing run on threads of their own: a giant conversation is then
    // inflated and framed at once instead of in turn while the workers wait for it.
    let (feed_tx, feed_rx) = bounded::<Feed>(4);
    let (recycle_tx, recycle_rx) = bounded::<Vec<u8>>(4);
    let shared = Shared::default();
    let (inflated, written) = std::thread::scope(|scope| {
        let shared = &shared;
        let inflate = std::thread::Builder::new()
            .name("sp-inflate".into())
            .spawn_scoped(scope, move || {
                inflate(input, options, feed_tx, recycle_rx, shared)
            })
            .map_err(ExportError::Io)?;
        let down = Downstream {
            work_tx,
            main_tx: main_tx.clone(),
            slots: slot_rx,
            heavy: heavy_rx,
        };
        std::thread::Builder::new()
            .name("sp-frame".into())
            .spawn_scoped(scope, move || {
                frame(feed_rx, recycle_tx, options, down, shared, progress)
            })
            .map_err(ExportError::Io)?;
        for _ in 0..workers {
            let work_rx = work_rx.clone();
            let main_tx = main_tx.clone();
            std::thread::Builder::new()
                .name("sp-normalise".into())
                .spawn_scoped(scope, move || normalise_batches(work_rx, main_tx))
                .map_err(ExportError::Io)?;
        }
        drop((work_rx, main_tx));
        let written = spill_as_they_come(main_rx, slot_tx, heavy_tx, spill);
        let inflated = inflate.join().expect("the inflate thread does not panic");
        Ok((inflated, written))
    })?;
    let mut summary = inflated?;
    let index = written.map_err(ExportError::Io)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "all files read"
    );
    index
        .finish(&mut summary, spill, out)
        .map_err(ExportError::Io)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "kept lines written"
    );
    judge(summary)
}

/// Decides whether what was read is an export at all.
fn judge(summary: Summary) -> Result<Summary, ExportError> {
    if summary.conversations_found == 0 {
        if let Some(source) = summary.sources.iter().find(|s| s.problem.is_some()) {
            return Err(ExportError::Unreadable {
                file: source.name.clone(),
                detail: source.problem.clone().unwrap_or_default(),
                hint: source.hint.unwrap_or("Check the export and try again"),
            });
        }
    } else if summary.conversations_written == 0 {
        return Err(ExportError::AllSkipped {
            count: summary.conversations_skipped,
            first: summary
                .skipped_examples
                .first()
                .map_or_else(|| "unknown".into(), |s| s.to_string()),
        });
    }
    Ok(summary)
}

struct Batch {
    /// Which conversations file, counting from 0: with a frame's index, its export order.
    source_no: u32,
    source: Arc<str>,
    frames: FrameBatch,
    /// Holds the one heavy token (see `read_export`).
    heavy: bool,
    /// Where the worker writes its lines.
    lines: Vec<u8>,
}

/// A batch slot: holding one is the right to have a batch in flight. It carries the buffers
/// of a finished batch back to be filled again, so steady-state reading allocates no buffers
/// (and takes no page faults for them).
#[derive(Default)]
struct Buffers {
    frames: Vec<u8>,
    lines: Vec<u8>,
}

impl Buffers {
    /// Keeps buffers for reuse unless a giant conversation grew them far past a batch.
    fn recycle(frames: Vec<u8>, lines: Vec<u8>) -> Self {
        let keep = |b: Vec<u8>| {
            if b.capacity() > 4 * BATCH_BYTES {
                Vec::new()
            } else {
                b
            }
        };
        Buffers {
            frames: keep(frames),
            lines: keep(lines),
        }
    }
}

enum ToMain {
    Normalised(Normalised),
    Skipped(Skip),
    SourceDone(SourceSummary),
}

/// A conversation not written: its place in the export, a kind for counting, the example.
struct Skip {
    order: (u32, u64),
    kind: &'static str,
    example: SkippedConversation,
}

/// Where the framing thread sends its batches and skips, and the tokens it waits for first.
struct Downstream {
    work_tx: Sender<Batch>,
    main_tx: Sender<ToMain>,
    slots: Receiver<Buffers>,
    heavy: Receiver<()>,
}

/// A batch this large holds a giant conversation.
const HEAVY_BYTES: usize = 8 << 20;

/// What a worker made of one batch.
struct Normalised {
    lines: Vec<u8>,
    /// The batch's frame buffer, on its way back to the framer.
    frames: Vec<u8>,
    heavy: bool,
    records: Vec<Record>,
    skipped: Vec<Skip>,
    messages_skipped: Tally,
}

/// One spilled line, as deduplication, ordering and the counts need it.
/// Kept for every conversation until the end, so it is kept small (about 64 bytes and the id).
struct Record {
    id: Box<str>,
    /// Where the line is in the spill (set when spilled).
    offset: u64,
    /// `update_time`, `-inf` when absent.
    update_time: f64,
    /// Position in the export: (file, index in the file).
    order: (u32, u32),
    len: u32,
    nodes: u32,
    messages: u32,
    custom_instructions: u32,
    memories: u32,
    flags: u8,
}

const KEEP: u8 = 1;
const DO_NOT_REMEMBER: u8 = 2;
const REPAIRED: u8 = 4;
const NEWEST_LEAF: u8 = 8;
const CYCLE: u8 = 16;

impl Record {
    fn has(&self, flag: u8) -> u64 {
        u64::from(self.flags & flag != 0)
    }
}

/// Saturating narrowing for counts that fit in practice.
fn narrow(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}

/// What the inflate thread hands the framing thread.
enum Feed {
    /// A conversations file begins.
    Start(Arc<str>),
    /// Its next bytes: a recycled buffer and how much of it is filled.
    Bytes(Vec<u8>, usize),
    /// It ends, perhaps with a reading problem.
    End(Option<Problem>),
}

/// A file's problem, and what the person can do about it.
type Problem = (String, Option<&'static str>);

/// Inflates each conversations file into chunks for the framing thread, recycling their
/// buffers. Stops reading a file early when the framer has given up on it.
fn inflate<R: Read + Seek>(
    input: R,
    options: &ReadOptions,
    feed_tx: Sender<Feed>,
    recycled: Receiver<Vec<u8>>,
    shared: &Shared,
) -> Result<Summary, ExportError> {
    let consumed = Rc::new(Cell::new(0u64));
    let mut ignored = Summary::default();
    let mut source_no = 0u32;
    each_source(
        input,
        options.entries,
        consumed.clone(),
        &options.input_name,
        &mut ignored,
        |name, reader| {
            source_no += 1;
            if feed_tx.send(Feed::Start(Arc::from(name))).is_err() {
                return;
            }
            let mut offset = 0u64;
            let problem = loop {
                if shared.give_up_source.load(Ordering::Relaxed) == source_no {
                    break None;
                }
                let mut buf = recycled.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
                match fill(reader, &mut buf) {
                    Ok(0) => break None,
                    Ok(n) => {
                        offset += n as u64;
                        shared.input_bytes.store(consumed.get(), Ordering::Relaxed);
                        if feed_tx.send(Feed::Bytes(buf, n)).is_err() {
                            return;
                        }
                    }
                    Err((n, e)) => {
                        offset += n as u64;
                        if n > 0 && feed_tx.send(Feed::Bytes(buf, n)).is_err() {
                            return;
                        }
                        break Some(read_problem(&e, offset));
                    }
                }
            };
            let _ = feed_tx.send(Feed::End(problem));
        },
    )?;
    Ok(ignored)
}

/// What the inflate and framing threads share.
#[derive(Default)]
struct Shared {
    /// Compressed bytes read, for progress.
    input_bytes: AtomicU64,
    /// The framer gave up on file number `n - 1` (0: on none): stop inflating it.
    give_up_source: AtomicU32,
}

/// Cuts the inflated files into conversations and hands them to the workers in batches.
fn frame(
    feed_rx: Receiver<Feed>,
    recycle_tx: Sender<Vec<u8>>,
    options: &ReadOptions,
    down: Downstream,
    shared: &Shared,
    progress: &(dyn Fn(Progress) + Sync),
) {
    let mut source_no = 0u32;
    let mut json_total = 0u64;
    let mut conversations_before = 0u64;
    // Hands the framer's whole elements to the workers; false once nobody listens any more.
    let dispatch = |framer: &mut Framer, source_no: u32, source: &Arc<str>| -> bool {
        for o in framer.take_oversized() {
            let skip = Skip {
                order: (source_no, o.index),
                kind: "too large",
                example: oversize_skip(source, o),
            };
            if down.main_tx.send(ToMain::Skipped(skip)).is_err() {
                return false;
            }
        }
        if framer.ready_frames() == 0 {
            return true;
        }
        let Ok(spare) = down.slots.recv() else {
            return false;
        };
        let heavy = framer.ready_bytes() > HEAVY_BYTES;
        if heavy && down.heavy.recv().is_err() {
            return false;
        }
        down.work_tx
            .send(Batch {
                source_no,
                source: source.clone(),
                frames: framer.take_batch(spare.frames),
                heavy,
                lines: spare.lines,
            })
            .is_ok()
    };
    let mut current: Option<(Arc<str>, Framer, Option<Problem>)> = None;
    for feed in feed_rx {
        match feed {
            Feed::Start(name) => current = Some((name, Framer::new(options.frames), None)),
            Feed::Bytes(buf, n) => {
                let Some((source, framer, problem)) = current.as_mut() else {
                    continue;
                };
                if problem.is_none() {
                    let pushed = framer.push(&buf[..n]);
                    json_total += n as u64;
                    progress(Progress {
                        input_bytes: shared.input_bytes.load(Ordering::Relaxed),
                        json_bytes: json_total,
                        conversations: conversations_before + framer.elements(),
                    });
                    if let Err(e) = pushed {
                        *problem = Some((e.to_string(), framing_hint(&e)));
                        shared
                            .give_up_source
                            .store(source_no + 1, Ordering::Relaxed);
                    }
                    if framer.ready_bytes() >= BATCH_BYTES && !dispatch(framer, source_no, source) {
                        return;
                    }
                }
                let _ = recycle_tx.try_send(buf);
            }
            Feed::End(read_problem) => {
                let Some((source, mut framer, mut problem)) = current.take() else {
                    continue;
                };
                if !dispatch(&mut framer, source_no, &source) {
                    return;
                }
                let bytes = framer.offset();
                let conversations = framer.elements();
                problem = problem.or(read_problem);
                if problem.is_none() {
                    if let Err(e) = framer.finish() {
                        let hint = framing_hint(&e);
                        let detail = match e {
                            FramingError::TruncatedInside { .. } if conversations > 0 => format!(
                                "{e}; the {conversations} conversations before it were read"
                            ),
                            e => e.to_string(),
                        };
                        problem = Some((detail, hint));
                    }
                }
                let (problem, hint) = problem.unzip();
                let _ = down.main_tx.send(ToMain::SourceDone(SourceSummary {
                    name: source.to_string(),
                    bytes,
                    conversations,
                    problem,
                    hint: hint.flatten(),
                }));
                source_no += 1;
                conversations_before += conversations;
            }
        }
    }
}

/// What to tell the person about a file that does not frame.
fn framing_hint(err: &FramingError) -> Option<&'static str> {
    match err {
        FramingError::TruncatedInside { .. } | FramingError::TruncatedBetween { .. } => {
            Some("The file is cut short: download the export again")
        }
        FramingError::Empty
        | FramingError::NotJson { .. }
        | FramingError::NoConversationsKey
        | FramingError::BetweenElements { .. } => Some("Is this a ChatGPT conversations.json?"),
    }
}

fn read_problem(err: &io::Error, offset: u64) -> Problem {
    match BoundError::from_io(err) {
        Some(bound) => (format!("not read past byte {offset}: {bound}"), None),
        None => (
            format!("reading stopped at byte {offset}: {err}"),
            Some("The archive may be damaged: download the export again"),
        ),
    }
}

fn oversize_skip(source: &str, o: Oversized) -> SkippedConversation {
    let Oversized { index, offset, why } = o;
    let (offset, reason) = match why {
        Oversize::Conversation { limit } => (
            offset,
            format!(
                "larger than {} MiB (raise --max-conversation-mib to read it)",
                limit >> 20
            ),
        ),
        Oversize::String { at, limit } => (
            at,
            format!("holds a string longer than {} MiB", limit >> 20),
        ),
    };
    SkippedConversation {
        file: source.to_owned(),
        index,
        offset,
        id: None,
        reason,
    }
}

fn normalise_batches(work_rx: Receiver<Batch>, main_tx: Sender<ToMain>) {
    for batch in work_rx {
        let mut lines = batch.lines;
        lines.clear();
        let mut done = Normalised {
            lines,
            frames: Vec::new(),
            heavy: false,
            records: Vec::with_capacity(batch.frames.frames.len()),
            skipped: Vec::new(),
            messages_skipped: Tally::default(),
        };
        for frame in &batch.frames.frames {
            let fallback = || format!("{}#{}", batch.source, frame.index);
            let bytes = batch.frames.bytes_of(frame);
            match normalize(bytes, fallback, &mut done.messages_skipped) {
                Ok(n) => {
                    let start = done.lines.len();
                    sonic_rs::to_writer(&mut done.lines, &n.conversation)
                        .expect("a conversation always serialises");
                    done.lines.push(b'\n');
                    let signals = &n.conversation.profile_signals;
                    let flag = |on: bool, flag: u8| if on { flag } else { 0 };
                    done.records.push(Record {
                        id: n.conversation.id.as_str().into(),
                        offset: start as u64,
                        update_time: n.update_time.unwrap_or(f64::NEG_INFINITY),
                        order: (batch.source_no, narrow(frame.index)),
                        len: narrow(done.lines.len() - start),
                        nodes: narrow(n.nodes),
                        messages: narrow(n.conversation.messages.len()),
                        custom_instructions: narrow(signals.custom_instructions.len()),
                        memories: narrow(signals.memories.len()),
                        flags: KEEP
                            | flag(n.conversation.do_not_remember, DO_NOT_REMEMBER)
                            | flag(n.repaired, REPAIRED)
                            | flag(n.used_newest_leaf, NEWEST_LEAF)
                            | flag(n.cycle, CYCLE),
                    });
                }
                Err(err) => {
                    let (offset, id) = match &err {
                        ConversationError::Invalid { offset, .. } => (frame.offset + offset, None),
                        ConversationError::Empty { id } => (frame.offset, Some(id.clone())),
                    };
                    done.skipped.push(Skip {
                        order: (batch.source_no, frame.index),
                        kind: err.kind(),
                        example: SkippedConversation {
                            file: batch.source.to_string(),
                            index: frame.index,
                            offset,
                            id,
                            reason: err.to_string(),
                        },
                    });
                }
            }
        }
        done.frames = batch.frames.bytes;
        done.heavy = batch.heavy;
        if main_tx.send(ToMain::Normalised(done)).is_err() {
            return;
        }
    }
}

/// Receives results, spills them as they come and indexes them.
fn spill_as_they_come<S: Write + Seek>(
    main_rx: Receiver<ToMain>,
    slot_tx: Sender<Buffers>,
    heavy_tx: Sender<()>,
    spill: &mut S,
) -> io::Result<Index> {
    let mut index = Index::default();
    let mut spilled = 0u64;
    for message in main_rx {
        match message {
            ToMain::Normalised(mut done) => {
                spill.write_all(&done.lines)?;
                for record in &mut done.records {
                    record.offset += spilled;
                }
                spilled += done.lines.len() as u64;
                let buffers = Buffers::recycle(
                    std::mem::take(&mut done.frames),
                    std::mem::take(&mut done.lines),
                );
                if done.heavy {
                    let _ = heavy_tx.send(());
                }
                index.add(done);
                let _ = slot_tx.send(buffers);
            }
            ToMain::Skipped(skip) => index.skip(skip),
            ToMain::SourceDone(source) => index.sources.push(source),
        }
    }
    spill.flush()?;
    Ok(index)
}

/// Every spilled line, and which copy of each conversation id is kept.
#[derive(Default)]
struct Index {
    records: Vec<Record>,
    /// Index into `records` of the kept copy of each id, hashed by the id it points at (so
    /// ids are not stored twice).
    by_id: HashTable<u32>,
    hasher: DefaultHashBuilder,
    duplicates: u64,
    skipped: u64,
    skipped_reasons: Tally,
    /// The skips earliest in the export, at most `2 * MAX_EXAMPLES` (trimmed as it fills).
    skipped_examples: Vec<Skip>,
    messages_skipped: Tally,
    sources: Vec<SourceSummary>,
}

impl Index {
    fn skip(&mut self, skip: Skip) {
        self.skipped += 1;
        self.skipped_reasons.add(skip.kind, 1);
        self.skipped_examples.push(skip);
        if self.skipped_examples.len() > 2 * MAX_EXAMPLES {
            self.trim_examples();
        }
    }

    fn trim_examples(&mut self) {
        self.skipped_examples.sort_unstable_by_key(|s| s.order);
        self.skipped_examples.truncate(MAX_EXAMPLES);
    }

    fn add(&mut self, done: Normalised) {
        for skip in done.skipped {
            self.skip(skip);
        }
        self.messages_skipped.merge(done.messages_skipped);
        for mut record in done.records {
            if self.records.len() == self.records.capacity() {
                // Grow by half rather than double: this vector lives until the end.
                let more = self.records.capacity() / 2 + 1024;
                self.records.reserve_exact(more);
            }
            let at = narrow(self.records.len());
            let hash = self.hasher.hash_one(&*record.id);
            let records = &mut self.records;
            let found = self
                .by_id
                .find_mut(hash, |&i| records[i as usize].id == record.id);
            match found {
                Some(kept) => {
                    self.duplicates += 1;
                    let old = &mut records[*kept as usize];
                    if preferred(&record, old) {
                        old.flags &= !KEEP;
                        *kept = at;
                    } else {
                        record.flags &= !KEEP;
                    }
                }
                None => {
                    self.by_id.insert_unique(hash, at, |&i| {
                        self.hasher.hash_one(&*records[i as usize].id)
                    });
                }
            }
            records.push(record);
        }
    }

    /// Copies the kept lines to `out`, in export order, and fills in the summary.
    fn finish<S: Read + Seek, W: Write>(
        mut self,
        summary: &mut Summary,
        spill: &mut S,
        out: &mut W,
    ) -> io::Result<()> {
        self.by_id = HashTable::new(); // not needed any more: free it before copying
        self.records.retain(|r| r.flags & KEEP != 0);
        self.records.sort_unstable_by_key(|r| r.order);
        for record in &self.records {
            summary.conversations_written += 1;
            summary.messages_written += u64::from(record.messages);
            summary.do_not_remember += record.has(DO_NOT_REMEMBER);
            summary.custom_instructions += u64::from(record.custom_instructions);
            summary.memories += u64::from(record.memories);
            summary.repaired_conversations += record.has(REPAIRED);
            summary.newest_leaf_used += record.has(NEWEST_LEAF);
            summary.parent_cycles += record.has(CYCLE);
        }
        // Lines next to each other in the spill are copied in one go: usually nearly all.
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for record in &self.records {
            let len = u64::from(record.len);
            match runs.last_mut() {
                Some((start, run)) if *start + *run == record.offset => *run += len,
                _ => runs.push((record.offset, len)),
            }
        }
        spill.seek(SeekFrom::Start(0))?;
        let mut spill = BufReader::with_capacity(256 << 10, spill);
        let mut position = 0u64;
        for (start, len) in runs {
            if start != position {
                // Relative: a short jump stays inside the buffer.
                spill.seek_relative(start as i64 - position as i64)?;
            }
            let copied = io::copy(&mut (&mut spill).take(len), out)?;
            if copied != len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the spill file is shorter than what was written to it",
                ));
            }
            position = start + len;
        }
        out.flush()?;
        self.trim_examples();
        summary.conversations_skipped = self.skipped;
        summary.skipped_reasons = self.skipped_reasons;
        summary.skipped_examples = self
            .skipped_examples
            .into_iter()
            .map(|s| s.example)
            .collect();
        summary.duplicates_dropped = self.duplicates;
        summary.messages_skipped = self.messages_skipped;
        summary.conversations_found = self.sources.iter().map(|s| s.conversations).sum();
        summary.sources = self.sources;
        Ok(())
    }
}

/// Of two copies of a conversation: the newer `update_time`, then the one with more nodes,
/// then the one earlier in the export (results arrive out of order; the choice must not).
fn preferred(new: &Record, old: &Record) -> bool {
    new.update_time
        .total_cmp(&old.update_time)
        .then(new.nodes.cmp(&old.nodes))
        .then(old.order.cmp(&new.order))
        .is_gt()
}
