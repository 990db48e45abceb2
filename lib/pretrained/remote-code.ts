/**
 * The Python modeling file saved beside a model with an `mlp:N` head, so that `transformers`
 * loads the trained head instead of a random linear one:
 *
 *     model = AutoModelForSequenceClassification.from_pretrained(dir, trust_remote_code=True)
 *
 * config.json names the file's classes in `auto_map` (see {@link remoteCodeAutoMap}). The
 * classes subclass `BertConfig` / `BertForSequenceClassification`; only the head differs:
 * `classifier = Sequential(Linear(hidden, N), ReLU, Dropout, Linear(N, labels))` (parameter
 * names `classifier.0.*`, `classifier.3.*`) on the pooled output, with no dropout before it,
 * exactly as `bertForward` computes it. A linear-head directory needs none of this and stays a
 * plain `BertForSequenceClassification` directory.
 */

/** File name of the modeling file inside a saved model directory. */
export const MODELING_FILE = 'modeling_pjrt_bert.py';

/** Python module name of {@link MODELING_FILE} (what `auto_map` entries start with). */
export const MODELING_MODULE = MODELING_FILE.replace(/\.py$/, '');

/** First line of the modeling file: how pjrt-bert recognises a file it wrote. */
export const MODELING_FILE_MARKER = '# Written by pjrt-bert for a model with an MLP classification head (--head mlp:N).';

/**
 * The `auto_map` field of config.json for an MLP-head directory: AutoConfig and
 * AutoModelForSequenceClassification resolve to the classes of {@link MODELING_FILE}.
 * Sync; never throws.
 */
export function remoteCodeAutoMap(): Record<string, string> {
  return {
    AutoConfig: `${MODELING_MODULE}.PjrtBertConfig`,
    AutoModelForSequenceClassification: `${MODELING_MODULE}.PjrtBertForSequenceClassification`,
  };
}

/**
 * True when `autoMap` (a config.json `auto_map` value) points into {@link MODELING_FILE}.
 * Sync; never throws.
 */
export function isRemoteCodeAutoMap(autoMap: unknown): boolean {
  if (typeof autoMap !== 'object' || autoMap === null) return false;
  return Object.values(autoMap).some((ref) => typeof ref === 'string' && ref.startsWith(`${MODELING_MODULE}.`));
}

/**
 * The text of {@link MODELING_FILE}. It needs only `torch` and `transformers` (any version
 * with `BertForSequenceClassification`). Sync; never throws.
 */
export function modelingFileSource(): string {
  return `${MODELING_FILE_MARKER}
"""BERT for sequence classification with pjrt-bert's MLP head.

config.json names these classes in auto_map, so that

    from transformers import AutoModelForSequenceClassification
    model = AutoModelForSequenceClassification.from_pretrained(DIR, trust_remote_code=True)

loads the trained head. The encoder and pooler are BertForSequenceClassification's; the head
(config.pjrt_bert_head = "mlp:N") is Linear(hidden_size, N) -> ReLU -> Dropout -> Linear(N,
num_labels) on the pooled output, with no dropout before it (parameters classifier.0.* and
classifier.3.*). With pjrt_bert_head "linear" (or none) the model is BertForSequenceClassification.
"""
from torch import nn
from transformers import BertConfig, BertForSequenceClassification


def mlp_hidden_size(head):
    """N of "mlp:N", or None for "linear"; ValueError for anything else."""
    if head is None or head == "linear":
        return None
    text = str(head)
    if text.startswith("mlp:") and text[4:].isdigit() and int(text[4:]) > 0:
        return int(text[4:])
    raise ValueError(f"config.json: pjrt_bert_head must be 'linear' or 'mlp:N' with N a positive integer, got {head!r}")


class PjrtBertConfig(BertConfig):
    """BertConfig plus pjrt_bert_head ("linear" or "mlp:N")."""

    def __init__(self, pjrt_bert_head="linear", **kwargs):
        super().__init__(**kwargs)
        mlp_hidden_size(pjrt_bert_head)
        self.pjrt_bert_head = pjrt_bert_head


class PjrtBertForSequenceClassification(BertForSequenceClassification):
    """BertForSequenceClassification whose classifier is pjrt-bert's MLP head."""

    config_class = PjrtBertConfig

    def __init__(self, config):
        super().__init__(config)
        hidden = mlp_hidden_size(getattr(config, "pjrt_bert_head", None))
        if hidden is not None:
            rate = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
            # pjrt-bert applies no dropout between the pooler and an MLP head
            self.dropout = nn.Identity()
            self.classifier = nn.Sequential(
                nn.Linear(config.hidden_size, hidden),
                nn.ReLU(),
                nn.Dropout(rate),
                nn.Linear(hidden, config.num_labels),
            )
            self.post_init()
`;
}
