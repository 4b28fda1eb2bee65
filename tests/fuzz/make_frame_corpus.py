#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the seed corpus of the frame fuzz target (tests/fuzz/corpus/frame/).

The frames are built from doc/protocol.md with this file's own small encoder,
not with the C codec: valid frames of every message type, a few streams of
several frames, and malformed frames of each kind. Run it from anywhere:

    python3 tests/fuzz/make_frame_corpus.py [OUTDIR]
"""

import os
import struct
import sys

OPEN, KEEPALIVE, REGISTER, DEREGISTER, QUERY, REPLY = 1, 2, 3, 4, 5, 6
SUBSCRIBE, UNSUBSCRIBE, PUSH, ACK, ERROR = 7, 8, 9, 10, 11

NODE_NAME, CAPS, KEEPALIVE_MS, DEAD_MS = 0x8001, 0x8002, 0x8003, 0x8004
ROLE, SW_VERSION = 0x8005, 0x0006
VN, JSEQ, MSG_FLAGS, COUNT, STATUS = 0x8007, 0x8008, 0x8009, 0x000A, 0x800B
ERROR_CODE, ERROR_TEXT, RECORD, ADDR6, ADDR4 = 0x800C, 0x000D, 0x800E, 0x800F, 0x8010
LOCATOR, STANDBY, SEQ, LIFETIME, STATE = 0x8011, 0x8012, 0x8013, 0x8014, 0x8015
REC_FLAGS, OWNER, PREV_LOCATOR = 0x8016, 0x0017, 0x0018


def tlv(t, v):
    return struct.pack(">HH", t, len(v)) + v


def u8(t, x):
    return tlv(t, struct.pack(">B", x))


def u16(t, x):
    return tlv(t, struct.pack(">H", x))


def u32(t, x):
    return tlv(t, struct.pack(">I", x))


def u64(t, x):
    return tlv(t, struct.pack(">Q", x))


def frame(mtype, body=b"", xid=1, flags=0, version=1, length=None):
    if length is None:
        length = 12 + len(body)
    return struct.pack(">BBHII", version, mtype, flags, length, xid) + body


def a6(last):
    return tlv(ADDR6, bytes.fromhex("20010db8000100000000000000000000")[:15] + bytes([last]))


def a4(last):
    return tlv(ADDR4, bytes([10, 0, 0, last]))


def loc(x):
    return struct.pack(">Q", x)


def record(*fields):
    return tlv(RECORD, b"".join(fields))


def mapping(i, vn=1, state=None, extra=b""):
    fields = (a6(i) if i % 2 else a4(i)) + u32(VN, vn) + tlv(LOCATOR, loc(0xA + i))
    fields += u64(SEQ, 100 + i) + u32(LIFETIME, 300)
    if state is not None:
        fields += u8(STATE, state)
    return record(fields + extra)


def open_body(name=b"node-1", ka=1000, dead=3000, role=1):
    return (tlv(NODE_NAME, name) + u32(CAPS, 3) + u32(KEEPALIVE_MS, ka)
            + u32(DEAD_MS, dead) + u8(ROLE, role))


VALID = {
    "open": frame(OPEN, open_body() + tlv(SW_VERSION, b"ila 0.1")),
    "open-mapper": frame(OPEN, open_body(b"mapper-\xc3\xa9", 5000, 15000, 2), xid=7),
    "keepalive": frame(KEEPALIVE, xid=0),
    "keepalive-advisory-flags": frame(KEEPALIVE, flags=0x00FF),
    "register": frame(REGISTER, mapping(1) + mapping(2), xid=10),
    "register-standby": frame(REGISTER, mapping(3, extra=tlv(STANDBY, loc(0xB))
                                                  + u32(REC_FLAGS, 1)), xid=11),
    "deregister": frame(DEREGISTER, record(a6(1) + u32(VN, 1) + u64(SEQ, 9) + u8(STATE, 1))
                        + record(a4(2) + u32(VN, 1) + u64(SEQ, 9) + u8(STATE, 3)), xid=12),
    "query": frame(QUERY, u32(VN, 1) + a6(1) + a4(2) + a6(3), xid=13),
    "query-watch": frame(QUERY, u32(VN, 1) + u32(MSG_FLAGS, 1) + a6(1) + a6(3), xid=17),
    "query-release": frame(QUERY, u32(VN, 1) + u32(MSG_FLAGS, 2) + a6(1), xid=18),
    "push-watched": frame(PUSH, u32(VN, 1) + u64(JSEQ, 43) + u32(MSG_FLAGS, 0x10)
                          + mapping(1, state=0, extra=tlv(OWNER, b"node-2")), xid=0),
    "reply": frame(REPLY, mapping(1, state=0, extra=tlv(OWNER, b"node-1"))
                   + mapping(2, state=2), xid=13),
    "reply-empty": frame(REPLY, xid=14),
    "subscribe": frame(SUBSCRIBE, u32(VN, 1) + u64(JSEQ, 0) + u32(MSG_FLAGS, 1), xid=15),
    "unsubscribe": frame(UNSUBSCRIBE, u32(VN, 1), xid=16),
    "push": frame(PUSH, u32(VN, 1) + u64(JSEQ, 42) + u32(MSG_FLAGS, 3)
                  + mapping(1, state=0, extra=tlv(OWNER, b"node-2") + tlv(PREV_LOCATOR, loc(5)))
                  + mapping(2, state=3), xid=0),
    "ack": frame(ACK, xid=10),
    "ack-status": frame(ACK, u32(COUNT, 1) + tlv(STATUS, struct.pack(">HH", 0, 0x204)), xid=10),
    "error": frame(ERROR, u16(ERROR_CODE, 0x203) + tlv(ERROR_TEXT, b"outside vn") + a6(9),
                   xid=10),
    "unknown-optional": frame(PUSH, u32(0x0123, 1) + u32(VN, 1) + u64(JSEQ, 1)
                              + mapping(1, state=0, extra=u64(0x0042, 7))),
}

BAD = {
    "bad-short-header": frame(KEEPALIVE)[:7],
    "bad-version": frame(KEEPALIVE, version=2),
    "bad-length": frame(KEEPALIVE, length=11),
    "bad-length-huge": frame(KEEPALIVE, length=0x00040001),
    "bad-unknown-type": frame(12, u32(VN, 1)),
    "bad-critical-flag": frame(KEEPALIVE, flags=0x8000),
    "bad-tlv-truncated": frame(UNSUBSCRIBE, u32(VN, 1)[:6]),
    "bad-tlv-length": frame(UNSUBSCRIBE, tlv(VN, b"\x00\x01")),
    "bad-duplicate": frame(UNSUBSCRIBE, u32(VN, 1) + u32(VN, 2)),
    "bad-missing": frame(SUBSCRIBE, u32(VN, 1)),
    "bad-unknown-mandatory": frame(UNSUBSCRIBE, u32(VN, 1) + u32(0xFFF0, 1)),
    "bad-state": frame(PUSH, u32(VN, 1) + u64(JSEQ, 1) + mapping(1, state=4)),
    "bad-record-malformed": frame(DEREGISTER, tlv(RECORD, b"\x80\x07\x00\x05\x00\x00\x00\x01")),
    "bad-utf8": frame(ERROR, u16(ERROR_CODE, 0x207) + tlv(ERROR_TEXT, b"\xe0\x80\xaf")),
}

STREAMS = {
    "stream-session": VALID["open"] + VALID["subscribe"] + VALID["push"] + VALID["keepalive"]
                      + VALID["register"] + VALID["ack-status"],
    "stream-then-garbage": VALID["query"] + VALID["reply"] + BAD["bad-version"],
    "stream-cut": VALID["register"] + VALID["push"][:30],
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "frame")
    os.makedirs(out, exist_ok=True)
    for group in (VALID, BAD, STREAMS):
        for name, data in group.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
    print(f"{len(VALID) + len(BAD) + len(STREAMS)} seeds in {out}")


if __name__ == "__main__":
    main()
