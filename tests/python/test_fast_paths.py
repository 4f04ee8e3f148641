"""Tests of the Python runtime's cold-start shortcuts: each must behave exactly
as the plain way it replaces.

- runtimes/python/_powertune_runtime.py's JSON (the C scanner and encoder of
  _json driven directly, without importing the json package) against json.
- bootstrap.py loads the client from the checked-hash .pyc `make` builds; a
  missing, stale or foreign .pyc falls back to the source.
- The client's rare half (_powertune_runtime_rare.py) is not loaded by a
  successful invocation, and is loaded, from its own built .pyc, at the first
  error.

Run: /usr/bin/python3 -m unittest discover -s tests/python
"""

import ast
import decimal  # noqa: F401 (the values' expressions)
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME_DIR = os.path.join(ROOT, "runtimes", "python")
CLIENT = os.path.join(RUNTIME_DIR, "_powertune_runtime.py")
RARE = os.path.join(RUNTIME_DIR, "_powertune_runtime_rare.py")
PYTHON = os.environ.get("POWERTUNE_TEST_PYTHON") or sys.executable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_runtime import Event, RuntimeTestCase  # noqa: E402


def load_client():
    spec = importlib.util.spec_from_file_location("_powertune_runtime_under_test", CLIENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Runs in a fresh interpreter: json's modules must be absent, as at a cold start (the C
# scanner raises its errors only when json.decoder is imported). Prints the outcome of
# <function>(value) for each value of the Python expression on stdin as a repr'd list.
FRESH_DRIVER = """
import decimal, importlib.util, sys
spec = importlib.util.spec_from_file_location("_powertune_runtime_under_test", sys.argv[1])
rt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rt)
fn = eval(sys.argv[2])
values = eval(sys.stdin.read())
out = []
for value in values:
    for name in [m for m in sys.modules if m == "json" or m.startswith("json.")]:
        del sys.modules[name]
    try:
        result = fn(value)
        out.append((type(result).__name__, repr(result)))
    except Exception as e:
        out.append(("!" + type(e).__name__, str(e)))
sys.stdout.write(repr(out))
"""


class Odd(object):
    pass


def loop():
    lst = []
    lst.append(lst)
    return lst


def outcomes(fn, values):
    out = []
    for value in values:
        try:
            result = fn(value)
            out.append((type(result).__name__, repr(result)))
        except Exception as e:
            out.append(("!" + type(e).__name__, str(e)))
    return out


def raw_number_json(ensure_ascii, default):
    """json's encode with default, but the raw numbers default returns (str subclasses: the
    client's _RawNumber) are written as is, as simplejson writes a RawJSON."""
    def encode(value):
        raws = []

        def marking_default(obj):
            out = default(obj)
            if isinstance(out, str) and type(out) is not str:
                raws.append(str(out))
                return "\x00raw%d\x00" % (len(raws) - 1)
            return out
        text = json.JSONEncoder(ensure_ascii=ensure_ascii, default=marking_default).encode(value)
        for i, raw in enumerate(raws):
            text = text.replace(json.dumps("\x00raw%d\x00" % i), raw, 1)
        return text
    return encode


class JSONTest(unittest.TestCase):
    """The runtime's JSON (run in fresh interpreters) against json (run here)."""

    DOCUMENTS = [
        "{}", " {} ", "\t\n\r{}\r\n", "[]", "0", "-0", "1e400", "-1e400", "1.5", "12345678901234567890",
        '"x"', '"\\u00e9\\ud83d\\ude00"', '"\\ud800"', "null", "true", "false", "NaN", "Infinity",
        "-Infinity", '{"a": [1, 2.5, {"b": null}], "c": "d"}', '{"a": 1, "a": 2}',
        '{"k": "\u00e9\u4e2d\U0001f600"}', " " * 100 + "[1]",
        # errors: each must raise json's exception with json's message
        "", " ", "{", "[1,]", "{} x", "{} {}", "[1] 2", '{"a" 1}', '"\x01"', "nul", "01",
        "{'a': 1}", '"\\x"', "[" * 100000 + "]" * 100000,
    ]
    OTHER_BYTES = ("[s.encode(e) for s in ['{\"a\": \"\\u00e9\"}'] for e in ('utf-16-le', "
                   "'utf-16-be', 'utf-32-le', 'utf-32-be', 'utf-16', 'utf-32', 'utf-8-sig')] + "
                   "['\\ufeff{}', b'\\xef', b'\\xff\\xfe', b'\\x00', b'\\x00\\x00\\x00{', b'{\\x00', "
                   "b'\\xc3(', b'\\xed\\xa0\\x80']")
    VALUES = ("[{}, [], 's', '\\u00e9\\U0001f600\\x00\"\\\\', 1, -1.5, 1e300, float('inf'), "
              "float('nan'), True, None, 10 ** 30, {'a': [1, {'b': (2, 3)}]}, "
              "{1: 'int key', 2.5: 'f', True: 'b', None: 'n'}, {(1, 2): 'tuple key'}, "
              "{'o': Odd()}, loop(), decimal.Decimal('1.5'), [decimal.Decimal('2')], "
              "{'d': decimal.Decimal('NaN')}, {'d': decimal.Decimal('1E+2')}, b'bytes', {1, 2}, "
              "['s\\u00e9', decimal.Decimal('0.10'), {'k': decimal.Decimal('-Infinity')}]]")
    FRESH_PRELUDE = ("exec(%r) or " % ("class Odd(object):\n    pass\n\n\ndef loop():\n"
                                          "    lst = []\n    lst.append(lst)\n    return lst\n"))

    def fresh(self, function, values):
        out = subprocess.run([PYTHON, "-c", FRESH_DRIVER, CLIENT, function],
                             input=(self.FRESH_PRELUDE + values).encode(), capture_output=True,
                             check=True)
        return ast.literal_eval(out.stdout.decode())

    def compare(self, function, theirs, values):
        mine = self.fresh(function, values)
        expected = outcomes(theirs, eval(values))
        self.assertEqual(len(mine), len(expected))
        for i, (m, e) in enumerate(zip(mine, expected)):
            with self.subTest(function=function, value=i):
                self.assertEqual(m, e)

    def test_loads_matches_json(self):
        docs = repr(self.DOCUMENTS + [d.encode("utf-8", "surrogatepass") for d in self.DOCUMENTS])
        self.compare("rt._json_decoder()", json.loads, docs)

    def test_loads_other_encodings_and_boms(self):
        self.compare("rt._json_decoder()", json.loads, self.OTHER_BYTES)

    def test_encoders_match_json(self):
        json_default = load_client()._json_default
        for function, theirs in [
                ("rt._json_encoder(True)", json.JSONEncoder().encode),
                ("rt._json_encoder(False)", json.JSONEncoder(ensure_ascii=False).encode),
                ("rt._json_encoder(True, rt._json_default)", raw_number_json(True, json_default)),
                ("rt._json_encoder(False, rt._json_default)", raw_number_json(False, json_default))]:
            self.compare(function, theirs, self.VALUES)

    def test_encoder_after_a_failed_document(self):
        # a failed encode must not leave markers that make the next one "circular"
        encode = load_client()._json_encoder(True)
        shared = {"x": 1}
        self.assertRaises(TypeError, encode, [shared, object()])
        self.assertEqual(encode([shared, shared]), '[{"x": 1}, {"x": 1}]')


class FirstErrorTest(RuntimeTestCase):
    """traceback is imported at the first error: that error's document and log record are
    the same as any later one's."""

    def test_first_and_second_error_alike(self):
        files = {"lambda_function.py": """\
            import sys

            def lambda_handler(event, context):
                raise ValueError("traceback imported: %s" % ("traceback" in sys.modules))
            """}
        run = self.run_runtime(files, [Event("r1"), Event("r2")])
        first, second = [p.json() for p in run.posts()]
        self.assertEqual(first["errorMessage"], "traceback imported: False")
        self.assertEqual(second["errorMessage"], "traceback imported: True")
        self.assertEqual(first["errorType"], "ValueError")
        self.assertEqual(first["stackTrace"], second["stackTrace"])
        self.assertEqual(len(first["stackTrace"]), 1)
        self.assertIn("in lambda_handler\n    raise ValueError(", first["stackTrace"][0])
        logged = [line for line in run.stdout.splitlines() if line.startswith("[ERROR]")]
        self.assertEqual(logged, ["[ERROR] ValueError: traceback imported: False",
                                  "[ERROR] ValueError: traceback imported: True"])


class SpawnTest(RuntimeTestCase):
    def test_multiprocessing_spawn(self):
        # spawn (and forkserver, 3.14's default) import the main script again in the child:
        # bootstrap.py must not start a second runtime client there
        files = {"lambda_function.py": """\
            import multiprocessing

            def lambda_handler(event, context):
                with multiprocessing.get_context("spawn").Pool(1) as pool:
                    return {"r": pool.apply(abs, (-3,))}
            """}
        run = self.run_runtime(files, [Event("r1")], timeout=20)
        self.assertEqual(run.posts()[0].json(), {"r": 3})
        self.assertEqual(len(run.gets()), 2)  # the event's /next and the one answered 500


class PycTest(RuntimeTestCase):
    """bootstrap.py with the client's .pyc present, stale, foreign or missing."""

    WATCHED = ("json", "re", "traceback", "logging", "_powertune_runtime")
    HANDLER = {"lambda_function.py": """\
        import sys
        def lambda_handler(event, context):
            return {"modules": sorted(m for m in %r if m in sys.modules)}
        """ % (WATCHED,)}

    def started_bare(self):
        """Those of WATCHED the interpreter's own start imports (site, .pth files)."""
        out = subprocess.check_output([PYTHON, "-c", (
            "import sys; print(' '.join(sorted(m for m in %r if m in sys.modules)))"
            % (self.WATCHED,))], env={"PATH": "/usr/bin:/bin"})
        return {"modules": out.decode().split()}

    def runtime_copy(self):
        """A copy of runtimes/python without __pycache__, for this test to shape."""
        rt = os.path.join(self.tmp, "runtimes", "python")
        os.makedirs(rt)
        for name in ("bootstrap.py", "_powertune_runtime.py", "_powertune_runtime_rare.py"):
            shutil.copy(os.path.join(RUNTIME_DIR, name), rt)
        return rt

    def cache_tag(self):
        return subprocess.check_output(
            [PYTHON, "-c", "import sys; print(sys.implementation.cache_tag)"]).decode().strip()

    def pyc_path(self, rt, module="_powertune_runtime"):
        return os.path.join(rt, "__pycache__", "%s.%s.pyc" % (module, self.cache_tag()))

    def compile_pyc(self, source, pyc):
        """A checked-hash .pyc of source (a path) at pyc, by the runtime's interpreter."""
        subprocess.check_call([PYTHON, "-c", (
            "import py_compile as c, sys; c.compile(sys.argv[1], sys.argv[2], doraise=True, "
            "invalidation_mode=c.PycInvalidationMode.CHECKED_HASH)"), source, pyc])

    def marked_pyc(self, rt, mark_source_hash_of):
        """A .pyc whose code answers every invocation with {"pyc": "marked"} and whose header
        carries the source hash of mark_source_hash_of's text (a path)."""
        marked = os.path.join(self.tmp, "marked.py")
        with open(CLIENT) as f:
            text = f.read()
        text = text.replace("payload, content_type = marshal_response(result)",
                            "payload, content_type = b'{\"pyc\": \"marked\"}', 'application/json'")
        with open(marked, "w") as f:
            f.write(text)
        pyc = self.pyc_path(rt)
        self.compile_pyc(marked, pyc)
        header = subprocess.check_output([PYTHON, "-c", (
            "import _imp, importlib.util, sys; "
            "sys.stdout.buffer.write(_imp.source_hash(importlib.util._RAW_MAGIC_NUMBER, "
            "open(sys.argv[1], 'rb').read()))"), mark_source_hash_of])
        with open(pyc, "r+b") as f:
            f.seek(8)
            f.write(header)
        return pyc

    def invoke(self, rt):
        run = self.run_runtime(self.HANDLER, [Event("r1")], bootstrap=os.path.join(rt, "bootstrap.py"))
        self.assertEqual(run.rc, 1, run.stderr)  # the fake API's 500 after the events
        return run.posts()[0].json()

    def test_the_built_pyc_is_current_and_used(self):
        pyc = self.pyc_path(RUNTIME_DIR)
        self.assertTrue(os.path.exists(pyc), "%s is missing: run make" % pyc)
        rt = self.runtime_copy()
        os.makedirs(os.path.dirname(self.pyc_path(rt)))
        shutil.copy(pyc, self.pyc_path(rt))
        self.marked_pyc(rt, os.path.join(rt, "_powertune_runtime.py"))
        self.assertEqual(self.invoke(rt), {"pyc": "marked"})  # the .pyc, not the source, ran
        out = subprocess.run([PYTHON, "-c", (
            "import importlib.util as u, sys; sys.path.insert(0, sys.argv[1]); "
            "s = u.find_spec('_powertune_runtime'); "
            "print(s.loader.get_code('_powertune_runtime') is not None)"), RUNTIME_DIR],
            capture_output=True)
        self.assertEqual(out.stdout, b"True\n")
        for module, source_path in (("_powertune_runtime", CLIENT),
                                    ("_powertune_runtime_rare", RARE)):
            pyc = self.pyc_path(RUNTIME_DIR, module)
            self.assertTrue(os.path.exists(pyc), "%s is missing: run make" % pyc)
            with open(pyc, "rb") as f:
                header = f.read(16)
            with open(source_path, "rb") as f:
                source = f.read()
            expected = subprocess.check_output([PYTHON, "-c", (
                "import _imp, importlib.util, sys; "
                "sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER + b'\\x03\\x00\\x00\\x00' + "
                "_imp.source_hash(importlib.util._RAW_MAGIC_NUMBER, sys.stdin.buffer.read()))")],
                input=source)
            self.assertEqual(header, expected,
                             "%s is not of the current source: run make" % pyc)

    def test_rare_half_loaded_at_the_first_error_from_its_pyc(self):
        # The client's namespace, reached through bootstrap.py's `main` (the client itself is
        # not in sys.modules): FaultException is defined by the rare half only.
        handler = {"lambda_function.py": """\
            import sys
            def lambda_handler(event, context):
                rare = "FaultException" in sys.modules["__main__"].main.__globals__
                if event.get("fail"):
                    raise ValueError("boom")
                return {"rare": rare, "modules": sorted(
                    m for m in sys.modules if m.startswith("_powertune_runtime"))}
            """}
        rt = self.runtime_copy()
        self.compile_pyc(os.path.join(rt, "_powertune_runtime.py"), self.pyc_path(rt))
        # A rare half whose .pyc marks every error type, with the real source's hash: used only
        # if the loader takes the .pyc.
        marked = os.path.join(self.tmp, "marked_rare.py")
        with open(RARE) as f:
            text = f.read()
        marker = '"errorType": error_type if error_type else "",'
        self.assertIn(marker, text)
        text = text.replace(marker, '"errorType": "Marked" + error_type,', 1)
        with open(marked, "w") as f:
            f.write(text)
        rare_pyc = self.pyc_path(rt, "_powertune_runtime_rare")
        self.compile_pyc(marked, rare_pyc)
        header = subprocess.check_output([PYTHON, "-c", (
            "import _imp, importlib.util, sys; "
            "sys.stdout.buffer.write(_imp.source_hash(importlib.util._RAW_MAGIC_NUMBER, "
            "open(sys.argv[1], 'rb').read()))"), os.path.join(rt, "_powertune_runtime_rare.py")])
        with open(rare_pyc, "r+b") as f:
            f.seek(8)
            f.write(header)
        run = self.run_runtime(handler, [Event("r1"), Event("r2", {"fail": True}), Event("r3")],
                               bootstrap=os.path.join(rt, "bootstrap.py"))
        self.assertEqual(run.rc, 1, run.stderr)  # the fake API's 500 after the events
        posts = run.posts()
        self.assertEqual(posts[0].json(), {"rare": False, "modules": []})
        self.assertEqual(posts[1].json()["errorType"], "MarkedValueError")
        self.assertEqual(posts[2].json(), {"rare": True, "modules": []})

    def test_no_json_re_traceback_or_logging_at_start(self):
        rt = self.runtime_copy()
        self.compile_pyc(os.path.join(rt, "_powertune_runtime.py"), self.pyc_path(rt))
        self.assertEqual(self.invoke(rt), self.started_bare())

    def test_stale_pyc_is_not_used(self):
        rt = self.runtime_copy()
        other = os.path.join(self.tmp, "other.py")
        with open(other, "w") as f:
            f.write("# another version of the client\n")
        os.makedirs(os.path.dirname(self.pyc_path(rt)))
        self.marked_pyc(rt, other)
        self.assertEqual(self.invoke(rt), self.started_bare())

    def test_foreign_pyc_is_not_used(self):
        rt = self.runtime_copy()
        os.makedirs(os.path.dirname(self.pyc_path(rt)))
        pyc = self.marked_pyc(rt, os.path.join(rt, "_powertune_runtime.py"))
        with open(pyc, "r+b") as f:
            f.write(b"\x00\x00\r\n")  # another interpreter version's magic number
        self.assertEqual(self.invoke(rt), self.started_bare())

    def test_missing_pyc_compiles_and_writes_nothing(self):
        rt = self.runtime_copy()
        self.assertEqual(self.invoke(rt), self.started_bare())
        self.assertEqual(sorted(os.listdir(rt)),
                         ["_powertune_runtime.py", "_powertune_runtime_rare.py", "bootstrap.py"])


if __name__ == "__main__":
    unittest.main()
