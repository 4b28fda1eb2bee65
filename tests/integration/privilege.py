# SPDX-License-Identifier: GPL-2.0-or-later
"""The 'privilege' suite of tests/integration/run: the daemons started as root
with 'user nobody' run as nobody with the capabilities they keep, the
read-only control socket serves show and refuses what changes state, and
every state-changing command is logged with its sender's uid and pid.

h is the run module (Env, Node, run, spawn, Failed, ILACTL, PREFIX, addr, until)."""
import os
import pwd
import re
import stat
import subprocess


def proc_status(pid):
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.split()
    return out


def ctl_as(h, uid, gid, sock, *args, mapper=False):
    """ilactl run as another user (setpriv), with its own pid known."""
    argv = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid, '--clear-groups',
            h.ILACTL] + (['-M'] if mapper else []) + ['-s', sock, '-t', '5'] + list(args)
    return h.run(argv, timeout=10)


def ctl_pid(h, sock, *args, mapper=False):
    """ilactl as root; returns (exit status, output, its pid)."""
    p = h.spawn([h.ILACTL] + (['-M'] if mapper else []) + ['-s', sock, '-t', '5'] + list(args),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = p.communicate(timeout=10)
    h.PROCS.remove(p)
    return p.returncode, out, p.pid


def check_ids(res, name, pid, nobody, capeff):
    st = proc_status(pid)
    res.check('%s runs as nobody (real, effective, saved, fs uid and gid)' % name,
              st['Uid'] == [str(nobody.pw_uid)] * 4 and st['Gid'] == [str(nobody.pw_gid)] * 4,
              'Uid %s Gid %s' % (st['Uid'], st['Gid']))
    res.check('%s keeps exactly CapEff=CapPrm=%s, empty bounding and ambient sets, '
              'no_new_privs' % (name, capeff),
              st['CapEff'] == [capeff] and st['CapPrm'] == [capeff] and
              st['CapBnd'] == ['0' * 16] and st['CapAmb'] == ['0' * 16] and
              st['NoNewPrivs'] == ['1'],
              'CapEff %s CapPrm %s CapBnd %s CapAmb %s NoNewPrivs %s'
              % (st['CapEff'], st['CapPrm'], st['CapBnd'], st['CapAmb'], st['NoNewPrivs']))


def mode_owner(path):
    s = os.stat(path)
    return stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid


def suite(h, root, res):
    nobody = pwd.getpwnam('nobody')
    env = h.Env(root, 'privilege', ['n1'],
                [dict(name='blue', id=1, prefix=h.PREFIX, serve=['n1'], subscribe=['n1'])],
                extra='user nobody\n')
    env.start()
    pid = env.mapper.pid
    # the sockets are open before the privileges go: wait for the line that says they went
    dropped = h.until(lambda: 'running as uid' in open(env.log).read(), 10)
    res.require('privilege: ila-mapper logs the uid it runs as', dropped, env.log_tail(3))
    check_ids(res, 'privilege: ila-mapper', pid, nobody, '0' * 16)
    store = env.path('store')
    res.check('privilege: the store folder and its files are nobody\'s',
              all(os.stat(os.path.join(store, f)).st_uid == nobody.pw_uid
                  for f in os.listdir(store) + ['.']),
              '%s' % [(f, os.stat(os.path.join(store, f)).st_uid) for f in os.listdir(store)])
    ro = env.path('ctl.ro.sock')
    res.check('privilege: control socket 0660 and read-only socket 0666, both nobody\'s',
              mode_owner(env.sock) == (0o660, nobody.pw_uid, nobody.pw_gid) and
              mode_owner(ro) == (0o666, nobody.pw_uid, nobody.pw_gid),
              'control %s read-only %s' % (mode_owner(env.sock), mode_owner(ro)))

    # the read-only socket: show served, delete and unfreeze refused and counted
    a = h.addr(0x99)
    rc, out, _ = ctl_pid(h, ro, '-j', 'show', 'stats', mapper=True)
    res.check('privilege: the mapper\'s read-only socket serves show stats',
              rc == 0 and '"control_readonly_refused":0' in out.replace(' ', ''), out[-200:])
    rc1, out1, _ = ctl_pid(h, ro, 'delete', a, mapper=True)
    rc2, out2, _ = ctl_pid(h, ro, 'unfreeze', a, mapper=True)
    st = env.stats()
    res.check('privilege: the mapper\'s read-only socket refuses delete and unfreeze, counted',
              rc1 == 1 and 'refused' in out1 and rc2 == 1 and 'refused' in out2 and
              st.get('control_readonly_refused') == 2 and st.get('deletes', 0) == 0,
              '%s | %s | refused %s deletes %s' % (out1.strip(), out2.strip(),
                                                   st.get('control_readonly_refused'),
                                                   st.get('deletes')))
    # a state-changing command on the control socket: logged with who sent it
    rc, out, cpid = ctl_pid(h, env.sock, 'delete', a, mapper=True)
    want = "control: 'delete %s' from uid 0 gid 0 pid %d" % (a, cpid)
    logged = h.until(lambda: want in open(env.log).read(), 5)
    res.check('privilege: delete on the control socket is logged with the peer\'s uid, gid '
              'and pid', logged, 'want "%s"; log: %s' % (want, env.log_tail(3)))
    rc, out, cpid = ctl_pid(h, env.sock, 'show', 'nodes', mapper=True)
    res.check('privilege: show is not logged as state-changing',
              rc == 0 and ("pid %d" % cpid) not in open(env.log).read(), env.log_tail(2))

    # another user: not in the socket's group, ilactl falls back to the read-only socket
    for d in (root, env.dir):
        os.chmod(d, 0o711)
    r = ctl_as(h, 1, 1, env.sock, '-j', 'show', 'stats', mapper=True)
    r2 = ctl_as(h, 1, 1, env.sock, 'delete', a, mapper=True)
    res.check('privilege: ilactl of another user falls back to the read-only socket: show '
              'served, delete refused',
              r.returncode == 0 and 'control_readonly_refused' in r.stdout and
              r2.returncode == 1 and 'refused' in r2.stdout,
              'show: %d %s | delete: %d %s' % (r.returncode, r.stderr.strip()[-100:],
                                               r2.returncode, r2.stdout.strip()))

    # ilad in control-plane mode, started as root with user nobody
    n1 = h.Node(env, 'n1', '2001:db8:0:1', extra='user nobody\n')
    n1.start()  # returns once its mapper session is up: long after the drop
    check_ids(res, 'privilege: ilad (mode control-plane)', n1.proc.pid, nobody, '0' * 16)
    nro = env.path('n1.ro.sock')
    rc, out, _ = ctl_pid(h, nro, 'attach', a)
    rc2, out2, _ = ctl_pid(h, nro, '-j', 'show', 'local')
    res.check('privilege: ilad\'s read-only socket refuses attach, serves show local',
              rc == 1 and 'refused' in out and n1.local(a) is None and rc2 == 0 and
              '"local"' in out2, '%s | %s' % (out.strip(), out2.strip()[:80]))
    rc, out, cpid = ctl_pid(h, n1.sock, 'attach', a)
    want = "control: 'attach %s' from uid 0 gid 0 pid %d" % (a, cpid)
    res.check('privilege: attach on ilad\'s control socket runs and is logged with the peer',
              rc == 0 and h.until(lambda: want in open(n1.log).read(), 5),
              'want "%s"; %s' % (want, out.strip()))
    res.check('privilege: ilad counts the refusal in show stats',
              n1.ctl('show', 'stats').get('control_readonly_refused') == 1,
              '%s' % n1.ctl('show', 'stats').get('control_readonly_refused'))
    n1.proc.terminate()
    n1.proc.wait(10)

    # ilad as root without user: keeps uid 0 and drops every capability it does not use
    n1 = h.Node(env, 'n1', '2001:db8:0:1')
    n1.start()
    st = proc_status(n1.proc.pid)
    res.check('privilege: ilad as root without user keeps uid 0 with no capability '
              '(mode control-plane)',
              st['Uid'] == ['0'] * 4 and st['CapEff'] == ['0' * 16] and
              st['CapBnd'] == ['0' * 16] and st['NoNewPrivs'] == ['1'],
              'Uid %s CapEff %s CapBnd %s' % (st['Uid'], st['CapEff'], st['CapBnd']))
    n1.proc.terminate()
    n1.proc.wait(10)
    env.kill()


CAP_NET_RAW = 13


def suite_defaults(h, root, res):
    """Both daemons started as root with no 'user' line: the mapper keeps no
    capability, ilad (mode control-plane) none either, CAP_NET_RAW in no set of
    either; a read-only socket next to each control socket serves show and
    refuses what changes state."""
    env = h.Env(root, 'least-privilege', ['n1'],
                [dict(name='blue', id=1, prefix=h.PREFIX, serve=['n1'], subscribe=['n1'])])
    env.start()
    h.until(lambda: 'started' in open(env.log).read(), 10)
    st = proc_status(env.mapper.pid)
    raw = 1 << CAP_NET_RAW
    res.check('least-privilege: ila-mapper started as root keeps no capability',
              st['CapEff'] == ['0' * 16] and st['CapPrm'] == ['0' * 16],
              'CapEff %s CapPrm %s' % (st['CapEff'], st['CapPrm']))
    # ilad's config names its mapper without 'identity': the checks are about
    # privileges, and a config of keywords every release knows makes them fail
    # on what a release keeps, not on its parser
    n1 = h.Node(env, 'n1', '2001:db8:0:1')
    with open(n1.conf) as f:
        conf = f.read()
    with open(n1.conf, 'w') as f:
        f.write(conf.replace(' identity mapper\n', '\n'))
    n1.start()
    st = proc_status(n1.proc.pid)
    sets = {k: int(st[k][0], 16) for k in ('CapEff', 'CapPrm', 'CapBnd')}
    res.check('least-privilege: ilad (mode control-plane) started as root keeps no '
              'capability, CAP_NET_RAW in none of its sets',
              sets['CapEff'] == 0 and sets['CapPrm'] == 0 and
              not any(v & raw for v in sets.values()),
              ' '.join('%s %016x' % kv for kv in sorted(sets.items())))
    a = h.addr(0x77)
    for name, ro, cmd, mapper in (('ila-mapper', env.path('ctl.ro.sock'), 'delete', True),
                                  ('ilad', env.path('n1.ro.sock'), 'attach', False)):
        rc1, out1, _ = ctl_pid(h, ro, '-j', 'show', 'stats', mapper=mapper) \
            if os.path.exists(ro) else (None, 'no socket %s' % ro, 0)
        rc2, out2, _ = ctl_pid(h, ro, cmd, a, mapper=mapper) \
            if os.path.exists(ro) else (None, '', 0)
        res.check('least-privilege: %s has a read-only socket next to its control socket: '
                  'show served, %s refused' % (name, cmd),
                  rc1 == 0 and rc2 == 1 and 'refused' in out2,
                  '%s | %s' % (out1.strip()[-120:], out2.strip()[-160:]))
    res.check('least-privilege: nothing was attached or deleted through them',
              n1.local(a) is None, str(n1.local(a)))
    n1.proc.terminate()
    n1.proc.wait(10)
    env.kill()
