#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# ilad on a kernel with ILA: routes, checksums, spoofing, restart, hot and
# cold moves and failover between namespaces. See tests/vm/ilad_node.py.
exec python3 "$(dirname "$0")/../ilad_node.py" ilad-node \
	routes checksums spoof restart hot inflight cold failover
