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
pub use keys::{
    fingerprint, is_encrypted, normalise_fingerprint, parse_recipient as keys_parse_recipient,
    CentreIdentity, DeviceKey,
};
pub use read::{open_bundle, OpenedBundle, ReadLimits};
pub use write::{write_bundle, write_numbered_bundle};

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
}
