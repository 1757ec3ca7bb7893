//! Whether a person's words may say something about themselves: the full pass's cheap
//! pre-filter, run before a chunk is sent for fact extraction (the relevance index keeps every
//! chunk). It only skips what it can judge: words in English with no first-person word at all
//! (a request to write, translate or fix something; code). Anything with a first-person word
//! in one of the languages below is kept, and so is text it cannot judge: pronoun-dropping
//! languages ("Vivo en Madrid", "서울에 살아요") mark the person in the verb, not a word.

/// First-person words, lower-case, by language: English, Spanish, Portuguese, French,
/// German, Italian, Dutch, Polish, Russian, Ukrainian, Turkish, Indonesian.
const FIRST_PERSON: &[&str] = &[
    // English (contractions are split at the apostrophe: "i'm" → "i", "m").
    "i",
    "me",
    "my",
    "mine",
    "myself",
    "we",
    "us",
    "our",
    "ours",
    "ourselves",
    "im",
    "ive",
    "id",
    "ill", // Spanish
    "yo",
    "mi",
    "mis",
    "mío",
    "mía",
    "conmigo",
    "nosotros",
    "nosotras",
    "nuestro",
    "nuestra",
    // Portuguese
    "eu",
    "meu",
    "minha",
    "meus",
    "minhas",
    "comigo",
    "nós",
    "nosso",
    "nossa", // French
    "je",
    "j",
    "moi",
    "mon",
    "ma",
    "mes",
    "m",
    "nous",
    "notre",
    "nos", // German
    "ich",
    "mich",
    "mir",
    "mein",
    "meine",
    "meiner",
    "meinen",
    "meinem",
    "wir",
    "uns",
    "unser",
    "unsere", // Italian
    "io",
    "mio",
    "mia",
    "miei",
    "mie",
    "noi",
    "nostro",
    "nostra", // Dutch
    "ik",
    "mij",
    "mijn",
    "wij",
    "ons",
    "onze", // Polish
    "ja",
    "mnie",
    "mój",
    "moja",
    "moje",
    "my",
    "nasz",
    "nasza", // Russian, Ukrainian
    "я",
    "меня",
    "мне",
    "мой",
    "моя",
    "моё",
    "мои",
    "мы",
    "нас",
    "наш",
    "наша",
    "мене",
    "мені",
    "мій", // Turkish
    "ben",
    "benim",
    "bana",
    "beni",
    "biz",
    "bizim", // Indonesian, Malay
    "aku",
    "saya",
    "kami",
    "kita",
];

/// First-person words of languages written without spaces between words: found anywhere.
const FIRST_PERSON_UNSPACED: &[&str] = &[
    "我",
    "私",
    "僕",
    "俺",
    "わたし",
    "あたし",
    "ぼく",
    "저는",
    "제가",
    "저의",
    "나는",
    "내가",
    "나의",
    "저희",
    "우리",
];

/// English words common in any English sentence: where at least [`ENGLISH_SHARE`] of the
/// words are these, the text is English and the filter can judge it.
const ENGLISH: &[&str] = &[
    "the", "a", "an", "and", "or", "to", "of", "in", "on", "for", "with", "is", "are", "be",
    "this", "that", "it", "what", "how", "can", "you", "your", "please", "about", "from", "as",
    "at", "by", "if", "not", "do", "does", "should", "would", "will", "write", "make", "give",
    "ok", "okay", "thanks", "thank", "yes", "no", "continue", "more", "go", "sure", "great",
];
const ENGLISH_SHARE: f64 = 0.15;

/// Whether these words (one person's) may hold a fact about them.
pub fn may_speak_of_self(text: &str) -> bool {
    if FIRST_PERSON_UNSPACED.iter().any(|w| text.contains(w)) {
        return true;
    }
    let mut words = 0usize;
    let mut english = 0usize;
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        if FIRST_PERSON.contains(&word.as_str()) {
            return true;
        }
        words += 1;
        english += usize::from(ENGLISH.contains(&word.as_str()));
    }
    // Not English: the person may speak of themselves in the verb.
    words > 0 && (english as f64) < ENGLISH_SHARE * words as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_person_words_in_many_languages_are_kept() {
        for text in [
            "I moved to Lisbon last spring and started at the hospital.",
            "Honestly my sister is the reason for all of this.",
            "We adopted a dog named Biscuit in March.",
            "Je suis infirmière à Lyon depuis trois ans.",
            "Ich arbeite seit 2019 als Lehrerin in Graz.",
            "Mi hermano vive en Sevilla.",
            "Я живу в Казани и работаю врачом.",
            "我在上海工作，是一名护士。",
            "私は東京に住んでいます。",
            "저는 서울에서 간호사로 일해요.",
            "Eu moro em Porto Alegre com a minha esposa.",
        ] {
            assert!(may_speak_of_self(text), "{text}");
        }
    }

    #[test]
    fn pronoun_dropping_languages_are_kept_without_a_pronoun() {
        for text in [
            "Vivo en Madrid y trabajo de enfermera desde 2020.",
            "Sono nata a Napoli ma adesso abito a Torino.",
            "서울에 살아요. 간호사로 일하고 있어요.",
            "Trabalho como engenheiro numa empresa de energia.",
            "Mieszkam w Krakowie od pięciu lat.",
            "Soy enfermera.",
        ] {
            assert!(may_speak_of_self(text), "{text}");
        }
    }

    #[test]
    fn english_requests_and_code_without_the_person_are_skipped() {
        for text in [
            "Write a haiku about the sea and the wind for a birthday card.",
            "Can you explain how the borrow checker works in Rust?",
            "Translate this paragraph to French, please, and keep the tone formal.",
            "fn main() { let x = vec![1, 2, 3]; for v in &x { println!(\"{v}\"); } } what is wrong with this",
            "ok thanks",
            "continue",
            "",
        ] {
            assert!(!may_speak_of_self(text), "{text}");
        }
    }
}
