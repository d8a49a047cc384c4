//! Where the data lives: `--data-dir`, else `SHEQU_DATA_DIR`, else the platform's app-data
//! folder (`~/.local/share/shequ` on Linux, `%APPDATA%\shequ\Shequ\data` on Windows).

use std::path::{Path, PathBuf};

use shequ_core::{Error, ErrorCode, Result};

pub const DATA_DIR_ENV: &str = "SHEQU_DATA_DIR";
pub const DB_FILE: &str = "shequ.db";

pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("cn", "shequ", "shequ").map(|d| d.data_dir().to_path_buf())
}

/// The data folder to use: the explicit one, the environment's, or the platform default.
pub fn resolve_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(DATA_DIR_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    default_data_dir().ok_or_else(|| {
        Error::new(ErrorCode::DataDirUnusable)
            .with("path", "~")
            .with("detail", "no home folder")
    })
}

/// Creates the folder if needed and checks that it can be written, so a read-only or
/// unreadable folder is reported before any database is touched.
pub(crate) fn ensure_usable(dir: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::new(ErrorCode::DataDirUnusable)
            .with("path", dir.display())
            .with("detail", e)
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    if !dir.is_dir() {
        return Err(fail(std::io::Error::other("not a folder")));
    }
    std::fs::read_dir(dir).map_err(fail)?;
    // One probe per process: the window and the CLI may open the same folder at once.
    let probe = dir.join(format!(".shequ-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}
