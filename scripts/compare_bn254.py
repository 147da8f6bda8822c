"""Side-by-side timings of our BN254 (zkp-bench) and herumi mcl (the mclbn256 wheel).

Run through scripts/compare-bn254, which builds zkp-bench and provides the venv.
Prints one JSON object per line: op, n, threads, ours_s, peer, peer_s, ratio
(ours_s / peer_s; below 1 means we are faster), rounds. Each side is timed `rounds`
times, alternating with the other, and its fastest median (seconds per operation)
is reported.

mcl is called through ctypes. For sub-microsecond operations the median time of a
no-op ctypes call (mclBnFr_isZero) is subtracted, and the line says so
("peer_note"); a field multiplication is shorter than the call's own jitter, so
fp_mul has no peer figure.
"""
import ctypes
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "PeerDrivers"))
from mcl_peer import FpT, FrT, G1T, G2T, GTT, L, set_str  # noqa: E402  (switches mcl to BN254)

L.mclBnG1_mulVec.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
L.mclBnG2_mulVec.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
L.mclBnG1_mulVecMT.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
L.mclBn_millerLoopVec.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]

G2_GENERATOR = (
    "10857046999023057135944570762232829481370756359578518086990519993285655852781 "
    "11559732032986387107991004021392285783925812861821192530917403151452391805634 "
    "8495653923123431417604973247489272438418190587263600148770280649306958101930 "
    "4082367875863433681332203403145435568316851327593401208105741076214120093531"
)


def random_frs(n):
    values = (FrT * n)()
    base, size = ctypes.addressof(values), ctypes.sizeof(FrT)
    for i in range(n):
        L.mclBnFr_setByCSPRNG(ctypes.c_void_p(base + i * size))
    return values


def point_sequence(kind, n):
    """Distinct affine points P0 + i*D, as our benchmark uses."""
    T, generator = (G1T, "1 1 2") if kind == "g1" else (G2T, "1 " + G2_GENERATOR)
    mul, add, normalize = (
        (L.mclBnG1_mul, L.mclBnG1_add, L.mclBnG1_normalize)
        if kind == "g1" else (L.mclBnG2_mul, L.mclBnG2_add, L.mclBnG2_normalize))
    g = T()
    set_str(L.mclBnG1_setStr if kind == "g1" else L.mclBnG2_setStr, g, generator)
    scalars = random_frs(2)
    step = T()
    mul(ctypes.byref(step), ctypes.byref(g), ctypes.byref(scalars[1]))
    points = (T * n)()
    base, size = ctypes.addressof(points), ctypes.sizeof(T)
    mul(ctypes.c_void_p(base), ctypes.byref(g), ctypes.byref(scalars[0]))
    for i in range(1, n):
        add(ctypes.c_void_p(base + i * size), ctypes.c_void_p(base + (i - 1) * size), ctypes.byref(step))
    for i in range(n):
        normalize(ctypes.c_void_p(base + i * size), ctypes.c_void_p(base + i * size))
    return points


def per_op(function, batch, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(batch):
            function(i)
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples)


def once(function, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def mcl_timings(threads, wanted):
    """mcl's time per operation, for the operations `wanted(name)` accepts."""
    out = {}
    scalars = random_frs(64)
    sbase, ssize = ctypes.addressof(scalars), ctypes.sizeof(FrT)
    g1, g2 = G1T(), G2T()
    set_str(L.mclBnG1_setStr, g1, "1 1 2")
    set_str(L.mclBnG2_setStr, g2, "1 " + G2_GENERATOR)
    p1, p2 = G1T(), G2T()
    L.mclBnG1_mul(ctypes.byref(p1), ctypes.byref(g1), ctypes.byref(scalars[0]))
    L.mclBnG1_normalize(ctypes.byref(p1), ctypes.byref(p1))
    L.mclBnG2_mul(ctypes.byref(p2), ctypes.byref(g2), ctypes.byref(scalars[1]))
    L.mclBnG2_normalize(ctypes.byref(p2), ctypes.byref(p2))
    a, b = FpT(), FpT()
    set_str(L.mclBnFp_setStr, a, "1234567891011121314151617181920")
    set_str(L.mclBnFp_setStr, b, "2021222324252627282930313233343536")
    z1, z2, gt = G1T(), G2T(), GTT()
    ra, rb, rp1, rp2, rz1, rz2, rgt = (ctypes.byref(x) for x in (a, b, p1, p2, z1, z2, gt))
    overhead = per_op(lambda i: L.mclBnFr_isZero(ctypes.c_void_p(sbase)), 200000, 7)

    def time_if_wanted(name, measure):
        if wanted(name):
            out[name] = measure()

    time_if_wanted("fp_inverse", lambda: (
        per_op(lambda i: L.mclBnFp_inv(ra, ra), 100000, 7) - overhead, "ctypes overhead subtracted"))
    time_if_wanted("g1_add_mixed", lambda: (
        per_op(lambda i: L.mclBnG1_add(rz1, rz1, rp1), 100000, 7) - overhead, "ctypes overhead subtracted"))
    time_if_wanted("g1_scalar_mul", lambda: (
        per_op(lambda i: L.mclBnG1_mul(rz1, rp1, ctypes.c_void_p(sbase + (i & 63) * ssize)), 3000, 7), None))
    time_if_wanted("g2_scalar_mul", lambda: (
        per_op(lambda i: L.mclBnG2_mul(rz2, rp2, ctypes.c_void_p(sbase + (i & 63) * ssize)), 1000, 7), None))
    time_if_wanted("pairing", lambda: (per_op(lambda i: L.mclBn_pairing(rgt, rp1, rp2), 300, 7), None))
    ps, qs = (G1T * 4)(), (G2T * 4)()
    for i in range(4):
        L.mclBnG1_mul(ctypes.byref(ps[i]), ctypes.byref(g1), ctypes.byref(scalars[2 + i]))
        L.mclBnG2_mul(ctypes.byref(qs[i]), ctypes.byref(g2), ctypes.byref(scalars[6 + i]))
    loop = GTT()

    def multi_pairing(_):
        L.mclBn_millerLoopVec(ctypes.byref(loop), ps, qs, 4)
        L.mclBn_finalExp(rgt, ctypes.byref(loop))

    time_if_wanted("multi_pairing_4", lambda: (per_op(multi_pairing, 200, 7), None))
    for log_n, runs in ((16, 5), (20, 3)):
        if not (wanted(f"g1_msm_2^{log_n}_1t") or wanted(f"g1_msm_2^{log_n}")):
            continue
        n = 1 << log_n
        points, frs = point_sequence("g1", n), random_frs(n)
        result = G1T()
        time_if_wanted(f"g1_msm_2^{log_n}_1t", lambda: (
            once(lambda: L.mclBnG1_mulVec(ctypes.byref(result), points, frs, n), runs), None))
        time_if_wanted(f"g1_msm_2^{log_n}", lambda: (
            once(lambda: L.mclBnG1_mulVecMT(ctypes.byref(result), points, frs, n, threads), runs), None))
        del points, frs
    if wanted("g2_msm_2^16_1t"):
        n = 1 << 16
        points, frs = point_sequence("g2", n), random_frs(n)
        result2 = G2T()
        out["g2_msm_2^16_1t"] = (once(lambda: L.mclBnG2_mulVec(ctypes.byref(result2), points, frs, n), 3), None)
    return out


def main():
    bench = sys.argv[1]
    arguments = sys.argv[2:]
    # --filter TEXT: only the operations whose name contains TEXT, as zkp-bench takes it.
    # --rounds N: each operation is timed N times on each side, alternately, and the
    # fastest median of each side is compared. The host's speed drifts over minutes, so
    # timing all of ours and then all of mcl's would compare different machines.
    text = arguments[arguments.index("--filter") + 1] if "--filter" in arguments else None
    rounds = int(arguments[arguments.index("--rounds") + 1]) if "--rounds" in arguments else 2
    threads = os.cpu_count() or 1
    names = subprocess.run([bench, "--list"] + (["--filter", text] if text else []), check=True,
                           capture_output=True, text=True).stdout.split()
    # mcl's mulVec keeps its tables on the stack (alloca): large n needs a big stack.
    threading.stack_size(1 << 30)
    for name in names:
        ours, peer, note = [], [], None
        for _ in range(rounds):
            process = subprocess.run([bench, "--name", name], check=True, capture_output=True, text=True)
            ours.append(json.loads(process.stdout.splitlines()[0]))
            result = {}
            worker = threading.Thread(target=lambda: result.update(mcl_timings(threads, lambda op: op == name)))
            worker.start()
            worker.join()
            # A time left after subtracting the ctypes overhead must be positive; under a
            # noisy host the overhead, measured separately, can exceed the call itself.
            if name in result and result[name][0] > 0:
                peer.append(result[name][0])
                note = result[name][1]
            elif name in result and not peer:
                note = "peer time not measurable: ctypes overhead exceeded the call in every round"
        best = min(ours, key=lambda row: row["median_s"])
        peer_s = min(peer) if peer else None
        if not peer and note is None:
            note = "too fast to time through ctypes" if name == "fp_mul" else "no mcl API for this operation"
        record = {
            "op": name,
            "n": best["parameters"].get("n", 1),
            "threads": best["threads"],
            "ours_s": best["median_s"],
            "peer": "mcl 1.61 (mclbn256 1.3.5)" if peer_s is not None else None,
            "peer_s": peer_s,
            "ratio": best["median_s"] / peer_s if peer_s else None,
            "rounds": rounds,
            "git_revision": best["git_revision"],
        }
        if note:
            record["peer_note"] = note
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
