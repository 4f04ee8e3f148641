"""Tests of runtimes/python/pstats2callgrind.py on V8 .cpuprofile input (the Node.js
runtime's), with a hand-made profile whose figures are known.

Run: /usr/bin/python3 -m unittest discover -s tests/python
"""

import importlib.util
import json
import os
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONVERTER = os.path.join(ROOT, "runtimes", "python", "pstats2callgrind.py")
BOOT = "file:///opt/powertune/runtimes/node/bootstrap.cjs"
APP = "file:///var/task/index.mjs"


def _load():
    spec = importlib.util.spec_from_file_location("pstats2callgrind", CONVERTER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _frame(name, url, line):
    return {"functionName": name, "url": url, "lineNumber": line - 1, "columnNumber": 0,
            "scriptId": "1"}


class NodeProfilerLeftOut(unittest.TestCase):
    """One invocation as the runtime records it: the handler runs 3 ms (1 ms in itself, 2 ms in
    work), and the profiler's own start (begin -> post -> node:inspector's post -> dispatch,
    25 ms) and stop (end, 6 ms) are sampled too. Only the handler's 3 ms are the function's:
    the profiler's 31 ms topped every table."""

    def setUp(self):
        nodes = [
            {"id": 1, "callFrame": _frame("(root)", "", 0), "children": [2, 3, 9]},
            {"id": 2, "callFrame": _frame("handler", APP, 5), "children": [4]},
            {"id": 4, "callFrame": _frame("work", APP, 1), "children": []},
            {"id": 3, "callFrame": _frame("client.nextInvocation", BOOT, 1094),
             "children": [5, 8]},
            {"id": 5, "callFrame": _frame("begin", BOOT, 1074), "children": [6]},
            {"id": 6, "callFrame": _frame("post", BOOT, 1062), "children": [7]},
            {"id": 7, "callFrame": _frame("post", "node:inspector", 112), "children": [10]},
            {"id": 10, "callFrame": _frame("dispatch", "", 0), "children": []},
            {"id": 8, "callFrame": _frame("end", BOOT, 1078), "children": []},
            {"id": 9, "callFrame": _frame("(idle)", "", 0), "children": []},
        ]
        # 1 ms samples: handler 1, work 2, dispatch 25, end 6, idle 4
        samples = [2] + [4] * 2 + [10] * 25 + [8] * 6 + [9] * 4
        prof = {"nodes": nodes, "startTime": 0, "endTime": 1000 * len(samples),
                "samples": samples, "timeDeltas": [0] + [1000] * (len(samples) - 1)}
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "invoke-1.cpuprofile")
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(prof, f)
        self.conv = _load()

    def tearDown(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def test_only_the_handler_is_left(self):
        stats = self.conv.load([self.path])
        names = sorted(k[2] for k in stats)
        self.assertEqual(names, ["handler", "work"])
        handler = stats[(APP, 5, "handler")]
        self.assertAlmostEqual(handler[2], 0.001)  # self
        self.assertAlmostEqual(handler[3], 0.003)  # inclusive
        total = sum(v[2] for v in stats.values())
        self.assertAlmostEqual(total, 0.003)

    def test_callgrind_holds_no_profiler_frame(self):
        stats = self.conv.load([self.path])
        out = os.path.join(self.dir, "callgrind.out.f")
        self.conv.write_callgrind(out, stats, "/var/task", "cmd", 1, "handler of f")
        with open(out, encoding="utf-8") as f:
            text = f.read()
        self.assertNotIn("inspector", text)
        self.assertNotIn("bootstrap.cjs", text)
        self.assertIn("summary: 3000\n", text)


if __name__ == "__main__":
    unittest.main()
