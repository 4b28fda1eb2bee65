#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run convergence: one /128 moved between two nodes, time until a third
node has the new location, for ilad beside the routing protocol users would
otherwise pick (BGP host routes), interleaved in the same run.

Baseline: three FRR speakers S1, S2, S3 (zebra and bgpd, each in a network
namespace), eBGP S1-S3 and S2-S3 over veths, IPv6 unicast only. bgpd runs
with `frr defaults datacenter` and `advertisement-interval 0` on every
neighbor, so no MRAI timer hides the protocol's speed, and with
`no bgp network import-check`: the /128 is originated by a `network`
statement without waiting for a route in zebra, the shortest way BGP can
announce it. At t0 the /128 is withdrawn at S1 (`no network`) and announced
at S2 (`network`), two vtysh commands issued back to back as an operator or
an orchestrator would; the time runs until S3's kernel has the /128 via S2
only, stamped by `ip -ts monitor route` in S3 (rtnetlink). Then it is moved
back (S2 -> S1) and the next sample begins.

ila: ila-mapper and three ilads N1, N2, N3 (mode control-plane, TLS on
loopback, in the root namespace). At t0 `ilactl attach ADDR` runs at N2
(the address being attached at N1); the time runs until N3 has applied the
move: the push event of N3's `ilactl -j monitor` stream, stamped by ilad
as it applies the push (the mapping is then checked at N3). Then it is
moved back. The mapper runs on its defaults (group commit 2 ms, push batch
delay 5 ms) but for move damping, raised so that the back-and-forth moves of
the run are not frozen (by default an address moving more than 5 times in
180 s is).

Both t0 are taken just before the command-line client starts, in the same
clock as the end stamps (CLOCK_REALTIME). After one unmeasured round each,
medians of BENCH_RUNS samples each (default 10), interleaved. Records move_convergence_vs_bgp in
bench/results.json (RESULTS; other entries kept, same-name ones replaced).
Needs root and the frr package; binaries come from ILA_BUILD. Namespaces,
processes and temp files are removed whatever happens.
"""
import atexit
import calendar
import json
import os
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record import record  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = os.path.abspath(os.environ.get('ILA_BUILD', os.path.join(TOP, 'build', 'main')))
MAPPER = os.path.join(BUILD, 'ila-mapper', 'ila-mapper')
ILAD = os.path.join(BUILD, 'ilad', 'ilad')
ILACTL = os.path.join(BUILD, 'ilactl', 'ilactl')
MKCERTS = os.path.join(TOP, 'scripts', 'mkcerts.sh')
FRR = '/usr/lib/frr'
RESULTS = os.environ.get('RESULTS', os.path.join(HERE, 'results.json'))
RUNS = int(os.environ.get('BENCH_RUNS', '10'))
BUDGET = 120 + 15 * RUNS      # seconds for the whole run, then it fails, cleaned up
SAMPLE_TIMEOUT = 30           # a move not seen within this fails the run
SETTLE = 0.3                  # quiet time after a move back, before the next sample

# Documentation prefixes only (RFC 3849).
ADDR = '2001:db8:100::42'
PFX = ADDR + '/128'
VN_PREFIX = '2001:db8:100::/64'

PROCS = []      # every process started here
NETNS = []      # every namespace created here
TMP = []        # temp dirs to remove


class Failed(Exception):
    pass


def note(msg):
    print(msg, flush=True)


def run(cmd, timeout=30, check=False, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise Failed('%s: exit %d: %s' % (' '.join(cmd), r.returncode, r.stderr.strip()[-300:]))
    return r


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    PROCS.append(p)
    return p


def until(cond, timeout, step=0.01):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            except OSError:
                pass
    PROCS.clear()
    for ns in NETNS:
        # Every process in a namespace of ours is one of ours (FRR daemons).
        for pid in run(['ip', 'netns', 'pids', ns]).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        until(lambda: not run(['ip', 'netns', 'pids', ns]).stdout.split(), 5, step=0.05)
        run(['ip', 'netns', 'del', ns])
    NETNS.clear()
    for d in TMP:
        shutil.rmtree(d, ignore_errors=True)
    TMP.clear()


atexit.register(cleanup)


def on_signal(signum, frame):
    raise SystemExit('bench convergence: signal %d' % signum)


def on_alarm(signum, frame):
    raise Failed('the run took longer than %d s' % BUDGET)


class Lines:
    """A child's output lines, read by a thread: (arrival monotonic time, line)."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       bufsize=1, env=env)
        self.q = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.p.stdout:
            self.q.put((time.monotonic(), line.rstrip('\n')))
        self.q.put((time.monotonic(), None))

    def drain(self):
        while True:
            try:
                self.q.get_nowait()
            except queue.Empty:
                return

    def next(self, deadline):
        """The next line, or None at the deadline; Failed when the child is gone."""
        try:
            t, line = self.q.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            return None
        if line is None:
            raise Failed('%s exited (status %s)' % (self.name, self.p.poll()))
        return t, line


# ---------------------------------------------------------------- BGP baseline

class Speaker:
    """An FRR speaker: a namespace with zebra and bgpd, its files in root/name."""

    def __init__(self, root, tag, name, asn, rid):
        self.name, self.asn, self.rid = name, asn, rid
        self.ns = '%s-%s' % (tag, name)
        self.dir = os.path.join(root, name)
        self.neighbors = []
        os.mkdir(self.dir)
        shutil.chown(self.dir, 'frr', 'frr')
        run(['ip', 'netns', 'add', self.ns], check=True)
        NETNS.append(self.ns)
        self.ex('ip', 'link', 'set', 'lo', 'up', check=True)
        self.ex('sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0',
                'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.forwarding=1',
                check=True)

    def ex(self, *cmd, timeout=30, check=False):
        return run(['ip', 'netns', 'exec', self.ns] + list(cmd), timeout=timeout, check=check)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        shutil.chown(path, 'frr', 'frr')
        return path

    def start(self, originate):
        self.write('zebra.conf', 'hostname %s\nlog file %s/zebra.log\n' % (self.name, self.dir))
        lines = ['frr defaults datacenter',
                 'hostname %s' % self.name, 'log file %s/bgpd.log' % self.dir,
                 'router bgp %d' % self.asn,
                 ' bgp router-id %s' % self.rid,
                 ' no bgp ebgp-requires-policy',
                 ' no bgp default ipv4-unicast',
                 ' no bgp network import-check']
        for peer, asn in self.neighbors:
            lines += [' neighbor %s remote-as %d' % (peer, asn),
                      ' neighbor %s timers connect 1' % peer,
                      ' neighbor %s advertisement-interval 0' % peer]
        lines.append(' address-family ipv6 unicast')
        lines += ['  neighbor %s activate' % peer for peer, _ in self.neighbors]
        if originate:
            lines.append('  network %s' % PFX)
        lines.append(' exit-address-family')
        self.write('bgpd.conf', '\n'.join(lines) + '\n')
        for daemon in ('zebra', 'bgpd'):
            self.ex(os.path.join(FRR, daemon), '-d', '-N', self.ns,
                    '-i', os.path.join(self.dir, daemon + '.pid'),
                    '-z', os.path.join(self.dir, 'zserv.api'), '--vty_socket', self.dir,
                    '-f', os.path.join(self.dir, daemon + '.conf'), check=True)

    def vtysh_argv(self, *cmds):
        argv = ['ip', 'netns', 'exec', self.ns, 'vtysh', '--vty_socket', self.dir]
        for c in cmds:
            argv += ['-c', c]
        return argv

    def vtysh(self, *cmds, check=True):
        r = run(self.vtysh_argv(*cmds), timeout=15)
        # vtysh exits 0 on some refused commands: its output says so
        if check and (r.returncode != 0 or '%' in r.stdout):
            raise Failed('vtysh %s %s: exit %d: %s%s' % (self.name, cmds[-1], r.returncode,
                                                        r.stdout.strip(), r.stderr.strip()))
        return r

    def network_argv(self, announce):
        return self.vtysh_argv('configure terminal', 'router bgp %d' % self.asn,
                               'address-family ipv6 unicast',
                               '%snetwork %s' % ('' if announce else 'no ', PFX))

    def established(self):
        r = self.vtysh('show bgp summary json', check=False)
        try:
            peers = json.loads(r.stdout).get('ipv6Unicast', {}).get('peers', {})
        except ValueError:
            return False
        return len(peers) == len(self.neighbors) and \
            all(p.get('state') == 'Established' for p in peers.values())

    def route_devs(self):
        """Devices of the kernel's route to PFX (empty when there is none)."""
        r = self.ex('ip', '-j', '-6', 'route', 'show', PFX)
        try:
            routes = json.loads(r.stdout or '[]')
        except ValueError:
            return set()
        devs = set()
        for e in routes:
            if e.get('dev'):
                devs.add(e['dev'])
            for nh in e.get('nexthops', []):
                devs.add(nh.get('dev'))
        return devs


STAMP = re.compile(r'^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] (.*)$')


class Bgp:
    """S1 and S2 both peer with S3; S1 originates the /128 at start."""

    LINKS = (('s1', 's3', '2001:db8:ff:13::1', '2001:db8:ff:13::3'),
             ('s2', 's3', '2001:db8:ff:23::2', '2001:db8:ff:23::3'))

    def __init__(self, root):
        tag = 'ilaconv%d' % (os.getpid() % 100000)
        self.s = {n: Speaker(root, tag, n, asn, rid) for n, asn, rid in
                  (('s1', 65001, '10.255.0.1'), ('s2', 65002, '10.255.0.2'),
                   ('s3', 65003, '10.255.0.3'))}
        for a, b, addr_a, addr_b in self.LINKS:
            sa, sb = self.s[a], self.s[b]
            run(['ip', 'link', 'add', '%s-%s' % (a, b), 'netns', sa.ns, 'type', 'veth',
                 'peer', 'name', '%s-%s' % (b, a), 'netns', sb.ns], check=True)
            for sp, dev, addr in ((sa, '%s-%s' % (a, b), addr_a), (sb, '%s-%s' % (b, a), addr_b)):
                sp.ex('ip', '-6', 'addr', 'add', addr + '/64', 'dev', dev, 'nodad', check=True)
                sp.ex('ip', 'link', 'set', dev, 'up', check=True)
            sa.neighbors.append((addr_b, sb.asn))
            sb.neighbors.append((addr_a, sa.asn))
        for n, sp in self.s.items():
            sp.start(originate=(n == 's1'))
        t0 = time.monotonic()
        if not until(lambda: all(sp.established() for sp in self.s.values()), 60, step=0.2):
            raise Failed('BGP sessions not established after 60 s')
        note('bgp: sessions S1-S3, S2-S3 established in %.1f s' % (time.monotonic() - t0))
        # S3's FIB through rtnetlink, each message stamped by ip(8) on receipt (UTC)
        self.mon = Lines('ip monitor', ['ip', 'netns', 'exec', self.s['s3'].ns,
                                        'ip', '-ts', '-6', 'monitor', 'route'],
                         env=dict(os.environ, TZ='UTC'))
        if not until(lambda: self.s['s3'].route_devs() == {'s3-s1'}, 30):
            raise Failed('S3 never learned %s from S1: %s' % (PFX, self.s['s3'].route_devs()))

    def move(self, src, dst):
        """Withdraw at src, announce at dst; (ms until S3's kernel has it via dst
        only, ms the two vtysh commands took)."""
        want = 's3-' + dst
        self.mon.drain()
        t0 = time.time()
        for sp, announce in ((self.s[src], False), (self.s[dst], True)):
            r = run(sp.network_argv(announce), timeout=15)
            if r.returncode != 0 or '%' in r.stdout:
                raise Failed('vtysh %s: %s%s' % (sp.name, r.stdout.strip(), r.stderr.strip()))
        t_cmds = time.time() - t0
        deadline = time.monotonic() + SAMPLE_TIMEOUT
        while True:
            got = self.mon.next(deadline)
            if got is None:
                raise Failed('S3 never had %s via %s: %s' % (PFX, dst,
                                                          self.s['s3'].route_devs()))
            m = STAMP.match(got[1])
            if not m:
                continue    # a nexthop line of a multipath route
            words = m.group(3).split()
            # a route through dst alone: not a deletion, not multipath
            if words and words[0] == ADDR and 'dev' in words and \
                    words[words.index('dev') + 1] == want:
                stamp = calendar.timegm(time.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S')) + \
                    int(m.group(2)) / 1e6
                break
        devs = self.s['s3'].route_devs()
        if devs != {want}:
            raise Failed('S3 routes %s via %s after the move to %s' % (PFX, devs, dst))
        return (stamp - t0) * 1000, t_cmds * 1000


# ---------------------------------------------------------------- ila

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def ctl(sock, *args, as_json=False):
    r = run([ILACTL, '-s', sock, '-t', '5'] + (['-j'] if as_json else []) + list(args),
            timeout=10)
    if r.returncode != 0:
        raise Failed('ilactl %s: exit %d: %s%s' % (' '.join(args), r.returncode, r.stdout,
                                                  r.stderr))
    return json.loads(r.stdout) if as_json else r.stdout


def mapping(sock):
    for m in ctl(sock, 'show', 'mappings', ADDR, as_json=True).get('mappings', []):
        if m.get('address') == ADDR:
            return m
    return None


def tail(path, n=5):
    try:
        with open(path) as f:
            return ' | '.join(f.read().splitlines()[-n:])
    except OSError:
        return '(no log)'


def parse_time(s):
    """ilad's monitor stamp, 2024-01-02T03:04:05.123456Z (UTC), as epoch seconds."""
    day, frac = s.rstrip('Z').split('.')
    return calendar.timegm(time.strptime(day, '%Y-%m-%dT%H:%M:%S')) + int(frac) / 1e6


class Ila:
    """ila-mapper and ilads n1, n2, n3; ADDR attached at n1 at start."""

    def __init__(self, root):
        self.dir = os.path.join(root, 'ila')
        os.mkdir(self.dir)
        pki = os.path.join(self.dir, 'pki')
        names = ['n1', 'n2', 'n3']
        run([MKCERTS, pki, 'mapper'] + names, timeout=120, check=True)
        port = free_port()
        msock = os.path.join(self.dir, 'mapper.sock')
        conf = os.path.join(self.dir, 'mapper.conf')
        lines = ['listen 127.0.0.1 port %d' % port,
                 'store %s' % os.path.join(self.dir, 'store'),
                 'tls certificate {0}/mapper.crt key {0}/mapper.key ca {0}/ca.crt'.format(pki),
                 'control %s' % msock, 'pidfile %s' % os.path.join(self.dir, 'mapper.pid'),
                 'damping moves 254 interval 1 freeze 1',
                 'limit unauthenticated 4096 per-source 4096',
                 'quota node-mappings 0 vn-mappings 0 rate 0',
                 'vn blue id 1 sir-prefix %s' % VN_PREFIX,
                 'vn blue serve %s' % ' '.join(names),
                 'vn blue subscribe %s' % ' '.join(names)]
        lines += ['node %s identity %s' % (n, n) for n in names]
        with open(conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        log = open(os.path.join(self.dir, 'mapper.log'), 'w')
        self.mapper = spawn([MAPPER, '-d', '-f', conf], stdout=log, stderr=log)
        log.close()
        if not until(lambda: self.mapper.poll() is not None or os.path.exists(msock), 10):
            raise Failed('ila-mapper: no control socket after 10 s')
        if self.mapper.poll() is not None:
            raise Failed('ila-mapper exited %d: %s' % (self.mapper.returncode,
                                                      tail(os.path.join(self.dir, 'mapper.log'))))
        self.sock = {}
        for i, n in enumerate(names, 1):
            self.sock[n] = os.path.join(self.dir, n + '.sock')
            nconf = os.path.join(self.dir, n + '.conf')
            with open(nconf, 'w') as f:
                f.write('node-name %s\nmode control-plane\nlocator 2001:db8:0:%d\n'
                        'mapper 127.0.0.1 port %d\n'
                        'tls certificate {0}/{1}.crt key {0}/{1}.key ca {0}/ca.crt\n'
                        'control %s\npidfile %s\nvn blue id 1 sir-prefix %s\n'
                        .format(pki, n) % (n, i, port, self.sock[n],
                                           os.path.join(self.dir, n + '.pid'), VN_PREFIX))
            log = open(os.path.join(self.dir, n + '.log'), 'w')
            p = spawn([ILAD, '-d', '-f', nconf], stdout=log, stderr=log)
            log.close()

            def up(sock=self.sock[n], p=p):
                if p.poll() is not None:
                    raise Failed('ilad exited %d' % p.returncode)
                try:
                    return os.path.exists(sock) and \
                        ctl(sock, 'show', 'mapper', as_json=True).get('state') == 'up'
                except (Failed, ValueError):
                    return False
            if not until(up, 10, step=0.05):
                raise Failed('ilad %s: no mapper session after 10 s' % n)
        self.mon = Lines('ilactl monitor', [ILACTL, '-s', self.sock['n3'], '-j', 'monitor'])
        time.sleep(0.2)
        ctl(self.sock['n1'], 'attach', ADDR)
        if not until(lambda: (mapping(self.sock['n3']) or {}).get('node') == 'n1', 10):
            raise Failed('n3 never learned %s at n1: %s' % (ADDR, mapping(self.sock['n3'])))

    def move(self, src, dst):
        """`ilactl attach` at dst; (ms until n3 applied the push of the move, ms the
        ilactl command took)."""
        before = mapping(self.sock['n3'])
        self.mon.drain()
        t0 = time.time()
        ctl(self.sock[dst], 'attach', ADDR)
        t_cmd = time.time() - t0
        deadline = time.monotonic() + SAMPLE_TIMEOUT
        pushes = []
        while True:
            got = self.mon.next(deadline if not pushes else time.monotonic() + 0.05)
            if got is None:
                if pushes:
                    break   # the pushes of this move have all come
                raise Failed('n3 got no push after the attach at %s' % dst)
            try:
                ev = json.loads(got[1])
            except ValueError:
                continue
            if ev.get('event') == 'push' and parse_time(ev['time']) >= t0:
                pushes.append(parse_time(ev['time']))
        m = until(lambda: (lambda m: m if (m or {}).get('node') == dst else None)(
            mapping(self.sock['n3'])), 5)
        if not m or m.get('seq', 0) <= (before or {}).get('seq', 0):
            raise Failed('n3 maps %s to %s after the move to %s' % (ADDR, m, dst))
        if len(pushes) > 1:
            note('ila: %d pushes reached n3 after the attach; the first is taken' % len(pushes))
        return (pushes[0] - t0) * 1000, t_cmd * 1000


# ---------------------------------------------------------------- main

def main():
    if os.geteuid() != 0:
        sys.exit('bench convergence: needs root (network namespaces)')
    if not os.access(os.path.join(FRR, 'bgpd'), os.X_OK) or not shutil.which('vtysh'):
        sys.exit('bench convergence: FRR not installed: run scripts/deps.sh')
    for b in (MAPPER, ILAD, ILACTL):
        if not os.access(b, os.X_OK):
            sys.exit('bench convergence: %s missing: build first, or set ILA_BUILD' % b)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(BUDGET)
    root = tempfile.mkdtemp(prefix='ila-bench-conv-')
    os.chmod(root, 0o755)
    TMP.append(root)
    samples = {'bgp': ([], []), 'ila': ([], [])}    # (end to end, command) ms
    try:
        sides = {'bgp': (Bgp(root), 's1', 's2'), 'ila': (Ila(root), 'n1', 'n2')}
        # one unmeasured round each, then RUNS rounds, alternating which
        # side goes first so that neither always follows the other's churn
        for i in range(-1, RUNS):
            for name in (('bgp', 'ila') if i % 2 == 0 else ('ila', 'bgp')):
                side, a, b = sides[name]
                t, c = side.move(a, b)
                side.move(b, a)
                if i >= 0:
                    samples[name][0].append(t)
                    samples[name][1].append(c)
                time.sleep(SETTLE)
    except Failed as e:
        sys.exit('bench convergence: %s' % e)
    finally:
        signal.alarm(0)
        cleanup()
    (ila_ms, ila_cmd), (bgp_ms, bgp_cmd) = samples['ila'], samples['bgp']
    a, b = statistics.median(ila_ms), statistics.median(bgp_ms)
    note('move convergence: the same /128 moved between two nodes until a third has it, '
         'median of %d' % RUNS)
    note('  ila (ilactl attach at N2 -> N3 applied the push):        %8.2f ms  [%s]'
         % (a, ' '.join('%.1f' % x for x in ila_ms)))
    note('      the ilactl command alone (start to exit):            %8.2f ms'
         % statistics.median(ila_cmd))
    note('  BGP (vtysh no network at S1, network at S2 -> S3 FIB):   %8.2f ms  [%s]'
         % (b, ' '.join('%.1f' % x for x in bgp_ms)))
    note('      the two vtysh commands alone (start to exit):        %8.2f ms'
         % statistics.median(bgp_cmd))
    note('  ratio ila / BGP %.3f (lower is better)' % (a / b))
    record([{'name': 'move_convergence_vs_bgp', 'unit': 'ms', 'ila': round(a, 2),
             'baseline': round(b, 2), 'ratio': round(a / b, 3), 'better': 'lower'}])


if __name__ == '__main__':
    main()
