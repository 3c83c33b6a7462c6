#!/usr/bin/env python3
"""Writes the reference-check fixture: a small, deterministic learnlens Dataset (sources.md
entities, the JSON shape of crates/learnlens-analytics/src/input.rs).

    python3 scripts/refcheck/make_fixture.py [--seed 20261126] [--as-of 2026-11-26T00:00:00Z]
        [--out crates/learnlens/tests/fixtures/refcheck-dataset.json]

Standard library only, seeded, so the same seed always writes the same bytes. The data is made
so that every analytic has something to compute: 2 organisations with departments above and
below k = 5, job roles and strategic goals, ~44 learners with latent ability and motivation,
3 trainers, 8 courses (one global course that nearly everybody takes, so its quiz has ≥ 30
examinees for classical item analysis), items of every type, enrollments of every status and
assigner, pre/post/quiz/exam assessments with item responses, retakes, activity events with
and without durations over ~38 weeks before asOf, feedback and skill records of every source.
"""

import argparse
import json
import math
import random
from datetime import datetime, timedelta, timezone

DEFAULT_AS_OF = "2026-11-26T00:00:00Z"


def iso(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class Gen:
    def __init__(self, seed, as_of):
        self.r = random.Random(seed)
        self.as_of = as_of
        self.start = as_of - timedelta(days=265)
        self.d = {k: [] for k in ["organizations", "jobRoles", "users", "skills", "userSkills",
                                  "courses", "contentItems", "enrollments", "feedback",
                                  "assessments", "attempts", "events"]}
        self.n_attempt = 0
        self.n_feedback = 0

    # -----------------------------------------------------------------------------------
    def directory(self):
        r = self.r
        for i in range(1, 9):
            self.d["skills"].append({"id": f"s{i}", "name": f"Skill {i}", "maxLevel": 5.0})
        self.d["organizations"] = [
            {"id": "o1", "name": "Acme", "strategicGoals": [
                {"skillId": "s1", "weight": 2.0, "targetLevel": 3.0, "scope": "all"},
                {"skillId": "s3", "weight": 1.0, "targetLevel": 4.0,
                 "scope": {"jobRoleIds": ["r1"]}},
                {"skillId": "s6", "weight": 0.5, "targetLevel": 2.5, "scope": "all"},
            ]},
            {"id": "o2", "name": "Globex", "strategicGoals": [
                {"skillId": "s2", "weight": 3.0, "targetLevel": 3.5, "scope": "all"},
                {"skillId": "s5", "weight": 1.0, "targetLevel": 3.0,
                 "scope": {"jobRoleIds": ["r3", "r4"]}},
                {"skillId": "s1", "weight": 1.5, "targetLevel": 2.0, "scope": "all"},
            ]},
        ]
        self.d["jobRoles"] = [
            {"id": "r1", "orgId": "o1", "name": "Engineer", "requirements": [
                {"skillId": "s1", "targetLevel": 4.0, "weight": 1.0},
                {"skillId": "s2", "targetLevel": 3.0, "weight": 0.8},
                {"skillId": "s4", "targetLevel": 3.0, "weight": 0.5}]},
            {"id": "r2", "orgId": "o1", "name": "Analyst", "requirements": [
                {"skillId": "s3", "targetLevel": 3.0, "weight": 1.0},
                {"skillId": "s5", "targetLevel": 2.0, "weight": 0.6},
                {"skillId": "s7", "targetLevel": 4.0, "weight": 0.9}]},
            {"id": "r3", "orgId": "o2", "name": "Consultant", "requirements": [
                {"skillId": "s2", "targetLevel": 4.0, "weight": 1.0},
                {"skillId": "s4", "targetLevel": 2.5, "weight": 0.7},
                {"skillId": "s8", "targetLevel": 3.0, "weight": 0.4}]},
            {"id": "r4", "orgId": "o2", "name": "Manager", "requirements": [
                {"skillId": "s1", "targetLevel": 3.0, "weight": 0.9},
                {"skillId": "s6", "targetLevel": 3.0, "weight": 1.0},
                {"skillId": "s7", "targetLevel": 2.0, "weight": 0.5}]},
        ]
        self.learners = []
        depts = {"o1": [("eng", 10), ("sales", 7), ("legal", 3), (None, 2)],
                 "o2": [("consulting", 11), ("support", 6), ("finance", 3), (None, 2)]}
        roles = {"o1": ["r1", "r2", None], "o2": ["r3", "r4", None]}
        n = 0
        for org in ["o1", "o2"]:
            for dept, size in depts[org]:
                for _ in range(size):
                    n += 1
                    uid = f"u{n:02d}"
                    role = r.choices(roles[org], weights=[5, 4, 1])[0]
                    status = "inactive" if r.random() < 0.05 else "active"
                    user = {"id": uid, "orgId": org, "email": f"{uid}@{org}.test",
                            "name": f"Learner {n}", "roles": ["learner"], "status": status,
                            "createdAt": iso(self.start - timedelta(days=r.randint(30, 400)))}
                    if dept is not None:
                        user["department"] = dept
                    if role is not None:
                        user["jobRoleId"] = role
                    self.d["users"].append(user)
                    self.learners.append({"id": uid, "org": org, "role": role,
                                          "ability": r.gauss(0.0, 1.0),
                                          "motivation": r.gauss(0.0, 1.0)})
        # One learner created only recently (after most of the window).
        self.d["users"][-1]["createdAt"] = iso(self.as_of - timedelta(days=20))
        self.trainers = [("t1", "o1"), ("t2", "o2"), ("t3", "o1")]
        for tid, org in self.trainers:
            roles_ = ["trainer", "learner"] if tid == "t3" else ["trainer"]
            self.d["users"].append({"id": tid, "orgId": org, "email": f"{tid}@{org}.test",
                                    "name": f"Trainer {tid}", "roles": roles_,
                                    "department": "academy", "status": "active",
                                    "createdAt": iso(self.start - timedelta(days=500))})
        self.d["users"].append({"id": "a1", "orgId": "o1", "email": "a1@o1.test",
                                "name": "Admin", "roles": ["org-admin"], "status": "active",
                                "createdAt": iso(self.start - timedelta(days=500))})
        # The trainer t3 is also a learner (multi-role) without events of their own.
        self.learners.append({"id": "t3", "org": "o1", "role": None,
                              "ability": 0.0, "motivation": -3.0, "passive": True})

    # -----------------------------------------------------------------------------------
    def catalog(self):
        r = self.r
        spec = [
            # id, trainer, org, skills, hours, mandatory, n_modules
            ("c-common", "t1", None, ["s1", "s2", "s3"], 12.0, False, 3),
            ("c-rust", "t1", "o1", ["s1", "s4"], 20.0, False, 2),
            ("c-data", "t1", "o1", ["s3", "s5", "s7"], 16.0, False, 2),
            ("c-lead", "t2", "o2", ["s6", "s7"], 8.0, True, 2),
            ("c-consult", "t2", "o2", ["s2", "s8"], 14.0, False, 2),
            ("c-sec", "t2", None, ["s4", "s6"], 6.0, True, 2),
            ("c-ml", "t3", "o1", ["s5", "s3"], 30.0, False, 3),
            ("c-intro", "t3", None, ["s1"], 3.0, False, 1),
        ]
        types = ["video", "text", "quiz", "lab"]
        self.course_items = {}
        self.course_assessments = {}
        for cid, trainer, org, skills, hours, mandatory, n_mod in spec:
            modules = []
            items = []
            k = 0
            for m in range(1, n_mod + 1):
                mid = f"{cid}-m{m}"
                ids = []
                n_items = r.randint(3, 4)
                for j in range(n_items):
                    k += 1
                    iid = f"{cid}-i{k}"
                    t = types[(k - 1) % 4] if cid != "c-intro" else ["video", "quiz", "text"][j % 3]
                    dur = {"video": r.choice([2.0, 8.0, 15.0, 25.0]),
                           "text": r.choice([10.0, 20.0, 30.0]),
                           "quiz": r.choice([10.0, 15.0]),
                           "lab": r.choice([60.0, 90.0, 120.0])}[t]
                    nsk = r.choice([1, 1, 2]) if len(skills) > 1 else 1
                    sk = sorted(r.sample(skills, nsk))
                    if r.random() < 0.08:
                        sk = []  # an untagged item
                    item = {"id": iid, "courseId": cid, "moduleId": mid, "type": t,
                            "expectedDurationMin": dur, "skillIds": sk}
                    self.d["contentItems"].append(item)
                    items.append(item)
                    ids.append(iid)
                modules.append({"id": mid, "contentItemIds": ids})
            course = {"id": cid, "title": cid.replace("c-", "").title(), "trainerId": trainer,
                      "skills": [{"skillId": s, "level": float(r.choice([2, 3, 4]))}
                                 for s in skills],
                      "modules": modules, "expectedDurationHours": hours,
                      "isMandatory": mandatory}
            if org is not None:
                course["orgId"] = org
            self.d["courses"].append(course)
            self.course_items[cid] = items
            # Assessments: pre and post (course level), a quiz per quiz item, an exam on some.
            assess = []

            def make(aid, kind, content_item=None, n_items=5, sk_pool=skills):
                its = []
                for q in range(1, n_items + 1):
                    nsk = 2 if (len(sk_pool) > 1 and r.random() < 0.25) else 1
                    its.append({"itemId": f"{aid}-q{q}",
                                "skillIds": sorted(r.sample(sk_pool, nsk)),
                                "maxPoints": float(r.choice([1, 2, 2, 4]))})
                a = {"id": aid, "courseId": cid, "kind": kind, "maxScore": 0.0,
                     "passScore": 0.0, "items": its}
                a["maxScore"] = sum(i["maxPoints"] for i in its)
                a["passScore"] = round(0.6 * a["maxScore"], 1)
                if content_item is not None:
                    a["contentItemId"] = content_item
                # Optional schedule fields (dueAt, weight: 0 = formative) on some courses.
                if cid in ("c-common", "c-sec", "c-lead", "c-intro") and kind != "pre":
                    k_ = len(assess)
                    a["dueAt"] = iso(self.start + timedelta(days=40 + 25 * k_ + (
                        60 if cid != "c-common" else 0)))
                    a["weight"] = 0.0 if (kind == "quiz" and cid == "c-intro") else 0.25
                assess.append(a)
                self.d["assessments"].append(a)

            make(f"{cid}-pre", "pre", n_items=5)
            for item in items:
                if item["type"] == "quiz":
                    pool = item["skillIds"] or skills
                    make(f"{cid}-qz-{item['id'].split('-')[-1]}", "quiz", item["id"],
                         n_items=r.randint(4, 6), sk_pool=pool)
            make(f"{cid}-post", "post", n_items=6)
            if cid in ("c-common", "c-rust", "c-consult", "c-ml"):
                make(f"{cid}-exam", "exam", n_items=6)
            self.course_assessments[cid] = assess

    # -----------------------------------------------------------------------------------
    def people_skills(self):
        r = self.r
        for lr in self.learners:
            if lr.get("passive"):
                continue
            for s in range(1, 9):
                if r.random() < 0.25:
                    continue  # unassessed
                base = 2.5 + 0.8 * lr["ability"] + r.gauss(0, 0.8)
                for source in r.sample(["self", "assessed", "inferred"], r.randint(1, 2)):
                    level = round(min(5.0, max(0.0, base + (0.4 if source == "self" else 0.0))), 1)
                    at = self.start + timedelta(days=r.uniform(0, 280))
                    self.d["userSkills"].append({"userId": lr["id"], "skillId": f"s{s}",
                                                 "currentLevel": level, "source": source,
                                                 "updatedAt": iso(at)})

    # -----------------------------------------------------------------------------------
    def attempt(self, lr, a, at, skill_boost):
        """One attempt at assessment a; returns (passed, score)."""
        r = self.r
        self.n_attempt += 1
        responses = []
        score = 0.0
        for it in a["items"]:
            if r.random() < 0.04:
                continue  # omitted item
            p = 1.0 / (1.0 + math.exp(-(0.2 + 1.1 * lr["ability"] + skill_boost
                                         + r.gauss(0, 0.3))))
            correct = r.random() < p
            pts = it["maxPoints"] if correct else (
                round(it["maxPoints"] * r.choice([0.0, 0.0, 0.5]), 1))
            score += pts
            responses.append({"itemId": it["itemId"], "points": pts, "correct": correct})
        if r.random() < 0.03:
            responses.append({"itemId": "unknown-item", "points": 0.0, "correct": False})
        passed = score >= a["passScore"]
        return {"id": f"at{self.n_attempt:05d}", "assessmentId": a["id"], "userId": lr["id"],
                "attemptNo": 0, "submittedAt": iso(at), "score": score, "passed": passed,
                "responses": responses}, passed

    def take(self, lr, a, at, boost, max_tries=3):
        tries = 0
        t = at
        while True:
            tries += 1
            att, passed = self.attempt(lr, a, t, boost + 0.35 * (tries - 1))
            att["attemptNo"] = tries
            if t <= self.as_of:
                self.d["attempts"].append(att)
            if passed or tries >= max_tries or self.r.random() < 0.3:
                return att
            t = t + timedelta(days=self.r.uniform(0.5, 4))

    def event(self, uid, verb, item, at, cid, duration=None, **extra):
        ev = {"userId": uid, "verb": verb, "objectId": item, "timestamp": iso(at)}
        if cid is not None and self.r.random() < 0.85:
            ev["courseId"] = cid
        if duration is not None:
            ev["durationSec"] = duration
        ev.update(extra)
        if at <= self.as_of + timedelta(days=30):  # a few events after asOf exist too
            self.d["events"].append(ev)

    def learning(self):
        r = self.r
        n_enr = 0
        by_org = {"o1": ["c-common", "c-rust", "c-data", "c-sec", "c-ml", "c-intro"],
                  "o2": ["c-common", "c-lead", "c-consult", "c-sec", "c-intro"]}
        for lr in self.learners:
            if lr.get("passive"):
                # Enrolled, never active: an active enrollment with no activity at all.
                n_enr += 1
                self.d["enrollments"].append({
                    "id": f"e{n_enr:04d}", "userId": lr["id"], "courseId": "c-intro",
                    "enrolledAt": iso(self.as_of - timedelta(days=40)), "status": "enrolled",
                    "progress": 0.0, "assignedBy": "self"})
                continue
            courses = ["c-common"]
            others = [c for c in by_org[lr["org"]] if c != "c-common"]
            courses += r.sample(others, r.randint(1, 3))
            for ci, cid in enumerate(courses):
                n_enr += 1
                course = next(c for c in self.d["courses"] if c["id"] == cid)
                items = [i for m in course["modules"] for i in m["contentItemIds"]]
                item_by_id = {i["id"]: i for i in self.course_items[cid]}
                if cid == "c-common":
                    enrolled = self.start + timedelta(days=r.uniform(0, 150))
                else:
                    enrolled = self.start + timedelta(days=r.uniform(20, 262))
                mandatory = course["isMandatory"] or r.random() < 0.15
                assigned = "mandatory" if mandatory else r.choice(["self", "self", "manager"])
                due = None
                if assigned != "self" or r.random() < 0.3:
                    due = enrolled + timedelta(days=r.choice([21, 30, 45, 60]))
                mot = lr["motivation"] + r.gauss(0, 0.7)
                # How far the learner gets (share of items) and the pace (days per item).
                reach = 1.0 / (1.0 + math.exp(-(0.8 + 1.3 * mot)))
                goes_all = r.random() < reach
                n_done = len(items) if goes_all else r.randint(0, max(0, len(items) - 1))
                pace = max(0.4, r.gauss(3.0 - 0.8 * mot, 1.2))
                t = enrolled + timedelta(hours=r.uniform(1, 30))
                pre = self.course_assessments[cid][0]
                pre_at = t
                if r.random() < 0.8:  # some learners skip the pre-test
                    self.take(lr, pre, pre_at, 0.0, max_tries=1)
                last = t
                done_items = 0
                for idx, iid in enumerate(items):
                    if idx >= n_done:
                        break
                    item = item_by_id[iid]
                    t = t + timedelta(days=r.expovariate(1.0 / pace))
                    t = t.replace(hour=r.randint(7, 21), minute=r.randint(0, 59),
                                  second=r.randint(0, 59))
                    if t > self.as_of:
                        break
                    # A session: launched, a few experienced/progressed, completed.
                    s = t
                    self.event(lr["id"], "launched", iid, s, cid)
                    n_steps = r.randint(1, 4)
                    for _ in range(n_steps):
                        s = s + timedelta(minutes=r.uniform(2, 28))
                        dur = round(r.uniform(60, 1500), 1) if r.random() < 0.35 else None
                        if r.random() < 0.01:
                            dur = 20000.0  # above the 4 h cap
                        self.event(lr["id"], r.choice(["experienced", "progressed"]), iid, s,
                                   cid, dur)
                    s = s + timedelta(minutes=r.uniform(1, 25))
                    if item["type"] == "quiz":
                        for a in self.course_assessments[cid]:
                            if a.get("contentItemId") == iid:
                                att = self.take(lr, a, s, 0.3 * idx / len(items))
                                self.event(lr["id"], "answered", iid, s, cid,
                                           scoreScaled=round(att["score"] / a["maxScore"], 4),
                                           success=att["passed"])
                    verb = r.choice(["completed", "completed", "passed"])
                    if r.random() < 0.1:
                        self.event(lr["id"], "progressed", iid, s, cid, completion=True)
                    else:
                        self.event(lr["id"], verb, iid, s, cid,
                                   r.choice([None, round(r.uniform(30, 900), 1)]))
                    if r.random() < 0.1:  # a revisit later
                        self.event(lr["id"], "completed", iid,
                                   s + timedelta(days=r.uniform(1, 10)), cid)
                    last = s
                    done_items += 1
                # Extra browsing sessions without completion.
                for _ in range(r.randint(0, 6)):
                    span = max(1.0, (last - enrolled).days + 3)
                    bt = enrolled + timedelta(days=r.uniform(0, span))
                    iid = r.choice(items)
                    self.event(lr["id"], "experienced", iid, bt, cid,
                               r.choice([None, round(r.uniform(30, 2400), 1)]))
                    self.event(lr["id"], "experienced", iid,
                               bt + timedelta(minutes=r.uniform(5, 40)), cid)
                progress = done_items / len(items)
                enr = {"id": f"e{n_enr:04d}", "userId": lr["id"], "courseId": cid,
                       "enrolledAt": iso(enrolled), "progress": round(progress, 4),
                       "assignedBy": assigned}
                if due is not None:
                    enr["dueAt"] = iso(due)
                finished_all = done_items == len(items)
                end = last + timedelta(hours=r.uniform(1, 48))
                if finished_all and end <= self.as_of:
                    post = next(a for a in self.course_assessments[cid] if a["kind"] == "post")
                    att = self.take(lr, post, end, 0.9, max_tries=2)
                    exam = [a for a in self.course_assessments[cid] if a["kind"] == "exam"]
                    for ex in exam:
                        self.take(lr, ex, end + timedelta(hours=2), 0.7)
                    if att["passed"] or r.random() < 0.5:
                        enr["status"] = "completed"
                        enr["completedAt"] = iso(end + timedelta(hours=3))
                        enr["progress"] = 1.0
                    else:
                        enr["status"] = "failed"
                    if r.random() < 0.75:
                        self.n_feedback += 1
                        q = 3.2 + 0.6 * lr["motivation"] + r.gauss(0, 0.8)
                        self.d["feedback"].append({
                            "id": f"f{self.n_feedback:04d}", "userId": lr["id"],
                            "courseId": cid, "trainerId": course["trainerId"],
                            "courseRating": float(min(5, max(1, round(q)))),
                            "trainerRating": float(min(5, max(1, round(q + r.gauss(0, 0.7))))),
                            "createdAt": iso(end + timedelta(days=r.uniform(0, 3)))})
                else:
                    quiet = (self.as_of - last).days
                    if quiet > 25 and r.random() < 0.65:
                        enr["status"] = "dropped"
                        enr["droppedAt"] = iso(last + timedelta(days=r.uniform(3, 20)))
                    elif done_items == 0 and r.random() < 0.5:
                        enr["status"] = "enrolled"
                    else:
                        enr["status"] = "in_progress"
                self.d["enrollments"].append(enr)
        # A few odd records the analytics must tolerate: a completion without its date, a
        # feedback outside the scale, and an attempt at an unknown assessment.
        self.d["enrollments"].append({
            "id": "e9998", "userId": self.learners[0]["id"], "courseId": "c-intro",
            "enrolledAt": iso(self.start + timedelta(days=10)), "status": "completed",
            "progress": 1.0, "assignedBy": "self"})
        self.d["feedback"].append({
            "id": "f9999", "userId": self.learners[1]["id"], "courseId": "c-common",
            "trainerId": "t1", "courseRating": 7.0, "trainerRating": 0.0,
            "createdAt": iso(self.start + timedelta(days=100))})
        self.d["attempts"].append({
            "id": "at99999", "assessmentId": "no-such-assessment",
            "userId": self.learners[2]["id"], "attemptNo": 1,
            "submittedAt": iso(self.start + timedelta(days=90)), "score": 3.0,
            "passed": True, "responses": []})

    # -----------------------------------------------------------------------------------
    def edges(self):
        """Records at the edges of the definitions, where two readings of a rule part ways."""
        r, d, a = self.r, self.d, self.as_of
        learners = [lr for lr in self.learners if not lr.get("passive")]
        # Fractional seconds on a tenth of the events.
        for ev in d["events"][::10]:
            t = parse(ev["timestamp"]) + timedelta(milliseconds=r.randint(1, 999))
            ev["timestamp"] = t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        u0, u1, u2, u3, u4, u5 = (lr["id"] for lr in learners[:6])
        item = self.course_items["c-common"][0]["id"]
        item2 = self.course_items["c-common"][1]["id"]

        def ev(uid, verb, obj, t, **kw):
            e = {"userId": uid, "verb": verb, "objectId": obj, "timestamp": t}
            e.update(kw)
            d["events"].append(e)
        # Exactly at asOf, exactly on a week and a day boundary, and 1 ms inside them.
        ev(u0, "experienced", item, iso(a))
        ev(u0, "completed", item2, iso(a - timedelta(days=7)), courseId="c-common")
        ev(u1, "experienced", item, iso(a - timedelta(days=1)))
        ev(u1, "experienced", item, iso(a - timedelta(days=14)) [:-1] + ".001Z")
        # Sessions: a gap of exactly 30 min continues, 30 min 1 s ends; invalid and 0 durations.
        t0 = a - timedelta(days=3, hours=5)
        ev(u2, "launched", item, iso(t0), courseId="c-common")
        ev(u2, "experienced", item, iso(t0 + timedelta(minutes=30)), durationSec=-5.0)
        ev(u2, "experienced", item, iso(t0 + timedelta(minutes=60, seconds=1)), durationSec=0.0)
        ev(u2, "progressed", item2, iso(t0 + timedelta(minutes=70)), completion=True)
        ev(u2, "experienced", "no-such-item", iso(t0 + timedelta(minutes=75)))
        ev(u2, "experienced", item2, iso(t0 + timedelta(minutes=80)), durationSec=99999.0)
        # A course without content items, a content item without duration, a zero-max quiz.
        d["courses"].append({"id": "c-empty", "title": "Reading list", "trainerId": "t2",
                             "orgId": "o2", "skills": [{"skillId": "s8", "level": 2.0}],
                             "modules": [], "expectedDurationHours": 5.0,
                             "isMandatory": False})
        d["courses"].append(dict(d["courses"][0], title="Duplicate id: ignored",
                                 trainerId="t3"))
        d["contentItems"].append({"id": "c-sec-i99", "courseId": "c-sec", "moduleId": "c-sec-m1",
                                  "type": "text", "expectedDurationMin": 0.0,
                                  "skillIds": ["s4"]})
        ev(u3, "completed", "c-sec-i99", iso(a - timedelta(days=5)))
        d["assessments"].append({"id": "c-sec-zero", "courseId": "c-sec", "kind": "quiz",
                                 "maxScore": 0.0, "passScore": 0.0, "items": [
                                     {"itemId": "z1", "skillIds": ["s4"], "maxPoints": 0.0}]})
        n = len(d["enrollments"])
        for i, (uid, cid, status, extra) in enumerate([
                (u4, "c-empty", "in_progress", {}),
                (u5, "c-empty", "enrolled", {"dueAt": iso(a - timedelta(days=80))}),
                (u4, "c-gone", "in_progress", {}),
                (u3, "c-intro", "dropped", {}),
        ]):
            e = {"id": f"e{n + i + 1:04d}x", "userId": uid, "courseId": cid,
                 "enrolledAt": iso(a - timedelta(days=60 + 10 * i)), "status": status,
                 "progress": 0.3, "assignedBy": "self"}
            e.update(extra)
            d["enrollments"].append(e)

        def att(aid, uid, no, t, score, passed, responses=()):
            self.n_attempt += 1
            d["attempts"].append({"id": f"at{self.n_attempt:05d}x", "assessmentId": aid,
                                  "userId": uid, "attemptNo": no, "submittedAt": t,
                                  "score": score, "passed": passed,
                                  "responses": list(responses)})
        att("c-sec-zero", u3, 1, iso(a - timedelta(days=4)), 1.0, True)
        # Attempt numbers that disagree with time (attempt 2 submitted first), a tie in time,
        # a score above maxScore and a negative one, duplicate responses to one item.
        q = next(x for x in d["assessments"] if x["id"] == "c-intro-qz-i2")
        qi = [i["itemId"] for i in q["items"]]
        t1 = a - timedelta(days=9)
        att(q["id"], u4, 2, iso(t1), q["maxScore"] + 3, True,
            [{"itemId": qi[0], "points": 1.0, "correct": True},
             {"itemId": qi[0], "points": 0.0, "correct": False}])
        att(q["id"], u4, 3, iso(t1), -2.0, False, [{"itemId": qi[1], "points": 0.0,
                                                     "correct": False}])
        att(q["id"], u4, 4, iso(t1 + timedelta(days=1)), q["maxScore"] / 2, False)
        # Pre after post (out of order) and a pre-test at the ceiling.
        pre = next(x for x in d["assessments"] if x["id"] == "c-lead-pre")
        post = next(x for x in d["assessments"] if x["id"] == "c-lead-post")
        for uid, pre_score, pre_at, post_at in [
                (u0, 5.0, a - timedelta(days=20), a - timedelta(days=30)),
                (u1, pre["maxScore"], a - timedelta(days=40), a - timedelta(days=30))]:
            d["enrollments"].append({"id": f"e-lead-{uid}", "userId": uid, "courseId": "c-lead",
                                     "enrolledAt": iso(a - timedelta(days=45)),
                                     "status": "completed",
                                     "completedAt": iso(a - timedelta(days=29)),
                                     "progress": 1.0, "assignedBy": "mandatory",
                                     "dueAt": iso(a - timedelta(days=25))})
            att(pre["id"], uid, 1, iso(pre_at), pre_score, True)
            att(post["id"], uid, 1, iso(post_at), post["maxScore"] * 0.8, True)
        # A learner with a perfect series (Holt/OLS forecasts at the ceiling).
        for k, asm in enumerate([x for x in d["assessments"] if x["courseId"] == "c-data"]):
            att(asm["id"], u5, 1, iso(a - timedelta(days=50 - 3 * k)), asm["maxScore"], True)
        # A global course with a post-test but no pre-test: no learning-gain pairs, so its
        # effectiveness for recommendations falls back to completion rate × final score.
        d["courses"].append({"id": "c-ethics", "title": "Ethics", "trainerId": "t2",
                             "skills": [{"skillId": "s6", "level": 3.0},
                                        {"skillId": "s7", "level": 2.0}],
                             "modules": [{"id": "c-ethics-m1",
                                          "contentItemIds": ["c-ethics-i1", "c-ethics-i2"]}],
                             "expectedDurationHours": 2.0, "isMandatory": False})
        d["contentItems"] += [
            {"id": "c-ethics-i1", "courseId": "c-ethics", "moduleId": "c-ethics-m1",
             "type": "video", "expectedDurationMin": 15.0, "skillIds": ["s6"]},
            {"id": "c-ethics-i2", "courseId": "c-ethics", "moduleId": "c-ethics-m1",
             "type": "lab", "expectedDurationMin": 60.0, "skillIds": ["s7"]}]
        d["assessments"].append({"id": "c-ethics-post", "courseId": "c-ethics", "kind": "post",
                                 "maxScore": 10.0, "passScore": 6.0, "items": [
                                     {"itemId": "c-ethics-post-q1", "skillIds": ["s6"],
                                      "maxPoints": 5.0},
                                     {"itemId": "c-ethics-post-q2", "skillIds": ["s7"],
                                      "maxPoints": 5.0}]})
        for j, lr in enumerate(learners[6:14]):
            start = a - timedelta(days=100 - j)
            done = j % 4 != 3
            e = {"id": f"e-ethics-{lr['id']}", "userId": lr["id"], "courseId": "c-ethics",
                 "enrolledAt": iso(start), "progress": 1.0 if done else 0.5,
                 "assignedBy": "self", "status": "completed" if done else "dropped"}
            for k, iid in enumerate(["c-ethics-i1", "c-ethics-i2"][:2 if done else 1]):
                ev(lr["id"], "completed", iid, iso(start + timedelta(days=1 + k)),
                   courseId="c-ethics", durationSec=600.0)
            if done:
                e["completedAt"] = iso(start + timedelta(days=3))
                sc = float(r.choice([4, 6, 7, 9, 10]))
                att("c-ethics-post", lr["id"], 1, iso(start + timedelta(days=2, hours=20)), sc,
                    sc >= 6.0, [{"itemId": "c-ethics-post-q1", "points": min(5.0, sc),
                                 "correct": sc >= 5}])
            else:
                e["droppedAt"] = iso(start + timedelta(days=10))
            d["enrollments"].append(e)
        # Directory oddities: an unknown job role, a goal of weight 0, a requirement with
        # target 0 and one with a negative weight, negative and future skill levels, a
        # duplicate user id, a user created after asOf.
        for u in d["users"]:
            if u["id"] == u5:
                u["jobRoleId"] = "no-such-role"
        d["organizations"][0]["strategicGoals"].append(
            {"skillId": "s8", "weight": 0.0, "targetLevel": 3.0, "scope": "all"})
        d["jobRoles"][0]["requirements"] += [
            {"skillId": "s8", "targetLevel": 0.0, "weight": 1.0},
            {"skillId": "s6", "targetLevel": 2.0, "weight": -1.0}]
        d["userSkills"] += [
            {"userId": u0, "skillId": "s6", "currentLevel": -1.0, "source": "assessed",
             "updatedAt": iso(a - timedelta(days=100))},
            {"userId": u1, "skillId": "s1", "currentLevel": 5.0, "source": "assessed",
             "updatedAt": iso(a + timedelta(days=3))}]
        dup = dict(d["users"][0], name="Duplicate id: ignored", orgId="o2")
        d["users"].append(dup)
        d["users"].append({"id": "u-future", "orgId": "o1", "email": "f@o1.test",
                           "name": "Joins later", "roles": ["learner"], "status": "active",
                           "department": "eng", "createdAt": iso(a + timedelta(days=10))})

    def build(self):
        self.directory()
        self.catalog()
        self.people_skills()
        self.learning()
        self.edges()
        # The dataset's order is the sources' order, not time order: shuffle the events.
        self.r.shuffle(self.d["events"])
        return self.d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--as-of", default=DEFAULT_AS_OF)
    ap.add_argument("--out", default="crates/learnlens/tests/fixtures/refcheck-dataset.json")
    args = ap.parse_args()
    data = Gen(args.seed, parse(args.as_of)).build()
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"), sort_keys=False)
        f.write("\n")
    counts = ", ".join(f"{k} {len(v)}" for k, v in data.items())
    print(f"wrote {args.out}: {counts}")


if __name__ == "__main__":
    main()
