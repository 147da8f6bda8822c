"""herumi mcl through the mclbn256 wheel's bundled library, switched to BN254.

The wheel starts mcl on a different BN curve; mclBn_init(4) switches it to
MCL_BN_SNARK1, which is Ethereum's alt_bn128 (BN254). Shared by the test
driver and the benchmark comparison so both talk to mcl the same way.
"""
import ctypes
import sys

from mclbn256 import mclbn256 as _wheel

L = _wheel.lib
G1T = ctypes.c_uint64 * 12
G2T = ctypes.c_uint64 * 24
GTT = ctypes.c_uint64 * 48
FpT = ctypes.c_uint64 * 4
FrT = ctypes.c_uint64 * 4
MCL_BN_SNARK1 = 4

if L.mclBn_init(ctypes.c_int(MCL_BN_SNARK1), ctypes.c_int(_wheel.MCLBN_COMPILED_TIME_VAR)) != 0:
    sys.exit("mclBn_init(MCL_BN_SNARK1) failed")


def set_str(fn, obj, text):
    """Sets obj from decimal text (mcl's io mode 10)."""
    raw = text.encode()
    if fn(ctypes.byref(obj), ctypes.c_char_p(raw), ctypes.c_size_t(len(raw)), ctypes.c_int(10)) != 0:
        raise ValueError(f"{fn.__name__} rejected {text!r}")


def get_str(fn, obj):
    """obj as decimal text (mcl's io mode 10)."""
    buffer = ctypes.create_string_buffer(2048)
    if fn(buffer, ctypes.c_size_t(len(buffer)), ctypes.byref(obj), ctypes.c_int(10)) == 0:
        raise ValueError(f"{fn.__name__} failed")
    return buffer.value.decode()
