//! Chat streaming behind a Function URL (`RESPONSE_STREAM`): the JWT is checked here against
//! the identity provider's keys, as a Function URL has no authorizer.

use std::sync::Arc;

use soulprint_lambda::lambda_http::{run_with_streaming_response, Error};
use soulprint_lambda::{init_logging, settings::Settings, stream};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let settings = Settings::from_env()?;
    let keys = Arc::new(stream::IssuerKeys::from_settings(&settings).await?);
    run_with_streaming_response(stream::app(settings.api().await?, keys)).await
}
