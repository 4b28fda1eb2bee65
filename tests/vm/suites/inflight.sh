#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# In-flight forwarding after a move with the kernel's ILA module (mode ila:
# IPv6 re-translated to the new locator, IPv4 carried inside IPv6 to an
# End.DX4 route). host-route mode runs natively (tests/integration/run
# inflight). See tests/vm/inflight.py.
exec python3 "$(dirname "$0")/../inflight.py" inflight ila
