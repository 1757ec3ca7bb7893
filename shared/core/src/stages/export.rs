//! The person's export: everything SoulPrint holds of them as one JSON document, stored as a
//! blob. The conversations are copied in from the import's `conversations.jsonl` a line at a
//! time through scratch space, so an export of gigabytes costs disk, not memory, and on AWS
//! it leaves through a signed link, not through a function's 6 MB response.

use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};

use serde_json::{Map, Value};

use super::{import_blob, StageError, CONVERSATIONS_BLOB};
use crate::ports::{BlobError, BlobKey, Ports, Scratch, UserId};

/// Where a person's exports are kept: one at a time (a new one replaces the last), and gone
/// with everything else when the person is forgotten.
pub const EXPORTS_DIR: &str = "exports/";

/// Writes `summary` (a JSON object: the profile, facts, chats, …) with the current import's
/// conversations as its `conversations` list, and stores it under [`EXPORTS_DIR`]. Returns
/// its key and size.
pub async fn write_export(
    ports: &Ports,
    user: &UserId,
    summary: Map<String, Value>,
) -> Result<(BlobKey, u64), StageError> {
    let source = match ports.store.import_state(user).await? {
        Some(state) => {
            let key = import_blob(user, &state.value.import_id, CONVERSATIONS_BLOB)?;
            match ports.blobs.open(&key).await {
                Ok(file) => Some(file),
                // An import that failed before reading its export has none.
                Err(BlobError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    let out = ports.blobs.scratch().await?;
    let out = tokio::task::spawn_blocking(move || assemble(summary, source, out))
        .await
        .map_err(|e| StageError::Join(e.to_string()))??;
    ports.blobs.delete_prefix(user, EXPORTS_DIR).await?;
    let name = format!(
        "{EXPORTS_DIR}soulprint-export-{}.json",
        ports.clock.now().unix_timestamp()
    );
    let key = BlobKey::new(user, name)?;
    let bytes = ports.blobs.put_file(&key, out).await?;
    Ok((key, bytes))
}

/// `{…summary, "conversations": [line, line, …]}`.
fn assemble(
    summary: Map<String, Value>,
    source: Option<Scratch>,
    mut out: Scratch,
) -> Result<Scratch, StageError> {
    let corrupt = |e: serde_json::Error| StageError::Corrupt(format!("the export's summary: {e}"));
    let head = serde_json::to_vec(&Value::Object(summary)).map_err(corrupt)?;
    // The summary's object, open: its closing brace comes after the conversations.
    out.write_all(&head[..head.len() - 1])?;
    out.write_all(if head.len() > 2 {
        b",\"conversations\":["
    } else {
        b"\"conversations\":["
    })?;
    if let Some(source) = source {
        let mut first = true;
        let mut line = Vec::new();
        let mut reader = BufReader::with_capacity(1 << 20, source);
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            if !first {
                out.write_all(b",")?;
            }
            out.write_all(trimmed)?;
            first = false;
        }
    }
    out.write_all(b"]}")?;
    out.flush()?;
    out.seek(SeekFrom::Start(0))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;

    fn assembled(summary: Value, lines: Option<&str>) -> Value {
        let Value::Object(summary) = summary else {
            panic!("an object")
        };
        let source: Option<Scratch> =
            lines.map(|l| Box::new(Cursor::new(l.as_bytes().to_vec())) as Scratch);
        let mut out = assemble(summary, source, Box::new(Cursor::new(Vec::new()))).unwrap();
        let mut text = String::new();
        out.read_to_string(&mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn the_conversations_follow_the_summary_as_a_list() {
        let v = assembled(
            serde_json::json!({"user": "ana", "facts": []}),
            Some("{\"id\":\"c1\"}\n\n{\"id\":\"c2\"}\n"),
        );
        assert_eq!(v["user"], "ana");
        assert_eq!(v["conversations"][1]["id"], "c2");
        assert_eq!(v["conversations"].as_array().unwrap().len(), 2);
        let none = assembled(serde_json::json!({}), None);
        assert_eq!(none, serde_json::json!({"conversations": []}));
    }
}
