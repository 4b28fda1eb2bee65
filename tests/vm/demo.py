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
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ilad_net import (FABRIC, LOC, LOC_NET, NS, W_SIR, FloodRecv, Net, RouteWatch,  # noqa: E402
                      dev, flood_send, flood_tool, until)
from vmlib import Failed, ip, run  # noqa: E402

FRR = '/usr/lib/frr'
RATE = int(os.environ.get('DEMO_RATE', '2000'))
SECONDS = float(os.environ.get('DEMO_SECONDS', '4'))


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
    os.makedirs('/var/run/frr/demo', exist_ok=True)   # -N demo keeps its state there
    for p in ('/var/run/frr', '/var/run/frr/demo'):
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
        run(['ip', 'netns', 'exec', NS['r'], os.path.join(FRR, daemon), '-d', '-N', 'demo',
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


def move(net, run_id, name, act):
    """Streams X -> W for SECONDS at RATE while act() moves W; returns a
    report row."""
    count = int(RATE * SECONDS)
    recv = FloodRecv(net, 'w', 6000 + run_id, count, run_id, timeout_s=int(SECONDS) + 15,
                     idle_ms=3000)
    watch = RouteWatch(NS['c'], W_SIR)
    watch.start()
    sender = flood_send(net, 'x', W_SIR, 6000 + run_id, RATE, count, run_id, background=True,
                        timeout_s=int(SECONDS) + 10)
    time.sleep(SECONDS * 0.35)
    t0, target = act()
    from ilad_net import flood_send_result
    s = flood_send_result(sender, SECONDS + 20)
    r = recv.result(SECONDS + 20)
    watch.stop()
    t1 = watch.first(t0, 'new', target)
    conv = '%.0f ms' % ((t1 - t0) * 1000) if t1 else 'not seen'
    return (name, s.get('sent', 0), r.get('unique', 0), r.get('lost', 0), r.get('dup', 0),
            s.get('icmp', 0), conv)


def main():
    net = Net('demo')
    frr = None
    try:
        say('== building the topology: fabric router, mapper, nodes A B C, workload W, '
            'correspondent X')
        net.build()
        net.flood = flood_tool(net.dir)
        net.certs(['mapper', 'a', 'b', 'c'])
        frr = start_frr(net)
        net.start_mapper(['a', 'b', 'c'])
        for n in ('a', 'b', 'c'):
            net.start_ilad(n)
        rc, out = net.ilactl('a', 'attach', W_SIR, 'dev', dev('a', 'w'))
        if rc != 0:
            raise Failed('attach at A: %s' % out)
        until(lambda: any('ila %s' % LOC['a'] in l for l in
                          run(['ip', 'netns', 'exec', NS['c'], 'ip', '-6', 'route', 'show',
                               'proto', '73'], check=False)[1].splitlines()), 10)
        mappings(net, 'before: W runs on A')

        def hot():
            net.w_via('b')
            t = time.monotonic()
            net.ilactl('b', 'attach', W_SIR, 'dev', dev('b', 'w'))
            return t, 'ila ' + LOC['b']

        def cold():
            net.ilactl('b', 'detach', W_SIR, 'down')
            time.sleep(0.5)         # the workload is in transit
            net.w_via('a')
            t = time.monotonic()
            net.ilactl('a', 'attach', W_SIR, 'dev', dev('a', 'w'))
            return t, 'ila ' + LOC['a']

        say('\n== hot move A -> B under %d packets/s from X' % RATE)
        rows = [move(net, 1, 'hot A->B', hot)]
        say('== cold move B -> A (detach down, 0.5 s away, attach) under %d packets/s' % RATE)
        rows.append(move(net, 2, 'cold B->A', cold))
        mappings(net, 'after: W runs on A again')
        say('\n== report')
        say('%-10s %8s %9s %6s %5s %13s  %s' % ('move', 'sent', 'received', 'lost', 'dup',
                                             'icmp-unreach', 'convergence at C'))
        for row in rows:
            say('%-10s %8d %9d %6d %5d %13d  %s' % row)
        say('(convergence: from `ilactl attach` at the new node until the correspondent\'s '
            'node has the new route;\n a cold move loses what is sent while the workload is '
            'away, and those senders get ICMPv6 unreachable,\n which the kernel rate-limits: '
            'icmp-unreach counts the errors the sender received)')
        st = net.stats('a')
        say('node A: %d pushes, %d routes replaced, %d moves forwarded' % (
            st.get('pushes', 0), st.get('routes_replaced', 0), st.get('forwarded_moves', 0)))
        return 0 if rows[0][3] == 0 and rows[0][4] == 0 else 1
    except Failed as e:
        say('demo failed: %s' % e)
        return 1
    finally:
        if os.environ.get('DEMO_KEEP') == '1':
            say('\n== left running (--keep). Explore with:')
            say('  ilactl -M -s %s show mappings' % net.path('mapper.sock'))
            for n in ('a', 'b', 'c'):
                say('  ilactl -s %s show mappings | show local | show kernel | monitor'
                    % net.path(n + '.sock'))
            say('  ip netns exec %s ip -6 route show proto ila' % NS['c'])
            say('  vtysh --vty_socket %s -c "show ipv6 route"' % net.path('frr'))
            say('Tear down: kill the daemons (pids in %s/*.pid) and ip netns del %s'
                % (net.dir, ' '.join(NS.values())))
        else:
            stop_frr(frr)
            net.close()


if __name__ == '__main__':
    sys.exit(main())
