//! Writes the corpus of broken bundles in tests/fixtures/bundles/ (run once, output committed):
//!
//!     cargo run -p shequ-app --example make_broken_bundles
//!
//! Each file breaks one thing; `crates/shequ-app/tests/broken_bundles.rs` checks that each is
//! refused with its own reason and that the central database stays byte-for-byte unchanged.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};
use shequ_bundle::*;
use shequ_core::HousingForm;
use uuid::Uuid;
use zip::write::SimpleFileOptions;

fn out() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bundles")
}

fn content() -> BundleContent {
    let scale = shequ_forms::default_scale().unwrap();
    let instrument = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
    let mut answers = BTreeMap::new();
    answers.insert("a_age".to_string(), "45".to_string());
    answers.insert("b1".to_string(), "4".to_string());
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap();
    BundleContent {
        communities: vec![BundleCommunity {
            id: Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002),
            code: "FX-01".into(),
            name: "测试社区".into(),
            street: "东湖街道".into(),
            district: "示范区".into(),
            housing_form: HousingForm::Mixed,
            households: Some(100),
            target_sample: 50,
        }],
        instruments: vec![BundleInstrument {
            id: instrument,
            content_sha256: shequ_store::content_hash(&scale).unwrap(),
            definition: scale,
        }],
        responses: vec![BundleResponse {
            instance_id: Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0003),
            root_id: Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0003),
            deprecated_id: None,
            instrument_id: instrument,
            community_code: "FX-01".into(),
            status: "finalized".into(),
            interviewer: "张敏".into(),
            device_id: "fixture-laptop".into(),
            respondent: "1-101".into(),
            started_at: t,
            updated_at: t,
            finalized_at: Some(t),
            answers,
            repeat_counts: BTreeMap::new(),
            round: None,
        }],
        audit: vec![],
        shared: vec![],
    }
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(body).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// The entries of a valid bundle, unzipped, for re-assembly with one thing changed.
fn entries(key: &DeviceKey) -> Vec<(String, Vec<u8>)> {
    let bytes = write_bundle(
        &content(),
        key,
        "fixture-laptop",
        "0.1.0",
        Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap(),
        None,
        None,
    )
    .unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut b).unwrap();
            (f.name().unwrap().to_string(), b)
        })
        .collect()
}

/// Re-signs a changed manifest so that only the intended defect remains.
fn resign(
    key: &DeviceKey,
    mut e: Vec<(String, Vec<u8>)>,
    edit: impl Fn(&mut serde_json::Value),
) -> Vec<(String, Vec<u8>)> {
    let mut m: serde_json::Value = serde_json::from_slice(&e[0].1).unwrap();
    edit(&mut m);
    let bytes = serde_json::to_vec_pretty(&m).unwrap();
    e[1].1 = key.sign(&bytes).into_bytes();
    e[0].1 = bytes;
    e
}

fn rehash(e: &mut [(String, Vec<u8>)], name: &str) {
    let h = format!(
        "{:x}",
        Sha256::digest(&e.iter().find(|(n, _)| n == name).unwrap().1)
    );
    let mut m: serde_json::Value = serde_json::from_slice(&e[0].1).unwrap();
    m["entries"][name] = serde_json::Value::String(h);
    e[0].1 = serde_json::to_vec_pretty(&m).unwrap();
}

fn save(name: &str, bytes: &[u8]) {
    std::fs::write(out().join(name), bytes).unwrap();
}

fn as_refs(e: &[(String, Vec<u8>)]) -> Vec<(&str, Vec<u8>)> {
    e.iter().map(|(n, b)| (n.as_str(), b.clone())).collect()
}

fn main() {
    std::fs::create_dir_all(out()).unwrap();
    // Fixed keys, so the corpus is reproducible; they protect nothing.
    let key = DeviceKey::from_hex(&"11".repeat(32)).unwrap();
    let centre = CentreIdentity::generate();
    let other = CentreIdentity::generate();
    save("centre-identity.txt", centre.secret().as_bytes());
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap();
    let good = write_bundle(
        &content(),
        &key,
        "fixture-laptop",
        "0.1.0",
        t,
        None,
        Some(&centre.recipient()),
    )
    .unwrap();
    save("good.shequ", &good);
    let plain = write_bundle(&content(), &key, "fixture-laptop", "0.1.0", t, None, None).unwrap();

    save("truncated.shequ", &plain[..plain.len() / 2]);
    let mut flipped = plain.clone();
    let at = flipped.len() / 2;
    for b in &mut flipped[at..at + 8] {
        *b ^= 0xA5;
    }
    save("flipped_bytes.shequ", &flipped);
    save(
        "not_a_zip.shequ",
        "这不是数据包，只是一个改了扩展名的文本文件。\n".as_bytes(),
    );
    save(
        "wrong_key.shequ",
        &write_bundle(
            &content(),
            &key,
            "fixture-laptop",
            "0.1.0",
            t,
            None,
            Some(&other.recipient()),
        )
        .unwrap(),
    );

    let e = entries(&key);
    // A content entry changed after hashing (the manifest is still validly signed).
    let mut wrong_hash = e.clone();
    wrong_hash[4].1 = b"{\"tampered\":true}\n".to_vec();
    save("wrong_hash.shequ", &zip_of(&as_refs(&wrong_hash)));
    // The manifest changed after signing.
    let mut bad_sig = e.clone();
    bad_sig[0].1 = String::from_utf8(bad_sig[0].1.clone())
        .unwrap()
        .replace("fixture-laptop", "other-laptop")
        .into_bytes();
    save("bad_signature.shequ", &zip_of(&as_refs(&bad_sig)));
    let no_sig: Vec<_> = e.iter().filter(|(n, _)| n != SIGNATURE).cloned().collect();
    save("missing_signature.shequ", &zip_of(&as_refs(&no_sig)));
    let mut traversal = as_refs(&e);
    traversal.push(("../evil.sh", b"echo owned".to_vec()));
    save("path_traversal.shequ", &zip_of(&traversal));
    let mut absolute = as_refs(&e);
    absolute.push(("/etc/cron.d/evil", b"* * * * * root echo owned".to_vec()));
    save("absolute_path.shequ", &zip_of(&absolute));
    // 200 MiB of zeros in a few hundred kilobytes.
    let mut bomb = as_refs(&e);
    bomb[4].1 = vec![b' '; 200 << 20];
    save("zip_bomb.shequ", &zip_of(&bomb));
    // Two entries named responses.jsonl: written under another name of the same length, then
    // renamed in both the local header and the central directory.
    let mut dup = as_refs(&e);
    dup.push(("responses.jsonX", b"{}\n".to_vec()));
    let mut dup_bytes = zip_of(&dup);
    let needle = b"responses.jsonX";
    let mut i = 0;
    while let Some(p) = dup_bytes[i..]
        .windows(needle.len())
        .position(|w| w == needle)
    {
        dup_bytes[i + p + needle.len() - 1] = b'l';
        i += p + 1;
    }
    save("duplicate_entry.shequ", &dup_bytes);
    save(
        "newer_format.shequ",
        &zip_of(&as_refs(&resign(&key, e.clone(), |m| {
            m["format_version"] = 99.into()
        }))),
    );
    save(
        "count_mismatch.shequ",
        &zip_of(&as_refs(&resign(&key, e.clone(), |m| {
            m["counts"]["responses"] = 7.into()
        }))),
    );
    // Malformed JSON with every hash and the signature in order.
    let mut malformed = e.clone();
    malformed[4].1 = b"{\"instance_id\": \"not-a-uuid\", \n".to_vec();
    rehash(&mut malformed, RESPONSES);
    let malformed = resign(&key, malformed, |_| {});
    save("malformed_json.shequ", &zip_of(&as_refs(&malformed)));
    // A response whose form version is neither in the bundle nor at the centre.
    let mut c = content();
    c.instruments.clear();
    save(
        "missing_instrument.shequ",
        &write_bundle(&c, &key, "fixture-laptop", "0.1.0", t, None, None).unwrap(),
    );
    // Properly signed bundles whose answers no interview of that form could have saved:
    // each refused by the same check as the interview screen (CompiledForm::check_record).
    for (name, key_name, value) in [
        ("answer_outside_choices.shequ", "a_sex", "alien"),
        ("answer_not_a_number.shequ", "a_age", "forty-five"),
        ("answer_unknown_question.shequ", "no_such_question", "1"),
        ("answer_to_a_note.shequ", "a_intro", "hello"),
    ] {
        let mut c = content();
        c.responses[0]
            .answers
            .insert(key_name.to_string(), value.to_string());
        save(
            name,
            &write_bundle(&c, &key, "fixture-laptop", "0.1.0", t, None, None).unwrap(),
        );
    }
    println!("wrote the broken-bundle corpus to {}", out().display());
}
