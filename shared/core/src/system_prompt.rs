//! The system prompt that makes the assistant the person's own: `soulprint_text`.
//!
//! Two versions, as the system we replace had: `v1-technical` (the default: the sections as
//! labelled fields) and `v2-natural-voice` (a prose primer, then the sections, then the rules
//! repeated). The output is a pure function of its input: the same sections, memory and time
//! give the same bytes, which the snapshot tests hold.

use std::fmt::Write;

use serde_json::Value;
use time::macros::format_description;
use time::OffsetDateTime;

pub use crate::ports::web::WebSource;
use crate::sections::{is_placeholder, Sections};

/// Which of the two prompts to build (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptVersion {
    /// The sections as labelled fields: the default.
    #[default]
    V1Technical,
    /// A prose primer, then the sections, then the behavioural rules repeated.
    V2NaturalVoice,
}

impl PromptVersion {
    /// The version's name: `v1-technical` or `v2-natural-voice`.
    pub fn name(self) -> &'static str {
        match self {
            PromptVersion::V1Technical => "v1-technical",
            PromptVersion::V2NaturalVoice => "v2-natural-voice",
        }
    }
}

/// Everything the prompt is built from.
#[derive(Debug, Clone, Copy)]
pub struct PromptInput<'a> {
    /// The five sections the prompt is made of.
    pub sections: &'a Sections,
    /// The MEMORY section (markdown), once the full pass has written it.
    pub memory_md: Option<&'a str>,
    /// Facts learned in chat, newest first.
    pub learned_facts: &'a [String],
    /// Memory retrieved as relevant to the message.
    pub context: &'a [String],
    /// Web results to cite, numbered from 1 (at most six are shown).
    pub web: &'a [WebSource],
    /// The time now: the prompt says what day it is.
    pub now: OffsetDateTime,
}

/// At most this many web sources are cited.
const MAX_WEB_SOURCES: usize = 6;

/// The system prompt in `version` for `input`; the same input gives the same bytes.
pub fn build(version: PromptVersion, input: &PromptInput<'_>) -> String {
    let s = input.sections;
    let mut out = String::new();
    let name = s.identity.ai_name.trim();
    match version {
        PromptVersion::V1Technical => {
            let _ = writeln!(out, "# {name}\n");
            out.push_str(
                "You know the person you are talking with. Use what you remember about them \
                 naturally, the way a friend would, without announcing that you remember it.\n\n\
                 Be direct and have opinions: say what you think and why, instead of hedging \
                 everything.\n\n\
                 Never open with a greeting or a preamble: start with the substance.\n\n",
            );
            today(&mut out, input.now);
            section(&mut out, "SOUL", &s.soul);
            section(&mut out, "IDENTITY", &s.identity);
            section(&mut out, "USER", &s.user);
            section(&mut out, "AGENTS", &s.agents);
            section(&mut out, "TOOLS", &s.tools);
            tail(&mut out, input);
        }
        PromptVersion::V2NaturalVoice => {
            primer(&mut out, s);
            today(&mut out, input.now);
            section(&mut out, "USER", &s.user);
            section(&mut out, "AGENTS", &s.agents);
            section(&mut out, "IDENTITY", &s.identity);
            section(&mut out, "TOOLS", &s.tools);
            tail(&mut out, input);
            let rules = kept(&s.agents.behavioral_rules);
            if !rules.is_empty() {
                out.push_str("## REMEMBER\n");
                for rule in rules {
                    let _ = writeln!(out, "- {rule}");
                }
                out.push('\n');
            }
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

/// One section alone, rendered as in the prompt (for SOUL.md and its siblings).
pub fn section_markdown(heading: &str, fields: &impl serde::Serialize) -> String {
    let mut out = String::new();
    section(&mut out, heading, fields);
    out
}

/// v2's opening: who the assistant is, in prose.
fn primer(out: &mut String, s: &Sections) {
    let name = s.identity.ai_name.trim();
    let _ = write!(out, "You're {name}");
    let archetype = s.identity.archetype.trim();
    if !is_placeholder(archetype) {
        let _ = write!(out, ", {}", article(archetype));
    }
    out.push('.');
    let traits = kept(&s.soul.personality_traits);
    match traits.len() {
        0 => {}
        1 => {
            let _ = write!(out, " You're {}.", traits[0]);
        }
        n => {
            let shown = &traits[..n.min(3)];
            let (last, rest) = shown.split_last().expect("two or more");
            let _ = write!(out, " You're {} and {last}.", rest.join(", "));
        }
    }
    for (label, value) in [
        ("Your style", &s.soul.communication_style),
        ("Your tone", &s.soul.tone_preferences),
    ] {
        if !is_placeholder(value) {
            let _ = write!(out, " {label}: {}.", value.trim().trim_end_matches('.'));
        }
    }
    out.push_str("\n\n");
}

fn article(phrase: &str) -> String {
    let first = phrase.chars().next().unwrap_or('x').to_ascii_lowercase();
    let a = if "aeiou".contains(first) { "an" } else { "a" };
    format!("{a} {}", phrase.to_lowercase())
}

fn today(out: &mut String, now: OffsetDateTime) {
    let format = format_description!(
        "[weekday], [month repr:long] [day padding:none], [year], [hour]:[minute] UTC"
    );
    let now = now.to_offset(time::UtcOffset::UTC);
    let _ = writeln!(
        out,
        "Today is {}.\n",
        now.format(&format).unwrap_or_default()
    );
}

/// MEMORY, recently learned facts, retrieved context and web sources, each when present.
fn tail(out: &mut String, input: &PromptInput<'_>) {
    if let Some(memory) = input.memory_md.map(str::trim).filter(|m| !m.is_empty()) {
        out.push_str("## MEMORY\n");
        for line in memory.lines() {
            // MEMORY's own headings (## Preferences, …) sit one level below it here.
            match line.strip_prefix("## ") {
                Some(heading) => {
                    let _ = writeln!(out, "### {heading}");
                }
                None => {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        out.push('\n');
    }
    bullets(out, "RECENTLY LEARNED", input.learned_facts);
    bullets(out, "CONTEXT", input.context);
    if !input.web.is_empty() {
        out.push_str("## WEB RESULTS\n");
        for (i, source) in input.web.iter().take(MAX_WEB_SOURCES).enumerate() {
            let _ = writeln!(
                out,
                "[{}] {} ({})",
                i + 1,
                source.title.trim(),
                source.url.trim()
            );
            if !source.snippet.trim().is_empty() {
                let _ = writeln!(out, "{}", source.snippet.trim());
            }
        }
        out.push_str("Cite these as [n] where you use them.\n\n");
    }
}

fn bullets(out: &mut String, heading: &str, items: &[String]) {
    let items = kept(items);
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {heading}");
    for item in items {
        let _ = writeln!(out, "- {item}");
    }
    out.push('\n');
}

/// A section's fields, keys sorted, as `**Label:** value` or a label over bullets; empty
/// values and placeholders dropped; nothing at all when every field is empty.
fn section(out: &mut String, heading: &str, fields: &impl serde::Serialize) {
    let Ok(Value::Object(map)) = serde_json::to_value(fields) else {
        return;
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut body = String::new();
    for key in keys {
        let label = title_case(key);
        match &map[key] {
            Value::String(v) if !is_placeholder(v) => {
                let _ = writeln!(body, "**{label}:** {}", v.trim());
            }
            Value::Array(items) => {
                let items: Vec<&str> = items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::trim)
                    .filter(|v| !is_placeholder(v))
                    .collect();
                if !items.is_empty() {
                    let _ = writeln!(body, "**{label}:**");
                    for item in items {
                        let _ = writeln!(body, "- {item}");
                    }
                }
            }
            _ => {}
        }
    }
    if !body.is_empty() {
        let _ = writeln!(out, "## {heading}\n{body}");
    }
}

fn kept(items: &[String]) -> Vec<&str> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !is_placeholder(s))
        .collect()
}

/// `snake_case` → `Title Case`.
fn title_case(key: &str) -> String {
    key.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_uppercase().chain(cs).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::{Agents, Identity, Soul, Tools, User};

    fn sections() -> Sections {
        Sections {
            soul: Soul {
                communication_style: "Short, concrete, a little dry".into(),
                personality_traits: vec![
                    "curious".into(),
                    "stubborn about details".into(),
                    "warm".into(),
                    "impatient with jargon".into(),
                ],
                tone_preferences: "Plain and friendly".into(),
                boundaries: "not enough data".into(),
                humor_style: "Deadpan".into(),
                formality_level: "Casual".into(),
                emotional_patterns: "Calm until deadlines".into(),
            },
            identity: Identity {
                ai_name: "Wren".into(),
                archetype: "Quiet field guide".into(),
                vibe: "A friend who reads the manual".into(),
                emoji_style: "Rare".into(),
                signature_greeting: "N/A".into(),
            },
            user: User {
                name: "Ana".into(),
                location: "Lisbon".into(),
                occupation: "Data engineer".into(),
                relationships: vec!["Partner Sam".into()],
                interests: vec!["cycling".into(), "gardening".into(), "".into()],
                life_context: "Moved from Berlin in 2024".into(),
                preferred_address: "Ana".into(),
            },
            agents: Agents {
                response_style: "Lead with the answer".into(),
                behavioral_rules: vec![
                    "Answer first, explain after".into(),
                    "Use metric units".into(),
                    "Ask before long plans".into(),
                ],
                context_adaptation: "More detail for code".into(),
                memory_directives: "Bring up the garden when it fits".into(),
                do_not: vec!["Moralise".into()],
            },
            tools: Tools::default(),
        }
    }

    fn input(sections: &Sections) -> PromptInput<'_> {
        PromptInput {
            sections,
            memory_md: Some("## Preferences\n- Cycles to work"),
            learned_facts: &[],
            context: &[],
            web: &[],
            now: time::macros::datetime!(2026-11-25 14:06 UTC),
        }
    }

    #[test]
    fn v1_technical() {
        let s = sections();
        insta::assert_snapshot!(build(PromptVersion::V1Technical, &input(&s)));
    }

    #[test]
    fn v2_natural_voice() {
        let s = sections();
        insta::assert_snapshot!(build(PromptVersion::V2NaturalVoice, &input(&s)));
    }

    #[test]
    fn v1_with_learned_facts_context_and_web_sources() {
        let s = sections();
        let facts = vec!["Started a pottery class".to_string()];
        let context = vec!["Ana asked about drip irrigation for tomatoes".to_string()];
        let web: Vec<WebSource> = (1..=8)
            .map(|i| WebSource {
                title: format!("Source {i}"),
                url: format!("https://example.org/{i}"),
                snippet: format!("Snippet {i}."),
            })
            .collect();
        let input = PromptInput {
            learned_facts: &facts,
            context: &context,
            web: &web,
            ..input(&s)
        };
        insta::assert_snapshot!(build(PromptVersion::V1Technical, &input));
    }

    #[test]
    fn empty_sections_and_placeholders_are_omitted() {
        let s = sections();
        let a = build(PromptVersion::V1Technical, &input(&s));
        assert!(!a.contains("## TOOLS"), "all-empty section omitted");
        assert!(!a.contains("Boundaries"), "placeholder dropped");
        assert!(!a.contains("Signature Greeting"));
    }
}
