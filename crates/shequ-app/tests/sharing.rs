//! Cluster and library records kept in step between a field laptop and the centre through
//! bundles (format version 2): the centre writes back to the laptops whose keys came with
//! their bundles; the same bundle twice changes nothing; bundles arriving out of order never
//! take a record back; an edit made on both sides is a conflict kept for the analyst, and
//! settling it brings both stores to the same versions.

use chrono::NaiveDate;
use shequ_app::clusters::{NewFollowUp, NewMeeting};
use shequ_app::{App, Passphrase};
use shequ_core::ErrorCode;

mod common;
use common::*;

fn read_manifest(
    bytes: &[u8],
    centre: Option<&shequ_bundle::CentreIdentity>,
) -> shequ_bundle::Manifest {
    shequ_bundle::open_bundle(bytes, centre, shequ_bundle::ReadLimits::default())
        .unwrap()
        .manifest
}

fn follow_up_status(app: &App, now: chrono::DateTime<chrono::Utc>) -> String {
    app.cluster("东湖一组", now).unwrap().meetings[0].follow_ups[0]
        .status
        .clone()
}

/// Every shared record with its version, for comparing two stores.
fn state(app: &App) -> Vec<(String, String, String, String)> {
    let mut all: Vec<_> = app
        .store()
        .shared_bodies()
        .unwrap()
        .into_iter()
        .map(|(k, id, body)| {
            let v = app.store().shared_versions().unwrap()[&(k.to_string(), id.clone())]
                .version
                .clone();
            (k.to_string(), id, serde_json::to_string(&body).unwrap(), v)
        })
        .collect();
    all.sort();
    all
}

#[test]
fn clusters_travel_both_ways_twice_out_of_order_and_with_a_conflict() {
    let root = tempfile::tempdir().unwrap();
    let pass = Passphrase::new("test passphrase");
    let mut centre = App::open(&root.path().join("centre"), &pass, t(0)).unwrap();
    let recipient = centre.init_centre().unwrap();
    let mut l = laptop(&root.path().join("laptop"), &recipient);
    accept(&mut centre, &l);
    // The centre has no laptop's key yet: it cannot write back encrypted.
    let err = centre
        .export_bundle(root.path().join("none.shequ"), false, false, t(1))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NoDeviceKeys);

    // 1. The laptop hands over an interview. No shared records yet: still format version 1,
    //    which a centre of the previous release reads.
    interview(&mut l, "DH-01", "1号楼101室", 10);
    interview(&mut l, "XH-02", "2号楼202室", 12);
    let (b1, _) = l
        .export_bundle(root.path().join("b1.shequ"), true, false, t(20))
        .unwrap();
    let centre_key = shequ_bundle::CentreIdentity::parse(
        &centre.store().setting("centre_identity").unwrap().unwrap(),
    )
    .unwrap();
    let m = read_manifest(&b1, Some(&centre_key));
    assert_eq!((m.format_version, m.counts.shared), (1, 0));
    assert!(m.device_recipient.as_deref().unwrap().starts_with("age1"));
    let r = centre.import_bundle(&b1, "b1.shequ", false, t(21)).unwrap();
    assert_eq!(r.counts.new, 2);

    // 2. The centre forms a cluster and records a meeting with a follow-up, then writes it
    //    back: version 2, no interviews, encrypted to the laptop alone.
    centre
        .create_cluster(
            "东湖一组",
            &["DH-01".to_string(), "XH-02".to_string()],
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            3,
            t(30),
        )
        .unwrap();
    centre.rotate_cluster("东湖一组", 4, t(31)).unwrap();
    centre
        .add_meeting(
            "东湖一组",
            &NewMeeting {
                held_on: "2026-02-20".into(),
                attendees: vec!["DH-01".into(), "XH-02".into()],
                minutes: "商定共用停车管理方案".into(),
                decisions: vec!["两社区联合申请停车改造项目".into()],
                follow_ups: vec![NewFollowUp {
                    action: "起草项目申请书".into(),
                    owner: "DH-01".into(),
                    due: Some("2026-04-30".into()),
                }],
            },
            t(32),
        )
        .unwrap();
    let n1 = root.path().join("n1.shequ");
    let (n1_bytes, row) = centre.export_bundle(&n1, false, false, t(40)).unwrap();
    assert_eq!((row.responses, row.encrypted), (0, true));
    let stranger = shequ_bundle::CentreIdentity::generate();
    assert_eq!(
        shequ_bundle::open_bundle(&n1_bytes, Some(&stranger), Default::default())
            .unwrap_err()
            .params["bundle_problem"],
        "wrong_key"
    );
    // The laptop opens it with its own key, once it has accepted the centre's fingerprint.
    let refused = l
        .import_bundle(&n1_bytes, "n1.shequ", false, t(41))
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::DeviceNotEnrolled);
    l.accept_device(&centre.device_fingerprint().unwrap())
        .unwrap();
    let r = l
        .import_bundle(&n1_bytes, "n1.shequ", false, t(41))
        .unwrap();
    // cluster + 2 members + 4 chair turns + meeting + follow-up
    assert_eq!(
        (r.counts.shared_new, r.counts.shared_updated, r.counts.new),
        (9, 0, 0)
    );
    let at_centre = centre.cluster("东湖一组", t(42)).unwrap();
    let at_laptop = l.cluster("东湖一组", t(42)).unwrap();
    assert_eq!(at_laptop.members, at_centre.members);
    assert_eq!(at_laptop.schedule, at_centre.schedule);
    assert_eq!(at_laptop.meetings, at_centre.meetings);
    assert_eq!(state(&l), state(&centre));

    // 3. Twice: the same file is recognised, and a new file with the same records changes
    //    nothing.
    let again = l
        .import_bundle(&n1_bytes, "n1.shequ", false, t(43))
        .unwrap();
    assert!(again.already_imported);
    let (n1_again, _) = centre
        .export_bundle(root.path().join("n1b.shequ"), false, false, t(44))
        .unwrap();
    let r = l
        .import_bundle(&n1_again, "n1b.shequ", false, t(45))
        .unwrap();
    assert_eq!(
        (
            r.counts.shared_new,
            r.counts.shared_updated,
            r.counts.shared_unchanged
        ),
        (0, 0, 9)
    );

    // 4. Out of order: the follow-up is done, then dropped; the later bundle arrives first.
    let fid = at_centre.meetings[0].follow_ups[0].id.clone();
    centre.set_follow_up(&fid, "done", t(50)).unwrap();
    let (n2, _) = centre
        .export_bundle(root.path().join("n2.shequ"), true, false, t(51))
        .unwrap();
    centre.set_follow_up(&fid, "dropped", t(52)).unwrap();
    let (n3, _) = centre
        .export_bundle(root.path().join("n3.shequ"), true, false, t(53))
        .unwrap();
    assert_eq!(
        read_manifest(&n3, Some(&stranger_free(&l))).counts.shared,
        1,
        "since last: only the edit"
    );
    let r = l.import_bundle(&n3, "n3.shequ", false, t(54)).unwrap();
    assert_eq!(r.counts.shared_updated, 1);
    assert_eq!(follow_up_status(&l, t(54)), "dropped");
    let r = l.import_bundle(&n2, "n2.shequ", false, t(55)).unwrap();
    assert_eq!((r.counts.shared_updated, r.counts.shared_unchanged), (0, 1));
    assert_eq!(
        follow_up_status(&l, t(55)),
        "dropped",
        "the late bundle takes nothing back"
    );

    // 5. A conflict: both sides change the follow-up before they hear from each other.
    l.set_follow_up(&fid, "open", t(60)).unwrap();
    centre.set_follow_up(&fid, "done", t(61)).unwrap();
    let (b2, _) = l
        .export_bundle(root.path().join("b2.shequ"), true, false, t(62))
        .unwrap();
    let r = centre.import_bundle(&b2, "b2.shequ", false, t(63)).unwrap();
    assert_eq!((r.counts.shared_conflicts, r.counts.shared_updated), (1, 0));
    assert_eq!(
        follow_up_status(&centre, t(63)),
        "done",
        "the stored record stays"
    );
    let kept = centre.shared_conflicts(true).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].kind.as_str(), kept[0].record_id.as_str()),
        ("follow_up", fid.as_str())
    );
    assert!(
        kept[0].incoming.contains("\"status\":\"open\""),
        "{}",
        kept[0].incoming
    );
    assert!(kept[0]
        .stored
        .as_deref()
        .unwrap()
        .contains("\"status\":\"done\""));
    // The laptop sends everything again: the conflict is known, nothing new is kept.
    let (b3, _) = l
        .export_bundle(root.path().join("b3.shequ"), false, false, t(64))
        .unwrap();
    let r = centre.import_bundle(&b3, "b3.shequ", false, t(65)).unwrap();
    assert_eq!((r.counts.shared_conflicts, r.counts.duplicates), (0, 2));
    assert_eq!(centre.shared_conflicts(false).unwrap().len(), 1);

    // 6. The analyst takes the laptop's version; the settled record reaches the laptop as
    //    newer (no conflict there), and both stores hold the same versions.
    centre
        .resolve_shared_conflict(&kept[0].id, true, t(70))
        .unwrap();
    assert_eq!(follow_up_status(&centre, t(70)), "open");
    assert!(centre.shared_conflicts(true).unwrap().is_empty());
    let (n4, _) = centre
        .export_bundle(root.path().join("n4.shequ"), true, false, t(71))
        .unwrap();
    let r = l.import_bundle(&n4, "n4.shequ", false, t(72)).unwrap();
    assert_eq!((r.counts.shared_updated, r.counts.shared_conflicts), (1, 0));
    assert_eq!(state(&l), state(&centre));
    // Nothing left to send either way.
    let (b4, _) = l
        .export_bundle(root.path().join("b4.shequ"), true, false, t(73))
        .unwrap();
    assert_eq!(read_manifest(&b4, Some(&centre_key)).counts.shared, 0);
}

/// The laptop's own identity, to read what the centre sent it.
fn stranger_free(l: &App) -> shequ_bundle::CentreIdentity {
    shequ_bundle::CentreIdentity::parse(&l.store().setting("device_age_identity").unwrap().unwrap())
        .unwrap()
}

#[test]
fn a_cluster_whose_name_is_taken_here_is_kept_as_a_conflict_and_the_rest_applies() {
    let root = tempfile::tempdir().unwrap();
    let pass = Passphrase::new("test passphrase");
    let mut centre = App::open(&root.path().join("centre"), &pass, t(0)).unwrap();
    let recipient = centre.init_centre().unwrap();
    let mut l = laptop(&root.path().join("laptop"), &recipient);
    accept(&mut centre, &l);
    interview(&mut l, "DH-01", "1号楼101室", 10);
    interview(&mut l, "XH-02", "2号楼202室", 12);
    let (b1, _) = l
        .export_bundle(root.path().join("b1.shequ"), true, false, t(20))
        .unwrap();
    centre.import_bundle(&b1, "b1.shequ", false, t(21)).unwrap();
    let members = ["DH-01".to_string(), "XH-02".to_string()];
    let jan = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    centre
        .create_cluster("东湖一组", &members, jan, 3, t(30))
        .unwrap();
    centre
        .add_case(
            &shequ_app::clusters::NewCase {
                title: "楼道议事会".into(),
                summary: "每月一次楼道议事".into(),
                cluster: None,
                community: Some("DH-01".into()),
                tags: vec![],
                checklist_items: vec![],
            },
            t(31),
        )
        .unwrap();
    // The laptop made a cluster of the same name on its own (another id).
    l.create_cluster("东湖一组", &members, jan, 6, t(32))
        .unwrap();
    let (n1, _) = centre
        .export_bundle(root.path().join("n1.shequ"), false, false, t(40))
        .unwrap();
    l.accept_device(&centre.device_fingerprint().unwrap())
        .unwrap();
    let r = l.import_bundle(&n1, "n1.shequ", false, t(41)).unwrap();
    // The case applies; the cluster and its two members cannot (the name is taken here, the
    // members belong to a cluster that is not here) and wait for the analyst.
    assert_eq!((r.counts.shared_new, r.counts.shared_conflicts), (1, 3));
    assert_eq!(
        l.cluster("东湖一组", t(42)).unwrap().cluster.months,
        6,
        "the laptop's own stays"
    );
    assert_eq!(l.cases(None, None).unwrap().len(), 1);
    let kept = l.shared_conflicts(true).unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|c| c.stored_version.is_empty()));
    // Taking the incoming cluster is refused while the name is taken, and changes nothing.
    let c = kept.iter().find(|c| c.kind == "cluster").unwrap();
    let err = l.resolve_shared_conflict(&c.id, true, t(43)).unwrap_err();
    assert_eq!(err.params["why"], "shared_clash");
    assert_eq!(l.shared_conflicts(true).unwrap().len(), 3);
    // The same bundle's records again: the conflicts are known, none added.
    let (n1b, _) = centre
        .export_bundle(root.path().join("n1b.shequ"), false, false, t(44))
        .unwrap();
    let r = l.import_bundle(&n1b, "n1b.shequ", false, t(45)).unwrap();
    assert_eq!((r.counts.shared_new, r.counts.shared_conflicts), (0, 0));
    assert_eq!(l.shared_conflicts(false).unwrap().len(), 3);
}
