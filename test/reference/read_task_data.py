"""Reads task data files the way Python users do, for the task data reader tests.

Usage: read_task_data.py < REQUEST.json, where REQUEST is
  {"conll": [FILE...], "jsonl": [[FILE, TOKENS_FIELD, TAGS_FIELD]...], "csv": [FILE...],
   "floats": [STRING...], "seqeval": [[TAG...]...]}
and prints JSON with, for each:
  conll:   {FILE: [{"words", "tags", "line"}...]}: lines as Python's universal-newline text
           mode gives them (LF, CRLF, CR), columns by str.split() (the word first, the tag
           last), a blank line or a -DOCSTART- line ending a sentence (as the Hugging Face
           conll2003 loader does), utf-8-sig (a byte order mark dropped); "line" is the line
           of the sentence's first word
  jsonl:   {FILE: [{"words", "tags", "line"}...]} from json.loads of each non-blank line
  csv:     {FILE: {"header", "rows", "lines"}}: csv.reader rows, "lines" the line where each
           data row starts (from reader.line_num, counting blank lines)
  floats:  [float(s)...]
  seqeval: the entities seqeval's default mode finds, [[TYPE, START, END_INCLUSIVE]...] per
           sequence, or null when seqeval is not installed
"""
import csv
import json
import sys


def read_conll(path):
    sentences = []
    words, tags, start = [], [], None
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            columns = line.split()
            if not columns or columns[0] == "-DOCSTART-":
                if words:
                    sentences.append({"words": words, "tags": tags, "line": start})
                words, tags, start = [], [], None
                continue
            if start is None:
                start = number
            words.append(columns[0])
            tags.append(columns[-1])
    if words:
        sentences.append({"words": words, "tags": tags, "line": start})
    return sentences


def read_jsonl(path, tokens_field, tags_field):
    sentences = []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            sentences.append({"words": record[tokens_field], "tags": record[tags_field], "line": number})
    return sentences


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        rows, lines, previous = [], [], 0
        for row in reader:
            if row:
                rows.append(row)
                lines.append(previous + 1)
            previous = reader.line_num
    return {"header": rows[0], "rows": rows[1:], "lines": lines[1:]}


def seqeval_entities(sequences):
    try:
        from seqeval.metrics.sequence_labeling import get_entities
    except ImportError:
        return None
    return [[list(entity) for entity in get_entities(list(tags))] for tags in sequences]


def main():
    request = json.load(sys.stdin)
    out = {
        "conll": {path: read_conll(path) for path in request.get("conll", [])},
        "jsonl": {path: read_jsonl(path, tokens, tags) for path, tokens, tags in request.get("jsonl", [])},
        "csv": {path: read_csv(path) for path in request.get("csv", [])},
        "floats": [float(value) for value in request.get("floats", [])],
        "seqeval": seqeval_entities(request.get("seqeval", [])),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
