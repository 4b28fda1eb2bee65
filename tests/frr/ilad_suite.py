# SPDX-License-Identifier: GPL-2.0-or-later
"""Suite `ilad` of tests/frr/run: ilad and ila-mapper with real FRR.

Called by tests/frr/run (which owns the results, the namespaces, the
processes and their cleanup, and passes itself in as `h`):

  R1 (AS 65001) and R2 (AS 65002): zebra + bgpd each, eBGP over a veth,
  `redistribute babel` in ipv6 and ipv4 unicast.
  ila-mapper in R1's namespace, listening on R1's link address; ilad1 next
  to R1's zebra, ilad2 next to R2's (mode host-route, zebra on, TLS), each
  in the namespace of its router (zebra reads a route's ifindex in its own
  namespace).

       H ---- R2 ======== R1
              |           |
              +---- W ----+

  W is the workload: 2001:db8:1::10 and 198.51.100.10 on both of its links
  (a neighbour solicitation is answered only for an address of the link it
  came in on), so either router delivers to it on a host route. H streams
  UDP to both addresses (tests/vm/flood.c, compiled here) while W moves.

Steps: W attached at ilad1 (R2 learns /128 and /32 from R1); W moved to
ilad2 under traffic (routes flip, lost packets and convergence printed);
zebra on R1 killed and restarted with bgpd after it (ilad1 replays, the route
it withdrew meanwhile is swept, R1 and R2 hold exactly what ilad1 and ilad2
announce); ilad1 restarted twice under traffic (SIGKILL, then SIGTERM without
--flush-on-exit) with graceful restart: no packet lost, R2's FIB keeps the
routes; ilad1 stopped with --flush-on-exit (its routes leave R1 and R2);
routes not sent again removed at once by update-complete, and those of an
ilad that does not come back after the stale time.
Before all that an ilad meets a fake zebra that sends garbage and truncated
messages. With --bench, the time from `ilactl attach` at R1 to the /128 in
R2's FIB beside a vtysh static route on R1, in the same run.
"""
import json
import os
import shutil
import signal
import statistics
import struct
import subprocess
import threading
import time
import types

# Documentation prefixes only (RFC 3849, RFC 5737).
LINK4 = ('192.0.2.1', '192.0.2.2')
LINK6 = ('2001:db8:ff::1', '2001:db8:ff::2')
H_NET = ('2001:db8:ee::1', '2001:db8:ee::2', '203.0.113.1', '203.0.113.2')
SIR = '2001:db8:1::/64'
V4NET = '198.51.100.0/24'
W6, W4 = '2001:db8:1::10', '198.51.100.10'
W6P, W4P = W6 + '/128', W4 + '/32'
X6, X4 = '2001:db8:1::20', '198.51.100.20'      # attached at ilad1 before zebra dies
Y6 = '2001:db8:1::21'                           # attached while zebra is away
LOC = {'r1': '2001:db8:0:a1', 'r2': '2001:db8:0:a2'}
LOCP = {'r1': '2001:db8:0:a1::/64', 'r2': '2001:db8:0:a2::/64'}
BENCH_ILAD = '2001:db8:1::1%02d'                # attached at ilad1
BENCH_STATIC = '2001:db8:31::%d'                # vtysh static routes on R1
STATIC_NET = '2001:db8:31::'
MAPPER_PORT = 7787
RATE, STREAM_S = 1000, 6                        # the stream during the move
GR_STREAM_S = 8                                 # the stream across two ilad restarts
STALE_S = 3                                     # a short graceful-restart stale time
HOLD_S = 3      # in-flight forwarding of a moved IPv4 workload, short for the test


def ip_key(p):
    return p if '/' in p else p + ('/128' if ':' in p else '/32')


class Netns:
    def __init__(self, h, ns):
        self.h, self.ns = h, ns

    def ex(self, *cmd, timeout=30, check=False):
        return self.h.run(['ip', 'netns', 'exec', self.ns] + list(cmd), timeout=timeout,
                          check=check)

    def popen(self, argv, **kw):
        p = subprocess.Popen(['ip', 'netns', 'exec', self.ns] + list(argv), **kw)
        self.h.PROCS.append(p)
        return p


def fib(node, family):
    """Kernel main table: {prefix: [route entries of `ip -j route`]}."""
    r = node.ex('ip', '-j', '-6' if family == 6 else '-4', 'route', 'show')
    out = {}
    try:
        for e in json.loads(r.stdout or '[]'):
            dst = e.get('dst', '')
            if not dst or dst == 'default':
                continue
            out.setdefault(ip_key(dst), []).append(e)
    except ValueError:
        pass
    return out


def has_route(entries, proto=None, dev=None):
    for e in entries or ():
        devs = [e.get('dev')] + [n.get('dev') for n in e.get('nexthops', [])]
        if (proto is None or e.get('protocol') == proto) and (dev is None or dev in devs):
            return True
    return False


def rib(router, afi):
    """zebra's RIB: {prefix: [entries]} (every route, selected or not)."""
    d = router.vjson('show %s route json' % ('ipv6' if afi == 'ipv6' else 'ip'))
    return d if isinstance(d, dict) else {}


def babel_rib(router):
    out = set()
    for afi in ('ipv6', 'ip'):
        for p, es in rib(router, afi).items():
            if any(e.get('protocol') == 'babel' for e in es):
                out.add(p)
    return out


def babel_fib(node):
    return {p for fam in (6, 4) for p, es in fib(node, fam).items()
            if has_route(es, proto='babel')}


def bgp_from(router, asn):
    """Prefixes of router's BGP tables (ipv6, ipv4) with a path from AS asn."""
    out = set()
    for afi in ('ipv6', 'ipv4'):
        for p, paths in router.vjson('show bgp %s unicast json' % afi).get('routes', {}).items():
            if any(str(x.get('path', '')).split()[:1] == [str(asn)] for x in paths):
                out.add(p)
    return out


def sessions_up(r):
    d = r.vjson('show bgp summary json')
    ok = 0
    for afi in ('ipv4Unicast', 'ipv6Unicast'):
        for p in d.get(afi, {}).get('peers', {}).values():
            ok += p.get('state') == 'Established'
    return ok == 2


class RouteMonitor:
    """`ip monitor route` in a namespace, each line stamped on arrival."""

    def __init__(self, node, family='-6'):
        self.p = node.popen(['ip', family, 'monitor', 'route'], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.p.stdout:
            with self.lock:
                self.lines.append((time.monotonic(), line.split()))

    def added(self, t0, addr, proto):
        """Arrival time of the first route to addr of protocol proto since t0."""
        with self.lock:
            for t, w in self.lines:
                if t >= t0 and w and w[0] in (addr, ip_key(addr)) and \
                        'proto' in w and w[w.index('proto') + 1] == proto:
                    return t
        return None

    def deleted(self, prefixes):
        """The lines deleting a route to one of prefixes."""
        with self.lock:
            return [' '.join(w) for _, w in self.lines if len(w) > 1 and w[0] == 'Deleted'
                    and ip_key(w[1]) in prefixes]

    def rewrites(self, prefixes):
        """A deletion of a route to one of prefixes that the very next line
        about that prefix does not undo (a route added back) is a loss:
        (losses, number of delete-then-add rewrites, longest of those in s)."""
        lost, n, longest = [], 0, 0.0
        with self.lock:
            lines = [(t, w) for t, w in self.lines if w]
        for p in prefixes:
            mine = [(t, w) for t, w in lines
                    if ip_key(w[1] if w[0] == 'Deleted' and len(w) > 1 else w[0]) == p]
            for i, (t, w) in enumerate(mine):
                if w[0] != 'Deleted':
                    continue
                if i + 1 < len(mine) and mine[i + 1][1][0] != 'Deleted':
                    n += 1
                    longest = max(longest, mine[i + 1][0] - t)
                else:
                    lost.append(' '.join(w))
        return lost, n, longest

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class Ilad:
    """An ilad in a router's namespace (or any namespace), TLS or plaintext."""

    def __init__(self, w, ns, name, conf_lines, flush=True):
        self.w, self.ns, self.name = w, ns, name
        self.sock = os.path.join(w.dir, 'ilad-%s.sock' % name)
        self.conf = os.path.join(w.dir, 'ilad-%s.conf' % name)
        self.log = os.path.join(w.dir, 'ilad-%s.log' % name)
        with open(self.conf, 'w') as f:
            f.write('\n'.join(['node-name %s' % name, 'mode host-route',
                               'control %s' % self.sock,
                               'pidfile %s' % os.path.join(w.dir, 'ilad-%s.pid' % name),
                               'keepalive 200', 'dead-interval 600',
                               'hold-time %d' % HOLD_S] + conf_lines) + '\n')
        r = w.h.run([w.ilad, '-n', '-f', self.conf])
        if r.returncode != 0:
            raise w.h.Failed('ilad -n %s: %s' % (self.conf, r.stderr.strip()))
        self.flush = flush
        self.p = None

    def start(self, mapper=True):
        with open(self.log, 'a') as logf:
            self.p = self.ns.popen([self.w.ilad, '-d', '-f', self.conf] +
                                   (['--flush-on-exit'] if self.flush else []),
                                   stdout=logf, stderr=logf)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.p.poll() is not None:
                raise self.w.h.Failed('ilad %s exited %d: %s' % (self.name, self.p.returncode,
                                                                  self.log_tail()))
            if os.path.exists(self.sock):
                try:
                    if not mapper or self.ctl('show', 'mapper').get('state') == 'up':
                        return
                except self.w.h.Failed:
                    pass
            time.sleep(0.05)
        raise self.w.h.Failed('ilad %s: not up after 10 s: %s' % (self.name, self.log_tail()))

    def ctl(self, *args, as_json=True):
        r = self.w.h.run([self.w.ilactl, '-s', self.sock, '-t', '5'] +
                         (['-j'] if as_json else []) + list(args), timeout=10)
        if r.returncode != 0:
            raise self.w.h.Failed('ilactl %s %s: exit %d: %s%s' % (
                self.name, ' '.join(args), r.returncode, r.stdout.strip(), r.stderr.strip()))
        if not as_json:
            return r.stdout
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise self.w.h.Failed('ilactl %s %s: not JSON: %s' % (self.name, ' '.join(args),
                                                                  r.stdout[:300]))

    def routing(self):
        return self.ctl('show', 'routing')

    def routes(self):
        """{prefix: state} of what ilad announces through zebra."""
        return {r['prefix']: r['state'] for r in self.routing().get('routes', [])}

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode if self.p else None

    def log_tail(self, n=8):
        try:
            with open(self.log) as f:
                return ' | '.join(f.read().splitlines()[-n:])
        except OSError:
            return '(no log)'


class World:
    """R1, R2, W, H; FRR on the routers; the mapper and two ilads."""

    def __init__(self, h, root, staticd=False):
        self.h = h
        self.dir = os.path.join(root, 'ilad')
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)
        self.ilad = os.path.join(h.BUILD, 'ilad', 'ilad')
        self.ilactl = os.path.join(h.BUILD, 'ilactl', 'ilactl')
        self.mapper_bin = os.path.join(h.BUILD, 'ila-mapper', 'ila-mapper')
        for b in (self.ilad, self.ilactl, self.mapper_bin):
            if not os.access(b, os.X_OK):
                raise h.Failed('%s missing: build first' % b)
        tag = 'ilafrr%d-i' % (os.getpid() % 100000)
        self.r1 = h.Router(self.dir, tag + 'r1', 'r1', 65001, 65002, (LINK4[0], LINK6[0]),
                           (LINK4[1], LINK6[1]))
        self.r2 = h.Router(self.dir, tag + 'r2', 'r2', 65002, 65001, (LINK4[1], LINK6[1]),
                           (LINK4[0], LINK6[0]))
        self.w = Netns(h, tag + 'w')
        self.hh = Netns(h, tag + 'h')
        for n in (self.r1, self.r2, self.w, self.hh):
            h.run(['ip', 'netns', 'add', n.ns], check=True)
            h.NETNS.append(n.ns)
            n.ex('ip', 'link', 'set', 'lo', 'up', check=True)
            # a new namespace inherits the host's IPv4 settings: no reverse path
            # filter (W has no routes back; R1 none to H's network)
            n.ex('sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0',
                 'net.ipv6.conf.default.accept_dad=0', 'net.ipv4.conf.all.rp_filter=0',
                 'net.ipv4.conf.default.rp_filter=0', check=True)
        for r in (self.r1, self.r2):
            r.ex('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.ip_forward=1',
                 check=True)
        for a, an, b, bn in (('r1-r2', self.r1, 'r2-r1', self.r2),
                             ('r1-w', self.r1, 'w-r1', self.w),
                             ('r2-w', self.r2, 'w-r2', self.w),
                             ('r2-h', self.r2, 'h-r2', self.hh)):
            h.run(['ip', 'link', 'add', a, 'netns', an.ns, 'type', 'veth', 'peer', 'name', b,
                   'netns', bn.ns], check=True)
        addrs = [(self.r1, 'r1-r2', LINK4[0] + '/24', LINK6[0] + '/64'),
                 (self.r2, 'r2-r1', LINK4[1] + '/24', LINK6[1] + '/64'),
                 (self.r2, 'r2-h', H_NET[2] + '/24', H_NET[0] + '/64'),
                 (self.hh, 'h-r2', H_NET[3] + '/24', H_NET[1] + '/64'),
                 (self.w, 'w-r1', W4 + '/32', W6P), (self.w, 'w-r2', W4 + '/32', W6P)]
        for n, dev, a4, a6 in addrs:
            n.ex('ip', 'addr', 'add', a4, 'dev', dev, check=True)
            n.ex('ip', '-6', 'addr', 'add', a6, 'dev', dev, 'nodad', check=True)
        for n, dev in ((self.r1, 'r1-r2'), (self.r1, 'r1-w'), (self.r2, 'r2-r1'),
                       (self.r2, 'r2-w'), (self.r2, 'r2-h'), (self.w, 'w-r1'), (self.w, 'w-r2'),
                       (self.hh, 'h-r2')):
            n.ex('ip', 'link', 'set', dev, 'up', check=True)
        self.hh.ex('ip', 'route', 'add', 'default', 'via', H_NET[2], check=True)
        self.hh.ex('ip', '-6', 'route', 'add', 'default', 'via', H_NET[0], check=True)
        for r in (self.r1, self.r2):
            r.start('zebra')
            r.start('bgpd')
        if staticd:
            self.r1.start('staticd')
        self.ifindex = {d: self._ifindex(self.w, d) for d in ('w-r1', 'w-r2')}
        self.pki = os.path.join(self.dir, 'pki')
        h.run([os.path.join(h.TOP, 'scripts', 'mkcerts.sh'), self.pki, 'mapper', 'r1', 'r2'],
              timeout=120, check=True)
        self.mapper = None
        self.ilads = {}

    @staticmethod
    def _ifindex(n, dev):
        r = n.ex('ip', '-j', 'link', 'show', dev, check=True)
        return json.loads(r.stdout)[0]['ifindex']

    def tls(self, name):
        return 'tls certificate {0}/{1}.crt key {0}/{1}.key ca {0}/ca.crt'.format(self.pki, name)

    def start_mapper(self):
        d = self.dir
        sock = os.path.join(d, 'mapper.sock')
        conf = os.path.join(d, 'ila-mapper.conf')
        with open(conf, 'w') as f:
            f.write('\n'.join([
                'listen %s port %d' % (LINK6[0], MAPPER_PORT),
                'store %s' % os.path.join(d, 'store'), self.tls('mapper'),
                'control %s' % sock, 'pidfile %s' % os.path.join(d, 'mapper.pid'),
                'keepalive 200', 'dead-interval 600',
                'node r1 identity r1', 'node r2 identity r2',
                'vn blue id 1 sir-prefix %s ipv4-prefix %s' % (SIR, V4NET),
                'vn blue serve r1 r2', 'vn blue subscribe r1 r2']) + '\n')
        with open(os.path.join(d, 'mapper.log'), 'a') as logf:
            self.mapper = self.r1_ns().popen([self.mapper_bin, '-d', '-f', conf],
                                             stdout=logf, stderr=logf)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.mapper.poll() is not None:
                raise self.h.Failed('ila-mapper exited %d' % self.mapper.returncode)
            if os.path.exists(sock) and self.h.run([self.ilactl, '-M', '-s', sock, '-t', '2',
                                                    'show', 'stats']).returncode == 0:
                return
            time.sleep(0.05)
        raise self.h.Failed('ila-mapper not up after 10 s')

    def r1_ns(self):
        return Netns(self.h, self.r1.ns)

    def start_ilad(self, name, router, zebra_extra='', flush=True, v4=True):
        n = Ilad(self, Netns(self.h, router.ns), name, [
            'locator %s' % LOC[name], 'mapper %s port %d identity mapper' % (LINK6[0], MAPPER_PORT),
            self.tls(name), 'zebra on socket %s version auto route-type babel%s' % (
                router.zsock, zebra_extra),
            'vn blue id 1 sir-prefix %s%s' % (SIR, ' ipv4-prefix ' + V4NET if v4 else '')],
            flush=flush)
        n.start()
        self.ilads[name] = n
        return n

    def consistent(self):
        """R1 and R2 hold exactly what ilad1 and ilad2 announce (zebra RIB and
        kernel FIB of each router, and the other router's BGP table), ilad1
        and ilad2 see every route installed. (ok, detail)"""
        bad = []
        for me, other, asn in (('r1', self.r2, 65001), ('r2', self.r1, 65002)):
            router = self.r1 if me == 'r1' else self.r2
            n = self.ilads.get(me)
            want = set(n.routes()) if n and n.alive() else set()
            if n and n.alive():
                st = n.routes()
                if any(s != 'installed' for s in st.values()):
                    bad.append('%s states %s' % (me, st))
            got = {'%s RIB' % me: babel_rib(router), '%s FIB' % me: babel_fib(router),
                   '%s BGP from %s' % (other.name, me):
                   {p for p in bgp_from(other, asn) if not p.startswith(STATIC_NET)}}
            for what, have in got.items():
                if have != want:
                    bad.append('%s: missing %s, extra %s' % (what, sorted(want - have),
                                                            sorted(have - want)))
        return not bad, '; '.join(bad)


def ms(s):
    return '%.0f ms' % (s * 1000) if s is not None else 'n/a'


# ---- flood: the UDP stream ----

def flood_binary(h, root):
    """tests/vm/flood from the build, else compiled here from its source."""
    built = os.path.join(h.BUILD, 'tests', 'vm', 'flood')
    if os.access(built, os.X_OK):
        return built
    src = os.path.join(h.TOP, 'tests', 'vm', 'flood.c')
    out = os.path.join(root, 'flood')
    cc = shutil.which('cc') or shutil.which('gcc')
    if not cc or not os.path.exists(src):
        return None
    r = h.run([cc, '-O2', '-std=gnu11', '-I', h.BUILD, '-o', out, src], timeout=60)
    return out if r.returncode == 0 else None


class Stream:
    """flood recv in W and flood send in H for one address."""

    def __init__(self, w, flood, addr, port, run_id, count):
        self.addr, self.count = addr, count
        self.log = os.path.join(w.dir, 'rx-%d.log' % port)
        self.rx = w.w.popen([flood, 'recv', '-p', str(port), '-n', str(count), '-t', '40',
                             '-w', '3000', '-i', str(run_id), '-o', self.log],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.rx.stdout.readline().strip()
        if line != 'READY':
            raise w.h.Failed('flood recv: %s %s' % (line, self.rx.stderr.read()[-200:]))
        dst = addr if ':' in addr else '::ffff:' + addr
        self.tx = w.hh.popen([flood, 'send', '-d', dst, '-p', str(port), '-r', str(RATE),
                              '-n', str(count), '-t', '40', '-i', str(run_id)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self):
        tx_out = self.tx.communicate(timeout=60)[0]
        rx_out = self.rx.communicate(timeout=60)[0]
        kv = lambda s: dict(x.split('=', 1) for x in s.split()[1:] if '=' in x)
        self.sent, self.recv = kv(tx_out.strip()), kv(rx_out.strip())
        self.packets = []   # (seq, ifindex, t)
        try:
            with open(self.log) as f:
                for line in f:
                    s, i, t = line.split()
                    self.packets.append((int(s), int(i), int(t) / 1e6))
        except (OSError, ValueError):
            pass
        return self

    def lost(self):
        return int(self.recv.get('lost', self.count))

    def first_on(self, ifindex, after):
        ts = [t for _, i, t in self.packets if i == ifindex and t >= after]
        return min(ts) if ts else None

    def longest_gap(self):
        ts = sorted(t for _, _, t in self.packets)
        return max((b - a for a, b in zip(ts, ts[1:])), default=None)


# ---- fake zebra ----

def suite_fake(h, res, root, timings):
    """An ilad against a fake zebra: unknown and short messages are skipped and
    counted; garbage and a message cut short end the session, are counted,
    and ilad reconnects and replays; it never exits."""
    ns = Netns(h, 'ilafrr%d-if' % (os.getpid() % 100000))
    h.run(['ip', 'netns', 'add', ns.ns], check=True)
    h.NETNS.append(ns.ns)
    ns.ex('ip', 'link', 'set', 'lo', 'up', check=True)

    w = types.SimpleNamespace(h=h, dir=os.path.join(root, 'ilad-fake'),  # what Ilad needs
                              ilad=os.path.join(h.BUILD, 'ilad', 'ilad'),
                              ilactl=os.path.join(h.BUILD, 'ilactl', 'ilactl'))
    os.mkdir(w.dir)
    path = os.path.join(w.dir, 'fake-zserv.api')
    z = h.FakeZebra(path)
    # nobody listens at the mapper address: the mapper session retries on
    # its own and has nothing to do with zebra's
    n = Ilad(w, ns, 'fk', ['locator 2001:db8:0:f1', 'mapper ::1 port 9', 'plaintext',
                           'zebra on socket %s route-type babel' % path,
                           'vn blue id 1 sir-prefix %s ipv4-prefix %s' % (SIR, V4NET)],
             flush=False)
    try:
        n.start(mapper=False)
        z.accept()
        z.handshake_84()
        cmd, body = z.recv()
        gr = struct.pack('>III', 1, 60, 0)
        res.check('ilad/fake zebra: CLIENT_CAPABILITIES (119) with graceful restart, stale '
                  'time 60 s (the default), before the replay',
                  z.caps[:1] == [gr], str([c.hex() for c in z.caps]))
        res.check('ilad/fake zebra: HELLO, probe, up; the locator /64 announced as a blackhole',
                  cmd == 8 and body and body[12] == 10 and body[13] == 64 and
                  body[14:22] == bytes.fromhex('20010db8000000f1') and
                  body[22:24] == b'\x00\x01' and body[28] == 6,
                  '%s %s' % (cmd, body.hex() if body else body))
        st, _ = h.wait(lambda: (lambda s: s if s.get('zebra') == 'up' else None)(n.routing()),
                       5, step=0.05)
        res.require('ilad/fake zebra: show routing says up, FRR 8.2-9.0 API',
                    st is not None and st.get('api') == '8.2-9.0', str(st))
        # an unknown command, a ROUTE_NOTIFY_OWNER with a short body
        z.c.sendall(h.zmsg(77, b'xyz') + h.zmsg(10, b'\x02\x00\x00\x00\x0a'))
        st, _ = h.wait(lambda: (lambda s: s if s['unknown'] == 1 and s['malformed'] == 1
                                else None)(n.routing()), 5, step=0.05)
        res.check('ilad/fake zebra: unknown command and short body counted '
                  '(show routing -j unknown, malformed), session kept',
                  st is not None and st['zebra'] == 'up' and st['connects'] == 1,
                  str(st or n.routing()))
        # an ERROR that answers no probe; then the locator FAIL_INSTALL, INSTALLED
        loc = bytes.fromhex('20010db8000000f1') + bytes(8)
        note = lambda code: h.zmsg(10, struct.pack('=I', code) + bytes([10, 64]) + loc +
                                   bytes(4) + bytes([2, 1]))
        z.c.sendall(h.zmsg(118, struct.pack('=I', 1)) + note(0))
        st, _ = h.wait(lambda: (lambda s: s if s['errors'] == 1 and s['failed'] == 1
                                else None)(n.routing()), 5, step=0.05)
        res.check('ilad/fake zebra: a stray ERROR counted (errors), FAIL_INSTALL shown',
                  st is not None and st['zebra'] == 'up' and
                  [r['state'] for r in st['routes']] == ['failed'], str(st or n.routing()))
        z.c.sendall(note(2))
        st, _ = h.wait(lambda: (lambda s: s if s['installed'] == 1 else None)(n.routing()), 5,
                       step=0.05)
        res.check('ilad/fake zebra: then INSTALLED', st is not None and
                  [r['state'] for r in st['routes']] == ['installed'], str(st or n.routing()))
        # garbage: not a ZAPI header at all
        t0 = time.monotonic()
        z.c.sendall(b'GET / HTTP/1.0\r\n\r\n')
        cmd, _ = z.recv()
        st = n.routing()
        res.check('ilad/fake zebra: garbage counted as malformed, ilad hangs up and runs on',
                  cmd is None and st['malformed'] == 2 and n.alive(), str(st))
        res.check('ilad/fake zebra: the replay ended with ROUTE_UPDATE_COMPLETE for IPv4 and '
                  'IPv6 (CLIENT_CAPABILITIES 2, afi, safi 1, vrf 0)',
                  z.caps[:3] == [gr, struct.pack('>IIII', 2, 1, 1, 0),
                                 struct.pack('>IIII', 2, 2, 1, 0)] and
                  st['update_complete'] == 1 and st['graceful_restart'] == 60,
                  '%s; update_complete %s' % ([c.hex() for c in z.caps],
                                              st.get('update_complete')))
        z.accept()
        z.handshake_84()
        cmd, body = z.recv()
        res.check('ilad/fake zebra: reconnects and replays its locator',
                  cmd == 8 and body and body[13] == 64,
                  'after %s' % ms(time.monotonic() - t0))
        # a header with an impossible length (below the header's own size)
        z.c.sendall(struct.pack('>HBBIH', 4, 254, 6, 0, 10))
        cmd, _ = z.recv()
        st = n.routing()
        res.check('ilad/fake zebra: a length below the header size is malformed, hang up',
                  cmd is None and st['malformed'] == 3 and n.alive(), str(st))
        z.accept()
        z.handshake_84()
        z.recv()
        # half a message, then zebra goes away
        z.c.sendall(h.zmsg(10, bytes(28))[:20])
        time.sleep(0.1)
        z.c.close()
        z.c = None
        z.accept()
        z.handshake_84()
        cmd, _ = z.recv()
        st, _ = h.wait(lambda: (lambda s: s if s['zebra'] == 'up' and s['connects'] == 4
                                else None)(n.routing()), 5, step=0.05)
        st = st or n.routing()
        res.check('ilad/fake zebra: truncated message counted; ilad keeps running, '
                  'reconnects and replays',
                  n.alive() and st['malformed'] == 4 and st['connects'] == 4 and cmd == 8 and
                  st['zebra'] == 'up', str({k: st.get(k) for k in (
                      'zebra', 'connects', 'malformed', 'unknown', 'errors', 'last_error')}))
    finally:
        n.stop()
        z.close()


# ---- the real thing ----

def step_attach(h, res, w, timings):
    n1 = w.ilads['r1']
    t0 = time.monotonic()
    n1.ctl('attach', W6, 'dev', 'r1-w', as_json=False)
    n1.ctl('attach', W4, 'dev', 'r1-w', as_json=False)
    rs, dt = h.wait(lambda: (lambda r: r if r.get(W6P) == 'installed' and
                             r.get(W4P) == 'installed' else None)(n1.routes()), 10, step=0.02)
    res.check('ilad1: /128 and /32 of W announced to R1\'s zebra and INSTALLED',
              rs is not None, str(rs or n1.routes()))
    r6, r4 = rib(w.r1, 'ipv6').get(W6P, []), rib(w.r1, 'ip').get(W4P, [])
    sel = [e.get('protocol') for e in r6 + r4 if e.get('selected')]
    res.check('R1 zebra: the /128 and the /32 are babel routes, selected',
              sel == ['babel', 'babel'], 'selected %s; all %s' % (
                  sel, [e.get('protocol') for e in r6 + r4]))

    def at_r2():
        f6, f4 = fib(w.r2, 6), fib(w.r2, 4)
        b = bgp_from(w.r2, 65001)
        return (W6P in b and W4P in b and has_route(f6.get(W6P), 'bgp', 'r2-r1') and
                has_route(f4.get(W4P), 'bgp', 'r2-r1'))
    ok, _ = h.wait(at_r2, 15, step=0.05)
    timings['ilad: attach -> R2 BGP and FIB'] = time.monotonic() - t0 if ok else None
    res.check('R2: BGP tables (show bgp ipv6|ipv4 unicast json) and kernel FIB have W\'s '
              '/128 and /32 via R1', ok,
              'after %s; fib6 %s fib4 %s' % (ms(time.monotonic() - t0),
                                             fib(w.r2, 6).get(W6P), fib(w.r2, 4).get(W4P)))


def step_move(h, res, w, flood, timings):
    n1, n2 = w.ilads['r1'], w.ilads['r2']
    count = RATE * STREAM_S
    streams = [Stream(w, flood, W6, 5006, 6, count), Stream(w, flood, W4, 5004, 4, count)]
    time.sleep(1.5)   # the stream flows through R1 first
    t0 = time.monotonic()
    n2.ctl('attach', W6, 'dev', 'r2-w', as_json=False)
    n2.ctl('attach', W4, 'dev', 'r2-w', as_json=False)
    t_cli = time.monotonic() - t0
    marks = {}

    def flipped():
        f6, f4 = fib(w.r2, 6), fib(w.r2, 4)
        g6, g4 = fib(w.r1, 6), fib(w.r1, 4)
        now = time.monotonic()
        r2_local = (has_route(f6.get(W6P), 'babel', 'r2-w') and
                    has_route(f4.get(W4P), 'babel', 'r2-w') and
                    not has_route(f6.get(W6P), 'bgp') and not has_route(f4.get(W4P), 'bgp'))
        r1_bgp = (has_route(g6.get(W6P), 'bgp', 'r1-r2') and
                  has_route(g4.get(W4P), 'bgp', 'r1-r2') and
                  not has_route(g6.get(W6P), 'babel') and not has_route(g4.get(W4P), 'babel'))
        if r2_local:
            marks.setdefault('r2', now)
        if r1_bgp:
            marks.setdefault('r1', now)
        return r2_local and r1_bgp
    # what still reaches R1 for the IPv4 workload goes to R2 inside SRv6
    # (R1 itself sends here, as a packet in flight would arrive)
    def r1_encap():
        return any('encap seg6' in l and W4 in l for l in
                   w.r1.ex('ip', '-4', 'route', 'show', W4).stdout.splitlines())
    enc, _ = h.wait(r1_encap, 5, step=0.02)
    # once the new node delivers it: before that, a decapsulated packet would
    # be routed back by R2's BGP route (the window the note on issue 5 tells)
    h.wait(lambda: has_route(fib(w.r2, 4).get(W4P), 'babel', 'r2-w'), 5, step=0.02)
    rx = w.w.popen([flood, 'recv', '-p', '5010', '-n', '50', '-t', '10', '-w', '2000', '-i', '10',
                    '-o', os.path.join(w.dir, 'rx-inflight.log')],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rx.stdout.readline()
    tx = w.r1.ex(flood, 'send', '-d', '::ffff:' + W4, '-p', '5010', '-r', '500', '-n', '50',
                 '-t', '10', '-i', '10', timeout=30)
    rx_out = rx.communicate(timeout=30)[0]
    via_r2 = 0
    try:
        with open(os.path.join(w.dir, 'rx-inflight.log')) as f:
            via_r2 = sum(1 for line in f if int(line.split()[1]) == w.ifindex['w-r2'])
    except (OSError, ValueError, IndexError):
        pass
    res.check('in flight: the old node carries IPv4 packets for the moved workload to the new '
              'node inside SRv6 (hold time %d s)' % HOLD_S, enc and via_r2 == 50,
              'R1 route %s; %d of 50 sent from R1 arrived on W\'s link to R2; %s %s' % (
                  w.r1.ex('ip', '-4', 'route', 'show', W4).stdout.strip(), via_r2,
                  tx.stdout.strip()[-80:], rx_out.strip()[-80:]))
    ok, _ = h.wait(flipped, HOLD_S + 15, step=0.02)
    conv = max(marks.values()) - t0 if ok else None
    timings['ilad: move -> routes flipped'] = conv
    res.check('move to ilad2: R2 delivers W\'s /128 and /32 on its link (babel), R1 learns '
              'them from R2 by BGP (the /32 once the hold time is over)', ok,
              'R2 local after %s, R1 via BGP after %s (ilactl x2 took %s); R2 fib6 %s R1 fib6 %s'
              % (ms(marks['r2'] - t0 if 'r2' in marks else None),
                 ms(marks['r1'] - t0 if 'r1' in marks else None), ms(t_cli),
                 [(e.get('protocol'), e.get('dev')) for e in fib(w.r2, 6).get(W6P, [])],
                 [(e.get('protocol'), e.get('dev')) for e in fib(w.r1, 6).get(W6P, [])]))
    r1r, r2r = n1.routes(), n2.routes()
    res.check('ilad1 withdrew W\'s routes, ilad2 has them INSTALLED',
              W6P not in r1r and W4P not in r1r and r2r.get(W6P) == 'installed' and
              r2r.get(W4P) == 'installed', 'ilad1 %s; ilad2 %s' % (r1r, r2r))
    for s in streams:
        s.finish()
    for s, fam in zip(streams, ('IPv6', 'IPv4')):
        first2 = s.first_on(w.ifindex['w-r2'], t0)
        on1 = [t for _, i, t in s.packets if i == w.ifindex['w-r1']]
        gap = s.longest_gap()
        h.note('move under traffic, %s %s at %d/s: sent %s, received %s, lost %d, dup %s, '
               'longest gap %s; last packet from R1 %s, first from R2 %s after the attach' % (
                   fam, s.addr, RATE, s.sent.get('sent'), s.recv.get('unique'), s.lost(),
                   s.recv.get('dup'), ms(gap), ms(max(on1) - t0 if on1 else None),
                   ms(first2 - t0 if first2 else None)))
        on1 = [t for t in on1 if t < t0]
        last_seq = max((q for q, _, _ in s.packets), default=-1)
        res.check('traffic from H to W %s keeps flowing across the move (%d of %d lost)' % (
                  fam, s.lost(), s.count),
                  len(on1) > 0 and first2 is not None and last_seq == s.count - 1 and
                  s.lost() < RATE // 2,
                  'via R1 before: %d packets; via R2 from %s; last seq %d' % (
                      len(on1), ms(first2 - t0 if first2 else None), last_seq))
    ok, detail = w.consistent()
    res.check('after the move R1 and R2 hold exactly what ilad1 and ilad2 announce', ok,
              detail)


def step_restart(h, res, w, timings):
    """zebra on R1 killed; bgpd stopped, zebra started (-K 60), then bgpd, as
    watchfrr does. Meanwhile ilad1's set changes."""
    n1 = w.ilads['r1']
    n1.ctl('attach', X6, 'dev', 'r1-w', as_json=False)
    n1.ctl('attach', X4, 'dev', 'r1-w', as_json=False)
    ok, _ = h.wait(lambda: {X6 + '/128', X4 + '/32'} <= bgp_from(w.r2, 65001), 30, step=0.05)
    res.require('before the restart: R2 learnt ilad1\'s second workload', ok,
                str(sorted(bgp_from(w.r2, 65001))))
    st0 = n1.routing()
    t0 = time.monotonic()
    w.r1.kill('zebra')
    st, _ = h.wait(lambda: (lambda s: s if s['zebra'] == 'down' else None)(n1.routing()), 10,
                   step=0.05)
    res.check('ilad1 sees zebra go and keeps running', st is not None and n1.alive(),
              str(st and st.get('last_error')))
    w.r1.stop('bgpd')
    # while zebra is away: one workload leaves, another arrives
    n1.ctl('detach', X6, as_json=False)
    n1.ctl('attach', Y6, 'dev', 'r1-w', as_json=False)
    res.check('the killed zebra left ilad1\'s routes in R1\'s kernel',
              X6 + '/128' in babel_fib(w.r1), str(sorted(babel_fib(w.r1))))
    t1 = time.monotonic()
    w.r1.start('zebra', '-K', '60')
    st, dt = h.wait(lambda: (lambda s: s if s['zebra'] == 'up' else None)(n1.routing()), 20,
                    step=0.02)
    timings['ilad: zebra start -> ilad1 up'] = dt if st else None
    res.check('ilad1 reconnects to the restarted zebra', st is not None,
              'after %s, connects %s' % (ms(dt), st and st['connects']))
    w.r1.start('bgpd')
    # what ilad1 announced before, less the workload that left, plus the new one
    want1 = (set(r['prefix'] for r in st0['routes']) - {X6 + '/128'}) | {Y6 + '/128'}
    if not {LOCP['r1'], X4 + '/32'} <= want1:
        raise h.Failed('ilad1 announced %s before the restart' % sorted(want1))

    def relearnt():
        ok, _ = w.consistent()
        return ok and set(n1.routes()) == want1 and want1 <= bgp_from(w.r2, 65001)
    ok, _ = h.wait(relearnt, 45, step=0.1)
    timings['ilad: zebra start -> R2 relearnt'] = time.monotonic() - t1 if ok else None
    c, detail = w.consistent()
    res.check('R1 and R2 relearn everything ilad1 announces (locator, workloads), and '
              'nothing of babel\'s is left behind (the route withdrawn meanwhile swept)',
              ok, 'after %s; ilad1 %s; %s' % (ms(time.monotonic() - t1),
                                             sorted(n1.routes()), detail or 'consistent'))
    st = n1.routing()
    res.check('ilad1 counts one reconnect; the killed zebra\'s leftover found and deleted',
              st['connects'] == st0['connects'] + 1 and st['malformed'] == 0 and
              st['stale_removed'] >= 1, str({k: st.get(k) for k in (
                  'connects', 'malformed', 'unknown', 'errors', 'stale_removed')}))


def restart_ilad(h, n, sig, flush_next):
    """Stops ilad with sig and starts it again (with --flush-on-exit if
    flush_next); the seconds from the signal to zebra up with the replay
    complete."""
    t0 = time.monotonic()
    n.p.send_signal(sig)
    try:
        n.p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise h.Failed('ilad %s did not exit on signal %d' % (n.name, sig))
    n.flush = flush_next
    n.start()
    st, _ = h.wait(lambda: (lambda s: s if s['zebra'] == 'up' and s['update_complete'] >= 1 and
                            all(r['state'] == 'installed' for r in s['routes'])
                            else None)(n.routing()), 15, step=0.02)
    if st is None:
        raise h.Failed('ilad %s restarted: zebra not up with every route installed: %s' % (
            n.name, n.routing()))
    return time.monotonic() - t0


def step_graceful_restart(h, res, w, flood, timings):
    """ilad1 restarted twice (SIGKILL, then SIGTERM without --flush-on-exit)
    while H streams UDP to two of its workloads through R2 and R1: with
    graceful restart (the default, 60 s) zebra keeps ilad1's routes, so R1's
    and R2's FIBs never lose them and no packet is lost; the restarted ilad1
    finds its workloads in what zebra kept."""
    n1 = w.ilads['r1']
    wl = (Y6 + '/128', X4 + '/32')
    # X4 and Y6 (attached at ilad1 by step_restart) become real addresses of W
    w.w.ex('ip', 'addr', 'add', X4 + '/32', 'dev', 'w-r1', check=True)
    w.w.ex('ip', '-6', 'addr', 'add', Y6 + '/128', 'dev', 'w-r1', 'nodad', check=True)
    ok, _ = h.wait(lambda: has_route(fib(w.r2, 6).get(wl[0]), 'bgp', 'r2-r1') and
                   has_route(fib(w.r2, 4).get(wl[1]), 'bgp', 'r2-r1'), 30, step=0.05)
    res.require('before the restarts: R2 routes ilad1\'s workloads %s via R1' % ' '.join(wl), ok,
                'fib6 %s fib4 %s' % (fib(w.r2, 6).get(wl[0]), fib(w.r2, 4).get(wl[1])))
    st0 = n1.routes()
    mons = {(r, fam): RouteMonitor(Netns(h, router.ns), fam) for r, router in
            (('R1', w.r1), ('R2', w.r2)) for fam in ('-6', '-4')}
    count = RATE * GR_STREAM_S
    streams = []
    try:
        time.sleep(0.2)
        streams = [Stream(w, flood, Y6, 5016, 16, count), Stream(w, flood, X4, 5014, 14, count)]
        time.sleep(1)   # the stream flows
        # ilad1 runs with --flush-on-exit: killed, it flushes nothing
        t_kill = restart_ilad(h, n1, signal.SIGKILL, False)
        st = n1.routing()
        res.check('ilad1 killed (SIGKILL) and started again: zebra up, its workloads found in '
                  'what zebra kept and announced again, update-complete sent, every route '
                  'installed', set(st0) == set(n1.routes()) and st['adopted'] == 2 and
                  st['update_complete'] == 1 and st['stale_removed'] == 0,
                  'down to up again in %s; %s' % (ms(t_kill), {k: st.get(k) for k in (
                      'connects', 'update_complete', 'graceful_restart', 'adopted',
                      'stale_removed')}))
        t_term = restart_ilad(h, n1, signal.SIGTERM, True)
        st = n1.routing()
        res.check('ilad1 stopped by SIGTERM without --flush-on-exit and started again: the same',
                  set(st0) == set(n1.routes()) and st['adopted'] == 2 and
                  st['update_complete'] == 1, 'down to up again in %s; %s' % (
                      ms(t_term), {k: st.get(k) for k in ('adopted', 'stale_removed')}))
        timings['ilad restart (SIGTERM) -> replayed'] = t_term
        timings['ilad restart (SIGKILL) -> replayed'] = t_kill
        for s in streams:
            s.finish()
    finally:
        for m in mons.values():
            m.close()
    for s, fam in zip(streams, ('IPv6', 'IPv4')):
        print('INFO: ' + h.PASS_NAME + 'ilad1 restarted twice (SIGKILL, then SIGTERM) with '
              'zebra on, graceful restart: %s %s at %d/s: sent %s, received %s, lost %d, '
              'longest gap %s' % (
                  fam, s.addr, RATE, s.sent.get('sent'), s.recv.get('unique'), s.lost(),
                  ms(s.longest_gap())), flush=True)
        last_seq = max((q for q, _, _ in s.packets), default=-1)
        res.check('no packet from H to W %s lost across both restarts (%d of %d lost)' % (
                  fam, s.lost(), s.count),
                  s.lost() == 0 and last_seq == s.count - 1 and
                  all(i == w.ifindex['w-r1'] for _, i, _ in s.packets),
                  'last seq %d, received %s' % (last_seq, s.recv))
    dels = mons[('R2', '-6')].deleted(wl) + mons[('R2', '-4')].deleted(wl)
    res.check('R2\'s FIB never lost W\'s routes during the restarts (ip monitor route: no '
              'deletion)', not dels, '; '.join(dels[:4]))
    # R1's zebra writes a route sent again into the kernel anew: IPv4 by a
    # replace, IPv6 by a deletion followed at once by the addition
    lost, n, longest = [], 0, 0.0
    for fam in ('-6', '-4'):
        l, k, g = mons[('R1', fam)].rewrites(wl)
        lost, n, longest = lost + l, n + k, max(longest, g)
    res.check('R1\'s FIB never lost W\'s routes during the restarts (ip monitor route: every '
              'deletion at once undone by the re-addition of the route sent again)', not lost,
              '%d rewrites, longest %s; %s' % (n, ms(longest), '; '.join(lost[:4])))
    ok, detail = w.consistent()
    res.check('after the restarts R1 and R2 hold exactly what ilad1 and ilad2 announce', ok,
              detail)


def step_flush(h, res, w, timings):
    n1 = w.ilads['r1']
    mine = set(n1.routes())
    t0 = time.monotonic()
    rc = n1.stop()
    res.check('ilad1 stops on SIGTERM (started with --flush-on-exit)', rc == 0, 'status %s' % rc)

    def r1_clean():
        kernel = {p for fam in (6, 4) for p, es in fib(w.r1, fam).items()
                  if p in mine or has_route(es, proto='73')}
        return not (mine & babel_rib(w.r1)) and not kernel
    ok, dt = h.wait(r1_clean, 10, step=0.05)
    res.check('ilad1\'s routes gone from R1 (zebra RIB, kernel, its own protocol 73 too)', ok,
              'after %s; left %s' % (ms(dt), sorted(mine & (babel_rib(w.r1) | babel_fib(w.r1)))))
    ok, dt = h.wait(lambda: not (mine & bgp_from(w.r2, 65001)) and
                    not (mine & (set(fib(w.r2, 6)) | set(fib(w.r2, 4)))), 30, step=0.05)
    timings['ilad: flush -> gone at R2'] = time.monotonic() - t0 if ok else None
    res.check('ilad1\'s routes gone from R2 (BGP table, kernel FIB); ilad2\'s stay', ok and
              w.consistent()[0], 'after %s; %s' % (ms(time.monotonic() - t0),
                                                  w.consistent()[1] or 'consistent'))


def step_stale(h, res, w, timings):
    """After the flush: what zebra does with the routes ilad1 does not send
    again. ilad1 (graceful restart 60 s) killed and started with its vn's
    IPv4 prefix gone from its configuration: its IPv4 workload's /32 is not
    sent again and goes at once (update-complete), the IPv6 one stays. Then
    ilad1 with a stale time of 3 s stopped for good (SIGTERM without
    --flush-on-exit): zebra keeps its routes until the stale time is over,
    then removes them."""
    wl6, wl4 = Y6 + '/128', X4 + '/32'
    n1 = w.start_ilad('r1', w.r1, flush=False)
    n1.ctl('attach', Y6, 'dev', 'r1-w', as_json=False)
    n1.ctl('attach', X4, 'dev', 'r1-w', as_json=False)
    ok, _ = h.wait(lambda: {wl6, wl4} <= babel_rib(w.r1) and {wl6, wl4} <= bgp_from(w.r2, 65001),
                   30, step=0.05)
    res.require('stale: ilad1 started again, its two workloads in R1\'s RIB and R2\'s BGP table',
                ok, 'R1 %s' % sorted(babel_rib(w.r1)))
    mon = RouteMonitor(Netns(h, w.r1.ns), '-6')
    try:
        n1.p.kill()
        n1.p.wait()
        t0 = time.monotonic()
        n1 = w.start_ilad('r1', w.r1, flush=True, v4=False)
        gone, dt = h.wait(lambda: wl4 not in babel_rib(w.r1) and wl6 in babel_rib(w.r1), 20,
                          step=0.02)
        st = n1.routing()
        timings['ilad restart -> route not sent again gone'] = dt if gone else None
        res.check('update-complete: the /32 ilad1 no longer announces leaves R1\'s RIB as soon '
                  'as ilad1 is back (stale time 60 s), the /128 it found again stays',
                  gone and set(n1.routes()) == {LOCP['r1'], wl6} and st['adopted'] == 1 and
                  st['update_complete'] == 1,
                  '%s after the restart; R1 %s; %s' % (ms(dt), sorted(babel_rib(w.r1)), {
                      k: st.get(k) for k in ('adopted', 'stale_removed', 'update_complete')}))
        lost, n, longest = mon.rewrites({wl6})
        res.check('update-complete: R1\'s kernel never lost the /128 sent again', not lost,
                  '%d rewrites, longest %s; %s' % (n, ms(longest), '; '.join(lost[:2])))
    finally:
        mon.close()
    # GR off and everything withdrawn, so that zebra takes the next stale time
    n1.stop()
    ok, _ = h.wait(lambda: wl6 not in babel_rib(w.r1), 10, step=0.05)
    res.require('stale: ilad1 stopped with --flush-on-exit, its /128 withdrawn', ok,
                str(sorted(babel_rib(w.r1))))
    n1 = w.start_ilad('r1', w.r1, zebra_extra=' graceful-restart %d' % STALE_S, flush=False)
    n1.ctl('attach', Y6, 'dev', 'r1-w', as_json=False)
    ok, _ = h.wait(lambda: wl6 in babel_rib(w.r1) and wl6 in bgp_from(w.r2, 65001), 30,
                   step=0.05)
    res.require('stale: ilad1 (graceful-restart %d) announces W\'s /128 again' % STALE_S, ok,
                str(sorted(babel_rib(w.r1))))
    t0 = time.monotonic()
    rc = n1.stop()
    held = wl6 in babel_rib(w.r1) and has_route(fib(w.r1, 6).get(wl6), 'babel')
    if h.REL.gr_keeps_gone_client:
        stale_kept_for_good(h, res, w, wl6, t0, rc, held)
        return
    gone, _ = h.wait(lambda: wl6 not in babel_rib(w.r1) and not fib(w.r1, 6).get(wl6),
                     STALE_S + 20, step=0.05)
    dt = time.monotonic() - t0
    timings['stale routes kept after ilad stopped'] = dt if gone else None
    res.check('stale time: zebra keeps the /128 of the stopped ilad1 (RIB and kernel), then '
              'removes it once its %d s are over' % STALE_S,
              rc == 0 and held and gone and dt >= STALE_S - 1,
              'exit %s; held right after the exit %s; removed after %s' % (rc, held, ms(dt)))


def stale_kept_for_good(h, res, w, wl6, t0, rc, held):
    """FRR 10.3: when the stale time of a client that did not come back is
    over, zebra drops the client's GR state but not its routes (the stale
    sweep it queues looks for the client among the connected ones only).
    They stay in the RIB and the kernel until a client of the same type
    deals with them: the next ilad adopts its own and withdraws them when
    stopped with --flush-on-exit."""
    end = t0 + STALE_S + 2
    while time.monotonic() < end:
        time.sleep(0.1)
    kept = wl6 in babel_rib(w.r1) and has_route(fib(w.r1, 6).get(wl6), 'babel')
    res.check('stale time: zebra keeps the /128 of the stopped ilad1 (RIB and kernel), and '
              'still %d s after its %d s are over' % (2, STALE_S),
              rc == 0 and held and kept,
              'exit %s; held right after the exit %s; %.1f s later %s' % (
                  rc, held, time.monotonic() - t0, kept))
    n1 = w.start_ilad('r1', w.r1, flush=True)
    ok, _ = h.wait(lambda: n1.routing().get('adopted', 0) >= 1 and
                   n1.routes().get(wl6) == 'installed', 10, step=0.05)
    st = n1.routing()
    n1.stop()
    gone, dt = h.wait(lambda: wl6 not in babel_rib(w.r1) and not fib(w.r1, 6).get(wl6), 10,
                      step=0.05)
    res.check('stale: the next ilad1 adopts the /128 left behind and, stopped with '
              '--flush-on-exit, removes it from R1 (RIB and kernel)',
              ok and gone, 'adopted %s; gone %s after %s' % (st.get('adopted'), gone, ms(dt)))


def bench(h, w, rows):
    """ilactl attach at R1 -> /128 in R2's kernel FIB, beside a vtysh static
    route on R1 -> the same at R2; interleaved, same routers, same BGP
    session, median of SAMPLES each."""
    n = int(os.environ.get('SAMPLES', '10'))
    n1 = w.ilads['r1']
    mon = RouteMonitor(Netns(h, w.r2.ns))
    time.sleep(0.2)
    ours, static = [], []
    try:
        for i in range(n):
            a = BENCH_ILAD % i
            t0 = time.monotonic()
            n1.ctl('attach', a, 'dev', 'r1-w', as_json=False)
            ok, _ = h.wait(lambda: mon.added(t0, a, 'bgp'), 10, step=0.002)
            if not ok:
                raise h.Failed('bench: %s attached at ilad1 not in R2\'s FIB after 10 s' % a)
            ours.append(ok - t0)
            a = BENCH_STATIC % (i + 1)
            t0 = time.monotonic()
            w.r1.vtysh('configure terminal', 'ipv6 route %s/128 r1-w' % a)
            ok, _ = h.wait(lambda: mon.added(t0, a, 'bgp'), 10, step=0.002)
            if not ok:
                raise h.Failed('bench: static %s on R1 not in R2\'s FIB after 10 s' % a)
            static.append(ok - t0)
    finally:
        mon.close()
    a, b = statistics.median(ours), statistics.median(static)
    h.note('bench: ilactl attach at R1 -> R2 FIB median %s %s; vtysh static on R1 -> R2 FIB '
           'median %s %s' % (ms(a), [round(x * 1000) for x in ours], ms(b),
                             [round(x * 1000) for x in static]))
    rows.append({'name': 'frr_ilad_attach_to_remote_fib', 'unit': 'ms',
                 'ila': round(a * 1000, 1), 'baseline': round(b * 1000, 1),
                 'ratio': round(a / b, 3) if b else 0, 'better': 'lower'})


def run_suite(h, res, root, timings, bench_rows=None, fake=True):
    """Suite `ilad`; bench_rows: a list to add the bench figure to, or None;
    fake: meet the fake zebra too (it speaks 8.4.4 whatever FRR runs)."""
    flood = flood_binary(h, root)
    res.require('flood (tests/vm/flood.c) built', flood is not None,
                flood or 'no C compiler or no tests/vm/flood.c')
    if fake:
        suite_fake(h, res, root, timings)
    t0 = time.monotonic()
    w = World(h, root, staticd=bench_rows is not None)
    ok, _ = h.wait(lambda: sessions_up(w.r2), 60, step=0.2)
    res.require('ilad: R1-R2 eBGP sessions (ipv4, ipv6) established', ok,
                'after %s' % ms(time.monotonic() - t0))
    w.start_mapper()
    n1 = w.start_ilad('r1', w.r1)
    n2 = w.start_ilad('r2', w.r2)
    # start() waits for the mapper session; the zebra session may come later
    h.wait(lambda: n1.routing()['zebra'] == 'up' and n2.routing()['zebra'] == 'up', 30,
           step=0.1)
    st1, st2 = n1.routing(), n2.routing()
    res.require('ilad1 and ilad2: mapper session up over TLS across the link, zebra up',
                st1['zebra'] == 'up' and st2['zebra'] == 'up',
                'ilad1 %s %s, ilad2 %s %s' % (st1['zebra'], st1['api'], st2['zebra'],
                                              st2['api']))
    ok, _ = h.wait(lambda: LOCP['r1'] in bgp_from(w.r2, 65001) and
                   LOCP['r2'] in bgp_from(w.r1, 65002), 30, step=0.05)
    res.check('each router learns the other ilad\'s locator /64 (a blackhole at its origin)',
              ok and any(e.get('type') == 'blackhole' for e in fib(w.r1, 6).get(LOCP['r1'], [])),
              'R1 fib %s' % fib(w.r1, 6).get(LOCP['r1']))
    step_attach(h, res, w, timings)
    step_move(h, res, w, flood, timings)
    if bench_rows is not None:
        bench(h, w, bench_rows)
    step_restart(h, res, w, timings)
    step_graceful_restart(h, res, w, flood, timings)
    step_flush(h, res, w, timings)
    step_stale(h, res, w, timings)
    n2.stop()
