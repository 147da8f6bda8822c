"""The peer drivers' common protocol: one JSON request {"op": NAME, "cases": [...]}
on stdin, {"results": [...]} (one result per case) on stdout."""
import json
import sys


def serve(operations):
    request = json.load(sys.stdin)
    operation = operations[request["op"]]
    print(json.dumps({"results": [operation(case) for case in request["cases"]]}))
