#!/usr/bin/env python3
"""Summarise bench/overload/run.sh output: results.json, a Markdown table on
stdout and overload.svg (accepted vs refused throughput per offered load,
annotated with accepted p99 and peak RSS growth)."""
import glob, json, os, re, sys

out = sys.argv[1]
BUCKET = re.compile(r'^:tensorflow:serving:request_latency_bucket\{.*le="([^"]+)"\} (\S+)$')


def buckets(path):
    acc = {}
    for line in open(path):
        m = BUCKET.match(line.strip())
        if m:
            le = float('inf') if m.group(1) == '+Inf' else float(m.group(1))
            acc[le] = acc.get(le, 0) + float(m.group(2))
    return acc


def quantile(before, after, q):
    """Upper bound (µs) of the bucket holding quantile q of the requests
    recorded between the two scrapes (only successful ones are recorded)."""
    d = sorted((le, after.get(le, 0) - before.get(le, 0)) for le in after)
    total = d[-1][1] if d else 0
    if total <= 0:
        return None
    for le, cum in d:
        if cum >= q * total:
            return le
    return None


def load(p):
    return json.load(open(p))


def probes(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


CASES = [('x1', 1, 512), ('x2', 2, 512), ('x4', 4, 512), ('x4c4096', 4, 4096)]
BURST_S = None

results = []
for capf in sorted(glob.glob(os.path.join(out, '*-capacity.txt'))):
    name = os.path.basename(capf)[:-len('-capacity.txt')]
    cap = int(open(capf).read())
    unl_probe = [p['ms'] for p in probes(os.path.join(out, name + '-unloaded-probe.jsonl')) if p['status'] == 200]
    unl_p50, unl_p99 = pct(unl_probe, 0.5), pct(unl_probe, 0.99)
    unl_rss = int(open(os.path.join(out, name + '-unloaded-rss.txt')).read())
    c512f = os.path.join(out, name + '-capacity512.json')
    cap512 = int(load(c512f)['success_rps']) if os.path.exists(c512f) else None
    for label, m, conns in CASES:
        tag = f'{name}-{label}'
        if not os.path.exists(os.path.join(out, tag + '.json')):
            continue
        r = load(os.path.join(out, tag + '.json'))
        start = float(open(os.path.join(out, tag + '.start')).read())
        burst_end = start + r['scheduled'] / r['target_rate_rps'] if r.get('scheduled') else float(open(os.path.join(out, tag + '.end')).read())
        codes = r.get('status_codes') or {}
        refused = sum(v for k, v in codes.items() if k in ('503', '429'))
        other = {k: v for k, v in (r.get('errors') or {}).items() if k not in ('503', '429')}
        b0, b1 = buckets(os.path.join(out, f'metrics-{tag}-before.txt')), buckets(os.path.join(out, f'metrics-{tag}-after.txt'))
        peak = int(open(os.path.join(out, tag + '-peak-rss.txt')).read())
        pr = probes(os.path.join(out, tag + '-probe.jsonl'))
        during = [p for p in pr if start <= p['t'] < burst_end]
        after = [p for p in pr if p['t'] >= burst_end]
        # Recovered at the start of the first 100 ms window after the burst
        # from which every window's probes are all 200 with a median within
        # the unloaded probe p99: no standing queue is left (a window's tail
        # is one or two probes, noise on this shared VM).
        recovered = None
        wins = {}
        for p in after:
            wins.setdefault(int((p['t'] - burst_end) / 0.1), []).append(p)
        good = {k: all(p['status'] == 200 for p in v) and pct([p['ms'] for p in v], 0.5) <= unl_p99 for k, v in wins.items()}
        if wins:
            last = max(wins)
            for k in sorted(wins):
                if k < last and all(good.get(j, True) for j in range(k, last + 1)):
                    recovered = k * 100
                    break
        ok = r.get('success_latency_ms') or {}
        sv = r.get('service_latency_ms') or {}
        results.append(dict(model=name, case=label, multiple=m, connections=conns, capacity_rps=cap, offered_rps=cap * m,
                            sent=r['requests'], scheduled=r.get('scheduled'),
                            accepted_rps=round(r['success_rps']), accepted_of_capacity=round(r['success_rps'] / cap, 3),
                            capacity512_rps=cap512,
                            accepted_of_capacity512=round(r['success_rps'] / cap512, 3) if cap512 else None,
                            refusal_rate=round(refused / max(r['requests'], 1), 3), other_errors=other,
                            server_p50_us=quantile(b0, b1, 0.5), server_p99_us=quantile(b0, b1, 0.99),
                            accepted_sent_p50_ms=sv.get('p50'), accepted_sent_p99_ms=sv.get('p99'),
                            accepted_sched_p50_ms=ok.get('p50'), accepted_sched_p99_ms=ok.get('p99'),
                            probe_p99_ms=pct([p['ms'] for p in during if p['status'] == 200], 0.99),
                            probe_refused=sum(1 for p in during if p['status'] != 200), probe_count=len(during),
                            unloaded_probe_p50_ms=unl_p50, unloaded_probe_p99_ms=unl_p99,
                            unloaded_rss_mb=round(unl_rss / 1024, 1), peak_rss_mb=round(peak / 1024, 1),
                            recovered_after_ms=recovered))

json.dump(results, open(os.path.join(out, 'results.json'), 'w'), indent=1)


def f(v, spec='.2f'):
    return '–' if v is None else format(v, spec)


print('| model | offered (conns) | sent of scheduled | accepted (of capacity c=16; c=512) | refused | accepted p50/p99 from send (ms) | from schedule p50/p99 (ms) | server p99 (µs ≤) | probe p99 under load / unloaded (ms) | RSS unloaded → peak (MB) | probe back to normal | other errors |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|')
for x in results:
    rec = f"within {x['recovered_after_ms'] + 100} ms" if x['recovered_after_ms'] is not None else 'not seen'
    print(f"| {x['model']} | {x['multiple']}× = {x['offered_rps']}/s ({x['connections']}) | {x['sent'] / max(x['scheduled'] or 1, 1):.0%} | "
          f"{x['accepted_rps']}/s ({x['accepted_of_capacity']:.0%}; {f(x['accepted_of_capacity512'], '.0%')}) | {x['refusal_rate']:.1%} | "
          f"{f(x['accepted_sent_p50_ms'])} / {f(x['accepted_sent_p99_ms'])} | {f(x['accepted_sched_p50_ms'])} / {f(x['accepted_sched_p99_ms'])} | "
          f"{f(x['server_p99_us'], 'g')} | {f(x['probe_p99_ms'])} / {f(x['unloaded_probe_p99_ms'])} | "
          f"{x['unloaded_rss_mb']} → {x['peak_rss_mb']} | {rec} | {x['other_errors'] or ''} |")

# SVG: one panel per model; per offered multiple a bar of accepted (green)
# and refused (grey) requests/s, with the capacity line.
models = sorted({x['model'] for x in results})
W, H, pad = 380, 260, 50
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * len(models)}" height="{H + 40}" font-family="sans-serif" font-size="11">']
for i, name in enumerate(models):
    rows = [x for x in results if x['model'] == name]
    x0 = i * W
    top = max(x['offered_rps'] for x in rows)
    sy = lambda v: H - pad + 10 - (H - pad - 20) * v / top
    svg.append(f'<text x="{x0 + W / 2}" y="14" text-anchor="middle" font-weight="bold">{name}</text>')
    svg.append(f'<line x1="{x0 + pad}" y1="{sy(0)}" x2="{x0 + W - 10}" y2="{sy(0)}" stroke="black"/>')
    cap = rows[0]['capacity_rps']
    svg.append(f'<line x1="{x0 + pad}" y1="{sy(cap)}" x2="{x0 + W - 10}" y2="{sy(cap)}" stroke="blue" stroke-dasharray="4"/>')
    svg.append(f'<text x="{x0 + pad - 4}" y="{sy(cap) + 4}" text-anchor="end" fill="blue">{cap}/s</text>')
    for j, x in enumerate(rows):
        bx = x0 + pad + 5 + j * 75
        acc, ref = x['accepted_rps'], x['offered_rps'] * x['refusal_rate']
        svg.append(f'<rect x="{bx}" y="{sy(acc)}" width="28" height="{sy(0) - sy(acc)}" fill="seagreen"/>')
        svg.append(f'<rect x="{bx + 30}" y="{sy(ref)}" width="28" height="{sy(0) - sy(ref)}" fill="silver"/>')
        svg.append(f'<text x="{bx + 29}" y="{sy(0) + 14}" text-anchor="middle">{x["multiple"]}×/{x["connections"]}</text>')
        svg.append(f'<text x="{bx + 29}" y="{sy(0) + 27}" text-anchor="middle">p99 {f(x["accepted_sent_p99_ms"], ".1f")}ms</text>')
        svg.append(f'<text x="{bx + 29}" y="{sy(0) + 40}" text-anchor="middle">+{x["peak_rss_mb"] - x["unloaded_rss_mb"]:.0f} MB</text>')
    svg.append(f'<text x="{x0 + pad}" y="{H + 35}" fill="seagreen">■ accepted/s</text><text x="{x0 + pad + 90}" y="{H + 35}" fill="gray">■ refused/s</text>')
svg.append('</svg>')
open(os.path.join(out, 'overload.svg'), 'w').write('\n'.join(svg))
