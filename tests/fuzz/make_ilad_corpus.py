#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the seed corpus of the ilad fuzz target (tests/fuzz/corpus/ilad/).

Each seed is what a mapper sends to ilad: a first byte choosing the preamble
(bit 0: the target sends a valid mapper OPEN first), then frames built with
the encoder of make_frame_corpus.py (from doc/protocol.md, not the C codec).
The fuzz target's ilad serves vn 1 (2001:db8:1::/64, 10.0.0.0/8) and vn 2
(2001:db8:2::/64, no IPv4 prefix); vn 7 it does not serve. Run from anywhere:

    python3 tests/fuzz/make_ilad_corpus.py [OUTDIR]
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_frame_corpus as fc  # noqa: E402

UP, DOWN, FROZEN, REMOVED = 0, 1, 2, 3


def rec(addr, vn, locator=0xA, seq=100, state=UP, owner=b"n2", extra=b""):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    a = fc.tlv(fc.ADDR6 if fam == socket.AF_INET6 else fc.ADDR4, socket.inet_pton(fam, addr))
    return fc.record(a + fc.u32(fc.VN, vn) + fc.tlv(fc.LOCATOR, fc.loc(locator))
                     + fc.u64(fc.SEQ, seq) + fc.u32(fc.LIFETIME, 300) + fc.u8(fc.STATE, state)
                     + (fc.tlv(fc.OWNER, owner) if owner else b"") + extra)


def push(vn, records, flags=3, jseq=5):
    return fc.frame(fc.PUSH, fc.u32(fc.VN, vn) + fc.u64(fc.JSEQ, jseq)
                    + fc.u32(fc.MSG_FLAGS, flags) + b"".join(records), xid=0)


OPENED = b"\x01"
SEEDS = {
    "snapshot": OPENED + push(1, [rec("2001:db8:1::1", 1), rec("10.0.0.1", 1),
                                  rec("2001:db8:1::2", 1, state=DOWN)])
                + push(2, [rec("2001:db8:2::1", 2, state=FROZEN)]),
    "snapshot-in-parts": OPENED + push(1, [rec("2001:db8:1::1", 1)], flags=1 | 4)
                         + push(1, [rec("2001:db8:1::3", 1)], flags=4)
                         + push(1, [rec("2001:db8:1::1", 1, seq=101, state=REMOVED)], flags=2),
    "own-mapping-moves": OPENED + push(1, [rec("2001:db8:1::5", 1, owner=b"n1", locator=1)])
                         + push(1, [rec("2001:db8:1::5", 1, seq=101, owner=b"n2",
                                        extra=fc.tlv(fc.PREV_LOCATOR, fc.loc(1)))], flags=8),
    "standby": OPENED + push(1, [rec("2001:db8:1::6", 1, extra=fc.tlv(fc.STANDBY, fc.loc(1))
                                     + fc.u32(fc.REC_FLAGS, 1))]),
    "watched": OPENED + push(1, [rec("2001:db8:1::c", 1)], flags=0x10)
               + push(1, [rec("2001:db8:1::c", 1, seq=101, state=REMOVED)], flags=0x10 | 4)
               + push(2, [rec("2001:db8:2::c", 2)], flags=0x10),
    "outside": OPENED + push(1, [rec("2001:db8:9::1", 1), rec("192.168.0.1", 1)])
               + push(2, [rec("10.0.0.2", 2)]) + push(7, [rec("2001:db8:1::7", 7)]),
    "reply": OPENED + fc.frame(fc.REPLY, rec("2001:db8:1::8", 1) + rec("2001:db8:7::1", 7),
                               xid=3),
    "ack-and-errors": OPENED + fc.frame(fc.ACK, xid=2)
                      + fc.frame(fc.ACK, fc.u32(fc.COUNT, 1)
                                 + fc.tlv(fc.STATUS, b"\x00\x00\x02\x04"), xid=3)
                      + fc.frame(fc.ERROR, fc.u16(fc.ERROR_CODE, 0x203)
                                 + fc.tlv(fc.ERROR_TEXT, b"refused\n\x1b[31m"), xid=2)
                      + fc.frame(fc.ERROR, fc.u16(fc.ERROR_CODE, 0x207), xid=0),
    "cease": OPENED + fc.frame(fc.KEEPALIVE, xid=0)
             + fc.frame(fc.ERROR, fc.u16(fc.ERROR_CODE, 0x20D)
                        + fc.tlv(fc.ERROR_TEXT, b"bye"), xid=0),
    "malformed-then-push": OPENED + fc.BAD["bad-state"] + fc.BAD["bad-tlv-length"]
                           + push(1, [rec("2001:db8:1::9", 1)]),
    "lost-framing": OPENED + fc.BAD["bad-version"] + push(1, [rec("2001:db8:1::a", 1)]),
    "no-open": b"\x00" + push(1, [rec("2001:db8:1::1", 1)]),
    "open-as-node": b"\x00" + fc.frame(fc.OPEN, fc.open_body(b"n2", role=1)),
    "open-then-push": b"\x00" + fc.frame(fc.OPEN, fc.open_body(b"mapper", 1000, 3000, 2))
                      + push(1, [rec("2001:db8:1::b", 1)]),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "ilad")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()
