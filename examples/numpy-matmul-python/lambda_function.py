"""CPU-bound example from seeds.md article 1: numpy.dot of two random
1000x1000 float32 matrices.

On Lambda it is fastest at the largest memory, but the gain almost stops
above ~1792 MB (one full vCPU). numpy is imported at module level, so its
import cost lands in INIT (boosted CPU) rather than in every invocation.
Event {"size": N} multiplies N x N matrices instead (1..2000, for quick tests).
"""
import time

import numpy as np

DEFAULT_SIZE = 1000
MAX_SIZE = 2000


def lambda_handler(event, context):
    size = DEFAULT_SIZE
    if isinstance(event, dict) and "size" in event:
        size = min(MAX_SIZE, max(1, int(event["size"])))
    rng = np.random.default_rng()
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    start = time.perf_counter()
    c = np.dot(a, b)
    dot_ms = (time.perf_counter() - start) * 1000.0
    return {
        "shape": list(c.shape),
        "dtype": str(c.dtype),
        "checksum": float(c.sum(dtype=np.float64)),
        "dot_ms": round(dot_ms, 3),
    }
