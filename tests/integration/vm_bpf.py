# SPDX-License-Identifier: GPL-2.0-or-later
"""The suites ilad-node-bpf and ilad-restart-bpf of tests/integration/run:
the VM suites that exercise the data path (tests/vm/ilad_node.py and
tests/vm/ilad_restart.py, every phase) run natively on this machine's own
kernel with `dataplane bpf` on every ilad, no qemu. The checks are the VM
suites'; where the module keeps a route or a translation entry, BPF's
prefix route, ila_map, ila_locators, ila_prefixes and ila_in are read (see
those files). The same suites run in the test VM with the module
(tests/vm/run ilad-node ilad-restart).

Needs root, network namespaces and an ilad built with the BPF data path;
otherwise one SKIP line and nothing counted.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'vm'))

import bpf_move  # noqa: E402
import ilad_net as N  # noqa: E402
import ilad_node  # noqa: E402
import ilad_restart  # noqa: E402


def suite(it, root, res, name):
    why = bpf_move.usable(it)
    if why:
        print('SKIP: %s: %s' % (name, why), flush=True)
        return
    N.OUT = root     # the daemons' logs are kept with the other suites'
    if name == 'ilad-node-bpf':
        s = ilad_node.Suite(name, dataplane='bpf')
        phases = ilad_node.PHASES
    else:
        s = ilad_restart.RestartSuite(name, dataplane='bpf')
        s.stream_s = 22     # no emulation: A is back well within it
        phases = [p.replace('-', '_') for p in ilad_restart.PHASES]
    try:
        s.run(phases)
    finally:
        # the suite prints its own PASS/FAIL lines; they count here too
        res.passed += s.res.passed
        res.failed += s.res.failed
