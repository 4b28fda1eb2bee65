#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run fanout: one move pushed to 100 and to 1,000 subscribed nodes,
time until the last subscriber has it, beside Redis pub/sub delivering one
message to as many subscribers, measured in the same run by the same
harness (one Python process holding every subscriber socket, so both sides
pay the same client cost). The mapper's figure includes committing the move
to its store before pushing it; Redis publishes from memory. Records to
bench/results.json.
"""
import os
import resource
import selectors
import shutil
import socket
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

SIZES = [int(x) for x in os.environ.get('BENCH_FANOUT', '100,1000').split(',')]
RUNS = int(os.environ.get('BENCH_RUNS', '3'))
ADDR = bytes.fromhex('20010db8010000000000000000000042')
PUSH_FLAG_SNAPSHOT_END = 2


def frames(buf):
    """Complete frames at the head of buf, and the rest."""
    out = []
    while len(buf) >= 12:
        length = struct.unpack('>I', buf[4:8])[0]
        if len(buf) < length:
            break
        out.append(buf[:length])
        buf = buf[length:]
    return out, buf


def push_flags(fr):
    body = fr[12:]
    while len(body) >= 4:
        t, n = struct.unpack('>HH', body[:4])
        if t == w.MSG_FLAGS and n == 4:
            return struct.unpack('>I', body[4:8])[0]
        body = body[4 + n:]
    return 0


def wait_all(socks, done_fn, timeout):
    """Reads every socket until done_fn(frame_or_bytes, i) is true for each;
    returns {i: monotonic time it was done}."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        bufs[i] = b''
    done = {}
    end = time.monotonic() + timeout
    while len(done) < len(socks) and time.monotonic() < end:
        for key, _ in sel.select(0.5):
            i = key.data
            try:
                data = key.fileobj.recv(1 << 16)
            except BlockingIOError:
                continue
            if not data:
                raise RuntimeError('subscriber %d: connection closed' % i)
            bufs[i] += data
            if i not in done and done_fn(i, bufs):
                done[i] = time.monotonic()
    sel.close()
    return done


def ila_round(port, n, run_no):
    socks = []
    for i in range(n):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(w.frame(w.OPEN, w.open_body(('s%d' % i).encode(), 60000, 120000)) +
                  w.frame(w.SUBSCRIBE, w.u32(w.VN, 1) + w.u64(w.JSEQ, 0), xid=2))
        socks.append(s)

    def snapshot_done(i, bufs):
        frs, bufs[i] = frames(bufs[i])
        return any(f[1] == w.PUSH and push_flags(f) & PUSH_FLAG_SNAPSHOT_END for f in frs)
    got = wait_all(socks, snapshot_done, 60)
    if len(got) != n:
        raise RuntimeError('only %d of %d snapshots' % (len(got), n))
    loc = struct.pack('>Q', 0x20010db8000b0000 + run_no)
    mover = socket.create_connection(('127.0.0.1', port))
    mover.sendall(w.frame(w.OPEN, w.open_body(b'mover', 60000, 120000)))
    time.sleep(0.2)
    rec = w.record(w.tlv(w.ADDR6, ADDR) + w.u32(w.VN, 1) + w.tlv(w.LOCATOR, loc) +
                   w.u64(w.SEQ, 1000 + run_no) + w.u32(w.LIFETIME, 3600) + w.u8(w.STATE, 0))
    want = w.tlv(w.LOCATOR, loc)

    def moved(i, bufs):
        frs, bufs[i] = frames(bufs[i])
        return any(f[1] == w.PUSH and want in f for f in frs)
    t0 = time.monotonic()
    mover.sendall(w.frame(w.REGISTER, rec, xid=9))
    got = wait_all(socks, moved, 30)
    for s in socks + [mover]:
        s.close()
    if len(got) != n:
        raise RuntimeError('the move reached %d of %d subscribers' % (len(got), n))
    return (max(got.values()) - t0) * 1000


def redis_round(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(b'*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nmove\r\n')
        socks.append(s)
    got = wait_all(socks, lambda i, bufs: b'subscribe' in bufs[i] and bufs[i].endswith(b':1\r\n'),
                   60)
    if len(got) != n:
        raise RuntimeError('only %d of %d redis subscriptions' % (len(got), n))
    payload = b'2001:db8:100::42 2001:db8:b:0 seq 1001'
    pub = socket.create_connection(('127.0.0.1', port))
    bufs_mark = payload

    def received(i, bufs):
        return bufs_mark in bufs[i]
    t0 = time.monotonic()
    pub.sendall(b'*3\r\n$7\r\nPUBLISH\r\n$4\r\nmove\r\n$%d\r\n%s\r\n' % (len(payload), payload))
    got = wait_all(socks, received, 30)
    for s in socks + [pub]:
        s.close()
    if len(got) != n:
        raise RuntimeError('redis delivered to %d of %d' % (len(got), n))
    return (max(got.values()) - t0) * 1000


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = tempfile.mkdtemp(prefix='ila-bench-fanout-')
    procs = []
    results = []
    try:
        biggest = max(SIZES)
        mport = free_port()
        lines = ['plaintext', 'listen 127.0.0.1 port %d' % mport, 'store %s/store' % tmp,
                 'control %s/ctl.sock' % tmp, 'pidfile %s/pid' % tmp,
                 'keepalive 20000', 'dead-interval 120000', 'push batch 256 delay 0 queue-limit 1024',
                 'commit batch 512 delay 0', 'damping moves 1000 interval 1 freeze 1',
                 # every subscriber connects from 127.0.0.1 at once; no quota in a benchmark
                 'limit unauthenticated 4096 per-source 4096', 'quota node-mappings 0 vn-mappings 0 rate 0', 
                 'node mover', 'vn blue id 1 sir-prefix 2001:db8:100::/64', 'vn blue serve mover']
        lines += ['node s%d' % i for i in range(biggest)]
        lines += ['vn blue subscribe ' + ' '.join('s%d' % i for i in range(j, min(j + 50, biggest)))
                  for j in range(0, biggest, 50)]
        with open(os.path.join(tmp, 'm.conf'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        log = open(os.path.join(tmp, 'mapper.log'), 'w')
        procs.append(subprocess.Popen([os.path.join(BUILD, 'ila-mapper', 'ila-mapper'), '-d', '-f',
                                       os.path.join(tmp, 'm.conf')], stdout=log, stderr=log))
        wait_port(mport)
        rport = free_port()
        procs.append(subprocess.Popen(['redis-server', '--port', str(rport), '--bind', '127.0.0.1',
                                       '--save', '', '--appendonly', 'no', '--maxclients', '10100'],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(rport)
        run_no = 0
        print('push fan-out: one move, time until the last subscriber has it (median of %d)' % RUNS)
        for n in SIZES:
            ila, red = [], []
            for _ in range(RUNS):
                run_no += 1
                ila.append(ila_round(mport, n, run_no))
                red.append(redis_round(rport, n))
            ila.sort()
            red.sort()
            i_ms, r_ms = ila[len(ila) // 2], red[len(red) // 2]
            print('  %5d subscribers: ila-mapper %.2f ms, redis pub/sub %.2f ms, ratio %.3f'
                  % (n, i_ms, r_ms, i_ms / r_ms))
            results.append({'name': 'push_fanout_%d' % n, 'unit': 'ms', 'ila': round(i_ms, 2),
                            'baseline': round(r_ms, 2), 'ratio': round(i_ms / r_ms, 3),
                            'better': 'lower'})
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    record(results)


if __name__ == '__main__':
    main()
