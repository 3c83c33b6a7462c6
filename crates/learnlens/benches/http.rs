//! HTTP throughput and latency of an analytics read served from cache, next to a floor
//! measured in the same run on the same server: `GET /bench/hello`, bare axum answering a
//! small JSON (compiled in only with the `bench-floor` feature).
//!
//! - `cached`: `GET /api/v1/learner/analytics/engagement/demo-learner` with a bearer token and
//!   `X-Active-Role`: JWT verification, the session check (its cache), the rate limiter (in
//!   memory, limit raised out of the way), the policy, an L1 hit, the envelope.
//! - `l2` (when Redis answers at `LEARNLENS_TEST_REDIS_URL` or 127.0.0.1:6379): the same read
//!   on a second server whose L1 holds nothing, so every read is a Redis GET. With Redis
//!   configured the rate limiter runs in Redis too (the GCRA script, shared by replicas), so
//!   this read makes two Redis round trips.
//! - `cached+rl` (Redis too): the `cached` read on a third server with Redis configured and
//!   L1 as usual: an L1 hit with the rate limiter in Redis, which separates the limiter's
//!   cost from the layer's.
//!
//! The server runs on one core (a current-thread runtime on its own thread), the load
//! generator on the other; fixed concurrency. Each scenario warms up the floor and the read
//! for 2 s each, then alternates them in slices of 3 s, five rounds, so that each round's read
//! is compared with a floor measured seconds before it: on a shared (virtual) machine the
//! speed drifts by 10–20 % within a minute, which one long measurement of each folded into
//! the ratio. The ratios are the median of the five rounds', with each round's shown. Each
//! scenario gives the wall-clock ratio to the floor and, on Linux, the ratio per core of the
//! server: requests per second of the server thread's CPU time (`schedstat`). The targets are
//! per core, because the floor's server thread is idle part of the time (the load generator
//! is the limit there) and Redis shares the generator's core in the Redis scenarios.
//!
//! Run: `cargo bench -p learnlens --bench http --features bench-floor`.

mod support;

use std::time::{Duration, Instant};

use learnlens::config::Config;
use support::{App, Threads};

const CONCURRENCY: usize = 32;
const WARMUP: Duration = Duration::from_secs(2);
/// Floor and read alternate in slices this long, `ROUNDS` times each.
const SLICE: Duration = Duration::from_secs(3);
const ROUNDS: usize = 5;

/// One slice of load on one URL.
struct Slice {
    rps: f64,
    /// Every request's latency.
    latencies: Vec<Duration>,
    /// The server thread's share of one core during the slice (`None` off Linux).
    busy: Option<f64>,
}

impl Slice {
    /// Requests per second of the server's CPU time: its throughput per core.
    fn per_core(&self) -> Option<f64> {
        self.busy.filter(|b| *b > 0.0).map(|b| self.rps / b)
    }
}

/// `CONCURRENCY` loops of GET `url` on `server` for `length`.
async fn load(
    client: &reqwest::Client,
    server: &App,
    url: &str,
    headers: &[(&str, String)],
    length: Duration,
) -> Slice {
    let cpu_before = server.server_cpu();
    let started = Instant::now();
    let until = started + length;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let url = url.to_owned();
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < until {
                    let sent = Instant::now();
                    let mut req = client.get(&url);
                    for (k, v) in &headers {
                        req = req.header(k, v);
                    }
                    let r = req.send().await.expect("request");
                    assert_eq!(r.status(), 200, "{url}");
                    let _ = r.bytes().await.expect("body");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed();
    let busy = cpu_before
        .zip(server.server_cpu())
        .map(|(before, after)| (after - before).as_secs_f64() / elapsed.as_secs_f64());
    Slice {
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies,
        busy,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `p50 … ms  p99 … ms` over every slice's latencies.
fn latency(slices: &[Slice]) -> String {
    let mut all: Vec<Duration> = slices
        .iter()
        .flat_map(|s| s.latencies.iter().copied())
        .collect();
    all.sort();
    let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    format!("p50 {:>5.2} ms  p99 {:>5.2} ms", at(0.5), at(0.99))
}

/// Two lines per scenario, the floor's and the read's: the median requests per second (and per
/// core of the server) over the rounds, the latencies of all of them, and the read's ratios to
/// the floor: each round's read against the floor measured just before it, their median and
/// every round's. The targets are per core of the server: the floor is often limited by the load
/// generator (its server thread is then not busy all the time), a Redis-backed read by Redis
/// sharing the generator's core.
fn report(name: &str, floor: &[Slice], read: &[Slice]) {
    let line = |name: &str, slices: &[Slice]| {
        let per_core = slices
            .iter()
            .map(Slice::per_core)
            .collect::<Option<Vec<f64>>>();
        let per_core = match per_core {
            Some(v) => format!("  {:>7.0} req/s per core", median(v)),
            None => String::new(),
        };
        println!(
            "{name:<9} {:>7.0} req/s  {}{per_core}",
            median(slices.iter().map(|s| s.rps).collect()),
            latency(slices),
        );
    };
    line("floor", floor);
    line(name, read);
    let ratios = |f: &dyn Fn(&Slice) -> Option<f64>| -> Option<Vec<f64>> {
        floor
            .iter()
            .zip(read)
            .map(|(fl, r)| Some(f(r)? / f(fl)?))
            .collect()
    };
    let show = |label: &str, r: Option<Vec<f64>>| match r {
        Some(r) => {
            let rounds: Vec<String> = r.iter().map(|x| format!("{x:.2}")).collect();
            format!(
                "{label} {:.2} (rounds {})",
                median(r.clone()),
                rounds.join(" ")
            )
        }
        None => String::new(),
    };
    println!(
        "{:<9} {}   {}",
        "",
        show("ratio", ratios(&|s| Some(s.rps))),
        show("per-core ratio", ratios(&Slice::per_core)),
    );
}

async fn redis_answers(url: &str) -> bool {
    let ping = async {
        let client = redis::Client::open(url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Ok(_))
    )
}

/// The analytic read in every scenario.
const PATH: &str = "/api/v1/learner/analytics/engagement/demo-learner";

/// Logs in on `server`, reads [`PATH`] once (so it is computed and stored), warms up the floor
/// and the read, then measures them in `ROUNDS` alternating slices; prints them as `name`.
async fn measure(client: &reqwest::Client, server: &App, name: &str) {
    let token = support::login(client, &server.base, "learner@demo.test").await;
    let auth = vec![
        ("authorization", format!("Bearer {token}")),
        ("x-active-role", "learner".to_owned()),
    ];
    let url = format!("{}{PATH}", server.base);
    let mut first = client.get(&url);
    for (k, v) in &auth {
        first = first.header(*k, v);
    }
    assert_eq!(first.send().await.expect("first read").status(), 200);
    let hello = format!("{}/bench/hello", server.base);
    load(client, server, &hello, &[], WARMUP).await;
    load(client, server, &url, &auth, WARMUP).await;
    let (mut floor, mut read) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        floor.push(load(client, server, &hello, &[], SLICE).await);
        read.push(load(client, server, &url, &auth, SLICE).await);
    }
    report(name, &floor, &read);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    client_rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .expect("client");
        println!(
            "concurrency {CONCURRENCY}, server on one core; per scenario {ROUNDS} rounds of \
             the floor then the read, {SLICE:?} each, after {WARMUP:?} of each"
        );
        let (plain, ()) = support::start(Threads::One, async |_: &mut Config| {});
        measure(&client, &plain, "cached").await;

        let redis = std::env::var("LEARNLENS_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        if !redis_answers(&redis).await {
            println!("l2       skipped: Redis does not answer at {redis}");
            return;
        }
        let with_redis = |l1_max_bytes: Option<u64>| {
            let redis = redis.clone();
            let prefix = format!("llbench:{}:", uuid::Uuid::new_v4().simple());
            let (app, ()) = support::start(Threads::One, async move |c: &mut Config| {
                c.redis.url = redis;
                c.redis.key_prefix = prefix;
                if let Some(bytes) = l1_max_bytes {
                    c.cache.l1_max_bytes = bytes;
                }
            });
            app
        };
        // L1 keeps nothing: every read is an L2 hit.
        measure(&client, &with_redis(Some(0)), "l2").await;
        measure(&client, &with_redis(None), "cached+rl").await;
    });
}
