#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the frame seed corpus through the fuzz target (TAP, one result).
exec "${top_builddir:-.}/tests/fuzz/replay_frame" frame "${top_srcdir:-.}/tests/fuzz/corpus/frame"
