//! What every [`Blobs`] must do.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use soulprint_core::ports::{BlobError, BlobKey, Blobs, UserId};

fn user(name: &str) -> UserId {
    UserId::new(format!("{name}-{}", std::process::id())).unwrap()
}

/// A blob reads back as written, a second put replaces it, and a listing gives the keys under a
/// prefix in order.
pub async fn blobs_round_trip(blobs: Arc<dyn Blobs>) {
    let u = user("b");
    let k = BlobKey::new(&u, "imports/i1/batch-000001.json").unwrap();
    blobs.put(&k, b"[1,2]".to_vec()).await.unwrap();
    assert!(blobs.exists(&k).await.unwrap());
    assert_eq!(blobs.get(&k).await.unwrap(), b"[1,2]");
    blobs.put(&k, b"[3]".to_vec()).await.unwrap();
    assert_eq!(blobs.get(&k).await.unwrap(), b"[3]", "replaced");
    let k2 = BlobKey::new(&u, "imports/i1/batch-000002.json").unwrap();
    blobs.put(&k2, b"[]".to_vec()).await.unwrap();
    assert_eq!(
        blobs.list(&u, "imports/i1/").await.unwrap(),
        [
            "imports/i1/batch-000001.json",
            "imports/i1/batch-000002.json"
        ]
    );
}

/// A scratch file put as a blob (3 MB) is stored whole, and opens seekable with the same bytes.
pub async fn files_round_trip(blobs: Arc<dyn Blobs>) {
    let u = user("f");
    let mut scratch = blobs.scratch().await.unwrap();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    scratch.write_all(&body).unwrap();
    let k = BlobKey::new(&u, "imports/i1/export").unwrap();
    assert_eq!(
        blobs.put_file(&k, scratch).await.unwrap(),
        body.len() as u64
    );
    let mut opened = blobs.open(&k).await.unwrap();
    assert_eq!(opened.seek(SeekFrom::End(0)).unwrap(), body.len() as u64);
    opened.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    opened.read_to_end(&mut back).unwrap();
    assert!(back == body);
}

/// A key never written does not exist: `get` and `open` say `NotFound`, and a listing is empty.
pub async fn missing_blobs_are_not_found(blobs: Arc<dyn Blobs>) {
    let u = user("m");
    let k = BlobKey::new(&u, "nothing/here").unwrap();
    assert!(!blobs.exists(&k).await.unwrap());
    assert!(matches!(blobs.get(&k).await, Err(BlobError::NotFound(_))));
    assert!(matches!(blobs.open(&k).await, Err(BlobError::NotFound(_))));
    assert!(blobs.list(&u, "").await.unwrap().is_empty());
}

/// The same key under two users is two blobs, and deleting one user leaves the other's.
pub async fn users_are_apart(blobs: Arc<dyn Blobs>) {
    let (a, b) = (user("ua"), user("ub"));
    let ka = BlobKey::new(&a, "x/one").unwrap();
    let kb = BlobKey::new(&b, "x/one").unwrap();
    blobs.put(&ka, b"alice".to_vec()).await.unwrap();
    blobs.put(&kb, b"bob".to_vec()).await.unwrap();
    assert_eq!(blobs.get(&ka).await.unwrap(), b"alice");
    assert_eq!(blobs.list(&b, "").await.unwrap(), ["x/one"]);
    blobs.delete_user(&b).await.unwrap();
    assert!(!blobs.exists(&kb).await.unwrap());
    assert_eq!(blobs.get(&ka).await.unwrap(), b"alice");
    blobs.delete_user(&a).await.unwrap();
}
