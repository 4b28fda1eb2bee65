#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the zebra API seed corpus through the fuzz target (TAP, one result).
exec "${top_builddir:-.}/tests/fuzz/replay_zapi" zapi "${top_srcdir:-.}/tests/fuzz/corpus/zapi"
