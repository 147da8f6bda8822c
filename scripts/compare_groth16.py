"""Side-by-side Groth16 timings: zkp-bench --r1cs/--wtns and arkworks through groth16py.

Run through scripts/compare-groth16. Prints one JSON object per line: op, n (constraints),
threads, ours_s, peer, peer_s, ratio (ours_s / peer_s; below 1 means we are faster).
groth16py proves on one thread, so both prove lines compare against its single-thread
time. Batch verification has no arkworks counterpart: its line compares our batch cost
per proof with our own single verification (peer "ours_verify").
"""
import json
import statistics
import struct
import subprocess
import sys
import time

import groth16py


def public_inputs(r1cs_path, wtns_path):
    """The public signals: witness values 1..nPublic (outputs, then public inputs)."""
    def sections(data):
        count = struct.unpack_from("<I", data, 8)[0]
        offset, found = 12, {}
        for _ in range(count):
            kind, size = struct.unpack_from("<IQ", data, offset)
            found[kind] = (offset + 12, size)
            offset += 12 + size
        return found

    r1cs = open(r1cs_path, "rb").read()
    start, _ = sections(r1cs)[1]
    n8 = struct.unpack_from("<I", r1cs, start)[0]
    _, outputs, inputs = struct.unpack_from("<III", r1cs, start + 4 + n8)
    wtns = open(wtns_path, "rb").read()
    start, _ = sections(wtns)[2]
    return [int.from_bytes(wtns[start + 32 * i:start + 32 * (i + 1)], "little") for i in range(1, 1 + outputs + inputs)]


def timed(function, runs):
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - begin)
    return statistics.median(times), result


def main():
    bench, directory = sys.argv[1], sys.argv[2]
    r1cs, wtns = f"{directory}/circuit.r1cs", f"{directory}/witness.wtns"
    ours = {}
    output = subprocess.run([bench, "--r1cs", r1cs, "--wtns", wtns], check=True, capture_output=True, text=True).stdout
    for line in output.splitlines():
        record = json.loads(line)
        ours[record["name"]] = record
    constraints = ours["groth16_setup"]["parameters"]["constraints"]

    setup_s, (pk, vk) = timed(lambda: groth16py.setup(r1cs), 1)
    prove_s, proof = timed(lambda: groth16py.prove_wtns(pk, wtns), 3)
    verifier = groth16py.Verifier(vk)
    inputs = public_inputs(r1cs, wtns)
    verify_s, valid = timed(lambda: verifier.verify(proof, inputs), 20)
    if not valid:
        raise SystemExit("arkworks did not accept its own proof")

    def line(op, name, peer, peer_s):
        record = ours[name]
        print(json.dumps({
            "op": op, "n": constraints, "threads": record["threads"], "ours_s": record["median_s"],
            "peer": peer, "peer_s": peer_s, "ratio": record["median_s"] / peer_s,
        }), flush=True)

    line("setup", "groth16_setup", "arkworks", setup_s)
    line("prove", "groth16_prove_1t", "arkworks", prove_s)
    line("prove", "groth16_prove", "arkworks", prove_s)
    line("verify", "groth16_verify", "arkworks", verify_s)
    line("batch_verify_64_per_proof", "groth16_batch_verify_per_proof", "ours_verify",
         ours["groth16_verify"]["median_s"])


if __name__ == "__main__":
    main()
