"""powertune Python runtime: what the engine starts, as
`<python3> <runtime_dir>/python/bootstrap.py`.

Python compiles a script at every start (only imported modules are cached), and
compiling the whole runtime client cost ~3 ms of each cold start. So this script
stays tiny and imports the client, _powertune_runtime.py, whose .pyc `make`
builds into __pycache__ (checked-hash: never used when the source changed).
Another interpreter version, or a stale or missing .pyc, compiles the source as
any import does; nothing is written (the runtime directory is read-only to
functions, as /var/runtime is on Lambda).
"""
import sys

# Only as the main script: multiprocessing's spawn and forkserver start methods import the
# main module again in their processes.
if __name__ == "__main__":
    import gc

    sys.dont_write_bytecode = True
    # The client's few thousand objects live as long as the process. Imported with the
    # collector on, they cost a young-generation collection (~0.5 ms of a cold start here,
    # bench/RESULTS.md) that finds nothing; so they are imported with it off and put straight
    # into the oldest generation (freeze, then unfreeze), where site's modules already are.
    # The function's INIT then starts with empty young generations and the usual thresholds.
    gc.disable()
    from _powertune_runtime import main

    gc.freeze()
    gc.unfreeze()
    gc.enable()

    # the function's code sees the modules it saw when the client was one script
    del sys.modules["_powertune_runtime"]
    main()
