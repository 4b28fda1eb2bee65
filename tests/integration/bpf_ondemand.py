# SPDX-License-Identifier: GPL-2.0-or-later
"""The bpf-ondemand suite of tests/integration/run: `cache on-demand` on
this machine's own kernel (doc/bpf.md, doc/protocol.md 8.9).

The network of the VM suites (tests/vm/ilad_net.py): R routes locators; A,
B and C run ilad with `dataplane bpf`. A is the router (`role router`,
`cache full`): R routes the SIR prefix to it, so a packet that misses at C
goes C -> R -> A, where A's ila_out translates it. C is `cache on-demand`
with `on-demand-idle 3`. W runs at B, X is C's correspondent. Checked:

  - C's first packet to W (never talked to) reaches W through the router:
    A's per-mapping counter of W grows; C then holds W (ilactl show
    mappings -j: in its map, at B's locator; show misses: installed), and
    the next packets go direct: A's counter stays, C's grows;
  - a hot move B -> A under a stream X -> W (W's link re-plugged at A,
    ilad_net.Net.move_w) reaches C by a WATCHED push (C's map follows;
    packets lost, in one run while the link was unplugged, and duplicated
    counted; W's routes and neighbour entries for the gateway unchanged);
  - the time from a miss to the installed mapping for a few addresses
    (show misses install_us), median printed as INFO;
  - with no more traffic C evicts W after on-demand-idle and the mapper
    is told (watch_released).

Needs root, network namespaces and an ilad with the BPF data path;
otherwise it reports one SKIP line and counts nothing.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'vm'))

import bpf_move  # noqa: E402
import ilad_net as N  # noqa: E402
import ilad_node  # noqa: E402
from ilad_net import FABRIC, LOC, NS, W_SIR, X_SIR, FloodRecv, until  # noqa: E402
from vmlib import ip  # noqa: E402

PORT = ilad_node.STREAM_PORT
IDLE_S = 3
RATE = 1000
COUNT = 4000
EXTRA = ['2001:db8:100::%x' % (0x50 + i) for i in range(5)]  # for the miss timing


class OnDemandSuite(ilad_node.Suite):
    def __init__(self, name, res):
        super().__init__(name)
        self.res = res

    def mapping_at(self, node, addr):
        for m in self.net.ctls[node].json('show mappings %s' % addr).get('mappings', []):
            if m.get('address') == addr:
                return m
        return {}

    def miss_of(self, addr):
        for m in self.net.ctls['c'].json('show misses').get('misses', []):
            if m.get('address') == addr:
                return m
        return {}

    def up(self, node):
        m = self.net.mapper_state(node)
        return bool(m) and m.get('state') == 'up'

    def setup(self):
        net = self.net
        net.flood = N.flood_tool(net.dir)
        t0 = time.monotonic()
        net.build()
        net.certs(['mapper', 'a', 'b', 'c'])
        net.start_mapper(['a', 'b', 'c'], extra='watch lifetime 60 max 1000\n')
        net.start_ilad('a', extra='role router\ndataplane bpf\n', wait=False)
        net.start_ilad('b', extra='dataplane bpf\n', wait=False)
        net.start_ilad('c', extra='dataplane bpf\ncache on-demand\non-demand-idle %d\n' % IDLE_S,
                       wait=False)
        for n in ('a', 'b'):
            net.wait_synced(n)
        ok = until(lambda: net.procs['c'].poll() is not None or self.up('c'), 20, 0.1)
        self.require('ilad C (cache on-demand) up with the mapper, subscribing to nothing',
                     ok and net.procs['c'].poll() is None and
                     not any(v.get('synced') for v in net.mapper_state('c').get('vns', [])),
                     '%s; %s' % (net.mapper_state('c'), net.log_tail('c')))
        # the misses' way: the SIR prefix from R to the router A
        ip('-6', 'route', 'add', N.PREFIX, 'via', FABRIC['a'] + '2', ns=NS['r'])
        rc1, out1 = net.ilactl('c', 'attach', X_SIR, 'dev', 'c-x')
        # W's link, at A since the build, plugged in at B before any traffic
        _, (rc2, out2) = net.move_w('b', lambda: net.ilactl('b', 'attach', W_SIR, 'dev', 'b-w'))
        self.where = 'b'
        self.require('ilactl attach X at C (on-demand: its own mapping by QUERY) and W at B',
                     rc1 == 0 and rc2 == 0, (out1 + out2).strip())
        ok = until(lambda: self.mapping_at('a', W_SIR).get('locator') == LOC['b'] and
                   self.mapping_at('b', X_SIR).get('locator') == LOC['c'], 20, 0.1)
        self.require('the router A and B map W and X (full table)', ok,
                     '%s %s' % (self.mapping_at('a', W_SIR), self.mapping_at('b', X_SIR)))
        self.info('setup: mapper, router A, B, on-demand C up in %.1f s' %
                  (time.monotonic() - t0))

    def send(self, dst, rate, count, timeout=15):
        rid = self.run_id()
        rx = FloodRecv(self.net, 'w', PORT, count, rid, timeout_s=timeout, idle_ms=1500)
        s = N.flood_send(self.net, 'x', dst, PORT, rate, count, rid, src=X_SIR)
        return s, rx.result(timeout + 5)

    # ------------------------------------------------------------ first packet

    def phase_first(self):
        net = self.net
        c = self.mapping_at('c', W_SIR)
        self.require('before: C does not have W in its map', not c.get('in_map'), c)
        a0 = self.mapping_at('a', W_SIR).get('packets', 0)
        s, r = self.send(W_SIR, 10, 1)
        a1 = self.mapping_at('a', W_SIR).get('packets', 0)
        self.check('first packet X -> W, never talked to: delivered (%d of 1) through the '
                   'router (A\'s counter of W +%d)' % (r['unique'], a1 - a0),
                   r['unique'] == 1 and a1 - a0 >= 1, '%s | %s' % (s['line'], r['line']))
        ok = until(lambda: self.mapping_at('c', W_SIR).get('in_map') and
                   self.mapping_at('c', W_SIR).get('locator') == LOC['b'], 10, 0.02)
        m = self.miss_of(W_SIR)
        self.check('C then holds W: in its map at B\'s locator, show misses %s' %
                   m.get('state'), bool(ok) and m.get('state') == 'installed',
                   '%s %s' % (self.mapping_at('c', W_SIR), m))
        mm = net.ctls['mapper'].json('show stats')
        self.check('the mapper records C\'s interest (watch_added %d)' %
                   N.flatten(mm).get('watch_added', 0),
                   N.flatten(mm).get('watch_added', 0) >= 1, mm)
        c0 = self.mapping_at('c', W_SIR).get('packets', 0)
        a0 = self.mapping_at('a', W_SIR).get('packets', 0)
        s, r = self.send(W_SIR, 200, 100)
        c1 = self.mapping_at('c', W_SIR).get('packets', 0)
        a1 = self.mapping_at('a', W_SIR).get('packets', 0)
        self.check('then 100 packets go direct: %d arrive, C\'s counter +%d, the router\'s +%d' %
                   (r['unique'], c1 - c0, a1 - a0),
                   r['unique'] == 100 and c1 - c0 >= 100 and a1 == a0,
                   '%s | %s' % (s['line'], r['line']))

    # ------------------------------------------------------------ hot move

    def phase_move(self):
        net = self.net
        st0 = net.stats('c')
        mm0 = N.flatten(net.ctls['mapper'].json('show stats'))
        rid = self.run_id()
        rx = FloodRecv(net, 'w', PORT, COUNT, rid, timeout_s=60, idle_ms=3000)
        tx = N.flood_send(net, 'x', W_SIR, PORT, RATE, COUNT, rid, src=X_SIR,
                          background=True, timeout_s=60)
        view0 = net.w_view()
        time.sleep(COUNT / RATE / 3)
        t0 = time.monotonic()
        _, (rc, out) = net.move_w('a', lambda: net.ilactl('a', 'attach', W_SIR, 'dev', 'a-w'))
        self.where = 'a'
        moved = until(lambda: self.mapping_at('c', W_SIR).get('locator') == LOC['a'], 10, 0.02)
        t1 = time.monotonic()
        sent = N.flood_send_result(tx, 60)
        r = rx.result(60)
        st1 = net.stats('c')
        mm1 = N.flatten(net.ctls['mapper'].json('show stats'))
        self.check('hot move of W B -> A (link re-plugged at A, ilactl attach there)', rc == 0,
                   out.strip())
        self.check_view('move', view0)
        self.check('the move reaches C by a WATCHED push: C maps W at A %.0f ms after the '
                   'attach (od_pushed +%d, mapper watch_push_records +%d)' % (
                       (t1 - t0) * 1000, st1.get('od_pushed', 0) - st0.get('od_pushed', 0),
                       mm1.get('watch_push_records', 0) - mm0.get('watch_push_records', 0)),
                   bool(moved) and st1.get('od_pushed', 0) > st0.get('od_pushed', 0) and
                   mm1.get('watch_push_records', 0) > mm0.get('watch_push_records', 0),
                   '%s %s' % (self.mapping_at('c', W_SIR), st1))
        lost, first, last = r['lost'], r.get('first_lost', -1), r.get('last_lost', -1)
        one_run = lost == 0 or (first >= 0 and last - first + 1 == lost and last < COUNT - 1)
        self.check('%d packets at %d/s X -> W across the move: sent %d, %d arrived, %d lost in '
                   'one run (seq %d..%d, W\'s link unplugged), %d duplicated' % (
                       COUNT, RATE, sent.get('sent', 0), r['unique'], lost, first, last,
                       r['dup']),
                   sent.get('sent') == COUNT and one_run and r['dup'] == 0,
                   '%s | %s' % (sent['line'], r['line']))
        self.info('move: %d lost, %d duplicated of %d (on-demand node, push by interest)' %
                  (r['lost'], r['dup'], COUNT))

    # ------------------------------------------------------------ miss timing

    def phase_timing(self):
        net = self.net
        for a in EXTRA:      # on W's link, at A since the move
            net.ilactl(net.w_at, 'attach', a, 'dev', '%s-w' % net.w_at)
        ok = until(lambda: all(net.mapping(a) for a in EXTRA), 20, 0.1)
        self.require('%d more addresses attached at B' % len(EXTRA), ok)
        us = []
        for a in EXTRA:
            N.flood_send(net, 'x', a, PORT, 10, 1, self.run_id(), src=X_SIR)
            until(lambda: self.miss_of(a).get('state') == 'installed', 10, 0.01)
            m = self.miss_of(a)
            if m.get('state') == 'installed':
                us.append(m.get('install_us', 0))
        self.check('miss -> installed for %d addresses: %d installed' % (len(EXTRA), len(us)),
                   len(us) == len(EXTRA), us)
        if us:
            self.info('miss to installed mapping (first miss event read -> in ila_map): median '
                      '%.2f ms over %d addresses (min %.2f, max %.2f)' % (
                          statistics.median(us) / 1000, len(us), min(us) / 1000,
                          max(us) / 1000))

    # ------------------------------------------------------------ idle eviction

    def phase_idle(self):
        net = self.net
        mm0 = N.flatten(net.ctls['mapper'].json('show stats'))
        t0 = time.monotonic()
        gone = until(lambda: not self.miss_of(W_SIR), IDLE_S + 10, 0.1)
        t1 = time.monotonic()
        # C forgets W first and then tells the mapper: its release may still
        # be on the way when C's table no longer has W
        until(lambda: N.flatten(net.ctls['mapper'].json('show stats')).get(
            'watch_released', 0) > mm0.get('watch_released', 0), 5, 0.05)
        mm1 = N.flatten(net.ctls['mapper'].json('show stats'))
        st = net.stats('c')
        m = self.mapping_at('c', W_SIR)
        self.check('idle: with no traffic C evicts W after %.1f s (on-demand-idle %d), no longer '
                   'in its map, and tells the mapper (watch_released +%d, od_evicted %d)' % (
                       t1 - t0, IDLE_S,
                       mm1.get('watch_released', 0) - mm0.get('watch_released', 0),
                       st.get('od_evicted', 0)),
                   bool(gone) and not m.get('in_map') and
                   mm1.get('watch_released', 0) > mm0.get('watch_released', 0),
                   '%s %s' % (m, mm1))
        rc, out = net.ilactl('c', 'show', 'misses')
        self.info('ilactl show misses on C:\n' + out.rstrip())


def suite(it, root, res):
    why = bpf_move.usable(it)
    if why:
        print('SKIP: bpf-ondemand: %s' % why, flush=True)
        return
    N.OUT = root
    # namespaces of this run's own (ilad_net's il-* are shared by the other
    # suites on this network, which may run at the same time)
    shared = dict(NS)
    for k in list(NS):
        NS[k] = 'ilod%d-%s' % (os.getpid() % 100000, k)
    s = OnDemandSuite('bpf-ondemand', res)
    t0 = time.monotonic()
    try:
        s.setup()
        for ph in ('first', 'move', 'timing', 'idle'):
            t = time.monotonic()
            try:
                getattr(s, 'phase_' + ph)()
            except (it.Failed, N.Failed, OSError, subprocess.SubprocessError, KeyError,
                    ValueError) as e:
                res.check('bpf-ondemand: %s aborted' % ph, False, '%s: %s' % (type(e).__name__, e))
                break
            print('  (bpf-ondemand %s: %.1f s)' % (ph, time.monotonic() - t), flush=True)
    except (it.Failed, N.Failed) as e:
        res.check('bpf-ondemand: setup', False, str(e))
        s.diagnose()
    finally:
        s.net.close()
        NS.update(shared)
    print('  (bpf-ondemand: %.1f s)' % (time.monotonic() - t0), flush=True)
