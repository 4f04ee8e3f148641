"""Slow initialisation done once, at module level (INIT); seeds.md article 2.

The 2 s constructor runs during INIT, so it shows up as "Init Duration" on the
cold start only; warm invocations take about a millisecond.
"""
import time


class SlowResource(object):
    def __init__(self, seconds=2.0):
        time.sleep(seconds)
        self.seconds = seconds
        self.created_at = time.time()


RESOURCE = SlowResource()  # built once per execution environment


def lambda_handler(event, context):
    return {"slept_in": "init", "seconds": RESOURCE.seconds, "created_at": RESOURCE.created_at}
