//! The OULAD demo source server's whole statement stream (10.6 million statements), read over
//! loopback twice, each time next to the other:
//! - **floor**: every page fetched with a bare HTTP client that only scans the JSON
//!   (`IgnoredAny`) and follows `more`: what the server and the transport cost;
//! - **measured**: the same stream through `XapiClient::fetch` (statements parsed and mapped
//!   into `ActivityEvent`s, all held in memory until the end, as the client does).
//!
//! Without `LEARNLENS_BENCH_SOURCES_URL` the server is loaded in this process (its start-up
//! time is reported); with it (e.g. `http://127.0.0.1:18300`), the stream of an already running
//! `learnlens sources --dataset oulad` is read, so that process's memory can be measured on
//! its own (`/usr/bin/time -v`). Page size: `LEARNLENS_BENCH_PAGE_LIMIT` (default 1000).
//!
//! Run: `cargo bench -p learnlens --bench oulad_sources`. Skips with a message when the OULAD
//! data set is not found (`LEARNLENS_OULAD_PATH`, else `../shared/data/oulad` beside the
//! repository). Results go to bench/RESULTS.md by hand.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use learnlens::demo::server::{DemoAuth, SourceData};
use learnlens::oulad::Oulad;
use learnlens::sources::xapi::{NoEmails, Platform, StatementQuery, XapiClient, XapiClientOptions};
use serde::de::IgnoredAny;

#[derive(serde::Deserialize)]
struct BarePage {
    statements: Vec<IgnoredAny>,
    #[serde(default)]
    more: String,
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn oulad_path() -> PathBuf {
    match std::env::var_os(learnlens::oulad::PATH_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/oulad"),
    }
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run only in a
    // real bench run, the stream takes minutes.
    if !std::env::args().any(|a| a == "--bench") {
        println!("oulad_sources: run with `cargo bench` (it reads 10.6 M statements)");
        return Ok(());
    }
    let limit: u32 = std::env::var("LEARNLENS_BENCH_PAGE_LIMIT")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(limit))
}

async fn run(limit: u32) -> anyhow::Result<()> {
    // The platform IRI of the default configuration, which `learnlens sources` serves with:
    // statements of another platform would all be skipped as unknown actors.
    let platform = learnlens::config::Config::load(None, &Default::default())?
        .sources
        .activity
        .platform;
    let base = match std::env::var("LEARNLENS_BENCH_SOURCES_URL") {
        Ok(url) if !url.is_empty() => {
            println!("reading the running source server at {url}");
            url.trim_end_matches('/').to_owned()
        }
        _ => {
            let path = oulad_path();
            let oulad = match Oulad::open(&path) {
                Ok(o) => o,
                Err(e) => {
                    println!("SKIPPED oulad_sources: OULAD not found ({e})");
                    return Ok(());
                }
            };
            let started = Instant::now();
            let data =
                tokio::task::spawn_blocking(move || SourceData::oulad(&oulad, |_| {})).await??;
            println!(
                "start-up (in process): {:.1} s, {} statements, peak RSS so far {:.0} MiB",
                started.elapsed().as_secs_f64(),
                data.statements.total(),
                peak_rss_mib().unwrap_or(0.0)
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let running = learnlens::demo::server::spawn(
                data,
                Platform::new(&platform)?,
                DemoAuth::default(),
                listener,
            )?;
            format!("http://{}", running.addr)
        }
    };

    // Floor: the pages, scanned only.
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut url = format!("{base}/lrs/xAPI/statements?limit={limit}");
    let (mut statements, mut pages, mut bytes) = (0u64, 0u64, 0u64);
    loop {
        let body = http
            .get(&url)
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        bytes += body.len() as u64;
        let page: BarePage = serde_json::from_slice(&body)?;
        statements += page.statements.len() as u64;
        pages += 1;
        if page.more.is_empty() {
            break;
        }
        url = format!("{base}{}", page.more);
    }
    let floor = started.elapsed();
    report("floor (bare HTTP, JSON scan)", statements, pages, floor);
    println!(
        "  {:.0} bytes per statement",
        bytes as f64 / statements.max(1) as f64
    );

    // Measured: the service's client.
    let mut options = XapiClientOptions::new(
        &format!("{base}/lrs/xAPI/"),
        "",
        "",
        Platform::new(&platform)?,
    );
    options.max_pages = 1_000_000;
    options.timeout = Duration::from_secs(60);
    let client = XapiClient::new(options)?;
    let started = Instant::now();
    let fetched = client
        .fetch(
            &StatementQuery {
                since: None,
                until: None,
                agent: None,
                limit: Some(limit),
                request_id: None,
            },
            &NoEmails,
        )
        .await?;
    let measured = started.elapsed();
    report(
        "XapiClient::fetch",
        fetched.events.len() as u64,
        u64::from(fetched.pages),
        measured,
    );
    println!(
        "  skipped {}, ratio to the floor {:.2}×, peak RSS of this process {:.0} MiB",
        fetched.skipped.total(),
        measured.as_secs_f64() / floor.as_secs_f64(),
        peak_rss_mib().unwrap_or(0.0)
    );
    if fetched.events.len() as u64 != statements {
        anyhow::bail!(
            "the client read {} statements, the floor {statements}",
            fetched.events.len()
        );
    }
    Ok(())
}

fn report(what: &str, statements: u64, pages: u64, took: Duration) {
    println!(
        "{what}: {statements} statements in {pages} pages, {:.1} s, {:.0} statements/s",
        took.as_secs_f64(),
        statements as f64 / took.as_secs_f64()
    );
}
