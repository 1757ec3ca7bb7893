//! Sentences of the person's that are never a durable fact about them, whatever their words:
//! questions, requests and tasks, and reactions to what the assistant just wrote ("I love
//! number 8", "I like all three ideas"). The offline rules and a model's facts (both the
//! person's words they cite and the fact's own text) are held to the same test.

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
    "translate",
    "summarize",
    "summarise",
    "rewrite",
    "proofread",
    "generate",
    "draft ",
    "compose",
    "create ",
    "fix ",
    "correct ",
    "improve ",
    "edit ",
    "review ",
    "list ",
    "let's",
    "lets ",
    // Spanish, Portuguese, French, German, Italian.
    "me gustaría",
    "me encantaría",
    "mi piacerebbe",
    "gostaria",
    "j'aimerais",
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

/// What a reaction is aimed at that always is the assistant's output, or an item of it.
const OUTPUT: &[&str] = &[
    "number",
    "#",
    "your",
    "version",
    "idea",
    "ideas",
    "suggestion",
    "suggestions",
    "draft",
    "option",
    "options",
];

/// Pointers that make a reaction only when little follows them ("I love it", "I like all
/// three ideas"), not when a clause does ("I love it here in Lisbon", "I like all kinds of
/// music").
const POINTERS: &[&str] = &[
    "this", "that", "it", "these", "those", "them", "both", "all", "one",
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

/// "I (really) like/love … this / number 8 / all three ideas / the second one", within the
/// sentence's first clause.
fn is_reaction(lower: &str) -> bool {
    let clause = lower.split([',', '!', '.', ';', ':']).next().unwrap_or("");
    let mut words = clause.split_whitespace();
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
    let object = words.next();
    let rest: Vec<&str> = words.collect();
    match object {
        None => true,
        Some("the") => rest.first().is_some_and(|w| ORDINALS.contains(w)),
        Some(o) if OUTPUT.contains(&o) || o.starts_with('#') => true,
        Some(o) => POINTERS.contains(&o) && rest.len() <= 2,
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
            "I like both, but the first is shorter",
            "I need help organising my garage",
            "Can you make it shorter",
            "Translate this:",
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
            "I like all kinds of music",
            "I love it here in Lisbon",
            "I love both cats and dogs",
            "I hate it when meetings run over",
            "I've been vegetarian for six years",
        ] {
            assert!(!is_not_a_fact(s), "{s}");
        }
    }
}
