# SPDX-License-Identifier: GPL-2.0-or-later
"""The bpf-move suite of tests/integration/run: ilad's BPF data path
(dataplane bpf, doc/bpf.md) on this machine's own kernel, no ILA module.

The network and daemons are the VM suites' (tests/vm/ilad_net.py): R routes
only locators, A, B and C run ilad in mode ila with `dataplane bpf`, TLS to
the mapper in M; W moves between A and B, X is C's correspondent. Checked:

  - each node has exactly one route of ilad's protocol per SIR prefix
    (encap bpf xmit ila_out) plus its local delivery routes, no per-mapping
    route; ila_in on tc ingress of its link to R; R has no route to the SIR
    prefix, so whatever reaches W was translated;
  - hot move A -> B under a 10,000 packets/s UDP stream X -> W
    (ILA_BPF_HOT_COUNT packets, 50,000 by default) and a busy TCP
    connection: W's link is re-plugged at B (ilad_net.Net.move_w: the node's
    end of its veth pair moves to B's namespace, where ilad gives it the
    anycast gateway), then ilactl attach at B; packets lost (those that
    reached A while the link was unplugged, one run of sequence numbers)
    and duplicated (none) counted, the connection survives, packets reach W
    through A before and through B after (the port's tx counters), W's
    routes and its neighbour entries for the gateway are the same before
    and after (nothing in W is written after the build), C's per-mapping
    counter of W (ilactl show mappings -j) grew by at least the stream, C's
    map follows the move;
  - packets still addressed to W's ILA address at A after the move are
    translated back by A's ila_in and sent on to B by A's ila_out;
  - IPv4 over the fabric (vn blue has ipv4-prefix 192.0.2.0/24): each node
    has one IPv4 route for it (encap bpf xmit ila_out4); the outer IPv6
    header as captured on R (next header 4, hop limit 64, C's uplink
    address to A's locator + W4); W's IPv4 address W4
    hot-moved A -> B under a 10,000 packets/s UDP stream X4 -> W4
    (ILA_BPF_HOT4_COUNT packets, 30,000 by default) and a busy TCP
    connection, W re-plugged as above (W's IPv4 default route via the
    gateway 192.0.2.1, set at build, the same after): losses (one run, the
    unplugged link's) and duplicates (none) counted, the
    connection survives, C's per-mapping counter of W4 grew by at least the
    stream; IPv4 packets still reaching A inside IPv6 (IPIP, and behind an
    SRH with no segment left) are taken out by A's ila_in and put in again
    to B by A's ila_out4;
  - ilactl show dataplane / show stats; after a SIGKILL, and after a
    SIGTERM without --flush-on-exit, the prefix routes and the ila_in filter
    stay and a new ilad takes them over (one filter, its own), not before
    it is in sync (the mapper stopped meanwhile); on SIGTERM
    with --flush-on-exit ilad leaves no route of its protocol, no tc filter
    and no clsact.

Needs root, network namespaces and an ilad built with the BPF data path;
otherwise it reports one SKIP line and counts nothing.
"""
import json
import os
import ipaddress
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'vm'))

import ilad_net as N  # noqa: E402
import ilad_node  # noqa: E402
import metrics as M  # noqa: E402
from ilad_net import LOC, NS, W_SIR, X_SIR, FloodRecv, until  # noqa: E402
from vmlib import NetNS, ip, run  # noqa: E402

RATE = int(os.environ.get('ILA_BPF_HOT_RATE', '10000'))
COUNT = int(os.environ.get('ILA_BPF_HOT_COUNT', '50000'))
PORT = ilad_node.STREAM_PORT
METRICS_PORT = 9464  # C's metrics listen, in C's namespace
A_MAP_SIZE = 70001  # bpf-max-mappings of A: no other ilad's maps have this size
ETH_P_ALL = 0x0003
PREFIX4 = '192.0.2.0/24'       # vn blue's ipv4-prefix
W4 = '192.0.2.42'              # W's IPv4 address: moves with it
X4 = '192.0.2.200'             # X's, behind C
COUNT4 = int(os.environ.get('ILA_BPF_HOT4_COUNT', '30000'))
FLOOD_MAGIC = 0x494c4146       # tests/vm/flood.c's packet: "ILAF", run, seq, ns


def v4_ila(node, addr):
    """The IPv6 destination that carries IPv4 to addr at node: its locator,
    bytes 8-11 zero, the IPv4 address in bytes 12-15."""
    up = ipaddress.IPv6Address(LOC[node] + '::').packed[:8]
    return str(ipaddress.IPv6Address(up + bytes(4) + ipaddress.IPv4Address(addr).packed))


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipip_frame(dst_mac, src_mac, src6, dst6, src4, dst4, port, run_id, seq, srh):
    """Ethernet + IPv6 (+ an SRH with segments left 0) + IPv4 + UDP holding
    one of flood's packets (UDP checksum 0: none, as IPv4 allows)."""
    payload = struct.pack('!IIIQ', FLOOD_MAGIC, run_id, seq,
                          time.clock_gettime_ns(time.CLOCK_MONOTONIC)) + bytes(12)
    udp = struct.pack('!HHHH', 40000, port, 8 + len(payload), 0) + payload
    ip4 = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), seq & 0xffff, 0, 64,
                                17, 0, socket.inet_aton(src4), socket.inet_aton(dst4)))
    ip4[10:12] = struct.pack('!H', csum(bytes(ip4)))
    inner = bytes(ip4) + udp
    d6 = socket.inet_pton(socket.AF_INET6, dst6)
    ext = struct.pack('!BBBBBBH', 4, 2, 4, 0, 0, 0, 0) + d6 if srh else b''
    ip6 = struct.pack('!IHBB16s16s', 6 << 28, len(ext) + len(inner), 43 if srh else 4, 64,
                      socket.inet_pton(socket.AF_INET6, src6), d6)
    mac = lambda m: bytes(int(x, 16) for x in m.split(':'))  # noqa: E731
    return mac(dst_mac) + mac(src_mac) + b'\x86\xdd' + ip6 + ext + inner


def tc_ingress(ns, dev):
    """`tc filter show dev DEV ingress` in ns."""
    _, out = run(['tc', '-n', ns, 'filter', 'show', 'dev', dev, 'ingress'], check=False)
    return out


def ila_in_names(f):
    """The ila_in filters in `tc filter show` output, by name ("ila_in:[ID]")."""
    return sorted(re.findall(r'ila_in:\[\d+\]', f))


def has_clsact(ns, dev):
    _, out = run(['tc', '-n', ns, 'qdisc', 'show', 'dev', dev], check=False)
    return 'clsact' in out


def kernel_has_ila():
    """Whether this kernel has the ILA module, loaded or on disk."""
    if os.path.exists('/sys/module/ila'):
        return True
    top = '/lib/modules/%s' % os.uname().release
    for _, _, files in os.walk(top):
        if any(f.startswith('ila.ko') for f in files):
            return True
    return False


class BpfSuite(ilad_node.Suite):
    def __init__(self, name, res):
        super().__init__(name)
        self.res = res
        for n in ('a', 'b'):
            self.node_extra[n] = 'dataplane bpf\n'
        # A's maps get a size of their own, looked for with bpftool
        self.node_extra['a'] += 'bpf-max-mappings %d\n' % A_MAP_SIZE
        # C says nothing: dataplane auto, which must take BPF on a kernel
        # without the ILA module
        self.c_auto = not kernel_has_ila()
        self.node_extra['c'] = '' if self.c_auto else 'dataplane bpf\n'
        # C's Prometheus endpoint, on the loopback of its namespace
        self.node_extra['c'] += 'metrics listen 127.0.0.1 port %d\n' % METRICS_PORT
        for n in ('a', 'b', 'c'):
            self.node_extra[n] += 'vn blue ipv4-prefix %s\n' % PREFIX4
        self.mapper_extra = 'vn blue ipv4-prefix %s\n' % PREFIX4
        self.net.w4 = W4     # on W's interface from the build, with its default route
        self.net.x4 = X4     # X's, with its neighbour entries toward C, from the build

    def expected_routes(self, w_at):
        """One route per SIR prefix toward R (routes() shows it as 'PREFIX
        bpf ila_out dev n-r'), local delivery where a workload runs, nothing
        per mapping."""
        want = {}
        for n in ('a', 'b', 'c'):
            r = ['%s bpf ila_out dev %s-r' % (N.PREFIX, n)]
            for sir, at, link in ((W_SIR, w_at, '%s-w' % n), (X_SIR, 'c', 'c-x')):
                if n == at:
                    r.append('%s dev %s' % (sir, link))
            want[n] = sorted(r)
        return want

    def check_loss(self, what, count, sent, r, via_a, via_b):
        """The stream across a re-plug: every packet sent, none twice, and
        those lost one run of sequence numbers (the packets that reached A
        while W's link was unplugged, before A learned the move), not the
        tail; through A before and through B after."""
        lost, first, last = r['lost'], r.get('first_lost', -1), r.get('last_lost', -1)
        one_run = lost == 0 or (first >= 0 and last - first + 1 == lost and last < count - 1)
        self.check('%s: %d UDP packets at %d/s across the move A -> B: sent %d, %d arrived, %d '
                   'lost in one run (seq %d..%d: %.1f ms of the stream, W\'s link unplugged), '
                   '%d duplicated (%d reordered; %d through A, %d through B)' %
                   (what, count, RATE, sent.get('sent', 0), r['unique'], lost, first, last,
                    lost * 1000.0 / RATE, r['dup'], r['reordered'], via_a, via_b),
                   one_run and r['dup'] == 0 and sent.get('sent') == count and
                   sent.get('errors', 0) == 0, '%s | %s' % (sent['line'], r['line']))
        self.info('%s: sender %s' % (what, sent['line']))
        self.check('%s: the stream reached W through A before the move and through B after '
                   '(tx of the node end of W\'s link)' % what, via_a > 0 and via_b > 0,
                   (via_a, via_b))

    def mapping_at(self, node, addr):
        for m in self.net.ctls[node].json('show mappings %s' % addr).get('mappings', []):
            if m.get('address') == addr:
                return m
        return {}

    # ------------------------------------------------------------ layout

    def phase_layout(self):
        net = self.net
        for n in ('a', 'b', 'c'):
            _, raw = ip('-6', 'route', 'show', 'proto', str(N.PROTO), ns=NS[n])
            bpf = [l for l in raw.splitlines() if 'encap bpf' in l]
            self.check('layout: %s has one encap bpf route, %s, and no per-mapping route' %
                       (n.upper(), N.PREFIX),
                       len(bpf) == 1 and bpf[0].startswith(N.PREFIX) and 'ila_out' in bpf[0]
                       and 'encap ila' not in raw, raw.strip())
            f = tc_ingress(NS[n], '%s-r' % n)
            self.check('layout: ila_in on tc ingress of %s-r' % n, 'ila_in' in f, f.strip())
            d = net.ctls[n].json('show dataplane')
            conf = 'auto' if n == 'c' and self.c_auto else 'bpf'
            self.check('layout: ilactl show dataplane on %s: %s configured, bpf in use, uplink '
                       '%s-r' % (n.upper(), conf, n),
                       d.get('dataplane') == 'bpf' and d.get('configured') == conf and
                       d.get('uplinks') == ['%s-r' % n], d)
        # the programs are loaded before the drop; every map update after it
        # (the moves below) goes through the fds with CAP_NET_ADMIN alone
        caps = {}
        for n in ('a', 'b', 'c'):
            with open(net.path(n + '.log')) as f:
                m = re.findall(r'capabilities: (\S+)', f.read())
            caps[n] = m[-1] if m else None
        self.check('layout: each ilad runs with capabilities net_admin only after start',
                   all(v == 'net_admin' for v in caps.values()), caps)
        _, js = run(['bpftool', '-j', 'map', 'show'], check=False)
        try:
            sizes = [(m.get('name'), m.get('max_entries')) for m in json.loads(js)]
        except ValueError:
            sizes = []
        self.check('layout: A\'s bpf-max-mappings %d sizes its ila_map and ila_stats' % A_MAP_SIZE,
                   ('ila_map', A_MAP_SIZE) in sizes and ('ila_stats', A_MAP_SIZE) in sizes,
                   [s for s in sizes if s[0] in ('ila_map', 'ila_stats')])
        rc, out = ip('-6', 'route', 'get', W_SIR, ns=NS['r'], check=False)
        self.check('layout: R has no route to the SIR prefix (only translated packets cross it)',
                   rc != 0, out.strip())
        rc, out = net.ilactl('c', 'show', 'mappings')
        self.info('ilactl show mappings on C:\n' + out.rstrip())

    def capture_w_ila(self):
        """W's ILA address at A, as C's ila_out writes it (neutral-map
        changes the identifier too): a few packets captured on R."""
        with NetNS(NS['r']):
            # ETH_P_ALL: a socket of one protocol does not see what leaves
            s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        try:
            s.bind(('r-a', ETH_P_ALL))
            rid = self.run_id()
            N.flood_send(self.net, 'x', W_SIR, PORT, 100, 5, rid, src=X_SIR)
            time.sleep(0.2)
            for pkt in ilad_node.drain(s, skip_outgoing=False):
                p = ilad_node.parse_l4(pkt)
                if p and p[0] == X_SIR and ilad_node.ila_prefix(p[1]) == LOC['a']:
                    return p[1]
        finally:
            s.close()
        return None

    # ------------------------------------------------------------ hot move

    def phase_bpfhot(self):
        net = self.net
        self.w_ila = self.capture_w_ila()
        self.require('hot: W\'s ILA address at A seen on R: %s' % self.w_ila,
                     self.w_ila is not None and self.w_ila != W_SIR)
        c0 = self.mapping_at('c', W_SIR).get('packets', 0)
        st0 = net.stats('c')
        tcp = N.TcpPing(5003)
        tcp.start()
        log = net.path('bpfhot-recv.txt')
        rid = self.run_id()
        rx = FloodRecv(net, 'w', PORT, COUNT, rid, timeout_s=90, idle_ms=3000, log=log)
        tx = N.flood_send(net, 'x', W_SIR, PORT, RATE, COUNT, rid, src=X_SIR,
                          background=True, timeout_s=60)
        tx0 = net.port_tx()
        view0 = net.w_view()
        time.sleep(min(2.0, COUNT / RATE / 3))
        t_attach = time.monotonic()
        tx_move, (rc, out, t_done) = net.move_w(
            'b', lambda: net.ilactl('b', 'attach', W_SIR, 'dev', 'b-w') + (time.monotonic(),))
        t_plug = time.monotonic()
        # C's map follows: polled (bounded), the push's arrival within ~20 ms
        moved = until(lambda: self.mapping_at('c', W_SIR).get('locator') == LOC['b'], 10, 0.02)
        t_c = time.monotonic()
        sent = N.flood_send_result(tx, 90)
        r = rx.result(60)
        time.sleep(0.3)
        tcp.stop()
        via_a, via_b = tx_move - tx0, net.port_tx() - tx_move
        self.where = 'b'
        self.check('hot: W\'s link re-plugged at B and ilactl attach W dev b-w there (%.0f ms), '
                   'the gateway given by ilad at B (%.0f ms)' % ((t_done - t_attach) * 1000,
                                                                  (t_plug - t_attach) * 1000),
                   rc == 0, out.strip())
        self.check_view('hot', view0)
        self.check_loss('hot', COUNT, sent, r, via_a, via_b)
        self.check('hot: TCP connection X -> W open across the move: %d round trips, longest '
                   'wait %.0f ms, no reset' % (tcp.rounds, tcp.max_wait * 1000),
                   tcp.error is None and tcp.rounds > 0, tcp.error or '')
        m = self.mapping_at('c', W_SIR)
        c1 = m.get('packets', 0)
        self.check('hot: C\'s map holds W at B\'s locator %.0f ms after the attach' %
                   ((t_c - t_attach) * 1000), bool(moved), m)
        self.check('hot: C\'s per-mapping counter of W grew by %d packets (>= the %d of the '
                   'stream: every one translated by ila_out at C)' % (c1 - c0, COUNT),
                   c1 - c0 >= COUNT, m)
        st1 = net.stats('c')
        self.info('hot: C bpf counters: out_translated +%d, out_miss +%d, bpf_batches +%d' % (
            st1.get('bpf_out_translated', 0) - st0.get('bpf_out_translated', 0),
            st1.get('bpf_out_miss', 0) - st0.get('bpf_out_miss', 0),
            st1.get('bpf_batches', 0) - st0.get('bpf_batches', 0)))
        got = self.routes_now()
        self.check('hot: afterwards every node\'s routes as expected (W local at B)',
                   got == self.expected_routes('b'), got)
        # in flight: packets still addressed to W at A
        sa0 = net.stats('a')
        n = 200
        rid = self.run_id()
        rx = FloodRecv(net, 'w', PORT, n, rid, timeout_s=10, idle_ms=1500)
        N.flood_send(net, 'x', self.w_ila, PORT, 200, n, rid, src=X_SIR)
        r = rx.result(15)
        via_b = r['unique']     # W's link is at B
        sa1 = net.stats('a')
        self.check('hot: %d packets sent to W\'s old ILA address %s: A translates them back '
                   '(in_translated +%d) and on to B (out_translated +%d); %d reach W through B'
                   % (n, self.w_ila, sa1.get('bpf_in_translated', 0) -
                      sa0.get('bpf_in_translated', 0), sa1.get('bpf_out_translated', 0) -
                      sa0.get('bpf_out_translated', 0), via_b),
                   via_b == n and sa1.get('bpf_out_translated', 0) -
                   sa0.get('bpf_out_translated', 0) >= n, r['line'])

    # ------------------------------------------------------------ IPv4

    def v4_setup(self):
        """IPv4 on the workload links only (R and the fabric stay IPv6): W4
        is on W's interface since the build (default route via the gateway
        192.0.2.1), X4 on X's loopback with permanent neighbour entries
        between X and C, also from the build; forwarding on the nodes; W
        back at A (a move, W unchanged), X4 attached at C, W4 at A."""
        net = self.net
        for n in ('a', 'b', 'c'):
            run(['ip', 'netns', 'exec', NS[n], 'sh', '-c',
                 'echo 1 >/proc/sys/net/ipv4/conf/all/forwarding'])
        if net.w_at != 'a':
            view0 = net.w_view()
            _, (rc, out) = net.move_w('a', lambda: net.ilactl('a', 'attach', W_SIR, 'dev',
                                                             'a-w'))
            back = until(lambda: self.mapping_at('c', W_SIR).get('locator') == LOC['a'], 10,
                         0.02)
            self.require('v4: W moved back to A (re-plugged, attached)', rc == 0 and back,
                         out.strip())
            self.where = 'a'
            self.check_view('v4: back to A', view0)
        rc1, out1 = net.ilactl('c', 'attach', X4, 'dev', 'c-x')
        rc2, out2 = net.ilactl('a', 'attach', W4, 'dev', 'a-w')
        self.require('v4: ilactl attach X4 %s at C and W4 %s at A' % (X4, W4),
                     rc1 == 0 and rc2 == 0, (out1 + out2).strip())
        ok = until(lambda: self.mapping_at('c', W4).get('locator') == LOC['a'] and
                   self.mapping_at('c', W4).get('in_map') and
                   self.mapping_at('a', X4).get('in_map') and
                   self.mapping_at('b', W4).get('in_map'), 10, 0.05)
        self.require('v4: W4 in the maps of B and C at A\'s locator, X4 in A\'s', bool(ok),
                     '%s %s' % (self.mapping_at('c', W4), self.mapping_at('a', X4)))
        for n in ('a', 'b', 'c'):
            _, raw = ip('-4', 'route', 'show', 'proto', str(N.PROTO), ns=NS[n])
            bpf = [l for l in raw.splitlines() if 'encap bpf' in l]
            self.check('v4: %s has one IPv4 route for %s, encap bpf xmit ila_out4, and no '
                       'route per remote IPv4 mapping' % (n.upper(), PREFIX4),
                       len(bpf) == 1 and bpf[0].startswith(PREFIX4) and 'ila_out4' in bpf[0]
                       and len(raw.splitlines()) == 1 + (n in ('a', 'c')), raw.strip())

    def v4_wire(self):
        """What C puts on the fabric for W4 at A, captured on R: IPv6, next
        header 4, hop limit 64, from C's address on its uplink to A's
        locator with W4 in the last 32 bits, then X4's IPv4 packet."""
        with NetNS(NS['r']):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        seen = None
        try:
            s.bind(('r-c', ETH_P_ALL))
            rid = self.run_id()
            N.flood_send(self.net, 'x', W4, PORT, 100, 5, rid, src=X4)
            time.sleep(0.2)
            for pkt in ilad_node.drain(s):
                if len(pkt) >= 60 and pkt[0] >> 4 == 6 and pkt[6] == 4:
                    seen = pkt
                    break
        finally:
            s.close()
        want = (4, 64, N.FABRIC['c'] + '2', v4_ila('a', W4), X4, W4)
        got = None
        if seen:
            got = (seen[6], seen[7], str(ipaddress.IPv6Address(seen[8:24])),
                   str(ipaddress.IPv6Address(seen[24:40])), socket.inet_ntoa(seen[52:56]),
                   socket.inet_ntoa(seen[56:60]))
        want = tuple(str(ipaddress.ip_address(w)) if isinstance(w, str) else w for w in want)
        self.check('v4: on the wire (captured on R): IPv6 next header %d, hop limit %d, from %s '
                   'to %s, carrying IPv4 %s -> %s' % want, got == want, got)

    def phase_metrics(self):
        """C's BPF counters in its Prometheus scrape, as in show stats."""
        before = self.net.stats('c').get('bpf_out_translated', 0)
        with NetNS(NS['c']):
            st, _, body = M.scrape(METRICS_PORT)
        after = self.net.stats('c').get('bpf_out_translated', 0)
        got = M.sample(body, 'ilad_bpf_program_events_total{event="out_translated"}')
        self.check('metrics: C\'s scrape has ilad_bpf_program_events_total{event='
                   '"out_translated"} %s, between show stats\' bpf_out_translated before (%d) '
                   'and after (%d), above 0' % (got, before, after),
                   st == 200 and got is not None and 0 < before <= got <= after, body[-400:])
        for name in ('ilad_bpf_map_updates_total{op="set"}', 'ilad_bpf_map_batches_total',
                     'ilad_bpf_map_failures_total'):
            self.check('metrics: C\'s scrape has %s' % name, M.sample(body, name) is not None,
                       body[-400:])
        if M.PROMTOOL:
            rc, out = M.promtool(body)
            self.check('metrics: promtool check metrics is clean for C (dataplane bpf)',
                       rc == 0, out)

    def phase_v4hot(self):
        net = self.net
        self.v4_setup()
        self.v4_wire()
        c0 = self.mapping_at('c', W4).get('packets', 0)
        st0 = {n: net.stats(n) for n in ('a', 'b', 'c')}
        tcp = N.TcpPing(5004, w=W4, x=X4)
        tcp.start()
        log = net.path('v4hot-recv.txt')
        rid = self.run_id()
        rx = FloodRecv(net, 'w', PORT, COUNT4, rid, timeout_s=60, idle_ms=3000, log=log)
        tx = N.flood_send(net, 'x', W4, PORT, RATE, COUNT4, rid, src=X4, background=True,
                          timeout_s=60)
        tx0 = net.port_tx()
        view0 = net.w_view()
        time.sleep(min(1.0, COUNT4 / RATE / 3))
        t_attach = time.monotonic()
        tx_move, (rc, out, rc6, out6, t_done) = net.move_w(
            'b', lambda: net.ilactl('b', 'attach', W4, 'dev', 'b-w') +
            net.ilactl('b', 'attach', W_SIR, 'dev', 'b-w') + (time.monotonic(),))
        t_plug = time.monotonic()
        moved = until(lambda: self.mapping_at('c', W4).get('locator') == LOC['b'], 10, 0.02)
        t_c = time.monotonic()
        sent = N.flood_send_result(tx, 60)
        r = rx.result(60)
        time.sleep(0.3)
        tcp.stop()
        via_a, via_b = tx_move - tx0, net.port_tx() - tx_move
        self.where = 'b'
        self.check('v4: W\'s link re-plugged at B and ilactl attach W4 and W dev b-w there '
                   '(%.0f ms), the gateway given by ilad at B (%.0f ms)' % (
                       (t_done - t_attach) * 1000, (t_plug - t_attach) * 1000),
                   rc == 0 and rc6 == 0, (out + out6).strip())
        self.check_view('v4', view0)
        self.check_loss('v4', COUNT4, sent, r, via_a, via_b)
        self.check('v4: IPv4 TCP connection X4 -> W4 open across the move: %d round trips, '
                   'longest wait %.0f ms, no reset' % (tcp.rounds, tcp.max_wait * 1000),
                   tcp.error is None and tcp.rounds > 0, tcp.error or '')
        m = self.mapping_at('c', W4)
        self.check('v4: C\'s map holds W4 at B\'s locator %.0f ms after the attach' %
                   ((t_c - t_attach) * 1000), bool(moved), m)
        self.check('v4: C\'s per-mapping counter of W4 grew by %d packets (>= the %d of the '
                   'stream: every one put inside IPv6 by ila_out4 at C)' %
                   (m.get('packets', 0) - c0, COUNT4), m.get('packets', 0) - c0 >= COUNT4, m)
        st1 = {n: net.stats(n) for n in ('a', 'b', 'c')}

        def d(n, k):
            return st1[n].get('bpf_' + k, 0) - st0[n].get('bpf_' + k, 0)
        self.info('v4: C out4_encapsulated +%d, out4_miss +%d; A in4_decapsulated +%d, '
                  'out4_encapsulated +%d (in flight, on to B); B in4_decapsulated +%d' % (
                      d('c', 'out4_encapsulated'), d('c', 'out4_miss'),
                      d('a', 'in4_decapsulated'), d('a', 'out4_encapsulated'),
                      d('b', 'in4_decapsulated')))
        fm = st1['a'].get('forwarded_moves', 0) - st0['a'].get('forwarded_moves', 0)
        self.check('v4: A took the moves of W4 and W as ones to forward for (forwarded_moves '
                   '+%d) and sent on %d IPv4 packets that still reached it (out4_encapsulated)' %
                   (fm, d('a', 'out4_encapsulated')), fm == 2)
        self.check('v4: every packet of the stream came out of IPv6 at A or B '
                   '(in4_decapsulated A +%d, B +%d, >= %d)' % (
                       d('a', 'in4_decapsulated'), d('b', 'in4_decapsulated'), COUNT4),
                   d('a', 'in4_decapsulated') + d('b', 'in4_decapsulated') >= COUNT4 and
                   d('a', 'in4_failed') + d('b', 'in4_failed') == 0, (st0, st1))
        _, raw = ip('-4', 'route', 'show', 'proto', str(N.PROTO), ns=NS['a'])
        self.check('v4: A has no route of W4 any more (only the prefix route and X4\'s map '
                   'entry lead anywhere)', W4 not in raw, raw)
        self.v4_inflight()
        self.v4_mtu()
        self.v4_bulk()

    def v4_bulk(self):
        """A bulk IPv4 TCP transfer X4 -> W4 (full-sized segments, GSO where
        the devices offer it) arrives whole: segmentation survives the
        IPv6 header put in front and taken off again."""
        size = 4 << 20
        port = 5006
        with NetNS(NS['w']):
            lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with NetNS(NS['x']):
            cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        got = 0
        try:
            lst.bind((W4, port))
            lst.listen(1)
            lst.settimeout(5)
            cli.settimeout(5)
            cli.bind((X4, 0))
            cli.connect((W4, port))
            srv, _ = lst.accept()
            srv.settimeout(5)

            def pump():
                cli.sendall(bytes(size))
                cli.shutdown(socket.SHUT_WR)
            t = threading.Thread(target=pump, daemon=True)
            t.start()
            while True:
                b = srv.recv(1 << 16)
                if not b:
                    break
                got += len(b)
            t.join(10)
            srv.close()
            err = ''
        except OSError as e:
            err = str(e)
        finally:
            cli.close()
            lst.close()
        self.info('v4: bulk: %s' % {n: {k: v for k, v in self.net.stats(n).items()
                                          if k.startswith('bpf_') and '4' in k and v}
                                      for n in ('a', 'b', 'c')})
        self.check('v4: a bulk IPv4 TCP transfer X4 -> W4 of %d bytes arrives whole (%d)' %
                   (size, got), got == size, err)

    def v4_mtu(self):
        """The IPv4 prefix route's MTU leaves room for the IPv6 header: a
        datagram of 1460 bytes (with DF) crosses, one of 1461 is refused at
        C with "fragmentation needed", and X learns the path MTU 1460."""
        port = 5005
        with NetNS(NS['w']):
            rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with NetNS(NS['x']):
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rx.bind((W4, port))
            rx.settimeout(2)
            tx.bind((X4, 0))
            tx.setsockopt(socket.IPPROTO_IP, 10, 2)    # IP_MTU_DISCOVER: IP_PMTUDISC_DO
            tx.connect((W4, port))
            tx.send(bytes(1460 - 28))
            try:
                got = len(rx.recv(2048))
            except socket.timeout:
                got = 0
            tx.send(bytes(1461 - 28))
            mtu = until(lambda: tx.getsockopt(socket.IPPROTO_IP, 14) < 1500, 2)  # IP_MTU
            mtu = tx.getsockopt(socket.IPPROTO_IP, 14)
        except OSError as e:
            got, mtu = -1, str(e)
        finally:
            rx.close()
            tx.close()
        _, rt = ip('-4', 'route', 'show', PREFIX4, ns=NS['c'])
        self.info('v4: C: ip route show %s: %s' % (PREFIX4, rt.strip()))
        self.check('v4: an IPv4 datagram of 1460 bytes (DF) reaches W4 inside IPv6 over the '
                   '1500-byte fabric (%d bytes of data arrived); a bigger one is refused at C: '
                   'X\'s path MTU to W4 is %s' % (got, mtu), got == 1460 - 28 and mtu == 1460)

    def v4_inflight(self):
        """IPv4 packets still reaching A inside IPv6 after the move, as C
        sent them before its map changed: built by hand in X and sent to
        A's locator, half of them IPIP, half behind an SRH."""
        net = self.net
        n = 100
        sa0 = net.stats('a')
        rid = self.run_id()
        rx = FloodRecv(net, 'w', PORT, n, rid, timeout_s=10, idle_ms=1500)
        with NetNS(NS['x']):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            s.bind(('x-c', 0))
            dst6 = v4_ila('a', W4)
            for seq in range(n):
                s.send(ipip_frame(net.mac['c-x'], net.mac['x-c'], X_SIR, dst6, X4, W4, PORT,
                                  rid, seq, srh=seq % 2 == 1))
                time.sleep(0.002)
        finally:
            s.close()
        r = rx.result(15)
        via_b = r['unique']     # W's link is at B
        sa1 = net.stats('a')
        dec = sa1.get('bpf_in4_decapsulated', 0) - sa0.get('bpf_in4_decapsulated', 0)
        enc = sa1.get('bpf_out4_encapsulated', 0) - sa0.get('bpf_out4_encapsulated', 0)
        self.check('v4: %d IPv4 packets inside IPv6 to W4 at A\'s locator (%s; %d IPIP, %d '
                   'behind an SRH) after the move: A takes them out (in4_decapsulated +%d) and '
                   'puts them in again to B (out4_encapsulated +%d); %d reach W4 through B' % (
                       n, dst6, n - n // 2, n // 2, dec, enc, via_b),
                   dec >= n and enc >= n and via_b == n and r['dup'] == 0, r['line'])

    # ------------------------------------------------------------ cold move

    def phase_bpfcold(self):
        """Detach down: C keeps W in its map, DOWN, under an unreachable /128
        route (senders get ICMPv6 unreachable, as with the module); attach at
        the other node: delivery resumes through the map alone."""
        net = self.net
        src, dst = self.where, 'a' if self.where == 'b' else 'b'
        run(['ip', 'netns', 'exec', NS['c'], 'sh', '-c',
             'echo 0 >/proc/sys/net/ipv6/icmp/ratelimit'])
        rc, out = net.ilactl(src, 'detach', W_SIR, 'down')
        down = until(lambda: 'unreachable %s' % W_SIR in N.routes(NS['c']), 10)
        m = self.mapping_at('c', W_SIR)
        self.check('cold: detach W down at %s: C has it down in its map (%s, in_map %s) under an '
                   'unreachable route' % (src.upper(), m.get('state'), m.get('in_map')),
                   rc == 0 and down and m.get('state') == 'down' and m.get('in_map'),
                   '%s; %s; C routes %s' % (out.strip(), m, N.routes(NS['c'])))
        gap = 20
        rid = self.run_id()
        rx = FloodRecv(net, 'w', PORT, gap, rid, timeout_s=10, idle_ms=1500)
        s = N.flood_send(net, 'x', W_SIR, PORT, 50, gap, rid, src=X_SIR)
        rx.p.send_signal(signal.SIGTERM)
        r = rx.result(10)
        self.check('cold: %d packets during the gap: %d ICMPv6 unreachable back to X, %d reached '
                   'W' % (gap, s['icmp'], r['unique']),
                   s['icmp'] == gap and s['icmp_type'] == 1 and r['unique'] == 0, s['line'])
        view0 = net.w_view()
        t0 = time.monotonic()
        _, (rc, out) = net.move_w(dst, lambda: net.ilactl(dst, 'attach', W_SIR, 'dev',
                                                          '%s-w' % dst))
        back = until(lambda: self.mapping_at('c', W_SIR).get('locator') == LOC[dst] and
                     'unreachable %s' % W_SIR not in N.routes(NS['c']), 10, 0.02)
        t1 = time.monotonic()
        self.where = dst
        rid = self.run_id()
        rx = FloodRecv(net, 'w', PORT, gap, rid, timeout_s=10, idle_ms=1500)
        s = N.flood_send(net, 'x', W_SIR, PORT, 50, gap, rid, src=X_SIR)
        r = rx.result(15)
        via = r['unique']       # W's link is at dst
        self.check_view('cold', view0)
        self.check('cold: attach at %s: C maps W to %s %.0f ms later, %d of %d packets reach W '
                   'through %s, no ICMP' % (dst.upper(), LOC[dst], (t1 - t0) * 1000, via, gap,
                                            dst.upper()),
                   rc == 0 and back and via == gap and s['icmp'] == 0,
                   '%s %s | %s' % (out.strip(), s['line'], r['line']))

    # ------------------------------------------------------------ exit, restart

    def left(self, n):
        """What node n has on tc ingress of its uplink, and its routes of
        ilad's protocol (IPv6 and IPv4)."""
        _, raw = ip('-6', 'route', 'show', 'proto', str(N.PROTO), ns=NS[n])
        _, raw4 = ip('-4', 'route', 'show', 'proto', str(N.PROTO), ns=NS[n])
        return tc_ingress(NS[n], '%s-r' % n), raw + raw4

    def phase_cleanup(self):
        net = self.net
        # SIGKILL: the prefix route and the filter stay; a new ilad takes them over
        killed = ila_in_names(tc_ingress(NS['a'], 'a-r'))
        net.stop('a', sig=signal.SIGKILL)
        _, raw = ip('-6', 'route', 'show', 'proto', str(N.PROTO), ns=NS['a'])
        self.info('after SIGKILL, A keeps: %s | %s' % (
            ' / '.join(raw.splitlines()), tc_ingress(NS['a'], 'a-r').strip().replace('\n', ' ')))
        net.start_ilad('a', extra=self.node_extra['a'])
        until(lambda: ila_in_names(tc_ingress(NS['a'], 'a-r')) not in ([], killed), 5, 0.05)
        f = tc_ingress(NS['a'], 'a-r')
        _, raw = ip('-6', 'route', 'show', 'proto', str(N.PROTO), ns=NS['a'])
        _, raw4 = ip('-4', 'route', 'show', 'proto', str(N.PROTO), ns=NS['a'])
        self.check('cleanup: ilad A restarted after SIGKILL: in sync, one ila_in filter on a-r '
                   '(its own, not the killed one\'s), one prefix route, one IPv4 prefix route '
                   '(ila_out4)',
                   len(ila_in_names(f)) == 1 and ila_in_names(f) != killed and
                   sum('encap bpf' in l for l in raw.splitlines()) == 1 and
                   sum('encap bpf xmit ila_out4' in l for l in raw4.splitlines()) == 1,
                   f + raw + raw4)
        # SIGTERM without --flush-on-exit: the same stay, still holding A's
        # programs; the next ilad takes them over once in sync
        name0 = ila_in_names(f)
        net.stop('a')
        f, raw = self.left('a')
        self.check('cleanup: ilad A stopped (SIGTERM, no --flush-on-exit): its ila_in filter '
                   'and its prefix routes (IPv6 and IPv4) stay',
                   ila_in_names(f) == name0 and len(name0) == 1 and
                   sum('encap bpf' in l for l in raw.splitlines()) == 2, f + raw)
        # the mapper unreachable (stopped) while A starts: the earlier
        # filter and routes stay, translating, until A is in sync
        mapper = net.procs['mapper']
        mapper.send_signal(signal.SIGSTOP)
        try:
            net.start_ilad('a', extra=self.node_extra['a'], args=['--flush-on-exit'],
                           wait=False)
            waiting = until(lambda: 'keep translating until the cache is in sync' in
                            open(net.path('a.log')).read(), 10, 0.05)
            time.sleep(1.0)     # A runs on without a mapper
            st = net.mapper_state('a') or {}
            f, raw = self.left('a')
        finally:
            mapper.send_signal(signal.SIGCONT)
        self.check('cleanup: ilad A started while the mapper is unreachable (session %s): the '
                   'earlier ila_in filter and prefix routes stay in place' % st.get('state'),
                   bool(waiting) and st.get('state') != 'up' and ila_in_names(f) == name0 and
                   sum('encap bpf' in l for l in raw.splitlines()) == 2,
                   '%s%s; A log %s' % (f, raw, net.log_tail('a', 4)))
        net.wait_synced('a', timeout=40)
        until(lambda: ila_in_names(self.left('a')[0]) not in ([], name0), 5, 0.05)
        f, raw = self.left('a')
        self.check('cleanup: ilad A, once the mapper is back and A in sync: its own ila_in '
                   'filter replaced the earlier one (one left), one IPv6 and one IPv4 prefix '
                   'route',
                   len(ila_in_names(f)) == 1 and ila_in_names(f) != name0 and
                   sum('encap bpf' in l for l in raw.splitlines()) == 2, f + raw)
        for n in ('b', 'c'):
            net.stop(n)
            f, raw = self.left(n)
            self.check('cleanup: ilad %s stopped (SIGTERM, no --flush-on-exit): one ila_in '
                       'filter and its prefix route stay on %s-r' % (n.upper(), n),
                       len(ila_in_names(f)) == 1 and 'encap bpf' in raw, f + raw)
        net.stop('a')
        f, raw = self.left('a')
        self.check('cleanup: ilad A stopped (SIGTERM, --flush-on-exit): no encap bpf route '
                   '(IPv6 or IPv4), no tc filter, no clsact left on a-r',
                   'encap bpf' not in raw and not f.strip() and not has_clsact(NS['a'], 'a-r'),
                   raw + f)
        _, progs = run(['bpftool', 'prog', 'show', 'name', 'ila_out'], check=False)
        self.info('bpftool prog show name ila_out afterwards: %s' % (progs.strip() or 'none'))


def usable(it):
    """Why the suite cannot run here, or None."""
    if os.geteuid() != 0:
        return 'not root'
    conf = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'ila-bpf-probe-%d.conf' % os.getpid())
    with open(conf, 'w') as f:
        f.write('node-name p\nlocator 2001:db8:1:0\nmapper ::1\nplaintext\ndataplane bpf\n'
                'vn blue id 1 sir-prefix 2001:db8:100::/64\n')
    try:
        r = subprocess.run([it.ILAD, '-n', '-f', conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
    finally:
        os.unlink(conf)
    if r.returncode != 0:
        return 'ilad without the BPF data path: %s' % r.stdout.strip()
    return None


def suite(it, root, res):
    why = usable(it)
    if why:
        print('SKIP: bpf-move: %s' % why, flush=True)
        return
    N.OUT = root     # the daemons' logs are kept with the other suites'
    s = BpfSuite('bpf-move', res)
    t0 = time.monotonic()
    try:
        s.setup()
        for ph in ('layout', 'bpfhot', 'metrics', 'v4hot', 'bpfcold', 'cleanup'):
            t = time.monotonic()
            try:
                getattr(s, 'phase_' + ph)()
            except (it.Failed, N.Failed, OSError, subprocess.SubprocessError, KeyError,
                    ValueError) as e:
                res.check('bpf-move: %s aborted' % ph, False, '%s: %s' % (type(e).__name__, e))
                break
            print('  (bpf-move %s: %.1f s)' % (ph, time.monotonic() - t), flush=True)
    except (it.Failed, N.Failed) as e:
        res.check('bpf-move: setup', False, str(e))
        s.diagnose()
    finally:
        s.net.close()
    print('  (bpf-move: %.1f s)' % (time.monotonic() - t0), flush=True)
