//! Small cases whose expected numbers are worked out by hand in the comments.

use std::collections::BTreeMap;

use shequ_analysis::checklist::{compose, Edit, EditKind, Library};
use shequ_analysis::classify::{classify, Status};
use shequ_analysis::profile::{DimensionScore, NeedDegree, Tier};
use shequ_analysis::scheme::{ChoiceItem, Dimension, ScaleItem, TagRule};
use shequ_analysis::*;
use shequ_core::{Choice, HousingForm, LocalizedText};
use shequ_forms::expr::parse;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-3, "{a} vs {b}");
}

fn choices(names: &[&str]) -> Vec<Choice> {
    names
        .iter()
        .map(|n| Choice {
            name: n.to_string(),
            label: LocalizedText([("中文 (zh)".to_string(), format!("选项{n}"))].into()),
            columns: BTreeMap::new(),
        })
        .collect()
}

fn likert(key: &str, reverse: bool) -> ScaleItem {
    ScaleItem {
        key: key.into(),
        reverse,
        min: 1.0,
        max: 5.0,
    }
}

/// identity: b1, b2, b3 (reverse); a service need list f (a, b); an elderly list g (m),
/// asked when the household has an older person; problems p (x, y), x rated by sx (1–3);
/// tags ageing (age ≥ 60) and migrant (renter, or hukou "other").
fn scheme() -> Scheme {
    let mut s = Scheme {
        form_id: "t".into(),
        ..Default::default()
    };
    s.dimensions.push(Dimension {
        name: "identity".into(),
        items: vec![likert("b1", false), likert("b2", false), likert("b3", true)],
    });
    s.needs.push(ChoiceItem {
        key: "f".into(),
        group: "service".into(),
        label: LocalizedText::default(),
        choices: choices(&["a", "b"]),
        relevance: vec![],
    });
    s.needs.push(ChoiceItem {
        key: "g".into(),
        group: "elderly".into(),
        label: LocalizedText::default(),
        choices: choices(&["m"]),
        relevance: vec![parse("selected(${hh}, 'elderly')").unwrap()],
    });
    s.problems = Some(ChoiceItem {
        key: "p".into(),
        group: "problem".into(),
        label: LocalizedText::default(),
        choices: choices(&["x", "y"]),
        relevance: vec![],
    });
    s.severity.insert(
        "x".into(),
        ScaleItem {
            key: "sx".into(),
            reverse: false,
            min: 1.0,
            max: 3.0,
        },
    );
    for (tag, key, e) in [
        ("ageing", "age", ". >= 60"),
        ("migrant", "tenure", ". = 'renter'"),
        ("migrant", "hukou", ". = 'other'"),
    ] {
        s.tags.push(TagRule {
            tag: tag.into(),
            key: key.into(),
            expr: parse(e).unwrap(),
        });
    }
    s
}

fn respondent(community: usize, id: &str, answers: &[(&str, &str)]) -> Respondent {
    Respondent {
        community,
        instance_id: id.into(),
        answers: answers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn community(code: &str) -> CommunityInfo {
    CommunityInfo {
        code: code.into(),
        name: code.into(),
        street: "东湖街道".into(),
        housing_form: HousingForm::OldPublic,
    }
}

fn settings(min: u32) -> AnalysisSettings {
    AnalysisSettings {
        min_responses: min,
        ..Default::default()
    }
}

#[test]
fn dimension_scores_with_reverse_and_missing_items() {
    let rs = vec![
        // 5 → 100, 4 → 75, b3 = 2 reversed is 4 → 75: mean 83.333.
        respondent(0, "r1", &[("b1", "5"), ("b2", "4"), ("b3", "2")]),
        // 3 → 50, b2 missing, b3 = 1 reversed is 5 → 100: two of three answered, mean 75.
        respondent(0, "r2", &[("b1", "3"), ("b3", "1")]),
        // One of three answered (fewer than half): no score.
        respondent(0, "r3", &[("b1", "2")]),
        // Out of the 1–5 range: not an answer; with b2 that is one of three, no score.
        respondent(0, "r4", &[("b1", "9"), ("b2", "5")]),
    ];
    let d = analyse(
        "2026",
        &scheme(),
        &[community("A")],
        &rs,
        &settings(2),
        None,
    );
    let p = &d.communities[0];
    assert_eq!(p.n, 4);
    let id = &p.dimensions[0];
    assert_eq!(id.n, 2);
    // mean (83.333 + 75) / 2 = 79.1667; SD = 8.3333 / √2 = 5.8926;
    // CI half-width = t(0.975, 1) × SD / √2 = 12.7062 × 4.1667 = 52.9425.
    close(id.score.unwrap(), 79.1667);
    close(id.sd.unwrap(), 5.8926);
    close(id.ci_low.unwrap(), 79.1667 - 52.9425);
    close(id.ci_high.unwrap(), 79.1667 + 52.9425);
    // One community: no ICC, so no λ; it is its own whole distribution (50th percentile).
    assert_eq!(id.lambda, None);
    assert_eq!(id.percentile, Some(50.0));
}

#[test]
fn a_dimension_nobody_answered_has_no_score() {
    let rs = vec![
        respondent(0, "r1", &[("f", "a")]),
        respondent(0, "r2", &[("f", "b")]),
    ];
    let d = analyse(
        "2026",
        &scheme(),
        &[community("A")],
        &rs,
        &settings(2),
        None,
    );
    let id = &d.communities[0].dimensions[0];
    assert_eq!((id.score, id.n, id.sd, id.ci_low), (None, 0, None, None));
    let c = &d.classifications[0];
    assert_eq!(c.status, Status::MissingDimension);
    assert_eq!(c.social_type, None);
}

fn need<'a>(p: &'a CommunityProfile, item: &str, choice: &str) -> &'a NeedDegree {
    p.needs
        .iter()
        .find(|n| n.item == item && n.choice == choice)
        .unwrap()
}

#[test]
fn need_degree_problem_index_and_tag_rates() {
    let rs = vec![
        respondent(
            0,
            "r1",
            &[
                ("f", "a b"),
                ("hh", "elderly"),
                ("g", "m"),
                ("p", "x"),
                ("sx", "3"),
                ("age", "65"),
                ("tenure", "owner"),
            ],
        ),
        respondent(
            0,
            "r2",
            &[
                ("f", "a"),
                ("hh", "none"),
                ("p", "x y"),
                ("sx", "1"),
                ("age", "30"),
                ("tenure", "renter"),
            ],
        ),
        // g applied (older person at home) and is empty: it means "none of these".
        respondent(
            0,
            "r3",
            &[
                ("hh", "elderly"),
                ("age", "70"),
                ("hukou", "other"),
                ("tenure", "owner"),
            ],
        ),
        respondent(0, "r4", &[("f", "b"), ("hh", "child")]),
    ];
    let d = analyse(
        "2026",
        &scheme(),
        &[community("A")],
        &rs,
        &settings(2),
        None,
    );
    let p = &d.communities[0];
    // f applied to all four: a ticked by r1, r2 → 50 % (medium); b by r1, r4 → 50 %.
    let a = need(p, "f", "a");
    assert_eq!(
        (a.applied, a.ticked, a.degree, a.tier),
        (4, 2, Some(50.0), Some(Tier::Medium))
    );
    // g applied to r1 and r3 only: m ticked by r1 → 50 %.
    let m = need(p, "g", "m");
    assert_eq!((m.applied, m.ticked, m.degree), (2, 1, Some(50.0)));
    // Problem x: ticked by 2 of 4 (50 %), severities 3 and 1 → mean 2 → index 100.
    let x = p.problems.iter().find(|q| q.choice == "x").unwrap();
    assert_eq!(
        (x.share, x.severity, x.index),
        (Some(50.0), Some(2.0), Some(100.0))
    );
    // Problem y: 1 of 4 (25 %), no severity question → no index.
    let y = p.problems.iter().find(|q| q.choice == "y").unwrap();
    assert_eq!((y.share, y.severity, y.index), (Some(25.0), None, None));
    // Ageing: three answered age, two are 60+ → 66.7 %. Migrant: r1–r3 answered tenure or
    // hukou; r2 rents, r3's hukou is "other" → 2 of 3.
    let ageing = p.tags.iter().find(|t| t.tag == "ageing").unwrap();
    assert_eq!((ageing.n, ageing.count), (3, 2));
    close(ageing.rate.unwrap(), 66.6667);
    let migrant = p.tags.iter().find(|t| t.tag == "migrant").unwrap();
    assert_eq!((migrant.n, migrant.count), (3, 2));
}

#[test]
fn too_few_responses_give_no_scores_and_no_type() {
    let rs = vec![respondent(
        0,
        "r1",
        &[("b1", "5"), ("b2", "5"), ("b3", "1")],
    )];
    let d = analyse(
        "2026",
        &scheme(),
        &[community("A")],
        &rs,
        &settings(30),
        None,
    );
    let p = &d.communities[0];
    assert!(!p.sufficient);
    assert!(p.dimensions.is_empty() && p.needs.is_empty() && p.problems.is_empty());
    let c = &d.classifications[0];
    assert_eq!(c.status, Status::InsufficientData);
    assert_eq!(c.social_type, None);
    assert!(
        c.label(shequ_core::Lang::ZhCn).contains("数据不足"),
        "{}",
        c.label(shequ_core::Lang::ZhCn)
    );
    assert_eq!(c.explanation.last().unwrap().key, "insufficient");
}

#[test]
fn icc_and_lambda_across_two_communities() {
    // identity from b1 only (b2, b3 answered the same so every respondent has a score):
    // community A scores 0, 25, 50 and B scores 50, 75, 100 (b1 = 1,2,3 and 3,4,5 with
    // b2 = b1 and b3 = 6 − b1). Groups {0,25,50}, {50,75,100}: grand mean 50,
    // SSB = 3·25² + 3·25² = 3750, MSB = 3750; SSW = 2·(625 + 0 + 625) = 2500, MSW = 625;
    // n₀ = 3: ICC = (3750 − 625) / (3750 + 2·625) = 0.625. λ(3) = 1.875 / 2.25 = 0.8333.
    let mut rs = Vec::new();
    for (c, vals) in [(0, [1, 2, 3]), (1, [3, 4, 5])] {
        for (i, v) in vals.iter().enumerate() {
            let v = v.to_string();
            let rev = (6 - vals[i]).to_string();
            rs.push(respondent(
                c,
                &format!("{c}{i}"),
                &[("b1", &v), ("b2", &v), ("b3", &rev)],
            ));
        }
    }
    let d = analyse(
        "2026",
        &scheme(),
        &[community("A"), community("B")],
        &rs,
        &settings(3),
        None,
    );
    close(d.icc["identity"], 0.625);
    let a = &d.communities[0].dimensions[0];
    close(a.lambda.unwrap(), 0.8333);
    close(a.score.unwrap(), 25.0);
    assert_eq!(a.percentile, Some(25.0));
    assert_eq!(d.communities[1].dimensions[0].percentile, Some(75.0));
}

/// A profile with the three typology scores, enough respondents, and given need degrees.
fn typed(code: &str, interaction: f64, identity: f64, linkages: f64) -> CommunityProfile {
    let dim = |name: &str, score: f64| DimensionScore {
        dimension: name.into(),
        score: Some(score),
        n: 40,
        sd: Some(10.0),
        ci_low: None,
        ci_high: None,
        lambda: None,
        percentile: None,
        previous: None,
    };
    CommunityProfile {
        code: code.into(),
        name: code.into(),
        street: String::new(),
        housing_form: HousingForm::OldPublic,
        n: 40,
        sufficient: true,
        dimensions: vec![
            dim("interaction", interaction),
            dim("identity", identity),
            dim("linkages", linkages),
        ],
        needs: vec![],
        problems: vec![],
        tags: vec![],
        portrait: vec![],
    }
}

fn type_of(interaction: f64, identity: f64, linkages: f64) -> Classification {
    let p = typed("X", interaction, identity, linkages);
    let s = AnalysisSettings::default();
    let cut = classify::cutoffs(std::slice::from_ref(&p), &s);
    classify(&p, &Scheme::default(), &cut, &s)
}

#[test]
fn each_of_the_six_types_and_both_unnamed_patterns() {
    use SocialType::*;
    // (interaction, identity, linkages) against the fixed cut-off 60.
    for (i, id, l, t) in [
        (70.0, 80.0, 75.0, Integral),
        (70.0, 80.0, 40.0, Parochial),
        (40.0, 80.0, 40.0, Diffuse),
        (70.0, 40.0, 75.0, SteppingStone),
        (40.0, 40.0, 75.0, Transitory),
        (40.0, 40.0, 40.0, Anomic),
    ] {
        let c = type_of(i, id, l);
        assert_eq!(
            (c.social_type, c.unnamed, c.borderline),
            (Some(t), false, false),
            "{i} {id} {l}"
        );
        assert_eq!(
            c.explanation
                .iter()
                .filter(|s| s.key == "dimension")
                .count(),
            3
        );
        assert_eq!(
            c.explanation
                .iter()
                .find(|s| s.key == "type")
                .unwrap()
                .params["type"],
            t.code()
        );
    }
    // The label names the first part of a two-part housing form, in either language.
    let c = type_of(40.0, 80.0, 40.0);
    assert_eq!(c.label(shequ_core::Lang::ZhCn), "老旧小区 × 松散型");
    assert_eq!(c.label(shequ_core::Lang::En), "Old × Diffuse");
    // (−, +, +): flipping interaction gives Integral, linkages Diffuse, identity Transitory.
    // Interaction 58 is 2 from the cut-off, identity 80 is 20, linkages 65 is 5 → Integral.
    let c = type_of(58.0, 80.0, 65.0);
    assert_eq!((c.social_type, c.unnamed), (Some(Integral), true));
    let step = c.explanation.iter().find(|s| s.key == "unnamed").unwrap();
    assert_eq!(
        (
            step.params["dimension"].as_str(),
            step.params["distance"].as_str()
        ),
        ("interaction", "2.0")
    );
    // Linkages nearest (61): read as low → Diffuse.
    assert_eq!(type_of(40.0, 80.0, 61.0).social_type, Some(Diffuse));
    // (+, −, −): interaction nearest (62) → Anomic; linkages nearest (59) → Stepping-stone;
    // identity nearest (57) → Parochial, and borderline (within ±5 of 60).
    assert_eq!(type_of(62.0, 40.0, 30.0).social_type, Some(Anomic));
    assert_eq!(type_of(80.0, 40.0, 59.0).social_type, Some(SteppingStone));
    let c = type_of(80.0, 57.0, 30.0);
    assert_eq!(
        (c.social_type, c.unnamed, c.borderline),
        (Some(Parochial), true, true)
    );
}

#[test]
fn borderline_identity_and_the_median_cutoff() {
    // 65 is within ±5 of 60: borderline; 65.1 is not; 55 is, on the low side.
    assert!(type_of(70.0, 65.0, 70.0).borderline);
    assert!(!type_of(70.0, 65.1, 70.0).borderline);
    let c = type_of(70.0, 55.0, 70.0);
    assert_eq!(
        (c.social_type, c.borderline),
        (Some(SocialType::SteppingStone), true)
    );
    // Median cut-offs: interaction 40/50/70 → 50, identity 30/60/90 → 60, linkages 20/45/80
    // → 45. Community B (50, 60, 45) sits on every median: "at or above" is high → Integral.
    let ps = [
        typed("A", 40.0, 30.0, 20.0),
        typed("B", 50.0, 60.0, 45.0),
        typed("C", 70.0, 90.0, 80.0),
    ];
    let s = AnalysisSettings {
        cutoff_mode: CutoffMode::Median,
        ..Default::default()
    };
    let cut = classify::cutoffs(&ps, &s);
    assert_eq!(
        (cut["interaction"], cut["identity"], cut["linkages"]),
        (50.0, 60.0, 45.0)
    );
    let types: Vec<_> = ps
        .iter()
        .map(|p| {
            classify(p, &Scheme::default(), &cut, &s)
                .social_type
                .unwrap()
        })
        .collect();
    assert_eq!(
        types,
        vec![
            SocialType::Anomic,
            SocialType::Integral,
            SocialType::Integral
        ]
    );
}

#[test]
fn tags_need_thresholds_and_the_label() {
    let mut p = typed("X", 40.0, 80.0, 40.0);
    p.tags = vec![
        profile::TagRate {
            tag: "ageing".into(),
            n: 40,
            count: 10,
            rate: Some(25.0),
        },
        profile::TagRate {
            tag: "migrant".into(),
            n: 40,
            count: 11,
            rate: Some(27.5),
        },
        profile::TagRate {
            tag: "hardship".into(),
            n: 40,
            count: 1,
            rate: Some(2.5),
        },
    ];
    let nd = |choice: &str, zh: &str, degree: f64, tier: Tier| NeedDegree {
        group: "service".into(),
        item: "f".into(),
        choice: choice.into(),
        label: LocalizedText([("zh-CN".to_string(), zh.to_string())].into()),
        applied: 40,
        ticked: (degree * 0.4) as u32,
        degree: Some(degree),
        tier: Some(tier),
    };
    p.needs = vec![
        nd("lift", "加装电梯", 72.5, Tier::High),
        nd("repairs", "居家维修", 52.5, Tier::Medium),
        nd("parking", "停车", 47.5, Tier::Low),
        // 100 % of the 4 households it applied to: below the base of 10, not a top need.
        NeedDegree {
            applied: 4,
            ticked: 4,
            ..nd("rehab", "康复服务", 100.0, Tier::High)
        },
    ];
    let s = AnalysisSettings::default();
    let cut = classify::cutoffs(std::slice::from_ref(&p), &s);
    let c = classify(&p, &Scheme::default(), &cut, &s);
    // Ageing 25 % ≥ 25 % is a tag; migrant 27.5 % < 30 % and hardship 2.5 % < 3 % are not.
    // Needs at or above the medium tier, highest first; parking (47.5 %) is below it.
    let keys: Vec<&str> = c.tags.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, vec!["ageing", "service:lift", "service:repairs"]);
    assert_eq!(
        c.label(shequ_core::Lang::ZhCn),
        "老旧小区 × 松散型 + 老龄化 + 需求：加装电梯"
    );
    let text = c.explain(shequ_core::Lang::ZhCn).join("\n");
    assert!(
        text.contains("认同") && text.contains("80.0") && text.contains("60.0"),
        "{text}"
    );
}

#[test]
fn checklist_selection_edits_and_a_changed_classification() {
    let lib = Library::default_library().unwrap();
    let mut diffuse = type_of(40.0, 80.0, 40.0);
    let sel = lib.select(&diffuse);
    let ids: Vec<&str> = sel.iter().map(|(id, _)| id.as_str()).collect();
    assert!(
        ids.iter().any(|i| i.starts_with("type.diffuse.")),
        "{ids:?}"
    );
    assert!(ids.iter().any(|i| i.starts_with("housing.old_public.")));
    assert!(ids.iter().any(|i| i.starts_with("all.")));
    assert!(!ids
        .iter()
        .any(|i| i.starts_with("type.anomic.") || i.starts_with("tag.")));
    // Accepted as Diffuse, then edited: one removed, one re-prioritised, one of our own.
    let accepted: Vec<String> = sel.iter().map(|(id, _)| id.clone()).collect();
    let removed = accepted[0].clone();
    let edit = |item_id: &str, kind: EditKind, value: Option<&str>| Edit {
        item_id: item_id.into(),
        kind,
        value: value.map(str::to_string),
        item: None,
        reason: "居委会已在做".into(),
        actor: "王磊".into(),
        at: "2026-11-29T10:00:00.000Z".into(),
    };
    let mut own = edit("own.1", EditKind::Add, None);
    own.item = Some(ChecklistItem {
        id: "own.1".into(),
        when: Default::default(),
        priority: 1,
        owner: "street".into(),
        frequency: "monthly".into(),
        action: [("zh-CN".to_string(), "每月走访沿街商户".to_string())].into(),
        indicator: Default::default(),
    });
    let edits = vec![
        edit(&removed, EditKind::Remove, None),
        edit(&accepted[1], EditKind::Priority, Some("3")),
        own,
    ];
    for e in &edits {
        e.check().unwrap();
    }
    let comp = compose(
        "X",
        &lib,
        &sel,
        Some((&accepted, "老旧小区 × 松散型")),
        &edits,
    );
    assert_eq!(comp.items.len(), accepted.len() + 1);
    let last = comp.items.last().unwrap();
    assert!(last.removed && last.item.id == removed);
    let reprio = comp
        .items
        .iter()
        .find(|i| i.item.id == accepted[1])
        .unwrap();
    assert_eq!(
        (reprio.item.priority, reprio.changed, reprio.edits.len()),
        (3, true, 1)
    );
    assert!(comp
        .items
        .iter()
        .any(|i| i.item.id == "own.1" && i.source == checklist::Source::Added));
    assert!(comp.pending_add.is_empty() && comp.pending_remove.is_empty());
    // The identity cut-off moves to 85: the community becomes Anomic. The checklist stays as
    // accepted, and shows what the change adds and removes.
    diffuse = {
        let p = typed("X", 40.0, 80.0, 40.0);
        let s = AnalysisSettings {
            cutoff: 85.0,
            ..Default::default()
        };
        let cut = classify::cutoffs(std::slice::from_ref(&p), &s);
        classify(&p, &Scheme::default(), &cut, &s)
    };
    assert_eq!(diffuse.social_type, Some(SocialType::Anomic));
    let now = lib.select(&diffuse);
    let comp = compose(
        "X",
        &lib,
        &now,
        Some((&accepted, "老旧小区 × 松散型")),
        &edits,
    );
    assert!(comp
        .pending_add
        .iter()
        .all(|i| i.item.id.starts_with("type.anomic.")));
    assert!(!comp.pending_add.is_empty());
    assert!(comp
        .pending_remove
        .iter()
        .all(|id| id.starts_with("type.diffuse.")));
    assert!(!comp.pending_remove.is_empty());
    // Bad edits are refused: no reason, an unknown owner, a priority of 7.
    let mut e = edit("x", EditKind::Owner, Some("mayor"));
    assert!(e.check().is_err());
    e = edit("x", EditKind::Priority, Some("7"));
    assert!(e.check().is_err());
    e = edit("x", EditKind::Remove, None);
    e.reason = "  ".into();
    assert!(e.check().is_err());
}

#[test]
fn the_default_library_covers_every_key() {
    let lib = Library::default_library().unwrap();
    assert!(lib.items.len() >= 60, "{}", lib.items.len());
    for t in SocialType::ALL {
        assert!(
            lib.items
                .iter()
                .filter(|i| i.when.social_type.as_deref() == Some(t.code()))
                .count()
                >= 3,
            "{t:?}"
        );
    }
    for h in HousingForm::ALL {
        assert!(
            lib.items
                .iter()
                .filter(|i| i.when.housing_form.as_deref() == Some(h.code()))
                .count()
                >= 3,
            "{h:?}"
        );
    }
    for tag in TAGS {
        assert!(
            lib.items.iter().any(|i| i.when.tag.as_deref() == Some(tag)),
            "{tag}"
        );
    }
    // Every need and problem key names a choice of the default scale's matching list.
    let scale = shequ_forms::default_scale().unwrap();
    let scheme = Scheme::from_definition(&scale);
    for item in lib.items.iter().filter_map(|i| i.when.need.as_deref()) {
        let (group, choice) = item.split_once(':').unwrap();
        let list = scheme
            .needs
            .iter()
            .chain(scheme.problems.iter())
            .find(|n| n.group == group)
            .unwrap_or_else(|| panic!("{item}"));
        assert!(list.choices.iter().any(|c| c.name == choice), "{item}");
    }
    // A broken library is refused: duplicate ids, an unknown owner, two keys in `when`.
    let one = r#"{"id":"a","when":{"always":true},"priority":1,"owner":"street","frequency":"once","action":{"zh-CN":"做","en":"do"},"indicator":{}}"#;
    assert!(Library::parse(&format!(r#"{{"version":"1","items":[{one},{one}]}}"#)).is_err());
    assert!(Library::parse(&format!(
        r#"{{"version":"1","items":[{}]}}"#,
        one.replace("street", "mayor")
    ))
    .is_err());
    assert!(Library::parse(&format!(
        r#"{{"version":"1","items":[{}]}}"#,
        one.replace(r#"{"always":true}"#, r#"{"always":true,"tag":"ageing"}"#)
    ))
    .is_err());
    assert!(Library::parse(&format!(r#"{{"version":"1","items":[{one}]}}"#)).is_ok());
}

#[test]
fn the_default_scale_scheme_and_a_scale_without_scoring_columns() {
    let scale = shequ_forms::default_scale().unwrap();
    let s = Scheme::from_definition(&scale);
    let dims: Vec<(&str, usize)> = s
        .dimensions
        .iter()
        .map(|d| (d.name.as_str(), d.items.len()))
        .collect();
    assert_eq!(
        dims,
        vec![
            ("identity", 6),
            ("interaction", 5),
            ("linkages", 5),
            ("efficacy", 7)
        ]
    );
    let reversed: Vec<&str> = s.dimensions[0]
        .items
        .iter()
        .filter(|i| i.reverse)
        .map(|i| i.key.as_str())
        .collect();
    assert_eq!(reversed, vec!["b3"]);
    let groups: Vec<&str> = s.needs.iter().map(|n| n.group.as_str()).collect();
    assert_eq!(
        groups,
        vec!["service", "elderly", "children", "disabled", "hardship"]
    );
    assert_eq!(s.problems.as_ref().unwrap().key, "h_problems");
    assert_eq!(s.severity.len(), 11);
    assert_eq!(s.severity["pets"].key, "h_sev_pets");
    let mut tags: Vec<&str> = s.tags.iter().map(|t| t.tag.as_str()).collect();
    tags.dedup();
    assert_eq!(tags, vec!["ageing", "migrant", "hardship"]);
    assert_eq!(
        s.portrait
            .iter()
            .filter(|p| p.section == "resources")
            .count(),
        5
    );
    assert!(s.notes.is_empty(), "{:?}", s.notes);

    // Strip every scoring column: the scheme says what cannot be computed.
    let mut bare = scale.clone();
    fn strip(items: &mut [shequ_core::FormItem]) {
        for i in items {
            match i {
                shequ_core::FormItem::Question(q) => q.scoring = Default::default(),
                shequ_core::FormItem::Group { children, .. } => strip(children),
            }
        }
    }
    strip(&mut bare.items);
    let s = Scheme::from_definition(&bare);
    let keys: Vec<&str> = s.notes.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "no_dimension",
            "no_dimension",
            "no_dimension",
            "no_needs",
            "no_problems",
            "no_tag_rule",
            "no_tag_rule",
            "no_tag_rule"
        ]
    );
}
