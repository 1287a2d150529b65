#!/usr/bin/python3
"""Generates floatfmt.tsv: the JSON text TF Serving writes for floats.

Reference for float_test.go. It emulates TF Serving's WriteDecimal
(tensorflow_serving/util/json_tensor.cc) with Python's printf-style '%g'
(C semantics, correctly rounded) and an exact rational round-trip check:

  1. s = '%g' % v
  2. if s does not parse back to v (float32: correctly rounded strtof,
     emulated exactly with fractions; float64: float()), s = '%.9g' / '%.17g'
  3. append '.0' if s has neither '.' nor 'e'
  4. NaN / Infinity / -Infinity for non-finite values

Output lines: "<bits> <kind> <text>" where kind is f32 or f64 and bits is the
IEEE bit pattern in hex. Run: /usr/bin/python3 gen_floatfmt.py > floatfmt.tsv
"""
import math
import random
import struct
from fractions import Fraction


def f32_bits(x):
    return struct.unpack('<I', struct.pack('<f', x))[0]


def f32_from_bits(b):
    return struct.unpack('<f', struct.pack('<I', b))[0]


def f64_bits(x):
    return struct.unpack('<Q', struct.pack('<d', x))[0]


def round_half_even(q):
    f = math.floor(q)
    r = q - f
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and f % 2 == 1):
        f += 1
    return f


def strtof(s):
    """Correctly rounded decimal -> float32, as an exact Fraction (or inf)."""
    q = Fraction(s)
    if q == 0:
        return Fraction(0)
    sign = -1 if q < 0 else 1
    q = abs(q)
    e = math.floor(math.log2(q))
    # fix possible off-by-one of log2 on huge/small rationals
    while Fraction(2) ** e > q:
        e -= 1
    while Fraction(2) ** (e + 1) <= q:
        e += 1
    if e < -126:
        scale = Fraction(2) ** -149
    else:
        scale = Fraction(2) ** (e - 23)
    m = round_half_even(q / scale)
    v = m * scale
    if v >= Fraction(2) ** 128:
        return math.inf * sign
    return v * sign


def write_decimal(v, is32):
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return '-Infinity' if v < 0 else 'Infinity'
    s = '%g' % v
    if is32:
        back = strtof(s)
        ok = back == Fraction(v)
    else:
        ok = float(s) == v
    if not ok:
        s = ('%.9g' if is32 else '%.17g') % v
    if '.' not in s and 'e' not in s:
        s += '.0'
    return s


def main():
    rng = random.Random(20260701)
    f32 = set()
    f64 = set()
    special = [0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.5, 1 / 3, 2 / 3, math.pi, math.e,
               3.1415927, 123456789.0, 9e6, 999999.0, 3e-5, 1e-4, 1e-5, 1e5, 1e6,
               999999.5, 9999995.0, 0.0001, 0.00001, 100000.0, 1e21, 1e22, 1e-7,
               123456.5, 1234567.0, 6e-7, 5e-324, 1.17549435e-38, 3.4028235e38,
               1.7976931348623157e308, 2.2250738585072014e-308, 16777216.0, 16777217.0,
               0.30000001192092896, 4.35, 2.5, 0.15, 1.005, 100.0, 65504.0,
               math.inf, -math.inf, math.nan]
    for x in special:
        f64.add(f64_bits(x))
        try:
            f32.add(f32_bits(x))
        except OverflowError:
            pass
    for _ in range(1500):
        f32.add(rng.getrandbits(32))
        f64.add(rng.getrandbits(64))
    for _ in range(1500):
        # "nice" decimals, which often have short representations
        k = rng.randint(0, 9)
        x = round(rng.uniform(-1, 1) * 10 ** rng.randint(-8, 12), k)
        f64.add(f64_bits(x))
        try:
            f32.add(f32_bits(x))
        except OverflowError:
            pass
        n = rng.randint(-10**9, 10**9)
        f64.add(f64_bits(float(n)))
        f32.add(f32_bits(float(n)))
    for b in sorted(f32):
        v = f32_from_bits(b)
        if math.isnan(v) and b != f32_bits(math.nan):
            continue  # one NaN pattern is enough
        print('%08x f32 %s' % (b, write_decimal(v, True)))
    for b in sorted(f64):
        v = struct.unpack('<d', struct.pack('<Q', b))[0]
        if math.isnan(v) and b != f64_bits(math.nan):
            continue
        print('%016x f64 %s' % (b, write_decimal(v, False)))


if __name__ == '__main__':
    main()
