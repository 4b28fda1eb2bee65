#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Independent model of Linux ILA address translation (net/ipv6/ila/).

This model is written from the description of the kernel's algorithm, in plain
integer arithmetic, and shares no code with the C library it checks. It prints
test vectors (ila_vectors.txt) that tests/unit/test_vectors.c replays against
the C code. Output is deterministic: regenerating must give the same file.

Ones'-complement arithmetic is modelled as arithmetic modulo 0xffff, with the
kernel's representation of the result: a sum is 0x0000 only when every added
word is zero, otherwise it is the residue in 1..0xffff (so "minus zero" is
0xffff). The kernel gets there with end-around carries; this model gets there
with one modulo, which is why the two are worth comparing.

Kernel behaviour modelled (ila_common.c, ila_lwt.c, ila_xlat.c):
  diff       = (old upper 64 bits) - (new upper 64 bits), as a ones' sum of the
               four 16-bit words of each ("old" is the locator being replaced:
               the SIR prefix on SIR->ILA, the locator on ILA->SIR).
  neutral-map       SIR->ILA: refused when the C-bit (0x10 of identifier byte 0)
                    is set; otherwise the low 16 bits of the identifier become
                    low16 + diff - 0x1000 and the C-bit is set.
                    ILA->SIR: only when the C-bit is set: low16 + diff + 0x1000,
                    and the C-bit is cleared.
  neutral-map-auto  both directions: low16 + diff, C-bit untouched.
  no-action, adj-transport: only the upper 64 bits change.
  adj-transport's transport checksum update: a correct incremental update
  (RFC 1624 eqn. 3) adds (new - old); the kernel adds the same "diff" as the
  neutral mapping, i.e. (old - new), which is what REFERENCE.md measured as an
  invalid UDP checksum. Both are emitted: adjtransport (correct) and adjkernel.
"""

import ipaddress
import random
import sys

SEED = 20261127

M64 = (1 << 64) - 1
C_BIT = 1 << 60  # bit 67 of the address = bit 60 of the identifier
TYPE_SHIFT = 61  # bits 64-66 of the address = top 3 bits of the identifier

MODES = ("adj-transport", "neutral-map", "no-action", "neutral-map-auto")


# ---- ones'-complement arithmetic -------------------------------------------

def oc(words):
    """Ones'-complement sum of 16-bit words, represented as the kernel does."""
    total = sum(words)
    if total == 0:
        return 0
    return (total - 1) % 0xFFFF + 1


def neg(w):
    return w ^ 0xFFFF


def words64(v):
    return [(v >> s) & 0xFFFF for s in (48, 32, 16, 0)]


def words_bytes(data):
    if len(data) % 2:
        data = data + b"\0"
    return [data[i] << 8 | data[i + 1] for i in range(0, len(data), 2)]


# ---- addresses --------------------------------------------------------------

def addr(s):
    return int(ipaddress.IPv6Address(s))


def addr_str(a):
    """RFC 5952 text, done here so that the output does not depend on the
    Python version (3.13 prints IPv4-mapped addresses differently)."""
    groups = [(a >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best, best_len, i = -1, 1, 0
    while i < 8:
        j = i
        while j < 8 and groups[j] == 0:
            j += 1
        if j - i > best_len:
            best, best_len = i, j - i
        i = max(j, i + 1)
    text = ["%x" % g for g in groups]
    if best < 0:
        return ":".join(text)
    return ":".join(text[:best]) + "::" + ":".join(text[best + best_len:])


def loc_str(v):
    # iproute2 prints a locator as four unpadded lower-case hex groups.
    return ":".join("%x" % w for w in words64(v))


def loc(s):
    parts = s.split(":")
    assert len(parts) == 4
    v = 0
    for p in parts:
        v = v << 16 | int(p, 16)
    return v


def prefix_str(upper):
    return "%s/64" % addr_str(upper << 64)


def neutral_adjust(a, new_upper, flip):
    old_upper = a >> 64
    ident = a & M64
    terms = [neg(w) for w in words64(new_upper)] + words64(old_upper)
    if flip:
        if ident & C_BIT:
            terms += [0x1000, 0x0000]  # clearing the C-bit removes 0x1000
        else:
            terms += [0xEFFF, 0xFFFF]  # setting it adds 0x1000: subtract it
        ident ^= C_BIT
    low = oc(terms + [ident & 0xFFFF])
    return (ident & ~0xFFFF & M64) | low


def translate(a, new_upper, mode, sir2ila):
    """Returns the translated address, or None where the kernel refuses."""
    ident = a & M64
    if mode == "neutral-map":
        if sir2ila and ident & C_BIT:
            return None
        if sir2ila or ident & C_BIT:
            ident = neutral_adjust(a, new_upper, True)
    elif mode == "neutral-map-auto":
        ident = neutral_adjust(a, new_upper, False)
    return new_upper << 64 | ident


def sir2ila(sir, locator, mode):
    return translate(sir, locator, mode, True)


def ila2sir(ila, prefix, mode):
    return translate(ila, prefix, mode, False)


# ---- transport checksums ----------------------------------------------------

def l4_csum(src, dst, proto, payload):
    """IPv6 upper-layer checksum (RFC 8200 8.1) over the given bytes."""
    n = len(payload)
    pseudo = (words64(src >> 64) + words64(src & M64) + words64(dst >> 64) +
              words64(dst & M64) + [n >> 16, n & 0xFFFF, 0, proto])
    return neg(oc(pseudo + words_bytes(payload)))


def adjust_transport(csum, frm, to):
    # The kernel's csum_replace_by_diff() adds ~csum as a 32-bit value whose
    # upper half is 0xffff: that keeps the sum from ever being zero.
    return neg(oc([0xFFFF, neg(csum)] + [neg(w) for w in words64(frm)] +
                  words64(to)))


def adjust_transport_kernel(csum, frm, to):
    return adjust_transport(csum, to, frm)


# ---- self checks -----------------------------------------------------------

def check(cond, what):
    if not cond:
        sys.stderr.write("ila_model.py: self-check failed: %s\n" % what)
        sys.exit(1)


def self_checks(rng):
    route_loc = loc("2001:0:0:a")
    measured = [
        ("neutral-map", "2001:db8:1::41", "2001::a:1000:0:0:fdef"),
        ("neutral-map-auto", "2001:db8:1::44", "2001:0:0:a::df3"),
        ("no-action", "2001:db8:1::43", "2001:0:0:a::43"),
        ("adj-transport", "2001:db8:1::42", "2001:0:0:a::42"),
    ]
    for mode, sir, wire in measured:
        got = sir2ila(addr(sir), route_loc, mode)
        check(got == addr(wire), "measured %s %s -> %s, model says %s" %
              (mode, sir, wire, got is not None and addr_str(got)))

    # Checksum-neutral mapping keeps every UDP checksum valid: the checksum
    # computed over the SIR destination equals the one over the ILA one.
    src = addr("2001:db8:2::7")
    for _ in range(8):
        sir = addr("2001:db8:1::") | (1 << TYPE_SHIFT) | rng.getrandbits(60)
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(8, 200)))
        for mode in ("neutral-map", "neutral-map-auto"):
            ila = sir2ila(sir, route_loc, mode)
            check(l4_csum(src, sir, 17, payload) == l4_csum(src, ila, 17, payload),
                  "%s is not checksum neutral for %s" % (mode, addr_str(sir)))
            check(ila2sir(ila, sir >> 64, mode) == sir,
                  "%s round trip of %s" % (mode, addr_str(sir)))
        ila = sir2ila(sir, route_loc, "adj-transport")
        before = l4_csum(src, sir, 17, payload)
        after = l4_csum(src, ila, 17, payload)
        check(before != after, "locator change left the checksum unchanged")
        check(adjust_transport(before, sir >> 64, route_loc) == after,
              "adjust_transport does not give the ILA checksum")
        # What REFERENCE.md measured: the kernel's update is invalid.
        check(adjust_transport_kernel(before, sir >> 64, route_loc) != after,
              "kernel adj-transport unexpectedly valid")


# ---- vectors ----------------------------------------------------------------

def rand_ident(rng, ident_type, c_bit=False):
    ident = ident_type << TYPE_SHIFT | rng.getrandbits(60)
    return ident | C_BIT if c_bit else ident & ~C_BIT


def main():
    rng = random.Random(SEED)
    self_checks(rng)
    out = []
    emit = out.append

    def v_sir2ila(mode, sir, locator):
        r = sir2ila(sir, locator, mode)
        emit("sir2ila %s %s %s %s" % (mode, addr_str(sir), loc_str(locator),
                                      "ERROR" if r is None else addr_str(r)))
        return r

    def v_ila2sir(mode, ila, prefix):
        emit("ila2sir %s %s %s %s" % (mode, addr_str(ila), prefix_str(prefix),
                                      addr_str(ila2sir(ila, prefix, mode))))

    def v_trip(mode, sir, locator):
        ila = v_sir2ila(mode, sir, locator)
        if ila is not None:
            v_ila2sir(mode, ila, sir >> 64)

    emit("# ILA translation vectors from tests/model/ila_model.py (seed %d)." % SEED)
    emit("# Regenerate: python3 tests/model/ila_model.py > tests/model/ila_vectors.txt")
    emit("# sir2ila <csum-mode> <sir-addr> <locator W:X:Y:Z> <ila-addr|ERROR>")
    emit("# ila2sir <csum-mode> <ila-addr> <sir-prefix/64> <sir-addr>")
    emit("# adjtransport <csum> <from-locator> <to-locator> <csum>  (correct update)")
    emit("# adjkernel <csum> <from-locator> <to-locator> <csum>  (what the kernel does)")
    emit("# l4csum <src> <dst> <proto> <payload-hex|-> <csum>  (checksum, not 0->ffff)")
    emit("# Checksums are 4 lower-case hex digits; csum-mode uses iproute2's names.")

    emit("# The four translations measured on a kernel (REFERENCE.md section 1).")
    route_loc = loc("2001:0:0:a")
    for mode, last in (("neutral-map", 0x41), ("neutral-map-auto", 0x44),
                       ("no-action", 0x43), ("adj-transport", 0x42)):
        v_sir2ila(mode, addr("2001:db8:1::") | last, route_loc)

    emit("# Every mode, C-bit clear, LUID identifiers, with the way back.")
    for mode in MODES:
        for _ in range(3):
            v_trip(mode, addr("2001:db8:1::") | rand_ident(rng, 1),
                   rng.getrandbits(64))

    emit("# C-bit set in the SIR address: neutral-map refuses it.")
    for mode in MODES:
        v_sir2ila(mode, addr("2001:db8:1::") | rand_ident(rng, 1, True),
                  loc("2001:db8:ff:1"))

    emit("# Other identifier types: the translation does not look at them.")
    for t in range(8):
        mode = MODES[t % 4] if t % 4 != 2 else "neutral-map"
        v_trip(mode, addr("2001:db8:7::") | rand_ident(rng, t), rng.getrandbits(64))

    emit("# Edge cases: zero and all-ones locators, prefixes and identifiers.")
    ones = M64
    for mode in ("neutral-map", "neutral-map-auto"):
        v_trip(mode, addr("::1"), 0)                        # zero prefix and locator
        v_trip(mode, addr("::"), ones)                       # all-zero terms: stays 0
        v_trip(mode, addr("2001:db8:1::"), route_loc)        # low16 0 returns as ffff
        v_trip(mode, addr("2001:db8:1::ffff"), route_loc)
        v_trip(mode, addr("2001:db8:1:0:efff:ffff:ffff:ffff"), ones)
        v_trip(mode, addr("ffff:ffff:ffff:ffff:2000::"), 0)
        v_trip(mode, addr("2001:db8:1::efff"), loc("2001:db8:1:1000"))
        v_trip(mode, addr("2001:db8:1:0:2000::abcd"), loc("2001:db8:1:0"))
    v_sir2ila("neutral-map", addr("2001:db8:1:0:ffff:ffff:ffff:ffff"), route_loc)
    v_sir2ila("neutral-map-auto", addr("2001:db8:1:0:ffff:ffff:ffff:ffff"), route_loc)
    v_sir2ila("no-action", addr("::"), ones)
    v_sir2ila("adj-transport", addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0)

    emit("# ILA addresses not made here: C-bit set and clear, every mode.")
    for mode in MODES:
        for c in (False, True):
            ila = rng.getrandbits(64) << 64 | rand_ident(rng, 1, c)
            v_ila2sir(mode, ila, loc("2001:db8:1:0"))

    emit("# Transport checksum updates for adj-transport and no-action.")
    cases = [(0x0000, route_loc, loc("2001:db8:1:0")),
             (0xFFFF, route_loc, loc("2001:db8:1:0")),
             (0x1234, 0, ones),
             (0x1234, ones, 0),
             (0xFFFF, 0, 0),
             (0x0000, ones, ones),
             (0xFFFF, ones, 0),
             (0xABCD, loc("2001:db8:1:0"), loc("2001:db8:1:0"))]
    for _ in range(6):
        cases.append((rng.getrandbits(16), rng.getrandbits(64), rng.getrandbits(64)))
    for csum, frm, to in cases:
        emit("adjtransport %04x %s %s %04x" % (csum, loc_str(frm), loc_str(to),
                                               adjust_transport(csum, frm, to)))
    for csum, frm, to in cases[:8]:
        emit("adjkernel %04x %s %s %04x" % (csum, loc_str(frm), loc_str(to),
                                            adjust_transport_kernel(csum, frm, to)))

    emit("# IPv6 TCP/UDP/ICMPv6 checksums with the pseudo-header.")
    l4 = [(addr("::"), addr("::"), 17, b""),
          (addr("2001:db8:2::7"), addr("2001:db8:1::41"), 17, b"\x00"),
          (addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
           addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 255, b"\xff" * 7)]
    for proto in (6, 17, 58, 17, 6):
        n = rng.randrange(1, 64)
        l4.append((addr("2001:db8:2::") | rng.getrandbits(64),
                   addr("2001:db8:1::") | rand_ident(rng, 1), proto,
                   bytes(rng.getrandbits(8) for _ in range(n))))
    for src, dst, proto, payload in l4:
        emit("l4csum %s %s %d %s %04x" % (addr_str(src), addr_str(dst), proto,
                                          payload.hex() or "-",
                                          l4_csum(src, dst, proto, payload)))

    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
