#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run etcd: ila-mapper on etcd (doc/etcd.md), beside etcd itself on the
same cluster in the same run.

Starts a 3-member etcd cluster on loopback (free ports, data folders in a
temp dir, etcd's defaults: fsync on, --max-txn-ops 128) and 3 ila-mapper
instances with `store etcd` on it, instance i talking to member i first,
with `etcd timeout 10000` (on a loaded machine a transaction queued behind
others may take longer than the default 2 s, which would end in ERROR
unavailable rather than in a slower figure).

Registrations: BENCH_ETCD_REGS (default 60,000) registrations through the
3 instances, 3 ila-probe processes per instance (one node each, BATCH
records per REGISTER, WINDOW REGISTERs in flight), plaintext between probe
and mapper (TLS on that side would double the client-side crypto on a
loaded machine; the etcd side is plain HTTP for both). The figure is the
number of acknowledged registrations divided by the time from the first
REGISTER sent to the last probe done: an ACK means etcd committed it.

Baseline: etcd's own batched transaction rate: as many keys, with the same
key layout and value size, written through the same JSON gateway
(POST /v3/kv/txn, HTTP/1.1 keep-alive) by as many connections as there are
probe processes (one per thread, spread over the 3 members as the instances
are), each sending one transaction at a time of 64 puts, each with a compare
create_revision == 0 (what ila sends for a new key). Request bodies are
built before the clock starts, so the client costs etcd nothing but the
HTTP exchange.

Fan-out: one move pushed to 3,000 subscribers spread over the 3 instances
(1,000 each; a config holds at most 1,024 nodes, so each instance knows
its own subscribers) against 1,000 subscribers on one ila-mapper with the
default LMDB store, all plaintext; before the move the nodes' presence keys
must have settled in etcd, so the move is not queued behind them; time from the mover's REGISTER to the last subscriber that has
it, median of BENCH_RUNS (3). The figure of 1,000 subscribers on one etcd
instance is printed beside it.

Records to bench/results.json.
"""
import base64
import http.client
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mapper import BUILD, free_port, wait_port  # noqa: E402
from record import record  # noqa: E402

REGS = int(os.environ.get('BENCH_ETCD_REGS', '60000'))
SUBS = int(os.environ.get('BENCH_ETCD_SUBS', '1000'))  # per instance
RUNS = int(os.environ.get('BENCH_RUNS', '3'))
INSTANCES = 3
PROBES = 3                  # register processes per instance
BATCH, WINDOW = 64, 4       # records per REGISTER, REGISTERs in flight per probe
TXN_KEYS = 64               # ila's ESTORE_OPS_PER_TXN
SUB_PROC = 500              # subscriber sessions per ila-probe process
PROBE = os.path.join(BUILD, 'tests', 'integration', 'ila-probe')
MAPPER = os.path.join(BUILD, 'ila-mapper', 'ila-mapper')
ILACTL = os.path.join(BUILD, 'ilactl', 'ilactl')
FANOUT_ADDR = '2001:db8:200::42'


def free_ports(n):
    import socket
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        ports = free_ports(2 * INSTANCES)
        self.cports, pports = ports[:INSTANCES], ports[INSTANCES:]
        initial = ','.join('m%d=http://127.0.0.1:%d' % (i, p) for i, p in enumerate(pports))
        for i in range(INSTANCES):
            d = os.path.join(tmp, 'etcd%d' % i)
            os.makedirs(d)
            log = open(os.path.join(d, 'log'), 'w')
            self.procs.append(subprocess.Popen(
                ['etcd', '--name', 'm%d' % i, '--data-dir', os.path.join(d, 'data'),
                 '--listen-client-urls', 'http://127.0.0.1:%d' % self.cports[i],
                 '--advertise-client-urls', 'http://127.0.0.1:%d' % self.cports[i],
                 '--listen-peer-urls', 'http://127.0.0.1:%d' % pports[i],
                 '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % pports[i],
                 '--initial-cluster', initial, '--initial-cluster-token', 'bench-%d' % os.getpid(),
                 '--initial-cluster-state', 'new', '--logger', 'zap', '--log-level', 'warn'],
                stdout=log, stderr=log))
        end = time.time() + 30
        for p in self.cports:
            while True:
                try:
                    if self.post(p, '/v3/kv/range', {'key': b64(b'/')}).get('header'):
                        break
                except (OSError, ValueError, http.client.HTTPException):
                    pass
                if time.time() > end or any(x.poll() is not None for x in self.procs):
                    raise RuntimeError('etcd cluster not up within 30 s (logs in %s)' % tmp)
                time.sleep(0.2)

    def endpoints(self, first):
        order = self.cports[first:] + self.cports[:first]
        return ' '.join('http://127.0.0.1:%d' % p for p in order)

    @staticmethod
    def post(port, path, body):
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        c.request('POST', path, json.dumps(body), {'Content-Type': 'application/json'})
        r = c.getresponse()
        data = r.read()
        c.close()
        return json.loads(data)

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


def cpu_s(procs):
    """CPU seconds (user + system) the processes used so far."""
    tick = os.sysconf('SC_CLK_TCK')
    total = 0.0
    for p in procs:
        try:
            with open('/proc/%d/stat' % p.pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def b64(b):
    return base64.b64encode(b).decode()


def sub_sizes(per_instance):
    """Sessions of each subscriber process on one instance."""
    return [min(SUB_PROC, per_instance - j) for j in range(0, per_instance, SUB_PROC)]


def sub_nodes(instance, per_instance):
    """The subscriber nodes of one instance: its process k's sessions are
    pKsI (ila-probe puts the session index in place of '%d'). A config holds
    at most 1,024 nodes, so each instance knows its own subscribers only."""
    sizes = sub_sizes(per_instance)
    return ['p%ds%d' % (instance * len(sizes) + j, i) for j, n in enumerate(sizes)
            for i in range(n)]


def conf_lines(tmp, name, port, store_lines, subs, nodes):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    lines = ['plaintext', 'listen 127.0.0.1 port %d' % port] + store_lines + [
        'control %s/ctl.sock' % d, 'pidfile %s/pid' % d,
        'lifetime default 3600 max 3600', 'keepalive 20000', 'dead-interval 120000',
        'push batch 256 delay 0 queue-limit 1024', 'commit batch 4096 delay 0',
        'damping moves 250 interval 1 freeze 1',
        # a benchmark measures the directory, not its quotas or its defences
        'quota node-mappings 0 vn-mappings 0 rate 0',
        'limit unauthenticated 4096 per-source 4096', 'node mover']
    lines += ['node %s' % n for n in nodes]
    lines += ['node %s' % n for n in subs]
    lines += ['vn blue id 100 sir-prefix 2001:db8:100::/64', 'vn red id 2 sir-prefix 2001:db8:200::/64',
              'vn red serve mover']
    for j in range(0, len(nodes), 50):
        lines.append('vn blue serve ' + ' '.join(nodes[j:j + 50]))
    for j in range(0, len(subs), 50):
        lines.append('vn red subscribe ' + ' '.join(subs[j:j + 50]))
    conf = os.path.join(d, 'm.conf')
    with open(conf, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return d, conf


def start_mapper(d, conf, port):
    log = open(os.path.join(d, 'log'), 'w')
    p = subprocess.Popen([MAPPER, '-d', '-f', conf], stdout=log, stderr=log)
    wait_port(port, 30)
    return p


def opened(port, node):
    """The mapper answers OPEN (an etcd instance refuses until its copy is read)."""
    end = time.time() + 30
    while time.time() < end:
        r = subprocess.run([PROBE, 'open', '--connect', '127.0.0.1:%d' % port, '--plaintext',
                            '--node', node, '--timeout', '5'], capture_output=True, text=True)
        if 'OPENED' in r.stdout:
            return
        time.sleep(0.2)
    raise RuntimeError('mapper on port %d does not accept OPEN' % port)


def store_counters(d):
    r = subprocess.run([ILACTL, '-M', '-s', os.path.join(d, 'ctl.sock'), '-j', 'show', 'store'],
                       capture_output=True, text=True)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {'error': (r.stdout + r.stderr).strip()}


def ila_registrations(tmp, ports, nodes):
    """Acknowledged registrations per second through every instance."""
    per = REGS // len(nodes)
    procs = []
    trig = []
    for i, node in enumerate(nodes):
        t = os.path.join(tmp, 'reg-trigger-%d' % i)
        trig.append(t)
        args = [PROBE, 'register', '--connect', '127.0.0.1:%d' % ports[i % len(ports)],
                '--plaintext', '--node', node, '--vn', '100', '--prefix', '2001:db8:100::/64',
                '--start', str(1 + i * per), '--count', str(per), '--locator', '2001:db8:0:a',
                '--seq', '1', '--lifetime', '3600', '--batch', str(BATCH),
                '--window', str(WINDOW), '--timeout', '300', '--trigger', t]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for p in procs:
        out = p.communicate(timeout=600)[0]
        if p.returncode != 0:
            raise RuntimeError('ila-probe register failed (%d): %s'
                               % (p.returncode, out.decode()[-800:]))
    t_end = time.time_ns()
    t0 = min(int(open(t).read()) for t in trig)
    return per * len(nodes), (t_end - t0) / 1e9


def baseline_txns(ports, conns, nkeys, value_len):
    """etcd's own rate: nkeys keys in transactions of TXN_KEYS puts, each put
    guarded by create_revision == 0, one transaction at a time on each of
    conns keep-alive connections to the gateway."""
    value = b64(b'v' * value_len)
    bodies = []
    for first in range(0, nkeys, TXN_KEYS):
        cmp, put = [], []
        for k in range(first, min(first + TXN_KEYS, nkeys)):
            key = b64(b'/base/m/00000064/6-20010db8010000000000%012x' % (k + 1))
            cmp.append({'key': key, 'target': 'CREATE', 'result': 'EQUAL', 'create_revision': '0'})
            put.append({'requestPut': {'key': key, 'value': value}})
        bodies.append(json.dumps({'compare': cmp, 'success': put}).encode())
    share = [bodies[i::conns] for i in range(conns)]
    errors = []
    start = threading.Barrier(conns + 1)

    def worker(i):
        c = http.client.HTTPConnection('127.0.0.1', ports[i % len(ports)], timeout=30)
        c.connect()
        start.wait()
        try:
            for body in share[i]:
                c.request('POST', '/v3/kv/txn', body, {'Content-Type': 'application/json'})
                r = c.getresponse()
                data = r.read()
                if r.status != 200 or b'"succeeded":true' not in data:
                    errors.append(data[:200])
                    return
        finally:
            c.close()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        raise RuntimeError('baseline txn failed: %r' % errors[0])
    return nkeys, dt


def value_len(port):
    """The size of one value ila wrote (the baseline writes values of that size)."""
    r = Cluster.post(port, '/v3/kv/range', {'key': b64(b'/ila/m/'), 'range_end': b64(b'/ila/m0'),
                                            'limit': 1})
    return len(base64.b64decode(r['kvs'][0]['value']))


class SetupError(RuntimeError):
    """A subscriber was not set up: the round is run again (once)."""


def fanout_again(*args):
    try:
        return fanout(*args)
    except SetupError as e:
        print('    round again: %s' % e)
        if args[5]:
            settle(args[5], args[6])
        return fanout(*args)


def presence_keys(port):
    r = Cluster.post(port, '/v3/kv/range', {'key': b64(b'/ila/n/'), 'range_end': b64(b'/ila/n0'),
                                            'count_only': True})
    return int(r.get('count', 0))


def settle(etcd_port, want=None, timeout=120):
    """Waits until the nodes' presence keys (written and deleted as sessions
    open and close) are want (None: any) and have stopped changing, so that
    the move is not queued behind them in etcd. Returns their number."""
    end = time.time() + timeout
    last, since = -1, time.time()
    while time.time() < end:
        n = presence_keys(etcd_port)
        if n != last:
            last, since = n, time.time()
        elif n == want and time.time() - since >= 0.5:
            return n
        elif time.time() - since >= (1 if want is None else 3):
            if want is None:
                return n
            break
        time.sleep(0.1)
    if os.environ.get('BENCH_VERBOSE'):
        print('    presence keys: %d, %d expected' % (last, want))
    return last


def fanout(tmp, ports, subs_per, run_no, mover_port, etcd_port=None, keys=0):
    """keys: presence keys that stay (nodes that said goodbye: 'left')."""
    trig = os.path.join(tmp, 'move-trigger-%d' % run_no)
    if os.path.exists(trig):
        os.unlink(trig)
    loc = '2001:db8:b:%x' % run_no
    procs = []
    k = 0
    for port in ports:  # ports[i]: instance i
        for n in sub_sizes(subs_per):
            procs.append(subprocess.Popen(
                [PROBE, 'subscribe', '--connect', '127.0.0.1:%d' % port, '--plaintext',
                 '--node', 'p%ds%%d' % k, '--vn', '2', '--sessions', str(n),
                 '--expect', FANOUT_ADDR, loc, '--trigger', trig, '--timeout', '120',
                 '--keepalive', '20000', '--dead', '120000'],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            k += 1
    # every subscriber has its snapshot before the move
    for p in procs:
        line = p.stdout.readline()
        if not line.startswith('READY'):
            for q in procs:
                q.kill()
                q.wait()
            raise SetupError('subscriber: %r %s' % (line, p.stderr.read()[-300:]))
    if etcd_port:
        settle(etcd_port, keys + subs_per * len(ports))
    tm = time.perf_counter()
    r = subprocess.run([PROBE, 'register', '--connect', '127.0.0.1:%d' % mover_port, '--plaintext',
                        '--node', 'mover', '--vn', '2', '--addr', FANOUT_ADDR, '--locator', loc,
                        '--seq', str(1000 + run_no), '--lifetime', '3600', '--trigger', trig,
                        '--timeout', '30'], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('mover: %s %s' % (r.stdout, r.stderr))
    if os.environ.get('BENCH_VERBOSE'):
        print('    mover took %.1f ms (process, OPEN, REGISTER, ACK)' % ((time.perf_counter() - tm) * 1000))
    worst = 0.0
    for p in procs:
        out = p.communicate(timeout=180)[0]
        res = [ln for ln in out.splitlines() if ln.startswith('RESULT')]
        if p.returncode != 0 or not res:
            raise RuntimeError('subscriber failed (%d): %s' % (p.returncode, out[-500:]))
        f = res[0].split()
        if f[2] != f[4] or f[-1] != 'trigger':
            raise RuntimeError('subscriber: %s' % res[0])
        worst = max(worst, float(f[f.index('max_ms') + 1]))
        if os.environ.get('BENCH_VERBOSE'):
            print('   ', p.args[3], res[0])
    if etcd_port:
        settle(etcd_port, keys)  # the sessions' keys deleted before the next round
    return worst


def main():
    for tool in ('etcd',):
        if not shutil.which(tool):
            sys.exit('bench etcd: %s not found: run scripts/deps.sh' % tool)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = tempfile.mkdtemp(prefix='ila-bench-etcd-')
    procs = []
    cluster = None
    results = []
    try:
        cluster = Cluster(tmp)
        nodes = ['n%d' % i for i in range(INSTANCES * PROBES)]
        subs_total = INSTANCES * SUBS
        ports, dirs = [], []
        for i in range(INSTANCES):
            port = free_port()
            d, conf = conf_lines(tmp, 'mapper%d' % i, port,
                                 ['store etcd cache %s/mapper%d/copy' % (tmp, i),
                                  'etcd endpoint ' + cluster.endpoints(i),
                                  # a loaded machine: a transaction queued behind others
                                  # may take more than the default 2 s
                                  'etcd timeout 10000'],
                                 sub_nodes(i, SUBS), nodes)
            procs.append(start_mapper(d, conf, port))
            ports.append(port)
            dirs.append(d)
        for i, port in enumerate(ports):
            opened(port, nodes[i])

        # registrations, then etcd's own rate on the same cluster
        cpu0 = cpu_s(cluster.procs), cpu_s(procs)
        n_ila, t_ila = ila_registrations(tmp, ports, nodes)
        cpu1 = cpu_s(cluster.procs), cpu_s(procs)
        vlen = value_len(cluster.cports[0])
        counters = [store_counters(d) for d in dirs]
        n_base, t_base = baseline_txns(cluster.cports, len(nodes), n_ila, vlen)
        cpu2 = cpu_s(cluster.procs)
        ila_rate, base_rate = n_ila / t_ila, n_base / t_base
        print('etcd registrations: %d through %d instances (%d probes, %d records x %d in flight'
              ' each), plaintext probe-mapper, 3-member etcd %s on loopback'
              % (n_ila, INSTANCES, len(nodes), BATCH, WINDOW,
                 subprocess.run(['etcd', '--version'], capture_output=True,
                                text=True).stdout.split()[2]))
        print('  ila-mapper  %8.0f registrations/s (%.2f s)' % (ila_rate, t_ila))
        print('  etcd txn    %8.0f keys/s (%.2f s; %d connections, %d puts per txn, value %d B)'
              % (base_rate, t_base, len(nodes), TXN_KEYS, vlen))
        print('  ratio       %8.3f' % (ila_rate / base_rate))
        print('  CPU seconds: ila run: etcd members %.1f, mappers %.1f; baseline run: etcd'
              ' members %.1f (%d CPUs)' % (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu2 - cpu1[0],
                                         os.cpu_count()))
        for i, c in enumerate(counters):
            st = c.get('etcd', c)
            print('  instance %d: %s' % (i, json.dumps({k: v for k, v in st.items()
                                                         if isinstance(v, (int, float))})))
        results.append({'name': 'etcd_registrations_3_instances', 'unit': 'per s',
                        'ila': round(ila_rate), 'baseline': round(base_rate),
                        'ratio': round(ila_rate / base_rate, 3), 'better': 'higher'})

        # fan-out: SUBS on each instance, against SUBS on one LMDB mapper
        lport = free_port()
        ld, lconf = conf_lines(tmp, 'lmdb', lport, ['store %s/lmdb/store' % tmp],
                                sub_nodes(0, SUBS), [])
        procs.append(start_mapper(ld, lconf, lport))
        keys = settle(cluster.cports[0])
        spread, one_etcd, one_lmdb = [], [], []
        run_no = 0
        for _ in range(RUNS):
            run_no += 1
            spread.append(fanout_again(tmp, ports, SUBS, run_no, ports[0], cluster.cports[0], keys))
            run_no += 1
            one_etcd.append(fanout_again(tmp, ports[:1], SUBS, run_no, ports[0], cluster.cports[0], keys))
            run_no += 1
            one_lmdb.append(fanout_again(tmp, [lport], SUBS, run_no, lport, None, 0))
        med = [sorted(x)[len(x) // 2] for x in (spread, one_etcd, one_lmdb)]
        print('push fan-out: one move, time until the last subscriber has it (median of %d)' % RUNS)
        print('  %d subscribers over %d etcd instances  %8.2f ms  %s'
              % (subs_total, INSTANCES, med[0], spread))
        print('  %d subscribers on one etcd instance    %8.2f ms  %s' % (SUBS, med[1], one_etcd))
        print('  %d subscribers on one LMDB mapper      %8.2f ms  %s' % (SUBS, med[2], one_lmdb))
        print('  ratio (3 instances / one LMDB mapper)  %8.3f' % (med[0] / med[2]))
        results.append({'name': 'etcd_push_fanout_%d_3_instances' % subs_total, 'unit': 'ms',
                        'ila': round(med[0], 2), 'baseline': round(med[2], 2),
                        'ratio': round(med[0] / med[2], 3), 'better': 'lower'})
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if cluster:
            cluster.stop()
        if os.environ.get('BENCH_KEEP'):
            print('kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    record(results)


if __name__ == '__main__':
    main()
