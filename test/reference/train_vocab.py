"""Trains a small WordPiece vocabulary on the Greek tweets, deterministically.

Usage: train_vocab.py OUT_DIR {uncased|cased} DATA_DIR|TEXTS.jsonl
Writes OUT_DIR/vocab.txt with the `tokenizers` BertWordPieceTokenizer trainer on the texts
of GRGE_sentiment.csv and offenseval-gr-training-v1.tsv in DATA_DIR, or on the JSON strings
of TEXTS.jsonl, one per line (vocab size 6000, min frequency 2).
"uncased" lowercases and strips accents (as Greek BERT); "cased" keeps both.

Determinism: the entries are written in a canonical order (special tokens, then code point
order), so the ids do not depend on the trainer's internal order. The trainer itself
(tokenizers 0.23.3) breaks ties between equally frequent merges by hash-map order, which
is seeded per process, so about 2% of the 6000 entries (those decided by such ties) differ
from run to run; the parity tests hold for any vocabulary, and a failing test names the
vocabulary file it used.
"""
import csv
import json
import os
import sys

from tokenizers import BertWordPieceTokenizer


def read_texts(data_dir):
    if data_dir.endswith(".jsonl"):
        with open(data_dir, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(data_dir, "GRGE_sentiment.csv"), encoding="utf-8", newline="") as f:
        texts = [row["Text"] for row in csv.DictReader(f)]
    with open(os.path.join(data_dir, "offenseval-gr", "offenseval-gr-training-v1.tsv"), encoding="utf-8") as f:
        next(f)
        texts += [line.rstrip("\n").split("\t")[1] for line in f if line.strip()]
    return texts


def main():
    out_dir, casing, data_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    uncased = casing == "uncased"
    tokenizer = BertWordPieceTokenizer(lowercase=uncased, strip_accents=uncased, clean_text=True)
    tokenizer.train_from_iterator(
        read_texts(data_dir), vocab_size=6000, min_frequency=2, show_progress=False,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    rest = sorted(token for token in tokenizer.get_vocab() if token not in specials)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{token}\n" for token in specials + rest)


if __name__ == "__main__":
    main()
