# CPU work at module level (INIT): what the INIT boost speeds up.
# The same loop as examples/fibonacci-python, run during import.
import os

LOOPS = int(os.environ.get("INIT_LOOPS", "100000"))


def _fib_loops(n):
    total = 0
    for _ in range(n):
        a, b = 0, 1
        for _ in range(100):
            a, b = b, a + b
        total += a & 0xFF
    return total


CHECKSUM = _fib_loops(LOOPS)


def lambda_handler(event, context):
    return {"checksum": CHECKSUM}
