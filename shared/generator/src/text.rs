//! Plausible prose from a fixed vocabulary: English with some accented, Greek, Hebrew, CJK
//! words and emoji, so every export exercises multi-byte UTF-8 and surrogate-pair escapes.

use fastrand::Rng;

const WORDS: &[&str] = &[
    "the",
    "a",
    "and",
    "to",
    "of",
    "in",
    "is",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "this",
    "was",
    "but",
    "be",
    "at",
    "by",
    "not",
    "or",
    "from",
    "have",
    "an",
    "they",
    "which",
    "you",
    "were",
    "there",
    "all",
    "we",
    "when",
    "can",
    "more",
    "about",
    "would",
    "what",
    "so",
    "some",
    "project",
    "deadline",
    "garden",
    "recipe",
    "budget",
    "travel",
    "music",
    "python",
    "rust",
    "database",
    "meeting",
    "weekend",
    "coffee",
    "running",
    "novel",
    "chapter",
    "design",
    "function",
    "server",
    "invoice",
    "apartment",
    "bicycle",
    "language",
    "lesson",
    "guitar",
    "review",
    "draft",
    "email",
    "schedule",
    "idea",
    "question",
    "answer",
    "problem",
    "approach",
    "performance",
    "memory",
    "thread",
    "update",
    "release",
    "customer",
    "team",
    "family",
    "holiday",
    "mountain",
    "river",
    "kitchen",
    "workout",
    "sleep",
    "habit",
    "focus",
    "plan",
    "café",
    "naïve",
    "résumé",
    "Zürich",
    "São Paulo",
    "Ελληνικά",
    "שלום",
    "日本語",
    "東京",
    "你好",
    "한국어",
    "😀",
    "🎉",
    "🚀",
    "❤️",
    "👍🏽",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
];

const CODE: &[&str] = &[
    "fn main() {\n    let total: u64 = (1..=10).sum();\n    println!(\"{total}\");\n}",
    "def fetch(url):\n    with urllib.request.urlopen(url) as r:\n        return json.load(r)",
    "SELECT name, count(*) FROM orders\nGROUP BY name\nORDER BY 2 DESC\nLIMIT 10;",
    "const sum = (xs) => xs.reduce((a, b) => a + b, 0);\nconsole.log(sum([1, 2, 3]));",
];

pub struct Text<'r> {
    rng: &'r mut Rng,
}

impl<'r> Text<'r> {
    pub fn new(rng: &'r mut Rng) -> Self {
        Text { rng }
    }

    /// About `chars` bytes of sentences.
    pub fn prose(&mut self, chars: usize) -> String {
        let mut out = String::with_capacity(chars + 64);
        while out.len() < chars {
            let words = self.rng.usize(6..18);
            for i in 0..words {
                let word = WORDS[self.rng.usize(..WORDS.len())];
                if i == 0 {
                    let mut cs = word.chars();
                    if let Some(c) = cs.next() {
                        out.extend(c.to_uppercase());
                        out.push_str(cs.as_str());
                    }
                } else {
                    out.push(' ');
                    out.push_str(word);
                }
            }
            out.push_str(match self.rng.u8(..10) {
                0 => "?",
                1 => "!",
                _ => ".",
            });
            out.push(if self.rng.u8(..6) == 0 { '\n' } else { ' ' });
        }
        out.truncate(out.trim_end().len());
        out
    }

    /// An assistant answer: prose, sometimes a fenced code block.
    pub fn answer(&mut self, chars: usize) -> String {
        let mut out = self.prose(chars);
        if self.rng.u8(..5) == 0 {
            let code = CODE[self.rng.usize(..CODE.len())];
            out.push_str("\n\n```\n");
            out.push_str(code);
            out.push_str("\n```\n\n");
            out.push_str(&self.prose(chars / 4 + 10));
        }
        out
    }
}
