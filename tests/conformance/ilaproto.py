# SPDX-License-Identifier: GPL-2.0-or-later
"""The ila mapping protocol, version 1, written from doc/protocol.md alone.

Python 3 standard library only. Encoders build frames byte by byte (so that
tests can also build wrong ones); the decoder reads a frame the mapper sent
and `validate` says what in it departs from the specification.
"""
import ipaddress
import socket
import ssl
import struct
import time

VERSION = 1
HDR = 12
MAX_FRAME = 262144          # section 4, ILA_PROTO_MAX_FRAME
MAX_RECORDS = 1024          # section 11
NAME_MAX = 63
SWVER_MAX = 63
TEXT_MAX = 255

# 12.1 message types
OPEN, KEEPALIVE, REGISTER, DEREGISTER, QUERY, REPLY, SUBSCRIBE, UNSUBSCRIBE, PUSH, ACK, ERROR = \
    range(1, 12)
TYPE_NAMES = {1: 'OPEN', 2: 'KEEPALIVE', 3: 'REGISTER', 4: 'DEREGISTER', 5: 'QUERY',
              6: 'REPLY', 7: 'SUBSCRIBE', 8: 'UNSUBSCRIBE', 9: 'PUSH', 10: 'ACK',
              11: 'ERROR'}

# 12.2 TLV types, M bit included
T_NODE_NAME = 0x8001
T_CAPS = 0x8002
T_KEEPALIVE_MS = 0x8003
T_DEAD_MS = 0x8004
T_ROLE = 0x8005
T_SW_VERSION = 0x0006
T_VN = 0x8007
T_JSEQ = 0x8008
T_MSG_FLAGS = 0x8009
T_COUNT = 0x000a
T_STATUS = 0x800b
T_ERROR_CODE = 0x800c
T_ERROR_TEXT = 0x000d
T_RECORD = 0x800e
T_ADDR6 = 0x800f
T_ADDR4 = 0x8010
T_LOCATOR = 0x8011
T_STANDBY = 0x8012
T_SEQ = 0x8013
T_LIFETIME = 0x8014
T_STATE = 0x8015
T_REC_FLAGS = 0x8016
T_OWNER = 0x0017
T_PREV_LOCATOR = 0x0018
T_DIRECTORY = 0x0019
M_BIT = 0x8000

# 12.3 capabilities
CAP_ADDR4, CAP_STANDBY, CAP_ANYCAST = 1, 2, 4
# 12.4 record flags
RF_STANDBY_REG, RF_ANYCAST, RF_PROMOTED = 1, 2, 4
# 12.5 message flags
SF_NO_SNAPSHOT = 1
PF_SNAPSHOT_BEGIN, PF_SNAPSHOT_END, PF_MORE, PF_DIRECTED = 1, 2, 4, 8
# 12.6
ROLE_NODE, ROLE_MAPPER = 1, 2
UP, DOWN, FROZEN, REMOVED = 0, 1, 2, 3

# 10. error codes
ERR = {
    'ok': 0, 'short-header': 0x101, 'bad-version': 0x102, 'bad-length': 0x103,
    'truncated': 0x104, 'trailing': 0x105, 'unknown-type': 0x106, 'flags': 0x107,
    'tlv-truncated': 0x108, 'tlv-length': 0x109, 'tlv-duplicate': 0x10a,
    'tlv-missing': 0x10b, 'tlv-unknown': 0x10c, 'bad-value': 0x10d,
    'too-many-records': 0x10e, 'record-malformed': 0x10f,
    'not-authorised': 0x201, 'vn-unknown': 0x202, 'addr-outside-vn': 0x203,
    'stale-seq': 0x204, 'frozen': 0x205, 'not-subscribed': 0x206, 'internal': 0x207,
    'overloaded': 0x208, 'unexpected': 0x209, 'dead-timer': 0x20a, 'no-mapping': 0x20b,
    'unsupported': 0x20c, 'cease': 0x20d,
}
ERR_NAME = {v: k for k, v in ERR.items()}


def err_name(code):
    return ERR_NAME.get(code, '0x%x' % code) if code is not None else 'none'


# --- encoding ----------------------------------------------------------------

def u8(v):
    return struct.pack('!B', v)


def u16(v):
    return struct.pack('!H', v)


def u32(v):
    return struct.pack('!I', v)


def u64(v):
    return struct.pack('!Q', v)


def tlv(t, value, length=None):
    """A TLV; `length` overrides the length field (to build wrong ones)."""
    return struct.pack('!HH', t, len(value) if length is None else length) + value


def frame(mtype, xid, body=b'', flags=0, version=VERSION, length=None):
    """A frame; `length` overrides the header's length field."""
    n = HDR + len(body) if length is None else length
    return struct.pack('!BBHII', version, mtype, flags, n, xid) + body


def addr_tlv(addr):
    """addr: 16 bytes (ADDR6) or 4 bytes (ADDR4)."""
    return tlv(T_ADDR6 if len(addr) == 16 else T_ADDR4, addr)


def record(addr=None, vn=None, loc=None, seq=None, lifetime=None, state=None, flags=None,
           standby=None, owner=None, prev=None, extra=b'', reverse=False):
    """A RECORD TLV; None leaves a field out; `extra` is appended inside it."""
    fields = []
    if addr is not None:
        fields.append(addr_tlv(addr))
    if vn is not None:
        fields.append(tlv(T_VN, u32(vn)))
    if loc is not None:
        fields.append(tlv(T_LOCATOR, loc))
    if standby is not None:
        fields.append(tlv(T_STANDBY, standby))
    if seq is not None:
        fields.append(tlv(T_SEQ, u64(seq)))
    if lifetime is not None:
        fields.append(tlv(T_LIFETIME, u32(lifetime)))
    if state is not None:
        fields.append(tlv(T_STATE, u8(state)))
    if flags is not None:
        fields.append(tlv(T_REC_FLAGS, u32(flags)))
    if owner is not None:
        fields.append(tlv(T_OWNER, owner.encode() if isinstance(owner, str) else owner))
    if prev is not None:
        fields.append(tlv(T_PREV_LOCATOR, prev))
    if reverse:
        fields.reverse()
    return tlv(T_RECORD, b''.join(fields) + extra)


def open_body(name='n1', caps=0, keepalive=1000, dead=3000, role=ROLE_NODE, swver=None,
              omit=(), extra=b''):
    parts = [
        (T_NODE_NAME, name.encode() if isinstance(name, str) else name),
        (T_CAPS, u32(caps)),
        (T_KEEPALIVE_MS, u32(keepalive)),
        (T_DEAD_MS, u32(dead)),
        (T_ROLE, u8(role)),
    ]
    if swver is not None:
        parts.append((T_SW_VERSION, swver.encode() if isinstance(swver, str) else swver))
    return b''.join(tlv(t, v) for t, v in parts if t not in omit) + extra


def open_frame(xid, **kw):
    return frame(OPEN, xid, open_body(**kw))


def keepalive():
    return frame(KEEPALIVE, 0)


def register(xid, records):
    return frame(REGISTER, xid, b''.join(records))


def deregister(xid, records):
    return frame(DEREGISTER, xid, b''.join(records))


def query(xid, vn, addrs, extra=b''):
    return frame(QUERY, xid, tlv(T_VN, u32(vn)) + b''.join(addr_tlv(a) for a in addrs) + extra)


def subscribe(xid, vn, jseq=0, flags=None, extra=b''):
    body = tlv(T_VN, u32(vn)) + tlv(T_JSEQ, u64(jseq))
    if flags is not None:
        body += tlv(T_MSG_FLAGS, u32(flags))
    return frame(SUBSCRIBE, xid, body + extra)


def unsubscribe(xid, vn, extra=b''):
    return frame(UNSUBSCRIBE, xid, tlv(T_VN, u32(vn)) + extra)


def error(xid, code, text=None):
    body = tlv(T_ERROR_CODE, u16(code))
    if text is not None:
        body += tlv(T_ERROR_TEXT, text.encode())
    return frame(ERROR, xid, body)


# --- decoding ------------------------------------------------------------------

class Msg:
    """A decoded frame: header fields, the TLVs in order, and typed views."""

    def __init__(self, raw):
        self.raw = raw
        self.version, self.type, self.flags, self.length, self.xid = \
            struct.unpack('!BBHII', raw[:HDR])
        self.tlvs = split_tlvs(raw[HDR:])     # [(type, value)], or raises ValueError

    def name(self):
        return TYPE_NAMES.get(self.type, 'type %d' % self.type)

    def all(self, t):
        return [v for (tt, v) in self.tlvs if tt == t]

    def get(self, t):
        vals = self.all(t)
        return vals[0] if vals else None

    def int(self, t):
        v = self.get(t)
        return int.from_bytes(v, 'big') if v is not None else None

    @property
    def code(self):
        return self.int(T_ERROR_CODE)

    @property
    def text(self):
        v = self.get(T_ERROR_TEXT)
        return v.decode('utf-8', 'replace') if v is not None else ''

    @property
    def records(self):
        return [decode_record(v) for v in self.all(T_RECORD)]

    @property
    def statuses(self):
        v = self.get(T_STATUS)
        if v is None:
            return None
        return [struct.unpack('!H', v[i:i + 2])[0] for i in range(0, len(v) - 1, 2)]

    @property
    def msg_flags(self):
        return self.int(T_MSG_FLAGS) or 0

    def __repr__(self):
        s = '%s xid %d len %d' % (self.name(), self.xid, self.length)
        if self.type == ERROR:
            s += ' code %s %r' % (err_name(self.code), self.text)
        elif self.type == ACK:
            s += ' count %s status %s' % (self.int(T_COUNT),
                                          [err_name(c) for c in (self.statuses or [])])
        elif self.type in (PUSH, REPLY):
            s += ' vn %s jseq %s flags %s records %d' % (self.int(T_VN), self.int(T_JSEQ),
                                                         self.msg_flags, len(self.all(T_RECORD)))
        return s


def split_tlvs(buf):
    out = []
    i = 0
    while i < len(buf):
        if len(buf) - i < 4:
            raise ValueError('tlv-truncated: %d stray bytes' % (len(buf) - i))
        t, n = struct.unpack('!HH', buf[i:i + 4])
        if i + 4 + n > len(buf):
            raise ValueError('tlv-truncated: TLV 0x%04x' % t)
        out.append((t, buf[i + 4:i + 4 + n]))
        i += 4 + n
    return out


class Record(dict):
    """A decoded RECORD; shown with addresses and locators in text."""

    def __repr__(self):
        out = []
        for k, v in self.items():
            if k == 'fields':
                continue
            if k == 'addr':
                v = str(ipaddress.ip_address(v)) if len(v) in (4, 16) else v.hex()
            elif k in ('loc', 'standby', 'prev'):
                v = ':'.join(v[i:i + 2].hex().lstrip('0') or '0' for i in range(0, 8, 2))
            out.append('%s=%s' % (k, v))
        return '{' + ' '.join(out) + '}'


def decode_record(value):
    """A RECORD's fields as a dict: addr, vn, loc, standby, seq, lifetime, state, flags,
    owner, prev, and 'fields' (the field types in order)."""
    r = Record(fields=[])
    names = {T_ADDR6: 'addr', T_ADDR4: 'addr', T_VN: 'vn', T_LOCATOR: 'loc',
             T_STANDBY: 'standby', T_SEQ: 'seq', T_LIFETIME: 'lifetime', T_STATE: 'state',
             T_REC_FLAGS: 'flags', T_OWNER: 'owner', T_PREV_LOCATOR: 'prev'}
    for t, v in split_tlvs(value):
        r['fields'].append(t)
        k = names.get(t)
        if k is None:
            continue
        if t in (T_VN, T_SEQ, T_LIFETIME, T_STATE, T_REC_FLAGS):
            r[k] = int.from_bytes(v, 'big')
        elif t == T_OWNER:
            r[k] = v.decode('utf-8', 'replace')
        else:
            r[k] = v
    return r


def is_string(b):
    """Section 1: valid UTF-8 without control characters."""
    try:
        s = b.decode('utf-8', 'strict')     # refuses overlong forms and surrogates
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in s)


FIXED_LEN = {T_CAPS: 4, T_KEEPALIVE_MS: 4, T_DEAD_MS: 4, T_ROLE: 1, T_VN: 4, T_JSEQ: 8,
             T_MSG_FLAGS: 4, T_COUNT: 4, T_ERROR_CODE: 2, T_ADDR6: 16, T_ADDR4: 4,
             T_LOCATOR: 8, T_STANDBY: 8, T_SEQ: 8, T_LIFETIME: 4, T_STATE: 1,
             T_REC_FLAGS: 4, T_PREV_LOCATOR: 8, T_DIRECTORY: 8}

# what a mapper-sent message may carry (section 6), required ones
MSG_TLVS = {
    OPEN: ({T_NODE_NAME, T_CAPS, T_KEEPALIVE_MS, T_DEAD_MS, T_ROLE, T_SW_VERSION, T_DIRECTORY},
           {T_NODE_NAME, T_CAPS, T_KEEPALIVE_MS, T_DEAD_MS, T_ROLE}),
    KEEPALIVE: (set(), set()),
    REPLY: ({T_RECORD}, set()),
    PUSH: ({T_VN, T_JSEQ, T_MSG_FLAGS, T_RECORD}, {T_VN, T_JSEQ}),
    ACK: ({T_COUNT, T_STATUS}, set()),
    ERROR: ({T_ERROR_CODE, T_ERROR_TEXT, T_ADDR6, T_ADDR4}, {T_ERROR_CODE}),
}
REC_TLVS = {
    REPLY: ({T_ADDR6, T_ADDR4, T_VN, T_LOCATOR, T_STANDBY, T_SEQ, T_LIFETIME, T_STATE,
             T_REC_FLAGS, T_OWNER}, {T_VN, T_LOCATOR, T_SEQ, T_LIFETIME, T_STATE}),
    PUSH: ({T_ADDR6, T_ADDR4, T_VN, T_LOCATOR, T_STANDBY, T_SEQ, T_LIFETIME, T_STATE,
            T_REC_FLAGS, T_OWNER, T_PREV_LOCATOR}, {T_VN, T_LOCATOR, T_SEQ, T_LIFETIME,
                                                    T_STATE}),
}


def validate(m):
    """What in a frame sent by the mapper departs from sections 4-7 (a list of strings)."""
    bad = []
    if m.version != VERSION:
        bad.append('version %d' % m.version)
    if m.type not in MSG_TLVS:
        bad.append('the mapper sent a %s' % m.name())
        return bad
    if m.flags:
        bad.append('header flags 0x%x (none defined, senders send 0)' % m.flags)
    if m.type in (KEEPALIVE, PUSH) and m.xid != 0:
        bad.append('%s with xid %d (unsolicited frames carry 0)' % (m.name(), m.xid))
    allowed, required = MSG_TLVS[m.type]
    seen = set()
    for t, v in m.tlvs:
        if t not in allowed:
            bad.append('unexpected TLV 0x%04x' % t)
            continue
        if t in seen and t != T_RECORD:
            bad.append('TLV 0x%04x twice' % t)
        seen.add(t)
        if t in FIXED_LEN and len(v) != FIXED_LEN[t]:
            bad.append('TLV 0x%04x length %d' % (t, len(v)))
        if t in (T_NODE_NAME, T_SW_VERSION, T_ERROR_TEXT, T_OWNER) and not is_string(v):
            bad.append('TLV 0x%04x is not a string' % t)
    if T_ADDR6 in seen and T_ADDR4 in seen:
        bad.append('ERROR with two addresses')
    for t in required - seen:
        bad.append('%s without TLV 0x%04x' % (m.name(), t))
    if bad:
        return bad
    if m.type == OPEN:
        n = m.get(T_NODE_NAME)
        if not 1 <= len(n) <= NAME_MAX:
            bad.append('NODE_NAME of %d bytes' % len(n))
        sw = m.get(T_SW_VERSION)
        if sw is not None and len(sw) > SWVER_MAX:
            bad.append('SW_VERSION of %d bytes' % len(sw))
        if m.int(T_ROLE) not in (1, 2):
            bad.append('role %d' % m.int(T_ROLE))
        if m.get(T_DIRECTORY) is not None and m.int(T_DIRECTORY) == 0:
            bad.append('DIRECTORY 0')
        if m.int(T_KEEPALIVE_MS) < 1 or m.int(T_DEAD_MS) <= m.int(T_KEEPALIVE_MS):
            bad.append('timers %d/%d' % (m.int(T_KEEPALIVE_MS), m.int(T_DEAD_MS)))
    if m.type == ERROR:
        if m.code == 0:
            bad.append('ERROR code 0')
        if len(m.get(T_ERROR_TEXT) or b'') > TEXT_MAX:
            bad.append('ERROR_TEXT over 255 bytes')
    if m.type == ACK:
        st = m.get(T_STATUS)
        if st is not None:
            if len(st) == 0 or len(st) % 2:
                bad.append('STATUS of length %d' % len(st))
            elif len(st) // 2 > MAX_RECORDS:
                bad.append('more than 1024 statuses')
            elif m.int(T_COUNT) is not None and \
                    m.int(T_COUNT) != sum(1 for s in m.statuses if s == 0):
                bad.append('COUNT %d is not the number of zero statuses %s' %
                           (m.int(T_COUNT), m.statuses))
    if m.type in (REPLY, PUSH):
        recs = m.all(T_RECORD)
        if len(recs) > MAX_RECORDS:
            bad.append('%d records' % len(recs))
        if m.type == PUSH and m.int(T_VN) == 0:
            bad.append('PUSH of VN 0')
        allowed, required = REC_TLVS[m.type]
        for v in recs:
            try:
                fields = split_tlvs(v)
            except ValueError as e:
                bad.append('record-malformed: %s' % e)
                continue
            types = [t for t, _ in fields]
            for t in set(types) - allowed:
                bad.append('record field 0x%04x not carried by %s' % (t, m.name()))
            for t in set(types):
                if types.count(t) > 1:
                    bad.append('record field 0x%04x twice' % t)
            for t in required - set(types):
                bad.append('record without field 0x%04x' % t)
            if (T_ADDR6 in types) == (T_ADDR4 in types):
                bad.append('record without exactly one address')
            for t, fv in fields:
                if t in FIXED_LEN and len(fv) != FIXED_LEN[t]:
                    bad.append('record field 0x%04x length %d' % (t, len(fv)))
                if t == T_OWNER and not (1 <= len(fv) <= NAME_MAX and is_string(fv)):
                    bad.append('OWNER %r' % fv)
            r = decode_record(v)
            if r.get('vn') == 0:
                bad.append('record of VN 0')
            if m.type == REPLY and r.get('state') not in (UP, DOWN, FROZEN, REMOVED):
                bad.append('REPLY record in state %s' % r.get('state'))
            if m.type == REPLY and r.get('lifetime') == 0:
                bad.append('REPLY record with LIFETIME 0 (8.4: at least 1)')
            if m.type == PUSH:
                if r.get('state', 0) > REMOVED:
                    bad.append('PUSH record in state %s' % r.get('state'))
                if r.get('vn') != m.int(T_VN):
                    bad.append('PUSH of VN %s with a record of VN %s' % (m.int(T_VN),
                                                                         r.get('vn')))
    return bad


# --- a session --------------------------------------------------------------------

class Closed(Exception):
    pass


class Conn:
    all = []    # every Conn made: while one waits, the others send their KEEPALIVEs
    record_fields = []   # the field types, in order, of every REPLY or PUSH record received

    """A TLS (or plain TCP) connection to the mapper that reads frames.

    Frames that are not the awaited response (PUSH, KEEPALIVE, others) are kept in
    `self.queue`; every frame received is kept in `self.log` and checked by `validate`
    (departures in `self.invalid`)."""

    def __init__(self, host, port, ctx=None, server_hostname=None, timeout=5.0):
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ctx is not None:
            self.sock = ctx.wrap_socket(raw, server_hostname=server_hostname)
        else:
            self.sock = raw
        self.buf = b''
        self.queue = []
        self.log = []
        self.invalid = []
        self.eof = False
        self.last_sent = time.monotonic()
        self.auto_keepalive = True
        self.closed = False
        Conn.all.append(self)

    def send(self, data):
        self.sock.settimeout(10)
        self.sock.sendall(data)
        self.last_sent = time.monotonic()

    def close(self):
        self.closed = True
        if self in Conn.all:
            Conn.all.remove(self)
        try:
            self.sock.close()
        except OSError:
            pass

    def keepalive_all(self):
        """A KEEPALIVE on every other open connection silent for 0.5 s."""
        now = time.monotonic()
        for c in list(Conn.all):
            if c is not self and c.auto_keepalive and not c.eof and not c.closed and \
                    now - c.last_sent > 0.5:
                try:
                    c.send(keepalive())
                except OSError:
                    c.eof = True

    def _fill(self, deadline):
        """Read more bytes; False on timeout; raises Closed at EOF/reset."""
        if self.eof:
            raise Closed('closed')
        now = time.monotonic()
        if self.auto_keepalive and now - self.last_sent > 0.5:
            try:
                self.send(keepalive())
            except OSError:
                pass
        self.keepalive_all()
        left = deadline - now
        if left <= 0:
            return False
        self.sock.settimeout(min(left, 0.25))
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (ConnectionError, ssl.SSLError, OSError) as e:
            self.eof = True
            raise Closed(str(e))
        if not data:
            self.eof = True
            raise Closed('EOF')
        self.buf += data
        return True

    def _take(self):
        if len(self.buf) < 8:
            return None
        n = struct.unpack('!I', self.buf[4:8])[0]
        if n < HDR or n > MAX_FRAME:
            raise Closed('the mapper sent a bad length %d' % n)
        if len(self.buf) < n:
            return None
        raw, self.buf = self.buf[:n], self.buf[n:]
        try:
            m = Msg(raw)
        except ValueError as e:
            self.invalid.append('undecodable frame: %s' % e)
            return None
        self.log.append(m)
        if m.type in (REPLY, PUSH):
            try:
                Conn.record_fields.extend([t for t, _ in split_tlvs(v)]
                                          for v in m.all(T_RECORD))
            except ValueError:
                pass
        for b in validate(m):
            self.invalid.append('%s: %s' % (m.name(), b))
        return m

    def next_frame(self, timeout):
        """The next frame (queued first), or None on timeout. Raises Closed."""
        if self.queue:
            return self.queue.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            m = self._take()
            if m is not None:
                return m
            if not self._fill(deadline) and time.monotonic() >= deadline:
                return None

    def response(self, xid, timeout=5.0):
        """The first frame carrying `xid` (not a PUSH/KEEPALIVE); others are queued."""
        for i, m in enumerate(self.queue):
            if m.xid == xid and m.type not in (PUSH, KEEPALIVE):
                return self.queue.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._take()
            if m is not None:
                if m.xid == xid and m.type not in (PUSH, KEEPALIVE):
                    return m
                self.queue.append(m)
                continue
            if not self._fill(deadline) and time.monotonic() >= deadline:
                return None

    def collect(self, seconds, until=None):
        """Every frame within `seconds` (queued ones first) but KEEPALIVEs; stops early
        when until(list) is true; stops at EOF (self.eof says so)."""
        out = [m for m in self.queue if m.type != KEEPALIVE]
        self.queue = []
        deadline = time.monotonic() + seconds
        while not (until and until(out)):
            try:
                m = self._take()
                if m is not None:
                    if m.type != KEEPALIVE:
                        out.append(m)
                    continue
                if not self._fill(deadline) and time.monotonic() >= deadline:
                    break
            except Closed:
                break
        return out

    def wait_closed(self, timeout):
        """Frames received until the mapper closes (list), and whether it closed."""
        out = []
        deadline = time.monotonic() + timeout
        self.auto_keepalive = False
        try:
            while True:
                m = self.next_frame(max(0.0, deadline - time.monotonic()))
                if m is None:
                    if time.monotonic() >= deadline:
                        return out, False
                    continue
                out.append(m)
        except Closed:
            while True:
                try:
                    m = self._take()
                except Closed:
                    break
                if m is None:
                    break
                out.append(m)
            return out, True
