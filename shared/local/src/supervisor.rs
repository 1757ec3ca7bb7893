//! On one machine nobody holds task tokens: the stages enforce their own limits, and the
//! state in the database is what the person and the operator see.

use async_trait::async_trait;
use soulprint_core::ports::{Supervisor, SupervisorError};

pub struct LocalSupervisor;

#[async_trait]
impl Supervisor for LocalSupervisor {
    async fn heartbeat(&self, _token: &str) -> Result<(), SupervisorError> {
        Ok(())
    }

    async fn succeed(
        &self,
        _token: &str,
        _output: &serde_json::Value,
    ) -> Result<(), SupervisorError> {
        Ok(())
    }

    async fn fail(&self, _token: &str, _error: &str, _cause: &str) -> Result<(), SupervisorError> {
        Ok(())
    }
}
