//! The full-pass worker: chunks the conversations and fans one job per batch out to the
//! fact workers, for jobs of the full-pass queue. Each job of a batch is handled on its own and failures are
//! reported one by one; a job meant for another queue is refused.

use soulprint_lambda::aws_lambda_events::event::sqs::SqsEvent;
use soulprint_lambda::lambda_runtime::{run, service_fn, Error, LambdaEvent};
use soulprint_lambda::soulprint_core::ports::QueueName;
use soulprint_lambda::{init_logging, settings::Settings, sqs_worker};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let ports = Settings::from_env()?.ports(false).await?;
    let ports = &ports;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(sqs_worker::handle_batch(ports, QueueName::FullPass, event).await)
    }))
    .await
}
