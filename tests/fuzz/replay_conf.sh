#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the conf seed corpus through the fuzz target (TAP, one result).
exec "${top_builddir:-.}/tests/fuzz/replay_conf" conf "${top_srcdir:-.}/tests/fuzz/corpus/conf"
