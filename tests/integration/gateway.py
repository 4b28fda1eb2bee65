# SPDX-License-Identifier: GPL-2.0-or-later
"""The 'gateway' suite of tests/integration/run: ilad's anycast gateway
(`vn NAME gateway ADDRESS [ADDRESS4] mac MAC`, ilad(8) ANYCAST GATEWAY) on
this machine's kernel, one ilad in mode host-route (no mapper needed: what
is checked is the node's own interfaces).

  - at start: a vn interface gets the gateway MAC, addrgenmode none, one
    link-local address (the gateway's, fe80::1/64, nodad) and 192.0.2.1/32
    scope link; a workload behind it resolves both gateway addresses to
    the MAC by neighbour discovery and ARP;
  - a vn with a global gateway: its interface's one link-local address is
    the EUI-64 one of the gateway MAC, and the global address is a /128;
  - an interface that appears later, one that goes down and up (the kernel
    drops its IPv6 addresses) and one moved out of the namespace (absent);
  - a step the kernel refuses (IPv6 disabled on the interface): show vn
    says error and why, gateway_errors counts it, the log names it;
  - an interface named only by `ilactl attach ... dev IF` gets it too;
  - a reload with another gateway keeps the one in use (a warning);
  - ilad restarted: no gateway address deleted (ip monitor); stopped: the
    gateway stays.

h is the run module (ILAD, ILACTL, run, spawn, until, Failed, PROCS)."""
import json
import os
import signal
import subprocess
import tempfile
import time

MAC = '02:00:5e:00:53:01'
MAC_G = '02:00:5e:00:53:02'
LL_G = 'fe80::5eff:fe00:5302'   # EUI-64 of MAC_G


def suite(h, root, res):
    if os.geteuid() != 0:
        print('SKIP: gateway: not root', flush=True)
        return
    tag = os.environ.get('ILA_NETNS_TAG') or str(os.getpid())
    nns, wns, ons = 'ilgw%s-n' % tag, 'ilgw%s-w' % tag, 'ilgw%s-o' % tag
    d = tempfile.mkdtemp(prefix='gateway-', dir=root if os.path.isdir(root) else None)
    procs = []

    def sh(*argv, check=True):
        r = h.run(list(argv), timeout=20)
        if check and r.returncode != 0:
            raise h.Failed('%s: %s' % (' '.join(argv), r.stderr.strip()))
        return r.stdout

    def ipj(ns, *args):
        return json.loads(sh('ip', '-n', ns, '-j', *args) or '[]')

    def addrs(dev, ns=nns):
        """[(family, 'addr/len', scope, nodad)] of dev."""
        out = []
        for link in ipj(ns, 'addr', 'show', 'dev', dev):
            for a in link.get('addr_info', []):
                out.append((a['family'], '%s/%d' % (a['local'], a['prefixlen']), a['scope'],
                            bool(a.get('nodad'))))
        return sorted(out)

    def link(dev, ns=nns):
        ls = ipj(ns, '-d', 'link', 'show', 'dev', dev)
        return ls[0] if ls else {}

    sock = os.path.join(d, 'ilad.sock')

    def ctl(*args):
        return h.run([h.ILACTL, '-s', sock, '-t', '5'] + list(args), timeout=10)

    def vn_devs():
        r = ctl('-j', 'show', 'vn')
        out = {}
        for v in json.loads(r.stdout or '[]') if r.returncode == 0 else []:
            for dv in v.get('gateway', {}).get('devices', []):
                out[dv['dev']] = dv
        return out

    def stats():
        r = ctl('-j', 'show', 'stats')
        return json.loads(r.stdout) if r.returncode == 0 else {}

    conf = os.path.join(d, 'ilad.conf')
    with open(conf, 'w') as f:
        f.write('node-name n1\nmode host-route\nlocator 2001:db8:0:a\nmapper ::1 port 9\n'
                'plaintext\ncontrol %s\npidfile %s/ilad.pid\n'
                'vn b id 1 sir-prefix 2001:db8:1::/64 ipv4-prefix 192.0.2.0/24\n'
                'vn b gateway fe80::1 192.0.2.1 mac %s interface vm0 vm1 vm2\n'
                'vn g id 2 sir-prefix 2001:db8:2::/64 gateway 2001:db8:2::1 mac %s '
                'interface vm3\n' % (sock, d, MAC, MAC_G))

    def start():
        logf = open(os.path.join(d, 'ilad.log'), 'a')
        p = h.spawn(['ip', 'netns', 'exec', nns, h.ILAD, '-d', '-f', conf], stdout=logf,
                    stderr=subprocess.STDOUT)
        logf.close()
        procs.append(p)
        if not h.until(lambda: ctl('show', 'vn').returncode == 0, 10):
            raise h.Failed('ilad did not start: %s' % log_text()[-500:])
        return p

    def log_text():
        with open(os.path.join(d, 'ilad.log')) as f:
            return f.read()

    try:
        for ns in (nns, wns, ons):
            sh('ip', 'netns', 'del', ns, check=False)
            sh('ip', 'netns', 'add', ns)
        # the workload's own link-local address usable at once (no DAD)
        sh('ip', 'netns', 'exec', wns, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0')
        sh('ip', 'link', 'add', 'vm0', 'netns', nns, 'type', 'veth', 'peer', 'name', 'eth0',
           'netns', wns)
        sh('ip', 'link', 'add', 'vm2', 'netns', nns, 'type', 'veth', 'peer', 'name', 'vm2p',
           'netns', nns)
        sh('ip', 'link', 'add', 'vm3', 'netns', nns, 'type', 'veth', 'peer', 'name', 'vm3p',
           'netns', nns)
        sh('ip', 'netns', 'exec', nns, 'sysctl', '-qw', 'net.ipv6.conf.vm2.disable_ipv6=1')
        for dev in ('vm0', 'vm2', 'vm3', 'vm3p'):
            sh('ip', '-n', nns, 'link', 'set', dev, 'up')
        sh('ip', '-n', wns, 'link', 'set', 'eth0', 'up')
        sh('ip', '-n', wns, 'addr', 'add', '192.0.2.42/32', 'dev', 'eth0')
        sh('ip', '-n', wns, 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth0',
           'onlink')
        sh('ip', '-n', wns, 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0')
        p = start()

        want0 = [('inet', '192.0.2.1/32', 'link', False), ('inet6', 'fe80::1/64', 'link', True)]
        got = h.until(lambda: addrs('vm0') == want0 and addrs('vm0'), 5)
        lk = link('vm0')
        mode = lk.get('inet6_addr_gen_mode')
        res.check('gateway: vm0 at start: MAC %s, addrgenmode %s, addresses %s (the gateway\'s '
                  'link-local the only one, nodad; IPv4 /32 scope link)' % (
                      lk.get('address'), mode, got or addrs('vm0')),
                  lk.get('address') == MAC and mode == 'none' and got == want0,
                  '%s %s' % (lk, addrs('vm0')))
        # the workload resolves its gateway by ND and ARP
        sh('ip', 'netns', 'exec', wns, 'python3', '-c',
           'import socket\n'
           's = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n'
           's.sendto(b"x", ("fe80::1", 9, 0, socket.if_nametoindex("eth0")))\n'
           's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
           's.sendto(b"x", ("192.0.2.1", 9))\n')

        def neigh():
            n = {e['dst']: e.get('lladdr') for e in ipj(wns, 'neigh', 'show', 'dev', 'eth0')}
            return n if n.get('fe80::1') and n.get('192.0.2.1') else None
        n = h.until(neigh, 5)
        res.check('gateway: the workload resolves fe80::1 and 192.0.2.1 to %s (neighbour '
                  'discovery, ARP): %s' % (MAC, n),
                  n and n.get('fe80::1') == MAC and n.get('192.0.2.1') == MAC, n)
        want3 = [('inet6', '2001:db8:2::1/128', 'global', True),
                 ('inet6', LL_G + '/64', 'link', True)]
        got = h.until(lambda: addrs('vm3') == want3 and addrs('vm3'), 5)
        res.check('gateway: a global gateway: vm3 has %s (the link-local address the EUI-64 one '
                  'of %s) and MAC %s' % (got or addrs('vm3'), MAC_G, link('vm3').get('address')),
                  got == want3 and link('vm3').get('address') == MAC_G, addrs('vm3'))
        # an error: IPv6 disabled on vm2
        devs = vn_devs()
        st = stats()
        v2 = devs.get('vm2', {})
        res.check('gateway: a refused step is reported: vm2 (IPv6 disabled) state %s: %s; '
                  'gateway_errors %s; logged' % (v2.get('state'), v2.get('error'),
                                                 st.get('gateway_errors')),
                  v2.get('state') == 'error' and v2.get('error') and
                  st.get('gateway_errors', 0) >= 1 and
                  'vn b gateway on vm2: ' in log_text(), '%s %s' % (v2, st))
        # appears later; down and up; moved away
        a0 = vn_devs().get('vm1', {})
        sh('ip', 'link', 'add', 'vm1', 'netns', nns, 'type', 'veth', 'peer', 'name', 'vm1p',
           'netns', nns)
        sh('ip', '-n', nns, 'link', 'set', 'vm1', 'up')
        got = h.until(lambda: addrs('vm1') == want0 and addrs('vm1'), 5)
        res.check('gateway: vm1, created after the start (state %s before), gets it: %s, '
                  'state %s' % (a0.get('state'), got or addrs('vm1'),
                                vn_devs().get('vm1', {}).get('state')),
                  a0.get('state') == 'absent' and got == want0 and
                  vn_devs().get('vm1', {}).get('state') == 'set', addrs('vm1'))
        sh('ip', '-n', nns, 'link', 'set', 'vm0', 'down')
        down = [a for a in addrs('vm0') if a[0] == 'inet6']
        sh('ip', '-n', nns, 'link', 'set', 'vm0', 'up')
        got = h.until(lambda: addrs('vm0') == want0 and addrs('vm0'), 5)
        res.check('gateway: vm0 down (the kernel drops its IPv6 addresses: %s left) and up: '
                  'set again, %s' % (down, got or addrs('vm0')),
                  down == [] and got == want0, addrs('vm0'))
        # a workload on vm1: its local route goes with the link and comes back with it
        def route7():
            return [r.get('dev') for r in ipj(nns, '-6', 'route', 'show', '2001:db8:1::7/128')]
        r = ctl('attach', '2001:db8:1::7', 'dev', 'vm1')
        before = h.until(route7, 5)
        sh('ip', '-n', nns, 'link', 'set', 'vm1', 'netns', ons)
        gone = h.until(lambda: vn_devs().get('vm1', {}).get('state') == 'absent', 5)
        res.check('gateway: vm1 moved to another namespace: state absent', bool(gone),
                  vn_devs().get('vm1'))
        during = route7()
        sh('ip', '-n', ons, 'link', 'set', 'vm1', 'netns', nns)
        sh('ip', '-n', nns, 'link', 'set', 'vm1', 'up')
        back = h.until(lambda: route7() == ['vm1'] and addrs('vm1') == want0, 5)
        res.check('gateway: a workload attached on vm1 (route dev %s) loses its route with the '
                  'link (%s) and gets it back when vm1 returns (%s), with the gateway' % (
                      before, during, route7()),
                  before == ['vm1'] and during == [] and bool(back),
                  '%s %s %s' % (r.stdout, addrs('vm1'), log_text()[-300:]))
        sh('ip', '-n', nns, 'link', 'set', 'vm1', 'netns', ons)
        # named by attach only
        sh('ip', 'link', 'add', 'tap9', 'netns', nns, 'type', 'veth', 'peer', 'name', 'tap9p',
           'netns', nns)
        sh('ip', '-n', nns, 'link', 'set', 'tap9', 'up')
        r = ctl('attach', '2001:db8:1::9', 'dev', 'tap9')
        got = h.until(lambda: addrs('tap9') == want0 and addrs('tap9'), 5)
        res.check('gateway: tap9, named only by ilactl attach ... dev tap9, gets it: %s (from '
                  '%s)' % (got or addrs('tap9'), vn_devs().get('tap9', {}).get('from')),
                  got == want0 and link('tap9').get('address') == MAC and
                  vn_devs().get('tap9', {}).get('from') == 'attach',
                  '%s %s' % (r.stdout, r.stderr))
        # reload: a changed gateway waits for a restart
        with open(conf) as f:
            text = f.read()
        with open(conf, 'w') as f:
            f.write(text.replace('mac %s interface vm0' % MAC,
                                 'mac 02:00:5e:00:53:09 interface vm0'))
        p.send_signal(signal.SIGHUP)
        warned = h.until(lambda: 'reload: vn b gateway changes at restart' in log_text(), 5)
        r = ctl('-j', 'show', 'vn')
        macs = [v.get('gateway', {}).get('mac') for v in json.loads(r.stdout or '[]')
                if v.get('vn') == 'b']
        res.check('gateway: a reload with another gateway MAC keeps the one in use until a '
                  'restart, with a warning (show vn: %s; vm0 %s)' % (
                      macs, link('vm0').get('address')),
                  bool(warned) and macs == [MAC] and link('vm0').get('address') == MAC,
                  log_text()[-300:])
        with open(conf, 'w') as f:
            f.write(text)
        # restart: nothing deleted; stop: the gateway stays
        mon = h.spawn(['ip', '-n', nns, 'monitor', 'address'], stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True)
        procs.append(mon)
        time.sleep(0.2)
        applied0 = stats().get('gateway_applied', 0)
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        kept = addrs('vm0')
        start()
        h.until(lambda: stats().get('gateway_applied', 0) >= 2, 5)
        applied1 = stats().get('gateway_applied', 0)
        mon.send_signal(signal.SIGTERM)
        out, _ = mon.communicate(timeout=5)
        deleted = [line for line in out.splitlines() if line.startswith('Deleted')]
        res.check('gateway: ilad stopped: vm0 keeps %s; started again: the gateway set again on '
                  'vm0 and vm3 (gateway_applied %d before the stop, %d after the start) '
                  'without deleting an address (ip monitor: %d Deleted)' % (
                      kept, applied0, applied1, len(deleted)),
                  kept == want0 and applied1 == 2 and not deleted, out)
    except (h.Failed, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
        res.check('gateway: suite', False, '%s: %s' % (type(e).__name__, e))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
            if p in h.PROCS:
                h.PROCS.remove(p)
        for ns in (nns, wns, ons):
            subprocess.run(['ip', 'netns', 'del', ns], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
