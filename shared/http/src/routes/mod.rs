//! One module per resource of the route table.

pub mod chat;
pub mod health;
pub mod imports;
pub mod me;
pub mod memory;
pub mod profile;
pub mod uploads;
