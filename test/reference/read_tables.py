"""Reads the shared tweet files the way Python users do, for the table reader tests.

Usage: read_tables.py DATA_DIR. Prints JSON {name: {"columns": [...], "texts": [...],
"labels": [...]}} for GRGE_sentiment.csv (csv module) and the OffensEval TSVs (split
at tabs, no quoting, as their README prescribes).
"""
import csv
import json
import os
import sys


def main():
    data_dir = sys.argv[1]
    out = {}
    with open(os.path.join(data_dir, "GRGE_sentiment.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    out["grge"] = {"columns": rows[0], "texts": [r[1] for r in rows[1:]], "labels": [r[2] for r in rows[1:]]}
    for name in ("training", "test"):
        path = os.path.join(data_dir, "offenseval-gr", f"offenseval-gr-{name}-v1.tsv")
        with open(path, encoding="utf-8", newline="") as f:
            lines = [line.rstrip("\n").rstrip("\r").split("\t") for line in f if line.strip("\r\n")]
        out[name] = {
            "columns": lines[0],
            "texts": [r[1] for r in lines[1:]],
            "labels": [r[2] for r in lines[1:]] if len(lines[0]) > 2 else None,
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
