#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The ilad-restart suite (tests/vm/suites/ilad-restart.sh): restarts that
must not hurt a workload, and refusals that must be undone, on a kernel with
ILA. The network is ilad_node.py's; node A registers with a short lifetime.

usage: ilad_restart.py SUITE [PHASE...]
Phases, in the order given (all, by default):
  lapse-term  the worst moment for a restart: ilad on A (W runs there) is
              stopped by SIGTERM just before its refresh is due and stays down
              until its mapping has expired at the mapper (C then routes W
              unreachable); started again, A learns the mapping (down, its
              own) and registers W above it. Under a stream X -> W: the
              mapping is up at A with a higher seq, C routes W to A again
              within one refresh interval of A's session coming up, every packet lost was
              sent while no node could deliver (one run, between C's
              unreachable route and its route back)
  lapse-kill  the same with SIGKILL
  moved       W moves to B while ilad on A is down (its link re-plugged at B:
              A's local route to W goes with the link); A started again finds
              nothing of W to resume (released 0; the release of a workload
              still routed locally is test_ilad_local's), routes it to B and
              does not take it back
  refused     an attach the mapper refuses as not-authorised (vn red, which
              A may subscribe to but not serve) and one refused as frozen
              (the mapper's damping tightened by SIGHUP): ilactl attach exits
              non-zero with the reason, no local route, no registration,
              `ilactl show local` says refused and why until the operator
              detaches it

With ILA_DATAPLANE=bpf (natively: tests/integration/run ilad-restart-bpf)
the routes are read with the node's ila_map, as in ilad_node.py. The
expectations are the module's: after SIGTERM (without --flush-on-exit) as
after SIGKILL the old programs keep translating until the new ilad is in
sync (doc/bpf.md), so every packet lost was sent while C routed W
unreachable.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmlib import Failed, ip
import ilad_net as N
from ilad_net import LOC, NS, W_SIR, X_SIR, DataWatch, FloodRecv, until
from ilad_node import STREAM_PORT, Suite

LIFETIME = 12               # A's registration lifetime: refreshed every 4 s
REFRESH = LIFETIME / 3.0
RATE = 1000                 # packets/s of the streams X -> W
STREAM_S = 32               # their length: past the expiry and A's return, with
                            # room for TLS under emulation (22 s natively)
RED_PREFIX = '2001:db8:200::/64'
RED_ADDR = '2001:db8:200::42'
RED_LOC_A = '2001:db8:aa:1'  # A's locator for vn red (mode ila: one per vn)
PHASES = ['lapse-term', 'lapse-kill', 'moved', 'refused']


def received(log):
    """{seq: arrival time} from a flood receiver's log."""
    got = {}
    try:
        with open(log) as f:
            for line in f:
                w = line.split()
                if len(w) == 3:
                    got.setdefault(int(w[0]), int(w[2]) / 1e6)
    except (OSError, ValueError):
        pass
    return got


def runs(missing):
    """Consecutive runs [(first, last)] of a sorted list of numbers."""
    out = []
    for s in missing:
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


class RestartSuite(Suite):
    def __init__(self, name, dataplane=None):
        super().__init__(name, dataplane)
        self.node_extra['a'] = ('registration-lifetime %d\n'
                                'locator %s\n'
                                'vn red id 2 sir-prefix %s\n' % (LIFETIME, RED_LOC_A, RED_PREFIX))
        self.stream_s = STREAM_S
        # A may follow vn red but not serve it
        self.mapper_extra = ('vn red id 2 sir-prefix %s\nvn red serve b\nvn red subscribe a\n'
                             % RED_PREFIX)

    # ------------------------------------------------------------ lapse

    def wait_refresh(self):
        """The time A's refresh was acknowledged (its ACK counter moved)."""
        net = self.net
        n0 = net.stats('a').get('registrations_acked', 0)
        t = until(lambda: net.stats('a').get('registrations_acked', 0) > n0 and
                  time.monotonic(), REFRESH + 3, 0.02)
        if not t:
            raise Failed('no refresh of A acknowledged in %.0f s' % (REFRESH + 3))
        return t

    def lapse(self, sig, tag):
        net = self.net
        signame = 'SIGKILL' if sig == signal.SIGKILL else 'SIGTERM'
        m0 = net.mapping(W_SIR) or {}
        if m0.get('node') != 'a':
            raise Failed('W is not at A before the phase: %s' % m0)
        count = RATE * self.stream_s
        log = net.path('%s-recv.txt' % tag)
        watch = DataWatch(net, 'c', W_SIR)
        watch.start()
        rid = self.run_id()
        # the gap can last seconds: the receiver is stopped once the sender is done
        rx = FloodRecv(net, 'w', STREAM_PORT, count, rid, timeout_s=90, log=log)
        tx = N.flood_send(net, 'x', W_SIR, STREAM_PORT, RATE, count, rid, src=X_SIR,
                          background=True, timeout_s=60)
        time.sleep(0.5)
        # the worst moment: just before the next refresh is due
        t_ref = self.wait_refresh()
        time.sleep(max(0.0, t_ref + REFRESH - 0.3 - time.monotonic()))
        t_stop = time.monotonic()
        net.stop('a', sig)
        # down past the expiry point: the mapper lets the mapping go down and
        # C routes W unreachable; a second more, then A comes back
        t_u = until(lambda: watch.first(t_stop, 'new', 'unreachable'), LIFETIME + 6, 0.05)
        m_down = net.mapping(W_SIR) or {}
        if t_u:
            time.sleep(1.0)
        t_start = time.monotonic()
        net.start_ilad('a', conf_text=open(net.path('a.conf')).read(), wait=False)
        # back = its session to the mapper is up (how long TLS and the
        # connection take under emulation is not ilad's resume logic)
        t_up = until(lambda: (net.mapper_state('a') or {}).get('state') == 'up' and
                     time.monotonic(), 30, 0.02) or t_start
        net.wait_synced('a')
        t_back = until(lambda: watch.first(t_start, 'new', 'ila ' + LOC['a']), 10, 0.02)
        if self.bpf and t_back:
            # W up in C's ila_map, and its unreachable route gone
            t_del = until(lambda: watch.first(t_start, 'del', 'unreachable'), 5, 0.02)
            t_back = max(t_back, t_del) if t_del else None
        sent = N.flood_send_result(tx, 70)
        time.sleep(1.0)     # the last packets in flight
        if rx.p.poll() is None:
            rx.p.send_signal(signal.SIGTERM)
        r = rx.result(15)
        watch.stop()
        m1 = net.mapping(W_SIR) or {}
        got = received(log)
        lost = sorted(s for s in range(sent['sent']) if s not in got)
        gaps = runs(lost)
        self.check('%s: ilad on A stopped by %s %.1f s after its last refresh (refresh every '
                   '%.0f s, lifetime %d s); the mapping expired (%s, seq %s) and C routed W '
                   'unreachable %.1f s after the stop' % (
                       tag, signame, t_stop - t_ref, REFRESH, LIFETIME, m_down.get('state'),
                       m_down.get('seq'), (t_u - t_stop) if t_u else -1),
                   bool(t_u) and m_down.get('state') == 'down',
                   'mapping %s; C events %s' % (m_down, watch.events[-4:]))
        self.check('%s: A started again %.1f s after the stop: W up at A with a higher seq '
                   '(%s -> %s)' % (tag, t_start - t_stop, m0.get('seq'), m1.get('seq')),
                   m1.get('node') == 'a' and m1.get('state') == 'up' and
                   (m1.get('seq') or 0) > (m0.get('seq') or 0), 'mapping %s' % m1)
        self.check('%s: C routes W to A again %s after A\'s mapper session came up (%.0f ms '
                   'after its start; within one refresh interval, %.0f s)' % (
                       tag, '%.0f ms' % ((t_back - t_up) * 1000) if t_back else 'never',
                       (t_up - t_start) * 1000, REFRESH),
                   bool(t_back) and t_back - t_up < REFRESH,
                   'C events %s; A log %s' % (watch.events[-4:], net.log_tail('a', 6)))
        # every lost packet in one run, sent between C's unreachable route
        # and its route back (the packets around the run say when)
        first_back = None
        if gaps:
            after = gaps[0][1] + 1
            first_back = got.get(after)
        before_t = got.get(gaps[0][0] - 1) if gaps else None
        slack = 0.25    # the pacing of the sender and the receiver's clock
        in_window = (len(gaps) == 1 and t_u and t_back and before_t is not None and
                     first_back is not None and before_t >= t_u - slack and
                     first_back <= t_back + slack)
        self.check('%s: %d packets sent at %d/s X -> W across the restart: %d delivered, %d lost, '
                   'all while no node could deliver (C unreachable for %.2f s: %d packets at '
                   'that rate); delivery resumed %s after ilad A started' % (
                       tag, sent['sent'], RATE, r['unique'], len(lost),
                       (t_back - t_u) if t_u and t_back else -1,
                       (t_back - t_u) * RATE if t_u and t_back else -1,
                       '%.0f ms' % ((first_back - t_start) * 1000) if first_back else
                       'at once' if not lost else 'never'),
                   sent['sent'] == count and r['dup'] == 0 and (not lost or in_window),
                   'runs of lost %s; last before %s, first after %s; C unreachable at %s, back '
                   'at %s; %s' % (gaps[:4], before_t, first_back, t_u, t_back, r['line']))
        st = net.stats('a')
        loc = net.local('a', W_SIR) or {}
        self.check('%s: A delivers W locally, registered (show local: %s, seq %s); resumed %s' % (
                   tag, loc.get('state'), loc.get('seq'), st.get('resumed')),
                   loc.get('state') == 'attached' and bool(loc.get('registered')) and
                   st.get('resumed') == 1, '%s; stats %s' % (loc, st))
        self.check('%s: every node\'s routes as expected afterwards' % tag,
                   self.routes_now() == self.expected_routes('a'),
                   '%s' % self.routes_now())

    def phase_lapse_term(self):
        self.lapse(signal.SIGTERM, 'lapse-term')

    def phase_lapse_kill(self):
        self.lapse(signal.SIGKILL, 'lapse-kill')

    # ------------------------------------------------------------ moved

    def phase_moved(self):
        net = self.net
        net.stop('a', signal.SIGTERM)
        view0 = net.w_view()
        # W moves while A's ilad is down: its link re-plugged at B, attached there
        _, (rc, out) = net.move_w('b', lambda: net.ilactl('b', 'attach', W_SIR, 'dev', 'b-w'))
        self.where = 'b'
        self.check_view('moved', view0)
        m0 = net.mapping(W_SIR) or {}
        self.check('moved: ilad on A down, W attached at B (%s, seq %s)' % (
            out.strip() or 'exit %d' % rc, m0.get('seq')),
                   rc == 0 and m0.get('node') == 'b', '%s; %s' % (out.strip(), m0))
        net.start_ilad('a', conf_text=open(net.path('a.conf')).read(), wait=False)
        net.wait_synced('a')
        gone = until(lambda: net.local('a', W_SIR) is None, 5, 0.05)
        ok = until(lambda: self.routes_now() == self.expected_routes('b'), 5, 0.1)
        time.sleep(REFRESH + 0.5)   # a refresh of A's would take it back now
        m1 = net.mapping(W_SIR) or {}
        st = net.stats('a')
        self.check('moved: A started again has nothing of W to resume (its local route went '
                   'with the link: released %s, local %s): its %s %s, the '
                   'mapping stays at B (seq %s -> %s) after a refresh interval' % (
                       st.get('released'), net.local('a', W_SIR),
                       'ila_map sends W to' if self.bpf else 'route to W is ila', LOC['b'],
                       m0.get('seq'), m1.get('seq')),
                   bool(gone) and bool(ok) and st.get('released') == 0 and
                   m1.get('node') == 'b' and m1.get('seq') == m0.get('seq') and
                   self.routes_now() == self.expected_routes('b'),
                   'routes %s; mapping %s; A log %s' % (self.routes_now(), m1,
                                                        net.log_tail('a', 6)))
        n = 200
        rid = self.run_id()
        rx = FloodRecv(net, 'w', STREAM_PORT, n, rid, timeout_s=10, idle_ms=1500)
        N.flood_send(net, 'x', W_SIR, STREAM_PORT, 200, n, rid, src=X_SIR)
        r = rx.result(15)
        via_b = r['unique']     # W's link is at B
        self.check('moved: %d of %d packets X -> W reach W through B' % (via_b, n),
                   via_b == n, r['line'])

    # ------------------------------------------------------------ refused

    def refused_checks(self, tag, addr, code, routes_before):
        net = self.net
        loc = net.local('a', addr) or {}
        rc, text = net.ilactl('a', 'show', 'local')
        line = [l for l in text.splitlines() if l.startswith(addr + ' ')]
        routes_a = N.routes(NS['a'])
        self.check('%s: no local route for %s at A (routes of A unchanged: %s)' % (
            tag, addr, '; '.join(routes_a)),
                   not any(r.startswith(addr + ' dev') for r in routes_a) and
                   routes_a == routes_before, 'before %s, after %s' % (routes_before, routes_a))
        self.check('%s: `ilactl show local` at A says refused, %s (%s); -j: state %s, status %s, '
                   'registered %s' % (tag, code, loc.get('reason'), loc.get('state'),
                                      loc.get('status'), loc.get('registered')),
                   loc.get('state') == 'refused' and loc.get('status') == code and
                   not loc.get('registered') and loc.get('reason') and line and
                   'refused' in line[0] and code in line[0], '%s | %s' % (loc, line))

    def phase_refused(self):
        net = self.net
        # the attaches refused below name a spare port of A's (W's link is
        # at B): what is refused is the mapper's, not the device's
        ip('link', 'add', 'a-s', 'type', 'veth', 'peer', 'name', 'a-s2', ns=NS['a'])
        ip('link', 'set', 'a-s', 'up', ns=NS['a'])
        # not-authorised: A follows vn red but may not serve it
        before = N.routes(NS['a'])
        rc, out = net.ilactl('a', 'attach', RED_ADDR, 'dev', 'a-s')
        self.check('refused: ilactl attach %s (vn red, not served by A) exits %d: %s' % (
            RED_ADDR, rc, out.strip()), rc != 0 and 'not-authorised' in out, out.strip())
        self.refused_checks('refused', RED_ADDR, 'not-authorised', before)
        self.check('refused: the mapper holds no mapping of %s' % RED_ADDR,
                   net.mapping(RED_ADDR) is None, '%s' % net.mapping(RED_ADDR))
        time.sleep(REFRESH + 0.5)   # a refresh must not register it either
        self.check('refused: still refused and unregistered after a refresh interval',
                   (net.local('a', RED_ADDR) or {}).get('state') == 'refused' and
                   net.mapping(RED_ADDR) is None, '%s' % net.local('a', RED_ADDR))
        rc, out = net.ilactl('a', 'detach', RED_ADDR)
        self.check('refused: ilactl detach clears the refused entry', rc == 0 and
                   net.local('a', RED_ADDR) is None, '%s %s' % (out, net.local('a', RED_ADDR)))
        # frozen: one move in 600 s is all the mapper now allows; W moved
        # to B in the previous phase, so a move back is frozen
        conf = net.path('mapper.conf')
        text = open(conf).read()
        with open(conf, 'w') as f:
            f.write(text.replace('damping moves 100 interval 60 freeze 1',
                                 'damping moves 1 interval 600 freeze 600'))
        n0 = open(net.path('mapper.log')).read().count('configuration reloaded')
        net.procs['mapper'].send_signal(signal.SIGHUP)
        until(lambda: open(net.path('mapper.log')).read().count('configuration reloaded') > n0,
              5, 0.05)
        m0 = net.mapping(W_SIR) or {}
        before = N.routes(NS['a'])
        rc, out = net.ilactl('a', 'attach', W_SIR, 'dev', 'a-s')
        m1 = net.mapping(W_SIR) or {}
        self.check('refused: ilactl attach W at A, a move damped by the mapper, exits %d: %s; '
                   'the mapping stays at %s (%s)' % (rc, out.strip(), m1.get('node'),
                                                     m1.get('state')),
                   rc != 0 and 'frozen' in out and m1.get('node') == m0.get('node') == 'b',
                   '%s; %s' % (out.strip(), m1))
        self.refused_checks('refused', W_SIR, 'frozen', before)
        n = 200
        rid = self.run_id()
        rx = FloodRecv(net, 'w', STREAM_PORT, n, rid, timeout_s=10, idle_ms=1500)
        N.flood_send(net, 'x', W_SIR, STREAM_PORT, 200, n, rid, src=X_SIR)
        r = rx.result(15)
        via_b = r['unique']     # W's link is at B
        self.check('refused: W still served by B: %d of %d packets X -> W through B' % (
            via_b, n), via_b == n, r['line'])


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    return RestartSuite(sys.argv[1]).run([p.replace('-', '_') for p in sys.argv[2:] or PHASES])


if __name__ == '__main__':
    sys.exit(main())
