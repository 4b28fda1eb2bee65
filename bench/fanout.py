#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run fanout: one move pushed to 100, 1,000 and 10,000 subscribed
nodes, time from the REGISTER of the move until the last subscriber has read
the PUSH, beside Redis pub/sub delivering one message to as many subscribers,
measured in the same run by the same harness.

ila-mapper runs with TLS 1.3 (mutual, EC P-256 certificates, one per node).
Redis (Debian's redis-server 7.0, built with TLS) runs twice, without
persistence: with the same TLS 1.3 setup (the same certificates, client
certificates required), the like-for-like baseline of the push_fanout_N
figures, and plaintext, the push_fanout_N_plain figures, which show what
the encryption costs. The subscribers of all are the same C program, bench/fanclient.c,
in BENCH_FANOUT_CLIENTS processes (default 2) that split the sessions, on
loopback; the time is taken on CLOCK_MONOTONIC by the client that saw the
last delivery (the subscribers send nothing after their greeting: the sessions
have a 10-minute dead interval). The sessions of one size stay up for its BENCH_RUNS moves
(default 11, median reported), ila's and each Redis's taking turns so that
all meet the same load on the machine. The mapper's figure includes committing the move to its
store (an fsync'd LMDB transaction) before pushing it; Redis publishes from
memory. The store sits in BENCH_FANOUT_STORE (default /dev/shm when there
is one): the figure is the push path's, not the disk's, whose fsyncs the
mapper bench measures (on a virtio disk they alone took about 4 ms a
commit, more than Redis needs to reach 100 subscribers). Records to
bench/results.json.
"""
import datetime
import os
import resource
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'fuzz'))
import make_frame_corpus as w  # noqa: E402  the test encoder of doc/protocol.md
sys.path.insert(0, HERE)
from mapper import BUILD, free_port, wait_port  # noqa: E402
from record import record  # noqa: E402

SIZES = [int(x) for x in os.environ.get('BENCH_FANOUT', '100,1000,10000').split(',')]
RUNS = int(os.environ.get('BENCH_RUNS', '11'))
CLIENTS = int(os.environ.get('BENCH_FANOUT_CLIENTS', '2'))
ADDR = bytes.fromhex('20010db8010000000000000000000042')


def make_pki(d, n):
    """A CA, a mapper certificate and n node certificates s0..s(n-1) sharing
    one key (the handshakes still sign and verify per session)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def pem_key(k):
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'ila bench CA')])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(d, 'ca.crt'), 'wb') as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(name, key, eku, serial):
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(serial)
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
                .sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    mkey = ec.generate_private_key(ec.SECP256R1())
    with open(os.path.join(d, 'mapper.key'), 'wb') as f:
        f.write(pem_key(mkey))
    with open(os.path.join(d, 'mapper.crt'), 'wb') as f:
        f.write(leaf('mapper', mkey, ExtendedKeyUsageOID.SERVER_AUTH, 2))
    nkey = ec.generate_private_key(ec.SECP256R1())
    with open(os.path.join(d, 'node.key'), 'wb') as f:
        f.write(pem_key(nkey))
    for i in range(n):
        with open(os.path.join(d, 's%d.crt' % i), 'wb') as f:
            f.write(leaf('s%d' % i, nkey, ExtendedKeyUsageOID.CLIENT_AUTH, 100 + i))


def build_client(tmp):
    exe = os.path.join(tmp, 'fanclient')
    subprocess.check_call([os.environ.get('CC', 'cc'), '-O2', '-Wall', '-o', exe,
                           os.path.join(HERE, 'fanclient.c'), '-lssl', '-lcrypto'])
    return exe


class Subscribers:
    """CLIENTS fanclient processes holding n sessions between them."""

    def __init__(self, exe, tmp, port, hellos, ready, tls=None):
        self.procs = []
        n = len(hellos)
        per = -(-n // CLIENTS)
        for c in range(CLIENTS):
            lo, hi = c * per, min(n, (c + 1) * per)
            if lo >= hi:
                break
            hf = os.path.join(tmp, 'hello.%d' % c)
            with open(hf, 'wb') as f:
                for h in hellos[lo:hi]:
                    f.write(struct.pack('>I', len(h)) + h)
            args = [exe, str(port), str(hi - lo), hf, ready.hex()]
            if tls:
                args += [tls, os.path.join(tls, 'ca.crt'), str(lo)]
            self.procs.append(subprocess.Popen(args, stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, text=True))
        for p in self.procs:
            self.expect(p, 'READY')

    @staticmethod
    def expect(p, word):
        line = p.stdout.readline().split()
        if not line or line[0] != word:
            raise RuntimeError('fanclient: %r instead of %s' % (line, word))
        return line

    def arm(self, marker):
        for p in self.procs:
            p.stdin.write('GO %s\n' % marker.hex())
            p.stdin.flush()
        for p in self.procs:
            self.expect(p, 'ARMED')

    def done(self):
        """The monotonic time (s) at which the last subscriber had it."""
        return max(int(self.expect(p, 'DONE')[1]) for p in self.procs) / 1e9

    def close(self):
        for p in self.procs:
            p.stdin.close()
            p.wait(30)


class IlaSide:
    """n subscribed nodes over TLS and the node that moves the workload."""

    def __init__(self, exe, tmp, port, n):
        hellos = [w.frame(w.OPEN, w.open_body(('s%d' % i).encode(), 60000, 600000)) +
                  w.frame(w.SUBSCRIBE, w.u32(w.VN, 1) + w.u64(w.JSEQ, 0), xid=2)
                  for i in range(n)]
        self.subs = Subscribers(exe, tmp, port, hellos, w.frame(w.ACK, b'', xid=2), tls=tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(tmp, 'ca.crt'))
        ctx.load_cert_chain(os.path.join(tmp, 'mover.crt'), os.path.join(tmp, 'node.key'))
        self.mover = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port)),
                                     server_hostname='mapper')
        self.mover.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.mover.sendall(w.frame(w.OPEN, w.open_body(b'mover', 60000, 600000)))
        self.mover.setblocking(False)

    def move(self, run_no):
        loc = struct.pack('>Q', 0x20010db8000b0000 + run_no)
        rec = w.record(w.tlv(w.ADDR6, ADDR) + w.u32(w.VN, 1) + w.tlv(w.LOCATOR, loc) +
                       w.u64(w.SEQ, 1000 + run_no) + w.u32(w.LIFETIME, 3600) + w.u8(w.STATE, 0))
        self.subs.arm(w.tlv(w.LOCATOR, loc))
        t0 = time.monotonic()
        self.mover.sendall(w.frame(w.REGISTER, rec, xid=run_no))
        ms = (self.subs.done() - t0) * 1000
        try:
            self.mover.recv(1 << 16)  # its OPEN and ACKs
        except (ssl.SSLWantReadError, BlockingIOError):
            pass
        return ms

    def close(self):
        self.mover.close()
        self.subs.close()


class RedisSide:
    """n subscribers of the channel and a publisher, over TLS or not."""

    def __init__(self, exe, tmp, port, n, tls):
        hello = b'*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nmove\r\n'
        self.subs = Subscribers(exe, tmp, port, [hello] * n, b'move\r\n:1\r\n',
                                tls=tmp if tls else None)
        self.pub = socket.create_connection(('127.0.0.1', port))
        self.pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(os.path.join(tmp, 'ca.crt'))
            ctx.load_cert_chain(os.path.join(tmp, 'mover.crt'), os.path.join(tmp, 'node.key'))
            self.pub = ctx.wrap_socket(self.pub, server_hostname='mapper')

    def move(self, run_no):
        payload = b'2001:db8:100::42 2001:db8:b:%x seq %d' % (run_no, 1000 + run_no)
        self.subs.arm(payload)
        t0 = time.monotonic()
        self.pub.sendall(b'*3\r\n$7\r\nPUBLISH\r\n$4\r\nmove\r\n$%d\r\n%s\r\n'
                         % (len(payload), payload))
        ms = (self.subs.done() - t0) * 1000
        self.pub.recv(64)  # the count of receivers
        return ms

    def close(self):
        self.pub.close()
        self.subs.close()


def one_size(exe, tmp, mport, rport, pport, n, run_base):
    """RUNS moves of each side, taking turns, so that all see the same
    machine; returns the ila, the redis TLS and the redis plaintext times (ms)."""
    sides = [IlaSide(exe, tmp, mport, n), RedisSide(exe, tmp, rport, n, True),
             RedisSide(exe, tmp, pport, n, False)]
    time.sleep(0.3)
    prof = None
    if os.environ.get('BENCH_PROFILE'):
        # e.g. 'strace -c -f -p {pid}' or 'perf record -g -p {pid}': attached to
        # the mapper for the moves only, stopped with SIGINT
        with open(os.path.join(tmp, 'pid')) as f:
            pid = f.read().strip()
        prof = subprocess.Popen(os.environ['BENCH_PROFILE'].format(pid=pid, n=n), shell=True,
                                start_new_session=True)
        time.sleep(1)
    times = ([], [], [])
    for r in range(RUNS):
        for k, side in enumerate(sides):
            times[k].append(side.move(run_base + r))
            time.sleep(0.05)
    if prof:
        os.killpg(prof.pid, 2)
        prof.wait(60)
    for side in sides:
        side.close()
    time.sleep(2)  # the mapper sees them go before the next size's nodes come
    return times


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < max(SIZES) + 200:
        sys.exit('fanout: RLIMIT_NOFILE hard limit %d is too small for %d subscribers'
                 % (hard, max(SIZES)))
    tmp = tempfile.mkdtemp(prefix='ila-bench-fanout-')
    store = tmp
    procs = []
    results = []
    try:
        biggest = max(SIZES)
        exe = build_client(tmp)
        make_pki(tmp, biggest + 1)
        os.rename(os.path.join(tmp, 's%d.crt' % biggest), os.path.join(tmp, 'mover.crt'))
        store_dir = os.environ.get('BENCH_FANOUT_STORE',
                                   '/dev/shm' if os.path.isdir('/dev/shm') else tmp)
        store = tempfile.mkdtemp(prefix='ila-bench-fanout-store-', dir=store_dir)
        mport = free_port()
        lines = ['tls certificate %s/mapper.crt key %s/mapper.key ca %s/ca.crt' % (tmp, tmp, tmp),
                 'listen 127.0.0.1 port %d' % mport, 'store %s' % store,
                 'control %s/ctl.sock' % tmp, 'pidfile %s/pid' % tmp,
                 'keepalive 60000', 'dead-interval 600000', 'push batch 256 delay 0 queue-limit 1024',
                 'commit batch 512 delay 0', 'damping moves 254 interval 1 freeze 1',
                 # every subscriber connects from 127.0.0.1 at once; no quota in a benchmark
                 'limit unauthenticated 4096 per-source 4096', 'quota node-mappings 0 vn-mappings 0 rate 0',
                 'node mover identity s%d' % biggest, 'vn blue id 1 sir-prefix 2001:db8:100::/64',
                 'vn blue serve mover']
        lines += ['node s%d' % i for i in range(biggest)]
        lines += ['vn blue subscribe ' + ' '.join('s%d' % i for i in range(j, min(j + 50, biggest)))
                  for j in range(0, biggest, 50)]
        with open(os.path.join(tmp, 'm.conf'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        log = open(os.path.join(tmp, 'mapper.log'), 'w')
        procs.append(subprocess.Popen([os.path.join(BUILD, 'ila-mapper', 'ila-mapper'), '-d', '-f',
                                       os.path.join(tmp, 'm.conf')], stdout=log, stderr=log))
        wait_port(mport)
        rport, pport = free_port(), free_port()
        common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                  '--maxclients', str(biggest + 100)]
        # the mapper's certificate and CA, client certificates required, TLS 1.3 only
        tls = ['--port', '0', '--tls-port', str(rport),
               '--tls-cert-file', os.path.join(tmp, 'mapper.crt'),
               '--tls-key-file', os.path.join(tmp, 'mapper.key'),
               '--tls-ca-cert-file', os.path.join(tmp, 'ca.crt'),
               '--tls-auth-clients', 'yes', '--tls-protocols', 'TLSv1.3']
        for args in (tls, ['--port', str(pport)]):
            procs.append(subprocess.Popen(['redis-server'] + args + common,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(rport)
        wait_port(pport)
        run_no = 0
        print('push fan-out: one move, time until the last subscriber has it (median of %d; '
              'ila TLS 1.3; redis TLS 1.3 and plaintext; %d client processes)' % (RUNS, CLIENTS))
        for n in SIZES:
            ila, red, plain = (sorted(t) for t in
                               one_size(exe, tmp, mport, rport, pport, n, run_no + 1))
            run_no += RUNS
            i_ms, r_ms, p_ms = ila[len(ila) // 2], red[len(red) // 2], plain[len(plain) // 2]
            print('  %5d subscribers: ila-mapper %.2f ms, redis pub/sub TLS %.2f ms, ratio %.3f;'
                  ' redis plaintext %.2f ms, ratio %.3f' % (n, i_ms, r_ms, i_ms / r_ms, p_ms,
                                                           i_ms / p_ms))
            for name, xs in (('ila', ila), ('redis TLS', red), ('redis plaintext', plain)):
                print('         %-15s %s' % (name, ' '.join('%.2f' % x for x in xs)))
            results.append({'name': 'push_fanout_%d' % n, 'unit': 'ms', 'ila': round(i_ms, 2),
                            'baseline': round(r_ms, 2), 'ratio': round(i_ms / r_ms, 3),
                            'better': 'lower'})
            results.append({'name': 'push_fanout_%d_plain' % n, 'unit': 'ms',
                            'ila': round(i_ms, 2), 'baseline': round(p_ms, 2),
                            'ratio': round(i_ms / p_ms, 3), 'better': 'lower'})
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get('BENCH_KEEP'):
            print('kept', tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)
    record(results)


if __name__ == '__main__':
    main()
