//! What several integration tests share: a clock, a field laptop with two communities, an
//! interview through the real save path, and the centre accepting a device.
#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use shequ_app::fieldwork::StartInterview;
use shequ_app::App;
use shequ_core::{HousingForm, Lang, NewCommunity};
use uuid::Uuid;

pub fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + Duration::minutes(min)
}

pub fn laptop(dir: &Path, recipient: &str) -> App {
    let mut app = App::open(dir, &shequ_app::Passphrase::new("test passphrase"), t(0)).unwrap();
    if !recipient.is_empty() {
        app.set_centre_recipient(recipient).unwrap();
    }
    for (code, name) in [("DH-01", "梧桐里社区"), ("XH-02", "柳岸社区")] {
        app.add_community(
            NewCommunity {
                code: code.into(),
                name: name.into(),
                street: "东湖街道".into(),
                district: "示范区".into(),
                housing_form: HousingForm::OldPublic,
                households: Some(1000),
                target_sample: 50,
            },
            t(0),
        )
        .unwrap();
    }
    app
}

/// The analyst compares the laptop's fingerprint with the one it shows and accepts it.
pub fn accept(centre: &mut App, laptop: &App) {
    centre
        .accept_device(&laptop.device_fingerprint().unwrap())
        .unwrap();
}

pub const FULL: &[(&str, &str)] = shequ_app::fieldwork::DEFAULT_SCALE_REQUIRED;

pub fn interview(app: &mut App, code: &str, respondent: &str, at: i64) -> Uuid {
    let c = app.store().community_by_code(code).unwrap().unwrap().id;
    let r = app
        .start_interview(
            StartInterview {
                community_id: c,
                instrument_id: None,
                interviewer: "张敏".into(),
                respondent: respondent.into(),
                consent: true,
            },
            t(at),
        )
        .unwrap();
    for (k, v) in FULL {
        app.answer(r.instance_id, k, v, Lang::ZhCn, t(at + 1))
            .unwrap();
    }
    assert!(
        app.finalize(r.instance_id, Lang::ZhCn, t(at + 2))
            .unwrap()
            .finalized
    );
    r.instance_id
}
