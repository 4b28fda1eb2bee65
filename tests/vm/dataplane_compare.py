#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The dataplane-compare suite (tests/vm/suites/dataplane-compare.sh, in the
guest): the same packets through the kernel's ILA module and through the
BPF data path (doc/bpf.md) give the same bytes on the wire, in every
checksum mode, except adj-transport, where the BPF checksum is the valid
one and the module's is the invalid one REFERENCE.md describes.

Four namespaces in a line, joined by veth pairs:

    SND --- MID --- RCV --- SNK

SND sends every probe from a raw socket with its own IPv6 header
(IPPROTO_RAW), so that both data paths get exactly the same input bytes:
a UDP, a TCP and an ICMPv6 echo packet to each sendable sir2ila SIR address
of tests/model/ila_vectors.txt (kernel_ila.plan() picks them) and to each
ila2sir ILA address. Way out (SIR -> ILA) is SND's: the module's
`SIR/128 encap ila LOC` routes, or ilad's layout with BPF: one route per
SIR /64 holding ila_out (KROUTE_BPF through tests/vm/kbpf-ctl, the
project's loader and netlink batches) and a mapping per address. MID
forwards to RCV. Way in (ILA -> SIR) is RCV's: the module's translation
table (`ip ila add`), or ila_in on tc ingress with the locators in its map;
RCV forwards the SIR packet to SNK. AF_PACKET captures on MID's ingress
(what way out sent) and on SNK's (what way in made of it) are compared byte
for byte between the two runs; checksums are checked with vmlib's
independent code, and the module's adj-transport result against the
library's model of the kernel (ila-xlat adjkernel).
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_ila as K
from vmlib import (Failed, NetNS, Results, find_tool, ip, ip_batch, l4_csum, netns_add,
                   netns_del, norm6, run)

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SND, MID, RCV, SNK = 'dpc-snd', 'dpc-mid', 'dpc-rcv', 'dpc-snk'
SND_ADDR, MID_SADDR = '2001:db8:ff::1', '2001:db8:ff::2'
MID_RADDR, RCV_MADDR = '2001:db8:fe::1', '2001:db8:fe::2'
RCV_SADDR, SNK_ADDR = '2001:db8:fd::1', '2001:db8:fd::2'
SND_DEV, MID_SDEV, MID_RDEV, RCV_MDEV, RCV_SDEV, SNK_DEV = (
    'c-snd', 'c-mid-s', 'c-mid-r', 'c-rcv-m', 'c-rcv-s', 'c-snk')
VN = 1
PROTOS = (('udp', 17, 6), ('tcp', 6, 16), ('icmpv6', 58, 2))   # name, next header, csum offset
MARK = b'dpcmp '
HLIM = 64
# Vectors per mode and direction (each sent as UDP, TCP and ICMPv6); 0: all.
MAX_VECTORS = int(os.environ.get('ILA_DPC_VECTORS', '8'))


class Probe:
    def __init__(self, pid, kind, mode, proto, dst, loc, prefix, want_wire, want_back):
        self.id = pid
        self.kind = kind            # 'route': to a SIR address; 'raw': to an ILA address
        self.mode = mode
        self.proto = proto          # (name, next header, checksum offset)
        self.dst = dst
        self.loc = loc
        self.prefix = prefix        # the SIR /64 in locator notation
        self.want_wire = want_wire  # the library's address on MID's wire
        self.want_back = want_back  # the library's SIR address on SNK's wire
        self.pkt = None             # the bytes sent
        self.out = {}               # path -> bytes captured at MID
        self.back = {}              # path -> bytes captured at SNK


def segment(p, csum):
    payload = MARK + b'%d' % p.id + b' ' * (24 - len(b'%d' % p.id))
    name = p.proto[0]
    if name == 'udp':
        return struct.pack('!HHHH', 40001, 5555, 8 + len(payload), csum) + payload
    if name == 'tcp':
        return struct.pack('!HHIIBBHHH', 40002, 5556, p.id, 0, 5 << 4, 0x18, 1024, csum,
                           0) + payload
    return struct.pack('!BBHHH', 128, 0, csum, 0x1234, p.id & 0xffff) + payload


def build(p, csum_dst):
    """The probe's IPv6 packet, its transport checksum valid for csum_dst."""
    seg = segment(p, 0)
    c = l4_csum(SND_ADDR, csum_dst, p.proto[1], seg)
    if p.proto[0] == 'udp' and c == 0:
        c = 0xffff
    seg = segment(p, c)
    hdr = struct.pack('!IHBB', 6 << 28, len(seg), p.proto[1], HLIM)
    return (hdr + socket.inet_pton(socket.AF_INET6, SND_ADDR) +
            socket.inet_pton(socket.AF_INET6, p.dst) + seg)


def dst_of(pkt):
    return socket.inet_ntop(socket.AF_INET6, pkt[24:40])


def csum_of(p, pkt):
    off = 40 + p.proto[2]
    return struct.unpack('!H', pkt[off:off + 2])[0]


def csum_valid(p, pkt):
    """Independent: the ones' sum over pseudo-header and segment is all ones."""
    plen = struct.unpack('!H', pkt[4:6])[0]
    return l4_csum(SND_ADDR, dst_of(pkt), p.proto[1], pkt[40:40 + plen]) == 0


def probe_id(pkt):
    i = pkt.find(MARK)
    if i < 0:
        return None
    try:
        return int(pkt[i + len(MARK):i + len(MARK) + 24].split()[0])
    except (ValueError, IndexError):
        return None


def setup():
    for ns in (SND, MID, RCV, SNK):
        netns_add(ns)
    K.link(SND, SND_DEV, SND_ADDR, MID, MID_SDEV, MID_SADDR)
    K.link(MID, MID_RDEV, MID_RADDR, RCV, RCV_MDEV, RCV_MADDR)
    K.link(RCV, RCV_SDEV, RCV_SADDR, SNK, SNK_DEV, SNK_ADDR)
    for ns in (MID, RCV):
        run(['ip', 'netns', 'exec', ns, 'sh', '-c',
             'echo 1 >/proc/sys/net/ipv6/conf/all/forwarding'])
    ip('-6', 'route', 'add', 'default', 'via', MID_SADDR, 'dev', SND_DEV, ns=SND)
    ip('-6', 'route', 'add', 'default', 'via', RCV_MADDR, 'dev', MID_RDEV, ns=MID)
    ip('-6', 'route', 'add', 'default', 'via', SNK_ADDR, 'dev', RCV_SDEV, ns=RCV)


class Ctl:
    """A tests/vm/kbpf-ctl serve process in a namespace: the loaded BPF
    programs live as long as it does."""

    def __init__(self, tool, ns, log):
        self.ns = ns
        self.p = subprocess.Popen(['ip', 'netns', 'exec', ns, tool, '-m', '1024', 'serve'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                  universal_newlines=True, bufsize=1)
        self.expect_ok('(start)')

    def expect_ok(self, what):
        r, _, _ = select.select([self.p.stdout], [], [], 30)
        line = self.p.stdout.readline().strip() if r else ''
        if not line.startswith('ok'):
            raise Failed('kbpf-ctl in %s: %s: %s' % (self.ns, what, line or 'no answer'))
        return line

    def cmd(self, *lines):
        out = []
        for line in lines:
            self.p.stdin.write(line + '\n')
            self.p.stdin.flush()
            out.append(self.expect_ok(line))
        return out

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write('quit\n')
                self.p.stdin.close()
                self.p.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def send_and_capture(probes, path):
    with NetNS(MID):
        cap1 = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        cap1.bind((MID_SDEV, ETH_P_ALL))
    with NetNS(SNK):
        cap2 = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        cap2.bind((SNK_DEV, ETH_P_ALL))
    with NetNS(SND):
        tx = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    byid = {p.id: p for p in probes}
    try:
        for p in probes:
            tx.sendto(p.pkt, (p.dst, 0))
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if all(path in p.out and path in p.back for p in probes):
                break
            r, _, _ = select.select([cap1, cap2], [], [], 0.2)
            for s in r:
                pkt, addr = s.recvfrom(65535)
                if addr[2] == PACKET_OUTGOING or len(pkt) < 40 or pkt[0] >> 4 != 6:
                    continue
                p = byid.get(probe_id(pkt))
                if p:
                    (p.out if s is cap1 else p.back).setdefault(path, pkt)
    finally:
        for s in (cap1, cap2, tx):
            s.close()


def module_phase(mode, probes, entries):
    ip_batch(['route add %s/128 encap ila %s csum-mode %s ident-type luid via %s dev %s' %
              (d, loc, mode, MID_SADDR, SND_DEV)
              for d, loc in sorted({(p.dst, p.loc) for p in probes if p.kind == 'route'})],
             ns=SND)
    ip_batch(['ila add loc_match %s loc %s csum-mode %s ident-type luid' % (loc, pre, mode)
              for loc, pre in sorted(entries.items())], ns=RCV)
    try:
        send_and_capture(probes, 'module')
    finally:
        ip_batch(['route del %s/128' % d for d in sorted({p.dst for p in probes
                                                           if p.kind == 'route'})],
                 ns=SND, force=True)
        ip_batch(['ila del loc_match %s' % loc for loc in sorted(entries)], ns=RCV, force=True)


def bpf_phase(res, mode, probes, entries, out, inn):
    routes = sorted({(p.dst, p.loc) for p in probes if p.kind == 'route'})
    prefixes = sorted({K.prefix64(d) for d, _ in routes})
    out.cmd(*['prefix %s %d %s' % (pre, VN, mode) for pre in prefixes])
    out.cmd(*['map %d %s %s' % (VN, d, loc) for d, loc in routes])
    out.cmd(*['route %s dev %s via %s' % (pre, SND_DEV, MID_SADDR) for pre in prefixes])
    inn.cmd(*['locator %s %s %s' % (loc, pre, mode) for loc, pre in sorted(entries.items())])
    inn.cmd('tc %s' % RCV_MDEV)
    try:
        _, shown = ip('-6', 'route', 'show', ns=SND)
        res.check('%s: BPF: %d SIR prefix route(s) shown as "encap bpf xmit ila_out"' %
                  (mode, len(prefixes)),
                  sum('encap bpf' in l and 'ila_out' in l for l in shown.splitlines()) ==
                  len(prefixes), shown)
        send_and_capture(probes, 'bpf')
        per = len(PROTOS)
        bad = []
        for d, _ in routes:
            got = out.cmd('counters %d %s' % (VN, d))[0].split()
            if int(got[2]) != per:
                bad.append('%s: %s' % (d, ' '.join(got[1:])))
        res.check('%s: BPF: each mapping counted its %d packets (UDP, TCP, ICMPv6)' %
                  (mode, per), not bad, '; '.join(bad[:3]))
    finally:
        inn.cmd('untc %s' % RCV_MDEV)
        inn.cmd(*['unlocator %s' % loc for loc in sorted(entries)])
        out.cmd(*['unroute %s' % pre for pre in prefixes])
        out.cmd(*['unmap %d %s' % (VN, d) for d, _ in routes])


def compare(res, tool, mode, probes):
    n = len(probes)
    lost = ['%s %s %s' % (p.kind, p.proto[0], p.dst) + ' (%s)' % path
            for p in probes for path in ('module', 'bpf')
            if path not in p.out or path not in p.back]
    res.check('%s: %d probes x 2 data paths captured on both wires' % (mode, n), not lost,
              'missing: ' + '; '.join(lost[:4]))
    seen = [p for p in probes if len(p.out) == 2 and len(p.back) == 2]
    routed = [p for p in seen if p.kind == 'route']
    raw = [p for p in seen if p.kind == 'raw']
    adj = mode == 'adj-transport'

    # Way out, SIR -> ILA.
    bad = ['%s %s: module %s, bpf %s, library %s' % (p.proto[0], p.dst, dst_of(p.out['module']),
                                                      dst_of(p.out['bpf']), p.want_wire)
           for p in routed
           if not norm6(dst_of(p.out['module'])) == norm6(dst_of(p.out['bpf'])) ==
           norm6(p.want_wire)]
    res.check('%s: way out: %d packets, both paths write the library\'s ILA address' %
              (mode, len(routed)), routed and not bad, '; '.join(bad[:3]))
    if not adj:
        bad = [diff(p, p.out) for p in routed if p.out['module'] != p.out['bpf']]
        res.check('%s: way out: module and BPF output byte-identical, %d packets '
                  '(UDP, TCP, ICMPv6)' % (mode, len(routed)), routed and not bad,
                  '; '.join(bad[:3]))
    else:
        adj_checks(res, tool, mode, 'way out', routed, 'out', lambda p: (p.prefix, p.loc),
                   lambda p: csum_of(p, p.pkt))

    # Way in, ILA -> SIR: raw ILA packets (same input for both paths).
    bad = ['%s %s: module %s, bpf %s, library %s' % (p.proto[0], p.dst,
                                                      dst_of(p.back['module']),
                                                      dst_of(p.back['bpf']), p.want_back)
           for p in raw
           if not norm6(dst_of(p.back['module'])) == norm6(dst_of(p.back['bpf'])) ==
           norm6(p.want_back)]
    res.check('%s: way in: %d ILA packets, both paths restore the library\'s SIR address' %
              (mode, len(raw)), raw and not bad, '; '.join(bad[:3]))
    if not adj:
        bad = [diff(p, p.back) for p in raw if p.back['module'] != p.back['bpf']]
        res.check('%s: way in: module and BPF output byte-identical, %d packets' %
                  (mode, len(raw)), raw and not bad, '; '.join(bad[:3]))
    else:
        adj_checks(res, tool, mode, 'way in', raw, 'back', lambda p: (p.loc, p.prefix),
                   lambda p: csum_of(p, p.pkt))

    # Round trip: what way out sent, translated back by RCV.
    # (The library's address back is the SIR address sent, except where
    # ones' complement arithmetic turns an identifier's 0x0000 into 0xffff.)
    bad = ['%s %s: module %s, bpf %s, library %s' % (p.proto[0], p.dst,
                                                      dst_of(p.back['module']),
                                                      dst_of(p.back['bpf']), p.want_back)
           for p in routed
           if not norm6(dst_of(p.back['module'])) == norm6(dst_of(p.back['bpf'])) ==
           norm6(p.want_back)]
    if not adj:
        bad += [diff(p, p.back) for p in routed if p.back['module'] != p.back['bpf']]
    else:
        bad += ['%s %s: BPF checksum %04x invalid' % (p.proto[0], p.dst,
                                                      csum_of(p, p.back['bpf']))
                for p in routed if not csum_valid(p, p.back['bpf'])]
    bad += ['%s %s: not the packet sent but for the destination' % (p.proto[0], p.dst)
            for p in routed
            if p.back['bpf'][8:24] + p.back['bpf'][40:] != p.pkt[8:24] + p.pkt[40:] and
            (adj or norm6(p.dst) == norm6(p.want_back))]
    res.check('%s: round trip (out, then in at RCV): %d packets back at the library\'s SIR '
              'address%s' % (mode, len(routed),
                             ', BPF\'s checksum valid again' if adj else
                             ', module = BPF byte for byte'), routed and not bad,
              '; '.join(bad[:3]))


def diff(p, where):
    a, b = where['module'], where['bpf']
    if len(a) != len(b):
        return '%s %s: lengths %d and %d' % (p.proto[0], p.dst, len(a), len(b))
    at = [i for i in range(len(a)) if a[i] != b[i]]
    return '%s %s: %d bytes differ, first at %d (module %02x, bpf %02x)' % (
        p.proto[0], p.dst, len(at), at[0], a[at[0]], b[at[0]])


def adj_checks(res, tool, mode, what, probes, attr, locs, sent_csum):
    """adj-transport: the same bytes but the transport checksum; BPF's is
    valid, the module's is the library's model of the kernel and invalid."""
    reqs = [('adjkernel', '%04x' % sent_csum(p)) + locs(p) for p in probes]
    pred = [int(a, 16) for a in K.xlat(tool, reqs)] if reqs else []
    bad_rest, bad_bpf, bad_mod = [], [], []
    mod_invalid = 0
    for p, want in zip(probes, pred):
        m, b = getattr(p, attr)['module'], getattr(p, attr)['bpf']
        off = 40 + p.proto[2]
        if len(m) != len(b) or m[:off] != b[:off] or m[off + 2:] != b[off + 2:]:
            bad_rest.append(diff(p, getattr(p, attr)))
        if not csum_valid(p, b):
            bad_bpf.append('%s %s: %04x' % (p.proto[0], p.dst, csum_of(p, b)))
        got = csum_of(p, m)
        if got != want and not (p.proto[0] == 'udp' and want == 0 and got == 0xffff):
            bad_mod.append('%s %s: %04x, predicted %04x' % (p.proto[0], p.dst, got, want))
        mod_invalid += not csum_valid(p, m)
    res.check('%s: %s: module and BPF output identical but for the transport checksum, '
              '%d packets' % (mode, what, len(probes)), probes and not bad_rest,
              '; '.join(bad_rest[:3]))
    res.check('%s: %s: BPF transport checksum valid (independent check), %d packets' %
              (mode, what, len(probes)), probes and not bad_bpf, '; '.join(bad_bpf[:3]))
    res.check('%s: %s: module transport checksum = the kernel fault the library models '
              '(ila_csum_adjust_transport_kernel), invalid in %d of %d' %
              (mode, what, mod_invalid, len(probes)),
              probes and not bad_mod and mod_invalid == len(probes), '; '.join(bad_mod[:3]))


def in_sir(addr, prefixes):
    return K.prefix64(addr) in prefixes


def probes_for(mode, routes, raws, start):
    """UDP, TCP and ICMPv6 probes of one mode, at most MAX_VECTORS route
    and as many raw vectors; entries: locator -> SIR prefix. A vector whose
    ILA address lies in a SIR /64 of the mode is left out: with BPF that
    prefix's route takes the translated packet to ila_out again (see
    doc/bpf.md); the count is printed."""
    probes, entries = [], {}
    pid = start
    sir = {K.prefix64(v['sir']) for v in routes}
    mapped = {norm6(w['sir']) for w in routes}
    loops = [v for v in routes if in_sir(v['lib'], sir) and norm6(v['lib']) in mapped]
    if loops:
        Results.info('%s: %d vector(s) left out: their ILA address is itself a mapped SIR '
                     'address (%s), which ila_out translates again until the kernel\'s LWT '
                     'recursion limit drops it; the module\'s /128 route does not' %
                     (mode, len(loops), ' '.join(v['sir'] for v in loops)))
    n = 0
    for v in routes:
        if v in loops or (MAX_VECTORS and n == MAX_VECTORS):
            continue
        if entries.setdefault(v['loc'], v['prefix']) != v['prefix']:
            continue
        n += 1
        for proto in PROTOS:
            pid += 1
            probes.append(Probe(pid, 'route', mode, proto, v['sir'], v['loc'], v['prefix'],
                                v['lib'], v['back']))
    routed = {norm6(p.dst) for p in probes}
    n = 0
    for v in raws:
        if MAX_VECTORS and n == MAX_VECTORS:
            break
        if norm6(v['ila']) in routed or entries.setdefault(v['loc'], v['prefix']) != v['prefix']:
            continue
        n += 1
        for proto in PROTOS:
            pid += 1
            probes.append(Probe(pid, 'raw', mode, proto, v['ila'], v['loc'], v['prefix'],
                                v['ila'], v['lib']))
    for p in probes:
        # a real sender's checksum: valid for the address it sends to, or,
        # where the way in leaves the checksum alone, for the SIR address
        target = p.dst if p.kind == 'route' or mode == 'adj-transport' else p.want_back
        p.pkt = build(p, target)
    return probes, entries, pid


def main():
    res = Results()
    t0 = time.monotonic()
    xlat = find_tool('ila-xlat')
    ctl = find_tool('kbpf-ctl')
    ctls = []
    log = open(os.path.join(os.environ.get('ILA_VM_OUT', '/tmp'), 'dataplane-compare-kbpf-ctl.log'), 'a')
    try:
        res.require('helpers present: ila-xlat (%s), kbpf-ctl (%s; a build with BPF)' %
                    (xlat, ctl), bool(xlat and ctl))
        vecs = K.load_vectors()
        lib = K.xlat(xlat, [tuple(w[:4]) for w in vecs])
        K.kernel_has_ila(res)
        setup()
        try:
            out, inn = Ctl(ctl, SND, log), None
            ctls.append(out)
            inn = Ctl(ctl, RCV, log)
            ctls.append(inn)
        except (Failed, OSError) as e:
            res.require('BPF programs loaded by the project\'s loader in the guest', False,
                        str(e))
        res.check('BPF programs loaded by the project\'s loader in the guest (kbpf-ctl)', True)
        per_mode, _ = K.plan(xlat, vecs, lib)
        pid = 0
        for mode in K.MODES:
            routes, _, raws = per_mode[mode]
            probes, entries, pid = probes_for(mode, routes, raws, pid)
            module_phase(mode, probes, entries)
            bpf_phase(res, mode, probes, entries, out, inn)
            compare(res, xlat, mode, probes)
    except Failed as e:
        res.check('suite aborted', False, str(e))
    finally:
        for c in ctls:
            c.close()
        for ns in (SND, MID, RCV, SNK):
            netns_del(ns)
        log.close()
    Results.info('dataplane-compare suite took %.1f s' % (time.monotonic() - t0))
    return 0 if res.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
