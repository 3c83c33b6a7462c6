#!/usr/bin/env python3
"""pyBKT side of the BKT cross-check; runs in its own venv (requirements-pybkt.txt).

    python pybkt_trace.py INPUT.json  →  stdout: {key: {"state": […], "correct": […]}}

INPUT.json: {"params": {"l0", "t", "g", "s"}, "sequences": {key: [0/1, …]}}. Each sequence is
one learner's time-ordered observations of one skill. pyBKT's `Model` is given the fixed
parameters through `coef_` and `fit(..., fixed=True)` (analytics.md §4), then `predict()`:
`state_predictions` are P(known) before each observation and `correct_predictions` P(correct).
A dummy observation is appended to every sequence, so that its state prediction is the final
P(known) after the last real observation (pyBKT `Roster`'s mastery probability) and its
correct prediction P(correct next).
"""

import json
import sys

import numpy as np
import pandas as pd
from pyBKT.models import Model


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    p = spec["params"]
    rows = []
    order = 0
    for key, obs in spec["sequences"].items():
        for c in list(obs) + [1]:
            rows.append({"order_id": order, "user_id": key, "skill_name": "s", "correct": int(c)})
            order += 1
    out = {}
    if rows:
        df = pd.DataFrame(rows)
        model = Model(seed=0, num_fits=1)
        model.coef_ = {"s": {"prior": p["l0"], "learns": np.array([p["t"]]),
                             "guesses": np.array([p["g"]]), "slips": np.array([p["s"]]),
                             "forgets": np.array([0.0])}}
        model.fit(data=df, fixed=True)
        pred = model.predict(data=df).sort_values("order_id")
        for key, g in pred.groupby("user_id", sort=False):
            out[key] = {"state": [float(v) for v in g["state_predictions"]],
                        "correct": [float(v) for v in g["correct_predictions"]]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
