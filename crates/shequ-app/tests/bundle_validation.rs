//! Bundles that are properly signed but carry what no laptop of ours could have produced are
//! refused as a whole, each with its named reason, and the centre's database is byte-for-byte
//! unchanged. The bundles are made here with the real writer and a real device key, so the
//! signature and every hash are right and only the content is wrong.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{TimeZone, Utc};
use shequ_app::App;
use shequ_bundle::*;
use shequ_core::{ErrorCode, HousingForm, Lang};
use uuid::Uuid;

const DEVICE: &str = "laptop-7";

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 + n)
}

fn response(n: u128) -> BundleResponse {
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap();
    let answers: BTreeMap<String, String> = [("a_age", "45"), ("b1", "4")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    BundleResponse {
        instance_id: id(n),
        root_id: id(n),
        deprecated_id: None,
        instrument_id: id(1),
        community_code: "FX-01".into(),
        status: "finalized".into(),
        interviewer: "张敏".into(),
        device_id: DEVICE.into(),
        respondent: format!("1-{n}"),
        started_at: t,
        updated_at: t,
        finalized_at: Some(t),
        answers,
        repeat_counts: BTreeMap::new(),
        round: Some("2026 年度".into()),
    }
}

fn content() -> BundleContent {
    let scale = shequ_forms::default_scale().unwrap();
    BundleContent {
        communities: vec![BundleCommunity {
            id: id(2),
            code: "FX-01".into(),
            name: "测试社区".into(),
            street: "东湖街道".into(),
            district: "示范区".into(),
            housing_form: HousingForm::Mixed,
            households: Some(100),
            target_sample: 50,
        }],
        instruments: vec![BundleInstrument {
            id: id(1),
            content_sha256: shequ_store::content_hash(&scale).unwrap(),
            definition: scale,
        }],
        responses: vec![response(10), response(11)],
        audit: vec![BundleAudit {
            id: id(20),
            at: Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap(),
            actor: "张敏".into(),
            device_id: DEVICE.into(),
            action: "create".into(),
            entity: "response".into(),
            entity_id: id(10).to_string(),
            field: None,
            old_value: None,
            new_value: Some("finalized".into()),
        }],
        shared: vec![],
    }
}

/// The analyst accepts the device that signs these bundles, as after comparing fingerprints.
fn accept_signer(centre: &mut App) {
    let key = DeviceKey::from_hex(&"22".repeat(32)).unwrap();
    centre
        .accept_device(&shequ_bundle::fingerprint(&key.public_hex()))
        .unwrap();
}

fn signed(c: &BundleContent) -> Vec<u8> {
    signed_by(c, &"22".repeat(32))
}

fn signed_by(c: &BundleContent, key_hex: &str) -> Vec<u8> {
    let key = DeviceKey::from_hex(key_hex).unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap();
    write_bundle(c, &key, DEVICE, "0.1.0", t, None, None).unwrap()
}

#[test]
fn a_new_device_is_imported_only_once_accepted_and_a_changed_key_stays_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let mut centre = App::open(
        dir.path(),
        &shequ_app::Passphrase::new("test passphrase"),
        t,
    )
    .unwrap();
    let bytes = signed(&content());
    let before = folder(dir.path());
    // The plan names the new device's fingerprint: the one the laptop shows for its key.
    let plan = centre
        .import_bundle(&bytes, "first.shequ", true, t)
        .unwrap();
    let fp = plan.fingerprint.clone().unwrap();
    let key = DeviceKey::from_hex(&"22".repeat(32)).unwrap();
    assert_eq!(fp, fingerprint(&key.public_hex()));
    assert!(plan.unknown_device && plan.needs_acceptance);
    assert_eq!(fp.len(), 24);
    let err = centre
        .import_bundle(&bytes, "first.shequ", false, t)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceNotEnrolled);
    let zh = err.message(Lang::ZhCn);
    assert!(
        zh.contains("first.shequ") && zh.contains(&fp) && zh.contains(DEVICE),
        "{zh}"
    );
    assert_eq!(
        folder(dir.path()),
        before,
        "a refused bundle writes nothing"
    );
    // A mistyped fingerprint is refused; one typed in lower case without dashes is taken.
    for typo in ["", "3F2A-91C0", &format!("{fp}0"), &fp.replace('A', "G")] {
        let e = centre.accept_device(typo).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidValue, "{typo}");
    }
    let typed = fp.to_lowercase().replace('-', "");
    assert_eq!(centre.accept_device(&typed).unwrap(), fp);
    let r = centre
        .import_bundle(&bytes, "first.shequ", false, t)
        .unwrap();
    assert_eq!((r.counts.new, r.needs_acceptance), (2, false), "{r:?}");
    // The same device id with another key: refused, even when that key was accepted too.
    let other = "33".repeat(32);
    let other_fp = fingerprint(&DeviceKey::from_hex(&other).unwrap().public_hex());
    assert_ne!(other_fp, fp);
    centre.accept_device(&other_fp).unwrap();
    let mut c = content();
    c.responses = vec![response(40)];
    let before = folder(dir.path());
    let err = centre
        .import_bundle(&signed_by(&c, &other), "impostor.shequ", false, t)
        .unwrap_err();
    assert_eq!(err.params["bundle_problem"], "device_key_changed");
    assert_eq!(folder(dir.path()), before);
}

/// Every file of the data folder, as bytes (the database and its WAL included).
fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with("-shm"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

type Damage = (
    &'static str,
    &'static str,
    fn(&mut BundleContent),
    &'static str,
);

#[test]
fn signed_bundles_with_impossible_content_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let mut centre = App::open(
        dir.path(),
        &shequ_app::Passphrase::new("test passphrase"),
        t,
    )
    .unwrap();
    accept_signer(&mut centre);
    centre.load_demo(t).unwrap();
    let before = folder(dir.path());

    #[rustfmt::skip]
    let cases: &[Damage] = &[
        ("a draft", "response_not_finalized", |c| { c.responses[0].status = "draft".into(); c.responses[0].finalized_at = None; }, "尚未完成提交（状态为“draft”）"),
        ("no finalized time", "finalized_time_missing", |c| c.responses[1].finalized_at = None, "缺少完成提交的时间"),
        ("an answer outside its choices", "answer_refused", |c| { c.responses[0].answers.insert("b1".into(), "9".into()); }, "“b1”"),
        ("text in a number question", "answer_refused", |c| { c.responses[0].answers.insert("a_age".into(), "四十五".into()); }, "“a_age”"),
        ("a version that replaces itself", "version_chain_invalid", |c| { c.responses[1].deprecated_id = Some(c.responses[1].instance_id); }, "版本链不一致"),
        ("a loop of two versions", "version_chain_invalid", |c| {
            let (a, b) = (c.responses[0].instance_id, c.responses[1].instance_id);
            c.responses[0].deprecated_id = Some(b);
            c.responses[1].deprecated_id = Some(a);
            c.responses[1].root_id = a;
        }, "版本链不一致"),
        ("a later version of another interview", "version_chain_invalid", |c| { c.responses[1].deprecated_id = Some(c.responses[0].instance_id); }, "版本链不一致"),
        ("a first version that is not its own root", "version_chain_invalid", |c| c.responses[0].root_id = Uuid::from_u128(99), "版本链不一致"),
        ("an absurd repeat count", "repeat_count_absurd", |c| { c.responses[0].repeat_counts.insert("member".into(), 1_000_000); }, "1000000"),
        ("a response from another device", "device_mismatch", |c| c.responses[0].device_id = "someone-else".into(), "someone-else"),
        ("an audit entry from another device", "device_mismatch", |c| c.audit[0].device_id = "someone-else".into(), "someone-else"),
        ("an unknown audit action", "audit_action_unknown", |c| c.audit[0].action = "erase".into(), "“erase”"),
        ("a form whose hash is not its content", "instrument_hash_mismatch", |c| c.instruments[0].definition.title = "改过的标题".into(), "校验值不符"),
        ("a community without a name", "community_invalid", |c| c.communities[0].name = "  ".into(), "社区 FX-01"),
        ("a community with no sample", "community_invalid", |c| c.communities[0].target_sample = 0, "社区 FX-01"),
    ];
    for (what, problem, damage, zh_part) in cases {
        let mut c = content();
        damage(&mut c);
        let bytes = signed(&c);
        let file = format!("{what}.shequ");
        let err = centre
            .import_bundle(&bytes, &file, false, t)
            .expect_err(what);
        assert_eq!(err.code, ErrorCode::BundleInvalid, "{what}: {err:?}");
        assert_eq!(
            err.params["bundle_problem"],
            *problem,
            "{what}: {}",
            err.message(Lang::En)
        );
        let zh = err.message(Lang::ZhCn);
        assert!(
            zh.contains(&file) && zh.contains(zh_part) && zh.contains("数据库没有任何改动"),
            "{what}: {zh}"
        );
        assert!(
            !err.message(Lang::En).contains("bundle_problems."),
            "{what}"
        );
        // A dry run refuses the same way.
        assert!(
            centre.import_bundle(&bytes, &file, true, t).is_err(),
            "{what}"
        );
        assert_eq!(
            folder(dir.path()),
            before,
            "{what}: the centre's files changed"
        );
    }

    // The same content undamaged is accepted: the checks refuse only what is wrong.
    let report = centre
        .import_bundle(&signed(&content()), "good.shequ", false, t)
        .unwrap();
    assert_eq!(report.counts.new, 2, "{report:?}");
    assert!(centre
        .rounds()
        .unwrap()
        .iter()
        .any(|r| r.name == "2026 年度"));
}

#[test]
fn a_later_version_whose_first_version_is_already_here_must_share_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let mut centre = App::open(
        dir.path(),
        &shequ_app::Passphrase::new("test passphrase"),
        t,
    )
    .unwrap();
    accept_signer(&mut centre);
    centre
        .import_bundle(&signed(&content()), "first.shequ", false, t)
        .unwrap();
    // A second bundle with a new version of interview 10 that claims another root.
    let mut c = content();
    let mut v2 = response(30);
    v2.deprecated_id = Some(id(10));
    v2.root_id = id(11);
    c.responses = vec![v2.clone()];
    let before = folder(dir.path());
    let err = centre
        .import_bundle(&signed(&c), "second.shequ", false, t)
        .unwrap_err();
    assert_eq!(err.params["bundle_problem"], "version_chain_invalid");
    assert_eq!(folder(dir.path()), before);
    // With the right root it is a new version.
    v2.root_id = id(10);
    c.responses = vec![v2];
    let report = centre
        .import_bundle(&signed(&c), "second-fixed.shequ", false, t)
        .unwrap();
    assert_eq!(report.counts.versions, 1, "{report:?}");
}

/// A form whose id and version are paths: its data exports stay in the chosen folder.
#[test]
fn exports_never_leave_the_chosen_folder_whatever_a_form_id_says() {
    let dir = tempfile::tempdir().unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let data = dir.path().join("centre");
    let mut centre = App::open(&data, &shequ_app::Passphrase::new("test passphrase"), t).unwrap();
    accept_signer(&mut centre);
    let mut c = content();
    let def = &mut c.instruments[0].definition;
    def.form_id = "../../escaped".into();
    def.version = "1/../../x".into();
    c.instruments[0].content_sha256 = shequ_store::content_hash(def).unwrap();
    centre
        .import_bundle(&signed(&c), "hostile-form.shequ", false, t)
        .unwrap();
    let out = dir.path().join("a").join("b").join("out");
    std::fs::create_dir_all(&out).unwrap();
    for format in [
        shequ_app::exports::DataFormat::Csv,
        shequ_app::exports::DataFormat::Xlsx,
        shequ_app::exports::DataFormat::Jsonl,
    ] {
        let (files, n) = centre
            .export_data(
                format,
                None,
                &out,
                shequ_app::exports::PersonalData::Pseudonymise,
                t,
            )
            .unwrap();
        assert_eq!(n, 2);
        for f in &files {
            assert_eq!(f.parent().unwrap(), out, "{}", f.display());
            assert!(f.is_file(), "{}", f.display());
        }
    }
    // Each export's treatment of personal data is in the audit trail.
    let dest = out.display().to_string();
    centre
        .export_data(
            shequ_app::exports::DataFormat::Jsonl,
            None,
            &out,
            shequ_app::exports::PersonalData::Include,
            t,
        )
        .unwrap();
    let trail: Vec<String> = centre
        .store()
        .audit_for("export", &dest)
        .unwrap()
        .into_iter()
        .map(|a| format!("{}:{}", a.action.code(), a.new_value.unwrap_or_default()))
        .collect();
    assert_eq!(
        trail,
        [
            "export:pseudonymised",
            "export:pseudonymised",
            "export:pseudonymised",
            "export:included"
        ]
    );
    // Nothing was written beside or above the folder.
    let above: Vec<_> = std::fs::read_dir(dir.path().join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(above, vec![std::ffi::OsString::from("b")]);
    assert_eq!(
        std::fs::read_dir(dir.path().join("a/b")).unwrap().count(),
        1
    );
}
