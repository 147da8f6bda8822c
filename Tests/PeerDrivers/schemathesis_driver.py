"""schemathesis (PyPI) as a property-based client of the gateway's /openapi.json.

Same protocol as the other drivers: one JSON request {"op": NAME, "cases": [...]} on
stdin, {"results": [...]} on stdout.

ops:
  run  case {"url": str, "seed": int, "max_examples": int}: runs every phase (examples,
       coverage, fuzzing, stateful through the document's links) against the schema at
       url → {"exit_code": int, "report": the end of schemathesis's report}

Checks: all of schemathesis's but positive_data_acceptance. A request the schema allows
can still be refused for a reason no JSON Schema can state (a leaf that is hex but not
below the field modulus, a leaf_index past the last leaf, inputs that do not fit the
circuit); each such refusal is a 4xx envelope, which the other checks still hold to the
document. schemathesis's response-time check is given the request timeout as its limit:
speed is a benchmark's business, and a slower answer is a hang, not a slow one.
"""

import subprocess
import sys
import tempfile

from peer_protocol import serve


def run(case):
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", case["url"],
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",
        "--max-examples", str(case["max_examples"]),
        "--seed", str(case["seed"]),
        "--workers", "1",
        # Longer than any answer the gateway may give (a long poll ends before its deadline).
        "--request-timeout", "90",
        "--max-response-time", "90",
        "--no-color",
    ]
    # schemathesis and hypothesis keep state beside them: in a directory of their own.
    with tempfile.TemporaryDirectory(prefix="zkp-schemathesis-") as workdir:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=workdir)
    report = finished.stdout + finished.stderr
    return {"exit_code": finished.returncode, "report": report[-12000:]}


OPS = {"run": run}


if __name__ == "__main__":
    serve(OPS)
