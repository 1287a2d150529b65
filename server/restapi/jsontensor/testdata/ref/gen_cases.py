#!/usr/bin/python3
"""Writes cases.in, the inputs that jsonref (run.sh) answers in cases.out.

Hand-written edge cases for the JSON parser, floats for WriteDecimal, and
PrettyWriter scripts, plus seeded random documents and their mutations
(truncations, byte flips, insertions), so that the Go parser is compared with
rapidjson on inputs nobody thought of.
"""
import base64
import math
import random
import struct

rng = random.Random(4242)
out = []


def P(b):
    if isinstance(b, str):
        b = b.encode('utf-8', 'surrogatepass')
    out.append('P ' + (base64.b64encode(b).decode() or '-'))


HAND = [
    '', ' ', '\t\n\r ', '{', '}', '[', ']', '{}', '[]', '{"a"', '{"a":', '{"a":1', '{"a":[1', '{"a":[1,]}',
    '{"a":1,}', '{"a":tru}', '{"a":nul}', '{"a":fals}', '{"a":"x', '{"a":"\\q"}', '{"a":"\\u12G4"}',
    '{"a":"\\uD800x"}', '{"a":"\\uD800\\u0041"}', '{"a":"\\uD800\\uDC00"}', '{"a":"\\uDC00"}',
    '{"a":"x\ty"}', '{"a":"\\u0000"}', '{"a":1.}', '{"a":1e}', '{"a":1e+}', '{"a":-}', '{"a":Nan}',
    '{"a":NaN}', '{"a":-NaN}', '{"a":Inf}', '{"a":-Inf}', '{"a":Infinity}', '{"a":-Infinity}',
    '{"a":Infinit}', '{"a":Infinityx}', '{"a":NaN.5}', '{"a":Infinity.25}', '{"a":Infe3}',
    '{"a":1e309}', '{"a":1e308}', '{"a":10e308}', '{"a":1e-400}', '{"a":1e-324}', '{"a":4.9e-324}',
    '{"a":x}', '{"a":1 2}', '{} {}', '{}garbage', '\xef\xbb\xbf{}', '\xef{}', '\xbb{}', '{"a":[1\x00]}',
    '{"a":1}\x00', '\x00{}', '5', '"str"', '[1, 2.5, NaN]', 'null', 'true', '[1,2]', '-0', '-0.0',
    '{"a":0}', '{"a":-0}', '{"a":01}', '{"a":00.5}', '{"a":.5}', '{"a":+1}', '{"a":1E5}', '{"a":1e05}',
    '{"a":2147483647}', '{"a":2147483648}', '{"a":-2147483648}', '{"a":-2147483649}',
    '{"a":4294967295}', '{"a":4294967296}', '{"a":9223372036854775807}', '{"a":9223372036854775808}',
    '{"a":-9223372036854775808}', '{"a":-9223372036854775809}', '{"a":18446744073709551615}',
    '{"a":18446744073709551616}', '{"a":123456789012345678901234567890}',
    '{"a":-123456789012345678901234567890}', '{"a":0.1}', '{"a":0.3}', '{"a":1.7976931348623157e308}',
    '{"a":2.2250738585072014e-308}', '{"a":0.000000000000000000000000000001}',
    '{"a":3.141592653589793238462643383279}', '{"a":1234567890123456789.123}',
    '{"a":0.1e-310}', '{"a":123.456e-300}', '{"a":9007199254740993}', '{"a":9007199254740993.0}',
    '{"a":1.00000000000000011102230246251565404236316680908203125}',
    '{"a":[1,[2,[3,{"b":[4,"x\\n\\"\\\\\\/\\b\\f\\r\\t"]}]]]}',
    '{"a":"\xe9\xff\xfe"}', '{"\\u00e9":1, "k\\u0000k":2}', '{"a":1,"a":2}',
    '{"a":[' + ','.join(str(i) for i in range(200)) + ']}',
    '{"a":{"b":{"c":{"d":{"e":{"f":{"g":"' + 'x' * 300 + '"}}}}}}}',
    '{"signature_name":' + '[' * 3000 + ']' * 3000 + '}',
    '{"a":[1.5,-2.25e-7,1e21,1e22,123456789012345680000,0.000001,0.0000001,1e-7,5e-324,1.7976931348623157e308]}',
    '{"a":[true,false,null,"",{},[],{"b64":"aGk="}]}',
    '{"a":"' + 'y' * 255 + '","b":1}', '{"a":"' + 'y' * 252 + '","b":[1,2,3]}',
]
for h in HAND:
    P(h)


def rand_string():
    alphabet = ['a', 'b', ' ', '\\n', '\\"', '\\\\', '\\u00e9', '\\ud83d\\ude00', 'é', '/']
    return '"' + ''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) + '"'


def rand_number():
    c = rng.randint(0, 9)
    if c == 0:
        return str(rng.randint(-2**70, 2**70))
    if c == 1:
        return str(rng.randint(-1000, 1000))
    if c == 2:
        return repr(rng.uniform(-1e6, 1e6))
    if c == 3:
        return '%.*e' % (rng.randint(0, 25), rng.uniform(-10, 10) * 10 ** rng.randint(-320, 310))
    if c == 4:
        return rng.choice(['NaN', 'Infinity', '-Infinity', '0', '-0', '0.0'])
    if c == 5:
        return '%d.%se%d' % (rng.randint(0, 99), ''.join(rng.choice('0123456789') for _ in range(rng.randint(1, 30))),
                             rng.randint(-30, 30))
    return repr(struct.unpack('<f', struct.pack('<I', rng.getrandbits(32)))[0]).replace('nan', 'NaN').replace('inf', 'Infinity')


def rand_value(depth):
    c = rng.randint(0, 9 if depth < 4 else 5)
    if c <= 2:
        return rand_number()
    if c == 3:
        return rand_string()
    if c == 4:
        return rng.choice(['true', 'false', 'null'])
    if c == 5:
        return rand_number()
    if c <= 7:
        return '[' + ','.join(rand_value(depth + 1) for _ in range(rng.randint(0, 4))) + ']'
    return '{' + ','.join(rand_string() + ':' + rand_value(depth + 1) for _ in range(rng.randint(0, 4))) + '}'


def ws():
    return rng.choice(['', '', ' ', '\n  ', '\t'])


docs = []
for _ in range(400):
    d = '{' + ws() + ','.join(ws() + rand_string() + ws() + ':' + ws() + rand_value(0) for _ in range(rng.randint(0, 4))) + '}' + ws()
    docs.append(d)
    P(d)
for d in docs:
    b = bytearray(d.encode('utf-8', 'surrogatepass'))
    m = rng.randint(0, 3)
    if m == 0 and b:
        b = b[:rng.randint(0, len(b) - 1)]
    elif m == 1 and b:
        b[rng.randrange(len(b))] = rng.choice(b'{}[],:"\\ 0123456789.eE+-aNI\x00\x1f\xff')
    elif m == 2:
        i = rng.randint(0, len(b))
        b[i:i] = bytes([rng.choice(b'{}[],:"\\ 0.eE-NIx')])
    else:
        if b:
            del b[rng.randrange(len(b))]
    P(bytes(b))

# WriteDecimal references: the same values as gen_floatfmt.py would, plus
# random bits.
for _ in range(3000):
    out.append('F32 %08x' % rng.getrandbits(32))
    out.append('F64 %016x' % rng.getrandbits(64))
for v in [0.0, -0.0, 1.0, 0.1, 1 / 3, math.pi, 123456789.0, 9e6, 999999.0, 3e-5, 1e-4, 1e-5, 999999.5, 9999995.0,
          100000.0, 1e21, 6e-7, 5e-324, 1.7976931348623157e308, 16777217.0, 2.5, 0.15, 65504.0, 1e16, 1e17,
          123456.5, 1234565.0, 0.000123456, 1.5e-5, math.inf, -math.inf, math.nan]:
    out.append('F64 %016x' % struct.unpack('<Q', struct.pack('<d', v))[0])
    try:
        out.append('F32 %08x' % struct.unpack('<I', struct.pack('<f', v))[0])
    except OverflowError:
        pass


def W(tokens):
    out.append('W ' + base64.b64encode(' '.join(tokens).encode()).decode())


def k(s):
    return 'k' + (base64.b64encode(s.encode('latin-1')).decode() or '-')


def s_(s):
    return 's' + (base64.b64encode(s.encode('latin-1')).decode() or '-')


W(['{', k('predictions'), '[', 'L1', '[', 'r1.0', 'r2.0', ']', 'L0', 'L1', '[', 'r3.0', ']', 'L0', ']', '}'])
W(['{', k('predictions'), '[', '{', 'L1', k('a'), '[', '[', 'r1', ']', ']', k('b_bytes'), '{', k('b64'), s_('aGk='), '}', 'L0', '}',
   '{', 'L1', k('a'), '[', ']', k('b_bytes'), '{', k('b64'), s_(''), '}', 'L0', '}', ']', '}'])
W(['{', k('outputs'), '{', k('x'), '[', '[', 'r1', 'r2', ']', '[', ']', ']', k('y'), 'r5', k('z'), '[', ']', '}', '}'])
W(['{', k('outputs'), '[', '[', '[', 'r1', ']', ']', ']', '}'])
W(['{', k('results'), '[', 'L1', '[', '[', s_('a'), 'r0.5', ']', '[', s_('b'), 'r0.25', ']', ']', 'L0', 'L1', '[', ']', 'L0', ']', '}'])
W(['{', k('results'), 'L1', '[', 'r0.2', 'r1.0', ']', '}'])
W(['{', k('error'), s_('bad "key"\n\x01\x1f\x7f/\\\xe9'), '}'])
W(['{', k('predictions'), '[', ']', '}'])
W(['{', k('predictions'), '[', 'L1', '{', k('b64'), s_('eA=='), '}', 'L0', 'L1', '{', k('b64'), s_('eQ=='), '}', 'L0', ']', '}'])
for _ in range(200):
    root = rng.choice(['{', '['])
    toks = [root]
    depth = [[root, 0]]
    for _ in range(rng.randint(1, 30)):
        if not depth:
            break
        c = rng.randint(0, 7)
        top = depth[-1]
        needs_key = top[0] == '{' and top[1] % 2 == 0
        if c == 0:
            toks.append(rng.choice(['L1', 'L0']))
        elif c <= 2 and len(depth) < 5:
            if needs_key:
                toks.append(k('key%d' % rng.randint(0, 9)))
                top[1] += 1
            top[1] += 1
            kind = rng.choice(['{', '['])
            toks.append(kind)
            depth.append([kind, 0])
        elif c <= 4:
            kind, n = depth.pop()
            if kind == '{' and n % 2 == 1:
                toks.append('r0')
            toks.append('}' if kind == '{' else ']')
        else:
            if needs_key:
                toks.append(k('key'))
                top[1] += 1
            toks.append(rng.choice(['r1', 'r2.5', s_('v'), 'rNaN']))
            top[1] += 1
    while depth:
        kind, n = depth.pop()
        if kind == '{' and n % 2 == 1:
            toks.append('r0')
        toks.append('}' if kind == '{' else ']')
    W(toks)

print('\n'.join(out))
