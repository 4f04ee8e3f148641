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
error document; see _traceback).

Optional: POWERTUNE_PYTHON_PROFILE_DIR=<dir> writes cProfile statistics of the
INIT (handler module import) to <dir>/init.prof and of every invocation to
<dir>/invoke-<request id>.prof (pstats format).
"""

import _socket
import io
import os
import sys

_THIS_FILE = os.path.abspath(__file__)
_RUNTIME_DIR = os.path.dirname(_THIS_FILE)
_USER_AGENT = "powertune-python/%d.%d.%d" % sys.version_info[:3]

# Lambda's reserved text (awslambdaric lambda_literals.py), logged at WARNING
# level before an INIT error is reported.
_UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this "
    "error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)

_NBSP = "\u00a0"  # Lambda indents logged tracebacks with NO-BREAK SPACEs


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
# --------------------------------------------------------------------------

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
    def __init__(self, address):
        self.address = address
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise RuntimeAPIError("AWS_LAMBDA_RUNTIME_API must be host:port, got %r" % address)
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        self.sock = None
        self.rfile = None
        self.prefix = ("Host: %s\r\nUser-Agent: %s\r\n" % (address, _USER_AGENT)).encode("latin-1")

    # -- connection ------------------------------------------------------
    def _open(self):
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
        # reads go through a buffered file on the socket's fd, writes through sendall
        self.rfile = io.open(sock.fileno(), "rb", closefd=False)

    def close(self):
        if self.rfile is not None:
            try:
                self.rfile.close()
            except OSError:
                pass
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
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
            reused = self.sock is not None
            if not reused:
                self._open()
            try:
                self.sock.sendall(data)
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
            body = self._read_chunked()
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

    def _read_chunked(self):
        chunks = []
        while True:
            line = self._readline()
            if not line:
                raise RuntimeAPIError("Runtime API closed the connection inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise RuntimeAPIError("Runtime API sent a bad chunk size")
            if size == 0:
                while True:  # trailers
                    t = self._readline()
                    if not t or t in (b"\r\n", b"\n"):
                        return b"".join(chunks)
            data = self.rfile.read(size)
            if len(data) != size:
                raise RuntimeAPIError("Runtime API closed the connection inside a chunk")
            chunks.append(data)
            self._readline()  # CRLF after the chunk

    # -- Runtime API calls -------------------------------------------------
    def next(self):
        return self.request("GET", "/2018-06-01/runtime/invocation/next")

    def post_response(self, request_id, body, content_type):
        return self.request("POST", "/2018-06-01/runtime/invocation/%s/response"
                            % _quote_path_segment(request_id), body,
                            (("Content-Type", content_type),))

    def post_error(self, request_id, error_doc_json, error_type):
        return self.request("POST", "/2018-06-01/runtime/invocation/%s/error"
                            % _quote_path_segment(request_id), error_doc_json.encode("utf-8"),
                            (("Content-Type", "application/json"),
                             ("Lambda-Runtime-Function-Error-Type", error_type)))

    def post_init_error(self, error_doc_json, error_type):
        return self.request("POST", "/2018-06-01/runtime/init/error", error_doc_json.encode("utf-8"),
                            (("Content-Type", "application/json"),
                             ("Lambda-Runtime-Function-Error-Type", error_type)))


# --------------------------------------------------------------------------
# Context object (attribute names and types as in awslambdaric)
# --------------------------------------------------------------------------

class CognitoIdentity(object):
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client(object):
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code",
                 "app_package_name")

    def __init__(self, d):
        for name in self.__slots__:
            setattr(self, name, d.get(name))

    def __repr__(self):
        return "Client([%s])" % ",".join("%s=%s" % (n, getattr(self, n)) for n in self.__slots__)


class ClientContext(object):
    __slots__ = ("custom", "env", "client")

    def __init__(self, d):
        self.custom = d.get("custom")
        self.env = d.get("env")
        client = d.get("client")
        self.client = Client(client) if isinstance(client, dict) else client

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (self.custom, self.env, self.client)


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
        self.client_context = ClientContext(client_context) if isinstance(client_context, dict) else None
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
# Errors
# --------------------------------------------------------------------------

class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        Exception.__init__(self, msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


def make_error(error_message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _traceback():
    """The traceback module, imported at the first error rather than at every
    start (with linecache, tokenize, re's users and textwrap it costs ~2-3 ms of
    a cold start; an error document costs that once, see tests/python)."""
    import traceback
    return traceback


def _user_frames(tb):
    """The traceback's frames from the first one outside this file on, as
    (filename, lineno, name, line) tuples."""
    frames = _traceback().extract_tb(tb)
    for i, frame in enumerate(frames):
        if frame.filename != _THIS_FILE:
            return frames[i:]
    return frames


def error_from_exception(exc, request_id=None):
    """Lambda's error document for an exception raised by user code."""
    try:
        message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    try:
        stack = _traceback().format_list(_user_frames(exc.__traceback__))
    except Exception:
        stack = []
    return make_error(message, type(exc).__name__, stack, request_id)


def _write_stdout(text):
    try:
        sys.stdout.write(text)
    except Exception:
        try:
            os.write(1, text.encode("utf-8", "replace"))
        except OSError:
            pass


def _indent_nbsp(line):
    stripped = line.lstrip(" ")
    return _NBSP * (len(line) - len(stripped)) + stripped


def format_error_log_text(error):
    """The log record Lambda writes for an error document (text format)."""
    description = "[ERROR]"
    etype = error.get("errorType")
    emsg = error.get("errorMessage")
    if etype:
        description += " " + etype
    if emsg:
        if etype:
            description += ":"
        description += " " + emsg
    lines = [description]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
            else:
                lines.extend(_indent_nbsp(l) for l in element.splitlines())
    return "\n".join(lines) + "\n"


def format_error_log_json(error):
    doc = {"timestamp": _time_strftime("%Y-%m-%dT%H:%M:%S", _gmtime(_time())), "level": "ERROR"}
    doc.update(error)
    return _json_dumps(doc) + "\n"


# --------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------

_current = {"request_id": None, "tenant_id": None}

_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

_JSON_RESERVED = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "aws_request_id", "tenant_id",
    "taskName",
))


# Lambda's root log handler is installed the moment anything imports logging (the
# function's code or a library it uses, in INIT or later), not at every start:
# importing logging costs ~4 ms of a cold start (threading, weakref, string)
# that a function which never logs would pay for nothing. A one-shot finder at
# the head of sys.meta_path wraps logging's loader and configures the module
# right after it has run, before the importer's next statement.
_logging_config = None  # (log_format_json, log_level) until logging is configured


def _configure_logging(logging):
    global _logging_config
    config, _logging_config = _logging_config, None
    if config is not None:
        _setup_logging(logging, *config)
    return logging


def _ensure_logging():
    import logging
    return _configure_logging(logging)


class _ConfigureAfterLoad(object):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # logging sees its own loader, as if imported without this hook
        module.__loader__ = self.loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _configure_logging(module)


class _LoggingImportHook(object):
    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ConfigureAfterLoad(spec.loader)
        return spec


def _defer_logging(log_format_json, log_level):
    global _logging_config
    _logging_config = (log_format_json, log_level)
    if "logging" in sys.modules:  # already imported (by a .pth file, sitecustomize)
        _configure_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _LoggingImportHook())


def _setup_logging(logging, log_format_json, log_level):
    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current["request_id"] or ""
            record.tenant_id = _current["tenant_id"]
            return True

    class StdoutHandler(logging.Handler):
        """Writes each record to the current sys.stdout, one write per record."""

        def emit(self, record):
            try:
                msg = self.format(record)
                if not msg.endswith("\n"):
                    msg += "\n"
                sys.stdout.write(msg)
            except RecursionError:
                raise
            except Exception:
                self.handleError(record)

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            level = min(50, max(0, record.levelno)) // 10 * 10
            exc_info = record.exc_info
            created = record.created
            doc = {
                "timestamp": _time_strftime(_DATE_FORMAT, _gmtime(created))
                + ".%03dZ" % (int(created * 1000) % 1000),
                "level": logging.getLevelName(level),
                "message": record.getMessage(),
                "logger": record.name,
            }
            if exc_info and exc_info[0] is not None:
                doc["stackTrace"] = _traceback().format_tb(exc_info[2])
                doc["errorType"] = exc_info[0].__name__
                doc["errorMessage"] = str(exc_info[1])
            rid = getattr(record, "aws_request_id", None)
            if rid is not None:
                doc["requestId"] = rid
            if exc_info and exc_info[0] is not None:
                doc["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
            tenant = getattr(record, "tenant_id", None)
            if tenant is not None:
                doc["tenantId"] = tenant
            for key, value in record.__dict__.items():
                if key not in _JSON_RESERVED and key not in doc and value is not None:
                    doc[key] = value
            return _json_dumps_log(doc)

    logging.Formatter.converter = _gmtime  # as Lambda does: UTC timestamps everywhere
    handler = StdoutHandler()
    if log_format_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT, _DATE_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    if log_level and log_level in logging._nameToLevel:
        root.setLevel(log_level)
    root.addHandler(handler)
    return logging


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


def _json_default(obj):
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return float("nan")
        if obj.is_finite() and obj == obj.to_integral_value() and obj.as_tuple().exponent >= 0:
            return int(obj)
        return float(obj)
    return _json_not_serializable(obj)


def _json_encoder(ensure_ascii, default=_json_not_serializable):
    """json.JSONEncoder(ensure_ascii=ensure_ascii, default=default).encode"""
    try:
        import _json
        quote = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring

        def new_encoder():
            # fresh markers per document, as json: a failed encode leaves ids behind
            return _json.make_encoder({}, default, quote, None, ": ", ", ", False, False, True)
        new_encoder()
    except (ImportError, AttributeError, TypeError):
        import json
        return json.JSONEncoder(ensure_ascii=ensure_ascii, default=default).encode

    def encode(obj):
        return "".join(new_encoder()(obj, 0))
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


def marshal_response(result):
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return _response_encoder(result).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(FaultException.MARSHAL_ERROR, "Unable to marshal response: %s" % e)


def unmarshal_request(body):
    try:
        return _json_loads(body)
    except Exception as e:
        raise FaultException(FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % e)


def _parse_json_header(value, name):
    try:
        return _json_loads(value)
    except Exception as e:
        raise FaultException(FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
                             "Unable to parse %s JSON: %s" % (name, e))


# --------------------------------------------------------------------------
# INIT: resolve the handler
# --------------------------------------------------------------------------

def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME,
                             "Bad handler '%s': %s" % (handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(FaultException.BUILT_IN_MODULE_CONFLICT,
                                 "Cannot use built-in module %s as a handler module" % modname)
        module = _importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(FaultException.IMPORT_MODULE_ERROR,
                             "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(FaultException.USER_CODE_SYNTAX_ERROR,
                             "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(FaultException.HANDLER_NOT_FOUND,
                             "Handler '%s' missing on module '%s'" % (fname, modname))


# --------------------------------------------------------------------------
# Profiling (only when POWERTUNE_PYTHON_PROFILE_DIR is set)
# --------------------------------------------------------------------------

class _Profiler(object):
    def __init__(self, directory):
        import cProfile
        self.cProfile = cProfile
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    def start(self):
        prof = self.cProfile.Profile()
        try:
            prof.enable()
        except ValueError:  # another profiler is active (python >= 3.12)
            return None
        return prof

    def save(self, prof, name):
        if prof is None:
            return
        try:
            prof.disable()
            safe = "".join(c if (c.isalnum() or c in "-_.") else "_" for c in name)
            prof.dump_stats(os.path.join(self.directory, safe + ".prof"))
        except Exception as e:
            sys.stderr.write("powertune runtime: cannot write profile %s: %s\n" % (name, e))


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
    if resp.status >= 500:
        _fatal("%s answered %d: %s" % (what, resp.status, resp.body[:500].decode("utf-8", "replace")))
    sys.stderr.write("powertune runtime: %s answered %d: %s\n"
                     % (what, resp.status, resp.body[:500].decode("utf-8", "replace")))


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
    _json_dumps = _json_encoder(True)  # awslambdaric's error documents: ASCII, ", " / ": "
    _json_dumps_log = _json_encoder(False)
    # awslambdaric keeps non-ASCII characters in responses only on python3.12
    _response_encoder = _json_encoder(
        os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12", _json_default)

    log_format_json = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    log_level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if log_level == "TRACE":
        log_level = "DEBUG"
    _defer_logging(log_format_json, log_level)
    format_error_log = format_error_log_json if log_format_json else format_error_log_text

    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        _fatal("AWS_LAMBDA_RUNTIME_API is not set")
    try:
        api = RuntimeAPIClient(address)
    except RuntimeAPIError as e:
        _fatal(str(e))

    profile_dir = os.environ.get("POWERTUNE_PYTHON_PROFILE_DIR")
    profiler = None
    if profile_dir:
        try:
            profiler = _Profiler(profile_dir)
        except Exception as e:
            sys.stderr.write("powertune runtime: profiling disabled: %s\n" % e)

    # ---- INIT ----
    prof = profiler.start() if profiler else None
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
        init_error = None
    except FaultException as e:
        init_error = make_error(e.msg, e.exception_type, e.trace)
    except Exception as e:
        init_error = error_from_exception(e)
    finally:
        if prof is not None:
            profiler.save(prof, "init")
    if "logging" in sys.modules:  # imported past the hook (a finder ahead of it): configure now
        _configure_logging(sys.modules["logging"])
    if init_error is not None:
        _ensure_logging().warning(_UNHANDLED_WARNING)
        _write_stdout(format_error_log(init_error))
        _flush_output()
        try:
            api.post_init_error(_json_dumps(init_error), init_error["errorType"])
        except Exception as e:
            sys.stderr.write("powertune runtime: cannot post the init error: %s\n" % e)
        _flush_output()
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
        except FaultException as e:
            error = make_error(e.msg, e.exception_type, e.trace, request_id)
        except Exception as e:
            error = error_from_exception(e, request_id)
        finally:
            if prof is not None:
                prof.disable()

        try:
            if error is not None:
                _write_stdout(format_error_log(error))
                _flush_output()
                _check_post(api.post_error(request_id, _json_dumps(error), error["errorType"]),
                            "POST /error")
            else:
                _flush_output()
                _check_post(api.post_response(request_id, payload, content_type), "POST /response")
        except (OSError, RuntimeAPIError) as e:
            _fatal("posting the result failed: %s" % e)
        if prof is not None:
            profiler.save(prof, "invoke-" + request_id)
        error = result = event = context = payload = resp = h = None

