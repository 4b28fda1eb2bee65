#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The same packets (UDP, TCP, ICMPv6) through the kernel's ILA module and
# through the BPF data path, both directions, every checksum mode, compared
# byte for byte on the wire. See tests/vm/dataplane_compare.py.
exec python3 "$(dirname "$0")/../dataplane_compare.py" "$@"
