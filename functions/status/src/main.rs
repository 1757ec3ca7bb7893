//! An API function: the routes of `soulprint serve` behind API Gateway's JWT authorizer
//! (template.yaml routes this function's paths to it and gives it only their permissions).

use soulprint_lambda::lambda_http::{run, Error};
use soulprint_lambda::{api, init_logging, settings::Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let ports = Settings::from_env()?.ports(true).await?;
    run(api::app(api::state(ports))).await
}
