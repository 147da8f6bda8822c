"""herumi mcl (through the mclbn256 wheel) as a peer for the BN254 tests.

Same protocol as pyecc_driver.py: one JSON request {"op": NAME, "cases": [...]} on
stdin, {"results": [...]} on stdout; integers as decimal strings, points affine
([x, y] for G1, [x0, x1, y0, y1] with x = x0 + x1*u for G2), null for infinity.

mcl_peer.py switches mcl to Ethereum's curve before anything else runs.
"""
import ctypes

from mcl_peer import FpT, FrT, G1T, G2T, GTT, L, get_str, set_str
from peer_protocol import serve


def g1(point):
    p = G1T()
    if point is None:
        L.mclBnG1_clear(ctypes.byref(p))
    else:
        set_str(L.mclBnG1_setStr, p, f"1 {point[0]} {point[1]}")
    return p


def g1_out(p):
    n = G1T()
    L.mclBnG1_normalize(ctypes.byref(n), ctypes.byref(p))
    parts = get_str(L.mclBnG1_getStr, n).split()
    return None if parts == ["0"] else parts[1:3]


def g2(point):
    q = G2T()
    if point is None:
        L.mclBnG2_clear(ctypes.byref(q))
    else:
        set_str(L.mclBnG2_setStr, q, "1 " + " ".join(point))
    return q


def g2_out(q):
    n = G2T()
    L.mclBnG2_normalize(ctypes.byref(n), ctypes.byref(q))
    parts = get_str(L.mclBnG2_getStr, n).split()
    return None if parts == ["0"] else parts[1:5]


def fr(text):
    s = FrT()
    set_str(L.mclBnFr_setStr, s, text)
    return s


def fp(text):
    a = FpT()
    set_str(L.mclBnFp_setStr, a, text)
    return a


def fp_mul(case):
    out = FpT()
    L.mclBnFp_mul(ctypes.byref(out), ctypes.byref(fp(case[0])), ctypes.byref(fp(case[1])))
    return get_str(L.mclBnFp_getStr, out)


def fp_inv(case):
    out = FpT()
    L.mclBnFp_inv(ctypes.byref(out), ctypes.byref(fp(case[0])))
    return get_str(L.mclBnFp_getStr, out)


def fr_mul(case):
    out = FrT()
    L.mclBnFr_mul(ctypes.byref(out), ctypes.byref(fr(case[0])), ctypes.byref(fr(case[1])))
    return get_str(L.mclBnFr_getStr, out)


def g1_add(case):
    out = G1T()
    L.mclBnG1_add(ctypes.byref(out), ctypes.byref(g1(case[0])), ctypes.byref(g1(case[1])))
    return g1_out(out)


def g1_mul(case):
    out = G1T()
    L.mclBnG1_mul(ctypes.byref(out), ctypes.byref(g1(case[0])), ctypes.byref(fr(case[1])))
    return g1_out(out)


def g2_add(case):
    out = G2T()
    L.mclBnG2_add(ctypes.byref(out), ctypes.byref(g2(case[0])), ctypes.byref(g2(case[1])))
    return g2_out(out)


def g2_mul(case):
    out = G2T()
    L.mclBnG2_mul(ctypes.byref(out), ctypes.byref(g2(case[0])), ctypes.byref(fr(case[1])))
    return g2_out(out)


def pairing_check(case):
    accumulator = GTT()
    set_str(L.mclBnGT_setStr, accumulator, "1 " + " ".join(["0"] * 11))
    for p, q in case:
        loop = GTT()
        L.mclBn_millerLoop(ctypes.byref(loop), ctypes.byref(g1(p)), ctypes.byref(g2(q)))
        L.mclBnGT_mul(ctypes.byref(accumulator), ctypes.byref(accumulator), ctypes.byref(loop))
    result = GTT()
    L.mclBn_finalExp(ctypes.byref(result), ctypes.byref(accumulator))
    return bool(L.mclBnGT_isOne(ctypes.byref(result)))


def pairing(case):
    """e(P, Q) with mcl's final exponentiation, as 12 decimal strings in tower order."""
    p, q = case
    result = GTT()
    L.mclBn_pairing(ctypes.byref(result), ctypes.byref(g1(p)), ctypes.byref(g2(q)))
    return get_str(L.mclBnGT_getStr, result).split()


OPS = {
    "fp_mul": fp_mul,
    "fp_inv": fp_inv,
    "fr_mul": fr_mul,
    "g1_add": g1_add,
    "g1_mul": g1_mul,
    "g2_add": g2_add,
    "g2_mul": g2_mul,
    "pairing_check": pairing_check,
    "pairing": pairing,
}


if __name__ == "__main__":
    serve(OPS)
