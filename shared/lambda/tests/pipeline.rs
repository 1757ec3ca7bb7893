//! The AWS pipeline end to end on moto: the import's real state machine (template.yaml's
//! definition) runs on moto's Step Functions, and a test poller stands in for Lambda's SQS
//! event sources, feeding each queue's messages to the workers' handler, with a duplicate
//! delivery and workers killed mid-batch. With the same scripted model, it ends where the
//! local pipeline ends: the same profile, facts and MEMORY (ids and times aside).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{json, Value};
use soulprint_core::import_state::{FullPassStatus, ImportStatus};
use soulprint_core::ports::{Llm, Ports, QueueName, UserId};
use soulprint_core::stages::{import_blob, new_import_id, start_import, EXPORT_BLOB};
use soulprint_e2e::pipeline::{self, generated, sections, ScriptedModel};
use soulprint_lambda::aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use soulprint_lambda::settings::Settings;
use soulprint_lambda::sqs_worker::handle_batch;
use soulprint_local::{Local, LocalOptions};

/// A received message hides this long: a killed worker's message comes back soon.
const VISIBILITY_SECONDS: u32 = 2;

fn model(planted: &[String]) -> Arc<ScriptedModel> {
    Arc::new(ScriptedModel::new(
        planted.to_vec(),
        vec![Ok(sections("Assistant")), Ok(sections("Marlowe"))],
    ))
}

/// template.yaml's state machine, its queue URLs substituted, created on moto (which runs
/// executions once switched on).
async fn state_machine(settings: &Settings) -> String {
    state_machine_with(settings, |_| {}).await
}

async fn state_machine_with(settings: &Settings, change: impl Fn(&mut Value)) -> String {
    reqwest::Client::new()
        .post(format!("{}/moto-api/config", common::moto()))
        .json(&json!({"stepfunctions": {"execute_state_machine": true}}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut template = common::template();
    let definition = &mut template["Resources"]["ImportStateMachine"]["Properties"]["Definition"];
    change(definition);
    let definition = definition
        .to_string()
        .replace(
            "${ImportsQueueUrl}",
            &settings.queue_urls[&QueueName::Imports],
        )
        .replace(
            "${FullPassQueueUrl}",
            &settings.queue_urls[&QueueName::FullPass],
        );
    let sfn = aws_sdk_sfn::Client::new(&settings.sdk_config().await);
    sfn.create_state_machine()
        .name(common::fresh("import"))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/soulprint-import")
        .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

/// Stands in for Lambda's event source mappings: receives, invokes the handler with the
/// batch, deletes what the handler did not report as failed.
struct Poller {
    sqs: aws_sdk_sqs::Client,
    settings: Settings,
    ports: Ports,
    /// Receipts so far, per queue: the chaos is keyed on them.
    receipts: std::collections::HashMap<QueueName, u32>,
    killed: u32,
    duplicated: u32,
}

impl Poller {
    async fn receive(&self, queue: QueueName) -> SqsEvent {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.settings.queue_urls[&queue])
            .max_number_of_messages(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let mut event = SqsEvent::default();
        for m in out.messages.unwrap_or_default() {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            for (k, v) in m.attributes.unwrap_or_default() {
                record.attributes.insert(k.as_str().to_owned(), v);
            }
            event.records.push(record);
        }
        event
    }

    /// One round over the queues; true when something was handled.
    async fn round(&mut self) -> bool {
        let mut worked = false;
        for queue in QueueName::ALL {
            let event = self.receive(queue).await;
            if event.records.is_empty() {
                continue;
            }
            worked = true;
            let n = self.receipts.entry(queue).or_default();
            *n += 1;
            let nth = *n;
            // Chaos: the first import and the second fact batch die mid-way (the worker is
            // dropped at its next await, as a crash or a timeout would leave it), and the first
            // fact batch arrives twice.
            let kill = (queue == QueueName::Imports && nth == 1)
                || (queue == QueueName::Facts && nth == 2);
            if kill {
                let ports = self.ports.clone();
                let task = tokio::spawn(async move {
                    handle_batch(
                        &ports,
                        queue,
                        common::invocation(event, VISIBILITY_SECONDS.into()),
                    )
                    .await
                });
                tokio::time::sleep(Duration::from_millis(15)).await;
                task.abort();
                self.killed += 1;
                continue;
            }
            // The duplicate comes after the first delivery, before its deletion (as when a
            // visibility timeout runs out under a slow worker). Not at the same instant: moto
            // does not isolate concurrent DynamoDB transactions from each other, DynamoDB does.
            let response = if queue == QueueName::Facts && nth == 1 {
                self.duplicated += 1;
                let first = handle_batch(
                    &self.ports,
                    queue,
                    common::invocation(event.clone(), VISIBILITY_SECONDS.into()),
                )
                .await;
                let again = handle_batch(
                    &self.ports,
                    queue,
                    common::invocation(event.clone(), VISIBILITY_SECONDS.into()),
                )
                .await;
                assert_eq!(
                    first.batch_item_failures.len(),
                    again.batch_item_failures.len()
                );
                first
            } else {
                handle_batch(
                    &self.ports,
                    queue,
                    common::invocation(event.clone(), VISIBILITY_SECONDS.into()),
                )
                .await
            };
            let failed: HashSet<String> = response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
            let done: Vec<DeleteMessageBatchRequestEntry> = event
                .records
                .iter()
                .filter(|r| !failed.contains(r.message_id.as_deref().unwrap_or("")))
                .enumerate()
                .map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r.receipt_handle.clone().unwrap())
                        .build()
                        .unwrap()
                })
                .collect();
            if !done.is_empty() {
                self.sqs
                    .delete_message_batch()
                    .queue_url(&self.settings.queue_urls[&queue])
                    .set_entries(Some(done))
                    .send()
                    .await
                    .unwrap();
            }
        }
        worked
    }
}

/// Facts as the person sees them, without ids and times.
fn memory_view(facts: &[soulprint_core::memory::MemoryFact]) -> Vec<Value> {
    let mut view: Vec<Value> = facts
        .iter()
        .map(|f| {
            json!({
                "category": f.category,
                "text": f.text,
                "subject": f.subject,
                "status": f.status,
                "sources": f.sources.iter().map(|s| json!({
                    "conversation": s.conversation_id, "messages": s.message_ids,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    view.sort_by_key(|v| v.to_string());
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_pipeline_on_moto_ends_where_the_local_one_does() {
    let (bytes, report) = generated(21, 600_000, 60_000);
    let planted: Vec<String> = report
        .planted
        .iter()
        .map(|p| {
            p.fact
                .split_once(", ")
                .map_or(p.fact.clone(), |(_, f)| f.to_owned())
        })
        .collect();
    let user = UserId::new("moto-user").unwrap();

    // The local run: the reference.
    let dir = tempfile::tempdir().unwrap();
    let local = Local::open(LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm: model(&planted) as Arc<dyn Llm>,
        fact_llm: None,
        fact_workers: 3,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    pipeline::start(&local, &user, bytes.clone()).await;
    let local_end = pipeline::work_until(&local, &user, pipeline::finished).await;
    assert_eq!(local_end.full_pass.status, FullPassStatus::Complete);

    // The AWS run.
    let mut settings = common::resources(VISIBILITY_SECONDS).await;
    let machine = state_machine(&settings).await;
    settings.state_machine_arn = Some(machine.clone());
    let llm = model(&planted) as Arc<dyn Llm>;
    let mut api = settings.ports(true).await.unwrap();
    api.llm = Arc::clone(&llm);
    api.fact_llm = Arc::clone(&llm);
    let mut workers = settings.ports(false).await.unwrap();
    workers.fact_llm = Arc::clone(&llm);
    workers.llm = llm;
    let import_id = new_import_id();
    let key = import_blob(&user, &import_id, EXPORT_BLOB).unwrap();
    api.blobs.put(&key, bytes).await.unwrap();
    start_import(&api, &user, &import_id, &key, None)
        .await
        .unwrap();

    let sdk = settings.sdk_config().await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let mut poller = Poller {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        settings: settings.clone(),
        ports: workers.clone(),
        receipts: Default::default(),
        killed: 0,
        duplicated: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let (end, execution) = loop {
        let worked = poller.round().await;
        let state = workers
            .store
            .import_state(&user)
            .await
            .unwrap()
            .unwrap()
            .value;
        let executions = sfn
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap()
            .executions;
        let execution = executions.iter().find(|e| e.name == import_id).cloned();
        let succeeded = execution
            .as_ref()
            .is_some_and(|e| e.status == aws_sdk_sfn::types::ExecutionStatus::Succeeded);
        if state.full_pass.status == FullPassStatus::Complete && succeeded {
            break (state, execution.unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "stuck: {state:?}, execution {execution:?}"
        );
        if !worked {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(end.status, ImportStatus::Complete);
    assert_eq!(poller.killed, 2, "the chaos ran");
    assert_eq!(poller.duplicated, 1);
    assert_eq!(
        execution.name, import_id,
        "the operator finds the import by its id"
    );

    // The same soulprint.
    let local_profile = local.ports.store.profile(&user).await.unwrap().unwrap();
    let aws_profile = workers.store.profile(&user).await.unwrap().unwrap();
    assert_eq!(aws_profile.sections, local_profile.sections);
    assert_eq!(aws_profile.memory_md, local_profile.memory_md);
    // The rendered soulprint names the minute it was written.
    let timeless = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with("Today is "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        timeless(&aws_profile.soulprint_text),
        timeless(&local_profile.soulprint_text)
    );
    let local_memory = local.ports.store.memory(&user).await.unwrap();
    let aws_memory = workers.store.memory(&user).await.unwrap();
    assert!(!aws_memory.is_empty());
    assert_eq!(memory_view(&aws_memory), memory_view(&local_memory));
    assert_eq!(end.full_pass.chunks_done, local_end.full_pass.chunks_done);
    assert_eq!(end.full_pass.chunks_total, local_end.full_pass.chunks_total);
}

/// The import's worker died for good: the Quick state times out, and its `Catch` records
/// the failure where the person sees it; the operator sees the execution failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_state_that_times_out_fails_the_import_with_the_reason() {
    let mut settings = common::resources(VISIBILITY_SECONDS).await;
    // template.yaml's definition, but a Quick state of 1 second instead of 15 minutes.
    let machine = state_machine_with(&settings, |d| {
        d["States"]["Quick"]["TimeoutSeconds"] = json!(1);
    })
    .await;
    settings.state_machine_arn = Some(machine.clone());
    let api = settings.ports(true).await.unwrap();
    let workers = settings.ports(false).await.unwrap();
    let user = UserId::new("stuck-user").unwrap();
    let import_id = new_import_id();
    let key = import_blob(&user, &import_id, EXPORT_BLOB).unwrap();
    api.blobs
        .put(&key, generated(5, 50_000, 10_000).0)
        .await
        .unwrap();
    start_import(&api, &user, &import_id, &key, None)
        .await
        .unwrap();

    let sdk = settings.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let url = &settings.queue_urls[&QueueName::Imports];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lost = 0;
    loop {
        let state = workers
            .store
            .import_state(&user)
            .await
            .unwrap()
            .unwrap()
            .value;
        if state.status == ImportStatus::Failed {
            let error = state.error.unwrap_or_default();
            assert!(error.contains("did not finish"), "{error}");
            assert!(error.contains("time limit"), "{error}");
            break;
        }
        assert!(Instant::now() < deadline, "stuck at {state:?}");
        let received = sqs
            .receive_message()
            .queue_url(url)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        for m in received {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            // The dead worker: the import job is taken and never done.
            if body["job"] == "import" {
                lost += 1;
            } else {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id.clone();
                record.body = m.body.clone();
                let mut event = SqsEvent::default();
                event.records.push(record);
                let response = handle_batch(
                    &workers,
                    QueueName::Imports,
                    common::invocation(event, VISIBILITY_SECONDS.into()),
                )
                .await;
                assert!(response.batch_item_failures.is_empty());
            }
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(lost, 1);
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .executions;
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].name, import_id);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = sfn
            .describe_execution()
            .execution_arn(&executions[0].execution_arn)
            .send()
            .await
            .unwrap()
            .status;
        if status == aws_sdk_sfn::types::ExecutionStatus::Failed {
            break;
        }
        assert!(Instant::now() < deadline, "the execution is {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two executions of a one-state machine waiting on task tokens, on moto's Step Functions,
/// and the supervisor adapter: the supervisor contract's fixture.
async fn waiting_tasks() -> soulprint_contract::supervisor::Waiting {
    let (_, _, supervisor, tokens) = waiting_executions().await;
    (supervisor, tokens)
}

/// The same, with the client to look at the executions.
async fn waiting_executions() -> (
    aws_sdk_sfn::Client,
    String,
    Arc<dyn soulprint_core::ports::Supervisor>,
    Vec<String>,
) {
    use soulprint_aws::StepFunctionsSupervisor;
    let settings = common::resources(VISIBILITY_SECONDS).await;
    let url = &settings.queue_urls[&QueueName::Imports];
    let machine = state_machine_with(&settings, |d| {
        *d = json!({
            "StartAt": "Wait",
            "States": {"Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 60,
                "End": true,
            }},
        });
    })
    .await;
    let sdk = settings.sdk_config().await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for name in ["first", "second"] {
        sfn.start_execution()
            .state_machine_arn(&machine)
            .name(name)
            .input("{}")
            .send()
            .await
            .unwrap();
    }
    let mut tokens = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokens.len() < 2 {
        assert!(Instant::now() < deadline, "no task tokens arrived");
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in got.messages.unwrap_or_default() {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            tokens.push(body["token"].as_str().unwrap().to_owned());
        }
    }
    let supervisor = Arc::new(StepFunctionsSupervisor::new(sfn.clone()));
    (sfn, machine, supervisor, tokens)
}

mod step_functions {
    use super::*;
    soulprint_contract::supervisor_contract!(waiting_tasks());
}

/// On Step Functions an answer moves the execution on: one succeeds, the other fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_tasks_end_their_executions() {
    use aws_sdk_sfn::types::ExecutionStatus;
    let (sfn, machine, supervisor, tokens) = waiting_executions().await;
    supervisor.succeed(&tokens[0], &json!({})).await.unwrap();
    supervisor
        .fail(&tokens[1], "ImportFailed", "why")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = sfn
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await
            .unwrap();
        let mut statuses: Vec<ExecutionStatus> =
            listed.executions.into_iter().map(|e| e.status).collect();
        statuses.sort_by_key(|s| s.as_str().to_owned());
        if statuses == [ExecutionStatus::Failed, ExecutionStatus::Succeeded] {
            break;
        }
        assert!(Instant::now() < deadline, "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
