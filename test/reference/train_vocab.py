"""Trains a small WordPiece vocabulary on the Greek tweets, deterministically.

Usage: train_vocab.py OUT_DIR {uncased|cased} DATA_DIR
Writes OUT_DIR/vocab.txt with the `tokenizers` BertWordPieceTokenizer trainer on the texts
of GRGE_sentiment.csv and offenseval-gr-training-v1.tsv (vocab size 6000, min frequency 2).
"uncased" lowercases and strips accents (as Greek BERT); "cased" keeps both.
"""
import csv
import os
import sys

from tokenizers import BertWordPieceTokenizer


def read_texts(data_dir):
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
    os.makedirs(out_dir, exist_ok=True)
    tokenizer.save_model(out_dir)


if __name__ == "__main__":
    main()
