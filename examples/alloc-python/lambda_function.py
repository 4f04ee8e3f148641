"""Allocates event {"mb": N} MiB (default 64) and touches every page, to
provoke Runtime.OutOfMemory when N approaches the function's MemorySize."""

PAGE = 4096


def lambda_handler(event, context):
    mb = 64
    if isinstance(event, dict) and "mb" in event:
        mb = max(0, int(event["mb"]))
    size = mb * 1024 * 1024
    buf = bytearray(b"x") * size         # memset: every byte written
    if size:
        buf[::PAGE] = b"y" * len(range(0, size, PAGE))  # and one more write per page
    return {"allocated_mb": mb, "bytes": len(buf)}
