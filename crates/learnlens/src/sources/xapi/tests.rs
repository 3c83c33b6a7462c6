//! Mapping, property and client tests. The client tests run against a small fake LRS on
//! loopback (axum) that misbehaves on purpose; the real LRS (Ralph) is exercised by the
//! integration test `tests/api/xapi.rs`.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const PLATFORM: &str = "https://learn.example.com";

fn platform() -> Platform {
    Platform::new(PLATFORM).expect("platform")
}

fn emails() -> EmailMap {
    EmailMap::new([("Ada@Example.com", "u-ada")])
}

fn parse(body: &Value) -> StatementPage {
    let platform = platform();
    let emails = emails();
    let mapping = Mapping {
        platform: &platform,
        emails: &emails,
    };
    parse_statements(body.to_string().as_bytes(), &mapping).expect("a statement page")
}

fn statement(n: u128) -> Value {
    json!({
        "id": Uuid::from_u128(n).to_string(),
        "actor": {"objectType": "Agent", "account": {"homePage": PLATFORM, "name": "u1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"objectType": "Activity", "id": format!("{PLATFORM}/content/c1")},
        "timestamp": "2026-03-01T10:00:00+02:00",
        "context": {"contextActivities": {"parent": [
            {"id": "https://elsewhere.example.org/x"},
            {"id": format!("{PLATFORM}/course/AAA-2013J")},
        ]}},
        "result": {
            "duration": "PT1M30.5S",
            "score": {"scaled": 0.75, "raw": 75},
            "completion": true,
            "success": false,
            "extensions": {CLICKS_EXTENSION: 12},
        },
    })
}

fn page(statements: Vec<Value>) -> Value {
    json!({ "statements": statements, "more": "" })
}

#[test]
fn a_full_statement_maps_every_field() {
    let p = parse(&page(vec![statement(1)]));
    assert_eq!(p.seen, 1);
    assert_eq!(p.skipped, SkipCounts::default());
    assert_eq!(p.invalid_fields, FieldCounts::default());
    assert_eq!(p.more, None);
    assert_eq!(p.ids, vec![Some(Uuid::from_u128(1))]);
    assert_eq!(
        p.events,
        vec![ActivityEvent {
            user_id: "u1".into(),
            verb: Verb::Completed,
            object_id: "c1".into(),
            course_id: Some("AAA-2013J".into()),
            timestamp: Utc
                .with_ymd_and_hms(2026, 3, 1, 8, 0, 0)
                .single()
                .expect("time"),
            duration_sec: Some(90.5),
            score_scaled: Some(0.75),
            completion: Some(true),
            success: Some(false),
            clicks: Some(12),
        }]
    );
}

#[test]
fn mbox_actors_map_through_the_directory_case_insensitively() {
    let mut known = statement(1);
    known["actor"] = json!({"mbox": "mailto:ADA@example.COM"});
    let mut unknown = statement(2);
    unknown["actor"] = json!({"mbox": "mailto:bob@example.com"});
    let mut not_mailto = statement(3);
    not_mailto["actor"] = json!({"mbox": "ada@example.com"});
    let p = parse(&page(vec![known, unknown, not_mailto]));
    assert_eq!(p.events.len(), 1);
    assert_eq!(&*p.events[0].user_id, "u-ada");
    assert_eq!(p.skipped.unknown_actor, 1);
    assert_eq!(p.skipped.malformed, 1);
}

#[test]
fn actors_of_other_platforms_groups_and_hashed_mboxes_are_unknown() {
    let actors = [
        json!({"account": {"homePage": "https://other.example.org", "name": "u1"}}),
        json!({"account": {"homePage": format!("{PLATFORM}/"), "name": ""}}),
        json!({"objectType": "Group", "member": []}),
        json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
        json!({"openid": "https://id.example.org/u1"}),
    ];
    let statements = actors
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut s = statement(i as u128);
            s["actor"] = a.clone();
            s
        })
        .collect();
    let p = parse(&page(statements));
    assert_eq!(p.skipped.unknown_actor, 5, "{p:?}");
    // A trailing slash on the home page is the same platform.
    let mut slash = statement(9);
    slash["actor"]["account"]["homePage"] = json!(format!("{PLATFORM}/"));
    assert_eq!(parse(&page(vec![slash])).events.len(), 1);
}

#[test]
fn every_adl_verb_maps_and_others_are_counted() {
    for (verb, name) in VERBS {
        let mut s = statement(1);
        s["verb"]["id"] = json!(format!("{VERB_PREFIX}{name}"));
        assert_eq!(parse(&page(vec![s])).events[0].verb, verb, "{name}");
        assert_eq!(verb_from_iri(&verb_iri(verb)), Some(verb));
    }
    let mut other = statement(2);
    other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/commented");
    let mut https = statement(3);
    https["verb"]["id"] = json!("https://adlnet.gov/expapi/verbs/completed");
    let p = parse(&page(vec![other, https]));
    assert_eq!(p.skipped.unknown_verb, 2);
}

#[test]
fn objects_outside_the_content_scheme_are_unknown() {
    let objects = [
        json!({"id": "https://other.example.org/content/c1"}),
        json!({"id": format!("{PLATFORM}/course/c1")}),
        json!({"id": format!("{PLATFORM}/content/")}),
        json!({"id": format!("{PLATFORM}/content/a/b")}),
        json!({"id": format!("{PLATFORM}/content/c1?x=1")}),
        json!({"id": format!("{PLATFORM}/content/%zz")}),
        json!({"id": format!("{PLATFORM}/content/%ff")}),
        json!({"objectType": "Agent", "mbox": "mailto:a@example.com"}),
        json!({"objectType": "StatementRef", "id": Uuid::from_u128(5).to_string()}),
    ];
    let statements = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut s = statement(i as u128);
            s["object"] = o.clone();
            s
        })
        .collect();
    let p = parse(&page(statements));
    assert_eq!(p.skipped.unknown_object, objects.len() as u64, "{p:?}");
}

#[test]
fn ids_round_trip_through_iris_whatever_they_contain() {
    let platform = Platform::new("https://learn.example.com/lms/").expect("platform");
    for id in ["c1", "a/b", "x?y#z", "50% off", "ünïcödé", "~._-", " "] {
        let iri = platform.content_iri(id);
        assert!(
            iri.starts_with("https://learn.example.com/lms/content/"),
            "{iri}"
        );
        assert_eq!(platform.content_id(&iri).as_deref(), Some(id));
        assert_eq!(
            platform.course_id(&platform.course_iri(id)).as_deref(),
            Some(id)
        );
    }
    assert_eq!(
        platform.content_iri("a/b"),
        "https://learn.example.com/lms/content/a%2Fb"
    );
    assert!(Platform::new("not a url").is_err());
    assert!(Platform::new("ftp://x.example.org").is_err());
    assert!(Platform::new("https://x.example.org/?q=1").is_err());
}

#[test]
fn malformed_statements_are_counted_and_the_page_survives() {
    let mut cases = Vec::new();
    for (path, value) in [
        ("/id", json!("not-a-uuid")),
        ("/id", json!(7)),
        ("/actor", json!("u1")),
        ("/actor/account", json!({"name": "u1"})),
        ("/actor/objectType", json!("Robot")),
        ("/verb", json!({"display": {"en": "did"}})),
        ("/verb/id", json!(1)),
        ("/object", json!(null)),
        ("/object/id", json!(["x"])),
        ("/timestamp", json!("yesterday")),
        ("/timestamp", json!(1_700_000_000)),
        ("/timestamp", json!("2026-13-01T00:00:00Z")),
    ] {
        let mut s = statement(1);
        *s.pointer_mut(path).expect(path) = value;
        cases.push(s);
    }
    let mut no_actor = statement(2);
    no_actor.as_object_mut().expect("object").remove("actor");
    cases.push(no_actor);
    cases.push(json!("a string"));
    cases.push(json!(null));
    let n = cases.len() as u64;
    cases.push(statement(3));
    let p = parse(&page(cases));
    assert_eq!(p.skipped.malformed, n, "{p:?}");
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.seen, n + 1);
}

#[test]
fn a_statement_with_an_out_of_range_number_is_malformed_not_the_page() {
    let body = format!(
        r#"{{"statements": [{{"id": 1e400}}, {}], "more": "/next"}}"#,
        statement(1)
    );
    let platform = platform();
    let p = parse_statements(
        body.as_bytes(),
        &Mapping {
            platform: &platform,
            emails: &NoEmails,
        },
    )
    .expect("page");
    assert_eq!(p.skipped.malformed, 1);
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.more.as_deref(), Some("/next"));
}

#[test]
fn missing_timestamp_falls_back_to_stored() {
    let mut s = statement(1);
    s.as_object_mut().expect("object").remove("timestamp");
    s["stored"] = json!("2026-03-02T00:00:00Z");
    let p = parse(&page(vec![s]));
    assert_eq!(
        p.events[0].timestamp.to_rfc3339(),
        "2026-03-02T00:00:00+00:00"
    );
}

#[test]
fn bad_result_fields_are_dropped_and_counted_and_the_event_kept() {
    let mut s = statement(1);
    s["result"] = json!({
        "duration": "ten minutes",
        "score": {"scaled": 1.5},
        "completion": "yes",
        "success": 1,
        "extensions": {CLICKS_EXTENSION: -3},
    });
    let mut t = statement(2);
    t["result"] = json!("great");
    let mut u = statement(3);
    u["result"] = json!({"score": {"raw": 7}, "extensions": {CLICKS_EXTENSION: 4_294_967_296_u64}});
    let mut v = statement(4);
    v["result"] = json!({"score": 0.5, "extensions": {CLICKS_EXTENSION: 2.5}});
    let p = parse(&page(vec![s, t, u, v]));
    assert_eq!(p.events.len(), 4);
    assert_eq!(
        p.invalid_fields,
        FieldCounts {
            result: 1,
            duration: 1,
            score: 2,
            completion: 1,
            success: 1,
            clicks: 3,
        }
    );
    for e in &p.events {
        assert_eq!(
            (
                e.duration_sec,
                e.score_scaled,
                e.completion,
                e.success,
                e.clicks
            ),
            (None, None, None, None, None)
        );
    }
}

#[test]
fn a_single_parent_object_and_foreign_parents_are_handled() {
    let mut single = statement(1);
    single["context"]["contextActivities"]["parent"] =
        json!({"id": format!("{PLATFORM}/course/C9")});
    let mut foreign = statement(2);
    foreign["context"]["contextActivities"]["parent"] =
        json!([{"id": "https://other.example.org/course/C9"}]);
    let p = parse(&page(vec![single, foreign]));
    assert_eq!(p.events[0].course_id.as_deref(), Some("C9"));
    assert_eq!(p.events[1].course_id, None);
    assert_eq!(p.invalid_fields, FieldCounts::default());
}

fn voiding(n: u128, target: u128) -> Value {
    json!({
        "id": Uuid::from_u128(n).to_string(),
        "actor": {"account": {"homePage": PLATFORM, "name": "admin"}},
        "verb": {"id": VOIDED_VERB},
        "object": {"objectType": "StatementRef", "id": Uuid::from_u128(target).to_string()},
        "timestamp": "2026-03-02T00:00:00Z",
    })
}

#[test]
fn voided_statements_and_their_voiding_statements_are_skipped() {
    let p = parse(&page(vec![
        statement(1),
        statement(2),
        voiding(3, 1),
        voiding(4, 99),
    ]));
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.ids, vec![Some(Uuid::from_u128(2))]);
    assert_eq!(p.skipped.voided, 3);
    assert_eq!(p.voids_elsewhere, vec![Uuid::from_u128(99)]);
    assert_eq!(p.seen, 4);
    // A voiding statement must point at a statement.
    let mut bad = voiding(5, 1);
    bad["object"] = json!({"id": "https://x.example.org"});
    assert_eq!(parse(&page(vec![bad])).skipped.malformed, 1);
}

#[test]
fn bodies_that_are_not_statement_pages_are_errors() {
    let platform = platform();
    let mapping = Mapping {
        platform: &platform,
        emails: &NoEmails,
    };
    for body in [
        &b""[..],
        b"null",
        b"[]",
        b"[[], null]",
        b"{}",
        b"{\"statements\": {}}",
        b"{\"statements\": [], \"more\": 3}",
        b"{\"statements\": [}",
        b"\xff\xfe",
        b"<html>502 Bad Gateway</html>",
    ] {
        let result = parse_statements(body, &mapping);
        assert!(
            matches!(result, Err(XapiError::Body(_))),
            "{:?} gave {result:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn deeply_nested_statements_are_malformed_without_overflowing_the_stack() {
    let platform = platform();
    let mapping = Mapping {
        platform: &platform,
        emails: &NoEmails,
    };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!(
        "{{\"extra\": {deep}, \"statements\": [{deep}, {}]}}",
        statement(1)
    );
    let p = parse_statements(body.as_bytes(), &mapping).expect("page");
    assert_eq!((p.skipped.malformed, p.events.len()), (1, 1));
}

// -------------------------------------------------------------------------------------------
// property tests
// -------------------------------------------------------------------------------------------

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        any::<String>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!("\u{202e}\u{0}\u{feff}𝕏\u{10ffff}")),
        Just(json!(format!("{PLATFORM}/content/c1"))),
        Just(json!("mailto:ada@example.com")),
        Just(json!("PT1M")),
        Just(json!("2026-03-01T10:00:00Z")),
    ];
    let key = prop_oneof![
        any::<String>(),
        prop::sample::select(vec![
            "id",
            "actor",
            "verb",
            "object",
            "timestamp",
            "stored",
            "result",
            "context",
            "account",
            "homePage",
            "name",
            "mbox",
            "objectType",
            "score",
            "scaled",
            "duration",
            "completion",
            "success",
            "extensions",
            "contextActivities",
            "parent",
            "statements",
            "more",
        ])
        .prop_map(String::from),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Where a mutation may land in [`statement`].
const POINTERS: &[&str] = &[
    "",
    "/id",
    "/actor",
    "/actor/objectType",
    "/actor/account",
    "/actor/account/homePage",
    "/actor/account/name",
    "/verb",
    "/verb/id",
    "/object",
    "/object/id",
    "/object/objectType",
    "/timestamp",
    "/context",
    "/context/contextActivities",
    "/context/contextActivities/parent",
    "/context/contextActivities/parent/1/id",
    "/result",
    "/result/duration",
    "/result/score",
    "/result/score/scaled",
    "/result/completion",
    "/result/success",
    "/result/extensions",
    "/result/extensions/urn:learnlens:xapi:extension:clicks",
];

/// A statement with some fields replaced by arbitrary JSON or removed.
fn mutated_statement() -> impl Strategy<Value = Value> {
    (
        0u128..4,
        prop::collection::vec(
            (
                prop::sample::select(POINTERS),
                prop::option::weighted(0.8, any_json()),
            ),
            0..4,
        ),
    )
        .prop_map(|(n, mutations)| {
            let mut s = statement(n);
            for (pointer, value) in mutations {
                match value {
                    Some(value) => {
                        if let Some(slot) = s.pointer_mut(pointer) {
                            *slot = value;
                        }
                    }
                    None => {
                        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", ""));
                        if let Some(Value::Object(o)) = s.pointer_mut(parent) {
                            o.remove(key);
                        }
                    }
                }
            }
            s
        })
}

fn any_event() -> impl Strategy<Value = ActivityEvent> {
    let verb = prop::sample::select(VERBS.map(|(v, _)| v).to_vec());
    (
        (
            "\\PC{1,16}",
            verb,
            "\\PC{1,16}",
            prop::option::of("\\PC{1,16}"),
        ),
        (0i64..4_102_444_800, 0u32..1_000_000_000),
        (
            prop::option::of(0.0f64..1e9),
            prop::option::of(-1.0f64..=1.0),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<u32>()),
        ),
    )
        .prop_map(
            |((user_id, verb, object_id, course_id), (secs, nanos), (d, s, c, ok, clicks))| {
                ActivityEvent {
                    user_id: user_id.into(),
                    verb,
                    object_id: object_id.into(),
                    course_id: course_id.map(Into::into),
                    timestamp: Utc.timestamp_opt(secs, nanos).single().unwrap_or_default(),
                    duration_sec: d,
                    score_scaled: s,
                    completion: c,
                    success: ok,
                    clicks,
                }
            },
        )
}

fn try_parse(body: &[u8]) -> Result<StatementPage, XapiError> {
    let platform = platform();
    let emails = emails();
    parse_statements(
        body,
        &Mapping {
            platform: &platform,
            emails: &emails,
        },
    )
}

fn counts_add_up(p: &StatementPage) -> bool {
    p.events.len() as u64 + p.skipped.total() == p.seen && p.events.len() == p.ids.len()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn garbage_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(p) = try_parse(&body) {
            prop_assert!(counts_add_up(&p));
        }
    }

    #[test]
    fn random_json_is_a_page_only_when_shaped_like_one(value in any_json()) {
        let result = try_parse(value.to_string().as_bytes());
        let shaped = value.get("statements").is_some_and(Value::is_array)
            && matches!(value.get("more"), None | Some(Value::Null | Value::String(_)));
        prop_assert_eq!(result.is_ok(), shaped);
        if let Ok(p) = result {
            prop_assert!(counts_add_up(&p));
        }
    }

    #[test]
    fn random_statements_in_a_page_never_fail_it(
        statements in prop::collection::vec(prop_oneof![mutated_statement(), any_json()], 0..12)
    ) {
        let body = page(statements.clone()).to_string();
        let p = try_parse(body.as_bytes());
        prop_assert!(p.is_ok(), "{:?}", p);
        let p = p.unwrap_or_default();
        prop_assert_eq!(p.seen, statements.len() as u64);
        prop_assert!(counts_add_up(&p));
        for e in &p.events {
            prop_assert!(e.duration_sec.is_none_or(|d| d.is_finite() && d >= 0.0));
            prop_assert!(e.score_scaled.is_none_or(|s| (-1.0..=1.0).contains(&s)));
            prop_assert!(!e.user_id.is_empty() && !e.object_id.is_empty());
        }
    }

    #[test]
    fn truncated_pages_are_errors(
        statements in prop::collection::vec(mutated_statement(), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let body = page(statements).to_string();
        let cut = cut.index(body.len());
        prop_assert!(try_parse(&body.as_bytes()[..cut]).is_err());
    }

    #[test]
    fn events_round_trip_through_statements(events in prop::collection::vec(any_event(), 0..8)) {
        let platform = platform();
        let statements = events.iter().map(|e| event_to_statement(e, &platform)).collect();
        let p = try_parse(page(statements).to_string().as_bytes());
        prop_assert!(p.is_ok());
        let p = p.unwrap_or_default();
        prop_assert_eq!(p.invalid_fields, FieldCounts::default());
        // serde_json reads floats to within an ulp or two (its exact mode is a crate-wide
        // feature we do not need): compare scores with a tolerance, the rest exactly.
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-12,
            (a, b) => a == b,
        };
        prop_assert_eq!(p.events.len(), events.len());
        for (got, want) in p.events.iter().zip(&events) {
            prop_assert!(close(got.score_scaled, want.score_scaled), "{got:?} != {want:?}");
            let got = ActivityEvent { score_scaled: want.score_scaled, ..got.clone() };
            prop_assert_eq!(&got, want);
        }
    }

    #[test]
    fn a_statement_written_directly_is_the_value_form_with_its_id(event in any_event(), n in any::<u64>()) {
        let platform = platform();
        let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, &n.to_le_bytes());
        let bytes = serde_json::to_vec(&StatementJson { event: &event, platform: &platform, id: Some(id) });
        prop_assert!(bytes.is_ok());
        let written: Value = serde_json::from_slice(&bytes.unwrap_or_default()).unwrap_or_default();
        let mut want = event_to_statement(&event, &platform);
        want["id"] = Value::from(id.to_string());
        prop_assert_eq!(written, want);
    }
}

// -------------------------------------------------------------------------------------------
// the client, against a fake LRS
// -------------------------------------------------------------------------------------------

mod client {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::extract::{RawQuery, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;

    use super::*;

    /// The headers and query of every request the fake LRS received.
    type Requests = Arc<Mutex<Vec<(HeaderMap, Option<String>)>>>;

    /// Whether an error is the expected one.
    type Check = fn(&XapiError) -> bool;

    /// How the fake LRS answers.
    #[derive(Clone, Copy)]
    enum Script {
        /// Three pages: relative `more`, absolute `more`, last. Page 3 voids a page-1 statement.
        ThreePages,
        Status(u16),
        Garbage,
        Huge {
            announce: bool,
        },
        Endless,
        ForeignMore,
        Slow,
    }

    #[derive(Clone)]
    struct Fake {
        script: Script,
        base: String,
        seen: Requests,
    }

    async fn statements(
        State(fake): State<Fake>,
        headers: HeaderMap,
        RawQuery(query): RawQuery,
    ) -> Response {
        let page_no = {
            let mut seen = fake.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.push((headers, query));
            seen.len()
        };
        let json_page = |statements: Vec<Value>, more: &str| {
            axum::Json(json!({"statements": statements, "more": more})).into_response()
        };
        match fake.script {
            Script::ThreePages => match page_no {
                1 => json_page(vec![statement(1), statement(2)], "statements?page=2"),
                2 => json_page(
                    vec![statement(3)],
                    &format!("{}/xAPI/statements?page=3", fake.base),
                ),
                _ => json_page(vec![voiding(4, 1), statement(5)], ""),
            },
            Script::Status(code) => {
                let code = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
                (code, [("retry-after", "7")], "busy").into_response()
            }
            Script::Garbage => "{\"statements\": [".into_response(),
            Script::Huge { announce } => {
                let body = format!("{{\"statements\": [], \"pad\": \"{}\"}}", "x".repeat(4096));
                if announce {
                    body.into_response()
                } else {
                    let chunks = futures::stream::iter(
                        body.into_bytes()
                            .chunks(512)
                            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                            .collect::<Vec<_>>(),
                    );
                    axum::body::Body::from_stream(chunks).into_response()
                }
            }
            Script::Endless => json_page(vec![], "statements?again"),
            Script::ForeignMore => json_page(vec![], "http://192.0.2.1/xAPI/statements?x"),
            Script::Slow => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                json_page(vec![], "")
            }
        }
    }

    struct Lrs {
        client: XapiClient,
        seen: Requests,
    }

    async fn fake_lrs(script: Script, tweak: impl FnOnce(&mut XapiClientOptions)) -> Lrs {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/xAPI/statements", get(statements))
            .with_state(Fake {
                script,
                base: base.clone(),
                seen: seen.clone(),
            });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut options =
            XapiClientOptions::new(&format!("{base}/xAPI"), "lrs-user", "lrs-pass", platform());
        options.max_page_bytes = 2048;
        options.max_pages = 5;
        options.timeout = Duration::from_millis(500);
        tweak(&mut options);
        Lrs {
            client: XapiClient::new(options).expect("client"),
            seen,
        }
    }

    #[tokio::test]
    async fn pages_are_followed_with_the_xapi_headers_and_voids_cross_pages() {
        let lrs = fake_lrs(Script::ThreePages, |_| {}).await;
        let since = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("t");
        let query = StatementQuery {
            since: Some(since),
            until: Some(since + chrono::TimeDelta::days(1)),
            agent: Some("u1".into()),
            limit: Some(2),
            request_id: Some("req-1".into()),
        };
        let r = lrs.client.fetch(&query, &NoEmails).await.expect("fetch");
        assert_eq!(r.pages, 3);
        assert_eq!(r.statements_seen, 5);
        // Statement 1 (page 1) is voided by statement 4 (page 3).
        assert_eq!(r.skipped.voided, 2);
        assert_eq!(r.events.len(), 3);
        assert_eq!(r.events.len() as u64 + r.skipped.total(), r.statements_seen);

        let seen = lrs.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(seen.len(), 3);
        for (headers, _) in &seen {
            assert_eq!(headers["x-experience-api-version"], "1.0.3");
            assert_eq!(headers["accept"], "application/json");
            assert_eq!(headers["x-request-id"], "req-1");
            // base64("lrs-user:lrs-pass")
            assert_eq!(headers["authorization"], "Basic bHJzLXVzZXI6bHJzLXBhc3M=");
        }
        let first: std::collections::HashMap<String, String> = reqwest::Url::parse(&format!(
            "http://x/?{}",
            seen[0].1.clone().unwrap_or_default()
        ))
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
        assert_eq!(first["since"], "2026-01-01T00:00:00Z");
        assert_eq!(first["until"], "2026-01-02T00:00:00Z");
        assert_eq!(first["limit"], "2");
        let agent: Value = serde_json::from_str(&first["agent"]).expect("agent json");
        assert_eq!(
            agent,
            json!({"objectType": "Agent", "account": {"homePage": PLATFORM, "name": "u1"}})
        );
        assert_eq!(seen[1].1.as_deref(), Some("page=2"));
        assert_eq!(seen[2].1.as_deref(), Some("page=3"));
    }

    #[tokio::test]
    async fn statuses_are_typed_for_the_breaker() {
        for (code, failure, retryable) in [
            (503, true, true),
            (500, true, true),
            (429, true, true),
            (404, false, false),
            (401, false, false),
            (302, true, false),
        ] {
            let lrs = fake_lrs(Script::Status(code), |_| {}).await;
            let e = lrs
                .client
                .fetch(&StatementQuery::default(), &NoEmails)
                .await
                .expect_err("status");
            let XapiError::Status {
                status,
                retry_after,
            } = e
            else {
                panic!("{code}: {e:?}");
            };
            assert_eq!(status, code);
            assert_eq!(retry_after, Some(RetryAfter::Seconds(7)));
            assert_eq!(e.counts_as_failure(), failure, "{code}");
            assert_eq!(e.is_retryable(), retryable, "{code}");
        }
    }

    #[tokio::test]
    async fn garbage_huge_endless_foreign_and_slow_answers_are_failures() {
        let cases: [(Script, Check); 6] = [
            (Script::Garbage, |e| matches!(e, XapiError::Body(_))),
            (Script::Huge { announce: true }, |e| {
                matches!(e, XapiError::BodyTooLarge { limit: 2048 })
            }),
            (Script::Huge { announce: false }, |e| {
                matches!(e, XapiError::BodyTooLarge { limit: 2048 })
            }),
            (Script::Endless, |e| {
                matches!(e, XapiError::TooManyPages { max: 5 })
            }),
            (Script::ForeignMore, |e| matches!(e, XapiError::BadMore(_))),
            (Script::Slow, |e| matches!(e, XapiError::Timeout)),
        ];
        for (script, expected) in cases {
            let lrs = fake_lrs(script, |_| {}).await;
            let e = lrs
                .client
                .fetch(&StatementQuery::default(), &NoEmails)
                .await
                .expect_err("failure");
            assert!(expected(&e), "{e:?}");
            assert!(e.counts_as_failure(), "{e:?}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transport_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let client = XapiClient::new(XapiClientOptions::new(
            &format!("http://{addr}/xAPI/"),
            "u",
            "p",
            platform(),
        ))
        .expect("client");
        let e = client
            .fetch(&StatementQuery::default(), &NoEmails)
            .await
            .expect_err("refused");
        assert!(matches!(e, XapiError::Transport(_)), "{e:?}");
        assert!(e.counts_as_failure() && e.is_retryable());
    }

    #[test]
    fn bad_endpoints_are_configuration_errors() {
        for endpoint in [
            "not a url",
            "ftp://lrs.example.org/xAPI/",
            "http://user:pw@lrs.example.org/xAPI/",
            "http://lrs.example.org/xAPI/?x=1",
        ] {
            let e = XapiClient::new(XapiClientOptions::new(endpoint, "u", "p", platform()))
                .expect_err(endpoint);
            assert!(matches!(e, XapiError::Config(_)) && !e.counts_as_failure());
        }
        let options = XapiClientOptions::new("http://127.0.0.1:1/xAPI", "u", "secret", platform());
        assert!(!format!("{options:?}").contains("secret"));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("t");
        assert_eq!(RetryAfter::parse("120"), Some(RetryAfter::Seconds(120)));
        let at = RetryAfter::parse("Thu, 01 Jan 2026 00:00:30 GMT").expect("date");
        assert_eq!(at.delay(now), Duration::from_secs(30));
        assert_eq!(at.delay(now + chrono::TimeDelta::hours(1)), Duration::ZERO);
        for bad in ["", "-1", "soon", "1.5", "99999999999999999999999"] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad}");
        }
    }
}
