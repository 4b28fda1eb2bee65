#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The data-path bench (bench/dataplane.sh; bench/run dataplane and
dataplane-native). In the test VM by default (Debian's kernel with the ILA
module, under qemu), as root, with the host's build tree visible; with
--native on the machine's own kernel, where the module figures are left out
when the kernel has no ILA.

1. Packets per second, one UDP flow (tests/vm/flood: BENCH_DP_PACKETS
   (200,000) packets of 64 bytes sent as fast as the sender can, at most
   60 s), namespaces SND - MID - RCV on veth pairs, SND's packets to a SIR
   address that RCV delivers locally:
     plain   no translation: SND routes the SIR /64 to MID, MID to RCV;
     module  SND's `SIR/128 encap ila LOC` route, RCV's `ip ila add`
             entry (ILA -> SIR before delivery); MID routes LOC to RCV;
     bpf     ilad's layout (doc/bpf.md) through tests/vm/kbpf-ctl: SND's
             SIR /64 route holding ila_out with the mapping in ila_map,
             ila_in on RCV's tc ingress with the locator in ila_locators.
   csum-mode neutral-map (ilad's default). Each configuration is first
   checked (a capture on MID's ingress sees the ILA address, or the SIR
   address for plain; the BPF mapping counts the packets), then timed
   BENCH_RUNS (3) times, interleaved; the rate is what the receiver got
   over the span from its first to its last packet; medians.
2. Installing BENCH_DP_MAPPINGS (1,000,000) mappings: kbpf-ctl load-map
   (kbpf_mapping_set_batch(), batches of BENCH_DP_BATCH = 10,000, only the
   writes timed) against kbpf-ctl load-routes (as many `encap ila` /128
   routes through kernel_batch_commit(), ilad's netlink batches, same batch
   size), each in a fresh namespace. A batch the kernel answers ENOMEM
   for is sent again from the refused route after 10 ms (at most RETRIES
   times, the pauses timed); a route refused for good stops the adds
   there, and both figures become time per mapping.
3. ilad's memory per cached mapping: ilad (mode ila, dataplane bpf) and
   ila-mapper in a namespace; BENCH_DP_ILAD_MAPPINGS (50,000; ilad's ila_map
   holds 65,536) addresses registered at another node's locator; ilad's
   VmRSS grows by so much once its bpf_set counter has them all; divided by
   the count. With bpftool's memlock of ila_map and ila_stats (preallocated:
   memlock / max_entries per entry).
4. Time from a miss to the installed mapping: the median that
   tests/integration/run bpf-ondemand measures (miss_to_installed()).

Prints the figures and a summary table; writes the bench/results.json
entries to $ILA_VM_OUT/dataplane.json (or --out FILE).
"""
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'vm'))
sys.path.insert(0, HERE)
import ilad_net as N
import kernel_ila as K
import kernel_vm as KV
from dataplane_compare import Ctl
from vmlib import NetNS, find_tool, ip, ip_batch, netns_add, netns_del, run

NATIVE = '--native' in sys.argv
OUT = sys.argv[sys.argv.index('--out') + 1] if '--out' in sys.argv else \
    os.path.join(os.environ.get('ILA_VM_OUT', '/tmp'), 'dataplane.json')
WHERE = 'host' if NATIVE else 'vm'
PACKETS = int(os.environ.get('BENCH_DP_PACKETS', '100000'))
RUNS = max(1, int(os.environ.get('BENCH_RUNS', '3')))
MAPPINGS = int(os.environ.get('BENCH_DP_MAPPINGS', '1000000'))
BATCH = int(os.environ.get('BENCH_DP_BATCH', '10000'))
RETRIES = 3000      # ENOMEM batches sent again after 10 ms (kbpf-ctl -r)
ILAD_MAPPINGS = int(os.environ.get('BENCH_DP_ILAD_MAPPINGS', '50000'))
PARTS = os.environ.get('BENCH_DP_PARTS', 'pps,install,memory,miss').split(',')
SEND_S = 60
MODE = 'neutral-map'

SND, MID, RCV = 'dpb-snd', 'dpb-mid', 'dpb-rcv'
SND_ADDR, MID_SADDR = '2001:db8:ff::1', '2001:db8:ff::2'
MID_RADDR, RCV_ADDR = '2001:db8:fe::1', '2001:db8:fe::2'
SND_DEV, MID_SDEV, MID_RDEV, RCV_DEV = 'b-snd', 'b-mid-s', 'b-mid-r', 'b-rcv'
SIR_PREFIX, SIR_ADDR, SIR_LOC = '2001:db8:100::/64', '2001:db8:100::1', '2001:db8:100:0'
LOC = '2001:db8:b1:0'
PORT = 9000
LOAD_NS, LOAD_DEV, LOAD_GW = 'dpb-load', 'l-r', '2001:db8:f::1'


def median(v):
    return KV.median(v)


def ila_addr():
    """SIR_ADDR translated to LOC in MODE, by the library."""
    return K.xlat(find_tool('ila-xlat'), [('sir2ila', MODE, SIR_ADDR, LOC)])[0]


def has_module():
    netns_add('dpb-probe')
    try:
        rc, _ = ip('-6', 'route', 'add', '2001:db8:1::1/128', 'encap', 'ila', '2001:0:0:1',
                   'csum-mode', MODE, 'ident-type', 'luid', 'dev', 'lo', ns='dpb-probe',
                   check=False)
        return rc == 0
    finally:
        netns_del('dpb-probe')


# ---- 1. packets per second ----

def pps_setup():
    for ns in (SND, MID, RCV):
        netns_add(ns)
    K.link(SND, SND_DEV, SND_ADDR, MID, MID_SDEV, MID_SADDR)
    K.link(MID, MID_RDEV, MID_RADDR, RCV, RCV_DEV, RCV_ADDR)
    run(['ip', 'netns', 'exec', MID, 'sh', '-c',
         'echo 1 >/proc/sys/net/ipv6/conf/all/forwarding'])
    ip('-6', 'route', 'add', 'default', 'via', MID_SADDR, 'dev', SND_DEV, ns=SND)
    ip('-6', 'route', 'add', 'default', 'via', RCV_ADDR, 'dev', MID_RDEV, ns=MID)
    ip('-6', 'route', 'add', 'default', 'via', MID_RADDR, 'dev', RCV_DEV, ns=RCV)
    ip('-6', 'route', 'add', 'local', SIR_PREFIX, 'dev', 'lo', ns=RCV)


class Path:
    """One configuration of the pps bench: up() installs it, down() removes it."""

    def __init__(self, name, ctl_tool=None):
        self.name = name
        self.tool = ctl_tool
        self.out = self.inn = None

    def up(self):
        if self.name == 'module':
            ip('-6', 'route', 'add', SIR_ADDR + '/128', 'encap', 'ila', LOC, 'csum-mode', MODE,
               'ident-type', 'luid', 'via', MID_SADDR, 'dev', SND_DEV, ns=SND)
            ip('ila', 'add', 'loc_match', LOC, 'loc', SIR_LOC, 'csum-mode', MODE,
               'ident-type', 'luid', ns=RCV)
        elif self.name == 'bpf':
            log = open(os.path.join(os.environ.get('ILA_VM_OUT', '/tmp'),
                                    'dataplane-kbpf-ctl.log'), 'a')
            self.out = Ctl(self.tool, SND, log)
            self.inn = Ctl(self.tool, RCV, log)
            self.out.cmd('prefix %s 1 %s' % (SIR_PREFIX, MODE), 'map 1 %s %s' % (SIR_ADDR, LOC),
                         'route %s dev %s via %s' % (SIR_PREFIX, SND_DEV, MID_SADDR))
            self.inn.cmd('locator %s %s %s' % (LOC, SIR_LOC, MODE), 'tc %s' % RCV_DEV)

    def down(self):
        if self.name == 'module':
            ip('-6', 'route', 'del', SIR_ADDR + '/128', ns=SND, check=False)
            ip('ila', 'del', 'loc_match', LOC, ns=RCV, check=False)
        elif self.name == 'bpf':
            for c in (self.out, self.inn):
                if c:
                    c.close()
            self.out = self.inn = None

    def counted(self):
        if self.name != 'bpf':
            return None
        return int(self.out.cmd('counters 1 %s' % SIR_ADDR)[0].split()[2])


def flood_run(flood, count, run_id):
    """One timed stream; returns (packets received, pps at the receiver, sender line)."""
    rx = subprocess.Popen(['ip', 'netns', 'exec', RCV, flood, 'recv', '-p', str(PORT), '-n',
                           str(count), '-t', str(SEND_S + 10), '-w', '1000', '-i', str(run_id)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    try:
        line = rx.stdout.readline()
        if 'READY' not in line:
            raise RuntimeError('flood recv: %s' % line)
        _, sent = run(['ip', 'netns', 'exec', SND, flood, 'send', '-d', SIR_ADDR, '-p',
                       str(PORT), '-r', '10000000', '-n', str(count), '-t', str(SEND_S),
                       '-l', '64', '-i', str(run_id), '-s', SND_ADDR], timeout=SEND_S + 20)
        got, _ = rx.communicate(timeout=SEND_S + 20)
    finally:
        if rx.poll() is None:
            rx.kill()
            rx.wait()
    m = re.search(r'packets=(\d+) .*span_ms=([\d.]+)', got)
    if not m:
        raise RuntimeError('flood recv said: %s' % got.strip())
    n, span = int(m.group(1)), float(m.group(2))
    return n, (n - 1) / (span / 1000.0) if span > 0 and n > 1 else 0.0, sent.strip()


def pps_check(path, flood, want_dst):
    """A short stream with a capture on MID's ingress: the data path does
    what it is there for (plain: SIR address; others: the ILA address)."""
    with NetNS(MID):
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
        cap.bind((MID_SDEV, 0x0003))
    try:
        n, _, _ = flood_run(flood, 20, 999)
        seen = set()
        while True:
            r, _, _ = select.select([cap], [], [], 0.2)
            if not r:
                break
            pkt, addr = cap.recvfrom(2048)
            if addr[2] != 4 and len(pkt) >= 40 and pkt[6] == 17:
                seen.add(socket.inet_ntop(socket.AF_INET6, pkt[24:40]))
    finally:
        cap.close()
    ok = n == 20 and seen == {K.norm6(want_dst)}
    print('dataplane: %s: check stream: %d of 20 delivered, destinations on the wire %s: %s'
          % (path.name, n, sorted(seen), 'ok' if ok else 'WRONG'), flush=True)
    if path.name == 'bpf':
        c = path.counted()
        ok = ok and c >= 20
        print('dataplane: bpf: the mapping counted %d packets' % c, flush=True)
    return ok


def bench_pps(paths, flood):
    pps_setup()
    res = {p.name: [] for p in paths}
    try:
        ila = ila_addr()
        for p in paths:
            p.up()
            try:
                if not pps_check(p, flood, SIR_ADDR if p.name == 'plain' else ila):
                    raise RuntimeError('%s: the check stream was not translated as it should' %
                                       p.name)
            finally:
                p.down()
        for i in range(RUNS):
            for p in paths:
                p.up()
                try:
                    n, pps, sent = flood_run(flood, PACKETS, i + 1)
                finally:
                    p.down()
                res[p.name].append(pps)
                print('dataplane: run %d %-6s %7d of %d received, %9.0f packets/s (%s)' % (
                    i + 1, p.name, n, PACKETS, pps, sent.split('elapsed_ms=')[-1]), flush=True)
    finally:
        for ns in (SND, MID, RCV):
            netns_del(ns)
    med = {k: median(v) for k, v in res.items()}
    # the paths of one run met the same load on the host: their ratios
    # scatter less than the rates of different runs
    for base in ('module', 'plain'):
        if base in res:
            med['bpf/' + base] = [b / a for b, a in zip(res['bpf'], res[base])]
    return med


# ---- 2. a million mappings ----

def bench_install(ctl, module):
    """Seconds for MAPPINGS mappings into ila_map, and for as many routes
    through netlink: ILA routes, or plain /128 routes where the kernel has
    no ILA (--native)."""
    out = {}
    for what in ('map', 'routes'):
        KV.setup_ns(LOAD_NS)
        try:
            if what == 'map':
                argv = [ctl, '-m', str(MAPPINGS), '-b', str(BATCH), 'load-map', str(MAPPINGS)]
            else:
                argv = [ctl, '-b', str(BATCH), '-r', str(RETRIES), 'load-routes', str(MAPPINGS),
                        LOC if module else 'none', KV.DEV, LOAD_GW]
            rc, text = run(['ip', 'netns', 'exec', LOAD_NS] + argv, check=False, timeout=1800)
            m = re.search(r'seconds=([\d.]+)(?: retries=(\d+))?'
                          r'(?: refused_after=(\d+) error=(\d+))?', text)
            if not m or (rc != 0 and not (what == 'routes' and m.group(3))):
                raise RuntimeError('kbpf-ctl %s: exit %d: %s' % (what, rc, text.strip()))
            out[what] = float(m.group(1))
            out[what + '_n'] = int(m.group(3)) if m.group(3) else MAPPINGS
            out['retries'] = int(m.group(2) or 0)
            print('dataplane: %d mappings: %s %.3f s%s%s' % (
                MAPPINGS, 'BPF map (kbpf_mapping_set_batch)' if what == 'map' else
                '%s routes (kernel_batch_commit)' % ('ILA' if module else 'plain /128'),
                out[what], '' if what == 'map' else
                ', %d batches sent again after ENOMEM' % out['retries'],
                '' if not m.group(3) else
                ': the kernel refused route %d (%s) and stopped the adds there' % (
                    int(m.group(3)) + 1, os.strerror(int(m.group(4))))), flush=True)
        finally:
            netns_del(LOAD_NS)
    return out


# ---- 3. ilad's memory per mapping ----

def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def bpf_map_memlock(name):
    rc, text = run(['bpftool', '-j', 'map', 'show', 'name', name], check=False)
    if rc != 0:
        return None
    try:
        v = json.loads(text)
    except ValueError:
        return None
    v = v[0] if isinstance(v, list) and v else v
    if not isinstance(v, dict) or 'bytes_memlock' not in v:
        return None
    return v['bytes_memlock'], v['max_entries']


def bench_ilad_memory():
    net = N.Net('dataplane-mem')
    try:
        ctl = KV.start_node(net, ['dataplane bpf'])
        pid = net.procs['n'].pid
        time.sleep(1.0)
        r0 = rss_kib(pid)
        set0 = N.flatten(ctl.json('show stats')).get('bpf_set', 0)
        pr = KV.probe(net, KV.LOC1, 1, ILAD_MAPPINGS)
        out, _ = pr.communicate(timeout=KV.TIMEOUT_S)
        if pr.returncode != 0:
            raise RuntimeError('ila-probe register: %s' % out[-300:])
        if not N.until(lambda: N.flatten(ctl.json('show stats')).get('bpf_set', 0) - set0 >=
                       ILAD_MAPPINGS, KV.TIMEOUT_S, 0.2):
            raise RuntimeError('ilad: bpf_set %s of %d after %d s' % (
                N.flatten(ctl.json('show stats')).get('bpf_set'), ILAD_MAPPINGS, KV.TIMEOUT_S))
        time.sleep(1.0)
        r1 = rss_kib(pid)
        maps = {m: bpf_map_memlock(m) for m in ('ila_map', 'ila_stats')}
        return r0, r1, maps
    finally:
        net.close()
        N.NS.pop('n', None)
        netns_del(KV.NS)


# ---- 4. miss to installed mapping ----

def miss_to_installed():
    """The time from a miss event to the mapping installed in ila_map, as
    tests/integration/run bpf-ondemand measures it on this kernel (an
    on-demand node, its first packet to each of a few addresses, ilad's
    QUERY, the answer in ila_map: show misses' install_us), its median over
    the addresses. None when the suite cannot run here (the summary then
    says "not measured" and why)."""
    if 'miss' not in PARTS:
        return None
    runner = os.path.join(TOP, 'tests', 'integration', 'run')
    try:
        p = subprocess.run([runner, 'bpf-ondemand'], capture_output=True, text=True,
                           timeout=300, env=os.environ)
    except (OSError, subprocess.TimeoutExpired) as e:
        print('dataplane: miss -> installed: tests/integration/run bpf-ondemand: %s' % e)
        return None
    m = re.search(r'miss to installed mapping .*?: median ([0-9.]+) ms over (\d+) addresses',
                  p.stdout)
    if not m:
        print('dataplane: miss -> installed: no figure from bpf-ondemand (exit %d):\n%s' % (
            p.returncode, p.stdout[-600:]))
        return None
    print('dataplane: miss -> installed mapping: median %s ms over %s addresses '
          '(tests/integration/run bpf-ondemand)' % (m.group(1), m.group(2)))
    return float(m.group(1))


def main():
    flood, ctl = find_tool('flood'), find_tool('kbpf-ctl')
    for t, what in ((flood, 'flood'), (ctl, 'kbpf-ctl'), (find_tool('ila-xlat'), 'ila-xlat'),
                    (N.ILAD, 'ilad'), (N.MAPPER, 'ila-mapper'), (N.PROBE, 'ila-probe')):
        if not t or not os.access(t, os.X_OK):
            sys.exit('dataplane: %s missing (a build with BPF: make all tests/integration/ila-probe)'
                     % what)
    module = has_module()
    if not module and not NATIVE:
        sys.exit('dataplane: this kernel has no ILA module (run in the test VM, or --native)')
    paths = [Path('plain')] + ([Path('module')] if module else []) + [Path('bpf', ctl)]
    t0 = time.monotonic()
    pps = bench_pps(paths, flood) if 'pps' in PARTS else None
    inst = bench_install(ctl, module) if 'install' in PARTS else None
    mem = bench_ilad_memory() if 'memory' in PARTS else None
    miss = miss_to_installed()
    summary(module, pps, inst, mem, miss)
    print('dataplane: took %.0f s' % (time.monotonic() - t0))
    return 0


def summary(module, pps, inst, mem, miss):
    """Writes the results.json entries and prints the table."""

    k = '%dk' % (MAPPINGS // 1000) if MAPPINGS % 1000 == 0 else str(MAPPINGS)
    if MAPPINGS % 1000000 == 0:
        k = '%dm' % (MAPPINGS // 1000000)
    rows = []
    if pps and module:
        rows.append(('dataplane_pps_bpf_vs_module_' + WHERE, 'packets/s', pps['bpf'],
                     pps['module'], 'higher'))
    if pps:
        rows.append(('dataplane_pps_bpf_vs_plain_' + WHERE, 'packets/s', pps['bpf'],
                     pps['plain'], 'higher'))
    if inst and inst['routes_n'] == MAPPINGS:
        rows.append(('dataplane_%s_install_%s' % (k, WHERE), 's', inst['map'], inst['routes'],
                     'lower'))
    elif inst:
        # the kernel stopped the routes early: time per mapping instead
        rows.append(('dataplane_%s_install_%s' % (k, WHERE), 'us/mapping',
                     inst['map'] * 1e6 / MAPPINGS, inst['routes'] * 1e6 / inst['routes_n'],
                     'lower'))
    entries = [{'name': n, 'unit': u, 'ila': round(a, 4), 'baseline': round(b, 4),
                'ratio': round(a / b, 4), 'better': bt} for n, u, a, b, bt in rows]
    with open(OUT, 'w') as f:
        json.dump(entries, f)

    print('\ndataplane (%s, %s): medians of %d runs; %d packets a run, csum-mode %s' % (
        WHERE, os.uname().release, RUNS, PACKETS, MODE))
    print('%-44s %14s %14s %8s  %s' % ('figure', 'value', 'against', 'ratio', 'aim'))
    for name in ('bpf', 'module', 'plain'):
        if pps and name in pps and not isinstance(pps[name], list):
            print('%-44s %14.0f' % ('packets/s through ' + name, pps[name]))
    for base, label, aim in (('module', 'module', '>= 1.0'),
                             ('plain', 'plain forwarding', '>= 0.9')):
        if pps and base in pps:
            print('%-44s %14.0f %14.0f %8.3f  %s' % ('BPF / %s packets/s' % label, pps['bpf'],
                                                     pps[base], pps['bpf'] / pps[base], aim))
            per = pps['bpf/' + base]
            print('%-44s %14s %14s %8.3f    (runs: %s)' % (
                '  median of the per-run ratios', '', '', median(per),
                ' '.join('%.3f' % r for r in per)))
    kind = 'ILA' if module else 'plain'
    if inst and inst['routes_n'] == MAPPINGS:
        print('%-44s %14.3f %14.3f %8.3f  <= 0.2' % (
            '%d mappings: BPF map / %s routes (s)' % (MAPPINGS, kind),
            inst['map'], inst['routes'], inst['map'] / inst['routes']))
    elif inst:
        a, b = inst['map'] * 1e6 / MAPPINGS, inst['routes'] * 1e6 / inst['routes_n']
        print('%-44s %14.3f %14.3f %8.3f  <= 0.2' % (
            'BPF map / %s routes (us per mapping)' % kind, a, b, a / b))
        print('  (%d mappings into the map in %.3f s; the kernel refused %s route %d, '
              'after %.3f s)' % (MAPPINGS, inst['map'], kind, inst['routes_n'] + 1,
                                 inst['routes']))
    if mem:
        r0, r1, maps = mem
        print('%-44s %14.0f   (VmRSS %d -> %d KiB, %d mappings)' % (
            'ilad bytes per cached mapping (bpf)', (r1 - r0) * 1024.0 / ILAD_MAPPINGS, r0, r1,
            ILAD_MAPPINGS))
        for m, v in maps.items():
            if v:
                print('%-44s %14.0f   (memlock %d B / %d entries, preallocated)' % (
                    'BPF %s bytes per entry' % m, v[0] / v[1], v[0], v[1]))
            else:
                print('%-44s %14s' % ('BPF %s bytes per entry' % m, 'no bpftool'))
    print('%-44s %14s' % ('miss -> installed mapping', 'not measured' if miss is None else
                          '%.3f ms' % miss))


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *a: sys.exit('dataplane: stopped'))
    sys.exit(main())
