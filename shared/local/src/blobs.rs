//! Blobs as files under a directory: `{root}/users/{user}/{path}`. Writes go to a temporary
//! file first and are renamed into place, so a blob is whole or absent. Directories are made
//! 0700 and files 0600: what is in them is a person's own words.

use std::fs;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use soulprint_core::ports::{BlobError, BlobKey, Blobs, Scratch, UserId};

#[derive(Clone)]
pub struct DirBlobs {
    root: PathBuf,
    tmp: PathBuf,
}

/// Makes `dir` and its missing parents, readable by their owner only.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

impl DirBlobs {
    pub fn new(root: impl Into<PathBuf>, tmp: impl Into<PathBuf>) -> io::Result<Self> {
        let (root, tmp) = (root.into(), tmp.into());
        private_dir(&root)?;
        private_dir(&tmp)?;
        Ok(DirBlobs { root, tmp })
    }

    /// Deletes every upload none of whose files changed for `older_than` (an upload whose
    /// import started is deleted then); returns how many. Blocking: call it off the async
    /// threads.
    pub fn sweep_uploads(&self, older_than: std::time::Duration) -> io::Result<usize> {
        let cutoff = std::time::SystemTime::now() - older_than;
        let mut swept = 0;
        let users = match fs::read_dir(self.root.join("users")) {
            Ok(users) => users,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        for user in users {
            let uploads = match fs::read_dir(user?.path().join("uploads")) {
                Ok(uploads) => uploads,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for upload in uploads {
                let dir = upload?.path();
                let mut newest = fs::metadata(&dir)?.modified()?;
                for file in fs::read_dir(&dir)? {
                    newest = newest.max(file?.metadata()?.modified()?);
                }
                if newest < cutoff {
                    fs::remove_dir_all(&dir)?;
                    swept += 1;
                }
            }
        }
        Ok(swept)
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.to_string())
    }

    fn user_dir(&self, user: &UserId) -> PathBuf {
        self.root.join(BlobKey::user_prefix(user))
    }

    /// Writes through a temporary file in the same directory, then renames it into place.
    fn write_atomically(
        &self,
        key: &BlobKey,
        fill: impl FnOnce(&mut fs::File) -> io::Result<u64>,
    ) -> Result<u64, BlobError> {
        let path = self.path(key);
        let dir = path.parent().expect("a key has a parent");
        private_dir(dir).map_err(unavailable)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(unavailable)?;
        let n = fill(tmp.as_file_mut()).map_err(unavailable)?;
        tmp.as_file().sync_data().map_err(unavailable)?;
        tmp.persist(&path).map_err(|e| unavailable(e.error))?;
        // The rename itself must survive a power cut too.
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(unavailable)?;
        Ok(n)
    }
}

fn unavailable(e: io::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

fn not_found_or(key: &BlobKey, e: io::Error) -> BlobError {
    if e.kind() == io::ErrorKind::NotFound {
        BlobError::NotFound(key.to_string())
    } else {
        unavailable(e)
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn scratch(&self) -> Result<Scratch, BlobError> {
        Ok(Box::new(
            tempfile::tempfile_in(&self.tmp).map_err(unavailable)?,
        ))
    }

    async fn put_file(&self, key: &BlobKey, mut file: Scratch) -> Result<u64, BlobError> {
        // Local disk: blocking here is brief next to the work that filled the file.
        self.write_atomically(key, |out| {
            file.seek(SeekFrom::Start(0))?;
            io::copy(&mut file, out)
        })
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.write_atomically(key, |out| {
            io::Write::write_all(out, &bytes)?;
            Ok(bytes.len() as u64)
        })?;
        Ok(())
    }

    async fn open(&self, key: &BlobKey) -> Result<Scratch, BlobError> {
        let file = fs::File::open(self.path(key)).map_err(|e| not_found_or(key, e))?;
        Ok(Box::new(file))
    }

    async fn get(&self, key: &BlobKey) -> Result<Vec<u8>, BlobError> {
        fs::read(self.path(key)).map_err(|e| not_found_or(key, e))
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        Ok(self.path(key).is_file())
    }

    async fn list(&self, user: &UserId, prefix: &str) -> Result<Vec<String>, BlobError> {
        let base = self.user_dir(user);
        let mut found = Vec::new();
        walk(&base, &base, &mut found).map_err(unavailable)?;
        found.retain(|p| p.starts_with(prefix));
        found.sort();
        Ok(found)
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete_prefix(&self, user: &UserId, prefix: &str) -> Result<(), BlobError> {
        // A whole folder (the user's own, an import's) goes at once, folders and all.
        if prefix.is_empty() || prefix.ends_with('/') {
            let dir = self.user_dir(user).join(prefix);
            if !prefix.is_empty() && BlobKey::new(user, prefix.trim_end_matches('/')).is_err() {
                return Err(BlobError::BadKey(prefix.to_owned()));
            }
            return match fs::remove_dir_all(dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(unavailable(e)),
            };
        }
        for path in self.list(user, prefix).await? {
            self.delete(&BlobKey::new(user, path)?).await?;
        }
        Ok(())
    }
}

/// Files under `dir`, as `/`-separated paths relative to `base` (temporary files skipped).
fn walk(base: &Path, dir: &Path, found: &mut Vec<String>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(base, &path, found)?;
        } else if !entry.file_name().to_string_lossy().starts_with(".tmp") {
            let rel = path.strip_prefix(base).expect("under base");
            found.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_upload_untouched_for_a_day_is_swept_and_a_fresh_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DirBlobs::new(dir.path().join("blobs"), dir.path().join("tmp")).unwrap();
        let user = UserId::new("ana").unwrap();
        for id in ["old", "new"] {
            let key = BlobKey::new(&user, format!("uploads/{id}/part-00001")).unwrap();
            blobs.put(&key, vec![1, 2, 3]).await.unwrap();
        }
        let old = dir.path().join("blobs/users/ana/uploads/old");
        let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(25 * 3600);
        for path in [old.join("part-00001"), old.clone()] {
            fs::File::options()
                .write(true)
                .open(&path)
                .or_else(|_| fs::File::open(&path))
                .unwrap()
                .set_modified(day_ago)
                .unwrap();
        }
        let swept = blobs
            .sweep_uploads(std::time::Duration::from_secs(24 * 3600))
            .unwrap();
        assert_eq!(swept, 1);
        assert!(!old.exists());
        let left = blobs.list(&user, "uploads/").await.unwrap();
        assert_eq!(left, ["uploads/new/part-00001"]);
    }
}
