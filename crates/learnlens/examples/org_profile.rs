//! Where a batch's time goes: computes each analytic over every subject of the first
//! organisation of a synthetic data set, one kind at a time, as the pipeline does (one index,
//! one `CohortMemo` per call), and prints the time per kind. A profiling aid, not a benchmark:
//! each line includes building the index, and `dropOffRisk` includes training the model (the
//! batch trains it once per organisation).
//!
//! Run: `cargo run --release --example org_profile -- SIZE [kind,kind,…]`
//! (SIZE: demo, small, medium or large; `large`'s first organisation has 30,000 learners and
//! 5.8 million events and needs about 4 GiB).

use std::time::Instant;

use anyhow::Context as _;
use learnlens::demo::synthetic::{Generator, Size};
use learnlens::pipeline::{self, DataQuality, Selection};
use learnlens_analytics::Config;
use learnlens_analytics::kind::{AnalyticsKind, Models};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let size: Size = args
        .next()
        .context("usage: org_profile SIZE [kind,kind,…]")?
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let only: Option<String> = args.next();
    let generator = Generator::new(size, 42);
    let org = generator
        .org_ids()
        .next()
        .context("an organisation")?
        .to_owned();
    let started = Instant::now();
    let data = generator.org_dataset(&org);
    println!(
        "organisation {org}: {} users, {} events, generated in {:.1?}",
        data.users.len(),
        data.events.len(),
        started.elapsed()
    );
    let cfg = Config::default();
    let as_of = generator.as_of();
    for kind in AnalyticsKind::ALL {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n == kind.name()))
        {
            continue;
        }
        let started = Instant::now();
        let selection = Selection {
            kinds: vec![kind],
            subject: None,
        };
        let model = (kind == AnalyticsKind::DropOffRisk)
            .then(|| pipeline::train_drop_off(&data, as_of, &cfg))
            .flatten();
        let models = Models {
            drop_off: model.as_ref(),
        };
        let rows = pipeline::Computation {
            dataset: &data,
            quality: &DataQuality::default(),
            selection: &selection,
            as_of,
            now: as_of,
            cfg: &cfg,
            models,
            fallback_ttl_secs: 300,
        }
        .rows()?;
        println!(
            "{:>24} {:>6} subjects {:>10.3?}",
            kind.name(),
            rows.len(),
            started.elapsed()
        );
    }
    Ok(())
}
