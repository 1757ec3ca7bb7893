//! The ports' contract, as tests every adapter runs: the local ones now, the AWS ones against
//! a local AWS-protocol server. An adapter's test file names a constructor and invokes the
//! macros:
//!
//! ```ignore
//! soulprint_contract::store_contract!(async { Arc::new(MyStore::new().await) as Arc<dyn Store> });
//! ```

pub mod blobs;
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
