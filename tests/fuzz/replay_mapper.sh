#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the mapper seed corpus through the fuzz target (TAP, one result).
exec "${top_builddir:-.}/tests/fuzz/replay_mapper" mapper "${top_srcdir:-.}/tests/fuzz/corpus/mapper"
