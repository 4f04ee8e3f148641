# powertune Python runtime client, its rare half: what a successful invocation never runs.
#
# Error documents and their log records, the LAMBDA_WARNING of an INIT error, logging's set-up
# (when the function's code imports logging), the profiler (POWERTUNE_PYTHON_PROFILE_DIR),
# client contexts (only the mobile SDKs send one) and chunked bodies (the engine sends none).
# They were part of _powertune_runtime.py, whose import is ~1.3 ms of every cold start, most of
# it reading and unmarshalling the .pyc (a fresh process pays for every page it touches); this
# code was a third of that .pyc. _rare() in _powertune_runtime.py loads it at its first need,
# from the checked-hash .pyc `make` builds beside the client's (or from this source, as any
# import does).
#
# Not a module of its own: its code runs in _powertune_runtime's namespace, as if it were still
# in that file. So it uses the client's globals (os, sys, _time, _json_dumps, _current,
# _logging_config, _flush_output, _check_post, ...) and sets them, without imports; its classes
# keep the client's __module__; and sys.modules gains nothing the function's code would not see
# (bootstrap.py removes the client from it for that reason). Also why this text is a comment: a
# docstring would replace the client's __doc__.


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
# Runtime API client: what the engine's Runtime API never needs
# --------------------------------------------------------------------------

def _read_chunked(client):
    """A chunked body from client's connection (RuntimeAPIClient._read_response)."""
    chunks = []
    while True:
        line = client._readline()
        if not line:
            raise RuntimeAPIError("Runtime API closed the connection inside a chunked body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise RuntimeAPIError("Runtime API sent a bad chunk size")
        if size == 0:
            while True:  # trailers
                t = client._readline()
                if not t or t in (b"\r\n", b"\n"):
                    return b"".join(chunks)
        data = client.rfile.read(size)
        if len(data) != size:
            raise RuntimeAPIError("Runtime API closed the connection inside a chunk")
        chunks.append(data)
        client._readline()  # CRLF after the chunk


def _error_body(error):
    """The error document's bytes. On python3.12 and 3.13 its text keeps non-ASCII characters;
    a message holding a lone surrogate (bytes os.fsdecode could not decode) has no UTF-8 form,
    and is then written \\u-escaped, as on the other runtimes, rather than ending the runtime."""
    try:
        return _json_dumps(error).encode("utf-8")
    except UnicodeEncodeError:
        return _json_encoder(True)(error).encode("ascii")


def _post_error(api, request_id, error, error_type):
    return api.request("POST", "/2018-06-01/runtime/invocation/%s/error"
                       % _quote_path_segment(request_id), _error_body(error),
                       (("Content-Type", "application/json"),
                        ("Lambda-Runtime-Function-Error-Type", error_type)))


def _post_init_error(api, error, error_type):
    return api.request("POST", "/2018-06-01/runtime/init/error", _error_body(error),
                       (("Content-Type", "application/json"),
                        ("Lambda-Runtime-Function-Error-Type", error_type)))


def _post_refused(resp, what):
    """A result or error document the Runtime API did not take (a result over 6 MB: 413).
    awslambdaric posts both through aws-lambda-cpp, which logs this line on stdout (with the
    answer: awslambdaric's aws-lambda-cpp-logging-error.patch); its runtime_client then raises
    RuntimeError, which nothing catches: the runtime ends with the traceback (exit status 1)."""
    _write_stdout("[ERROR] [%d] LAMBDA_RUNTIME Failed to post handler success response. "
                  "Http response code: %d. %s\n"
                  % (int(_time() * 1000), resp.status, resp.body.decode("utf-8", "replace")))
    _flush_output()
    raise RuntimeError("Failed to post invocation response" if what == "POST /response"
                       else "Failed to post invocation error")


# --------------------------------------------------------------------------
# Context object: the client context (attribute names and types as in awslambdaric)
# --------------------------------------------------------------------------

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


def error_document(exc, request_id=None):
    """The error document for what INIT or an invocation raised: the runtime's own
    FaultException says its type, message and trace; any other exception is user code's."""
    if isinstance(exc, FaultException):
        return make_error(exc.msg, exc.exception_type, exc.trace, request_id)
    return error_from_exception(exc, request_id)


def _traceback():
    """The traceback module, imported at the first error rather than at every
    start (with linecache, tokenize, re's users and textwrap it costs ~2-3 ms of
    a cold start; an error document costs that once, see tests/python)."""
    import traceback
    return traceback


def _user_frames(tb):
    """The traceback's frames from the first one outside the client on, as
    (filename, lineno, name, line) tuples. (The frames of this file's code are
    never among them: user code's exceptions are raised below the client's main.)
    Plain tuples, as awslambdaric's: they carry no column positions, so python >= 3.11
    formats them without its ~~~^^^ marker lines, as Lambda's stackTrace has them."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in _traceback().extract_tb(tb)]
    for i, frame in enumerate(frames):
        if frame[0] != _THIS_FILE:
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


def _report_init_error(api, error, log_format_json):
    """The INIT error: Lambda's warning and the error's log record, then the error document
    (output flushed first, so the engine has it before it sees the error)."""
    format_error_log = format_error_log_json if log_format_json else format_error_log_text
    _ensure_logging().warning(_UNHANDLED_WARNING)
    _write_stdout(format_error_log(error))
    _flush_output()
    try:
        _post_init_error(api, error, error["errorType"])
    except Exception as e:
        sys.stderr.write("powertune runtime: cannot post the init error: %s\n" % e)
    _flush_output()


def _report_error(api, request_id, error, log_format_json):
    """An invocation's error: its log record, then the error document (output flushed
    first). OSError and RuntimeAPIError reach the caller."""
    format_error_log = format_error_log_json if log_format_json else format_error_log_text
    _write_stdout(format_error_log(error))
    _flush_output()
    _check_post(_post_error(api, request_id, error, error["errorType"]),
                "POST /error")


# --------------------------------------------------------------------------
# Logging (_logging_config, _current and the one-shot _LoggingImportHook stay in the client)
# --------------------------------------------------------------------------

_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

_JSON_RESERVED = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "aws_request_id", "tenant_id",
))  # awslambdaric's; python >= 3.12's taskName is not among them (logged inside an asyncio task)


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


def _logging_spec(hook, name, path, target):
    """_LoggingImportHook.find_spec for logging: the hook leaves sys.meta_path, and the spec
    the finders after it give has its loader wrapped to configure the module once loaded."""
    try:
        sys.meta_path.remove(hook)
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
