//! The full pass's bookkeeping: a batch recorded twice counts once.

use std::sync::Arc;

use soulprint_core::ports::llm::Usage;
use soulprint_core::ports::store::{BatchOutcome, RunId, RunPlan, Store};

use super::{fact, user};

/// A batch recorded twice counts, and spends, once; a second plan changes nothing, and a run with
/// no plan takes no batch.
pub async fn a_redelivered_batch_counts_once(store: Arc<dyn Store>) {
    let u = user("batch");
    let run = RunId {
        import_id: "i1".into(),
        attempt: 1,
    };
    store
        .plan_run(
            &u,
            &run,
            RunPlan {
                batches: 2,
                chunks: 5,
            },
        )
        .await
        .unwrap();
    // A second plan for the same run changes nothing.
    store
        .plan_run(
            &u,
            &run,
            RunPlan {
                batches: 9,
                chunks: 9,
            },
        )
        .await
        .unwrap();
    let outcome = BatchOutcome {
        facts: vec![fact("I have two cats.")],
        chunks: 3,
        failed_chunks: 1,
        usage: Usage {
            calls: 3,
            input_tokens: 300,
            output_tokens: 30,
            cost_usd: 0.5,
        },
        input_tokens_sent: 300,
    };
    let first = store.record_batch(&u, &run, 1, &outcome).await.unwrap();
    assert!(first.newly_recorded);
    assert_eq!((first.batches_done, first.batches_total), (1, 2));
    assert_eq!(
        (first.chunks_done, first.chunks_total, first.failed_chunks),
        (3, 5, 1)
    );
    assert!(!first.complete());
    let again = store.record_batch(&u, &run, 1, &outcome).await.unwrap();
    assert!(!again.newly_recorded);
    assert_eq!((again.batches_done, again.chunks_done), (1, 3));
    assert!(store.batch_done(&u, &run, 1).await.unwrap());
    assert!(!store.batch_done(&u, &run, 2).await.unwrap());
    // What it recorded, for a retry to take over (this one not: a chunk failed).
    let record = store.batch_record(&u, &run, 1).await.unwrap().unwrap();
    assert_eq!(record.facts, vec![fact("I have two cats.")]);
    assert_eq!((record.chunks, record.failed_chunks), (3, Some(1)));
    assert!(!record.whole());
    assert!(store.batch_record(&u, &run, 2).await.unwrap().is_none());
    let last = store
        .record_batch(
            &u,
            &run,
            2,
            &BatchOutcome {
                chunks: 2,
                ..BatchOutcome::default()
            },
        )
        .await
        .unwrap();
    assert!(last.complete());
    assert!(store
        .batch_record(&u, &run, 2)
        .await
        .unwrap()
        .unwrap()
        .whole());
    assert_eq!(
        store.run_facts(&u, &run).await.unwrap(),
        vec![fact("I have two cats.")]
    );
    let usage = store.usage(&u, "i1").await.unwrap();
    assert_eq!(
        usage.fact_extraction.calls, 3,
        "a redelivery spends nothing twice"
    );
    assert_eq!(usage.fact_input_tokens_sent, 300);
    // Another run of the same import starts from nothing.
    let retry = RunId { attempt: 2, ..run };
    assert!(store.run_progress(&u, &retry).await.unwrap().is_none());
    assert!(
        store.record_batch(&u, &retry, 1, &outcome).await.is_err(),
        "no plan, no batch"
    );
}
