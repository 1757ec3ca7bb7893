//! The table, as template.yaml declares it.

use aws_sdk_dynamodb::Client;
use soulprint_core::ports::StoreError;

use super::unavailable;

/// Creates the table as template.yaml declares it (`pk`, `sk`, on demand), for the tests and
/// local runs against an AWS-protocol server; on AWS the stack makes it.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in [("pk", KeyType::Hash), ("sk", KeyType::Range)] {
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("name and type are set"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attribute)
                    .key_type(kind)
                    .build()
                    .expect("name and kind are set"),
            );
    }
    create.send().await.map_err(unavailable)?;
    Ok(())
}
