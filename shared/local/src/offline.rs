//! The offline engine: no model at all. Every field it fills cites its evidence (counts,
//! dates, the person's own words) or says "not enough data"; its facts are the person's
//! explicit first-person statements. It makes SoulPrint useful with nothing installed, and
//! the pipeline's tests deterministic.

use async_trait::async_trait;
use soulprint_core::memory::about_me::{self, Label};
use soulprint_core::memory::markdown;
use soulprint_core::memory::statements::{statements, Statement};
use soulprint_core::memory::Subject;
use soulprint_core::ports::llm::{
    ChatAnswer, ChatRequest, ExtractedFact, FactRequest, MemoryRequest, ModelInfo, PackFacts,
    ProfileRequest, Reply, TokenSink, Usage,
};
use soulprint_core::ports::{Llm, LlmError};
use soulprint_core::relevance::DocKind;
use soulprint_core::sections::{Agents, Identity, Sections, Soul, Tools, User};
use soulprint_core::stages::creative_name;

pub const LABEL: &str = "offline (no model: read by rules, every field with its evidence)";
const NO_DATA: &str = "not enough data";

pub struct Offline;

#[async_trait]
impl Llm for Offline {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: LABEL.into(),
            offline: true,
            context_tokens: None,
        }
    }

    async fn profile(&self, request: &ProfileRequest) -> Result<Reply<Sections>, LlmError> {
        Ok(Reply {
            value: profile(request),
            usage: Usage::default(),
        })
    }

    async fn extract_facts(&self, request: &FactRequest) -> Result<Reply<PackFacts>, LlmError> {
        let pack = request
            .chunks
            .iter()
            .map(|chunk| {
                let mut facts = Vec::new();
                for (_, words) in chunk.person_parts() {
                    for s in statements(words) {
                        facts.push(ExtractedFact {
                            category: s.category,
                            evidence: Some(words[s.start..s.end].to_owned()),
                            text: s.text,
                            subject: s.subject,
                        });
                    }
                }
                Some(facts)
            })
            .collect();
        Ok(Reply {
            value: pack,
            usage: Usage::default(),
        })
    }

    async fn write_memory(&self, request: &MemoryRequest) -> Result<Reply<String>, LlmError> {
        Ok(Reply {
            value: markdown::render(&request.facts),
            usage: Usage::default(),
        })
    }

    /// No model, so no conversation: says so, and gives what it recalls, with sources.
    async fn chat(
        &self,
        request: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError> {
        let reply = offline_reply(request);
        sink(&reply);
        Ok(Reply {
            value: ChatAnswer::Reply(reply),
            usage: Usage::default(),
        })
    }
}

/// How many recalled things the offline answer lists.
const OFFLINE_RECALL: usize = 5;

fn offline_reply(request: &ChatRequest) -> String {
    let mut out = String::from(
        "(Offline: no model is configured, so I cannot hold a conversation. Start one with \
         --model-url and --model.)\n",
    );
    if request.recalled.is_empty() {
        out.push_str("Nothing I know from your export relates to that yet.");
        return out;
    }
    out.push_str("What I know that relates to your message:\n");
    for doc in request.recalled.iter().take(OFFLINE_RECALL) {
        let text: String = doc.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let text: String = text.chars().take(280).collect();
        let when = doc
            .at
            .map(|t| format!(", {}", t.date()))
            .unwrap_or_default();
        let what = match doc.kind {
            DocKind::Fact => "remembered",
            DocKind::Chunk => "you said",
        };
        out.push_str(&format!(
            "- {text} ({what}; conversation {}{when})\n",
            doc.conversation_id
        ));
    }
    out
}

/// A statement with the date of the conversation it was found in.
struct Said {
    statement: Statement,
    date: String,
}

fn profile(r: &ProfileRequest) -> Sections {
    let s = &r.stats;
    let n = s.person_messages;
    // What the person said of themselves in the sampled conversations, oldest first.
    let mut said: Vec<Said> = Vec::new();
    for c in &r.sample {
        let date = c
            .text
            .lines()
            .next()
            .and_then(|l| {
                l.rsplit_once('(')
                    .map(|(_, d)| d.trim_end_matches(')').to_owned())
            })
            .unwrap_or_default();
        for line in c.text.lines() {
            if let Some(words) = line.strip_prefix("Person: ") {
                said.extend(statements(words).into_iter().map(|statement| Said {
                    statement,
                    date: date.clone(),
                }));
            }
        }
    }
    said.sort_by(|a, b| a.date.cmp(&b.date));
    let quote = |subject: Subject| -> String {
        said.iter()
            .rev()
            .find(|x| x.statement.subject == Some(subject))
            .map_or(NO_DATA.into(), |x| {
                format!("In their words: “{}” ({})", x.statement.text, x.date)
            })
    };
    let about_model: Vec<&str> = r
        .signals
        .custom_instructions
        .iter()
        .filter_map(|c| c.about_model.as_deref())
        .collect();
    let about_user: Vec<&str> = r
        .signals
        .custom_instructions
        .iter()
        .filter_map(|c| c.about_user.as_deref())
        .collect();
    let instructions = |what: &str| -> String {
        about_model.first().map_or(NO_DATA.into(), |m| {
            format!("{what} in their custom instructions: “{}”", cut(m, 300))
        })
    };

    let wpm = s.words_per_message();
    let question_pct = s.percent(s.questions);
    let code_pct = s.percent(s.with_code);
    let emoji_pct = s.percent(s.with_emoji);
    let mut traits = Vec::new();
    if n >= 10 {
        if question_pct >= 40 {
            traits.push(format!(
                "Curious: {question_pct}% of their messages ask something"
            ));
        }
        if code_pct >= 10 {
            traits.push(format!(
                "Technical: {code_pct}% of their messages hold code"
            ));
        }
        if emoji_pct >= 5 {
            traits.push(format!(
                "Expressive: emoji in {emoji_pct}% of their messages"
            ));
        }
        if wpm >= 60.0 {
            traits.push(format!("Thorough: {wpm:.0} words in a typical message"));
        } else if wpm <= 15.0 {
            traits.push(format!("Concise: {wpm:.0} words in a typical message"));
        }
        if s.conversations >= 100 {
            traits.push(format!(
                "Persistent: {} conversations over time",
                s.conversations
            ));
        }
    }
    let archetype = match (question_pct >= 40, code_pct >= 10) {
        (true, true) => "Curious Builder",
        (false, true) => "Hands-on Builder",
        (true, false) => "Curious Explorer",
        (false, false) => "Steady Thinker",
    };
    let seed = r.sample.first().map_or("soulprint", |c| c.id.as_str());
    let span = match (s.first_at, s.last_at) {
        (Some(a), Some(b)) => format!("from {} to {}", a.date(), b.date()),
        _ => "undated".into(),
    };
    // Name, work and home: the about-me's labelled lines first, as the person filled them in.
    let labelled = |label: Label| about_user.iter().find_map(|u| about_me::first(u, label));
    let name = labelled(Label::Name)
        .map(str::to_owned)
        .or_else(|| said.iter().find_map(|x| name_in(&x.statement.text)))
        .unwrap_or_else(|| NO_DATA.into());
    let from_about_me = |label: Label| {
        labelled(label).map_or_else(
            || label.subject().map_or_else(|| NO_DATA.into(), quote),
            |v| format!("In their custom instructions: “{}”", cut(v, 300)),
        )
    };
    let about_prose: Vec<&str> = about_user.iter().flat_map(|u| about_me::prose(u)).collect();
    let relationships: Vec<String> = said
        .iter()
        .filter(|x| {
            x.statement.subject == Some(Subject::Relationship)
                || x.statement.text.starts_with("My ")
        })
        .map(|x| format!("“{}” ({})", x.statement.text, x.date))
        .take(5)
        .collect();
    // Topics they came back to across the whole export, not the sample's titles.
    let interests: Vec<String> = s
        .recurring_topics(6)
        .into_iter()
        .map(|(topic, n)| format!("Came back to “{topic}” in {n} conversations"))
        .collect();
    let mut likely_usage = Vec::new();
    if n > 0 {
        likely_usage.push(format!(
            "Questions and explanations ({question_pct}% of their messages ask)"
        ));
        if code_pct > 0 {
            likely_usage.push(format!("Code ({code_pct}% of their messages hold code)"));
        }
    }
    let mut rules = vec![format!(
        "Match their length: they write {wpm:.0} words in a typical message ({n} messages)"
    )];
    if let Some(m) = about_model.first() {
        rules.push(format!(
            "Follow their custom instructions: “{}”",
            cut(m, 300)
        ));
    }
    Sections {
        soul: Soul {
            communication_style: if n == 0 {
                NO_DATA.into()
            } else {
                format!(
                    "{wpm:.0} words in a typical message over {n} messages; {question_pct}% \
                     are questions ({span})"
                )
            },
            personality_traits: traits,
            tone_preferences: instructions("Asked for"),
            boundaries: NO_DATA.into(),
            humor_style: NO_DATA.into(),
            formality_level: NO_DATA.into(),
            emotional_patterns: NO_DATA.into(),
        },
        identity: Identity {
            ai_name: creative_name(seed).into(),
            archetype: archetype.into(),
            vibe: NO_DATA.into(),
            emoji_style: if n == 0 {
                NO_DATA.into()
            } else {
                format!("They use emoji in {emoji_pct}% of their messages")
            },
            signature_greeting: NO_DATA.into(),
        },
        user: User {
            name,
            location: from_about_me(Label::Location),
            occupation: from_about_me(Label::Occupation),
            relationships,
            interests,
            life_context: if about_prose.is_empty() {
                format!(
                    "{} conversations, {n} of their own messages, {span}",
                    s.conversations
                )
            } else {
                format!(
                    "In their custom instructions: “{}”; {} conversations, {n} of their own \
                     messages, {span}",
                    cut(&about_prose.join(" "), 300),
                    s.conversations
                )
            },
            preferred_address: NO_DATA.into(),
        },
        agents: Agents {
            response_style: instructions("Asked for"),
            behavioral_rules: rules,
            context_adaptation: NO_DATA.into(),
            memory_directives: "Use the facts in MEMORY: each is the person's own statement, \
                                with its source"
                .into(),
            do_not: Vec::new(),
        },
        tools: Tools {
            likely_usage,
            capabilities_emphasis: Vec::new(),
            output_preferences: instructions("Asked for"),
            depth_preference: if n == 0 {
                NO_DATA.into()
            } else if wpm >= 40.0 {
                format!("In depth: they write {wpm:.0} words in a typical message")
            } else {
                format!("To the point: they write {wpm:.0} words in a typical message")
            },
        },
    }
}

fn cut(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The word after "my name is" or "call me", found without lower-casing (which can move byte
/// offsets).
fn name_in(text: &str) -> Option<String> {
    for cue in ["my name is ", "call me "] {
        let at = text.char_indices().map(|(i, _)| i).find(|&i| {
            text.get(i..i + cue.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(cue))
        });
        if let Some(at) = at {
            let word = text[at + cue.len()..]
                .split_whitespace()
                .next()?
                .trim_matches(|c: char| !c.is_alphanumeric());
            if !word.is_empty() {
                return Some(word.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use soulprint_core::conversation::{CustomInstructions, ProfileSignals};

    #[test]
    fn an_about_me_gives_the_name_work_and_home_it_labels_and_nothing_else_under_work() {
        let request = ProfileRequest {
            sample: Vec::new(),
            signals: ProfileSignals {
                custom_instructions: vec![CustomInstructions {
                    about_user: Some(
                        "Preferred name: Erin\nRole: director of a gardening company\n\
                         Other Information: I have two whippets and I hate meetings."
                            .into(),
                    ),
                    about_model: None,
                    created_at: None,
                }],
                memories: Vec::new(),
            },
            stats: Default::default(),
            memory_md: None,
        };
        let user = profile(&request).user;
        assert_eq!(user.name, "Erin");
        assert!(user.occupation.contains("director of a gardening company"));
        assert!(!user.occupation.contains("whippets"), "{}", user.occupation);
        assert!(user.life_context.contains("I have two whippets"));
        assert_eq!(user.location, NO_DATA);
    }

    #[test]
    fn names_are_found_whatever_the_script() {
        assert_eq!(
            name_in("My İstanbul friends call me Ünal."),
            Some("Ünal".into())
        );
        assert_eq!(name_in("Hi! My name is Sam, hello"), Some("Sam".into()));
        assert_eq!(name_in("nothing here"), None);
    }
}
