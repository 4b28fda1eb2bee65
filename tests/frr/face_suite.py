# SPDX-License-Identifier: GPL-2.0-or-later
"""Suite `face` of tests/frr/run: what an FRR operator sees of ilad.

Called by tests/frr/run (which owns the results, the namespaces, the
processes and their cleanup, and passes itself in as `h`). R1 runs
doc/frr.conf.example as its bgpd configuration (hostname, log file and
fast BGP timers added around it); R2 is the usual peer. An ilad (zebra on,
its defaults: route type babel, tag 4242, graceful restart 60 s) runs in
R1's namespace with locator 2001:db8:0:a1 (its /64 blackhole is the route
it hands to zebra) and no mapper. A second client of zebra, a few lines of
Python here, says HELLO as babel too and adds 2001:db8:21::/64 (blackhole)
with tag 7, and stays connected until the end (zebra would remove every
babel route when it goes).

Checks: `show ipv6 route tag 4242` lists ilad's /64 and not the tag-7 one,
`show ipv6 route tag 7` the other way round; `show zebra client` shows
ilad's session (babel, graceful restart, the ERRORs answering its probes:
3 on 8.4.4, 2 on 10.3); bgpd redistributes ilad's /64 to
R2 (R2's BGP table and FIB) through the route map of the example and not
the tag-7 route, which is in R1's RIB as babel all along; a second ilad
with route-type table gets the release's distance for it (150 on 8.4.4, 15
on 10.3); R1's zebra log holds no "unknown command" line.
"""
import os
import socket
import struct
import time

LINK4 = ('192.0.2.1', '192.0.2.2')
LINK6 = ('2001:db8:ff::1', '2001:db8:ff::2')
LOC = '2001:db8:0:a1'
LOCP = '2001:db8:0:a1::/64'
OTHER = '2001:db8:21::/64'
TABLE_LOC = '2001:db8:0:b1'
TABLE_LOCP = '2001:db8:0:b1::/64'
TAG, OTHER_TAG = 4242, 7


def example_conf(h, name, d):
    with open(os.path.join(h.TOP, 'doc', 'frr.conf.example')) as f:
        body = f.read()
    return ('hostname %s\nlog file %s/bgpd.log\n' % (name, d) + body +
            'router bgp 65001\n timers bgp 1 3\n' +
            ''.join(' neighbor %s timers connect 1\n neighbor %s advertisement-interval 0\n'
                    % (p, p) for p in (LINK4[1], LINK6[1])) + 'exit\n')


def zmsg(cmd, body=b''):
    return struct.pack('>HBBIH', 10 + len(body), 254, 6, 0, cmd) + body


def other_client(rel, path):
    """A babel client of zebra adding OTHER with tag 7, numbered as the
    release rel does (8.x: HELLO 18, ROUTE_ADD 8, babel 22; 10.x: 19, 9, 23)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    # HELLO: babel, instance 0, session 0, (8.x: receive_notify,) not synchronous
    s.sendall(zmsg(rel.cmd_hello, rel.hello(rel.rt_babel)))
    prefix = socket.inet_pton(socket.AF_INET6, OTHER.split('/')[0])[:8]
    # ROUTE_ADD: babel, flags 0, message NEXTHOP|METRIC|TAG, unicast,
    # AF_INET6 /64, one blackhole next hop (type 6, flags 0, null), metric, tag
    body = (struct.pack('>BHII', rel.rt_babel, 0, 0, 0x01 | 0x04 | 0x08) + bytes([1, 10, 64]) +
            prefix + struct.pack('>HIBBB', 1, 0, 6, 0, 1) + struct.pack('>II', 0, OTHER_TAG))
    s.sendall(zmsg(rel.cmd_route_add, body))
    return s


def start_ilad(h, d, r, name, loc, zebra_extra):
    """An ilad with zebra on beside r's zebra, no mapper, files d/name.*."""
    conf = os.path.join(d, name + '.conf')
    with open(conf, 'w') as f:
        f.write('\n'.join(['node-name r1', 'mode host-route',
                           'control %s' % os.path.join(d, name + '.sock'),
                           'pidfile %s' % os.path.join(d, name + '.pid'), 'plaintext',
                           'mapper ::1 port 7799', 'locator %s' % loc,
                           'zebra on socket %s%s' % (r.zsock, zebra_extra),
                           'vn blue id 1 sir-prefix 2001:db8:1::/64']) + '\n')
    with open(os.path.join(d, name + '.log'), 'a') as logf:
        p = h.subprocess.Popen(['ip', 'netns', 'exec', r.ns,
                                os.path.join(h.BUILD, 'ilad', 'ilad'), '-d', '-f', conf],
                               stdout=logf, stderr=logf)
    h.PROCS.append(p)
    return p


def installed(h, d, name, prefix, p):
    """Waits until the ilad d/name says zebra INSTALLED prefix."""
    sock = os.path.join(d, name + '.sock')
    ilactl = os.path.join(h.BUILD, 'ilactl', 'ilactl')

    def cond():
        if p.poll() is not None or not os.path.exists(sock):
            return None
        r = h.run([ilactl, '-s', sock, '-t', '5', '-j', 'show', 'routing'], timeout=10)
        try:
            j = h.json.loads(r.stdout)
        except ValueError:
            return None
        return any(e['prefix'] == prefix and e['state'] == 'installed'
                   for e in j.get('routes', []))
    ok, _ = h.wait(cond, 15, step=0.05)
    return bool(ok)


def run_suite(h, res, root, timings):
    d = os.path.join(root, 'face')
    os.mkdir(d)
    os.chmod(d, 0o755)
    ilad = os.path.join(h.BUILD, 'ilad', 'ilad')
    ilactl = os.path.join(h.BUILD, 'ilactl', 'ilactl')
    res.require('face: ilad and ilactl built', os.access(ilad, os.X_OK) and
                os.access(ilactl, os.X_OK))
    tag = 'ilafrr%d-f' % (os.getpid() % 100000)
    r1 = h.Router(d, tag + 'r1', 'r1', 65001, 65002, (LINK4[0], LINK6[0]),
                  (LINK4[1], LINK6[1]))
    r2 = h.Router(d, tag + 'r2', 'r2', 65002, 65001, (LINK4[1], LINK6[1]),
                  (LINK4[0], LINK6[0]))
    with open(os.path.join(r1.dir, 'bgpd.conf'), 'w') as f:
        f.write(example_conf(h, 'r1', r1.cdir))
    for r in (r1, r2):
        h.run(['ip', 'netns', 'add', r.ns], check=True)
        h.NETNS.append(r.ns)
        r.ex('ip', 'link', 'set', 'lo', 'up', check=True)
        r.ex('sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0',
             'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.forwarding=1', check=True)
    h.run(['ip', 'link', 'add', 'r1-r2', 'netns', r1.ns, 'type', 'veth', 'peer', 'name',
           'r2-r1', 'netns', r2.ns], check=True)
    for r, dev, a4, a6 in ((r1, 'r1-r2', LINK4[0], LINK6[0]), (r2, 'r2-r1', LINK4[1], LINK6[1])):
        r.ex('ip', 'addr', 'add', a4 + '/24', 'dev', dev, check=True)
        r.ex('ip', '-6', 'addr', 'add', a6 + '/64', 'dev', dev, 'nodad', check=True)
        r.ex('ip', 'link', 'set', dev, 'up', check=True)
    for r in (r1, r2):
        r.start('zebra')
        r.start('bgpd')
    t0 = time.monotonic()

    def sessions_up():
        s = r2.vjson('show bgp summary json')
        return sum(p.get('state') == 'Established' for afi in ('ipv4Unicast', 'ipv6Unicast')
                   for p in s.get(afi, {}).get('peers', {}).values()) == 2
    ok, _ = h.wait(sessions_up, 60, step=0.2)
    res.require('face: R1 (doc/frr.conf.example) and R2: eBGP sessions established', ok,
                'after %.0f ms' % ((time.monotonic() - t0) * 1000))

    p = start_ilad(h, d, r1, 'ilad', LOC, '')
    res.require('face: ilad up, its locator /64 installed by zebra',
                installed(h, d, 'ilad', LOCP, p),
                'ilad exited %s' % p.poll() if p.poll() is not None else '')
    oc = other_client(h.REL, r1.zsock)
    try:
        ok, _ = h.wait(lambda: 'babel' in r1.rib('ipv6').get(OTHER, set()), 10, step=0.05)
        res.require('face: a second babel client\'s /64 with tag 7 in R1\'s RIB', ok)
        mine = r1.vtysh('show ipv6 route tag %d' % TAG).stdout
        other = r1.vtysh('show ipv6 route tag %d' % OTHER_TAG).stdout
        res.check('face: show ipv6 route tag %d lists ilad\'s /64 (as babel), not the tag-%d one'
                  % (TAG, OTHER_TAG), LOCP in mine and OTHER not in mine and
                  any(l.startswith('A') and LOCP in l for l in mine.splitlines()),
                  [l for l in mine.splitlines() if '/' in l and ' - ' not in l])
        res.check('face: show ipv6 route tag %d lists the other client\'s /64 only'
                  % OTHER_TAG, OTHER in other and LOCP not in other,
                  [l for l in other.splitlines() if '/' in l and ' - ' not in l])
        j = r1.vjson('show ipv6 route %s json' % LOCP).get(LOCP, [{}])[0]
        res.check('face: R1\'s RIB: ilad\'s /64 is babel, tag %d, distance 100' % TAG,
                  j.get('protocol') == 'babel' and j.get('tag') == TAG and
                  j.get('distance') == 100, str(j)[:300])
        cl = r1.vtysh('show zebra client').stdout
        babel = [b for b in cl.split('Client: ')[1:] if b.startswith('babel')]
        ilad_c = [b for b in babel if 'Graceful Restart(60 seconds)' in b]
        errs = [l.strip() for b in ilad_c for l in b.splitlines() if l.startswith('Errors:')]
        # ila(7): the ERRORs answering ilad's probes, on its one connection:
        # 3 where the probe's answer needs the 8.x HELLO (8.2-9.0, 10.0-10.1)
        want = 2 if h.REL.profile in (901, 1002) else 3
        res.check('face: show zebra client shows ilad (babel, graceful restart, Errors: %d on %s)'
                  % (want, h.REL.name),
                  len(babel) == 2 and len(ilad_c) == 1 and errs == ['Errors: %d' % want],
                  '%d babel clients (ilad, the tag-7 one); ilad\'s: %s (probes answered)'
                  % (len(babel), errs))
        ok, dt = h.wait(lambda: LOCP in r2.bgp_prefixes('ipv6') and
                        r2.fib(6).get(LOCP) == 'bgp', 20, step=0.05)
        timings['face: ilad /64 to R2 FIB'] = dt if ok else None
        res.check('face: bgpd redistributes ilad\'s /64 (route-map ILA, match tag %d) to R2: '
                  'BGP table and FIB' % TAG, ok)
        b1, b2 = r1.bgp_prefixes('ipv6'), r2.bgp_prefixes('ipv6')
        res.check('face: the tag-%d babel /64 is in neither R1\'s BGP table nor R2\'s'
                  % OTHER_TAG, OTHER not in b1 and OTHER not in b2 and
                  'babel' in r1.rib('ipv6').get(OTHER, set()),
                  'R1 bgp %s, R2 bgp %s' % (sorted(b1), sorted(b2)))
    finally:
        oc.close()
    # route-type table: zebra's distance for it is the release's own
    p = start_ilad(h, d, r1, 'ilad-table', TABLE_LOC, ' route-type table')
    up = installed(h, d, 'ilad-table', TABLE_LOCP, p)
    j = r1.vjson('show ipv6 route %s json' % TABLE_LOCP).get(TABLE_LOCP, [{}])[0]
    res.check('face: an ilad with route-type table: its /64 in R1\'s RIB as table, distance %d '
              '(%s; 150 up to 8.5, 15 from 9.0)' % (h.REL.table_distance, h.REL.name),
              up and j.get('protocol') == 'table' and j.get('distance') == h.REL.table_distance,
              str(j)[:300])
    p.terminate()
    p.wait(timeout=10)
    with open(os.path.join(r1.dir, 'zebra.log')) as f:
        unknown = [l.strip() for l in f if 'unknown command' in l]
    res.check('face: R1\'s zebra log has no "unknown command" (release probe, dump end)',
              not unknown, '%d lines: %s' % (len(unknown), unknown[:3]))
