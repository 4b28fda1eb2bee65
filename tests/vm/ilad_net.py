# SPDX-License-Identifier: GPL-2.0-or-later
"""The network and the daemons of the ilad VM suites (tests/vm/ilad_*.py).

    il-x --- il-c ---+                 +--- il-a ---+
     (X)   (ilad c)   \               /   (ilad a)   \
                       +--- il-r ----+                il-w (W)
                      /   (router)    \   (ilad b)   /
            il-m ----+                 +--- il-b ---+
         (ila-mapper)

R routes only locators: each node's locator /64 via its fabric link, and the
mapper's link. A, B and C run ilad (mode ila, TLS to the mapper in il-m).
W, the workload that moves, is a namespace of its own with ONE interface,
w0, holding its SIR address (and, in the suites with IPv4, its IPv4
address), and a default route via the vn's anycast gateway (fe80::1, and
192.0.2.1 with IPv4: `vn blue gateway` in A's and B's ilad.conf), set once
when the network is built. The node's end of w0's veth pair is a-w while W
runs at A; a move (move_w) re-plugs it at the other node as a hypervisor
does: that end moves into B's namespace, is renamed b-w and comes up, ilad
at B gives it the gateway (MAC, addresses) and the suite attaches W there.
W never learns that it moved: nothing in its namespace is written after the
build, and w_view() reads its routes and its neighbour entries for the
gateway so that the suites can check they are the same before and after
every move. Nodes and W find each other by neighbour discovery and ARP.
X, the correspondent, is a workload of C, with a permanent neighbour entry
at C. Addresses are documentation prefixes (2001:db8::/32).

The data path is the kernel's ILA module (`ila-module`, the default: the
suites' home is the test VM) or ilad's BPF programs (`bpf`: `dataplane bpf`
in every ilad.conf), from Net's argument or $ILA_DATAPLANE. With BPF a node
has one `encap bpf` route per SIR prefix instead of a route per mapping, and
the mappings are in its ila_map (read through vmlib.BpfMaps); routes()
together with bpf_mappings() is what routes() alone is with the module.

Processes are started with `ip netns exec` (which execs, so the Popen pid is
the daemon's) and all killed, by pid, in close(); the namespaces go too.
Logs stay in the work folder and are copied to $ILA_VM_OUT/SUITE/.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

from vmlib import (BUILD, OUT, TOP, BpfMaps, Failed, NetNS, find_tool, ip, ip_batch, netns_add,
                   netns_del, run)

PROTO = 73
PREFIX = '2001:db8:100::/64'
PREFIX_LOC = '2001:db8:100:0'          # the SIR prefix in locator notation
VN_ID = 1
W_SIR = '2001:db8:100::42'             # the workload that moves
X_SIR = '2001:db8:100::c0'             # the correspondent, behind C
LOC = {'a': '2001:db8:aa:0', 'b': '2001:db8:bb:0', 'c': '2001:db8:cc:0'}
LOC_NET = {n: '2001:db8:%s::/64' % (n * 2) for n in LOC}
# $ILA_NETNS_TAG goes into every namespace's name (il<TAG>-a, ...), so that
# runs on one machine at the same time do not take each other's namespaces;
# unset, it is the process id outside the test VM (nothing there to collide with)
NS = {n: 'il%s-%s' % (os.environ.get('ILA_NETNS_TAG', '' if os.environ.get('ILA_VM') == '1'
                                     else str(os.getpid())), n) for n in 'rmabcwx'}
# fabric links R <-> n: 2001:db8:f:N::1 on R, ::2 on the node
FABRIC = {'a': '2001:db8:f:a::', 'b': '2001:db8:f:b::', 'c': '2001:db8:f:c::',
          'm': '2001:db8:f:d::'}
MAPPER_ADDR = '2001:db8:f:d::2'
MAPPER_PORT = 7787
# X's link to C: node side ::1, X's side ::2
WLINK = {('c', 'x'): '2001:db8:e:c::'}
# the anycast gateway of vn blue at A and B (the IPv4 one with an ipv4-prefix)
GW6 = 'fe80::1'
GW4 = '192.0.2.1'
GW_MAC = '02:00:5e:00:53:01'
W_DEV = 'w0'                           # W's one interface
KEEPALIVE_MS = 500
DEAD_MS = 2000
DATAPLANES = ('ila-module', 'bpf')

ILAD = find_tool('ilad')
ILACTL = find_tool('ilactl')
MAPPER = find_tool('ila-mapper')
PROBE = os.path.join(BUILD, 'tests', 'integration', 'ila-probe')
MKCERTS = os.path.join(TOP, 'scripts', 'mkcerts.sh')
RT_PROTOS = os.path.join(TOP, 'etc', 'ila.rt_protos')

CFLAGS = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wpointer-arith',
          '-Wstrict-prototypes', '-Wmissing-prototypes', '-Wformat=2', '-Wno-unused-parameter']


def dev(a, b):
    """The name of a's end of the link between a and b ("a-w")."""
    return '%s-%s' % (a, b)


def until(fn, timeout, interval=0.05):
    """Calls fn until it returns something true or timeout seconds pass;
    returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


def flood_tool(workdir):
    """tests/vm/flood: from the build tree, or compiled here (it needs only
    the build tree's config.h)."""
    p = find_tool('flood')
    if p:
        return p
    out = os.path.join(workdir, 'flood')
    src = os.path.join(TOP, 'tests', 'vm', 'flood.c')
    rc, msg = run(['gcc'] + CFLAGS + ['-I' + BUILD, src, '-o', out], check=False, timeout=120)
    if rc != 0:
        raise Failed('cannot build %s: %s' % (src, msg.strip()[-300:]))
    return out


class Ctl:
    """A client of a daemon's control socket (vty framing: the command and a
    NUL out; the answer, then 00 00 00 STATUS back). Cheaper than running
    ilactl for every poll under emulation; the suites run the real ilactl
    for the commands under test."""

    def __init__(self, path):
        self.path = path
        self.sock = None

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def cmd(self, line, timeout=10):
        for attempt in (0, 1):
            try:
                if not self.sock:
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.settimeout(timeout)
                    self.sock.connect(self.path)
                self.sock.sendall(line.encode() + b'\0')
                buf = b''
                while len(buf) < 4 or buf[-4:-1] != b'\0\0\0':
                    chunk = self.sock.recv(1 << 16)
                    if not chunk:
                        raise OSError('control socket closed')
                    buf += chunk
                return buf[-1], buf[:-4].decode(errors='replace')
            except OSError:
                self.close()
                if attempt:
                    raise
        return None

    def json(self, line):
        status, text = self.cmd(line + ' json')
        if status != 0:
            raise Failed('%s: %s: status %d: %s' % (self.path, line, status, text.strip()))
        return json.loads(text)


def flatten(obj, out=None):
    """Numeric leaves of a JSON document by their last key."""
    out = {} if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                flatten(v, out)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = v
    elif isinstance(obj, list):
        for v in obj:
            flatten(v, out)
    return out


class Net:
    """The namespaces, links, certificates and daemons of one suite."""

    def __init__(self, suite, dataplane=None):
        self.suite = suite
        self.dataplane = dataplane or os.environ.get('ILA_DATAPLANE') or 'ila-module'
        if self.dataplane not in DATAPLANES:
            raise Failed('ILA_DATAPLANE %s: one of %s' % (self.dataplane, ', '.join(DATAPLANES)))
        self.dir = tempfile.mkdtemp(prefix='%s-' % suite, dir='/tmp')
        self.pki = os.path.join(self.dir, 'pki')
        self.procs = {}         # name -> Popen
        self.ctls = {}
        self.mac = {}           # device name -> MAC
        self.w4 = None          # W's IPv4 address, set before build() by suites with IPv4
        self.x4 = None          # X's, likewise
        self.ifindex = {}       # device name -> ifindex in its namespace
        self.flood = None

    # ---- topology ----

    def _link(self, na, nb, addr_a, addr_b):
        """A veth pair between namespaces na and nb (names 'a', 'r', ...),
        with /64 addresses and permanent neighbour entries both ways."""
        da, db = dev(na, nb), dev(nb, na)
        ip('link', 'add', da, 'netns', NS[na], 'type', 'veth', 'peer', 'name', db, 'netns',
           NS[nb])
        for n, d, a in ((na, da, addr_a), (nb, db, addr_b)):
            ip_batch(['addr add %s/64 dev %s nodad' % (a, d), 'link set %s up' % d], ns=NS[n])
            _, out = ip('-br', 'link', 'show', d, ns=NS[n])
            self.mac[d] = out.split()[2]
            _, out = ip('-o', 'link', 'show', d, ns=NS[n])
            self.ifindex[d] = int(out.split(':')[0])
        ip('-6', 'neigh', 'replace', addr_b, 'lladdr', self.mac[db], 'dev', da, 'nud', 'permanent',
           ns=NS[na])
        ip('-6', 'neigh', 'replace', addr_a, 'lladdr', self.mac[da], 'dev', db, 'nud', 'permanent',
           ns=NS[nb])

    def build(self):
        for n in NS.values():
            netns_add(n)
            # no duplicate address detection: link-local addresses usable at once
            run(['ip', 'netns', 'exec', n, 'sh', '-c',
                 'echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad; '
                 'echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad'])
        for n in ('a', 'b', 'c', 'm'):
            self._link('r', n, FABRIC[n] + '1', FABRIC[n] + '2')
            ip('-6', 'route', 'add', 'default', 'via', FABRIC[n] + '1', ns=NS[n])
        for n in ('a', 'b', 'c'):
            ip('-6', 'route', 'add', LOC_NET[n], 'via', FABRIC[n] + '2', ns=NS['r'])
        for (n, wl), p in WLINK.items():
            self._link(n, wl, p + '1', p + '2')
        for n in ('r', 'a', 'b', 'c'):
            run(['ip', 'netns', 'exec', NS[n], 'sh', '-c',
                 'echo 1 >/proc/sys/net/ipv6/conf/all/forwarding'])
        # W: one interface, its SIR address on it, its default route via the
        # anycast gateway; the node's end, a-w, has nothing until ilad at A
        # gives it the gateway
        ip('link', 'add', dev('a', 'w'), 'netns', NS['a'], 'type', 'veth', 'peer', 'name',
           W_DEV, 'netns', NS['w'])
        ip_batch(['addr add %s/128 dev %s nodad' % (W_SIR, W_DEV), 'link set %s up' % W_DEV,
                  'route add default via %s dev %s' % (GW6, W_DEV)], ns=NS['w'])
        ip('link', 'set', dev('a', 'w'), 'up', ns=NS['a'])
        _, out = ip('-o', 'link', 'show', W_DEV, ns=NS['w'])
        self.ifindex[W_DEV] = int(out.split(':')[0])
        self.w_at = 'a'
        if self.w4:
            self.w_v4(self.w4)
        if self.x4:
            # X: its IPv4 address on loopback, IPv4 to C's link, permanent
            # neighbour entries between X and C (X does not move)
            ip('addr', 'add', self.x4 + '/32', 'dev', 'lo', ns=NS['x'])
            ip('-4', 'route', 'add', 'default', 'dev', dev('x', 'c'), ns=NS['x'])
            ip('-4', 'neigh', 'replace', self.w4, 'lladdr', self.mac[dev('c', 'x')], 'dev',
               dev('x', 'c'), 'nud', 'permanent', ns=NS['x'])
            ip('-4', 'neigh', 'replace', self.x4, 'lladdr', self.mac[dev('x', 'c')], 'dev',
               dev('c', 'x'), 'nud', 'permanent', ns=NS['c'])
        # X: SIR address on loopback, default route via C
        ip('addr', 'add', X_SIR + '/128', 'dev', 'lo', ns=NS['x'])
        ip('-6', 'route', 'add', 'default', 'via', WLINK[('c', 'x')] + '1', ns=NS['x'])
        ip('-6', 'neigh', 'replace', X_SIR, 'lladdr', self.mac[dev('x', 'c')], 'dev',
           dev('c', 'x'), 'nud', 'permanent', ns=NS['c'])
        # iproute2 prints ilad's protocol by its name, as installed; only in
        # the test VM, whose root is a RAM overlay (nothing reaches the host)
        if os.environ.get('ILA_VM') == '1':
            try:
                os.makedirs('/etc/iproute2/rt_protos.d', exist_ok=True)
                shutil.copy(RT_PROTOS, '/etc/iproute2/rt_protos.d/ila.conf')
            except OSError:
                pass    # the suites then name it by number

    def w_v4(self, addr):
        """IPv4 for W, at build time (Net.w4): addr on w0 and a default route
        via the IPv4 gateway (the nodes' vn needs an ipv4-prefix)."""
        ip_batch(['addr add %s/32 dev %s' % (addr, W_DEV),
                  'route add default via %s dev %s onlink' % (GW4, W_DEV)], ns=NS['w'])

    def port_tx(self):
        """Packets sent to W by the node end of its link, wherever it is
        (the counters move with the device)."""
        d = dev(self.w_at, 'w')
        _, out = ip('-j', '-s', 'link', 'show', d, ns=NS[self.w_at])
        return json.loads(out)[0]['stats64']['tx']['packets']

    def move_w(self, dst, then=None):
        """Re-plugs W's link at node dst, as a hypervisor moves a VM: the
        node's end of the veth pair leaves the current node's namespace for
        dst's, is renamed dst-w and comes up; then() runs (the attach at dst,
        as soon as the link is there); ilad at dst, when it runs, gives the
        link the gateway (waited for, bounded). Nothing in W changes.
        Returns the port's tx packets just before the move and then()'s
        result."""
        src = self.w_at
        if dst == src:
            raise Failed('W is at %s already' % dst.upper())
        ctl = self.ctls.get(dst)
        p = self.procs.get(dst)
        before = self.gw_applied(dst) if ctl and p and p.poll() is None else None
        tx = self.port_tx()
        ip('link', 'set', dev(src, 'w'), 'netns', NS[dst], ns=NS[src])
        ip_batch(['link set %s name %s' % (dev(src, 'w'), dev(dst, 'w')),
                  'link set %s up' % dev(dst, 'w')], ns=NS[dst])
        self.w_at = dst
        res = then() if then else None
        if before is not None and not until(lambda: self.gw_applied(dst) > before, 10, 0.01):
            raise Failed('ilad at %s did not give %s the gateway within 10 s: %s' % (
                dst.upper(), dev(dst, 'w'), self.log_tail(dst)))
        return tx, res

    def gw_applied(self, node):
        """How often ilad at node gave dev(node, 'w') the gateway (show vn)."""
        for v in self.ctls[node].json('show vn'):
            for d in v.get('gateway', {}).get('devices', []):
                if d.get('dev') == dev(node, 'w'):
                    return d.get('applied', 0) if d.get('state') == 'set' else -1
        return -1

    def w_view(self):
        """What W knows of its network: its routes (both families) and its
        neighbour entries for the gateway addresses, as `ip -j` prints them
        but for the entries' NUD state and router flag. Those are the
        kernel's neighbour discovery bookkeeping, not the entry: W's kernel
        drops its neighbour entries when its link's carrier comes back (a
        veth peer moved; a VM's virtio link keeps its carrier through a
        migration) and learns the gateway again by neighbour discovery, with
        the router flag when an advertisement set it. The entry itself
        (address, device, MAC) is what must not change.
        A datagram to each gateway address first, so that W has the entries."""
        v4 = GW4 in ip('-4', 'route', 'show', ns=NS['w'])[1]
        with NetNS(NS['w']):
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if v4 else None
        try:
            s6.sendto(b'gw', (GW6, 9, 0, self.ifindex[W_DEV]))
            if s4:
                s4.sendto(b'gw', (GW4, 9))
        except OSError:
            pass
        finally:
            s6.close()
            if s4:
                s4.close()

        def neigh(fam, addr):
            ok = until(lambda: [n for n in json.loads(ip('-j', fam, 'neigh', 'show', addr,
                                                           ns=NS['w'])[1] or '[]')
                                if 'lladdr' in n], 3, 0.02)
            for n in ok or []:
                n.pop('state', None)
                n.pop('router', None)
            return ok
        return {
            'routes6': json.loads(ip('-j', '-6', 'route', 'show', ns=NS['w'])[1]),
            'routes4': json.loads(ip('-j', '-4', 'route', 'show', ns=NS['w'])[1]),
            'gw6': neigh('-6', GW6),
            'gw4': neigh('-4', GW4) if v4 else None,
        }

    # ---- daemons ----

    def certs(self, names):
        run([MKCERTS, self.pki] + list(names), timeout=120)

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, name, ns, argv):
        logf = open(self.path(name + '.log'), 'a')
        p = subprocess.Popen(['ip', 'netns', 'exec', NS[ns]] + argv, stdout=logf,
                             stderr=subprocess.STDOUT)
        logf.close()
        self.procs[name] = p
        return p

    def log_tail(self, name, n=8):
        try:
            with open(self.path(name + '.log')) as f:
                return ' | '.join(f.read().splitlines()[-n:])
        except OSError:
            return '(no log)'

    def mapper_conf(self, nodes, extra=''):
        lines = [
            'listen %s port %d' % (MAPPER_ADDR, MAPPER_PORT),
            'store %s' % self.path('store'),
            'store-map-size 256',
            'tls certificate {0}/mapper.crt key {0}/mapper.key ca {0}/ca.crt'.format(self.pki),
            'control %s' % self.path('mapper.sock'),
            'pidfile %s' % self.path('mapper.pid'),
            'keepalive %d' % KEEPALIVE_MS,
            'dead-interval %d' % DEAD_MS,
            # the suites move W more often than a real workload moves
            'damping moves 100 interval 60 freeze 1',
        ]
        lines += ['node %s' % n for n in nodes]
        lines += ['vn blue id %d sir-prefix %s' % (VN_ID, PREFIX),
                  'vn blue serve %s' % ' '.join(nodes)]
        return '\n'.join(lines) + '\n' + extra

    def start_mapper(self, nodes, extra=''):
        conf = self.path('mapper.conf')
        with open(conf, 'w') as f:
            f.write(self.mapper_conf(nodes, extra))
        rc, out = run([MAPPER, '-n', '-f', conf], check=False)
        if rc != 0:
            raise Failed('ila-mapper -n refused its config: %s' % out.strip())
        p = self.spawn('mapper', 'm', [MAPPER, '-d', '-f', conf])
        sock = self.path('mapper.sock')
        if not until(lambda: p.poll() is not None or os.path.exists(sock), 20):
            raise Failed('ila-mapper: no control socket after 20 s: ' + self.log_tail('mapper'))
        if p.poll() is not None:
            raise Failed('ila-mapper exited %d: %s' % (p.returncode, self.log_tail('mapper')))
        self.ctls['mapper'] = Ctl(sock)

    def ilad_conf(self, node, extra=''):
        lines = [
            'node-name %s' % node,
            'mode ila',
            'locator %s' % LOC[node],
            'mapper %s port %d identity mapper' % (MAPPER_ADDR, MAPPER_PORT),
            'tls certificate {0}/{1}.crt key {0}/{1}.key ca {0}/ca.crt'.format(self.pki, node),
            'control %s' % self.path(node + '.sock'),
            'pidfile %s' % self.path(node + '.pid'),
            'keepalive %d' % KEEPALIVE_MS,
            'dead-interval %d' % DEAD_MS,
            'vn blue id %d sir-prefix %s' % (VN_ID, PREFIX),
        ]
        wl = {'a': 'w', 'b': 'w', 'c': 'x'}.get(node)
        if wl:
            lines.append('vn blue interface %s' % dev(node, wl))
        if wl == 'w':
            v4 = self.w4 is not None
            lines.append('vn blue gateway %s%s mac %s' % (GW6, ' ' + GW4 if v4 else '', GW_MAC))
        if self.dataplane == 'bpf' and not extra.startswith('dataplane ') and \
                '\ndataplane ' not in extra:
            lines.append('dataplane bpf')
        return '\n'.join(lines) + '\n' + extra

    def start_ilad(self, node, extra='', wait=True, conf_text=None, args=()):
        conf = self.path(node + '.conf')
        with open(conf, 'w') as f:
            f.write(conf_text if conf_text is not None else self.ilad_conf(node, extra))
        rc, out = run([ILAD, '-n', '-f', conf], check=False)
        if rc != 0:
            raise Failed('ilad -n refused the config of %s: %s' % (node, out.strip()))
        p = self.spawn(node, node, [ILAD, '-d', '-f', conf] + list(args))
        self.ctls[node] = Ctl(self.path(node + '.sock'))
        if wait:
            self.wait_synced(node)
        return p

    def mapper_state(self, node):
        try:
            return self.ctls[node].json('show mapper')
        except (OSError, Failed, ValueError):
            return None

    def synced(self, node):
        m = self.mapper_state(node)
        if not m or m.get('state') != 'up':
            return False
        return all(v.get('synced') for v in m.get('vns', []))

    def wait_synced(self, node, timeout=20):
        p = self.procs[node]
        ok = until(lambda: p.poll() is not None or self.synced(node), timeout, 0.1)
        if p.poll() is not None:
            raise Failed('ilad %s exited %d: %s' % (node, p.returncode, self.log_tail(node)))
        if not ok:
            raise Failed('ilad %s: not up and in sync after %d s: %s; %s' % (
                node, timeout, self.mapper_state(node), self.log_tail(node)))

    def stop(self, name, sig=signal.SIGTERM, timeout=10):
        p = self.procs.get(name)
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if name in self.ctls:
            self.ctls[name].close()
        return p.returncode if p else None

    def stats(self, node):
        return flatten(self.ctls[node].json('show stats'))

    def ilactl(self, node, *args, mapper=False):
        """The real CLI: (exit status, output)."""
        sock = self.path(('mapper' if mapper else node) + '.sock')
        argv = [ILACTL] + (['-M'] if mapper else []) + ['-s', sock, '-t', '10'] + list(args)
        return run(argv, check=False, timeout=20)

    def mapping(self, addr):
        """The mapper's record of addr (dict) or None."""
        j = self.ctls['mapper'].json('show mappings %s' % addr)
        for m in j.get('mappings', []):
            if m.get('address') == addr:
                return m
        return None

    def bpf_maps(self, node):
        """The BPF maps of node's running ilad (vmlib.BpfMaps; the caller
        closes it)."""
        p = self.procs.get(node)
        if not p or p.poll() is not None:
            raise Failed('ilad %s is not running' % node)
        return BpfMaps(p.pid)

    def bpf_mappings(self, node):
        """node's ila_map: sorted 'ADDR map LOCATOR up|down'; [] with the module."""
        if self.dataplane != 'bpf':
            return []
        m = self.bpf_maps(node)
        try:
            return m.mappings()
        finally:
            m.close()

    def local(self, node, addr):
        for l in self.ctls[node].json('show local').get('local', []):
            if l.get('address') == addr:
                return l
        return None

    def close(self):
        """Stops every process started (helpers first, then the nodes, then
        the mapper, so no daemon logs its peer's disappearance), removes the
        namespaces and keeps the logs."""
        order = sorted(self.procs, key=lambda n: (n == 'mapper', n in ('a', 'b', 'c'), n))
        for name in order:
            p = self.procs[name]
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if name in ('mapper', 'a', 'b', 'c')
                              else signal.SIGKILL)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    try:
                        p.wait(5)
                    except subprocess.TimeoutExpired:
                        pass
        for c in self.ctls.values():
            c.close()
        for n in NS.values():
            netns_del(n)
        try:
            keep = os.path.join(OUT, self.suite)
            os.makedirs(keep, exist_ok=True)
            for f in os.listdir(self.dir):
                if f.endswith(('.log', '.conf', '.out', '.txt')):
                    shutil.copy(os.path.join(self.dir, f), keep)
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- iproute2 as the independent reader of ilad's routes ----

def routes(ns, proto=PROTO):
    """`ip -6 route show proto P` of a namespace as a sorted list of
    'DST ila LOCATOR CSUM IDENT', 'DST dev IF' or 'unreachable DST'."""
    _, out = ip('-6', 'route', 'show', 'proto', str(proto), ns=ns)
    return sorted(route_words(line) for line in out.splitlines() if line.strip())


def route_words(line):
    w = line.split()
    if w[0] == 'unreachable':
        return 'unreachable %s' % w[1]
    if 'encap' in w and 'ila' in w:
        i = w.index('ila')
        cs = w[w.index('csum-mode') + 1] if 'csum-mode' in w else '?'
        it = w[w.index('ident-type') + 1] if 'ident-type' in w else '?'
        return '%s ila %s %s %s' % (w[0], w[i + 1], cs, it)
    if 'encap' in w and 'bpf' in w:
        # 'encap bpf xmit ila_out' (iproute2 may add the program's id)
        prog = w[w.index('xmit') + 1].split(':')[0] if 'xmit' in w else '?'
        return '%s bpf %s dev %s' % (w[0], prog, w[w.index('dev') + 1] if 'dev' in w else '?')
    if 'dev' in w:
        return '%s dev %s' % (w[0], w[w.index('dev') + 1])
    return 'other ' + line.strip()


# ---- route events, timestamped as they arrive ----

RTMGRP_IPV6_ROUTE = 0x400
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
RTA_DST, RTA_OIF, RTA_ENCAP_TYPE, RTA_ENCAP = 1, 4, 21, 22
LWTUNNEL_ENCAP_ILA = 3
ILA_ATTR_LOCATOR = 1


class RouteWatch(threading.Thread):
    """Timestamps (time.monotonic()) of the kernel's route events for one
    destination in one namespace, read over rtnetlink as they come:
    events is a list of (t, 'new'|'del', what), what being 'ila LOCATOR',
    'unreachable', 'dev IFINDEX' or the route type."""

    def __init__(self, ns, dst):
        super().__init__(daemon=True)
        self.dst = socket.inet_pton(socket.AF_INET6, dst)
        with NetNS(ns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind((0, RTMGRP_IPV6_ROUTE))
        self.sock.settimeout(0.1)
        self.events = []
        self.stopped = False

    def run(self):
        while not self.stopped:
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                continue
            t = time.monotonic()
            while len(data) >= 16:
                mlen, mtype = struct.unpack('=IH', data[:6])
                if mlen < 16:
                    break
                msg, data = data[16:mlen], data[(mlen + 3) & ~3:]
                if mtype in (RTM_NEWROUTE, RTM_DELROUTE) and len(msg) >= 12:
                    ev = self._parse(msg)
                    if ev is not None:
                        self.events.append((t, 'new' if mtype == RTM_NEWROUTE else 'del', ev))

    def _parse(self, msg):
        family, dlen, _, _, _, proto, _, rtype = struct.unpack('=8B', msg[:8])
        if family != socket.AF_INET6 or dlen != 128:
            return None
        attrs = {}
        buf = msg[12:]
        while len(buf) >= 4:
            alen, atype = struct.unpack('=HH', buf[:4])
            if alen < 4:
                break
            attrs[atype & 0x3fff] = buf[4:alen]
            buf = buf[(alen + 3) & ~3:]
        if attrs.get(RTA_DST) != self.dst:
            return None
        if rtype == 7:
            return 'unreachable'
        enc = attrs.get(RTA_ENCAP_TYPE)
        if enc and struct.unpack('=H', enc[:2])[0] == LWTUNNEL_ENCAP_ILA and RTA_ENCAP in attrs:
            nest = attrs[RTA_ENCAP]
            while len(nest) >= 4:
                alen, atype = struct.unpack('=HH', nest[:4])
                if alen < 4:
                    break
                if atype & 0x3fff == ILA_ATTR_LOCATOR and alen >= 12:
                    v = nest[4:12]
                    return 'ila ' + ':'.join('%x' % g for g in struct.unpack('!4H', v))
                nest = nest[(alen + 3) & ~3:]
            return 'ila ?'
        if RTA_OIF in attrs:
            return 'dev %d' % struct.unpack('=i', attrs[RTA_OIF][:4])[0]
        return 'type %d' % rtype

    def first(self, after, kind, what):
        """Time of the first event of kind ('new'/'del') whose what starts
        with what, at or after time after; None when there was none."""
        for t, k, w in sorted(self.events):
            if t >= after and k == kind and w.startswith(what):
                return t
        return None

    def stop(self):
        self.stopped = True
        self.join(2)
        self.sock.close()


class DataWatch(RouteWatch):
    """RouteWatch and, with dataplane bpf, the node's ila_map entry of dst
    polled every 10 ms: events (t, 'new', 'ila LOCATOR') when it takes an up
    locator, (t, 'new', 'down LOCATOR') when it goes down, (t, 'del', 'ila
    LOCATOR') when it goes; so first(after, 'new', 'ila ' + LOC[n]) is when
    the node's data path sends dst to n, whichever data path it is."""

    def __init__(self, net, node, dst):
        super().__init__(NS[node], dst)
        self.net, self.node, self.addr = net, node, dst
        self.poller = None
        if net.dataplane == 'bpf':
            self.poller = threading.Thread(target=self._poll, daemon=True)

    def start(self):
        super().start()
        if self.poller:
            self.poller.start()

    def _poll(self):
        maps, last = None, None
        while not self.stopped:
            p = self.net.procs.get(self.node)
            try:
                if maps is None or maps.pid != p.pid:
                    if maps:
                        maps.close()
                    maps = None
                    maps = BpfMaps(p.pid)
                now = maps.mapping(VN_ID, self.addr)
            except (OSError, Failed, AttributeError):
                now = last      # the node restarting: nothing to read yet
            t = time.monotonic()
            if now != last:
                if now is None:
                    self.events.append((t, 'del', 'ila ' + last[0]))
                else:
                    self.events.append((t, 'new', ('ila ' if now[1] == 'up' else 'down ') +
                                        now[0]))
                last = now
            time.sleep(0.01)
        if maps:
            maps.close()

    def stop(self):
        super().stop()
        if self.poller:
            self.poller.join(2)


# ---- a TCP connection kept busy across a move ----

def tcp_rounds(t, peer):
    """The loop of a thread t holding a TCP connection t.cli to an echo
    server (peer names it): an 8-byte counter every t.interval seconds until
    t.stopped, counting t.rounds and t.max_wait, the error that ended it in
    t.error (a reset, a timeout, a wrong echo)."""
    n = 0
    try:
        while not t.stopped:
            n += 1
            t0 = time.monotonic()
            t.cli.sendall(struct.pack('!Q', n))
            got = b''
            while len(got) < 8:
                chunk = t.cli.recv(8 - len(got))
                if not chunk:
                    raise OSError('connection closed by %s' % peer)
                got += chunk
            if struct.unpack('!Q', got)[0] != n:
                raise OSError('echo %r for %d' % (got, n))
            t.max_wait = max(t.max_wait, time.monotonic() - t0)
            t.rounds += 1
            time.sleep(t.interval)
    except OSError as e:
        t.error = '%s: %s' % (type(e).__name__, e)


class TcpPing(threading.Thread):
    """A TCP connection from X to W's SIR address (or from x to w, both IPv4
    or both IPv6), echoing an 8-byte counter every interval seconds until
    stopped. Counts round trips, the longest wait for an echo, and the error
    that ended it (a reset, a timeout)."""

    def __init__(self, port, interval=0.02, timeout=5.0, w=W_SIR, x=X_SIR):
        super().__init__(daemon=True)
        family = socket.AF_INET if '.' in w else socket.AF_INET6
        with NetNS(NS['w']):
            self.lst = socket.socket(family, socket.SOCK_STREAM)
        self.lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lst.bind((w, port))
        self.lst.listen(1)
        with NetNS(NS['x']):
            self.cli = socket.socket(family, socket.SOCK_STREAM)
        self.cli.bind((x, 0))
        self.cli.settimeout(timeout)
        self.cli.connect((w, port))
        self.lst.settimeout(timeout)
        self.srv, peer = self.lst.accept()
        self.peer = peer[0]
        self.local = self.srv.getsockname()[0]
        self.srv.settimeout(timeout)
        self.interval = interval
        self.rounds = 0
        self.max_wait = 0.0
        self.error = None
        self.stopped = False
        self.echo = threading.Thread(target=self._echo, daemon=True)
        self.echo.start()

    def _echo(self):
        try:
            while True:
                data = self.srv.recv(64)
                if not data:
                    return
                self.srv.sendall(data)
        except OSError:
            return

    def run(self):
        tcp_rounds(self, 'W')

    def stop(self):
        self.stopped = True
        self.join(10)
        for s in (self.cli, self.srv, self.lst):
            s.close()


# ---- the flood tool ----

def parse_kv(line):
    """'recv packets=1 if3=...' -> dict of the key=value words."""
    out = {}
    for w in line.split()[1:]:
        if '=' in w:
            k, v = w.split('=', 1)
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
    return out


class FloodRecv:
    """flood recv in a namespace, started and waited for READY."""

    def __init__(self, net, ns, port, count, run_id, timeout_s=60, idle_ms=0, log=None):
        argv = ['ip', 'netns', 'exec', NS[ns], net.flood, 'recv', '-p', str(port), '-n',
                str(count), '-t', str(timeout_s), '-i', str(run_id)]
        if idle_ms:
            argv += ['-w', str(idle_ms)]
        if log:
            argv += ['-o', log]
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True)
        net.procs['flood-recv-%d' % run_id] = self.p
        line = self.p.stdout.readline()
        if line.strip() != 'READY':
            raise Failed('flood recv did not start: %r' % line)

    def result(self, timeout):
        """The receiver's report; one still waiting after timeout seconds is
        told to stop (SIGTERM) and reports what it has."""
        try:
            out, _ = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.send_signal(signal.SIGTERM)
            try:
                out, _ = self.p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                out, _ = self.p.communicate()
        for line in out.splitlines():
            if line.startswith('recv '):
                r = parse_kv(line)
                r['line'] = line
                return r
        raise Failed('flood recv printed no result: %s' % out.strip()[-300:])

    @staticmethod
    def per_if(r):
        """{ifindex: (packets, first_ms, last_ms, first_seq, last_seq)}"""
        out = {}
        for k, v in r.items():
            if k.startswith('if') and k[2:].isdigit():
                f = str(v).split('/')
                out[int(k[2:])] = (int(f[0]), float(f[1]), float(f[2]), int(f[3]), int(f[4]))
        return out


def flood_send(net, ns, dst, port, rate, count, run_id, src=None, background=False,
               timeout_s=60):
    argv = ['ip', 'netns', 'exec', NS[ns], net.flood, 'send', '-d', dst, '-p', str(port), '-r',
            str(rate), '-n', str(count), '-i', str(run_id), '-t', str(timeout_s)]
    if src:
        argv += ['-s', src]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    net.procs['flood-send-%d' % run_id] = p
    if background:
        return p
    return flood_send_result(p, timeout_s + 10)


def flood_send_result(p, timeout):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    for line in out.splitlines():
        if line.startswith('send '):
            r = parse_kv(line)
            r['line'] = line
            return r
    raise Failed('flood send printed no result: %s' % out.strip()[-300:])
