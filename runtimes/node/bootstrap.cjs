/**
 * powertune Node.js runtime client.
 *
 * Started by the engine as `<node> <runtime_dir>/node/bootstrap.cjs` with the
 * function's code directory as cwd. Talks to the engine's Runtime API
 * (2018-06-01) at AWS_LAMBDA_RUNTIME_API and behaves like AWS Lambda's Node.js
 * runtime (npm aws-lambda-ric 3.x, which is what /var/runtime runs): same
 * handler resolution (CommonJS, ES modules, "type": "module"), error types and
 * messages, error documents ({errorType, errorMessage, trace}), context object,
 * callback semantics (callbackWaitsForEmptyEventLoop through 'beforeExit'),
 * console format (`<ISO time>\t<request id>\t<LEVEL>\t<message>`, or JSON with
 * AWS_LAMBDA_LOG_FORMAT=JSON) and exit codes (129 uncaught exception, 128
 * unhandled rejection).
 *
 * The handler module is loaded, top-level await included, before the first
 * GET /next: that is INIT, with INIT's CPU. No npm dependency: the Runtime API
 * is spoken over one kept-alive TCP connection (node's TCP binding, node:net as
 * the fallback: see openConnection), unref'd while idle so that an empty event
 * loop still means "the handler's work is done". The start path loads as few
 * built-ins as it can: without V8's code cache, which Lambda's V8 flags
 * invalidate, every built-in outside node's startup snapshot is compiled from
 * source at each cold start.
 *
 * Streaming handlers (awslambda.streamifyResponse) are accepted but their
 * stream is buffered and posted as one response: the engine has no streaming.
 */

"use strict"; // as an ES module would be

/*
 * A CommonJS script, not an ES module like Lambda's /var/runtime/index.mjs: node loads an ES
 * main module through its ESM loader, whose code (outside node's startup snapshot, so compiled
 * from source at each start) a CommonJS handler then pays for nothing: ~15 ms of a CommonJS
 * no-op's ~75 ms cold start here, against ~0.5 ms saved for an ES module handler, which loads
 * the ESM loader through its own import() instead (bench/RESULTS.md, 2026-12-07). What the
 * function could see of the difference is undone below: there is no main module (require.main
 * is undefined in the function's modules, as under an ES main) and this script is not in
 * require.cache.
 */
process.mainModule = undefined;
delete require.cache[__filename];
const fs = require("node:fs");
const path = require("node:path");
const util = require("node:util");

let cjsRequire = null;
/**
 * The require CommonJS handlers are loaded with, as aws-lambda-ric's (made on first use). Module's
 * own createRequire: reaching it through require("node:module") loads that built-in's wrapper
 * (lib/module.js), compiled from source: ~1.5 ms of a CommonJS handler's cold start.
 */
function userRequire() {
  return (cjsRequire ??= module.constructor.createRequire(__filename));
}
const USER_AGENT = `powertune-node/${process.versions.node}`;

// ---------------------------------------------------------------------------
// Errors (aws-lambda-ric Errors.js: names, texts and the document's shape)
// ---------------------------------------------------------------------------

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class MalformedStreamingHandler extends Error {}
class InvalidStreamingOperation extends Error {}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
for (const c of [ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError,
  MalformedStreamingHandler, InvalidStreamingOperation, UnhandledPromiseRejection]) {
  c.prototype.name = `Runtime.${c.name}`;
}

function _isError(obj) {
  return obj && obj.name && obj.message && obj.stack && typeof obj.name === "string" &&
    typeof obj.message === "string" && typeof obj.stack === "string";
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

/** The error document posted to /error and /init/error. */
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || _isError(error)) {
      return {
        errorType: error.name?.replace(/\x7F/g, "%7F"),
        errorMessage: error.message?.replace(/\x7F/g, "%7F"),
        trace: error.stack.replace(/\x7F/g, "%7F").split("\n"),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_err) {
    return {
      errorType: "handled",
      errorMessage: "callback called with Error argument, but there was a problem while " +
        "retrieving one or more of its message, name, and stack",
    };
  }
}

function _withEnumerableProperties(error) {
  if (error instanceof Error) {
    const ret = Object.assign({ errorType: error.name, errorMessage: error.message, code: error.code },
      error);
    if (typeof error.stack == "string") ret.stack = error.stack.split("\n");
    return ret;
  }
  return error;
}

/** The text logged after "Invoke Error" / "Uncaught Exception" (text log format). */
function toFormatted(error) {
  try {
    return "\t" + JSON.stringify(error, (_k, v) => _withEnumerableProperties(v));
  } catch (_err) {
    return "\t" + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------
// Logging (aws-lambda-ric LogPatch.js): console.* -> one line per call on stdout
// ---------------------------------------------------------------------------

const REQUEST_ID_SYMBOL = Symbol.for("aws.lambda.runtime.requestId");
const TENANT_ID_SYMBOL = Symbol.for("aws.lambda.runtime.tenantId");
const structuredConsole = {};

const jsonErrorReplacer = (_, value) => {
  if (value instanceof Error) {
    return Object.assign({
      errorType: value?.constructor?.name ?? "UnknownError",
      errorMessage: value.message,
      stackTrace: typeof value.stack === "string" ? value.stack.split("\n") : value.stack,
    }, value);
  }
  return value;
};

function formatJsonMessage(requestId, timestamp, level, tenantId, ...messageParams) {
  const result = { timestamp, level: level.name, requestId };
  if (tenantId !== undefined && tenantId !== null) result.tenantId = tenantId;
  if (messageParams.length === 1) {
    result.message = messageParams[0];
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch (_) {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(...messageParams);
  for (const param of messageParams) {
    if (param instanceof Error) {
      result.errorType = param?.constructor?.name ?? "UnknownError";
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === "string" ? param.stack.split("\n") : [];
      break;
    }
  }
  return JSON.stringify(result);
}

function logTextToStdout(level, message, ...params) {
  const line = `${new Date().toISOString()}\t${globalThis[REQUEST_ID_SYMBOL]}\t${level.name}\t${
    util.format(message, ...params)}`;
  writeLogLine(line.replace(/\n/g, "\r") + "\n");
}

function logJsonToStdout(level, message, ...params) {
  const line = formatJsonMessage(globalThis[REQUEST_ID_SYMBOL], new Date().toISOString(), level,
    globalThis[TENANT_ID_SYMBOL], message, ...params);
  writeLogLine(line.replace(/\n/g, "\r") + "\n");
}

/*
 * A console line goes straight to descriptor 1 while nothing has built process.stdout, as Lambda's
 * runtime writes its lines to its telemetry descriptor (fs.writeSync): building the stream loads
 * node:net and the streams stack, compiled from source under Lambda's V8 flags, ~20 ms of CPU
 * (~250 ms at 128 MB) in the first invocation that logs, which Lambda's runtime has spent in INIT
 * (it loads node:net and node:http there). Once process.stdout exists, lines go through it, in
 * order with what the function writes there itself; so does the rest of a line that the pipe
 * refuses (EAGAIN: building process.stderr made the pipe both share non-blocking).
 */
function writeLogLine(line) {
  if (!stdoutBuilt) {
    const buf = Buffer.from(line, "utf8");
    let done = 0;
    try {
      while (done < buf.length) done += fs.writeSync(1, buf, done);
      return;
    } catch (_) {
      line = buf.subarray(done);
    }
  }
  process.stdout.write(line);
}

function patchConsole() {
  const levels = Object.freeze({
    TRACE: { name: "TRACE", priority: 1 },
    DEBUG: { name: "DEBUG", priority: 2 },
    INFO: { name: "INFO", priority: 3 },
    WARN: { name: "WARN", priority: 4 },
    ERROR: { name: "ERROR", priority: 5 },
    FATAL: { name: "FATAL", priority: 6 },
  });
  const json = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === "JSON";
  const log = json ? logJsonToStdout : logTextToStdout;
  const min = levels[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? levels.TRACE;
  const nop = () => {};
  const at = (level) => level.priority >= min.priority ? (msg, ...p) => log(level, msg, ...p) : nop;
  console.trace = at(levels.TRACE);
  console.debug = at(levels.DEBUG);
  console.info = at(levels.INFO);
  console.log = console.info;
  console.warn = at(levels.WARN);
  console.error = at(levels.ERROR);
  console.fatal = (msg, ...p) => log(levels.FATAL, msg, ...p);
  structuredConsole.logError = json
    ? (_, err) => console.error(intoError(err))
    : (msg, err) => console.error(msg, toFormatted(intoError(err)));
}

/*
 * process.stdout and process.stderr are built (a net.Socket each on the engine's pipe) the first
 * time they are read. Their getters are wrapped to note that moment, so that flushOutput does not
 * build them just to find them empty. The properties keep their shape: configurable, enumerable
 * getters, with the original getter's name.
 */
const openedOutputs = new Set();
let stdoutBuilt = false; // see writeLogLine
for (const name of ["stdout", "stderr"]) {
  const desc = Object.getOwnPropertyDescriptor(process, name);
  if (!desc?.get || !desc.configurable) {
    openedOutputs.add(process[name]); // not lazy here: always flushed
    stdoutBuilt ||= name === "stdout";
    continue;
  }
  const get = desc.get;
  const noted = {
    [get.name]() {
      const stream = get.call(this);
      openedOutputs.add(stream);
      stdoutBuilt ||= name === "stdout";
      return stream;
    },
  }[get.name];
  Object.defineProperty(process, name, { ...desc, get: noted });
}

/**
 * Resolves once everything written to stdout/stderr has reached the pipe. An empty write's callback
 * runs after every earlier write (a 'drain' only comes after a write that filled the buffer).
 * Node unrefs the stdio handles, so a timer holds the event loop meanwhile: else an event loop
 * with nothing but a pending write to the pipe would end the process.
 */
function flushOutput() {
  const pending = [];
  for (const s of openedOutputs) {
    if (s.writableLength > 0 && !s.destroyed) {
      pending.push(new Promise((resolve) => s.write("", resolve)));
    }
  }
  if (!pending.length) return null;
  const hold = setInterval(() => {}, 1 << 30);
  return Promise.all(pending).finally(() => clearInterval(hold));
}

function fatal(msg) {
  try {
    fs.writeSync(2, `powertune runtime: ${msg}\n`);
  } catch (_) { /* nothing left to tell */ }
  process.exit(1);
}

/**
 * What a rejected top-level await does in an ES main module (the handler's INIT errors reach it
 * that way, as in aws-lambda-ric): the error becomes an uncaught exception, which start()'s
 * listener posts to /init/error (exit 129), or node prints if start() failed before it.
 */
function throwUncaught(error) {
  process.nextTick(() => {
    throw error;
  });
}

// ---------------------------------------------------------------------------
// Runtime API client: HTTP/1.1 on one persistent socket
// ---------------------------------------------------------------------------

const CRLFCRLF = Buffer.from("\r\n\r\n");

/*
 * The connection's transport: node's TCP binding when process.binding gives it silently, since
 * node:net loads the whole streams stack, compiled from source at every start (Lambda's V8 flags,
 * heap sizes and --expose-gc, invalidate node's code cache): ~9 ms of a cold start that the
 * Runtime API does not need. node:net otherwise: a host name rather than an IP address,
 * --pending-deprecation (process.binding would print DEP0111), a permission model, a node without
 * these bindings. Either gives {write(buffer), ref(), unref(), destroy()} and calls onData(buffer)
 * per read and onGone(error, or null at the end) when the connection goes.
 */
let tcpBinding; // with the first connection: see start()

function loadTcpBinding() {
  const pending = process.env.NODE_PENDING_DEPRECATION === "1" ||
    process.execArgv.includes("--pending-deprecation") ||
    (process.env.NODE_OPTIONS ?? "").includes("--pending-deprecation");
  if (pending || typeof process.binding !== "function") return null;
  try {
    const { TCP, TCPConnectWrap, constants } = process.binding("tcp_wrap");
    const stream = process.binding("stream_wrap");
    if (typeof TCP !== "function" || typeof TCPConnectWrap !== "function" ||
      typeof stream.WriteWrap !== "function" || !stream.streamBaseState) return null;
    return { TCP, TCPConnectWrap, socketType: constants.SOCKET, ...stream };
  } catch (_) {
    return null;
  }
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function openConnection(host, port, onData, onGone, readBuffer) {
  const ipv6 = host.includes(":");
  if (tcpBinding === undefined) tcpBinding = loadTcpBinding();
  if (tcpBinding && (ipv6 || IPV4.test(host))) {
    return new BindingConnection(host, port, ipv6, onData, onGone);
  }
  // Reads land in one buffer and go straight to onData, without the stream machinery.
  const onread = {
    buffer: readBuffer,
    callback: (n, buf) => onData(Buffer.from(buf.subarray(0, n))),
  };
  const sock = require("node:net").createConnection({ host, port, noDelay: true, onread });
  sock.on("error", onGone);
  sock.on("close", () => onGone(null));
  return sock;
}

/** A TCP connection straight on the binding, as node:net drives it (lib/net.js). */
class BindingConnection {
  constructor(host, port, ipv6, onData, onGone) {
    const b = tcpBinding;
    this.onData = onData;
    this.onGone = onGone;
    this.closed = false;
    this.writes = new Set(); // requests libuv has queued: kept alive until they complete
    this.handle = new b.TCP(b.socketType);
    this.handle.onread = (arrayBuffer) => this._read(arrayBuffer);
    const where = ` ${host}:${port}`;
    const req = new b.TCPConnectWrap();
    req.oncomplete = (status) => {
      if (status < 0) return this._gone(status, "connect", where);
      const err = this.closed ? 0 : this.handle.readStart();
      if (err) this._gone(err, "read", "");
    };
    req.address = host;
    req.port = port;
    // libuv queues writes made while connecting and sends them once connected.
    const err = ipv6 ? this.handle.connect6(req, host, port) : this.handle.connect(req, host, port);
    if (err) process.nextTick(() => this._gone(err, "connect", where));
    else this.handle.setNoDelay(true);
  }

  write(data) {
    if (this.closed) return;
    const b = tcpBinding;
    const req = new b.WriteWrap();
    req.handle = this.handle;
    req.buffer = data;
    req.async = false;
    req.oncomplete = (status) => {
      this.writes.delete(req);
      if (status < 0) this._gone(status, "write", "");
    };
    const err = this.handle.writeBuffer(req, data);
    if (err) process.nextTick(() => this._gone(err, "write", ""));
    else if (b.streamBaseState[b.kLastWriteWasAsync]) this.writes.add(req);
  }

  _read(arrayBuffer) {
    const b = tcpBinding;
    const n = b.streamBaseState[b.kReadBytesOrError];
    if (n > 0) this.onData(Buffer.from(arrayBuffer, b.streamBaseState[b.kArrayBufferOffset], n));
    else if (n < 0) this._gone(n, "read", "");
  }

  _gone(code, syscall, where) {
    if (this.closed) return;
    this.destroy();
    const name = util.getSystemErrorName(code);
    if (name === "EOF") return this.onGone(null);
    this.onGone(Object.assign(new Error(`${syscall} ${name}${where}`), { code: name, syscall }));
  }

  ref() {
    if (!this.closed) this.handle.ref();
  }

  unref() {
    if (!this.closed) this.handle.unref();
  }

  destroy() {
    if (this.closed) return;
    this.closed = true;
    this.writes.clear();
    this.handle.close();
  }
}

class RAPIDClient {
  constructor(address) {
    const colon = address.lastIndexOf(":");
    const port = Number(address.slice(colon + 1));
    if (colon < 0 || !Number.isInteger(port) || port <= 0) {
      throw new Error(`AWS_LAMBDA_RUNTIME_API must be host:port, got '${address}'`);
    }
    this.host = address.slice(0, colon).replace(/^\[|\]$/g, "") || "127.0.0.1";
    this.port = port;
    this.address = address;
    this.prefix = `Host: ${address}\r\nUser-Agent: ${USER_AGENT}\r\n`;
    this.sock = null;
    this.pending = null;
    this.spare = null; // see request
    this.posted = Promise.resolve(); // see _post
    this.readBuffer = Buffer.allocUnsafe(65536);
  }

  _open() {
    const sock = openConnection(this.host, this.port, (chunk) => this._onData(sock, chunk),
      (err) => this._onGone(sock, err), this.readBuffer);
    this.sock = sock;
  }

  /** Connects ahead of the first request (unref'd: an idle connection keeps no event loop alive). */
  connect() {
    if (this.sock) return;
    this._open();
    this.sock.unref();
  }

  _onGone(sock, err) {
    if (this.sock !== sock) return;
    this.sock = null;
    sock.destroy();
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (p.close && p.head === null) return p.finish(); // body delimited by the close
    if (p.reused && !p.received) return p.retry(); // a kept-alive connection went stale
    p.reject(err || new Error(`${p.what}: connection closed without a response`));
  }

  _onData(sock, chunk) {
    const p = this.pending;
    if (!p || this.sock !== sock) return;
    p.received = true;
    if (p.head !== null) {
      p.head = p.head.length ? Buffer.concat([p.head, chunk]) : chunk;
      for (;;) {
        const end = p.head.indexOf(CRLFCRLF);
        if (end < 0) {
          if (p.head.length > 65536) return this._fail(p, "Runtime API sent over-long headers");
          return;
        }
        const lines = p.head.toString("latin1", 0, end).split("\r\n");
        const m = /^HTTP\/(\d\.\d) (\d{3})/.exec(lines[0]);
        if (!m) return this._fail(p, `Runtime API sent a bad status line: ${lines[0].slice(0, 200)}`);
        const rest = p.head.subarray(end + 4);
        const status = Number(m[2]);
        if (status >= 100 && status < 200) { // interim response: the real one follows
          p.head = rest;
          continue;
        }
        const headers = {};
        for (let i = 1; i < lines.length; i++) {
          const c = lines[i].indexOf(":");
          if (c > 0) headers[lines[i].slice(0, c).trim().toLowerCase()] = lines[i].slice(c + 1).trim();
        }
        p.status = status;
        p.headers = headers;
        p.head = null;
        const conn = (headers.connection || "").toLowerCase();
        p.closeAfter = conn.includes("close") || (m[1] === "1.0" && !conn.includes("keep-alive"));
        if (/chunked/i.test(headers["transfer-encoding"] || "")) {
          p.chunked = true;
        } else if (headers["content-length"] !== undefined) {
          p.need = Number(headers["content-length"]);
          if (!Number.isSafeInteger(p.need) || p.need < 0) {
            return this._fail(p, "Runtime API sent a bad Content-Length");
          }
        } else if (status === 204 || status === 304) {
          p.need = 0;
        } else {
          p.close = true;
        }
        chunk = rest;
        break;
      }
    }
    if (chunk.length) {
      p.chunks.push(chunk);
      p.have += chunk.length;
    }
    if (p.chunked) {
      const body = decodeChunked(p.chunks.length === 1 ? p.chunks[0] : Buffer.concat(p.chunks));
      if (body === false) return this._fail(p, "Runtime API sent a bad chunked body");
      if (body) {
        p.chunks = [body];
        p.finish();
      }
    } else if (!p.close && p.have >= p.need) {
      p.finish();
    }
  }

  _fail(p, msg) {
    this.pending = null;
    const sock = this.sock;
    this.sock = null;
    if (sock) sock.destroy();
    p.reject(new Error(msg));
  }

  /** One request; resolves to {status, headers, body: Buffer}. */
  request(method, urlPath, headers, body) {
    // One exchange at a time per connection. A request made while another is in flight (an
    // uncaught exception or unhandled rejection posting its error while GET /next long-polls,
    // or before /response has its reply) goes on a connection of its own, as aws-lambda-ric's
    // posts go beside its native client's /next: on the busy one it took the other's reply.
    if (this.pending) {
      this.spare ??= new RAPIDClient(this.address);
      return this.spare.request(method, urlPath, headers, body);
    }
    let head = `${method} ${urlPath} HTTP/1.1\r\n${this.prefix}`;
    for (const name in headers) head += `${name}: ${String(headers[name]).replace(/[\r\n]/g, " ")}\r\n`;
    if (body !== undefined) head += `Content-Length: ${body.length}\r\n`;
    head += "\r\n";
    const data = body !== undefined && body.length
      ? Buffer.concat([Buffer.from(head, "latin1"), body]) : Buffer.from(head, "latin1");
    const what = `${method} ${urlPath}`;
    return new Promise((resolve, reject) => {
      const attempt = (mayRetry) => {
        const reused = this.sock !== null;
        if (!reused) this._open();
        const sock = this.sock;
        const p = {
          what, reused: reused && mayRetry, received: false, head: Buffer.alloc(0),
          status: 0, headers: null, chunks: [], have: 0, need: 0, chunked: false, close: false,
          closeAfter: false, reject,
          retry: () => attempt(false),
          finish: () => {
            if (this.pending === p) this.pending = null;
            let b = p.chunks.length === 1 ? p.chunks[0] : Buffer.concat(p.chunks);
            if (!p.chunked && !p.close && b.length > p.need) b = b.subarray(0, p.need);
            if (p.closeAfter || p.close) {
              if (this.sock === sock) this.sock = null;
              sock.destroy();
            } else {
              sock.unref(); // idle: keeps no event loop alive
            }
            resolve({ status: p.status, headers: p.headers, body: b });
          },
        };
        this.pending = p;
        sock.ref();
        sock.write(data);
      };
      attempt(true);
    });
  }

  /**
   * Posts in the order they are made, each once the one before has its reply and its callback has
   * run, as aws-lambda-ric's posts (synchronous, through its native client) are; GET /next waits
   * for them too. So an error posted just after a result (an exception thrown right after the
   * callback) follows the result, and an error callback's exit comes before the next GET /next:
   * made after that GET, it ended the next invocation instead (Runtime.ExitError).
   */
  _post(urlPath, body, headers, what, callback) {
    this.posted = this.posted.then(() => this._postNow(urlPath, body, headers, what)).then(callback);
  }

  async _postNow(urlPath, body, headers, what) {
    let resp;
    try {
      await flushOutput();
      resp = await this.request("POST", urlPath, headers, body);
    } catch (e) {
      fatal(`posting the result failed: ${e.message}`);
    }
    if (resp.status >= 200 && resp.status < 300) return;
    const text = resp.body.subarray(0, 500).toString("utf8");
    if (what === "POST /init/error") {
      if (resp.status >= 500) fatal(`${what} answered ${resp.status}: ${text}`);
      process.stderr.write(`powertune runtime: ${what} answered ${resp.status}: ${text}\n`);
      return;
    }
    // aws-lambda-ric posts results and errors through aws-lambda-cpp, which says so on stdout and
    // goes on (a result over 6 MB: 413); the text is that library's, for both posts
    writeLogLine(`[ERROR] [${Date.now()}] LAMBDA_RUNTIME Failed to post handler success response. ` +
      `Http response code: ${resp.status}.\n`);
    if (resp.status >= 500) fatal(`${what} answered ${resp.status}: ${text}`);
  }

  async nextInvocation() {
    let resp;
    try {
      await this.posted;
      await flushOutput();
      resp = await this.request("GET", "/2018-06-01/runtime/invocation/next", {});
    } catch (e) {
      fatal(`GET /next failed: ${e.message}`);
    }
    if (resp.status !== 200) {
      fatal(`GET /next answered ${resp.status}: ${resp.body.subarray(0, 500).toString("utf8")}`);
    }
    // Resume from a check-phase callback: the handler then starts from an empty JS stack, as under
    // the official client (its native /next settles outside any tick), so error traces end alike.
    await new Promise((resolve) => setImmediate(resolve));
    return { bodyJson: resp.body.toString("utf8"), headers: resp.headers };
  }

  /** Serialises now (throws "Unable to stringify response body"), posts, then calls back. */
  postInvocationResponse(response, id, callback) {
    const body = Buffer.from(_trySerializeResponse(response), "utf8");
    this._post(`/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`, body,
      { "Content-Type": "application/json" }, "POST /response", callback);
  }

  postInvocationError(error, id, callback) {
    const response = toRapidResponse(error);
    const body = Buffer.from(_trySerializeResponse(response), "utf8");
    this._post(`/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/error`, body,
      { "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": response.errorType },
      "POST /error", callback);
  }

  postInitError(error, callback) {
    const response = toRapidResponse(error);
    const body = Buffer.from(_trySerializeResponse(response), "utf8");
    this._post("/2018-06-01/runtime/init/error", body,
      { "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": response.errorType },
      "POST /init/error", callback);
  }
}

/** The body of a complete chunked message, null while incomplete, false when malformed. */
function decodeChunked(buf) {
  const parts = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", pos);
    if (eol < 0) return null;
    const size = parseInt(buf.toString("latin1", pos, eol).split(";")[0].trim(), 16);
    if (Number.isNaN(size) || size < 0) return false;
    if (size === 0) {
      let t = eol + 2; // trailers up to an empty line
      for (;;) {
        const e = buf.indexOf("\r\n", t);
        if (e < 0) return null;
        if (e === t) return Buffer.concat(parts);
        t = e + 2;
      }
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

function _trySerializeResponse(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch (err) {
    throw new Error("Unable to stringify response body");
  }
}

// ---------------------------------------------------------------------------
// Handler resolution (aws-lambda-ric UserFunction.js)
// ---------------------------------------------------------------------------

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;
const RELATIVE_PATH_SUBSTRING = "..";
const HANDLER_STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const HANDLER_HIGHWATERMARK = Symbol.for("aws.lambda.runtime.handler.streaming.highWaterMark");
const STREAM_RESPONSE = "response";
const HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}

function _moduleRootAndHandler(fullHandlerString) {
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  return [moduleRoot, handlerString];
}

function _splitHandlerString(handler) {
  const match = handler.match(FUNCTION_EXPR);
  if (!match || match.length != 3) throw new MalformedHandlerName("Bad handler");
  return [match[1], match[2]];
}

function _resolveHandler(object, nestedProperty) {
  return nestedProperty.split(".").reduce((nested, key) => nested && nested[key], object);
}

function _tryRequireFile(file, extension) {
  const p = file + (extension || "");
  return fs.existsSync(p) ? userRequire()(p) : undefined;
}

async function _tryAwaitImport(file, extension) {
  const p = file + (extension || "");
  return fs.existsSync(p) ? await import(p) : undefined;
}

function _hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith("/node_modules")) return false;
  const pj = path.join(folder, "/package.json");
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      if (pkg) return pkg.type === "module";
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === "/") return false;
  return _hasFolderPackageJsonTypeModule(path.resolve(folder, ".."));
}

function _hasPackageJsonTypeModule(file) {
  const jsPath = file + ".js";
  return fs.existsSync(jsPath) ? _hasFolderPackageJsonTypeModule(path.resolve(path.dirname(jsPath)))
    : false;
}

async function _tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const extensionless = _tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;
  const pjHasModule = _hasPackageJsonTypeModule(lambdaStylePath);
  if (!pjHasModule) {
    const loaded = _tryRequireFile(lambdaStylePath, ".js");
    if (loaded) return loaded;
  }
  const loaded = (pjHasModule && await _tryAwaitImport(lambdaStylePath, ".js")) ||
    await _tryAwaitImport(lambdaStylePath, ".mjs") || _tryRequireFile(lambdaStylePath, ".cjs");
  if (loaded) return loaded;
  const require = userRequire();
  return require(require.resolve(module, { paths: [appRoot, moduleRoot] }));
}

async function _loadUserApp(appRoot, moduleRoot, module) {
  const noGlobal = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (noGlobal !== "1" && noGlobal !== "true") {
    globalThis.awslambda = {
      streamifyResponse: (handler, options) => {
        handler[HANDLER_STREAMING] = STREAM_RESPONSE;
        if (typeof options?.highWaterMark === "number") {
          handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
        }
        return handler;
      },
      HttpResponseStream,
    };
  }
  try {
    return await _tryRequire(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e.code !== undefined && e.code === "MODULE_NOT_FOUND") throw new ImportModuleError(e);
    throw e;
  }
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes(RELATIVE_PATH_SUBSTRING)) {
    throw new MalformedHandlerName(`'${fullHandlerString}' is not a valid handler name. Use ` +
      "absolute paths when specifying root directories in handler names.");
  }
  const [moduleRoot, moduleAndHandler] = _moduleRootAndHandler(fullHandlerString);
  const [module, handlerPath] = _splitHandlerString(moduleAndHandler);
  const userApp = await _loadUserApp(appRoot, moduleRoot, module);
  const handlerFunc = _resolveHandler(userApp, handlerPath);
  if (!handlerFunc) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof handlerFunc !== "function") {
    throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  }
  return handlerFunc;
}

function handlerIsStreaming(handler) {
  const mode = handler[HANDLER_STREAMING];
  if (mode === undefined || mode === null || mode === false) return false;
  if (mode === STREAM_RESPONSE) return true;
  throw new MalformedStreamingHandler("Only response streaming is supported.");
}

// ---------------------------------------------------------------------------
// Invocation (aws-lambda-ric Runtime.js, CallbackContext.js, InvokeContext.js)
// ---------------------------------------------------------------------------

const BEFORE_EXIT = Symbol.for("aws.lambda.beforeExit");
const NO_OP_LISTENER = () => {};
const BeforeExitListener = {
  invoke: () => globalThis[BEFORE_EXIT](),
  reset: () => { globalThis[BEFORE_EXIT] = NO_OP_LISTENER; },
  set: (listener) => { globalThis[BEFORE_EXIT] = listener; },
};

/** [callback, context, markCompleted]: every way to finish an invocation, each effective once. */
function buildCallbackContext(client, id, scheduleNext) {
  const postError = (err, cb) => {
    structuredConsole.logError("Invoke Error", err);
    client.postInvocationError(err, id, cb);
  };
  let isCompleteInvoked = false;
  const complete = (result, cb) => {
    if (isCompleteInvoked) {
      console.error("Invocation has already been reported as done. Cannot call complete more " +
        "than once per invocation.");
      return;
    }
    isCompleteInvoked = true;
    client.postInvocationResponse(result, id, cb);
  };
  let waitForEmptyEventLoop = true;
  const callback = function (err, result) {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      BeforeExitListener.set(() => {
        setImmediate(() => complete(result, scheduleNext));
      });
    }
  };
  const done = (err, result) => {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) postError(err, scheduleNext);
    else complete(result, scheduleNext);
  };
  const succeed = (result) => done(null, result);
  const fail = (err) => (err === undefined || err === null ? done("handled") : done(err, null));
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed,
    fail,
    done,
  };
  let finished = false;
  const onlyAllowFirstCall = (toWrap) => function () {
    if (!finished) {
      toWrap.apply(null, arguments);
      finished = true;
    }
  };
  context.succeed = onlyAllowFirstCall(context.succeed);
  context.fail = onlyAllowFirstCall(context.fail);
  context.done = onlyAllowFirstCall(context.done);
  return [onlyAllowFirstCall(callback), context, () => { isCompleteInvoked = true; }];
}

function _parseJson(jsonString, name) {
  if (jsonString === undefined) return undefined;
  try {
    return JSON.parse(jsonString);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

/** Adds what Lambda's context carries to the callback context (same keys, same order). */
function attachEnvironmentData(context, headers, env) {
  const trace = headers["lambda-runtime-trace-id"];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  context.functionVersion = env.functionVersion;
  context.functionName = env.functionName;
  context.memoryLimitInMB = env.memoryLimitInMB;
  context.logGroupName = env.logGroupName;
  context.logStreamName = env.logStreamName;
  context.clientContext = _parseJson(headers["lambda-runtime-client-context"], "ClientContext");
  context.identity = _parseJson(headers["lambda-runtime-cognito-identity"], "CognitoIdentity");
  context.invokedFunctionArn = headers["lambda-runtime-invoked-function-arn"];
  context.awsRequestId = headers["lambda-runtime-aws-request-id"];
  context.tenantId = headers["lambda-runtime-aws-tenant-id"];
  // a named function, as aws-lambda-ric's object literal makes it (console.log(context) shows it)
  context.getRemainingTimeInMillis = function getRemainingTimeInMillis() {
    return deadline - Date.now();
  };
  return context;
}

function _isPromise(obj) {
  return obj && obj.then && typeof obj.then === "function";
}

/** A buffering stand-in for Lambda's response stream (the engine has no streaming). */
async function makeBufferedResponseStream() {
  const { Writable } = await import("node:stream");
  const chunks = [];
  let contentType = "application/octet-stream";
  let started = false;
  const stream = new Writable({
    write(chunk, encoding, cb) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding));
      cb();
    },
  });
  const origWrite = stream.write.bind(stream);
  stream.write = function (chunk, encoding, cb) {
    if (typeof chunk !== "string" && !Buffer.isBuffer(chunk) && chunk?.constructor !== Uint8Array) {
      chunk = JSON.stringify(chunk);
    }
    if (!started && typeof this._onBeforeFirstWrite === "function") {
      this._onBeforeFirstWrite((ch) => origWrite(ch));
    }
    started = true;
    return origWrite(chunk, encoding, cb);
  };
  stream.setContentType = (ct) => {
    if (started) throw new InvalidStreamingOperation("Cannot set content-type, too late.");
    contentType = ct;
  };
  /*
   * Resolves once the stream has finished (or was destroyed). aws-lambda-ric's streamed post is
   * answered only then, and it waits for that answer: so ending the stream in a callback (a
   * 'finish' comes a tick after end()) or after the handler's promise settles still makes the
   * response, and a stream never ended holds the invocation until its timeout. A timer holds the
   * event loop meanwhile, as that post does.
   */
  const ended = () => (stream.writableFinished || stream.destroyed ? null : new Promise((resolve) => {
    const hold = setInterval(() => {}, 1 << 30);
    const done = () => {
      clearInterval(hold);
      resolve();
    };
    stream.once("finish", done);
    stream.once("close", done);
  }));
  return { stream, ended, body: () => Buffer.concat(chunks), contentType: () => contentType };
}

class Runtime {
  constructor(client, handler, streaming, errorCallbacks) {
    this.client = client;
    this.handler = handler;
    this.errorCallbacks = errorCallbacks;
    this.handleOnce = streaming ? this.handleOnceStreaming : this.handleOnceNonStreaming;
    this.env = {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    };
    this.scheduleNext = this.scheduleIteration.bind(this);
  }

  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(() => {}, (err) => {
        console.log(`Unexpected Top Level Error: ${err.toString()}`);
        this.errorCallbacks.uncaughtException(err);
      });
    });
  }

  async handleOnceNonStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const id = headers["lambda-runtime-aws-request-id"];
    globalThis[REQUEST_ID_SYMBOL] = id;
    globalThis[TENANT_ID_SYMBOL] = headers["lambda-runtime-aws-tenant-id"];
    const [callback, context, markCompleted] = buildCallbackContext(this.client, id,
      this.scheduleNext);
    try {
      this._setErrorCallbacks(id);
      BeforeExitListener.set(() => { // neither a promise nor the callback: null when idle
        markCompleted();
        this.client.postInvocationResponse(null, id, this.scheduleNext);
      });
      const result = this.handler(JSON.parse(bodyJson),
        attachEnvironmentData(context, headers, this.env), callback);
      if (_isPromise(result)) {
        result.then(context.succeed, context.fail).catch(context.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleOnceStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const id = headers["lambda-runtime-aws-request-id"];
    globalThis[REQUEST_ID_SYMBOL] = id;
    globalThis[TENANT_ID_SYMBOL] = headers["lambda-runtime-aws-tenant-id"];
    let waitForEmptyEventLoop = true;
    const context = {
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value) {
        waitForEmptyEventLoop = value;
      },
    };
    const fail = (err) => {
      structuredConsole.logError("Invoke Error", err);
      this.client.postInvocationError(err, id, this.scheduleNext);
    };
    const buffered = await makeBufferedResponseStream();
    try {
      this._setErrorCallbacks(id);
      BeforeExitListener.set(() => this.scheduleIteration());
      const ctx = attachEnvironmentData(context, headers, this.env);
      const result = this.handler(JSON.parse(bodyJson), buffered.stream, ctx);
      if (!_isPromise(result)) return fail("Streaming does not support non-async handlers.");
      if (typeof (await result) !== "undefined") console.warn("Streaming handlers ignore return values.");
      await buffered.ended();
      if (!buffered.stream.writableFinished) return fail("Response stream is not finished.");
      BeforeExitListener.reset();
      await flushOutput();
      const resp = await this.client.request("POST",
        `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`,
        { "Content-Type": buffered.contentType() }, buffered.body());
      if (resp.status < 200 || resp.status >= 300) {
        process.stderr.write(`powertune runtime: POST /response answered ${resp.status}: ${
          resp.body.subarray(0, 500).toString("utf8")}\n`);
      }
      this.scheduleIteration();
    } catch (err) {
      fail(err);
    }
  }

  _setErrorCallbacks(invokeId) {
    this.errorCallbacks.uncaughtException = (error) => {
      this.client.postInvocationError(error, invokeId, () => process.exit(129));
    };
    this.errorCallbacks.unhandledRejection = (error) => {
      this.client.postInvocationError(error, invokeId, () => process.exit(128));
    };
  }
}

// ---------------------------------------------------------------------------
// Profiling (only when POWERTUNE_NODE_PROFILE_DIR is set, for `powertune profile`):
// V8's CPU profiler through the in-process inspector writes <dir>/init.cpuprofile
// for INIT and <dir>/invoke-<request id>.cpuprofile per invocation, from the
// event's arrival to the next GET /next, so each file is whole before the next
// event is asked for.
// ---------------------------------------------------------------------------

function makeProfiler(dir) {
  const inspector = require("node:inspector");
  const session = new inspector.Session();
  session.connect();
  // An in-thread session answers synchronously: the callback has run when post returns.
  const post = (method, params) => {
    let out;
    session.post(method, params ?? {}, (err, res) => {
      if (err) throw err;
      out = res;
    });
    return out;
  };
  post("Profiler.enable");
  post("Profiler.setSamplingInterval", { interval: 200 });
  let name = null;
  return {
    begin(n) {
      name = n;
      post("Profiler.start");
    },
    end() {
      if (name === null) return;
      const safe = name.replace(/[^A-Za-z0-9_.-]/g, "_");
      name = null;
      try {
        const { profile } = post("Profiler.stop");
        fs.writeFileSync(path.join(dir, `${safe}.cpuprofile`), JSON.stringify(profile));
      } catch (e) {
        process.stderr.write(`powertune runtime: cannot write profile ${safe}: ${e.message}\n`);
      }
    },
  };
}

function profileInvocations(client, profiler) {
  const next = client.nextInvocation.bind(client);
  client.nextInvocation = async () => {
    profiler.end();
    const r = await next();
    profiler.begin(`invoke-${r.headers["lambda-runtime-aws-request-id"]}`);
    return r;
  };
}

// ---------------------------------------------------------------------------
// Main: INIT (load the handler, top-level await included), then the invoke loop
// ---------------------------------------------------------------------------

async function start() {
  patchConsole();
  const address = process.env.AWS_LAMBDA_RUNTIME_API;
  if (!address) fatal("AWS_LAMBDA_RUNTIME_API is not set");
  let client;
  try {
    client = new RAPIDClient(address);
  } catch (e) {
    fatal(e.message);
  }
  const errorCallbacks = {
    uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
    unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
  };
  process.on("uncaughtException", (error) => {
    structuredConsole.logError("Uncaught Exception", error);
    errorCallbacks.uncaughtException(error);
  });
  process.on("unhandledRejection", (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    structuredConsole.logError("Unhandled Promise Rejection", error);
    errorCallbacks.unhandledRejection(error);
  });
  BeforeExitListener.reset();
  process.on("beforeExit", BeforeExitListener.invoke);

  const profileDir = process.env.POWERTUNE_NODE_PROFILE_DIR;
  const profiler = profileDir ? makeProfiler(profileDir) : null;
  profiler?.begin("init");
  // The connection (and the TCP binding's load, ~0.4 ms) is set up while the handler's module
  // loads: an ES module's import waits for file reads, during which node would otherwise be idle
  // (-0.7 ms for the ES module no-op against a stand-in Runtime API, 25 interleaved rounds). A
  // CommonJS module has loaded by the time loadHandler returns: the connection then follows it
  // at the same cost (+0.1 ms for the CommonJS no-op in the same test: no difference).
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const loading = loadHandler(appRoot, process.env._HANDLER ?? "");
  client.connect();
  const handlerFunc = await loading;
  if (profiler) {
    profiler.end();
    profileInvocations(client, profiler);
  }
  new Runtime(client, handlerFunc, handlerIsStreaming(handlerFunc), errorCallbacks)
    .scheduleIteration();
}

start().catch(throwUncaught);
