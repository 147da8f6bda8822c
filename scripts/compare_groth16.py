"""Side-by-side Groth16 timings: zkp-bench --r1cs/--wtns and arkworks through groth16py.

Run through scripts/compare-groth16. Prints one JSON object per line: op, n (constraints),
threads, ours_s, peer, peer_s, ratio (ours_s / peer_s; below 1 means we are faster), rounds.
Each side is timed `rounds` times (default 2), alternating with the other, and keeps its
fastest median.
groth16py proves on one thread, so both prove lines compare against its single-thread
time. Batch verification has no arkworks counterpart: its line compares our batch cost
per proof with our own single verification (peer "ours_verify"); "prove_speedup" is our
one-thread prove time over our all-thread one.

"peak_memory_prove" compares the peak resident memory (MB) of a process that loads a
proving key from disk and proves once on one thread: `zkp prove` against a Python process
running groth16py's `ProvingKey.load` and `prove_wtns` (its figure includes the Python
interpreter, about 10 MB).
"""
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
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


PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

ARKWORKS_PROVE = """
import sys, groth16py
groth16py.prove_wtns(groth16py.ProvingKey.load(sys.argv[1]), sys.argv[2])
"""


def peak_rss_mb(command):
    """Peak resident set of `command` (a fresh process), in MB."""
    output = subprocess.run([sys.executable, "-c", PEAK_RSS] + command, check=True, capture_output=True, text=True)
    return int(output.stdout.strip()) / 1024


def memory_line(zkp, r1cs, wtns, pk, constraints):
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([zkp, "setup", "--r1cs", r1cs, "--out", scratch], check=True, capture_output=True)
        ours = peak_rss_mb([zkp, "prove", "--pk", f"{scratch}/proving_key.zkpk", "--wtns", wtns, "--threads", "1",
                            "--proof", f"{scratch}/proof.json", "--public", f"{scratch}/public.json"])
        pk_path = f"{scratch}/arkworks.pk"
        pk.save(pk_path)
        peer = peak_rss_mb([sys.executable, "-c", ARKWORKS_PROVE, pk_path, wtns])
    print(json.dumps({"op": "peak_memory_prove", "n": constraints, "threads": 1, "ours_mb": round(ours, 1),
                      "peer": "arkworks", "peer_mb": round(peer, 1), "ratio": ours / peer}), flush=True)


def main():
    bench, zkp, directory = sys.argv[1], sys.argv[2], sys.argv[3]
    # Rounds alternate ours and arkworks, and each side keeps its fastest median: the
    # host's speed drifts over minutes, so timing one side after the other would compare
    # two different machines.
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    r1cs, wtns = f"{directory}/circuit.r1cs", f"{directory}/witness.wtns"
    ours, peer = {}, {}
    inputs = public_inputs(r1cs, wtns)
    for _ in range(rounds):
        output = subprocess.run([bench, "--r1cs", r1cs, "--wtns", wtns], check=True, capture_output=True,
                                text=True).stdout
        for text in output.splitlines():
            record = json.loads(text)
            if record["name"] not in ours or record["median_s"] < ours[record["name"]]["median_s"]:
                ours[record["name"]] = record
        setup_s, (pk, vk) = timed(lambda: groth16py.setup(r1cs), 1)
        prove_s, proof = timed(lambda: groth16py.prove_wtns(pk, wtns), 3)
        verifier = groth16py.Verifier(vk)
        verify_s, valid = timed(lambda: verifier.verify(proof, inputs), 20)
        if not valid:
            raise SystemExit("arkworks did not accept its own proof")
        for name, seconds in (("setup", setup_s), ("prove", prove_s), ("verify", verify_s)):
            peer[name] = min(seconds, peer.get(name, seconds))
    constraints = ours["groth16_setup"]["parameters"]["constraints"]

    def line(op, name, peer_name, peer_s):
        record = ours[name]
        print(json.dumps({
            "op": op, "n": constraints, "threads": record["threads"], "ours_s": record["median_s"],
            "peer": peer_name, "peer_s": peer_s, "ratio": record["median_s"] / peer_s, "rounds": rounds,
        }), flush=True)

    line("setup", "groth16_setup", "arkworks", peer["setup"])
    line("prove", "groth16_prove_1t", "arkworks", peer["prove"])
    line("prove", "groth16_prove", "arkworks", peer["prove"])
    line("verify", "groth16_verify", "arkworks", peer["verify"])
    line("batch_verify_64_per_proof", "groth16_batch_verify_per_proof", "ours_verify",
         ours["groth16_verify"]["median_s"])
    one, many = ours["groth16_prove_1t"], ours["groth16_prove"]
    print(json.dumps({"op": "prove_speedup", "n": constraints, "threads": many["threads"],
                      "ours_1t_s": one["median_s"], "ours_s": many["median_s"],
                      "speedup": one["median_s"] / many["median_s"], "rounds": rounds}), flush=True)
    memory_line(zkp, r1cs, wtns, pk, constraints)


if __name__ == "__main__":
    main()
