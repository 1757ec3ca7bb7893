//! Items as the store writes them: text and number attributes, and records as JSON in `body`.

use serde::de::DeserializeOwned;
use soulprint_core::ports::StoreError;

use super::{AttributeValue, Item};

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn body<T: serde::Serialize>(value: &T) -> AttributeValue {
    AttributeValue::S(serde_json::to_string(value).expect("records serialise"))
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("an item has no text attribute {name:?}")))
}

pub(super) fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("an item has no count attribute {name:?}")))
}

pub(super) fn decode<T: DeserializeOwned>(what: &str, item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(get_s(item, "body")?)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}
