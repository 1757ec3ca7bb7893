//! An API function: the routes of `soulprint serve` behind API Gateway's JWT authorizer
//! (template.yaml routes this function's paths to it and gives it only their permissions).

use soulprint_lambda::lambda_http::{run, Error};
use soulprint_lambda::{api, init_logging, settings::Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let api = Settings::from_env()?.api().await?;
    run(api::app(api)).await
}
