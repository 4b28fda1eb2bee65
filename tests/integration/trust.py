# SPDX-License-Identifier: GPL-2.0-or-later
"""Suites of tests/integration/run on whom ilad trusts (issue 11, items 1-2).

Imported by run, which passes itself as `h` (Env, Node, run, spawn, Failed...).
A scripted mapper here is a Python TLS server speaking the frames of
doc/protocol.md with the small encoder of tests/fuzz/make_frame_corpus.py,
not the project's C codec.
"""

import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fuzz'))
import make_frame_corpus as fc  # noqa: E402

PREFIX = '2001:db8:1::/64'     # vn blue of the test ilad
PREFIX4 = '10.9.0.0/16'        # vn green's ipv4-prefix


class ScriptedMapper:
    """A TLS server on 127.0.0.1 with pki/NAME.crt that answers ilad's OPEN as a
    mapper and, on each SUBSCRIBE, sends the frames script(vn) returns."""

    def __init__(self, pki, name, script=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(os.path.join(pki, name + '.crt'),
                                 os.path.join(pki, name + '.key'))
        self.ctx.load_verify_locations(os.path.join(pki, 'ca.crt'))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.script = script or (lambda vn: [])
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(4)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.handshakes_failed = 0
        self.opens = 0
        self.subscribed = []
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.lsock.close()

    def serve(self):
        while not self.stop:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                s.settimeout(5)
                t = self.ctx.wrap_socket(s, server_side=True)
            except (ssl.SSLError, OSError):
                self.handshakes_failed += 1
                s.close()
                continue
            try:
                self.session(t)
            except (ssl.SSLError, OSError, ValueError):
                pass
            finally:
                t.close()

    def session(self, t):
        t.settimeout(0.2)
        buf = b''
        last_ka = time.monotonic()
        while not self.stop:
            if time.monotonic() - last_ka > 0.2:
                t.sendall(fc.frame(fc.KEEPALIVE, xid=0))
                last_ka = time.monotonic()
            try:
                data = t.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            if not data:
                return
            buf += data
            while len(buf) >= 12:
                version, mtype, flags, length, xid = struct.unpack('>BBHII', buf[:12])
                if version != 1 or length < 12:
                    raise ValueError('bad frame from ilad')
                if len(buf) < length:
                    break
                body, buf = buf[12:length], buf[length:]
                self.frame(t, mtype, xid, body)

    def frame(self, t, mtype, xid, body):
        if mtype == fc.OPEN:
            self.opens += 1
            t.sendall(fc.frame(fc.OPEN, fc.open_body(b'mapper', 1000, 10000, 2), xid=xid))
        elif mtype == fc.SUBSCRIBE:
            vn = struct.unpack('>I', body[4:8])[0] if body[:2] == b'\x80\x07' else 0
            self.subscribed.append(vn)
            t.sendall(fc.frame(fc.ACK, xid=xid))
            for f in self.script(vn):
                t.sendall(f)


def rec6(addr, vn, locator=0xA, seq=100, state=0):
    return fc.record(fc.tlv(fc.ADDR6, socket.inet_pton(socket.AF_INET6, addr))
                     + fc.u32(fc.VN, vn) + fc.tlv(fc.LOCATOR, fc.loc(locator))
                     + fc.u64(fc.SEQ, seq) + fc.u32(fc.LIFETIME, 300) + fc.u8(fc.STATE, state)
                     + fc.tlv(fc.OWNER, b'n2'))


def rec4(addr, vn, locator=0xA, seq=100):
    return fc.record(fc.tlv(fc.ADDR4, socket.inet_aton(addr)) + fc.u32(fc.VN, vn)
                     + fc.tlv(fc.LOCATOR, fc.loc(locator)) + fc.u64(fc.SEQ, seq)
                     + fc.u32(fc.LIFETIME, 300) + fc.u8(fc.STATE, 0) + fc.tlv(fc.OWNER, b'n2'))


def push(vn, records, flags=3, jseq=5):
    return fc.frame(fc.PUSH, fc.u32(fc.VN, vn) + fc.u64(fc.JSEQ, jseq)
                    + fc.u32(fc.MSG_FLAGS, flags) + b''.join(records), xid=0)


class Ilad:
    """A control-plane ilad (n1 of pki) talking to 127.0.0.1:port."""

    def __init__(self, h, d, pki, tag, port, mapper_extra='', vns=None):
        self.h = h
        self.sock = os.path.join(d, tag + '.sock')
        self.conf = os.path.join(d, tag + '.conf')
        self.log = os.path.join(d, tag + '.log')
        vns = vns or ['vn blue id 1 sir-prefix %s' % PREFIX]
        with open(self.conf, 'w') as f:
            f.write('node-name n1\nmode control-plane\nlocator 2001:db8:0:1\n'
                    'locator 2001:db8:0:2\n'
                    'mapper 127.0.0.1 port %d%s\n'
                    'tls certificate {0}/n1.crt key {0}/n1.key ca {0}/ca.crt\n'
                    'control %s\npidfile %s\nkeepalive 1000\ndead-interval 10000\n'
                    .format(pki) % (port, mapper_extra, self.sock,
                                    os.path.join(d, tag + '.pid'))
                    + ''.join(v + '\n' for v in vns))
        r = h.run([h.ILAD, '-n', '-f', self.conf], timeout=10)
        if r.returncode != 0:
            raise h.Failed('ilad -n refused %s: %s' % (self.conf, r.stderr.strip()))
        logf = open(self.log, 'a')
        self.proc = h.spawn([h.ILAD, '-d', '-f', self.conf], stdout=logf, stderr=logf)
        logf.close()
        if not h.until(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 10) \
                or self.proc.poll() is not None:
            raise h.Failed('ilad %s did not start: %s' % (tag, self.log_text()[-300:]))

    def ctl(self, *args):
        r = self.h.run([self.h.ILACTL, '-s', self.sock, '-t', '5', '-j'] + list(args),
                       timeout=10)
        if r.returncode != 0:
            raise self.h.Failed('ilactl %s: %s%s' % (' '.join(args), r.stdout, r.stderr))
        return self.h.json.loads(r.stdout)

    def stats(self):
        return self.h.flatten(self.ctl('show', 'stats'))

    def state(self):
        return self.ctl('show', 'mapper').get('state')

    def mapped(self, a):
        return any(m['address'] == a for m in self.ctl('show', 'mappings')['mappings'])

    def log_text(self):
        with open(self.log, errors='replace') as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.h.PROCS.remove(self.proc)


def suite_mapper_identity(h, root, res):
    """ilad refuses a mapper whose certificate is a node's or carries another name."""
    d = os.path.join(root, 'mapper-identity')
    os.makedirs(d)
    pki = os.path.join(d, 'pki')
    h.run([h.MKCERTS, pki, 'mapper', 'mapper-b', 'n1', 'n9'], timeout=120)

    # a node's certificate (clientAuth only) playing the mapper, no identity set:
    # the key usage alone refuses it
    fake = ScriptedMapper(pki, 'n9')
    n = Ilad(h, d, pki, 'eku', fake.port)
    try:
        h.until(lambda: n.stats().get('mapper_identity_refused', 0) >= 2, 10)
        st = n.stats()
        log = n.log_text()
        res.check('mapper-identity: a node certificate offered as the mapper is refused',
                  st.get('mapper_identity_refused', 0) >= 2 and n.state() != 'up'
                  and fake.opens == 0 and "'n9' is not a mapper certificate" in log,
                  'stats %s, opens %d, log %s' % (st.get('mapper_identity_refused'),
                                                   fake.opens, log[-300:]))
        res.check('mapper-identity: without identity ilad warns that the name is not checked',
                  'no identity configured' in log, log[:300])
    finally:
        n.stop()
        fake.close()

    # the right role (mapper-b: serverAuth) but not the name configured
    fake = ScriptedMapper(pki, 'mapper-b')
    n = Ilad(h, d, pki, 'name', fake.port, ' identity mapper')
    try:
        h.until(lambda: n.stats().get('mapper_identity_refused', 0) >= 2, 10)
        st = n.stats()
        log = n.log_text()
        res.check('mapper-identity: a mapper whose name differs from identity is refused',
                  st.get('mapper_identity_refused', 0) >= 2 and n.state() != 'up'
                  and fake.opens == 0
                  and "'mapper-b' does not carry the name 'mapper'" in log
                  and 'no identity configured' not in log,
                  'stats %s, opens %d, log %s' % (st.get('mapper_identity_refused'),
                                                   fake.opens, log[-300:]))
    finally:
        n.stop()
        fake.close()

    # the right one
    fake = ScriptedMapper(pki, 'mapper-b')
    n = Ilad(h, d, pki, 'right', fake.port, ' identity mapper-b')
    try:
        up = h.until(lambda: n.state() == 'up', 10)
        st = n.stats()
        res.check('mapper-identity: the mapper carrying the name of identity is accepted',
                  up and fake.opens >= 1 and st.get('mapper_identity_refused', 0) == 0,
                  'state %s, opens %d, stats %s' % (n.state(), fake.opens,
                                                     st.get('mapper_identity_refused')))
    finally:
        n.stop()
        fake.close()


def suite_records_validated(h, root, res):
    """Records from the mapper outside the node's vns or their prefixes are dropped."""
    d = os.path.join(root, 'records-validated')
    os.makedirs(d)
    pki = os.path.join(d, 'pki')
    h.run([h.MKCERTS, pki, 'mapper', 'n1'], timeout=120)
    good6, good4 = '2001:db8:1::42', '10.9.0.7'
    other_vn = '2001:db8:1::43'          # right prefix, vn 7 the node does not serve
    outside6 = '2001:db8:99::44'         # vn 1, outside its sir-prefix
    outside4 = '10.10.0.8'               # vn 2, outside its ipv4-prefix
    v4_no_prefix = '10.9.0.9'            # vn 1, which has no ipv4-prefix

    def script(vn):
        if vn == 1:
            return [push(1, [rec6(good6, 1), rec6(outside6, 1), rec4(v4_no_prefix, 1)]),
                    push(7, [rec6(other_vn, 7)], flags=0),
                    fc.frame(fc.REPLY, rec6(other_vn, 7, seq=101)
                             + rec6('2001:db8:98::1', 1), xid=4242)]
        if vn == 2:
            return [push(2, [rec4(good4, 2), rec4(outside4, 2)])]
        return []

    fake = ScriptedMapper(pki, 'mapper', script)
    n = Ilad(h, d, pki, 'node', fake.port, ' identity mapper',
             vns=['vn blue id 1 sir-prefix %s' % PREFIX,
                  'vn green id 2 sir-prefix 2001:db8:2::/64 ipv4-prefix %s' % PREFIX4])
    try:
        h.until(lambda: n.state() == 'up' and n.mapped(good6) and n.mapped(good4), 10)
        h.until(lambda: n.stats().get('records_rejected_prefix', 0) >= 3, 5)
        st = n.stats()
        log = n.log_text()
        res.check('records-validated: the records in the vns and prefixes are installed',
                  n.mapped(good6) and n.mapped(good4), str(n.ctl('show', 'mappings'))[:300])
        res.check('records-validated: a record of a vn the node does not serve is dropped '
                  'and counted (PUSH and REPLY)',
                  st.get('records_rejected_vn') == 2 and not n.mapped(other_vn),
                  'records_rejected_vn %s' % st.get('records_rejected_vn'))
        res.check('records-validated: a record outside the vn prefix is dropped and counted',
                  st.get('records_rejected_prefix') == 3 and not n.mapped(outside6)
                  and not n.mapped(outside4) and not n.mapped('2001:db8:98::1'),
                  'records_rejected_prefix %s' % st.get('records_rejected_prefix'))
        res.check('records-validated: an IPv4 record in a vn without ipv4-prefix is dropped',
                  st.get('records_rejected_family') == 1 and not n.mapped(v4_no_prefix),
                  'records_rejected_family %s' % st.get('records_rejected_family'))
        lines = [l for l in log.splitlines() if 'record outside' in l or 'does not serve' in l]
        res.check('records-validated: logged once per session and reason',
                  len([l for l in lines if 'does not serve' in l]) == 1
                  and len([l for l in lines if 'outside the vn' in l]) == 1,
                  ' | '.join(lines))
        res.check('records-validated: ilad survives and keeps the session',
                  n.proc.poll() is None and n.state() == 'up', n.state())
    finally:
        n.stop()
        fake.close()


def make_cert(pki, name, subject, ext):
    """pki/NAME.crt and .key signed by pki's CA: subject as given (any bytes the
    shell could not pass), ext the lines of an openssl extension file."""
    h_run = __import__('subprocess').run
    key, csr = os.path.join(pki, name + '.key'), os.path.join(pki, name + '.csr')
    crt, extf = os.path.join(pki, name + '.crt'), os.path.join(pki, name + '.ext')
    h_run(['openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
           '-nodes', '-subj', subject, '-keyout', key, '-out', csr],
          check=True, capture_output=True, timeout=60)
    with open(extf, 'w') as f:
        f.write(ext)
    h_run(['openssl', 'x509', '-req', '-in', csr, '-CA', os.path.join(pki, 'ca.crt'),
           '-CAkey', os.path.join(pki, 'ca.key'), '-CAcreateserial', '-days', '30',
           '-extfile', extf, '-out', crt], check=True, capture_output=True, timeout=60)
    os.unlink(csr)
    os.unlink(extf)


def suite_cert_identity(h, root, res):
    """A certificate's identity is its first DNS subjectAltName, the CN only when it
    has no subjectAltName at all; names from certificates reach the log filtered."""
    env = h.Env(root, 'cert-identity', ['n1'],
                [dict(name='blue', id=1, prefix=PREFIX, serve=['n1'], subscribe=['n1'])])
    # CN n1 beside a subjectAltName that names no host (an IP address only)
    make_cert(env.pki, 'n1-ipsan', '/CN=n1',
              'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=clientAuth\n')
    # the name n1 in the DNS subjectAltName, another CN beside it
    make_cert(env.pki, 'n1-dnssan', '/CN=somebody-else',
              'subjectAltName=DNS:n1\nextendedKeyUsage=clientAuth\n')
    # no subjectAltName, a CN with an escape sequence and a line of its own
    forged = 'ila-mapper: node n1 up from a forged line'
    make_cert(env.pki, 'n1-ctl', '/CN=n1\x1b[31m\n' + forged,
              'extendedKeyUsage=clientAuth\n')
    env.start()
    before = env.stats()
    r = env.probe('open', env.session('n1', cert='n1-ipsan'), timeout=10)
    d = h.stat_delta(before, env.stats())
    res.check('cert-identity: a certificate with a subjectAltName but no DNS name is not '
              'known by its CN (CN n1, SAN IP:127.0.0.1: refused, counted)',
              r.returncode != 0 and 'OPENED' not in r.stdout and
              (d.get('auth_failures', 0) + d.get('tls_failures', 0)) >= 1,
              'exit %d %s; %s' % (r.returncode, r.stdout.strip()[-160:], d))
    r = env.probe('open', env.session('n1', cert='n1-dnssan'), timeout=10)
    res.check('cert-identity: the DNS subjectAltName is the identity, not the CN beside it '
              '(SAN n1, CN somebody-else: opens as n1)',
              r.returncode == 0 and 'OPENED' in r.stdout, r.stdout.strip()[-160:])
    r = env.probe('open', env.session('n1', cert='n1-ctl'), timeout=10)
    with open(env.log, 'rb') as f:
        log = f.read()
    ctl = sorted({b for b in log if b < 0x20 and b != 0x0a})
    res.check('cert-identity: a certificate name with control bytes is refused, and no '
              'control byte or forged line reaches the log',
              r.returncode != 0 and not ctl and
              not any(ln.startswith(forged.encode()) for ln in log.splitlines()),
              'exit %d; control bytes in the log %s; forged line %s' %
              (r.returncode, ['0x%02x' % b for b in ctl],
               any(ln.startswith(forged.encode()) for ln in log.splitlines())))
