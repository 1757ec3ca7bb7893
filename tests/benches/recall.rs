//! Chat's recall: on a generated export with facts planted among thousands of chunks, ask a
//! question that paraphrases each fact (other words, the same particulars) and count how
//! often its message comes back in the top 5, against the plain baseline of the 5 newest
//! chunks, in the same run.
//!
//! `cargo bench -p soulprint-e2e --bench recall` (SOULPRINT_BENCH_SIZE, default 30MB).

#![allow(clippy::unwrap_used)] // a bench: a failed unwrap fails it, with its line

use std::sync::Arc;
use std::time::Instant;

use soulprint_core::ports::UserId;
use soulprint_core::relevance::{search, Doc, DocKind, RelevanceIndex};
use soulprint_core::stages::IndexCache;
use soulprint_e2e::pipeline::{finished, generated, start, work_until};
use soulprint_generator::PlantedFact;
use soulprint_local::{Local, LocalOptions, Offline};

/// A question about `fact` in other words, keeping what singles it out (a city and a year, a
/// job and a span, a pet's number, a day).
fn paraphrase(fact: &str) -> Option<String> {
    let core = fact
        .split_once(", ")
        .map_or(fact, |(_, f)| f)
        .trim_end_matches('.');
    let words: Vec<&str> = core.split_whitespace().collect();
    if let Some(rest) = core.strip_prefix("I moved to ") {
        let (city, year) = rest.rsplit_once(" in ")?;
        return Some(format!(
            "Which city did I relocate to around {year}? Was it {city}?"
        ));
    }
    if let Some(rest) = core.strip_prefix("I have worked as a ") {
        let (job, span) = rest.split_once(" for ")?;
        return Some(format!(
            "What has my profession been for the last {span}? Something like {job}?"
        ));
    }
    if core.starts_with("I have ") && core.contains(" called Pixel number ") {
        let n = words.last()?;
        return Some(format!("Which animal of mine goes by Pixel #{n}?"));
    }
    if let Some(rest) = core.strip_prefix("My sister's birthday is on the ") {
        let day = rest.split_whitespace().next()?;
        return Some(format!(
            "When does my sibling celebrate getting older, the {day}?"
        ));
    }
    None
}

fn found(hits: &[&Doc], p: &PlantedFact) -> bool {
    let core = p
        .fact
        .split_once(", ")
        .map_or(p.fact.as_str(), |(_, f)| f)
        .trim_end_matches('.');
    hits.iter().any(|d| {
        d.text.contains(core)
            && (d.kind == DocKind::Fact
                || (d.conversation_id == p.conversation_id
                    && d.message_ids.contains(&p.message_id)))
    })
}

fn main() {
    let size = std::env::var("SOULPRINT_BENCH_SIZE").unwrap_or_else(|_| "30MB".into());
    let bytes: u64 = size
        .trim_end_matches("MB")
        .parse::<u64>()
        .expect("SOULPRINT_BENCH_SIZE like 30MB")
        * 1_000_000;
    let (zip, report) = generated(17, bytes, 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (chunks, facts) = rt.block_on(async {
        let local = Local::open(LocalOptions {
            data_dir: dir.path().to_path_buf(),
            llm: Arc::new(Offline),
            fact_llm: None,
            fact_workers: 4,
            fact_tokens_per_minute: None,
        })
        .unwrap();
        let user = UserId::new("bench").unwrap();
        start(&local, &user, zip).await;
        work_until(&local, &user, finished).await;
        // What chat ranks against: the chunk index the profile names, and the facts.
        let profile = local.ports.store.profile(&user).await.unwrap().unwrap();
        let chunks = IndexCache::default()
            .get(&local.ports, &user, &profile)
            .await
            .unwrap();
        let memory = local.ports.store.memory(&user).await.unwrap();
        (chunks, RelevanceIndex::of_facts(&memory))
    });
    let mut newest: Vec<&Doc> = chunks.docs().iter().collect();
    newest.sort_by_key(|d| std::cmp::Reverse(d.at));
    let baseline: Vec<&Doc> = newest.into_iter().take(5).collect();

    let questions: Vec<(&PlantedFact, String)> = report
        .planted
        .iter()
        .filter(|p| !p.do_not_remember)
        .filter_map(|p| Some((p, paraphrase(&p.fact)?)))
        .collect();
    let started = Instant::now();
    let mut ours = 0;
    let mut theirs = 0;
    for (p, q) in &questions {
        let hits: Vec<&Doc> = search(&[&chunks, &facts], q, 5)
            .into_iter()
            .map(|h| h.doc)
            .collect();
        ours += usize::from(found(&hits, p));
        theirs += usize::from(found(&baseline, p));
    }
    let per_query = started.elapsed() / questions.len().max(1) as u32;
    let n = questions.len().max(1) as f64;
    println!(
        "recall@5 over {} paraphrased questions, {} chunks and {} facts indexed:",
        questions.len(),
        chunks.docs().len(),
        facts.docs().len()
    );
    println!("  ranked index      {:.3} ({ours})", ours as f64 / n);
    println!("  5 newest chunks   {:.3} ({theirs})", theirs as f64 / n);
    println!("  search time       {per_query:?} a question");
    if let Some((p, q)) = questions.first() {
        println!("  e.g. {q:?} for {:?}", p.fact);
    }
}
