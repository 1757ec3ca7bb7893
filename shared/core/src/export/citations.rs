//! Strips ChatGPT's citation machinery from message text, keeping the words.
//!
//! Old exports write `【4†source】`. Recent ones wrap references in private-use characters:
//! `U+E200 KIND U+E202 field U+E202 … U+E201`, `U+E203 … U+E204` around a cited span and a
//! trailing `U+E206`. A cited span keeps its text, an `entity` keeps its display name (the
//! second element of its JSON list), a `url` keeps its label, every other kind goes whole.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem::Finder;

const OPEN: char = '\u{E200}';
const CLOSE: char = '\u{E201}';
const FIELD: char = '\u{E202}';
/// `U+E203`…`U+E206`: span markers and trailers, dropped wherever they stand.
const LOOSE: std::ops::RangeInclusive<char> = '\u{E203}'..='\u{E206}';

/// Returns the text without citation markers; borrows when there were none.
pub fn strip(text: &str) -> Cow<'_, str> {
    if !has_markers(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Once no closing marker is left, later openings cannot have one: don't search again
    // (searching from every opening would make a text of openings quadratic).
    let mut closes_left = true;
    while let Some(pos) = rest.find(|c: char| c == '【' || c == OPEN || LOOSE.contains(&c)) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let c = tail.chars().next().unwrap_or_default();
        let consumed = if c == '【' {
            old_style(tail).unwrap_or_else(|| {
                out.push(c);
                c.len_utf8()
            })
        } else if c == OPEN {
            let close = if closes_left { tail.find(CLOSE) } else { None };
            closes_left = close.is_some();
            match close {
                Some(end) => {
                    let inner = &tail[OPEN.len_utf8()..end];
                    let kept = marker_words(inner);
                    if kept.is_empty() {
                        drop_space_before(&mut out, &tail[end + CLOSE.len_utf8()..]);
                    }
                    out.push_str(&kept);
                    end + CLOSE.len_utf8()
                }
                None => OPEN.len_utf8(),
            }
        } else {
            c.len_utf8()
        };
        rest = &tail[consumed..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A byte-level pre-check (every marker starts with `EE 88` or is `【`), so that clean text,
/// nearly all of it, costs one SIMD scan.
fn has_markers(text: &str) -> bool {
    static PRIVATE_USE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\xEE\x88"));
    static OLD_STYLE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("【".as_bytes()));
    let bytes = text.as_bytes();
    PRIVATE_USE.find(bytes).is_some() || OLD_STYLE.find(bytes).is_some()
}

/// `【…†…】`, at most 64 bytes inside and no line break: returns its length. The search looks
/// no further than that, so unclosed brackets cost nothing.
fn old_style(tail: &str) -> Option<usize> {
    const MAX_INNER: usize = 64;
    let open = '【'.len_utf8();
    let window = &tail.as_bytes()[open..tail.len().min(open + MAX_INNER + '】'.len_utf8())];
    let end = open + memchr::memmem::find(window, "】".as_bytes())?;
    let inner = &tail[open..end];
    (inner.contains('†') && !inner.contains('\n')).then_some(end + '】'.len_utf8())
}

/// The words a marker stands for: an entity's display name, a url's label, else nothing.
fn marker_words(inner: &str) -> String {
    let mut fields = inner.split(FIELD);
    let kind = fields.next().unwrap_or_default();
    match kind {
        "entity" => fields
            .next()
            .and_then(|list| serde_json::from_str::<Vec<serde_json::Value>>(list).ok())
            .and_then(|list| list.get(1).and_then(|v| v.as_str()).map(str::to_owned))
            .unwrap_or_default(),
        "url" => fields
            .find(|f| !f.is_empty() && !f.starts_with("http://") && !f.starts_with("https://"))
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// Removing a trailing citation should not leave "word ." behind.
fn drop_space_before(out: &mut String, next: &str) {
    let next = next.chars().next();
    let ends_clause = next.is_none_or(|c| c.is_ascii_punctuation() || c == '\n');
    if ends_clause && out.ends_with(' ') {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_markers_is_borrowed() {
        assert!(matches!(strip("plain 【text】 here"), Cow::Owned(_)));
        assert!(matches!(strip("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn old_style_citations_go() {
        assert_eq!(strip("Berlin is big【4†source】."), "Berlin is big.");
        assert_eq!(strip("see【12:3†notes.md】 now"), "see now");
        assert_eq!(strip("a 【bracket】 stays"), "a 【bracket】 stays");
    }

    #[test]
    fn private_use_markers_keep_the_words() {
        let cited = "\u{E203}Berlin has 3.7 million people\u{E204} \u{E200}cite\u{E202}turn0search3\u{E201}.";
        assert_eq!(strip(cited), "Berlin has 3.7 million people.");
        let entity = "I moved to \u{E200}entity\u{E202}[\"city\",\"Lisbon\",\"capital of Portugal\"]\u{E201} last year\u{E206}";
        assert_eq!(strip(entity), "I moved to Lisbon last year");
        let url = "Read \u{E200}url\u{E202}the docs\u{E202}https://example.com\u{E201}.";
        assert_eq!(strip(url), "Read the docs.");
        let other = "Pictures: \u{E200}image_group\u{E202}{\"query\":[\"cats\"]}\u{E201}\nNext";
        assert_eq!(strip(other), "Pictures:\nNext");
    }

    #[test]
    fn an_unterminated_marker_loses_only_its_opening() {
        assert_eq!(strip("a \u{E200}cite b"), "a cite b");
    }

    #[test]
    fn unclosed_openings_cost_linear_time() {
        // Quadratic scanning would take minutes here.
        let many = "【\u{E200}".repeat(1 << 20);
        let stripped = strip(&many);
        assert_eq!(stripped.chars().filter(|&c| c == '【').count(), 1 << 20);
    }
}
