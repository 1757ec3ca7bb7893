//! The trigger function: uploads straight to S3 (presigned multipart URLs) and starting
//! imports, each an execution of the state machine. API Gateway's JWT authorizer has checked
//! the token.

use soulprint_lambda::lambda_http::{run, Error};
use soulprint_lambda::soulprint_http::RouteGroup;
use soulprint_lambda::{api, init_logging, settings::Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let api = Settings::from_env()?.api().await?;
    run(api::app(api, RouteGroup::Trigger)).await
}
