# A function that misbehaves on request, for the engine's robustness tests.
#   {"action": "forkbomb"}       forks until the kernel refuses (the pids limit), returns the count
#   {"action": "print", "mb": N} prints N MB of output (the per-invocation output cap)
#   {"action": "big", "mb": N}   returns an N MB response (the 6 MB response limit)
#   {"action": "descriptors"}    what the process has open and whether its children would inherit
#                                it, and the runtime's private variables it can see
import os
import time


def lambda_handler(event, context):
    action = event.get("action")
    if action == "forkbomb":
        children = 0
        try:
            while children < 5000:
                pid = os.fork()
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                children += 1
        except OSError as e:
            return {"children": children, "error": e.strerror}
        return {"children": children, "error": None}
    if action == "print":
        line = "x" * 1023
        for _ in range(int(event.get("mb", 1)) * 1024):
            print(line)
        return {"printed_mb": event.get("mb", 1)}
    if action == "big":
        return "y" * (int(event.get("mb", 7)) * 1024 * 1024)
    if action == "descriptors":
        open_fds = {}
        for name in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink("/proc/self/fd/" + name)
                open_fds[name] = [target.split(":")[0], os.get_inheritable(int(name))]
            except OSError:  # the listing's own descriptor, closed by now
                pass
        return {"fds": open_fds,
                "private_vars": sorted(k for k in os.environ if k.startswith("_POWERTUNE"))}
    return {"ok": True}
