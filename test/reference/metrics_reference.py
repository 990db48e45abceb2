"""Python side of the metric parity tests (test/metrics.test.ts): scikit-learn, scipy and seqeval.

Reads a JSON list of cases on stdin and writes a JSON list of results (same order) on stdout.
NaN is written as null, infinities as "Infinity" strings. Each case has a "kind":
  classification  truth, predicted (class indices), numLabels
  regression      predictions, targets (floats)
  multilabel      scores (rows), targets (0/1 rows), threshold, fromLogits
  entities        truth, predicted (lists of tag lists, one per sentence)
"""
import json
import math
import sys
import warnings

import numpy as np
from scipy.stats import pearsonr, spearmanr
from seqeval import metrics as seqeval
from seqeval.metrics.sequence_labeling import get_entities
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
)

warnings.filterwarnings("ignore")


def clean(value):
    """Plain JSON: numpy scalars to Python numbers, NaN to None, infinities to "Infinity"."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return None if math.isnan(value) else value
    return value


def scores(p, r, f, s):
    return [{"precision": a, "recall": b, "f1": c, "support": d} for a, b, c, d in zip(p, r, f, s)]


def average(truth, predicted, kind):
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, average=kind, zero_division=0)
    return {"precision": p, "recall": r, "f1": f}


def classification(case):
    truth, predicted, n = case["truth"], case["predicted"], case["numLabels"]
    labels = list(range(n))
    return {
        "accuracy": accuracy_score(truth, predicted),
        "macroF1": f1_score(truth, predicted, average="macro", zero_division=0),
        "weightedF1": f1_score(truth, predicted, average="weighted", zero_division=0),
        "macro": average(truth, predicted, "macro"),
        "weighted": average(truth, predicted, "weighted"),
        "perClass": scores(*precision_recall_fscore_support(truth, predicted, labels=labels, average=None, zero_division=0)),
        "confusion": confusion_matrix(truth, predicted, labels=labels).tolist(),
    }


def regression(case):
    x = np.asarray(case["predictions"], dtype=np.float64)
    y = np.asarray(case["targets"], dtype=np.float64)
    try:
        pearson = pearsonr(x, y).statistic
    except ValueError:  # fewer than 2 values
        pearson = float("nan")
    return {
        "mse": mean_squared_error(y, x),
        "mae": mean_absolute_error(y, x),
        "pearson": pearson,
        "spearman": spearmanr(x, y).statistic,
    }


def multilabel(case):
    values = np.asarray(case["scores"], dtype=np.float64)
    probabilities = 1.0 / (1.0 + np.exp(-values)) if case["fromLogits"] else values
    predicted = (probabilities > case["threshold"]).astype(np.int64)
    truth = np.asarray(case["targets"], dtype=np.int64)
    micro = average(truth, predicted, "micro")
    macro = average(truth, predicted, "macro")
    return {
        "predicted": predicted.reshape(-1).tolist(),
        "micro": micro,
        "microF1": f1_score(truth, predicted, average="micro", zero_division=0),
        "macro": macro,
        "macroF1": f1_score(truth, predicted, average="macro", zero_division=0),
        "perLabel": scores(*precision_recall_fscore_support(truth, predicted, average=None, zero_division=0)),
        "exactMatch": accuracy_score(truth, predicted),
        "hammingLoss": hamming_loss(truth, predicted),
    }


def entities(case):
    truth, predicted = case["truth"], case["predicted"]
    report = seqeval.classification_report(truth, predicted, output_dict=True, zero_division=0)
    averages = {"micro avg", "macro avg", "weighted avg"}

    def row(name):
        r = report[name]
        return {"precision": r["precision"], "recall": r["recall"], "f1": r["f1-score"], "support": r["support"]}

    return {
        "precision": seqeval.precision_score(truth, predicted),
        "recall": seqeval.recall_score(truth, predicted),
        "f1": seqeval.f1_score(truth, predicted),
        "accuracy": seqeval.accuracy_score(truth, predicted),
        "types": [name for name in report if name not in averages],  # seqeval's own order
        "perType": {name: row(name) for name in report if name not in averages},
        "micro": row("micro avg"),
        "macro": row("macro avg"),
        "weighted": row("weighted avg"),
        "sentenceEntities": [[[t, s, e + 1] for t, s, e in get_entities(list(tags))] for tags in predicted],
    }


KINDS = {"classification": classification, "regression": regression, "multilabel": multilabel, "entities": entities}

cases = json.load(sys.stdin)
json.dump(clean([KINDS[case["kind"]](case) for case in cases]), sys.stdout)
