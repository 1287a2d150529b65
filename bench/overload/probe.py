#!/usr/bin/env python3
"""A light latency probe beside the load generator: one keep-alive HTTP
connection sending BODY to URL at RATE requests/s for DURATION seconds
(closed when late: a slow answer delays the next send, never stacks them).
Writes one JSON line per request to OUT: {"t": send time (Unix s),
"ms": latency from the send, "status": HTTP status or 0 for a transport
error}. Used by run.sh to see when latency is back to normal after a burst.

usage: probe.py URL BODYFILE RATE DURATION OUT"""
import http.client, json, sys, time, urllib.parse

url, body_file, rate, duration, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
u = urllib.parse.urlsplit(url)
body = open(body_file, 'rb').read()
conn = None
step, start = 1.0 / rate, time.time()
with open(out, 'w') as f:
    k = 0
    while True:
        due = start + k * step
        now = time.time()
        if due - start > duration:
            break
        if due > now:
            time.sleep(due - now)
        k += 1
        t0 = time.time()
        status = 0
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            conn.request('POST', u.path, body, {'Content-Type': 'application/json'})
            r = conn.getresponse()
            r.read()
            status = r.status
            if r.getheader('Connection', '').lower() == 'close':
                conn.close(); conn = None
        except Exception:
            if conn is not None:
                conn.close()
            conn = None
        f.write(json.dumps({'t': t0, 'ms': (time.time() - t0) * 1000, 'status': status}) + '\n')
