"""Vector math of the kernels: jit options, dtype-generic constants, and
an exp and a log that vectorise (libm's are scalar calls)."""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype

from .._config import NUMBA_CACHE

# Reassociation lets LLVM vectorise the reductions over a tile's points.  The
# summation order is then fixed by the compiled code and the block grid, not
# by the threads, so results stay bitwise reproducible.  No 'nnan'/'ninf':
# log(0) = -inf is a legitimate value here.
_FASTMATH = {"reassoc", "contract", "nsz"}


# Two kinds of jitted function.  A block function (``_BLOCK``) is an entry
# point: called from Python (by the threads of a pass, the GIL released),
# and cached on disk; it has Numba's Python wrapper and not its C wrapper
# (nothing calls it through a pointer).  Everything else (``_HELPER``) is
# only ever compiled into a block: it gets neither wrapper (code that
# nothing would call: about a fifth of a first fit's compile time) and no
# cache entry of its own (its machine code is in the block's entry).  A
# helper cannot be called from Python: tests call one through a jitted
# function of their own.
_BLOCK = dict(cache=NUMBA_CACHE, nogil=True, fastmath=_FASTMATH, no_cfunc_wrapper=True)


_HELPER = dict(fastmath=_FASTMATH, no_cpython_wrapper=True, no_cfunc_wrapper=True)


@intrinsic
def _address(typingctx, a):
    """The address of ``a``'s first element, as an int64."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(array.data, ir.IntType(64))

    return types.int64(a), codegen


@njit(**_HELPER)
def _empty64(n, like):
    """n elements of ``like``'s dtype, the first on a 64-byte boundary.

    Numba aligns arrays to 32 bytes; an AVX-512 vector is 64, so a scratch
    array that malloc placed off a 64-byte boundary split every vector load
    over two cache lines: the same kernel ran a pass of 1M x 16 x 16 in 70
    or in 100 ms from one process (or heap state) to the next.  (The address
    through an intrinsic: the array's ``ctypes`` attribute took a third of a
    second to compile.)
    """
    per = 64 // like.itemsize
    buf = np.empty(n + per, like.dtype)
    start = ((-_address(buf)) & 63) // like.itemsize
    return buf[start : start + n]


@njit(**_HELPER)
def _zeros64(n, like):
    """_empty64, filled with zeros.  (Also the blocks' float64 accumulators,
    reshaped: one compiled allocation instead of np.zeros for each shape.)"""
    a = _empty64(n, like)
    for i in range(n):
        a[i] = 0
    return a


# x86 CPUs whose LLVM name implies AVX-512 (when Numba is told a CPU name and
# no features, NUMBA_CPU_NAME=... NUMBA_CPU_FEATURES="", it compiles for the
# name's own features).
_AVX512_CPUS = frozenset(
    "knl knm skylake-avx512 cascadelake cooperlake cannonlake icelake-client "
    "icelake-server tigerlake rocketlake sapphirerapids emeraldrapids graniterapids "
    "graniterapids-d diamondrapids znver4 znver5 x86-64-v4".split()
)


def sixteen_vector_registers():
    """Whether the code Numba compiles here targets an x86 CPU without
    AVX-512, which has 16 vector registers (AVX-512 has 32, as have ARM's
    NEON and SVE): the register blocks are then sized for 16.  Read from the
    same settings Numba compiles with (``NUMBA_CPU_NAME``,
    ``NUMBA_CPU_FEATURES``, ``NUMBA_ENABLE_AVX``); the disk cache keys its
    entries by that CPU and its features, so a cached kernel always holds the
    blocks of its own target."""
    import platform

    import llvmlite.binding as ll
    from numba.core import config

    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return False
    if not config.ENABLE_AVX:
        return True
    features = config.CPU_FEATURES
    if features is None:
        try:
            features = ll.get_host_cpu_features().flatten()
        except RuntimeError:
            features = ""
    if features:
        return "+avx512f" not in features.split(",")
    name = config.CPU_NAME or ll.get_host_cpu_name()
    return name not in _AVX512_CPUS


# exp() of anything below this is treated as exactly 0.  e^-600 ~ 3e-261 is
# invisible next to the 1 that the largest term of a log-sum-exp contributes,
# and next to 10 eps that guards every component's weight, so no result
# changes; but exp() landing in (or products of such numbers reaching) the
# subnormal range costs ~100 cycles a time, which made well-separated data
# (where most responsibilities are e^-1000) several times slower to fit.
_LOG_FLOOR = -600.0


def _zero_of(a):
    """0 in ``a``'s dtype: sums over a tile's points run in the tile's
    precision (a float64 literal would widen them)."""
    return a.dtype.type(0)


@overload(_zero_of)
def _zero_of_jit(a):
    scalar = as_dtype(a.dtype).type

    def impl(a):
        return scalar(0)

    return impl


def _flush_below(a):
    """Responsibilities below this are dropped from ``a``'s moment sums."""
    return 0.0


@overload(_flush_below)
def _flush_below_jit(a):
    # float32: r < 2^-64 is no part of any sum a float32 result can show (it
    # is 2^-40 of float32's resolution), but r (x - c) (x - c) would reach
    # float32's subnormal range (below 1.2e-38), where every operation costs
    # ~100 cycles: far-off components made a pass 2x slower.  float64 keeps
    # every r the exp gives (its floor is e^-600, see _exp_shifted).
    tiny = 2.0**-64 if as_dtype(a.dtype) == np.float32 else 0.0

    def impl(a):
        return tiny

    return impl


_LOG2E = 1.4426950408889634


_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: n * _LN2_HI is exact for |n| < 2^21


_LN2_LO = 1.9082149292705877e-10  # ln 2 - _LN2_HI


@intrinsic
def _bits_of(typingctx, x):
    """The int64 whose bits are those of the float64 ``x`` (no conversion:
    a register move, which vectorises)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float_of(typingctx, bits):
    """The float64 whose bits are those of the int64 ``bits``."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(**dict(_HELPER, fastmath={"contract"}))
def _exp_shifted(x, shift, total):
    # x[i] <- exp(x[i] - shift[i]) for arguments <= 0, exactly 0 at or below
    # _LOG_FLOOR; total[i] += x[i].  (-inf - finite = -inf, floored to 0.)
    # exp(u) = 2^n exp(r) with n = round(u / ln 2), |r| <= ln 2 / 2, exp(r) by
    # its Taylor series to degree 13 (truncation < 4e-18, so <= 1 ulp: checked
    # against NumPy in the tests), and 2^n written into the exponent bits of
    # an int64 that is read back as float64.  Unlike libm's exp (a scalar
    # call) this vectorises.  n reaches the exponent without a float -> int64
    # conversion, which AVX2 has no vector instruction for (LLVM then
    # scalarises the loop): n + 2^52 + 1023 is a float64 whose low bits are
    # the integer n + 1023 (0 < n + 1023 < 2^51), its bits shifted into place
    # with integer vector instructions.  The bits move between the float and
    # integer views in registers (_bits_of, _float_of), so each point is
    # loaded and stored once.  No reassociation here: it would undo the
    # two-step (Cody-Waite) reduction that keeps r exact.
    for i in range(x.shape[0]):
        u = x[i] - shift[i]
        v = u if u > -700.0 else -700.0  # (max() compiles a function of its own)
        n = np.floor(v * _LOG2E + 0.5)  # a float: math.floor would convert to int64
        r = (v - n * _LN2_HI) - n * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        scale = _float_of((_bits_of(n + _TWO52_PLUS_BIAS) - _TWO52_BITS) << 52)  # 2^n
        e = p * scale if u > _LOG_FLOOR else 0.0
        x[i] = e
        total[i] += e


_SQRT2 = 1.4142135623730951


_MANTISSA = (1 << 52) - 1


_EXPONENT_ONE = 1023 << 52


# The float64 with bits _TWO52_BITS | j is 2^52 + j: integer to float with
# no conversion instruction (int64 -> float64 does not vectorise here).
_TWO52_BITS = 0x4330000000000000


_TWO52_PLUS_BIAS = 2.0**52 + 1023.0


# error_model="numpy": Python's model puts a zero check before the division,
# which stops vectorisation (m + 1 >= 2 here).
@njit(**dict(_HELPER, fastmath={"contract"}, error_model="numpy"))
def _log(x):
    # log(x) for a positive normal x (anything else gives a number to be
    # discarded).  x = 2^e m with m in [1, 2) read off the bits, m halved
    # (e + 1) when above sqrt 2, then log m = 2 atanh(s) with
    # s = (m - 1) / (m + 1), |s| <= 0.172, by its series to s^23 (truncation
    # below 1e-19).  Inlined into its callers' loops, it vectorises like
    # _exp_shifted; libm's log, a scalar call per point, took 2.6x as long.
    xb = _bits_of(x)
    m = _float_of((xb & _MANTISSA) | _EXPONENT_ONE)
    e = _float_of((xb >> 52) | _TWO52_BITS) - _TWO52_PLUS_BIAS
    high = m > _SQRT2
    m = 0.5 * m if high else m
    e = e + 1.0 if high else e
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 1.0 / 23.0
    p = p * z + 1.0 / 21.0
    p = p * z + 1.0 / 19.0
    p = p * z + 1.0 / 17.0
    p = p * z + 1.0 / 15.0
    p = p * z + 1.0 / 13.0
    p = p * z + 1.0 / 11.0
    p = p * z + 1.0 / 9.0
    p = p * z + 1.0 / 7.0
    p = p * z + 1.0 / 5.0
    p = p * z + 1.0 / 3.0
    log_m = 2.0 * s + (2.0 * s * z) * p
    return e * _LN2_HI + (log_m + e * _LN2_LO)


@njit(**dict(_HELPER, fastmath={"contract"}, error_model="numpy"))
def _add_log(x, out):
    # out[i] += log(x[i]) where x[i] > 0 (normal numbers; else out[i] is
    # left alone).
    for i in range(x.shape[0]):
        out[i] = out[i] + _log(x[i]) if x[i] > 0.0 else out[i]
