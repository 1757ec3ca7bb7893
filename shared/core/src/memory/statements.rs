//! Explicit statements a person makes about themselves ("I moved to Lisbon in 2003.").
//!
//! No model reads these: rules find sentences in the person's own words that start in the
//! first person and state rather than ask. The offline engine builds its facts from them, and
//! seeding files ChatGPT's own memory under the right heading with [`classify`].

use super::fact::{Category, Subject};

/// A sentence in which the person states something about themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The MEMORY heading it goes under.
    pub category: Category,
    /// What it is about, when that is a subject newer facts replace.
    pub subject: Option<Subject>,
    /// The sentence, as the person wrote it (a leading "by the way," dropped).
    pub text: String,
    /// Byte range of the sentence in the text it was found in.
    pub start: usize,
    /// End of the byte range, exclusive.
    pub end: usize,
}

/// Statements about the person in `text` (their own words).
pub fn statements(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    for (start, sentence) in sentences(text) {
        let trimmed = sentence.trim();
        if trimmed.ends_with('?') || trimmed.chars().count() < 8 || trimmed.chars().count() > 300 {
            continue;
        }
        let lead = trimmed.len() - strip_discourse(trimmed).len();
        let body = &trimmed[lead..];
        if super::not_a_fact::is_not_a_fact(body) {
            continue;
        }
        let lower = body.to_lowercase();
        if !FIRST_PERSON.iter().any(|p| lower.starts_with(p)) {
            continue;
        }
        let Some((category, subject)) = classify(&lower) else {
            continue;
        };
        let offset = start + (sentence.len() - sentence.trim_start().len()) + lead;
        out.push(Statement {
            category,
            subject,
            text: capitalise(body.trim_end_matches(['.', '!', ' '])) + ".",
            start: offset,
            end: offset + body.len(),
        });
    }
    out
}

/// The heading a statement about the person goes under, and what it is about (lower-case
/// input); `None` when it is no fact worth keeping.
pub fn classify(lower: &str) -> Option<(Category, Option<Subject>)> {
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["birthday", "anniversary", "due date", "wedding is on"]) {
        return Some((Category::Date, None));
    }
    if has(&[
        "live in",
        "lives in",
        "living in",
        "moved to",
        "moving to",
        "based in",
        "relocated to",
    ]) {
        return Some((Category::Life, Some(Subject::Location)));
    }
    if has(&[
        "work as",
        "worked as",
        "works as",
        "working as",
        "my job is",
        "my profession",
        "i'm a professional",
        "by profession",
    ]) {
        return Some((Category::Life, Some(Subject::Occupation)));
    }
    if has(&[
        "work at",
        "work for",
        "works at",
        "works for",
        "i joined",
        "started a new job",
    ]) {
        return Some((Category::Life, Some(Subject::Employer)));
    }
    if has(&[
        "married",
        "engaged",
        "divorced",
        "my girlfriend",
        "my boyfriend",
        "my partner",
    ]) {
        return Some((Category::Life, Some(Subject::Relationship)));
    }
    if has(&[
        "i decided",
        "i've decided",
        "i have decided",
        "decided to",
        "i chose",
        "i'm going to quit",
    ]) {
        return Some((Category::Decision, None));
    }
    if has(&[
        "i believe",
        "i value",
        "believe that",
        "important to me",
        "i care about",
    ]) {
        return Some((Category::Belief, None));
    }
    if has(&[
        "i'm building",
        "i am building",
        "i'm working on",
        "i am working on",
        "my project",
        "my startup",
        "i'm writing a",
        "i am writing a",
    ]) {
        return Some((Category::Project, None));
    }
    if has(&[
        "i prefer",
        "i like",
        "i love",
        "i hate",
        "i enjoy",
        "i don't like",
        "i can't stand",
        "my favorite",
        "my favourite",
        "prefers",
        "likes",
        "loves",
    ]) {
        return Some((Category::Preference, None));
    }
    if has(&[
        "my name is",
        "call me",
        "i have a ",
        "i have two",
        "i have three",
        "i've got a",
        "my wife",
        "my husband",
        "my son",
        "my daughter",
        "my kids",
        "my children",
        "my dog",
        "my cat",
        "my sister",
        "my brother",
        "my mother",
        "my father",
        "my mom",
        "my dad",
        "i am allergic",
        "i'm allergic",
        "i'm vegetarian",
        "i'm vegan",
        "i am vegetarian",
        "i grew up",
        "i was born",
        "i speak",
        "i study",
        "i'm studying",
    ]) {
        return Some((Category::Life, None));
    }
    None
}

const FIRST_PERSON: &[&str] = &["i ", "i'm ", "i’m ", "i've ", "i’ve ", "my ", "i am "];

const DISCOURSE: &[&str] = &[
    "by the way",
    "for context",
    "just so you know",
    "fyi",
    "btw",
    "actually",
    "also",
    "oh and",
    "and",
    "so",
    "well",
    "ok",
    "okay",
    "for the record",
    "quick context",
];

/// The sentence without a leading "by the way," and the like. The phrases are ASCII, so they
/// are compared byte for byte (lower-casing can change a character's length).
fn strip_discourse(s: &str) -> &str {
    let mut s = s;
    loop {
        let Some(d) = DISCOURSE.iter().find(|d| {
            s.get(..d.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(d))
                && s[d.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c == ',' || c == ' ' || c == ':')
        }) else {
            return s;
        };
        s = s[d.len()..].trim_start_matches([',', ':', ' ']);
    }
}

/// Sentences of `text` with their byte offsets: split after `.`, `!`, `?` followed by
/// white space, and at line ends.
fn sentences(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let end_here = b == b'\n'
            || (matches!(b, b'.' | b'!' | b'?')
                && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()));
        if end_here {
            let stop = if b == b'\n' { i } else { i + 1 };
            if stop > start {
                out.push((start, &text[start..stop]));
            }
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, &text[start..]));
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_the_person_says_of_themselves() {
        let text = "How do I sort a list in Rust? By the way, I moved to Lisbon in 2003. \
                    For context, I have worked as a nurse for 5 years.\nMy sister's birthday \
                    is on the 8th of May. Do I like it?";
        let found = statements(text);
        let got: Vec<_> = found
            .iter()
            .map(|s| (s.category, s.subject, s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Category::Life,
                    Some(Subject::Location),
                    "I moved to Lisbon in 2003."
                ),
                (
                    Category::Life,
                    Some(Subject::Occupation),
                    "I have worked as a nurse for 5 years."
                ),
                (
                    Category::Date,
                    None,
                    "My sister's birthday is on the 8th of May."
                ),
            ]
        );
        assert_eq!(
            &text[found[0].start..found[0].end],
            "I moved to Lisbon in 2003."
        );
    }

    #[test]
    fn characters_that_change_length_when_lower_cased_are_safe() {
        // The Kelvin sign lower-cases to an ASCII k; İ to two characters.
        for text in [
            "O\u{212A}, I live in Berlin.",
            "İ, I live in Berlin.",
            "OK, I live in İzmir now.",
        ] {
            let _ = statements(text);
        }
        assert_eq!(
            statements("OK, I live in İzmir now.")[0].text,
            "I live in İzmir now."
        );
    }

    #[test]
    fn questions_and_third_person_are_not_statements() {
        assert!(statements("Can you explain how I moved to the new API?").is_empty());
        assert!(statements("The user lives in Berlin.").is_empty());
        assert!(statements("I think so.").is_empty());
    }
}
