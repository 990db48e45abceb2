"""One long-lived Python process that runs the reference scripts of test/reference for a test file.

Importing torch and transformers takes 3-5 s of every script run on the CI machine; a test file
runs up to a dozen scripts. test/reference/python.ts starts this worker once per test process
and sends it the runs one at a time, so the imports are paid once.

Protocol: one JSON object per line on stdin, {"script": PATH, "args": [...], "input": TEXT}; the
script runs as `python PATH ARGS < TEXT` would (a fresh __main__ namespace, sys.argv, sys.stdin,
its folder first on sys.path), with sys.stdout and sys.stderr captured. The answer goes to file
descriptor 3, so what native code prints on fd 1 or 2 cannot corrupt it: one JSON line
{"code": N, "stderr": TEXT, "bytes": N}, then the script's stdout as `bytes` bytes of UTF-8 (raw,
not escaped into the JSON: a reference's output can be hundreds of megabytes). An uncaught
exception is code 1 with its traceback in stderr, as in a process of its own. The worker ends
when stdin closes.
"""
import contextlib
import gc
import io
import json
import os
import runpy
import sys
import traceback


def run(request):
    script = request["script"]
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_argv, saved_stdin, saved_path = sys.argv, sys.stdin, list(sys.path)
    sys.argv = [script, *request["args"]]
    sys.stdin = io.StringIO(request["input"])
    sys.path.insert(0, os.path.dirname(script))
    code = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                runpy.run_path(script, run_name="__main__")
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                if exit_.code is not None and not isinstance(exit_.code, int):
                    print(exit_.code, file=sys.stderr)
            except BaseException:  # noqa: BLE001 - reported as the process would report it
                traceback.print_exc()
                code = 1
    finally:
        sys.argv, sys.stdin, sys.path[:] = saved_argv, saved_stdin, saved_path
        gc.collect()
    return code, stdout.getvalue().encode("utf-8"), stderr.getvalue()


def main():
    answers = os.fdopen(3, "wb")
    for line in sys.stdin:
        if line.strip():
            code, out, err = run(json.loads(line))
            answers.write((json.dumps({"code": code, "stderr": err, "bytes": len(out)}) + "\n").encode("utf-8"))
            answers.write(out)
            answers.flush()


if __name__ == "__main__":
    main()
