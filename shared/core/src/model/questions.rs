//! What every model is asked: the system texts and the user turns, one text for all adapters,
//! so that a change of model is not a change of question. The answers' shapes are
//! [`super::schemas`].

use std::fmt::Write;

use crate::ports::llm::{FactRequest, MemoryRequest, ProfileRequest};

/// The quick pass's system text (and that of writing the sections again).
pub const PROFILE_SYSTEM: &str = "You write a personality profile of a person from their \
conversations with an AI assistant, so that a new assistant can talk with them as if it \
already knew them. Base every field on the conversations; where they do not tell, write \
\"not enough data\". Give the assistant a creative, personal name that fits the person (never \
Assistant, Helper, AI, Bot, Buddy or Soul) and a 2-4 word archetype. Personality traits and \
behavioural rules: 3 to 7 each. Answer with JSON only, matching the schema.";

/// What fact extraction asks of every chunk, whatever the answer's shape.
macro_rules! facts_rules {
    () => {
        "You extract durable facts about a person from numbered excerpts (chunks) of their \
conversations with an AI assistant. Only facts about the person themselves that will still be \
true in a month: where they live, their work, people and animals in their life, preferences, \
projects, important dates, beliefs, decisions. Use only what the person says (lines starting \
\"Person:\"); assistant lines are context. Not facts: questions, requests and tasks, \
reactions to the assistant's answers (\"I love number 8\"), hypotheticals, role-play, pasted \
or quoted text, anything about the assistant or the topic in general. Each fact is one short \
sentence in the third person, in the person's language; `evidence` quotes the person's words \
it rests on, from the same chunk; `subject` is location, occupation, employer or relationship \
only when the person states their own home, work, employer or partner (a relative's home or \
job is a fact about the relative, subject null), else null. "
    };
}

/// Fact extraction's system text for a pack of chunks.
pub const FACTS_SYSTEM: &str = concat!(
    facts_rules!(),
    "Answer with JSON only, matching the schema: one entry for every chunk, `chunk` its \
number, `facts` its facts (an empty list when it has none)."
);

/// Fact extraction's system text for one chunk (the flat answer of
/// [`super::schemas::facts_schema`]).
pub const ONE_CHUNK_FACTS_SYSTEM: &str = concat!(
    facts_rules!(),
    "Answer with JSON only, matching the schema: `facts`, the chunk's facts (an empty list \
when it has none)."
);

/// The system text for `chunks` chunks.
pub fn facts_system(chunks: usize) -> &'static str {
    if chunks <= 1 {
        ONE_CHUNK_FACTS_SYSTEM
    } else {
        FACTS_SYSTEM
    }
}

/// The system text of writing MEMORY.
pub const MEMORY_SYSTEM: &str = "You write the MEMORY section of an assistant's notes about a \
person from a list of facts. Markdown, with exactly these headings in this order, each as a \
level-2 heading: Life & Circumstances, Preferences, Projects, Important Dates, Beliefs & Values, \
Decisions & Context. Under each, short bullet points; where a fact replaced an older one, say \
what changed. Write \"No data yet.\" under a heading with no facts. Use only the facts given.";

/// The user turn of the quick pass (and of the regeneration, which adds MEMORY).
pub fn profile_prompt(request: &ProfileRequest) -> String {
    let mut out = String::new();
    let s = &request.stats;
    let _ = writeln!(
        out,
        "The person's export: {} conversations, {} of their own messages ({:.0} words in a \
         typical one, {}% questions), from {} to {}.\n",
        s.conversations,
        s.person_messages,
        s.words_per_message(),
        s.percent(s.questions),
        s.first_at.map_or("?".into(), |t| t.date().to_string()),
        s.last_at.map_or("?".into(), |t| t.date().to_string()),
    );
    let topics = s.recurring_topics(12);
    if !topics.is_empty() {
        let topics: Vec<String> = topics.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        let _ = writeln!(
            out,
            "Words their conversations' titles come back to (conversations): {}.\n",
            topics.join(", ")
        );
    }
    let signals = &request.signals;
    if !signals.is_empty() {
        out.push_str("# What ChatGPT already knew about them\n");
        for ci in &signals.custom_instructions {
            if let Some(u) = &ci.about_user {
                let _ = writeln!(out, "About them (their own words): {u}");
            }
            if let Some(m) = &ci.about_model {
                let _ = writeln!(out, "How they want answers: {m}");
            }
        }
        for m in &signals.memories {
            let _ = writeln!(out, "- {}", m.text);
        }
        out.push('\n');
    }
    if let Some(memory) = &request.memory_md {
        let _ = writeln!(
            out,
            "# MEMORY (facts from all their conversations)\n{memory}\n"
        );
    }
    out.push_str("# Conversations\n");
    for c in &request.sample {
        out.push_str(&c.text);
        out.push('\n');
    }
    out
}

/// The user turn of fact extraction: each chunk under its number, with its conversation's
/// title, date and place.
pub fn facts_prompt(request: &FactRequest) -> String {
    let mut out = String::new();
    for (n, c) in request.chunks.iter().enumerate() {
        let _ = write!(
            out,
            "## Chunk {}: conversation \"{}\" ({}), part {} of {}\n\n{}\n\n",
            n + 1,
            c.title.as_deref().unwrap_or("Untitled"),
            c.observed_at
                .map_or("undated".into(), |t| t.date().to_string()),
            c.index + 1,
            c.total,
            c.text
        );
    }
    out
}

/// The user turn of writing MEMORY: the facts one a line, with their heading, date and whether
/// they were replaced.
pub fn memory_prompt(request: &MemoryRequest) -> String {
    let mut out = String::from("Facts (current unless marked as replaced):\n");
    for f in &request.facts {
        let _ = write!(out, "- [{}] {}", f.category.heading(), f.text);
        if let Some(t) = f.last_observed() {
            let _ = write!(out, " ({})", t.date());
        }
        if f.superseded_by.is_some() {
            out.push_str(" [replaced by a newer fact]");
        }
        out.push('\n');
    }
    out
}

/// The check that a model is there ([`crate::ports::llm::Llm::check`]).
pub const READY_SYSTEM: &str = "Answer by calling the tool with {\"ready\": true}.";

/// The one tool a chat model is offered, by every adapter.
pub const WEB_SEARCH_TOOL: &str = "web_search";
/// The web-search tool's description, as the chat model is shown it.
pub const WEB_SEARCH_DESCRIPTION: &str = "Search the web for current or factual information you \
    do not have. Use it only when the answer depends on it; cite results as [n].";
