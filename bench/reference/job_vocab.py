"""WordPiece vocabulary of `pjrt-bert bench --job`, trained on the job's own texts at bench time.

Usage: job_vocab.py OUT_DIR VOCAB_SIZE FILE:COLUMN [FILE:COLUMN ...]

Trains the `tokenizers` BertWordPieceTokenizer (lowercase and strip accents, as Greek BERT's
uncased vocabulary; clean_text; min frequency 2) on the texts of every FILE:COLUMN (a .csv with
a header, a .tsv with a header and no quoting, as OffensEval-GR's, or a .jsonl of objects) and
writes OUT_DIR/vocab.txt. VOCAB_SIZE is the trainer's target: a small corpus stops below it
(GRGE with OffensEval-GR's training tweets gives about 19,300 entries for 30,000), so the size
actually written is reported.

Entries are written in a canonical order (the five special tokens, then code point order) so
ids do not depend on the trainer's hash-map order. The trainer breaks ties between equally
frequent merges by that order, seeded per process, so a few entries differ from run to run;
both sides of the job read the same file, which is what the comparison needs.

Prints one JSON object, the last line of stdout: {"vocab_size", "texts", "seconds"}.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BenchError, main_guard, read_table  # noqa: E402

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def read_column(spec: str) -> list[str]:
    """The texts of COLUMN in FILE (`FILE:COLUMN`). Raises BenchError naming the file and column."""
    path, sep, column = spec.rpartition(":")
    if not sep or not path or not column:
        raise BenchError(f"expected FILE:COLUMN, got {spec!r}")
    rows = read_table(path)
    if rows and column not in rows[0]:
        raise BenchError(f"{path} has no column {column!r} (columns: {', '.join(map(str, rows[0].keys()))})")
    return [str(row[column]) for row in rows if row.get(column) is not None]


def main() -> None:
    if len(sys.argv) < 4:
        raise BenchError("usage: job_vocab.py OUT_DIR VOCAB_SIZE FILE:COLUMN [FILE:COLUMN ...]")
    out_dir, size = sys.argv[1], sys.argv[2]
    if not size.isdigit() or int(size) < len(SPECIAL_TOKENS) + 1:
        raise BenchError(f"VOCAB_SIZE must be an integer above {len(SPECIAL_TOKENS)}, got {size!r}")
    started = time.perf_counter()
    texts = [text for spec in sys.argv[3:] for text in read_column(spec)]
    if not texts:
        raise BenchError(f"no texts in {' '.join(sys.argv[3:])}")
    from tokenizers import BertWordPieceTokenizer

    tokenizer = BertWordPieceTokenizer(lowercase=True, strip_accents=True, clean_text=True)
    tokenizer.train_from_iterator(
        texts, vocab_size=int(size), min_frequency=2, show_progress=False, special_tokens=SPECIAL_TOKENS
    )
    rest = sorted(token for token in tokenizer.get_vocab() if token not in SPECIAL_TOKENS)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{token}\n" for token in SPECIAL_TOKENS + rest)
    result = {"vocab_size": len(SPECIAL_TOKENS) + len(rest), "texts": len(texts), "seconds": time.perf_counter() - started}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main_guard(main)
