//! The chat function: a chat turn with its whole reply, and the threads, behind API
//! Gateway's JWT authorizer; the relevance index stays cached between invocations.

use soulprint_lambda::lambda_http::{run, Error};
use soulprint_lambda::soulprint_http::RouteGroup;
use soulprint_lambda::{api, init_logging, settings::Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let api = Settings::from_env()?.api().await?;
    run(api::app(api, RouteGroup::Chat)).await
}
