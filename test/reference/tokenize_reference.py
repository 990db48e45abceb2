"""Reference token ids from Hugging Face transformers, for the TypeScript parity tests.

Reads a JSON list of requests on stdin, each
  {"vocab": path, "impl": "fast" | "legacy", "do_lower_case": bool,
   "strip_accents": bool | null, "tokenize_chinese_chars": bool,
   "cases": [{"text": str, "pair": str | null, "max_length": int | null}]}
and writes a JSON list on stdout with, per request, a list of
{"input_ids", "token_type_ids", "attention_mask"}, one per case. "fast" is
transformers.BertTokenizer (Rust tokenizers backend in transformers 5), "legacy" is the pure-Python BertTokenizerLegacy. With max_length the case is truncated
(longest_first) and padded to max_length, as BertTokenizer(text, pair, max_length=...,
truncation=True, padding="max_length").
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")

from transformers import BertTokenizer  # noqa: E402
from transformers.models.bert.tokenization_bert import load_vocab  # noqa: E402
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy  # noqa: E402
from transformers.utils import logging  # noqa: E402

logging.set_verbosity_error()


def make_tokenizer(request):
    options = dict(
        do_lower_case=request["do_lower_case"],
        strip_accents=request["strip_accents"],
        tokenize_chinese_chars=request["tokenize_chinese_chars"],
    )
    if request["impl"] == "legacy":
        return BertTokenizerLegacy(request["vocab"], **options)
    return BertTokenizer(vocab=load_vocab(request["vocab"]), **options)


def encode(tokenizer, case):
    kwargs = dict(return_token_type_ids=True, return_attention_mask=True)
    if case.get("max_length") is not None:
        kwargs.update(max_length=case["max_length"], truncation=True, padding="max_length")
    out = tokenizer(case["text"], case.get("pair"), **kwargs)
    return {key: list(out[key]) for key in ("input_ids", "token_type_ids", "attention_mask")}


def main():
    answers = []
    for request in json.load(sys.stdin):
        tokenizer = make_tokenizer(request)
        cases = request["cases"]
        if all(case.get("pair") is None and case.get("max_length") is None for case in cases):
            # One batch call (no truncation, no padding): same ids, much faster for "fast".
            out = tokenizer([case["text"] for case in cases], return_token_type_ids=True, return_attention_mask=True)
            keys = ("input_ids", "token_type_ids", "attention_mask")
            answers.append([{key: list(out[key][i]) for key in keys} for i in range(len(cases))])
        else:
            answers.append([encode(tokenizer, case) for case in cases])
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
