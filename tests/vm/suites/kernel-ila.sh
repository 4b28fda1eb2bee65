#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest kernel does ILA, and does it as the library and the model say:
# real packets through "encap ila" routes and "ip ila" translation entries in
# every checksum mode, captured on the wire. See tests/vm/kernel_ila.py.
exec python3 "$(dirname "$0")/../kernel_ila.py" "$@"
