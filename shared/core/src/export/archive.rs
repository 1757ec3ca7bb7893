//! Finds the conversations files in what the person handed over, and reads them under bounds.
//!
//! The input is recognised by its first bytes, never its name: a ZIP (the export as downloaded),
//! a bare JSON document, or a gzip of one. In a ZIP only `conversations.json` and its shards
//! `conversations-NNN.json` are read, in name order; everything else (chat.html, images, …) is
//! never opened. Entry names that escape the archive and symlinks are refused, and every read is
//! bounded in size and compression ratio, so a ZIP bomb costs milliseconds, not gigabytes.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

use flate2::read::GzDecoder;

use super::summary::Summary;
use super::ExportError;

/// Bounds on what one archive entry may cost.
#[derive(Debug, Clone, Copy)]
pub struct EntryLimits {
    /// Largest uncompressed conversations file.
    pub max_entry_bytes: u64,
    /// Largest uncompressed ÷ compressed ratio, checked once an entry has produced
    /// `ratio_grace_bytes`. Real exports compress about 5–20×; a bomb of spaces, 1000×.
    pub max_ratio: u64,
    /// Output allowed before the ratio is judged: small entries compress erratically.
    pub ratio_grace_bytes: u64,
}

/// What the input is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A ZIP archive: the export as downloaded.
    Zip,
    /// A bare JSON document (an empty input counts as one).
    Json,
    /// A gzip of a JSON document.
    Gzip,
}

/// Recognises the container from the first bytes.
pub fn sniff(head: &[u8]) -> Result<Container, ExportError> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Ok(Container::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Container::Gzip);
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[' | b'{') | None => Ok(Container::Json),
        Some(_) => Err(ExportError::NotAnExport {
            found: describe_head(head),
        }),
    }
}

fn describe_head(head: &[u8]) -> String {
    let known: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"<!DOCTYPE", "an HTML page"),
        (b"<html", "an HTML page"),
        (b"Rar!", "a RAR archive"),
        (b"7z\xBC\xAF", "a 7-Zip archive"),
        (b"\x89PNG", "a PNG image"),
    ];
    for (magic, what) in known {
        if head.len() >= magic.len() && head[..magic.len()].eq_ignore_ascii_case(magic) {
            return (*what).to_owned();
        }
    }
    let shown: String = String::from_utf8_lossy(&head[..head.len().min(12)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!("bytes {shown:?}")
}

/// Whether an entry name is a conversations file: `conversations.json` or
/// `conversations-NNN.json`, in any folder.
pub fn is_conversations_file(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    if base == "conversations.json" {
        return true;
    }
    base.strip_prefix("conversations-")
        .and_then(|rest| rest.strip_suffix(".json"))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// What the whole input may inflate to, shared by its entries' readers: past the grace, no
/// more than `max_ratio` times the file's own size, however it is split into entries.
struct Budget {
    limits: EntryLimits,
    input_bytes: u64,
    out: Cell<u64>,
    /// The bound the input broke, which ends the reading of all of it.
    broken: RefCell<Option<BoundError>>,
}

impl Budget {
    fn spend(&self, n: u64) -> Result<(), BoundError> {
        let out = self.out.get() + n;
        self.out.set(out);
        if out > self.limits.ratio_grace_bytes
            && out / self.input_bytes.max(1) > self.limits.max_ratio
        {
            let e = BoundError::Ratio {
                ratio: self.limits.max_ratio,
                out,
                compressed: self.input_bytes.max(1),
            };
            *self.broken.borrow_mut() = Some(e.clone());
            return Err(e);
        }
        Ok(())
    }

    /// The bomb found so far (in `file`), as the error that ends the reading.
    fn check(&self, file: &str) -> Result<(), ExportError> {
        match self.broken.borrow().as_ref() {
            Some(e) => Err(ExportError::ZipBomb {
                detail: format!("{file}: {e}"),
            }),
            None => Ok(()),
        }
    }
}

/// Calls `read` once per conversations file, in order, with the file's name (`bare_name` for
/// input that is not an archive) and a bounded reader of its uncompressed bytes; `read` deals
/// with a file's own errors. Entries refused are recorded in `summary_ignored`.
pub fn each_source<R, F>(
    mut input: R,
    limits: EntryLimits,
    consumed: Rc<Cell<u64>>,
    bare_name: &str,
    summary_ignored: &mut Summary,
    mut read: F,
) -> Result<(), ExportError>
where
    R: Read + Seek,
    F: FnMut(&str, &mut dyn Read),
{
    let mut head = [0u8; 64];
    let n = fill(&mut input, &mut head).map_err(|(_, e)| ExportError::Io(e))?;
    let input_bytes = input.seek(SeekFrom::End(0)).map_err(ExportError::Io)?;
    input.seek(SeekFrom::Start(0)).map_err(ExportError::Io)?;
    let input = Counting {
        inner: input,
        count: consumed.clone(),
    };
    let budget = Rc::new(Budget {
        limits,
        input_bytes,
        out: Cell::new(0),
        broken: RefCell::new(None),
    });
    match sniff(&head[..n])? {
        Container::Json => {
            let mut input = Bounded::new(input, limits, None, consumed);
            read(bare_name, &mut input);
        }
        Container::Gzip => {
            let mut input =
                Bounded::new(GzDecoder::new(input), limits, Some(0), consumed).spending(&budget);
            read(bare_name, &mut input);
            budget.check(bare_name)?;
        }
        Container::Zip => zip_sources(input, &budget, consumed, summary_ignored, read)?,
    }
    Ok(())
}

/// What an archive entry is to SoulPrint.
enum Entry {
    Conversations(String),
    Refused(String, &'static str),
    Other(String),
}

fn classify<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> Entry {
    let name = match entry.name() {
        Ok(name) => name.into_owned(),
        Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
    };
    if escapes_archive(&name) || entry.enclosed_name().is_none() {
        Entry::Refused(name, "name escapes the archive")
    } else if entry.is_symlink() {
        Entry::Refused(name, "symbolic link")
    } else if entry.is_file() && is_conversations_file(&name) {
        Entry::Conversations(name)
    } else {
        Entry::Other(name)
    }
}

fn zip_sources<R, F>(
    mut input: Counting<R>,
    budget: &Rc<Budget>,
    consumed: Rc<Cell<u64>>,
    summary: &mut Summary,
    mut read: F,
) -> Result<(), ExportError>
where
    R: Read + Seek,
    F: FnMut(&str, &mut dyn Read),
{
    let limits = budget.limits;
    let mut archive = match zip::ZipArchive::new(&mut input) {
        Ok(archive) => archive,
        Err(e) => {
            let detail = e.to_string();
            return local_header_sources(input, budget, consumed, summary, read, detail);
        }
    };
    let mut chosen: Vec<(String, usize)> = Vec::new();
    // Where each chosen entry's bytes lie: (local header offset, compressed size, name).
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    let mut others = Vec::new();
    for i in 0..archive.len() {
        let entry = match archive.by_index_raw(i) {
            Ok(entry) => entry,
            Err(e) => {
                summary.ignore(
                    &format!("entry #{i}"),
                    format!("unreadable entry header: {e}"),
                );
                continue;
            }
        };
        match classify(&entry) {
            Entry::Conversations(name) => {
                spans.push((entry.header_start(), entry.compressed_size(), name.clone()));
                chosen.push((name, i));
            }
            Entry::Refused(name, reason) => summary.ignore(&name, reason),
            Entry::Other(name) if others.len() < 8 && entry.is_file() => others.push(name),
            Entry::Other(_) => {}
        }
    }
    overlapping(&mut spans)?;
    if chosen.is_empty() {
        return Err(ExportError::NoConversationsFile {
            entries: archive.len(),
            examples: others,
        });
    }
    chosen.sort();
    for (name, i) in chosen {
        match archive.by_index(i) {
            Ok(entry) => {
                let compressed_at = consumed.get();
                let mut entry = Bounded::new(entry, limits, Some(compressed_at), consumed.clone())
                    .spending(budget);
                read(&name, &mut entry);
            }
            Err(e) => read(&name, &mut Failing(Some(e.to_string()))),
        }
        budget.check(&name)?;
    }
    Ok(())
}

/// Entries whose bytes overlap: a real archive stores each file once, after the one before; a
/// bomb points many central-directory entries at one compressed stream, so each passes its
/// own bounds while together they inflate without end.
fn overlapping(spans: &mut [(u64, u64, String)]) -> Result<(), ExportError> {
    spans.sort();
    for pair in spans.windows(2) {
        let ((start, size, first), (next, _, second)) = (&pair[0], &pair[1]);
        // A local header is 30 bytes at least, before the name and the data.
        if *next < start.saturating_add(30).saturating_add(*size) {
            return Err(ExportError::ZipBomb {
                detail: format!(
                    "its entries {first} and {second} share their bytes ({} entries point into \
                     the same data)",
                    spans.iter().filter(|s| s.0 == *start).count().max(2)
                ),
            });
        }
    }
    Ok(())
}

/// Reads a ZIP whose central directory is missing or broken (most often a download cut
/// short) entry by entry from its local headers, in archive order, so the conversations it
/// does hold are not lost. Entries are filtered and bounded as in a whole archive.
fn local_header_sources<R, F>(
    mut input: Counting<R>,
    budget: &Rc<Budget>,
    consumed: Rc<Cell<u64>>,
    summary: &mut Summary,
    mut read: F,
    why: String,
) -> Result<(), ExportError>
where
    R: Read + Seek,
    F: FnMut(&str, &mut dyn Read),
{
    input.seek(SeekFrom::Start(0)).map_err(ExportError::Io)?;
    let mut found = 0usize;
    loop {
        let compressed_at = consumed.get();
        let entry = match zip::read::read_zipfile_from_stream(&mut input) {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            // Where the file simply ends, the note below says all there is to say.
            Err(zip::result::ZipError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) if found > 0 => {
                summary
                    .notes
                    .push(format!("reading stopped at an unreadable entry: {e}"));
                break;
            }
            Err(_) => break,
        };
        match classify(&entry) {
            Entry::Conversations(name) => {
                found += 1;
                let mut entry =
                    Bounded::new(entry, budget.limits, Some(compressed_at), consumed.clone())
                        .spending(budget);
                read(&name, &mut entry);
                budget.check(&name)?;
            }
            Entry::Refused(name, reason) => summary.ignore(&name, reason),
            Entry::Other(_) => {}
        }
    }
    if found == 0 {
        return Err(ExportError::BadZip { detail: why });
    }
    summary.notes.insert(
        0,
        format!(
        "the ZIP archive has no readable central directory ({why}); it was probably cut short. \
         Its conversations were read entry by entry up to where it ends: download the export \
         again for the rest"
    ),
    );
    Ok(())
}

/// Absolute paths, drive letters and `..` components: a name that would land outside the
/// folder the archive is unpacked in. SoulPrint unpacks nothing, but such an entry is no part
/// of a real export and is refused, as convoviz does.
fn escapes_archive(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.starts_with(['/', '\\'])
        || (bytes.len() > 1 && bytes[1] == b':')
        || name.split(['/', '\\']).any(|part| part == "..")
}

/// Reads until `buf` is full or the input ends; on an error, also says how much was read.
pub(crate) fn fill(input: &mut dyn Read, buf: &mut [u8]) -> Result<usize, (usize, io::Error)> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((filled, e)),
        }
    }
    Ok(filled)
}

/// Counts the bytes read from the file itself, for progress and the compression ratio.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Stops a decompressing reader that produces too much, or too much per compressed byte.
struct Bounded<R> {
    inner: R,
    limits: EntryLimits,
    out: u64,
    /// Compressed bytes consumed when the entry started; `None` for uncompressed input.
    compressed_at: Option<u64>,
    consumed: Rc<Cell<u64>>,
    /// The whole input's budget, which every entry's output counts against.
    budget: Option<Rc<Budget>>,
}

impl<R> Bounded<R> {
    fn new(
        inner: R,
        limits: EntryLimits,
        compressed_at: Option<u64>,
        consumed: Rc<Cell<u64>>,
    ) -> Self {
        Bounded {
            inner,
            limits,
            out: 0,
            compressed_at,
            consumed,
            budget: None,
        }
    }

    /// Counts the output against the whole input's budget too.
    fn spending(mut self, budget: &Rc<Budget>) -> Self {
        self.budget = Some(Rc::clone(budget));
        self
    }
}

/// The error a bound produces; [`BoundError::from_io`] finds it again behind an `io::Error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundError {
    /// The entry outgrew `EntryLimits::max_entry_bytes`.
    #[error(
        "it is larger than {limit} bytes uncompressed (raise --max-entry-gib if it is genuine)"
    )]
    TooLarge {
        /// That limit, in uncompressed bytes.
        limit: u64,
    },
    /// Past the grace, the entry decompressed more than `EntryLimits::max_ratio` times its
    /// compressed size.
    #[error("it decompresses more than {ratio}× (after {out} bytes from {compressed})")]
    Ratio {
        /// That limit.
        ratio: u64,
        /// Uncompressed bytes produced so far.
        out: u64,
        /// Compressed bytes consumed so far (at least 1).
        compressed: u64,
    },
}

impl BoundError {
    /// The bound error behind `err`, if a bound stopped the read.
    pub fn from_io(err: &io::Error) -> Option<&BoundError> {
        err.get_ref().and_then(|e| e.downcast_ref::<BoundError>())
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if let Some(budget) = &self.budget {
            budget
                .spend(n as u64)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        if self.out > self.limits.max_entry_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                BoundError::TooLarge {
                    limit: self.limits.max_entry_bytes,
                },
            ));
        }
        if let Some(start) = self.compressed_at {
            let compressed = self.consumed.get().saturating_sub(start).max(1);
            if self.out > self.limits.ratio_grace_bytes
                && self.out / compressed > self.limits.max_ratio
            {
                let e = BoundError::Ratio {
                    ratio: self.limits.max_ratio,
                    out: self.out,
                    compressed,
                };
                if let Some(budget) = &self.budget {
                    *budget.broken.borrow_mut() = Some(e.clone());
                }
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        Ok(n)
    }
}

/// An entry that could not be opened: its reader fails at once with the reason.
struct Failing(Option<String>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other(
            self.0.take().unwrap_or_else(|| "cannot be opened".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_files_are_recognised_by_name_pattern() {
        for yes in [
            "conversations.json",
            "export/conversations.json",
            "conversations-000.json",
            "conversations-12.json",
        ] {
            assert!(is_conversations_file(yes), "{yes}");
        }
        for no in [
            "chat.html",
            "user.json",
            "conversations.json.bak",
            "conversations-.json",
            "conversations-01a.json",
            "shared_conversations.json",
        ] {
            assert!(!is_conversations_file(no), "{no}");
        }
    }

    #[test]
    fn containers_are_recognised_by_magic_bytes() {
        assert_eq!(sniff(b"PK\x03\x04rest").unwrap(), Container::Zip);
        assert_eq!(sniff(b"\x1f\x8b\x08").unwrap(), Container::Gzip);
        assert_eq!(sniff(b"\xEF\xBB\xBF  [").unwrap(), Container::Json);
        assert_eq!(sniff(b"\n{\"conversations\"").unwrap(), Container::Json);
        let err = sniff(b"%PDF-1.7").unwrap_err().to_string();
        assert!(err.contains("a PDF document"), "{err}");
        let err = sniff(b"hello world").unwrap_err().to_string();
        assert!(err.contains("hello world"), "{err}");
    }
}
