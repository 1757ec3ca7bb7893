//! Least privilege by what each function does, not only by rules: every AWS call each function
//! makes on moto while it does its work (its routes, or its queue's jobs through an import, a
//! full pass and a forgetting) is recorded, and each must be granted by that function's
//! statements in template.yaml. A call no statement grants fails here, as it would fail on AWS
//! (moto checks no IAM). Grants no call used are printed, not failed: a test run does not
//! take every path (a redrive, an expired claim).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use serde_json::Value;
use soulprint_core::import_state::FullPassStatus;
use soulprint_core::ports::{Llm, Ports, QueueName, UserId};
use soulprint_core::stages::{import_blob, new_import_id, start_import, EXPORT_BLOB};
use soulprint_e2e::pipeline::{generated, sections, ScriptedModel};
use soulprint_http::RouteGroup;
use soulprint_lambda::aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use soulprint_lambda::settings::Settings;
use soulprint_lambda::{api, sqs_worker};
use tower::ServiceExt;

type Calls = Arc<Mutex<BTreeSet<String>>>;

/// The SDK's HTTP client, with every request's IAM action written down first.
#[derive(Debug, Clone)]
struct Recording {
    inner: SharedHttpClient,
    calls: Calls,
    /// Queue URL → the template's name for it.
    queues: Arc<HashMap<String, String>>,
}

impl HttpClient for Recording {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
            calls: Arc::clone(&self.calls),
            queues: Arc::clone(&self.queues),
        })
    }
}

#[derive(Debug)]
struct Connector {
    inner: SharedHttpConnector,
    calls: Calls,
    queues: Arc<HashMap<String, String>>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.calls
            .lock()
            .unwrap()
            .extend(actions(&request, &self.queues));
        self.inner.call(request)
    }
}

/// The IAM actions a request needs: `service:Action`, an SQS one with `@` its queue.
fn actions(request: &HttpRequest, queues: &HashMap<String, String>) -> Vec<String> {
    let body: Value = request
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null);
    if let Some(target) = request.headers().get("x-amz-target") {
        let (service, operation) = target.split_once('.').unwrap_or((target, ""));
        return match service {
            "DynamoDB_20120810" if operation == "TransactWriteItems" => body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item.as_object()?.keys().next().cloned())
                .map(|kind| match kind.as_str() {
                    "ConditionCheck" => "dynamodb:ConditionCheckItem".to_owned(),
                    other => format!("dynamodb:{other}Item"),
                })
                .collect(),
            "DynamoDB_20120810" if operation == "TransactGetItems" => {
                vec!["dynamodb:GetItem".to_owned()]
            }
            "DynamoDB_20120810" => vec![format!("dynamodb:{operation}")],
            "AmazonSQS" => {
                let queue = body["QueueUrl"]
                    .as_str()
                    .and_then(|url| queues.get(url))
                    .cloned()
                    .unwrap_or_default();
                vec![format!(
                    "sqs:{}@{queue}",
                    operation.trim_end_matches("Batch")
                )]
            }
            "AWSStepFunctions" => vec![format!("states:{operation}")],
            _ => vec![format!("{service}:{operation}")],
        };
    }
    // S3, path-style: /bucket[/key][?query].
    let uri = request.uri();
    let path = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let has = |key: &str| query.split('&').any(|kv| kv.split('=').next() == Some(key));
    let object = path.split_once('/').is_some_and(|(_, key)| !key.is_empty());
    let action = match (request.method(), object) {
        (_, false) if has("delete") => "DeleteObject",
        ("GET" | "HEAD", false) => "ListBucket",
        ("GET", true) if has("uploadId") => "ListMultipartUploadParts",
        ("GET" | "HEAD", true) => "GetObject",
        ("PUT", true) if has("tagging") => "PutObjectTagging",
        ("PUT" | "POST", true) => "PutObject",
        ("DELETE", true) if has("uploadId") => "AbortMultipartUpload",
        ("DELETE", true) => "DeleteObject",
        (method, _) => return vec![format!("s3:{method}?{query}")],
    };
    let mut out = vec![format!("s3:{action}")];
    if request.headers().get("x-amz-tagging").is_some() {
        out.push("s3:PutObjectTagging".into());
    }
    out
}

/// What SAM's policy templates grant (as the SAM specification lists them), and a function's
/// own statements: `service:Action`, SQS ones per queue.
fn granted(function: &Value) -> BTreeSet<String> {
    const CRUD: &[&str] = &[
        "GetItem",
        "DeleteItem",
        "PutItem",
        "Scan",
        "Query",
        "UpdateItem",
        "BatchWriteItem",
        "BatchGetItem",
        "DescribeTable",
        "ConditionCheckItem",
    ];
    const READ: &[&str] = &["GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable"];
    let queue_of = |v: &Value| -> String {
        // `!GetAtt X.QueueName` / `!GetAtt X.Arn`, however the YAML tag was read.
        let text = v.to_string();
        [
            "ImportsQueue",
            "FullPassQueue",
            "FactsQueue",
            "FinalizeQueue",
        ]
        .iter()
        .find(|q| text.contains(*q))
        .map_or(String::new(), |q| (*q).to_owned())
    };
    let mut out = BTreeSet::new();
    for policy in function["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if policy.get("DynamoDBCrudPolicy").is_some() {
            out.extend(CRUD.iter().map(|a| format!("dynamodb:{a}")));
        }
        if policy.get("DynamoDBReadPolicy").is_some() {
            out.extend(READ.iter().map(|a| format!("dynamodb:{a}")));
        }
        if let Some(p) = policy.get("SQSSendMessagePolicy") {
            out.insert(format!("sqs:SendMessage@{}", queue_of(p)));
        }
        for st in policy["Statement"].as_array().into_iter().flatten() {
            let actions: Vec<String> = match &st["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(list) => list
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            for a in actions {
                if a.starts_with("sqs:") {
                    out.insert(format!("{a}@{}", queue_of(&st["Resource"])));
                } else {
                    out.insert(a);
                }
            }
        }
    }
    // Lambda's SQS event source polls and deletes with the function's role (SAM adds
    // AWSLambdaSQSQueueExecutionRole for it); the handler itself never needs them.
    out
}

/// A function's recorder: its own SDK configuration, recording, and the calls so far.
async fn recorder(
    settings: &Settings,
    queues: &Arc<HashMap<String, String>>,
) -> (aws_config::SdkConfig, Calls) {
    let sdk = settings.sdk_config().await;
    let calls = Calls::default();
    let recording = Recording {
        // moto speaks plain HTTP.
        inner: aws_smithy_http_client::Builder::new().build_http(),
        calls: Arc::clone(&calls),
        queues: Arc::clone(queues),
    };
    let sdk = sdk.into_builder().http_client(recording).build();
    (sdk, calls)
}

type Until = Box<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>>;

/// Feeds each queue's messages to its worker (with that worker's ports) until `until`.
async fn work(settings: &Settings, workers: &HashMap<QueueName, Ports>, until: Until) {
    let sqs = aws_sdk_sqs::Client::new(&settings.sdk_config().await);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if until().await {
            return;
        }
        assert!(Instant::now() < deadline, "the work did not end");
        let mut worked = false;
        for queue in QueueName::ALL {
            let url = &settings.queue_urls[&queue];
            let out = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                continue;
            }
            worked = true;
            let mut event = SqsEvent::default();
            for m in &messages {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id.clone();
                record.receipt_handle = m.receipt_handle.clone();
                record.body = m.body.clone();
                event.records.push(record);
            }
            sqs_worker::handle_batch(&workers[&queue], queue, common::invocation(event, 60)).await;
            let entries: Vec<DeleteMessageBatchRequestEntry> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle.clone().unwrap())
                        .build()
                        .unwrap()
                })
                .collect();
            sqs.delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .unwrap();
        }
        if !worked {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn call(app: &axum::Router, method: &str, path: &str, body: Option<&str>) -> u16 {
    let request = common::api_event(method, path, body.map(str::as_bytes), true);
    app.clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_a_function_makes_is_granted_by_its_statements() {
    let settings = common::resources(30).await;
    let queues: Arc<HashMap<String, String>> = Arc::new(
        [
            (QueueName::Imports, "ImportsQueue"),
            (QueueName::FullPass, "FullPassQueue"),
            (QueueName::Facts, "FactsQueue"),
            (QueueName::Finalize, "FinalizeQueue"),
        ]
        .into_iter()
        .map(|(q, name)| (settings.queue_urls[&q].clone(), name.to_owned()))
        .collect(),
    );
    let model: Arc<dyn Llm> = Arc::new(ScriptedModel::new(
        vec!["I moved to Lisbon".into()],
        vec![Ok(sections("Marlowe"))],
    ));
    let mut recorded: BTreeMap<&str, Calls> = BTreeMap::new();

    // The workers, each with its own ports: an import, its full pass, its finish.
    let mut workers = HashMap::new();
    for (queue, binary) in [
        (QueueName::Imports, "import-worker"),
        (QueueName::FullPass, "full-pass"),
        (QueueName::Facts, "fact-worker"),
        (QueueName::Finalize, "memory-finalizer"),
    ] {
        let (sdk, calls) = recorder(&settings, &queues).await;
        let mut ports = settings.ports_with(&sdk, false).unwrap();
        ports.llm = Arc::clone(&model);
        ports.fact_llm = Arc::clone(&model);
        workers.insert(queue, ports);
        recorded.insert(binary, calls);
    }
    let user = UserId::new("user-7f3a").unwrap();
    let plain = settings.ports(false).await.unwrap();
    let import_id = new_import_id();
    let key = import_blob(&user, &import_id, EXPORT_BLOB).unwrap();
    let (bytes, _) = generated(3, 300_000, 40_000);
    plain.blobs.put(&key, bytes).await.unwrap();
    start_import(&plain, &user, &import_id, &key, None)
        .await
        .unwrap();
    let store = Arc::clone(&plain.store);
    let (u, s) = (user.clone(), Arc::clone(&store));
    let complete: Until = Box::new(move || {
        let (u, s) = (u.clone(), Arc::clone(&s));
        Box::pin(async move {
            s.import_state(&u)
                .await
                .unwrap()
                .is_some_and(|v| v.value.full_pass.status == FullPassStatus::Complete)
        })
    });
    work(&settings, &workers, complete).await;

    // The API functions, each with its own ports, through their routes.
    let mut apps = HashMap::new();
    for (group, binary) in [
        (RouteGroup::Trigger, "trigger"),
        (RouteGroup::Status, "status"),
        (RouteGroup::Chat, "chat"),
        (RouteGroup::Memory, "memory"),
        (RouteGroup::Health, "health"),
    ] {
        let (sdk, calls) = recorder(&settings, &queues).await;
        let mut ports = settings.ports_with(&sdk, true).unwrap();
        ports.llm = Arc::clone(&model);
        let state = api::state(
            ports,
            settings.rate_windows(&sdk),
            Arc::new(settings.s3_blobs(&sdk)),
        );
        apps.insert(binary, api::app(state, group));
        recorded.insert(binary, calls);
    }
    assert_eq!(call(&apps["health"], "GET", "/health", None).await, 200);
    assert_eq!(
        call(&apps["status"], "GET", "/imports/latest", None).await,
        200
    );
    assert_eq!(call(&apps["status"], "GET", "/profile", None).await, 200);
    let upload = r#"{"size_bytes": 1000}"#;
    assert_eq!(
        call(&apps["trigger"], "POST", "/uploads", Some(upload)).await,
        201
    );
    let chat = r#"{"message": "Where do I live now?"}"#;
    assert_eq!(call(&apps["chat"], "POST", "/chat", Some(chat)).await, 200);
    assert_eq!(call(&apps["chat"], "GET", "/chat/threads", None).await, 200);
    assert_eq!(
        call(&apps["memory"], "GET", "/memory/facts", None).await,
        200
    );
    assert_eq!(
        call(&apps["memory"], "GET", "/memory/chunks?q=Lisbon", None).await,
        200
    );
    assert_eq!(call(&apps["memory"], "GET", "/export", None).await, 303);
    assert_eq!(call(&apps["memory"], "DELETE", "/me", None).await, 202);
    // The forgetting, done by the import worker.
    let (u, s) = (user.clone(), Arc::clone(&store));
    let forgotten: Until = Box::new(move || {
        let (u, s) = (u.clone(), Arc::clone(&s));
        Box::pin(async move { s.forgotten(&u).await.unwrap().is_none() })
    });
    work(&settings, &workers, forgotten).await;

    let template = common::template();
    let mut missing = Vec::new();
    for (binary, calls) in &recorded {
        let function = template["Resources"]
            .as_object()
            .unwrap()
            .values()
            .find(|f| f["Metadata"]["BuildProperties"]["Binary"] == *binary)
            .unwrap();
        let grants = granted(function);
        let calls = calls.lock().unwrap();
        for call in calls.iter() {
            if !grants.contains(call) {
                missing.push(format!("{binary}: {call}"));
            }
        }
        let unused: Vec<&String> = grants.iter().filter(|g| !calls.contains(*g)).collect();
        println!(
            "{binary}: {} calls {calls:?}; granted and not used here: {unused:?}",
            calls.len()
        );
    }
    assert!(
        missing.is_empty(),
        "calls no statement grants: {missing:#?}"
    );
}
