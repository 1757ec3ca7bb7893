//! Fresh AWS resources on moto's server (`SOULPRINT_MOTO_URL`, started by scripts/test),
//! shaped as template.yaml makes them.

#![allow(dead_code)]

use std::collections::HashMap;

use soulprint_core::ports::QueueName;
use soulprint_lambda::settings::Settings;

pub fn moto() -> String {
    std::env::var("SOULPRINT_MOTO_URL").expect(
        "SOULPRINT_MOTO_URL is not set: run scripts/test, which starts moto's server, or start \
         one (.venv-moto/bin/moto_server -H 127.0.0.1 -p 5000) and set SOULPRINT_MOTO_URL",
    )
}

pub fn fresh(what: &str) -> String {
    format!("sp-{what}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:x}{:x}{}",
        nanos,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The template as JSON (its `!Ref`-style tags kept as `{"!Ref": …}`-less plain values).
pub fn template() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    serde_json::to_value(untag(yaml)).unwrap()
}

/// `!Ref X` → `{"Ref": "X"}` and the like, as CloudFormation reads them.
fn untag(v: serde_norway::Value) -> serde_norway::Value {
    use serde_norway::Value;
    match v {
        Value::Tagged(t) => {
            let name = t.tag.to_string().trim_start_matches('!').to_owned();
            let key = if name == "Ref" {
                name
            } else {
                format!("Fn::{name}")
            };
            let mut m = serde_norway::Mapping::new();
            m.insert(Value::String(key), untag(t.value));
            Value::Mapping(m)
        }
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(untag).collect()),
        Value::Mapping(m) => Value::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        other => other,
    }
}

/// A table, a bucket and the four queues (each hiding a received message for
/// `visibility_seconds`), and settings naming them.
pub async fn resources(visibility_seconds: u32) -> Settings {
    let mut settings = Settings {
        table: fresh("table"),
        bucket: fresh("bucket"),
        model: soulprint_lambda::settings::ModelSetting {
            id: "anthropic.claude-test".into(),
            parameter: "ModelId",
            ..Default::default()
        },
        endpoint: Some(moto()),
        ..Settings::default()
    };
    let sdk = settings.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    soulprint_aws::dynamodb::create_table(&ddb, &settings.table)
        .await
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&settings.bucket)
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut urls = HashMap::new();
    for q in QueueName::ALL {
        let created = sqs
            .create_queue()
            .queue_name(fresh(q.as_str()))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                visibility_seconds.to_string(),
            )
            .send()
            .await
            .unwrap();
        urls.insert(q, created.queue_url().unwrap().to_owned());
    }
    settings.queue_urls = urls;
    settings.state_machine_arn =
        Some("arn:aws:states:us-east-1:123456789012:stateMachine:not-used".into());
    settings
}

/// An event of `events/` as API Gateway (or SQS) sends it.
pub fn event(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../events/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// An API event with another method, path and body (binary bodies base64, as API Gateway
/// sends them).
pub fn api_event(
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    json: bool,
) -> soulprint_lambda::lambda_http::Request {
    use base64::Engine;
    let mut event: serde_json::Value =
        serde_json::from_str(&event("status-latest-import.json")).unwrap();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    event["rawPath"] = path.into();
    event["rawQueryString"] = query.into();
    event["queryStringParameters"] = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    if let Some(body) = body {
        if json {
            event["body"] = String::from_utf8(body.to_vec()).unwrap().into();
        } else {
            event["headers"]["content-type"] = "application/octet-stream".into();
            event["body"] = base64::engine::general_purpose::STANDARD
                .encode(body)
                .into();
            event["isBase64Encoded"] = true.into();
        }
    }
    soulprint_lambda::lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// An invocation of a worker with a batch, and `seconds` to handle it (its deadline).
pub fn invocation(
    event: soulprint_lambda::aws_lambda_events::event::sqs::SqsEvent,
    seconds: u64,
) -> soulprint_lambda::lambda_runtime::LambdaEvent<
    soulprint_lambda::aws_lambda_events::event::sqs::SqsEvent,
> {
    let mut context = soulprint_lambda::lambda_runtime::Context::default();
    context.deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + seconds * 1000;
    soulprint_lambda::lambda_runtime::LambdaEvent::new(event, context)
}
