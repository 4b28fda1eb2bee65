#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# ilad on a kernel with ILA: routes, checksums, spoofing, restart, hot and
# cold moves and failover between namespaces. See tests/vm/ilad_node.py.
# Every phase (ilad_node.PHASES); tests/integration/run ilad-node-bpf runs
# them natively with dataplane bpf.
exec python3 "$(dirname "$0")/../ilad_node.py" ilad-node
