# Reports what the sandbox lets a function do, for the engine's sandbox tests.
import ctypes
import errno
import getpass
import grp
import multiprocessing
import signal
import os
import socket
import time


def _try(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def _fill_tmp(mb):
    chunk = b"\0" * (1 << 20)
    with open("/tmp/fill", "wb") as f:
        for _ in range(mb):
            f.write(chunk)
            f.flush()
            os.fsync(f.fileno())


def _tmp_fs():
    """/tmp's file system type and the space a user may fill, in MiB (rounded down)."""
    with open("/proc/self/mounts") as f:
        types = [line.split()[2] for line in f if line.split()[1] == "/tmp"]
    st = os.statvfs("/tmp")
    return (types[-1] if types else "none"), st.f_bavail * st.f_frsize >> 20


def _write_code_dir():
    with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "written.txt"), "w") as f:
        f.write("x")


def _write_host():
    """A world-writable directory of the host's: read-only on Lambda, as all but /tmp."""
    path = "/var/tmp/powertune-sandbox-%d" % os.getpid()
    with open(path, "w") as f:
        f.write("x")
    os.remove(path)


def _devices():
    """Each of Lambda's /dev nodes used as the unprivileged user would: null and full written
    (full answers ENOSPC), zero, random and urandom read."""
    def write(name):
        fd = os.open("/dev/" + name, os.O_WRONLY)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)

    def read(name):
        with open("/dev/" + name, "rb") as f:
            if len(f.read(8)) != 8:
                raise OSError(errno.EIO, "short read")

    out = [n + " " + _try(lambda: write(n)) for n in ("null", "full")]
    out += [n + " " + _try(lambda: read(n)) for n in ("zero", "random", "urandom")]
    return ", ".join(out)


def _pool():
    with multiprocessing.Pool(2) as p:
        p.map(abs, [1, 2])


def _reset(event):
    """For the reset tests: whether /tmp/kept survived, then leave it and crash, time out or
    run out of memory (every byte of a buffer larger than the function's memory written);
    "hold_mb" first fills a buffer of that size, kept until the end."""
    kept = os.path.exists("/tmp/kept")
    with open("/tmp/kept", "w") as f:
        f.write("x")
    held = bytearray(b"x") * (event.get("hold_mb", 0) << 20)
    if event["reset"] == "exit":
        os._exit(3)
    if event["reset"] == "sleep":
        time.sleep(600)
    if event["reset"] == "oom":
        return {"kept": kept, "bytes": len(bytearray(b"x") * (event["mb"] << 20))}
    return {"kept": kept, "held": len(held)}


def _ptrace_attach(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    libc.ptrace(17, pid, None, None)  # PTRACE_DETACH


def _read_environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        f.read()


def _probe(pid):
    """What this environment may do to another's process: read its environment variables
    (its credentials), trace it, kill it (last: it would end the other environment)."""
    return {
        "environ": _try(lambda: _read_environ(pid)),
        "ptrace": _try(lambda: _ptrace_attach(pid)),
        "kill": _try(lambda: os.kill(pid, signal.SIGKILL)),
    }


def _take_next(port):
    """Asks another environment's Runtime API for its next event: "closed" when the server
    turns this environment away, "served" when it answers or holds the long poll."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            return "served" if s.recv(64) else "closed"
        except socket.timeout:
            return "served"
        except ConnectionResetError:
            return "closed"


def lambda_handler(event, context):
    if "whoami" in event:
        return {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(),
                "user": getpass.getuser(), "group": grp.getgrgid(os.getgid()).gr_name,
                "home": os.path.expanduser("~")}
    if "probe" in event:
        return _probe(event["probe"])
    if "take_next" in event:
        return {"next": _take_next(event["take_next"])}
    if "env" in event:  # the values of the variables named, as the function sees them
        return {k: os.environ.get(k) for k in event["env"]}
    if "reset" in event:
        return _reset(event)
    try:
        _pool()
        pool = "ok"
    except Exception as e:  # the article's failure: no /dev/shm
        pool = type(e).__name__
    fs_type, avail_mb = _tmp_fs()
    result = {
        "uid": os.getuid(),
        "tmp_fs": fs_type,
        "tmp_avail_mb": avail_mb,
        "tmp_small": _try(lambda: _fill_tmp(event.get("tmp_small_mb", 8))),
        "tmp_over": _try(lambda: _fill_tmp(event.get("tmp_mb", 600))),
        "code_dir_write": _try(_write_code_dir),
        "host_write": _try(_write_host),
        "dev_shm": os.path.exists("/dev/shm"),
        "dev_null": os.path.exists("/dev/null"),
        "devices": _devices(),
        "pool": pool,
    }
    try:
        os.remove("/tmp/fill")
    except OSError:
        pass
    return result
