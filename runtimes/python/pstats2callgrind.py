#!/usr/bin/python3
"""pstats2callgrind.py - turns the Python runtime's cProfile files (or the Node.js
runtime's V8 .cpuprofile files) into what `powertune profile` writes: callgrind
files, flame graphs and top tables.

    pstats2callgrind.py --name NAME --output-dir DIR [--code-dir DIR] [--top 20]
                        [--init INIT.prof] INVOKE.prof...

Writes, in DIR:
  callgrind.out.NAME            the handler, the invocations added up
  callgrind.out.NAME.init       INIT (the handler module's import), when --init
  NAME.flame.svg, NAME.init.flame.svg   flame graphs (plain SVG, <title> tooltips)
and prints the top functions by inclusive time on stdout, INIT and handler in
separate sections, the handler's figures per invocation.

Standard library only: pstats files are marshal dumps, so Python is the
practical reader. Costs are integer microseconds (callgrind wants integers).
"""

import argparse
import hashlib
import os
import pstats
import sys

# The profiler's own stop call shows up in every profile; it is not the function's time.
_PROFILER_NOISE = ("~", 0, "<method 'disable' of '_lsprof.Profiler' objects>")
# The Node.js runtime drives V8's profiler through node:inspector (runtimes/node/bootstrap.cjs:
# makeProfiler's post, begin and end, and profileInvocations' client.nextInvocation wrapper,
# which only starts and stops it), and nothing else in it uses node:inspector.
_NODE_PROFILER_URL = "node:inspector"
_NODE_RUNTIME_URL_END = "/runtimes/node/bootstrap.cjs"
_NODE_PROFILER_FUNCTIONS = ("post", "begin", "end", "client.nextInvocation")


def _is_node_profiler(call_frame):
    url = call_frame.get("url") or ""
    return url == _NODE_PROFILER_URL or (
        url.endswith(_NODE_RUNTIME_URL_END)
        and call_frame.get("functionName") in _NODE_PROFILER_FUNCTIONS)


def load_cpuprofile(paths):
    """V8 .cpuprofile files (Node.js runtime) in the pstats dict shape. V8 samples
    stacks: self time is the samples' time, inclusive time comes from the tree,
    and the "calls" are the call paths seen per profile, not counted calls."""
    import json
    stats = {}

    def add(key, nc, tt, ct):
        cc0, nc0, tt0, ct0, callers = stats.get(key, (0, 0, 0.0, 0.0, {}))
        stats[key] = (cc0 + nc, nc0 + nc, tt0 + tt, ct0 + ct, callers)

    for p in paths:
        with open(p, encoding="utf-8") as f:
            prof = json.load(f)
        nodes = {n["id"]: n for n in prof.get("nodes", [])}
        self_us = {i: 0.0 for i in nodes}
        samples, deltas = prof.get("samples", []), prof.get("timeDeltas", [])
        t = prof.get("startTime", 0)
        times = []
        for d in deltas:
            t += d
            times.append(t)
        for i, sid in enumerate(samples):
            if i >= len(times):
                break
            end = times[i + 1] if i + 1 < len(times) else prof.get("endTime", times[i])
            if sid in self_us:
                self_us[sid] += max(end - times[i], 0)

        def key_of(n):
            cf = n["callFrame"]
            return (cf.get("url") or "~", max(cf.get("lineNumber", -1), -1) + 1,
                    cf.get("functionName") or "(anonymous)")

        def walk(nid, parent_key, stack):
            """The subtree's inclusive seconds, or None when it is left out: idle time, and
            the profiler's own start and stop (the runtime's inspector calls, ~25 ms per
            invocation), which would otherwise top every handler's table, as cProfile's
            disable() call would (see _PROFILER_NOISE)."""
            n = nodes[nid]
            name = n["callFrame"].get("functionName")
            if name == "(idle)":  # waiting, not running: no CPU time to show
                return None
            if _is_node_profiler(n["callFrame"]):
                return None
            inc = self_us[nid] / 1e6
            key = key_of(n)
            kids = 0.0
            for c in n.get("children", []):
                k = walk(c, key, stack | {key})
                if k is not None:
                    kids += k
            inc += kids
            add(key, 1, self_us[nid] / 1e6, 0.0 if key in stack else inc)
            if parent_key is not None and key not in stack:
                callers = stats[key][4]
                e = callers.get(parent_key, (0, 0, 0.0, 0.0))
                callers[parent_key] = (e[0] + 1, e[1] + 1, e[2] + self_us[nid] / 1e6, e[3] + inc)
            return inc

        for nid, n in nodes.items():
            if n["callFrame"].get("functionName") == "(root)":
                for c in n.get("children", []):
                    walk(c, None, frozenset())
    return stats


def load(paths):
    """Adds up the pstats (or V8 .cpuprofile) files; returns the raw stats dict."""
    if paths and paths[0].endswith(".cpuprofile"):
        return load_cpuprofile(paths)
    st = None
    for p in paths:
        if st is None:
            st = pstats.Stats(p)
        else:
            st.add(p)
    stats = dict(st.stats) if st is not None else {}
    stats.pop(_PROFILER_NOISE, None)
    for key, (cc, nc, tt, ct, callers) in list(stats.items()):
        if _PROFILER_NOISE in callers:
            callers = dict(callers)
            del callers[_PROFILER_NOISE]
            stats[key] = (cc, nc, tt, ct, callers)
    return stats


def short_file(path, code_dir):
    if path == "~":
        return ""
    if code_dir and path.startswith(code_dir.rstrip("/") + "/"):
        return path[len(code_dir.rstrip("/")) + 1:]
    for marker in ("-packages/", "/lib/python3/"):
        i = path.find(marker)
        if i >= 0:
            return path[i + len(marker):]
    i = path.find("/lib/python3.")
    if i >= 0:
        j = path.find("/", i + len("/lib/python3."))
        if j >= 0:
            return path[j + 1:]
    return path


def label(key, code_dir):
    """One line naming a function: `name (file:line)`, builtins by their own name."""
    path, line, name = key
    if path.startswith("file://"):
        path = path[len("file://"):]
    f = short_file(path, code_dir)
    text = "%s (%s:%d)" % (name, f, line) if f else name
    return text.replace("\n", " ").replace("\r", " ")


def us(seconds):
    return int(round(seconds * 1e6))


def write_callgrind(out_path, stats, code_dir, cmd, invocations, what):
    """callgrind format 1: fl/fn blocks with self cost, then cfl/cfn/calls pairs
    carrying each call's inclusive cost. The summary is the sum of self costs,
    which is what callgrind_annotate and KCachegrind total."""
    keys = sorted(stats, key=lambda k: (k[0], k[1], k[2]))
    total = sum(us(stats[k][2]) for k in keys)
    # callees of each function: callers dicts give (cc, nc, tt, ct) per caller edge
    callees = {k: [] for k in keys}
    for callee in keys:
        for caller, edge in stats[callee][4].items():
            if caller in callees:
                callees[caller].append((callee, edge))
    out = []
    out.append("# callgrind format")
    out.append("version: 1")
    out.append("creator: powertune profile (cProfile via pstats2callgrind.py)")
    out.append("pid: 0")
    out.append("cmd: %s" % cmd)
    out.append("part: 1")
    out.append("desc: Profiled: %s" % what)
    out.append("desc: Invocations: %d" % invocations)
    out.append("positions: line")
    out.append("event: us : Time (microseconds)")
    out.append("events: us")
    out.append("summary: %d" % total)
    out.append("")
    for k in keys:
        fpath, line, _ = k
        out.append("fl=%s" % (fpath if fpath != "~" else "<built-in>"))
        out.append("fn=%s" % label(k, code_dir))
        out.append("%d %d" % (line, us(stats[k][2])))
        for callee, edge in sorted(callees[k], key=lambda ce: ce[0]):
            nc = edge[1] if isinstance(edge, tuple) else edge
            ct = edge[3] if isinstance(edge, tuple) else 0.0
            cpath, cline, _ = callee
            out.append("cfl=%s" % (cpath if cpath != "~" else "<built-in>"))
            out.append("cfn=%s" % label(callee, code_dir))
            out.append("calls=%d %d" % (nc, cline))
            # cProfile times a recursive edge's nested calls again in its cumulative time, so
            # an edge can claim more than its caller ran (seen with botocore: 1.8 % over the
            # whole profile); a call costs at most its caller's inclusive time.
            out.append("%d %d" % (line, min(us(ct), us(stats[k][3]), total)))
        out.append("")
    out.append("totals: %d" % total)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


# ---------------------------------------------------------------- flame graph

def flame_tree(stats, min_share=0.001, max_depth=80):
    """pstats keeps caller->callee edges, not stacks: each function's time is
    split over its callees in proportion to the edges' inclusive times, the
    way pstats-based flame graph tools do. Recursion stops at a cycle."""
    callees = {k: [] for k in stats}
    for callee, v in stats.items():
        for caller, edge in v[4].items():
            if caller in callees and caller != callee:
                callees[caller].append((callee, edge[3] if isinstance(edge, tuple) else 0.0))
    roots = [k for k, v in stats.items() if not any(c in stats and c != k for c in v[4])]
    total = sum(stats[k][3] for k in roots) or sum(v[2] for v in stats.values())
    floor = total * min_share

    def expand(key, weight, stack):
        node = {"key": key, "w": weight, "children": []}
        if len(stack) >= max_depth:
            return node
        ct = stats[key][3]
        kids = [(c, t) for c, t in callees[key] if c not in stack and t > 0]
        if ct <= 0 or not kids:
            return node
        scale = weight / ct
        s = sum(t for _, t in kids) * scale
        if s > weight:  # recursion counts some time twice: keep children inside the parent
            scale *= weight / s
        stack.add(key)
        for c, t in sorted(kids, key=lambda x: -x[1]):
            w = t * scale
            if w >= floor:
                node["children"].append(expand(c, w, stack))
        stack.discard(key)
        return node

    tops = [expand(k, stats[k][3], set()) for k in sorted(roots, key=lambda k: -stats[k][3])]
    tops = [t for t in tops if t["w"] > 0]
    return {"key": None, "w": sum(t["w"] for t in tops), "children": tops}


def xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def color(name):
    h = hashlib.md5(name.encode("utf-8", "replace")).digest()
    return "rgb(%d,%d,%d)" % (205 + h[0] % 50, 80 + h[1] % 130, h[2] % 60)


def write_flame(path, tree, code_dir, title, invocations):
    width, row, pad, top = 1200, 16, 10, 40
    levels = []

    def depth(n, d):
        levels.append(d)
        for c in n["children"]:
            depth(c, d + 1)
    depth(tree, 0)
    height = top + (max(levels) + 1) * row + pad * 2
    total = tree["w"] or 1.0
    scale = (width - 2 * pad) / total
    parts = []
    parts.append('<?xml version="1.0" encoding="UTF-8" standalone="no"?>')
    parts.append('<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" '
                 'viewBox="0 0 %d %d" font-family="Verdana, sans-serif" font-size="11">'
                 % (width, height, width, height))
    parts.append('<rect x="0" y="0" width="%d" height="%d" fill="#f8f8f0"/>' % (width, height))
    parts.append('<text x="%d" y="22" font-size="15" text-anchor="middle">%s</text>'
                 % (width // 2, xml_escape(title)))
    parts.append('<text x="%d" y="36" font-size="10" text-anchor="middle" fill="#555">'
                 'width = inclusive time; %d invocation(s); hover a frame for its figures</text>'
                 % (width // 2, invocations))

    def emit(n, x, d):
        w = n["w"] * scale
        y = height - pad - (d + 1) * row
        name = "all" if n["key"] is None else label(n["key"], code_dir)
        ms = n["w"] * 1000.0 / max(invocations, 1)
        tip = "%s: %.2f ms per invocation (%.1f%%)" % (name, ms, 100.0 * n["w"] / total)
        parts.append('<g><title>%s</title><rect x="%.2f" y="%d" width="%.2f" height="%d" '
                     'fill="%s" stroke="#fff" stroke-width="0.5"/>'
                     % (xml_escape(tip), x, y, max(w, 0.1), row - 1, color(name)))
        chars = int((w - 6) / 6.5)
        if chars >= 3:
            text = name if len(name) <= chars else name[:chars - 2] + ".."
            parts.append('<text x="%.2f" y="%d">%s</text>' % (x + 3, y + row - 4, xml_escape(text)))
        parts.append('</g>')
        cx = x
        for c in n["children"]:
            emit(c, cx, d + 1)
            cx += c["w"] * scale
    emit(tree, pad, 0)
    parts.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


# ---------------------------------------------------------------- table

def fmt_calls(n):
    return "%d" % n if abs(n - round(n)) < 1e-9 else "%.2f" % n


def print_table(stats, code_dir, invocations, top, heading, sampled=False):
    total = sum(v[2] for v in stats.values())
    print(heading)
    print("  %10s %7s %10s %9s  %s" % ("incl ms", "incl %", "self ms", "calls", "function"))
    rows = sorted(stats.items(), key=lambda kv: (-kv[1][3], -kv[1][1]))[:top]
    n = max(invocations, 1)
    for key, (cc, nc, tt, ct, _) in rows:
        share = 100.0 * ct / total if total > 0 else 0.0
        print("  %10.2f %6.1f%% %10.2f %9s  %s"
              % (ct * 1000.0 / n, share, tt * 1000.0 / n, fmt_calls(nc / n), label(key, code_dir)))
    if sampled:
        print("  (V8 CPU samples: calls are the call paths seen, not counted calls)")
    print("  total %.2f ms%s\n" % (total * 1000.0 / n, " per invocation" if invocations > 1 else ""))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--output-dir", required=True)
    ap.add_argument("--code-dir", default="")
    ap.add_argument("--init", default=None, help="the INIT profile (init.prof)")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("invokes", nargs="*", help="the invocations' profiles")
    a = ap.parse_args(argv)
    cmd = "powertune profile %s" % (a.code_dir or a.name)
    n = len(a.invokes)
    if a.init:
        stats = load([a.init])
        base = os.path.join(a.output_dir, "callgrind.out.%s.init" % a.name)
        write_callgrind(base, stats, a.code_dir, cmd, 1, "INIT of %s" % a.name)
        write_flame(os.path.join(a.output_dir, "%s.init.flame.svg" % a.name), flame_tree(stats),
                    a.code_dir, "INIT of %s" % a.name, 1)
        print_table(stats, a.code_dir, 1, a.top,
                    "INIT (handler module import, one environment): top %d by inclusive time"
                    % a.top, a.init.endswith(".cpuprofile"))
    if n:
        stats = load(a.invokes)
        write_callgrind(os.path.join(a.output_dir, "callgrind.out.%s" % a.name), stats,
                        a.code_dir, cmd, n, "handler of %s, %d invocation(s)" % (a.name, n))
        write_flame(os.path.join(a.output_dir, "%s.flame.svg" % a.name), flame_tree(stats),
                    a.code_dir, "Handler of %s (%d invocations)" % (a.name, n), n)
        print_table(stats, a.code_dir, n, a.top,
                    "Handler (%d invocation(s)): top %d by inclusive time, per invocation"
                    % (n, a.top), a.invokes[0].endswith(".cpuprofile"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
