# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the test suites that run inside the test VM (tests/vm/suites/).

A suite prints one line per check, "PASS: name" or "FAIL: name - detail",
and exits non-zero when a check failed; tests/vm/run counts the lines.
Suites run as root in the guest, whose kernel has ILA, with the host's file
system; ILA_VM_OUT is the folder shared with the host for logs.
"""
import ctypes
import os
import socket
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(os.environ.get('ILA_BUILD', os.path.join(TOP, 'build', 'main')))
OUT = os.environ.get('ILA_VM_OUT', '/tmp')

CLONE_NEWNET = 0x40000000
ETH_P_IPV6 = 0x86dd
PACKET_OUTGOING = 4
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50


class Failed(Exception):
    pass


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=''):
        detail = ' | '.join(str(detail).strip().splitlines())
        print('%s: %s%s' % ('PASS' if ok else 'FAIL', name, ' - ' + detail if detail else ''),
              flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def require(self, name, ok, detail=''):
        """A check the rest of the suite depends on."""
        if not self.check(name, ok, detail):
            raise Failed(name)

    @staticmethod
    def info(text):
        print('INFO: %s' % text, flush=True)


def run(argv, check=True, timeout=30, input=None):
    """Runs a command, returns (exit status, stdout + stderr)."""
    r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=timeout)
    if check and r.returncode != 0:
        raise Failed('%s: exit %d: %s' % (' '.join(argv), r.returncode, r.stdout.strip()))
    return r.returncode, r.stdout


def ip(*args, ns=None, check=True, input=None):
    argv = ['ip'] + (['-n', ns] if ns else []) + list(args)
    return run(argv, check=check, input=input)


def ip_batch(lines, ns=None, force=False):
    """Many iproute2 commands in one process: fewer execs under emulation."""
    argv = ['ip'] + (['-n', ns] if ns else []) + (['-force'] if force else []) + ['-batch', '-']
    return run(argv, check=not force, input=''.join(l + '\n' for l in lines))


def netns_add(name):
    ip('netns', 'del', name, check=False)
    ip('netns', 'add', name)
    ip('link', 'set', 'lo', 'up', ns=name)


def netns_del(name):
    ip('netns', 'del', name, check=False)


class NetNS:
    """Switches this process into a named network namespace (socket() then
    creates sockets there; they stay there after switching back)."""
    _libc = ctypes.CDLL(None, use_errno=True)

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.home = os.open('/proc/self/ns/net', os.O_RDONLY)
        self._set('/run/netns/' + self.name)
        return self

    def __exit__(self, *exc):
        try:
            self._setfd(self.home)
        finally:
            os.close(self.home)

    def _set(self, path):
        fd = os.open(path, os.O_RDONLY)
        try:
            self._setfd(fd)
        finally:
            os.close(fd)

    def _setfd(self, fd):
        if self._libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'setns %s: %s' % (self.name, os.strerror(err)))


def tx_csum_off(dev, ns):
    """Software transport checksums on dev: with offload, a capture on a veth
    shows only the partial (pseudo-header) checksum. Returns how."""
    rc, out = run(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off'], check=False)
    if rc == 0:
        return 'ethtool'
    # No ethtool: SIOCETHTOOL with ETHTOOL_STXCSUM, as ethtool does.
    import array
    import fcntl
    with NetNS(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        val = array.array('B', struct.pack('=II', 0x17, 0))
        addr, _ = val.buffer_info()
        ifr = struct.pack('16sP', dev.encode(), addr) + bytes(16)
        fcntl.ioctl(s.fileno(), 0x8946, ifr)
    finally:
        s.close()
    return 'ioctl'


def csum16(data):
    """Internet checksum (ones' complement of the ones' complement sum)."""
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def l4_csum(src, dst, proto, segment):
    """The IPv6 upper-layer checksum of segment (its checksum field zeroed
    by the caller), written independently of the project's C code."""
    pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
              struct.pack('!IxxxB', len(segment), proto))
    return csum16(pseudo + segment)


def parse_ipv6_udp(pkt):
    """(src, dst, sport, dport, csum, udp segment) of a UDP-in-IPv6 packet
    without extension headers, or None."""
    if len(pkt) < 48 or pkt[0] >> 4 != 6 or pkt[6] != 17:
        return None
    plen = struct.unpack('!H', pkt[4:6])[0]
    seg = pkt[40:40 + plen]
    if len(seg) < 8:
        return None
    src = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
    dst = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
    sport, dport, _, csum = struct.unpack('!HHHH', seg[:8])
    return src, dst, sport, dport, csum, seg


def udp_csum_valid(src, dst, seg):
    """Whether a UDP segment's checksum verifies for these addresses (the
    sum over pseudo-header and segment, checksum included, is all ones;
    0 is no checksum, which IPv6 forbids)."""
    if seg[6:8] == b'\0\0':
        return False
    return l4_csum(src, dst, 17, seg) == 0


def norm6(a):
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a))


def find_tool(name):
    """A build product: $ILA_<NAME> if set, else under the build tree."""
    env = os.environ.get('ILA_' + name.upper().replace('-', '_'))
    if env:
        return env
    for rel in ('tests/vm/' + name, name + '/' + name):
        p = os.path.join(BUILD, rel)
        if os.access(p, os.X_OK):
            return p
    return None


# ---- the kernel's ILA translation table, read over generic netlink ----
# An independent reader: iproute2 6.1's "ip ila list" prints garbage for the
# locators, and the project's own C code is what is under test.

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
ILA_CMD_GET = 3
ILA_ATTRS = {1: 'locator', 3: 'locator_match', 4: 'ifindex', 7: 'csum_mode', 8: 'ident_type'}
CSUM_MODE_NAMES = {0: 'adj-transport', 1: 'neutral-map', 2: 'no-action', 3: 'neutral-map-auto'}


def _nl_attrs(buf):
    out = {}
    while len(buf) >= 4:
        alen, atype = struct.unpack('=HH', buf[:4])
        if alen < 4:
            break
        out[atype & 0x3fff] = buf[4:alen]
        buf = buf[(alen + 3) & ~3:]
    return out


def _nl_request(sock, mtype, flags, cmd, attrs=b''):
    """Sends one generic netlink request; returns the list of (type, payload)
    answers up to DONE, the ACK or an error (raised as OSError)."""
    body = struct.pack('=BBH', cmd, 1, 0) + attrs
    sock.send(struct.pack('=IHHII', 16 + len(body), mtype, flags, 1, 0) + body)
    msgs = []
    while True:
        data = sock.recv(1 << 16)
        while len(data) >= 16:
            mlen, t, _, _, _ = struct.unpack('=IHHII', data[:16])
            payload = data[16:mlen]
            data = data[(mlen + 3) & ~3:]
            if t == NLMSG_DONE:
                return msgs
            if t == NLMSG_ERROR:
                err = struct.unpack('=i', payload[:4])[0]
                if err:
                    raise OSError(-err, os.strerror(-err))
                return msgs
            msgs.append((t, payload))
            if not flags & NLM_F_DUMP:
                return msgs


def ila_table(ns):
    """The ILA translation entries of a namespace, as a list of dicts with
    'locator_match' and 'locator' (W:X:Y:Z), 'ifindex', 'csum_mode' (name)
    and 'ident_type' (number). A dump that stops with EAGAIN (the table was
    resizing) is retried."""
    with NetNS(ns):
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    try:
        name = b'ila\0'
        attr = struct.pack('=HH', 4 + len(name), CTRL_ATTR_FAMILY_NAME) + name
        attr += b'\0' * (-len(attr) % 4)
        (_, fam), = _nl_request(s, GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY, attr)
        family = struct.unpack('=H', _nl_attrs(fam[4:])[CTRL_ATTR_FAMILY_ID][:2])[0]
        for _ in range(20):
            try:
                msgs = _nl_request(s, family, NLM_F_REQUEST | NLM_F_DUMP, ILA_CMD_GET)
                break
            except OSError as e:
                if e.errno != 11:
                    raise
        else:
            raise OSError(11, 'ILA dump kept answering EAGAIN')
    finally:
        s.close()
    table = []
    for _, payload in msgs:
        a = _nl_attrs(payload[4:])
        e = {}
        for num, key in ILA_ATTRS.items():
            if num not in a:
                continue
            v = a[num]
            if key in ('locator', 'locator_match'):
                e[key] = ':'.join('%x' % g for g in struct.unpack('!4H', v[:8]))
            elif key == 'ifindex':
                e[key] = struct.unpack('=i', v[:4])[0]
            elif key == 'csum_mode':
                e[key] = CSUM_MODE_NAMES.get(v[0], str(v[0]))
            else:
                e[key] = v[0]
        table.append(e)
    return table
