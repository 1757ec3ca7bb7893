//! Words a question uses for what facts say with other words.

/// Groups of words (as [`crate::memory::words::content_words`] stems them) that ask about the
/// same part of a life. A query word in a group brings the group's other words in, at a lower
/// weight.
const GROUPS: &[&[&str]] = &[
    // Where they live.
    &[
        "liv", "mov", "relocat", "city", "town", "hom", "bas", "resid", "address", "country",
        "wher", "plac", "stay",
    ],
    // What they do.
    &[
        "work",
        "job",
        "profession",
        "career",
        "employ",
        "employer",
        "occupation",
        "trad",
        "colleagu",
        "offic",
    ],
    // Animals.
    &[
        "pet",
        "dog",
        "cat",
        "greyhound",
        "parrot",
        "tortois",
        "puppy",
        "kitten",
        "animal",
        "call",
        "nam",
    ],
    // Family.
    &[
        "sister", "brother", "sibl", "mother", "father", "mom", "dad", "parent", "family", "wif",
        "husband", "partner", "son", "daughter", "kid", "children",
    ],
    // Dates.
    &[
        "birthday",
        "born",
        "anniversary",
        "celebrat",
        "dat",
        "when",
        "day",
        "month",
    ],
    // Likes.
    &[
        "lik", "lov", "prefer", "enjoy", "favorit", "favourit", "fan", "hat",
    ],
    // Plans and decisions.
    &["decid", "decision", "plan", "chos", "choic", "go"],
];

/// The words `query_words` bring in through their groups, without the query's own.
pub(super) fn expand(query_words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for group in GROUPS {
        if query_words.iter().any(|w| group.contains(&w.as_str())) {
            for g in *group {
                if !query_words.iter().any(|w| w == g) && !out.iter().any(|o| o == g) {
                    out.push((*g).to_owned());
                }
            }
        }
    }
    out
}
