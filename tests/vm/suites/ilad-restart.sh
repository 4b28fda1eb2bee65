#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# ilad restarts at the worst moment (SIGTERM and SIGKILL, down past the
# expiry of a short lifetime), a workload moved while its node was down, and
# attaches refused by the mapper. See tests/vm/ilad_restart.py.
# Every phase (ilad_restart.PHASES); tests/integration/run ilad-restart-bpf
# runs them natively with dataplane bpf.
exec python3 "$(dirname "$0")/../ilad_restart.py" ilad-restart
