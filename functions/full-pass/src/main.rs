//! An SQS worker: each job of the batch handled on its own, failures reported one by one.

use soulprint_lambda::aws_lambda_events::event::sqs::SqsEvent;
use soulprint_lambda::lambda_runtime::{run, service_fn, Error, LambdaEvent};
use soulprint_lambda::{init_logging, settings::Settings, sqs_worker};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let ports = Settings::from_env()?.ports(false).await?;
    let ports = &ports;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(sqs_worker::handle_batch(ports, event.payload).await)
    }))
    .await
}
