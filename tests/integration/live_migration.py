# SPDX-License-Identifier: GPL-2.0-or-later
"""The live-migration suite of tests/integration/run: a real QEMU live
migration of a small guest between two ilad nodes on the BPF data path
(this machine's own kernel, no ILA module), with ilad driven at each phase
as libvirt's hook would drive it, and the source handing the guest's
packets over to the destination as soon as the guest stops there.

The network and daemons are the VM suites' (tests/vm/ilad_net.py), with the
workload W a QEMU guest instead of a namespace: R routes only locators, A,
B and C run ilad in mode ila with `dataplane bpf` and TLS to the mapper in
M, X is C's correspondent. A and B each have a tap device TAP (the same
name on both, the vn's interface) in their own namespace, to which ilad's
anycast gateway (`vn blue gateway fe80::1 mac ...`) gives the same gateway
MAC and fe80::1 on both; the guest's NIC (virtio, one MAC wherever it
runs) is that tap. Nothing but ilad writes the guest's neighbour entry on
a tap: neighbour discovery after attach at the first start, and on a
destination the `incoming W dev TAP lladdr MAC` of the hook's `start
begin`, STALE with the guest's MAC, so that what reaches the destination
while the guest is paused goes into the tap at once. The guest (the test kernel of tests/vm, a
busybox initramfs built here, no 9p: a 9p export blocks migration) holds
W's SIR address, a default route via fe80::1 that nothing changes after a
move (its neighbour entry, the gateway MAC, stays right), a TCP echo server
and flood recv (tests/vm/flood.c, static).

Three migrations of the same guest, each under a UDP stream X -> W
(COUNT packets at RATE/s, flood), with one TCP connection X -> W kept
busy through all:

  1. A -> B with the early handover: when the source QEMU reports STOP on
     QMP (the guest paused for the last copy; libvirt's lifecycle event
     suspended/migrated), `handover W` on a connection to A's ilad held
     open sends W's packets to B's standby locator at once; B (`incoming W
     dev TAP lladdr MAC` once the tap exists, at `start begin`) delivers
     them into the tap, whose queue (TAP_QLEN) holds them until the guest runs there.
     The losses must stay within the guest's own pause (lost <= RATE x
     the time from QMP's STOP at the source to RESUME at the destination;
     QEMU's `downtime` counts only the source's side) and the destination's
     tap drops nothing.
  2. B -> A without it: W's packets go on into the stopped guest's tap at
     the source until the destination attaches and the mapper's push
     re-points C (the losses printed).
  3. A -> B with the handover through the hook's `handover begin` phase
     (what a listener on libvirt's lifecycle events runs, ilad(8)), when
     the hook is built: one run of losses, within the pause plus the
     hook's own run.

Each prints the packets lost and the downtime QEMU reports (query-migrate,
`downtime`, ms), the taps' counters and the guest's own report.
Phases of ilad, at the moments libvirt runs its hook: on the destination
`migrate begin` (expect, prepare), `start begin` (incoming: the tap exists
now), `started begin` after query-migrate reports completed and the guest
runs there (attach); on the source `stopped end` (detach down only if still
the owner) and `release end`. Through hook/ila-libvirt-hook when it is
built, else through the equivalent ilactl commands (hook_phase()).

Needs root, network namespaces, qemu-system-x86_64, the test kernel cache
of tests/vm (ILA_VM_CACHE) and an ilad with the BPF data path; otherwise one
SKIP line and nothing counted.
"""
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'vm'))

import bpf_move  # noqa: E402
import ilad_net as N  # noqa: E402
from ilad_net import LOC, NS, W_SIR, X_SIR, until  # noqa: E402
from vmlib import NetNS, Results, ip, run  # noqa: E402

RATE = int(os.environ.get('ILA_MIG_RATE', '1000'))     # packets/s X -> W
COUNT = int(os.environ.get('ILA_MIG_COUNT', '8000'))   # per migration
UDP_PORT = 5001
TCP_PORT = 5003
TAP = 'tapmig'
TAP_QLEN = 5000            # packets a tap holds while the guest is paused: 5 s at RATE
GUEST_MAC = '52:54:00:12:34:56'
GW_MAC = N.GW_MAC           # the taps' MAC on both nodes: ilad's anycast gateway
GW = N.GW6                  # fe80::1, the guest's default router
DOMAIN = 'ila-mig'
GUEST_MODULES = ('virtio_pci', 'virtio_net')
MIGRATE_S = 60             # one migration, at most
BOOT_S = 120               # the guest up and settled, at most


def guest_init():
    """The guest's /init (busybox sh)."""
    return '''#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod "/modules/$m" 2>/dev/null; done
echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad
echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad
ip link set lo up
echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad
ip link set eth0 up
ip -6 addr add %(addr)s/128 dev eth0
ip -6 route add default via %(gw)s dev eth0
nc -ll -p %(tcp)d -e /bin/cat &
# the end of the boot (deferred work under emulation) out of the first move:
# at least 5 s, then until the CPU was 90 %% idle for 3 s in a row (a loaded
# host stretches the boot), at most 60 s
sleep 5
quiet=0 n=0
while [ $quiet -lt 3 ] && [ $n -lt 60 ]; do
	set -- $(head -n 1 /proc/stat)
	t0=$(($2 + $3 + $4 + $5 + $6 + $7 + $8)) i0=$5
	sleep 1
	set -- $(head -n 1 /proc/stat)
	t1=$(($2 + $3 + $4 + $5 + $6 + $7 + $8)) i1=$5
	if [ $(((i1 - i0) * 100)) -ge $(((t1 - t0) * 90)) ]; then
		quiet=$((quiet + 1))
	else
		quiet=0
	fi
	n=$((n + 1))
done
echo MIG-READY idle after $((n + 5)) s
for run in 1 2 3; do
	/bin/flood recv -p %(udp)d -n %(count)d -t 300 -w 3000 -i $run 2>&1 |
		while read -r line; do echo "MIG-RESULT $run $line"; done
done
while :; do sleep 3600; done
''' % {'addr': W_SIR, 'gw': GW, 'tcp': TCP_PORT, 'udp': UDP_PORT,
       'count': COUNT}


def kernel_tree():
    """(vmlinuz, module directory) of the tests/vm kernel, fetched into its
    cache (ILA_VM_CACHE) by tests/vm/lib.sh when not there yet, with qemu
    installed if missing; or a string saying why not."""
    lib = os.path.join(N.TOP, 'tests', 'vm', 'lib.sh')
    r = subprocess.run(['bash', '-c', '. "$1" && vm_deps && vm_kernel && '
                        'printf "%s\\n%s\\n" "$VM_VMLINUZ" "$VM_KDIR/lib/modules/$VM_KVER"',
                        'lib.sh', lib], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=600)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or len(lines) < 2 or not os.path.exists(lines[-2]) or \
            not os.path.exists(os.path.join(lines[-1], 'modules.dep')):
        return 'no test kernel (tests/vm/lib.sh: %s)' % ' | '.join(lines[-3:])
    return lines[-2], lines[-1]


def module_order(moddir, names):
    """The module files for names and their dependencies, dependencies
    first (the kernel cache's modules.dep, as tests/vm/lib.sh reads it)."""
    deps, path = {}, {}

    def base(p):
        b = os.path.basename(p)
        return b.split('.ko')[0].replace('-', '_')
    with open(os.path.join(moddir, 'modules.dep')) as f:
        for line in f:
            if ':' not in line:
                continue
            k, v = line.split(':', 1)
            path[base(k)] = k
            deps[base(k)] = [base(x) for x in v.split()]
    out, seen = [], set()

    def visit(m):
        if m in seen:
            return
        seen.add(m)
        if m not in path:
            return      # built into the kernel
        for d in deps[m]:
            visit(d)
        out.append(path[m])
    for n in names:
        visit(n)
    return out


def cpio_newc(entries):
    """A newc cpio archive of (name, mode, data) entries (data None: a
    directory)."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate(entries + [('TRAILER!!!', 0, b'')], 1):
        data = data or b''
        nb = name.encode() + b'\0'
        hdr = '070701' + ''.join('%08x' % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out += hdr.encode() + nb
        out += b'\0' * ((4 - len(out) % 4) % 4)
        out += data
        out += b'\0' * ((4 - len(out) % 4) % 4)
    return bytes(out)


def build_initramfs(workdir, moddir, flood_static):
    """The guest's initramfs: busybox, flood, the NIC's modules, /init."""
    order = module_order(moddir, GUEST_MODULES)
    ents = [('bin', 0o40755, None), ('proc', 0o40755, None), ('sys', 0o40755, None),
            ('dev', 0o40755, None), ('modules', 0o40755, None)]
    with open('/bin/busybox', 'rb') as f:
        ents.append(('bin/busybox', 0o100755, f.read()))
    with open(flood_static, 'rb') as f:
        ents.append(('bin/flood', 0o100755, f.read()))
    names = []
    for p in order:
        with open(os.path.join(moddir, p), 'rb') as f:
            ents.append(('modules/' + os.path.basename(p), 0o100644, f.read()))
        names.append(os.path.basename(p))
    ents.append(('modules/order', 0o100644, ('\n'.join(names) + '\n').encode()))
    ents.append(('init', 0o100755, guest_init().encode()))
    out = os.path.join(workdir, 'guest.cpio.gz')
    with gzip.open(out, 'wb', compresslevel=1) as f:
        f.write(cpio_newc(ents))
    return out


class Qmp:
    """A QMP client: commands answered in order; events kept, with the
    time they were read, and handed to on_event as they come (a thread
    reads the socket)."""

    def __init__(self, path, timeout=20):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        self.f = self.sock.makefile('rb')
        self.events = []
        self.on_event = None
        self.answers = []
        self.cv = threading.Condition()
        json.loads(self.f.readline())     # the greeting
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.cmd('qmp_capabilities')

    def _read(self):
        try:
            for line in self.f:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if 'event' in msg:
                    msg['t'] = time.monotonic()
                    self.events.append(msg)
                    if self.on_event:
                        self.on_event(msg)
                    continue
                with self.cv:
                    self.answers.append(msg)
                    self.cv.notify_all()
        except OSError:
            pass  # QEMU quit: its socket reset
        with self.cv:
            self.answers.append({'error': {'desc': 'QMP connection closed'}})
            self.cv.notify_all()

    def cmd(self, name, timeout=20, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        with self.cv:
            self.sock.sendall(json.dumps(msg).encode() + b'\n')
            if not self.cv.wait_for(lambda: self.answers, timeout):
                raise N.Failed('QMP %s: no answer in %d s' % (name, timeout))
            a = self.answers.pop(0)
        if 'error' in a:
            raise N.Failed('QMP %s: %s' % (name, a['error'].get('desc')))
        return a.get('return')

    def event_time(self, name):
        for e in self.events:
            if e.get('event') == name:
                return e['t']
        return None

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class TcpEcho(threading.Thread):
    """One TCP connection X -> the guest's echo server, an 8-byte counter
    every interval seconds until stopped: round trips, the longest wait,
    the error that ended it."""

    def __init__(self, interval=0.05, timeout=20.0):
        super().__init__(daemon=True)
        with NetNS(NS['x']):
            self.cli = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.cli.bind((X_SIR, 0))
        self.cli.settimeout(timeout)
        self.cli.connect((W_SIR, TCP_PORT))
        self.interval = interval
        self.rounds = 0
        self.max_wait = 0.0
        self.error = None
        self.stopped = False

    def run(self):
        N.tcp_rounds(self, 'the guest')

    def stop(self):
        self.stopped = True
        self.join(25)
        self.cli.close()


def tap_gateway(node):
    """(the tap's MAC, whether it holds GW) in node's namespace."""
    _, out = ip('-j', 'addr', 'show', 'dev', TAP, ns=NS[node])
    link = json.loads(out)[0]
    return link.get('address'), any(a.get('local') == GW for a in link.get('addr_info', []))


def tap_neigh(node):
    """The guest's neighbour entry on the tap in node's namespace: (lladdr,
    its states), or None."""
    _, out = ip('-6', '-j', 'neigh', 'show', W_SIR, 'dev', TAP, ns=NS[node])
    for e in json.loads(out or '[]'):
        if e.get('dst') == W_SIR:
            return e.get('lladdr'), e.get('state', [])
    return None


def tap_stats(node):
    """(packets handed to the tap, packets it dropped) in node's namespace."""
    _, out = ip('-s', '-j', 'link', 'show', TAP, ns=NS[node])
    tx = json.loads(out)[0].get('stats64', {}).get('tx', {})
    return tx.get('packets', 0), tx.get('dropped', 0)


class MigNet(N.Net):
    """ilad_net's network with the workload a QEMU guest on a tap in A and
    in B instead of the namespace W."""

    def build(self):
        for n in 'rmabcx':
            N.netns_add(NS[n])
            run(['ip', 'netns', 'exec', NS[n], 'sh', '-c',
                 'echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad; '
                 'echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad'])
        for n in ('a', 'b', 'c', 'm'):
            self._link('r', n, N.FABRIC[n] + '1', N.FABRIC[n] + '2')
            ip('-6', 'route', 'add', 'default', 'via', N.FABRIC[n] + '1', ns=NS[n])
        for n in ('a', 'b', 'c'):
            ip('-6', 'route', 'add', N.LOC_NET[n], 'via', N.FABRIC[n] + '2', ns=NS['r'])
        self._link('c', 'x', N.WLINK[('c', 'x')] + '1', N.WLINK[('c', 'x')] + '2')
        for n in ('r', 'a', 'b', 'c'):
            run(['ip', 'netns', 'exec', NS[n], 'sh', '-c',
                 'echo 1 >/proc/sys/net/ipv6/conf/all/forwarding'])
        ip('addr', 'add', X_SIR + '/128', 'dev', 'lo', ns=NS['x'])
        ip('-6', 'route', 'add', 'default', 'via', N.WLINK[('c', 'x')] + '1', ns=NS['x'])
        ip('-6', 'neigh', 'replace', X_SIR, 'lladdr', self.mac['x-c'], 'dev', 'c-x',
           'nud', 'permanent', ns=NS['c'])
        # the taps, as libvirt makes them before it starts QEMU: nothing
        # more; their MAC and fe80::1 come from ilad's anycast gateway, the
        # guest's neighbour entry from attach (neighbour discovery) at the
        # first start and from incoming's lladdr on a destination
        for n in ('a', 'b'):
            N.ip_batch(['tuntap add dev %s mode tap' % TAP,
                        'link set %s txqueuelen %d up' % (TAP, TAP_QLEN)], ns=NS[n])

    def ilad_conf(self, node, extra=''):
        # ilad_net's conf of A and B has the anycast gateway already (`vn
        # blue gateway GW mac GW_MAC`), applied by ilad to the vn's
        # interface, here the tap
        text = super().ilad_conf(node, extra)
        return text.replace('vn blue interface %s-w\n' % node, 'vn blue interface %s\n' % TAP)


class Guest:
    """One QEMU process of the guest, in a node's namespace on its tap."""

    def __init__(self, net, node, kernel, initrd, name, incoming=None):
        self.node = node
        self.name = name
        self.qmp_path = net.path(name + '.qmp')
        self.serial = net.path(name + '.serial.txt')
        argv = ['qemu-system-x86_64', '-M', 'pc', '-accel', 'tcg', '-m', '128', '-smp', '1',
                '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
                '-kernel', kernel, '-initrd', initrd,
                '-append', 'console=ttyS0 quiet panic=-1 ipv6.disable=0',
                '-serial', 'file:' + self.serial,
                '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path,
                '-netdev', 'tap,id=n0,ifname=%s,script=no,downscript=no' % TAP,
                '-device', 'virtio-net-pci,netdev=n0,mac=%s,romfile=' % GUEST_MAC]
        if incoming:
            argv += ['-incoming', 'unix:' + incoming]
        self.proc = net.spawn(name, node, argv)
        if not until(lambda: self.proc.poll() is not None or os.path.exists(self.qmp_path),
                     20):
            raise N.Failed('%s: no QMP socket after 20 s: %s' % (name, net.log_tail(name)))
        if self.proc.poll() is not None:
            raise N.Failed('%s exited %d: %s' % (name, self.proc.returncode,
                                                  net.log_tail(name)))
        self.qmp = Qmp(self.qmp_path)

    def console(self):
        try:
            with open(self.serial, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def quit(self):
        try:
            self.qmp.cmd('quit', timeout=5)
        except (N.Failed, OSError):
            pass
        self.qmp.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def domain_xml(tap):
    """The domain XML libvirt hands its hook (the parts it reads)."""
    return '''<domain type='qemu'>
  <name>%(dom)s</name>
  <metadata>
    <ila:workload xmlns:ila="urn:ila:libvirt:1">
      <ila:interface mac="%(mac)s" vn="blue">
        <ila:address>%(addr)s</ila:address>
      </ila:interface>
    </ila:workload>
  </metadata>
  <devices>
    <interface type='ethernet'>
      <mac address='%(mac)s'/>
      <target dev='%(tap)s'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
''' % {'dom': DOMAIN, 'mac': GUEST_MAC, 'addr': W_SIR, 'tap': tap}


class Suite:
    def __init__(self, it, res):
        self.it = it
        self.res = res
        self.net = MigNet('live-migration', 'bpf')
        self.guests = []
        self.phases = []         # (time, node, phase) of ilad's part
        self.hook = os.path.join(N.BUILD, 'hook', 'ila-libvirt-hook')
        self.via_hook = False

    def check(self, name, ok, detail=''):
        return self.res.check(name, ok, '' if ok else detail)

    def require(self, name, ok, detail=''):
        return self.res.require(name, ok, '' if ok else detail)

    @staticmethod
    def info(text):
        Results.info(text)

    # ------------------------------------------------------------ ilad's part

    def ilactl(self, node, *args):
        rc, out = self.net.ilactl(node, *args)
        if rc != 0:
            raise N.Failed('ilactl %s at %s: %s' % (' '.join(args), node.upper(), out.strip()))
        return out

    def run_hook(self, node, op, sub, netns=True):
        """hook/ila-libvirt-hook DOMAIN OP SUB - with the domain XML, at
        node's ilad (in node's namespace, where it looks for the tap);
        (0, its output), or Failed."""
        env = dict(os.environ, ILA_CONTROL=self.net.path(node + '.sock'),
                   ILA_HOOK_STDERR='yes', ILA_HOOK_CONF=self.net.path('hook.conf'))
        argv = (['ip', 'netns', 'exec', NS[node]] if netns else []) + \
            [self.hook, DOMAIN, op, sub, '-']
        r = subprocess.run(argv, input=domain_xml(TAP), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, timeout=30,
                           env=env)
        with open(self.net.path('hook.log'), 'a') as f:
            f.write('%s %s %s: exit %d\n%s' % (node, op, sub, r.returncode, r.stdout))
        if r.returncode != 0 or 'refused' in r.stdout or 'error' in r.stdout:
            raise N.Failed('hook %s %s at %s: exit %d: %s' % (
                op, sub, node.upper(), r.returncode, r.stdout.strip()))
        return 0, r.stdout

    def hook_phase(self, node, op, sub):
        """libvirt's hook call OP SUB at node, with the domain XML: through
        hook/ila-libvirt-hook when built, else through what it does."""
        self.phases.append((time.monotonic(), node, '%s %s' % (op, sub)))
        if os.access(self.hook, os.X_OK):
            self.run_hook(node, op, sub)
            self.via_hook = True
            return
        if (op, sub) == ('migrate', 'begin'):
            self.ilactl(node, 'expect', W_SIR)
            self.ilactl(node, 'prepare', W_SIR, 'dev', TAP)
        elif (op, sub) == ('start', 'begin'):
            self.ilactl(node, 'incoming', W_SIR, 'dev', TAP, 'lladdr', GUEST_MAC)
        elif (op, sub) == ('started', 'begin'):
            self.ilactl(node, 'attach', W_SIR, 'dev', TAP)
        elif (op, sub) == ('stopped', 'end'):
            loc = self.net.local(node, W_SIR) or {}
            owner = (self.net.mapping(W_SIR) or {}).get('node')
            if loc.get('state') == 'attached' and owner == node:
                self.ilactl(node, 'detach', W_SIR, 'down')

    # ------------------------------------------------------------ setup

    def setup(self, kernel, moddir, flood_static):
        net = self.net
        net.flood = N.flood_tool(net.dir)
        t0 = time.monotonic()
        net.build()
        net.certs(['mapper', 'a', 'b', 'c'])
        net.start_mapper(['a', 'b', 'c'])
        for n in ('c', 'a', 'b'):
            net.start_ilad(n, wait=False)
        for n in ('a', 'b', 'c'):
            net.wait_synced(n)
        self.ilactl('c', 'attach', X_SIR, 'dev', 'c-x')
        gw = {}
        ok = until(lambda: all(gw.update({n: tap_gateway(n)}) or gw[n] == (GW_MAC, True)
                               for n in ('a', 'b')), 10, 0.1)
        self.require('ilad\'s anycast gateway gave %s its MAC %s and %s at A and B' % (
            TAP, GW_MAC, GW), bool(ok), gw)
        self.initrd = build_initramfs(net.dir, moddir, flood_static)
        self.kernel = kernel
        g = Guest(net, 'a', kernel, self.initrd, 'qemu-a1')
        self.guests.append(g)
        self.ilactl('a', 'attach', W_SIR, 'dev', TAP)
        up = until(lambda: 'MIG-READY' in g.console() or g.proc.poll() is not None, BOOT_S,
                   0.2)
        self.require('the guest boots at A (TCG, busybox initramfs, virtio NIC on %s)' % TAP,
                     up and 'MIG-READY' in g.console(), g.console()[-600:])
        ok = until(lambda: (self.net.mapping(W_SIR) or {}).get('node') == 'a' and
                   self.mapping_at('c', W_SIR).get('locator') == LOC['a'], 10, 0.1)
        self.require('W attached at A and mapped there at C', bool(ok),
                     self.mapping_at('c', W_SIR))
        self.info('setup: namespaces, mapper, 3 ilad (bpf), the guest up at A in %.1f s' %
                  (time.monotonic() - t0))
        # the TCP connection, open through both migrations
        end = time.monotonic() + 20
        while True:
            try:
                self.tcp = TcpEcho()
                break
            except OSError as e:
                if time.monotonic() > end:
                    raise N.Failed('TCP connection X -> W: %s' % e)
                time.sleep(0.5)
        self.tcp.start()
        # the first start: the guest's entry at A is neighbour discovery's
        # (ilad's attach), no one wrote it
        nb = tap_neigh('a')
        self.check('the guest\'s neighbour entry on A\'s tap comes from neighbour discovery: '
                   '%s, not permanent (%s)' % (GUEST_MAC, nb),
                   nb is not None and nb[0] == GUEST_MAC and 'PERMANENT' not in nb[1], nb)

    def mapping_at(self, node, addr):
        for m in self.net.ctls[node].json('show mappings %s' % addr).get('mappings', []):
            if m.get('address') == addr:
                return m
        return {}

    # ------------------------------------------------------------ a migration

    def migrate(self, src, dst, run_id, early):
        net = self.net
        g_src = self.guests[-1]
        # the guest's receiver of this run listens (the previous one ends
        # 3 s after its last packet; a loaded host makes that later)
        ready = 'MIG-RESULT %d READY' % run_id
        self.require('%s -> %s: the guest\'s receiver of run %d listens' % (
            src.upper(), dst.upper(), run_id),
            until(lambda: ready in g_src.console(), 60, 0.1), g_src.console()[-600:])
        st0 = {n: net.stats(n) for n in (src, dst)}
        tap0 = {n: tap_stats(n) for n in (src, dst)}
        # the destination, as libvirt prepares it
        self.hook_phase(dst, 'migrate', 'begin')
        self.hook_phase(dst, 'prepare', 'begin')
        self.hook_phase(dst, 'start', 'begin')
        nb = tap_neigh(dst)
        self.check('%s -> %s: start begin: the guest\'s neighbour entry on %s\'s tap is '
                   'incoming\'s, %s, not permanent (%s)' % (
                       src.upper(), dst.upper(), dst.upper(), GUEST_MAC, nb),
                   nb is not None and nb[0] == GUEST_MAC and 'PERMANENT' not in nb[1] and
                   any(x in nb[1] for x in ('STALE', 'DELAY', 'PROBE', 'REACHABLE')), nb)
        sock = net.path('mig-%d.sock' % run_id)
        g_dst = Guest(net, dst, self.kernel, self.initrd, 'qemu-%s%d' % (dst, run_id + 1),
                      incoming=sock)
        self.guests.append(g_dst)
        ok = until(lambda: (self.mapping_at(src, W_SIR).get('standby') or '') == LOC[dst], 10,
                   0.05)
        self.require('%s -> %s: the source knows the destination\'s standby offer %s' % (
            src.upper(), dst.upper(), LOC[dst]), bool(ok), self.mapping_at(src, W_SIR))
        handed = {}
        # a listener's own connection to the source's ilad, open before the
        # pause: the handover is one command on it
        hctl = N.Ctl(net.path(src + '.sock'))
        hctl.cmd('show stats')
        # the stream, from when the destination waits for the guest: a
        # loaded host slows QEMU's start, not the migration the stream covers
        sent_proc = N.flood_send(net, 'x', W_SIR, UDP_PORT, RATE, COUNT, run_id, src=X_SIR,
                                 background=True, timeout_s=COUNT // RATE + 30)
        t_stream = time.monotonic()
        time.sleep(1.5)

        def on_event(ev):
            if ev.get('event') != 'STOP' or not early or handed:
                return
            t = time.monotonic()
            try:
                if early == 'hook':
                    # what the lifecycle listener of ilad(8) runs
                    handed['rc'] = self.run_hook(src, 'handover', 'begin', netns=False)
                else:
                    handed['rc'] = hctl.cmd('handover %s' % W_SIR)
            except (OSError, N.Failed) as e:
                handed['rc'] = (1, str(e))
            handed['ms'] = (time.monotonic() - t) * 1000
            handed['after_stop_ms'] = (time.monotonic() - ev['t']) * 1000
        g_src.qmp.on_event = on_event
        g_src.qmp.cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 30})
        t_mig = time.monotonic()
        g_src.qmp.cmd('migrate', uri='unix:' + sock)
        info = {}

        def done():
            info.update(g_src.qmp.cmd('query-migrate') or {})
            return info.get('status') in ('completed', 'failed', 'cancelled')
        until(done, MIGRATE_S, 0.05)
        t_done = time.monotonic()
        running = until(lambda: (g_dst.qmp.cmd('query-status') or {}).get('status') ==
                        'running', 10, 0.02)
        self.require('%s -> %s: QEMU migrated the guest (status %s, %.1f s, downtime %s ms), '
                     'it runs at %s' % (src.upper(), dst.upper(), info.get('status'),
                                        t_done - t_mig, info.get('downtime'), dst.upper()),
                     info.get('status') == 'completed' and bool(running), info)
        self.hook_phase(dst, 'started', 'begin')
        t_attached = time.monotonic()
        moved = until(lambda: self.mapping_at('c', W_SIR).get('locator') == LOC[dst], 10, 0.02)
        t_c = time.monotonic()
        hctl.close()
        tap1 = {n: tap_stats(n) for n in (src, dst)}
        nb_after = tap_neigh(dst)
        g_src.quit()
        self.hook_phase(src, 'stopped', 'end')
        self.hook_phase(src, 'release', 'end')
        sent = N.flood_send_result(sent_proc, COUNT // RATE + 40)
        t_end = time.monotonic()
        # the guest's report comes out on the serial console of where it runs
        line = None
        end = time.monotonic() + 30
        while time.monotonic() < end and not line:
            for l in g_dst.console().splitlines():
                if l.startswith('MIG-RESULT %d recv ' % run_id):
                    line = l.split(' ', 2)[2]
            time.sleep(0.2)
        self.require('%s -> %s: the guest reported its stream' % (src.upper(), dst.upper()),
                     line is not None, g_dst.console()[-600:])
        r = N.parse_kv(line)
        down_ms = info.get('downtime', 0)
        # the guest's own pause: from STOP at the source to RESUME at the
        # destination, as QMP reports them (QEMU's downtime counts the
        # source's side only, not the destination's load and start)
        t_stop = g_src.qmp.event_time('STOP')
        t_resume = g_dst.qmp.event_time('RESUME')
        pause_ms = int((t_resume - t_stop) * 1000) if t_stop and t_resume else down_ms
        st1 = {n: net.stats(n) for n in (src, dst)}
        lost = r.get('lost', -1)
        label = {'connection': 'with the handover at STOP', None: 'without handover (the push)',
                 'hook': 'with the handover at STOP through ila-libvirt-hook'}[early]
        self.info('%s -> %s %s: %d UDP packets at %d/s, sent %s, received %s, lost %d, '
                  'duplicated %s; QEMU downtime %s ms, the guest paused %d ms (STOP to '
                  'RESUME; %d packets at %d/s); STOP to C re-pointed %.0f ms; migration '
                  '%.1f s, stream %.1f s' % (
                      src.upper(), dst.upper(), label, COUNT, RATE, sent.get('sent'),
                      r.get('unique'), lost, r.get('dup'), down_ms, pause_ms,
                      pause_ms * RATE // 1000, RATE, (t_c - t_stop) * 1000 if t_stop else -1,
                      t_done - t_mig, t_end - t_stream))
        restored = st1[dst].get('incoming_neigh_restored', 0) - \
            st0[dst].get('incoming_neigh_restored', 0)
        self.info('%s -> %s: the guest\'s neighbour entry at %s: %s at start begin, %s after '
                  'the attach; written again by ilad before the attach: %d (the kernel '
                  'flushes it when QEMU opens the tap)' % (
                      src.upper(), dst.upper(), dst.upper(), nb, nb_after, restored))
        self.check('%s -> %s: the kernel refused none of the neighbour entries incoming wrote '
                   'at %s' % (src.upper(), dst.upper(), dst.upper()),
                   st1[dst].get('incoming_neigh_failed', 0) ==
                   st0[dst].get('incoming_neigh_failed', 0), (st0[dst], st1[dst]))
        self.info('%s -> %s: into the taps: %s; the guest: %s' % (
            src.upper(), dst.upper(), ', '.join(
                '%s +%d (dropped +%d)' % (n.upper(), tap1[n][0] - tap0[n][0],
                                          tap1[n][1] - tap0[n][1]) for n in (src, dst)),
            line))
        self.check('%s -> %s: the stream covered the migration (it ran %.1f s past the '
                   'destination\'s attach)' % (src.upper(), dst.upper(),
                                               t_stream + COUNT / RATE - t_attached),
                   t_stream + COUNT / RATE > t_attached + 0.5 and sent.get('sent') == COUNT,
                   sent['line'])
        self.check('%s -> %s: C maps W to %s after the attach (%.0f ms)' % (
            src.upper(), dst.upper(), LOC[dst], (t_c - t_attached) * 1000), bool(moved),
            self.mapping_at('c', W_SIR))
        if early:
            self.check('%s -> %s: handover W at %s on QMP STOP (%s; done %.1f ms after the '
                       'event was read, the command %.1f ms), counted' % (
                           src.upper(), dst.upper(), src.upper(),
                           'ila-libvirt-hook handover begin' if early == 'hook' else
                           'on a control connection',
                           handed.get('after_stop_ms', -1), handed.get('ms', -1)),
                handed.get('rc', (1,))[0] == 0 and
                st1[src].get('handovers', 0) == st0[src].get('handovers', 0) + 1,
                handed)
            gap = r.get('last_lost', -1) - r.get('first_lost', 0) + 1 if lost else 0
            if early == 'connection':
                self.check('%s -> %s: packets lost (%d) within the guest\'s own pause: <= %d, '
                           'the packets of its %d ms from STOP to RESUME at %d/s (QEMU\'s '
                           'downtime %s ms)' % (
                               src.upper(), dst.upper(), lost, pause_ms * RATE // 1000,
                               pause_ms, RATE, down_ms),
                           0 <= lost <= pause_ms * RATE // 1000 and r.get('dup') == 0, line)
            else:
                # the hook's own run (a process, the XML, show local) adds to
                # the pause: what reaches the source meanwhile is lost
                most = int((pause_ms + handed.get('after_stop_ms', 0)) * RATE // 1000)
                self.check('%s -> %s: packets lost (%d, one run of %d) within the pause and '
                           'the hook\'s run: <= %d, the packets of %d ms + %.0f ms at %d/s' % (
                               src.upper(), dst.upper(), lost, gap, most, pause_ms,
                               handed.get('after_stop_ms', 0), RATE),
                           0 <= lost <= most and gap == lost and r.get('dup') == 0, line)
            self.check('%s -> %s: the destination\'s tap held what reached it before the '
                       'guest ran there: %d packets into it by the push, %d dropped (queue %d, '
                       'pause %d ms x %d/s)' % (
                           src.upper(), dst.upper(), tap1[dst][0] - tap0[dst][0],
                           tap1[dst][1] - tap0[dst][1], TAP_QLEN, pause_ms, RATE),
                       tap1[dst][0] > tap0[dst][0] and tap1[dst][1] == tap0[dst][1],
                       (tap0, tap1))
        else:
            self.check('%s -> %s: packets lost without the handover: %d (the guest paused %d '
                       'ms, %d packets at %d/s; QEMU downtime %s ms)' % (
                           src.upper(), dst.upper(), lost, pause_ms, pause_ms * RATE // 1000,
                           RATE, down_ms),
                       lost >= 0 and r.get('dup') == 0, line)
        self.results[early] = (lost, down_ms, pause_ms)
        return lost, down_ms

    def run(self):
        self.results = {}
        self.migrate('a', 'b', 1, early='connection')
        self.migrate('b', 'a', 2, early=None)
        if os.access(self.hook, os.X_OK):
            self.migrate('a', 'b', 3, early='hook')
        time.sleep(0.5)
        self.tcp.stop()
        self.check('TCP connection X -> W open through all %d migrations: %d round trips, '
                   'longest wait %.0f ms, no reset' % (len(self.results), self.tcp.rounds,
                                                       self.tcp.max_wait * 1000),
                   self.tcp.error is None and self.tcp.rounds > 0, self.tcp.error or '')
        (l1, d1, p1), (l0, d0, p0) = self.results['connection'], self.results[None]
        self.info('live migration: with the handover %d packets lost (QEMU downtime %s ms, '
                  'paused %d ms); without, %d lost (downtime %s ms, paused %d ms)%s; %d '
                  'packets/s' % (
                      l1, d1, p1, l0, d0, p0, '; with the handover through ila-libvirt-hook '
                      '%d lost (downtime %s ms, paused %d ms)' % self.results['hook']
                      if 'hook' in self.results else '', RATE))
        ph = ' '.join('%s:%s@%.2f' % (n.upper(), p.replace(' ', '-'), t - self.phases[0][0])
                      for t, n, p in self.phases)
        self.info('%s phases (s from the first): %s' % (
            'ila-libvirt-hook' if self.via_hook else 'ilactl (no hook built)', ph))

    def close(self):
        for g in self.guests:
            if g.proc.poll() is None:
                g.proc.kill()
                try:
                    g.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            try:
                g.qmp.close()
            except OSError:
                pass
        self.net.close()


def usable(it):
    """The reason the suite cannot run here, or None."""
    why = bpf_move.usable(it)
    if why:
        return why
    if not shutil.which('qemu-system-x86_64'):
        return 'no qemu-system-x86_64 (tests/vm/lib.sh installs it)'
    if not os.path.exists('/dev/net/tun'):
        return 'no /dev/net/tun'
    return None


def flood_static(workdir):
    """tests/vm/flood.c linked statically for the guest."""
    out = os.path.join(workdir, 'flood-static')
    src = os.path.join(N.TOP, 'tests', 'vm', 'flood.c')
    rc, msg = run(['gcc'] + N.CFLAGS + ['-static', '-I' + N.BUILD, src, '-o', out],
                  check=False, timeout=120)
    if rc != 0:
        raise N.Failed('cannot link %s statically: %s' % (src, msg.strip()[-300:]))
    return out


class Held:
    """The checks of one attempt, kept until it is known whether the guest's
    kernel survived it (see suite())."""

    def __init__(self, it):
        self.it = it
        self.items = []

    def check(self, name, ok, detail=''):
        self.items.append((name, ok, detail))
        return ok

    def require(self, name, ok, detail=''):
        if not self.check(name, ok, detail):
            raise self.it.Failed(name)

    def failed(self):
        return sum(1 for _, ok, _ in self.items if not ok)

    def replay(self, res):
        for name, ok, detail in self.items:
            res.check(name, ok, detail)


PANIC_MARKS = ('Kernel panic', 'BUG: kernel', 'Oops:', 'general protection fault')


def guest_crash(guests):
    """The first line of a guest kernel's crash on a console, or None.

    TCG guests of QEMU 7.2 have been seen to crash in the scheduler's idle
    loop right after an incoming migration (a NULL current task read through
    %gs), more often on a loaded machine: a fault of the emulated machine,
    not of what the suite tests."""
    for g in guests:
        for line in g.console().splitlines():
            if any(m in line for m in PANIC_MARKS):
                return '%s: %s' % (g.name, line.strip())
    return None


def attempt(it, kernel, moddir, res):
    """One run of the suite; the guests' crash line, if one crashed."""
    s = Suite(it, res)
    try:
        s.setup(kernel, moddir, flood_static(s.net.dir))
        s.run()
    except (it.Failed, N.Failed, OSError, subprocess.SubprocessError, KeyError,
            ValueError) as e:
        res.check('live-migration: stopped', False, '%s: %s' % (type(e).__name__, e))
        for g in s.guests:
            Results.info('%s console: %s' % (g.name, ' | '.join(g.console().splitlines()[-5:])))
        for n in ('a', 'b', 'c'):
            Results.info('ilad %s: %s' % (n, s.net.log_tail(n, 6)))
    finally:
        crash = guest_crash(s.guests)
        s.close()
    return crash


def suite(it, root, res):
    why = usable(it)
    if why:
        print('SKIP: live-migration: %s' % why, flush=True)
        return
    kt = kernel_tree()
    if isinstance(kt, str):
        res.check('live-migration: the guest\'s kernel', False, kt)
        return
    N.OUT = root
    kernel, moddir = kt
    t0 = time.monotonic()
    # A guest whose own kernel crashed after a migration says nothing about
    # ila: that attempt's checks are set aside (and counted here) and the
    # suite runs once more, with new guests. A second crash fails the suite.
    held = Held(it)
    crash = attempt(it, kernel, moddir, held)
    if crash:
        Results.info('live-migration: the guest\'s kernel crashed (%s); the %d checks of '
                     'that attempt (%d failed) are set aside and the suite runs again' % (
                         crash, len(held.items), held.failed()))
        held = Held(it)
        crash = attempt(it, kernel, moddir, held)
        held.replay(res)
        res.check('live-migration: the guests\' kernels survived the second attempt', not crash,
                  crash or '')
    else:
        held.replay(res)
    print('  (live-migration: %.1f s)' % (time.monotonic() - t0), flush=True)
