#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the hook seed corpus through the fuzz target (TAP, one result).
exec "${top_builddir:-.}/tests/fuzz/replay_hook" hook "${top_srcdir:-.}/tests/fuzz/corpus/hook"
