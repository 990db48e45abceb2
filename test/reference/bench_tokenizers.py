"""Times Hugging Face tokenizers on a list of texts, for bench/tokenizer-bench.ts.

Reads {"vocab": path, "texts": [...], "max_length": int, "repeats": int} on stdin and
prints JSON {name: best seconds over the repeats} for:
  python_legacy      transformers BertTokenizerLegacy (pure Python), batch call
  fast_batch         transformers BertTokenizer (Rust tokenizers backend), batch call
  tokenizers_batch   tokenizers BertWordPieceTokenizer.encode_batch (Rust, parallel)
  tokenizers_single  tokenizers BertWordPieceTokenizer.encode, one text at a time
each tokenizing, truncating and padding every text to max_length.
"""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from tokenizers import BertWordPieceTokenizer  # noqa: E402
from transformers import BertTokenizer  # noqa: E402
from transformers.models.bert.tokenization_bert import load_vocab  # noqa: E402
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy  # noqa: E402
from transformers.utils import logging  # noqa: E402

logging.set_verbosity_error()


def best_of(repeats, run):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    request = json.load(sys.stdin)
    texts, max_length, repeats = request["texts"], request["max_length"], request["repeats"]
    legacy = BertTokenizerLegacy(request["vocab"])
    fast = BertTokenizer(vocab=load_vocab(request["vocab"]))
    raw = BertWordPieceTokenizer(request["vocab"], lowercase=True)
    raw.enable_truncation(max_length)
    raw.enable_padding(length=max_length)
    kwargs = dict(max_length=max_length, truncation=True, padding="max_length")
    results = {
        "python_legacy": best_of(max(1, repeats // 3), lambda: legacy(texts, **kwargs)),
        "fast_batch": best_of(repeats, lambda: fast(texts, **kwargs)),
        "tokenizers_batch": best_of(repeats, lambda: raw.encode_batch(texts)),
        "tokenizers_single": best_of(repeats, lambda: [raw.encode(text) for text in texts]),
    }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
