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
    for (start, sentence) in sentences(own_words(text)) {
        let trimmed = sentence.trim();
        // A quotation is someone's words, not the person's statement.
        if trimmed.starts_with(['"', '\'', '“', '‘', '«', '>']) {
            continue;
        }
        if trimmed.ends_with('?') || trimmed.chars().count() < 8 || trimmed.chars().count() > 300 {
            continue;
        }
        let lead = trimmed.len() - strip_discourse(trimmed).len();
        let body = &trimmed[lead..];
        if super::not_a_fact::is_not_a_fact(body) {
            continue;
        }
        let lower = body.to_lowercase();
        if !FIRST_PERSON.iter().any(|p| lower.starts_with(p))
            && super::other_languages::classify(&lower).is_none()
        {
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

/// The person's own words of a message: what comes before a pasted text, if any.
pub fn own_words(text: &str) -> &str {
    &text[..pasted_from(text).min(text.len())]
}

/// Where pasted text starts: after a line that introduces it ("Translate this:", "Here is the
/// email:", "Proofread the following:"). What follows is someone's text, or the person's
/// written for another purpose, not a statement to remember.
fn pasted_from(text: &str) -> usize {
    // Verbs asking for work on a text, matched as whole words ("edit", not "credit").
    const VERBS: &[&str] = &[
        "translate",
        "paste",
        "pasted",
        "proofread",
        "rewrite",
        "summarize",
        "summarise",
        "correct",
        "improve",
        "edit",
        "review",
        "reword",
        "shorten",
    ];
    // Phrases that point at a text.
    const PHRASES: &[&str] = &[
        "the following",
        "reply to",
        "respond to",
        "this email",
        "the email",
        "this text",
        "the text",
        "this message",
        "the message",
        "this letter",
        "the letter",
    ];
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        at += line.len();
        let lower = line.trim().to_lowercase();
        if !lower.ends_with(':') {
            continue;
        }
        let verb = lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| VERBS.contains(&w));
        if verb || PHRASES.iter().any(|p| lower.contains(p)) {
            return at;
        }
    }
    usize::MAX
}

/// The heading a statement about the person goes under, and what it is about (lower-case
/// input; English, else [`super::other_languages`]); `None` when it is no fact worth keeping.
pub fn classify(lower: &str) -> Option<(Category, Option<Subject>)> {
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["birthday", "anniversary", "due date", "wedding is on"]) {
        return Some((Category::Date, None));
    }
    if let Some((subject, about_them)) = slot(lower) {
        return Some((Category::Life, about_them.then_some(subject)));
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
        "i'm learning",
        "i am learning",
        "i've been learning",
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
        "my wife",
        "my husband",
        "my partner",
        "my girlfriend",
        "my boyfriend",
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
        "vegetarian",
        "vegan",
        "i play ",
        "i drive ",
        "i grew up",
        "i was born",
        "i speak",
        "i study",
        "i'm studying",
    ]) {
        return Some((Category::Life, None));
    }
    if has_durable(lower) {
        return Some((Category::Life, None));
    }
    super::other_languages::classify(lower)
}

/// "I have a …" opens a task's context far more often than a fact ("I have a docker image
/// that…", "I have a list of features"): it is a fact when what they have is one of these,
/// within the next four words ("I have two whippets", "I've got a little daughter"), or it
/// has a name ("a greyhound called Pixel").
const DURABLE: &[&str] = &[
    "dog",
    "cat",
    "puppy",
    "kitten",
    "pet",
    "tortoise",
    "turtle",
    "rabbit",
    "hamster",
    "parrot",
    "horse",
    "son",
    "daughter",
    "kid",
    "child",
    "children",
    "baby",
    "toddler",
    "twin",
    "brother",
    "sister",
    "sibling",
    "wife",
    "husband",
    "partner",
    "girlfriend",
    "boyfriend",
    "fiancé",
    "fiancée",
    "house",
    "flat",
    "apartment",
    "garden",
    "allotment",
    "farm",
    "car",
    "bike",
    "motorbike",
    "degree",
    "phd",
    "master",
    "mba",
    "bachelor",
    "allergy",
    "allergie",
    "diagnosis",
    "condition",
    "disability",
    "disease",
    "illness",
    "disorder",
    "diabete",
    "adhd",
    "autism",
    "asthma",
];

fn has_durable(lower: &str) -> bool {
    ["i have ", "i've got ", "i’ve got ", "i have got "]
        .iter()
        .flat_map(|cue| {
            lower
                .match_indices(cue)
                .map(|(at, _)| &lower[at + cue.len()..])
        })
        .any(|rest| {
            // Ages and counts ("a 3-year-old son", "two brothers") do not push the noun out.
            let words: Vec<&str> = rest
                .split(|c: char| !c.is_alphanumeric() && c != '\'')
                .filter(|w| {
                    !w.is_empty()
                        && !w.chars().all(|c| c.is_ascii_digit())
                        && !matches!(*w, "year" | "years" | "old" | "month" | "months")
                })
                .map(|w| w.strip_suffix('s').filter(|_| w.len() > 3).unwrap_or(w))
                .take(5)
                .collect();
            // Something they have that has a name ("a greyhound called Pixel") is theirs.
            words.iter().take(4).any(|w| DURABLE.contains(w))
                || words.iter().any(|w| matches!(*w, "called" | "named"))
        })
}

/// What states one of the person's slots (home, work, employer, partner): a newer statement
/// of a slot replaces the older one, so only a confident one is tagged.
const SLOTS: &[(&str, Subject)] = &[
    ("live in", Subject::Location),
    ("lives in", Subject::Location),
    ("living in", Subject::Location),
    ("moved to", Subject::Location),
    ("moving to", Subject::Location),
    ("based in", Subject::Location),
    ("relocated to", Subject::Location),
    ("work as", Subject::Occupation),
    ("worked as", Subject::Occupation),
    ("works as", Subject::Occupation),
    ("working as", Subject::Occupation),
    ("my job is", Subject::Occupation),
    ("work at", Subject::Employer),
    ("work for", Subject::Employer),
    ("works at", Subject::Employer),
    ("works for", Subject::Employer),
    ("working at", Subject::Employer),
    ("working for", Subject::Employer),
    ("started a new job", Subject::Employer),
    ("married", Subject::Relationship),
    ("engaged", Subject::Relationship),
    ("divorced", Subject::Relationship),
];

/// The slot a sentence (lower case) states, and whether it is the person's own: the one
/// before the verb is the person ("I", "we", "my wife and I", "User" or a name in ChatGPT's
/// memory), and, for a home or an employer, what follows names a place ("living in a rented
/// home" names none). `None` when no slot's words are there, or they are someone else's ("my
/// sister lives in Berlin", "that wouldn't work for me", "I would live in Paris").
fn slot(lower: &str) -> Option<(Subject, bool)> {
    let (at, cue, subject) = SLOTS
        .iter()
        .filter_map(|&(cue, subject)| lower.find(cue).map(|at| (at, cue, subject)))
        .min_by_key(|&(at, ..)| at)?;
    if !is_the_person(&lower[..at]) {
        return None;
    }
    let object = lower[at + cue.len()..].trim_start();
    if subject == Subject::Relationship && object.starts_with("in ") {
        return None; // "engaged in a project"
    }
    let names_a_place = !["a ", "an ", "fear", "denial", "hope"]
        .iter()
        .any(|w| object.starts_with(w));
    let placed = !matches!(subject, Subject::Location | Subject::Employer) || names_a_place;
    Some((subject, placed))
}

/// Whether the words before a verb name the person (auxiliaries and adverbs aside).
fn is_the_person(who: &str) -> bool {
    const AUX: &[&str] = &[
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "have",
        "has",
        "had",
        "will",
        "just",
        "recently",
        "currently",
        "still",
        "now",
        "got",
        "get",
        "also",
        "both",
        "finally",
        "officially",
        "already",
        "actually",
        "then",
        "really",
        "happily",
        "newly",
    ];
    const NOT_THE_PERSON: &[&str] = &[
        "he", "she", "they", "it", "this", "that", "who", "which", "someone", "everyone", "people",
        "you", "there", "here", "what", "my", "our", "his", "her", "their", "your",
    ];
    let who = who
        .replace('’', "'")
        .replace("'m", " am")
        .replace("'ve", " have")
        .replace("'re", " are")
        .replace("'ll", " will")
        .replace("'s", " is");
    let mut words: Vec<&str> = who
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    while words.last().is_some_and(|w| AUX.contains(w)) {
        words.pop();
    }
    match words.as_slice() {
        [] | ["i"] | ["we"] | ["user"] | ["the", "user"] | [.., "and", "i"] => true,
        [name] => name.chars().all(char::is_alphabetic) && !NOT_THE_PERSON.contains(name),
        _ => false,
    }
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
    fn a_slot_is_tagged_only_when_it_is_the_persons_own() {
        let tag = |s: &str| classify(&s.to_lowercase());
        let location = Some((Category::Life, Some(Subject::Location)));
        assert_eq!(tag("I live in Berlin"), location);
        assert_eq!(tag("My wife and I moved to Porto in May"), location);
        assert_eq!(tag("I'm currently based in the UK"), location);
        assert_eq!(tag("User moved to Lisbon in April 2024"), location);
        assert_eq!(tag("Sam lives in Lisbon"), location);
        assert_eq!(
            tag("I'm married to Ana"),
            Some((Category::Life, Some(Subject::Relationship)))
        );
        // Someone else's, a doubt, a hypothetical, or no place named: no slot.
        assert_eq!(
            tag("My sister lives in Berlin"),
            Some((Category::Life, None))
        );
        assert_eq!(tag("I think that wouldn't work for me"), None);
        assert_eq!(tag("I would live in Paris if I could"), None);
        assert_eq!(
            tag("I'm living in a rented home"),
            Some((Category::Life, None))
        );
        assert_eq!(
            tag("My partner is vegetarian"),
            Some((Category::Life, None))
        );
        assert_eq!(tag("I am engaged in a long project"), None);
        assert_eq!(
            tag("My married sister lives in Leeds"),
            None,
            "not their slot"
        );
        assert_eq!(tag("I joined the gym in January"), None);
    }

    #[test]
    fn statements_in_other_languages_keep_the_persons_words() {
        let found = statements("¿Qué tal? Vivo en Madrid desde 2019. Mi hermana vive en Berlín.");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, "Vivo en Madrid desde 2019.");
        assert_eq!(found[0].subject, Some(Subject::Location));
        let found = statements("Ich arbeite als Krankenpfleger. Kannst du mir helfen?");
        assert_eq!(found[0].subject, Some(Subject::Occupation));
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn pasted_and_quoted_text_is_not_the_persons_statement() {
        assert_eq!(
            own_words("Translate this:\nJe suis ici."),
            "Translate this:\n"
        );
        assert_eq!(own_words("I live in Leeds."), "I live in Leeds.");
        assert!(
            statements("Translate this:\nJe travaille chez Renault depuis dix ans.").is_empty()
        );
        assert!(
            statements("Proofread the following:\nI live in Dallas and work at Contoso.")
                .is_empty()
        );
        assert!(statements("\"I live in Dallas,\" she wrote.").is_empty());
        // A colon that introduces nothing pasted leaves the person's words theirs.
        for said in [
            "Some context:\nI live in Leeds.",
            "Here's some context about me:\nI live in Leeds.",
            "About my credit card:\nI live in Leeds.",
        ] {
            assert_eq!(
                statements(said)[0].subject,
                Some(Subject::Location),
                "{said}"
            );
        }
    }

    #[test]
    fn having_is_a_fact_only_of_something_durable() {
        assert!(statements("I have a docker image with django that fails.").is_empty());
        assert!(statements("I have a list of features for the checkout.").is_empty());
        assert_eq!(
            statements("I have two whippets called Fig and Olive.").len(),
            1
        );
        assert_eq!(
            statements("I have a tortoise called Pixel number 2.").len(),
            1
        );
        assert_eq!(statements("I've got a little daughter.").len(), 1);
        assert_eq!(
            statements("I have a greyhound called Pixel number 3.").len(),
            1
        );
    }

    #[test]
    fn questions_and_third_person_are_not_statements() {
        assert!(statements("Can you explain how I moved to the new API?").is_empty());
        assert!(statements("The user lives in Berlin.").is_empty());
        assert!(statements("I think so.").is_empty());
    }
}
