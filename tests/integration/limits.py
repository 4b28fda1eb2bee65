# SPDX-License-Identifier: GPL-2.0-or-later
"""Suites of tests/integration/run on the mapper's limits before authentication
with its default configuration (issue 11, item 5): connections that never send
OPEN do not lock nodes out, and running out of descriptors does not make the
mapper spin.

Imported by run, which passes itself as `h` (Env, run, spawn, until, Failed...).
The configurations use no `limit` line: what is checked is the default."""

import os
import resource
import socket
import subprocess
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks (/proc/PID/stat fields 14 and 15)."""
    with open('/proc/%d/stat' % pid) as f:
        rest = f.read().rsplit(')', 1)[1].split()
    return int(rest[11]) + int(rest[12])


def idle(port, src, n):
    """n TCP connections from src to 127.0.0.1:port that send nothing; a
    connection the mapper refuses at once is still returned (closed by it)."""
    out = []
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.bind((src, 0))
        c.connect(('127.0.0.1', port))
        out.append(c)
    return out


def start_limited(h, env, nofile):
    """env's mapper with RLIMIT_NOFILE = nofile (soft and hard)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    logf = open(env.log, 'a')
    env.mapper = h.spawn([h.MAPPER, '-d', '-f', env.conf], stdout=logf, stderr=logf,
                         preexec_fn=limit)
    logf.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if env.mapper.poll() is not None:
            raise h.Failed('ila-mapper exited with %d: %s' % (env.mapper.returncode,
                                                             env.log_tail()))
        try:
            socket.create_connection(('127.0.0.1', env.port), timeout=1).close()
            if os.path.exists(env.sock):
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise h.Failed('ila-mapper not listening after 10 s: ' + env.log_tail())


def suite_accept_pause(h, root, res):
    """At the descriptor limit (EMFILE) the mapper stops accepting for a moment
    instead of spinning, logs the episode once, counts it, and serves again once
    descriptors are free."""
    env = h.Env(root, 'accept-pause', ['n1'],
                [dict(name='blue', id=1, prefix=h.PREFIX, serve=['n1'], subscribe=['n1'])])
    nofile = 48
    start_limited(h, env, nofile)
    pid = env.mapper.pid
    used = len(os.listdir('/proc/%d/fd' % pid))
    # more connections than descriptors are left, from several sources, each
    # well below the default per-source cap (32) and all of them below the
    # default cap on unauthenticated connections (256): only the descriptor
    # limit stops the mapper from accepting them
    want = nofile - used + 16
    conns = []
    for i in range(want // 12 + 1):
        conns += idle(env.port, '127.0.0.%d' % (10 + i), 12)
    time.sleep(0.3)
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(1.5)
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    cpu = 100.0 * (c1 - c0) / CLK_TCK / (t1 - t0)
    res.check('accept-pause: at the descriptor limit the mapper does not spin '
              '(CPU under 10 %% while %d connections wait in the backlog)' % len(conns),
              cpu < 10, 'CPU %.0f %% over %.1f s (%d descriptors in use at start, limit %d)'
              % (cpu, t1 - t0, used, nofile))
    for c in conns:
        c.close()
    # the mapper's open-timeout (2 s) closes what it accepted; it then takes
    # (and drops) what waited in the backlog
    r = None
    for _ in range(20):
        r = env.probe('open', env.session('n1'), timeout=5)
        if r.returncode == 0:
            break
        time.sleep(0.5)
    res.check('accept-pause: the mapper serves again once descriptors are free',
              env.alive() and r is not None and r.returncode == 0 and 'OPENED' in r.stdout,
              '%s %s' % (r.stdout.strip()[-200:] if r else '', env.log_tail(3)))
    with open(env.log, errors='replace') as f:
        log = f.read()
    paused = [ln for ln in log.splitlines() if 'not accepting' in ln]
    st = env.stats()
    res.check('accept-pause: the episode is logged once and counted (accept_pauses)',
              len(paused) == 1 and 'Too many open files' in paused[0] and
              st.get('accept_pauses', 0) >= 1 and 'accepting again' in log,
              '%d lines %s; accept_pauses %s' % (len(paused), paused[:2],
                                                 st.get('accept_pauses')))


def suite_preauth_lockout(h, root, res):
    """With the default limits, idle connections from one source that never send
    OPEN (more of them than the 4096 sessions a mapper held before, counted with
    the authenticated ones) do not lock a legitimate node out."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n_idle = 4200
    res.require('preauth-lockout: RLIMIT_NOFILE allows %d connections' % n_idle,
                hard == resource.RLIM_INFINITY or hard >= n_idle + 400,
                'hard limit %d' % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    conns = []
    try:
        env = h.Env(root, 'preauth-lockout', ['n1'],
                    [dict(name='blue', id=1, prefix=h.PREFIX, serve=['n1'],
                          subscribe=['n1'])])
        # a dead interval longer than it takes to open them all: what frees room
        # must be the limits before OPEN, not the dead timer of the idle ones
        with open(env.conf) as f:
            conf = f.read()
        with open(env.conf, 'w') as f:
            f.write(conf.replace('dead-interval 3000\n', 'dead-interval 30000\n'))
        r = h.run([h.MAPPER, '-n', '-f', env.conf], timeout=10)
        res.require('preauth-lockout: config with dead-interval 30000 accepted',
                    r.returncode == 0, r.stderr.strip())
        env.start()  # inherits the raised limit: descriptors are not what stops it
        conns = idle(env.port, '127.0.0.2', n_idle)
        opened, took = 0, []
        for _ in range(10):
            t = time.monotonic()
            r = env.probe('open', env.session('n1'), timeout=2)
            took.append(time.monotonic() - t)
            opened += r.returncode == 0 and 'OPENED' in r.stdout
        res.check('preauth-lockout: under %d idle connections from one source, 10 of 10 '
                  'sessions of a node from another open within 2 s' % n_idle,
                  opened == 10, '%d opened; seconds %s; last: %s' %
                  (opened, ['%.2f' % x for x in took], r.stdout.strip()[-160:]))
        st = env.stats()
        res.check('preauth-lockout: the idle source is held to its cap (per-source 32), '
                  'the rest refused at once and counted',
                  st.get('sessions_unauthenticated', -1) <= 32 and
                  st.get('preauth_source_refused', 0) >= n_idle - 32,
                  'sessions_unauthenticated %s, preauth_source_refused %s'
                  % (st.get('sessions_unauthenticated'), st.get('preauth_source_refused')))
    finally:
        for c in conns:
            c.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
