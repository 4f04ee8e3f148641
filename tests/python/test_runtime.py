"""Unit tests of runtimes/python/bootstrap.py.

Run: /usr/bin/python3 -m unittest discover -s tests/python

Each test starts bootstrap.py as a subprocess against a small Runtime API
server (http.server in a thread) that stands in for the engine only here, and
checks exactly what the runtime sent. POWERTUNE_TEST_PYTHON selects another
interpreter for the runtime (e.g. a python3.8), default: this one.
"""

import json
import os
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOTSTRAP = os.path.join(ROOT, "runtimes", "python", "bootstrap.py")
EXAMPLES = os.path.join(ROOT, "examples")
PYTHON = os.environ.get("POWERTUNE_TEST_PYTHON") or sys.executable
PREFIX = "/2018-06-01/runtime"
NBSP = "\u00a0"
MAX_POST_BYTES = 6 * 1024 * 1024 + 100


class Event(object):
    def __init__(self, request_id, body=b"{}", headers=None, deadline_in_ms=60000):
        self.request_id = request_id
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + deadline_in_ms),
            "Lambda-Runtime-Invoked-Function-Arn":
                "arn:aws:lambda:us-east-1:123456789012:function:fn",
            "Content-Type": "application/json",
        }
        self.headers.update(headers or {})


class Recorded(object):
    def __init__(self, method, path, headers, body, client, stdout_at_arrival):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.client = client
        self.stdout_at_arrival = stdout_at_arrival

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "%s %s %r" % (self.method, self.path, self.body[:200])


class FakeRuntimeAPI(object):
    """Serves the queued events one per /next; when they run out, answers /next
    with 500 (Container error), after which the runtime must exit."""

    def __init__(self, events, stdout_path):
        self.events = list(events)
        self.requests = []
        self.stdout_path = stdout_path
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _record(self, body):
                with open(api.stdout_path, "rb") as f:
                    seen = f.read().decode("utf-8", "replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with api.lock:
                    api.requests.append(Recorded(self.command, self.path, headers, body,
                                                 self.client_address, seen))

            def _send(self, status, body, headers=None, close=False):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                if close:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._record(b"")
                if self.path != PREFIX + "/invocation/next":
                    self._send(404, b'{"errorMessage":"not found"}')
                    return
                with api.lock:
                    event = api.events.pop(0) if api.events else None
                if event is None:
                    self._send(500, b'{"errorMessage":"Container error. Non-recoverable state.",'
                                    b'"errorType":"Runtime.Test"}', close=True)
                    return
                self._send(200, event.body, event.headers)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                self._record(body)
                if n > MAX_POST_BYTES:  # as RIE and the engine answer
                    self._send(413, b'{"errorMessage":"Exceeded maximum allowed payload size '
                                    b'(6291556 bytes).","errorType":"RequestEntityTooLarge"}')
                    return
                self._send(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.server.server_address[1]

    def hand_connection(self):
        """A connection already made, as the engine hands one over: the server serves one
        end (its requests are recorded with client "handed"); the other is returned."""
        server_end, runtime_end = socket.socketpair()
        self.server.process_request(server_end, "handed")
        return runtime_end

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Run(object):
    def __init__(self, rc, stdout, stderr, requests, code_dir):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.requests = requests
        self.code_dir = code_dir

    def posts(self):
        return [r for r in self.requests if r.method == "POST"]

    def gets(self):
        return [r for r in self.requests if r.method == "GET"]


class RuntimeTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pt-pyrt-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write_code(self, files):
        code = os.path.join(self.tmp, "code")
        for name, text in files.items():
            path = os.path.join(code, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(textwrap.dedent(text))
        return code

    def run_runtime(self, files=None, events=(), handler="lambda_function.lambda_handler",
                    env=None, code_dir=None, timeout=30, bootstrap=BOOTSTRAP, handed=False):
        if code_dir is None:
            code_dir = self.write_code(files or {})
        out_path = os.path.join(self.tmp, "stdout")
        err_path = os.path.join(self.tmp, "stderr")
        open(out_path, "w").close()
        api = FakeRuntimeAPI(events, out_path)
        self.addCleanup(api.stop)
        full_env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": code_dir,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(os.path.dirname(BOOTSTRAP)),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        full_env.update(env or {})
        conn = api.hand_connection() if handed else None
        if conn is not None:
            full_env["_POWERTUNE_RUNTIME_API_FD"] = str(conn.fileno())
            full_env["TEST_HANDED_FD"] = str(conn.fileno())
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen([PYTHON, bootstrap], cwd=code_dir, env=full_env,
                                    stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    pass_fds=(conn.fileno(),) if conn is not None else ())
            if conn is not None:
                conn.close()
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
        with open(out_path, "rb") as f:
            stdout = f.read().decode("utf-8", "replace")  # a function may write any bytes
        with open(err_path, "rb") as f:
            stderr = f.read().decode("utf-8")
        with api.lock:
            requests = list(api.requests)
        return Run(rc, stdout, stderr, requests, code_dir)


HELLO = {
    "lambda_function.py": """\
        import os

        def lambda_handler(event, context):
            print("hello from the handler")
            cc = context.client_context
            return {
                "event": event,
                "aws_request_id": context.aws_request_id,
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
                "cognito_identity_id": context.identity.cognito_identity_id,
                "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
                "client_context": None if cc is None else {
                    "installation_id": cc.client.installation_id,
                    "app_title": cc.client.app_title,
                    "custom": cc.custom,
                    "env": cc.env,
                },
                "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                "cwd": os.getcwd(),
            }
        """,
}


class SuccessTest(RuntimeTestCase):
    def test_response_and_context(self):
        cc = {"client": {"installation_id": "inst-1", "app_title": "app"},
              "custom": {"k": "v"}, "env": {"platform": "linux"}}
        events = [
            Event("req-1", {"a": 1, "s": "\u00e9"}, {
                "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
                "Lambda-Runtime-Client-Context": json.dumps(cc),
                "Lambda-Runtime-Cognito-Identity": json.dumps(
                    {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}),
            }, deadline_in_ms=30000),
            Event("req-2", [1, 2, 3]),
        ]
        run = self.run_runtime(HELLO, events)
        self.assertEqual(run.rc, 1, run.stderr)  # exits after the 500 on /next
        gets, posts = run.gets(), run.posts()
        self.assertEqual(len(gets), 3)
        self.assertEqual([p.path for p in posts],
                         [PREFIX + "/invocation/req-1/response", PREFIX + "/invocation/req-2/response"])
        first = posts[0]
        self.assertEqual(first.headers["content-type"], "application/json")
        self.assertEqual(int(first.headers["content-length"]), len(first.body))
        self.assertNotIn("lambda-runtime-function-error-type", first.headers)
        body = first.json()
        self.assertEqual(body["event"], {"a": 1, "s": "\u00e9"})
        self.assertIn(b'"s": "\\u00e9"', first.body)  # ASCII JSON, as awslambdaric before 3.12
        self.assertEqual(body["aws_request_id"], "req-1")
        self.assertEqual(body["function_name"], "fn")
        self.assertEqual(body["function_version"], "$LATEST")
        self.assertEqual(body["invoked_function_arn"], "arn:aws:lambda:us-east-1:123456789012:function:fn")
        self.assertEqual(body["memory_limit_in_mb"], "128")
        self.assertEqual(body["log_group_name"], "/aws/lambda/fn")
        self.assertTrue(body["log_stream_name"].startswith("2024/01/01/[$LATEST]"))
        self.assertTrue(20000 < body["remaining"] <= 30000, body["remaining"])
        self.assertEqual(body["cognito_identity_id"], "id-1")
        self.assertEqual(body["cognito_identity_pool_id"], "pool-1")
        self.assertEqual(body["client_context"], {"installation_id": "inst-1", "app_title": "app",
                                                  "custom": {"k": "v"}, "env": {"platform": "linux"}})
        self.assertEqual(body["trace"], "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1")
        self.assertEqual(body["cwd"], run.code_dir)
        second = posts[1].json()
        self.assertEqual(second["event"], [1, 2, 3])
        self.assertIsNone(second["trace"])  # cleared when the header is absent
        self.assertIsNone(second["client_context"])
        self.assertIsNone(second["cognito_identity_id"])
        # one persistent connection for every call
        self.assertEqual(len({r.client for r in run.requests}), 1)
        # output is flushed before the result is posted
        self.assertIn("hello from the handler\n", posts[0].stdout_at_arrival)
        self.assertEqual(run.stdout.count("hello from the handler\n"), 2)

    def test_garbage_collector_as_in_a_bare_interpreter(self):
        # bootstrap.py imports the client with the collector off and moves its objects to the
        # oldest generation: the function must find the collector on, nothing frozen, the
        # default thresholds and a collection that still frees its cycles, in INIT and after.
        files = {"lambda_function.py": """\
            import gc

            def state():
                class Node(object):
                    pass
                a, b = Node(), Node()
                a.other, b.other = b, a  # a cycle only the collector frees
                del a, b
                return {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                        "threshold": list(gc.get_threshold()), "freed": gc.collect() >= 2}

            AT_INIT = state()

            def lambda_handler(event, context):
                return {"init": AT_INIT, "invoke": state()}
            """}
        run = self.run_runtime(files, [Event("r1")])
        body = run.posts()[0].json()
        bare = subprocess.run([PYTHON, "-c", "import gc; print(list(gc.get_threshold()))"],
                              capture_output=True, text=True, check=True).stdout
        expected = {"enabled": True, "frozen": 0, "threshold": json.loads(bare), "freed": True}
        self.assertEqual(body, {"init": expected, "invoke": expected}, run.stderr)

    def test_bytes_none_and_remaining_time_floor(self):
        files = {"lambda_function.py": """\
            def as_bytes(event, context):
                return b"raw\\x00bytes"

            def nothing(event, context):
                return context.get_remaining_time_in_millis()
            """}
        run = self.run_runtime(files, [Event("r1")], handler="lambda_function.as_bytes")
        post = run.posts()[0]
        self.assertEqual(post.headers["content-type"], "application/unknown")
        self.assertEqual(post.body, b"raw\x00bytes")
        run = self.run_runtime(files, [Event("r2", deadline_in_ms=-5000)], handler="lambda_function.nothing")
        self.assertEqual(run.posts()[0].body, b"0")

    def test_decimal_and_nan(self):
        files = {"lambda_function.py": """\
            from decimal import Decimal
            def lambda_handler(event, context):
                return {"i": Decimal("12"), "f": Decimal("1.5"), "n": float("nan")}
            """}
        run = self.run_runtime(files, [Event("r1")])
        self.assertEqual(run.posts()[0].body, b'{"i": 12, "f": 1.5, "n": NaN}')

    def test_decimal_written_as_its_own_text(self):
        # awslambdaric encodes a Decimal as simplejson's RawJSON(str(d)): its exact text, not
        # a float's (DynamoDB's numbers reach handlers as Decimals of up to 38 digits)
        files = {"lambda_function.py": """\
            from decimal import Decimal
            def lambda_handler(event, context):
                return {"a": Decimal("1.10"), "b": Decimal("1E+2"), "s": "\u00e9 1.10",
                        "c": [Decimal("0.1000000000000000000000000001"), Decimal("-0")],
                        "d": Decimal("-Infinity"), "n": Decimal("NaN"), "i": Decimal("12")}
            """}
        run = self.run_runtime(files, [Event("r1")])
        self.assertEqual(run.posts()[0].body,
                         b'{"a": 1.10, "b": 1E+2, "s": "\\u00e9 1.10", '
                         b'"c": [0.1000000000000000000000000001, -0], "d": -Infinity, "n": NaN, '
                         b'"i": 12}')

    def test_nested_bytes_are_utf8_text(self):
        # awslambdaric's simplejson encodes bytes as the text they hold in UTF-8 (its
        # encoding="utf-8"); bytes that are not UTF-8 are a marshal error
        files = {"lambda_function.py": """\
            def lambda_handler(event, context):
                if event.get("bad"):
                    return [b"\\xff"]
                return {"body": b"caf\\xc3\\xa9", "list": [b"", b"x"]}
            """}
        run = self.run_runtime(files, [Event("r1"), Event("r2", {"bad": True})])
        ok, bad = run.posts()
        self.assertEqual(ok.body, b'{"body": "caf\\u00e9", "list": ["", "x"]}')
        self.assertEqual(bad.json()["errorType"], "Runtime.MarshalError")
        self.assertEqual(bad.json()["errorMessage"], "Unable to marshal response: 'utf-8' codec "
                         "can't decode byte 0xff in position 0: invalid start byte")

    def test_handler_in_package_path_forms(self):
        files = {"pkg/__init__.py": "", "pkg/mod.py": """\
            def func(event, context):
                return "pkg ok"
            """}
        for handler in ("pkg/mod.func", "pkg.mod.func"):
            run = self.run_runtime(files, [Event("r1")], handler=handler)
            self.assertEqual(run.posts()[0].body, b'"pkg ok"', (handler, run.stdout, run.stderr))

    def test_module_code_runs_once(self):
        files = {"lambda_function.py": """\
            COUNT = []
            print("init ran")
            def lambda_handler(event, context):
                COUNT.append(1)
                return len(COUNT)
            """}
        run = self.run_runtime(files, [Event("r1"), Event("r2"), Event("r3")])
        self.assertEqual([p.body for p in run.posts()], [b"1", b"2", b"3"])
        self.assertEqual(run.stdout.count("init ran"), 1)
        # INIT output is out before the first /next
        self.assertIn("init ran\n", run.gets()[0].stdout_at_arrival)

    def test_task_root_first_on_sys_path(self):
        files = {"lambda_function.py": """\
            import sys
            def lambda_handler(event, context):
                return sys.path[:2]
            """}
        run = self.run_runtime(files, [Event("r1")])
        path = run.posts()[0].json()
        self.assertEqual(path[0], run.code_dir)
        self.assertNotIn(os.path.dirname(BOOTSTRAP), path)


class ErrorTest(RuntimeTestCase):
    def test_handler_exception(self):
        run = self.run_runtime(code_dir=os.path.join(EXAMPLES, "error-python"), events=[Event("req-e")])
        posts = run.posts()
        self.assertEqual(len(posts), 1)
        post = posts[0]
        self.assertEqual(post.path, PREFIX + "/invocation/req-e/error")
        self.assertEqual(post.headers["lambda-runtime-function-error-type"], "Exception")
        self.assertEqual(post.headers["content-type"], "application/json")
        path = os.path.join(EXAMPLES, "error-python", "lambda_function.py")
        frame = '  File "%s", line 5, in lambda_handler\n    raise Exception("Handler fails")\n' % path
        self.assertEqual(post.json(), {
            "errorMessage": "Handler fails",
            "errorType": "Exception",
            "requestId": "req-e",
            "stackTrace": [frame],
        })
        # key order and separators as awslambdaric's encoder
        self.assertTrue(post.body.startswith(b'{"errorMessage": "Handler fails", "errorType": "Exception", '
                                             b'"requestId": "req-e", "stackTrace": ['), post.body)
        expected_log = ("[ERROR] Exception: Handler fails\n"
                        "Traceback (most recent call last):\n"
                        + NBSP * 2 + 'File "%s", line 5, in lambda_handler\n' % path
                        + NBSP * 4 + 'raise Exception("Handler fails")\n')
        self.assertEqual(run.stdout, expected_log)
        self.assertEqual(post.stdout_at_arrival, expected_log)

    def test_nested_frames_and_custom_type(self):
        files = {"lambda_function.py": """\
            class MyError(Exception):
                pass

            def helper(x):
                raise MyError("bad %d" % x)

            def lambda_handler(event, context):
                helper(event["x"])
            """}
        run = self.run_runtime(files, [Event("r1", {"x": 7})])
        post = run.posts()[0]
        self.assertEqual(post.headers["lambda-runtime-function-error-type"], "MyError")
        doc = post.json()
        self.assertEqual(doc["errorMessage"], "bad 7")
        self.assertEqual(len(doc["stackTrace"]), 2)
        self.assertIn("in lambda_handler\n    helper(event[\"x\"])\n", doc["stackTrace"][0])
        self.assertIn("in helper\n    raise MyError(\"bad %d\" % x)\n", doc["stackTrace"][1])
        self.assertNotIn("bootstrap.py", post.body.decode())
        self.assertNotIn("_powertune_runtime", post.body.decode())

    def test_stack_trace_has_no_position_markers(self):
        # awslambdaric formats (file, line, name, text) tuples, which carry no column
        # positions: python >= 3.11's ~~~^^^ lines never appear in Lambda's stackTrace
        files = {"lambda_function.py": """\
            def lambda_handler(event, context):
                value = event["missing"] + 1
                return value
            """}
        run = self.run_runtime(files, [Event("r1", {})])
        doc = run.posts()[0].json()
        path = os.path.join(run.code_dir, "lambda_function.py")
        self.assertEqual(doc["stackTrace"], [
            '  File "%s", line 2, in lambda_handler\n    value = event["missing"] + 1\n' % path])
        self.assertNotIn("^", run.stdout)

    def test_non_ascii_kept_on_python312_and_313(self):
        # awslambdaric's one Encoder writes responses, error documents and JSON-format error
        # records: non-ASCII characters as they are on python3.12 and 3.13, escaped elsewhere
        files = {"lambda_function.py": """\
            def lambda_handler(event, context):
                if event.get("fail"):
                    raise ValueError("\\u00e9t\\u00e9")
                return {"s": "\\u00e9t\\u00e9"}
            """}
        for runtime, kept in (("python3.11", False), ("python3.12", True), ("python3.13", True),
                              ("python3.14", False)):
            run = self.run_runtime(files, [Event("r1"), Event("r2", {"fail": True})],
                                   env={"AWS_EXECUTION_ENV": "AWS_Lambda_" + runtime,
                                        "AWS_LAMBDA_LOG_FORMAT": "JSON"})
            ok, err = run.posts()
            text = "\u00e9t\u00e9" if kept else "\\u00e9t\\u00e9"
            self.assertEqual(ok.body.decode("utf-8"), '{"s": "%s"}' % text, runtime)
            self.assertIn('"errorMessage": "%s"' % text, err.body.decode("utf-8"), runtime)
            self.assertIn('"level": "ERROR", "errorMessage": "%s"' % text, run.stdout, runtime)

    def test_lone_surrogate_in_a_message_on_python312(self):
        # no UTF-8 form: the document is \\u-escaped, and the runtime goes on
        files = {"lambda_function.py": """\
            def lambda_handler(event, context):
                if event.get("fail"):
                    raise ValueError("bad \\udcff byte \\u00e9")
                return "next"
            """}
        run = self.run_runtime(files, [Event("r1", {"fail": True}), Event("r2")],
                               env={"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"})
        err, ok = run.posts()
        self.assertIn(b'"errorMessage": "bad \\udcff byte \\u00e9"', err.body)
        self.assertEqual(ok.body, b'"next"')

    def test_marshal_error(self):
        files = {"lambda_function.py": """\
            def lambda_handler(event, context):
                return {"s": {1, 2}}
            """}
        run = self.run_runtime(files, [Event("r1")])
        post = run.posts()[0]
        self.assertEqual(post.path, PREFIX + "/invocation/r1/error")
        self.assertEqual(post.headers["lambda-runtime-function-error-type"], "Runtime.MarshalError")
        self.assertEqual(post.json(), {
            "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
            "errorType": "Runtime.MarshalError",
            "requestId": "r1",
            "stackTrace": [],
        })
        self.assertEqual(run.stdout, "[ERROR] Runtime.MarshalError: Unable to marshal response: "
                                     "Object of type set is not JSON serializable\n"
                                     "Traceback (most recent call last):\n")

    def test_unmarshal_error(self):
        run = self.run_runtime(HELLO, [Event("r1", b"{not json")])
        post = run.posts()[0]
        self.assertEqual(post.headers["lambda-runtime-function-error-type"], "Runtime.UnmarshalError")
        doc = post.json()
        self.assertEqual(doc["errorType"], "Runtime.UnmarshalError")
        self.assertTrue(doc["errorMessage"].startswith("Unable to unmarshal input: Expecting property name"),
                        doc["errorMessage"])
        self.assertEqual(doc["stackTrace"], [])

    def test_bad_client_context(self):
        run = self.run_runtime(HELLO, [Event("r1", {}, {"Lambda-Runtime-Client-Context": "{"})])
        doc = run.posts()[0].json()
        self.assertEqual(doc["errorType"], "Runtime.LambdaContextUnmarshalError")
        self.assertTrue(doc["errorMessage"].startswith("Unable to parse Client Context JSON: "))

    def test_environment_survives_an_error(self):
        files = {"lambda_function.py": """\
            def lambda_handler(event, context):
                if event.get("fail"):
                    raise ValueError("boom")
                return "ok"
            """}
        run = self.run_runtime(files, [Event("r1", {"fail": True}), Event("r2", {})])
        self.assertEqual([p.path.rsplit("/", 1)[1] for p in run.posts()], ["error", "response"])


class InitErrorTest(RuntimeTestCase):
    def assert_init_error(self, run, error_type, message, stack=None):
        self.assertNotEqual(run.rc, 0)
        self.assertEqual(run.gets(), [], "no /next after an init error")
        posts = run.posts()
        self.assertEqual(len(posts), 1, posts)
        post = posts[0]
        self.assertEqual(post.path, PREFIX + "/init/error")
        self.assertEqual(post.headers["lambda-runtime-function-error-type"], error_type)
        doc = post.json()
        self.assertEqual(doc["errorType"], error_type)
        self.assertEqual(doc["errorMessage"], message)
        self.assertEqual(doc["requestId"], "")
        if stack is not None:
            self.assertEqual(doc["stackTrace"], stack)
        self.assertRegex(run.stdout.splitlines()[0],
                         r"^\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t\tLAMBDA_WARNING: "
                         r"Unhandled exception\. The most likely cause is an issue in the function code\.")
        self.assertIn("\n[ERROR] %s: %s\nTraceback (most recent call last):\n" % (error_type, message),
                      run.stdout)
        self.assertEqual(post.stdout_at_arrival, run.stdout)
        return doc

    def test_import_module_error(self):
        run = self.run_runtime(code_dir=os.path.join(EXAMPLES, "import-error-python"), events=[Event("r1")])
        self.assert_init_error(run, "Runtime.ImportModuleError",
                               "Unable to import module 'lambda_function': "
                               "No module named 'module_that_does_not_exist'", [])
        self.assertTrue(run.stdout.endswith("Traceback (most recent call last):\n"))

    def test_missing_handler_module(self):
        run = self.run_runtime({"other.py": ""}, [Event("r1")], handler="app.handler")
        self.assert_init_error(run, "Runtime.ImportModuleError",
                               "Unable to import module 'app': No module named 'app'", [])

    def test_handler_not_found(self):
        run = self.run_runtime({"lambda_function.py": "def other(e, c):\n    pass\n"}, [Event("r1")])
        self.assert_init_error(run, "Runtime.HandlerNotFound",
                               "Handler 'lambda_handler' missing on module 'lambda_function'", [])

    def test_malformed_handler_name(self):
        run = self.run_runtime(HELLO, [Event("r1")], handler="nodots")
        self.assert_init_error(run, "Runtime.MalformedHandlerName",
                               "Bad handler 'nodots': not enough values to unpack (expected 2, got 1)", [])

    def test_builtin_module_conflict(self):
        run = self.run_runtime(HELLO, [Event("r1")], handler="sys.handler")
        self.assert_init_error(run, "Runtime.BuiltInModuleConflict",
                               "Cannot use built-in module sys as a handler module", [])

    def test_syntax_error(self):
        run = self.run_runtime({"lambda_function.py": "def lambda_handler(event, context)\n    return 1\n"},
                               [Event("r1")])
        post = run.posts()[0]
        doc = post.json()
        self.assertEqual(doc["errorType"], "Runtime.UserCodeSyntaxError")
        self.assertTrue(doc["errorMessage"].startswith("Syntax error in module 'lambda_function': "),
                        doc["errorMessage"])
        self.assertIn("(lambda_function.py, line 1)", doc["errorMessage"])
        path = os.path.join(run.code_dir, "lambda_function.py")
        self.assertEqual(len(doc["stackTrace"]), 1)
        self.assertTrue(doc["stackTrace"][0].startswith('  File "%s" Line 1\n    def lambda_handler' % path),
                        doc["stackTrace"])
        self.assert_init_error(run, "Runtime.UserCodeSyntaxError", doc["errorMessage"])

    def test_exception_in_module_code(self):
        run = self.run_runtime({"lambda_function.py": "x = 1\nraise RuntimeError('init boom')\n"},
                               [Event("r1")])
        doc = self.assert_init_error(run, "RuntimeError", "init boom")
        stack = doc["stackTrace"]
        path = os.path.join(run.code_dir, "lambda_function.py")
        self.assertIn("importlib", stack[0])  # as on Lambda: from import_module down
        self.assertEqual(stack[-1], '  File "%s", line 2, in <module>\n'
                                    "    raise RuntimeError('init boom')\n" % path)
        self.assertNotIn("bootstrap.py", "".join(stack))
        self.assertNotIn("_powertune_runtime", "".join(stack))


class LifecycleTest(RuntimeTestCase):
    def test_sys_exit_in_handler_ends_the_runtime(self):
        files = {"lambda_function.py": """\
            import sys
            def lambda_handler(event, context):
                print("about to exit")
                sys.exit(3)
            """}
        run = self.run_runtime(files, [Event("r1"), Event("r2")])
        self.assertEqual(run.rc, 3)
        self.assertEqual(run.posts(), [])
        self.assertEqual(len(run.gets()), 1)
        self.assertEqual(run.stdout, "about to exit\n")

    def test_refused_result_ends_the_runtime(self):
        # A result over 6 MB is answered 413: awslambdaric logs aws-lambda-cpp's line with the
        # answer on stdout, then its runtime_client's RuntimeError, uncaught, ends the runtime.
        files = {"lambda_function.py": """\
            def lambda_handler(event, context):
                return "x" * (7 * 1024 * 1024)
            """}
        run = self.run_runtime(files, [Event("r1"), Event("r2")])
        self.assertEqual(run.rc, 1)
        self.assertEqual(len(run.posts()), 1)
        self.assertEqual(len(run.gets()), 1)
        self.assertRegex(run.stdout, r'^\[ERROR\] \[\d{13}\] LAMBDA_RUNTIME Failed to post handler '
                         r'success response\. Http response code: 413\. \{"errorMessage":"Exceeded '
                         r'maximum allowed payload size \(6291556 bytes\)\.","errorType":'
                         r'"RequestEntityTooLarge"\}\n$')
        self.assertTrue(run.stderr.endswith("\nRuntimeError: Failed to post invocation response\n"),
                        run.stderr)

    def test_self_kill_ends_the_runtime(self):
        files = {"lambda_function.py": """\
            import os, signal
            def lambda_handler(event, context):
                os.kill(os.getpid(), signal.SIGKILL)
            """}
        run = self.run_runtime(files, [Event("r1")])
        self.assertEqual(run.rc, -9)
        self.assertEqual(run.posts(), [])

    def test_reconnects_when_the_server_closes_the_connection(self):
        # The fake server closes the connection after the 500; here we check the
        # other direction: a response with Connection: close is followed by a
        # fresh connection for the next call.
        files = {"lambda_function.py": "def lambda_handler(e, c):\n    return 1\n"}
        events = [Event("r1", {}, {"Connection": "close"}), Event("r2")]
        run = self.run_runtime(files, events)
        self.assertEqual([p.path for p in run.posts()],
                         [PREFIX + "/invocation/r1/response", PREFIX + "/invocation/r2/response"])
        self.assertGreaterEqual(len({r.client for r in run.requests}), 2)


HANDED_CODE = {"lambda_function.py": """\
    import os

    def lambda_handler(event, context):
        fd = os.environ.get("TEST_HANDED_FD")
        try:
            inherited = os.get_inheritable(int(fd)) if fd else None
        except OSError:
            inherited = "closed"
        return {
            "variable": os.environ.get("_POWERTUNE_RUNTIME_API_FD"),
            "inherited_by_children": inherited,
            "_socket_imported": "_socket" in __import__("sys").modules,
        }
    """}


class HandedConnectionTest(RuntimeTestCase):
    """The engine hands the client a connected socket (_POWERTUNE_RUNTIME_API_FD)."""

    def test_every_call_on_the_handed_connection(self):
        run = self.run_runtime(HANDED_CODE, [Event("r1"), Event("r2")], handed=True)
        self.assertEqual(run.rc, 1, run.stderr)
        self.assertEqual(len(run.requests), 5)  # 3 GETs, 2 POSTs
        self.assertEqual({r.client for r in run.requests}, {"handed"})
        for post in run.posts():
            # the function sees neither the variable nor a descriptor its children inherit
            self.assertEqual(post.json(), {"variable": None, "inherited_by_children": False,
                                           "_socket_imported": False})

    def test_tcp_after_the_handed_connection_closes(self):
        events = [Event("r1", {}, {"Connection": "close"}), Event("r2")]
        run = self.run_runtime(HANDED_CODE, events, handed=True)
        self.assertEqual([p.path for p in run.posts()],
                         [PREFIX + "/invocation/r1/response", PREFIX + "/invocation/r2/response"])
        clients = [r.client for r in run.requests]
        self.assertEqual(clients[0], "handed")
        self.assertTrue(all(c != "handed" for c in clients[1:]), clients)
        self.assertEqual(len(set(clients[1:])), 1)  # then one TCP connection, kept alive
        self.assertEqual(run.posts()[0].json()["_socket_imported"], False)
        self.assertEqual(run.posts()[1].json()["inherited_by_children"], "closed")
        self.assertEqual(run.posts()[1].json()["_socket_imported"], True)  # only for TCP

    def test_a_descriptor_that_is_no_socket_is_ignored(self):
        for value in ("0", "99", "x", "99999999999999999999"):
            run = self.run_runtime(HANDED_CODE, [Event("r1")],
                                   env={"_POWERTUNE_RUNTIME_API_FD": value})
            self.assertEqual(run.rc, 1, run.stderr)
            self.assertEqual(len(run.posts()), 1, (value, run.stderr))
            self.assertNotIn("handed", {r.client for r in run.requests})
            self.assertIsNone(run.posts()[0].json()["variable"])


LOGGING_CODE = {"lambda_function.py": """\
    import logging
    logging.getLogger().warning("at init")

    def lambda_handler(event, context):
        logger = logging.getLogger("app")
        logger.info("info line")
        logger.warning("warn %s", "line")
        try:
            raise KeyError("k")
        except KeyError:
            logger.exception("caught")
        return "done"
    """}

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class LoggingTest(RuntimeTestCase):
    def test_text_format_default_level(self):
        run = self.run_runtime(LOGGING_CODE, [Event("req-log")])
        lines = run.stdout.splitlines()
        self.assertRegex(lines[0], r"^\[WARNING\]\t%s\t\tat init$" % TS)
        self.assertRegex(lines[1], r"^\[WARNING\]\t%s\treq-log\twarn line$" % TS)
        self.assertRegex(lines[2], r"^\[ERROR\]\t%s\treq-log\tcaught$" % TS)
        self.assertEqual(lines[3], "Traceback (most recent call last):")
        self.assertEqual(lines[-1], "KeyError: 'k'")
        self.assertNotIn("info line", run.stdout)  # root logger stays at WARNING
        self.assertTrue(run.stdout.endswith("\n"))

    def test_text_format_level_from_env(self):
        run = self.run_runtime(LOGGING_CODE, [Event("req-log")], env={"AWS_LAMBDA_LOG_LEVEL": "INFO"})
        self.assertRegex(run.stdout, r"(?m)^\[INFO\]\t%s\treq-log\tinfo line$" % TS)
        run = self.run_runtime(LOGGING_CODE, [Event("req-log")], env={"AWS_LAMBDA_LOG_LEVEL": "ERROR"})
        self.assertNotIn("warn line", run.stdout)
        self.assertIn("\tcaught\n", run.stdout)

    def test_json_format(self):
        run = self.run_runtime(LOGGING_CODE, [Event("req-j")],
                               env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        records = [json.loads(l) for l in run.stdout.splitlines()]
        self.assertEqual(len(records), 4, run.stdout)
        first = records[0]
        self.assertRegex(first.pop("timestamp"), "^%s$" % TS)
        self.assertEqual(first, {"level": "WARNING", "message": "at init", "logger": "root",
                                 "requestId": ""})
        info = records[1]
        self.assertEqual((info["level"], info["message"], info["logger"], info["requestId"]),
                         ("INFO", "info line", "app", "req-j"))
        exc = records[3]
        self.assertEqual(exc["errorType"], "KeyError")
        self.assertEqual(exc["errorMessage"], "'k'")
        self.assertTrue(exc["location"].endswith("lambda_function.py:lambda_handler:11"), exc["location"])
        self.assertEqual(len(exc["stackTrace"]), 1)

    def test_json_format_keeps_the_task_name(self):
        # awslambdaric's reserved fields do not include python 3.12's LogRecord.taskName: a
        # record logged inside an asyncio task carries it (None, outside one, is left out)
        files = {"lambda_function.py": """\
            import logging

            class InTask(logging.Filter):
                def filter(self, record):
                    record.taskName = "Task-1"  # what python >= 3.12 sets inside a task
                    return True

            def lambda_handler(event, context):
                log = logging.getLogger("app")
                log.warning("outside")
                log.addFilter(InTask())
                log.warning("inside")
            """}
        run = self.run_runtime(files, [Event("r1")], env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
        outside, inside = [json.loads(l) for l in run.stdout.splitlines()]
        self.assertNotIn("taskName", outside)
        self.assertEqual(inside["taskName"], "Task-1")
        self.assertEqual(list(inside)[-1], "taskName")

    def test_json_format_error_record(self):
        run = self.run_runtime(code_dir=os.path.join(EXAMPLES, "error-python"), events=[Event("r1")],
                               env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
        rec = json.loads(run.stdout)
        self.assertRegex(rec.pop("timestamp"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        self.assertEqual(rec["level"], "ERROR")
        self.assertEqual(rec["errorType"], "Exception")
        self.assertEqual(rec["requestId"], "r1")
        self.assertEqual(len(rec["stackTrace"]), 1)


class ProfileTest(RuntimeTestCase):
    def test_profiles_written_when_enabled(self):
        prof_dir = os.path.join(self.tmp, "prof")
        files = {"lambda_function.py": """\
            def work(n):
                return sum(i * i for i in range(n))

            def lambda_handler(event, context):
                return work(1000)
            """}
        run = self.run_runtime(files, [Event("a-1"), Event("b/2")],
                               env={"POWERTUNE_PYTHON_PROFILE_DIR": prof_dir})
        self.assertEqual(len(run.posts()), 2, run.stderr)
        self.assertEqual(sorted(os.listdir(prof_dir)), ["init.prof", "invoke-a-1.prof", "invoke-b_2.prof"])
        stats = pstats.Stats(os.path.join(prof_dir, "invoke-a-1.prof"))
        names = {func[2] for func in stats.stats}
        self.assertIn("work", names)
        self.assertIn("lambda_handler", names)
        init = pstats.Stats(os.path.join(prof_dir, "init.prof"))
        self.assertIn("import_module", {func[2] for func in init.stats})

    def test_no_profiles_by_default(self):
        files = {"lambda_function.py": """\
            import sys
            def lambda_handler(event, context):
                return "cProfile" in sys.modules
            """}
        run = self.run_runtime(files, [Event("r1")])
        self.assertEqual(run.posts()[0].body, b"false")


class ExamplesTest(RuntimeTestCase):
    def run_example(self, name, event):
        return self.run_runtime(code_dir=os.path.join(EXAMPLES, name), events=[Event("r1", event)])

    def test_fibonacci(self):
        doc = self.run_example("fibonacci-python", {"n": 1000}).posts()[0].json()
        self.assertEqual(doc["iterations"], 1000)
        self.assertEqual(doc["steps"], 100)
        self.assertEqual(doc["checksum"], (354224848179261915075 * 1000) % 1000000007)

    def test_handler_sleep(self):
        t0 = time.time()
        doc = self.run_example("handler-sleep-python", {"seconds": 0.2}).posts()[0].json()
        self.assertEqual((doc["slept_in"], doc["seconds"]), ("handler", 0.2))
        self.assertLess(time.time() - t0, 10)

    def test_init_sleep(self):
        run = self.run_runtime(code_dir=os.path.join(EXAMPLES, "init-sleep-python"),
                               events=[Event("r1"), Event("r2")])
        docs = [p.json() for p in run.posts()]
        self.assertEqual([d["slept_in"] for d in docs], ["init", "init"])
        self.assertEqual(docs[0]["created_at"], docs[1]["created_at"])  # built once, during INIT

    def test_no_bytecode_written_into_the_code_directory(self):
        run = self.run_runtime({"lambda_function.py": "def lambda_handler(e, c):\n    return 1\n"},
                               [Event("r1")])
        self.assertEqual(os.listdir(run.code_dir), ["lambda_function.py"])

    def test_alloc(self):
        doc = self.run_example("alloc-python", {"mb": 8}).posts()[0].json()
        self.assertEqual(doc, {"allocated_mb": 8, "bytes": 8 * 1024 * 1024})

    def test_timeout_example_sleeps(self):
        doc = self.run_example("timeout-python", {"seconds": 0.1}).posts()[0].json()
        self.assertEqual(doc, {"slept": 0.1})


if __name__ == "__main__":
    unittest.main()
