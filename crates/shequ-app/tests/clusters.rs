//! Community clusters on the demo district: proposals from the classification, confirmation
//! and its refusals, the chair's rotation kept as history across joins and leaves, meetings
//! and follow-ups.

use chrono::{NaiveDate, TimeZone, Utc};
use shequ_analysis::clusters::Grouping;
use shequ_app::clusters::{NewFollowUp, NewMeeting};
use shequ_app::{App, Passphrase};
use shequ_core::{ErrorCode, Lang};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn demo() -> (tempfile::TempDir, App, chrono::DateTime<Utc>) {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
    let mut app = App::open(dir.path(), &Passphrase::new("test passphrase"), now).unwrap();
    app.load_demo(now).unwrap();
    (dir, app, now)
}

fn codes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_demo_district_is_proposed_in_same_type_pairs_with_what_they_share() {
    let (_dir, mut app, now) = demo();
    // The demo's classification (crates/shequ-app/src/demo.rs): Integral DH-06 and XH-05,
    // Parochial DH-05 and XH-02, Anomic DH-02 and XH-01; Diffuse DH-01, Transitory DH-04 and
    // Stepping-stone XH-03 have no partner; DH-03, XH-04 and XH-06 have too few responses.
    let p = app.propose_clusters(Grouping::default(), now).unwrap();
    let groups: Vec<(String, Vec<String>)> = p
        .proposals
        .iter()
        .map(|g| {
            (
                serde_json::to_value(g.social_type)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                g.members.clone(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("integral".to_string(), codes(&["DH-06", "XH-05"])),
            ("parochial".to_string(), codes(&["DH-05", "XH-02"])),
            ("anomic".to_string(), codes(&["DH-02", "XH-01"])),
        ]
    );
    assert_eq!(p.alone, ["DH-01", "DH-04", "XH-03"]);
    // What they share, from each member's top needs and problems: DH-06 and XH-05 both have
    // parking and poor property management among their top problems.
    let shared: Vec<&str> = p.proposals[0]
        .shared
        .iter()
        .map(|s| s.term.as_str())
        .collect();
    assert_eq!(shared, ["problem:parking", "problem:property_service"]);
    assert_eq!(
        p.proposals[2]
            .shared
            .iter()
            .map(|s| s.term.as_str())
            .collect::<Vec<_>>(),
        ["problem:pets", "service:property"]
    );
    // By street, no two communities of a type share one: nothing is proposed.
    let by_street = app
        .propose_clusters(
            Grouping {
                by_housing: false,
                by_street: true,
                by_neighbours: false,
            },
            now,
        )
        .unwrap();
    assert!(by_street.proposals.is_empty());
    assert_eq!(by_street.alone.len(), 9);

    // Confirmed: the pair leaves the proposals.
    let v = app
        .create_cluster(
            " 整合型社区群 ",
            &codes(&["XH-05", "DH-06"]),
            day(2026, 1, 1),
            3,
            now,
        )
        .unwrap();
    assert_eq!(v.cluster.name, "整合型社区群");
    assert_eq!(v.cluster.social_type, "integral");
    assert_eq!(v.current, ["DH-06", "XH-05"]);
    let p = app.propose_clusters(Grouping::default(), now).unwrap();
    assert_eq!(p.proposals.len(), 2);
    assert_eq!(p.clustered, ["DH-06", "XH-05"]);

    // Matching DH-06 now counts XH-05's resources as its cluster's (0.6), above the
    // district's (0.4), though XH-05 is in another street; one of another community in
    // DH-06's own street ranks above both (0.8).
    let csv = "资源类型,名称,所属社区,所属街道,标签\n社会组织,西河停车互助队,XH-05,,停车难、乱停车\n社会组织,别处的停车队,DH-02,,停车难、乱停车\n";
    app.import_libraries(csv.as_bytes(), "r.csv", false, now)
        .unwrap();
    let m = app
        .community_matches("DH-06", None, 5, day(2026, 3, 1))
        .unwrap();
    let parking = m
        .demands
        .iter()
        .find(|d| d.demand.term == "problem:parking")
        .unwrap();
    let got: Vec<(&str, shequ_analysis::matching::Proximity)> = parking
        .candidates
        .iter()
        .map(|c| (c.supplier.name(), c.proximity))
        .collect();
    use shequ_analysis::matching::Proximity::*;
    assert_eq!(
        got,
        [
            ("别处的停车队", SameStreet),
            ("西河停车互助队", SameCluster)
        ]
    );

    // Refusals, each with its reason, nothing made.
    let refuse = |app: &mut App, name: &str, members: &[&str], months: u32| {
        let e = app
            .create_cluster(name, &codes(members), day(2026, 1, 1), months, now)
            .unwrap_err();
        (e.code, e.message(Lang::ZhCn))
    };
    let (code, msg) = refuse(&mut app, "一个人的群", &["DH-01"], 3);
    assert_eq!(code, ErrorCode::ClusterInvalid);
    assert_eq!(msg, "社区群至少要有两个成员社区，现在只有 1 个。");
    let (_, msg) = refuse(&mut app, "重复的群", &["DH-01", "DH-01"], 3);
    assert!(msg.contains("只有 1 个"), "{msg}");
    let (_, msg) = refuse(&mut app, "抢人的群", &["DH-01", "XH-05"], 3);
    assert_eq!(
        msg,
        "XH-05 已经在社区群“整合型社区群”里了，一个社区同时只能在一个社区群。"
    );
    let (code, _) = refuse(&mut app, "查无此社区", &["DH-01", "NOPE-1"], 3);
    assert_eq!(code, ErrorCode::NotFound);
    let (_, msg) = refuse(&mut app, "整合型社区群", &["DH-01", "DH-04"], 3);
    assert!(msg.contains("已经有社区群在用了"), "{msg}");
    let (_, msg) = refuse(&mut app, "周期不对", &["DH-01", "DH-04"], 0);
    assert!(msg.contains("1 到 12 个月"), "{msg}");
    let (_, msg) = refuse(&mut app, "  ", &["DH-01", "DH-04"], 3);
    assert!(msg.contains("要有名称"), "{msg}");
    assert_eq!(app.clusters(now).unwrap().len(), 1);
}

#[test]
fn the_chair_rotates_fairly_is_kept_as_history_and_meetings_take_their_rounds_chair() {
    let (_dir, mut app, now) = demo();
    app.create_cluster(
        "老旧小区群",
        &codes(&["DH-01", "XH-02", "DH-04"]),
        day(2026, 1, 1),
        3,
        now,
    )
    .unwrap();
    // Four quarters kept: in joining order, then by code.
    let v = app.rotate_cluster("老旧小区群", 4, now).unwrap();
    let chairs = |v: &shequ_app::clusters::ClusterView| -> Vec<(u32, String, bool)> {
        v.schedule
            .iter()
            .map(|t| (t.round, t.chair.clone(), t.kept))
            .collect()
    };
    assert_eq!(
        chairs(&v)[..6],
        [
            (1, "DH-01".to_string(), true),
            (2, "DH-04".to_string(), true),
            (3, "XH-02".to_string(), true),
            (4, "DH-01".to_string(), true),
            (5, "DH-04".to_string(), false),
            (6, "XH-02".to_string(), false),
        ]
    );
    // XH-03 joins on 2027-02-01 (before round 6, 2027-04-01); DH-04 leaves on 2027-03-01.
    app.set_cluster_member("老旧小区群", "XH-03", day(2027, 2, 1), true, now)
        .unwrap();
    app.set_cluster_member("老旧小区群", "DH-04", day(2027, 3, 1), false, now)
        .unwrap();
    let v = app.rotate_cluster("老旧小区群", 9, now).unwrap();
    let got: Vec<(u32, String)> = v
        .schedule
        .iter()
        .take(9)
        .map(|t| (t.round, t.chair.clone()))
        .collect();
    // Cycle 2 began in round 4 with DH-01; round 5 (2027-01-01) DH-04 is still in; round 6
    // (2027-04-01) XH-02; round 7: XH-03, who joined mid-cycle at the end of the queue;
    // cycle 3: DH-01, XH-02 (DH-04 left).
    assert_eq!(
        got,
        [
            (1, "DH-01".into()),
            (2, "DH-04".into()),
            (3, "XH-02".into()),
            (4, "DH-01".into()),
            (5, "DH-04".into()),
            (6, "XH-02".into()),
            (7, "XH-03".into()),
            (8, "DH-01".into()),
            (9, "XH-02".into()),
        ]
    );
    assert!(v.schedule.iter().take(9).all(|t| t.kept));
    // Kept turns are history: asking again changes none of them.
    let again = app.rotate_cluster("老旧小区群", 9, now).unwrap();
    assert_eq!(again.schedule[..9], v.schedule[..9]);

    // Membership refusals.
    let e = app
        .set_cluster_member("老旧小区群", "DH-04", day(2027, 6, 1), false, now)
        .unwrap_err();
    assert_eq!(
        e.message(Lang::ZhCn),
        "DH-04 在 2027-06-01 不是“老旧小区群”的成员。"
    );
    let e = app
        .set_cluster_member("老旧小区群", "XH-03", day(2027, 6, 1), true, now)
        .unwrap_err();
    assert!(e.message(Lang::ZhCn).contains("已经是“老旧小区群”的成员"));

    // A meeting in round 6 is chaired by round 6's chair; its follow-ups are open.
    let meeting = NewMeeting {
        held_on: "2027-05-12".into(),
        attendees: vec!["梧桐里社区 王书记".into(), "柳岸社区 李主任".into()],
        minutes: "交流加装电梯经验，商定联合申报项目。".into(),
        decisions: vec!["联合申报 2027 年度加梯项目".into()],
        follow_ups: vec![NewFollowUp {
            action: "汇总各社区加梯意向户数".into(),
            owner: "梧桐里社区".into(),
            due: Some("2027-06-30".into()),
        }],
    };
    // Meetings are recorded after they are held: the clock is now mid-2028.
    let later_now = Utc.with_ymd_and_hms(2028, 6, 1, 8, 0, 0).unwrap();
    let future = NewMeeting {
        held_on: "2028-07-01".into(),
        ..meeting.clone()
    };
    let e = app
        .add_meeting("老旧小区群", &future, later_now)
        .unwrap_err();
    assert_eq!(
        e.message(Lang::ZhCn),
        "会议日期 2028-07-01 还没到：只能记录已经开过的会议。"
    );
    let typo = NewMeeting {
        held_on: "2027-5-12号".into(),
        ..meeting.clone()
    };
    let e = app.add_meeting("老旧小区群", &typo, later_now).unwrap_err();
    assert!(
        e.message(Lang::ZhCn).contains("日期请写成 2026-03-01 这样"),
        "{}",
        e.message(Lang::ZhCn)
    );
    let (v, id) = app.add_meeting("老旧小区群", &meeting, later_now).unwrap();
    assert_eq!(v.meetings[0].id, id);
    let m = &v.meetings[0];
    assert_eq!((m.round, m.record.chair.as_str()), (6, "XH-02"));
    assert_eq!(m.follow_ups[0].status, "open");
    let done = app.set_follow_up(&m.follow_ups[0].id, "done", now).unwrap();
    assert_eq!(done.status, "done");
    let e = app
        .set_follow_up(&m.follow_ups[0].id, "maybe", now)
        .unwrap_err();
    assert!(e.message(Lang::ZhCn).contains("跟进状态只能是"));
    // A meeting before round 1 belongs to no round.
    let early = NewMeeting {
        held_on: "2025-12-20".into(),
        ..meeting.clone()
    };
    let e = app
        .add_meeting("老旧小区群", &early, later_now)
        .unwrap_err();
    assert_eq!(
        e.message(Lang::ZhCn),
        "2025-12-20 不在“老旧小区群”的任何一轮里：第 1 轮从 2026-01-01 开始。"
    );
    // A meeting in a round not yet kept keeps the rotation through it first.
    let later = NewMeeting {
        held_on: "2028-02-03".into(),
        ..meeting.clone()
    };
    let (v, _) = app.add_meeting("老旧小区群", &later, later_now).unwrap();
    assert_eq!(v.meetings[1].round, 9);
    assert_eq!(v.meetings[1].record.chair, "XH-02");
    // An empty record, or a follow-up without an owner, is refused.
    let empty = NewMeeting {
        minutes: " ".into(),
        decisions: vec![],
        ..meeting.clone()
    };
    assert!(app.add_meeting("老旧小区群", &empty, later_now).is_err());
    let ownerless = NewMeeting {
        follow_ups: vec![NewFollowUp {
            action: "做点什么".into(),
            owner: "".into(),
            due: None,
        }],
        ..meeting.clone()
    };
    assert!(app
        .add_meeting("老旧小区群", &ownerless, later_now)
        .is_err());
    assert_eq!(app.cluster("老旧小区群", now).unwrap().meetings.len(), 2);

    // One cluster at a time, whatever the dates: XH-03 is in this cluster from 2027-02-01 on,
    // so another cluster starting earlier cannot take it; nor can it join again before then.
    let e = app
        .create_cluster(
            "抢先的群",
            &codes(&["XH-03", "DH-05"]),
            day(2026, 6, 1),
            3,
            now,
        )
        .unwrap_err();
    assert!(
        e.message(Lang::ZhCn)
            .contains("XH-03 已经在社区群“老旧小区群”里了"),
        "{}",
        e.message(Lang::ZhCn)
    );
    let e = app
        .set_cluster_member("老旧小区群", "XH-03", day(2026, 12, 1), true, now)
        .unwrap_err();
    assert!(e.message(Lang::ZhCn).contains("已经是“老旧小区群”的成员"));
    // A round count beyond any plan is refused.
    let e = app.rotate_cluster("老旧小区群", 100_000, now).unwrap_err();
    assert!(
        e.message(Lang::ZhCn).contains("1 到 400"),
        "{}",
        e.message(Lang::ZhCn)
    );

    // A cluster whose members all left has no chair for the rounds after.
    app.create_cluster(
        "短命的群",
        &codes(&["DH-02", "XH-01"]),
        day(2026, 1, 1),
        3,
        now,
    )
    .unwrap();
    app.set_cluster_member("短命的群", "DH-02", day(2026, 2, 1), false, now)
        .unwrap();
    app.set_cluster_member("短命的群", "XH-01", day(2026, 2, 1), false, now)
        .unwrap();
    let e = app.rotate_cluster("短命的群", 3, now).unwrap_err();
    assert_eq!(
        e.message(Lang::ZhCn),
        "“短命的群”在 2026-04-01 没有成员，无法安排这一轮的轮值主席。"
    );
}

#[test]
fn neighbours_propose_only_adjacent_pairs_and_bad_lists_write_nothing() {
    let (dir, mut app, now) = demo();
    let by_neighbours = Grouping {
        by_neighbours: true,
        ..Grouping::default()
    };
    // No list yet: no two communities are neighbours.
    assert!(app
        .propose_clusters(by_neighbours, now)
        .unwrap()
        .proposals
        .is_empty());
    let csv = dir.path().join("neighbours.csv");
    std::fs::write(
        &csv,
        "社区编码,相邻社区编码\nDH-06,XH-05\nDH-05,DH-04\nXH-02,XH-03\n",
    )
    .unwrap();
    assert_eq!(
        app.import_neighbours(&std::fs::read(&csv).unwrap(), "neighbours.csv", now)
            .unwrap(),
        3
    );
    let p = app.propose_clusters(by_neighbours, now).unwrap();
    let groups: Vec<&[String]> = p.proposals.iter().map(|g| &g.members[..]).collect();
    // Only the integral pair are neighbours; DH-05 and XH-02 (parochial) are not.
    assert_eq!(groups, [&codes(&["DH-06", "XH-05"])[..]]);
    assert!(p.alone.contains(&"DH-05".to_string()) && p.alone.contains(&"XH-02".to_string()));

    for (text, expected) in [
        ("社区编码,相邻社区编码\nDH-06,ZZ-99\n", "ZZ-99"),
        ("社区编码,相邻社区编码\nDH-06,DH-06\n", "不能和自己相邻"),
        ("甲,乙\nDH-06,XH-05\n", "社区编码"),
    ] {
        std::fs::write(&csv, text).unwrap();
        let e = app
            .import_neighbours(&std::fs::read(&csv).unwrap(), "neighbours.csv", now)
            .unwrap_err();
        assert!(
            e.message(Lang::ZhCn).contains(expected),
            "{}",
            e.message(Lang::ZhCn)
        );
    }
    assert_eq!(
        app.store().neighbours().unwrap().len(),
        3,
        "the old list stays"
    );
}

#[test]
fn the_annual_project_needs_list_drives_the_agenda_until_it_is_dropped() {
    let (dir, mut app, now) = demo();
    app.create_cluster(
        "整合型社区群",
        &codes(&["DH-06", "XH-05"]),
        day(2026, 1, 1),
        3,
        now,
    )
    .unwrap();
    let csv =
        "资源类型,名称,所属社区,所属街道,标签\n社会组织,西河停车互助队,XH-05,,停车难、乱停车\n";
    app.import_libraries(csv.as_bytes(), "r.csv", false, now)
        .unwrap();
    let need = |title: &str, tag: &str, year: i32| shequ_app::clusters::NewProjectNeed {
        year,
        tag: tag.into(),
        title: title.into(),
        note: String::new(),
    };
    // Refusals, nothing listed.
    for (n, expected) in [
        (need(" ", "", 2026), "项目需求要写个名称"),
        (need("停车改造", "", 1999), "2000 到 2100"),
        (need("停车改造", "停车南", 2026), "停车"),
    ] {
        let e = app.add_project_need("整合型社区群", &n, now).unwrap_err();
        assert!(
            e.message(Lang::ZhCn).contains(expected),
            "{}",
            e.message(Lang::ZhCn)
        );
    }
    assert!(app.project_needs("整合型社区群", None).unwrap().is_empty());
    let listed = app
        .add_project_need(
            "整合型社区群",
            &need("停车改造项目", "problem:parking", 2026),
            now,
        )
        .unwrap();
    assert_eq!(
        (listed.term.as_str(), listed.status.as_str()),
        ("problem:parking", "listed")
    );
    app.add_project_need("整合型社区群", &need("去年的项目", "", 2025), now)
        .unwrap();
    assert_eq!(
        app.project_needs("整合型社区群", Some(2026)).unwrap().len(),
        1
    );

    let rows = |app: &App| -> Vec<(String, String)> {
        let out = dir.path().join("agenda");
        std::fs::create_dir_all(&out).unwrap();
        let files = app
            .cluster_agenda("整合型社区群", Lang::ZhCn, &out, now)
            .unwrap();
        let xlsx = files
            .iter()
            .find(|f| f.extension().unwrap() == "xlsx")
            .unwrap();
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(xlsx).unwrap();
        use calamine::Reader;
        let range = wb.worksheet_range_at(0).unwrap().unwrap();
        range
            .rows()
            .skip(1)
            .filter(|r| !r[1].to_string().is_empty())
            .map(|r| (r[1].to_string(), r[5].to_string()))
            .collect()
    };
    // This year's list is the agenda: one item, titled by the cluster, matched to the resource.
    let got = rows(&app);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.starts_with("停车改造项目（"), "{got:?}");
    assert_eq!(got[0].1, "西河停车互助队");
    // Dropped: the agenda goes back to what the members share.
    app.set_project_need(&listed.id, "dropped", now).unwrap();
    let labels: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
    assert!(
        labels.len() >= 2 && !labels.iter().any(|l| l.contains("停车改造项目")),
        "{labels:?}"
    );
    let e = app
        .set_project_need(&listed.id, "finished", now)
        .unwrap_err();
    assert_eq!(e.params["why"], "need_status");
}

#[test]
fn one_library_entry_is_added_and_changed_from_the_form_with_the_import_s_checks() {
    let (_dir, mut app, now) = demo();
    let form = |id: Option<String>, pairs: &[(&str, &str)]| shequ_app::libraries::LibraryForm {
        library: "resources".into(),
        id,
        fields: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let libs = app
        .save_library_entry(
            &form(
                None,
                &[
                    ("kind", "社会组织"),
                    ("name", "停车互助队"),
                    ("community", "DH-06"),
                    ("capacity", "3"),
                    ("tags", "停车难、乱停车"),
                ],
            ),
            now,
        )
        .unwrap();
    assert_eq!(libs.resources.len(), 1);
    let r = &libs.resources[0];
    assert_eq!(
        (r.name.as_str(), r.capacity, r.tags.clone()),
        ("停车互助队", Some(3), vec!["problem:parking".to_string()])
    );
    assert_eq!(
        r.street,
        app.store()
            .community_by_code("DH-06")
            .unwrap()
            .unwrap()
            .street
    );
    let id = r.id.to_string();
    // Bad input: each refused with the field and the reason, nothing changed.
    for (pairs, expected) in [
        (
            vec![
                ("kind", "社会组织"),
                ("name", ""),
                ("community", "DH-06"),
                ("tags", "停车难、乱停车"),
            ],
            "名称",
        ),
        (
            vec![
                ("kind", "社会组织"),
                ("name", "队"),
                ("community", "DH-06"),
                ("capacity", "三个"),
                ("tags", "停车难、乱停车"),
            ],
            "三个",
        ),
        (
            vec![
                ("kind", "社会组织"),
                ("name", "队"),
                ("community", "DH-06"),
                ("tags", "停车南"),
            ],
            "最接近的是",
        ),
        (
            vec![
                ("kind", "外星组织"),
                ("name", "队"),
                ("community", "DH-06"),
                ("tags", "停车难、乱停车"),
            ],
            "外星组织",
        ),
    ] {
        let e = app
            .save_library_entry(&form(None, &pairs), now)
            .unwrap_err();
        let m = e.message(Lang::ZhCn);
        assert!(m.contains(expected) && !m.contains("文件"), "{m}");
    }
    let dup = app
        .save_library_entry(
            &form(
                None,
                &[
                    ("kind", "社会组织"),
                    ("name", "停车互助队"),
                    ("community", "DH-06"),
                    ("tags", "停车难、乱停车"),
                ],
            ),
            now,
        )
        .unwrap_err();
    assert_eq!(dup.params["why"], "library_duplicate");
    // Changed in place: same id, new name and capacity; a second entry cannot take its name.
    let libs = app
        .save_library_entry(
            &form(
                Some(id.clone()),
                &[
                    ("kind", "社会组织"),
                    ("name", "东湖停车互助队"),
                    ("community", "DH-06"),
                    ("capacity", "5"),
                    ("tags", "停车难、乱停车"),
                ],
            ),
            now,
        )
        .unwrap();
    assert_eq!(libs.resources.len(), 1);
    assert_eq!(
        (
            libs.resources[0].id.to_string(),
            libs.resources[0].name.as_str(),
            libs.resources[0].capacity
        ),
        (id.clone(), "东湖停车互助队", Some(5))
    );
    app.save_library_entry(
        &form(
            None,
            &[
                ("kind", "志愿者"),
                ("name", "老张"),
                ("community", "DH-06"),
                ("tags", "停车难、乱停车"),
            ],
        ),
        now,
    )
    .unwrap();
    let clash = app
        .save_library_entry(
            &form(
                Some(id.clone()),
                &[
                    ("kind", "志愿者"),
                    ("name", "老张"),
                    ("community", "DH-06"),
                    ("tags", "停车难、乱停车"),
                ],
            ),
            now,
        )
        .unwrap_err();
    assert_eq!(clash.params["why"], "library_duplicate");
    assert_eq!(
        app.resources()
            .unwrap()
            .iter()
            .find(|r| r.id.to_string() == id)
            .unwrap()
            .name,
        "东湖停车互助队"
    );
    let unknown = app
        .save_library_entry(
            &form(
                Some(shequ_core::new_id().to_string()),
                &[
                    ("kind", "志愿者"),
                    ("name", "小李"),
                    ("community", "DH-06"),
                    ("tags", "停车难、乱停车"),
                ],
            ),
            now,
        )
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::NotFound);
}
