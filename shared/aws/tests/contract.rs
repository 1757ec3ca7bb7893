//! The AWS adapters pass the ports' contract, against moto's server on 127.0.0.1
//! (`SOULPRINT_MOTO_URL`, which scripts/test sets after starting it).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::collections::HashMap;
use std::sync::Arc;

use soulprint_aws::{DynamoStore, S3Blobs, SqsQueue};
use soulprint_core::ports::{Blobs, Queue, QueueName, RateWindows, Store};

fn endpoint() -> String {
    std::env::var("SOULPRINT_MOTO_URL").expect(
        "SOULPRINT_MOTO_URL is not set: run scripts/test, which starts moto's server, or start \
         one (.venv-moto/bin/moto_server -H 127.0.0.1 -p 5000) and set SOULPRINT_MOTO_URL=http://127.0.0.1:5000",
    )
}

async fn config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::for_tests())
        .load()
        .await
}

/// A fresh name, so that tests running at once never share a bucket or a queue.
fn fresh(what: &str) -> String {
    format!("soulprint-{what}-{}", uuid::Uuid::now_v7().simple())
}

async fn blobs() -> Arc<dyn Blobs> {
    let (s3, bucket) = bucket().await;
    Arc::new(S3Blobs::new(s3, bucket, std::env::temp_dir()))
}

/// A fresh bucket, and the client to look into it.
async fn bucket() -> (aws_sdk_s3::Client, String) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config().await)
            .force_path_style(true)
            .build(),
    );
    let bucket = fresh("bucket");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    (s3, bucket)
}

async fn queue() -> Arc<dyn Queue> {
    let sqs = aws_sdk_sqs::Client::new(&config().await);
    let mut urls = HashMap::new();
    for q in QueueName::ALL {
        let created = sqs
            .create_queue()
            .queue_name(fresh(q.as_str()))
            .send()
            .await
            .unwrap();
        urls.insert(q, created.queue_url().unwrap().to_owned());
    }
    Arc::new(SqsQueue::new(sqs, urls))
}

async fn store() -> Arc<dyn Store> {
    Arc::new(dynamo().await.0)
}

/// A fresh table shaped as template.yaml makes it (`pk`, `sk`, on demand).
async fn dynamo() -> (DynamoStore, aws_sdk_dynamodb::Client, String) {
    let ddb = aws_sdk_dynamodb::Client::new(&config().await);
    let table = fresh("table");
    soulprint_aws::dynamodb::create_table(&ddb, &table)
        .await
        .unwrap();
    (DynamoStore::new(ddb.clone(), table.clone()), ddb, table)
}

mod dynamodb {
    use super::store;
    soulprint_contract::store_contract!(store());
}

mod rate_windows {
    use super::*;
    soulprint_contract::rate_windows_contract!(async {
        Arc::new(dynamo().await.0) as Arc<dyn RateWindows>
    });
}

mod s3 {
    soulprint_contract::blobs_contract!(super::blobs());
}

mod sqs {
    soulprint_contract::queue_contract!(super::queue());
}

/// A file over the single-PUT size goes up in parts, each with its CRC32 and the whole
/// completed with them, and comes back whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_goes_up_in_parts_and_comes_back_whole() {
    use soulprint_core::ports::{BlobKey, UserId};
    use std::io::{Read, Seek, SeekFrom, Write};
    let (s3, bucket) = bucket().await;
    let blobs = S3Blobs::new(s3.clone(), bucket.clone(), std::env::temp_dir());
    let user = UserId::new("large").unwrap();
    let body: Vec<u8> = (0..40_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut scratch = blobs.scratch().await.unwrap();
    scratch.write_all(&body).unwrap();
    let key = BlobKey::new(&user, "imports/i1/export").unwrap();
    assert_eq!(
        blobs.put_file(&key, scratch).await.unwrap(),
        body.len() as u64
    );
    let mut back = blobs.open(&key).await.unwrap();
    assert_eq!(back.seek(SeekFrom::End(0)).unwrap(), body.len() as u64);
    back.seek(SeekFrom::Start(0)).unwrap();
    let mut read = Vec::new();
    back.read_to_end(&mut read).unwrap();
    assert!(read == body);
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(key.to_string())
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert!(head.checksum_crc32().is_some(), "{head:?}");
}

/// Upload parts carry the tag the bucket's lifecycle rule expires; other blobs do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_parts_are_tagged_for_the_lifecycle_rule() {
    use soulprint_core::ports::{BlobKey, UserId};
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config().await)
            .force_path_style(true)
            .build(),
    );
    let bucket = fresh("bucket");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let blobs = S3Blobs::new(s3.clone(), bucket.clone(), std::env::temp_dir());
    let user = UserId::new("tagged").unwrap();
    let part = BlobKey::new(&user, "uploads/u1/part-00001").unwrap();
    let profile = BlobKey::new(&user, "imports/i1/conversations.jsonl").unwrap();
    blobs.put(&part, b"part".to_vec()).await.unwrap();
    blobs.put(&profile, b"kept".to_vec()).await.unwrap();
    let tags = |key: BlobKey| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            s3.get_object_tagging()
                .bucket(bucket)
                .key(key.to_string())
                .send()
                .await
                .unwrap()
                .tag_set()
                .iter()
                .map(|t| format!("{}={}", t.key(), t.value()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(tags(part).await, [soulprint_aws::s3::UPLOAD_TAG]);
    assert!(tags(profile).await.is_empty());
}

/// A rate window's item carries its expiry (TTL) a window after it closes (how windows
/// count is the contract's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_window_expires_a_window_after_it_closes() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use soulprint_core::ports::UserId;
    let (windows, ddb, table) = dynamo().await;
    let ana = UserId::new("ana").unwrap();
    windows.count(&ana, "chat", 600, 60).await.unwrap();
    let item = ddb
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S("U#ana".into()))
        .key("sk", AttributeValue::S("RATE#chat#600".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["ttl"], AttributeValue::N("720".into()));
}

/// Fact workers finish batches, all counting on the run's one item: every batch is counted,
/// each once, a redelivery among them not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_recorded_by_many_workers_are_all_counted() {
    use soulprint_core::ports::store::{BatchOutcome, RunId, RunPlan};
    use soulprint_core::ports::UserId;
    let store = store().await;
    let user = UserId::new("racer").unwrap();
    let run = RunId {
        import_id: "i1".into(),
        attempt: 1,
    };
    store
        .plan_run(
            &user,
            &run,
            RunPlan {
                batches: 24,
                chunks: 48,
            },
        )
        .await
        .unwrap();
    let outcome = BatchOutcome {
        chunks: 2,
        ..BatchOutcome::default()
    };
    // One after another: moto runs two transactions on one item without isolating them
    // (one restores the table as it found it, and the other's write is lost), where DynamoDB
    // refuses the second as a conflict and the adapter tries it again (`transact`).
    for b in 1..=24 {
        assert!(
            store
                .record_batch(&user, &run, b, &outcome)
                .await
                .unwrap()
                .newly_recorded
        );
    }
    for b in [3, 17] {
        let again = store.record_batch(&user, &run, b, &outcome).await.unwrap();
        assert!(!again.newly_recorded);
    }
    let progress = store.run_progress(&user, &run).await.unwrap().unwrap();
    assert_eq!((progress.batches_done, progress.chunks_done), (24, 48));
    assert!(progress.complete());
}

/// Forgetting a person with ten thousand items (`SOULPRINT_FORGET_ITEMS` for more: 100,000 was
/// measured) deletes them all a page of keys at a time (no item held in memory whole), leaves
/// the marker until it is lifted, and leaves others alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_a_large_partition_deletes_every_item_but_the_marker() {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use soulprint_core::ports::store::PersonStore;
    use soulprint_core::ports::UserId;
    let items: usize = std::env::var("SOULPRINT_FORGET_ITEMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let (store, ddb, table) = dynamo().await;
    let user = UserId::new("many-items").unwrap();
    let other = UserId::new("someone-else").unwrap();
    let item = |user: &UserId, n: usize| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("pk", AttributeValue::S(format!("U#{user}")))
                    .item("sk", AttributeValue::S(format!("CHAT#{n:08}")))
                    .item("body", AttributeValue::S("x".repeat(200)))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let requests: Vec<WriteRequest> = (0..items)
        .map(|n| item(&user, n))
        .chain([item(&other, 0)])
        .collect();
    for batch in requests.chunks(25) {
        ddb.batch_write_item()
            .request_items(&table, batch.to_vec())
            .send()
            .await
            .unwrap();
    }
    store
        .mark_forgotten(&user, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    store.forget(&user).await.unwrap();
    println!("forgot {items} items in {:?} on moto", started.elapsed());
    let count = |user: UserId| {
        let (ddb, table) = (ddb.clone(), table.clone());
        async move {
            ddb.query()
                .table_name(table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(format!("U#{user}")))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .send()
                .await
                .unwrap()
                .count
        }
    };
    assert_eq!(count(user.clone()).await, 1, "only the marker is left");
    assert!(store.forgotten(&user).await.unwrap().is_some());
    store.forget_done(&user).await.unwrap();
    assert_eq!(count(user.clone()).await, 0);
    assert!(store.forgotten(&user).await.unwrap().is_none());
    assert_eq!(count(other).await, 1, "another person is untouched");
}
