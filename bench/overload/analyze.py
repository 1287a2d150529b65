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


results = []
for capf in sorted(glob.glob(os.path.join(out, '*-capacity.txt'))):
    name = os.path.basename(capf)[:-len('-capacity.txt')]
    cap = int(open(capf).read())
    unl = load(os.path.join(out, name + '-unloaded.json'))
    unl_p99 = unl['latency_ms']['p99']
    unl_rss = int(open(os.path.join(out, name + '-unloaded-rss.txt')).read())
    for m in (1, 2, 4):
        tag = f'{name}-x{m}'
        r = load(os.path.join(out, tag + '.json'))
        codes = r.get('status_codes') or {}
        refused = sum(v for k, v in codes.items() if k in ('503', '429'))
        other = {k: v for k, v in (r.get('errors') or {}).items() if k not in ('503', '429')}
        b0, b1 = buckets(os.path.join(out, f'metrics-{tag}-before.txt')), buckets(os.path.join(out, f'metrics-{tag}-after.txt'))
        peak = int(open(os.path.join(out, tag + '-peak-rss.txt')).read())
        recovered = None
        for i in range(1, 11):
            p = os.path.join(out, f'{tag}-probe{i}.json')
            if not os.path.exists(p):
                continue
            pr = load(p)
            if pr['requests'] and pr['successes'] == pr['requests'] and pr['latency_ms']['p99'] <= 2 * unl_p99:
                recovered = int(open(os.path.join(out, f'{tag}-probe{i}.offset_ms')).read()) + 100
                break
        results.append(dict(model=name, multiple=m, capacity_rps=cap, offered_rps=cap * m,
                            accepted_rps=round(r['success_rps']), accepted_of_capacity=round(r['success_rps'] / cap, 3),
                            refusal_rate=round(refused / max(r['requests'], 1), 3), other_errors=other,
                            server_p50_us=quantile(b0, b1, 0.5), server_p99_us=quantile(b0, b1, 0.99),
                            client_p50_ms=r['latency_ms']['p50'], client_p99_ms=r['latency_ms']['p99'],
                            unloaded_client_p99_ms=unl_p99, unloaded_rss_mb=round(unl_rss / 1024, 1),
                            peak_rss_mb=round(peak / 1024, 1), recovered_within_ms=recovered))

json.dump(results, open(os.path.join(out, 'results.json'), 'w'), indent=1)
print('| model | offered | accepted (of capacity) | refused | accepted p50/p99 (server, µs ≤) | all answers p50/p99 (client, ms) | unloaded p99 (ms) | RSS unloaded → peak (MB) | back to unloaded p99 | other errors |')
print('|---|---|---|---|---|---|---|---|---|---|')
for x in results:
    rec = f"≤ {x['recovered_within_ms']} ms" if x['recovered_within_ms'] is not None else 'not within 1.5 s'
    print(f"| {x['model']} | {x['multiple']}× = {x['offered_rps']}/s | {x['accepted_rps']}/s ({x['accepted_of_capacity']:.0%}) | "
          f"{x['refusal_rate']:.1%} | {x['server_p50_us']:g} / {x['server_p99_us']:g} | {x['client_p50_ms']:.2f} / {x['client_p99_ms']:.2f} | "
          f"{x['unloaded_client_p99_ms']:.2f} | {x['unloaded_rss_mb']} → {x['peak_rss_mb']} | {rec} | {x['other_errors'] or ''} |")

# SVG: one panel per model; per offered multiple a bar of accepted (green)
# and refused (grey) requests/s, with the capacity line.
models = sorted({x['model'] for x in results})
W, H, pad = 360, 260, 50
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
        bx = x0 + pad + 15 + j * 95
        acc, ref = x['accepted_rps'], x['offered_rps'] * x['refusal_rate']
        svg.append(f'<rect x="{bx}" y="{sy(acc)}" width="35" height="{sy(0) - sy(acc)}" fill="seagreen"/>')
        svg.append(f'<rect x="{bx + 38}" y="{sy(ref)}" width="35" height="{sy(0) - sy(ref)}" fill="silver"/>')
        svg.append(f'<text x="{bx + 36}" y="{sy(0) + 14}" text-anchor="middle">{x["multiple"]}× offered</text>')
        svg.append(f'<text x="{bx + 36}" y="{sy(0) + 27}" text-anchor="middle">p99 ≤{x["server_p99_us"]:g}µs</text>')
        svg.append(f'<text x="{bx + 36}" y="{sy(0) + 40}" text-anchor="middle">+{x["peak_rss_mb"] - x["unloaded_rss_mb"]:.0f} MB</text>')
    svg.append(f'<text x="{x0 + pad}" y="{H + 35}" fill="seagreen">■ accepted/s</text><text x="{x0 + pad + 90}" y="{H + 35}" fill="gray">■ refused/s</text>')
svg.append('</svg>')
open(os.path.join(out, 'overload.svg'), 'w').write('\n'.join(svg))
