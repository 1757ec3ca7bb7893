//! One module per resource of the route table.

pub mod chat;
pub mod health;
pub mod imports;
pub mod me;
pub mod memory;
pub mod profile;
pub mod uploads;

/// Ids the API hands out (uploads, threads): 32 hex digits, safe in a blob key.
fn is_hex_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
