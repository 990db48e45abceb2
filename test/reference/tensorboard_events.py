"""Reads TensorBoard event files back with the Python `tensorboard` package, for
test/tensorboard.test.ts.

stdin: {"paths": [event file or log folder, ...], "crc": [hex bytes, ...]}
stdout: {"files": [{"path", "file_version", "first_timestamp",
                    "scalars": {tag: [[wall_time, step, value], ...]},
                    "tensors": {tag: [[wall_time, step, value], ...]}}, ...],
         "masked_crc": [masked CRC32C of each crc entry, ...]}

Each path is read twice: by `event_accumulator.EventAccumulator` (the legacy reader: scalars as
`simple_value`) and by `plugin_event_accumulator.EventAccumulator`, the one `tensorboard --logdir`
serves from (simple_value migrated to a scalar tensor of the scalars plugin). Values are given
as Python's repr of the float (exact; 'nan', 'inf', '-inf' included) since JSON has no NaN.
"""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.backend.event_processing import plugin_event_accumulator
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.util import tensor_util


def read(path):
    legacy = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
    legacy.Reload()
    scalars = {
        tag: [[e.wall_time, e.step, repr(float(e.value))] for e in legacy.Scalars(tag)]
        for tag in legacy.Tags()[event_accumulator.SCALARS]
    }
    try:
        first = legacy.FirstEventTimestamp()
    except ValueError:  # no event at all
        first = None
    served = plugin_event_accumulator.EventAccumulator(path, size_guidance={plugin_event_accumulator.TENSORS: 0})
    served.Reload()
    try:
        scalar_tags = served.PluginTagToContent("scalars")
    except KeyError:  # no scalar at all
        scalar_tags = {}
    tensors = {
        tag: [[e.wall_time, e.step, repr(float(tensor_util.make_ndarray(e.tensor_proto).item()))] for e in served.Tensors(tag)]
        for tag in scalar_tags
    }
    return {
        "path": path,
        "file_version": legacy.file_version,
        "first_timestamp": first,
        "scalars": scalars,
        "tensors": tensors,
    }


def main():
    request = json.load(sys.stdin)
    result = {
        "files": [read(path) for path in request.get("paths", [])],
        "masked_crc": [masked_crc32c(bytes.fromhex(data)) for data in request.get("crc", [])],
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
