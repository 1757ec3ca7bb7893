//! Cuts a stream of JSON bytes into one byte frame per conversation.
//!
//! A conversations file is one huge array. Parsing it as a whole holds it all in memory (the
//! defect of the system we replace); parsing it as a stream gives up on everything after the first
//! broken conversation. The framer does neither: it tracks only strings, escapes and nesting depth,
//! which is enough to find where each element of the array begins and ends, so each conversation
//! can be parsed on its own, in parallel, and a broken one is skipped without losing its
//! neighbours. Memory is the largest conversation; time is a `memchr` over string bodies.
//!
//! Accepted documents: a top-level array of conversations, or an object whose `"conversations"`
//! member is that array (other members are skipped unread). A UTF-8 byte-order mark is ignored.

/// Limits that keep one hostile element from costing unbounded memory.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Largest conversation kept, in bytes of JSON. Larger ones are skipped and reported.
    pub max_conversation_bytes: u64,
    /// Largest single JSON string, in bytes. A conversation holding a longer one is skipped.
    pub max_string_bytes: u64,
}

/// One element of the conversations array, within a [`FrameBatch`].
#[derive(Debug, Clone)]
pub struct Frame {
    /// Position in the array, from 0.
    pub index: u64,
    /// Byte offset of the element's first byte in the (uncompressed) file.
    pub offset: u64,
    /// Where its bytes are in the batch.
    pub range: std::ops::Range<usize>,
}

/// Whole elements, their bytes side by side in one buffer: one allocation per batch rather
/// than one (and its regrowth) per conversation.
#[derive(Debug, Default)]
pub struct FrameBatch {
    /// The elements' bytes, back to back; each frame's `range` finds its own.
    pub bytes: Vec<u8>,
    /// The elements, in array order.
    pub frames: Vec<Frame>,
}

impl FrameBatch {
    /// The JSON bytes of one of this batch's frames.
    pub fn bytes_of(&self, frame: &Frame) -> &[u8] {
        &self.bytes[frame.range.clone()]
    }
}

/// An element that broke a limit: its bytes were not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversized {
    /// Position in the array, from 0.
    pub index: u64,
    /// Byte offset of the element's first byte in the (uncompressed) file.
    pub offset: u64,
    /// Which limit it broke.
    pub why: Oversize,
}

/// The limit an element broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// The element is larger than `FrameLimits::max_conversation_bytes`.
    Conversation {
        /// That limit, in bytes.
        limit: u64,
    },
    /// The element holds a string longer than `FrameLimits::max_string_bytes`.
    String {
        /// Byte offset in the file where that string starts.
        at: u64,
        /// That limit, in bytes.
        limit: u64,
    },
}

/// Why the framer gave up on a file; elements framed before it stand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The file has no bytes at all.
    #[error("the file is empty")]
    Empty,
    /// Not the JSON expected outside the elements (the array, or an object holding it), or only
    /// whitespace.
    #[error("byte {offset}: expected a JSON array of conversations, found {found}")]
    NotJson {
        /// Byte offset of what was found.
        offset: u64,
        /// The bytes found, quoted and cut short (or `only whitespace`).
        found: String,
    },
    /// Something other than `,` or `]` after an element: the rest of the file is not read.
    #[error(
        "byte {offset}: expected ',' or ']' after conversation #{index}, found {found}; \
         the rest of this file was not read"
    )]
    BetweenElements {
        /// Byte offset of what was found.
        offset: u64,
        /// Position of the element before it, from 0.
        index: u64,
        /// The bytes found, quoted and cut short.
        found: String,
    },
    /// The top-level object ends without a `conversations` array.
    #[error("the top-level object has no \"conversations\" array")]
    NoConversationsKey,
    /// The file ends inside an element.
    #[error(
        "the file ends at byte {end}, inside conversation #{index} (which starts at byte {offset})"
    )]
    TruncatedInside {
        /// The file's length in bytes.
        end: u64,
        /// Position of the cut element, from 0.
        index: u64,
        /// Byte offset where that element starts.
        offset: u64,
    },
    /// The file ends outside any element, before the array of conversations is closed.
    #[error("the file ends at byte {end}, before the array of conversations is closed")]
    TruncatedBetween {
        /// The file's length in bytes.
        end: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    WrapperKey,
    WrapperKeyString,
    WrapperColon,
    WrapperValue,
    WrapperSkip,
    WrapperAfterValue,
    ArrayElement,
    InElement,
    ArrayAfterElement,
    Done,
}

/// Streaming framer: feed it chunks with [`Framer::push`], collect whole elements with
/// [`Framer::take_batch`] and [`Framer::take_oversized`], then call [`Framer::finish`].
pub struct Framer {
    limits: FrameLimits,
    state: State,
    scanner: ValueScanner,
    /// Absolute offset of the next byte to be pushed.
    offset: u64,
    index: u64,
    element_offset: u64,
    /// Bytes of whole elements, then of the element in progress (from `element_start`).
    buf: Vec<u8>,
    element_start: usize,
    frames: Vec<Frame>,
    oversized: Vec<Oversized>,
    /// The current element broke a limit: its bytes are being discarded.
    oversize: Option<Oversize>,
    key: Vec<u8>,
    key_escaped: bool,
}

const MAX_KEY: usize = 64;

impl Framer {
    /// A framer at the first byte of a file.
    pub fn new(limits: FrameLimits) -> Self {
        Framer {
            limits,
            state: State::Start,
            scanner: ValueScanner::new(limits.max_string_bytes),
            offset: 0,
            index: 0,
            element_offset: 0,
            buf: Vec::new(),
            element_start: 0,
            frames: Vec::new(),
            oversized: Vec::new(),
            oversize: None,
            key: Vec::new(),
            key_escaped: false,
        }
    }

    /// Conversations framed so far (including oversized ones).
    pub fn elements(&self) -> u64 {
        self.index
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of whole elements waiting in the next batch.
    pub fn ready_bytes(&self) -> usize {
        self.frames.last().map_or(0, |f| f.range.end)
    }

    /// Whole elements waiting in the next batch (some may be empty: `[,]`).
    pub fn ready_frames(&self) -> usize {
        self.frames.len()
    }

    /// The whole elements framed so far; the element in progress stays behind, moved into
    /// `spare` (a buffer handed back from an earlier batch, so none is allocated anew).
    pub fn take_batch(&mut self, mut spare: Vec<u8>) -> FrameBatch {
        let cut = self.ready_bytes();
        spare.clear();
        spare.extend_from_slice(&self.buf[cut..]);
        let mut bytes = std::mem::replace(&mut self.buf, spare);
        bytes.truncate(cut);
        debug_assert!(
            self.element_start >= cut,
            "whole elements precede the one in progress"
        );
        self.element_start -= cut;
        FrameBatch {
            bytes,
            frames: std::mem::take(&mut self.frames),
        }
    }

    /// Elements skipped for breaking a limit since the last call.
    pub fn take_oversized(&mut self) -> Vec<Oversized> {
        std::mem::take(&mut self.oversized)
    }

    /// Consumes the next chunk of the file. After an error the framer must not be fed again.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), FramingError> {
        let base = self.offset;
        let result = self.push_inner(chunk, base);
        self.offset = base + chunk.len() as u64;
        result
    }

    fn push_inner(&mut self, chunk: &[u8], base: u64) -> Result<(), FramingError> {
        let mut pos = 0;
        while pos < chunk.len() {
            let at = base + pos as u64;
            match self.state {
                State::Done => return Ok(()),
                State::InElement => {
                    let start = pos;
                    match self.scanner.scan(chunk, pos, base) {
                        Some(end) => {
                            self.keep(&chunk[start..end]);
                            self.end_element();
                            self.state = State::ArrayAfterElement;
                            pos = end;
                        }
                        None => {
                            self.keep(&chunk[start..]);
                            return Ok(());
                        }
                    }
                }
                State::WrapperSkip => match self.scanner.scan(chunk, pos, base) {
                    Some(end) => {
                        self.state = State::WrapperAfterValue;
                        pos = end;
                    }
                    None => return Ok(()),
                },
                State::WrapperKeyString => {
                    let b = chunk[pos];
                    pos += 1;
                    let escaped = std::mem::take(&mut self.key_escaped);
                    if b == b'"' && !escaped {
                        self.state = State::WrapperColon;
                        continue;
                    }
                    self.key_escaped = b == b'\\' && !escaped;
                    // Only the name "conversations" matters: longer keys are cut, not kept.
                    if self.key.len() <= MAX_KEY {
                        self.key.push(b);
                    }
                }
                _ => {
                    let b = chunk[pos];
                    if is_whitespace(b) || (self.state == State::Start && at < 3 && is_bom(b)) {
                        pos += 1;
                        continue;
                    }
                    pos = self.structural(b, at, chunk, pos)?;
                }
            }
        }
        Ok(())
    }

    /// Handles one non-whitespace byte outside any element; returns the next position.
    fn structural(
        &mut self,
        b: u8,
        at: u64,
        chunk: &[u8],
        pos: usize,
    ) -> Result<usize, FramingError> {
        match (self.state, b) {
            (State::Start, b'[') => self.state = State::ArrayElement,
            (State::Start, b'{') => self.state = State::WrapperKey,
            (State::Start, _) => {
                return Err(FramingError::NotJson {
                    offset: at,
                    found: describe(chunk, pos),
                })
            }
            (State::WrapperKey, b'"') => {
                self.key.clear();
                self.state = State::WrapperKeyString;
            }
            (State::WrapperKey | State::WrapperAfterValue, b'}') => {
                return Err(FramingError::NoConversationsKey)
            }
            (State::WrapperAfterValue, b',') => self.state = State::WrapperKey,
            (State::WrapperColon, b':') => self.state = State::WrapperValue,
            (State::WrapperValue, b'[') if self.key == b"conversations" => {
                self.state = State::ArrayElement
            }
            (State::WrapperValue, _) => {
                self.scanner.reset();
                self.state = State::WrapperSkip;
                return Ok(pos);
            }
            (State::ArrayElement | State::ArrayAfterElement, b']') => self.state = State::Done,
            (State::ArrayAfterElement, b',') => self.state = State::ArrayElement,
            (State::ArrayElement, _) => {
                self.scanner.reset();
                self.element_offset = at;
                self.element_start = self.buf.len();
                self.oversize = None;
                self.state = State::InElement;
                return Ok(pos);
            }
            (State::ArrayAfterElement, _) => {
                return Err(FramingError::BetweenElements {
                    offset: at,
                    index: self.index.saturating_sub(1),
                    found: describe(chunk, pos),
                })
            }
            _ => {
                return Err(FramingError::NotJson {
                    offset: at,
                    found: describe(chunk, pos),
                })
            }
        }
        Ok(pos + 1)
    }

    fn keep(&mut self, bytes: &[u8]) {
        if self.oversize.is_none() {
            if let Some(at) = self.scanner.long_string_at {
                self.drop_frame(Oversize::String {
                    at,
                    limit: self.limits.max_string_bytes,
                });
            } else if (self.buf.len() - self.element_start + bytes.len()) as u64
                > self.limits.max_conversation_bytes
            {
                self.drop_frame(Oversize::Conversation {
                    limit: self.limits.max_conversation_bytes,
                });
            } else {
                self.buf.extend_from_slice(bytes);
            }
        }
    }

    fn drop_frame(&mut self, why: Oversize) {
        self.oversize = Some(why);
        self.buf.truncate(self.element_start);
        if self.buf.capacity() > 2 * self.buf.len() + (4 << 20) {
            self.buf.shrink_to(self.buf.len() + (1 << 20));
        }
    }

    fn end_element(&mut self) {
        let index = self.index;
        self.index += 1;
        let offset = self.element_offset;
        match self.oversize.take() {
            Some(why) => self.oversized.push(Oversized { index, offset, why }),
            None => self.frames.push(Frame {
                index,
                offset,
                range: self.element_start..self.buf.len(),
            }),
        }
        self.element_start = self.buf.len();
    }

    /// Declares the end of the file.
    pub fn finish(self) -> Result<(), FramingError> {
        let end = self.offset;
        match self.state {
            State::Done => Ok(()),
            State::Start if end == 0 => Err(FramingError::Empty),
            State::Start => Err(FramingError::NotJson {
                offset: end,
                found: "only whitespace".into(),
            }),
            State::InElement => Err(FramingError::TruncatedInside {
                end,
                index: self.index,
                offset: self.element_offset,
            }),
            _ => Err(FramingError::TruncatedBetween { end }),
        }
    }
}

/// Finds where one JSON value ends, tracking only strings and nesting.
///
/// Only the bracket pair that opened the value is counted (`{}` for an object, `[]` for an
/// array): the other pair is balanced inside it in any document serde will accept, and counting
/// one pair lets a single `memchr3` jump between the bytes that matter. Inside strings only `"`
/// is searched; whether it is escaped is read from the run of backslashes before it.
struct ValueScanner {
    fresh: bool,
    depth: u32,
    open: u8,
    close: u8,
    in_string: bool,
    /// Backslashes ending the previous chunk while inside a string.
    carried_backslashes: usize,
    scalar: bool,
    max_string: u64,
    string_start: u64,
    long_string_at: Option<u64>,
}

impl ValueScanner {
    fn new(max_string: u64) -> Self {
        ValueScanner {
            fresh: true,
            depth: 0,
            open: b'{',
            close: b'}',
            in_string: false,
            carried_backslashes: 0,
            scalar: false,
            max_string,
            string_start: 0,
            long_string_at: None,
        }
    }

    fn reset(&mut self) {
        *self = ValueScanner::new(self.max_string);
    }

    fn open_string(&mut self, at: u64) {
        self.in_string = true;
        self.carried_backslashes = 0;
        self.string_start = at;
    }

    fn check_string(&mut self, upto: u64) {
        if self.long_string_at.is_none() && upto - self.string_start > self.max_string {
            self.long_string_at = Some(self.string_start);
        }
    }

    /// Scans `chunk[pos..]`; returns the position just past the value's end, or `None` when the
    /// value goes on into the next chunk. A scalar ends before its delimiter.
    fn scan(&mut self, chunk: &[u8], mut pos: usize, base: u64) -> Option<usize> {
        if self.fresh && pos < chunk.len() {
            self.fresh = false;
            match chunk[pos] {
                b @ (b'{' | b'[') => {
                    self.depth = 1;
                    self.open = b;
                    self.close = if b == b'{' { b'}' } else { b']' };
                    pos += 1;
                }
                b'"' => {
                    self.open_string(base + pos as u64 + 1);
                    pos += 1;
                }
                _ => self.scalar = true,
            }
        }
        loop {
            if self.in_string {
                let Some(i) = memchr::memchr(b'"', &chunk[pos..]) else {
                    let run = trailing_backslashes(&chunk[pos..]);
                    self.carried_backslashes = if run == chunk.len() - pos {
                        self.carried_backslashes + run
                    } else {
                        run
                    };
                    self.check_string(base + chunk.len() as u64);
                    return None;
                };
                let p = pos + i;
                let mut run = trailing_backslashes(&chunk[..p]);
                if run == p {
                    run += self.carried_backslashes;
                }
                self.carried_backslashes = 0;
                pos = p + 1;
                if run.is_multiple_of(2) {
                    self.in_string = false;
                    self.check_string(base + p as u64);
                    if self.depth == 0 {
                        return Some(pos);
                    }
                }
            } else if self.scalar {
                return chunk[pos..]
                    .iter()
                    .position(|&b| matches!(b, b',' | b']' | b'}') || is_whitespace(b))
                    .map(|i| pos + i);
            } else {
                let i = memchr::memchr3(b'"', self.open, self.close, &chunk[pos..])?;
                let p = pos + i;
                pos = p + 1;
                match chunk[p] {
                    b'"' => self.open_string(base + pos as u64),
                    b if b == self.open => self.depth += 1,
                    _ => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(pos);
                        }
                    }
                }
            }
        }
    }
}

/// Length of the run of `\` ending `bytes`.
fn trailing_backslashes(bytes: &[u8]) -> usize {
    bytes.iter().rev().take_while(|&&b| b == b'\\').count()
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_bom(b: u8) -> bool {
    matches!(b, 0xEF | 0xBB | 0xBF)
}

/// A short, printable description of the bytes at `pos`, for error messages.
fn describe(chunk: &[u8], pos: usize) -> String {
    let end = (pos + 16).min(chunk.len());
    let text = String::from_utf8_lossy(&chunk[pos..end]);
    format!("{text:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: FrameLimits = FrameLimits {
        max_conversation_bytes: 1 << 20,
        max_string_bytes: 1 << 16,
    };

    /// What the framer finds, in order; a batch is taken after every chunk, so elements
    /// spanning chunks are also carried across batches.
    #[derive(Debug)]
    enum Found {
        Conversation { offset: u64, text: String },
        Oversized(Oversized),
    }

    fn frames_with(
        input: &[u8],
        chunk: usize,
        limits: FrameLimits,
    ) -> (Vec<Found>, Result<(), FramingError>) {
        let mut framer = Framer::new(limits);
        let mut out = Vec::new();
        let mut result = Ok(());
        for piece in input.chunks(chunk) {
            result = framer.push(piece);
            let batch = framer.take_batch(Vec::new());
            let mut found: Vec<(u64, Found)> = batch
                .frames
                .iter()
                .map(|f| {
                    let text = String::from_utf8(batch.bytes_of(f).to_vec()).unwrap();
                    (
                        f.index,
                        Found::Conversation {
                            offset: f.offset,
                            text,
                        },
                    )
                })
                .collect();
            found.extend(
                framer
                    .take_oversized()
                    .into_iter()
                    .map(|o| (o.index, Found::Oversized(o))),
            );
            found.sort_by_key(|(i, _)| *i);
            out.extend(found.into_iter().map(|(_, f)| f));
            if result.is_err() {
                return (out, result);
            }
        }
        (out, result.and(framer.finish()))
    }

    fn texts(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| match f {
                Found::Conversation { text, .. } => text.clone(),
                Found::Oversized(o) => format!("<oversized {}>", o.index),
            })
            .collect()
    }

    #[test]
    fn frames_are_the_same_whatever_the_chunk_size() {
        let doc =
            "\u{feff} [ {\"a\":\"x]}\\\"\",\"b\":[1,{\"c\":null}]}, {\"d\":\"\\\\\"} ,7,\"s\" ]";
        let expected = vec![
            r#"{"a":"x]}\"","b":[1,{"c":null}]}"#.to_string(),
            r#"{"d":"\\"}"#.to_string(),
            "7".to_string(),
            "\"s\"".to_string(),
        ];
        for chunk in 1..doc.len() + 1 {
            let (events, end) = frames_with(doc.as_bytes(), chunk, LIMITS);
            assert_eq!(end, Ok(()), "chunk {chunk}");
            assert_eq!(texts(&events), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn backslash_runs_are_read_across_chunk_boundaries() {
        let doc = br#"[{"a":"x\\\"y\\"},{"b":"\\\\"},"\\\"]"]"#;
        let expected = vec![
            r#"{"a":"x\\\"y\\"}"#.to_string(),
            r#"{"b":"\\\\"}"#.to_string(),
            r#""\\\"]""#.to_string(),
        ];
        for chunk in 1..doc.len() + 1 {
            let (events, end) = frames_with(doc, chunk, LIMITS);
            assert_eq!(end, Ok(()), "chunk {chunk}");
            assert_eq!(texts(&events), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn offsets_point_at_each_element() {
        let doc = br#"[{"a":1},  {"b":2}]"#;
        let (events, _) = frames_with(doc, 4, LIMITS);
        let offsets: Vec<u64> = events
            .iter()
            .map(|e| match e {
                Found::Conversation { offset, .. } => *offset,
                Found::Oversized(o) => o.offset,
            })
            .collect();
        assert_eq!(offsets, vec![1, 11]);
    }

    #[test]
    fn the_conversations_member_of_a_wrapper_object_is_read() {
        let doc = br#"{"meta": {"x": [1, "]"]}, "conversations": [{"id":"a"}], "tail": 1}"#;
        for chunk in [1, 3, 100] {
            let (events, end) = frames_with(doc, chunk, LIMITS);
            assert_eq!(end, Ok(()));
            assert_eq!(texts(&events), vec![r#"{"id":"a"}"#]);
        }
        let (_, end) = frames_with(br#"{"other": []}"#, 5, LIMITS);
        assert_eq!(end, Err(FramingError::NoConversationsKey));
        let escaped = br#"{"conv\"ersations": [{"a":1}], "conversations": [{"b":2}]}"#;
        let (events, end) = frames_with(escaped, 2, LIMITS);
        assert_eq!(end, Ok(()));
        assert_eq!(texts(&events), vec![r#"{"b":2}"#]);
    }

    #[test]
    fn truncation_says_where() {
        let (events, end) = frames_with(br#"[{"a":1}, {"b":"#, 3, LIMITS);
        assert_eq!(events.len(), 1);
        assert_eq!(
            end,
            Err(FramingError::TruncatedInside {
                end: 15,
                index: 1,
                offset: 10
            })
        );
        let (_, end) = frames_with(br#"[{"a":1},"#, 3, LIMITS);
        assert_eq!(end, Err(FramingError::TruncatedBetween { end: 9 }));
        let (_, end) = frames_with(b"", 3, LIMITS);
        assert_eq!(end, Err(FramingError::Empty));
    }

    #[test]
    fn garbage_is_refused_with_its_offset() {
        let (_, end) = frames_with(b"  PK\x03\x04", 2, LIMITS);
        assert!(matches!(end, Err(FramingError::NotJson { offset: 2, .. })));
        let (events, end) = frames_with(br#"[{"a":1} {"b":2}]"#, 64, LIMITS);
        assert_eq!(events.len(), 1);
        assert!(matches!(
            end,
            Err(FramingError::BetweenElements { offset: 9, .. })
        ));
    }

    #[test]
    fn oversized_elements_are_skipped_without_keeping_their_bytes() {
        let limits = FrameLimits {
            max_conversation_bytes: 20,
            max_string_bytes: 8,
        };
        let doc = br#"[{"a":"0123456789"},{"b":[1,2,3,4,5,6,7,8,9,10,11]},{"c":1}]"#;
        for chunk in [1, 5, 200] {
            let (events, end) = frames_with(doc, chunk, limits);
            assert_eq!(end, Ok(()));
            assert_eq!(events.len(), 3);
            assert!(matches!(
                events[0],
                Found::Oversized(Oversized {
                    index: 0,
                    why: Oversize::String { at: 7, limit: 8 },
                    ..
                })
            ));
            assert!(matches!(
                events[1],
                Found::Oversized(Oversized {
                    index: 1,
                    why: Oversize::Conversation { .. },
                    ..
                })
            ));
            assert_eq!(texts(&events[2..]), vec![r#"{"c":1}"#]);
        }
    }

    #[test]
    fn deep_nesting_costs_no_memory() {
        let mut doc = b"[".to_vec();
        doc.extend(std::iter::repeat_n(b'[', 100_000));
        doc.extend(std::iter::repeat_n(b']', 100_000));
        doc.push(b']');
        let (events, end) = frames_with(&doc, 4096, LIMITS);
        assert_eq!(end, Ok(()));
        assert_eq!(events.len(), 1);
    }
}
