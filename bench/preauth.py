#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/preauth.py: ila-mapper before authentication (issue 11, item 5).

Prints three figures, each measured on loopback against a mapper started here:
  1. lock-out: with N_IDLE (10,000) idle TCP connections from one host
     (127.0.0.2), how many of 100 new TLS sessions from another loopback address
     complete TCP + TLS + OPEN within 1 s (target >= 99); the same with the idle
     connections spread over N_IDLE source addresses (beyond the per-source cap,
     only the open-timeout deadline frees room: printed for information);
  2. memory per unauthenticated connection: RSS delta of the mapper over 1,000
     idle TCP connections, over 200 TLS sessions that never send OPEN (target
     < 16 KiB; the client presents its certificate as ilad does, without the
     root), and over 200 connections that sent a ClientHello, read the
     mapper's answer and stalled there (handshake never finished), and over
     200 that sent the first 20 bytes of a ClientHello and stalled, divided by
     the count;
  3. CPU of the mapper at its descriptor limit (ulimit -n 64, 200 pending
     connections): utime+stime from /proc/PID/stat over 5 s (target < 5%), and the
     number of log lines about it (target 1).
ILA_BUILD: a built tree (default build/main). Needs RLIMIT_NOFILE >= 10,300 for
this process (raised to the hard limit).
"""
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get('ILA_BUILD', os.path.join(TOP, 'build', 'main')))
MAPPER = os.path.join(BUILD, 'ila-mapper', 'ila-mapper')
ILACTL = os.path.join(BUILD, 'ilactl', 'ilactl')
PROBE = os.path.join(BUILD, 'tests', 'integration', 'ila-probe')
N_IDLE = int(os.environ.get('N_IDLE', '10000'))
N_LEGIT = 100


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Mapper:
    def __init__(self, root, name, extra='', nofile=None):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.pki = os.path.join(root, 'pki')
        if not os.path.exists(self.pki):
            subprocess.run([os.path.join(TOP, 'scripts', 'mkcerts.sh'), self.pki, 'mapper',
                            'n1'], check=True, capture_output=True)
        self.port = free_port()
        self.sock = os.path.join(self.dir, 'ctl.sock')
        self.log = os.path.join(self.dir, 'mapper.log')
        conf = os.path.join(self.dir, 'mapper.conf')
        with open(conf, 'w') as f:
            f.write('listen 127.0.0.1 port %d\nstore %s/store\ncontrol %s\npidfile %s/pid\n'
                    'tls certificate {0}/mapper.crt key {0}/mapper.key ca {0}/ca.crt\n'
                    'node n1 identity n1\nvn blue id 1 sir-prefix 2001:db8:1::/64\n'
                    'vn blue serve n1\n%s'.format(self.pki)
                    % (self.port, self.dir, self.sock, self.dir, extra))

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        logf = open(self.log, 'w')
        self.p = subprocess.Popen([MAPPER, '-d', '-f', conf], stdout=logf, stderr=logf,
                                  preexec_fn=limit)
        logf.close()
        end = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if time.monotonic() > end or self.p.poll() is not None:
                raise SystemExit('mapper did not start: ' + open(self.log).read()[-500:])
            time.sleep(0.02)

    def stats(self):
        r = subprocess.run([ILACTL, '-M', '-s', self.sock, '-j', 'show', 'stats'],
                           capture_output=True, text=True, timeout=10)
        out = {}

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if isinstance(v, (dict, list)):
                        walk(v)
                    elif isinstance(v, int):
                        out[k] = v
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(json.loads(r.stdout))
        return out

    def wait_stat(self, name, want, seconds=60):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.stats().get(name) == want:
                return True
            time.sleep(0.1)
        return False

    def rss_kib(self):
        with open('/proc/%d/status' % self.p.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return 0

    def cpu_ticks(self):
        with open('/proc/%d/stat' % self.p.pid) as f:
            w = f.read().rsplit(')', 1)[1].split()
        return int(w[11]) + int(w[12])

    def stop(self):
        self.p.kill()
        self.p.wait()


def idle(port, srcs, n):
    out, failed = [], 0
    for i in range(n):
        c = socket.socket()
        c.settimeout(5)
        try:
            c.bind((srcs[i % len(srcs)], 0))
            c.connect(('127.0.0.1', port))
            out.append(c)
        except OSError:
            failed += 1
            c.close()
    return out, failed


def tls_ctx(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(pki, 'ca.crt'))
    ctx.load_cert_chain(os.path.join(pki, 'n1.crt'), os.path.join(pki, 'n1.key'))
    return ctx


def node_ctx(pki):
    """A client that sends what ilad sends: its certificate without the CA root
    (Python's client would add the root from its CA bundle; it does not verify
    the mapper here, having none)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(os.path.join(pki, 'n1.crt'), os.path.join(pki, 'n1.key'))
    return ctx


def hello_only(port, n, cut=None):
    """n connections that send a TLS 1.3 ClientHello, wait for the first bytes of
    the mapper's answer (so it has processed the hello) and then say nothing;
    with cut, that send only the first cut bytes of it, and nothing more."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    out = []
    for _ in range(n):
        rd, wr = ssl.MemoryBIO(), ssl.MemoryBIO()
        o = ctx.wrap_bio(rd, wr)
        try:
            o.do_handshake()
        except ssl.SSLWantReadError:
            pass
        c = socket.create_connection(('127.0.0.1', port), timeout=5)
        c.sendall(wr.read()[:cut])
        if cut is None:
            c.recv(1)
        out.append(c)
    return out


def legit_opens(m, open_frame, n):
    """Seconds taken by each of n sessions (TCP + TLS + OPEN answered), None if failed."""
    ctx = tls_ctx(m.pki)
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        try:
            s = socket.create_connection(('127.0.0.1', m.port), timeout=5,
                                         source_address=('127.0.0.1', 0))
            s = ctx.wrap_socket(s)
            s.sendall(open_frame)
            hdr = b''
            while len(hdr) < 12:
                b = s.recv(12 - len(hdr))
                if not b:
                    raise OSError('closed')
                hdr += b
            times.append(time.monotonic() - t0 if hdr[1] == 1 else None)
            s.close()
        except OSError:
            times.append(None)
    return times


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < N_IDLE + 300:
        raise SystemExit('RLIMIT_NOFILE hard limit %d < %d' % (hard, N_IDLE + 300))
    root = tempfile.mkdtemp(prefix='ila-bench-preauth-')
    opn = bytes.fromhex(subprocess.run([PROBE, 'encode', '--type', 'open', '--node', 'n1'],
                                       capture_output=True, text=True).stdout.strip())
    res = {}

    # 1. lock-out, one host
    m = Mapper(root, 'lockout')
    conns, failed = idle(m.port, ['127.0.0.2'], N_IDLE)
    t = legit_opens(m, opn, N_LEGIT)
    ok = sum(1 for x in t if x is not None and x < 1.0)
    st = m.stats()
    print('lock-out, %d idle connections from one host (%d connects failed): %d/%d TLS '
          'sessions opened within 1 s (max %.3f s); unauthenticated held %d, refused '
          'per-source %d' % (N_IDLE, failed, ok, N_LEGIT,
                             max([x for x in t if x is not None] or [0]),
                             st.get('sessions_unauthenticated'),
                             st.get('preauth_source_refused')))
    res['lockout_one_host_ok_of_100'] = ok
    for c in conns:
        c.close()
    m.stop()

    # 1b. lock-out, many sources (information: the total cap and the deadline)
    m = Mapper(root, 'lockout-many')
    srcs = ['127.1.%d.%d' % (i // 250, i % 250 + 1) for i in range(N_IDLE)]
    conns, failed = idle(m.port, srcs, N_IDLE)
    t = legit_opens(m, opn, N_LEGIT)
    ok = sum(1 for x in t if x is not None and x < 1.0)
    print('lock-out, %d idle connections from %d sources: %d/%d opened within 1 s '
          '(refused over limit unauthenticated: %d)' % (N_IDLE, len(srcs), ok, N_LEGIT,
                                                      m.stats().get('preauth_refused')))
    res['lockout_many_sources_ok_of_100'] = ok
    for c in conns:
        c.close()
    m.stop()

    # 2. memory per unauthenticated connection
    lim = 'limit unauthenticated 5000 per-source 5000 open-timeout 60000\n'
    m = Mapper(root, 'mem-tcp', lim)
    time.sleep(0.5)
    r0 = m.rss_kib()
    conns, _ = idle(m.port, ['127.0.0.3'], 1000)
    m.wait_stat('sessions_unauthenticated', 1000)
    r1 = m.rss_kib()
    print('memory per idle TCP connection before OPEN: %.2f KiB (RSS %d -> %d KiB over 1000)'
          % ((r1 - r0) / 1000, r0, r1))
    res['kib_per_idle_tcp'] = round((r1 - r0) / 1000, 2)
    for c in conns:
        c.close()
    m.stop()
    m = Mapper(root, 'mem-tls', lim)
    time.sleep(0.5)
    r0 = m.rss_kib()
    ctx = node_ctx(m.pki)
    conns = [ctx.wrap_socket(socket.create_connection(('127.0.0.1', m.port)))
             for _ in range(200)]
    m.wait_stat('sessions_unauthenticated', 200)
    r1 = m.rss_kib()
    print('memory per TLS session without OPEN: %.2f KiB (RSS %d -> %d KiB over 200)'
          % ((r1 - r0) / 200, r0, r1))
    res['kib_per_tls_no_open'] = round((r1 - r0) / 200, 2)
    for c in conns:
        c.close()
    m.stop()
    m = Mapper(root, 'mem-hello', lim)
    time.sleep(0.5)
    r0 = m.rss_kib()
    conns = hello_only(m.port, 200)
    m.wait_stat('sessions_unauthenticated', 200)
    r1 = m.rss_kib()
    print('memory per TLS handshake stalled after the ClientHello: %.2f KiB (RSS %d -> %d '
          'KiB over 200)' % ((r1 - r0) / 200, r0, r1))
    res['kib_per_stalled_handshake'] = round((r1 - r0) / 200, 2)
    for c in conns:
        c.close()
    m.stop()
    m = Mapper(root, 'mem-part', lim)
    time.sleep(0.5)
    r0 = m.rss_kib()
    conns = hello_only(m.port, 200, cut=20)
    m.wait_stat('sessions_unauthenticated', 200)
    time.sleep(0.5)
    r1 = m.rss_kib()
    print('memory per connection that sent 20 bytes of a ClientHello: %.2f KiB (RSS %d -> '
          '%d KiB over 200)' % ((r1 - r0) / 200, r0, r1))
    res['kib_per_partial_hello'] = round((r1 - r0) / 200, 2)
    for c in conns:
        c.close()
    m.stop()

    # 3. CPU at the descriptor limit
    m = Mapper(root, 'emfile', lim, nofile=64)
    conns, _ = idle(m.port, ['127.0.0.4'], 200)
    time.sleep(1)
    c0, w0 = m.cpu_ticks(), time.monotonic()
    time.sleep(5)
    c1, w1 = m.cpu_ticks(), time.monotonic()
    cpu = 100.0 * (c1 - c0) / os.sysconf('SC_CLK_TCK') / (w1 - w0)
    with open(m.log) as f:
        lines = sum(1 for l in f if 'accept:' in l and 'not accepting' in l)
    print('CPU at the descriptor limit: %.2f%% over %.1f s; log lines about it %d'
          % (cpu, w1 - w0, lines))
    res['cpu_pct_at_emfile'] = round(cpu, 2)
    res['emfile_log_lines'] = lines
    for c in conns:
        c.close()
    m.stop()
    print(json.dumps(res))


if __name__ == '__main__':
    main()
