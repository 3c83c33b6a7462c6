#!/usr/bin/env bash
# Reference check of the analytics: `learnlens analytics` on a dataset, then refcheck.py
# recomputes every quantity with numpy / scipy / statsmodels / scikit-learn / pycanon (and pyBKT
# in its own venv) and compares at the tolerances of analytics.md. Exit status: refcheck.py's.
#
#   scripts/refcheck/run.sh [--dataset FILE | --dataset-cmd "learnlens dataset synthetic:small:7"]
#                           [--as-of RFC3339]... [--no-pybkt]
#
# Without --dataset or --dataset-cmd it runs the default suite: the committed fixture
# crates/learnlens/tests/fixtures/refcheck-dataset.json at its own asOf (2026-11-26T00:00:00Z)
# and 48 days earlier (so that data stamped after asOf is present and must be ignored), then
# `learnlens dataset synthetic:demo:42` at its asOf. A --dataset-cmd whose first word is
# `learnlens` runs this build's binary. Venvs are cached under ${XDG_CACHE_HOME:-$HOME/.cache}/learnlens-venvs,
# keyed by the hash of their requirements file, and built from nothing when absent.
# Environment: LEARNLENS_BIN (a prebuilt binary), CARGO_TARGET_DIR, PYTHON (default python3.11
# if present, else python3).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dataset=""
dataset_cmd=""
as_ofs=()
pybkt=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) dataset="$2"; shift 2 ;;
    --dataset-cmd) dataset_cmd="$2"; shift 2 ;;
    --as-of) as_ofs+=("$2"); shift 2 ;;
    --no-pybkt) pybkt=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -n "$dataset" ] && [ -n "$dataset_cmd" ]; then
  echo "run.sh: give --dataset or --dataset-cmd, not both" >&2
  exit 2
fi
suite=0
if [ -z "$dataset" ] && [ -z "$dataset_cmd" ]; then
  suite=1
fi
if [ ${#as_ofs[@]} -eq 0 ]; then
  as_ofs=("2026-11-26T00:00:00Z")
  if [ "$suite" = 1 ]; then
    as_ofs+=("2026-10-09T13:30:00Z")
  fi
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/learnlens-venvs"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"

# venv DIR REQUIREMENTS: creates DIR from REQUIREMENTS unless it is complete already.
venv() {
  local dir="$1" req="$2" t0
  if [ ! -f "$dir/.complete" ]; then
    t0=$(date +%s)
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    "$py" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    touch "$dir/.complete"
    echo "built $(basename "$dir") in $(( $(date +%s) - t0 )) s"
  fi
}
req="$here/requirements.txt"
main_venv="$cache/refcheck-$(sha256sum "$req" | cut -c1-16)"
venv "$main_venv" "$req"
pybkt_python=()
if [ "$pybkt" = 1 ]; then
  req_b="$here/requirements-pybkt.txt"
  bkt_venv="$cache/refcheck-pybkt-$(sha256sum "$req_b" | cut -c1-16)"
  if venv "$bkt_venv" "$req_b"; then
    pybkt_python=(--pybkt-python "$bkt_venv/bin/python")
  else
    echo "WARNING: the pyBKT venv could not be built; BKT is checked against the numpy recursion only" >&2
    rm -rf "$bkt_venv"
  fi
fi

# The binary: LEARNLENS_BIN, else this workspace's debug build.
if [ -n "${LEARNLENS_BIN:-}" ]; then
  bin="$LEARNLENS_BIN"
else
  (cd "$root" && cargo build --quiet --bin learnlens)
  target="${CARGO_TARGET_DIR:-$(cd "$root" && cargo metadata --format-version 1 --no-deps |
    "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
  bin="$target/debug/learnlens"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0

# check DATASET ASOF…: our output, then the reference check; a failure is remembered.
check() {
  local data="$1" as_of t0
  shift
  for as_of in "$@"; do
    t0=$(date +%s)
    "$bin" analytics --dataset "$data" --as-of "$as_of" > "$work/ours.json"
    "$main_venv/bin/python" "$here/refcheck.py" --dataset "$data" --ours "$work/ours.json" \
      "${pybkt_python[@]}" || status=$?
    echo "refcheck at $as_of: $(( $(date +%s) - t0 )) s"
  done
}

# generate CMD: runs a dataset command (its first word `learnlens` meaning this binary).
generate() {
  local words
  read -r -a words <<< "$1"
  if [ "${words[0]}" = "learnlens" ]; then words[0]="$bin"; fi
  "${words[@]}" > "$work/dataset.json"
}

if [ -n "$dataset_cmd" ]; then
  echo "dataset: $dataset_cmd"
  generate "$dataset_cmd"
  check "$work/dataset.json" "${as_ofs[@]}"
elif [ -n "$dataset" ]; then
  echo "dataset: $dataset"
  check "$dataset" "${as_ofs[@]}"
else
  echo "dataset: the committed fixture"
  check "$root/crates/learnlens/tests/fixtures/refcheck-dataset.json" "${as_ofs[@]}"
  echo "dataset: learnlens dataset synthetic:demo:42"
  generate "learnlens dataset synthetic:demo:42"
  check "$work/dataset.json" "2026-11-26T00:00:00Z"
fi
exit "$status"
