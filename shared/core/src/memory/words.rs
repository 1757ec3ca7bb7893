//! When two facts say the same thing: "I live in Berlin" and "Lives in Berlin, Germany".
//!
//! Facts are compared by their content words (lower-cased, crudely stemmed, function words
//! dropped): one fact's words nearly all among the other's, and the same numbers, is the same
//! fact told twice. Numbers must agree, so that "Pixel number 2" and "Pixel number 3" stay two.

/// The content words of `text`, stemmed, sorted, without repeats.
pub fn content_words(text: &str) -> Vec<String> {
    // An aside in parentheses ("(noted in exchange 3)") does not make a fact another one.
    let mut plain = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let mut words: Vec<String> = plain
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter_map(|w| {
            let w = w.trim_matches('\'').to_lowercase();
            let w = w.strip_suffix("'s").unwrap_or(&w).to_owned();
            (!w.is_empty() && !STOP.contains(&w.as_str())).then(|| stem(&w))
        })
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Whether facts with these content words are the same fact.
pub fn same_fact(a: &[String], b: &[String]) -> bool {
    let numbers =
        |w: &[String]| -> Vec<String> { w.iter().filter(|x| is_number(x)).cloned().collect() };
    same_words(a, &numbers(a), b, &numbers(b))
}

/// Whether a content word is a number (or holds one).
pub fn is_number(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
}

/// [`same_fact`]'s rule over any sorted words (their numbers apart): words as they are, or
/// hashed where they may not be kept ([`super::tombstone`]).
pub fn same_words<T: Ord + PartialEq>(a: &[T], a_numbers: &[T], b: &[T], b_numbers: &[T]) -> bool {
    let ((small, ns), (large, nl)) = if a.len() <= b.len() {
        ((a, a_numbers), (b, b_numbers))
    } else {
        ((b, b_numbers), (a, a_numbers))
    };
    if small.is_empty() {
        return false;
    }
    // A number the other lacks is a different fact, unless one fact has no numbers at all.
    if !ns.is_empty() && ns != nl {
        return false;
    }
    let shared = small
        .iter()
        .filter(|w| large.binary_search(w).is_ok())
        .count();
    // Short facts must match whole; longer ones may differ in a word in five.
    shared * 5 >= small.len() * 4 && (shared >= 2 || small.len() == shared)
}

fn stem(w: &str) -> String {
    if w.chars().any(|c| c.is_ascii_digit()) {
        return w.to_owned();
    }
    let mut s = w;
    let n = s.chars().count();
    for suffix in ["ing", "ied", "ed", "es", "s"] {
        // A plural "s" comes off four-letter words too ("pets", "cats"); the rest need five.
        let long_enough = if suffix == "s" { n > 3 } else { n > 4 };
        if let Some(rest) = s.strip_suffix(suffix).filter(|_| long_enough) {
            if !rest.ends_with('s') || suffix != "s" {
                s = rest;
                break;
            }
        }
    }
    if s.chars().count() > 3 {
        s = s.strip_suffix('e').unwrap_or(s);
    }
    s.to_owned()
}

pub(crate) const STOP: &[&str] = &[
    "a",
    "about",
    "actually",
    "also",
    "am",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "been",
    "being",
    "btw",
    "but",
    "by",
    "can",
    "context",
    "could",
    "currently",
    "did",
    "do",
    "does",
    "for",
    "from",
    "fyi",
    "had",
    "has",
    "have",
    "he",
    "her",
    "his",
    "how",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "im",
    "in",
    "is",
    "it",
    "its",
    "ive",
    "just",
    "me",
    "mine",
    "my",
    "now",
    "of",
    "on",
    "or",
    "our",
    "person",
    "really",
    "she",
    "should",
    "so",
    "that",
    "the",
    "their",
    "them",
    "these",
    "they",
    "this",
    "those",
    "to",
    "too",
    "user",
    "very",
    "was",
    "way",
    "we",
    "were",
    "what",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        same_fact(&content_words(a), &content_words(b))
    }

    #[test]
    fn restatements_are_the_same_fact() {
        assert!(same("I live in Berlin", "Lives in Berlin, Germany"));
        assert!(same(
            "By the way, I moved to Lisbon in 2003.",
            "I moved to Lisbon in 2003"
        ));
        assert!(same("I love hiking", "Loves hiking."));
        assert!(same(
            "User prefers short answers (noted in exchange 3).",
            "User prefers short answers (noted in exchange 15)."
        ));
    }

    #[test]
    fn different_places_numbers_and_objects_are_not() {
        assert!(!same(
            "I moved to Lisbon in 2003.",
            "I moved to Oslo in 2003."
        ));
        assert!(!same(
            "I moved to Lisbon in 2003.",
            "I moved to Lisbon in 2011."
        ));
        assert!(!same(
            "I have a greyhound called Pixel number 2.",
            "I have a greyhound called Pixel number 3."
        ));
        assert!(!same("I love hiking", "I love cooking"));
        assert!(!same("", "anything"));
    }
}
