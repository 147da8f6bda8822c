"""arkworks (ark-groth16, through PyPI's groth16py) as a peer for the Groth16 tests.

Same protocol as the other drivers: one JSON request {"op": NAME, "cases": [...]} on
stdin, {"results": [...]} on stdout.

ops:
  verify_snarkjs  case {"vk": str, "proof": str, "public": str}: the snarkjs JSON texts
                  of verification_key.json, proof.json and public.json → true/false, or
                  {"error": message} when groth16py refuses the input
"""

import groth16py
from peer_protocol import serve


def verify_snarkjs(case):
    try:
        key = groth16py.VerifyingKey.from_snarkjs(case["vk"])
        return bool(groth16py.Verifier(key).verify_snarkjs(case["proof"], case["public"]))
    except Exception as error:  # the test reports the message
        return {"error": f"{type(error).__name__}: {error}"}


OPS = {"verify_snarkjs": verify_snarkjs}


if __name__ == "__main__":
    serve(OPS)
