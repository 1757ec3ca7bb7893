//! Sentences of the person's that are never a durable fact about them, whatever their words:
//! questions, requests and tasks, and reactions to what the assistant just wrote ("I love
//! number 8", "I like all three ideas"). The offline rules and a model's facts (by the
//! person's words they cite) are held to the same test.

/// How requests and tasks begin (lower case, the person's own words).
const REQUESTS: &[&str] = &[
    "can you",
    "could you",
    "would you",
    "will you",
    "please",
    "help me",
    "i need help",
    "i need you to",
    "i want you to",
    "i'd like you to",
    "i would like you to",
    "tell me",
    "give me",
    "show me",
    "explain",
    "write ",
    "how do i",
    "how can i",
    "what is",
    "what's",
    "let's",
    "lets ",
    // Spanish, Portuguese, French, German, Italian.
    "puedes",
    "podrías",
    "por favor",
    "você pode",
    "pode ",
    "peux-tu",
    "pouvez-vous",
    "s'il te plaît",
    "kannst du",
    "könntest du",
    "bitte",
    "puoi",
    "potresti",
];

/// Verbs of liking that, aimed at the assistant's output, are a reaction.
const LIKING: &[&str] = &[
    "like", "love", "prefer", "liked", "loved", "hate", "dislike", "enjoy", "enjoyed",
];

/// What a reaction is aimed at: the assistant's last answer, or one item of it.
const OUTPUT: &[&str] = &[
    "this",
    "that",
    "it",
    "these",
    "those",
    "them",
    "both",
    "all",
    "option",
    "options",
    "number",
    "no.",
    "#",
    "your",
    "version",
    "idea",
    "ideas",
    "one",
    "suggestion",
    "suggestions",
    "draft",
];

/// Ordinals that point at an item of a list the assistant gave ("the second one").
const ORDINALS: &[&str] = &[
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "last",
    "1st",
    "2nd",
    "3rd",
    "latter",
    "former",
    "idea",
    "ideas",
    "name",
    "names",
    "suggestion",
    "suggestions",
    "version",
    "draft",
    "one",
    "options",
    "option",
    "list",
];

/// Whether `sentence` (the person's words) is a question, a request or a reaction to the
/// assistant's output rather than something about the person.
pub fn is_not_a_fact(sentence: &str) -> bool {
    let s = sentence.trim();
    if s.ends_with('?') || s.starts_with('¿') {
        return true;
    }
    let lower = s.to_lowercase();
    let lower = lower
        .strip_prefix("person:")
        .map_or(lower.as_str(), str::trim);
    REQUESTS.iter().any(|r| lower.starts_with(r)) || is_reaction(lower)
}

/// "I (really) like/love … this / number 8 / all three ideas / the second one".
fn is_reaction(lower: &str) -> bool {
    let mut words = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '!' | '.'))
        .filter(|w| !w.is_empty());
    if words.next() != Some("i") {
        return false;
    }
    let mut verb = words.next();
    while matches!(
        verb,
        Some("really" | "also" | "do" | "actually" | "totally" | "quite")
    ) {
        verb = words.next();
    }
    if !verb.is_some_and(|v| LIKING.contains(&v)) {
        return false;
    }
    match words.next() {
        Some("the") => words.next().is_some_and(|w| ORDINALS.contains(&w)),
        Some(object) => OUTPUT.contains(&object) || object.starts_with('#'),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_requests_and_reactions_are_not_facts() {
        for s in [
            "I love number 8",
            "I like all three ideas!",
            "I really like the second one.",
            "I love it",
            "I like your version better",
            "I need help organising my garage",
            "Can you make it shorter",
            "Person: what is a monad",
            "Do I eat meat?",
        ] {
            assert!(is_not_a_fact(s), "{s}");
        }
        for s in [
            "I love hiking in the Alps",
            "I like my coffee black",
            "I play the cello in a community orchestra",
            "I prefer trains to planes",
            "I've been vegetarian for six years",
        ] {
            assert!(!is_not_a_fact(s), "{s}");
        }
    }
}
