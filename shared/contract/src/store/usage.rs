//! What each step of an import spent.

use std::sync::Arc;

use soulprint_core::ports::llm::Usage;
use soulprint_core::ports::store::{ImportUsage, UsageStore};

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
