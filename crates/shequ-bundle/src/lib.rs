//! The assessment bundle (评估数据包): one `*.shequ` file carrying a laptop's work to the
//! district centre. This crate owns the format — versioned serde types, never database rows —
//! and its checks; it knows nothing about SQLite. See `docs/bundle-format.md`.
//!
//! Layout: a zip with `manifest.json` (format version, device, counts, SHA-256 of every other
//! entry), `manifest.sig` (Ed25519 signature of the manifest by the device), and the content
//! entries. The zip may be encrypted as a whole to the centre with age (X25519).

mod format;
mod keys;
mod read;
mod write;

pub use format::*;
pub use keys::{is_encrypted, parse_recipient as keys_parse_recipient, CentreIdentity, DeviceKey};
pub use read::{open_bundle, OpenedBundle, ReadLimits};
pub use write::write_bundle;
