//! Matching and cluster rotation, worked out by hand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use shequ_analysis::clusters::{continue_rotation, round_of, round_start, ChairTurn, Membership};
use shequ_analysis::matching::{Demand, Index, Place, Proximity, Supplier};
use shequ_analysis::resources::{Availability, Expert, Resource, ResourceKind};
use uuid::Uuid;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn resource(n: u128, name: &str, community: Option<&str>, street: &str, tags: &[&str]) -> Resource {
    Resource {
        id: Uuid::from_u128(n),
        kind: ResourceKind::SocialOrganisation,
        name: name.into(),
        community: community.map(Into::into),
        street: street.into(),
        contact: String::new(),
        capacity: None,
        availability: Availability::default(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        source_instance: None,
    }
}

fn need(term: &str, degree: f64) -> Demand {
    Demand {
        term: term.into(),
        problem: false,
        value: degree,
        tier: None,
        weight: degree / 100.0,
    }
}

#[test]
fn candidates_are_ranked_by_degree_proximity_and_load_as_worked_by_hand() {
    let cluster: BTreeSet<String> = ["DH-01", "DH-03", "QS-02"].map(String::from).into();
    let place = Place {
        code: "DH-01",
        street: "大华街道",
        cluster: &cluster,
    };
    let mut full = resource(
        5,
        "满员助餐点",
        Some("DH-01"),
        "大华街道",
        &["service:elderly_meals"],
    );
    full.capacity = Some(2);
    let mut expired = resource(
        6,
        "过期的食堂",
        Some("DH-01"),
        "大华街道",
        &["service:elderly_meals"],
    );
    expired.availability.until = Some(day(2026, 2, 28));
    let mut busy = resource(
        7,
        "街道长者食堂",
        None,
        "大华街道",
        &["service:elderly_meals"],
    );
    busy.capacity = Some(4);
    let resources = vec![
        resource(
            1,
            "本社区助餐点",
            Some("DH-01"),
            "大华街道",
            &["service:elderly_meals"],
        ),
        resource(
            2,
            "群内社区食堂",
            Some("QS-02"),
            "曲山街道",
            &["service:elderly_meals", "service:lift"],
        ),
        resource(
            3,
            "区里的爱心厨房",
            Some("XX-09"),
            "西溪街道",
            &["service:elderly_meals"],
        ),
        resource(4, "加梯服务队", None, "曲山街道", &["service:lift"]),
        full,
        expired,
        busy,
    ];
    let experts = vec![Expert {
        id: Uuid::from_u128(100),
        name: "王工".into(),
        organisation: "区建设局".into(),
        street: "大华街道".into(),
        contact: String::new(),
        capacity: Some(3),
        availability: Availability::default(),
        fields: vec!["service:lift".into()],
    }];
    // Load: the busy one carries 1 of 4, the full one 2 of 2, the expert 1 of 3.
    let load = BTreeMap::from([
        (Uuid::from_u128(7), 1),
        (Uuid::from_u128(5), 2),
        (Uuid::from_u128(100), 1),
    ]);
    let index = Index::new(&resources, &experts, &load, day(2026, 3, 1));
    let demands = [
        need("service:elderly_meals", 72.0),
        need("service:lift", 55.0),
    ];
    let got = index.matches(&place, &demands, 10);

    // Meals, weight 0.72:
    //   本社区助餐点      same community 1.0 × load 1       → 72.0
    //   街道长者食堂      same street 0.8 × (1 − 1/4)      → 43.2
    //   群内社区食堂      same cluster 0.6 × 1             → 43.2 (tie: by name, 街 < 群)
    //   区里的爱心厨房    district 0.4                      → 28.8
    //   满员助餐点 is full (2 of 2) and 过期的食堂 expired: not offered.
    let meals = &got[0];
    let rows: Vec<(&str, f64, Proximity)> = meals
        .candidates
        .iter()
        .map(|c| {
            (
                c.supplier.name(),
                (c.score * 10.0).round() / 10.0,
                c.proximity,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("本社区助餐点", 72.0, Proximity::SameCommunity),
            ("街道长者食堂", 43.2, Proximity::SameStreet),
            ("群内社区食堂", 43.2, Proximity::SameCluster),
            ("区里的爱心厨房", 28.8, Proximity::District),
        ]
    );
    let busy = &meals.candidates[1];
    assert_eq!(
        (busy.active, busy.capacity, busy.load_factor),
        (1, Some(4), 0.75)
    );

    // Lift, weight 0.55: the expert in the same street 0.8 × (1 − 1/3) = 29.3; 群内社区食堂 is
    // in the cluster 0.6 → 33.0; 加梯服务队 serves another street 0.4 → 22.0.
    let lift: Vec<(String, f64)> = got[1]
        .candidates
        .iter()
        .map(|c| {
            (
                c.supplier.name().to_string(),
                (c.score * 10.0).round() / 10.0,
            )
        })
        .collect();
    assert_eq!(
        lift,
        [
            ("群内社区食堂".to_string(), 33.0),
            ("王工".to_string(), 29.3),
            ("加梯服务队".to_string(), 22.0),
        ]
    );
    assert!(matches!(
        got[1].candidates[1].supplier,
        Supplier::Expert { .. }
    ));

    // The limit keeps the best, in the same order.
    let top = index.matches(&place, &demands[..1], 2);
    let names: Vec<&str> = top[0]
        .candidates
        .iter()
        .map(|c| c.supplier.name())
        .collect();
    assert_eq!(names, ["本社区助餐点", "街道长者食堂"]);
    // A term nobody offers: no candidates, not an error.
    let none = index.matches(&place, &[need("service:parking", 80.0)], 5);
    assert!(none[0].candidates.is_empty());
}

fn member(code: &str, joined: NaiveDate, left: Option<NaiveDate>) -> Membership {
    Membership {
        code: code.into(),
        joined,
        left,
    }
}

#[test]
fn quarterly_rounds_are_counted_from_the_start() {
    let start = day(2026, 1, 15);
    assert_eq!(round_start(start, 3, 1), start);
    assert_eq!(round_start(start, 3, 5), day(2027, 1, 15));
    assert_eq!(round_of(start, 3, day(2026, 1, 14)), None);
    assert_eq!(round_of(start, 3, day(2026, 4, 14)), Some(1));
    assert_eq!(round_of(start, 3, day(2026, 4, 15)), Some(2));
    assert_eq!(round_of(start, 3, day(2027, 12, 31)), Some(8));
}

#[test]
fn the_chair_rotates_fairly_over_years_with_members_joining_and_leaving() {
    let start = day(2026, 1, 1);
    let members = vec![
        member("A", start, None),
        member("B", start, None),
        member("C", start, Some(day(2027, 1, 1))), // leaves after a year
        member("D", day(2026, 5, 1), None),        // joins in the second quarter
        member("E", day(2028, 1, 1), None),        // joins in the third year
    ];
    let turns = continue_rotation(&members, start, 3, &[], 20);
    let chairs: Vec<&str> = turns.iter().map(|t| t.chair.as_str()).collect();
    // Worked by hand (rounds start on the 1st of Jan, Apr, Jul, Oct):
    //   cycle 1: r1 A, r2 B (D not yet in on 04-01), r3 C, r4 D (joined 05-01, last in line)
    //   cycle 2: C left on 2027-01-01, so r5 A, r6 B, r7 D
    //   cycle 3: r8 A (2027-10-01), then E joins on 2028-01-01 at the end of the queue:
    //            r9 B, r10 D, r11 E
    //   cycle 4: r12 A …
    assert_eq!(
        &chairs[..12],
        ["A", "B", "C", "D", "A", "B", "D", "A", "B", "D", "E", "A"]
    );
    // Properties over the whole schedule, whatever the arithmetic above:
    for (i, t) in turns.iter().enumerate() {
        // The chair is a member on the day the round starts.
        let m = members.iter().find(|m| m.code == t.chair).unwrap();
        assert!(
            m.joined <= t.starts && m.left.is_none_or(|l| t.starts < l),
            "{t:?}"
        );
        // Nobody chairs twice while a member present since before their last turn has not
        // chaired since.
        if let Some(prev) = turns[..i].iter().rposition(|p| p.chair == t.chair) {
            for other in members.iter().filter(|o| o.code != t.chair) {
                let present_throughout =
                    other.joined <= turns[prev].starts && other.left.is_none_or(|l| t.starts < l);
                if present_throughout {
                    assert!(
                        turns[prev + 1..i].iter().any(|p| p.chair == other.code),
                        "{} chaired round {} again before {} chaired: {chairs:?}",
                        t.chair,
                        t.round,
                        other.code
                    );
                }
            }
        }
    }
    // E chairs within the first full cycle after joining.
    let e_first = turns.iter().find(|t| t.chair == "E").unwrap();
    assert!(e_first.starts < day(2029, 1, 1), "{e_first:?}");

    // History is kept: continuing from 6 recorded turns gives the same schedule.
    let again = continue_rotation(&members, start, 3, &turns[..6], 20);
    assert_eq!(again, turns);
    // A recorded turn that differs from the plan (the members swapped a round) is kept, and
    // the rotation goes on fairly from it.
    let mut swapped = turns[..2].to_vec();
    swapped[1] = ChairTurn {
        chair: "C".into(),
        ..swapped[1].clone()
    };
    let from_swap = continue_rotation(&members, start, 3, &swapped, 4);
    let chairs: Vec<&str> = from_swap.iter().map(|t| t.chair.as_str()).collect();
    assert_eq!(chairs, ["A", "C", "B", "D"]);
    // An empty cluster has no schedule.
    assert!(continue_rotation(&[], start, 3, &[], 4).is_empty());
}

/// The index only looks at a demand's street and cluster and the first few of the rest; on
/// random libraries that must rank exactly as scoring every supplier does.
#[test]
fn the_index_ranks_as_scoring_every_supplier_would() {
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n.max(1)
        }
    }
    let mut rng = Lcg(7);
    let today = day(2026, 6, 1);
    let term = |i: u64| format!("g:t{i}");
    let streets = ["甲街道", "乙街道", "丙街道", "丁街道"];
    let resources: Vec<Resource> = (0..600u128)
        .map(|i| {
            let community = (rng.next(3) > 0).then(|| format!("C{}", rng.next(30)));
            let mut r = resource(
                i + 1,
                // Few names, so ties on score are broken by name and then id.
                &format!("资源{}", rng.next(40)),
                community.as_deref(),
                streets[rng.next(4) as usize],
                &[],
            );
            r.tags = (0..1 + rng.next(3)).map(|_| term(rng.next(6))).collect();
            r.capacity = (rng.next(2) == 0).then(|| 1 + rng.next(3) as u32);
            r.availability.until =
                (rng.next(8) == 0).then(|| day(2026, 1 + rng.next(12) as u32, 1));
            r
        })
        .collect();
    let experts: Vec<Expert> = (0..40u128)
        .map(|i| Expert {
            id: Uuid::from_u128(10_000 + i),
            name: format!("专家{}", rng.next(10)),
            organisation: String::new(),
            street: if rng.next(2) == 0 {
                streets[rng.next(4) as usize].into()
            } else {
                String::new()
            },
            contact: String::new(),
            capacity: Some(1 + rng.next(3) as u32),
            availability: Availability::default(),
            fields: vec![term(rng.next(6))],
        })
        .collect();
    let mut load = BTreeMap::new();
    for _ in 0..300 {
        let id = Uuid::from_u128(1 + rng.next(600) as u128);
        *load.entry(id).or_insert(0) += 1;
    }
    let index = Index::new(&resources, &experts, &load, today);
    for c in 0..30 {
        let code = format!("C{c}");
        let street = streets[c % 4];
        let cluster: BTreeSet<String> = (0..3).map(|_| format!("C{}", rng.next(30))).collect();
        let place = Place {
            code: &code,
            street,
            cluster: &cluster,
        };
        let demands: Vec<Demand> = (0..6)
            .map(|t| need(&term(t), 50.0 + rng.next(50) as f64))
            .collect();
        for limit in [1, 3, 8] {
            let got = index.matches(&place, &demands, limit);
            for (d, m) in demands.iter().zip(&got) {
                // Every supplier scored, by the formula in matching.rs's documentation.
                let mut all: Vec<(f64, String, Uuid)> = Vec::new();
                let mut offer = |id: Uuid,
                                 name: &str,
                                 prox: f64,
                                 cap: Option<u32>,
                                 until: Option<NaiveDate>| {
                    if until.is_some_and(|u| u < today) {
                        return;
                    }
                    let active = load.get(&id).copied().unwrap_or(0);
                    let lf = match cap {
                        Some(c) if active >= c => return,
                        Some(c) => 1.0 - f64::from(active) / f64::from(c),
                        None => 1.0 / (1.0 + f64::from(active)),
                    };
                    all.push((100.0 * d.weight * prox * lf, name.to_string(), id));
                };
                for r in resources.iter().filter(|r| r.tags.contains(&d.term)) {
                    let prox = if r.community.as_deref() == Some(code.as_str()) {
                        1.0
                    } else if r.street == street {
                        0.8
                    } else if r.community.as_ref().is_some_and(|c| cluster.contains(c)) {
                        0.6
                    } else {
                        0.4
                    };
                    offer(r.id, &r.name, prox, r.capacity, r.availability.until);
                }
                for e in experts.iter().filter(|e| e.fields.contains(&d.term)) {
                    let prox = if !e.street.is_empty() && e.street == street {
                        0.8
                    } else {
                        0.4
                    };
                    offer(e.id, &e.name, prox, e.capacity, None);
                }
                all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
                all.truncate(limit);
                let want: Vec<Uuid> = all.iter().map(|a| a.2).collect();
                let have: Vec<Uuid> = m.candidates.iter().map(|c| c.supplier.id()).collect();
                assert_eq!(have, want, "{code} {} limit {limit}", d.term);
            }
        }
    }
}
