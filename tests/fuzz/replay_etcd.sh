#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the etcd seed corpus through the fuzz target (TAP, one result).
exec "${top_builddir:-.}/tests/fuzz/replay_etcd" etcd "${top_srcdir:-.}/tests/fuzz/corpus/etcd"
