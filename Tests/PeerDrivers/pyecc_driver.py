"""py_ecc (Ethereum's optimized_bn128) as a peer for the BN254 tests.

Reads one JSON request on stdin: {"op": NAME, "cases": [...]} and prints
{"results": [...]}, one result per case. Integers travel as decimal strings.
"""

from py_ecc import optimized_bn128 as bn
from peer_protocol import serve

P = bn.field_modulus
R = bn.curve_order


def g1(pt):
    """Affine [x, y] decimal strings (or None for infinity) -> py_ecc point."""
    if pt is None:
        return bn.Z1
    return (bn.FQ(int(pt[0])), bn.FQ(int(pt[1])), bn.FQ(1))


def g1_out(pt):
    if bn.is_inf(pt):
        return None
    x, y = bn.normalize(pt)
    return [str(int(x)), str(int(y))]


def g2(pt):
    """Affine [x0, x1, y0, y1] (c0 + c1*u) decimal strings -> py_ecc point."""
    if pt is None:
        return bn.Z2
    x0, x1, y0, y1 = (int(v) for v in pt)
    return (bn.FQ2([x0, x1]), bn.FQ2([y0, y1]), bn.FQ2.one())


def g2_out(pt):
    if bn.is_inf(pt):
        return None
    x, y = bn.normalize(pt)
    return [str(int(c)) for c in (x.coeffs[0], x.coeffs[1], y.coeffs[0], y.coeffs[1])]


def facts(_case):
    """Basic facts about the curve, for the harness's own smoke test."""
    x, y = 1, 2
    on_curve = (y * y - (x * x * x + 3)) % P == 0
    e = bn.pairing(bn.G2, bn.G1)
    return {
        "g1_generator_on_curve": on_curve,
        "pairing_of_generators_is_one": e == bn.FQ12.one(),
        "field_modulus": str(P),
        "curve_order": str(R),
    }


def pairing_value(case):
    """e(P, Q) as 12 decimal strings in the tower order Fp12 = Fp6[w]/(w^2 - v),
    Fp6 = Fp2[v]/(v^3 - (9 + u)): c0.c0.c0, c0.c0.c1, c0.c1.c0, ..., c1.c2.c1.

    py_ecc keeps Fp12 as Fp[w]/(w^12 - 18 w^6 + 82), where v = w^2 and u = w^6 - 9, so
    the tower coefficient a + b*u of v^j (times w for the c1 half) is spread over
    w^(2j) with a - 9b and w^(2j+6) with b.
    """
    value = bn.pairing(g2(case[1]), g1(case[0]))
    coefficients = [int(c) for c in value.coeffs]
    tower = []
    for half in (0, 1):
        for j in range(3):
            imaginary = coefficients[2 * j + 6 + half]
            real = (coefficients[2 * j + half] + 9 * imaginary) % P
            tower += [str(real), str(imaginary)]
    return tower


OPS = {
    "pairing": pairing_value,
    "facts": facts,
    "fp_mul": lambda c: str(int(c[0]) * int(c[1]) % P),
    "fp_inv": lambda c: str(pow(int(c[0]), P - 2, P)),
    "fr_mul": lambda c: str(int(c[0]) * int(c[1]) % R),
    "g1_add": lambda c: g1_out(bn.add(g1(c[0]), g1(c[1]))),
    "g1_mul": lambda c: g1_out(bn.multiply(g1(c[0]), int(c[1]) % R)),
    "g2_add": lambda c: g2_out(bn.add(g2(c[0]), g2(c[1]))),
    "g2_mul": lambda c: g2_out(bn.multiply(g2(c[0]), int(c[1]) % R)),
    # Product of pairings e(P_i, Q_i) == 1, as the Ethereum precompile asks.
    "pairing_check": lambda c: (
        bn.final_exponentiate(
            _product(bn.pairing(g2(q), g1(p), final_exponentiate=False) for p, q in c)
        ) == bn.FQ12.one()
    ),
}


def _product(values):
    acc = bn.FQ12.one()
    for v in values:
        acc = acc * v
    return acc


if __name__ == "__main__":
    serve(OPS)
