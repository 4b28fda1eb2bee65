#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# In-flight forwarding after a move with the kernel's ILA module (mode ila:
# IPv6 re-translated, IPv4 carried inside IPv6 to an End.DX4 route) and in
# host-route mode (SRv6 to End.DX6 / End.DX4). See tests/vm/inflight.py.
exec python3 "$(dirname "$0")/../inflight.py" inflight ila host-route
