//! A source killed under load (quality.md, "Circuit breakers and fallback"): 0 5xx; once the
//! breaker is open, p99 ≤ 100 ms; live data back within the open period + one probe round
//! after the source returns.
//!
//! The demo app runs in-process (`learnlens::build` + `learnlens::serve`, the wall clock) with
//! the synthetic demo sources served over HTTP on loopback and no mock data, so the fallback
//! is the store's snapshots. The four JSON services are reached directly; the activity source
//! (the LRS, xAPI) sits behind the tests' TCP fault proxy, and "kill" means the proxy refuses
//! every connection (`Mode::Refuse`), open ones cut. The breaker's open period is shortened
//! from the configured 30 s to [`OPEN_SECS`], so that the run stays short; everything else
//! in `[sources]` is the default (3 probes, 3 s deadline, 2 retries).
//!
//! Load: [`LOOPS`] loops (`SOURCE_OUTAGE_LOOPS=n` for another number) of GETs over 32
//! analytics endpoints of five subjects (the learners `demo-learner` and `demo-multi`, the
//! trainers `demo-trainer` and `demo-multi`, the organisation `demo-org`). Every read is made
//! cold: just before each GET the bench deletes that result from every cache layer
//! in-process (`Cache::delete`) and drops the subject's single-flight entry, so each request
//! misses every layer and computes from the sources (a cold compute reads the whole
//! organisation: 30 learners' statements from the LRS). Misses of one subject that overlap
//! still share one compute, and computes of one organisation its read (reused 2 s when
//! live, only while in progress when degraded), as in production; a response that a
//! concurrent compute put back into the cache between the delete and the GET says
//! `cached: true` and is counted apart.
//! With a warm cache instead, a result computed from fallback data is served until it expires
//! (`sources.fallback_ttl_secs`), which this scenario does not measure.
//!
//! Phases, on one timeline: warm-up, then live (the LRS up), then kill: the proxy refuses,
//! the bench polls the LRS breaker until it opens and until it has reopened [`REOPENS`] times
//! after failed probe rounds, and revives the source right after the last reopening (the worst
//! case: a whole open period to wait), then the load runs on until the breaker has closed and
//! for [`TAIL`] more. Figures: every status; p50/p99 of the live phase (requests done before
//! the kill) and of the requests started while the breaker was open; how the responses were
//! flagged (`dataQuality`); the time from revival to the first response computed with live
//! LRS data, and its parts. `RUST_LOG` shows the app's logs (errors only by default).
//!
//! A 5xx, a failed request, an unexpected status or fallback data served without the
//! `degraded` flag fails the run (after the figures are printed); the latency and recovery
//! targets are reported, not asserted.
//!
//! Run: `cargo bench -p learnlens --bench source_outage`.

#[allow(dead_code)]
#[path = "../tests/api/fault_proxy.rs"]
mod fault_proxy;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use learnlens::config::Config;
use learnlens::demo::server::{self, DemoAuth, SourceData};
use learnlens::demo::synthetic::{DEFAULT_SEED, Size};
use learnlens::pipeline::stored_role;
use learnlens::sources::Service;
use learnlens::sources::breaker::{BreakerState, BreakerStatus, CircuitBreaker};
use learnlens::state::AppState;
use learnlens_analytics::kind::{AnalyticsKind, Group};

use fault_proxy::{FaultProxy, Mode};
use support::{App, Threads};

/// Concurrent request loops, unless `SOURCE_OUTAGE_LOOPS` says otherwise.
const LOOPS: usize = 16;
/// The breaker's open period in this run (the configured default is 30 s).
const OPEN_SECS: u64 = 5;
/// Failed probe rounds (reopenings) seen before the source is revived.
const REOPENS: usize = 1;
const WARMUP: Duration = Duration::from_secs(2);
const LIVE: Duration = Duration::from_secs(8);
/// How long the load goes on after the breaker has closed again.
const TAIL: Duration = Duration::from_secs(3);
/// The longest wait for any breaker transition before the run is declared broken.
const PATIENCE: Duration = Duration::from_secs(60);
/// The latency target once the breaker is open.
const OPEN_P99_TARGET: Duration = Duration::from_millis(100);

/// The app and the LRS's fault proxy.
struct Server {
    app: App,
    lrs: FaultProxy,
}

/// Starts the demo sources, the LRS's proxy and the app on their own runtime (two worker
/// threads) and OS thread.
fn start() -> Server {
    let (app, lrs) = support::start(Threads::Workers(2), async |config: &mut Config| {
        config.sources.breaker.open_secs = OPEN_SECS;
        let platform = learnlens::sources::xapi::Platform::new(&config.sources.activity.platform)
            .expect("platform");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sources");
        let data = SourceData::synthetic(Size::Demo, DEFAULT_SEED);
        let sources =
            server::spawn(data, platform, DemoAuth::default(), listener).expect("sources");
        // Every service at the source server; then the LRS moved behind the proxy.
        sources.configure(&mut config.sources);
        let lrs = FaultProxy::start(sources.addr).await;
        config.sources.activity.url = format!("http://{}/lrs/xAPI/", lrs.addr);
        lrs
    });
    Server { app, lrs }
}

/// One endpoint read by one account, and the cache key of its result.
struct Read {
    url: String,
    token: Arc<str>,
    role: &'static str,
    analytics: &'static str,
    stored_role: &'static str,
    subject: &'static str,
}

/// Every analytic endpoint of the five subjects (skill demand, keyed by query, aside).
async fn reads(client: &reqwest::Client, base: &str) -> Vec<Read> {
    let learner: &[(Group, &str, &str)] = &[
        (Group::Learner, "learner", "velocity"),
        (Group::Learner, "learner", "skill-gap"),
        (Group::Learner, "learner", "engagement"),
        (Group::Learner, "learner", "mastery"),
        (Group::Learner, "learner", "performance"),
        (Group::Learner, "learner", "content-effectiveness"),
        (Group::Predictive, "predictive", "drop-off-risk"),
        (Group::Predictive, "predictive", "performance-forecast"),
        (Group::Predictive, "predictive", "recommendations"),
        (Group::Comparison, "comparison", "peer-comparison"),
    ];
    let trainer: &[(Group, &str, &str)] = &[
        (Group::Trainer, "trainer", "course-performance"),
        (Group::Trainer, "trainer", "course-health"),
        (Group::Trainer, "trainer", "student-distribution"),
        (Group::Trainer, "trainer", "teaching-effectiveness"),
    ];
    let org: &[(Group, &str, &str)] = &[
        (Group::OrgAdmin, "org-admin", "learning-velocity"),
        (Group::OrgAdmin, "org-admin", "strategic-alignment"),
        (Group::OrgAdmin, "org-admin", "learning-culture"),
        (Group::OrgAdmin, "org-admin", "performance"),
    ];
    let learner_token: Arc<str> = support::login(client, base, "learner@demo.test")
        .await
        .into();
    let trainer_token: Arc<str> = support::login(client, base, "trainer@demo.test")
        .await
        .into();
    let admin_token: Arc<str> = support::login(client, base, "admin@demo.test").await.into();
    let multi_token: Arc<str> = support::login(client, base, "multi@demo.test").await.into();
    let subjects = [
        ("demo-learner", "learner", learner_token, learner),
        ("demo-trainer", "trainer", trainer_token, trainer),
        ("demo-org", "org-admin", admin_token, org),
        ("demo-multi", "learner", multi_token.clone(), learner),
        ("demo-multi", "trainer", multi_token, trainer),
    ];
    let mut reads = Vec::new();
    for (subject, role, token, endpoints) in subjects {
        for &(group, prefix, slug) in endpoints {
            let kind = AnalyticsKind::from_slug(group, slug).expect("known analytic");
            reads.push(Read {
                url: format!("{base}/api/v1/{prefix}/analytics/{slug}/{subject}"),
                token: token.clone(),
                role,
                analytics: kind.name(),
                stored_role: stored_role(kind, subject),
                subject,
            });
        }
    }
    reads
}

/// One request as the load loop saw it.
struct Sample {
    started: Instant,
    done: Instant,
    /// The HTTP status, or `None` when the request failed.
    status: Option<u16>,
    cached: bool,
    degraded: bool,
    /// `dataQuality.sources.activity`, or `"absent"`.
    activity: String,
    /// The URL and body of a failure, for the message.
    failure: Option<String>,
}

impl Sample {
    fn latency(&self) -> Duration {
        self.done - self.started
    }
}

/// Deletes `read`'s result from every cache layer and its subject's single-flight entry (the
/// key `{role}:{subject}` of `pipeline/read.rs`), on the server's runtime.
async fn make_cold(server_rt: &tokio::runtime::Handle, state: &Arc<AppState>, read: &Read) {
    let state = state.clone();
    let parts = (read.analytics, read.stored_role, read.subject);
    let flight = format!("{}:{}", read.stored_role, read.subject);
    server_rt
        .spawn(async move {
            state
                .pipeline
                .cache
                .delete(parts)
                .await
                .expect("deleting the cached result");
            state.pipeline.in_flight.invalidate(&flight).await;
        })
        .await
        .expect("cache delete task");
}

async fn get(client: &reqwest::Client, read: &Read) -> Sample {
    let started = Instant::now();
    let sent = client
        .get(&read.url)
        .bearer_auth(&*read.token)
        .header("x-active-role", read.role)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            return Sample {
                started,
                done: Instant::now(),
                status: None,
                cached: false,
                degraded: false,
                activity: "absent".into(),
                failure: Some(format!("GET {}: {e}", read.url)),
            };
        }
    };
    let status = response.status().as_u16();
    let body = response.bytes().await;
    let done = Instant::now();
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return Sample {
                started,
                done,
                status: None,
                cached: false,
                degraded: false,
                activity: "absent".into(),
                failure: Some(format!("GET {} (body): {e}", read.url)),
            };
        }
    };
    let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let quality = &envelope["dataQuality"];
    Sample {
        started,
        done,
        status: Some(status),
        cached: envelope["cached"].as_bool().unwrap_or(false),
        degraded: quality["degraded"].as_bool().unwrap_or(false),
        activity: quality["sources"]["activity"]
            .as_str()
            .unwrap_or("absent")
            .to_owned(),
        failure: (status != 200).then(|| {
            let text = String::from_utf8_lossy(&body);
            format!(
                "GET {} → {status}: {}",
                read.url,
                text.chars().take(300).collect::<String>()
            )
        }),
    }
}

/// The number of load loops: `SOURCE_OUTAGE_LOOPS`, else [`LOOPS`].
fn loops() -> usize {
    std::env::var("SOURCE_OUTAGE_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(LOOPS)
}

/// `n` loops of cold reads until `stop`; each loop starts at its own endpoint.
fn spawn_load(
    n: usize,
    client: &reqwest::Client,
    server: &Server,
    reads: &Arc<Vec<Read>>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Sample>>> {
    (0..n)
        .map(|i| {
            let (client, reads, stop) = (client.clone(), reads.clone(), stop.clone());
            let (state, rt) = (server.app.state.clone(), server.app.rt.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut next = i * reads.len() / n;
                while !stop.load(Ordering::Relaxed) {
                    let read = &reads[next % reads.len()];
                    next += 1;
                    make_cold(&rt, &state, read).await;
                    samples.push(get(&client, read).await);
                }
                samples
            })
        })
        .collect()
}

/// Converts a wall-clock time of the breaker to an `Instant` of this process.
fn instant_of(at: DateTime<Utc>) -> Instant {
    let (now, wall) = (Instant::now(), Utc::now());
    match (wall - at).to_std() {
        Ok(ago) => now.checked_sub(ago).unwrap_or(now),
        Err(_) => now + (at - wall).to_std().unwrap_or_default(),
    }
}

/// Polls the LRS's breaker and keeps its transitions.
struct Watch {
    breaker: Arc<CircuitBreaker>,
    last: Option<(BreakerState, Option<DateTime<Utc>>)>,
    events: Vec<(Instant, String)>,
}

impl Watch {
    fn poll(&mut self) -> BreakerStatus {
        let s = self.breaker.status();
        let now = (s.state, s.opened_at);
        if self.last != Some(now) {
            let at = match (s.state, s.opened_at) {
                (BreakerState::Open, Some(opened)) => instant_of(opened),
                _ => Instant::now(),
            };
            self.events.push((at, s.state.as_str().to_owned()));
            self.last = Some(now);
        }
        s
    }

    /// Polls every 2 ms for `d`.
    async fn watch_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.poll();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Polls every 2 ms until `done` holds; panics after `PATIENCE`.
    async fn until(&mut self, what: &str, done: impl Fn(&BreakerStatus) -> bool) -> BreakerStatus {
        let give_up = Instant::now() + PATIENCE;
        loop {
            let s = self.poll();
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < give_up,
                "the activity breaker did not {what} within {PATIENCE:?} (last state {})",
                s.state.as_str()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Figures {
    n: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn figures<'a>(samples: impl Iterator<Item = &'a Sample>) -> Option<Figures> {
    let mut latencies: Vec<Duration> = samples.map(Sample::latency).collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    (!latencies.is_empty()).then(|| Figures {
        n: latencies.len(),
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
    })
}

fn line(name: &str, f: Option<&Figures>, extra: &str) {
    match f {
        Some(f) => println!(
            "{name:<10} n {:>5}  p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms  {extra}",
            f.n,
            ms(f.p50),
            ms(f.p99),
            ms(f.max)
        ),
        None => println!("{name:<10} no requests  {extra}"),
    }
}

/// How the responses of a phase were flagged: `degraded` count and activity provenances.
fn flags<'a>(samples: impl Iterator<Item = &'a Sample>) -> String {
    let (mut degraded, mut cached) = (0, 0);
    let mut activity: BTreeMap<&str, usize> = BTreeMap::new();
    for s in samples {
        degraded += usize::from(s.degraded);
        cached += usize::from(s.cached);
        *activity.entry(s.activity.as_str()).or_default() += 1;
    }
    let activity: Vec<String> = activity.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(
        "degraded {degraded}, activity {{{}}}, cache hits {cached}",
        activity.join(", ")
    )
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse. The app's logs go to stderr, errors
    // only unless `RUST_LOG` says otherwise.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    client_rt.block_on(run());
}

async fn run() {
    let n = loops();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let server = start();
    let config = &server.app.state.config.sources;
    let breaker = server
        .app
        .state
        .sources
        .breaker(Service::Activity)
        .expect("activity breaker")
        .clone();
    let reads = Arc::new(reads(&client, &server.app.base).await);
    // One read per subject and role first: every answer is kept as a snapshot (each learner's
    // statements, each JSON collection), the fallback of the outage.
    let mut seen = std::collections::HashSet::new();
    for read in reads.iter().filter(|r| seen.insert((r.subject, r.role))) {
        make_cold(&server.app.rt, &server.app.state, read).await;
        let s = get(&client, read).await;
        assert_eq!(s.status, Some(200), "first read: {:?}", s.failure);
    }
    println!(
        "source_outage: {n} loops of cold reads over {} endpoints of 5 subjects; the LRS \
         behind a fault proxy, killed = connections refused",
        reads.len()
    );
    println!(
        "breaker: open {OPEN_SECS} s (configured default 30 s), {} probes, window {} / min {} \
         calls at {:.0} % failures; deadline {} ms, {} retries",
        config.breaker.half_open_probes,
        config.breaker.window,
        config.breaker.min_calls,
        config.breaker.failure_rate * 100.0,
        config.deadline_ms,
        config.retry.max_retries
    );

    // The machine may be shared: say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before the run: {}", load.trim());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let loops = spawn_load(n, &client, &server, &reads, &stop);
    let mut watch = Watch {
        breaker,
        last: None,
        events: Vec::new(),
    };
    watch.watch_for(WARMUP).await;
    let live_from = Instant::now();
    watch.watch_for(LIVE).await;

    let killed = Instant::now();
    server.lrs.set(Mode::Refuse);
    let first = watch
        .until("open after the kill", |s| s.state == BreakerState::Open)
        .await;
    let first_opened = first.opened_at.expect("opened_at");
    let opened = instant_of(first_opened);
    let mut last_opened = first_opened;
    for _ in 0..REOPENS {
        let again = watch
            .until("reopen after a failed probe round", |s| {
                s.state == BreakerState::Open && s.opened_at > Some(last_opened)
            })
            .await;
        last_opened = again.opened_at.expect("opened_at");
    }
    let revived = Instant::now();
    server.lrs.set(Mode::Pass);
    let probes_from = instant_of(last_opened + chrono::TimeDelta::seconds(OPEN_SECS as i64));
    watch
        .until("close after the source came back", |s| {
            s.state == BreakerState::Closed
        })
        .await;
    let closed = Instant::now();
    watch.watch_for(TAIL).await;
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    for l in loops {
        samples.extend(l.await.expect("load loop"));
    }
    let ended = Instant::now();

    // Statuses over the whole run.
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for s in &samples {
        let k = s.status.map_or("error".to_owned(), |c| c.to_string());
        *statuses.entry(k).or_default() += 1;
    }
    let five_xx = samples
        .iter()
        .filter(|s| s.status.is_some_and(|c| c >= 500))
        .count();
    let cold = |s: &&Sample| !s.cached;

    let live: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started >= live_from && s.done < killed)
        .collect();
    let live_fig = figures(live.iter().copied().filter(cold));
    let transition: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started >= killed && s.started < opened)
        .collect();
    let open: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started >= opened && s.started < revived)
        .collect();
    let open_fig = figures(open.iter().copied().filter(cold));
    let first_live = samples
        .iter()
        .filter(|s| s.done >= revived && !s.cached && s.activity == "live")
        .min_by_key(|s| s.done);

    println!();
    println!("timeline (s from the kill):");
    let mut timeline: Vec<(Instant, String)> = watch
        .events
        .iter()
        .map(|(at, state)| (*at, format!("breaker {state}")))
        .collect();
    timeline.extend([
        (live_from, "live phase measured from here".to_owned()),
        (killed, "source killed (connections refused)".to_owned()),
        (revived, "source revived".to_owned()),
        (ended, "load stopped".to_owned()),
    ]);
    timeline.sort_by_key(|(at, _)| *at);
    for (at, what) in &timeline {
        let t = if *at >= killed {
            (*at - killed).as_secs_f64()
        } else {
            -(killed - *at).as_secs_f64()
        };
        println!("  {t:>8.3}  {what}");
    }
    println!();
    println!("cold reads (responses marked cached are left out of the latencies):");
    let live_rps = live.len() as f64 / (killed - live_from).as_secs_f64();
    line(
        "live",
        live_fig.as_ref(),
        &format!("{live_rps:.1} req/s; {}", flags(live.iter().copied())),
    );
    line(
        "kill→open",
        figures(transition.iter().copied().filter(cold)).as_ref(),
        &format!(
            "opened {:.0} ms after the kill; {}",
            ms(opened - killed),
            flags(transition.iter().copied())
        ),
    );
    let open_rps = open.len() as f64 / (revived - opened).as_secs_f64();
    line(
        "open",
        open_fig.as_ref(),
        &format!("{open_rps:.1} req/s; {}", flags(open.iter().copied())),
    );
    if let (Some(open), Some(live)) = (&open_fig, &live_fig) {
        println!(
            "  target once open p99 ≤ {} ms: {:.1} ms, {} (ratio to the live p99 {:.2})",
            OPEN_P99_TARGET.as_millis(),
            ms(open.p99),
            met(open.p99 <= OPEN_P99_TARGET),
            open.p99.as_secs_f64() / live.p99.as_secs_f64()
        );
    }
    let after: Vec<&Sample> = samples.iter().filter(|s| s.started >= closed).collect();
    line(
        "closed",
        figures(after.iter().copied().filter(cold)).as_ref(),
        &format!("after recovery; {}", flags(after.iter().copied())),
    );

    println!();
    let deadline = Duration::from_millis(config.deadline_ms);
    let open_period = Duration::from_secs(OPEN_SECS);
    match first_live {
        Some(s) => {
            let recovery = s.done - revived;
            let to_probes = probes_from.saturating_duration_since(revived);
            let probe_round = closed.saturating_duration_since(probes_from);
            println!(
                "recovery: first live response {:.3} s after the revival = revival → probes \
                 {:.3} s + probe round (half-open → closed) {:.3} s + closed → first live \
                 response {:.3} s",
                recovery.as_secs_f64(),
                to_probes.as_secs_f64(),
                probe_round.as_secs_f64(),
                s.done.saturating_duration_since(closed).as_secs_f64()
            );
            let bound = open_period + deadline;
            println!(
                "  target open period + one probe round (a probe is bounded by the {} ms call \
                 deadline) = {:.3} s: {}",
                deadline.as_millis(),
                bound.as_secs_f64(),
                met(recovery <= bound)
            );
            // Strictly, no read may follow the probe round: the request whose read carried
            // (or waited on) the probes is the one that answers with live data.
            let in_round = s.started < closed;
            println!(
                "  strict reading, live data from the probe round itself (the first live \
                 response started {:.3} s {} the breaker closed): {}",
                if in_round {
                    closed - s.started
                } else {
                    s.started - closed
                }
                .as_secs_f64(),
                if in_round { "before" } else { "after" },
                met(in_round)
            );
        }
        None => println!(
            "recovery: NOT MET: no response with live activity data within {:.1} s of the \
             revival",
            (ended - revived).as_secs_f64()
        ),
    }
    let counts: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!(
        "statuses over the run: {}; target 0 5xx: {}",
        counts.join(", "),
        met(five_xx == 0)
    );

    let failures: Vec<&str> = samples
        .iter()
        .filter_map(|s| s.failure.as_deref())
        .collect();
    assert!(
        failures.is_empty(),
        "{} requests failed or answered other than 200 ({five_xx} 5xx); the first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let unflagged = samples
        .iter()
        .filter(|s| s.activity != "live" && !s.degraded)
        .count();
    assert_eq!(
        unflagged, 0,
        "responses without live activity data not flagged degraded"
    );
}
