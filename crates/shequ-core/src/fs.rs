//! The one way the app writes a file a person will carry away (bundles, data exports): durably
//! or not at all. This is the core's only I/O, kept here so every crate that writes files
//! (`shequ-app`, `shequ-export`) shares it without depending on each other.
//!
//! [`AtomicFile`] writes to a temporary file in the destination folder, and `commit` syncs it,
//! renames it over the target and syncs the folder. Until `commit` returns `Ok`, the target is
//! untouched (the old file, or none) and the caller must not record the write anywhere: a
//! pulled USB stick or a missing folder is an error naming the path
//! ([`ErrorCode::FileUnwritable`]), never a half file under the final name. A temporary file
//! that was not committed is removed when the `AtomicFile` is dropped.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, ErrorCode, Result};

/// The error for a file that could not be written: the path, a translated reason
/// (`io_problem`, a key under `io_problems.`) and the system's own words (`detail`).
pub fn unwritable(path: &Path, e: &io::Error) -> Error {
    Error::new(ErrorCode::FileUnwritable)
        .with("path", path.display())
        .with("io_problem", io_problem(e))
        .with("detail", e)
}

/// A catalogue key for what went wrong, so the worker reads a reason in their language.
pub fn io_problem(e: &io::Error) -> &'static str {
    #[cfg(unix)]
    match e.raw_os_error() {
        Some(30) => return "read_only",                // EROFS
        Some(28) | Some(122) => return "storage_full", // ENOSPC, EDQUOT (Linux)
        Some(21) => return "is_directory",             // EISDIR
        Some(20) => return "not_found",                // ENOTDIR: a path component is a file
        Some(5) => return "device_gone",               // EIO: the stick was pulled mid-write
        _ => {}
    }
    #[cfg(windows)]
    match e.raw_os_error() {
        Some(19) => return "read_only",                // ERROR_WRITE_PROTECT
        Some(39) | Some(112) => return "storage_full", // ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL
        Some(21) | Some(1167) => return "device_gone", // ERROR_NOT_READY, ERROR_DEVICE_NOT_CONNECTED
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::NotFound => "not_found",
        io::ErrorKind::PermissionDenied => "permission_denied",
        _ => "other",
    }
}

/// A file being written in place of `target`; see the module docs.
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    target: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl AtomicFile {
    /// Creates the temporary file beside `target` (`.NAME.PID-N.partial`). The folder must
    /// exist: a missing folder (an unmounted stick) is an error, never created here.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let fail = |e: io::Error| unwritable(target, &e);
        let dir = parent(target);
        let name = target
            .file_name()
            .ok_or_else(|| fail(io::Error::from(io::ErrorKind::InvalidInput)))?
            .to_string_lossy();
        if target.is_dir() {
            return Err(fail(io::Error::other("is a directory")).with("io_problem", "is_directory"));
        }
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let tmp = dir.join(format!(".{name}.{}-{n}.partial", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        file: Some(file),
                        tmp,
                        target: target.to_path_buf(),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(fail(e)),
            }
        }
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The error for this file, for callers mapping their own write errors.
    pub fn error(&self, e: &io::Error) -> Error {
        unwritable(&self.target, e)
    }

    /// Syncs the data, renames it over the target and syncs the folder. Only after `Ok` is
    /// the file there, complete, and safe to record.
    pub fn commit(self) -> Result<()> {
        self.commit_with(|_| {})
    }

    /// `commit`, with a hook between the synced temporary file and the rename: tests use it
    /// to pull the folder away at the worst moment.
    #[doc(hidden)]
    pub fn commit_with(mut self, before_rename: impl FnOnce(&Path)) -> Result<()> {
        let fail = |e: io::Error| unwritable(&self.target, &e);
        let file = self.file.take().expect("an AtomicFile is committed once");
        file.sync_all().map_err(fail)?;
        drop(file);
        before_rename(&self.tmp);
        std::fs::rename(&self.tmp, &self.target).map_err(fail)?;
        sync_dir(parent(&self.target)).map_err(fail)?;
        // Committed: nothing left to clean up.
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `target` durably (see [`AtomicFile`]).
/// The largest file the app reads whole, by kind: what a person hands it is checked before
/// it is read, so a huge or endless file is refused instead of filling the memory.
pub const MAX_BUNDLE_BYTES: u64 = 1 << 30;
pub const MAX_WORKBOOK_BYTES: u64 = 50 << 20;
pub const MAX_CSV_BYTES: u64 = 50 << 20;

/// Reads a file a person chose, refusing it (`FileTooLarge`, naming it and both sizes) when it
/// holds more than `max` bytes; never reads more than `max + 1`.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = path.display().to_string();
    let unreadable = |e: io::Error| {
        Error::new(ErrorCode::FileUnreadable)
            .with("file", &file)
            .with("detail", e)
    };
    let too_large = |size: u64| {
        Error::new(ErrorCode::FileTooLarge)
            .with("file", &file)
            .with("size_mb", size.div_ceil(1 << 20))
            .with("max_mb", max >> 20)
    };
    let f = File::open(path).map_err(unreadable)?;
    let len = f.metadata().map_err(unreadable)?.len();
    if len > max {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.write_all(bytes).map_err(|e| f.error(&e))?;
    f.commit()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Removes a file; one that is not there is already removed.
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Makes a rename in `dir` durable (the folder's entry list reaches the disk).
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows has no folder handle to sync; the rename (MoveFileEx) is journaled by NTFS.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod capped_tests {
    use super::*;

    #[test]
    fn a_file_over_the_cap_is_refused_by_name_and_one_under_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.shequ");
        std::fs::write(&p, vec![7u8; (3 << 20) + 1]).unwrap();
        let e = read_capped(&p, 3 << 20).unwrap_err();
        assert_eq!(e.code, ErrorCode::FileTooLarge);
        assert_eq!(
            (e.params["size_mb"].as_str(), e.params["max_mb"].as_str()),
            ("4", "3")
        );
        assert!(e.message(crate::Lang::ZhCn).contains("big.shequ"));
        assert_eq!(read_capped(&p, 4 << 20).unwrap().len(), (3 << 20) + 1);
        let missing = read_capped(&dir.path().join("nope"), 10).unwrap_err();
        assert_eq!(missing.code, ErrorCode::FileUnreadable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;

    /// A fresh folder under the system temp folder, removed on drop (no dev-dependency).
    struct TempDir(PathBuf);
    impl TempDir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn tempdir() -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("shequ-fs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect()
    }

    #[test]
    fn a_write_replaces_the_target_whole() {
        let dir = tempdir();
        let p = dir.path().join("a.shequ");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new content").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new content");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_path_and_nothing_is_created() {
        let dir = tempdir();
        let p = dir.path().join("stick/a.shequ");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert_eq!(e.code, ErrorCode::FileUnwritable);
        assert_eq!(e.params["io_problem"], "not_found");
        assert_eq!(e.params["path"], p.display().to_string());
        let zh = e.message(Lang::ZhCn);
        assert!(
            zh.contains("无法写入") && zh.contains(&p.display().to_string()),
            "{zh}"
        );
        assert!(zh.contains("文件夹不存在"), "{zh}");
        let en = e.message(Lang::En);
        assert!(
            en.contains("Cannot write") && en.contains("does not exist"),
            "{en}"
        );
        assert!(!dir.path().join("stick").exists());
    }

    #[test]
    fn a_folder_in_the_way_of_the_target_is_refused_and_kept() {
        let dir = tempdir();
        let p = dir.path().join("a.shequ");
        std::fs::create_dir(&p).unwrap();
        let e = write_atomic(&p, b"x").unwrap_err();
        assert_eq!(e.params["io_problem"], "is_directory");
        assert!(p.is_dir() && leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_folder_pulled_away_before_the_rename_fails_and_leaves_no_target() {
        let dir = tempdir();
        let stick = dir.path().join("stick");
        std::fs::create_dir(&stick).unwrap();
        let p = stick.join("a.shequ");
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"bundle bytes").unwrap();
        let e = f
            .commit_with(|_| std::fs::remove_dir_all(&stick).unwrap())
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::FileUnwritable);
        assert_eq!(e.params["io_problem"], "not_found");
        assert!(!p.exists());
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = tempdir();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, b"previous").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half").unwrap();
            assert_eq!(leftovers(dir.path()).len(), 1);
        }
        assert!(leftovers(dir.path()).is_empty());
        assert_eq!(std::fs::read(&p).unwrap(), b"previous");
    }
}
