#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The service at work, for scripts/demo.sh: a workload moving between
hosts while a correspondent streams to it, on a kernel that has ILA.

    X (correspondent) -- C --+                  +-- A --+
                              +-- R (FRR) ------+        W (workload)
    ila-mapper ---------------+                 +-- B --+

R is the fabric router: FRR's zebra and staticd route only the nodes'
locators. A, B and C run ilad (TLS to the mapper); W moves A -> B hot, then
B -> A cold, while X streams UDP to it. Prints a report and tears down.

DEMO_DATAPLANE (bpf, ila-module or auto, the default) is the `dataplane` of
every node (ilad.conf(5)): scripts/demo.sh sets bpf on a kernel without the
ILA module, so the demo runs natively with ilad's BPF programs (doc/bpf.md).
With bpf a node has one route per SIR prefix and W's mapping sits in C's BPF
map, so the convergence is when C's map (ilactl show mappings) has W at its
new locator, and the report adds C's per-mapping counters. The namespaces
are named ilademo-* (ilademoTAG-* with $ILA_NETNS_TAG), apart from the
test suites' il-*.

With --etcd the directory is kept in etcd: three etcd members on the
loopback of the mapper's namespace (each with its own data folder and
ports) and two ila-mapper instances on one prefix (`store etcd`), listening
on ports 7787 and 7788; every node lists both, instance 1 first. In the
middle of the hot move (W already sends by B's link, B has not attached it
yet) instance 1, which every node is on, is SIGKILLed: the nodes go to
instance 2, B's registration goes there, and the move completes. The report
adds how long each node took to be up and in sync on instance 2 and shows
W's mapping on every node and on instance 2.
"""
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ilad_net  # noqa: E402
from ilad_net import (FABRIC, ILACTL, LOC, LOC_NET, MAPPER, MAPPER_ADDR, NS, W_SIR,  # noqa: E402
                      Ctl, FloodRecv, Net, RouteWatch, dev, flatten, flood_send, flood_tool,
                      until)
from vmlib import Failed, NetNS, ip, run  # noqa: E402

FRR = '/usr/lib/frr'
# $ILA_NETNS_TAG, as in the suites, keeps two demos on one machine apart
TAG = os.environ.get('ILA_NETNS_TAG', '')
FRR_NS = 'ilademo' + TAG    # FRR's pathspace (-N)
# ILA_DEMO_DATAPLANE: the same, into the qemu guest (run-in-vm passes ILA_*)
DATAPLANE = os.environ.get('DEMO_DATAPLANE') or os.environ.get('ILA_DEMO_DATAPLANE') or 'auto'
if DATAPLANE not in ('auto', 'bpf', 'ila-module'):
    sys.exit('demo: DEMO_DATAPLANE must be auto, bpf or ila-module, not %r' % DATAPLANE)
# namespaces of their own: the suites' il-* may be in use by a test run,
# and Net.build() deletes a namespace of the same name before adding it
for _k in NS:
    NS[_k] = 'ilademo%s-%s' % (TAG, _k)
RATE = int(os.environ.get('DEMO_RATE', '2000'))
# `metrics listen ::1 port ...` of every daemon, each on its namespace's loopback
METRICS_PORT = 9470
SECONDS = float(os.environ.get('DEMO_SECONDS', '4'))
ETCD_MODE = '--etcd' in sys.argv[1:]
ETCD = os.environ.get('ETCD', 'etcd')
# etcd members on the loopback of the mapper's namespace: (client, peer) ports
ETCD_PORTS = ((12379, 12380), (22379, 22380), (32379, 32380))
ETCD_PREFIX = '/ila-demo/'
# the two ila-mapper instances on MAPPER_ADDR
INSTANCE_PORTS = (7787, 7788)


def say(*a):
    print(*a, flush=True)


def start_frr(net):
    """zebra and staticd in R, the locator routes as FRR static routes."""
    if not os.path.exists(os.path.join(FRR, 'zebra')):
        say('(FRR is not installed: R routes the locators with kernel routes)')
        return None
    d = net.path('frr')
    os.chmod(net.dir, 0o755)            # FRR runs as frr: it must reach its folder
    os.makedirs(d)
    shutil.chown(d, 'frr', 'frr')
    fdir = '/var/run/frr/' + FRR_NS     # -N keeps its state there
    os.makedirs(fdir, exist_ok=True)
    for p in ('/var/run/frr', fdir):
        shutil.chown(p, 'frr', 'frr')
    lines = ['hostname fabric'] + ['ipv6 route %s %s' % (LOC_NET[n], FABRIC[n] + '2')
                                   for n in ('a', 'b', 'c')]
    for daemon, text in (('zebra', 'hostname fabric\n'), ('staticd', '\n'.join(lines) + '\n')):
        p = os.path.join(d, daemon + '.conf')
        with open(p, 'w') as f:
            f.write(text)
        shutil.chown(p, 'frr', 'frr')
    for n in ('a', 'b', 'c'):
        ip('-6', 'route', 'del', LOC_NET[n], ns=NS['r'])
    for daemon in ('zebra', 'staticd'):
        run(['ip', 'netns', 'exec', NS['r'], os.path.join(FRR, daemon), '-d', '-N', FRR_NS,
             '-i', os.path.join(d, daemon + '.pid'), '-z', os.path.join(d, 'zserv.api'),
             '--vty_socket', d, '-f', os.path.join(d, daemon + '.conf')], timeout=30)
    ok = until(lambda: all(LOC_NET[n].split('/')[0] in
                           run(['ip', 'netns', 'exec', NS['r'], 'ip', '-6', 'route'],
                               check=False)[1] for n in ('a', 'b', 'c')), 20, 0.2)
    if not ok:
        raise Failed('FRR on the fabric router did not install the locator routes')
    return d


def stop_frr(d):
    if not d:
        return
    for daemon in ('staticd', 'zebra'):
        try:
            with open(os.path.join(d, daemon + '.pid')) as f:
                os.kill(int(f.read().strip()), 15)
        except (OSError, ValueError):
            pass


def mappings(net, title):
    say('\n== %s: ilactl -M show mappings' % title)
    rc, out = net.ilactl(None, 'show', 'mappings', mapper=True)
    say(out.rstrip())


# ---- --etcd: the directory in etcd, two ila-mapper instances ----

def etcd_url(i):
    return 'http://127.0.0.1:%d' % ETCD_PORTS[i][0]


def etcd_healthy(i):
    """GET /health of member i, from inside the mapper's namespace."""
    with NetNS(NS['m']):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(3)
        s.connect(('127.0.0.1', ETCD_PORTS[i][0]))
        s.sendall(b'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')
        data = b''
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return b'"health":"true"' in data
    except OSError:
        return False
    finally:
        s.close()


def start_etcd(net):
    """Three members in the mapper's namespace, each with its own data folder
    and ports; timings for a slow (emulated) machine, a small quota."""
    initial = ','.join('e%d=http://127.0.0.1:%d' % (i + 1, ETCD_PORTS[i][1]) for i in range(3))
    for i in range(3):
        name = 'e%d' % (i + 1)
        peer = 'http://127.0.0.1:%d' % ETCD_PORTS[i][1]
        net.spawn('etcd%d' % (i + 1), 'm', [
            ETCD, '--name', name, '--data-dir', net.path('etcd%d.data' % (i + 1)),
            '--listen-client-urls', etcd_url(i), '--advertise-client-urls', etcd_url(i),
            '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
            '--initial-cluster', initial, '--initial-cluster-token', 'ila-demo',
            '--initial-cluster-state', 'new',
            '--heartbeat-interval', '250', '--election-timeout', '5000',
            '--quota-backend-bytes', str(64 << 20), '--snapshot-count', '10000',
            '--logger', 'zap', '--log-level', 'warn'])
    for i in range(3):
        p = net.procs['etcd%d' % (i + 1)]
        ok = until(lambda: p.poll() is not None or etcd_healthy(i), 90, 0.3)
        if p.poll() is not None:
            raise Failed('etcd member e%d exited %d: %s' % (i + 1, p.returncode,
                                                           net.log_tail('etcd%d' % (i + 1), 4)))
        if not ok:
            raise Failed('etcd member e%d not healthy after 90 s: %s' % (
                i + 1, net.log_tail('etcd%d' % (i + 1), 4)))


def instance_conf(net, k, nodes):
    """The configuration of instance k (1 or 2): the plain demo's, with the
    directory in etcd and its own port, control socket and local copy."""
    eps = [etcd_url((k - 1 + j) % 3) for j in range(3)]    # its "own" member first
    own = {
        'listen': 'listen %s port %d' % (MAPPER_ADDR, INSTANCE_PORTS[k - 1]),
        'store': 'store etcd cache %s' % net.path('mapper%d.cache' % k),
        'control': 'control %s' % net.path('mapper%d.sock' % k),
        'pidfile': 'pidfile %s' % net.path('mapper%d.pid' % k),
    }
    lines = []
    for line in net.mapper_conf(nodes).splitlines():
        word = line.split()[0] if line.strip() else ''
        if word == 'store-map-size':
            continue
        lines.append(own.get(word, line))
        if word == 'store':
            lines += ['etcd endpoint %s' % ' '.join(eps), 'etcd prefix %s' % ETCD_PREFIX]
    lines.append('metrics listen ::1 port %d' % (METRICS_PORT + k))
    return '\n'.join(lines) + '\n'


def start_instances(net, nodes):
    for k in (1, 2):
        conf = net.path('mapper%d.conf' % k)
        with open(conf, 'w') as f:
            f.write(instance_conf(net, k, nodes))
        rc, out = run([MAPPER, '-n', '-f', conf], check=False)
        if rc != 0:
            raise Failed('ila-mapper -n refused %s: %s' % (conf, out.strip()))
        net.spawn('mapper%d' % k, 'm', [MAPPER, '-d', '-f', conf])
    for k in (1, 2):
        p, log = net.procs['mapper%d' % k], net.path('mapper%d.log' % k)

        def ready():
            if p.poll() is not None:
                return True
            with open(log, errors='replace') as f:
                return 'local copy of %s read at revision' % ETCD_PREFIX in f.read()
        ok = until(ready, 60, 0.1)
        if p.poll() is not None:
            raise Failed('ila-mapper instance %d exited %d: %s' % (
                k, p.returncode, net.log_tail('mapper%d' % k)))
        if not ok:
            raise Failed('ila-mapper instance %d: its copy of etcd not read after 60 s: %s'
                         % (k, net.log_tail('mapper%d' % k)))
        until(lambda: os.path.exists(net.path('mapper%d.sock' % k)), 10)


def ilad_conf_two(net, node):
    """The node's plain configuration with both instances, instance 1 first.
    Connect, TLS handshake and OPEN must fit in the dead interval: the three
    nodes arriving together at instance 2 took more than the plain demo's 2 s
    under emulation on a busy machine, so 5 s here (the kill itself is seen
    at once: the kernel closes the dead instance's connections)."""
    lines = []
    for line in net.ilad_conf(node, node_extra()).splitlines():
        if line.startswith('mapper '):
            lines += ['mapper %s port %d identity mapper' % (MAPPER_ADDR, p)
                      for p in INSTANCE_PORTS]
        elif line.startswith('dead-interval '):
            lines.append('dead-interval 5000')
        else:
            lines.append(line)
    return '\n'.join(lines) + '\n'


def instance_ctl(net, k, *args):
    argv = [ILACTL, '-M', '-s', net.path('mapper%d.sock' % k), '-t', '10'] + list(args)
    return run(argv, check=False, timeout=20)


def on_port(ctl):
    """The mapper port a node is up and in sync with, or None."""
    try:
        st = ctl.json('show mapper')
    except (OSError, Failed, ValueError):
        return None
    if st.get('state') == 'up' and all(v.get('synced') for v in st.get('vns', [])):
        return st.get('port')
    return None


class Resume(threading.Thread):
    """From t0 on, when each node is up and in sync on the given port."""

    def __init__(self, net, port, t0, limit=60):
        super().__init__(daemon=True)
        self.ctls = {n: Ctl(net.path(n + '.sock')) for n in ('a', 'b', 'c')}
        self.port, self.t0, self.limit = port, t0, limit
        self.at = {}

    def run(self):
        end = self.t0 + self.limit
        while len(self.at) < len(self.ctls) and time.monotonic() < end:
            for n, c in self.ctls.items():
                if n not in self.at and on_port(c) == self.port:
                    self.at[n] = time.monotonic()
            time.sleep(0.05)
        for c in self.ctls.values():
            c.close()

    def text(self):
        return ', '.join('%s %s' % (n.upper(), '%.0f ms' % ((self.at[n] - self.t0) * 1000)
                                    if n in self.at else 'not within %d s' % self.limit)
                         for n in sorted(self.ctls))


def start_monitor(net, node):
    """`ilactl monitor` of a node (it writes each event as it comes)."""
    p = subprocess.Popen([ILACTL, '-s', net.path(node + '.sock'), 'monitor'],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    net.procs['monitor-' + node] = p
    return p


def show_monitor(p, node, t_kill):
    """The node's events, each with its time from the kill (wall clock)."""
    p.terminate()
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    say('\n== node %s during the failover: ilactl monitor, times from the SIGKILL' % node.upper())
    for line in out.splitlines():
        w = line.split(None, 1)
        try:
            t = datetime.datetime.strptime(w[0], '%Y-%m-%dT%H:%M:%S.%fZ').replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except (ValueError, IndexError):
            continue
        say('%+7.0f ms  %s' % ((t - t_kill) * 1000, w[1] if len(w) > 1 else ''))


def w_locators(net):
    """{node: locator of W in the node's mapping cache}."""
    out = {}
    for n in ('a', 'b', 'c'):
        try:
            for m in net.ctls[n].json('show mappings').get('mappings', []):
                if m.get('address') == W_SIR:
                    out[n] = m.get('locator')
        except (OSError, Failed, ValueError):
            pass
    return out


def show_w_everywhere(net, k):
    say('\n== after the hot move: W\'s mapping on every node (ilactl show mappings %s)' % W_SIR)
    for n in ('a', 'b', 'c'):
        rc, out = net.ilactl(n, 'show', 'mappings', W_SIR)
        say('-- node %s' % n.upper())
        say(out.rstrip())
    say('\n== the surviving instance %d: ilactl -M show mappings' % k)
    say(instance_ctl(net, k, 'show', 'mappings')[1].rstrip())
    say('\n== the surviving instance %d: ilactl -M show store' % k)
    say(instance_ctl(net, k, 'show', 'store')[1].rstrip())


def stop_etcd_demo(net):
    """Nodes, then the instances, then the etcd members: each by its pid.
    A member left alone (Ctrl-C reached all three at once) may wait for its
    peers before it exits: 2 s, then SIGKILL (its data folder goes anyway)."""
    for name in ('a', 'b', 'c', 'mapper1', 'mapper2', 'etcd1', 'etcd2', 'etcd3'):
        if name in net.procs:
            net.stop(name, timeout=2 if name.startswith('etcd') else 10)


def node_extra():
    """The ilad.conf lines every node gets beyond the suites' own."""
    return 'dataplane %s\nmetrics listen ::1 port %d\n' % (DATAPLANE, METRICS_PORT)


# What the report quotes of a Prometheus scrape: the families an operator
# graphs for moves (convergence, pushes, in-flight forwarding, refusals).
SCRAPE_FAMILIES = ('ilad_move_convergence_seconds', 'ilad_pushes_total',
                   'ilad_registrations_acked_total', 'ilad_forwarded_moves_total',
                   'ilad_bpf_program_events_total', 'ila_mapper_registrations_total',
                   'ila_mapper_moves_total', 'ila_mapper_push_latency_seconds',
                   'ila_mapper_registrations_refused_total')


def scrape(ns, port):
    """GET /metrics on the loopback of namespace ns, as Prometheus would."""
    rc, out = run(['ip', 'netns', 'exec', ns, 'curl', '-sS', '--max-time', '5', '-g',
                   'http://[::1]:%d/metrics' % port], check=False)
    return out if rc == 0 else ''


def scrape_excerpt(text):
    """The samples of SCRAPE_FAMILIES in a scrape, without the histograms'
    buckets below the first one that holds every observation, nor samples
    at 0 of labelled families (refusal reasons that never happened)."""
    keep = []
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        name = line.split('{')[0].split(' ')[0]
        fam = next((f for f in SCRAPE_FAMILIES if name == f or name.startswith(f + '_')), None)
        if fam is None:
            continue
        if '{' in line and line.rsplit(' ', 1)[-1] in ('0', '0.0') and \
                not name.endswith('_bucket'):
            continue
        if name.endswith('_bucket'):
            continue
        keep.append(line)
    return keep


class MapWatch(threading.Thread):
    """Polls W's mapping in C's cache (BPF: C's map) every 10 ms and keeps
    when each (locator, state) was first seen: with the BPF data path a move
    changes no route at C, only the map."""

    def __init__(self, net):
        super().__init__(daemon=True)
        self.ctl = Ctl(net.path('c.sock'))
        self.events = []
        self.stopped = False

    def run(self):
        last = None
        while not self.stopped:
            try:
                for m in self.ctl.json('show mappings %s' % W_SIR).get('mappings', []):
                    if m.get('address') == W_SIR:
                        now = (m.get('locator'), m.get('state'))
                        if now != last:
                            self.events.append((time.monotonic(), now))
                            last = now
            except (OSError, Failed, ValueError):
                pass
            time.sleep(0.01)

    def first(self, after, kind, what):
        """As RouteWatch.first: when C first had W at the locator of what
        ('ila LOC') and up, at or after time after."""
        loc = what.split()[-1]
        for t, (l, st) in list(self.events):
            if t >= after and l == loc and st == 'up':
                return t
        return None

    def stop(self):
        self.stopped = True
        self.join(2)
        self.ctl.close()


def uses_bpf(net):
    """Whether C's ilad translates with BPF (dataplane auto may pick it)."""
    try:
        return net.ctls['c'].json('show dataplane').get('dataplane') == 'bpf'
    except (OSError, Failed, ValueError):
        return False


def c_has_w_at(net, loc):
    """C has W at loc: an ILA route (module), or its map (BPF)."""
    if net.bpf:
        for m in net.ctls['c'].json('show mappings %s' % W_SIR).get('mappings', []):
            if m.get('address') == W_SIR and m.get('locator') == loc and m.get('state') == 'up':
                return True
        return False
    return any('ila %s' % loc in l for l in
               run(['ip', 'netns', 'exec', NS['c'], 'ip', '-6', 'route', 'show', 'proto',
                    str(ilad_net.PROTO)], check=False)[1].splitlines())


def w_counter(net):
    """(packets, bytes) of C's per-mapping counter of W (BPF), or None."""
    try:
        for m in net.ctls['c'].json('show mappings %s' % W_SIR).get('mappings', []):
            if m.get('address') == W_SIR and 'packets' in m:
                return m.get('packets', 0), m.get('bytes', 0)
    except (OSError, Failed, ValueError):
        pass
    return None


def move(net, run_id, name, act, settle=0):
    """Streams X -> W for SECONDS at RATE while act() moves W; returns a
    report row. With settle, the route at C is awaited that many seconds
    more when the stream ended before it came."""
    count = int(RATE * SECONDS)
    recv = FloodRecv(net, 'w', 6000 + run_id, count, run_id, timeout_s=int(SECONDS) + 15,
                     idle_ms=3000)
    watch = MapWatch(net) if net.bpf else RouteWatch(NS['c'], W_SIR)
    watch.start()
    sender = flood_send(net, 'x', W_SIR, 6000 + run_id, RATE, count, run_id, background=True,
                        timeout_s=int(SECONDS) + 10)
    time.sleep(SECONDS * 0.35)
    t0, target = act()
    from ilad_net import flood_send_result
    s = flood_send_result(sender, SECONDS + 20)
    r = recv.result(SECONDS + 20)
    if settle:
        until(lambda: watch.first(t0, 'new', target), settle, 0.1)
    watch.stop()
    t1 = watch.first(t0, 'new', target)
    conv = '%.0f ms' % ((t1 - t0) * 1000) if t1 else 'not seen'
    lost, first, last = r.get('lost', 0), r.get('first_lost', -1), r.get('last_lost', -1)
    # the losses of a move: one run of sequence numbers (W's link unplugged,
    # or W away in a cold move), not the tail
    one_run = lost == 0 or (first >= 0 and last - first + 1 == lost and last < count - 1)
    return (name, s.get('sent', 0), r.get('unique', 0), lost, r.get('dup', 0),
            s.get('icmp', 0), conv, one_run)


def main():
    net = Net('demo')
    net.bpf = False
    frr = None
    resume = None
    # a SIGTERM or SIGHUP (a time limit, a closed terminal) still tears down
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    # and Ctrl-C, even when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if ETCD_MODE:
            say('== building the topology: fabric router, three etcd members, two ila-mapper '
                'instances, nodes A B C, workload W, correspondent X')
        else:
            say('== building the topology: fabric router, mapper, nodes A B C, workload W, '
                'correspondent X')
        net.build()
        net.flood = flood_tool(net.dir)
        net.certs(['mapper', 'a', 'b', 'c'])
        frr = start_frr(net)
        if ETCD_MODE:
            t = time.monotonic()
            start_etcd(net)
            say('etcd members e1 e2 e3 healthy after %.1f s (loopback of %s, client ports %s)'
                % (time.monotonic() - t, NS['m'], ' '.join(str(c) for c, _ in ETCD_PORTS)))
            start_instances(net, ['a', 'b', 'c'])
            say('ila-mapper instances 1 and 2 on %s ports %d and %d, prefix %s: copies read'
                % (MAPPER_ADDR, INSTANCE_PORTS[0], INSTANCE_PORTS[1], ETCD_PREFIX))
            net.ctls['mapper'] = Ctl(net.path('mapper1.sock'))
            for n in ('a', 'b', 'c'):
                net.start_ilad(n, conf_text=ilad_conf_two(net, n))
            where = {n: on_port(net.ctls[n]) for n in ('a', 'b', 'c')}
            if any(p != INSTANCE_PORTS[0] for p in where.values()):
                raise Failed('the nodes should all be on instance 1 (port %d): %s'
                             % (INSTANCE_PORTS[0], where))
            say('nodes A B C up and in sync on instance 1 (port %d)' % INSTANCE_PORTS[0])
        else:
            net.start_mapper(['a', 'b', 'c'], extra='metrics listen ::1 port %d\n' % METRICS_PORT)
            for n in ('a', 'b', 'c'):
                net.start_ilad(n, extra=node_extra())
        net.bpf = uses_bpf(net)
        say('data path of A B C (dataplane %s in each ilad.conf): %s' % (DATAPLANE, ' '.join(
            net.ctls[n].json('show dataplane').get('dataplane', '?') for n in ('a', 'b', 'c'))))
        rc, out = net.ilactl('a', 'attach', W_SIR, 'dev', dev('a', 'w'))
        if rc != 0:
            raise Failed('attach at A: %s' % out)
        until(lambda: c_has_w_at(net, LOC['a']), 10)
        c0 = w_counter(net)
        st0 = net.stats('c')
        if ETCD_MODE:
            say('\n== before: W runs on A: ilactl -M show mappings (instance 1)')
            say(instance_ctl(net, 1, 'show', 'mappings')[1].rstrip())
        else:
            mappings(net, 'before: W runs on A')

        # W never learns that it moves: its routes and its neighbour entry for
        # the anycast gateway, read now, are compared after the moves
        view0 = net.w_view()

        def hot():
            # the hypervisor re-plugs W's link at B; B attaches it at once
            t = time.monotonic()
            net.move_w('b', lambda: net.ilactl('b', 'attach', W_SIR, 'dev', dev('b', 'w')))
            return t, 'ila ' + LOC['b']

        def hot_failover():
            def kill_attach():
                nonlocal resume
                # instance 1, which every node is on, dies before B attaches W
                p = net.procs['mapper1']
                p.send_signal(signal.SIGKILL)
                tk = time.monotonic()
                kill_wall[0] = time.time()
                resume = Resume(net, INSTANCE_PORTS[1], tk)
                resume.start()
                t = time.monotonic()
                net.ilactl('b', 'attach', W_SIR, 'dev', dev('b', 'w'))
                return t
            # W's link re-plugged at B first
            _, t = net.move_w('b', kill_attach)
            return t, 'ila ' + LOC['b']

        def cold():
            net.ilactl('b', 'detach', W_SIR, 'down')
            time.sleep(0.5)         # the workload is in transit
            t = time.monotonic()
            net.move_w('a', lambda: net.ilactl('a', 'attach', W_SIR, 'dev', dev('a', 'w')))
            return t, 'ila ' + LOC['a']

        moved = True
        kill_wall = [None]
        if ETCD_MODE:
            snaps = {n: net.stats(n).get('snapshots', 0) for n in ('a', 'b', 'c')}
            mon = start_monitor(net, 'b')
            say('\n== hot move A -> B under %d packets/s from X; instance 1 SIGKILLed in '
                'the middle (W\'s link already at B, B has not attached it yet)' % RATE)
            rows = [move(net, 1, 'hot A->B', hot_failover, settle=30)]
            net.procs['mapper1'].wait(10)
            resume.join(max(0.0, resume.t0 + resume.limit - time.monotonic()) + 1)
            net.ctls['mapper'].close()
            net.ctls['mapper'] = Ctl(net.path('mapper2.sock'))
            moved = bool(until(lambda: all(v == LOC['b'] for v in w_locators(net).values())
                               and len(w_locators(net)) == 3, 30, 0.2))
            show_monitor(mon, 'b', kill_wall[0])
            show_w_everywhere(net, 2)
        else:
            say('\n== hot move A -> B under %d packets/s from X' % RATE)
            rows = [move(net, 1, 'hot A->B', hot)]
        say('== cold move B -> A (detach down, 0.5 s away, attach) under %d packets/s' % RATE)
        rows.append(move(net, 2, 'cold B->A', cold))
        if ETCD_MODE:
            say('\n== after: W runs on A again: ilactl -M show mappings (instance 2)')
            say(instance_ctl(net, 2, 'show', 'mappings')[1].rstrip())
        else:
            mappings(net, 'after: W runs on A again')
        say('\n== the data path at C after the moves: ilactl show dataplane')
        say(net.ilactl('c', 'show', 'dataplane')[1].rstrip())
        if net.bpf:
            say('\n== C\'s mappings with their BPF counters (packets and bytes ila_out '
                'translated): ilactl show mappings')
            say(net.ilactl('c', 'show', 'mappings')[1].rstrip())
        view1 = net.w_view()
        say('\n== W after the moves: `ip -j route` and `ip -j neigh` for the gateway %s '
            '(lladdr %s) in W %s' % (
                ilad_net.GW6, (view1.get('gw6') or [{}])[0].get('lladdr'),
                'unchanged: W never learned that it moved' if view1 == view0
                else 'CHANGED: before %s after %s' % (view0, view1)))
        say('\n== report')
        say('%-10s %8s %9s %6s %5s %13s  %s' % ('move', 'sent', 'received', 'lost', 'dup',
                                             'icmp-unreach', 'convergence at C'))
        for row in rows:
            say('%-10s %8d %9d %6d %5d %13d  %s' % row[:7])
        say('(convergence: from the re-plug of W\'s link and `ilactl attach` at the new node '
            'until the correspondent\'s '
            'node has %s;' % ('W at its new locator in its BPF map' if net.bpf
                                   else 'the new route'))
        say(' a hot move loses what reaches the old node while W\'s link is unplugged, '
            'before that node learns the move;')
        say(' a cold move loses what is sent while the workload is '
            'away, and those senders get ICMPv6 unreachable,\n which the kernel rate-limits: '
            'icmp-unreach counts the errors the sender received)')
        if ETCD_MODE:
            say('instance 1 SIGKILLed during the hot move; nodes up and in sync on instance 2 '
                'after: %s' % resume.text())
            snaps = ', '.join('%s %d' % (n.upper(), net.stats(n).get('snapshots', 0) - snaps[n])
                              for n in ('a', 'b', 'c'))
            rc, out = instance_ctl(net, 2, 'show', 'stats', 'json')
            try:
                fo = flatten(json.loads(out)).get('failovers', '?')
            except ValueError:
                fo = '?'
            say('snapshots the nodes took from instance 2: %s (0: they resumed where they '
                'were); mappings failed over: %s' % (snaps, fo))
            say('hot move completed through instance 2: %s' % (
                'W -> %s on A, B and C' % LOC['b'] if moved else
                'NO, W\'s locators: %s' % w_locators(net)))
        if net.bpf:
            c1 = w_counter(net) or (0, 0)
            st1 = net.stats('c')
            say('data path: BPF (ila_out on the SIR prefix route, ila_in on tc ingress); C '
                'translated %d packets (%d bytes) to W during the two moves (its per-mapping '
                'counter);\n C: out_translated +%d, out_miss +%d, map batches +%d' % (
                    c1[0] - (c0 or (0, 0))[0], c1[1] - (c0 or (0, 0))[1],
                    st1.get('bpf_out_translated', 0) - st0.get('bpf_out_translated', 0),
                    st1.get('bpf_out_miss', 0) - st0.get('bpf_out_miss', 0),
                    st1.get('bpf_batches', 0) - st0.get('bpf_batches', 0)))
        else:
            say('data path: the kernel\'s ILA module (one ILA route per mapping)')
        say('\n== Prometheus: what a scrape of C\'s ilad and of the mapper says after the moves '
            '(curl http://[::1]:%d/metrics in each namespace; counters, histogram sums and '
            'counts)' % METRICS_PORT)
        for who, ns, port in (('C', NS['c'], METRICS_PORT),
                              ('mapper instance 2', NS['m'], METRICS_PORT + 2) if ETCD_MODE
                              else ('mapper', NS['m'], METRICS_PORT)):
            lines = scrape_excerpt(scrape(ns, port))
            say('%s:\n  %s' % (who, '\n  '.join(lines) if lines else '(no scrape)'))
        st = net.stats('a')
        say('node A: %d pushes, %d routes replaced, %d moves forwarded' % (
            st.get('pushes', 0), st.get('routes_replaced', 0), st.get('forwarded_moves', 0)))
        if ETCD_MODE and st.get('registrations_refused', 0):
            say('node A: %d registrations refused. On instance 2, A registered W again (its '
                'session came up there) after B\'s move\n had landed: refused as stale-seq, '
                'and the refusal reached A before the push of the move (pushes wait\n up to '
                'the push delay, answers do not), so A removed its local delivery instead of '
                'forwarding to B:\n what reached A for W in between was lost.'
                % st['registrations_refused'])
        # the hot move loses only what reached A while W's link was unplugged
        # (one run), none twice; W saw nothing of either move
        ok = rows[0][7] and rows[0][4] == 0 and view1 == view0
        if ETCD_MODE:
            ok = ok and moved and len(resume.at) == 3
        return 0 if ok else 1
    except Failed as e:
        say('demo failed: %s' % e)
        return 1
    except KeyboardInterrupt:
        say('\ndemo interrupted: tearing down')
        return 130
    finally:
        if os.environ.get('DEMO_KEEP') == '1':
            say('\n== left running (--keep). Explore with:')
            if ETCD_MODE:
                for k in (1, 2):
                    say('  ilactl -M -s %s show mappings | show store'
                        % net.path('mapper%d.sock' % k))
                say('  ip netns exec %s etcdctl --endpoints %s get --prefix %s'
                    % (NS['m'], etcd_url(1), ETCD_PREFIX))
            else:
                say('  ilactl -M -s %s show mappings' % net.path('mapper.sock'))
            for n in ('a', 'b', 'c'):
                say('  ilactl -s %s show mappings | show local | show kernel | monitor'
                    % net.path(n + '.sock'))
            say('  ip netns exec %s ip -6 route show proto %d' % (NS['c'], ilad_net.PROTO))
            if net.bpf:
                say('  ilactl -s %s show dataplane   (BPF: counters, uplink)' % net.path('c.sock'))
                say('  bpftool prog show name ila_out; bpftool map dump name ila_map')
                say('  ip netns exec %s tc filter show dev c-r ingress' % NS['c'])
            say('  vtysh --vty_socket %s -c "show ipv6 route"' % net.path('frr'))
            say('Tear down: kill the daemons (pids in %s/*.pid and frr/*.pid%s) and '
                'ip netns del %s'
                % (net.dir, ' and of etcd: %s' % ' '.join(
                    str(net.procs['etcd%d' % i].pid) for i in (1, 2, 3)
                    if 'etcd%d' % i in net.procs) if ETCD_MODE else '',
                   ' '.join(NS.values())))
        else:
            if resume is not None:
                resume.join(1)
            stop_frr(frr)
            if ETCD_MODE:
                stop_etcd_demo(net)
            net.close()


if __name__ == '__main__':
    sys.exit(main())
