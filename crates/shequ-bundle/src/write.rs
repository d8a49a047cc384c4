//! Writing a bundle: content entries, their hashes in a signed manifest, a zip, and (when the
//! laptop has the centre's key) age encryption of the whole file.

use std::io::Write;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use shequ_core::{Error, Result};
use zip::write::SimpleFileOptions;

use crate::format::*;
use crate::keys::{encrypt, DeviceKey};

fn jsonl<T: serde::Serialize>(items: &[T]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for item in items {
        serde_json::to_writer(&mut out, item).map_err(Error::internal)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Writes a bundle without a number (fixtures, tools) and returns its bytes.
pub fn write_bundle(
    content: &BundleContent,
    key: &DeviceKey,
    device_id: &str,
    app_version: &str,
    exported_at: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    centre_recipient: Option<&str>,
) -> Result<Vec<u8>> {
    write_numbered_bundle(
        content,
        key,
        device_id,
        app_version,
        exported_at,
        since,
        None,
        centre_recipient,
    )
}

/// Writes a bundle with its place in the device's sequence and returns its bytes.
#[allow(clippy::too_many_arguments)]
pub fn write_numbered_bundle(
    content: &BundleContent,
    key: &DeviceKey,
    device_id: &str,
    app_version: &str,
    exported_at: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    numbering: Option<Numbering>,
    centre_recipient: Option<&str>,
) -> Result<Vec<u8>> {
    let recipients: Vec<String> = centre_recipient.map(str::to_string).into_iter().collect();
    seal(
        content,
        &Envelope {
            key,
            device_id,
            app_version,
            exported_at,
            since,
            numbering,
            device_recipient: None,
            recipients: &recipients,
        },
    )
}

/// Who writes a bundle and for whom.
pub struct Envelope<'a> {
    pub key: &'a DeviceKey,
    pub device_id: &'a str,
    pub app_version: &'a str,
    pub exported_at: DateTime<Utc>,
    pub since: Option<DateTime<Utc>>,
    pub numbering: Option<Numbering>,
    /// This device's own age recipient, announced so that the centre can write back.
    pub device_recipient: Option<&'a str>,
    /// Encrypt to these age recipients (any one of them opens the file); empty: plain zip.
    pub recipients: &'a [String],
}

/// Writes a bundle and returns its bytes: version 1 when it carries no shared records (so a
/// centre that reads only version 1 still reads it), version 2 with `shared.jsonl` otherwise.
pub fn seal(content: &BundleContent, e: &Envelope) -> Result<Vec<u8>> {
    let mut bodies: Vec<(&str, Vec<u8>)> = vec![
        (
            COMMUNITIES,
            serde_json::to_vec(&content.communities).map_err(Error::internal)?,
        ),
        (
            INSTRUMENTS,
            serde_json::to_vec(&content.instruments).map_err(Error::internal)?,
        ),
        (RESPONSES, jsonl(&content.responses)?),
        (AUDIT, jsonl(&content.audit)?),
    ];
    let format_version = if content.shared.is_empty() {
        FORMAT_VERSION_RESPONSES_ONLY
    } else {
        bodies.push((SHARED, jsonl(&content.shared)?));
        FORMAT_VERSION
    };
    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version,
        app_version: e.app_version.into(),
        device_id: e.device_id.into(),
        device_public_key: e.key.public_hex(),
        exported_at: e.exported_at,
        since: e.since,
        bundle_seq: e.numbering.map(|n| n.bundle_seq),
        since_seq: e.numbering.and_then(|n| n.since_seq),
        device_recipient: e.device_recipient.map(str::to_string),
        instruments: content
            .instruments
            .iter()
            .map(|i| InstrumentRef {
                id: i.id,
                form_id: i.definition.form_id.clone(),
                version: i.definition.version.clone(),
                content_sha256: i.content_sha256.clone(),
            })
            .collect(),
        counts: Counts::of(content),
        entries: bodies
            .iter()
            .map(|(n, b)| (n.to_string(), format!("{:x}", Sha256::digest(b))))
            .collect(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(Error::internal)?;
    let signature = e.key.sign(&manifest_bytes);

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in [
        (MANIFEST, manifest_bytes),
        (SIGNATURE, signature.into_bytes()),
    ]
    .into_iter()
    .chain(bodies)
    {
        zip.start_file(name, opts).map_err(Error::internal)?;
        zip.write_all(&body).map_err(Error::internal)?;
    }
    let bytes = zip.finish().map_err(Error::internal)?.into_inner();
    if e.recipients.is_empty() {
        Ok(bytes)
    } else {
        encrypt(e.recipients, &bytes)
    }
}
