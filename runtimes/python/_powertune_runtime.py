"""powertune Python runtime client.

Imported and run by bootstrap.py, which the engine starts as
`<python3> <runtime_dir>/python/bootstrap.py` with the function's code
directory as cwd (a module, unlike a script, is loaded from the .pyc `make`
builds, see bootstrap.py). Talks to the engine's Runtime API
(2018-06-01) at AWS_LAMBDA_RUNTIME_API and behaves like AWS Lambda's Python
runtime (awslambdaric): same handler resolution, error types and messages,
error documents, context object and logging format.

Standard library only; runs on any python3 >= 3.8. Everything a successful
invocation needs is imported during INIT, so it costs no imports. Two things
are imported only when first needed, as they cost a cold start milliseconds
that most functions would pay for nothing: logging (configured when the
function's code imports it; see _LoggingImportHook) and traceback (the first
error document; see _traceback). The same goes for this client's own code that
a successful invocation never runs: it is in _powertune_runtime_rare.py, loaded
at its first need (see _rare).

Optional: POWERTUNE_PYTHON_PROFILE_DIR=<dir> writes cProfile statistics of the
INIT (handler module import) to <dir>/init.prof and of every invocation to
<dir>/invoke-<request id>.prof (pstats format).
"""

import _thread
import io
import os
import sys

_THIS_FILE = os.path.abspath(__file__)
_RUNTIME_DIR = os.path.dirname(_THIS_FILE)
_USER_AGENT = "powertune-python/%d.%d.%d" % sys.version_info[:3]


# --------------------------------------------------------------------------
# The rare half: _powertune_runtime_rare.py
# --------------------------------------------------------------------------

# Error documents and their log records, FaultException, logging's set-up, the
# profiler, client contexts and chunked bodies are in _powertune_runtime_rare.py:
# importing this module is ~1.1-1.3 ms of every cold start, most of it reading and
# unmarshalling its .pyc, and that code was a third of the .pyc (57 -> 38 KB; the
# import -0.33 ms, median of 60 fresh processes in pairs; loading the rest at its
# first need costs ~0.37 ms once). Its code runs in this module's namespace (that
# file says why), the first time _rare() is called; the code here calls _rare()
# before it names anything defined there.
_rare_lock = _thread.allocate_lock()
_rare_loaded = False


def _rare():
    global _rare_loaded
    if _rare_loaded:
        return
    # Loaded by path, not imported: sys.path no longer holds this directory (the
    # function's code directory is first on it), and sys.modules gains nothing. The
    # loader uses the checked-hash .pyc `make` builds, as an import would.
    from importlib.machinery import SourceFileLoader
    with _rare_lock:  # the function's threads may need it at once (an error, a logging import)
        if not _rare_loaded:
            name = "_powertune_runtime_rare"
            code = SourceFileLoader(name, os.path.join(_RUNTIME_DIR, name + ".py")).get_code(name)
            exec(code, globals())
            _rare_loaded = True


# --------------------------------------------------------------------------
# Process set-up: import path and unbuffered output
# --------------------------------------------------------------------------

def _setup_sys_path():
    """LAMBDA_TASK_ROOT first, as on Lambda; the runtime's own directory is not
    importable by user code (it only holds this script). No __pycache__ is
    written into the code directory: /var/task is read-only on Lambda, so
    every cold start compiles what the package does not ship as .pyc."""
    sys.dont_write_bytecode = True
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    # bootstrap.py's directory, the one this module was found in: the same string (no
    # realpath's lstat per component) unless the runtime was started by another path
    if sys.path and (sys.path[0] == _RUNTIME_DIR or os.path.realpath(sys.path[0] or os.curdir)
                     == os.path.realpath(_RUNTIME_DIR)):
        del sys.path[0]
    sys.path.insert(0, task_root)


def _unbuffered(stream, fd):
    """A text stream over fd whose every write reaches the fd at once (what
    `python -u` gives): the engine reads stdout/stderr through pipes and orders
    them against the Runtime API calls."""
    try:
        errors = stream.errors if stream is not None else "strict"
        raw = io.FileIO(fd, "wb", closefd=False)
        return io.TextIOWrapper(raw, encoding="utf-8", errors=errors or "strict",
                                line_buffering=False, write_through=True)
    except (OSError, ValueError, AttributeError):
        return stream


def _flush_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Runtime API client: a minimal HTTP/1.1 client on one persistent socket.
# (http.client would pull in ssl and email at every cold start, ~30 ms, and
# the socket module another ~8 ms: the C module _socket is enough. AWS's own
# client avoids these imports too: it talks HTTP from C++.)
# The engine hands this client its first connection already made (descriptor
# _POWERTUNE_RUNTIME_API_FD, one end of a socketpair the Runtime API serves):
# importing _socket and connecting cost ~0.4-0.5 ms of a ~30 ms cold start
# (bench/RESULTS.md). Reads and writes go through the descriptor either way;
# _socket is imported only for a TCP connection to AWS_LAMBDA_RUNTIME_API,
# which is used when nothing was handed over or the handed one was closed.
# --------------------------------------------------------------------------

_S_IFMT, _S_IFSOCK = 0o170000, 0o140000


def _take_handed_connection(environ):
    """The handed connection's descriptor, or None; its variable leaves the
    function's environment (Lambda's has no such variable) and the descriptor
    is not inherited by the function's child processes."""
    value = environ.pop("_POWERTUNE_RUNTIME_API_FD", None)
    if value is None or not value.isdigit():
        return None
    fd = int(value)
    try:
        if os.fstat(fd).st_mode & _S_IFMT != _S_IFSOCK:
            return None
        os.set_inheritable(fd, False)
    except (OSError, OverflowError):
        return None
    return fd


def _write_all(fd, data):
    n = os.write(fd, data)
    if n < len(data):
        view = memoryview(data)[n:]
        while view:
            view = view[os.write(fd, view):]

class RuntimeAPIError(Exception):
    pass


class _Stale(Exception):
    """The server closed a kept-alive connection before answering."""


class _Response(object):
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body


_SAFE_PATH_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:@!$&'()*+,;=")


def _quote_path_segment(s):
    if all(c in _SAFE_PATH_CHARS for c in s):
        return s
    return "".join(c if c in _SAFE_PATH_CHARS else "".join("%%%02X" % b for b in c.encode("utf-8"))
                   for c in s)


def _header_value(v):
    return str(v).replace("\r", " ").replace("\n", " ").encode("utf-8")


class RuntimeAPIClient(object):
    def __init__(self, address, handed_fd=None):
        self.address = address
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise RuntimeAPIError("AWS_LAMBDA_RUNTIME_API must be host:port, got %r" % address)
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        self.handed_fd = handed_fd
        self.fd = None
        self.sock = None  # the TCP connection's socket object (None: the handed one)
        self.rfile = None
        self.prefix = ("Host: %s\r\nUser-Agent: %s\r\n" % (address, _USER_AGENT)).encode("latin-1")

    # -- connection ------------------------------------------------------
    def _open(self):
        if self.handed_fd is not None:
            # once: should the engine close it, the next connection is made over TCP
            self.fd, self.handed_fd = self.handed_fd, None
        else:
            import _socket
            family = _socket.AF_INET6 if ":" in self.host else _socket.AF_INET
            sock = _socket.socket(family, _socket.SOCK_STREAM)
            try:
                sock.connect((self.host, self.port))  # blocking, no timeout: /next long-polls
            except OSError:
                sock.close()
                raise
            try:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError:
                pass
            self.sock = sock
            self.fd = sock.fileno()
        # reads go through a buffered file on the descriptor, writes straight to it
        self.rfile = io.open(self.fd, "rb", closefd=False)

    def close(self):
        if self.rfile is not None:
            try:
                self.rfile.close()
            except OSError:
                pass
        try:
            if self.sock is not None:
                self.sock.close()
            elif self.fd is not None:
                os.close(self.fd)
        except OSError:
            pass
        self.fd = None
        self.sock = None
        self.rfile = None

    def request(self, method, path, body=None, headers=()):
        parts = [("%s %s HTTP/1.1\r\n" % (method, path)).encode("latin-1"), self.prefix]
        for name, value in headers:
            parts.append(name.encode("latin-1") + b": " + _header_value(value) + b"\r\n")
        if body is not None:
            parts.append(b"Content-Length: %d\r\n" % len(body))
        parts.append(b"\r\n")
        if body:
            parts.append(body)
        data = b"".join(parts)
        while True:
            reused = self.fd is not None
            if not reused:
                self._open()
            try:
                _write_all(self.fd, data)
                return self._read_response(method)
            except _Stale:
                self.close()
                if not reused:
                    raise RuntimeAPIError("%s %s: connection closed without a response" % (method, path))
            except OSError:
                self.close()
                if not reused:
                    raise
            # a reused connection went stale: try once more on a fresh one

    def _readline(self):
        line = self.rfile.readline(65537)
        if len(line) > 65536:
            raise RuntimeAPIError("Runtime API sent an over-long line")
        return line

    def _read_response(self, method):
        line = self._readline()
        if not line:
            raise _Stale()
        while True:
            fields = line.split(None, 2)
            if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
                self.close()
                raise RuntimeAPIError("Runtime API sent a bad status line: %r" % line[:200])
            status = int(fields[1])
            version = fields[0]
            headers = {}
            while True:
                h = self._readline()
                if not h:
                    self.close()
                    raise RuntimeAPIError("Runtime API closed the connection inside the headers")
                if h in (b"\r\n", b"\n"):
                    break
                name, sep, value = h.decode("latin-1").partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:  # interim response: the real one follows
                line = self._readline()
                if not line:
                    raise RuntimeAPIError("Runtime API closed the connection after an interim response")
                continue
            break

        conn = headers.get("connection", "").lower()
        close = "close" in conn or (version == b"HTTP/1.0" and "keep-alive" not in conn)
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            _rare()  # the engine's Runtime API sends none
            body = _read_chunked(self)
        elif "content-length" in headers:
            try:
                n = int(headers["content-length"])
            except ValueError:
                self.close()
                raise RuntimeAPIError("Runtime API sent a bad Content-Length")
            body = self.rfile.read(n) if n > 0 else b""
            if len(body) != n:
                self.close()
                raise RuntimeAPIError("Runtime API closed the connection inside a body")
        else:
            body = self.rfile.read()
            close = True
        if close:
            self.close()
        return _Response(status, headers, body)

    # -- Runtime API calls (error documents: _post_error, _post_init_error) --
    def next(self):
        return self.request("GET", "/2018-06-01/runtime/invocation/next")

    def post_response(self, request_id, body, content_type):
        return self.request("POST", "/2018-06-01/runtime/invocation/%s/response"
                            % _quote_path_segment(request_id), body,
                            (("Content-Type", content_type),))


# --------------------------------------------------------------------------
# Context object (attribute names and types as in awslambdaric; ClientContext
# is in the rare half)
# --------------------------------------------------------------------------

class CognitoIdentity(object):
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class LambdaContext(object):
    def __init__(self, request_id, client_context, cognito_identity, deadline_ms,
                 invoked_function_arn, tenant_id=None):
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, exactly as on AWS's python3 runtimes (they read the variable as is).
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        if isinstance(client_context, dict):
            _rare()  # only the mobile SDKs send a client context
            self.client_context = ClientContext(client_context)
        else:
            self.client_context = None
        if isinstance(cognito_identity, dict):
            self.identity = CognitoIdentity(cognito_identity.get("cognitoIdentityId"),
                                            cognito_identity.get("cognitoIdentityPoolId"))
        else:
            self.identity = CognitoIdentity()
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(_time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
                "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
                "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name,
                    self.function_name, self.memory_limit_in_mb, self.function_version,
                    self.invoked_function_arn, self.client_context, self.identity, self.tenant_id))


# --------------------------------------------------------------------------
# Logging (its set-up and the rest of the hook are in the rare half)
# --------------------------------------------------------------------------

_current = {"request_id": None, "tenant_id": None}


# Lambda's root log handler is installed the moment anything imports logging (the
# function's code or a library it uses, in INIT or later), not at every start:
# importing logging costs ~4 ms of a cold start (threading, weakref, string)
# that a function which never logs would pay for nothing. A one-shot finder at
# the head of sys.meta_path wraps logging's loader and configures the module
# right after it has run, before the importer's next statement.
_logging_config = None  # (log_format_json, log_level) until logging is configured


class _LoggingImportHook(object):
    # Asked first about every import until logging's: the others cost only this test.
    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        _rare()
        return _logging_spec(self, name, path, target)


def _defer_logging(log_format_json, log_level):
    global _logging_config
    _logging_config = (log_format_json, log_level)
    if "logging" in sys.modules:  # already imported (by a .pth file, sitecustomize)
        _rare()
        _configure_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _LoggingImportHook())


# --------------------------------------------------------------------------
# Marshalling
# --------------------------------------------------------------------------

# json.loads and json.JSONEncoder(...).encode without importing the json package: its
# decoder imports re, ~3 ms of a cold start. Both drive the C scanner and encoder of _json
# as json does (a one-shot encode without indent goes through c_make_encoder there too), so
# documents and errors are json's; tests/python compares them in fresh interpreters. Rare
# inputs (a BOM, UTF-16/32), invalid documents and interpreters without _json go to the json
# package itself.

def _json_not_serializable(obj):
    raise TypeError("Object of type %s is not JSON serializable" % obj.__class__.__name__)


class _RawNumber(str):
    """A number's own text, which the encoder writes as is (see _json_encoder)."""
    __slots__ = ()


class _RawNumberMet(Exception):
    pass


def _json_default(obj):
    """awslambdaric's: a Decimal is simplejson's RawJSON(str(d)), its exact text (1.10, 1E+2, 38
    digits), not a float's; a NaN Decimal is NaN. bytes are the text they hold in UTF-8
    (simplejson's encoding="utf-8")."""
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return float("nan")
        return _RawNumber(obj)
    return _json_not_serializable(obj)


def _json_encoder(ensure_ascii, default=_json_not_serializable):
    """json.JSONEncoder(ensure_ascii=ensure_ascii, default=default).encode, but a _RawNumber
    that default returns is written as is"""
    try:
        import _json
        quote = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring

        def quote_or_raw(s):
            return s if type(s) is _RawNumber else quote(s)

        def fast_default(obj):
            value = default(obj)
            if type(value) is _RawNumber:
                raise _RawNumberMet()
            return value

        def new_encoder(default, quote):
            # fresh markers per document, as json: a failed encode leaves ids behind
            return _json.make_encoder({}, default, quote, None, ": ", ", ", False, False, True)
        new_encoder(fast_default, quote)
    except (ImportError, AttributeError, TypeError):
        import json

        def float_default(obj):  # no _json: no raw text, the number's float
            value = default(obj)
            return float(value) if type(value) is _RawNumber else value
        return json.JSONEncoder(ensure_ascii=ensure_ascii, default=float_default).encode

    def encode(obj):
        # With C's quoting of strings, unless the document has a raw number: quoting through
        # Python costs every string a call, so only such documents pay it (encoded twice).
        try:
            return "".join(new_encoder(fast_default, quote)(obj, 0))
        except _RawNumberMet:
            return "".join(new_encoder(default, quote_or_raw)(obj, 0))
    return encode


class _JSONScanContext(object):
    """What json.JSONDecoder() hands the C scanner."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__
    memo = None


def _json_decoder():
    """json.loads, for str and bytes"""
    try:
        import _json
        scan_once = _json.make_scanner(_JSONScanContext())
    except (ImportError, AttributeError, TypeError):
        scan_once = None

    def json_loads(doc):
        if isinstance(doc, str):
            text = doc if not doc.startswith("\ufeff") else None
        elif doc[:1] not in (b"\xef", b"\xfe", b"\xff", b"\x00") and doc[1:2] != b"\x00":
            text = doc.decode("utf-8", "surrogatepass")  # what json.detect_encoding says then
        else:
            text = None
        if text is not None and scan_once is not None:
            try:
                obj, end = scan_once(text, len(text) - len(text.lstrip(" \t\n\r")))
            except Exception:
                # json's error, which the scanner cannot raise while json.decoder is not
                # imported: json parses again and says it
                pass
            else:
                if not text[end:].strip(" \t\n\r"):
                    return obj
        import json
        return json.loads(doc)
    return json_loads


_NON_ASCII_JSON_RUNTIMES = ("AWS_Lambda_python3.12", "AWS_Lambda_python3.13")


def marshal_response(result):
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return _response_encoder(result).encode("utf-8"), "application/json"
    except Exception as e:
        _rare()
        raise FaultException(FaultException.MARSHAL_ERROR, "Unable to marshal response: %s" % e)


def unmarshal_request(body):
    try:
        return _json_loads(body)
    except Exception as e:
        _rare()
        raise FaultException(FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % e)


def _parse_json_header(value, name):
    try:
        return _json_loads(value)
    except Exception as e:
        _rare()
        raise FaultException(FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
                             "Unable to parse %s JSON: %s" % (name, e))


# --------------------------------------------------------------------------
# INIT: resolve the handler
# --------------------------------------------------------------------------

def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        _rare()
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME,
                             "Bad handler '%s': %s" % (handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            _rare()
            raise FaultException(FaultException.BUILT_IN_MODULE_CONFLICT,
                                 "Cannot use built-in module %s as a handler module" % modname)
        module = _importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        _rare()
        raise FaultException(FaultException.IMPORT_MODULE_ERROR,
                             "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        _rare()
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(FaultException.USER_CODE_SYNTAX_ERROR,
                             "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        _rare()
        raise FaultException(FaultException.HANDLER_NOT_FOUND,
                             "Handler '%s' missing on module '%s'" % (fname, modname))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def _fatal(msg, code=1):
    _flush_output()
    try:
        sys.stderr.write("powertune runtime: %s\n" % msg)
    except Exception:
        pass
    os._exit(code)


def _check_post(resp, what):
    if 200 <= resp.status < 300:
        return
    _rare()
    _post_refused(resp, what)


def main():
    global _importlib, _time, _gmtime, _time_strftime
    global _json_loads, _json_dumps, _json_dumps_log, _response_encoder

    _setup_sys_path()
    sys.stdout = _unbuffered(sys.stdout, 1)
    sys.stderr = _unbuffered(sys.stderr, 2)

    import importlib
    import time
    _importlib = importlib
    _time, _gmtime, _time_strftime = time.time, time.gmtime, time.strftime
    _json_loads = _json_decoder()
    # awslambdaric's one Encoder writes responses and error documents (and JSON-format error
    # records) alike, ", " / ": ": non-ASCII characters kept on python3.12 and python3.13,
    # escaped on the other runtimes (its lambda_runtime_marshaller.py and that file's tests)
    ascii_only = os.environ.get("AWS_EXECUTION_ENV") not in _NON_ASCII_JSON_RUNTIMES
    _json_dumps = _json_encoder(ascii_only)
    _json_dumps_log = _json_encoder(False)
    _response_encoder = _json_encoder(ascii_only, _json_default)

    log_format_json = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    log_level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if log_level == "TRACE":
        log_level = "DEBUG"
    _defer_logging(log_format_json, log_level)

    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        _fatal("AWS_LAMBDA_RUNTIME_API is not set")
    try:
        api = RuntimeAPIClient(address, _take_handed_connection(os.environ))
    except RuntimeAPIError as e:
        _fatal(str(e))

    profile_dir = os.environ.get("POWERTUNE_PYTHON_PROFILE_DIR")
    profiler = None
    if profile_dir:
        _rare()
        try:
            profiler = _Profiler(profile_dir)
        except Exception as e:
            sys.stderr.write("powertune runtime: profiling disabled: %s\n" % e)

    # ---- INIT ----
    prof = profiler.start() if profiler else None
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
        init_error = None
    except Exception as e:
        _rare()
        init_error = error_document(e)
    finally:
        if prof is not None:
            profiler.save(prof, "init")
    # imported past the hook (a finder ahead of it): configure now
    if _logging_config is not None and "logging" in sys.modules:
        _rare()
        _configure_logging(sys.modules["logging"])
    if init_error is not None:
        _report_init_error(api, init_error, log_format_json)
        sys.exit(1)

    # ---- invocations ----
    environ = os.environ
    while True:
        _flush_output()
        try:
            resp = api.next()
        except (OSError, RuntimeAPIError) as e:
            _fatal("GET /next failed: %s" % e)
        if resp.status != 200:
            _fatal("GET /next answered %d: %s" % (resp.status, resp.body[:500].decode("utf-8", "replace")))
        h = resp.headers
        request_id = h.get("lambda-runtime-aws-request-id", "")
        tenant_id = h.get("lambda-runtime-aws-tenant-id")
        _current["request_id"] = request_id
        _current["tenant_id"] = tenant_id
        trace_id = h.get("lambda-runtime-trace-id")
        if trace_id:
            environ["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in environ:
            del environ["_X_AMZN_TRACE_ID"]

        error = None
        prof = None
        try:
            try:
                deadline_ms = int(h.get("lambda-runtime-deadline-ms") or 0)
            except ValueError:
                deadline_ms = 0
            client_context = h.get("lambda-runtime-client-context")
            cognito = h.get("lambda-runtime-cognito-identity")
            context = LambdaContext(
                request_id,
                _parse_json_header(client_context, "Client Context") if client_context else None,
                _parse_json_header(cognito, "Cognito Identity") if cognito else None,
                deadline_ms,
                h.get("lambda-runtime-invoked-function-arn"),
                tenant_id)
            if profiler is not None:
                prof = profiler.start()
            event = unmarshal_request(resp.body)
            result = handler(event, context)
            payload, content_type = marshal_response(result)
        except Exception as e:
            _rare()
            error = error_document(e, request_id)
        finally:
            if prof is not None:
                prof.disable()

        try:
            if error is not None:
                _report_error(api, request_id, error, log_format_json)
            else:
                _flush_output()
                _check_post(api.post_response(request_id, payload, content_type), "POST /response")
        except (OSError, RuntimeAPIError) as e:
            _fatal("posting the result failed: %s" % e)
        if prof is not None:
            profiler.save(prof, "invoke-" + request_id)
        error = result = event = context = payload = resp = h = None

