//! `learnlens analytics`: every analytic of the catalogue over every applicable subject of a
//! dataset file, printed as one JSON document. The reference check (`scripts/refcheck`)
//! recomputes the same quantities in Python and compares them with this output.
//!
//! Subjects per kind ([`SubjectKind`](learnlens_analytics::kind::SubjectKind)): users with the role `learner` for learner and
//! predictive analytics, users with the role `trainer` for trainer analytics, every
//! organisation for organisation analytics, and `global` plus every organisation for
//! skillDemand. The index is built once; dropOffRisk scores with the model that
//! [`drop_off::train`] fits on the same dataset at the same `asOf`, and the model (plus its
//! training examples, so that the check can refit it on the same matrix) is printed under
//! `models`.
//!
//! Output: `{"asOf", "kinds": [names], "results": {name: {subject: payload}}, "models":
//! {"dropOff": model | null, "dropOffError": text | null, "dropOffTraining": {days,
//! examples}}}`. Objects are keyed in sorted order, so the output is byte-for-byte
//! deterministic for a given dataset, `asOf` and configuration.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use learnlens_analytics::kind::{self, AnalyticsKind, Models};
use learnlens_analytics::predictive::{drop_off, features};
use learnlens_analytics::{Config, Dataset, DatasetIndex};
use serde_json::{Value, json};

/// Parses `--kinds name,name,…` (analytics.md names); `None` or empty means every kind.
pub fn parse_kinds(list: Option<&str>) -> anyhow::Result<Vec<AnalyticsKind>> {
    let Some(list) = list.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(AnalyticsKind::ALL.to_vec());
    };
    let mut kinds = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(k) = AnalyticsKind::from_name(name) else {
            let known: Vec<&str> = AnalyticsKind::ALL.iter().map(|k| k.name()).collect();
            bail!(
                "unknown analytics kind {name:?}; known: {}",
                known.join(", ")
            );
        };
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    kinds.sort();
    Ok(kinds)
}

pub use learnlens_analytics::kind::subjects;

/// Computes `kinds` over `data` at `as_of` and returns the document described in the module
/// documentation.
pub fn run(
    data: &Dataset,
    as_of: DateTime<Utc>,
    kinds: &[AnalyticsKind],
    cfg: &Config,
) -> anyhow::Result<Value> {
    let idx = DatasetIndex::new(data);
    let mut models = serde_json::Map::new();
    let model = if kinds.contains(&AnalyticsKind::DropOffRisk) {
        let days = features::snapshot_days(cfg);
        let examples = features::training_set_indexed(&idx, as_of, &days, cfg);
        let fitted = drop_off::fit_examples(&examples, as_of, &days, &cfg.drop_off);
        models.insert(
            "dropOffTraining".into(),
            json!({ "days": days, "examples": examples }),
        );
        match fitted {
            Ok(model) => {
                models.insert("dropOff".into(), serde_json::to_value(&model)?);
                models.insert("dropOffError".into(), Value::Null);
                Some(model)
            }
            Err(e) => {
                models.insert("dropOff".into(), Value::Null);
                models.insert("dropOffError".into(), Value::String(e.to_string()));
                None
            }
        }
    } else {
        None
    };
    let handles = Models {
        drop_off: model.as_ref(),
    };
    let mut results = BTreeMap::new();
    for &k in kinds {
        let mut per_subject = BTreeMap::new();
        for subject in subjects(data, k) {
            let payload = kind::compute(k, &idx, &subject, as_of, cfg, handles)
                .with_context(|| format!("serialising {} for {subject}", k.name()))?;
            per_subject.insert(subject, payload);
        }
        results.insert(k.name().to_owned(), per_subject);
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    Ok(json!({
        "asOf": as_of,
        "kinds": names,
        "results": results,
        "models": models,
    }))
}

/// Reads a [`Dataset`] JSON file.
pub fn read_dataset(path: &Path) -> anyhow::Result<Dataset> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    serde_json::from_reader(std::io::BufReader::new(file))
        .with_context(|| format!("parsing {} as a dataset", path.display()))
}

/// `learnlens analytics`: reads the dataset, computes, prints the JSON document on stdout.
pub fn main(
    dataset: &Path,
    as_of: DateTime<Utc>,
    kinds: Option<&str>,
    cfg: &Config,
) -> anyhow::Result<()> {
    let kinds = parse_kinds(kinds)?;
    let data = read_dataset(dataset)?;
    let doc = run(&data, as_of, &kinds, cfg)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer(&mut out, &doc).context("writing the results")?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Dataset {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/refcheck-dataset.json");
        read_dataset(&path).expect("the committed fixture parses")
    }

    #[test]
    fn kinds_parse_by_name_and_reject_unknown_ones() {
        assert_eq!(
            parse_kinds(None).expect("all").len(),
            AnalyticsKind::ALL.len()
        );
        assert_eq!(
            parse_kinds(Some("skillDemand, learnerVelocity,skillDemand")).expect("two"),
            vec![AnalyticsKind::LearnerVelocity, AnalyticsKind::SkillDemand]
        );
        assert!(parse_kinds(Some("velocity")).is_err());
    }

    #[test]
    fn every_kind_is_computed_for_every_subject_of_the_fixture() {
        let data = fixture();
        let as_of = "2026-11-26T00:00:00Z".parse().expect("time");
        let doc = run(
            &data,
            as_of,
            AnalyticsKind::ALL.as_slice(),
            &Config::default(),
        )
        .expect("runs");
        for k in AnalyticsKind::ALL {
            let per = &doc["results"][k.name()];
            let subjects = subjects(&data, k);
            assert!(!subjects.is_empty(), "{}", k.name());
            for s in &subjects {
                assert!(per[s.as_str()]["status"].is_string(), "{} {s}", k.name());
            }
        }
        assert!(doc["models"]["dropOff"]["coefficients"].is_array());
        assert_eq!(
            doc["results"]["skillDemand"]["global"]["scope"],
            json!({"kind": "global"})
        );
    }
}
