#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: scripts/lines.sh [MAX]
# Lists the C sources and headers of the daemons and their libraries
# (lib/, routing/, ilad/, ila-mapper/, etcd/, hook/, ilactl/) longer than MAX
# lines (default 1000), longest first; exits 1 when there is any. Tests
# are not counted.
set -u
cd "$(dirname "$0")/.." || exit 2
max=${1:-1000}
long=$(git ls-files 'lib/*.[ch]' 'routing/*.[ch]' 'routing/bpf/*.[ch]' 'ilad/*.[ch]' \
	'ila-mapper/*.[ch]' 'etcd/*.[ch]' 'hook/*.[ch]' 'ilactl/*.[ch]' |
	xargs wc -l | awk -v max="$max" '$2 != "total" && $1 > max' | sort -rn)
[ -z "$long" ] && exit 0
printf 'over %s lines:\n%s\n' "$max" "$long"
exit 1
