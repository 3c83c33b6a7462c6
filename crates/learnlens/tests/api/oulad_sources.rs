//! The OULAD demo source server (`learnlens sources --dataset oulad`) against the real files,
//! read through the service's own clients: every JSON contract through `Sources` (the
//! `ContractClient`s of an app pointed at the server) and the statements resource through
//! `XapiClient`, with paging and the `agent`, `since` and `until` filters. Every count is
//! checked against a figure computed here, independently of the server: the reader's tables,
//! and one separate streaming pass over the click rows.
//!
//! Skips loudly without the data set (see `oulad.rs`; `LEARNLENS_REQUIRE_OULAD=1` makes that a
//! failure). The server's data is loaded once per test binary and shared by the tests.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use learnlens::demo::server::{DemoAuth, RunningSources, SourceData};
use learnlens::oulad::{FinalResult, Oulad, Presentation, map};
use learnlens::sources::xapi::{NoEmails, Platform, StatementQuery, XapiClient, XapiClientOptions};
use learnlens::sources::{Fetched, Provenance, Service};
use learnlens_analytics::input::ActivityEvent;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

const PLATFORM: &str = "https://learn.example.com";

/// The server's data, loaded once.
fn data(oulad: &Oulad) -> SourceData {
    static DATA: OnceLock<SourceData> = OnceLock::new();
    DATA.get_or_init(|| SourceData::oulad(oulad, |_| {}).expect("the OULAD sources load"))
        .clone()
}

/// Figures from one pass over the click rows, made without the server's index.
struct ClickFigures {
    rows: u64,
    rows_of: HashMap<i64, u64>,
    /// Rows per calendar day (noon of the row's day).
    rows_on: BTreeMap<NaiveDate, u64>,
    /// The presentations each student has clicks in.
    presentations_of: HashMap<i64, HashSet<Presentation>>,
}

fn noon(p: &Presentation, day: i64) -> DateTime<Utc> {
    let start = NaiveDate::from_ymd_opt(
        p.year().expect("year"),
        if p.presentation.ends_with('B') { 2 } else { 10 },
        1,
    )
    .expect("date")
    .and_hms_opt(12, 0, 0)
    .expect("noon")
    .and_utc();
    start + TimeDelta::days(day)
}

fn click_figures(oulad: &Oulad) -> &'static ClickFigures {
    static FIGURES: OnceLock<ClickFigures> = OnceLock::new();
    FIGURES.get_or_init(|| {
        let mut f = ClickFigures {
            rows: 0,
            rows_of: HashMap::new(),
            rows_on: BTreeMap::new(),
            presentations_of: HashMap::new(),
        };
        for course in oulad.courses().expect("courses") {
            let p = course.presentation;
            let mut students = HashSet::new();
            let mut days: HashMap<i64, u64> = HashMap::new();
            for row in oulad.student_vle(&p).expect("partition") {
                let row = row.expect("row");
                f.rows += 1;
                *f.rows_of.entry(row.id_student).or_default() += 1;
                *days.entry(row.date).or_default() += 1;
                students.insert(row.id_student);
            }
            for (day, n) in days {
                *f.rows_on.entry(noon(&p, day).date_naive()).or_default() += n;
            }
            for s in students {
                f.presentations_of.entry(s).or_default().insert(p.clone());
            }
        }
        f
    })
}

/// The events of one student, mapped from a second pass over the rows of their presentations.
fn events_of(oulad: &Oulad, student: i64, presentations: &HashSet<Presentation>) -> Vec<String> {
    let mut out = Vec::new();
    for p in presentations {
        let start = p.start().expect("start");
        for row in oulad.student_vle(p).expect("partition") {
            let row = row.expect("row");
            if row.id_student == student {
                let e = map::event(&row, &p.course_id(), start).expect("maps");
                out.push(key(&e));
            }
        }
    }
    out.sort();
    out
}

fn key(e: &ActivityEvent) -> String {
    serde_json::to_string(e).expect("serialises")
}

async fn serve(data: SourceData) -> RunningSources {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    learnlens::demo::server::spawn(
        data,
        Platform::new(PLATFORM).expect("platform"),
        DemoAuth::default(),
        listener,
    )
    .expect("spawn")
}

fn lrs(server: &RunningSources) -> XapiClient {
    let platform = Platform::new(PLATFORM).expect("platform");
    let mut options = XapiClientOptions::new(
        &format!("http://{}/lrs/xAPI/", server.addr),
        "",
        "",
        platform,
    );
    // A debug build serialises a 1000-statement page slowly.
    options.timeout = std::time::Duration::from_secs(30);
    XapiClient::new(options).expect("client")
}

fn query(
    agent: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: u32,
) -> StatementQuery {
    StatementQuery {
        since,
        until,
        agent,
        limit: Some(limit),
        request_id: None,
    }
}

async fn load() -> Option<(Oulad, SourceData)> {
    let oulad = crate::oulad::oulad()?;
    let o = oulad.clone();
    let data = tokio::task::spawn_blocking(move || data(&o))
        .await
        .expect("load task");
    Some((oulad, data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oulad_lrs_serves_each_students_click_rows_as_statements_with_paging_and_filters() {
    let Some((oulad, data)) = load().await else {
        return;
    };
    let o = oulad.clone();
    let figures = tokio::task::spawn_blocking(move || click_figures(&o))
        .await
        .expect("figures task");
    assert_eq!(figures.rows, 10_655_280, "the published row count");
    assert_eq!(
        data.statements.total(),
        figures.rows,
        "one statement per row"
    );
    let server = serve(data).await;
    let client = lrs(&server);

    // Three students: the most active one, one with clicks in two presentations, and the
    // smallest id.
    let busiest = figures
        .rows_of
        .iter()
        .max_by_key(|(id, n)| (**n, -**id))
        .map(|(id, _)| *id)
        .expect("a student");
    let two = figures
        .presentations_of
        .iter()
        .filter(|(_, ps)| ps.len() >= 2)
        .map(|(id, _)| *id)
        .min()
        .expect("a student in two presentations");
    let smallest = figures.rows_of.keys().copied().min().expect("a student");
    for student in [busiest, two, smallest] {
        let expected = figures.rows_of[&student];
        let fetched = client
            .fetch(
                &query(Some(student.to_string()), None, None, 1000),
                &NoEmails,
            )
            .await
            .expect("fetched");
        assert_eq!(fetched.skipped.total(), 0);
        assert_eq!(fetched.events.len() as u64, expected, "student {student}");
        assert_eq!(
            u64::from(fetched.pages),
            expected.div_ceil(1000).max(1),
            "student {student}: full pages of 1000 through `more`"
        );
        assert!(
            fetched
                .events
                .windows(2)
                .all(|w| w[0].timestamp <= w[1].timestamp),
            "a student's statements come in time order"
        );
        if student == two {
            let mut got: Vec<String> = fetched.events.iter().map(key).collect();
            got.sort();
            let want = events_of(&oulad, student, &figures.presentations_of[&student]);
            assert_eq!(
                got, want,
                "every field of every statement of student {student}"
            );
            let courses: HashSet<_> = fetched.events.iter().map(|e| e.course_id.clone()).collect();
            assert!(courses.len() >= 2);
        }
    }

    // One student over a window of time: `since` is exclusive, `until` inclusive.
    let fetched = client
        .fetch(
            &query(Some(busiest.to_string()), None, None, 1000),
            &NoEmails,
        )
        .await
        .expect("fetched");
    let mid = fetched.events[fetched.events.len() / 2].timestamp;
    let since = mid - TimeDelta::days(20);
    let window = client
        .fetch(
            &query(Some(busiest.to_string()), Some(since), Some(mid), 37),
            &NoEmails,
        )
        .await
        .expect("fetched");
    let want = fetched
        .events
        .iter()
        .filter(|e| e.timestamp > since && e.timestamp <= mid)
        .count();
    assert!(want > 37, "the window spans pages");
    assert_eq!(window.events.len(), want);

    // Everyone on one day, through pages of 1000: a scan of the whole index.
    let (day, on_day) = figures
        .rows_on
        .iter()
        .min_by_key(|(_, n)| n.abs_diff(4_500))
        .map(|(d, n)| (*d, *n))
        .expect("a day");
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let fetched = client
        .fetch(
            &query(
                None,
                Some(midnight),
                Some(midnight + TimeDelta::days(1)),
                1000,
            ),
            &NoEmails,
        )
        .await
        .expect("fetched");
    assert_eq!(fetched.events.len() as u64, on_day, "statements on {day}");
    assert!(fetched.pages >= 4);
    let users: HashSet<&str> = fetched.events.iter().map(|e| &*e.user_id).collect();
    assert!(users.len() > 100);

    // The unfiltered stream's first pages, read by hand: 1000 statements each, ids unique,
    // ordered by student.
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let mut url = format!("{base}/lrs/xAPI/statements?limit=1000");
    let mut ids = HashSet::new();
    let mut last_student = 0i64;
    for _ in 0..3 {
        let page: Value = http
            .get(&url)
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .expect("page")
            .json()
            .await
            .expect("json");
        let statements = page["statements"].as_array().expect("statements");
        assert_eq!(statements.len(), 1000);
        for s in statements {
            assert!(ids.insert(s["id"].as_str().expect("id").to_owned()));
            let student: i64 = s["actor"]["account"]["name"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .expect("a student id");
            assert!(student >= last_student, "ordered by student");
            last_student = student;
        }
        url = format!("{base}{}", page["more"].as_str().expect("more"));
    }

    // Bad input is a 400 in the error shape.
    for q in [
        "cursor=abc",
        "cursor=-1",
        "cursor=99999999999",
        "since=yesterday",
        "until=2014-13-01T00:00:00Z",
        "agent=11391",
        "agent=%7B%22mbox%22%3A%22mailto%3Aa%40b.c%22%7D",
        "limit=many",
    ] {
        let r = http
            .get(format!("{base}/lrs/xAPI/statements?{q}"))
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .expect("response");
        assert_eq!(r.status(), 400, "{q}");
        let body: Value = r.json().await.expect("error body");
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{q}"
        );
    }
}

fn ids(v: &[Value]) -> HashSet<String> {
    v.iter()
        .filter_map(|x| x["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_contract_of_the_oulad_sources_answers_through_the_service_clients() {
    let Some((oulad, data)) = load().await else {
        return;
    };
    let server = serve(data).await;
    let addr = server.addr;
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        Box::new(move |config| {
            let base = format!("http://{addr}");
            config.sources.directory_url = format!("{base}/directory");
            config.sources.skills_url = format!("{base}/skills");
            config.sources.catalog_url = format!("{base}/catalog");
            config.sources.assessments_url = format!("{base}/assessments");
            // Debug builds serialise large pages slowly.
            config.sources.deadline_ms = 30_000;
        }),
    )
    .await
    else {
        return;
    };
    let client = |s: Service| app.state.sources.contract(s).expect("configured");
    let list = |s: Service, collection: &'static str, filters: Vec<(&'static str, String)>| {
        let c = client(s);
        async move {
            let f: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let got: Fetched<Vec<Value>> = c.list(collection, &f).await.expect("listed");
            assert_eq!(got.provenance, Provenance::Live, "{collection} {filters:?}");
            got.value
        }
    };

    // Independent figures from the reader's tables.
    let info = oulad.student_info().expect("studentInfo");
    let regs = oulad.registrations().expect("registrations");
    let assessments = oulad.assessments().expect("assessments");
    let subs = oulad.student_assessments().expect("studentAssessment");
    let aaa = Presentation::new("AAA", "2013J");
    let students: HashSet<i64> = info.iter().map(|s| s.id_student).collect();
    let student = 11391i64;

    // directory
    let orgs = list(Service::Directory, "organizations", vec![]).await;
    assert_eq!(ids(&orgs), HashSet::from(["oulad".to_owned()]));
    let users = list(Service::Directory, "users", vec![("orgId", "oulad".into())]).await;
    assert_eq!(users.len(), students.len());
    assert_eq!(
        ids(&users),
        students.iter().map(i64::to_string).collect::<HashSet<_>>()
    );
    assert!(
        users
            .iter()
            .all(|u| u["roles"] == serde_json::json!(["learner"]))
    );
    let trainers = list(
        Service::Directory,
        "users",
        vec![("role", "trainer".into())],
    )
    .await;
    assert!(trainers.is_empty(), "OULAD has no trainers");
    assert!(
        list(
            Service::Directory,
            "job-roles",
            vec![("orgId", "oulad".into())]
        )
        .await
        .is_empty()
    );
    let one: Fetched<Option<Value>> = client(Service::Directory)
        .get("users", &student.to_string())
        .await
        .expect("get");
    assert_eq!(
        one.value.map(|u| u["orgId"].clone()),
        Some(Value::from("oulad"))
    );
    let none: Fetched<Option<Value>> = client(Service::Directory)
        .get("users", "no-such-student")
        .await
        .expect("get");
    assert_eq!(none.value, None);

    // skills: none in OULAD
    assert!(list(Service::Skills, "skills", vec![]).await.is_empty());
    assert!(
        list(
            Service::Skills,
            "user-skills",
            vec![("orgId", "oulad".into())]
        )
        .await
        .is_empty()
    );

    // catalog
    let courses = list(Service::Catalog, "courses", vec![("orgId", "oulad".into())]).await;
    assert_eq!(courses.len(), 22);
    assert!(ids(&courses).contains("AAA-2013J"));
    assert!(courses.iter().all(|c| c["trainerId"] == ""));
    let course: Fetched<Option<Value>> = client(Service::Catalog)
        .get("courses", "AAA-2013J")
        .await
        .expect("get");
    assert_eq!(
        course.value.map(|c| c["title"].clone()),
        Some(Value::from("AAA 2013J"))
    );
    assert!(
        list(
            Service::Catalog,
            "content-items",
            vec![("courseId", "AAA-2013J".into())]
        )
        .await
        .is_empty()
    );
    assert!(
        list(
            Service::Catalog,
            "feedback",
            vec![("courseId", "AAA-2013J".into())]
        )
        .await
        .is_empty()
    );

    let all = list(
        Service::Catalog,
        "enrollments",
        vec![("orgId", "oulad".into())],
    )
    .await;
    assert_eq!(all.len(), regs.len(), "one enrollment per registration");
    let in_aaa = list(
        Service::Catalog,
        "enrollments",
        vec![("courseId", "AAA-2013J".into())],
    )
    .await;
    assert_eq!(
        in_aaa.len(),
        regs.iter().filter(|r| r.presentation == aaa).count()
    );
    let withdrawn = info
        .iter()
        .filter(|s| s.presentation == aaa && s.final_result == FinalResult::Withdrawn)
        .count();
    assert_eq!(
        in_aaa.iter().filter(|e| e["status"] == "dropped").count(),
        withdrawn
    );
    let of_student = list(
        Service::Catalog,
        "enrollments",
        vec![("userId", student.to_string())],
    )
    .await;
    assert_eq!(
        of_student.len(),
        regs.iter().filter(|r| r.id_student == student).count()
    );
    let enrollment: Fetched<Option<Value>> = client(Service::Catalog)
        .get("enrollments", &format!("AAA-2013J/{student}"))
        .await
        .expect("get");
    assert_eq!(
        enrollment.value.map(|e| e["userId"].clone()),
        Some(Value::from(student.to_string()))
    );

    // assessments
    let of_aaa = list(
        Service::Assessments,
        "assessments",
        vec![("courseId", "AAA-2013J".into())],
    )
    .await;
    let aaa_assessments: HashSet<i64> = assessments
        .iter()
        .filter(|a| a.presentation == aaa)
        .map(|a| a.id_assessment)
        .collect();
    assert_eq!(
        ids(&of_aaa),
        aaa_assessments
            .iter()
            .map(i64::to_string)
            .collect::<HashSet<_>>()
    );
    let scored = |keep: &dyn Fn(&learnlens::oulad::StudentAssessmentRow) -> bool| {
        subs.iter().filter(|s| s.score.is_some() && keep(s)).count()
    };
    let attempts = list(
        Service::Assessments,
        "attempts",
        vec![("userId", student.to_string())],
    )
    .await;
    assert_eq!(attempts.len(), scored(&|s| s.id_student == student));
    let in_course = list(
        Service::Assessments,
        "attempts",
        vec![("courseId", "AAA-2013J".into())],
    )
    .await;
    assert_eq!(
        in_course.len(),
        scored(&|s| aaa_assessments.contains(&s.id_assessment))
    );
    // `since` is inclusive on the contracts; submissions are stamped at noon of their day.
    let presentation_of: HashMap<i64, &Presentation> = assessments
        .iter()
        .map(|a| (a.id_assessment, &a.presentation))
        .collect();
    let since: DateTime<Utc> = "2014-06-01T12:00:00Z".parse().expect("time");
    let recent = list(
        Service::Assessments,
        "attempts",
        vec![
            ("orgId", "oulad".into()),
            ("since", "2014-06-01T12:00:00Z".into()),
        ],
    )
    .await;
    assert_eq!(
        recent.len(),
        scored(&|s| presentation_of
            .get(&s.id_assessment)
            .is_some_and(|p| noon(p, s.date_submitted) >= since))
    );
    let attempt: Fetched<Option<Value>> = client(Service::Assessments)
        .get("attempts", "1752/11391")
        .await
        .expect("get");
    let want = subs
        .iter()
        .find(|s| s.id_assessment == 1752 && s.id_student == 11391)
        .and_then(|s| s.score);
    assert_eq!(attempt.value.and_then(|a| a["score"].as_f64()), want);

    // A cursor that is not ours and an unknown filter are 400s in the error shape.
    let http = reqwest::Client::new();
    for path in [
        "/directory/v1/users?cursor=abc",
        "/directory/v1/users?cursor=99999999",
        "/catalog/v1/enrollments?colour=blue",
        "/assessments/v1/attempts?since=last-week",
    ] {
        let r = http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("response");
        assert_eq!(r.status(), 400, "{path}");
        let body: Value = r.json().await.expect("error body");
        assert!(body["error"].is_string(), "{path}");
    }
}
