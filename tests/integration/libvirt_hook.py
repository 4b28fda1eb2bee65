# SPDX-License-Identifier: GPL-2.0-or-later
"""ila-libvirt-hook against real ilads (tests/integration/run libvirt-hook).

The hook runs with libvirt's exact arguments (DOMAIN OPERATION SUBOP -) and
domain XML on stdin, in the order libvirt 9.0 runs the phases, against two
ilads with TLS sessions to a real ila-mapper, all in a network namespace of
their own: n1 in mode host-route (its host routes are read from the kernel)
and n2 in mode control-plane. After each phase `ilactl show local -j` and the
mapper's view are checked. Also: the refusals of wrong metadata, a domain
without ila metadata, ilad not running, and an ilad that never answers (a
listening socket that does not reply: the hook exits 0 within its bound).
"""
import os
import socket
import subprocess
import time

MAC = '52:54:00:12:34:56'
ADDR6 = '2001:db8:1::42'
ADDR4 = '192.0.2.42'
PREFIX4 = '192.0.2.0/24'
TIMEOUT_MS = 1500   # the hook's bound in the timeout check


def domain_xml(target, vn='blue', mac=MAC, addrs=(ADDR6, ADDR4), name='ila-vm1',
               metadata=True, extra_md=''):
    """A domain XML as libvirt 9.0 formats it for its hooks."""
    md = ''
    if metadata:
        md = ('  <metadata>\n'
              '    <ila:workload xmlns:ila="urn:ila:libvirt:1">\n'
              '      <ila:interface mac="%s" vn="%s">\n%s'
              '      </ila:interface>\n%s'
              '    </ila:workload>\n'
              '  </metadata>\n') % (
                  mac, vn, ''.join('        <ila:address>%s</ila:address>\n' % a
                                   for a in addrs), extra_md)
    tgt = "      <target dev='%s'/>\n" % target if target else ''
    return ("<domain type='qemu' id='1'>\n"
            "  <name>%s</name>\n"
            "  <uuid>6f3a3c2e-4d2b-4a51-9a2b-3c1d2e4f5a6b</uuid>\n%s"
            "  <memory unit='KiB'>131072</memory>\n"
            "  <vcpu placement='static'>1</vcpu>\n"
            "  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>\n"
            "  <devices>\n"
            "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
            "    <interface type='ethernet'>\n"
            "      <mac address='%s'/>\n%s"
            "      <model type='virtio'/>\n"
            "      <alias name='net0'/>\n"
            "    </interface>\n"
            "  </devices>\n"
            "</domain>\n") % (name, md, MAC, tgt)


class Hook:
    def __init__(self, it, res):
        self.it, self.res = it, res
        self.bin = os.path.join(it.BUILD, 'hook', 'ila-libvirt-hook')
        self.ran = []    # (phase, seconds) of every run

    def __call__(self, sock, op, subop, xml, dom='ila-vm1', env=None, timeout=30):
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'ILA_CONTROL': sock,
             'ILA_HOOK_STDERR': '1', 'ILA_HOOK_CONF': '/nonexistent'}
        e.update(env or {})
        t = time.monotonic()
        p = subprocess.run([self.bin, dom, op, subop, '-'], input=xml, env=e,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=timeout)
        dt = time.monotonic() - t
        self.ran.append(('%s %s' % (op, subop), dt))
        return p.returncode, p.stdout, p.stderr, dt


def usable(it):
    if os.geteuid() != 0:
        return 'not root (network namespaces)'
    if not os.access(os.path.join(it.BUILD, 'hook', 'ila-libvirt-hook'), os.X_OK):
        return 'hook/ila-libvirt-hook not built'
    return None


def suite(it, root, res):
    if os.geteuid() != 0:
        print('SKIP: libvirt-hook: not root (network namespaces)', flush=True)
        return
    why = usable(it)
    if why:
        res.check('libvirt-hook: can run', False, why)
        return
    tag = os.environ.get('ILA_NETNS_TAG', '') + str(os.getpid())
    ns = 'ila-hook-' + tag
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    try:
        it.sh('ip', 'netns', 'add', ns)
        it.setns('/run/netns/' + ns)
        it.sh('ip', 'link', 'set', 'lo', 'up')
        # the VM's tap at each node (a veth stands for it: a device ilad attaches on)
        for t in ('hka0', 'hkb0'):
            it.sh('ip', 'link', 'add', t, 'type', 'veth', 'peer', 'name', t + 'p')
            it.sh('ip', 'link', 'set', t, 'up')
            it.sh('ip', 'link', 'set', t + 'p', 'up')
        body(it, root, res)
    finally:
        it.kill_all()
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).setns(home, it.CLONE_NEWNET)
        finally:
            os.close(home)
        subprocess.run(['ip', 'netns', 'del', ns], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def body(it, root, res):
    hook = Hook(it, res)
    env = it.Env(root, 'libvirt-hook', ['n1', 'n2'],
                 [dict(name='blue', id=1, prefix=it.PREFIX, serve=['n1', 'n2'],
                       subscribe=['n1', 'n2'])], extra='vn blue ipv4-prefix %s\n' % PREFIX4)
    env.start()
    n1 = it.Node(env, 'n1', '2001:db8:0:1', 'vn blue ipv4-prefix %s\n' % PREFIX4)
    with open(n1.conf) as f:
        conf = f.read().replace('mode control-plane', 'mode host-route')
    with open(n1.conf, 'w') as f:
        f.write(conf)
    n2 = it.Node(env, 'n2', '2001:db8:0:2', 'vn blue ipv4-prefix %s\n' % PREFIX4)
    n1.start()
    n2.start()
    addrs = (ADDR6, ADDR4)

    def local(n):
        return {l['address']: l for l in n.ctl('show', 'local')['local']}

    def states(n):
        lo = local(n)
        return {a: (lo[a]['state'], lo[a]['dev']) if a in lo else None for a in addrs}

    def owner(a):
        m = env.ctl('show', 'mappings', a)['mappings']
        return (m[0]['node'], m[0]['state'], m[0].get('standby')) if m else None

    def route(a):
        fam = '-6' if ':' in a else '-4'
        return it.sh('ip', fam, 'route', 'show', a, 'dev', 'hka0').strip()

    def neigh(a):
        fam = '-6' if ':' in a else '-4'
        return it.sh('ip', fam, 'neigh', 'show', a, 'dev', 'hka0').strip()

    def phase(n, op, subop, target, want, what, settle=False, **kw):
        rc, out, err, dt = hook(n.sock, op, subop, domain_xml(target, **kw))
        if settle:  # a standby's deregistration ends with the mapper's answer
            it.until(lambda: all(states(n)[a] == want[a] for a in addrs))
        st = states(n)
        ok = rc == 0 and out == '' and all(st[a] == want[a] for a in addrs)
        res.check('libvirt-hook: %s: %s %s: %s' % (n.name, op, subop, what), ok,
                  'exit %d, stdout %r, show local %s (want %s), %.0f ms; %s'
                  % (rc, out, st, want, dt * 1000, err.strip().splitlines()[-1:]))
        return ok

    # a fresh start at n2: prepare, start, started
    phase(n2, 'prepare', 'begin', 'hkb0', {a: ('expected', '') for a in addrs},
          'both addresses expected')
    phase(n2, 'start', 'begin', 'hkb0', {a: ('expected', '') for a in addrs},
          'still only expected (start begin never attaches)')
    phase(n2, 'started', 'begin', 'hkb0', {a: ('attached', 'hkb0') for a in addrs},
          'attached on the target dev')
    res.check('libvirt-hook: the mapper has both at n2',
              it.until(lambda: all((owner(a) or ('',))[0] == 'n2' for a in addrs)),
              '%s' % {a: owner(a) for a in addrs})
    seq0 = {a: local(n2)[a]['seq'] for a in addrs}
    # libvirtd restarted at n2: reconnect re-attaches, nothing moves
    phase(n2, 'reconnect', 'begin', 'hkb0', {a: ('attached', 'hkb0') for a in addrs},
          'still attached')
    seq1 = {a: local(n2)[a]['seq'] for a in addrs}
    res.check('libvirt-hook: reconnect is idempotent (same seq)', seq0 == seq1,
              '%s -> %s' % (seq0, seq1))

    # live migration n2 -> n1, in libvirt 9.0's order; as there, n1's tap appears between
    # prepare begin and start begin
    it.sh('ip', 'link', 'set', 'hka0', 'name', 'hka0x')
    phase(n1, 'migrate', 'begin', 'hka0', {a: ('prepared', '') for a in addrs},
          'expected, then prepared as the standby (no tap yet)')
    res.check('libvirt-hook: after migrate begin the mapper names n1 the standby, n2 owns it',
              it.until(lambda: all(owner(a) == ('n2', 'up', '2001:db8:0:1') for a in addrs)),
              '%s' % {a: owner(a) for a in addrs})
    phase(n1, 'prepare', 'begin', 'hka0', {a: ('prepared', '') for a in addrs},
          'still prepared')
    it.sh('ip', 'link', 'set', 'hka0x', 'name', 'hka0')
    it.sh('ip', 'link', 'set', 'hka0', 'up')
    phase(n1, 'start', 'begin', 'hka0', {a: ('prepared', 'hka0') for a in addrs},
          'prepared again on the tap that now exists, not attached while the guest runs '
          'at n2')
    res.check('libvirt-hook: n1: start begin: incoming wrote each address\'s neighbour '
              'entry on hka0, the interface\'s MAC, not permanent',
              all(neigh(a).startswith('%s lladdr %s ' % (a, MAC)) and
                  neigh(a).split()[-1] in ('STALE', 'DELAY', 'PROBE', 'REACHABLE')
                  for a in addrs), '%s' % {a: neigh(a) for a in addrs})
    res.check('libvirt-hook: n2 still owns both before started',
              all((owner(a) or ('',))[0] == 'n2' for a in addrs),
              '%s' % {a: owner(a) for a in addrs})
    phase(n1, 'started', 'begin', 'hka0', {a: ('attached', 'hka0') for a in addrs},
          'attached on the tap')
    moved = it.until(lambda: all((owner(a) or ('',))[0] == 'n1' for a in addrs) and
                     all(v is None for v in states(n2).values()))
    res.check('libvirt-hook: the move reached the mapper and n2 let both go', moved,
              'mapper %s, n2 %s' % ({a: owner(a) for a in addrs}, states(n2)))
    res.check('libvirt-hook: n1 delivers both on hka0 (host routes)',
              all(route(a) for a in addrs), '%s' % {a: route(a) for a in addrs})
    before = {a: owner(a) for a in addrs}
    phase(n2, 'stopped', 'end', 'hkb0', {a: None for a in addrs},
          'the source no longer owns them: nothing done')
    phase(n2, 'release', 'end', 'hkb0', {a: None for a in addrs}, 'nothing left to forget')
    after = {a: owner(a) for a in addrs}
    res.check('libvirt-hook: the source\'s stopped/release left the mapping up at n1',
              before == after and all(v[:2] == ('n1', 'up') for v in after.values()),
              '%s -> %s' % (before, after))

    # an incoming migration to n2 that fails: release forgets the standby
    phase(n2, 'migrate', 'begin', 'hkb0', {a: ('prepared', 'hkb0') for a in addrs},
          'prepared as the standby')
    phase(n2, 'stopped', 'end', 'hkb0', {a: ('prepared', 'hkb0') for a in addrs},
          'a standby is not detached down')
    phase(n2, 'release', 'end', 'hkb0', {a: None for a in addrs}, 'the standby forgotten',
          settle=True)
    res.check('libvirt-hook: the failed migration left n1 the owner',
              it.until(lambda: all((owner(a) or ('',))[:2] == ('n1', 'up') for a in addrs)),
              '%s' % {a: owner(a) for a in addrs})

    # the guest stops at n1: detached down, then nothing left
    rc, out, err, dt = hook(n1.sock, 'stopped', 'end', domain_xml('hka0'))
    down = it.until(lambda: all((owner(a) or ('', ''))[1] == 'down' for a in addrs) and
                    all(v is None for v in states(n1).values()))
    res.check('libvirt-hook: n1: stopped end: detached down (mapper: down at n1), no host '
              'route left', rc == 0 and down and not any(route(a) for a in addrs),
              'exit %d, mapper %s, n1 %s, routes %s; %s'
              % (rc, {a: owner(a) for a in addrs}, states(n1),
                 {a: route(a) for a in addrs}, err.strip().splitlines()[-1:]))
    phase(n1, 'release', 'end', 'hka0', {a: None for a in addrs}, 'nothing left')

    # wrong metadata: refused before the guest runs, never after
    wrong = [
        ('a malformed mac', dict(mac='52:54:00:12:34'), 'mac missing'),
        ('an address that is not one', dict(addrs=('2001:db8:1::zz',)), 'is neither'),
        ('a mac no interface has', dict(mac='52:54:00:00:00:99'), 'no <devices><interface>'),
        ('a vn this node places it not in', dict(vn='red'), 'not in vn red'),
        ('an address in no vn of the node', dict(addrs=('2001:db8:ff::1',)),
         'in no vn this node serves'),
    ]
    for what, kw, msg in wrong:
        for op, subop, want in (('prepare', 'begin', 1), ('start', 'begin', 1),
                                ('started', 'begin', 0)):
            rc, out, err, dt = hook(n2.sock, op, subop, domain_xml('hkb0', **kw))
            left = local(n2)
            res.check('libvirt-hook: %s %s with %s: exit %d, reason on stderr, nothing '
                      'left expected' % (op, subop, what, want),
                      rc == want and msg in err and out == '' and
                      not any(l['state'] == 'expected' for l in left.values()),
                      'exit %d, stderr %r, local %s' % (rc, err.strip()[-300:], left))
            # started attached what ilad accepted: the guest runs; let it go
            hook(n2.sock, 'stopped', 'end', domain_xml('hkb0', **kw))
            hook(n2.sock, 'release', 'end', domain_xml('hkb0', **kw))
    it.until(lambda: not local(n2))   # the deregistrations above answered
    rc, out, err, dt = hook(n2.sock, 'started', 'begin', domain_xml('hkb0', metadata=False))
    res.check('libvirt-hook: a domain without ila metadata: exit 0, silent, nothing done',
              rc == 0 and out == '' and err == '' and not local(n2),
              'exit %d, stdout %r, stderr %r, local %s' % (rc, out, err, local(n2)))
    rc, out, err, dt = hook(n2.sock, 'migrate', 'begin', domain_xml('hkb0'),
                            env={'ILA_HOOK_STDERR': '0'})
    res.check('libvirt-hook: without ILA_HOOK_STDERR nothing is written on stderr',
              rc == 0 and err == '' and out == '', 'exit %d, stderr %r' % (rc, err))
    hook(n2.sock, 'release', 'end', domain_xml('hkb0'))
    rc, out, err, dt = hook(n2.sock, 'migrate', 'begin', '<domain><name>x</name>')
    res.check('libvirt-hook: XML that does not parse refuses a migration, with the reason',
              rc == 1 and 'domain XML' in err, 'exit %d, stderr %r' % (rc, err.strip()))
    it.until(lambda: not local(n2))
    rc, out, err, dt = hook(n2.sock, 'restore', 'begin', 'anything')
    res.check('libvirt-hook: other operations: exit 0, nothing read into ilad',
              rc == 0 and out == '' and not local(n2), 'exit %d, stdout %r' % (rc, out))

    # the settings file, as under libvirt (which clears the environment)
    conf = env.path('libvirt-hook.conf')
    with open(conf, 'w') as f:
        f.write('# the hook\'s settings\ncontrol %s   # n2\ntimeout-ms 3000\nstderr yes\n'
                'colour blue\ntimeout-ms 5\nstderr maybe\n\n' % n2.sock)
    p = subprocess.run([hook.bin, 'ila-vm1', 'started', 'begin', '-'], input=domain_xml('hkb0'),
                       env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
                            'ILA_HOOK_CONF': conf}, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    st = states(n2)
    res.check('libvirt-hook: the settings file alone (control, stderr) drives the hook; its '
              'wrong lines are named and ignored',
              p.returncode == 0 and all(st[a] == ('attached', 'hkb0') for a in addrs) and
              "unknown setting 'colour'" in p.stderr and "timeout-ms '5' not in" in p.stderr
              and "stderr 'maybe' is not yes or no" in p.stderr,
              'exit %d, local %s, stderr %r' % (p.returncode, st, p.stderr[-400:]))
    hook(n2.sock, 'stopped', 'end', domain_xml('hkb0'))
    hook(n2.sock, 'release', 'end', domain_xml('hkb0'))

    # syslog: the hook in a mount namespace whose /dev/log is a socket of the test
    logsock = env.path('syslog.sock')
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(logsock)
    rx.settimeout(0.2)
    try:
        p = subprocess.run(
            ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
             'mount -t tmpfs tmpfs /dev && : > /dev/log && mount --bind "$0" /dev/log && '
             'exec "$@"', logsock, hook.bin, 'ila-vm1', 'started', 'begin', '-'],
            input=domain_xml('hkb0'), env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
                                           'ILA_CONTROL': n2.sock, 'ILA_HOOK_CONF': '/nonexistent'},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
        got = []
        while True:
            try:
                got.append(rx.recv(4096).decode(errors='replace'))
            except socket.timeout:
                break
    finally:
        rx.close()
    # <30>: facility daemon (3 << 3) | info (6); <28>: daemon | warning
    ok = [g for g in got if g.startswith('<30>') and 'ila-libvirt-hook[' in g and
          'attach %s dev hkb0' % ADDR6 in g]
    res.check('libvirt-hook: syslog: facility daemon, ident ila-libvirt-hook with the pid, one '
              'message per command; nothing on stderr without ILA_HOOK_STDERR',
              p.returncode == 0 and ok and p.stderr == '',
              'exit %d, stderr %r, %d messages, e.g. %r' % (p.returncode, p.stderr, len(got),
                                                           got[:3]))
    hook(n2.sock, 'stopped', 'end', domain_xml('hkb0'))
    hook(n2.sock, 'release', 'end', domain_xml('hkb0'))

    # no ilad: the VM starts all the same
    missing = env.path('no-ilad.sock')
    for op, subop in (('migrate', 'begin'), ('prepare', 'begin'), ('started', 'begin')):
        rc, out, err, dt = hook(missing, op, subop, domain_xml('hkb0'))
        res.check('libvirt-hook: ilad not running: %s %s exits 0 and says so' % (op, subop),
                  rc == 0 and 'cannot connect to ilad' in err,
                  'exit %d, %.0f ms, stderr %r' % (rc, dt * 1000, err.strip()))

    # an ilad that never answers: a socket that listens and never replies
    mute = env.path('mute.sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(mute)
    srv.listen(8)
    try:
        for op, subop in (('migrate', 'begin'), ('started', 'begin')):
            rc, out, err, dt = hook(mute, op, subop, domain_xml('hkb0'),
                                    env={'ILA_HOOK_TIMEOUT_MS': str(TIMEOUT_MS)},
                                    timeout=TIMEOUT_MS / 1000 * 10)
            print('  libvirt-hook: mute ilad, %s %s: exit %d after %.0f ms (bound %d ms)'
                  % (op, subop, rc, dt * 1000, TIMEOUT_MS), flush=True)
            res.check('libvirt-hook: an ilad that never answers: %s %s gives up at its bound, '
                      'exit 0' % (op, subop),
                      rc == 0 and 'no answer within the time bound' in err and
                      dt * 1000 >= TIMEOUT_MS,
                      'exit %d after %.0f ms, stderr %r' % (rc, dt * 1000, err.strip()[-200:]))
    finally:
        srv.close()
    # an ilad whose listen backlog is full: connect() itself blocks; the hook's timer ends it
    full = env.path('full.sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(full)
    srv.listen(0)
    filler = []
    try:
        for _ in range(4):   # fill the backlog; a blocking connect would hang the test
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(full)
            except (BlockingIOError, OSError):
                c.close()
                break
            filler.append(c)
        rc, out, err, dt = hook(full, 'started', 'begin', domain_xml('hkb0'),
                                env={'ILA_HOOK_TIMEOUT_MS': str(TIMEOUT_MS)},
                                timeout=TIMEOUT_MS / 1000 * 10)
        print('  libvirt-hook: full backlog, started begin: exit %d after %.0f ms (bound %d ms '
              '+ 250)' % (rc, dt * 1000, TIMEOUT_MS), flush=True)
        res.check('libvirt-hook: connect() blocked on a full backlog: the timer ends the hook '
                  'after its bound, exit 0', rc == 0 and 'time bound reached' in err and
                  dt * 1000 >= TIMEOUT_MS + 250,
                  'exit %d after %.0f ms, %d connections filled the backlog, stderr %r'
                  % (rc, dt * 1000, len(filler), err.strip()[-200:]))
    finally:
        for c in filler:
            c.close()
        srv.close()
    runs = [dt for ph, dt in hook.ran if dt < TIMEOUT_MS / 1000]
    print('  libvirt-hook: %d hook runs against a live ilad, %.1f ms median, %.1f ms max'
          % (len(runs), sorted(runs)[len(runs) // 2] * 1000, max(runs) * 1000), flush=True)
    for n in (n1, n2):
        n.proc.send_signal(15)
        n.proc.wait(10)


# ------------------------------------------------------------ a real libvirtd
LIBVIRTD = '/usr/sbin/libvirtd'
VIRSH = '/usr/bin/virsh'
QEMU_CONF = '''
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
'''
BOOT_SECONDS = 60   # libvirtd up, the domain defined, started, running


def guest_kernel(it):
    """The kernel of the tests/vm cache (fetched by its vm_kernel when the cache is
    empty), else the newest in /boot; None if neither."""
    r = subprocess.run(['bash', '-c', '. "$1/tests/vm/lib.sh" && vm_kernel >&2 && '
                        'echo "$VM_VMLINUZ"', 'vm_kernel', it.TOP],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=600)
    k = r.stdout.strip()
    if r.returncode == 0 and os.path.isfile(k):
        return k
    print('  libvirtd: no kernel from the tests/vm cache: %s' % r.stderr.strip()[-200:],
          flush=True)
    try:
        ks = sorted(f for f in os.listdir('/boot') if f.startswith('vmlinuz-'))
    except OSError:
        ks = []
    return os.path.join('/boot', ks[-1]) if ks else None


def make_initramfs(it, path, work):
    """A busybox initramfs whose init only waits."""
    tree = os.path.join(work, 'initramfs')
    os.makedirs(os.path.join(tree, 'bin'))
    import shutil
    shutil.copy('/bin/busybox', os.path.join(tree, 'bin', 'busybox'))
    os.symlink('busybox', os.path.join(tree, 'bin', 'sh'))
    with open(os.path.join(tree, 'init'), 'w') as f:
        f.write('#!/bin/sh\n/bin/busybox echo ila-guest-up\n'
                'while :; do /bin/busybox sleep 60; done\n')
    os.chmod(os.path.join(tree, 'init'), 0o755)
    it.sh('sh', '-c', 'cd %s && find . | cpio -o -H newc --quiet | gzip -1 > %s' % (tree, path))


def libvirt_domain(kernel, initrd, console, target):
    md = ('<metadata>\n'
          '  <ila:workload xmlns:ila="urn:ila:libvirt:1">\n'
          '    <ila:interface mac="%s" vn="blue">\n'
          '      <ila:address>%s</ila:address>\n'
          '      <ila:address>%s</ila:address>\n'
          '    </ila:interface>\n'
          '  </ila:workload>\n'
          '</metadata>\n') % (MAC, ADDR6, ADDR4)
    return ("<domain type='qemu'>\n"
            "  <name>ilahk-vm</name>\n"
            "  <memory unit='MiB'>128</memory>\n"
            "  <vcpu>1</vcpu>\n%s"
            "  <os><type arch='x86_64' machine='pc'>hvm</type>\n"
            "    <kernel>%s</kernel><initrd>%s</initrd>\n"
            "    <cmdline>console=ttyS0 panic=-1 quiet</cmdline></os>\n"
            "  <on_crash>destroy</on_crash>\n"
            "  <devices>\n"
            "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
            "    <interface type='ethernet'>\n"
            "      <mac address='%s'/>\n"
            "      <target dev='%s' managed='yes'/>\n"
            "      <model type='virtio'/>\n"
            "      <rom enabled='no'/>\n"
            "    </interface>\n"
            "    <serial type='file'><source path='%s'/><target port='0'/></serial>\n"
            "    <video><model type='none'/></video>\n"
            "    <memballoon model='none'/>\n"
            "  </devices>\n"
            "</domain>\n") % (md, kernel, initrd, MAC, target, console)


def apt_candidate(pkg):
    r = subprocess.run(['apt-cache', 'policy', pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, universal_newlines=True)
    return any(l.strip().startswith('Candidate:') and '(none)' not in l
               for l in r.stdout.splitlines())


def suite_libvirtd(it, root, res):
    if os.geteuid() != 0:
        print('SKIP: libvirtd: not root (network and mount namespaces)', flush=True)
        return
    why = usable(it)
    if why:
        res.check('libvirtd: can run', False, why)
        return
    if not os.access(LIBVIRTD, os.X_OK) or not os.access(VIRSH, os.X_OK):
        if apt_candidate('libvirt-daemon-system'):
            res.check('libvirtd: installed', False,
                      'libvirtd not installed: scripts/deps.sh installs libvirt-daemon-system')
        else:
            print('SKIP: libvirtd: libvirt-daemon-system is neither installed nor installable',
                  flush=True)
        return
    kernel = guest_kernel(it)
    if not kernel:
        res.check('libvirtd: a kernel to boot', False,
                  'no kernel: the tests/vm cache could not fetch one and /boot has none')
        return
    tag = os.environ.get('ILA_NETNS_TAG', '') + str(os.getpid())
    ns = 'ila-hklv-' + tag
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    lv = None
    try:
        it.sh('ip', 'netns', 'add', ns)
        it.setns('/run/netns/' + ns)
        it.sh('ip', 'link', 'set', 'lo', 'up')
        lv = Libvirtd(it, root, ns)
        libvirtd_body(it, root, res, lv, kernel)
    finally:
        if lv:
            lv.close()
        it.kill_all()
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).setns(home, it.CLONE_NEWNET)
        finally:
            os.close(home)
        subprocess.run(['ip', 'netns', 'del', ns], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


class Libvirtd:
    """libvirtd (privileged, qemu:///system) in the namespace ns and in a mount namespace
    of its own: its /etc/libvirt a copy holding only our hook, its /run, /var/lib/libvirt,
    /var/cache/libvirt and /var/log/libvirt empty tmpfs, the hook's settings file in a
    tmpfs over the build's sysconfdir."""

    def __init__(self, it, root, ns):
        import shutil
        self.it = it
        self.dir = os.path.join(root, 'libvirtd')
        os.makedirs(self.dir)
        self.etc = os.path.join(self.dir, 'etc-libvirt')
        shutil.copytree('/etc/libvirt', self.etc, symlinks=True)
        shutil.rmtree(os.path.join(self.etc, 'hooks'), ignore_errors=True)
        for sub in ('qemu/networks/autostart', 'qemu/autostart', 'storage/autostart'):
            shutil.rmtree(os.path.join(self.etc, sub), ignore_errors=True)
        with open(os.path.join(self.etc, 'qemu.conf'), 'a') as f:
            f.write(QEMU_CONF)
        with open(os.path.join(self.etc, 'libvirtd.conf'), 'a') as f:
            f.write('log_outputs = "3:stderr"\n')
        hooks = os.path.join(self.etc, 'hooks', 'qemu.d')
        os.makedirs(hooks)
        # the program as make install puts it there
        shutil.copy(os.path.join(it.BUILD, 'hook', 'ila-libvirt-hook'),
                    os.path.join(hooks, 'ila'))
        self.hook_conf = self.conf_path(it)
        self.confdir = os.path.join(self.dir, 'hook-etc')
        os.makedirs(self.confdir)
        self.log = os.path.join(self.dir, 'libvirtd.log')
        self.proc = None
        self.ns = ns

    @staticmethod
    def conf_path(it):
        r = it.run([os.path.join(it.BUILD, 'hook', 'ila-libvirt-hook'), '--help'], timeout=10)
        for line in r.stdout.splitlines():
            if line.startswith('Settings: '):
                return line.split()[1].rstrip(',')
        raise it.Failed('the hook does not name its settings file: %r' % r.stdout)

    def write_conf(self, control):
        """The hook's settings file (libvirt clears its hooks' environment)."""
        d = os.path.dirname(self.hook_conf)
        anc = d
        while not os.path.isdir(anc):
            anc = os.path.dirname(anc)
        if anc in ('/', '/etc', '/usr', '/var', '/run', '/tmp'):
            raise self.it.Failed('will not hide %s for the hook\'s settings file %s'
                                 % (anc, self.hook_conf))
        self.conf_mount = anc
        rel = os.path.relpath(d, anc)
        os.makedirs(os.path.join(self.confdir, rel), exist_ok=True)
        with open(os.path.join(self.confdir, rel, os.path.basename(self.hook_conf)), 'w') as f:
            f.write('# written by tests/integration libvirtd\ncontrol %s\ntimeout-ms 5000\n'
                    % control)

    def start(self):
        setup = ' && '.join([
            'mount --bind %s /etc/libvirt' % self.etc,
            'mount --bind %s %s' % (self.confdir, self.conf_mount),
            'mount -t tmpfs tmpfs /run',
            'mount -t tmpfs tmpfs /var/lib/libvirt',
            'mount -t tmpfs tmpfs /var/cache/libvirt',
            'mount -t tmpfs tmpfs /var/log/libvirt',
            'exec %s' % LIBVIRTD,
        ])
        logf = open(self.log, 'a')
        self.proc = self.it.spawn(['ip', 'netns', 'exec', self.ns, 'unshare', '-m',
                                   '--propagation', 'private', 'sh', '-c', setup],
                                  stdout=logf, stderr=logf)
        logf.close()
        ok = self.it.until(lambda: self.proc.poll() is None and
                           self.virsh('version', check=False).returncode == 0, 20)
        if not ok:
            raise self.it.Failed('libvirtd not answering after 20 s: %s' % self.tail())

    def restart(self):
        """libvirtd stops (the domain's QEMU goes on) and a new one starts in the same
        mount namespace, held by QEMU: it finds the domain running (reconnect)."""
        qemu = self.qemu_pid()
        if not qemu:
            raise self.it.Failed('no QEMU pid file in libvirtd\'s /run/libvirt/qemu')
        qemu = str(qemu)
        self.proc.terminate()
        self.proc.wait(10)
        logf = open(self.log, 'a')
        self.proc = self.it.spawn(['nsenter', '-t', qemu, '-m', '-n', LIBVIRTD],
                                  stdout=logf, stderr=logf)
        logf.close()
        if not self.it.until(lambda: self.proc.poll() is None and
                             self.virsh('version', check=False).returncode == 0, 20):
            raise self.it.Failed('libvirtd not answering after its restart: %s' % self.tail())

    def virsh(self, *args, check=True, timeout=60):
        r = self.it.run(['nsenter', '-t', str(self.proc.pid), '-m', '-n', VIRSH, '-c',
                         'qemu:///system'] + list(args), timeout=timeout)
        if check and r.returncode != 0:
            raise self.it.Failed('virsh %s: exit %d: %s' % (' '.join(args), r.returncode,
                                                           r.stderr.strip()[-400:]))
        return r

    def tail(self, n=12):
        try:
            with open(self.log) as f:
                return ' | '.join(f.read().splitlines()[-n:])
        except OSError:
            return '(no log)'

    def qemu_pid(self):
        r = subprocess.run(['nsenter', '-t', str(self.proc.pid), '-m', 'cat',
                            '/run/libvirt/qemu/ilahk-vm.pid'], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, universal_newlines=True, timeout=10)
        return int(r.stdout) if r.stdout.strip().isdigit() else None

    def close(self):
        qemu = None
        if self.proc and self.proc.poll() is None:
            qemu = self.qemu_pid()
            self.virsh('destroy', 'ilahk-vm', check=False, timeout=20)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # the domain's QEMU, if libvirtd could not end it
        try:
            with open('/proc/%d/cmdline' % qemu, 'rb') as f:
                if b'ilahk-vm' in f.read():
                    os.kill(qemu, 9)
        except (TypeError, OSError):
            pass


def start_stamped(it, n):
    """Starts ilad n with each line of its log stamped (UTC) as it comes; returns the
    list the lines go to."""
    import threading
    lines = []
    n.proc = it.spawn([it.ILAD, '-d', '-f', n.conf], stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE, universal_newlines=True)

    def read():
        with open(n.log, 'a') as logf:
            for line in n.proc.stderr:
                t = time.time()
                line = '%s.%06dZ %s' % (time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)),
                                        int(t % 1 * 1e6), line.rstrip('\n'))
                lines.append(line)
                logf.write(line + '\n')
    threading.Thread(target=read, daemon=True).start()
    if not it.until(lambda: n.proc.poll() is None and os.path.exists(n.sock) and
                    n.ctl('show', 'mapper').get('state') == 'up', 10):
        raise it.Failed('ilad %s: no mapper session after 10 s' % n.name)
    return lines


def libvirtd_body(it, root, res, lv, kernel):
    import threading
    env = it.Env(root, 'libvirtd-ila', ['n1'],
                 [dict(name='blue', id=1, prefix=it.PREFIX, serve=['n1'], subscribe=['n1'])],
                 extra='vn blue ipv4-prefix %s\n' % PREFIX4)
    env.start()
    n1 = it.Node(env, 'n1', '2001:db8:0:1', 'vn blue ipv4-prefix %s\n' % PREFIX4)
    with open(n1.conf) as f:
        conf = f.read().replace('mode control-plane', 'mode host-route')
    with open(n1.conf, 'w') as f:
        f.write(conf)
    stamped = start_stamped(it, n1)
    lv.write_conf(n1.sock)
    lv.start()
    initrd = os.path.join(lv.dir, 'initramfs.cpio.gz')
    make_initramfs(it, initrd, lv.dir)
    console = os.path.join(lv.dir, 'console.log')
    xml = os.path.join(lv.dir, 'domain.xml')
    with open(xml, 'w') as f:
        f.write(libvirt_domain(kernel, initrd, console, 'ilahk0'))
    # ilad's view as it happens: its events, and its log of the control commands
    events = []
    mon = it.spawn([it.ILACTL, '-s', n1.sock, 'monitor'], stdout=subprocess.PIPE,
                   universal_newlines=True)

    def read_mon():
        for line in mon.stdout:
            events.append(line.rstrip('\n'))
    threading.Thread(target=read_mon, daemon=True).start()
    log_start = len(stamped)
    lv.virsh('define', xml)
    t0 = time.time()
    lv.virsh('start', 'ilahk-vm')
    t_started = time.time()
    up = it.until(lambda: all((n1.local(a) or {}).get('state') == 'attached' for a in
                              (ADDR6, ADDR4)), 10)
    loc = {a: n1.local(a) for a in (ADDR6, ADDR4)}
    res.check('libvirtd: virsh start: the hook attached both addresses on the tap ilahk0',
              up and all(l and l['dev'] == 'ilahk0' and l['registered'] for l in loc.values()),
              'local %s; libvirtd: %s' % (loc, lv.tail(4)))
    m = env.ctl('show', 'mappings', ADDR6)['mappings']
    res.check('libvirtd: the mapper has the workload at n1', m and m[0]['node'] == 'n1' and
              m[0]['state'] == 'up', '%s' % m)
    running = lv.virsh('domstate', 'ilahk-vm', check=False).stdout.strip()
    res.check('libvirtd: the domain runs', running == 'running', running)
    # libvirtd restarts while the domain runs: reconnect attaches again, nothing moves
    seq = {a: (n1.local(a) or {}).get('seq') for a in (ADDR6, ADDR4)}
    n_before = len(stamped)
    lv.restart()
    again = it.until(lambda: sum("attach" in l for l in stamped[n_before:]) >= 2, 10)
    after = {a: n1.local(a) or {} for a in (ADDR6, ADDR4)}
    res.check('libvirtd: libvirtd restarted: its reconnect hook attached both again, same seq',
              again and all(after[a].get('state') == 'attached' and after[a].get('seq') == seq[a]
                            and after[a].get('dev') == 'ilahk0' for a in after),
              'seq %s, local %s, ilad log %s' % (seq, after,
                                                 [l for l in stamped[n_before:] if 'control' in l]))
    reconnect_log = [l for l in stamped[n_before:] if 'control:' in l]
    running = lv.virsh('domstate', 'ilahk-vm', check=False).stdout.strip()
    res.check('libvirtd: the domain still runs under the new libvirtd', running == 'running',
              running)
    t_stop = time.time()
    lv.virsh('destroy', 'ilahk-vm')
    t_stopped = time.time()
    gone = it.until(lambda: all(n1.local(a) is None for a in (ADDR6, ADDR4)), 10)
    m = env.ctl('show', 'mappings', ADDR6)['mappings']
    res.check('libvirtd: virsh destroy: the hook detached them down',
              gone and m and m[0]['node'] == 'n1' and m[0]['state'] == 'down',
              'local %s, mapper %s' % ({a: n1.local(a) for a in (ADDR6, ADDR4)}, m))
    time.sleep(0.3)  # the last monitor lines
    first_log = [l for l in stamped[log_start:] if l not in reconnect_log]
    first_events = list(events)
    # the metadata as an operator sets it on a defined domain
    other = '2001:db8:1::43'
    lv.virsh('metadata', 'ilahk-vm', '--uri', 'urn:ila:libvirt:1', '--key', 'ila', '--config',
             '--set', '<workload><interface mac="%s" vn="blue"><address>%s</address>'
             '</interface></workload>' % (MAC, other))
    lv.virsh('start', 'ilahk-vm')
    up = it.until(lambda: (n1.local(other) or {}).get('state') == 'attached', 10)
    res.check('libvirtd: metadata set by virsh metadata --set: attached at start',
              up and (n1.local(other) or {}).get('dev') == 'ilahk0' and
              n1.local(ADDR6) is None, 'local %s; metadata %r' % (
                  n1.ctl('show', 'local')['local'],
                  lv.virsh('metadata', 'ilahk-vm', '--uri', 'urn:ila:libvirt:1',
                           check=False).stdout.strip()))
    lv.virsh('destroy', 'ilahk-vm')
    res.check('libvirtd: and detached down at destroy',
              it.until(lambda: n1.local(other) is None, 10) and
              (env.ctl('show', 'mappings', other)['mappings'] or [{}])[0].get('state') == 'down',
              '%s' % env.ctl('show', 'mappings', other)['mappings'])
    lv.virsh('undefine', 'ilahk-vm')
    mon.terminate()
    cmds = [l for l in first_log if 'control:' in l]
    print('  libvirtd: virsh start at %s, returned %.2f s later; destroy at +%.2f s, returned '
          '+%.2f s' % (time.strftime('%H:%M:%S', time.gmtime(t0)), t_started - t0,
                       t_stop - t0, t_stopped - t0), flush=True)
    print('  libvirtd: control commands ilad ran (its log, stamped as read):', flush=True)
    for l in cmds:
        print('    ' + l, flush=True)
    print('  libvirtd: ilad events (ilactl monitor):', flush=True)
    for e in first_events:
        print('    ' + e, flush=True)
    # one hook process per phase: its pid groups the commands
    runs = []
    for l in cmds:
        pid = l.rsplit(' pid ', 1)[-1]
        verb = l.split("control: '", 1)[-1].split("'", 1)[0]
        verb = ' '.join(w for w in verb.split() if w not in (ADDR6, ADDR4))
        if not runs or runs[-1][0] != pid:
            runs.append((pid, []))
        runs[-1][1].append(verb)
    want = [('prepare begin', ['expect', 'expect']), ('start begin', ['expect', 'expect']),
            ('started begin', ['attach dev ilahk0', 'attach dev ilahk0']),
            ('stopped end', ['detach down', 'detach down'])]
    for (ph, verbs), (pid, got) in zip(want, runs):
        print('  libvirtd: hook pid %s: %-14s -> %s' % (pid, ph, ', '.join(got)), flush=True)
    print('  libvirtd: after the restart of libvirtd (reconnect begin):', flush=True)
    for l in reconnect_log:
        print('    ' + l, flush=True)
    res.check('libvirtd: ilad saw one hook run per phase, in libvirt\'s order: prepare, '
              'start, started, stopped (release and the show commands change nothing)',
              [v for _, v in want] == [g for _, g in runs],
              '%s' % [g for _, g in runs])
    n1.proc.send_signal(15)
    n1.proc.wait(10)
