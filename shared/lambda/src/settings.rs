//! What a function reads from its environment (set by template.yaml), and the ports built
//! from it once per cold start.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use soulprint_aws::{
    Bedrock, BedrockConfig, DynamoStore, ExecutionFrontDoor, S3Blobs, SqsQueue,
    StepFunctionsSupervisor,
};
use soulprint_core::model::Model;
use soulprint_core::ports::{Llm, Ports, Queue, QueueName, RateWindows, SystemClock, TokenQuota};

/// The environment of every function; what a function does not use may be absent.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub table: String,
    pub bucket: String,
    pub queue_urls: HashMap<QueueName, String>,
    /// The import state machine; the API functions start executions through it.
    pub state_machine_arn: Option<String>,
    /// The quick pass, MEMORY and chat.
    pub model: ModelSetting,
    /// Fact extraction; the same as `model` when unset.
    pub fact_model: Option<ModelSetting>,
    pub fallback_model: Option<ModelSetting>,
    /// Another endpoint for every AWS service (moto in the tests, `cargo lambda watch`
    /// against a local server); unset on AWS.
    pub endpoint: Option<String>,
    /// For the chat-stream function: the identity provider and the audience its tokens name.
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub jwks_url: Option<String>,
    /// Each person's import budget: imports a day, and model spend a month in dollars.
    pub imports_per_day: Option<u32>,
    pub spend_per_month: Option<f64>,
    /// The fact model's tokens a minute (its Bedrock quota), shared by every fact worker.
    pub fact_tokens_per_minute: Option<u64>,
}

/// A Bedrock model and its list price.
#[derive(Debug, Clone, Default)]
pub struct ModelSetting {
    pub id: String,
    /// The template parameter that sets it, named in errors.
    pub parameter: &'static str,
    /// US dollars per million tokens, in and out.
    pub price_in: f64,
    pub price_out: f64,
}

impl ModelSetting {
    /// `{PREFIX}_ID`, `{PREFIX}_PRICE_IN`, `{PREFIX}_PRICE_OUT`; `None` when the id is unset.
    fn from_env(prefix: &str, parameter: &'static str) -> Result<Option<Self>> {
        let Some(id) = var(&format!("{prefix}_ID")) else {
            return Ok(None);
        };
        let price = |name: String| -> Result<f64> {
            var(&name).map_or(Ok(0.0), |v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .with_context(|| format!("{name} is {v:?}, not a price in dollars"))
            })
        };
        Ok(Some(ModelSetting {
            id,
            parameter,
            price_in: price(format!("{prefix}_PRICE_IN"))?,
            price_out: price(format!("{prefix}_PRICE_OUT"))?,
        }))
    }
}

/// A number from the environment, if set; what is not one is an error naming it.
fn number<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    var(name)
        .map(|v| {
            v.parse()
                .ok()
                .with_context(|| format!("{name} is {v:?}, not a number"))
        })
        .transpose()
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
        Ok(Settings {
            table: required("TABLE_NAME")?,
            bucket: required("BUCKET_NAME")?,
            queue_urls,
            state_machine_arn: var("STATE_MACHINE_ARN"),
            model: ModelSetting::from_env("MODEL", "ModelId")?
                .context("MODEL_ID is not set (template.yaml sets it)")?,
            fact_model: ModelSetting::from_env("FACT_MODEL", "FactModelId")?,
            fallback_model: ModelSetting::from_env("FALLBACK_MODEL", "FallbackModelId")?,
            endpoint: var("SOULPRINT_AWS_ENDPOINT"),
            jwt_issuer: var("JWT_ISSUER"),
            jwt_audience: var("JWT_AUDIENCE"),
            jwks_url: var("JWKS_URL"),
            imports_per_day: number("IMPORTS_PER_DAY")?,
            spend_per_month: number("MODEL_SPEND_PER_MONTH")?,
            fact_tokens_per_minute: number("FACT_MODEL_TOKENS_PER_MINUTE")?,
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

    fn model(client: &aws_sdk_bedrockruntime::Client, setting: &ModelSetting) -> Arc<dyn Llm> {
        let mut config = BedrockConfig::new(&setting.id);
        config.parameter = setting.parameter.to_owned();
        config.price_in = setting.price_in;
        config.price_out = setting.price_out;
        Arc::new(Model::new(Arc::new(Bedrock::new(client.clone(), config))))
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
        let windows = self.rate_windows(&sdk);
        let mut api = crate::api::state(
            self.ports_with(&sdk, true)?,
            Arc::clone(&windows),
            Arc::new(self.s3_blobs(&sdk)),
        );
        if let (Some(per_day), Some(spend)) = (self.imports_per_day, self.spend_per_month) {
            if let Some(api) = Arc::get_mut(&mut api) {
                api.import_budget = Some(soulprint_http::import_budget::ImportBudget {
                    windows,
                    per_day,
                    spend_per_month_usd: spend,
                });
            }
        }
        Ok(api)
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

    /// The ports on AWS, over this SDK configuration (one with a recording HTTP client, in
    /// the IAM test).
    pub fn ports_with(&self, sdk: &aws_config::SdkConfig, front_door: bool) -> Result<Ports> {
        let sqs = SqsQueue::new(aws_sdk_sqs::Client::new(sdk), self.queue_urls.clone());
        let sfn = aws_sdk_sfn::Client::new(sdk);
        let queue: Arc<dyn Queue> = match (&self.state_machine_arn, front_door) {
            (Some(arn), true) => Arc::new(ExecutionFrontDoor::new(sfn.clone(), arn, sqs)),
            (None, true) => anyhow::bail!("STATE_MACHINE_ARN is not set (template.yaml sets it)"),
            (_, false) => Arc::new(sqs),
        };
        let bedrock = aws_sdk_bedrockruntime::Client::from_conf(
            aws_sdk_bedrockruntime::config::Builder::from(sdk)
                .retry_config(soulprint_aws::bedrock::retry_config())
                .build(),
        );
        let llm = Self::model(&bedrock, &self.model);
        Ok(Ports {
            blobs: Arc::new(self.s3_blobs(sdk)),
            queue,
            store: Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                self.table.clone(),
            )),
            fact_llm: self
                .fact_model
                .as_ref()
                .map_or_else(|| Arc::clone(&llm), |m| Self::model(&bedrock, m)),
            llm,
            fallback_llm: self
                .fallback_model
                .as_ref()
                .map(|m| Self::model(&bedrock, m)),
            web: None,
            supervisor: Arc::new(StepFunctionsSupervisor::new(sfn)),
            clock: Arc::new(SystemClock),
            fact_quota: self
                .fact_tokens_per_minute
                .map(|tokens_per_minute| TokenQuota {
                    windows: self.rate_windows(sdk),
                    tokens_per_minute,
                }),
        })
    }
}
