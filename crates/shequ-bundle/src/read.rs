//! Reading a bundle, trusting nothing: size and ratio limits against zip bombs, safe entry
//! names only, every hash and the signature checked, strict JSON. Any failure names the
//! problem (a key under `bundle_problems.`) and the entry.

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};

use sha2::{Digest, Sha256};
use shequ_core::{Error, ErrorCode, Result};

use crate::format::*;
use crate::keys::{is_encrypted, verify, CentreIdentity};

/// Limits on what a bundle may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Largest uncompressed size of one entry.
    pub max_entry: u64,
    /// Largest uncompressed total.
    pub max_total: u64,
    /// Largest compression ratio of an entry bigger than 1 MiB.
    pub max_ratio: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_entry: 2 << 30,
            max_total: 4 << 30,
            max_ratio: 200,
        }
    }
}

/// A bundle that passed every check.
#[derive(Debug, Clone)]
pub struct OpenedBundle {
    pub manifest: Manifest,
    pub content: BundleContent,
    pub encrypted: bool,
    /// SHA-256 of the file as received: the same file twice is recognised.
    pub file_sha256: String,
}

fn bad(problem: &str) -> Error {
    Error::new(ErrorCode::BundleInvalid).with("bundle_problem", problem)
}

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains(':')
        && !name.split('/').any(|part| part == ".." || part == ".")
}

/// The names in the zip's central directory, in order. The zip crate keeps one entry per
/// name, so a second entry with the same name is visible only here.
fn central_names(zip: &[u8]) -> Vec<String> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const CEN: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    let u16_at = |p: usize| {
        zip.get(p..p + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |p: usize| {
        zip.get(p..p + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let start = zip.len().saturating_sub(22 + 65_535);
    let Some(eocd) = zip[start..]
        .windows(4)
        .rposition(|w| w == EOCD)
        .map(|p| p + start)
    else {
        return vec![];
    };
    let (Some(total), Some(mut p)) = (u16_at(eocd + 10), u32_at(eocd + 16)) else {
        return vec![];
    };
    let mut names = Vec::with_capacity(total);
    for _ in 0..total {
        if zip.get(p..p + 4) != Some(&CEN[..]) {
            break;
        }
        let (Some(n), Some(x), Some(c)) = (u16_at(p + 28), u16_at(p + 30), u16_at(p + 32)) else {
            break;
        };
        let Some(name) = zip.get(p + 46..p + 46 + n) else {
            break;
        };
        names.push(String::from_utf8_lossy(name).into_owned());
        p += 46 + n + x + c;
    }
    names
}

/// Every shared record is of a known kind, appears once, and its version is the hash of its
/// content and ancestors (a record edited after it was versioned is refused).
fn check_shared(records: &[crate::SharedRecord]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, r) in records.iter().enumerate() {
        let entry = format!("{SHARED}:{}", i + 1);
        if !crate::SHARED_KINDS.contains(&r.kind.as_str()) {
            return Err(bad("malformed_json")
                .with("entry", entry)
                .with("detail", &r.kind));
        }
        if !seen.insert((r.kind.as_str(), r.id.as_str())) {
            return Err(bad("duplicate_record").with("entry", entry));
        }
        if !r
            .version
            .is_of(&crate::content_sha(&r.kind, &r.id, &r.body))
        {
            return Err(bad("hash_mismatch").with("entry", entry));
        }
    }
    Ok(())
}

/// Opens and checks a bundle. `centre` decrypts encrypted bundles.
pub fn open_bundle(
    bytes: &[u8],
    centre: Option<&CentreIdentity>,
    limits: ReadLimits,
) -> Result<OpenedBundle> {
    let file_sha256 = format!("{:x}", Sha256::digest(bytes));
    let encrypted = is_encrypted(bytes);
    let plain;
    let zip_bytes: &[u8] = if encrypted {
        let Some(identity) = centre else {
            return Err(bad("no_centre_key"));
        };
        plain = identity.decrypt(bytes).ok_or_else(|| bad("wrong_key"))?;
        &plain
    } else {
        bytes
    };
    if !zip_bytes.starts_with(b"PK\x03\x04") {
        return Err(bad("not_a_bundle"));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(|_| bad("truncated"))?;
    let mut names = HashSet::new();
    for name in central_names(zip_bytes) {
        if !names.insert(name.clone()) {
            return Err(bad("duplicate_entry").with("entry", name));
        }
    }

    // `shared.jsonl` is allowed here and checked against the manifest's version below.
    let expected: HashSet<&str> = [MANIFEST, SIGNATURE, SHARED]
        .into_iter()
        .chain(CONTENT_ENTRIES)
        .collect();
    let mut seen = HashSet::new();
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|_| bad("truncated"))?;
        let name = f
            .name()
            .map_err(|_| bad("unsafe_path").with("entry", "?"))?
            .to_string();
        if !safe_name(&name) {
            return Err(bad("unsafe_path").with("entry", &name));
        }
        if !seen.insert(name.clone()) {
            return Err(bad("duplicate_entry").with("entry", &name));
        }
        if !expected.contains(name.as_str()) {
            return Err(bad("unexpected_entry").with("entry", &name));
        }
        let (size, packed) = (f.size(), f.compressed_size().max(1));
        if size > limits.max_entry || (size > 1 << 20 && size / packed > limits.max_ratio) {
            return Err(bad("zip_bomb").with("entry", &name));
        }
        // Read at most one byte past the declared size: a lying header cannot expand further.
        let mut body = Vec::with_capacity(size.min(64 << 20) as usize);
        (&mut f)
            .take(size + 1)
            .read_to_end(&mut body)
            .map_err(|_| bad("corrupt_entry").with("entry", &name))?;
        if body.len() as u64 != size {
            return Err(bad("corrupt_entry").with("entry", &name));
        }
        total += size;
        if total > limits.max_total {
            return Err(bad("zip_bomb").with("entry", &name));
        }
        entries.insert(name, body);
    }

    let manifest_bytes = entries
        .get(MANIFEST)
        .ok_or_else(|| bad("missing_entry").with("entry", MANIFEST))?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes).map_err(|e| {
        // A newer writer may add fields we cannot parse; say so rather than "malformed".
        let version = serde_json::from_slice::<serde_json::Value>(manifest_bytes)
            .ok()
            .and_then(|v| v.get("format_version").and_then(|n| n.as_u64()));
        match version {
            Some(v) if v > FORMAT_VERSION as u64 => bad("newer_format")
                .with("found", v)
                .with("supported", FORMAT_VERSION),
            _ => bad("malformed_json")
                .with("entry", MANIFEST)
                .with("detail", e),
        }
    })?;
    if manifest.format != FORMAT_NAME {
        return Err(bad("not_a_bundle"));
    }
    if manifest.format_version > FORMAT_VERSION {
        return Err(bad("newer_format")
            .with("found", manifest.format_version)
            .with("supported", FORMAT_VERSION));
    }
    let signature = entries
        .get(SIGNATURE)
        .ok_or_else(|| bad("missing_signature"))?;
    if !verify(
        &manifest.device_public_key,
        manifest_bytes,
        &String::from_utf8_lossy(signature),
    ) {
        return Err(bad("bad_signature").with("device", &manifest.device_id));
    }
    let content_entries: Vec<&str> = if manifest.format_version >= 2 {
        CONTENT_ENTRIES.into_iter().chain([SHARED]).collect()
    } else {
        if entries.contains_key(SHARED) {
            return Err(bad("unexpected_entry").with("entry", SHARED));
        }
        CONTENT_ENTRIES.to_vec()
    };
    for &name in &content_entries {
        let body = entries
            .get(name)
            .ok_or_else(|| bad("missing_entry").with("entry", name))?;
        let want = manifest
            .entries
            .get(name)
            .ok_or_else(|| bad("missing_entry").with("entry", name))?;
        if &format!("{:x}", Sha256::digest(body)) != want {
            return Err(bad("hash_mismatch").with("entry", name));
        }
    }

    fn parse_json<T: serde::de::DeserializeOwned>(
        entries: &BTreeMap<String, Vec<u8>>,
        name: &str,
    ) -> Result<T> {
        serde_json::from_slice(&entries[name])
            .map_err(|e| bad("malformed_json").with("entry", name).with("detail", e))
    }
    fn parse_lines<T: serde::de::DeserializeOwned>(
        entries: &BTreeMap<String, Vec<u8>>,
        name: &str,
    ) -> Result<Vec<T>> {
        entries[name]
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| {
                serde_json::from_slice(l).map_err(|e| {
                    bad("malformed_json")
                        .with("entry", format!("{name}:{}", i + 1))
                        .with("detail", e)
                })
            })
            .collect()
    }
    let content = BundleContent {
        communities: parse_json(&entries, COMMUNITIES)?,
        instruments: parse_json(&entries, INSTRUMENTS)?,
        responses: parse_lines(&entries, RESPONSES)?,
        audit: parse_lines(&entries, AUDIT)?,
        shared: match entries.contains_key(SHARED) {
            true => parse_lines(&entries, SHARED)?,
            false => vec![],
        },
    };
    check_shared(&content.shared)?;
    let counts = Counts::of(&content);
    if counts != manifest.counts {
        return Err(bad("count_mismatch"));
    }
    Ok(OpenedBundle {
        manifest,
        content,
        encrypted,
        file_sha256,
    })
}
