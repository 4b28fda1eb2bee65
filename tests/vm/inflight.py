# SPDX-License-Identifier: GPL-2.0-or-later
"""In-flight forwarding after a move (man ilad.8, IN-FLIGHT FORWARDING), on a
real kernel: packets that still reach the old node after a workload moved
are carried to the new node and delivered there.

    inflight.py SUITE MODE...     MODE: host-route (native: SRv6 and
                                  seg6local, no ILA module) or ila (the
                                  kernel's ILA module: the qemu guest)

The network and daemons are those of tests/vm/ilad_net.py, with two nodes:
A and B run ilad (TLS to the mapper in M), R routes the locators, W is the
workload, with an IPv6 SIR address and an IPv4 address (192.0.2.42) on its
loopback, reachable through A and through B. For each MODE:

  - W's two addresses are attached at A, then at B (the move);
  - A's routes for them after the move, B's decapsulation routes (End.DX6 /
    End.DX4 at the segments the man page gives, or where the module's
    translation puts the packet);
  - PACKETS UDP datagrams per family are sent from R along the old path: R
    holds host routes for W's addresses via A (the fabric has not
    converged), and in mode ila the IPv6 ones go to W's ILA address at A's
    locator. Each must reach W through its link to B, and B's End.DX route
    counts them (the kernel's counters, read back by `ip -s route` and by
    `ilactl show stats`);
  - A's `ilactl -j show stats` counts the holds and the routes written for
    them; in host-route mode the routes go when hold-time ends.

Every load loop is bounded in count and time; namespaces and daemons go in
Net.close() whatever happens.
"""
import json
import os
import re
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ilad_net as N  # noqa: E402
from ilad_net import FABRIC, LOC, NS, W_SIR, dev, until  # noqa: E402
from vmlib import Failed, NetNS, Results, find_tool, ip, ip_batch, run  # noqa: E402

W_V4 = '192.0.2.42'
V4_PREFIX = '192.0.2.0/24'
R_A4, A_R4 = '192.0.2.253', '192.0.2.254'  # R <-> A, a /30 (192.0.2.1: the gateway)
B_V4 = '192.0.2.66'                       # B's own, on its loopback
HOLD_S = 10
PACKETS = 50
PORT = 4789 + 3                           # any free port in W
SEG6 = {'v6': '2001:db8:bb::42',          # B's locator, W's identifier
        'v4': '2001:db8:bb::c000:22a'}    # B's locator, 0, 192.0.2.42
DX4_ILA = '2001:db8:100::c000:22a'        # SEG6['v4'] after B's translation
IP_PKTINFO = getattr(socket, 'IP_PKTINFO', 8)


def own_namespaces():
    """Namespaces of this suite's own (ilf-*), apart from the other suites'
    il-* (Net reads the names from ilad_net.NS); returns the names to put
    back."""
    saved = dict(NS)
    for k in NS:
        NS[k] = 'ilf-' + k
    return saved


class InflightNet(N.Net):
    """Net with an IPv4 prefix in the vn, at the mapper and at the nodes."""

    def mapper_conf(self, nodes, extra=''):
        return super().mapper_conf(nodes, extra).replace(
            'sir-prefix %s\n' % N.PREFIX, 'sir-prefix %s ipv4-prefix %s\n' % (N.PREFIX, V4_PREFIX))


def seg6_route(dst, seg):
    """A regular expression for `ip route`'s line of an SRv6 route of one
    segment: mode encap.red where the kernel has it, else encap."""
    return r'%s encap seg6 mode encap(\.red)? segs 1 \[ %s \]' % (re.escape(dst), re.escape(seg))


def has_route(lines, pattern):
    return any(re.match(pattern, l) for l in lines)


def sh(ns, cmd):
    run(['ip', 'netns', 'exec', NS[ns], 'sh', '-c', cmd])


def proto_routes(ns, family):
    _, out = ip(family, 'route', 'show', 'proto', str(N.PROTO), ns=NS[ns], check=False)
    return [' '.join(l.split()) for l in out.splitlines() if l.strip()]


def route_stats(ns):
    """`ip -s -6 route show proto P` of a node, one line per route."""
    _, out = ip('-s', '-6', 'route', 'show', 'proto', str(N.PROTO), ns=NS[ns], check=False)
    return [' '.join(l.split()) for l in out.splitlines() if l.strip()]


def dx_packets(ns, dst):
    """The kernel's packet counter of the End.DX route at dst, or None."""
    for line in route_stats(ns):
        w = line.split()
        if w[0] == dst and 'seg6local' in w and 'packets' in w:
            return int(w[w.index('packets') + 1])
    return None


class Receiver:
    """UDP sockets on W's two addresses, counting datagrams by the link
    they came in on."""

    def __init__(self):
        with NetNS(NS['w']):
            self.s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self.s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        self.s4.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        self.s6.bind((W_SIR, PORT))
        self.s4.bind((W_V4, PORT))
        for s in (self.s6, self.s4):
            s.setblocking(False)

    def drain(self, tag, quiet_s=1.0, limit_s=10.0):
        """{ifindex: count} of the datagrams whose payload starts with tag,
        read until none came for quiet_s (at most limit_s)."""
        got = {}
        end = time.monotonic() + limit_s
        last = time.monotonic()
        while time.monotonic() < end and time.monotonic() - last < quiet_s:
            seen = False
            for s in (self.s6, self.s4):
                try:
                    data, anc, _, _ = s.recvmsg(256, 256)
                except BlockingIOError:
                    continue
                seen = True
                ifx = None
                for lvl, typ, val in anc:
                    if lvl == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                        ifx = struct.unpack('=I', val[16:20])[0]
                    elif lvl == socket.IPPROTO_IP and typ == IP_PKTINFO:
                        ifx = struct.unpack('=i', val[:4])[0]
                if data.startswith(tag):
                    got[ifx] = got.get(ifx, 0) + 1
            if seen:
                last = time.monotonic()
            else:
                time.sleep(0.02)
        return got

    def close(self):
        self.s6.close()
        self.s4.close()


def send(dst, family, tag, n, src='r'):
    """n datagrams from namespace src (R) to dst, 2 ms apart."""
    with NetNS(NS[src]):
        s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        for i in range(n):
            s.sendto(tag + b' %d' % i, (dst, PORT))
            time.sleep(0.002)
    finally:
        s.close()


def ila_address(sir, loc):
    """W's ILA address at loc as the module writes it (csum-mode
    neutral-map, ilad's default), from the library (ila-xlat)."""
    tool = find_tool('ila-xlat')
    if not tool:
        raise Failed('ila-xlat not found ($ILA_ILA_XLAT or the build tree)')
    _, out = run([tool, 'sir2ila', 'neutral-map', sir, loc])
    return out.strip()


class Suite:
    def __init__(self, name, mode, res):
        self.name = name
        self.mode = mode
        self.res = res
        self.saved_ns = own_namespaces()
        self.net = InflightNet('%s-%s' % (name, mode))

    def check(self, what, ok, detail=''):
        return self.res.check('%s %s: %s' % (self.name, self.mode, what), ok, detail)

    def require(self, what, ok, detail=''):
        if not self.check(what, ok, detail):
            raise Failed(what)

    def conf(self, node):
        text = self.net.ilad_conf(node)
        text = text.replace('sir-prefix %s\n' % N.PREFIX,
                            'sir-prefix %s ipv4-prefix %s\n' % (N.PREFIX, V4_PREFIX))
        if self.mode == 'host-route':
            text = text.replace('mode ila\n', 'mode host-route\n')
        else:
            text = text.replace('mode ila\n', 'mode ila\ndataplane ila-module\n')
        return text + 'hold-time %d\n' % HOLD_S

    def setup(self):
        net = self.net
        t0 = time.monotonic()
        net.w4 = W_V4    # on W's interface, default route via the gateway 192.0.2.1
        net.build()
        t_build = time.monotonic() - t0
        # IPv4: R <-> A, W's address behind A and B, forwarding on R, A
        # and B, no reverse path filter where packets arrive; one iproute2
        # batch and one shell per namespace (the guest is slow)
        cmds = {
            'r': ['addr add %s/30 dev %s' % (R_A4, dev('r', 'a')),
                  # the old path: R sends W's traffic to A (the fabric has
                  # not converged)
                  'route add %s/32 via %s' % (W_V4, A_R4)],
            'a': ['addr add %s/30 dev %s' % (A_R4, dev('a', 'r'))],
            # B's own packets to W (IPv4 over ILA) need a source address
            'b': ['addr add %s/32 dev lo' % B_V4],
        }
        if self.mode == 'host-route':
            cmds['r'].append('route add %s/128 via %s' % (W_SIR, FABRIC['a'] + '2'))
        for n, lines in cmds.items():
            ip_batch(lines, ns=NS[n])
        fwd = 'echo 1 >/proc/sys/net/ipv4/conf/all/forwarding'
        rpf = ('echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter; '
               'echo 0 >/proc/sys/net/ipv4/conf/default/rp_filter')
        for n, cmd in (('r', fwd), ('a', fwd + '; ' + rpf), ('b', fwd + '; ' + rpf), ('w', rpf)):
            sh(n, cmd)
        t1 = time.monotonic()
        net.certs(['mapper', 'a', 'b'])
        t2 = time.monotonic()
        net.start_mapper(['a', 'b'])
        for n in ('a', 'b'):
            net.start_ilad(n, conf_text=self.conf(n), wait=False)
        for n in ('a', 'b'):
            net.wait_synced(n)
        Results.info('%s %s: namespaces and links %.1f s, IPv4 %.1f s, certificates %.1f s, '
                     'daemons up and in sync %.1f s' % (self.name, self.mode, t_build, t1 - t0 -
                                                        t_build, t2 - t1, time.monotonic() - t2))

    def attach(self, node):
        out = []
        for a in (W_SIR, W_V4):
            rc, o = self.net.ilactl(node, 'attach', a, 'dev', dev(node, 'w'))
            out.append(o.strip())
            if rc != 0:
                return False, ' | '.join(out)
        ok = until(lambda: all((self.net.mapping(a) or {}).get('node') == node
                               for a in (W_SIR, W_V4)), 10, 0.1)
        return ok, ' | '.join(out)

    def run(self):
        net = self.net
        ok, out = self.attach('a')
        self.require('W (%s, %s) attached at A' % (W_SIR, W_V4), ok, out)
        if self.mode == 'ila':
            self.ipv4_over_ila()
        view0 = net.w_view()
        _, (ok, out) = net.move_w('b', lambda: self.attach('b'))
        self.require('W moved to B (its link re-plugged at B, ilactl attach there; the mapper '
                     'has it at B)', ok, out)
        view1 = net.w_view()
        self.check('W\'s routes and its neighbour entries for the gateway (%s, %s) are the same '
                   'before and after the move' % (N.GW6, N.GW4),
                   view1 == view0 and view0['gw6'] and view0['gw4'],
                   'before %s after %s' % (view0, view1))

        # A: what it does with what still arrives
        want6 = (seg6_route(W_SIR, SEG6['v6']) if self.mode == 'host-route'
                 else re.escape('%s encap ila %s ' % (W_SIR, LOC['b'])))
        want4 = seg6_route(W_V4, SEG6['v4'])
        have = lambda: (has_route(proto_routes('a', '-6'), want6) and
                        has_route(proto_routes('a', '-4'), want4))
        forwarding = until(have, 10, 0.1)
        self.check('A forwards W: %s to %s, %s to %s' % (
            W_SIR, SEG6['v6'] if self.mode == 'host-route' else 'locator ' + LOC['b'],
            W_V4, SEG6['v4']), forwarding,
                   '%s; %s' % (proto_routes('a', '-6'), proto_routes('a', '-4')))

        # B: where it takes the packets out of IPv6
        dx = {'v4': SEG6['v4'] if self.mode == 'host-route' else DX4_ILA}
        wantb = ['%s encap seg6local action End.DX4 nh4 %s' % (dx['v4'], W_V4)]
        if self.mode == 'host-route':
            dx['v6'] = SEG6['v6']
            wantb.append('%s encap seg6local action End.DX6 nh6 %s' % (SEG6['v6'], W_SIR))
        routes_b = proto_routes('b', '-6')
        self.check('B decapsulates: %s' % '; '.join(wantb),
                   all(any(l.startswith(w) for l in routes_b) for w in wantb), routes_b)
        if self.mode != 'host-route':
            self.check('B has no End.DX6 route in mode ila (the module translates IPv6)',
                       not any('End.DX6' in l for l in routes_b), routes_b)

        # the packets
        dst6 = W_SIR if self.mode == 'host-route' else ila_address(W_SIR, LOC['a'])
        rx = Receiver()
        try:
            before = {f: dx_packets('b', d) or 0 for f, d in dx.items()}
            s_before = N.flatten(net.ctls['b'].json('show stats'))
            for fam, dst, af in (('v6', dst6, socket.AF_INET6), ('v4', W_V4, socket.AF_INET)):
                tag = b'inflight-' + fam.encode()
                send(dst, af, tag, PACKETS)
                got = rx.drain(tag)
                via_b = got.get(net.ifindex[N.W_DEV], 0)    # W's link is at B
                self.check('%s: %d datagrams sent to %s along the old path (R -> A); %d reach W '
                           'through B' % (fam, PACKETS, dst, via_b), via_b == PACKETS, got)
                if fam in dx:
                    n = (dx_packets('b', dx[fam]) or 0) - before[fam]
                    self.check('%s: B\'s End.DX route at %s counted them (%d)' % (
                        fam, dx[fam], n), n == PACKETS, route_stats('b'))
            s_after = N.flatten(net.ctls['b'].json('show stats'))
            dp = s_after.get('decap_packets', 0) - s_before.get('decap_packets', 0)
            self.check('B\'s show stats: decap_packets +%d' % dp,
                       dp == PACKETS * len(dx), {k: v for k, v in s_after.items()
                                                 if k.startswith('decap')})
        finally:
            rx.close()

        rc, out = net.ilactl('a', '-j', 'show', 'stats')
        try:
            st = json.loads(out) if rc == 0 else {}
        except ValueError:
            st = {}
        self.check('A\'s ilactl -j show stats: inflight_holds %s, inflight_routes %s' % (
            st.get('inflight_holds'), st.get('inflight_routes')),
            st.get('inflight_holds') == 2 and st.get('inflight_routes') == 2, out.strip()[-300:])

        if self.mode == 'host-route':
            gone = until(lambda: not any('seg6' in l for l in
                                         proto_routes('a', '-6') + proto_routes('a', '-4')),
                         HOLD_S + 10, 0.2)
            self.check('A\'s in-flight routes go when hold-time (%d s) ends' % HOLD_S,
                       forwarding and gone,
                       '%s; %s' % (proto_routes('a', '-6'), proto_routes('a', '-4')))

    def ipv4_over_ila(self):
        """mode ila with the module, before any move: B reaches W's IPv4
        address at A inside IPv6 (not in flight: the ordinary route)."""
        net = self.net
        seg_a = '2001:db8:aa::c000:22a'
        want = seg6_route(W_V4, seg_a)
        ok = until(lambda: has_route(proto_routes('b', '-4'), want), 10, 0.1)
        self.check('IPv4 over ILA: B routes W\'s IPv4 address into SRv6 to %s' % seg_a, ok,
                   proto_routes('b', '-4'))
        rx = Receiver()
        try:
            send(W_V4, socket.AF_INET, b'ordinary-v4', 20, src='b')
            got = rx.drain(b'ordinary-v4')
        finally:
            rx.close()
        via_a = got.get(net.ifindex[N.W_DEV], 0)    # W's link is at A
        self.check('IPv4 over ILA: 20 datagrams from B to %s reach W through A (%d), '
                   'decapsulated by A\'s End.DX4 route at %s' % (W_V4, via_a, DX4_ILA),
                   via_a == 20, got)

    def close(self):
        try:
            self.net.close()
        finally:
            NS.update(self.saved_ns)


def usable():
    if os.geteuid() != 0:
        return 'needs root (network namespaces)'
    if not os.path.exists('/proc/sys/net/ipv6/seg6_flowlabel'):
        return 'the kernel has no SRv6'
    return None


def run_modes(name, modes, res):
    for mode in modes:
        t0 = time.monotonic()
        s = Suite(name, mode, res)
        try:
            s.setup()
            print('  (%s %s: set up in %.1f s)' % (name, mode, time.monotonic() - t0), flush=True)
            s.run()
        except (Failed, N.Failed, OSError, ValueError, KeyError) as e:
            res.check('%s %s: aborted' % (name, mode), False, '%s: %s' % (type(e).__name__, e))
        finally:
            s.close()
        print('  (%s %s: %.1f s)' % (name, mode, time.monotonic() - t0), flush=True)


def suite(it, root, res):
    """tests/integration/run: host-route mode on this machine's kernel."""
    why = usable()
    if why:
        print('SKIP: inflight: %s' % why, flush=True)
        return
    N.OUT = root
    run_modes('inflight', ['host-route'], res)


def main(argv):
    if len(argv) < 3:
        print('usage: inflight.py SUITE MODE...', file=sys.stderr)
        return 2
    res = Results()
    run_modes(argv[1], argv[2:], res)
    print('%d passed, %d failed' % (res.passed, res.failed), flush=True)
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
