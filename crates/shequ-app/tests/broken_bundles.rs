//! The broken-bundle corpus (tests/fixtures/bundles, written by
//! `cargo run -p shequ-app --example make_broken_bundles`): each is refused with a message
//! naming its problem, and the central database is byte-for-byte unchanged.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use shequ_app::App;
use shequ_core::{ErrorCode, Lang};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bundles")
}

const CASES: &[(&str, &str)] = &[
    ("truncated.shequ", "truncated"),
    ("flipped_bytes.shequ", "corrupt_entry"),
    ("wrong_hash.shequ", "hash_mismatch"),
    ("bad_signature.shequ", "bad_signature"),
    ("missing_signature.shequ", "missing_signature"),
    ("wrong_key.shequ", "wrong_key"),
    ("path_traversal.shequ", "unsafe_path"),
    ("absolute_path.shequ", "unsafe_path"),
    ("zip_bomb.shequ", "zip_bomb"),
    ("duplicate_entry.shequ", "duplicate_entry"),
    ("newer_format.shequ", "newer_format"),
    ("count_mismatch.shequ", "count_mismatch"),
    ("missing_instrument.shequ", "missing_instrument"),
    ("malformed_json.shequ", "malformed_json"),
    ("not_a_zip.shequ", "not_a_bundle"),
    ("answer_outside_choices.shequ", "answer_refused"),
    ("answer_not_a_number.shequ", "answer_refused"),
    ("answer_unknown_question.shequ", "answer_refused"),
    ("answer_to_a_note.shequ", "answer_refused"),
];

fn db_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("shequ.db")).unwrap()
}

#[test]
fn every_broken_bundle_is_refused_and_the_centre_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    {
        let mut centre = App::open(
            dir.path(),
            &shequ_app::Passphrase::new("test passphrase"),
            t,
        )
        .unwrap();
        let secret = std::fs::read_to_string(corpus().join("centre-identity.txt")).unwrap();
        centre.import_centre_identity(&secret).unwrap();
        centre.load_demo(t).unwrap();
    }
    let before = db_bytes(dir.path());
    assert!(
        !dir.path().join("shequ.db-wal").exists()
            || std::fs::metadata(dir.path().join("shequ.db-wal"))
                .unwrap()
                .len()
                == 0
    );
    for (file, problem) in CASES {
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        {
            let mut centre = App::open(
                dir.path(),
                &shequ_app::Passphrase::new("test passphrase"),
                t,
            )
            .unwrap();
            let err = centre
                .import_bundle(&bytes, file, false, t)
                .expect_err(file);
            assert_eq!(err.code, ErrorCode::BundleInvalid, "{file}: {err:?}");
            assert_eq!(
                err.params["bundle_problem"],
                *problem,
                "{file}: {}",
                err.message(Lang::En)
            );
            let zh = err.message(Lang::ZhCn);
            assert!(
                zh.contains(file)
                    && zh.contains("数据库没有任何改动")
                    && !zh.contains("bundle_problems."),
                "{zh}"
            );
            let en = err.message(Lang::En);
            assert!(
                en.contains(file) && en.contains("The database was not changed"),
                "{en}"
            );
            if *problem == "answer_refused" {
                assert!(
                    en.contains("does not fit the form") && !en.contains("answer_refusals."),
                    "{en}"
                );
            }
            if *file == "answer_outside_choices.shequ" {
                assert!(
                    zh.contains("“a_sex”不符合量表：“alien”不在这道题的选项中"),
                    "{zh}"
                );
            }
            if *problem == "duplicate_entry" {
                assert!(en.contains("“responses.jsonl” more than once"), "{en}");
            }
        }
        assert_eq!(db_bytes(dir.path()), before, "{file} changed the database");
    }
    // The control: the same corpus's good bundle imports.
    let mut centre = App::open(
        dir.path(),
        &shequ_app::Passphrase::new("test passphrase"),
        t,
    )
    .unwrap();
    let good = std::fs::read(corpus().join("good.shequ")).unwrap();
    // A new device: the plan shows its fingerprint, which the analyst accepts.
    let plan = centre.import_bundle(&good, "good.shequ", true, t).unwrap();
    assert!(plan.needs_acceptance);
    centre
        .accept_device(plan.fingerprint.as_deref().unwrap())
        .unwrap();
    let r = centre.import_bundle(&good, "good.shequ", false, t).unwrap();
    assert_eq!(
        (r.counts.new, r.unknown_device, r.encrypted),
        (1, true, true)
    );
}
