#!/usr/bin/env python3
"""Reference check of the learnlens analytics (analytics.md: "a reference-check script that
recomputes the same quantities with numpy / scipy / statsmodels / scikit-learn / pycanon on a
generated data set and compares with the service's output within the stated tolerance").

    python refcheck.py --dataset DATASET.json --ours OURS.json [--pybkt-python PATH] [-v]

DATASET.json is the `Dataset` the service read; OURS.json is what
`learnlens analytics --dataset DATASET.json --as-of T` printed. For every analytic and subject
this script recomputes, independently of the Rust code, every quantity of the payload from the
raw dataset, following the interpretation stated in the module documentation of each analytic
(crates/learnlens-analytics/src/**), and compares it at the tolerance of analytics.md §1:

- T0: exact (counts, ids, orderings, flags, statuses, nullness);
- T1: |Δ| ≤ 1e-9·max(1, |ref|) (closed forms);
- T2: |Δ| ≤ 1e-3 for fitted coefficients, ≤ 1e-4 for fitted probabilities.

The references are the libraries analytics.md names: scipy.stats.linregress, numpy (mean,
median, std(ddof=1), quantile(method="linear"), histogram, average), statsmodels
(proportion_confint(method="wilson"), Holt, ETSModel, OLS.get_prediction), scipy.stats
.pointbiserialr, PySAL inequality.gini.Gini, pingouin.compute_effsize, scikit-learn
(StandardScaler, LogisticRegression(C=1.0, solver="lbfgs"), roc_auc_score, brier_score_loss),
scipy.stats.percentileofscore and pycanon (peerComparison), and pyBKT in its own venv when
--pybkt-python is given (otherwise the fixed-parameter BKT recursion re-implemented in numpy is
the only BKT reference, which analytics.md accepts: "Verified identical to full float
precision").

Exit status: 0 when every comparison passes and every analytic present in OURS has at least
one compared value; 1 otherwise. Analytics of analytics.md missing from OURS are reported as
"not checked", never passed silently.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings
from collections import OrderedDict, defaultdict

import numpy as np
import pandas as pd
import scipy.stats as st
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import Holt

warnings.filterwarnings("ignore")

ALL_ANALYTICS = [
    "learnerVelocity", "skillGapMatrix", "engagementScore", "masteryProgress",
    "performanceAnalytics", "contentEffectiveness", "coursePerformance", "courseHealth",
    "studentDistribution", "teachingEffectiveness", "orgLearningVelocity",
    "strategicAlignment", "learningCulture", "orgPerformance", "peerComparison",
    "skillDemand", "dropOffRisk", "performanceForecast", "recommendations",
]

# Default configuration (crates/learnlens-analytics/src/config.rs).
K_ANON = 5
ITEM_MIN_N = 30
GLOBAL_MIN_ORGS = 2
ALPHA_SIG = 0.05
LEVEL = 0.95
GAP_MIN = 30
CAP_SECS = 4 * 3600.0
VEL_W, VEL_CURRENT, VEL_MIN_TREND = 12, 4, 3
TOP_GAPS = 3
ENG_D, ENG_TARGET_H, ENG_HALF_LIFE, ENG_HIGH, ENG_LOW = 28, 2.0, 7.0, 70.0, 40.0
BKT = dict(l0=0.2, t=0.15, g=0.25, s=0.1)
MASTERY = 0.95
SKILL_MIN_N = 5
POST_WINDOW_DAYS, LIFT_MIN_N, KELLEY, DIFF_LOW, DIFF_HIGH, DISC_MIN = 14, 5, 0.27, 0.2, 0.9, 0.2
ACTIVE_DAYS, MATURITY = 28, 2.0
RATING_C, INDICATOR_MIN_N, HEALTHY, AT_RISK = 5.0, 5, 70.0, 50.0
QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9]
BAND_EDGES = [0.5, 0.7, 0.85]
LOW_SAMPLE_PAIRS = 5
CULTURE_W, CULTURE_ACTIVE_WEEKS, CULTURE_REF_H = 12, 6, 1.0
ALIGN_W, PERIOD_DAYS = 12, 90
DAYS_SINCE_CAP, RECENT_DAYS, BAND_HIGH, BAND_MED, TOO_EARLY = 60.0, 14, 0.5, 0.25, 7
OVERDUE_DAYS, L2_C, TOP_REASONS, SNAP_STEP, SNAP_MAX = 30, 1.0, 3, 7, 182
HORIZON, HOLT_MIN_N, OLS_PI_MIN_N = 3, 5, 3
Z95 = float(st.norm.ppf(0.975))

NS = 10**9
DAY = 86400
WEEK = 7 * DAY
FEATURES = ["daysSinceLastActivity", "activeDays14", "log1pHours14", "paceGap",
            "meanScoreSoFar", "noAssessmentYet"]


# ---------------------------------------------------------------------------------------------
# comparison bookkeeping
# ---------------------------------------------------------------------------------------------

class Checker:
    def __init__(self, verbose):
        self.verbose = verbose
        self.rows = OrderedDict()
        self.failures = []

    def row(self, kind):
        if kind not in self.rows:
            self.rows[kind] = {"subjects": set(), "values": 0, "max": {}, "tols": set(),
                               "fail": 0}
        return self.rows[kind]

    def _fail(self, kind, subject, path, ours, ref, why):
        self.row(kind)["fail"] += 1
        self.failures.append((kind, subject, path, ours, ref, why))

    def t0(self, kind, subject, path, ours, ref):
        r = self.row(kind)
        r["subjects"].add(subject)
        r["values"] += 1
        r["tols"].add("T0")
        if not same(ours, ref):
            self._fail(kind, subject, path, ours, ref, "T0 differs")

    def close(self, kind, subject, path, ours, ref, tol, rel=True):
        r = self.row(kind)
        r["subjects"].add(subject)
        r["values"] += 1
        label = "T1" if tol == 1e-9 and rel else ("T2" if not rel else f"{tol:g}")
        r["tols"].add(label)
        if ref is None or ours is None:
            if not (ref is None and ours is None):
                self._fail(kind, subject, path, ours, ref, f"{label}: null on one side")
            return
        if isinstance(ref, float) and math.isnan(ref):
            self._fail(kind, subject, path, ours, ref, f"{label}: reference is NaN")
            return
        d = abs(float(ours) - float(ref))
        r["max"][label] = max(r["max"].get(label, 0.0), d)
        bound = tol * max(1.0, abs(ref)) if rel else tol
        if not d <= bound:
            self._fail(kind, subject, path, ours, ref, f"{label}: |Δ| = {d:.3g} > {bound:.3g}")

    def t1(self, kind, subject, path, ours, ref):
        self.close(kind, subject, path, ours, ref, 1e-9, rel=True)

    def t2(self, kind, subject, path, ours, ref, tol):
        self.close(kind, subject, path, ours, ref, tol, rel=False)

    def seq(self, kind, subject, path, ours, ref, fn):
        """Compares two lists element-wise with fn(path, o, r) after a T0 check of lengths."""
        self.t0(kind, subject, path + ".length", len(ours or []), len(ref or []))
        for i, (o, r) in enumerate(zip(ours or [], ref or [])):
            fn(f"{path}[{i}]", o, r)


def check_order(C, kind, subject, path, ours, ref, key, ident):
    """T0 check of an ordering by a float key known only to T1, then a row-by-row comparison.

    `ref` is sorted by the definition (key descending or ascending, ties by id). Rows whose keys
    lie within T1 of each other are a tie block: the definition breaks such a tie by id, but a
    key computed in another order of operations (pandas' pairwise sums, statsmodels' lstsq) may
    differ from ours in the last bits, so either order inside a block is accepted. Blocks must
    appear in the same order. Returns (ours, ref) pairs matched by id for value comparisons."""
    blocks, cur = [], []
    for r in ref:
        if cur and abs(key(r) - key(cur[0])) > 1e-9 * max(1.0, abs(key(cur[0]))):
            blocks.append(cur)
            cur = []
        cur.append(r)
    if cur:
        blocks.append(cur)
    ours_ids = [ident(o) for o in ours]
    expected, pos = [], 0
    for b in blocks:
        ids = sorted(ident(r) for r in b)
        got = ours_ids[pos:pos + len(b)]
        expected += got if sorted(got) == ids else [ident(r) for r in b]
        pos += len(b)
    C.t0(kind, subject, path + " (order; ties within T1 in any order)", ours_ids, expected)
    by_id = {ident(o): o for o in ours}
    return [(by_id.get(ident(r)), r) for r in ref]


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return float(a) == float(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------

def ts(s):
    """RFC 3339 UTC → integer nanoseconds since the epoch (exact)."""
    if s is None:
        return None
    s = s.strip()
    if s.endswith("Z") or s.endswith("z"):
        s, off = s[:-1], 0
    else:
        sign = 1 if s[-6] == "+" else -1
        off = sign * (int(s[-5:-3]) * 3600 + int(s[-2:]) * 60)
        s = s[:-6]
    frac = 0
    if "." in s:
        s, f = s.split(".")
        frac = int((f + "000000000")[:9])
    import datetime as dt
    base = dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return (int(base.timestamp()) - off) * NS + frac


def secs_between(a, b):
    """b − a in seconds with microsecond precision (chrono num_microseconds truncates)."""
    d = b - a
    us = abs(d) // 1000
    return (us if d >= 0 else -us) / 1e6


def bins_back(t, as_of, bin_secs):
    if t > as_of:
        return None
    return ((as_of - t) // NS) // bin_secs


def week_index(t, as_of, weeks):
    j = bins_back(t, as_of, WEEK)
    if j is None or j >= weeks:
        return None
    return weeks - 1 - j


def week_start(as_of, weeks, b):
    return as_of - (weeks - b) * WEEK * NS


def nonneg(x):
    return x if (x is not None and math.isfinite(x) and x > 0) else 0.0


def mean(x):
    return float(np.mean(x)) if len(x) else None


def median(x):
    return float(np.median(x)) if len(x) else None


def sd1(x):
    return float(np.std(x, ddof=1)) if len(x) >= 2 else None


def wilson(k, n, level=LEVEL):
    if n == 0:
        return None
    lo, hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
    return (k / n, float(lo), float(hi))


def finite_or_none(v):
    return v if (v is not None and math.isfinite(v)) else None


def round_half_away(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


class Data:
    def __init__(self, d):
        self.raw = d
        for e in d.get("events", []):
            e["_t"] = ts(e["timestamp"])
        for e in d.get("enrollments", []):
            e["_enrolled"] = ts(e["enrolledAt"])
            e["_completed"] = ts(e.get("completedAt"))
            e["_dropped"] = ts(e.get("droppedAt"))
            e["_due"] = ts(e.get("dueAt"))
        for a in d.get("attempts", []):
            a["_t"] = ts(a["submittedAt"])
        for f in d.get("feedback", []):
            f["_t"] = ts(f["createdAt"])
        for u in d.get("users", []):
            u["_created"] = ts(u["createdAt"])
        for r in d.get("userSkills", []):
            r["_t"] = ts(r["updatedAt"])

        def by_id(items):
            out = {}
            for x in items:
                out.setdefault(x["id"], x)
            return out

        def group(items, key):
            out = defaultdict(list)
            for x in items:
                out[x[key]].append(x)
            return out

        self.raw_skills = {}
        for sk in d.get("skills", []):
            self.raw_skills.setdefault(sk["id"], sk["name"])
        self.orgs = by_id(d.get("organizations", []))
        self.roles = by_id(d.get("jobRoles", []))
        self.users = by_id(d.get("users", []))
        self.users_list = d.get("users", [])
        self.courses = by_id(d.get("courses", []))
        self.courses_list = d.get("courses", [])
        self.items = by_id(d.get("contentItems", []))
        self.assessments = by_id(d.get("assessments", []))
        self.enrollments = d.get("enrollments", [])
        self.enr_by_user = group(self.enrollments, "userId")
        self.enr_by_course = group(self.enrollments, "courseId")
        self.items_by_course = group(d.get("contentItems", []), "courseId")
        self.feedback = d.get("feedback", [])
        self.fb_by_course = group(self.feedback, "courseId")
        self.att_by_user = group(d.get("attempts", []), "userId")
        self.att_by_assessment = group(d.get("attempts", []), "assessmentId")
        self.skills_by_user = group(d.get("userSkills", []), "userId")
        ev = group(d.get("events", []), "userId")
        self.events = {u: sorted(v, key=lambda e: e["_t"]) for u, v in ev.items()}

    def events_until(self, uid, as_of):
        evs = self.events.get(uid, [])
        lo, hi = 0, len(evs)
        while lo < hi:
            mid = (lo + hi) // 2
            if evs[mid]["_t"] <= as_of:
                lo = mid + 1
            else:
                hi = mid
        return evs[:lo]

    def course_items(self, course):
        seen, out = set(), []
        for m in course.get("modules", []):
            for iid in m.get("contentItemIds", []):
                it = self.items.get(iid)
                if it is not None and it["id"] not in seen:
                    seen.add(it["id"])
                    out.append(it)
        for it in self.items_by_course.get(course["id"], []):
            if it["id"] not in seen:
                seen.add(it["id"])
                out.append(it)
        return out


def item_hours(it):
    return nonneg(it.get("expectedDurationMin")) / 60.0


def signals_completion(e):
    return e["verb"] in ("completed", "passed") or e.get("completion") is True


def time_on_task(events):
    """The session rule of common.rs on events sorted by time and cut at the instant of
    interest: durationSec (finite, ≥ 0) capped at 4 h; else the gap to the next event of the
    session (a gap > 30 min ends it); 0 for the last event of a session."""
    out = []
    n = len(events)
    for i, e in enumerate(events):
        dur = e.get("durationSec")
        if dur is not None and math.isfinite(dur) and dur >= 0:
            s = float(dur)
        elif i + 1 < n and events[i + 1]["_t"] - e["_t"] <= GAP_MIN * 60 * NS:
            s = max(0.0, secs_between(e["_t"], events[i + 1]["_t"]))
        else:
            s = 0.0
        out.append(min(s, CAP_SECS))
    return out


def sessions(events):
    out, start = [], 0
    for i in range(1, len(events)):
        if events[i]["_t"] - events[i - 1]["_t"] > GAP_MIN * 60 * NS:
            out.append((start, i))
            start = i
    if start < len(events):
        out.append((start, len(events)))
    return out


def is_active_at(e, as_of):
    if e["_enrolled"] > as_of:
        return False
    s = e["status"]
    if s in ("enrolled", "in_progress"):
        return True
    if s == "completed":
        return e["_completed"] is not None and e["_completed"] > as_of
    if s == "dropped":
        return e["_dropped"] is not None and e["_dropped"] > as_of
    return False


def completed_by(e, t):
    return e["status"] == "completed" and e["_completed"] is not None and e["_completed"] <= t


def dropped_by(e, t):
    return e["status"] == "dropped" and e["_dropped"] is not None and e["_dropped"] <= t


def progress_clamped(e):
    p = e.get("progress")
    return min(1.0, max(0.0, p)) if (p is not None and math.isfinite(p)) else 0.0


def linregress_ref(y):
    """scipy.stats.linregress(x = 0…n−1, y) with the null conventions of regression.rs:
    constant y → r² and p null; n < 3 → stderr and p null."""
    n = len(y)
    if n < 2:
        return None
    x = np.arange(n, dtype=float)
    res = st.linregress(x, np.asarray(y, dtype=float))
    const = all(v == y[0] for v in y)
    stderr, p = float(res.stderr), float(res.pvalue)
    if n >= 3 and not const and 1 - float(res.rvalue) ** 2 < 1e-6:
        # scipy derives stderr and p from r (√((1 − r²)·…), t = r·√(df/((1 − r + TINY)(1 + r +
        # TINY)))), which cancels for a (near-)perfect fit: y = [0.4, 0.3, 0.2] gives stderr
        # 2.1e-9 and p 1.3e-8 where the residuals (rounding only) give 1.2e-16. There the
        # reference is statsmodels OLS, which computes them from the residuals.
        fit = sm.OLS(np.asarray(y, dtype=float), sm.add_constant(x)).fit()
        stderr, p = float(fit.bse[1]), float(fit.pvalues[1])
    return {
        "slope": float(res.slope), "intercept": float(res.intercept),
        "r2": None if const else float(res.rvalue) ** 2,
        "stderr": stderr if n >= 3 else None,
        "pValue": None if (const or n < 3) else p,
    }


def direction(fit):
    p = fit["pValue"]
    if p is not None and p < ALPHA_SIG and fit["slope"] > 0:
        return "accelerating"
    if p is not None and p < ALPHA_SIG and fit["slope"] < 0:
        return "decelerating"
    return "steady"


# ---------------------------------------------------------------------------------------------
# 1. learnerVelocity
# ---------------------------------------------------------------------------------------------

def first_completions(D, events):
    first = {}
    for e in events:
        if signals_completion(e) and e["objectId"] in D.items:
            first.setdefault(e["objectId"], e["_t"])
    return first


def unit_series(D, uid, as_of, weeks):
    events = D.events_until(uid, as_of)
    comps = first_completions(D, events)
    enr = [e["_enrolled"] for e in D.enr_by_user.get(uid, []) if e["_enrolled"] <= as_of]
    start_bin = 0
    if enr:
        wi = week_index(min(enr), as_of, weeks)
        start_bin = wi if wi is not None else 0
    units = [0.0] * (weeks - start_bin)
    counts = [0] * (weeks - start_bin)
    counted = 0
    for t, iid in sorted((t, i) for i, t in comps.items()):
        b = week_index(t, as_of, weeks)
        if b is None or b < start_bin:
            continue
        units[b - start_bin] += item_hours(D.items[iid])
        counts[b - start_bin] += 1
        counted += 1
    return start_bin, units, counts, counted, comps


def check_velocity(C, D, uid, O, as_of):
    K = "learnerVelocity"
    start_bin, units, counts, counted, comps = unit_series(D, uid, as_of, VEL_W)
    events = D.events_until(uid, as_of)
    enrs = [e for e in D.enr_by_user.get(uid, []) if e["_enrolled"] <= as_of]
    C.seq(K, uid, "weekly", O["weekly"], list(range(len(units))), lambda p, o, i: (
        C.t0(K, uid, p + ".weekStart", ts(o["weekStart"]), week_start(as_of, VEL_W, start_bin + i)),
        C.t0(K, uid, p + ".itemsCompleted", o["itemsCompleted"], counts[i]),
        C.t1(K, uid, p + ".units", o["units"], units[i])))
    cur = mean(units[-VEL_CURRENT:])
    C.t1(K, uid, "currentVelocity", O["currentVelocity"], cur)
    C.t1(K, uid, "averageVelocity", O["averageVelocity"], mean(units))
    fit = linregress_ref(units) if len(units) >= VEL_MIN_TREND else None
    if fit is None:
        C.t0(K, uid, "trend", O["trend"], None)
    else:
        for f in ("slope", "intercept", "r2", "stderr", "pValue"):
            C.t1(K, uid, "trend." + f, (O["trend"] or {}).get(f), fit[f])
        C.t0(K, uid, "trend.direction", (O["trend"] or {}).get("direction"), direction(fit))
    C.t0(K, uid, "coursesCompleted", O["coursesCompleted"],
         sum(1 for e in enrs if completed_by(e, as_of)))
    active = sorted((e for e in enrs if is_active_at(e, as_of)),
                    key=lambda e: (e["courseId"], e["id"]))

    def proj(p, o, e):
        course = D.courses.get(e["courseId"])
        if course is None:
            rem = None
        else:
            items = D.course_items(course)
            if not items:
                rem = nonneg(course["expectedDurationHours"]) * (1 - progress_clamped(e))
            else:
                rem = 0.0
                for it in items:
                    if it["id"] not in comps:
                        rem += item_hours(it)
        wtc = rem / cur if (rem is not None and cur and cur > 0) else None
        C.t0(K, uid, p + ".courseId", o["courseId"], e["courseId"])
        C.t1(K, uid, p + ".remainingHours", o["remainingHours"], rem)
        C.t1(K, uid, p + ".weeksToComplete", o["weeksToComplete"], wtc)
    C.seq(K, uid, "projections", O["projections"], active, proj)
    n = O["n"]
    C.t0(K, uid, "n", [n.get("events"), n.get("enrollments"), n.get("completions"), n.get("bins")],
         [len(events), len(enrs), counted, len(units)])
    C.t0(K, uid, "status", O["status"], "ok" if units else "insufficient_data")


# ---------------------------------------------------------------------------------------------
# 2. skillGapMatrix (and the targets shared with 4, 12, 16)
# ---------------------------------------------------------------------------------------------

SOURCE_RANK = {"assessed": 3, "inferred": 2, "self": 1}


def current_levels(D, uid, as_of):
    best = {}
    for r in D.skills_by_user.get(uid, []):
        lvl = r.get("currentLevel")
        if r["_t"] > as_of or lvl is None or not math.isfinite(lvl):
            continue
        held = best.get(r["skillId"])
        if held is None or (SOURCE_RANK[r["source"]], r["_t"]) >= (
                SOURCE_RANK[held["source"]], held["_t"]):
            best[r["skillId"]] = r
    return {s: max(0.0, r["currentLevel"]) for s, r in best.items()}


def scope_includes(scope, role):
    if scope == "all":
        return True
    ids = scope["jobRoleIds"] if isinstance(scope, dict) else scope
    return role is not None and role in ids


def user_targets(D, user, as_of):
    """Rows of skillGapMatrix for one user, as a DataFrame indexed by skill id."""
    role_id = user.get("jobRoleId")
    parts = {}
    if role_id is not None and role_id in D.roles:
        for req in D.roles[role_id].get("requirements", []):
            p = parts.setdefault(req["skillId"], {"rt": None, "rw": None, "gt": None, "gw": 0.0})
            p["rt"] = req["targetLevel"] if p["rt"] is None else max(p["rt"], req["targetLevel"])
            w = nonneg(req["weight"])
            p["rw"] = w if p["rw"] is None else max(p["rw"], w)
    wsum = 0.0
    org = D.orgs.get(user["orgId"])
    for g in (org or {}).get("strategicGoals", []):
        if not scope_includes(g["scope"], role_id):
            continue
        if not (math.isfinite(g["weight"]) and g["weight"] > 0):
            continue
        wsum += g["weight"]
        p = parts.setdefault(g["skillId"], {"rt": None, "rw": None, "gt": None, "gw": 0.0})
        p["gt"] = g["targetLevel"] if p["gt"] is None else max(p["gt"], g["targetLevel"])
        p["gw"] += g["weight"]
    levels = current_levels(D, user["id"], as_of)
    rows = []
    for sid in sorted(parts):
        p = parts[sid]
        tgts = [t for t in (p["rt"], p["gt"]) if t is not None]
        target = max(tgts) if tgts else float("nan")
        if not (math.isfinite(target) and target > 0):
            continue
        rw = p["rw"] if p["rw"] is not None else 1.0
        share = p["gw"] / wsum if wsum > 0 else 0.0
        importance = rw * (1 + share)
        cur = levels.get(sid)
        if cur is None:
            gap, status = target, "unassessed"
        elif cur < target:
            gap, status = target - cur, "gap"
        else:
            gap, status = 0.0, "met"
        ng = min(1.0, max(0.0, gap / target))
        rows.append({"skillId": sid, "current": cur, "target": target, "gap": gap,
                     "normalizedGap": ng, "importance": importance, "priority": ng * importance,
                     "status": status})
    return pd.DataFrame(rows, columns=["skillId", "current", "target", "gap", "normalizedGap",
                                       "importance", "priority", "status"])


def check_skill_gap(C, D, uid, O, as_of, bkt_states):
    K = "skillGapMatrix"
    user = D.users.get(uid)
    df = user_targets(D, user, as_of)
    df = df.assign(_neg=-df["priority"]).sort_values(["_neg", "skillId"], kind="stable")
    rows = df.to_dict("records")

    def row(p, o, r):
        C.t0(K, uid, p + ".skillId", o["skillId"], r["skillId"])
        cur = None if (r["current"] is None or pd.isna(r["current"])) else float(r["current"])
        C.t1(K, uid, p + ".current", o["current"], cur)
        for f in ("target", "gap", "normalizedGap", "importance", "priority"):
            C.t1(K, uid, p + "." + f, o[f], float(r[f]))
        C.t0(K, uid, p + ".status", o["status"], r["status"])
        st_ = bkt_states.get(r["skillId"])
        C.t1(K, uid, p + ".pMastery", o["pMastery"], st_["final"] if st_ else None)
    pairs = check_order(C, K, uid, "skills", O["skills"], rows, lambda r: r["priority"],
                        lambda r: r["skillId"])
    for i, (o, r) in enumerate(pairs):
        if o is not None:
            row(f"skills[{r['skillId']}]", o, r)
    assessed = df[df["status"] != "unassessed"]
    if len(assessed) and assessed["importance"].sum() > 0:
        cur = assessed["current"].astype(float)
        ratio = np.minimum(cur, assessed["target"]) / assessed["target"]
        readiness = float(np.average(ratio, weights=assessed["importance"]))
    else:
        readiness = None
    C.t1(K, uid, "readiness", O["readiness"], readiness)
    C.t0(K, uid, "metCount", O["metCount"], int((df["status"] == "met").sum()))
    C.t0(K, uid, "unassessedCount", O["unassessedCount"], int((df["status"] == "unassessed").sum()))
    # topGaps: the first 3 gap > 0 skills of the (order-checked) skills list.
    C.t0(K, uid, "topGaps", O["topGaps"],
         [o["skillId"] for o in O["skills"] if o["gap"] > 0][:TOP_GAPS])
    C.t0(K, uid, "topGaps (skills with gap)",
         set(O["topGaps"]) <= set(df[df["gap"] > 0]["skillId"]), True)
    C.t0(K, uid, "status", O["status"], "ok" if len(df) else "insufficient_data")
    return df


# ---------------------------------------------------------------------------------------------
# 3. engagementScore
# ---------------------------------------------------------------------------------------------

def engagement_ref(D, uid, as_of):
    events = D.events_until(uid, as_of)
    enr = [e["_enrolled"] for e in D.enr_by_user.get(uid, []) if e["_enrolled"] <= as_of]
    d = ENG_D
    if enr:
        d = min(ENG_D, bins_back(min(enr), as_of, DAY) + 1)
    weeks = -(-d // 7)
    last = events[-1]["_t"] if events else None
    days_since = max(0.0, secs_between(last, as_of) / 86400.0) if last is not None else None
    recency = math.exp(-math.log(2) * days_since / ENG_HALF_LIFE) if days_since is not None else 0.0
    secs = time_on_task(events)
    days, total, in_window = set(), 0.0, 0
    for e, s in zip(events, secs):
        b = bins_back(e["_t"], as_of, DAY)
        if b is not None and b < d:
            in_window += 1
            days.add(b)
            total += s
    n_sessions = sum(1 for a, b in sessions(events)
                     if any(bins_back(e["_t"], as_of, DAY) < d for e in events[a:b]))
    active_weeks = len({b // 7 for b in days})
    freq = len(days) / d
    hours = total / 3600.0
    time_v = min(1.0, hours / (d / 7 * ENG_TARGET_H))
    cons = active_weeks / weeks
    score = 100 * np.average([recency, freq, time_v, cons], weights=[0.25] * 4)
    return dict(d=d, weeks=weeks, last=last, days_since=days_since, recency=recency,
                freq=freq, active_days=len(days), hours=hours, time=time_v, cons=cons,
                active_weeks=active_weeks, score=float(score), events=in_window,
                total=len(events), sessions=n_sessions, enrollments=len(enr))


def band_of(score):
    return "high" if score >= ENG_HIGH else ("low" if score < ENG_LOW else "medium")


def check_engagement(C, D, uid, O, as_of):
    K = "engagementScore"
    r = engagement_ref(D, uid, as_of)
    c = O["components"]
    C.t1(K, uid, "score", O["score"], r["score"])
    C.t0(K, uid, "band", O["band"], band_of(r["score"]))
    C.t1(K, uid, "recency.value", c["recency"]["value"], r["recency"])
    C.t1(K, uid, "recency.daysSinceLast", c["recency"]["daysSinceLast"], r["days_since"])
    C.t1(K, uid, "frequency.value", c["frequency"]["value"], r["freq"])
    C.t0(K, uid, "frequency.activeDays", c["frequency"]["activeDays"], r["active_days"])
    C.t1(K, uid, "timeOnTask.value", c["timeOnTask"]["value"], r["time"])
    C.t1(K, uid, "timeOnTask.hours", c["timeOnTask"]["hours"], r["hours"])
    C.t1(K, uid, "consistency.value", c["consistency"]["value"], r["cons"])
    C.t0(K, uid, "consistency.activeWeeks", c["consistency"]["activeWeeks"], r["active_weeks"])
    C.t0(K, uid, "windowDays", O["windowDays"], r["d"])
    C.t0(K, uid, "partialWindow", O["partialWindow"], r["d"] < ENG_D)
    C.t0(K, uid, "lastActivityAt", ts(O["lastActivityAt"]), r["last"])
    n = O["n"]
    C.t0(K, uid, "n", [n["events"], n["eventsTotal"], n["sessions"], n["weeks"], n["enrollments"]],
         [r["events"], r["total"], r["sessions"], r["weeks"], r["enrollments"]])
    return r


# ---------------------------------------------------------------------------------------------
# 4. masteryProgress: BKT
# ---------------------------------------------------------------------------------------------

def attempts_until(D, uid, as_of):
    return sorted((a for a in D.att_by_user.get(uid, []) if a["_t"] <= as_of),
                  key=lambda a: (a["_t"], a["attemptNo"], a["id"]))


def matched_responses(D, attempt):
    a = D.assessments.get(attempt["assessmentId"])
    if a is None:
        return [], len(attempt.get("responses", []))
    seen, out, unmatched = set(), [], 0
    for r in attempt.get("responses", []):
        item = next((i for i in a.get("items", []) if i["itemId"] == r["itemId"]), None)
        if item is not None and r["itemId"] not in seen:
            seen.add(r["itemId"])
            out.append((a, item, r))
        else:
            unmatched += 1
    return out, unmatched


def distinct(xs):
    seen, out = set(), []
    for x in xs:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def bkt_numpy(obs):
    """The fixed-parameter BKT forward recursion (analytics.md §4) as the two-state HMM in
    numpy: state π = [P(known), P(unknown)], emission E[state, response], transition A (learn
    T, forget 0). Per response: pre-step L = π[0], P(correct) = π·E[:, 1], posterior
    π ∘ E[:, c] / Σ, then π ← posterior·A. Each of P(known) and P(unknown) keeps its own
    relative precision; the textbook L-only form (L′ = L(1−S)/pc, L ← L′ + (1−L′)T) loses
    1 − L to rounding near L = 1 and drifted 8e-9 from pyBKT on a 58-response sequence."""
    l0, t, g, s = BKT["l0"], BKT["t"], BKT["g"], BKT["s"]
    E = np.array([[s, 1 - s],      # known: P(wrong), P(correct)
                  [1 - g, g]])     # unknown
    A = np.array([[1.0, 0.0],      # known stays known (forget = 0)
                  [t, 1 - t]])     # unknown learns with T
    pi = np.array([l0, 1 - l0])
    pre, pcs, after = [], [], []
    for c in obs:
        pre.append(float(pi[0]))
        pcs.append(float(pi @ E[:, 1]))
        post = pi * E[:, int(bool(c))]
        pi = np.clip((post / post.sum()) @ A, 0.0, 1.0)
        after.append(float(pi[0]))
    return {"pre": pre, "pc": pcs, "after": after, "final": float(pi[0]),
            "next": float(pi @ E[:, 1])}


def evidence(D, uid, as_of):
    by_skill = defaultdict(list)
    atts = attempts_until(D, uid, as_of)
    responses = unmatched = observations = 0
    for a in atts:
        m, u = matched_responses(D, a)
        unmatched += u
        responses += len(m)
        for _, item, r in m:
            for s in distinct(item.get("skillIds", [])):
                observations += 1
                by_skill[s].append((bool(r["correct"]), a["_t"]))
    return by_skill, len(atts), responses, unmatched, observations


def check_mastery(C, D, uid, O, as_of, targets, pybkt):
    K = "masteryProgress"
    by_skill, n_att, n_resp, n_unm, n_obs = evidence(D, uid, as_of)
    importances = dict(zip(targets["skillId"], targets["importance"]))
    tracked = sorted(set(by_skill) | set(importances))
    states = {}
    rows = []
    for s in tracked:
        obs = by_skill.get(s, [])
        b = bkt_numpy([c for c, _ in obs])
        states[s] = b
        mastered = b["final"] >= MASTERY
        first = next((i for i, l in enumerate(b["after"]) if l >= MASTERY), None)
        at = obs[first][1] if (mastered and first is not None) else None
        rows.append({"skillId": s, "pMastery": b["final"], "pCorrectNext": b["next"],
                     "observations": len(obs), "mastered": mastered, "masteredAt": at})
        if pybkt is not None and obs:
            pb = pybkt.get(f"{uid}\t{s}")
            if pb is not None:
                # pyBKT state_predictions of the observations, then of a dummy one appended:
                # the pre-step L sequence and the final L; correct_predictions of the dummy is
                # P(correct next).
                C.seq(K, uid, f"pyBKT[{s}].stateBefore", b["pre"] + [b["final"]], pb["state"],
                      lambda p, o, r: C.t1(K, uid, p, o, r))
                C.t1(K, uid, f"pyBKT[{s}].pCorrectNext", b["next"], pb["correct"][-1])
                C.t1(K, uid, f"pyBKT[{s}].pMastery(ours)",
                     next(x["pMastery"] for x in O["skills"] if x["skillId"] == s),
                     pb["state"][-1])

    def row(p, o, r):
        C.t0(K, uid, p + ".skillId", o["skillId"], r["skillId"])
        C.t1(K, uid, p + ".pMastery", o["pMastery"], r["pMastery"])
        C.t1(K, uid, p + ".pCorrectNext", o["pCorrectNext"], r["pCorrectNext"])
        C.t0(K, uid, p + ".observations", o["observations"], r["observations"])
        C.t0(K, uid, p + ".mastered", o["mastered"], r["mastered"])
        C.t0(K, uid, p + ".masteredAt", ts(o["masteredAt"]), r["masteredAt"])
    C.seq(K, uid, "skills", O["skills"], rows, row)
    mc = sum(1 for r in rows if r["mastered"])
    C.t0(K, uid, "masteredCount", O["masteredCount"], mc)
    C.t0(K, uid, "trackedSkills", O["trackedSkills"], len(rows))
    C.t1(K, uid, "masteryRatio", O["masteryRatio"], mc / len(rows) if rows else None)
    w = [(importances[r["skillId"]], r["pMastery"]) for r in rows if r["skillId"] in importances]
    wm = (float(np.average([p for _, p in w], weights=[x for x, _ in w]))
          if w and sum(x for x, _ in w) > 0 else None)
    C.t1(K, uid, "weightedMastery", O["weightedMastery"], wm)
    prog = [progress_clamped(e) for e in D.enr_by_user.get(uid, []) if e["_enrolled"] <= as_of]
    C.t1(K, uid, "courseProgress", O["courseProgress"], mean(prog))
    n = O["n"]
    C.t0(K, uid, "n", [n["attempts"], n["responses"], n["unmatchedResponses"], n["observations"],
                       n["targetSkills"], n["skillsWithoutEvidence"], n["enrollments"]],
         [n_att, n_resp, n_unm, n_obs, len(importances),
          sum(1 for r in rows if r["observations"] == 0), len(prog)])
    C.t0(K, uid, "status", O["status"], "ok" if rows else "insufficient_data")
    return {s: states[s] for s in by_skill}


def run_pybkt(python, seqs):
    """Runs pybkt_trace.py in the pyBKT venv on {key: [0/1, …]}; None if unavailable."""
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"params": BKT, "sequences": seqs}, f)
        path = f.name
    try:
        out = subprocess.run([python, os.path.join(here, "pybkt_trace.py"), path],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)
    finally:
        os.unlink(path)


# ---------------------------------------------------------------------------------------------
# 5. performanceAnalytics
# ---------------------------------------------------------------------------------------------

def check_performance(C, D, uid, O, as_of):
    K = "performanceAnalytics"
    allatt = attempts_until(D, uid, as_of)
    groups, invalid = defaultdict(list), 0
    for a in allatt:
        asm = D.assessments.get(a["assessmentId"])
        if asm is None or not (math.isfinite(asm["maxScore"]) and asm["maxScore"] > 0) \
                or not math.isfinite(a["score"]):
            invalid += 1
            continue
        groups[a["assessmentId"]].append((a, min(1.0, max(0.0, a["score"] / asm["maxScore"]))))
    for g in groups.values():
        g.sort(key=lambda x: (x[0]["attemptNo"], x[0]["_t"], x[0]["id"]))
    firsts = sorted(((aid, g[0]) for aid, g in groups.items()),
                    key=lambda x: (x[1][0]["_t"], x[1][0]["attemptNo"], x[1][0]["id"], x[0]))
    fs = [s for _, (_, s) in firsts]
    best = [max(s for _, s in g) for g in groups.values()]
    na = len(groups)
    C.t0(K, uid, "attempts", O["attempts"], sum(len(g) for g in groups.values()))
    C.t0(K, uid, "assessments", O["assessments"], na)
    C.t0(K, uid, "invalidAttempts", O["invalidAttempts"], invalid)
    C.t1(K, uid, "meanFirstAttemptScore", O["meanFirstAttemptScore"], mean(fs))
    C.t1(K, uid, "meanBestScore", O["meanBestScore"], mean(best))
    C.t1(K, uid, "medianScore", O["medianScore"], median(fs))
    C.t1(K, uid, "sdScore", O["sdScore"], sd1(fs))

    def rate(path, o, k, n):
        w = wilson(k, n)
        if w is None:
            C.t0(K, uid, path, o, None)
            return
        C.t1(K, uid, path + ".value", (o or {}).get("value"), w[0])
        ci = (o or {}).get("ci") or [None, None]
        C.t1(K, uid, path + ".ci[0]", ci[0], w[1])
        C.t1(K, uid, path + ".ci[1]", ci[1], w[2])
    rate("firstAttemptPassRate", O["firstAttemptPassRate"],
         sum(1 for _, (a, _) in firsts if a["passed"]), na)
    to_pass = [next(i + 1 for i, (a, _) in enumerate(g) if a["passed"])
               for g in groups.values() if any(a["passed"] for a, _ in g)]
    rate("eventualPassRate", O["eventualPassRate"], len(to_pass), na)
    C.t1(K, uid, "meanAttemptsToPass", O["meanAttemptsToPass"], mean(to_pass))
    fit = linregress_ref(fs)
    if fit is None:
        C.t0(K, uid, "trend", O["trend"], None)
    else:
        C.t1(K, uid, "trend.slope", (O["trend"] or {}).get("slope"), fit["slope"])
        C.t1(K, uid, "trend.pValue", (O["trend"] or {}).get("pValue"), fit["pValue"])
    tally = defaultdict(lambda: [0, 0])
    resp = unm = 0
    for _, (a, _) in firsts:
        m, u = matched_responses(D, a)
        unm += u
        resp += len(m)
        for _, item, r in m:
            for s in distinct(item.get("skillIds", [])):
                tally[s][1] += 1
                tally[s][0] += 1 if r["correct"] else 0
    rows = []
    for s in sorted(tally):
        k, n = tally[s]
        w = wilson(k, n) if n >= SKILL_MIN_N else None
        rows.append({"skillId": s, "n": n, "w": w})

    def srow(p, o, r):
        C.t0(K, uid, p + ".skillId", o["skillId"], r["skillId"])
        C.t0(K, uid, p + ".n", o["n"], r["n"])
        w = r["w"]
        C.t1(K, uid, p + ".accuracy", o["accuracy"], w[0] if w else None)
        ci = o["ci"] or [None, None]
        C.t1(K, uid, p + ".ci[0]", ci[0], w[1] if w else None)
        C.t1(K, uid, p + ".ci[1]", ci[1], w[2] if w else None)
    C.seq(K, uid, "skills", O["skills"], rows, srow)
    # Orderings are compared exactly (T0), but the bounds they sort by are only defined to T1:
    # statsmodels returns e.g. 2.8e-17 instead of the exact 0 for a lower bound at k = 0, which
    # would break ties that the definition breaks by skill id. Rank on bounds rounded to 1e-12.
    with_ci = [(r["skillId"], round(r["w"][1], 12), round(r["w"][2], 12)) for r in rows if r["w"]]
    take = min(3, len(with_ci) // 2)
    strongest = [s for s, _, _ in sorted(with_ci, key=lambda x: (-x[1], x[0]))][:take]
    weakest = [s for s, _, _ in sorted(with_ci, key=lambda x: (x[2], x[0]))
               if s not in strongest][:take]
    C.t0(K, uid, "strongest", O["strongest"], strongest)
    C.t0(K, uid, "weakest", O["weakest"], weakest)
    n = O["n"]
    C.t0(K, uid, "n", [n["attemptsTotal"], n["firstAttempts"], n["responses"],
                       n["unmatchedResponses"]], [len(allatt), len(firsts), resp, unm])
    C.t0(K, uid, "status", O["status"], "ok" if groups else "insufficient_data")


# ---------------------------------------------------------------------------------------------
# 6. contentEffectiveness
# ---------------------------------------------------------------------------------------------

TYPE_ORDER = ["video", "text", "quiz", "lab"]


def kelley_d(records, fraction=KELLEY):
    """D = p_upper − p_lower over round(0.27·N) examinees by total (ties by user id)."""
    n = len(records)
    g = min(n, int(round_half_away(min(0.5, max(0.0, fraction)) * n)))
    if g == 0:
        return None
    srt = sorted(records, key=lambda r: (-r[2], r[0]))
    up = sum(1 for r in srt[:g] if r[1]) / g
    lo = sum(1 for r in srt[n - g:] if r[1]) / g
    return up - lo


def item_analysis_ref(D, asm, examinees):
    qs = distinct([i["itemId"] for i in asm.get("items", [])])
    X = np.array([[1.0 if next((r for r in a.get("responses", []) if r["itemId"] == q),
                                {"correct": False})["correct"] else 0.0 for q in qs]
                  for a in examinees])
    totals = X.sum(axis=1)
    out = []
    for j, q in enumerate(qs):
        x = X[:, j]
        rest = totals - x
        p = float(np.mean(x))
        if np.all(x == x[0]) or np.all(rest == rest[0]):
            r = None
        else:
            r = float(st.pointbiserialr(x, rest).statistic)
        d = kelley_d([(a["userId"], x[i] == 1.0, totals[i]) for i, a in enumerate(examinees)])
        flags = []
        if p < DIFF_LOW:
            flags.append("too_hard")
        if p > DIFF_HIGH:
            flags.append("too_easy")
        if r is not None and r < DISC_MIN:
            flags.append("low_discrimination")
        if r is not None and r < 0:
            flags.append("reject")
        out.append({"assessmentId": asm["id"], "itemId": q, "difficulty": p,
                    "pointBiserial": r, "discriminationIndex": d,
                    "nExaminees": len(examinees), "flags": flags})
    return out


def content_part_a(D, uid, as_of):
    """contentEffectiveness part (a): per-item use, matched answers and the per-type rows."""
    events = D.events_until(uid, as_of)
    secs = time_on_task(events)
    uses = {}
    n_content = 0
    for e, s in zip(events, secs):
        it = D.items.get(e["objectId"])
        if it is None:
            continue
        n_content += 1
        u = uses.setdefault(it["id"], {"item": it, "secs": 0.0, "done": None})
        u["secs"] += s
        if signals_completion(e) and u["done"] is None:
            u["done"] = e["_t"]
    atts = attempts_until(D, uid, as_of)
    answers, unm = [], 0
    for a in atts:
        m, u = matched_responses(D, a)
        unm += u
        for asm, item, r in m:
            answers.append({"at": a["_t"], "ci": asm.get("contentItemId"),
                            "skills": distinct(item.get("skillIds", [])),
                            "correct": bool(r["correct"])})
    n_correct = sum(1 for a in answers if a["correct"])
    overall = n_correct / len(answers) if answers else None
    rows = []
    window = POST_WINDOW_DAYS * DAY * NS
    for typ in TYPE_ORDER:
        us = [u for u in uses.values() if u["item"]["type"] == typ]
        if not us:
            continue
        done = [u for u in us if u["done"] is not None]
        ratios = [r for r in (time_ratio(u) for u in done) if r is not None]
        npost = cpost = 0
        for a in answers:
            if any(u["done"] < a["at"] <= u["done"] + window and a["ci"] != u["item"]["id"]
                   and any(s in a["skills"] for s in u["item"].get("skillIds", []))
                   for u in done):
                npost += 1
                cpost += a["correct"]
        post = cpost / npost if npost else None
        lift = post - overall if (post is not None and overall is not None
                                  and npost >= LIFT_MIN_N) else None
        rows.append({"type": typ, "started": len(us), "completed": len(done),
                     "completionRate": len(done) / len(us), "medianTimeRatio": median(ratios),
                     "postAccuracy": post, "lift": lift, "nResponses": npost})
    best = None
    for r in rows:
        if r["lift"] is not None and (best is None or r["lift"] > best[1]):
            best = (r["type"], r["lift"])
    return dict(events=events, uses=uses, n_content=n_content, atts=atts, answers=answers,
                unm=unm, n_correct=n_correct, rows=rows, best=best[0] if best else None)


def time_ratio(u):
    exp = item_hours(u["item"]) * 3600.0
    if u["done"] is None or exp <= 0:
        return None
    return u["secs"] / exp


def check_content(C, D, uid, O, as_of):
    K = "contentEffectiveness"
    A = content_part_a(D, uid, as_of)
    events, uses, n_content, atts = A["events"], A["uses"], A["n_content"], A["atts"]
    answers, unm, n_correct, rows = A["answers"], A["unm"], A["n_correct"], A["rows"]
    ratio = time_ratio

    def trow(p, o, r):
        C.t0(K, uid, p + ".type", o["type"], r["type"])
        for f in ("started", "completed", "nResponses"):
            C.t0(K, uid, p + "." + f, o[f], r[f])
        for f in ("completionRate", "medianTimeRatio", "postAccuracy", "lift"):
            C.t1(K, uid, p + "." + f, o[f], r[f])
    C.seq(K, uid, "byType", O["byType"], rows, trow)
    C.t0(K, uid, "bestType", O["bestType"], A["best"])
    attempted = defaultdict(set)
    for a in atts:
        asm = D.assessments.get(a["assessmentId"])
        if asm is not None and asm.get("contentItemId") in D.items:
            attempted[asm["contentItemId"]].add(asm["id"])
    below = 0
    items = []
    for iid in sorted(set(uses) | set(attempted)):
        it = D.items.get(iid)
        if it is None:
            continue
        u = uses.get(iid)
        stats = None
        if iid in attempted:
            stats, complete = [], True
            for aid in sorted(attempted[iid]):
                first = {}
                for a in D.att_by_assessment.get(aid, []):
                    if a["_t"] > as_of:
                        continue
                    k = (a["attemptNo"], a["_t"], a["id"])
                    if a["userId"] not in first or k < first[a["userId"]][0]:
                        first[a["userId"]] = (k, a)
                ex = [first[u_][1] for u_ in sorted(first)]
                if len(ex) < ITEM_MIN_N:
                    below += 1
                    complete = False
                    continue
                stats += item_analysis_ref(D, D.assessments[aid], ex)
            if not complete:
                stats = None
        items.append({"contentItemId": iid, "type": it["type"],
                      "completed": bool(u and u["done"] is not None),
                      "timeRatio": ratio(u) if u else None, "itemStats": stats})

    def stat(p, o, r):
        for f in ("assessmentId", "itemId", "nExaminees", "flags"):
            C.t0(K, uid, p + "." + f, o[f], r[f])
        for f in ("difficulty", "pointBiserial", "discriminationIndex"):
            C.t1(K, uid, p + "." + f, o[f], r[f])

    def irow(p, o, r):
        for f in ("contentItemId", "type", "completed"):
            C.t0(K, uid, p + "." + f, o[f], r[f])
        C.t1(K, uid, p + ".timeRatio", o["timeRatio"], r["timeRatio"])
        if r["itemStats"] is None or o["itemStats"] is None:
            C.t0(K, uid, p + ".itemStats", o["itemStats"], r["itemStats"])
        else:
            C.seq(K, uid, p + ".itemStats", o["itemStats"], r["itemStats"], stat)
    C.seq(K, uid, "items", O["items"], items, irow)
    n = O["n"]
    C.t0(K, uid, "n", [n["events"], n["contentEvents"], n["responses"], n["correctResponses"],
                       n["unmatchedResponses"], n["itemStatsBelowMinN"]],
         [len(events), n_content, len(answers), n_correct, unm, below])
    C.t0(K, uid, "status", O["status"], "ok" if (rows or items) else "insufficient_data")


# ---------------------------------------------------------------------------------------------
# 7–10. trainer analytics
# ---------------------------------------------------------------------------------------------

def trainer_courses(D, tid):
    return sorted((c for c in D.courses_list if c["trainerId"] == tid and D.courses[c["id"]] is c),
                  key=lambda c: c["id"])


def maturity_instant(e, course):
    secs = nonneg(MATURITY) * nonneg(course.get("expectedDurationHours")) * 3600.0
    if not (math.isfinite(secs) and secs < 1e15):
        return None
    return e["_enrolled"] + round_half_away(secs * 1000.0) * 1_000_000


def is_matured(e, course, as_of):
    t = maturity_instant(e, course)
    return t is not None and t <= as_of


def event_course(D, e):
    if e.get("courseId") is not None:
        return e["courseId"]
    it = D.items.get(e["objectId"])
    return it["courseId"] if it else None


def recently_active(D, uid, cid, as_of):
    for e in D.events_until(uid, as_of):
        b = bins_back(e["_t"], as_of, DAY)
        if b is not None and b < ACTIVE_DAYS and event_course(D, e) == cid:
            return True
    return False


def trainer_firsts(D, uid, as_of):
    """First attempt per assessment: earliest submittedAt, then attemptNo, then id."""
    first = {}
    for a in D.att_by_user.get(uid, []):
        if a["_t"] > as_of:
            continue
        k = (a["_t"], a["attemptNo"], a["id"])
        if a["assessmentId"] not in first or k < first[a["assessmentId"]][0]:
            first[a["assessmentId"]] = (k, a)
    return {aid: a for aid, (_, a) in first.items()}


def scaled(a, asm):
    m = asm["maxScore"]
    if not (math.isfinite(m) and m > 0 and math.isfinite(a["score"])):
        return None
    return min(1.0, max(0.0, a["score"] / m))


def finals_of(D, firsts, cid):
    out = []
    for aid in sorted(firsts):
        asm = D.assessments.get(aid)
        if asm is None or asm["kind"] not in ("post", "exam") or asm["courseId"] != cid:
            continue
        s = scaled(firsts[aid], asm)
        if s is not None:
            out.append((s, bool(firsts[aid]["passed"])))
    return out


def pre_post(D, firsts, cid):
    def earliest(kind):
        best = None
        for aid, a in firsts.items():
            asm = D.assessments.get(aid)
            if asm is None or asm["kind"] != kind or asm["courseId"] != cid:
                continue
            s = scaled(a, asm)
            if s is None:
                continue
            k = (a["_t"], a["attemptNo"], a["id"])
            if best is None or k < best[0]:
                best = (k, a, 100.0 * s)
        return best
    pre, post = earliest("pre"), earliest("post")
    if pre is None or post is None:
        return ("missing",)
    if pre[1]["_t"] > post[1]["_t"]:
        return ("out_of_order",)
    if pre[2] >= 100.0:
        return ("ceiling",)
    return ("pair", pre[2], post[2], post[1]["_t"])


def course_outcomes(D, course, as_of):
    enrs = [e for e in D.enr_by_course.get(course["id"], []) if e["_enrolled"] <= as_of]
    o = dict(enrolled=len(enrs), matured=0, mc=0, md=0, completed=0, progress=[], days=[],
             finals=[], active=0)
    users = sorted({e["userId"] for e in enrs})
    for e in enrs:
        if is_matured(e, course, as_of):
            o["matured"] += 1
            if completed_by(e, as_of):
                o["mc"] += 1
            elif dropped_by(e, as_of):
                o["md"] += 1
        if completed_by(e, as_of):
            o["completed"] += 1
            if e["_completed"] >= e["_enrolled"]:
                o["days"].append(secs_between(e["_enrolled"], e["_completed"]) / DAY)
        o["progress"].append(progress_clamped(e))
    for u in users:
        if recently_active(D, u, course["id"], as_of):
            o["active"] += 1
        o["finals"] += finals_of(D, trainer_firsts(D, u, as_of), course["id"])
    return o


def check_wilson_metric(C, K, subj, path, o, k, n):
    w = wilson(k, n)
    if w is None:
        C.t0(K, subj, path, o, None)
        return None
    C.t1(K, subj, path + ".value", (o or {}).get("value"), w[0])
    ci = (o or {}).get("ci") or [None, None]
    C.t1(K, subj, path + ".ci[0]", ci[0], w[1])
    C.t1(K, subj, path + ".ci[1]", ci[1], w[2])
    if o is not None and "n" in o:
        C.t0(K, subj, path + ".n", o["n"], n)
    return w[0]


def check_course_performance(C, D, tid, O, as_of):
    K = "coursePerformance"
    courses = trainer_courses(D, tid)
    rows = []
    for c in courses:
        o = course_outcomes(D, c, as_of)
        rows.append((c, o))

    def crow(p, oo, r):
        c, o = r
        C.t0(K, tid, p + ".courseId", oo["courseId"], c["id"])
        C.t0(K, tid, p + ".enrolled", oo["enrolled"], o["enrolled"])
        C.t0(K, tid, p + ".active", oo["active"], o["active"])
        o["cr"] = check_wilson_metric(C, K, tid, p + ".completionRate", oo["completionRate"],
                                      o["mc"], o["matured"])
        o["dr"] = check_wilson_metric(C, K, tid, p + ".dropoutRate", oo["dropoutRate"],
                                      o["md"], o["matured"])
        o["pr"] = check_wilson_metric(C, K, tid, p + ".passRate", oo["passRate"],
                                      sum(1 for _, ps in o["finals"] if ps), len(o["finals"]))
        o["raw"] = o["completed"] / o["enrolled"] if o["enrolled"] else None
        o["mfs"] = mean([s for s, _ in o["finals"]])
        o["mp"] = mean(o["progress"])
        o["md_"] = median(o["days"])
        C.t1(K, tid, p + ".rawCompletionRate", oo["rawCompletionRate"], o["raw"])
        C.t1(K, tid, p + ".meanFinalScore", oo["meanFinalScore"], o["mfs"])
        C.t1(K, tid, p + ".meanProgress", oo["meanProgress"], o["mp"])
        C.t1(K, tid, p + ".medianDaysToComplete", oo["medianDaysToComplete"], o["md_"])
    C.seq(K, tid, "courses", O["courses"], rows, crow)
    ov = O["overall"]
    C.t0(K, tid, "overall.enrolled", ov["enrolled"], sum(o["enrolled"] for _, o in rows))
    C.t0(K, tid, "overall.active", ov["active"], sum(o["active"] for _, o in rows))
    for f, key in (("completionRate", "cr"), ("rawCompletionRate", "raw"), ("dropoutRate", "dr"),
                   ("passRate", "pr"), ("meanFinalScore", "mfs"), ("meanProgress", "mp"),
                   ("medianDaysToComplete", "md_")):
        pairs = [(o.get(key), o["enrolled"]) for _, o in rows if o.get(key) is not None]
        ref = (float(np.average([x for x, _ in pairs], weights=[w for _, w in pairs]))
               if pairs and sum(w for _, w in pairs) > 0 else None)
        C.t1(K, tid, "overall." + f, ov[f], ref)
    n = O["n"]
    C.t0(K, tid, "n", [n["courses"], n["enrollments"], n["matured"], n["finalAttempts"]],
         [len(rows), sum(o["enrolled"] for _, o in rows), sum(o["matured"] for _, o in rows),
          sum(len(o["finals"]) for _, o in rows)])


def global_mean_rating(D, as_of, field):
    r = [f[field] for f in D.feedback if f["_t"] <= as_of and valid_rating(f[field])]
    return mean(r)


def valid_rating(r):
    return r is not None and math.isfinite(r) and 1.0 <= r <= 5.0


def bayes(ratings, m, c=RATING_C):
    if m is None:
        return None
    return (c * m + sum(ratings)) / (c + len(ratings))


def check_course_health(C, D, tid, O, as_of):
    K = "courseHealth"
    courses = trainer_courses(D, tid)
    m = global_mean_rating(D, as_of, "courseRating")
    rows = []
    for c in courses:
        o = course_outcomes(D, c, as_of)
        ratings = [f["courseRating"] for f in D.fb_by_course.get(c["id"], [])
                   if f["_t"] <= as_of and valid_rating(f["courseRating"])]
        b = bayes(ratings, m)
        norm = min(1.0, max(0.0, (b - 1) / 4)) if b is not None else None
        comp = o["mc"] / o["matured"] if o["matured"] else None
        ret = 1 - o["md"] / o["matured"] if o["matured"] else None
        score = mean([s for s, _ in o["finals"]])
        exp = nonneg(c.get("expectedDurationHours"))
        if exp <= 0 or not o["days"]:
            pace = None
        else:
            mh = float(np.median(o["days"])) * 24
            pace = 1.0 if mh <= 0 else min(1.0, exp / mh)
        ind = [("completion", comp, o["matured"]), ("retention", ret, o["matured"]),
               ("score", score, len(o["finals"])), ("rating", norm, len(ratings)),
               ("pace", pace, len(o["days"]))]
        avail = [(nm, v) for nm, v, n in ind if v is not None and n >= INDICATOR_MIN_N]
        health = 100 * float(np.average([v for _, v in avail])) if avail else None
        status = ("insufficient_data" if health is None else "healthy" if health >= HEALTHY
                  else "at_risk" if health >= AT_RISK else "critical")
        rows.append(dict(courseId=c["id"], health=health, status=status, completion=comp,
                         retention=ret, score=score, bayes=b, raw=mean(ratings), n=len(ratings),
                         pace=pace, missing=[nm for nm, _, _ in ind
                                             if nm not in dict(avail)]))

    def crow(p, o, r):
        C.t0(K, tid, p + ".courseId", o["courseId"], r["courseId"])
        C.t1(K, tid, p + ".health", o["health"], r["health"])
        C.t0(K, tid, p + ".status", o["status"], r["status"])
        i = o["indicators"]
        for f in ("completion", "retention", "score", "pace"):
            C.t1(K, tid, p + ".indicators." + f, i[f], r[f])
        C.t1(K, tid, p + ".indicators.rating.bayesian", i["rating"]["bayesian"], r["bayes"])
        C.t1(K, tid, p + ".indicators.rating.raw", i["rating"]["raw"], r["raw"])
        C.t0(K, tid, p + ".indicators.rating.n", i["rating"]["n"], r["n"])
        C.t0(K, tid, p + ".missingIndicators", o["missingIndicators"], r["missing"])
    C.seq(K, tid, "courses", O["courses"], rows, crow)
    wh = sum(1 for r in rows if r["health"] is not None)
    C.t0(K, tid, "status", O["status"], "ok" if wh else "insufficient_data")


def gini_ref(x):
    """PySAL inequality.gini.Gini(x).g when installed, else its population formula."""
    if sum(x) == 0:
        return None
    if len(x) == 1:
        return 0.0
    try:
        from inequality.gini import Gini
        return float(Gini(np.asarray(x, dtype=float)).g)
    except ImportError:
        v = np.sort(np.asarray(x, dtype=float))
        n = len(v)
        return float((2 * np.sum(np.arange(1, n + 1) * v) - n * v.sum() - v.sum()) / (n * v.sum()))


def check_student_distribution(C, D, tid, O, as_of):
    K = "studentDistribution"
    courses = trainer_courses(D, tid)
    enrolled_in = defaultdict(set)
    for c in courses:
        for e in D.enr_by_course.get(c["id"], []):
            if e["_enrolled"] <= as_of:
                enrolled_in[e["userId"]].add(c["id"])
    active = sorted(u for u, cs in enrolled_in.items()
                    if any(recently_active(D, u, c, as_of) for c in cs))
    values = []
    for u in active:
        firsts = trainer_firsts(D, u, as_of)
        scores = [s for c in sorted(enrolled_in[u]) for s, _ in finals_of(D, firsts, c)]
        if scores:
            values.append(min(1.0, max(0.0, float(np.mean(scores)))))
    C.t0(K, tid, "metric", O["metric"], "finalScore")
    n = O["n"]
    C.t0(K, tid, "n", [n["courses"], n["learners"], n["values"]],
         [len(courses), len(active), len(values)])
    if not values:
        for f in ("histogram", "quantiles", "mean", "sd", "gini", "bands"):
            C.t0(K, tid, f, O[f], None)
        C.t0(K, tid, "status", O["status"], "insufficient_data")
        return
    x = np.asarray(values)
    counts, edges = np.histogram(x, bins=np.linspace(0, 1, 11))
    C.seq(K, tid, "histogram.edges", O["histogram"]["edges"], list(edges),
          lambda p, o, r: C.t1(K, tid, p, o, float(r)))
    C.t0(K, tid, "histogram.counts", O["histogram"]["counts"], [int(c) for c in counts])
    qs = np.quantile(x, QUANTILES, method="linear")
    for q, v in zip(QUANTILES, qs):
        key = "p" + ("%g" % (round(q * 1000) / 10))
        C.t1(K, tid, "quantiles." + key, O["quantiles"].get(key), float(v))
    C.t1(K, tid, "mean", O["mean"], float(np.mean(x)))
    C.t1(K, tid, "sd", O["sd"], sd1(values))
    C.t1(K, tid, "gini", O["gini"], gini_ref(values))
    edges_b = [None] + BAND_EDGES + [None]
    bands = [int(np.sum((x >= (edges_b[i] if edges_b[i] is not None else -np.inf))
                        & (x < (edges_b[i + 1] if edges_b[i + 1] is not None else np.inf))))
             for i in range(len(BAND_EDGES) + 1)]
    C.t0(K, tid, "bands", [[b["lower"], b["upper"], b["count"]] for b in O["bands"]],
         [[edges_b[i], edges_b[i + 1], bands[i]] for i in range(len(bands))])
    C.t0(K, tid, "status", O["status"], "ok")


def gains_ref(pre, post):
    pre, post = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    if len(pre) == 0:
        return dict(hake=None, ind=None, nc=None, ncn=0, d=None)
    hake = float((post.mean() - pre.mean()) / (100 - pre.mean())) if pre.mean() < 100 else None
    ok = pre < 100
    ind = float(np.mean((post[ok] - pre[ok]) / (100 - pre[ok]))) if ok.any() else None
    cs = []
    for p, q in zip(pre, post):
        if q > p:
            cs.append((q - p) / (100 - p))
        elif q < p:
            cs.append((q - p) / p)
        elif p not in (0.0, 100.0):
            cs.append(0.0)
    nc = float(np.mean(cs)) if cs else None
    d = None
    if len(pre) >= 2:
        v = (np.var(pre, ddof=1) + np.var(post, ddof=1)) / 2
        if v > 0:
            try:
                import pingouin as pg
                d = float(pg.compute_effsize(post, pre, paired=True, eftype="cohen"))
            except ImportError:
                d = float((post.mean() - pre.mean()) / math.sqrt(v))
    return dict(hake=hake, ind=ind, nc=nc, ncn=len(cs), d=d)


def check_teaching(C, D, tid, O, as_of):
    K = "teachingEffectiveness"
    courses = trainer_courses(D, tid)
    pre, post = [], []
    ceiling = ooo = matured = completed = 0
    for c in courses:
        enrs = [e for e in D.enr_by_course.get(c["id"], []) if e["_enrolled"] <= as_of]
        for e in enrs:
            if is_matured(e, c, as_of):
                matured += 1
                completed += completed_by(e, as_of)
        for u in sorted({e["userId"] for e in enrs}):
            r = pre_post(D, trainer_firsts(D, u, as_of), c["id"])
            if r[0] == "pair":
                pre.append(r[1])
                post.append(r[2])
            elif r[0] == "ceiling":
                ceiling += 1
            elif r[0] == "out_of_order":
                ooo += 1
    g = gains_ref(pre, post)
    C.t0(K, tid, "pairs", O["pairs"], len(pre))
    C.t1(K, tid, "hakeGain", O["hakeGain"], g["hake"])
    C.t1(K, tid, "meanIndividualGain", O["meanIndividualGain"], g["ind"])
    C.t1(K, tid, "normalizedChange", O["normalizedChange"], g["nc"])
    C.t1(K, tid, "cohenD", O["cohenD"], g["d"])
    ratings = [f["trainerRating"] for f in D.feedback
               if f["trainerId"] == tid and f["_t"] <= as_of and valid_rating(f["trainerRating"])]
    m = global_mean_rating(D, as_of, "trainerRating")
    b = bayes(ratings, m)
    C.t1(K, tid, "rating.bayesian", O["rating"]["bayesian"], b)
    C.t1(K, tid, "rating.raw", O["rating"]["raw"], mean(ratings))
    C.t0(K, tid, "rating.n", O["rating"]["n"], len(ratings))
    cr = check_wilson_metric(C, K, tid, "completionRate", O["completionRate"], completed, matured)
    idx = None
    if g["hake"] is not None and cr is not None and ratings and b is not None:
        rn = min(1.0, max(0.0, (b - 1) / 4))
        idx = 100 * float(np.average([min(1.0, max(0.0, g["hake"])), cr, rn],
                                     weights=[0.5, 0.25, 0.25]))
    C.t1(K, tid, "effectivenessIndex.value", O["effectivenessIndex"]["value"], idx)
    C.t0(K, tid, "effectivenessIndex.label", O["effectivenessIndex"]["label"], "heuristic")
    C.t0(K, tid, "lowSample", O["lowSample"], len(pre) < LOW_SAMPLE_PAIRS)
    n = O["n"]
    C.t0(K, tid, "n", [n["courses"], n["pairs"], n["ceiling"], n["outOfOrder"],
                       n["normalizedChangePairs"], n["ratings"]],
         [len(courses), len(pre), ceiling, ooo, g["ncn"], len(ratings)])


# ---------------------------------------------------------------------------------------------
# 11–14. organisation analytics
# ---------------------------------------------------------------------------------------------

def members(D, oid, as_of):
    return sorted((u for u in D.users_list if u["orgId"] == oid and u["status"] == "active"
                   and u["_created"] <= as_of and D.users[u["id"]] is u), key=lambda u: u["id"])


def departments(users):
    out = defaultdict(list)
    for u in users:
        if u.get("department") is not None:
            out[u["department"]].append(u)
    return OrderedDict(sorted(out.items()))


def window_events(D, uid, as_of, weeks):
    evs = D.events_until(uid, as_of)
    secs = time_on_task(evs)
    return [(e, week_index(e["_t"], as_of, weeks), s / 3600.0) for e, s in zip(evs, secs)
            if week_index(e["_t"], as_of, weeks) is not None]


def org_series(D, users, as_of, weeks):
    units = np.zeros(weeks)
    active = np.zeros(weeks, dtype=int)
    comps = 0
    for u in users:
        start, us, _, counted, _ = unit_series(D, u["id"], as_of, weeks)
        comps += counted
        units[start:] += np.asarray(us)
        seen = {week_index(e["_t"], as_of, weeks) for e in D.events_until(u["id"], as_of)}
        for b in seen:
            if b is not None:
                active[b] += 1
    return units, active, comps


def check_org_velocity(C, D, oid, O, as_of):
    K = "orgLearningVelocity"
    users = members(D, oid, as_of)
    units, active, comps = org_series(D, users, as_of, VEL_W)
    hc = len(users)
    per = [u / hc if hc else None for u in units]

    def wrow(p, o, b):
        C.t0(K, oid, p + ".weekStart", ts(o["weekStart"]), week_start(as_of, VEL_W, b))
        C.t1(K, oid, p + ".units", o["units"], float(units[b]))
        C.t0(K, oid, p + ".activeLearners", o["activeLearners"], int(active[b]))
        C.t0(K, oid, p + ".headcount", o["headcount"], hc)
        C.t1(K, oid, p + ".perEmployee", o["perEmployee"], per[b])
        C.t1(K, oid, p + ".perActiveLearner", o["perActiveLearner"],
             float(units[b]) / active[b] if active[b] else None)
    C.seq(K, oid, "weekly", O["weekly"], list(range(VEL_W)), wrow)
    if hc:
        C.t1(K, oid, "currentPerEmployee", O["currentPerEmployee"], mean(per[-VEL_CURRENT:]))
        fit = linregress_ref(per)
        for f in ("slope", "intercept", "r2", "stderr", "pValue"):
            C.t1(K, oid, "trend." + f, (O["trend"] or {}).get(f), fit[f])
        C.t0(K, oid, "trend.direction", (O["trend"] or {}).get("direction"), direction(fit))
    deps = departments(users)

    def drow(p, o, item):
        name, mem = item
        C.t0(K, oid, p + ".department", o["department"], name)
        sup = len(mem) < K_ANON
        C.t0(K, oid, p + ".suppressed", o["suppressed"], sup)
        if sup:
            C.t0(K, oid, p + ".values", [o["headcount"], o["units"], o["averagePerEmployee"],
                                         o["currentPerEmployee"]], [None] * 4)
            return
        u, _, _ = org_series(D, mem, as_of, VEL_W)
        C.t0(K, oid, p + ".headcount", o["headcount"], len(mem))
        C.t1(K, oid, p + ".units", o["units"], float(u.sum()))
        C.t1(K, oid, p + ".averagePerEmployee", o["averagePerEmployee"],
             float(np.mean(u / len(mem))))
        C.t1(K, oid, p + ".currentPerEmployee", o["currentPerEmployee"],
             float(np.mean(u[-VEL_CURRENT:] / len(mem))))
    C.seq(K, oid, "departments", O["departments"], list(deps.items()), drow)
    n = O["n"]
    C.t0(K, oid, "n", [n["users"], n["weeks"], n["completions"], n["departments"],
                       n["suppressedDepartments"], n["noDepartment"]],
         [hc, VEL_W, comps, len(deps), sum(1 for m in deps.values() if len(m) < K_ANON),
          sum(1 for u in users if u.get("department") is None)])


def check_alignment(C, D, oid, O, as_of):
    K = "strategicAlignment"
    users = members(D, oid, as_of)
    org = D.orgs.get(oid)
    goals = [g for g in org.get("strategicGoals", [])
             if math.isfinite(g["weight"]) and g["weight"] > 0 and math.isfinite(g["targetLevel"])]
    rows = []
    for u in users:
        for e, b, h in window_events(D, u["id"], as_of, ALIGN_W):
            it = D.items.get(e["objectId"])
            sk = sorted(set(it.get("skillIds", []))) if it else []
            rows.append({"hours": h, "skills": sk})
    ev = pd.DataFrame(rows, columns=["hours", "skills"])
    total = float(ev["hours"].sum()) if len(ev) else 0.0
    split = ev[ev["skills"].map(len) > 0].copy()
    split["share"] = split["hours"] / split["skills"].map(len)
    per_skill = split.explode("skills").groupby("skills")["share"].sum() if len(split) else {}
    levels = {u["id"]: current_levels(D, u["id"], as_of) for u in users}
    out = []
    for g in goals:
        pop = [u for u in users if scope_includes(g["scope"], u.get("jobRoleId"))]
        prof = sum(1 for u in pop
                   if levels[u["id"]].get(g["skillId"], -math.inf) >= g["targetLevel"])
        hours = float(per_skill.get(g["skillId"], 0.0)) if len(split) else 0.0
        out.append(dict(g=g, pop=len(pop), prof=prof, hours=hours,
                        share=min(1.0, max(0.0, hours / total)) if total > 0 else None))

    def grow(p, o, r):
        C.t0(K, oid, p + ".skillId", o["skillId"], r["g"]["skillId"])
        C.t1(K, oid, p + ".weight", o["weight"], r["g"]["weight"])
        C.t1(K, oid, p + ".targetLevel", o["targetLevel"], r["g"]["targetLevel"])
        C.t0(K, oid, p + ".population", o["population"], r["pop"])
        C.t0(K, oid, p + ".proficient", o["proficient"], r["prof"])
        r["cov"] = check_wilson_metric(C, K, oid, p + ".coverage", o["coverage"], r["prof"],
                                       r["pop"])
        C.t1(K, oid, p + ".learningHours", o["learningHours"], r["hours"])
        C.t1(K, oid, p + ".effortShare", o["effortShare"], r["share"])
    C.seq(K, oid, "goals", O["goals"], out, grow)
    cov = [(r["cov"], r["g"]["weight"]) for r in out if r.get("cov") is not None]
    ai = 100 * float(np.average([c for c, _ in cov], weights=[w for _, w in cov])) if cov else None
    C.t1(K, oid, "alignmentIndex", O["alignmentIndex"], ai)
    seen, ea = set(), 0.0
    for r in out:
        if r["g"]["skillId"] not in seen:
            seen.add(r["g"]["skillId"])
            ea += r["share"] or 0.0
    C.t1(K, oid, "effortAlignment", O["effortAlignment"], ea if total > 0 else None)
    C.t0(K, oid, "n", [O["n"]["users"], O["n"]["goals"], O["n"]["events"]],
         [len(users), len(goals), len(ev)])


def culture_ref(D, users, as_of):
    W = CULTURE_W
    part = act = comps = withfb = 0
    hours = vol = 0.0
    for u in users:
        enrs = [e for e in D.enr_by_user.get(u["id"], []) if e["_enrolled"] <= as_of]
        since = {}
        for e in enrs:
            if e["assignedBy"] == "self":
                since[e["courseId"]] = min(since.get(e["courseId"], e["_enrolled"]), e["_enrolled"])
        tev = window_events(D, u["id"], as_of, W)
        part += bool(tev)
        act += len({b for _, b, _ in tev}) >= CULTURE_ACTIVE_WEEKS
        for e, _, h in tev:
            hours += h
            c = event_course(D, e)
            if c in since and since[c] <= e["_t"]:
                vol += h
        for e in enrs:
            if completed_by(e, as_of) and week_index(e["_completed"], as_of, W) is not None:
                comps += 1
                withfb += any(f["userId"] == u["id"] and f["_t"] <= as_of
                              for f in D.fb_by_course.get(e["courseId"], []))
    n = len(users)
    p = part / n if n else None
    a = act / n if n else None
    v = vol / n / W if n else None
    share = min(1.0, max(0.0, vol / hours)) if hours > 0 else None
    fb = withfb / comps if comps else None
    idx = None
    if p is not None:
        terms = [p, a, min(1.0, v / CULTURE_REF_H)] + ([share] if share is not None else [])
        idx = 100 * float(np.mean(terms))
    return dict(participationRate=p, activeLearnerRatio=a, voluntaryHoursPerCapita=v,
                voluntaryShare=share, feedbackRate=fb, cultureIndex=idx), (part, act, comps)


def check_culture(C, D, oid, O, as_of):
    K = "learningCulture"
    users = members(D, oid, as_of)
    ind, (part, act, comps) = culture_ref(D, users, as_of)
    for f, v in ind.items():
        C.t1(K, oid, f, O[f], v)
    deps = departments(users)

    def drow(p, o, item):
        name, mem = item
        C.t0(K, oid, p + ".department", o["department"], name)
        sup = len(mem) < K_ANON
        C.t0(K, oid, p + ".suppressed", o["suppressed"], sup)
        C.t0(K, oid, p + ".users", o["users"], None if sup else len(mem))
        ref = {f: None for f in ind} if sup else culture_ref(D, mem, as_of)[0]
        for f, v in ref.items():
            C.t1(K, oid, p + "." + f, o[f], v)
    C.seq(K, oid, "departments", O["departments"], list(deps.items()), drow)
    n = O["n"]
    C.t0(K, oid, "n", [n["users"], n["participants"], n["activeLearners"], n["completions"]],
         [len(users), part, act, comps])


def org_perf_ref(D, users, as_of):
    P = PERIOD_DAYS * DAY * NS
    periods = [(as_of - P, as_of), (as_of - 2 * P, as_of - P)]
    inside = lambda per, t: per[0] < t <= per[1]  # noqa: E731
    T = [dict(cohort=0, comp=0, drop=0, att=0, passed=0, scores=[],
              pairs=defaultdict(lambda: ([], [])),
              due=0, ok=0) for _ in periods]
    for u in users:
        enrs = [e for e in D.enr_by_user.get(u["id"], []) if e["_enrolled"] <= as_of]
        for e in enrs:
            c = D.courses.get(e["courseId"])
            if c is None:
                continue
            mt = maturity_instant(e, c)
            mand = e["assignedBy"] == "mandatory" or c["isMandatory"]
            for per, t in zip(periods, T):
                if mt is not None and inside(per, mt):
                    t["cohort"] += 1
                    if completed_by(e, per[1]):
                        t["comp"] += 1
                    elif dropped_by(e, per[1]):
                        t["drop"] += 1
                if mand and e["_due"] is not None and inside(per, e["_due"]):
                    t["due"] += 1
                    t["ok"] += completed_by(e, e["_due"])
        firsts = trainer_firsts(D, u["id"], as_of)
        for aid, a in firsts.items():
            asm = D.assessments.get(aid)
            if asm is None or asm["kind"] == "pre":
                continue
            s = scaled(a, asm)
            if s is None:
                continue
            for per, t in zip(periods, T):
                if inside(per, a["_t"]):
                    t["att"] += 1
                    t["passed"] += bool(a["passed"])
                    t["scores"].append(s)
        for cid in sorted({e["courseId"] for e in enrs}):
            r = pre_post(D, firsts, cid)
            if r[0] == "pair":
                for per, t in zip(periods, T):
                    if inside(per, r[3]):
                        t["pairs"][cid][0].append(r[1])
                        t["pairs"][cid][1].append(r[2])

    def hake(t):
        gs, ws, n = [], [], 0
        for pre, post in t["pairs"].values():
            n += len(pre)
            g = gains_ref(pre, post)["hake"]
            if g is not None:
                gs.append(g)
                ws.append(len(pre))
        return (float(np.average(gs, weights=ws)) if gs else None), n
    return T, hake


def check_org_perf_metrics(C, K, subj, prefix, O, D, users, as_of):
    T, hake = org_perf_ref(D, users, as_of)
    now, before = T

    def rate(name, k, n):
        o = O[name]
        w = wilson(*k(now), *()) if False else wilson(k(now)[0], k(now)[1])
        prev = wilson(k(before)[0], k(before)[1])
        C.t1(K, subj, prefix + name + ".value", o["value"], w[0] if w else None)
        ci = o["ci"] or [None, None]
        C.t1(K, subj, prefix + name + ".ci[0]", ci[0], w[1] if w else None)
        C.t1(K, subj, prefix + name + ".ci[1]", ci[1], w[2] if w else None)
        C.t0(K, subj, prefix + name + ".n", o["n"], k(now)[1])
        C.t1(K, subj, prefix + name + ".previous", o["previous"], prev[0] if prev else None)
        C.t1(K, subj, prefix + name + ".delta", o["delta"],
             w[0] - prev[0] if (w and prev) else None)
    rate("completionRate", lambda t: (t["comp"], t["cohort"]), None)
    rate("dropoutRate", lambda t: (t["drop"], t["cohort"]), None)
    rate("passRate", lambda t: (t["passed"], t["att"]), None)
    rate("mandatoryCompliance", lambda t: (t["ok"], t["due"]), None)
    ms_now, ms_prev = mean(now["scores"]), mean(before["scores"])
    o = O["meanScore"]
    C.t1(K, subj, prefix + "meanScore.value", o["value"], ms_now)
    C.t0(K, subj, prefix + "meanScore.n", o["n"], len(now["scores"]))
    C.t1(K, subj, prefix + "meanScore.previous", o["previous"], ms_prev)
    C.t1(K, subj, prefix + "meanScore.delta", o["delta"],
         ms_now - ms_prev if (ms_now is not None and ms_prev is not None) else None)
    (h_now, n_now), (h_prev, _) = hake(now), hake(before)
    o = O["hakeGain"]
    C.t1(K, subj, prefix + "hakeGain.value", o["value"], h_now)
    C.t0(K, subj, prefix + "hakeGain.n", o["n"], n_now)
    C.t1(K, subj, prefix + "hakeGain.previous", o["previous"], h_prev)
    C.t1(K, subj, prefix + "hakeGain.delta", o["delta"],
         h_now - h_prev if (h_now is not None and h_prev is not None) else None)


def check_org_performance(C, D, oid, O, as_of):
    K = "orgPerformance"
    users = members(D, oid, as_of)
    C.t0(K, oid, "periodDays", O["periodDays"], PERIOD_DAYS)
    check_org_perf_metrics(C, K, oid, "", O, D, users, as_of)
    deps = departments(users)

    def drow(p, o, item):
        name, mem = item
        C.t0(K, oid, p + ".department", o["department"], name)
        sup = len(mem) < K_ANON
        C.t0(K, oid, p + ".suppressed", o["suppressed"], sup)
        C.t0(K, oid, p + ".users", o["users"], None if sup else len(mem))
        if sup:
            C.t0(K, oid, p + ".metrics", [o[f] for f in ("completionRate", "dropoutRate",
                                                          "passRate", "meanScore", "hakeGain",
                                                          "mandatoryCompliance")], [None] * 6)
        else:
            check_org_perf_metrics(C, K, oid, p + ".", o, D, mem, as_of)
    C.seq(K, oid, "departments", O["departments"], list(deps.items()), drow)
    n = O["n"]
    enrs = [e for u in users for e in D.enr_by_user.get(u["id"], []) if e["_enrolled"] <= as_of]
    C.t0(K, oid, "n", [n["users"], n["enrollments"], n["unknownCourse"]],
         [len(users), len(enrs), sum(1 for e in enrs if e["courseId"] not in D.courses)])


# ---------------------------------------------------------------------------------------------
# 15. peerComparison
# ---------------------------------------------------------------------------------------------

PEER_METRICS = ["engagementScore", "currentVelocity", "meanFirstAttemptScore", "masteryRatio"]
COHORT_CHAIN = ["job_role", "department", "organization"]


def snapshot_day(t):
    return t - t % (DAY * NS)


def first_attempt_mean(D, uid, as_of):
    """performanceAnalytics' meanFirstAttemptScore: per assessment the valid attempt with the
    lowest attemptNo (then submittedAt, id), score/maxScore clamped."""
    first = {}
    for a in D.att_by_user.get(uid, []):
        asm = D.assessments.get(a["assessmentId"])
        if a["_t"] > as_of or asm is None or scaled(a, asm) is None:
            continue
        k = (a["attemptNo"], a["_t"], a["id"])
        if a["assessmentId"] not in first or k < first[a["assessmentId"]][0]:
            first[a["assessmentId"]] = (k, scaled(a, asm))
    return mean([s for _, s in first.values()])


def mastery_ratio(D, uid, as_of):
    by_skill, *_ = evidence(D, uid, as_of)
    user = D.users.get(uid)
    targets = set(user_targets(D, user, as_of)["skillId"]) if user else set()
    tracked = sorted(set(by_skill) | targets)
    if not tracked:
        return None
    mastered = sum(1 for s in tracked
                   if bkt_numpy([c for c, _ in by_skill.get(s, [])])["final"] >= MASTERY)
    return mastered / len(tracked)


def peer_values(D, uid, day):
    _, units, _, _, _ = unit_series(D, uid, day, VEL_W)
    return [engagement_ref(D, uid, day)["score"], mean(units[-VEL_CURRENT:]),
            first_attempt_mean(D, uid, day), mastery_ratio(D, uid, day)]


class PeerRef:
    """Values of every member of an organisation at a daily snapshot, computed once."""

    def __init__(self, D):
        self.D = D
        self.cache = {}

    def values(self, uid, day):
        if (uid, day) not in self.cache:
            self.cache[(uid, day)] = peer_values(self.D, uid, day)
        return self.cache[(uid, day)]


def in_cohort(kind, subject, user):
    if kind == "job_role":
        return (subject.get("jobRoleId") is not None
                and user.get("jobRoleId") == subject["jobRoleId"])
    if kind == "department":
        return (subject.get("department") is not None
                and user.get("department") == subject["department"])
    return user["orgId"] == subject["orgId"]


def check_peer(C, D, uid, O, as_of, ref):
    K = "peerComparison"
    from pycanon import anonymity
    day = snapshot_day(as_of)
    C.t0(K, uid, "asOf (daily snapshot)", ts(O["asOf"]), day)
    subject = D.users.get(uid)
    if subject is None or subject["_created"] > day:
        C.t0(K, uid, "status", O["status"], "insufficient_data")
        C.t0(K, uid, "metrics", O["metrics"], [])
        return
    pool = members(D, subject["orgId"], day)
    if not any(u is subject for u in pool):
        pool = pool + [subject]
    mine = ref.values(uid, day)
    rows, finest = [], None
    for j, name in enumerate(PEER_METRICS):
        x = mine[j]
        if x is None:
            rows.append({"name": name, "value": None, "reason": "no_value"})
            continue
        chosen = None
        for kind in COHORT_CHAIN:
            group = [u for u in pool if in_cohort(kind, subject, u)
                     and ref.values(u["id"], day)[j] is not None]
            if len(group) >= K_ANON and len(group) - 1 >= K_ANON:
                chosen = (kind, group)
                break
        if chosen is None:
            rows.append({"name": name, "suppressed": True, "reason": "cohort_below_k"})
            continue
        kind, group = chosen
        vals = np.array([ref.values(u["id"], day)[j] for u in group])
        pr = float(st.percentileofscore(vals, x, kind="mean"))
        q25, q50, q75 = np.quantile(vals, [0.25, 0.5, 0.75], method="linear")
        # Rounded half up; PR is a multiple of 50/N, so the half is detected within 1e-9.
        pr_int = int(min(100, max(0, math.floor(pr + 0.5 + 1e-9))))
        rows.append({"name": name, "value": x, "percentile": pr_int,
                     "median": float(q50), "p25": float(q25), "p75": float(q75),
                     "cohort": {"type": kind, "sizeBand": f"≥{K_ANON}"}, "_group": group})
        finest = kind if finest is None else COHORT_CHAIN[min(COHORT_CHAIN.index(finest),
                                                              COHORT_CHAIN.index(kind))]

    def mrow(p, o, r):
        C.t0(K, uid, p + ".name", o.get("name"), r["name"])
        C.t0(K, uid, p + ".keys", sorted(o), sorted(k for k in r if not k.startswith("_")))
        if "percentile" not in r:
            for f in ("value", "suppressed", "reason"):
                if f in r:
                    C.t0(K, uid, p + "." + f, o.get(f), r[f])
            return
        for f in ("value", "median", "p25", "p75"):
            C.t1(K, uid, p + "." + f, o.get(f), r[f])
        C.t0(K, uid, p + ".percentile", o.get("percentile"), r["percentile"])
        C.t0(K, uid, p + ".cohort", o.get("cohort"), r["cohort"])
        # k-anonymity of what was released (analytics.md §15 property test): the cohort's
        # members with the attributes that define it, the other one generalised ('*').
        kind = r["cohort"]["type"]
        df = pd.DataFrame([{"orgId": u["orgId"],
                            "jobRoleId": u.get("jobRoleId") if kind == "job_role" else "*",
                            "department": u.get("department") if kind == "department" else "*"}
                           for u in r["_group"]])
        k = int(anonymity.k_anonymity(df, ["orgId", "jobRoleId", "department"]))
        C.row(K)["tols"].add("pycanon")
        C.row(K)["values"] += 1
        if k < K_ANON + 1:
            C._fail(K, uid, p + " pycanon k_anonymity", k, K_ANON + 1, "released cohort below k+1")
    C.seq(K, uid, "metrics", O["metrics"], rows, mrow)
    C.t0(K, uid, "cohort", O["cohort"],
         {"type": finest, "sizeBand": f"≥{K_ANON}"} if finest else None)
    released = sum(1 for r in rows if "percentile" in r)
    suppressed = sum(1 for r in rows if r.get("suppressed"))
    status = "ok" if released else ("suppressed" if suppressed else "insufficient_data")
    C.t0(K, uid, "status", O["status"], status)
    n = O["n"]
    C.t0(K, uid, "n", [n.get("metrics"), n.get("released"), n.get("suppressed"),
                       n.get("unavailable")],
         [len(rows), released, suppressed, len(rows) - released - suppressed])


# ---------------------------------------------------------------------------------------------
# 16. skillDemand
# ---------------------------------------------------------------------------------------------

def org_goal_weights(org):
    valid = [g for g in org.get("strategicGoals", [])
             if math.isfinite(g["weight"]) and g["weight"] > 0]
    total = sum(g["weight"] for g in valid)
    out = defaultdict(float)
    if total > 0:
        for g in valid:
            out[g["skillId"]] += g["weight"] / total
    return {k: min(1.0, max(0.0, v)) for k, v in out.items()}


def check_skill_demand(C, D, subject, O, as_of):
    K = "skillDemand"
    glob = subject == "global"
    pop = [u for u in D.users_list if D.users[u["id"]] is u and u["status"] == "active"
           and u["_created"] <= as_of and (glob or u["orgId"] == subject)]
    frames, contributing = [], set()
    for u in pop:
        df = user_targets(D, u, as_of)
        if len(df):
            contributing.add(u["orgId"])
            frames.append(df.assign(userId=u["id"]))
    C.t0(K, subject, "scope", O["scope"], {"kind": "global"} if glob else
         {"kind": "org", "orgId": subject})
    if glob and len(contributing) < GLOBAL_MIN_ORGS:
        C.t0(K, subject, "status", O["status"], "suppressed")
        return
    if len(pop) < K_ANON:
        C.t0(K, subject, "status", O["status"], "suppressed")
        return
    rows = pd.concat(frames)
    g = rows.groupby("skillId").agg(requiredBy=("userId", "size"),
                                    withGap=("gap", lambda s: int((s > 0).sum())),
                                    unassessed=("status", lambda s: int((s == "unassessed").sum())),
                                    ngSum=("normalizedGap", "sum"))
    N = len(pop)
    if glob:
        heads = pd.Series([u["orgId"] for u in pop]).value_counts()
        sw = defaultdict(float)
        for oid, n_o in heads.items():
            if oid in D.orgs:
                for s, w in org_goal_weights(D.orgs[oid]).items():
                    sw[s] += n_o / N * w
        sw = {k: min(1.0, max(0.0, v)) for k, v in sw.items()}
    else:
        sw = org_goal_weights(D.orgs[subject])
    supply = defaultdict(int)
    for u in pop:
        sk = set()
        for e in D.enr_by_user.get(u["id"], []):
            if is_active_at(e, as_of) and e["courseId"] in D.courses:
                sk |= {s["skillId"] for s in D.courses[e["courseId"]].get("skills", [])}
        for s in sk:
            supply[s] += 1
    avail = defaultdict(int)
    seen = set()
    for c in D.courses_list:
        if c["id"] in seen:
            continue
        seen.add(c["id"])
        if not glob and c.get("orgId") is not None and c["orgId"] != subject:
            continue
        for s in {x["skillId"] for x in c.get("skills", [])}:
            avail[s] += 1
    released, suppressed = [], []
    for s, r in g.iterrows():
        if r["requiredBy"] < K_ANON:
            suppressed.append({"skillId": s, "suppressed": True, "reason": "below_k"})
            continue
        mass = r["ngSum"] / N
        w = sw.get(s, 0.0)
        released.append({"skillId": s, "requiredBy": int(r["requiredBy"]),
                         "withGap": int(r["withGap"]), "unassessed": int(r["unassessed"]),
                         "gapFrequency": r["withGap"] / r["requiredBy"],
                         "meanNormalizedGap": r["ngSum"] / r["requiredBy"], "gapMass": mass,
                         "strategicWeight": w, "demandIndex": mass * (1 + w),
                         "coursesAvailable": avail.get(s, 0),
                         "supplyRatio": supply.get(s, 0) / r["withGap"] if r["withGap"] else None})
    released.sort(key=lambda x: (-x["demandIndex"], x["skillId"]))
    ref = released + sorted(suppressed, key=lambda x: x["skillId"])

    def srow(p, o, r):
        C.t0(K, subject, p + ".skillId", o.get("skillId"), r["skillId"])
        if r.get("suppressed"):
            C.t0(K, subject, p, o, r)
            return
        for f in ("requiredBy", "withGap", "unassessed", "coursesAvailable"):
            C.t0(K, subject, p + "." + f, o.get(f), r[f])
        for f in ("gapFrequency", "meanNormalizedGap", "gapMass", "strategicWeight",
                  "demandIndex", "supplyRatio"):
            C.t1(K, subject, p + "." + f, o.get(f), r[f])
    n_rel = len(released)
    pairs = check_order(C, K, subject, "skills", O["skills"][:n_rel], released,
                        lambda r: r["demandIndex"], lambda r: r["skillId"])
    for o, r in pairs:
        if o is not None:
            srow(f"skills[{r['skillId']}]", o, r)
    C.seq(K, subject, "skills(suppressed)", O["skills"][n_rel:], ref[n_rel:], srow)
    n = O["n"]
    C.t0(K, subject, "n", [n.get("users"), n.get("organizations"), n.get("skills"),
                           n.get("suppressedSkills")],
         [N, len(contributing), len(released), len(suppressed)])
    C.t0(K, subject, "status", O["status"], "ok")


# ---------------------------------------------------------------------------------------------
# 17. dropOffRisk
# ---------------------------------------------------------------------------------------------

KNOWN_FEATURES = {
    # This branch (analytics.md §17's list).
    "daysSinceLastActivity", "activeDays14", "log1pHours14", "paceGap", "meanScoreSoFar",
    "noAssessmentYet",
    # The OULAD-computable set of the branch reworking the features (helper/d):
    # meanScoreSoFar is then missing before the first summative score, and submittedShare is
    # new. The model's feature list says which set the output uses.
    "submittedShare",
}


def features_at(D, e, t, names):
    """The features `names` of enrollment e at instant t, from data stamped ≤ t only, as
    (values, missing) lists in that order."""
    v2 = "submittedShare" in names
    start = e["_enrolled"]
    course = D.courses.get(e["courseId"])
    items = [i["id"] for i in D.course_items(course)] if course else []
    iset = set(items)
    stream = D.events_until(e["userId"], t)
    secs = time_on_task(stream)
    of_course = [(x, s) for x, s in zip(stream, secs)
                 if x.get("courseId") == e["courseId"] or x["objectId"] in iset]
    done = {}
    for x, _ in of_course:
        if signals_completion(x) and x["objectId"] in iset:
            done.setdefault(x["objectId"], x["_t"])
    evs = [(x, s) for x, s in of_course if x["_t"] >= start]
    since = max(evs[-1][0]["_t"], start) if evs else start
    f = {"daysSinceLastActivity": (min(DAYS_SINCE_CAP, max(0.0, secs_between(since, t) / DAY)),
                                   False)}
    days, tot = set(), 0.0
    for x, s in evs:
        b = bins_back(x["_t"], t, DAY)
        if b is not None and b < RECENT_DAYS:
            days.add(b)
            tot += s
    f["activeDays14"] = (len(days) / RECENT_DAYS, False)
    f["log1pHours14"] = (math.log1p(tot / 3600.0), False)
    if e["_due"] is not None and e["_due"] > start:
        span = secs_between(start, e["_due"])
    else:
        span = None
        if course is not None:
            w = nonneg(course.get("expectedDurationHours")) / ENG_TARGET_H
            if math.isfinite(w) and w > 0:
                span = w * 7 * DAY
    if span is not None and items:
        elapsed = max(0.0, secs_between(start, t))
        prog = min(1.0, sum(1 for c in done.values() if c <= t) / len(items))
        f["paceGap"] = (min(1.0, max(0.0, elapsed / span)) - prog, False)
    else:
        f["paceGap"] = (0.0, True)
    first, first_submitted = {}, {}
    for a in sorted((a for a in D.att_by_user.get(e["userId"], []) if start <= a["_t"] <= t),
                    key=lambda a: (a["_t"], a["attemptNo"])):
        asm = D.assessments.get(a["assessmentId"])
        if asm is None or asm["courseId"] != e["courseId"]:
            continue
        first_submitted.setdefault(a["assessmentId"], a["_t"])
        s = scaled(a, asm)
        formative = asm.get("weight") is not None and asm["weight"] <= 0
        if s is None or (v2 and formative):
            continue
        if a["assessmentId"] not in first or a["attemptNo"] < first[a["assessmentId"]][0]:
            first[a["assessmentId"]] = (a["attemptNo"], s)
    mean_score = min(1.0, max(0.0, float(np.mean([s for _, s in first.values()])))) \
        if first else None
    if v2:
        f["meanScoreSoFar"] = (mean_score or 0.0, mean_score is None)
    else:
        f["meanScoreSoFar"] = (mean_score or 0.0, False)
    f["noAssessmentYet"] = (0.0 if first else 1.0, False)
    seen, due = set(), []
    for asm in D.raw.get("assessments", []):
        if asm["courseId"] != e["courseId"] or asm["id"] in seen:
            continue
        seen.add(asm["id"])
        d = ts(asm.get("dueAt"))
        if d is not None and start < d <= t:
            due.append(asm["id"])
    if due:
        sub = sum(1 for aid in due if aid in first_submitted)
        f["submittedShare"] = (sub / len(due), False)
    else:
        f["submittedShare"] = (0.0, True)
    return [f[n][0] for n in names], [f[n][1] for n in names]


def outcome(D, e, as_of):
    s = e["status"]
    if s == "completed":
        if e["_completed"] is None:
            return None
        if e["_completed"] <= as_of:
            return (False, e["_completed"])
    elif s == "dropped":
        if e["_dropped"] is None:
            return None
        if e["_dropped"] <= as_of:
            return (True, e["_dropped"])
    elif s == "failed":
        due = e["_due"]
        return (True, due if (due is not None and e["_enrolled"] < due <= as_of) else as_of)
    if e["_due"] is None:
        return None
    course = D.courses.get(e["courseId"])
    iset = {i["id"] for i in D.course_items(course)} if course else set()
    last = None
    for x in D.events_until(e["userId"], as_of):
        if x["_t"] >= e["_enrolled"] and (x.get("courseId") == e["courseId"]
                                          or x["objectId"] in iset):
            last = x["_t"]
    quiet = e["_due"] if last is None else max(last, e["_due"])
    if quiet + OVERDUE_DAYS * DAY * NS <= as_of:
        return (True, quiet)
    return None


def check_drop_off(C, D, ours, as_of, learners):
    K = "dropOffRisk"
    models = ours.get("models", {})
    model = models.get("dropOff")
    training = models.get("dropOffTraining") or {}
    days = list(range(TOO_EARLY, SNAP_MAX + 1, SNAP_STEP))
    names = (model or {}).get("features") or (
        training.get("examples") or [{}])[0].get("features", {}).get("names") or FEATURES
    unknown = [n for n in names if n not in KNOWN_FEATURES]
    if unknown:
        C._fail(K, "model", "features", names, sorted(KNOWN_FEATURES),
                "feature(s) without a reference here: " + ", ".join(unknown))
        return
    nf = len(names)
    C.t0(K, "model", "snapshotDays", training.get("days"), days)
    # Training set, recomputed from the raw dataset: learner by learner (learners in the order
    # of their first enrollment stamped <= asOf), each learner's enrollments in dataset order.
    by_learner = {}
    for e in D.enrollments:
        if e["_enrolled"] <= as_of:
            by_learner.setdefault(e["userId"], []).append(e)
    X, M, y, keys = [], [], [], []
    for e in (e for es in by_learner.values() for e in es):
        if e["_enrolled"] > as_of:
            continue
        out = outcome(D, e, as_of)
        if out is None:
            continue
        for d in days:
            t = e["_enrolled"] + d * DAY * NS
            if t > as_of or t >= out[1]:
                continue
            v, m = features_at(D, e, t, names)
            X.append(v)
            M.append(m)
            y.append(out[0])
            keys.append((e["id"], d))
    ex = training.get("examples") or []
    C.t0(K, "model", "training.keys", [(x["enrollmentId"], x["day"]) for x in ex], keys)
    C.t0(K, "model", "training.labels", [x["label"] for x in ex], y)
    for x, v, m in zip(ex, X, M):
        for i in range(nf):
            C.t0(K, "model", f"training[{x['enrollmentId']}@{x['day']}].missing.{names[i]}",
                 x["features"]["missing"][i], m[i])
            if not m[i]:
                C.t1(K, "model", f"training[{x['enrollmentId']}@{x['day']}].{names[i]}",
                     x["features"]["values"][i], v[i])
    if model is None:
        C.t0(K, "model", "model", None, "a model" if len(set(y)) == 2 else None)
        return
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.preprocessing import StandardScaler
    Xa = np.array(X, dtype=float)
    Ma = np.array(M, dtype=bool)
    for j in range(nf):
        obs = Xa[~Ma[:, j], j]
        Xa[Ma[:, j], j] = obs.mean() if len(obs) else 0.0
    scaler = StandardScaler().fit(Xa)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    for j in range(nf):
        C.t1(K, "model", f"means.{names[j]}", model["means"][j], float(scaler.mean_[j]))
        C.t1(K, "model", f"scales.{names[j]}", model["scales"][j], float(scale[j]))
    Z = scaler.transform(Xa)
    yl = np.array(y, dtype=int)
    lr = LogisticRegression(C=L2_C, solver="lbfgs", tol=1e-10, max_iter=100_000).fit(Z, yl)
    C.t2(K, "model", "intercept (sklearn fit)", model["intercept"], float(lr.intercept_[0]), 1e-3)
    for j in range(nf):
        C.t2(K, "model", f"coefficients.{names[j]} (sklearn fit)", model["coefficients"][j],
             float(lr.coef_[0][j]), 1e-3)
    # Our coefficients inside sklearn: predict_proba on the same z (T1), and the sklearn fit's
    # probabilities against ours (T2).
    ours_lr = LogisticRegression()
    ours_lr.classes_ = np.array([0, 1])
    ours_lr.coef_ = np.array([model["coefficients"]])
    ours_lr.intercept_ = np.array([model["intercept"]])
    Zo = (Xa - np.array(model["means"])) / np.array(model["scales"])
    p_ours = ours_lr.predict_proba(Zo)[:, 1]
    p_sk = lr.predict_proba(Z)[:, 1]
    C.row(K)
    for i in range(len(p_ours)):
        C.t2(K, "model", f"training p[{i}] (sklearn fit vs ours)", float(p_ours[i]),
             float(p_sk[i]), 1e-4)
    C.t1(K, "model", "inSampleAuc", model["inSampleAuc"], float(roc_auc_score(yl, p_ours)))
    C.t1(K, "model", "inSampleBrier", model["inSampleBrier"], float(brier_score_loss(yl, p_ours)))
    C.t0(K, "model", "n", [model["n"], model["nPositive"], model["nEnrollments"], model["nUsers"]],
         [len(y), int(yl.sum()), len({k[0] for k in keys}),
          len({next(e["userId"] for e in D.enrollments if e["id"] == k[0]) for k in keys})])
    C.t1(K, "model", "baseRate", model["baseRate"], float(yl.mean()))
    # Scoring of every learner's active enrollments.
    res = ours["results"][K]
    mu, sd = np.array(model["means"]), np.array(model["scales"])
    beta, b0 = np.array(model["coefficients"]), model["intercept"]
    for uid in learners:
        O = res[uid]
        active, comp, ended = [], 0, 0
        for e in D.enr_by_user.get(uid, []):
            if e["_enrolled"] > as_of:
                continue
            if completed_by(e, as_of):
                comp += 1
            elif is_active_at(e, as_of):
                active.append(e)
            else:
                ended += 1
        active.sort(key=lambda e: (e["courseId"], e["id"]))

        def erow(p, o, e):
            C.t0(K, uid, p + ".enrollmentId", o["enrollmentId"], e["id"])
            day = bins_back(e["_enrolled"], as_of, DAY)
            C.t0(K, uid, p + ".dayOfLife", o["dayOfLife"], day)
            if day < TOO_EARLY:
                C.t0(K, uid, p + ".risk", o["risk"], None)
                C.t0(K, uid, p + ".reasons", o["reasons"], ["too_early"])
                return
            v, m = features_at(D, e, as_of, names)
            z = np.where(np.array(m), 0.0, (np.array(v) - mu) / sd)
            phi = beta * z
            prob = float(ours_lr.predict_proba(z.reshape(1, -1))[0, 1])
            logit = b0 + float(np.sum(phi))
            C.t1(K, uid, p + ".risk", o["risk"], prob)
            C.t1(K, uid, p + ".logit", o["logit"], logit)
            C.t1(K, uid, p + ".base", o["base"], b0)
            C.t0(K, uid, p + ".band", o["band"],
                 "high" if prob >= BAND_HIGH else "medium" if prob >= BAND_MED else "low")
            C.t0(K, uid, p + ".contributions.length", len(o["contributions"]), nf)
            for i, c in enumerate(o["contributions"][:nf]):
                C.t0(K, uid, f"{p}.contributions[{i}].feature", c["feature"], names[i])
                C.t0(K, uid, f"{p}.contributions[{i}].imputed", c["imputed"], m[i])
                C.t1(K, uid, f"{p}.contributions[{i}].value", c["value"], None if m[i] else v[i])
                C.t1(K, uid, f"{p}.contributions[{i}].contribution", c["contribution"],
                     float(phi[i]))
            pos = sorted([(float(phi[i]), i) for i in range(nf) if phi[i] > 0],
                         key=lambda x: (-x[0], x[1]))
            C.t0(K, uid, p + ".reasons", o["reasons"], [names[i] for _, i in pos[:TOP_REASONS]])
            C.t0(K, uid, p + ".imputed", o["imputed"], [names[i] for i in range(nf) if m[i]])
        C.seq(K, uid, "enrollments", O["enrollments"], active, erow)
        n = O["n"]
        C.t0(K, uid, "n", [n["enrollments"], n["completed"], n["ended"]],
             [len(active), comp, ended])


# ---------------------------------------------------------------------------------------------
# 18. performanceForecast
# ---------------------------------------------------------------------------------------------

def holt_sse(y, a, b):
    level, trend, sse = y[0], y[1] - y[0], 0.0
    for v in y:
        f = level + trend
        sse += (v - f) ** 2
        nl = a * v + (1 - a) * f
        trend = b * (nl - level) + (1 - b) * trend
        level = nl
    return sse


def check_forecast(C, D, uid, O, as_of):
    K = "performanceForecast"
    first, seen, invalid = {}, 0, 0
    for a in D.att_by_user.get(uid, []):
        if a["_t"] > as_of:
            continue
        seen += 1
        asm = D.assessments.get(a["assessmentId"])
        if asm is None or scaled(a, asm) is None:
            invalid += 1
            continue
        k = (a["attemptNo"], a["_t"], a["id"])
        if a["assessmentId"] not in first or k < first[a["assessmentId"]][0]:
            first[a["assessmentId"]] = (k, a, scaled(a, asm))
    series = sorted(((a["_t"], aid, s) for aid, (_, a, s) in first.items()))
    y = [s for _, _, s in series]
    n = len(y)
    C.t0(K, uid, "n", [O["n"]["observations"], O["n"]["attempts"], O["n"]["invalidAttempts"]],
         [n, seen, invalid])
    if n == 0:
        C.t0(K, uid, "method", O["method"], None)
        C.t0(K, uid, "forecasts", O["forecasts"], None)
        return
    ref = []
    if n == 1:
        C.t0(K, uid, "method", O["method"], "naive")
        ref = [(h, y[0], None, None) for h in (1, 2, 3)]
    elif n < HOLT_MIN_N:
        C.t0(K, uid, "method", O["method"], "linear")
        x = np.arange(n, dtype=float)
        fit = sm.OLS(np.asarray(y), sm.add_constant(x)).fit()
        slope = float(fit.params[1])
        C.t1(K, uid, "trendPerAttempt", O["trendPerAttempt"], slope)
        C.t1(K, uid, "sigma", O["sigma"], float(np.sqrt(fit.scale)) if n >= 3 else None)
        x0 = np.array([[1.0, n - 1 + h] for h in (1, 2, 3)])
        fr = fit.get_prediction(x0).summary_frame(alpha=0.05)
        for i, h in enumerate((1, 2, 3)):
            lo = float(fr["obs_ci_lower"].iloc[i]) if n >= OLS_PI_MIN_N else None
            hi = float(fr["obs_ci_upper"].iloc[i]) if n >= OLS_PI_MIN_N else None
            ref.append((h, float(fr["mean"].iloc[i]), lo, hi))
    else:
        C.t0(K, uid, "method", O["method"], "holt")
        a, b = O["params"]["alpha"], O["params"]["beta"]
        grid = [k / 20 for k in range(1, 20)]
        best = None
        for ga in grid:
            for gb in grid:
                s = holt_sse(y, ga, gb)
                if best is None or s < best[0]:
                    best = (s, ga, gb)
        C.t0(K, uid, "params (grid argmin, α-major)", [a, b], [best[1], best[2]])
        ys = pd.Series(y)
        hf = Holt(ys, initialization_method="known", initial_level=y[0],
                  initial_trend=y[1] - y[0]).fit(smoothing_level=a, smoothing_trend=b,
                                                  optimized=False)
        point = hf.forecast(3)
        ets = ETSModel(ys, error="add", trend="add", initialization_method="known",
                       initial_level=y[0], initial_trend=y[1] - y[0])
        with ets.fix_params({"smoothing_level": a, "smoothing_trend": a * b}):
            er = ets.fit(disp=False)
        fr = er.get_prediction(start=n, end=n + 2).summary_frame(alpha=0.05)
        sigma = math.sqrt(float(np.mean(np.asarray(hf.resid) ** 2)))
        C.t1(K, uid, "sigma", O["sigma"], sigma)
        C.t1(K, uid, "sigma (ETS mse)", O["sigma"], math.sqrt(float(er.mse)))
        C.t1(K, uid, "trendPerAttempt", O["trendPerAttempt"], float(hf.trend.iloc[-1]))
        for i, h in enumerate((1, 2, 3)):
            C.t1(K, uid, f"forecasts[{i}].value (ETS)", None if O["forecasts"] is None else
                 min(1.0, max(0.0, O["forecasts"][i]["value"])),
                 min(1.0, max(0.0, float(fr["mean"].iloc[i]))))
            ref.append((h, float(point.iloc[i]), float(fr["pi_lower"].iloc[i]),
                        float(fr["pi_upper"].iloc[i])))
    # `clamped` is a threshold on values known to T1 only: a forecast that is exactly 1 (or 0)
    # comes out at 1 ± 2e-16 depending on the order of operations (statsmodels' least squares
    # vs our closed form). A value within 1e-9 of a bound makes the flag indeterminate: either
    # answer passes; otherwise the flag is compared exactly.
    clamped, borderline = False, False

    def cl(v):
        nonlocal clamped, borderline
        if v is None:
            return None
        c = min(1.0, max(0.0, v))
        clamped |= abs(c - v) > 1e-9
        borderline |= min(abs(v), abs(v - 1.0)) <= 1e-9
        return c
    ref = [(h, cl(v), cl(lo), cl(hi)) for h, v, lo, hi in ref]

    def frow(p, o, r):
        C.t0(K, uid, p + ".step", o["step"], r[0])
        C.t1(K, uid, p + ".value", o["value"], r[1])
        C.t1(K, uid, p + ".lower95", o["lower95"], r[2])
        C.t1(K, uid, p + ".upper95", o["upper95"], r[3])
    C.seq(K, uid, "forecasts", O["forecasts"], ref, frow)
    C.t0(K, uid, "clamped", O["clamped"] if (clamped or not borderline) else clamped, clamped)


# ---------------------------------------------------------------------------------------------
# 19. recommendations
# ---------------------------------------------------------------------------------------------

REC_PRIOR_C, REC_MAX_PER_SKILL, REC_BONUS = 10.0, 2, 1.1


def compact(x):
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def dominant_type(D, course):
    totals = {}
    for it in D.course_items(course):
        t = totals.setdefault(it["type"], [0.0, 0])
        t[0] += item_hours(it)
        t[1] += 1
    if not totals:
        return None
    # Largest total hours, then more items, then the earlier type.
    return min(totals, key=lambda t: (-totals[t][0], -totals[t][1], TYPE_ORDER.index(t)))


def course_gain(D, cid, as_of):
    enrs = [e for e in D.enr_by_course.get(cid, []) if e["_enrolled"] <= as_of]
    pre, post = [], []
    for u in sorted({e["userId"] for e in enrs}):
        r = pre_post(D, trainer_firsts(D, u, as_of), cid)
        if r[0] == "pair":
            pre.append(r[1])
            post.append(r[2])
    return gains_ref(pre, post)["hake"], len(pre)


def check_recommendations(C, D, uid, O, as_of):
    K = "recommendations"
    user = D.users.get(uid)
    if user is None or user["_created"] > as_of:
        C.t0(K, uid, "status", O["status"], "insufficient_data")
        C.t0(K, uid, "items", O["items"], [])
        return
    rows = user_targets(D, user, as_of)
    if not len(rows):
        C.t0(K, uid, "status", O["status"], "insufficient_data")
        C.t0(K, uid, "items", O["items"], [])
        return
    recs = rows.to_dict("records")
    gaps = {r["skillId"]: r for r in recs if r["priority"] > 0}
    total = float(sum(r["priority"] for r in gaps.values()))
    open_gaps = bool(gaps) and total > 0
    catalogue = sorted((c for c in D.courses_list if D.courses[c["id"]] is c
                        and c.get("orgId") in (None, user["orgId"])), key=lambda c: c["id"])
    gains = {}
    for c in catalogue:
        g, n = course_gain(D, c["id"], as_of)
        if g is not None:
            gains[c["id"]] = (g, n)
    m = mean([min(1.0, max(0.0, g)) for g, _ in gains.values()])
    best = content_part_a(D, uid, as_of)["best"]
    cands = []
    for c in catalogue:
        if any(e["courseId"] == c["id"] and e["_enrolled"] <= as_of and completed_by(e, as_of)
               for e in D.enr_by_user.get(uid, [])):
            continue
        taught = {s["skillId"] for s in c.get("skills", [])}
        if open_gaps:
            skills = sorted((gaps[s] for s in taught if s in gaps),
                            key=lambda r: (-r["priority"], r["skillId"]))
        else:
            skills = [r for r in recs if r["skillId"] in taught]
        if not skills:
            continue
        if c["id"] in gains and m is not None:
            g, n = gains[c["id"]]
            eff = min(1.0, max(0.0, float(np.average([m, min(1.0, max(0.0, g))],
                                                     weights=[REC_PRIOR_C, n]))))
            evidence = "gain"
        else:
            o = course_outcomes(D, c, as_of)
            rate = o["mc"] / o["matured"] if o["matured"] else None
            score_ = mean([s for s, _ in o["finals"]])
            if rate is not None and score_ is not None:
                eff, evidence = min(1.0, max(0.0, rate * score_)), "completion"
            elif m is not None:
                eff, evidence = m, "catalogue_mean"
            else:
                eff, evidence = None, "none"
        bonus = best is not None and dominant_type(D, c) == best
        rel = min(1.0, max(0.0, sum(r["priority"] for r in skills) / total)) if open_gaps else None
        score = (rel if rel is not None else 1.0) * (0.5 + 0.5 * (eff or 0.0)) * \
            (REC_BONUS if bonus else 1.0)
        if open_gaps:
            reasons = []
            for r in skills:
                name = D.raw_skills.get(r["skillId"], r["skillId"])
                cur = "unassessed" if (r["current"] is None or pd.isna(r["current"])) \
                    else compact(r["current"])
                reasons.append(f"Closes your {name} gap ({cur}→{compact(r['target'])}); "
                               f"strategic priority (weight {compact(r['importance'])})")
        else:
            reasons = ["no_open_gaps"]
        if evidence == "gain":
            g, n = gains[c["id"]]
            reasons.append(f"Learners gained {g:.0%} of possible improvement (n={n})")
        h = c.get("expectedDurationHours")
        dur = h if (h is not None and math.isfinite(h) and h >= 0) else math.inf
        kind = "resume" if any(e["courseId"] == c["id"] and is_active_at(e, as_of)
                               for e in D.enr_by_user.get(uid, [])) else "new"
        cands.append(dict(courseId=c["id"], kind=kind, score=score, relevance=rel,
                          effectiveness=eff, evidence=evidence, bestTypeBonus=bonus,
                          skills=[r["skillId"] for r in skills], reasons=reasons, _dur=dur))
    # Orderings are exact (T0) on keys known to T1: rank on scores rounded to 1e-12.
    cands.sort(key=lambda x: (-round(x["score"], 12), x["_dur"], x["courseId"]))
    named, items = defaultdict(int), []
    for x in cands:
        if any(named[s] >= REC_MAX_PER_SKILL for s in x["skills"]):
            continue
        for s in x["skills"]:
            named[s] += 1
        items.append(dict(x, rank=len(items) + 1))

    def irow(p, o, r):
        for f in ("rank", "courseId", "kind", "evidence", "bestTypeBonus", "skills", "reasons"):
            C.t0(K, uid, p + "." + f, o.get(f), r[f])
        for f in ("score", "relevance", "effectiveness"):
            C.t1(K, uid, p + "." + f, o.get(f), r[f])
    C.seq(K, uid, "items", O["items"], items, irow)
    n = O["n"]
    C.t0(K, uid, "n", [n.get("targets"), n.get("gapSkills"), n.get("catalogue"),
                       n.get("candidates"), n.get("items")],
         [len(recs), len(gaps), len(catalogue), len(cands), len(items)])
    C.t0(K, uid, "status", O["status"], "ok")


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------

def print_nulls(results):
    """Per analytic: how many subjects have each status and, for every field path (list
    indices collapsed to []), how often it is null, so that a data set can be judged rich
    enough: every analytic ok with non-null values for most subjects."""
    def walk(v, path, out):
        if path and isinstance(v, (dict, list)):
            out[path][1] += 1
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}" if path else k, out)
        elif isinstance(v, list):
            for x in v:
                walk(x, path + "[]", out)
        else:
            out[path][0 if v is None else 1] += 1
    print("\nstatuses and null fields per analytic (null count / values):")
    for kind, per in results.items():
        statuses = defaultdict(int)
        fields = defaultdict(lambda: [0, 0])
        for payload in per.values():
            statuses[payload.get("status")] += 1
            walk({k: v for k, v in payload.items() if k not in ("n", "reasons", "asOf")}, "",
                 fields)
        st_ = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        nulls = ", ".join(f"{p} {n}/{n + m}" for p, (n, m) in sorted(fields.items()) if n)
        print(f"  {kind} [{st_}]: {nulls or 'no null field'}")


def role_ids(D, role):
    return sorted({u["id"] for u in D.users_list if role in u.get("roles", [])})


def main():
    ap = argparse.ArgumentParser(description="learnlens analytics reference check")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--pybkt-python", default=None,
                    help="python of a venv with pyBKT (requirements-pybkt.txt); optional")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--max-failures", type=int, default=40)
    ap.add_argument("--nulls", action="store_true",
                    help="also print, per analytic, the statuses and the fields that are null")
    args = ap.parse_args()
    with open(args.dataset, encoding="utf-8") as f:
        D = Data(json.load(f))
    with open(args.ours, encoding="utf-8") as f:
        ours = json.load(f)
    as_of = ts(ours["asOf"])
    results = ours.get("results", {})
    C = Checker(args.verbose)
    learners, trainers = role_ids(D, "learner"), role_ids(D, "trainer")
    orgs = sorted(D.orgs)
    expected_subjects = {"user": learners, "trainer": trainers, "org": orgs,
                         "demand": orgs + ["global"]}
    subject_kind = {k: "user" for k in ALL_ANALYTICS}
    for k in ("coursePerformance", "courseHealth", "studentDistribution", "teachingEffectiveness"):
        subject_kind[k] = "trainer"
    for k in ("orgLearningVelocity", "strategicAlignment", "learningCulture", "orgPerformance"):
        subject_kind[k] = "org"
    subject_kind["skillDemand"] = "demand"

    checkers = {
        "learnerVelocity": check_velocity, "engagementScore": check_engagement,
        "performanceAnalytics": check_performance, "contentEffectiveness": check_content,
        "coursePerformance": check_course_performance, "courseHealth": check_course_health,
        "studentDistribution": check_student_distribution,
        "teachingEffectiveness": check_teaching, "orgLearningVelocity": check_org_velocity,
        "strategicAlignment": check_alignment, "learningCulture": check_culture,
        "orgPerformance": check_org_performance, "skillDemand": check_skill_demand,
        "performanceForecast": check_forecast, "recommendations": check_recommendations,
    }
    for kind in results:
        if kind not in ALL_ANALYTICS:
            C.row(kind)
            C._fail(kind, "-", "kind", kind, None, "unknown analytic in our output")
    for kind in ALL_ANALYTICS:
        if kind not in results:
            continue
        per = results[kind]
        C.row(kind)
        C.t0(kind, "-", "subjects", sorted(per), sorted(expected_subjects[subject_kind[kind]]))
        for subj, payload in per.items():
            if kind != "peerComparison":  # its asOf is the daily snapshot, checked there
                C.t0(kind, subj, "asOf", ts(payload.get("asOf")), as_of)
    # BKT first: skillGapMatrix's pMastery reads it.
    pybkt = None
    if args.pybkt_python and "masteryProgress" in results:
        seqs = {}
        for uid in learners:
            by_skill, *_ = evidence(D, uid, as_of)
            for s, obs in by_skill.items():
                seqs[f"{uid}\t{s}"] = [int(c) for c, _ in obs]
        pybkt = run_pybkt(args.pybkt_python, seqs)
    for uid in learners:
        user = D.users[uid]
        targets = user_targets(D, user, as_of)
        states = None
        if "masteryProgress" in results:
            states = check_mastery(C, D, uid, results["masteryProgress"][uid], as_of, targets,
                                   pybkt)
        if "skillGapMatrix" in results:
            if states is None:
                by_skill, *_ = evidence(D, uid, as_of)
                states = {s: bkt_numpy([c for c, _ in o]) for s, o in by_skill.items()}
            check_skill_gap(C, D, uid, results["skillGapMatrix"][uid], as_of, states)
    for kind, fn in checkers.items():
        if kind not in results:
            continue
        for subj in sorted(results[kind]):
            try:
                fn(C, D, subj, results[kind][subj], as_of)
            except Exception as exc:  # a crash of the reference is a failure, never a pass
                C._fail(kind, subj, "exception", repr(exc), None, "reference check raised")
    if "dropOffRisk" in results:
        try:
            check_drop_off(C, D, ours, as_of, learners)
        except Exception as exc:
            C._fail("dropOffRisk", "-", "exception", repr(exc), None, "reference check raised")
    if "peerComparison" in results:
        peer_ref = PeerRef(D)
        for uid in sorted(results["peerComparison"]):
            try:
                check_peer(C, D, uid, results["peerComparison"][uid], as_of, peer_ref)
            except Exception as exc:
                C._fail("peerComparison", uid, "exception", repr(exc), None,
                        "reference check raised")

    # Report.
    print(f"reference check at asOf {ours['asOf']}: {len(D.users_list)} users, "
          f"{len(D.raw.get('events', []))} events, {len(D.raw.get('attempts', []))} attempts"
          + ("; pyBKT cross-check on" if pybkt is not None else "; pyBKT cross-check off"))
    hdr = (f"{'analytic':<24}{'subjects':>9}{'values':>9}  {'tolerances (max |Δ| at T1, T2)':<36}"
           f"{'result':<6}")
    print(hdr)
    print("-" * len(hdr))
    bad = False
    for kind in ALL_ANALYTICS + [k for k in C.rows if k not in ALL_ANALYTICS]:
        if kind not in results and kind not in C.rows:
            print(f"{kind:<24}{'-':>9}{'-':>9}  {'-':<36}NOT CHECKED (absent from our output)")
            continue
        r = C.row(kind)
        subjects = len(r["subjects"] - {"-", "model"})
        res = "ok"
        if r["fail"]:
            res, bad = f"FAIL ({r['fail']})", True
        elif r["values"] == 0 or subjects == 0:
            res, bad = "FAIL (nothing compared)", True
        tols = " ".join(f"{t} {r['max'][t]:.1e}" if t in r["max"] else t for t in sorted(r["tols"]))
        print(f"{kind:<24}{subjects:>9}{r['values']:>9}  {tols:<36}{res}")
    if C.failures:
        print(f"\n{len(C.failures)} failed comparison(s); first {args.max_failures}:")
        for kind, subj, path, o, rf, why in C.failures[:args.max_failures]:
            print(f"  {kind} [{subj}] {path}: ours={o!r} ref={rf!r} ({why})")
    if args.nulls:
        print_nulls(results)
    total = sum(r["values"] for r in C.rows.values())
    print(f"\n{total} values compared; {'FAILED' if bad else 'passed'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
