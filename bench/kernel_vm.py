#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest half of bench/kernel-vm.sh: runs inside the test VM (a kernel
with ILA), as root, with the host's build tree visible.

kernel_20k_ila_routes_vm: ilad (mode ila, TLS to an ila-mapper on loopback in
the same network namespace) programming BENCH_ILA_ROUTES (20,000) encap ila
routes pushed by the mapper; kernel_20k_ila_moves_vm: the same routes moved
to a new locator (every address registered again with a higher sequence
number). The registrations come from tests/integration/ila-probe while ilad,
in sync and subscribed, is stopped (SIGSTOP), so that the mapper's pace does
not count: ilad is timed from SIGCONT, when the first push waits to be read,
until its routes_replaced counter (control socket polled every 10 ms) says
the last route is in the kernel; iproute2 then counts the routes. The
baseline is `ip -6 -batch` doing the same replaces (same routes, device and
protocol) in a fresh namespace of the same guest. BENCH_RUNS (3) runs of
each, interleaved; the medians are kept.

Prints the figures and writes them as bench/results.json entries to
$ILA_VM_OUT/kernel-vm.json for the host half to merge.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'vm'))
import ilad_net as N
from vmlib import ip, netns_add, netns_del, run

COUNT = int(os.environ.get('BENCH_ILA_ROUTES', '20000'))
RUNS = max(1, int(os.environ.get('BENCH_RUNS', '3')))
NS = 'ilb-n'
DEV = 'n-r'             # ilad's node name is n; its fabric link is n-r
PREFIX = '2001:db8:100::/64'
LOC_SELF = '2001:db8:aa:0'
LOC1, LOC2 = '2001:db8:b1:0', '2001:db8:b2:0'
PORT = 7787
OUT = os.environ.get('ILA_VM_OUT', '/tmp')
TIMEOUT_S = 300


def addr(i):
    return '2001:db8:100::%x:%x' % (i >> 16, i & 0xffff)


def setup_ns(name):
    """A namespace with the fabric link ilad's routes leave by (a veth with
    a default route through a permanent neighbour)."""
    netns_add(name)
    ip('link', 'add', DEV, 'netns', name, 'type', 'veth', 'peer', 'name', 'n-peer', 'netns', name)
    ip('addr', 'add', '2001:db8:f::2/64', 'dev', DEV, 'nodad', ns=name)
    ip('link', 'set', DEV, 'up', ns=name)
    ip('link', 'set', 'n-peer', 'up', ns=name)
    ip('-6', 'neigh', 'replace', '2001:db8:f::1', 'lladdr', '02:00:00:00:00:01', 'dev', DEV,
       'nud', 'permanent', ns=name)
    ip('-6', 'route', 'add', 'default', 'via', '2001:db8:f::1', 'dev', DEV, ns=name)


def count_routes(ns, loc):
    """Routes of protocol 73 with encap ila loc, as iproute2 reads them."""
    _, out = ip('-6', 'route', 'show', 'proto', str(N.PROTO), ns=ns)
    return sum(1 for line in out.splitlines() if ' ila %s ' % loc in ' '.join(line.split()) + ' ')


def ip_batch_run(workdir):
    """ip -6 -batch: COUNT ILA route replaces, then the move; seconds each."""
    name = 'ilb-ip'
    setup_ns(name)
    try:
        times = []
        for loc in (LOC1, LOC2):
            f = os.path.join(workdir, 'ip-%s.txt' % loc.replace(':', '_'))
            with open(f, 'w') as fh:
                for i in range(1, COUNT + 1):
                    fh.write('route replace %s/128 encap ila %s csum-mode neutral-map '
                             'ident-type luid dev %s proto %d\n' % (addr(i), loc, DEV, N.PROTO))
            t0 = time.monotonic()
            run(['ip', '-n', name, '-6', '-batch', f], timeout=TIMEOUT_S)
            times.append(time.monotonic() - t0)
            got = count_routes(name, loc)
            if got != COUNT:
                raise RuntimeError('ip -batch: %d of %d routes to %s' % (got, COUNT, loc))
        return times
    finally:
        netns_del(name)


def probe(net, loc, seq, count=COUNT):
    argv = ['ip', 'netns', 'exec', NS, N.PROBE, 'register', '--connect', '[::1]:%d' % PORT,
            '--tls', net.pki, '--name', 'p', '--node', 'p', '--vn', str(N.VN_ID),
            '--prefix', PREFIX, '--start', '1', '--count', str(count), '--locator', loc,
            '--seq', str(seq), '--lifetime', '3600', '--batch', '512', '--window', '8',
            '--timeout', str(TIMEOUT_S)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)


def timed_push(net, ctl, loc, seq):
    """Registers every address at loc while ilad is stopped (SIGSTOP: the
    pushes wait in its socket and the mapper's queue), then lets it go and
    times it from there, when the first push is there to read, until its
    routes_replaced counter says the last route is in the kernel. Returns
    (ilad seconds, registration seconds)."""
    pid = net.procs['n'].pid
    s0 = N.flatten(ctl.json('show stats'))
    r0, f0 = s0.get('routes_replaced', 0), s0.get('route_failures', 0)
    os.kill(pid, signal.SIGSTOP)
    try:
        t_start = time.monotonic()
        pr = probe(net, loc, seq)
        out, _ = pr.communicate(timeout=TIMEOUT_S)
        t_probe = time.monotonic() - t_start
        if pr.returncode != 0:
            raise RuntimeError('ila-probe register: exit %d: %s' % (pr.returncode, out[-300:]))
        time.sleep(0.5)     # the mapper's last pushes leave (push delay 5 ms)
        t_first = time.monotonic()
    finally:
        os.kill(pid, signal.SIGCONT)
    t_last = None
    end = t_first + TIMEOUT_S
    while time.monotonic() < end:
        s = N.flatten(ctl.json('show stats'))
        now = time.monotonic()
        if s.get('routes_replaced', 0) - r0 >= COUNT:
            t_last = now
            break
        if s.get('route_failures', 0) > f0:
            raise RuntimeError('ilad: %d routes refused by the kernel: %s' % (
                s['route_failures'] - f0, net.log_tail('n', 3)))
        time.sleep(0.01)
    if t_last is None:
        raise RuntimeError('ilad did not program %d routes in %d s: %s' % (
            COUNT, TIMEOUT_S, N.flatten(ctl.json('show stats'))))
    got = count_routes(NS, loc)
    if got != COUNT:
        raise RuntimeError('ilad: iproute2 shows %d of %d routes to %s' % (got, COUNT, loc))
    return t_last - t_first, t_probe


def start_node(net, ilad_extra=()):
    """The namespace NS with its fabric link, an ila-mapper on its loopback
    serving nodes n and p, and ilad n (mode ila, in sync; ilad_extra: more
    lines of its config). Returns ilad's control client."""
    setup_ns(NS)
    N.NS['n'] = NS      # ilad_net's process helpers look namespaces up there
    net.certs(['mapper', 'n', 'p'])
    conf = net.path('mapper.conf')
    with open(conf, 'w') as f:
        f.write('\n'.join([
            'listen ::1 port %d' % PORT,
            'store %s' % net.path('store'),
            'store-map-size 512',
            'tls certificate {0}/mapper.crt key {0}/mapper.key ca {0}/ca.crt'.format(net.pki),
            'control %s' % net.path('mapper.sock'),
            'pidfile %s' % net.path('mapper.pid'),
            'lifetime default 3600 max 3600',
            # ilad is stopped while the registrations queue up for it
            'keepalive 1000', 'dead-interval 120000', 'push queue-limit 65536',
            'node n', 'node p',
            'vn blue id %d sir-prefix %s' % (N.VN_ID, PREFIX),
            'vn blue serve n p']) + '\n')
    mp = net.spawn('mapper', 'n', [N.MAPPER, '-d', '-f', conf])
    N.until(lambda: mp.poll() is not None or os.path.exists(net.path('mapper.sock')), 20)
    text = '\n'.join([
        'node-name n', 'mode ila', 'locator %s' % LOC_SELF, 'mapper ::1 port %d' % PORT,
        'tls certificate {0}/n.crt key {0}/n.key ca {0}/ca.crt'.format(net.pki),
        'control %s' % net.path('n.sock'), 'pidfile %s' % net.path('n.pid'),
        'log-level notice', 'keepalive 1000', 'dead-interval 120000'] + list(ilad_extra) +
        ['vn blue id %d sir-prefix %s' % (N.VN_ID, PREFIX)]) + '\n'
    net.start_ilad('n', conf_text=text)
    return net.ctls['n']


def ilad_run():
    net = N.Net('kernel-vm')
    try:
        ctl = start_node(net)
        add = timed_push(net, ctl, LOC1, 1)
        move = timed_push(net, ctl, LOC2, 2)
        st = N.flatten(ctl.json('show stats'))
        return add, move, st
    finally:
        net.close()
        N.NS.pop('n', None)
        netns_del(NS)


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def main():
    for tool in (N.ILAD, N.MAPPER, N.PROBE):
        if not tool or not os.access(tool, os.X_OK):
            sys.exit('kernel-vm: %s missing: build the tree (make all tests/integration/ila-probe)'
                     % tool)
    work = os.path.join('/tmp', 'kernel-vm-ip')
    os.makedirs(work, exist_ok=True)
    ips, ilads = [], []
    # interleaved, so that a slow spell of the emulator hits both
    for i in range(RUNS):
        ips.append(ip_batch_run(work))
        ilads.append(ilad_run())
        print('kernel-vm: run %d: ip -batch %.3f s + %.3f s, ilad %.3f s + %.3f s' % (
            i + 1, ips[-1][0], ips[-1][1], ilads[-1][0][0], ilads[-1][1][0]), flush=True)
    ila_add = median([r[0][0] for r in ilads])
    ila_move = median([r[1][0] for r in ilads])
    probe_add = median([r[0][1] for r in ilads])
    probe_move = median([r[1][1] for r in ilads])
    base_add = median([r[0] for r in ips])
    base_move = median([r[1] for r in ips])
    st = ilads[-1][2]
    print('kernel-vm: %d ILA routes in the guest: ilad %.3f s, ip -batch %.3f s: ratio %.3f '
          '(medians of %d runs; the registrations took %.3f s)' % (
              COUNT, ila_add, base_add, ila_add / base_add, RUNS, probe_add))
    print('kernel-vm: moving them to a new locator: ilad %.3f s, ip -batch %.3f s: ratio %.3f '
          '(registrations %.3f s)' % (ila_move, base_move, ila_move / base_move, probe_move))
    print('kernel-vm: ilad (last run): %d pushes, %d netlink batches, %d routes replaced, '
          '%d failures' % (st.get('pushes', 0), st.get('netlink_batches', 0),
                           st.get('routes_replaced', 0), st.get('route_failures', 0)))
    k = '%dk' % (COUNT // 1000) if COUNT % 1000 == 0 else str(COUNT)
    entries = [
        {'name': 'kernel_%s_ila_routes_vm' % k, 'unit': 's', 'ila': round(ila_add, 4),
         'baseline': round(base_add, 4), 'ratio': round(ila_add / base_add, 4),
         'better': 'lower'},
        {'name': 'kernel_%s_ila_moves_vm' % k, 'unit': 's', 'ila': round(ila_move, 4),
         'baseline': round(base_move, 4), 'ratio': round(ila_move / base_move, 4),
         'better': 'lower'},
    ]
    with open(os.path.join(OUT, 'kernel-vm.json'), 'w') as f:
        json.dump(entries, f)
    return 0


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *a: sys.exit('kernel-vm: stopped'))
    sys.exit(main())
