//! The memory function: memory in the person's hands, export, forget, rename, behind API
//! Gateway's JWT authorizer.

use soulprint_lambda::lambda_http::{run, Error};
use soulprint_lambda::soulprint_http::RouteGroup;
use soulprint_lambda::{api, init_logging, settings::Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let api = Settings::from_env()?.api().await?;
    run(api::app(api, RouteGroup::Memory)).await
}
