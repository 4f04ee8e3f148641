"""CPU-bound example from seeds.md article 2: a million 100-step Fibonacci loops.

Single-threaded, so on Lambda its duration halves as memory doubles up to
~1792 MB (one vCPU) and then stays flat. Event {"n": N} runs N loops instead
of 1,000,000 (for quick tests).
"""

DEFAULT_ITERATIONS = 1000000
STEPS = 100


def fibonacci(steps):
    a, b = 0, 1
    for _ in range(steps):
        a, b = b, a + b
    return a


def lambda_handler(event, context):
    n = DEFAULT_ITERATIONS
    if isinstance(event, dict) and "n" in event:
        n = max(0, int(event["n"]))
    checksum = 0
    for _ in range(n):
        checksum = (checksum + fibonacci(STEPS)) % 1000000007
    return {"iterations": n, "steps": STEPS, "checksum": checksum}
