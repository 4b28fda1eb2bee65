#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel-ila suite (run by tests/vm/suites/kernel-ila.sh in the guest).

Proves the guest kernel does ILA and that the library's translations are the
kernel's. A sender, a router and a receiver namespace are joined by veth
pairs. For each checksum mode, the sender gets one `SIR/128 encap ila LOC`
route per sendable sir2ila vector of tests/model/ila_vectors.txt and sends
one UDP packet to each SIR address; a capture on the router's ingress shows
the destination and the checksum on the wire, which must be what
ila_sir_to_ila() (through ila-xlat) and the model say. The receiver holds
`ip ila add loc_match LOC loc SIR-PREFIX` entries, so each packet must reach
its UDP socket addressed to the SIR address again (ila_ila_to_sir()). ILA
addresses no route made (the vectors' ila2sir lines) are sent from a raw
socket. A TCP connection per mode shows a real transport end to end.
Checksums are computed here, independently of the C code; the kernel's
adj-transport result is predicted with the library's
ila_csum_adjust_transport_kernel(). The translation table is read back over
generic netlink by vmlib.ila_table(), not with "ip ila list", whose locator
columns are garbage in iproute2 6.1.

The capture sits on a router, not on the receiver: the receiver's ILA hook
rewrites the destination in place, in the buffer a packet socket there
shares, so a capture on the receiver may show the address after translation.
"""
import ipaddress
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmlib import (IPV6_PKTINFO, IPV6_RECVPKTINFO, PACKET_OUTGOING, TOP, Failed, NetNS,
                   Results, find_tool, ila_table, ip, ip_batch, l4_csum, netns_add, netns_del,
                   norm6, parse_ipv6_udp, run, tx_csum_off, udp_csum_valid)

ETH_P_ALL = 0x0003

VECTORS = os.path.join(TOP, 'tests', 'model', 'ila_vectors.txt')
SND, MID, RCV = 'ila-snd', 'ila-mid', 'ila-rcv'
SND_DEV, MID_SDEV, MID_RDEV, RCV_DEV = 'v-snd', 'v-mid-s', 'v-mid-r', 'v-rcv'
SND_ADDR, MID_SADDR = '2001:db8:ff::1', '2001:db8:ff::2'
MID_RADDR, RCV_ADDR = '2001:db8:fe::1', '2001:db8:fe::2'
UDP_PORT, TCP_PORT, RAW_SPORT = 5555, 5556, 40000
MODES = ('neutral-map', 'neutral-map-auto', 'no-action', 'adj-transport')
# What a correct translation must give on receive; adj-transport is the
# kernel's known fault: it is predicted, not required to work.
DELIVERS = {'neutral-map': True, 'neutral-map-auto': True, 'no-action': True}


def load_vectors():
    vecs = []
    with open(VECTORS) as f:
        for line in f:
            w = line.split()
            if w and w[0] in ('sir2ila', 'ila2sir', 'adjkernel') and len(w) == 5:
                vecs.append(w)
    return vecs


def xlat(tool, requests):
    """The library's answers, from one ila-xlat process."""
    _, out = run([tool, '-'], input=''.join(' '.join(r) + '\n' for r in requests))
    ans = out.split()
    if len(ans) != len(requests):
        raise Failed('ila-xlat answered %d of %d requests' % (len(ans), len(requests)))
    return ans


def sendable(a):
    """A destination a packet can be routed to between two namespaces."""
    x = ipaddress.IPv6Address(a)
    return not (x.is_multicast or x.is_unspecified or x.is_loopback or x.is_link_local or
                x.ipv4_mapped or int(x) >> 64 == 0)


def loc_of(a):
    """The upper 64 bits of an address in iproute2's locator notation."""
    b = socket.inet_pton(socket.AF_INET6, a)
    return ':'.join('%x' % g for g in struct.unpack('!4H', b[:8]))


def loc_norm(s):
    return ':'.join('%x' % int(g, 16) for g in s.split(':'))


def prefix64(a):
    """The /64 an address is in, as "2001:db8:1::/64"."""
    return str(ipaddress.IPv6Network((int(ipaddress.IPv6Address(a)) >> 64 << 64, 64)))


def prefix_loc(p):
    return loc_of(p.split('/')[0])


def link(ns_a, dev_a, addr_a, ns_b, dev_b, addr_b):
    """A veth pair with static neighbours: no ND race with the first probes."""
    ip('link', 'add', dev_a, 'netns', ns_a, 'type', 'veth', 'peer', 'name', dev_b, 'netns', ns_b)
    mac = {}
    for ns, dev, a in ((ns_a, dev_a, addr_a), (ns_b, dev_b, addr_b)):
        ip_batch(['addr add %s/64 dev %s nodad' % (a, dev), 'link set %s up' % dev], ns=ns)
        _, out = ip('-br', 'link', 'show', dev, ns=ns)
        mac[dev] = out.split()[2]
    ip('-6', 'neigh', 'replace', addr_b, 'lladdr', mac[dev_b], 'dev', dev_a, 'nud', 'permanent',
       ns=ns_a)
    ip('-6', 'neigh', 'replace', addr_a, 'lladdr', mac[dev_a], 'dev', dev_b, 'nud', 'permanent',
       ns=ns_b)


def setup(res):
    for ns in (SND, MID, RCV):
        netns_add(ns)
    link(SND, SND_DEV, SND_ADDR, MID, MID_SDEV, MID_SADDR)
    link(MID, MID_RDEV, MID_RADDR, RCV, RCV_DEV, RCV_ADDR)
    run(['ip', 'netns', 'exec', MID, 'sh', '-c',
         'echo 1 >/proc/sys/net/ipv6/conf/all/forwarding'])
    ip('-6', 'route', 'add', 'default', 'via', MID_SADDR, 'dev', SND_DEV, ns=SND)
    ip('-6', 'route', 'add', 'default', 'via', RCV_ADDR, 'dev', MID_RDEV, ns=MID)
    ip('-6', 'route', 'add', 'default', 'via', MID_RADDR, 'dev', RCV_DEV, ns=RCV)
    how = [tx_csum_off(SND_DEV, SND), tx_csum_off(RCV_DEV, RCV)]
    _, out = run(['ip', 'netns', 'exec', SND, 'ethtool', '-k', SND_DEV], check=False)
    off = 'tx-checksumming: off' in out if how[0] == 'ethtool' else True
    res.require('software transport checksums on the sender (tx offload off, by %s)' % how[0],
                off, out if not off else '')


def iproute2_list_info(table):
    """Says whether "ip ila list" shows the locators the kernel holds."""
    _, ver = run(['ip', '-V'], check=False)
    _, out = ip('ila', 'list', ns=RCV, check=False)
    shown = set()
    for line in out.splitlines():
        w = line.split()
        if len(w) >= 2:
            try:
                shown.add((loc_norm(w[0]), loc_norm(w[1])))
            except ValueError:
                pass
    real = {(e.get('locator_match'), e.get('locator')) for e in table}
    Results.info('"ip ila list" of %s %s the kernel\'s locators%s' % (
        ver.strip().split(',')[1].strip() if ',' in ver else 'iproute2',
        'shows' if shown == real else 'does NOT show',
        '' if shown == real else ' (first line: %r)' % out.splitlines()[:1]))


def kernel_has_ila(res):
    _, rel = run(['uname', '-r'])
    netns_add('ila-probe')
    try:
        rc, out = ip('-6', 'route', 'add', '2001:db8:1::1/128', 'encap', 'ila', '2001:0:0:1',
                     'csum-mode', 'neutral-map', 'ident-type', 'luid', 'dev', 'lo',
                     ns='ila-probe', check=False)
        res.require('kernel %s takes "encap ila" routes' % rel.strip(), rc == 0, out)
        rc, out = ip('ila', 'add', 'loc_match', '2001:0:0:1', 'loc', '2001:db8:1:0',
                     ns='ila-probe', check=False)
        res.require('kernel has the "ila" generic netlink family (ip ila add)', rc == 0, out)
    finally:
        netns_del('ila-probe')


class Probe:
    def __init__(self, pid, kind, mode, dst, loc, prefix, want_wire, want_back):
        self.id = pid
        self.kind = kind            # 'route' (UDP socket to SIR) or 'raw' (to an ILA address)
        self.mode = mode
        self.dst = dst              # where the sender sends it
        self.loc = loc              # locator on the wire
        self.prefix = prefix        # SIR prefix, W:X:Y:Z
        self.want_wire = want_wire  # library's ILA address
        self.want_back = want_back  # library's SIR address after the receiver's translation
        self.wire = None            # (dst, checksum, segment) captured
        self.got = None             # destination the receiving socket saw
        self.csum_sent = None       # raw probes: checksum we wrote
        self.delivers = None        # prediction
        self.model_wire = None      # the vector file's ILA address
        self.model_back = None      # the vector file's SIR address (ila2sir lines)
        self.csum_pred = None       # adj-transport: the checksum the library predicts


def raw_segment(p, csum=0):
    """The UDP segment a raw probe sends."""
    payload = b'ila-vm probe %d' % p.id
    return struct.pack('!HHHH', RAW_SPORT, UDP_PORT, 8 + len(payload), csum) + payload


def capture_and_send(probes, pending_tcp):
    """Opens the receiver's sockets, sends every probe, collects. Returns
    the TCP result (None, or (ok, detail))."""
    with NetNS(MID):
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        cap.bind((MID_SDEV, ETH_P_ALL))
    with NetNS(RCV):
        rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        rx.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        rx.bind(('::', UDP_PORT))
        lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(('::', TCP_PORT))
        lst.listen(4)
    with NetNS(SND):
        tx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        tx.bind((SND_ADDR, 0))
        raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
        raw.bind((SND_ADDR, 0))
    byid = {p.id: p for p in probes}
    try:
        for p in probes:
            if p.kind == 'route':
                tx.sendto(b'ila-vm probe %d' % p.id, (p.dst, UDP_PORT))
            else:
                raw.sendto(raw_segment(p, p.csum_sent), (p.dst, 0))
        deadline = time.monotonic() + 5.0
        grace = None
        while True:
            now = time.monotonic()
            done = all(p.wire is not None and (p.got is not None or not p.delivers)
                       for p in probes)
            if done and grace is None:
                grace = now + 0.3   # for deliveries that were not predicted
            if now >= deadline or (grace is not None and now >= grace):
                break
            r, _, _ = select.select([cap, rx], [], [], min(deadline, grace or deadline) - now)
            for s in r:
                if s is cap:
                    pkt, addr = cap.recvfrom(65535)
                    if addr[2] == PACKET_OUTGOING:
                        continue
                    u = parse_ipv6_udp(pkt)
                    if not u or u[3] != UDP_PORT:
                        continue
                    p = byid.get(probe_id(u[5][8:]))
                    if p and p.wire is None:
                        p.wire = (u[1], u[4], u[5])
                else:
                    data, anc, _, _ = rx.recvmsg(2048, socket.CMSG_SPACE(20))
                    p = byid.get(probe_id(data))
                    for lvl, typ, val in anc:
                        if p and lvl == socket.IPPROTO_IPV6 and typ == IPV6_PKTINFO:
                            p.got = socket.inet_ntop(socket.AF_INET6, val[:16])
        return tcp_try(lst, pending_tcp) if pending_tcp else None
    finally:
        for s in (cap, rx, lst, tx, raw):
            s.close()


def probe_id(data):
    if data.startswith(b'ila-vm probe '):
        try:
            return int(data[13:])
        except ValueError:
            return None
    return None


def tcp_try(lst, p):
    """A TCP connection from the sender to p's SIR address through the ILA
    route and the receiver's translation entry; the accepted socket must be
    addressed to the SIR address."""
    with NetNS(SND):
        c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    c.settimeout(2.0)
    lst.settimeout(2.0)
    try:
        c.bind((SND_ADDR, 0))
        c.connect((p.dst, TCP_PORT))
        a, _ = lst.accept()
        a.settimeout(2.0)
        c.sendall(b'ping')
        got = a.recv(16)
        a.sendall(b'pong:' + got)
        back = c.recv(16)
        local = a.getsockname()[0]
        a.close()
        ok = back == b'pong:ping' and norm6(local) == norm6(p.want_back)
        return ok, 'accepted at %s, echo %r' % (local, back)
    except OSError as e:
        return False, 'to %s: %s' % (p.dst, e)
    finally:
        c.close()


def predict(tool, probes):
    """Fills each probe's delivery prediction and, for raw probes, the
    checksum to send; adj-transport uses the library's model of the kernel."""
    for p in probes:
        if p.kind == 'raw':
            # A real sender's checksum: right for the address it sends to,
            # except where the receiver's translation leaves the checksum
            # alone (it must be right for the SIR address then).
            target = p.dst if p.mode == 'adj-transport' else p.want_back
            p.csum_sent = l4_csum(SND_ADDR, target, 17, raw_segment(p)) or 0xffff
    reqs = []
    for p in probes:
        if p.mode == 'adj-transport' and p.kind == 'raw':
            reqs.append(('adjkernel', '%04x' % p.csum_sent, p.loc, p.prefix))
    ans = iter(xlat(tool, reqs)) if reqs else iter(())
    for p in probes:
        if p.mode != 'adj-transport':
            p.delivers = DELIVERS[p.mode]
        elif p.kind == 'raw':
            need = l4_csum(SND_ADDR, p.want_back, 17, raw_segment(p)) or 0xffff
            after = int(next(ans), 16) or 0xffff
            p.delivers = after == need
        # adj-transport route probes: predicted after the capture (their
        # source port, and so their checksum, is known only then).


def adj_route_checks(tool, probes):
    """adj-transport probes sent through a route: the wire checksum the
    library predicts, and whether the receiver's adjustment makes it right."""
    ps = [p for p in probes if p.kind == 'route' and p.mode == 'adj-transport' and p.wire]
    reqs = []
    for p in ps:
        zeroed = p.wire[2][:6] + b'\0\0' + p.wire[2][8:]
        sent = l4_csum(SND_ADDR, p.dst, 17, zeroed) or 0xffff     # before translation
        reqs.append(('adjkernel', '%04x' % sent, p.prefix, p.loc))
        reqs.append(('adjkernel', '%04x' % p.wire[1], p.loc, p.prefix))
    ans = iter(xlat(tool, reqs)) if reqs else iter(())
    for p in ps:
        p.csum_pred = int(next(ans), 16) or 0xffff
        back = int(next(ans), 16) or 0xffff
        zeroed = p.wire[2][:6] + b'\0\0' + p.wire[2][8:]
        p.delivers = back == (l4_csum(SND_ADDR, p.want_back, 17, zeroed) or 0xffff)


def phase(res, tool, mode, routes, refused, raws):
    """One checksum mode: routes and translation entries in, probes out,
    everything compared, then removed again."""
    probes = []
    pid = 0
    entries = {}        # locator -> SIR prefix on the receiver
    for v in routes:
        if entries.setdefault(v['loc'], v['prefix']) != v['prefix']:
            continue
        pid += 1
        probes.append(Probe(pid, 'route', mode, v['sir'], v['loc'], v['prefix'], v['lib'],
                            v['back']))
        probes[-1].model_wire = v['model']
    routed = {norm6(p.dst) for p in probes}
    for v in raws:
        if norm6(v['ila']) in routed or entries.setdefault(v['loc'], v['prefix']) != v['prefix']:
            continue
        pid += 1
        probes.append(Probe(pid, 'raw', mode, v['ila'], v['loc'], v['prefix'], v['ila'],
                            v['lib']))
        probes[-1].model_wire = v['ila']
        probes[-1].model_back = v['model']
    nroute = sum(p.kind == 'route' for p in probes)

    # Routes, through iproute2.
    add = ['route add %s/128 encap ila %s csum-mode %s ident-type luid via %s dev %s' %
           (p.dst, p.loc, mode, MID_SADDR, SND_DEV) for p in probes if p.kind == 'route']
    ip_batch(add, ns=SND)
    _, shown = ip('-6', 'route', 'show', ns=SND)
    listed = {}
    for line in shown.splitlines():
        w = line.split()
        if 'encap' in w and w[w.index('encap') + 1] == 'ila':
            i = w.index('encap')
            listed[norm6(w[0].split('/')[0])] = (loc_norm(w[i + 2]),
                                                 w[w.index('csum-mode') + 1]
                                                 if 'csum-mode' in w else '?')
    bad = [p.dst for p in probes if p.kind == 'route' and
           listed.get(norm6(p.dst)) != (loc_norm(p.loc), mode)]
    res.check('%s: %d "encap ila" routes installed and listed by ip -6 route' % (mode, nroute),
              not bad and nroute > 0, 'wrong or missing: %s' % ' '.join(bad[:4]) if bad else '')

    # Routes the model calls ERROR must be refused by the kernel too.
    if refused:
        wrong = []
        for v in refused:
            rc, out = ip('-6', 'route', 'add', '%s/128' % v['sir'], 'encap', 'ila', v['loc'],
                         'csum-mode', mode, 'ident-type', 'luid', 'via', MID_SADDR,
                         'dev', SND_DEV, ns=SND, check=False)
            if rc == 0:
                wrong.append(v['sir'])
                ip('-6', 'route', 'del', '%s/128' % v['sir'], ns=SND, check=False)
        res.check('%s: kernel refuses the %d route(s) the model and the library call ERROR '
                  '(C-bit already set)' % (mode, len(refused)), not wrong,
                  'accepted: %s' % ' '.join(wrong) if wrong else '')

    # Translation entries on the receiver (ILA -> SIR on input).
    ila_add = ['ila add loc_match %s loc %s csum-mode %s ident-type luid' %
               (loc, pre, mode) for loc, pre in sorted(entries.items())]
    ip_batch(ila_add, ns=RCV)
    table = ila_table(RCV)
    have = {(e.get('locator_match'), e.get('locator'), e.get('csum_mode')) for e in table}
    want = {(loc_norm(l), loc_norm(p), mode) for l, p in entries.items()}
    res.check('%s: %d translation entries added (ip ila add), read back over generic netlink' %
              (mode, len(entries)), have == want and len(table) == len(want),
              'missing %s, unexpected %s' % (sorted(want - have)[:3], sorted(have - want)[:3])
              if have != want else '')
    if mode == MODES[0]:
        iproute2_list_info(table)

    tcp_probe = next((p for p in probes if p.kind == 'route'), None)
    predict(tool, probes)
    tcp = capture_and_send(probes, tcp_probe)
    adj_route_checks(tool, probes)

    lost = [p.dst for p in probes if p.wire is None]
    res.check('%s: %d probes captured between sender and router' % (mode, len(probes)),
              not lost, 'not seen: %s' % ' '.join(lost[:4]) if lost else '')
    seen = [p for p in probes if p.wire is not None]

    bad = ['%s: wire %s, library %s, model %s' % (p.dst, p.wire[0], p.want_wire, p.model_wire)
           for p in seen if not norm6(p.wire[0]) == norm6(p.want_wire) == norm6(p.model_wire)]
    nroute_seen = sum(p.kind == 'route' for p in seen)
    res.check('%s: destination on the wire = ila_sir_to_ila() = model, %d packets' %
              (mode, nroute_seen), not bad and nroute_seen > 0, '; '.join(bad[:3]))

    # Checksums on the wire, computed here from the captured bytes.
    bad = []
    for p in seen:
        if p.kind != 'route':
            continue
        ok_wire = udp_csum_valid(SND_ADDR, p.wire[0], p.wire[2])
        if mode in ('neutral-map', 'neutral-map-auto'):
            good = ok_wire
        elif mode == 'no-action':
            good = udp_csum_valid(SND_ADDR, p.dst, p.wire[2])    # untouched
        else:
            good = p.wire[1] == p.csum_pred
        if not good:
            bad.append('%s: checksum %04x' % (p.dst, p.wire[1]) +
                       (' predicted %04x' % p.csum_pred if mode == 'adj-transport' else ''))
    what = {'neutral-map': 'valid for the ILA address (checksum-neutral)',
            'neutral-map-auto': 'valid for the ILA address (checksum-neutral)',
            'no-action': 'untouched (valid for the SIR address only)',
            'adj-transport': 'as ila_csum_adjust_transport_kernel() predicts'}[mode]
    routed_seen = [p for p in seen if p.kind == 'route']
    res.check('%s: UDP checksum on the wire %s, %d packets' % (mode, what, len(routed_seen)),
              not bad and bool(routed_seen), '; '.join(bad[:3]))
    if mode in ('no-action', 'adj-transport'):
        Results.info('%s: %d of %d UDP checksums on the wire valid for the wire addresses' %
                     (mode, sum(udp_csum_valid(SND_ADDR, p.wire[0], p.wire[2])
                                for p in routed_seen), len(routed_seen)))

    # The receiver's translation back to the SIR address.
    bad = []
    for p in seen:
        want = {norm6(p.want_back), norm6(p.model_back or p.want_back)}
        if p.delivers and (p.got is None or {norm6(p.got)} != want):
            bad.append('%s (wire %s): got %s, library %s, model %s' % (
                p.dst, p.wire[0], p.got, p.want_back, p.model_back or '-'))
        elif not p.delivers and p.got is not None:
            bad.append('%s: delivered to %s against the prediction' % (p.dst, p.got))
    ndel = sum(1 for p in seen if p.delivers)
    res.check('%s: receiver translates back, socket sees ila_ila_to_sir() address, '
              '%d route + %d raw probes (%d delivered as predicted)' %
              (mode, sum(p.kind == 'route' for p in seen), sum(p.kind == 'raw' for p in seen),
               ndel), not bad and ndel > 0, '; '.join(bad[:3]))

    if tcp is not None:
        name = '%s: TCP connection to %s through route and translation entry' % (
            mode, tcp_probe.dst)
        if mode in DELIVERS:
            res.check(name, tcp[0], tcp[1])
        else:
            Results.info('%s: %s' % (name, 'works' if tcp[0] else 'fails: ' + tcp[1]))

    # Clean up for the next mode.
    ip_batch(['route del %s/128' % p.dst for p in probes if p.kind == 'route'], ns=SND)
    ip_batch(['ila del loc_match %s' % loc for loc in entries], ns=RCV)
    left = ila_table(RCV)
    res.check('%s: ip ila del removes every entry' % mode, not left, str(left[:3]) if left else '')


def main():
    res = Results()
    t0 = time.monotonic()
    tool = find_tool('ila-xlat')
    try:
        res.require('ila-xlat helper present ($ILA_ILA_XLAT or the build tree)',
                    tool is not None and os.access(tool, os.X_OK), str(tool))
        vecs = load_vectors()
        reqs = [tuple(w[:4]) for w in vecs]
        lib = xlat(tool, reqs)
        bad = ['%s -> %s' % (' '.join(w[:4]), a) for w, a in zip(vecs, lib) if a != w[4]]
        res.check('library = model: %d sir2ila/ila2sir/adjkernel vectors of %s' %
                  (len(vecs), os.path.relpath(VECTORS, TOP)), not bad, '; '.join(bad[:3]))
        kernel_has_ila(res)
        setup(res)
        per_mode, prefixes = plan(tool, vecs, lib)
        # Local delivery of every SIR prefix on the receiver (AnyIP).
        ip_batch(['route add local %s dev lo' % p for p in sorted(prefixes)], ns=RCV)
        for m in MODES:
            routes, refused, raws = per_mode[m]
            phase(res, tool, m, routes, refused, raws)
    except Failed as e:
        res.check('suite aborted', False, str(e))
    finally:
        for ns in (SND, MID, RCV):
            netns_del(ns)
    Results.info('kernel-ila suite took %.1f s' % (time.monotonic() - t0))
    return 0 if res.failed == 0 else 1


def plan(tool, vecs, lib):
    """Sorts the sendable vectors by checksum mode: routes to install and
    probe, routes the kernel must refuse, ILA addresses to send raw. Returns
    them with the SIR prefixes the receiver must deliver locally."""
    prefixes = set()
    per_mode = {m: ([], [], []) for m in MODES}
    sirs = {m: set() for m in MODES}
    back_reqs = []
    back_for = []
    for w, a in zip(vecs, lib):
        if w[0] == 'sir2ila' and sendable(w[2]) and w[1] in MODES:
            if a == 'ERROR':
                per_mode[w[1]][1].append({'sir': w[2], 'loc': w[3]})
                continue
            if not sendable(a) or norm6(w[2]) in sirs[w[1]]:
                continue
            sirs[w[1]].add(norm6(w[2]))
            v = {'sir': w[2], 'loc': loc_norm(w[3]), 'prefix': loc_of(w[2]), 'lib': a,
                 'model': w[4]}
            per_mode[w[1]][0].append(v)
            back_reqs.append(('ila2sir', w[1], a, prefix64(w[2])))
            back_for.append(v)
        elif w[0] == 'ila2sir' and sendable(w[2]) and sendable(w[4]) and w[1] in MODES:
            per_mode[w[1]][2].append({'ila': w[2], 'loc': loc_of(w[2]),
                                      'prefix': prefix_loc(w[3]), 'lib': a, 'model': w[4]})
    for v, back in zip(back_for, xlat(tool, back_reqs)):
        v['back'] = back
    for m in MODES:
        for v in per_mode[m][0]:
            prefixes.add(prefix64(v['sir']))
        for v in per_mode[m][2]:
            prefixes.add(prefix64(v['lib']))
    return per_mode, prefixes


if __name__ == '__main__':
    sys.exit(main())
