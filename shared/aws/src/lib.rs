//! SoulPrint on AWS: adapters behind the domain's ports, one module per service. Each passes the
//! same contract tests as its local twin (`tests/contract.rs`, against moto's server on
//! 127.0.0.1 in CI).

pub mod bedrock;
pub mod dynamodb;
mod error_text;
pub mod s3;
pub mod sqs;
pub mod step_functions;

pub use bedrock::{Bedrock, BedrockConfig};
pub use dynamodb::DynamoStore;
pub use s3::S3Blobs;
pub use sqs::SqsQueue;
pub use step_functions::{ExecutionFrontDoor, StepFunctionsSupervisor};
