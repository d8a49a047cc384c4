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
mod shared;
mod write;

pub use format::*;
pub use keys::{
    fingerprint, is_encrypted, normalise_fingerprint, parse_recipient as keys_parse_recipient,
    CentreIdentity, DeviceKey,
};
pub use read::{open_bundle, OpenedBundle, ReadLimits};
pub use shared::{arrival, content_sha, version_id, Arrival, SharedRecord, Version, SHARED_KINDS};
pub use write::{seal, write_bundle, write_numbered_bundle, Envelope};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn content() -> BundleContent {
        BundleContent {
            communities: vec![],
            instruments: vec![],
            responses: vec![],
            audit: vec![],
            shared: vec![],
        }
    }

    #[test]
    fn a_bundle_reads_back_as_written_plain_and_encrypted() {
        let key = DeviceKey::generate().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let plain = write_bundle(&content(), &key, "dev", "0.1.0", t, None, None).unwrap();
        let opened = open_bundle(&plain, None, ReadLimits::default()).unwrap();
        assert_eq!(
            (opened.manifest.device_id.as_str(), opened.encrypted),
            ("dev", false)
        );
        assert_eq!(opened.manifest.device_public_key, key.public_hex());
        assert_eq!(opened.content, content());

        let centre = CentreIdentity::generate();
        let sealed = write_bundle(
            &content(),
            &key,
            "dev",
            "0.1.0",
            t,
            None,
            Some(&centre.recipient()),
        )
        .unwrap();
        assert!(
            is_encrypted(&sealed) && !sealed.windows(3).any(|w| w == b"dev"),
            "nothing readable outside"
        );
        assert!(
            open_bundle(&sealed, Some(&centre), ReadLimits::default())
                .unwrap()
                .encrypted
        );
        let again = CentreIdentity::parse(&centre.secret()).unwrap();
        assert_eq!(again.recipient(), centre.recipient());
    }

    #[test]
    fn the_bundle_number_travels_signed_and_older_manifests_without_it_still_read() {
        let key = DeviceKey::generate().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let numbering = Numbering {
            bundle_seq: 7,
            since_seq: Some(41),
        };
        let bytes = write_numbered_bundle(
            &content(),
            &key,
            "dev",
            "0.1.0",
            t,
            Some(t),
            Some(numbering),
            None,
        )
        .unwrap();
        let m = open_bundle(&bytes, None, ReadLimits::default())
            .unwrap()
            .manifest;
        assert_eq!(
            (m.bundle_seq, m.since_seq, m.is_full()),
            (Some(7), Some(41), false)
        );

        // A manifest as version 1 wrote it before numbering: no bundle_seq, no since_seq.
        let unnumbered = write_bundle(&content(), &key, "dev", "0.1.0", t, None, None).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&unnumbered)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(MANIFEST).unwrap(), &mut text).unwrap();
        assert!(
            !text.contains("bundle_seq") && !text.contains("since_seq"),
            "{text}"
        );
        let m = open_bundle(&unnumbered, None, ReadLimits::default())
            .unwrap()
            .manifest;
        assert_eq!((m.bundle_seq, m.is_full()), (None, true));
    }

    #[test]
    fn limits_refuse_an_entry_larger_than_allowed() {
        let key = DeviceKey::generate().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let plain = write_bundle(&content(), &key, "dev", "0.1.0", t, None, None).unwrap();
        let tight = ReadLimits {
            max_entry: 10,
            max_total: 10,
            max_ratio: 200,
        };
        let err = open_bundle(&plain, None, tight).unwrap_err();
        assert_eq!(err.params["bundle_problem"], "zip_bomb");
        assert!(keys_parse_recipient("age1notakey").is_err());
    }

    fn shared_record(status: &str) -> SharedRecord {
        let body = std::collections::BTreeMap::from([
            ("id".to_string(), serde_json::json!("f1")),
            ("status".to_string(), serde_json::json!(status)),
        ]);
        SharedRecord {
            version: Version::first(&content_sha("follow_up", "f1", &body)),
            kind: "follow_up".into(),
            id: "f1".into(),
            body,
        }
    }

    fn manifest_text(bytes: &[u8]) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(MANIFEST).unwrap(), &mut text).unwrap();
        text
    }

    #[test]
    fn shared_records_make_version_2_and_open_for_any_of_several_recipients() {
        let key = DeviceKey::generate().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        // Nothing shared: still version 1, which an older centre reads.
        let v1 = write_bundle(&content(), &key, "dev", "0.1.0", t, None, None).unwrap();
        assert!(manifest_text(&v1).contains("\"format_version\": 1"));

        let mut c = content();
        c.shared = vec![shared_record("open")];
        let (a, b) = (CentreIdentity::generate(), CentreIdentity::generate());
        let recipients = [a.recipient(), b.recipient()];
        let sealed = seal(
            &c,
            &Envelope {
                key: &key,
                device_id: "dev",
                app_version: "0.1.0",
                exported_at: t,
                since: None,
                numbering: None,
                device_recipient: Some(&a.recipient()),
                recipients: &recipients,
            },
        )
        .unwrap();
        for who in [&a, &b] {
            let opened = open_bundle(&sealed, Some(who), ReadLimits::default()).unwrap();
            assert_eq!(opened.manifest.format_version, 2);
            assert_eq!(opened.manifest.counts.shared, 1);
            assert_eq!(opened.manifest.device_recipient, Some(a.recipient()));
            assert_eq!(opened.content.shared, c.shared);
        }
        let stranger = CentreIdentity::generate();
        let err = open_bundle(&sealed, Some(&stranger), ReadLimits::default()).unwrap_err();
        assert_eq!(err.params["bundle_problem"], "wrong_key");
    }

    #[test]
    fn a_shared_record_edited_after_versioning_or_given_twice_is_refused() {
        let key = DeviceKey::generate().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let mut c = content();
        let mut forged = shared_record("open");
        forged
            .body
            .insert("status".into(), serde_json::json!("done"));
        c.shared = vec![forged];
        let bytes = write_bundle(&c, &key, "dev", "0.1.0", t, None, None).unwrap();
        let err = open_bundle(&bytes, None, ReadLimits::default()).unwrap_err();
        assert_eq!(
            (
                err.params["bundle_problem"].as_str(),
                err.params["entry"].as_str()
            ),
            ("hash_mismatch", "shared.jsonl:1")
        );

        c.shared = vec![shared_record("open"), shared_record("open")];
        let bytes = write_bundle(&c, &key, "dev", "0.1.0", t, None, None).unwrap();
        let err = open_bundle(&bytes, None, ReadLimits::default()).unwrap_err();
        assert_eq!(err.params["bundle_problem"], "duplicate_record");

        let mut unknown = shared_record("open");
        unknown.kind = "password".into();
        unknown.version = Version::first(&content_sha("password", "f1", &unknown.body));
        c.shared = vec![unknown];
        let bytes = write_bundle(&c, &key, "dev", "0.1.0", t, None, None).unwrap();
        let err = open_bundle(&bytes, None, ReadLimits::default()).unwrap_err();
        assert_eq!(err.params["bundle_problem"], "malformed_json");
    }
}
