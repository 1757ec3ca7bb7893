//! The ports' contract, as tests every adapter runs: the local ones now, the AWS ones against
//! a local AWS-protocol server. An adapter's test file names a constructor and invokes the
//! macros:
//!
//! ```ignore
//! soulprint_contract::store_contract!(async { Arc::new(MyStore::new().await) as Arc<dyn Store> });
//! ```

pub mod blobs;
pub mod llm;
pub mod queue;
pub mod store;

/// Generates one `#[tokio::test]` per store case; `$make` is an async expression giving a fresh
/// `Arc<dyn Store>`.
#[macro_export]
macro_rules! store_contract {
    ($make:expr) => {
        $crate::__cases!(
            $crate::store,
            $make,
            [
                conditional_writes_conflict,
                progress_never_goes_back_when_writers_race,
                a_redelivered_batch_counts_once,
                idempotency_records_expire,
                no_access_across_users,
                profile_memory_and_usage_round_trip,
                writes_for_a_replaced_import_are_refused,
                chat_threads_keep_their_order_and_their_user,
                facts_are_deleted_one_by_one,
            ]
        );
    };
}

#[macro_export]
macro_rules! queue_contract {
    ($make:expr) => {
        $crate::__cases!(
            $crate::queue,
            $make,
            [
                a_message_is_delivered_until_acknowledged,
                an_unacknowledged_message_is_redelivered,
                extending_keeps_a_message_hidden,
            ]
        );
    };
}

#[macro_export]
macro_rules! blobs_contract {
    ($make:expr) => {
        $crate::__cases!(
            $crate::blobs,
            $make,
            [
                blobs_round_trip,
                files_round_trip,
                missing_blobs_are_not_found,
                users_are_apart,
            ]
        );
    };
}

/// Generates one test per model case; `$start` is an `async fn(Vec<Scripted>) -> Harness`
/// starting the adapter's fake server with that script.
#[macro_export]
macro_rules! llm_contract {
    ($start:path) => {
        $crate::__llm_cases!(
            $start,
            [
                a_good_answer_is_taken_as_it_is,
                a_wrong_shape_is_repaired_once,
                prose_and_a_cut_off_answer_are_repaired_too,
                wrong_twice_is_invalid_output,
                throttling_is_retried,
                a_retired_model_is_not_served_and_not_retried,
            ]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __llm_cases {
    ($start:path, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::llm::$case($start).await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __cases {
    ($module:path, $make:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                use $module as cases;
                cases::$case($make.await).await;
            }
        )*
    };
}
