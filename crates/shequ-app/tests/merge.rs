//! Three field laptops hand their work to the centre: bundles arrive out of order and one of
//! them twice, one carries an edit (a new version), and one a true conflict (the same
//! instance id with other content). The final store is checked response by response. Then the
//! hand-over rules: a failed write records nothing, "since last" ignores the clock, the centre
//! names missing bundle numbers, and a replaced version can be restored.

use std::path::Path;

use shequ_app::App;
use shequ_core::{Lang, ResponseStatus};
use uuid::Uuid;

mod common;
use common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn bundles_from_three_laptops_merge_exactly() {
    let root = tempfile::tempdir().unwrap();
    let mut centre = App::open(
        &root.path().join("centre"),
        &shequ_app::Passphrase::new("test passphrase"),
        t(0),
    )
    .unwrap();
    let recipient = centre.init_centre().unwrap();
    assert!(recipient.starts_with("age1"));

    // Laptop 1: two interviews.
    let mut l1 = laptop(&root.path().join("l1"), &recipient);
    accept(&mut centre, &l1);
    let a1 = interview(&mut l1, "DH-01", "1号楼101室", 10);
    let a2 = interview(&mut l1, "XH-02", "2号楼202室", 20);
    let (b1, row1) = l1
        .export_bundle(root.path().join("l1.shequ"), false, false, t(30))
        .unwrap();
    assert!(shequ_bundle::is_encrypted(&b1) && row1.encrypted && row1.responses == 2);
    drop(l1);

    // A restored copy of laptop 1 whose store diverged: the same instance id, other content.
    copy_dir(&root.path().join("l1"), &root.path().join("l1-restored"));
    {
        let c = shequ_store::raw_connection(
            &root.path().join("l1-restored/shequ.db"),
            &shequ_app::Passphrase::new("test passphrase"),
        )
        .unwrap();
        c.execute(
            "UPDATE answers SET value = '1' WHERE instance_id = ?1 AND question = 'b1'",
            [a1.to_string()],
        )
        .unwrap();
        c.execute("DELETE FROM exports", []).unwrap();
    }
    let mut l1b = App::open(
        &root.path().join("l1-restored"),
        &shequ_app::Passphrase::new("test passphrase"),
        t(31),
    )
    .unwrap();
    let (b1_conflict, _) = l1b
        .export_bundle(root.path().join("l1b.shequ"), false, false, t(32))
        .unwrap();

    // Laptop 2: one interview.
    let mut l2 = laptop(&root.path().join("l2"), &recipient);
    accept(&mut centre, &l2);
    let b_only = interview(&mut l2, "DH-01", "5号楼501室", 40);
    let (b2, _) = l2
        .export_bundle(root.path().join("l2.shequ"), false, false, t(45))
        .unwrap();

    // Laptop 3: one interview, exported; then edited (a new version), exported incrementally.
    let mut l3 = laptop(&root.path().join("l3"), &recipient);
    accept(&mut centre, &l3);
    let c_v1 = interview(&mut l3, "XH-02", "9号楼901室", 50);
    let (b3a, _) = l3
        .export_bundle(root.path().join("l3a.shequ"), false, false, t(55))
        .unwrap();
    let v2 = l3.edit_interview(c_v1, t(60)).unwrap();
    l3.answer(v2.instance_id, "b1", "2", Lang::ZhCn, t(61))
        .unwrap();
    assert!(
        l3.finalize(v2.instance_id, Lang::ZhCn, t(62))
            .unwrap()
            .finalized
    );
    let (b3b, row3b) = l3
        .export_bundle(root.path().join("l3b.shequ"), true, false, t(65))
        .unwrap();
    assert_eq!(
        row3b.responses, 1,
        "only the new version since the last export"
    );

    // Delivery: out of order, one bundle twice.
    let r = centre
        .import_bundle(&b3b, "l3b.shequ", false, t(100))
        .unwrap();
    assert_eq!(
        (r.counts.versions, r.counts.new, r.unknown_device),
        (1, 0, true)
    );
    let r = centre
        .import_bundle(&b1, "l1.shequ", false, t(101))
        .unwrap();
    assert_eq!((r.counts.new, r.unknown_device), (2, true));
    let before = centre.home().unwrap();
    let again = centre
        .import_bundle(&b1, "l1.shequ", false, t(102))
        .unwrap();
    assert!(again.already_imported);
    assert_eq!(
        centre.home().unwrap().communities,
        before.communities,
        "the same bundle twice changes nothing"
    );
    let r = centre
        .import_bundle(&b2, "l2.shequ", false, t(103))
        .unwrap();
    assert_eq!(r.counts.new, 1);
    let r = centre
        .import_bundle(&b3a, "l3a.shequ", false, t(104))
        .unwrap();
    assert_eq!((r.counts.new, r.unknown_device), (1, false));
    let r = centre
        .import_bundle(&b1_conflict, "l1b.shequ", false, t(105))
        .unwrap();
    assert_eq!(
        (r.counts.conflicts, r.counts.duplicates),
        (1, 1),
        "a1 differs, a2 is the same"
    );

    // Response by response.
    let s = centre.store();
    for id in [a1, a2, b_only, c_v1, v2.instance_id] {
        assert_eq!(
            s.response(id).unwrap().status,
            ResponseStatus::Finalized,
            "{id}"
        );
    }
    assert_eq!(
        s.response(v2.instance_id).unwrap().deprecated_id,
        Some(c_v1)
    );
    assert_eq!(s.stored_answers(v2.instance_id).unwrap().values["b1"], "2");
    assert_eq!(
        s.stored_answers(c_v1).unwrap().values["b1"],
        "4",
        "the superseded version is kept"
    );
    assert_eq!(
        s.stored_answers(a1).unwrap().values["b1"],
        "4",
        "a conflict never overwrites silently"
    );
    let summaries = centre.home().unwrap().communities;
    let finalized = |code: &str| {
        summaries
            .iter()
            .find(|c| c.community.code == code)
            .unwrap()
            .finalized
    };
    assert_eq!(
        (finalized("DH-01"), finalized("XH-02")),
        (2, 2),
        "v1 and v2 of one interview count once"
    );
    let conflicts = centre.conflicts(true).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].instance_id, a1.to_string());

    // Re-delivering the conflicting bundle adds nothing.
    assert!(
        centre
            .import_bundle(&b1_conflict, "l1b.shequ", false, t(106))
            .unwrap()
            .already_imported
    );
    assert_eq!(centre.conflicts(false).unwrap().len(), 1);

    // The analyst takes the incoming version; it is audited.
    centre
        .resolve_conflict(&conflicts[0].id, true, t(110))
        .unwrap();
    assert_eq!(centre.store().stored_answers(a1).unwrap().values["b1"], "1");
    assert!(centre.conflicts(true).unwrap().is_empty());
    let audit = centre
        .store()
        .audit_for("response", &a1.to_string())
        .unwrap();
    assert!(audit.iter().any(|e| e.field.as_deref() == Some("conflict")
        && e.new_value.as_deref() == Some("took_incoming")));
    assert!(
        audit
            .iter()
            .any(|e| e.new_value.as_deref() == Some("finalized")),
        "the laptop's audit trail travelled"
    );

    // The version taking the incoming one replaced is kept, and comes back exactly.
    let before_restore = centre.store().stored_answers(a1).unwrap();
    let replaced = centre.replaced_versions().unwrap();
    assert_eq!(
        (
            replaced.len(),
            replaced[0].id.as_str(),
            replaced[0].restorable
        ),
        (1, conflicts[0].id.as_str(), true)
    );
    assert_eq!(
        centre.restore_replaced(&conflicts[0].id, t(120)).unwrap(),
        a1.to_string()
    );
    let restored = centre.store().stored_answers(a1).unwrap();
    assert_eq!(restored.values["b1"], "4", "the replaced answer is back");
    assert_eq!(restored.values.len(), before_restore.values.len());
    assert_eq!(
        centre.store().response(a1).unwrap().status,
        ResponseStatus::Finalized
    );
    let all = centre.conflicts(false).unwrap();
    assert_eq!(
        (all[0].resolution.as_deref(), all[0].restorable),
        (Some("kept_existing"), false)
    );
    assert!(centre.replaced_versions().unwrap().is_empty());
    let audit = centre
        .store()
        .audit_for("response", &a1.to_string())
        .unwrap();
    assert!(audit.iter().any(|e| e.field.as_deref() == Some("conflict")
        && e.old_value.as_deref() == Some("took_incoming")
        && e.new_value.as_deref() == Some("restored_replaced")));
    assert_eq!(
        centre
            .restore_replaced(&conflicts[0].id, t(121))
            .unwrap_err()
            .code,
        shequ_core::ErrorCode::NotFound,
        "restored once"
    );
}

#[test]
fn export_without_a_centre_key_needs_consent_and_a_laptop_cannot_read_encrypted_bundles() {
    let root = tempfile::tempdir().unwrap();
    let mut lone = App::open(
        &root.path().join("lone"),
        &shequ_app::Passphrase::new("test passphrase"),
        t(0),
    )
    .unwrap();
    let err = lone
        .export_bundle(root.path().join("x.shequ"), false, false, t(1))
        .unwrap_err();
    assert_eq!(err.code, shequ_core::ErrorCode::UnencryptedExport);
    let (plain, row) = lone
        .export_bundle(root.path().join("x.shequ"), false, true, t(2))
        .unwrap();
    assert!(!row.encrypted && plain.starts_with(b"PK"));

    let mut centre = App::open(
        &root.path().join("centre"),
        &shequ_app::Passphrase::new("test passphrase"),
        t(0),
    )
    .unwrap();
    let recipient = centre.init_centre().unwrap();
    let mut l = laptop(&root.path().join("l"), &recipient);
    accept(&mut centre, &l);
    interview(&mut l, "DH-01", "1-101", 5);
    let (enc, _) = l
        .export_bundle(root.path().join("l.shequ"), false, false, t(10))
        .unwrap();
    let mut other = App::open(
        &root.path().join("other"),
        &shequ_app::Passphrase::new("test passphrase"),
        t(0),
    )
    .unwrap();
    let err = other
        .import_bundle(&enc, "l.shequ", false, t(11))
        .unwrap_err();
    assert_eq!(err.params["bundle_problem"], "no_centre_key");
    other.init_centre().unwrap();
    let err = other
        .import_bundle(&enc, "l.shequ", false, t(12))
        .unwrap_err();
    assert_eq!(err.params["bundle_problem"], "wrong_key");
    assert!(
        err.message(Lang::ZhCn).contains("l.shequ"),
        "{}",
        err.message(Lang::ZhCn)
    );
    assert_eq!(
        centre
            .import_bundle(&enc, "l.shequ", false, t(13))
            .unwrap()
            .counts
            .new,
        1
    );
}

/// The answers of a bundle file as the centre would read them: its response instance ids.
fn bundle_ids(bytes: &[u8]) -> Vec<Uuid> {
    let opened =
        shequ_bundle::open_bundle(bytes, None, shequ_bundle::ReadLimits::default()).unwrap();
    opened
        .content
        .responses
        .iter()
        .map(|r| r.instance_id)
        .collect()
}

#[test]
fn a_failed_write_records_nothing_so_the_next_since_last_export_is_complete() {
    let root = tempfile::tempdir().unwrap();
    let mut l = laptop(&root.path().join("l"), "");
    let first = interview(&mut l, "DH-01", "1-101", 5);
    let (_, row) = l
        .export_bundle(root.path().join("b1.shequ"), true, true, t(10))
        .unwrap();
    assert_eq!((row.bundle_seq, row.responses), (Some(1), 1));
    let second = interview(&mut l, "DH-01", "1-102", 20);
    let third = interview(&mut l, "XH-02", "2-201", 30);

    // The USB stick was pulled: its folder is gone.
    let stick = root.path().join("stick");
    let err = l
        .export_bundle(stick.join("b2.shequ"), true, true, t(40))
        .unwrap_err();
    assert_eq!(err.code, shequ_core::ErrorCode::FileUnwritable);
    assert_eq!(
        err.params["path"],
        stick.join("b2.shequ").display().to_string()
    );
    let zh = err.message(Lang::ZhCn);
    assert!(
        zh.contains("无法写入文件") && zh.contains("U 盘是否已拔出") && !zh.contains("读取"),
        "{zh}"
    );
    assert!(!stick.exists(), "no folder made on the laptop's disk");
    // A folder in the way of the file name.
    let in_the_way = root.path().join("b2.shequ");
    std::fs::create_dir(&in_the_way).unwrap();
    let err = l.export_bundle(&in_the_way, true, true, t(41)).unwrap_err();
    assert_eq!(err.params["io_problem"], "is_directory");
    // Through the exchange screen's path too (a folder that does not exist).
    assert!(l.export_bundle_to(&stick, true, true, t(42)).is_err());
    assert_eq!(
        l.last_export().unwrap().unwrap().bundle_seq,
        Some(1),
        "nothing recorded"
    );

    let (bytes, row) = l
        .export_bundle(root.path().join("b2-again.shequ"), true, true, t(50))
        .unwrap();
    assert_eq!(
        (row.bundle_seq, bundle_ids(&bytes)),
        (Some(2), vec![second, third]),
        "everything since bundle 1, and bundle 2 is still bundle 2"
    );
    let (path, row) = l.export_bundle_to(root.path(), false, true, t(60)).unwrap();
    assert_eq!(row.bundle_seq, Some(3));
    assert!(path.file_name().unwrap().to_str().unwrap().contains("-b3-"));
    assert_eq!(
        bundle_ids(&std::fs::read(&path).unwrap()),
        vec![first, second, third]
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_clock_set_back_hides_nothing_from_since_last() {
    let root = tempfile::tempdir().unwrap();
    let mut l = laptop(&root.path().join("l"), "");
    let a = interview(&mut l, "DH-01", "1-101", 100);
    let (bytes, _) = l
        .export_bundle(root.path().join("b1.shequ"), true, true, t(200))
        .unwrap();
    assert_eq!(bundle_ids(&bytes), vec![a]);
    // The laptop's clock is now a day behind the last export.
    let b = interview(&mut l, "DH-01", "1-102", 200 - 24 * 60);
    let edit = l.edit_interview(a, t(200 - 24 * 60 + 5)).unwrap();
    l.answer(
        edit.instance_id,
        "b1",
        "1",
        Lang::ZhCn,
        t(200 - 24 * 60 + 6),
    )
    .unwrap();
    assert!(
        l.finalize(edit.instance_id, Lang::ZhCn, t(200 - 24 * 60 + 7))
            .unwrap()
            .finalized
    );
    let (bytes, row) = l
        .export_bundle(
            root.path().join("b2.shequ"),
            true,
            true,
            t(200 - 24 * 60 + 10),
        )
        .unwrap();
    assert_eq!(bundle_ids(&bytes), vec![b, edit.instance_id]);
    assert_eq!(row.bundle_seq, Some(2));
    // And the next one, with nothing new, is empty, not a repeat.
    let (bytes, _) = l
        .export_bundle(root.path().join("b3.shequ"), true, true, t(1))
        .unwrap();
    assert!(bundle_ids(&bytes).is_empty());
    assert_eq!(l.last_export().unwrap().unwrap().bundle_seq, Some(3));
}

#[test]
fn the_centre_names_the_bundles_of_a_laptop_it_has_not_received() {
    let root = tempfile::tempdir().unwrap();
    let mut centre = App::open(
        &root.path().join("centre"),
        &shequ_app::Passphrase::new("test passphrase"),
        t(0),
    )
    .unwrap();
    let recipient = centre.init_centre().unwrap();
    let mut l = laptop(&root.path().join("l"), &recipient);
    accept(&mut centre, &l);
    let mut bundles = Vec::new();
    for i in 0..5 {
        interview(&mut l, "DH-01", &format!("1-10{i}"), 10 * i);
        let (bytes, row) = l
            .export_bundle(
                root.path().join(format!("b{i}.shequ")),
                true,
                false,
                t(10 * i + 5),
            )
            .unwrap();
        assert_eq!(row.bundle_seq, Some(i as u32 + 1));
        bundles.push(bytes);
    }
    assert!(centre.bundle_status().unwrap().is_empty());
    for i in [0, 1, 3] {
        let r = centre
            .import_bundle(&bundles[i], "b.shequ", false, t(100))
            .unwrap();
        assert_eq!(r.bundle_seq, Some(i as u32 + 1));
    }
    let status = centre.bundle_status().unwrap();
    assert_eq!(status.len(), 1);
    let s = &status[0];
    assert_eq!(
        (
            s.number,
            s.device_id.as_str(),
            s.received.clone(),
            s.missing.clone(),
            s.total
        ),
        (1, l.device_id(), vec![1, 2, 4], vec![3], 4)
    );
    let short = &l.device_id()[..8];
    assert_eq!(
        s.message(Lang::ZhCn),
        format!("笔记本 1（{short}）：缺第 3 包（共 4 包）")
    );
    assert_eq!(
        s.message(Lang::En),
        format!("laptop 1 ({short}): bundle 3 of 4 missing")
    );

    // Bundle 5 arrives too: 3 is still missing; then 3 arrives and all five are in.
    centre
        .import_bundle(&bundles[4], "b5.shequ", false, t(101))
        .unwrap();
    assert_eq!(centre.bundle_status().unwrap()[0].missing, vec![3]);
    centre
        .import_bundle(&bundles[2], "b3.shequ", false, t(102))
        .unwrap();
    let s = &centre.bundle_status().unwrap()[0];
    assert_eq!((s.missing.clone(), s.total), (vec![], 5));
    assert_eq!(
        s.message(Lang::ZhCn),
        format!("笔记本 1（{short}）：5 个数据包都已收到")
    );

    // A second laptop whose bundle 2 never came, then a full export (bundle 3) that
    // carries everything: nothing is missing any more.
    let mut l2 = laptop(&root.path().join("l2"), &recipient);
    accept(&mut centre, &l2);
    let mut b = Vec::new();
    for (i, since_last) in [true, true, false].into_iter().enumerate() {
        interview(&mut l2, "XH-02", &format!("2-20{i}"), 10 * i as i64);
        b.push(
            l2.export_bundle(
                root.path().join(format!("c{i}.shequ")),
                since_last,
                false,
                t(50 + i as i64),
            )
            .unwrap()
            .0,
        );
    }
    centre
        .import_bundle(&b[0], "c1.shequ", false, t(110))
        .unwrap();
    assert_eq!(
        centre.bundle_status().unwrap()[1].missing,
        Vec::<u32>::new()
    );
    centre
        .import_bundle(&b[0], "c1.shequ", false, t(110))
        .unwrap();
    let r = centre
        .import_bundle(&b[2], "c3.shequ", false, t(111))
        .unwrap();
    assert_eq!(
        r.counts.new, 2,
        "the full bundle brought bundle 2's interview"
    );
    let s = &centre.bundle_status().unwrap()[1];
    assert_eq!(
        (s.number, s.received.clone(), s.missing.clone(), s.total),
        (2, vec![1, 3], vec![], 3)
    );
}
