"""Hugging Face tokenizer directories and their encodings, for the tokenizer.json parity tests.

Usage:
  hf_tokenizer_reference.py train OUT_DIR TEXTS.jsonl
      Trains a WordPiece, a byte-level BPE and a Unigram tokenizer with `tokenizers` on the JSON
      strings of TEXTS.jsonl (one per line), wraps each as a transformers fast-tokenizer directory
      (`PreTrainedTokenizerFast(...).save_pretrained`) in BERT, RoBERTa, ModernBERT and XLM-R
      styles, and prints {name: directory}. See DIRECTORIES below for what each one exercises.
  hf_tokenizer_reference.py encode
      Reads a JSON list of requests on stdin and prints a JSON list of answers, one per request:
        {"dir": D, "meta": true}
          -> {"class", "vocab_size" (largest id + 1), "pad_id", "model_max_length",
              "specials_single", "specials_pair", "has_token_type_ids", "backend" (the backend
              tokenizer's JSON without vocab, merges, truncation and padding)}
        {"dir": D, "texts": [...], "pairs": [...] | null, "max_length": N, "details": bool}
          -> one row per text, as AutoTokenizer.from_pretrained(D)(texts, pairs, truncation=True,
             max_length=N, padding="max_length"): {"ids", "types" (null without token_type_ids),
             "pad": number of padding positions, "left": padded on the left}; with "details" also
             "offsets" (UTF-16 code unit offsets), "words" (word ids) and "seqs" (sequence ids).
             The padding is checked here (pad id, type 0, mask 0) and cut off the answer.
        {"dir": D, "words": [[...], ...], "max_length": N}
          -> the same with is_split_into_words=True: {"ids", "types", "pad", "left", "words",
           "truncated" (words with tokens that truncation removed entirely), "empty" (words
           without any token)}.
Offsets: Python counts code points; they are converted to UTF-16 code units, as JavaScript counts.
"""
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers  # noqa: E402
from tokenizers import pre_tokenizers, processors, trainers  # noqa: E402
from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402
from transformers.utils import logging  # noqa: E402

logging.set_verbosity_error()

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def bert_template(tok):
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    return processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )


def train_wordpiece(texts, lowercase):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None if lowercase else False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(
        vocab_size=4000, min_frequency=2, special_tokens=BERT_SPECIALS, show_progress=False))
    tok.post_processor = bert_template(tok)
    return tok


def train_byte_bpe(texts, normalizer):
    tok = Tokenizer(models.BPE())
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_unigram(texts):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.train_from_iterator(texts, trainers.UnigramTrainer(
        vocab_size=3000, special_tokens=ROBERTA_SPECIALS, unk_token="<unk>", show_progress=False))
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)])
    return tok


def save(tok, out, config_edits=None, model_type=None, **special):
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=512, **special)
    fast.save_pretrained(out)
    if config_edits:
        path = os.path.join(out, "tokenizer_config.json")
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        for key, value in config_edits.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        with open(path, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, ensure_ascii=False)
    if model_type:
        with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
            json.dump({"model_type": model_type}, f)
    return out


def write_vocab_dir(tok, out, do_lower_case):
    """A directory with only vocab.txt + tokenizer_config.json (as nlpaueb's Greek BERT)."""
    os.makedirs(out, exist_ok=True)
    vocab = sorted(tok.get_vocab().items(), key=lambda item: item[1])
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{token}\n" for token, _ in vocab)
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": do_lower_case, "model_max_length": 512}, f)
    return out


BERT_NAMED = dict(unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
ROBERTA_NAMED = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                     pad_token="<pad>", mask_token="<mask>")
MODERNBERT_SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]

# What each directory exercises:
#   wordpiece            BERT-style tokenizer.json as is (TokenizersBackend), token_type_ids returned
#   wordpiece-bert-class a cased tokenizer.json under tokenizer_class BertTokenizer without do_lower_case:
#                        transformers rebuilds BERT's pipeline from the config, so it lowercases
#   bpe-roberta          RoBERTa-style byte-level BPE, RobertaProcessing, as is
#   bpe-roberta-class    the same under tokenizer_class RobertaTokenizer with add_prefix_space: true
#   bpe-modernbert       ModernBERT-style (NFC, byte-level BPE, [CLS] $A [SEP] template), config.json
#                        model_type modernbert, hub class PreTrainedTokenizerFast
#   unigram-xlmr         XLM-R-style Unigram (Nmt + NFKC normalizer, Metaspace), as is
#   unigram-xlmr-class   the same under tokenizer_class XLMRobertaTokenizer (which drops a normalizer
#                        that is not SentencePiece's precompiled one)
#   vocab-uncased/cased  vocab.txt only (our BertTokenizer)


def train(out_root, texts):
    dirs = {}
    uncased = train_wordpiece(texts, lowercase=True)
    dirs["wordpiece"] = save(uncased, os.path.join(out_root, "wordpiece"), **BERT_NAMED,
                             model_input_names=["input_ids", "token_type_ids", "attention_mask"])
    cased = train_wordpiece(texts, lowercase=False)
    dirs["wordpiece-bert-class"] = save(cased, os.path.join(out_root, "wordpiece-bert-class"),
                                        {"tokenizer_class": "BertTokenizer", "do_lower_case": None}, **BERT_NAMED)
    dirs["vocab-uncased"] = write_vocab_dir(uncased, os.path.join(out_root, "vocab-uncased"), True)
    dirs["vocab-cased"] = write_vocab_dir(cased, os.path.join(out_root, "vocab-cased"), False)

    roberta = train_byte_bpe(texts, None)
    roberta.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=4000, min_frequency=2, special_tokens=ROBERTA_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    roberta.post_processor = processors.RobertaProcessing(("</s>", roberta.token_to_id("</s>")), ("<s>", roberta.token_to_id("<s>")))
    dirs["bpe-roberta"] = save(roberta, os.path.join(out_root, "bpe-roberta"), **ROBERTA_NAMED)
    dirs["bpe-roberta-class"] = save(roberta, os.path.join(out_root, "bpe-roberta-class"),
                                     {"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True}, **ROBERTA_NAMED)

    modern = train_byte_bpe(texts, normalizers.NFC())
    modern.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=4000, min_frequency=2, special_tokens=MODERNBERT_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    modern.add_special_tokens([AddedToken("[MASK]", lstrip=True, special=True, normalized=False)])
    modern.post_processor = bert_template(modern)
    dirs["bpe-modernbert"] = save(modern, os.path.join(out_root, "bpe-modernbert"),
                                  {"tokenizer_class": "PreTrainedTokenizerFast"}, "modernbert", **BERT_NAMED)

    unigram = train_unigram(texts)
    dirs["unigram-xlmr"] = save(unigram, os.path.join(out_root, "unigram-xlmr"), **ROBERTA_NAMED)
    dirs["unigram-xlmr-class"] = save(unigram, os.path.join(out_root, "unigram-xlmr-class"),
                                      {"tokenizer_class": "XLMRobertaTokenizer"}, **ROBERTA_NAMED)
    json.dump(dirs, sys.stdout)


def utf16_units(text):
    """Code point index -> UTF-16 code unit index, for every index of `text` (None: the same)."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return None
    units = [0]
    for c in text:
        units.append(units[-1] + (2 if ord(c) >= 0x10000 else 1))
    return units


_loaded = {}


def load(directory):
    if directory not in _loaded:
        _loaded[directory] = AutoTokenizer.from_pretrained(directory)
    return _loaded[directory]


def meta(directory):
    tok = load(directory)
    backend = json.loads(tok.backend_tokenizer.to_str())
    for key in ("vocab", "merges"):
        backend["model"].pop(key, None)
    backend.pop("truncation", None)
    backend.pop("padding", None)
    max_length = tok.model_max_length
    return {
        "class": type(tok).__name__,
        "vocab_size": max(tok.get_vocab().values()) + 1,
        "pad_id": tok.pad_token_id,
        "model_max_length": max_length if max_length < 1e9 else None,
        "specials_single": tok.num_special_tokens_to_add(False),
        "specials_pair": tok.num_special_tokens_to_add(True),
        "has_token_type_ids": "token_type_ids" in tok.model_input_names,
        "backend": backend,
    }


def unpad(tok, out, index, row, pad_id):
    """Checks the padding of one row, cuts it off, and returns the row's answer."""
    ids = out["input_ids"][index]
    mask = out["attention_mask"][index]
    types = out.get("token_type_ids")
    types = types[index] if types is not None else None
    real = sum(mask)
    pad = len(ids) - real
    left = pad > 0 and mask[0] == 0
    keep = slice(pad, None) if left else slice(0, real)
    padded = slice(0, pad) if left else slice(real, None)
    if any(i != pad_id for i in ids[padded]) or not all(mask[keep]) or any(mask[padded]):
        raise ValueError(f"unexpected padding in row {index}: {ids} {mask}")
    if types is not None and any(types[padded]):
        raise ValueError(f"non-zero pad type ids in row {index}: {types}")
    row.update(ids=ids[keep], types=types[keep] if types is not None else None, pad=pad, left=left)
    return row, keep


def encode(request):
    tok = load(request["dir"])
    pad_id = tok.pad_token_id
    kwargs = dict(truncation=True, max_length=request["max_length"], padding="max_length")
    if "words" in request:
        out = tok(request["words"], is_split_into_words=True, **kwargs)
        full = tok(request["words"], is_split_into_words=True)
        rows = []
        for i, words in enumerate(request["words"]):
            row, keep = unpad(tok, out, i, {}, pad_id)
            row["words"] = out.word_ids(i)[keep]
            produced = {w for w in full.word_ids(i) if w is not None}
            kept = {w for w in row["words"] if w is not None}
            row["truncated"] = len(produced - kept)
            row["empty"] = len(words) - len(produced)
            rows.append(row)
        return rows
    texts, pairs = request["texts"], request.get("pairs")
    details = request.get("details", False)
    out = tok(texts, pairs, return_offsets_mapping=details, **kwargs)
    rows = []
    for i, text in enumerate(texts):
        row, keep = unpad(tok, out, i, {}, pad_id)
        if details:
            seqs = out.sequence_ids(i)[keep]
            offsets = out["offset_mapping"][i][keep]
            units = (utf16_units(text), utf16_units(pairs[i]) if pairs else None)
            row["offsets"] = [
                [units[s][a], units[s][b]] if s is not None and units[s] is not None else [a, b]
                for s, (a, b) in zip(seqs, offsets)
            ]
            row["words"] = out.word_ids(i)[keep]
            row["seqs"] = seqs
        rows.append(row)
    return rows


def main():
    if sys.argv[1] == "train":
        with open(sys.argv[3], encoding="utf-8") as f:
            texts = [json.loads(line) for line in f if line.strip()]
        train(sys.argv[2], texts)
        return
    answers = []
    for request in json.load(sys.stdin):
        answers.append(meta(request["dir"]) if request.get("meta") else encode(request))
    sys.stdout.write(json.dumps(answers, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main()
