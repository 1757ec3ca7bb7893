//! What a function reads from its environment (set by template.yaml), and the ports built
//! from it once per cold start.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use soulprint_aws::{
    BedrockConfig, BedrockModel, DynamoStore, ExecutionFrontDoor, S3Blobs, SqsQueue,
    StepFunctionsSupervisor,
};
use soulprint_core::ports::{Llm, Ports, Queue, QueueName, RateWindows, SystemClock};

/// The environment of every function; what a function does not use may be absent.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub table: String,
    pub bucket: String,
    pub queue_urls: HashMap<QueueName, String>,
    /// The import state machine; the API functions start executions through it.
    pub state_machine_arn: Option<String>,
    pub model_id: String,
    pub fallback_model_id: Option<String>,
    /// US dollars per million tokens, in and out.
    pub price_in: f64,
    pub price_out: f64,
    /// Another endpoint for every AWS service (moto in the tests, `cargo lambda watch`
    /// against a local server); unset on AWS.
    pub endpoint: Option<String>,
    /// For the chat-stream function: the identity provider and the audience its tokens name.
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub jwks_url: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<String> {
    var(name).with_context(|| format!("{name} is not set (template.yaml sets it)"))
}

impl Settings {
    pub fn from_env() -> Result<Self> {
        let mut queue_urls = HashMap::new();
        for (queue, name) in [
            (QueueName::Imports, "IMPORTS_QUEUE_URL"),
            (QueueName::FullPass, "FULL_PASS_QUEUE_URL"),
            (QueueName::Facts, "FACTS_QUEUE_URL"),
            (QueueName::Finalize, "FINALIZE_QUEUE_URL"),
        ] {
            if let Some(url) = var(name) {
                queue_urls.insert(queue, url);
            }
        }
        let price = |name: &str| -> Result<f64> {
            var(name).map_or(Ok(0.0), |v| {
                v.parse()
                    .with_context(|| format!("{name} is {v:?}, not a price in dollars"))
            })
        };
        Ok(Settings {
            table: required("TABLE_NAME")?,
            bucket: required("BUCKET_NAME")?,
            queue_urls,
            state_machine_arn: var("STATE_MACHINE_ARN"),
            model_id: required("MODEL_ID")?,
            fallback_model_id: var("FALLBACK_MODEL_ID"),
            price_in: price("MODEL_PRICE_IN")?,
            price_out: price("MODEL_PRICE_OUT")?,
            endpoint: var("SOULPRINT_AWS_ENDPOINT"),
            jwt_issuer: var("JWT_ISSUER"),
            jwt_audience: var("JWT_AUDIENCE"),
            jwks_url: var("JWKS_URL"),
        })
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &self.endpoint {
            // A local server (moto) takes any credentials and any region; a machine without
            // AWS settings still gets some.
            loader = loader.endpoint_url(endpoint);
            if var("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "local-endpoint",
                ));
            }
            if var("AWS_REGION").is_none() && var("AWS_DEFAULT_REGION").is_none() {
                loader = loader.region(aws_config::Region::new("us-east-1"));
            }
        }
        loader.load().await
    }

    fn model(&self, sdk: &aws_config::SdkConfig, model_id: &str) -> Arc<dyn Llm> {
        let client = aws_sdk_bedrockruntime::Client::from_conf(
            aws_sdk_bedrockruntime::config::Builder::from(sdk)
                .retry_config(soulprint_aws::bedrock::retry_config())
                .build(),
        );
        let mut config = BedrockConfig::new(model_id);
        config.price_in = self.price_in;
        config.price_out = self.price_out;
        Arc::new(BedrockModel::new(client, config))
    }

    /// The ports on AWS. `front_door`: imports and retried full passes start an execution of
    /// the state machine (the API functions); without it jobs go straight to SQS (workers).
    pub async fn ports(&self, front_door: bool) -> Result<Ports> {
        self.ports_with(&self.sdk_config().await, front_door)
    }

    /// The API functions' state: the ports with the front door, rate windows in the table,
    /// uploads straight to S3.
    pub async fn api(&self) -> Result<Arc<soulprint_http::Api>> {
        let sdk = self.sdk_config().await;
        Ok(crate::api::state(
            self.ports_with(&sdk, true)?,
            self.rate_windows(&sdk),
            Arc::new(self.s3_blobs(&sdk)),
        ))
    }

    /// Blobs in the bucket, scratch files in `/tmp`.
    pub fn s3_blobs(&self, sdk: &aws_config::SdkConfig) -> S3Blobs {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(self.endpoint.is_some())
                .build(),
        );
        S3Blobs::new(s3, self.bucket.clone(), std::env::temp_dir())
    }

    /// Rate-limit windows in the table, shared by every instance of every API function.
    pub fn rate_windows(&self, sdk: &aws_config::SdkConfig) -> Arc<dyn RateWindows> {
        Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            self.table.clone(),
        ))
    }

    fn ports_with(&self, sdk: &aws_config::SdkConfig, front_door: bool) -> Result<Ports> {
        let sqs = SqsQueue::new(aws_sdk_sqs::Client::new(sdk), self.queue_urls.clone());
        let sfn = aws_sdk_sfn::Client::new(sdk);
        let queue: Arc<dyn Queue> = match (&self.state_machine_arn, front_door) {
            (Some(arn), true) => Arc::new(ExecutionFrontDoor::new(sfn.clone(), arn, sqs)),
            (None, true) => anyhow::bail!("STATE_MACHINE_ARN is not set (template.yaml sets it)"),
            (_, false) => Arc::new(sqs),
        };
        Ok(Ports {
            blobs: Arc::new(self.s3_blobs(sdk)),
            queue,
            store: Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                self.table.clone(),
            )),
            llm: self.model(sdk, &self.model_id),
            fallback_llm: self
                .fallback_model_id
                .as_deref()
                .map(|id| self.model(sdk, id)),
            web: None,
            supervisor: Arc::new(StepFunctionsSupervisor::new(sfn)),
            clock: Arc::new(SystemClock),
        })
    }
}
