//! The model recipe over each backend: every adapter's fake server plays the same scripts,
//! and the domain's [`soulprint_core::model::Model`] over the real adapter must give the same
//! results. An adapter's test maps each [`Scripted`] answer to its own wire protocol.

use std::future::Future;
use std::sync::Arc;

use serde_json::{json, Value};
use soulprint_core::chunker::Chunk;
use soulprint_core::ports::llm::FactRequest;
use soulprint_core::ports::{Llm, LlmError};

/// What a fake model server answers to the next call, in its own protocol.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// A structured answer with this JSON: a forced tool's input, a completion's content.
    Answer(Value),
    /// Prose where JSON was asked for: not JSON, no call of the tool.
    Prose(&'static str),
    /// An answer cut off at the call's token limit.
    CutOff,
    /// The model's quota is spent for now (429, `ThrottlingException`).
    Throttle,
    /// The model has reached end of life or is unknown there.
    Retired,
}

/// A model under test: the recipe over the adapter, pointed at a fake playing a script.
pub struct Harness {
    /// The domain's model recipe over the adapter under test.
    pub llm: Arc<dyn Llm>,
    /// How many requests the fake has been sent so far.
    pub requests: Box<dyn Fn() -> usize + Send + Sync>,
}

fn chunk(id: &str, text: &str) -> Chunk {
    let words = text.strip_prefix("Person: ").unwrap_or(text);
    let mut chunk = Chunk::of_message(id, "m1", words, None);
    chunk.title = Some("Moving".into());
    chunk
}

fn request() -> FactRequest {
    FactRequest {
        chunks: vec![chunk(
            "c1",
            "Person: I moved to Lisbon last spring and I work as a nurse there.",
        )],
    }
}

fn fact(text: &str) -> Value {
    json!({"category": "life", "text": text, "subject": "location", "evidence": "I moved to Lisbon"})
}

/// A well-formed answer with one fact, for the one chunk sent (the flat shape).
pub fn one_fact() -> Scripted {
    Scripted::Answer(json!({"facts": [fact("Lives in Lisbon")]}))
}

/// The facts of the one chunk sent.
fn facts_of(pack: &[Option<Vec<soulprint_core::ports::llm::ExtractedFact>>]) -> usize {
    pack[0].as_ref().map_or(0, Vec::len)
}

/// A well-formed answer is taken in one call, its usage counted.
pub async fn a_good_answer_is_taken_as_it_is<F, Fut>(start: F)
where
    F: Fn(Vec<Scripted>) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = start(vec![one_fact()]).await;
    let reply = h.llm.extract_facts(&request()).await.unwrap();
    let facts = reply.value[0].as_ref().unwrap();
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].text, "Lives in Lisbon");
    assert_eq!(reply.usage.calls, 1);
    assert!(reply.usage.input_tokens > 0, "usage is counted");
    assert_eq!((h.requests)(), 1);
}

/// An answer of the wrong shape is asked for again once, and both calls are paid for.
pub async fn a_wrong_shape_is_repaired_once<F, Fut>(start: F)
where
    F: Fn(Vec<Scripted>) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = start(vec![
        Scripted::Answer(json!({"facts": "none that I can see"})),
        one_fact(),
    ])
    .await;
    let reply = h.llm.extract_facts(&request()).await.unwrap();
    assert_eq!(facts_of(&reply.value), 1);
    assert_eq!(reply.usage.calls, 2, "both calls are paid for");
    assert_eq!((h.requests)(), 2);
}

/// Prose where JSON was asked for, and an answer cut off at the token limit, are repaired the same
/// way.
pub async fn prose_and_a_cut_off_answer_are_repaired_too<F, Fut>(start: F)
where
    F: Fn(Vec<Scripted>) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = start(vec![Scripted::Prose("Sure! Lisbon, I think."), one_fact()]).await;
    assert_eq!(
        facts_of(&h.llm.extract_facts(&request()).await.unwrap().value),
        1
    );
    let h = start(vec![Scripted::CutOff, one_fact()]).await;
    assert_eq!(
        facts_of(&h.llm.extract_facts(&request()).await.unwrap().value),
        1
    );
    assert_eq!((h.requests)(), 2);
}

/// Wrong again after the repair is `InvalidOutput`: one repair, no more.
pub async fn wrong_twice_is_invalid_output<F, Fut>(start: F)
where
    F: Fn(Vec<Scripted>) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = start(vec![
        Scripted::Answer(json!({"facts": "none"})),
        Scripted::Prose("I cannot do that."),
        one_fact(),
    ])
    .await;
    let err = h.llm.extract_facts(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::InvalidOutput(_)), "{err:?}");
    assert_eq!((h.requests)(), 2, "one repair, no more");
}

/// Throttling is retried; throttling through all `ATTEMPTS` is `Throttled`, worth trying later.
pub async fn throttling_is_retried<F, Fut>(start: F)
where
    F: Fn(Vec<Scripted>) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = start(vec![Scripted::Throttle, one_fact()]).await;
    let reply = h.llm.extract_facts(&request()).await.unwrap();
    assert_eq!(facts_of(&reply.value), 1);
    assert_eq!((h.requests)(), 2);
    // Throttling that lasts is worth trying later, not a failure of the chunk.
    let h = start(vec![Scripted::Throttle; 8]).await;
    let err = h.llm.extract_facts(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Throttled(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!((h.requests)(), soulprint_core::model::ATTEMPTS as usize);
}

/// A retired or unknown model is `NotServed` at once and not retried; the check an import makes
/// first says so too.
pub async fn a_retired_model_is_not_served_and_not_retried<F, Fut>(start: F)
where
    F: Fn(Vec<Scripted>) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = start(vec![Scripted::Retired, one_fact()]).await;
    let err = h.llm.extract_facts(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::NotServed(_)), "{err:?}");
    assert!(!err.is_retryable());
    // The check an import makes first gives the same answer, for a few tokens.
    let h = start(vec![Scripted::Retired]).await;
    let err = h.llm.check().await.unwrap_err();
    assert!(matches!(err, LlmError::NotServed(_)), "{err:?}");
    assert_eq!((h.requests)(), 1);
}

/// A pack's answer is split by chunk, in the order sent: an entry naming a chunk that was not
/// sent is dropped with its facts, and a chunk left out or given a part that cannot be read
/// is unanswered (the stage asks it again alone). A pack answered in one chunk's flat shape
/// is asked once more.
pub async fn a_pack_is_answered_chunk_by_chunk<F, Fut>(start: F)
where
    F: Fn(Vec<Scripted>) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = start(vec![
        Scripted::Answer(json!({"facts": [fact("Which chunk was this?")]})),
        Scripted::Answer(json!({"chunks": [
            {"chunk": 2, "facts": [fact("Works as a nurse")]},
            {"chunk": 1, "facts": [fact("Lives in Lisbon")]},
            {"chunk": 9, "facts": [fact("Was never sent")]},
            {"chunk": 3, "facts": "none"},
        ]})),
    ])
    .await;
    let pack = FactRequest {
        chunks: vec![
            chunk("c1", "Person: I moved to Lisbon last spring."),
            chunk("c2", "Person: I work as a nurse."),
            chunk("c3", "Person: I like tea."),
            chunk("c4", "Person: Hello."),
        ],
    };
    let reply = h.llm.extract_facts(&pack).await.unwrap();
    let texts: Vec<Option<Vec<String>>> = reply
        .value
        .iter()
        .map(|c| {
            c.as_ref()
                .map(|f| f.iter().map(|f| f.text.clone()).collect())
        })
        .collect();
    assert_eq!(
        texts,
        vec![
            Some(vec!["Lives in Lisbon".to_owned()]),
            Some(vec!["Works as a nurse".to_owned()]),
            None,
            None
        ]
    );
    assert_eq!((h.requests)(), 2, "one call for the pack, and its repair");
}
