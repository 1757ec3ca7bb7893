//! What each step of an import spent.

use std::sync::Arc;

use soulprint_core::ports::llm::Usage;
use soulprint_core::ports::store::{ImportUsage, UsageStore};
use soulprint_core::ports::Store;

use super::user;

/// A step that records its usage again replaces its record; an import's usage adds up its steps.
pub async fn usage_is_replaced_by_step_and_added_across_steps(store: Arc<dyn UsageStore>) {
    let u = user("usage");
    let spent = ImportUsage {
        quick_pass: Usage {
            calls: 1,
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.25,
        },
        export_tokens: 1000,
        cost_usd: 0.25,
        ..ImportUsage::default()
    };
    // A step that runs again replaces its record; different steps add up.
    store
        .record_usage(&u, "i1", "quick_pass", &spent)
        .await
        .unwrap();
    store
        .record_usage(&u, "i1", "quick_pass", &spent)
        .await
        .unwrap();
    store
        .record_usage(&u, "i1", "finalize/1", &spent)
        .await
        .unwrap();
    let total = store.usage(&u, "i1").await.unwrap();
    assert_eq!(total.quick_pass.calls, 2);
    assert_eq!(total.export_tokens, 2000);
    assert!((total.cost_usd - 0.5).abs() < 1e-9);
    assert_eq!(
        store.usage(&u, "other").await.unwrap(),
        ImportUsage::default()
    );
}

/// What the person's imports spent this month: every recorded step and batch, a step that
/// ran again counted again (its calls were paid for again); nothing of another month or person.
pub async fn spend_adds_up_by_month_and_person(store: Arc<dyn Store>) {
    use soulprint_core::ports::store::{month_of, BatchOutcome, RunId, RunPlan};
    let u = user("spend");
    let month = month_of(time::OffsetDateTime::now_utc());
    let step = ImportUsage {
        cost_usd: 0.25,
        ..ImportUsage::default()
    };
    store
        .record_usage(&u, "i1", "quick_pass", &step)
        .await
        .unwrap();
    store
        .record_usage(&u, "i1", "quick_pass", &step)
        .await
        .unwrap();
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
                chunks: 2,
            },
        )
        .await
        .unwrap();
    let batch = BatchOutcome {
        chunks: 1,
        usage: Usage {
            calls: 1,
            input_tokens: 1,
            output_tokens: 1,
            cost_usd: 0.125,
        },
        ..BatchOutcome::default()
    };
    store.record_batch(&u, &run, 1, &batch).await.unwrap();
    // A redelivered batch is recorded once, and spent once.
    store.record_batch(&u, &run, 1, &batch).await.unwrap();
    let spent = store.spent(&u, &month).await.unwrap();
    assert!((spent - 0.625).abs() < 1e-9, "{spent}");
    assert_eq!(store.spent(&u, "1999-01").await.unwrap(), 0.0);
    assert_eq!(
        store.spent(&user("spend-other"), &month).await.unwrap(),
        0.0
    );
}
