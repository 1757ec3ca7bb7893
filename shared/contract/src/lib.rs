//! The ports' contract, as tests every adapter runs: the local ones now, the AWS ones against
//! a local AWS-protocol server. An adapter's test file names a constructor and invokes the
//! macros:
//!
//! ```ignore
//! soulprint_contract::store_contract!(async { Arc::new(MyStore::new().await) as Arc<dyn Store> });
//! ```

#![warn(missing_docs)]
// Test support: every case runs inside an adapter's test, where a failed unwrap fails that
// test with its line (the cases' unwraps are their assertions).
#![allow(clippy::unwrap_used)]

pub mod blobs;
pub mod llm;
pub mod queue;
pub mod rate_windows;
pub mod store;
pub mod supervisor;

/// Generates a module of `#[tokio::test]`s per store role; `$make` is an async expression
/// giving a fresh `Arc<dyn Store>` (each case takes the role it tests from it).
#[macro_export]
macro_rules! store_contract {
    ($make:expr) => {
        $crate::__store_role!(
            $make,
            imports,
            [
                conditional_writes_conflict,
                progress_never_goes_back_when_writers_race,
            ]
        );
        $crate::__store_role!(
            $make,
            profiles,
            [
                a_profile_round_trips,
                writes_for_a_replaced_import_are_refused,
            ]
        );
        $crate::__store_role!($make, runs, [a_redelivered_batch_counts_once]);
        $crate::__store_role!(
            $make,
            memory,
            [
                memory_is_replaced_whole_in_order,
                facts_are_deleted_one_by_one,
            ]
        );
        $crate::__store_role!(
            $make,
            usage,
            [usage_is_replaced_by_step_and_added_across_steps,]
        );
        $crate::__store_role!($make, claims, [idempotency_records_expire]);
        $crate::__store_role!(
            $make,
            chats,
            [chat_threads_keep_their_order_and_their_user,]
        );
        $crate::__store_role!(
            $make,
            people,
            [
                no_access_across_users,
                the_forgotten_marker_stays_until_lifted
            ]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_role {
    ($make:expr, $role:ident, [$($case:ident),* $(,)?]) => {
        mod $role {
            #[allow(unused_imports)]
            use super::*;
            $crate::__cases!($crate::store::$role, $make, [$($case),*]);
        }
    };
}

/// Generates one `#[tokio::test]` per queue case; `$make` is an async expression giving a fresh
/// `Arc<dyn Queue>`.
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
                a_job_sent_later_waits_its_delay,
            ]
        );
    };
}

/// Generates one `#[tokio::test]` per rate-window case; `$make` is an async expression giving a
/// fresh `Arc<dyn RateWindows>`.
#[macro_export]
macro_rules! rate_windows_contract {
    ($make:expr) => {
        $crate::__cases!(
            $crate::rate_windows,
            $make,
            [
                requests_add_up_within_a_window,
                users_tiers_and_windows_are_counted_apart,
                counts_hold_when_requests_race,
                tokens_add_up_and_a_quota_holds_its_minute,
            ]
        );
    };
}

/// `$make`: an async expression giving a supervisor and two tokens of tasks waiting on it.
#[macro_export]
macro_rules! supervisor_contract {
    ($make:expr) => {
        $crate::__cases!(
            $crate::supervisor,
            $make,
            [
                a_waiting_task_takes_heartbeats_then_one_answer,
                a_failure_takes_any_reason_and_ends_the_task,
            ]
        );
    };
}

/// Generates one `#[tokio::test]` per blob case; `$make` is an async expression giving a fresh
/// `Arc<dyn Blobs>`.
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
                a_pack_is_answered_chunk_by_chunk,
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
