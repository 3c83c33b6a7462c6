//! The activity source against a real Learning Record Store, Ralph: statements POSTed over
//! xAPI are read back through `XapiClient`, a few per page so that paging through `more`
//! happens, and compared with what a model of the batch predicts (events, skip counts, and
//! the `since`, `until` and `agent` filters).
//!
//! The LRS is `LEARNLENS_TEST_LRS_URL` (its xAPI endpoint) with `LEARNLENS_TEST_LRS_USER` and
//! `LEARNLENS_TEST_LRS_PASSWORD`, as `.ci/run` sets them; when the URL is unset the test starts
//! its own Ralph with `scripts/lrs/start-ralph.sh` (building the cached venv on first use, which
//! needs python3 and PyPI) and stops it at the end. When neither works the test prints a loud
//! SKIPPED line and passes, unless `LEARNLENS_REQUIRE_SERVICES=1`.
//!
//! Two properties of Ralph 5.1.0's file backend shape the test: it filters `since`/`until` on
//! `timestamp` (the specification says `stored`), and it stores only one POST per LRS (later
//! writes fail with 500). So the whole batch goes in one POST with fixed statement ids and
//! content: POSTing it again to the same LRS is a no-op (204), and the test can run again.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use learnlens::sources::xapi::{
    EmailMap, FetchResult, FieldCounts, Platform, SkipCounts, StatementQuery, VOIDED_VERB,
    XapiClient, XapiClientOptions, event_to_statement,
};
use learnlens_analytics::input::{ActivityEvent, Verb};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::skip;

/// A platform IRI used by nothing but this test.
const PLATFORM: &str = "https://learnlens-test.example.com";
const GOOD: usize = 300;

/// An LRS to talk to; stops the Ralph it started when dropped.
struct Lrs {
    url: String,
    user: String,
    password: String,
    started: Option<(PathBuf, tempfile::TempDir)>,
}

impl Drop for Lrs {
    fn drop(&mut self) {
        if let Some((script_dir, dir)) = self.started.take() {
            let _ = std::process::Command::new(script_dir.join("stop-ralph.sh"))
                .arg(dir.path())
                .status();
        }
    }
}

impl Lrs {
    fn statements_url(&self) -> String {
        format!("{}/statements", self.url.trim_end_matches('/'))
    }
}

async fn lrs() -> Option<Lrs> {
    if let Ok(url) = std::env::var("LEARNLENS_TEST_LRS_URL") {
        return Some(Lrs {
            url,
            user: std::env::var("LEARNLENS_TEST_LRS_USER").unwrap_or_default(),
            password: std::env::var("LEARNLENS_TEST_LRS_PASSWORD").unwrap_or_default(),
            started: None,
        });
    }
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lrs");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = tokio::process::Command::new(scripts.join("start-ralph.sh"))
        .arg("--dir")
        .arg(dir.path())
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .kill_on_drop(true)
        .output();
    // A first run builds the venv from PyPI.
    let out = match tokio::time::timeout(Duration::from_secs(900), run).await {
        Ok(Ok(out)) if out.status.success() => out,
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            skip(
                "Ralph (the test LRS)",
                &format!("start-ralph.sh failed: {}", tail.join(" / ")),
            );
            return None;
        }
        Ok(Err(e)) => {
            skip("Ralph (the test LRS)", &format!("start-ralph.sh: {e}"));
            return None;
        }
        Err(_) => {
            skip("Ralph (the test LRS)", "start-ralph.sh timed out");
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let var = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    Some(Lrs {
        url: var("LRS_URL"),
        user: var("LRS_USER"),
        password: var("LRS_PASSWORD"),
        started: Some((scripts, dir)),
    })
}

/// What the test knows about each statement it posts.
#[derive(Debug, Clone)]
enum Kind {
    Good(ActivityEvent),
    /// A voiding statement; the index of the statement it voids.
    Voiding(usize),
    UnknownActor,
    UnknownVerb,
    UnknownObject,
    Malformed,
}

#[derive(Debug, Clone)]
struct Posted {
    id: Uuid,
    /// `None` when the timestamp is not a time (Ralph's filters then drop the statement).
    timestamp: Option<DateTime<Utc>>,
    /// The `account.name` when the actor is an account of the test platform.
    account: Option<String>,
    kind: Kind,
    statement: Value,
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

fn at(i: usize) -> DateTime<Utc> {
    base_time() + TimeDelta::minutes(37 * i as i64)
}

fn id(i: usize) -> Uuid {
    Uuid::from_u128(0x6c6c_7465_7374_0000_0000_0000_0000_0000 | i as u128)
}

/// The learner a mailbox belongs to.
fn email_of(user: &str) -> String {
    format!("learner-{user}@example.com")
}

const VERBS: [Verb; 8] = [
    Verb::Launched,
    Verb::Experienced,
    Verb::Progressed,
    Verb::Completed,
    Verb::Attempted,
    Verb::Answered,
    Verb::Passed,
    Verb::Failed,
];

/// 300 good statements (some identified by mbox, one with a garbage duration), one voiding
/// statement (voiding good statement 5, several pages earlier), and one each of unknown verb,
/// unknown object, malformed, and two of unknown actor.
fn batch(platform: &Platform) -> Vec<Posted> {
    let mut posted = Vec::new();
    for i in 0..GOOD {
        let verb = VERBS[i % VERBS.len()];
        let object = if i % 25 == 0 {
            "module 1/intro?".to_owned()
        } else {
            format!("c{}", i % 25)
        };
        let mut event = ActivityEvent {
            user_id: format!("u{:02}", i % 12).into(),
            verb,
            object_id: object.into(),
            course_id: (i % 10 != 9).then(|| format!("C{}", i % 3).into()),
            timestamp: at(i),
            duration_sec: (i % 2 == 0).then_some(i as f64 * 1.5),
            score_scaled: matches!(verb, Verb::Passed | Verb::Failed | Verb::Answered)
                .then_some(((i % 21) as f64 - 10.0) / 10.0),
            completion: (verb == Verb::Completed).then_some(true),
            success: match verb {
                Verb::Passed => Some(true),
                Verb::Failed => Some(false),
                _ => None,
            },
            clicks: (verb == Verb::Experienced).then_some((i % 7) as u32),
        };
        let mut statement = event_to_statement(&event, platform);
        statement["id"] = json!(id(i).to_string());
        let mut account = Some(event.user_id.to_string());
        if i % 50 == 7 {
            statement["actor"] = json!({"objectType": "Agent", "mbox": format!("mailto:{}", email_of(&event.user_id))});
            account = None;
        }
        if i == 42 {
            statement["result"]["duration"] = json!("PT1H30");
            event.duration_sec = None;
        }
        posted.push(Posted {
            id: id(i),
            timestamp: Some(at(i)),
            account,
            kind: Kind::Good(event),
            statement,
        });
    }
    let mut junk = |i: usize, kind: Kind, edit: &dyn Fn(&mut Value)| {
        let template = match &posted[0].kind {
            Kind::Good(e) => e.clone(),
            _ => unreachable!("statement 0 is good"),
        };
        let mut statement = event_to_statement(
            &ActivityEvent {
                timestamp: at(i),
                ..template.clone()
            },
            platform,
        );
        statement["id"] = json!(id(i).to_string());
        edit(&mut statement);
        let account = statement["actor"]["account"]
            .get("homePage")
            .filter(|h| *h == PLATFORM)
            .and_then(|_| statement["actor"]["account"]["name"].as_str())
            .map(str::to_owned);
        let timestamp = statement["timestamp"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        posted.push(Posted {
            id: id(i),
            timestamp,
            account,
            kind,
            statement,
        });
    };
    let voided = id(5);
    junk(GOOD + 1, Kind::Voiding(5), &|s| {
        s["verb"] = json!({"id": VOIDED_VERB, "display": {"en-US": "voided"}});
        s["object"] = json!({"objectType": "StatementRef", "id": voided.to_string()});
        s.as_object_mut().map(|o| o.remove("result"));
        s.as_object_mut().map(|o| o.remove("context"));
    });
    junk(GOOD + 2, Kind::UnknownActor, &|s| {
        s["actor"]["account"]["homePage"] = json!("https://another-platform.example.com");
    });
    junk(GOOD + 3, Kind::UnknownActor, &|s| {
        s["actor"] = json!({"mbox": "mailto:stranger@example.com"});
    });
    junk(GOOD + 4, Kind::UnknownVerb, &|s| {
        s["verb"] = json!({"id": "http://adlnet.gov/expapi/verbs/commented"});
    });
    junk(GOOD + 5, Kind::UnknownObject, &|s| {
        s["object"] = json!({"objectType": "Activity", "id": "https://elsewhere.example.org/x"});
    });
    // Ralph stores a statement whose timestamp is not a time; learnlens must not.
    junk(GOOD + 6, Kind::Malformed, &|s| {
        s["timestamp"] = json!("yesterday at noon");
    });
    // Interleave the junk with the good statements so that it lands on several pages.
    let extra = posted.split_off(GOOD);
    for (k, p) in extra.into_iter().enumerate() {
        posted.insert(40 + 45 * k, p);
    }
    posted
}

/// What reading `query` back should give, from the LRS's filtering (Ralph: by timestamp,
/// `since` exclusive, `until` inclusive, `agent` by account) and learnlens's mapping.
fn expected(posted: &[Posted], query: &StatementQuery) -> (Vec<ActivityEvent>, SkipCounts) {
    let filtered = query.since.is_some() || query.until.is_some();
    let returned: Vec<&Posted> = posted
        .iter()
        .filter(|p| match p.timestamp {
            Some(t) => query.since.is_none_or(|s| t > s) && query.until.is_none_or(|u| t <= u),
            None => !filtered,
        })
        .filter(|p| {
            query
                .agent
                .as_ref()
                .is_none_or(|a| p.account.as_ref() == Some(a))
        })
        .collect();
    let voided: Vec<Uuid> = returned
        .iter()
        .filter_map(|p| match p.kind {
            Kind::Voiding(target) => Some(id(target)),
            _ => None,
        })
        .collect();
    let mut events = Vec::new();
    let mut skipped = SkipCounts::default();
    for p in returned {
        match &p.kind {
            Kind::Good(_) if voided.contains(&p.id) => skipped.voided += 1,
            Kind::Good(e) => events.push(e.clone()),
            Kind::Voiding(_) => skipped.voided += 1,
            Kind::UnknownActor => skipped.unknown_actor += 1,
            Kind::UnknownVerb => skipped.unknown_verb += 1,
            Kind::UnknownObject => skipped.unknown_object += 1,
            Kind::Malformed => skipped.malformed += 1,
        }
    }
    events.sort_by_key(|e| e.timestamp);
    (events, skipped)
}

fn sorted(mut r: FetchResult) -> FetchResult {
    r.events.sort_by_key(|e| e.timestamp);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_posted_to_a_real_lrs_read_back_through_the_client() {
    let Some(lrs) = lrs().await else {
        return;
    };
    let platform = Platform::new(PLATFORM).expect("platform");
    let posted = batch(&platform);

    let http = reqwest::Client::new();
    let body = Value::Array(posted.iter().map(|p| p.statement.clone()).collect());
    let r = http
        .post(lrs.statements_url())
        .basic_auth(&lrs.user, Some(&lrs.password))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&body)
        .send()
        .await
        .expect("POST statements");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    assert!(
        status == 200 || status == 204,
        "POST answered {status}: {text} (a 409 or 500 means this LRS already holds other data \
         under the test's ids or file: give the test a fresh LRS)"
    );

    let mut options = XapiClientOptions::new(&lrs.url, &lrs.user, &lrs.password, platform);
    options.timeout = Duration::from_secs(30);
    let client = XapiClient::new(options).expect("client");
    let emails = EmailMap::new((0..12).map(|u| {
        let user = format!("u{u:02}");
        (email_of(&user), user)
    }));

    // Everything, 37 statements a page.
    let everything = StatementQuery {
        limit: Some(37),
        ..StatementQuery::default()
    };
    let started = Instant::now();
    let all = sorted(client.fetch(&everything, &emails).await.expect("fetch all"));
    let elapsed = started.elapsed();
    let (events, skipped) = expected(&posted, &everything);
    assert_eq!(all.statements_seen, posted.len() as u64);
    assert_eq!(
        all.pages,
        (posted.len() as u32).div_ceil(37),
        "paged through more"
    );
    assert_eq!(
        skipped,
        SkipCounts {
            voided: 2,
            malformed: 1,
            unknown_actor: 2,
            unknown_verb: 1,
            unknown_object: 1,
        }
    );
    assert_eq!(all.skipped, skipped);
    assert_eq!(
        all.invalid_fields,
        FieldCounts {
            duration: 1,
            ..FieldCounts::default()
        }
    );
    assert_eq!(all.events.len(), GOOD - 1);
    assert_eq!(all.events, events);
    assert!(
        all.events
            .iter()
            .any(|e| &*e.object_id == "module 1/intro?")
    );
    assert!(all.events.iter().any(|e| e.clicks.is_some()));
    eprintln!(
        "xAPI read-back from Ralph: {} statements in {} pages of 37 in {:?} ({:.0} statements/s)",
        all.statements_seen,
        all.pages,
        elapsed,
        all.statements_seen as f64 / elapsed.as_secs_f64()
    );

    // A time window: since is exclusive, until inclusive. It holds the voiding statement but
    // not its target, so nothing is voided in it but the voiding statement itself.
    let window = StatementQuery {
        since: Some(at(100)),
        until: Some(at(GOOD + 3)),
        limit: Some(50),
        ..StatementQuery::default()
    };
    let got = sorted(client.fetch(&window, &emails).await.expect("fetch window"));
    let (events, skipped) = expected(&posted, &window);
    assert!(events.len() > 150 && skipped.voided == 1, "{skipped:?}");
    assert_eq!(got.events, events);
    assert_eq!(got.skipped, skipped);
    assert!(got.events.iter().all(|e| e.timestamp > at(100)));

    // One learner, by account: their mbox statements are not matched by the LRS.
    let agent = StatementQuery {
        agent: Some("u07".into()),
        limit: Some(5),
        ..StatementQuery::default()
    };
    let got = sorted(client.fetch(&agent, &emails).await.expect("fetch agent"));
    let (events, skipped) = expected(&posted, &agent);
    assert!(
        events.len() > 10 && got.pages > 2,
        "{} events",
        events.len()
    );
    assert!(got.events.iter().all(|e| &*e.user_id == "u07"));
    assert_eq!(got.events, events);
    assert_eq!(got.skipped, skipped);

    // The same batch again is a no-op for the LRS, so the test can run again on it.
    let again = http
        .post(lrs.statements_url())
        .basic_auth(&lrs.user, Some(&lrs.password))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&body)
        .send()
        .await
        .expect("POST again");
    assert_eq!(again.status(), 204);

    // Wrong credentials: a 401, which is not a failure of the source.
    let mut options = XapiClientOptions::new(
        &lrs.url,
        &lrs.user,
        "wrong",
        Platform::new(PLATFORM).expect("platform"),
    );
    options.timeout = Duration::from_secs(30);
    let e = XapiClient::new(options)
        .expect("client")
        .fetch(&everything, &emails)
        .await
        .expect_err("unauthorised");
    assert!(
        matches!(
            e,
            learnlens::sources::xapi::XapiError::Status { status: 401, .. }
        ),
        "{e:?}"
    );
    assert!(!e.counts_as_failure());
}
