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


# ---- ilad's BPF maps (dataplane bpf), read with the bpf(2) system call ----
# An independent reader as well: the maps are found through the map ids in
# /proc/PID/fdinfo of the ilad process (BPF maps are not per namespace, so
# the names alone would not say which node's they are) and read element by
# element; the layouts are routing/bpf/ila_bpf.h's.

BPF_MAP_LOOKUP_ELEM, BPF_MAP_GET_NEXT_KEY = 1, 4
BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD = 14, 15
SYS_BPF = {'x86_64': 321, 'aarch64': 280, 'i686': 357, 'armv7l': 386}
BPF_STATES = {0: 'up', 1: 'down'}


def _sys_bpf(cmd, attr):
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    rc = libc.syscall(SYS_BPF[os.uname().machine], cmd, buf, len(attr))
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, 'bpf(%d): %s' % (cmd, os.strerror(e)))
    return rc, buf.raw


class BpfMaps:
    """The BPF maps a process holds, by name: {name: (fd, key_size,
    value_size)}, opened by id (our own references, closed by close())."""

    def __init__(self, pid):
        self.pid = pid
        self.maps = {}
        ids = set()
        fdinfo = '/proc/%d/fdinfo' % pid
        for fd in os.listdir(fdinfo):
            try:
                with open(os.path.join(fdinfo, fd)) as f:
                    for line in f:
                        if line.startswith('map_id:'):
                            ids.add(int(line.split()[1]))
            except (OSError, ValueError):
                continue
        for i in sorted(ids):
            fd, _ = _sys_bpf(BPF_MAP_GET_FD_BY_ID, struct.pack('=III4x', i, 0, 0))
            info = ctypes.create_string_buffer(80)
            _sys_bpf(BPF_OBJ_GET_INFO_BY_FD,
                     struct.pack('=IIQ', fd, 80, ctypes.addressof(info)))
            _, _, ksz, vsz = struct.unpack('=4I', info.raw[:16])
            name = info.raw[24:40].split(b'\0')[0].decode()
            if name in self.maps:
                os.close(fd)
            else:
                self.maps[name] = (fd, ksz, vsz)

    def close(self):
        for fd, _, _ in self.maps.values():
            os.close(fd)
        self.maps = {}

    def _map(self, name, key_size, value_size):
        if name not in self.maps:
            raise Failed('ilad pid %d holds no BPF map %s (has %s)' % (
                self.pid, name, ' '.join(sorted(self.maps)) or 'none'))
        m = self.maps[name]
        if (m[1], m[2]) != (key_size, value_size):
            raise Failed('BPF map %s: key %d value %d bytes, the tests read %d and %d '
                         '(routing/bpf/ila_bpf.h changed?)' % (name, m[1], m[2], key_size,
                                                              value_size))
        return m[0]

    def lookup(self, name, key, value_size):
        fd = self._map(name, len(key), value_size)
        k = ctypes.create_string_buffer(key, len(key))
        v = ctypes.create_string_buffer(value_size)
        try:
            _sys_bpf(BPF_MAP_LOOKUP_ELEM, struct.pack('=I4xQQQ', fd, ctypes.addressof(k),
                                                      ctypes.addressof(v), 0))
        except OSError as e:
            if e.errno == 2:
                return None
            raise
        return v.raw

    def dump(self, name, key_size, value_size):
        """[(key, value)] of a (non-per-CPU) map."""
        fd = self._map(name, key_size, value_size)
        out = []
        cur = ctypes.create_string_buffer(key_size)
        nxt = ctypes.create_string_buffer(key_size)
        first = True
        for _ in range(1 << 20):
            try:
                _sys_bpf(BPF_MAP_GET_NEXT_KEY, struct.pack(
                    '=I4xQQQ', fd, 0 if first else ctypes.addressof(cur),
                    ctypes.addressof(nxt), 0))
            except OSError as e:
                if e.errno == 2:
                    break
                raise
            first = False
            ctypes.memmove(cur, nxt, key_size)
            v = self.lookup(name, cur.raw, value_size)
            if v is not None:
                out.append((cur.raw, v))
        return out

    # the maps of routing/bpf/ila_bpf.h, decoded

    def mapping(self, vn, addr):
        """ila_map's entry of (vn, addr): (locator W:X:Y:Z, 'up'|'down') or None."""
        v = self.lookup('ila_map', struct.pack('=I', vn) + socket.inet_pton(socket.AF_INET6,
                                                                           addr), 16)
        return None if v is None else (loc64(v[:8]), BPF_STATES.get(v[8], str(v[8])))

    def mappings(self):
        """ila_map: sorted 'ADDR map LOCATOR STATE' (vn 1) or 'vn N ADDR ...'."""
        out = []
        for k, v in self.dump('ila_map', 20, 16):
            vn = struct.unpack('=I', k[:4])[0]
            out.append('%s%s map %s %s' % ('' if vn == 1 else 'vn %d ' % vn,
                                           socket.inet_ntop(socket.AF_INET6, k[4:20]),
                                           loc64(v[:8]), BPF_STATES.get(v[8], str(v[8]))))
        return sorted(out)

    def locators(self):
        """ila_locators: sorted 'LOCATOR -> SIR-UPPER-64 CSUM-MODE'."""
        return sorted('%s -> %s %s' % (loc64(k), loc64(v[:8]), CSUM_MODE_NAMES.get(v[8], v[8]))
                      for k, v in self.dump('ila_locators', 8, 16))

    def prefixes(self):
        """ila_prefixes: sorted 'PREFIX/LEN vn N CSUM-MODE'."""
        return sorted('%s/%d vn %d %s' % (socket.inet_ntop(socket.AF_INET6, k[4:20]),
                                          struct.unpack('=I', k[:4])[0],
                                          struct.unpack('=I', v[:4])[0],
                                          CSUM_MODE_NAMES.get(v[4], v[4]))
                      for k, v in self.dump('ila_prefixes', 20, 8))


def loc64(b):
    """8 bytes as a locator, W:X:Y:Z (iproute2's notation)."""
    return ':'.join('%x' % g for g in struct.unpack('!4H', b[:8]))
