# SPDX-License-Identifier: GPL-2.0-or-later
"""The metrics suite of tests/integration/run (issue 14, item 3): both daemons
with `metrics listen` on loopback, scraped over real HTTP; the exposition
checked by `promtool check metrics`; a counter that moves; 404, 405 and
garbage refused while the daemon keeps serving; and Debian's prometheus
scraping both daemons, its HTTP API answering the moved counter.

Imported by run, which passes itself as `h` (Env, Node, spawn, until, Failed...)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

PROMTOOL = shutil.which('promtool')
PROMETHEUS = shutil.which('prometheus')


def scrape(port, path='/metrics', method='GET'):
    """(status, content type, body) of one HTTP request to 127.0.0.1:port."""
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=b'x=1' if method == 'POST' else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get('Content-Type', ''), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get('Content-Type', ''), e.read().decode()
    except OSError as e:  # URLError, timeouts, resets
        return 0, '', str(e)


def sample(body, name):
    """The value of the sample called exactly name (labels included), or None."""
    for line in body.splitlines():
        if line.startswith('#'):
            continue
        parts = line.rsplit(' ', 1)
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return None


def promtool(body):
    r = subprocess.run([PROMTOOL, 'check', 'metrics'], input=body, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return r.returncode, r.stdout.strip()


def garbage(port, data, seconds=5):
    """Sends data, reads until the server closes or answers; what came back."""
    got = b''
    with socket.create_connection(('127.0.0.1', port), timeout=seconds) as c:
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            while True:
                b = c.recv(4096)
                if not b:
                    break
                got += b
        except OSError:
            pass
    return got


def prom_query(port, q):
    url = 'http://127.0.0.1:%d/api/v1/query?%s' % (port, urllib.parse.urlencode({'query': q}))
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read().decode())
    except (OSError, ValueError):
        return None


def suite(h, root, res):
    res.require('metrics: promtool and prometheus installed (Debian package prometheus; '
                'scripts/deps.sh)', PROMTOOL and PROMETHEUS, '%s %s' % (PROMTOOL, PROMETHEUS))
    env = h.Env(root, 'metrics', ['n1'],
                [dict(name='blue', id=1, prefix=h.PREFIX, serve=['n1'], subscribe=['n1'])],
                extra='metrics listen 127.0.0.1 port %d\n'
                % h.free_port(socket.AF_INET, '127.0.0.1'))
    mport = int(open(env.conf).read().split('metrics listen 127.0.0.1 port ')[1].split()[0])
    env.start()
    nport = h.free_port(socket.AF_INET, '127.0.0.1')
    n1 = h.Node(env, 'n1', '2001:db8:0:1', extra='metrics listen 127.0.0.1 port %d\n' % nport)
    n1.start()

    # the exposition of both daemons, as Prometheus reads it
    for who, port, prefix in (('ila-mapper', mport, 'ila_mapper_'), ('ilad', nport, 'ilad_')):
        st, ctype, body = scrape(port)
        res.require('metrics: %s answers GET /metrics' % who,
                    st == 200 and ctype.startswith('text/plain; version=0.0.4'),
                    'status %s, Content-Type %s, %d bytes' % (st, ctype, len(body)))
        rc, out = promtool(body)
        res.check('metrics: promtool check metrics is clean for %s' % who,
                  rc == 0 and not out, 'exit %d %s' % (rc, out[:300]))
        hist = 'push_latency_seconds' if who == 'ila-mapper' else 'move_convergence_seconds'
        res.check('metrics: %s exports %s%s as a histogram' % (who, prefix, hist),
                  '# TYPE %s%s histogram' % (prefix, hist) in body and
                  sample(body, '%s%s_bucket{le="+Inf"}' % (prefix, hist)) is not None,
                  '%d lines' % len(body.splitlines()))
    body = scrape(mport)[2]
    res.check('metrics: refusals are one family with a reason label',
              sample(body, 'ila_mapper_registrations_refused_total{reason="stale_seq"}') == 0,
              '%s' % [l for l in body.splitlines() if 'refused_total{reason="stale' in l])

    # a counter moves: a registration
    reg = 'ila_mapper_registrations_total'
    before = sample(scrape(mport)[2], reg)
    acked_before = sample(scrape(nport)[2], 'ilad_registrations_acked_total')
    a = h.addr(0x42)
    n1.ctl('attach', a, as_json=False)
    moved = h.until(lambda: (sample(scrape(mport)[2], reg) or 0) > before, 10)
    after = sample(scrape(mport)[2], reg)
    res.check('metrics: a registration moves %s' % reg, moved,
              '%s -> %s' % (before, after))
    acked = h.until(lambda: (sample(scrape(nport)[2], 'ilad_registrations_acked_total') or 0)
                    > acked_before, 10)
    res.check('metrics: ilad_registrations_acked_total moves with it', acked,
              '%s -> %s' % (acked_before, sample(scrape(nport)[2],
                                                 'ilad_registrations_acked_total')))
    # the registration is pushed back to n1, its subscriber: both histograms observe it
    for who, port, name in (('ila-mapper', mport, 'ila_mapper_push_latency_seconds'),
                            ('ilad', nport, 'ilad_move_convergence_seconds')):
        seen = h.until(lambda: (sample(scrape(port)[2], name + '_count') or 0) >= 1, 10)
        body = scrape(port)[2]
        res.check('metrics: %s observes the change in %s' % (who, name),
                  seen and sample(body, name + '_bucket{le="+Inf"}') ==
                  sample(body, name + '_count') and sample(body, name + '_sum') >= 0,
                  'count %s, sum %s, le=0.01: %s' % (
                      sample(body, name + '_count'), sample(body, name + '_sum'),
                      sample(body, name + '_bucket{le="0.01"}')))
    stats = env.stats()
    res.check('metrics: the same number as show stats', stats.get('registrations') == after,
              'show stats %s, metrics %s' % (stats.get('registrations'), after))

    # read-only, one path
    st, _, _ = scrape(mport, '/other')
    res.check('metrics: another path is 404', st == 404, 'status %s' % st)
    st, _, _ = scrape(nport, '/')
    res.check('metrics: / on ilad is 404', st == 404, 'status %s' % st)
    for method in ('POST', 'PUT', 'DELETE'):
        st, _, _ = scrape(mport, method=method)
        res.check('metrics: %s /metrics is refused with 405' % method, st == 405,
                  'status %s' % st)

    refused = sample(scrape(mport)[2], 'ila_mapper_metrics_requests_refused_total')
    res.check('metrics: the mapper counts the 404 and the three 405', refused == 4,
              'ila_mapper_metrics_requests_refused_total %s' % refused)

    # garbage, an oversized request, and more idle connections than allowed
    got = garbage(mport, b'\x00\xff\xfe garbage \r\n\x16\x03\x01\x02\x00\r\n\r\n' * 8)
    res.check('metrics: garbage gets an HTTP error or a close',
              got == b'' or got.startswith(b'HTTP/1.1 4'), repr(got[:60]))
    got = garbage(mport, b'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 200000 +
                  b'\r\n\r\n')
    res.check('metrics: a request beyond the memory limit is refused',
              got == b'' or got.startswith(b'HTTP/1.1 4'), repr(got[:60]))
    idle = []
    try:
        # beyond the limit (16) and the backlog, a connect may wait: not counted
        for _ in range(40):
            try:
                c = socket.create_connection(('127.0.0.1', mport), timeout=0.5)
                c.sendall(b'GET /metr')  # a slow client: never finishes its request
                idle.append(c)
            except OSError:
                pass
        t0 = time.monotonic()
        ok = 'registrations' in env.stats()
        dt = time.monotonic() - t0
        res.check('metrics: with %d stalled HTTP clients the mapper still answers its '
                  'control socket' % len(idle), ok and len(idle) >= 16, '%.0f ms' % (dt * 1000))
    finally:
        for c in idle:
            c.close()
    t0 = time.monotonic()
    again = h.until(lambda: scrape(mport)[0] == 200, 20)
    res.check('metrics: after the garbage the mapper is alive and scrapes again',
              env.alive() and again, 'alive %s, scraped after %.1f s: %s'
              % (env.alive(), time.monotonic() - t0, scrape(mport)[:1]))
    got = garbage(nport, os.urandom(4096))
    res.check('metrics: ilad after random bytes still answers its control socket',
              n1.proc.poll() is None and n1.ctl('show', 'mapper').get('state') == 'up',
              repr(got[:40]))

    # Debian's prometheus scrapes both daemons; its API answers the moved counter
    pdir = env.path('prometheus')
    os.makedirs(pdir)
    pport = h.free_port(socket.AF_INET, '127.0.0.1')
    with open(os.path.join(pdir, 'prometheus.yml'), 'w') as f:
        f.write('global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n'
                'scrape_configs:\n'
                '  - job_name: ila-mapper\n    static_configs:\n'
                "      - targets: ['127.0.0.1:%d']\n"
                '  - job_name: ilad\n    static_configs:\n'
                "      - targets: ['127.0.0.1:%d']\n" % (mport, nport))
    plog = open(os.path.join(pdir, 'prometheus.log'), 'w')
    prom = h.spawn([PROMETHEUS, '--config.file=' + os.path.join(pdir, 'prometheus.yml'),
                    '--storage.tsdb.path=' + os.path.join(pdir, 'data'),
                    '--web.listen-address=127.0.0.1:%d' % pport,
                    '--web.enable-lifecycle'], stdout=plog, stderr=plog)
    plog.close()
    try:
        q = reg
        ans = {}

        def answered():
            r = prom_query(pport, q)
            ans['r'] = r
            try:
                return float(r['data']['result'][0]['value'][1]) >= after
            except (TypeError, KeyError, IndexError, ValueError):
                return False
        ok = h.until(answered, 60)
        res.check('metrics: prometheus scraped the mapper; PromQL %s' % q, ok,
                  json.dumps(ans.get('r'))[:400])
        q = 'ilad_registrations_acked_total'
        ok = h.until(answered, 30)
        res.check('metrics: prometheus scraped ilad; PromQL %s' % q, ok,
                  json.dumps(ans.get('r'))[:400])
        q = 'up'
        r = {}
        h.until(lambda: len((prom_query(pport, 'up') or {}).get('data', {})
                            .get('result', [])) == 2 and
                all(x['value'][1] == '1' for x in prom_query(pport, 'up')['data']['result']),
                30)
        r = prom_query(pport, 'up') or {}
        targets = sorted((x['metric'].get('job'), x['value'][1])
                         for x in r.get('data', {}).get('result', []))
        res.check('metrics: both targets up in prometheus',
                  targets == [('ila-mapper', '1'), ('ilad', '1')], '%s' % targets)
    finally:
        if prom.poll() is None:
            prom.send_signal(signal.SIGTERM)
            try:
                prom.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait(timeout=5)
        shutil.rmtree(os.path.join(pdir, 'data'), ignore_errors=True)
    n1.proc.send_signal(signal.SIGTERM)
    n1.proc.wait(10)
