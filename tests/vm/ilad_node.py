#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The ilad suites (tests/vm/suites/ilad-*.sh): ilad on a kernel with ILA.

usage: ilad_node.py SUITE [PHASE...]
Phases, run in the order given on one network (see ilad_net.py; all, by
default):
  routes     after the pushes, `ip -6 route show proto ila` on A, B and C
             lists exactly the expected routes, and each node's ILA
             translation table (read over generic netlink) its one entry
  checksums  UDP both ways and a real TCP connection X -> W through the
             translations under the default checksum mode; a capture on R
             (ILA addresses on the wire) and one on A's link to W (after the
             translation back to the SIR address) show valid transport
             checksums, computed here independently
  spoof      an unsolicited NA on C's workload link for a new allowed address
             attaches it at C (the path is live); one for W's address, which
             runs at A and is not expected at C, moves nothing and raises
             spoof_refused
  restart    ilad on C restarted (SIGTERM, start) under a stream X -> W: no
             packet lost and no route of ilad's protocol touched (ip monitor);
             with BPF, once more with SIGKILL
  hot        W moves A -> B under a 10,000 packets/s stream of 50,000
             numbered packets and a busy TCP connection: its link is
             re-plugged at B (ilad_net.Net.move_w) and attached there at
             once; the packets that reach A while the link is unplugged,
             before A learns the move, are lost (one run of sequence
             numbers, counted and printed), none other; no duplicate, no
             reset; W's routes and neighbour entries for the gateway the
             same before and after; convergence time at C and the packets A
             forwarded are printed; packets sent to W's old ILA address
             afterwards are re-translated by A to B
  inflight   W moves back B -> A under the stream while the mapper's
             messages to C are delayed (a correspondent with a stale cache):
             C keeps sending to B's locator after B switched, B forwards
             such packets (counted); losses as in hot, one run
  cold       detach W down where it runs: senders get ICMPv6 unreachable for
             every packet of the gap; after W's link is re-plugged and
             attached at the other node delivery resumes
  failover   the other node prepared as standby; W's node dies (link cut,
             ilad SIGKILLed) and W's link is re-plugged at the standby: after
             the mapper's dead timer the traffic reaches W through the
             standby
Every move leaves W's routes and its neighbour entries for the gateway as
they were (checked; nothing in W is written after the build).
Each phase starts from where the previous one left W (A at first).

The data path is the module (the test VM) or, with ILA_DATAPLANE=bpf,
ilad's BPF programs (natively: tests/integration/run ilad-node-bpf). With
BPF the checks read the same facts where BPF keeps them: one `encap bpf
xmit ila_out` route per SIR prefix and the node's ila_map (bpf(2), through
the map ids of ilad's fdinfo) instead of a route per mapping; ila_locators,
ila_prefixes and ila_in on tc ingress of the uplink instead of the
translation table; a DOWN mapping keeps its /128 unreachable route in
both. With BPF, ilad stopped by SIGTERM (without --flush-on-exit) leaves
its prefix route and ila_in translating, and the new ilad replaces them in
place once in sync (doc/bpf.md): the restart phase expects no loss there
either.
Every wait is bounded; every process and namespace is removed at the end.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmlib import (PACKET_OUTGOING, Failed, NetNS, Results, ila_table, ip, norm6, run,
                   tx_csum_off)
import ilad_net as N
from ilad_net import LOC, NS, PREFIX_LOC, W_SIR, X_SIR, DataWatch, FloodRecv, Net, until

ETH_P_ALL = 0x0003
IPV6_RECVPKTINFO, IPV6_PKTINFO = 49, 50
IPV6_MULTICAST_IF, IPV6_MULTICAST_HOPS = 17, 18
HOT_RATE = int(os.environ.get('ILA_VM_HOT_RATE', '10000'))
HOT_COUNT = int(os.environ.get('ILA_VM_HOT_COUNT', '50000'))
PHASES = ['routes', 'checksums', 'spoof', 'restart', 'hot', 'inflight', 'cold', 'failover']
STREAM_PORT = 6000
PUSH_DELAY_MS = 100 # C's ilad held stopped at the move in the inflight phase
LUID = 1            # the kernel's number of ident-type luid


class Suite:
    def __init__(self, name, dataplane=None):
        self.res = Results()
        self.net = Net(name, dataplane)
        self.bpf = self.net.dataplane == 'bpf'
        self.where = 'a'        # the node W runs at
        self.w_ila = None       # W's ILA address at A, as seen on the wire
        self.seq = 0            # flood run ids
        self.node_extra = {}    # node -> more ilad.conf lines (suites built on this one)
        self.mapper_extra = ''

    def check(self, name, ok, detail=''):
        """A result line; the figures are in the name, the detail (what was
        seen) is printed for failures only."""
        return self.res.check(name, ok, '' if ok else detail)

    def require(self, name, ok, detail=''):
        """A check the rest of the suite depends on."""
        return self.res.require(name, ok, '' if ok else detail)

    def info(self, text):
        Results.info(text)

    def run_id(self):
        self.seq += 1
        return self.seq

    # ------------------------------------------------------------ setup

    def setup(self):
        net = self.net
        tools = {'ilad': N.ILAD, 'ilactl': N.ILACTL, 'ila-mapper': N.MAPPER}
        missing = [k for k, v in tools.items() if not v or not os.access(v, os.X_OK)]
        self.require('binaries ilad, ilactl, ila-mapper in %s' % N.BUILD, not missing,
                     'missing: %s (set ILA_BUILD to a built tree)' % ' '.join(missing))
        net.flood = N.flood_tool(net.dir)
        t0 = time.monotonic()
        net.build()
        net.certs(['mapper', 'a', 'b', 'c'])
        net.start_mapper(['a', 'b', 'c'], extra=self.mapper_extra)
        # C lets workloads attach by themselves on its workload link (the
        # spoof phase needs it); A and B attach only when told
        net.start_ilad('c', extra='vn blue allow %s\n' % N.PREFIX + self.node_extra.get('c', ''),
                       wait=False)
        net.start_ilad('a', extra=self.node_extra.get('a', ''), wait=False)
        net.start_ilad('b', extra=self.node_extra.get('b', ''), wait=False)
        for n in ('a', 'b', 'c'):
            net.wait_synced(n)
        self.check('ilad a, b, c: TLS sessions to the mapper at [%s]:%d up, vn blue in sync' %
                   (N.MAPPER_ADDR, N.MAPPER_PORT),
                   all(net.mapper_state(n).get('tls') for n in ('a', 'b', 'c')),
                   str([net.mapper_state(n) for n in ('a', 'b', 'c')]))
        rc1, out1 = net.ilactl('c', 'attach', X_SIR, 'dev', 'c-x')
        rc2, out2 = net.ilactl('a', 'attach', W_SIR, 'dev', 'a-w')
        self.require('ilactl attach X at C and W at A', rc1 == 0 and rc2 == 0,
                     (out1 + out2).strip())
        ok = until(lambda: self.routes_now() == self.expected_routes('a'), 20, 0.2)
        refused = ['%s: %s' % (n, l) for n in ('a', 'b', 'c')
                   for l in open(net.path(n + '.log')).read().splitlines()
                   if 'refused' in l][:3]
        self.require('routes of X and W pushed to every node', ok,
                     'got %s; %s' % (self.routes_now(), ' | '.join(refused)))
        self.info('setup: 7 namespaces, mapper and 3 ilad up (data path %s), W at A, X at C '
                  'in %.1f s' % (self.net.dataplane, time.monotonic() - t0))

    def check_view(self, what, view0):
        """W's routes and its neighbour entries for the gateway are what they
        were before the move (ilad_net.Net.w_view), and it has them."""
        view1 = self.net.w_view()
        self.check('%s: W\'s routes and its neighbour entries for the gateway are the same '
                   'before and after the move (%s lladdr %s)' % (
                       what, N.GW6, (view0.get('gw6') or [{}])[0].get('lladdr')),
                   view1 == view0 and view0['gw6'] and view0['routes6'] and
                   (view0['gw4'] is None or view0['gw4']), 'before %s after %s' % (view0, view1))

    def dp(self, node):
        """node's routes of ilad's protocol and, with BPF, its ila_map."""
        return sorted(N.routes(NS[node]) + self.net.bpf_mappings(node))

    def routes_now(self):
        return {n: self.dp(n) for n in ('a', 'b', 'c')}

    def to_loc(self, sir, loc):
        """How dp() shows that sir is sent to locator loc."""
        if self.bpf:
            return '%s map %s up' % (sir, loc)
        return '%s ila %s neutral-map luid' % (sir, loc)

    def uplink_routes(self, node):
        """With BPF, the prefix route of each vn node serves (node_extra may
        add vns), toward R; nothing with the module."""
        if not self.bpf:
            return []
        prefixes = [N.PREFIX] + re.findall(r'sir-prefix (\S+)', self.node_extra.get(node, ''))
        return ['%s bpf ila_out dev %s-r' % (p, node) for p in prefixes]

    def expected_routes(self, w_at):
        """What dp() must list on each node when W runs at w_at and X at C:
        local delivery where a workload runs, an encap ila route to its
        locator elsewhere (BPF: the prefix route and an ila_map entry)."""
        want = {}
        for n in ('a', 'b', 'c'):
            r = self.uplink_routes(n)
            for sir, at, link in ((W_SIR, w_at, '%s-w' % n), (X_SIR, 'c', 'c-x')):
                if n == at:
                    r.append('%s dev %s' % (sir, link))
                else:
                    r.append(self.to_loc(sir, LOC[at]))
            want[n] = sorted(r)
        return want

    # ------------------------------------------------------------ routes

    def phase_routes(self):
        got = self.routes_now()
        want = self.expected_routes('a')
        _, raw = ip('-6', 'route', 'show', 'proto', 'ila', ns=NS['b'], check=False)
        by_name = 'proto ila' if raw.strip() else 'proto %d' % N.PROTO
        for n in ('a', 'b', 'c'):
            self.check('routes: `ip -6 route show %s`%s on %s lists exactly %s' %
                       (by_name, ' and ila_map' if self.bpf else '', n.upper(),
                        '; '.join(want[n])), got[n] == want[n], 'got %s' % got[n])
        if self.bpf:
            self.bpf_tables()
            return
        for n in ('a', 'b', 'c'):
            table = ila_table(NS[n])
            want_x = [{'locator_match': LOC[n], 'locator': PREFIX_LOC,
                       'csum_mode': 'neutral-map', 'ident_type': LUID}]
            got_x = [{k: e.get(k) for k in ('locator_match', 'locator', 'csum_mode',
                                           'ident_type')} for e in table]
            self.check('routes: translation table of %s is loc_match %s -> loc %s '
                       'neutral-map luid, nothing else' % (n.upper(), LOC[n], PREFIX_LOC),
                       got_x == want_x, 'got %s' % table)
        # ilad's own account agrees with the kernel's (informative)
        k = self.net.ctls['b'].json('show kernel')
        self.info('ilactl show kernel on B: %s' % k)

    def bpf_table(self, node):
        """What stands for the module's translation table with BPF: node's
        ila_locators and ila_prefixes, and the filters on its uplink's ingress."""
        m = self.net.bpf_maps(node)
        try:
            loc, pfx = m.locators(), m.prefixes()
        finally:
            m.close()
        _, tc = run(['tc', '-n', NS[node], 'filter', 'show', 'dev', '%s-r' % node, 'ingress'],
                    check=False)
        return loc, pfx, re.findall(r'\b(ila_in):\[\d+\]', tc)

    def bpf_tables(self):
        for n in ('a', 'b', 'c'):
            loc, pfx, filt = self.bpf_table(n)
            want_l = ['%s -> %s neutral-map' % (LOC[n], PREFIX_LOC)]
            want_p = ['%s vn %d neutral-map' % (N.PREFIX, N.VN_ID)]
            self.check('routes: %s\'s ila_locators is %s, its ila_prefixes %s, ila_in on tc '
                       'ingress of %s-r' % (n.upper(), want_l[0], want_p[0], n),
                       loc == want_l and pfx == want_p and filt == ['ila_in'],
                       'got %s; %s; filters %s' % (loc, pfx, filt))
        self.info('ilactl show dataplane on B: %s' % self.net.ctls['b'].json('show dataplane'))

    # ------------------------------------------------------------ checksums

    def phase_checksums(self):
        net = self.net
        for d, ns in (('x-c', 'x'), (N.W_DEV, 'w')):
            tx_csum_off(d, NS[ns])
        with NetNS(NS['r']):
            cap_r = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        with NetNS(NS['a']):
            cap_a = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        cap_a.bind((N.dev(net.w_at, 'w'), ETH_P_ALL))    # W's link, at A
        for s in (cap_r, cap_a):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        with NetNS(NS['w']):
            wu = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            wt = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        with NetNS(NS['x']):
            xu = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            xt = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            wu.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            wu.bind(('::', 5001))
            wt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            wt.bind(('::', 5002))
            wt.listen(1)
            wt.settimeout(5)
            xu.bind((X_SIR, 0))
            # UDP both ways: X sends, W answers to where it came from
            sizes = [1, 2, 7, 64, 333, 1000, 1200, 17, 256, 999]
            seen_dst, echoed, errs = [], 0, []
            wu.settimeout(1)
            xu.settimeout(1)
            for i, n in enumerate(sizes):
                if len(errs) >= 2:
                    break           # the path is broken: the checks below say so
                payload = bytes((i * 7 + j) & 0xff for j in range(n))
                xu.sendto(payload, (W_SIR, 5001))
                try:
                    data, anc, _, peer = wu.recvmsg(2048, socket.CMSG_SPACE(20))
                    for lvl, typ, val in anc:
                        if lvl == socket.IPPROTO_IPV6 and typ == IPV6_PKTINFO:
                            seen_dst.append(socket.inet_ntop(socket.AF_INET6, val[:16]))
                    wu.sendto(data, peer[:2])
                    back, _ = xu.recvfrom(2048)
                    echoed += back == payload
                except OSError as e:
                    errs.append(str(e))
            self.check('checksums: %d UDP datagrams X -> W arrive addressed to W\'s SIR '
                       'address and come back intact' % len(sizes),
                       echoed == len(sizes) and all(norm6(d) == W_SIR for d in seen_dst),
                       'echoed %d, W saw %s %s' % (echoed, sorted(set(seen_dst)), errs[:2]))
            # a real TCP connection
            tcp_ok, detail = False, ''
            try:
                xt.bind((X_SIR, 0))
                xt.settimeout(5)
                xt.connect((W_SIR, 5002))
                srv, peer = wt.accept()
                srv.settimeout(5)
                msgs = [b'x', bytes(range(256)) * 4, os.urandom(20000)]
                got = []
                for m in msgs:
                    xt.sendall(m)
                    buf = b''
                    while len(buf) < len(m):
                        buf += srv.recv(65536)
                    srv.sendall(buf[::-1])
                    back = b''
                    while len(back) < len(m):
                        back += xt.recv(65536)
                    got.append(back == m[::-1])
                local = srv.getsockname()[0]
                xt.shutdown(socket.SHUT_WR)
                srv.recv(10)
                srv.close()
                tcp_ok = all(got) and norm6(local) == W_SIR and norm6(peer[0]) == X_SIR
                detail = 'accepted at %s from %s, %d of %d exchanges intact' % (
                    local, peer[0], sum(got), len(msgs))
            except OSError as e:
                detail = 'TCP: %s' % e
            self.check('checksums: TCP connection X -> [%s]:5002 through the translations '
                       'carries 3 messages (up to 20,000 bytes) both ways' % W_SIR,
                       tcp_ok, detail)
            time.sleep(0.3)
            pr = drain(cap_r, skip_outgoing=True)
            pa = [p for p, out in drain(cap_a, keep_dir=True) if out]
        finally:
            for s in (cap_r, cap_a, wu, wt, xu, xt):
                s.close()
        self.check_capture('on R (ILA addresses on the wire)', pr, wire=True)
        self.check_capture('on A\'s link to W (after the translation back)', pa, wire=False)

    def check_capture(self, where, pkts, wire):
        """Every TCP and UDP segment between X and W: destination as the
        translation must leave it, checksum valid for the addresses in the
        header and for the SIR addresses the receiving socket sees."""
        stats = {'udp': 0, 'tcp': 0}
        bad = []
        for pkt in pkts:
            h = parse_l4(pkt)
            if not h:
                continue
            src, dst, proto, seg = h
            if src == X_SIR:
                sir, loc = W_SIR, LOC['a']
            elif src == W_SIR:
                sir, loc = X_SIR, LOC['c']
            else:
                continue
            if proto not in (6, 17) or (proto == 17 and struct.unpack('!H', seg[2:4])[0] ==
                                        STREAM_PORT):
                continue
            if not wire and src != X_SIR:
                continue
            if wire and src == X_SIR and ila_prefix(dst) == loc:
                self.w_ila = dst    # where in-flight packets for W at A go
            name = 'tcp' if proto == 6 else 'udp'
            stats[name] += 1
            want_dst = ila_prefix(dst) == loc if wire else dst == sir
            ok_hdr = l4_valid(src, dst, proto, seg)
            ok_sir = l4_valid(src, sir, proto, seg)
            if not (want_dst and ok_hdr and ok_sir):
                bad.append('%s %s->%s: dst %s, checksum %s for the header, %s for the SIR '
                           'addresses' % (name, src, dst, 'ok' if want_dst else 'WRONG',
                                          'ok' if ok_hdr else 'BAD', 'ok' if ok_sir else 'BAD'))
        what = ('both ways, destination in the locator of the node it runs at'
                if wire else 'X -> W, destination W\'s SIR address')
        self.check('checksums: capture %s: %d TCP and %d UDP segments %s, checksums valid '
                   '(computed independently)' % (where, stats['tcp'], stats['udp'], what),
                   not bad and stats['tcp'] > 0 and stats['udp'] > 0, '; '.join(bad[:3]))

    # ------------------------------------------------------------ spoof

    def phase_spoof(self):
        net = self.net
        run(['ip', 'netns', 'exec', NS['c'], 'sh', '-c',
             'echo 1 >/proc/sys/net/ipv6/conf/c-x/accept_untracked_na'])
        # the path is live: a new address announced on C's link attaches there
        fresh = '2001:db8:100::77'
        s0 = net.stats('c')
        send_na(NS['x'], net.ifindex['x-c'], fresh, net.mac['x-c'])
        attached = until(lambda: (net.local('c', fresh) or {}).get('state') == 'attached', 5)
        pushed = until(lambda: self.to_loc(fresh, LOC['c']) in self.dp('a'), 5)
        s1 = net.stats('c')
        self.check('spoof: an unsolicited NA for new %s on C\'s link attaches it at C '
                   '(auto_attached +%d) and A routes it to C' % (
                       fresh, s1.get('auto_attached', 0) - s0.get('auto_attached', 0)),
                   attached and pushed, 'C local %s; A routes %s' % (
                       net.local('c', fresh), self.dp('a')))
        net.ilactl('c', 'detach', fresh)
        ip('-6', 'neigh', 'del', fresh, 'dev', 'c-x', ns=NS['c'], check=False)
        until(lambda: not any(r.startswith(fresh) for r in self.dp('a')), 5)
        # the spoof: W's address announced at C, where it is not expected
        before = net.mapping(W_SIR)
        s0 = net.stats('c')
        send_na(NS['x'], net.ifindex['x-c'], W_SIR, net.mac['x-c'])
        until(lambda: net.stats('c').get('spoof_refused', 0) > s0.get('spoof_refused', 0), 5)
        _, neigh = ip('-6', 'neigh', 'show', W_SIR, 'dev', 'c-x', ns=NS['c'])
        time.sleep(1.0)     # time for a wrong move to show
        s1 = net.stats('c')
        after = net.mapping(W_SIR)
        routes_c = self.dp('c')
        rid = self.run_id()
        rx = FloodRecv(net, 'w', STREAM_PORT, 20, rid, timeout_s=10, idle_ms=2000)
        N.flood_send(net, 'x', W_SIR, STREAM_PORT, 100, 20, rid, src=X_SIR)
        r = rx.result(15)
        via_a = r['unique']     # W's link is at A
        d = s1.get('spoof_refused', 0) - s0.get('spoof_refused', 0)
        self.check('spoof: an NA for W\'s address on C\'s link (neighbour entry: %s) is refused: '
                   'spoof_refused +%d, W stays at A (mapper %s seq %s), C still routes it to A, '
                   '%d of 20 packets reach W through A' % (
                       ' '.join(neigh.split()[2:5]) or 'none', d, after and after.get('node'),
                       after and after.get('seq'), via_a),
                   d >= 1 and before and after and after.get('node') == 'a' and
                   after.get('seq') == before.get('seq') and
                   self.to_loc(W_SIR, LOC['a']) in routes_c and
                   net.local('c', W_SIR) is None and via_a == 20,
                   'mapper before %s after %s; C routes %s; C local %s' % (
                       before, after, routes_c, net.local('c', W_SIR)))
        ip('-6', 'neigh', 'del', W_SIR, 'dev', 'c-x', ns=NS['c'], check=False)

    # ------------------------------------------------------------ restart

    def phase_restart(self):
        self.restart_under_stream(signal.SIGTERM, 'restart')
        if self.bpf:
            # the earlier ilad's programs translate until the new one is in
            # sync, whether it was stopped or killed
            self.restart_under_stream(signal.SIGKILL, 'restart-kill')

    def restart_under_stream(self, sig, tag):
        net = self.net
        signame = 'SIGKILL' if sig == signal.SIGKILL else 'SIGTERM'
        rate, count = HOT_RATE, HOT_RATE * 4
        mon_out = net.path('%s-monitor.txt' % tag)
        monf = open(mon_out, 'w')
        mon = subprocess.Popen(['ip', '-n', NS['c'], '-ts', '-6', 'monitor', 'route'],
                               stdout=monf, stderr=subprocess.STDOUT)
        monf.close()
        net.procs['monitor'] = mon
        table0 = self.xlat_table('c')
        routes0 = N.routes(NS['c'])
        x0 = net.mapping(X_SIR)
        time.sleep(0.3)
        rid = self.run_id()
        log = net.path('%s-recv.txt' % tag)
        rx = FloodRecv(net, 'w', STREAM_PORT, count, rid, timeout_s=60, idle_ms=3000, log=log)
        t_stream = time.monotonic()
        tx = N.flood_send(net, 'x', W_SIR, STREAM_PORT, rate, count, rid, src=X_SIR,
                          background=True)
        time.sleep(0.8)
        t0 = time.monotonic()
        rc = net.stop('c', sig)
        t1 = time.monotonic()
        net.start_ilad('c', conf_text=open(net.path('c.conf')).read(), wait=False)
        net.wait_synced('c')
        t2 = time.monotonic()
        sent = N.flood_send_result(tx, 60)
        r = rx.result(30)
        time.sleep(0.5)     # late reconciliation would show here
        mon.send_signal(signal.SIGTERM)
        mon.wait(5)
        lines = [l for l in open(mon_out).read().splitlines() if l.strip()]
        proto = [l for l in lines if ' proto ila ' in l or ' proto %d ' % N.PROTO in l]
        # ilad's start-up probe of ILA support uses a scratch table; the
        # routes that carry traffic are in the main table
        ours = [l for l in proto if ' table ' not in l]
        if len(proto) > len(ours):
            self.info('%s: ip monitor also saw %d events of ilad\'s start-up probe in a '
                      'scratch table: %s' % (tag, len(proto) - len(ours),
                                             ' | '.join(l for l in proto if l not in ours)))
        replaced = []
        if self.bpf:
            # a dump cannot tell which program a BPF route holds: the new
            # ilad writes its prefix route again once in sync (a replace,
            # never a delete)
            replaced = [l for l in ours if 'Deleted' not in l and
                        l.split()[1:2] == [N.PREFIX] and 'encap bpf' in l]
            ours = [l for l in ours if l not in replaced]
        st = net.stats('c')
        self.info('%s: ilad on C stopped in %.0f ms (exit %s), up and in sync %.0f ms '
                  'later; stream %s; restarted ilad: routes_replaced %s routes_deleted %s' % (
                      tag, (t1 - t0) * 1000, rc, (t2 - t1) * 1000, sent['line'],
                      st.get('routes_replaced'), st.get('routes_deleted')))
        # the whole restart must fall inside the stream
        margin = t_stream + sent['elapsed_ms'] / 1000 - t2
        self.check('%s: ilad on C restarted (%s) under %d packets/s X -> W (stopped '
                   '%.1f s into the stream, in sync again %.1f s before its end): %d of %d '
                   'arrive, %d lost, %d duplicated' % (tag, signame, rate, t0 - t_stream, margin,
                                                        r['unique'], count, r['lost'], r['dup']),
                   r['lost'] == 0 and r['dup'] == 0 and sent['sent'] == count and margin > 0,
                   '%s; stopped at %.3f, started %.3f, in sync %.3f, lost run %s' % (
                       r['line'], t0, t1, t2, loss_window(log, sent['sent'])))
        self.check('%s: ip monitor on C saw no main-table route of protocol ila deleted, '
                   'added or replaced%s (%d route events in all)' % (
                       tag, ', but for the prefix route written again in place (%d events)' %
                       len(replaced) if self.bpf else '', len(lines)), not ours,
                   ' | '.join(ours[:4]))
        x1 = net.mapping(X_SIR)
        self.check('%s: routes and %s of C as before, X not moved (seq %s)' % (
            tag,
            'ila_map, ila_locators, ila_prefixes, ila_in' if self.bpf else 'translation entry',
            (x1 or {}).get('seq')),
                   N.routes(NS['c']) == routes0 and self.xlat_table('c') == table0 and
                   x1 and x0 and x1.get('seq') == x0.get('seq') and x1.get('node') == 'c',
                   'routes %s -> %s; mapping %s -> %s' % (routes0, N.routes(NS['c']), x0, x1))

    def xlat_table(self, node):
        """The module's translation table, or BPF's maps and ila_in filter."""
        if self.bpf:
            loc, pfx, filt = self.bpf_table(node)
            return loc + pfx + filt + self.net.bpf_mappings(node)
        return ila_table(NS[node])

    # ------------------------------------------------------------ hot move

    def phase_hot(self):
        """The move the acceptance asks for: natural timing, a TCP connection
        busy across it, convergence and forwarding printed."""
        self.move_under_stream('hot', HOT_RATE, HOT_COUNT, tcp_port=5003)

    def phase_inflight(self):
        """A move back, with the mapper's messages to C (the correspondent's
        node) delayed: C keeps sending to the old locator after the old node
        switched, as a correspondent with a stale cache does, and the old
        node must forward every one of those packets."""
        self.move_under_stream('inflight', HOT_RATE, HOT_RATE * 4, push_delay_ms=PUSH_DELAY_MS)

    def move_under_stream(self, tag, rate, count, tcp_port=None, push_delay_ms=0):
        net = self.net
        old = self.where
        new = 'b' if old == 'a' else 'a'
        O, NW = old.upper(), new.upper()
        seq0 = (net.mapping(W_SIR) or {}).get('seq')
        fm0 = net.stats(old).get('forwarded_moves', 0)
        # the old node's re-translated packets: the stream leaving it for the
        # new locator, captured on its link to R (no tc classifier needed:
        # the build machines' kernel has neither flower nor gact)
        fwd_cap = Forwarded(old, new)
        watch_c = DataWatch(net, 'c', W_SIR)
        watch_o = DataWatch(net, old, W_SIR)
        watch_c.start()
        watch_o.start()
        tcp = None
        if tcp_port:
            tcp = N.TcpPing(tcp_port)
            tcp.start()
        log = net.path('%s-recv.txt' % tag)
        rid = self.run_id()
        rx = FloodRecv(net, 'w', STREAM_PORT, count, rid, timeout_s=90, idle_ms=3000, log=log)
        tx = N.flood_send(net, 'x', W_SIR, STREAM_PORT, rate, count, rid, src=X_SIR,
                          background=True, timeout_s=60)
        tx0 = net.port_tx()
        view0 = net.w_view()
        # the move, a third into the stream
        time.sleep(min(2.0, count / rate / 3))
        if push_delay_ms:
            # C learns of the move late, as a correspondent with a stale
            # cache: its ilad is held stopped (the data path goes on) until
            # push_delay_ms after the attach; the mapper's push waits in its
            # socket
            net.procs['c'].send_signal(signal.SIGSTOP)
        try:
            t_attach = time.monotonic()
            # W's link re-plugged at the new node, attached there at once
            tx_move, (rc, out, t_done) = net.move_w(new, lambda: net.ilactl(
                new, 'attach', W_SIR, 'dev', '%s-w' % new) + (time.monotonic(),))
            if push_delay_ms:
                time.sleep(max(0.0, t_attach + push_delay_ms / 1000.0 - time.monotonic()))
        finally:
            if push_delay_ms:
                net.procs['c'].send_signal(signal.SIGCONT)
        sent = N.flood_send_result(tx, 90)
        r = rx.result(60)
        time.sleep(0.3)
        if tcp:
            tcp.stop()
        watch_c.stop()
        watch_o.stop()
        self.where = new
        t_c = watch_c.first(t_attach, 'new', 'ila ' + LOC[new])
        t_o = watch_o.first(t_attach, 'new', 'ila ' + LOC[new])
        via_old, via_new = tx_move - tx0, net.port_tx() - tx_move
        fwd = fwd_cap.count()
        self.check('%s: W\'s link re-plugged at %s and ilactl attach W dev %s-w there (%.0f ms)'
                   % (tag, NW, new, (t_done - t_attach) * 1000), rc == 0, out.strip())
        self.check_view(tag, view0)
        # the packets that reach the old node while W's link is unplugged,
        # before it learns the move, are lost: one run of sequence numbers
        lost, first, last = r['lost'], r.get('first_lost', -1), r.get('last_lost', -1)
        one_run = lost == 0 or (first >= 0 and last - first + 1 == lost and last < count - 1)
        self.check('%s: %d packets at %d/s X -> W across the move %s -> %s%s: %d arrived, %d '
                   'lost in one run (seq %d..%d, %.1f ms of the stream: W\'s link unplugged), '
                   '%d duplicated (%d reordered; %d through %s, %d through %s)' % (
                       tag, count, rate, O, NW, ', C\'s ilad held stopped %d ms at the move' %
                       push_delay_ms if push_delay_ms else '', r['unique'], lost, first, last,
                       lost * 1000.0 / rate, r['dup'], r['reordered'], via_old, O, via_new, NW),
                   one_run and r['dup'] == 0 and sent['sent'] == count and
                   sent.get('errors', 0) == 0, '%s | %s' % (sent['line'], r['line']))
        self.check('%s: the stream reached W through %s before the move and through %s after '
                   '(tx of the node end of W\'s link)' % (tag, O, NW),
                   via_old > 0 and via_new > 0, (via_old, via_new))
        self.info('%s: sender %s' % (tag, sent['line']))
        if tcp:
            self.check('%s: TCP connection X -> W open across the move: %d round trips, longest '
                       'wait %.0f ms, no reset' % (tag, tcp.rounds, tcp.max_wait * 1000),
                       tcp.error is None and tcp.rounds > 0, tcp.error or '')
        self.check('%s: convergence: C\'s %s %s %s after ilactl '
                   'attach at %s%s (%s\'s %s %s)' % (
                       tag, 'ila_map entry of W set to' if self.bpf else
                       'route to W replaced by encap ila', LOC[new],
                       '%.0f ms' % ((t_c - t_attach) * 1000) if t_c else 'never', NW,
                       ', of which %d ms C\'s ilad was held stopped' % push_delay_ms
                       if push_delay_ms else '', O, 'ila_map' if self.bpf else 'route',
                       '%.0f ms' % ((t_o - t_attach) * 1000) if t_o else 'never'),
                   t_c is not None and t_o is not None,
                   'C events %s; %s events %s' % (watch_c.events[-4:], O, watch_o.events[-4:]))
        fm = net.stats(old).get('forwarded_moves', 0) - fm0
        # with C's pushes late, the old node switches first and C's packets in
        # between must all be forwarded; without, C may switch first
        self.check('%s: %s forwarded %d packets of the stream to %s\'s locator (captured on '
                   'its link to R); forwarded_moves +%d' % (tag, O, fwd, NW, fm),
                   fm == 1 and (fwd > 0 or not push_delay_ms))
        if tag == 'hot' and self.w_ila:
            # packets still addressed to W at A's locator, as in-flight ones are
            fwd_cap.count()
            n = 100
            rid = self.run_id()
            rx = FloodRecv(net, 'w', STREAM_PORT, n, rid, timeout_s=10, idle_ms=1500)
            N.flood_send(net, 'x', self.w_ila, STREAM_PORT, 200, n, rid, src=X_SIR)
            r = rx.result(15)
            via_new = r['unique']       # W's link is at the new node
            f = fwd_cap.count()
            self.check('%s: %d packets sent to W\'s old ILA address %s after the move: %s '
                       're-translates %d of them to %s\'s locator, %d reach W through %s' % (
                           tag, n, self.w_ila, O, f, NW, via_new, NW),
                       f == n and via_new == n, r['line'])
        fwd_cap.close()
        m = net.mapping(W_SIR) or {}
        want = self.expected_routes(new)
        got = self.routes_now()
        self.check('%s: afterwards W at node %s (seq %s -> %s); %s keeps forwarding: its %s '
                   '%s; every node\'s routes as expected' % (
                       tag, new, seq0, m.get('seq'), O,
                       'ila_map sends W to' if self.bpf else 'route is encap ila', LOC[new]),
                   m.get('node') == new and m.get('locator') == LOC[new] and got == want,
                   'mapper %s; routes %s' % (m, got))

    # ------------------------------------------------------------ cold move

    def phase_cold(self):
        net = self.net
        src, dst = self.where, 'a' if self.where == 'b' else 'b'
        # every packet of the gap gets its answer: no ICMP rate limit at C
        run(['ip', 'netns', 'exec', NS['c'], 'sh', '-c',
             'echo 0 >/proc/sys/net/ipv6/icmp/ratelimit'])
        rc, out = net.ilactl(src, 'detach', W_SIR, 'down')
        down = until(lambda: 'unreachable %s' % W_SIR in N.routes(NS['c']), 10)
        m = net.mapping(W_SIR) or {}
        self.check('cold: ilactl detach W down at %s: the mapping is down (%s) and C routes W '
                   'unreachable' % (src.upper(), m.get('state')),
                   rc == 0 and down and m.get('state') == 'down',
                   '%s; C routes %s' % (out.strip(), N.routes(NS['c'])))
        gap = 20
        rid = self.run_id()
        rx = FloodRecv(net, 'w', STREAM_PORT, gap, rid, timeout_s=10, idle_ms=1500)
        s = N.flood_send(net, 'x', W_SIR, STREAM_PORT, 50, gap, rid, src=X_SIR)
        rx.p.send_signal(signal.SIGTERM)
        r = rx.result(10)
        self.check('cold: %d packets sent during the gap: %d ICMPv6 errors came back to the '
                   'sender (last: type %s code %s from %s; send errors %d), %d reached W' % (
                       gap, s['icmp'], s['icmp_type'], s['icmp_code'], s['icmp_from'],
                       s['errors'], r['unique']),
                   s['icmp'] == gap and s['icmp_type'] == 1 and r['unique'] == 0, s['line'])
        view0 = net.w_view()
        t0 = time.monotonic()
        _, (rc, out) = net.move_w(dst, lambda: net.ilactl(dst, 'attach', W_SIR, 'dev',
                                                          '%s-w' % dst))
        back = until(lambda: self.to_loc(W_SIR, LOC[dst]) in self.dp('c') and
                     'unreachable %s' % W_SIR not in N.routes(NS['c']), 10, 0.02)
        t1 = time.monotonic()
        self.where = dst
        rid = self.run_id()
        rx = FloodRecv(net, 'w', STREAM_PORT, gap, rid, timeout_s=10, idle_ms=1500)
        s = N.flood_send(net, 'x', W_SIR, STREAM_PORT, 50, gap, rid, src=X_SIR)
        r = rx.result(15)
        via = r['unique']       # W's link is at dst
        self.check_view('cold', view0)
        self.check('cold: attach at %s: C routes W to %s %.0f ms later, %d of %d packets reach '
                   'W through %s, no ICMP' % (dst.upper(), LOC[dst], (t1 - t0) * 1000, via, gap,
                                              dst.upper()),
                   rc == 0 and back and via == gap and s['icmp'] == 0,
                   '%s %s | %s' % (out.strip(), s['line'], r['line']))

    # ------------------------------------------------------------ failover

    def phase_failover(self):
        net = self.net
        owner = self.where
        standby = 'b' if owner == 'a' else 'a'
        # W's link is not at the standby yet: delivered there, if promoted, on
        # the vn's interface (b-w), which the link becomes when plugged in
        rc, out = net.ilactl(standby, 'prepare', W_SIR)
        ok = until(lambda: (net.mapping(W_SIR) or {}).get('standby') == LOC[standby], 10)
        self.check('failover: ilactl prepare W at %s: the mapper holds %s as standby' % (
            standby.upper(), LOC[standby]), rc == 0 and ok, '%s; %s' % (
                out.strip(), net.mapping(W_SIR)))
        fo0 = flatten_mapper(net).get('failovers', 0)
        rate, secs = 500, 10
        count = rate * secs
        log = net.path('failover-recv.txt')
        rid = self.run_id()
        watch_c = DataWatch(net, 'c', W_SIR)
        watch_c.start()
        rx = FloodRecv(net, 'w', STREAM_PORT, count, rid, timeout_s=secs + 20, log=log)
        tx = N.flood_send(net, 'x', W_SIR, STREAM_PORT, rate, count, rid, src=X_SIR,
                          background=True)
        view0 = net.w_view()
        time.sleep(1.0)
        # node A dies: its link goes (the session to the mapper with it, and
        # nothing it sends leaves any more), then its ilad is killed
        t_kill = time.monotonic()
        ip('link', 'set', '%s-r' % owner, 'down', ns=NS[owner])
        net.stop(owner, signal.SIGKILL)
        # the VM restarts at the standby: its link plugged in there
        net.move_w(standby)
        t_plug = time.monotonic()
        got_b = until(lambda: first_via(log, net.ifindex[N.W_DEV], t_plug), 15, 0.1)
        sent = N.flood_send_result(tx, 30)
        time.sleep(0.5)
        rx.p.send_signal(signal.SIGTERM)
        r = rx.result(10)
        watch_c.stop()
        t_route = watch_c.first(t_kill, 'new', 'ila ' + LOC[standby])
        fo1 = flatten_mapper(net).get('failovers', 0)
        self.check_view('failover', view0)
        m = net.mapping(W_SIR) or {}
        loc_sb = net.local(standby, W_SIR)
        routes_sb = self.dp(standby)
        self.info('failover: standby %s after promotion: local %s; routes %s; mapper %s' % (
            standby.upper(), loc_sb, routes_sb, m))
        self.check('failover: the mapper promoted %s after the dead timer (dead interval %d ms, '
                   'keepalive %d ms): failovers +%d, C\'s route to W replaced %s after the cut' % (
                       standby.upper(), N.DEAD_MS, N.KEEPALIVE_MS, fo1 - fo0,
                       '%.0f ms' % ((t_route - t_kill) * 1000) if t_route else 'never'),
                   m.get('node') == standby and fo1 == fo0 + 1 and t_route is not None,
                   'mapper %s; C events %s' % (m, watch_c.events[-3:]))
        tail_lost = count_lost_after(log, got_b[1], sent['sent']) if got_b else None
        self.check('failover: traffic reaches W through %s %s after the cut, at %s' % (
            standby.upper(), '%.0f ms' % ((got_b[0] - t_kill) * 1000) if got_b else 'never',
            'no loss after the first packet (%d lost in the gap)' % r['lost']
            if got_b and tail_lost == 0 else 'losses after it' if got_b else '-'),
            # not before the mapper could declare the node dead: its dead
            # interval minus the keepalive it may have heard just before the cut
            bool(got_b) and tail_lost == 0 and
            (got_b[0] - t_kill) * 1000 >= N.DEAD_MS - N.KEEPALIVE_MS - 250,
            'local at %s: %s; routes at %s: %s; %s' % (standby, loc_sb, standby, routes_sb,
                                                      r['line']))

    # ------------------------------------------------------------ main

    def diagnose(self):
        """What the daemons were doing when the suite gave up (INFO lines)."""
        for name, p in sorted(self.net.procs.items()):
            self.info('process %s pid %d: %s' % (name, p.pid, 'running' if p.poll() is None
                                                 else 'exited %d' % p.returncode))
            if name in ('mapper', 'a', 'b', 'c'):
                self.info('  log: %s' % self.net.log_tail(name, 6))

    def run(self, phases):
        t0 = time.monotonic()
        try:
            self.setup()
            for ph in phases:
                t = time.monotonic()
                try:
                    getattr(self, 'phase_' + ph)()
                except (Failed, OSError, subprocess.SubprocessError) as e:
                    self.check('%s: aborted' % ph, False, '%s: %s' % (type(e).__name__, e))
                    if ph in ('hot', 'inflight', 'cold'):
                        break       # W's whereabouts unknown: the rest means nothing
                self.info('phase %s took %.1f s' % (ph, time.monotonic() - t))
        except Failed as e:
            self.check('suite aborted', False, str(e))
            self.diagnose()
        except Exception as e:      # report, never pass silently
            self.check('suite crashed', False, '%s: %s' % (type(e).__name__, e))
            raise
        finally:
            self.net.close()
        self.info('suite took %.1f s' % (time.monotonic() - t0))
        return 0 if self.res.failed == 0 else 1


# ---------------------------------------------------------------- helpers

def drain(sock, skip_outgoing=False, keep_dir=False):
    sock.setblocking(False)
    out = []
    while True:
        try:
            pkt, addr = sock.recvfrom(65535)
        except BlockingIOError:
            return out
        outgoing = addr[2] == PACKET_OUTGOING
        if skip_outgoing and outgoing:
            continue
        out.append((pkt, outgoing) if keep_dir else pkt)


def parse_l4(pkt):
    """(src, dst, next header, segment) of an IPv6 packet without extension
    headers, or None."""
    if len(pkt) < 40 or pkt[0] >> 4 != 6:
        return None
    plen = struct.unpack('!H', pkt[4:6])[0]
    return (socket.inet_ntop(socket.AF_INET6, pkt[8:24]),
            socket.inet_ntop(socket.AF_INET6, pkt[24:40]), pkt[6], pkt[40:40 + plen])


def csum16(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def l4_valid(src, dst, proto, seg):
    """Whether the segment's checksum verifies for these addresses: the sum
    over pseudo-header and segment, checksum included, is all ones."""
    if proto == 17 and seg[6:8] == b'\0\0':
        return False        # IPv6 forbids UDP without a checksum
    pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
              struct.pack('!IxxxB', len(seg), proto))
    return csum16(pseudo + seg) == 0


def ila_prefix(a):
    """The locator (upper 64 bits) of an address, in iproute2's notation."""
    b = socket.inet_pton(socket.AF_INET6, a)
    return ':'.join('%x' % g for g in struct.unpack('!4H', b[:8]))


def send_na(ns, ifindex, target, mac):
    """An unsolicited neighbour advertisement (override flag, target
    link-layer address option) to all nodes, from namespace ns."""
    with NetNS(ns):
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex)
        lla = bytes(int(x, 16) for x in mac.split(':'))
        msg = (struct.pack('!BBHI', 136, 0, 0, 0x20000000) +
               socket.inet_pton(socket.AF_INET6, target) + struct.pack('!BB', 2, 1) + lla)
        s.sendto(msg, ('ff02::1', 0, 0, ifindex))
    finally:
        s.close()


class Forwarded:
    """Counts the stream's packets (UDP to STREAM_PORT) that node old sends
    to node new's locator on its link to R: a packet socket there, opened
    before the move."""

    def __init__(self, old, new):
        self.loc = LOC[new]
        with NetNS(NS[old]):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                      socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, 33, 1 << 25)     # SO_RCVBUFFORCE
        self.sock.bind(('%s-r' % old, ETH_P_ALL))

    def count(self):
        """Such packets sent since the last call."""
        n = 0
        for pkt, out in drain(self.sock, keep_dir=True):
            h = parse_l4(pkt)
            if out and h and h[2] == 17 and ila_prefix(h[1]) == self.loc and \
                    struct.unpack('!H', h[3][2:4])[0] == STREAM_PORT:
                n += 1
        return n

    def close(self):
        self.sock.close()


def flatten_mapper(net):
    return N.flatten(net.ctls['mapper'].json('show stats'))


def loss_window(log, sent):
    """When the packets the receiver did not log (sequence numbers below
    sent) were sent: (arrival of the packet before the first, arrival of
    the packet after the last); None when none is missing or the stream's
    first or last packet is."""
    got = {}
    with open(log) as f:
        for line in f:
            w = line.split()
            if len(w) == 3:
                got.setdefault(int(w[0]), int(w[2]) / 1e6)
    lost = [s for s in range(sent) if s not in got]
    if not lost or lost[0] - 1 not in got or lost[-1] + 1 not in got:
        return None
    return got[lost[0] - 1], got[lost[-1] + 1]


def first_via(log, ifindex, after):
    """(time, seq) of the first packet the receiver logged through ifindex
    at or after time after, or None."""
    try:
        with open(log) as f:
            for line in f:
                w = line.split()
                if len(w) == 3 and int(w[1]) == ifindex and int(w[2]) / 1e6 >= after:
                    return int(w[2]) / 1e6, int(w[0])
    except (OSError, ValueError):
        pass
    return None


def count_lost_after(log, seq, sent):
    """Sequence numbers from seq to sent-1 the receiver did not log."""
    got = set()
    with open(log) as f:
        for line in f:
            w = line.split()
            if len(w) == 3:
                got.add(int(w[0]))
    return sum(1 for s in range(seq, sent) if s not in got)


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    return Suite(sys.argv[1]).run(sys.argv[2:] or PHASES)


if __name__ == '__main__':
    sys.exit(main())
