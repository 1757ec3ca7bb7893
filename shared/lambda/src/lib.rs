//! The Lambda side of SoulPrint: what each function in `functions/` runs. A function's
//! `main.rs` is a few lines: logging, [`settings::Settings::from_env`], the ports built once,
//! then `run` with one of these handlers.
//!
//! - [`api`]: the routes of `soulprint serve`, the user taken from API Gateway's JWT
//!   authorizer (`sub`); no claims, 401.
//! - [`stream`]: the chat stream behind a Function URL, which checks the JWT itself.
//! - [`sqs_worker`]: a batch of jobs from SQS, failures reported one by one.

pub use aws_lambda_events;
pub use lambda_http;
pub use lambda_runtime;
pub use soulprint_core;
pub use soulprint_http;

pub mod api;
pub mod settings;
pub mod sqs_worker;
pub mod stream;

/// JSON logs for CloudWatch, filtered by `RUST_LOG` (default `info`). Every line of a stage
/// carries its user and import id (the stages' spans).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .init();
}
