"""The line protocol of the benchmarks' PyTorch peers (tests/bench/python_peer.h
drives them): one command per stdin line, one JSON reply per stdout line.

  setup {json}    student {json}    run N    eval    rss    quit

`peer` has setup(dict), student(dict), run(int) and evaluate(); an exception
becomes {"error": message}, which the driver prints before it stops.
"""
import json
import resource
import sys

import torch


def serve(peer, name):
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        try:
            if cmd == "setup":
                reply = peer.setup(json.loads(arg))
            elif cmd == "student":
                reply = peer.student(json.loads(arg))
            elif cmd == "run":
                reply = peer.run(int(arg))
            elif cmd == "eval":
                reply = peer.evaluate()
            elif cmd == "rss":
                reply = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                         "torch": torch.__version__, "threads": torch.get_num_threads()}
            elif cmd == "quit":
                break
            else:
                reply = {"error": "unknown command " + cmd}
        except Exception as e:  # noqa: BLE001 - the driver prints it and stops
            print(f"{name}: {cmd}: {e}", file=sys.stderr)
            reply = {"error": str(e)}
        print(json.dumps(reply), flush=True)
