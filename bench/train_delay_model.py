"""Train and evaluate the delay-risk model on the real Olist history; export it as JSON for the runtime predictor.

    .venv/bin/pip install -e '.[ml]'         # scikit-learn + numpy, needed for training only
    .venv/bin/python bench/train_delay_model.py [--quick] [--no-export]

Reads ../shared/data/orders/olist (CC BY-NC-SA, never copied into the repo). Time-based split: train on orders
purchased before the cutoff, test on the later ones. Writes bench/results/delay_model.json (figures) and, unless
--no-export, src/orderloom/data/models/delay_risk.json (the model: trees, encodings, alert threshold).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from orderloom.adapters.history.olist import TEST_FROM, DelayExample, default_olist_dir, load_examples, time_split
from orderloom.domain.delay_risk import (
    FEATURES,
    DelayModel,
    feature_vector,
    precision_recall_at,
    roc_auc,
    route_key,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL_PATH = ROOT / "src" / "orderloom" / "data" / "models" / "delay_risk.json"
RESULTS = ROOT / "bench" / "results" / "delay_model.json"
SMOOTHING = 100.0  # m-estimate weight of the prior in the target encodings
FOLDS = 5  # training rows get out-of-fold encodings (their own outcome never feeds their features)
TRANSIT_QUANTILE = 0.8
MIN_ROUTE = 15
SEED = 7


def split(examples: list[DelayExample]) -> tuple[list[DelayExample], list[DelayExample]]:
    """Time-based split on the purchase time (the fixed split the tests use too)."""
    return time_split(examples)


def encodings(train: list[DelayExample]) -> dict[str, dict[str, float]]:
    """Smoothed late rates per region (origin and destination pooled) and per product category, from train only."""
    prior = sum(e.late for e in train) / len(train)
    counts: dict[str, dict[str, list[int]]] = {
        "region": defaultdict(lambda: [0, 0]),
        "category": defaultdict(lambda: [0, 0]),
    }
    for e in train:
        f = e.features
        for kind, key in (("region", f.destination_region), ("region", f.origin_region), ("category", f.category)):
            if key is not None:
                counts[kind][key][0] += e.late
                counts[kind][key][1] += 1
    rates = {
        kind: {k: round((late + SMOOTHING * prior) / (n + SMOOTHING), 5) for k, (late, n) in sorted(table.items())}
        for kind, table in counts.items()
    }
    return rates | transit_tables(train)


def _quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def transit_tables(train: list[DelayExample]) -> dict[str, dict[str, float]]:
    """Hand-over-to-delivery days (80th percentile) per route with enough past orders, and per destination."""
    route: dict[str, list[float]] = defaultdict(list)
    dest: dict[str, list[float]] = defaultdict(list)
    for e in train:
        f = e.features
        key = route_key(f.origin_region, f.destination_region)
        if key is not None:
            route[key].append(e.transit_days)
        if f.destination_region is not None:
            dest[f.destination_region].append(e.transit_days)
    return {
        "route_transit": {k: _quantile(v, TRANSIT_QUANTILE) for k, v in sorted(route.items()) if len(v) >= MIN_ROUTE},
        "dest_transit": {k: _quantile(v, TRANSIT_QUANTILE) for k, v in sorted(dest.items()) if len(v) >= 5},
    }


def train_matrix(train: list[DelayExample]) -> tuple[Any, Any]:
    """Training features with out-of-fold encodings: each row's rates come from the other folds only."""
    x = np.zeros((len(train), len(FEATURES)))
    for fold in range(FOLDS):
        others = [e for i, e in enumerate(train) if i % FOLDS != fold]
        rows = [i for i in range(len(train)) if i % FOLDS == fold]
        x[rows], _ = matrix([train[i] for i in rows], encodings(others))
    return x, np.array([int(e.late) for e in train])


def matrix(examples: list[DelayExample], enc: dict[str, dict[str, float]]) -> tuple[Any, Any]:
    x = np.array([[np.nan if v is None else v for v in feature_vector(e.features, enc)] for e in examples], dtype=float)
    y = np.array([int(e.late) for e in examples])
    return x, y


def export_trees(model: HistGradientBoostingClassifier) -> tuple[float, list[dict[str, list[Any]]]]:
    """The fitted ensemble as plain lists (feature -1 = leaf); leaf values already include the learning rate."""
    baseline = float(np.ravel(model._baseline_prediction)[0])
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        if bool(np.any(nodes["is_categorical"])):
            raise SystemExit("categorical splits are not exported; encode categories as numbers")
        leaf = nodes["is_leaf"].astype(bool)
        trees.append(
            {
                "feature": [-1 if lf else int(f) for f, lf in zip(nodes["feature_idx"], leaf, strict=True)],
                "threshold": [0.0 if lf else float(t) for t, lf in zip(nodes["num_threshold"], leaf, strict=True)],
                "missing_left": [int(m) for m in nodes["missing_go_to_left"]],
                "left": [int(v) for v in nodes["left"]],
                "right": [int(v) for v in nodes["right"]],
                "value": [round(float(v), 7) if lf else 0.0 for v, lf in zip(nodes["value"], leaf, strict=True)],
            }
        )
    return baseline, trees


def fit_gbdt(x: Any, y: Any, params: dict[str, Any]) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(early_stopping=False, random_state=SEED, **params)
    return model.fit(x, y)


GRID = [
    {"learning_rate": lr, "max_iter": it, "max_leaf_nodes": leaves, "min_samples_leaf": msl, "l2_regularization": 1.0}
    for lr in (0.03, 0.06)
    for it in (100, 200)
    for leaves in (4, 8)
    for msl in (20, 50)
]


def choose(train: list[DelayExample], quick: bool) -> tuple[dict[str, Any], float, list[dict[str, Any]]]:
    """Pick hyper-parameters and the alert threshold on the last fifth of the training months (never on test)."""
    cut = int(len(train) * 0.8)
    inner, valid = train[:cut], train[cut:]
    xi, yi = train_matrix(inner)
    xv, yv = matrix(valid, encodings(inner))
    tried = []
    for params in GRID[:2] if quick else GRID:
        p = fit_gbdt(xi, yi, params).predict_proba(xv)[:, 1]
        tried.append({"params": params, "valid_auc": round(float(roc_auc_score(yv, p)), 4)})
    best = max(tried, key=lambda t: t["valid_auc"])
    scores = fit_gbdt(xi, yi, best["params"]).predict_proba(xv)[:, 1]
    return best["params"], alert_threshold(list(scores), [bool(v) for v in yv]), tried


def alert_threshold(scores: list[float], labels: list[bool]) -> float:
    """The score that maximises F1 on validation (precision and recall weighed alike), rounded to 0.01."""
    best, best_f1 = 0.5, -1.0
    for t in (i / 100 for i in range(2, 96)):
        precision, recall, _ = precision_recall_at(scores, labels, t)
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best, best_f1 = t, f1
    return best


def evaluate(name: str, scores: list[float], labels: list[bool], threshold: float) -> dict[str, Any]:
    precision, recall, alerts = precision_recall_at(scores, labels, threshold)
    return {
        "model": name,
        "auc": round(roc_auc(scores, labels), 4),
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "alerts": alerts,
    }


def walk_forward(examples: list[DelayExample], params: dict[str, Any]) -> list[dict[str, Any]]:
    """For scale: the same recipe trained before each month from February to June 2018, tested on the rest."""
    out = []
    for month in (2, 3, 4, 5, 6):
        cut = TEST_FROM.replace(month=month)
        train, test = time_split(examples, cut)
        xt, yt = train_matrix(train)
        xs, ys = matrix(test, encodings(train))
        scores = fit_gbdt(xt, yt, params).predict_proba(xs)[:, 1]
        out.append(
            {
                "test_from": cut.date().isoformat(),
                "train": len(train),
                "test": len(test),
                "test_late": int(sum(ys)),
                "auc": round(float(roc_auc_score(ys, scores)), 4),
            }
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two grid points only")
    parser.add_argument("--no-export", action="store_true", help="do not overwrite the shipped model")
    args = parser.parse_args()
    folder = default_olist_dir()
    if not folder.is_dir():
        print(f"Olist data not found at {folder}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    examples = load_examples(folder)
    train, test = split(examples)
    params, threshold, tried = choose(train, args.quick)
    enc = encodings(train)
    xt, yt = train_matrix(train)
    xs, ys = matrix(test, enc)
    gbdt = fit_gbdt(xt, yt, params)
    baseline, trees = export_trees(gbdt)
    exported = {
        "format": "orderloom-gbdt/1",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": "Olist Brazilian e-commerce history (CC BY-NC-SA 4.0), delivered orders with a carrier hand-over",
        "features": list(FEATURES),
        "baseline": baseline,
        "threshold": threshold,
        "encodings": enc,
        "trees": trees,
    }
    runtime = DelayModel.from_dict(exported)
    labels = [bool(v) for v in ys]
    py_scores = [runtime.predict(e.features) for e in test]
    sk_scores = gbdt.predict_proba(xs)[:, 1]
    max_gap = float(np.max(np.abs(np.array(py_scores) - sk_scores)))
    logit = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000))
    logit.fit(xt, yt)
    lr_scores = [float(s) for s in logit.predict_proba(xs)[:, 1]]
    naive = [-(v if v is not None else 0.0) for v in (feature_vector(e.features, enc)[0] for e in test)]
    results = {
        "walk_forward": walk_forward(examples, params),
        "split": {
            "test_from_purchase": TEST_FROM.isoformat(),
            "train": len(train),
            "train_late": int(sum(yt)),
            "test": len(test),
            "test_late": int(sum(ys)),
        },
        "chosen_params": params,
        "grid": tried,
        "test": [
            evaluate("gbdt (shipped, pure-Python runtime)", py_scores, labels, threshold),
            evaluate("logistic regression (baseline)", lr_scores, labels, threshold),
            {"model": "hours from hand-over to promise alone", "auc": round(roc_auc(naive, labels), 4)},
        ],
        "runtime_vs_sklearn_max_abs_diff": max_gap,
        "trees": len(trees),
        "seconds": round(time.perf_counter() - started, 1),
    }
    exported["metrics"] = {k: v for k, v in results["test"][0].items() if k != "model"} | {"split": results["split"]}
    if not args.no_export:
        MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
        MODEL_PATH.write_text(json.dumps(exported, separators=(",", ":")) + "\n")
        results["model_bytes"] = MODEL_PATH.stat().st_size
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"train {len(train)} ({int(sum(yt))} late)  test {len(test)} ({int(sum(ys))} late)  params {params}")
    print(f"{'model':<42} {'AUC':>6} {'thr':>5} {'prec':>6} {'recall':>6} {'alerts':>6}")
    for row in results["test"]:
        print(
            f"{row['model']:<42} {row['auc']:>6.3f} {row.get('threshold', math.nan):>5.2f} "
            f"{row.get('precision', math.nan):>6.3f} {row.get('recall', math.nan):>6.3f} {row.get('alerts', 0):>6}"
        )
    walk = ", ".join(f"{w['test_from']}: {w['auc']:.3f} ({w['test_late']} late)" for w in results["walk_forward"])
    print(f"walk-forward AUC by first test month: {walk}")
    print(f"runtime vs sklearn max |diff| {max_gap:.2e}; {len(trees)} trees; wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
