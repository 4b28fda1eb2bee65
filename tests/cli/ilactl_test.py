#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ilactl against a fake daemon speaking FRR's vty framing (TAP output).

Each case starts a one-shot server on a unix socket, runs the real ilactl
binary against it, and checks what the server received, what ilactl printed
and its exit status.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading

BUILD = os.environ.get("top_builddir", ".")
ILACTL = os.path.join(BUILD, "ilactl", "ilactl")


def serve_once(path, answer, received, close_early=False, silent=False):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        data = b""
        while not data.endswith(b"\0"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        received.append(data)
        if silent:
            conn.recv(1)  # wait for the client to give up
        elif close_early:
            conn.sendall(answer[:3])
        else:
            # dribble the answer to exercise partial reads
            for i in range(0, len(answer), 3):
                conn.sendall(answer[i:i + 3])
        conn.close()
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def run_case(args, answer, **kw):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ctl.sock")
        received = []
        t = serve_once(path, answer, received, **kw)
        p = subprocess.run([ILACTL, "-s", path] + args, capture_output=True, timeout=20)
        t.join(5)
        return p, received


cases = []


def case(fn):
    cases.append(fn)
    return fn


@case
def success_passes_output():
    out = b"Address  Locator\n2001:db8:1::42  2001:db8:0:a\n"
    p, rx = run_case(["show", "mappings"], out + b"\0\0\0\0")
    assert rx == [b"show mappings\0"], rx
    assert p.returncode == 0, p
    assert p.stdout == out, p.stdout


@case
def json_flag_appends_json():
    p, rx = run_case(["-j", "show", "stats"], b'{"refused":0}\n\0\0\0\0')
    assert rx == [b"show stats json\0"], rx
    assert p.returncode == 0
    assert p.stdout == b'{"refused":0}\n'


@case
def unknown_command_fails():
    p, rx = run_case(["frobnicate"], b"% Unknown command\n\0\0\0\2")
    assert p.returncode == 1, p.returncode
    assert b"unknown command: frobnicate" in p.stderr, p.stderr
    assert p.stdout == b"% Unknown command\n"


@case
def warning_status_fails():
    p, _ = run_case(["attach", "2001:db8:1::42"], b"\0\0\0\1")
    assert p.returncode == 1


@case
def closed_before_marker_is_an_error():
    p, _ = run_case(["show", "local"], b"partial answer", close_early=True)
    assert p.returncode == 1
    assert b"closed before the end" in p.stderr, p.stderr


@case
def timeout_is_reported():
    p, _ = run_case(["-t", "1", "show", "local"], b"", silent=True)
    assert p.returncode == 1
    assert b"no answer in time" in p.stderr, p.stderr


@case
def missing_socket_names_daemon():
    p = subprocess.run([ILACTL, "-M", "-s", "/nonexistent/ila.sock", "show", "nodes"],
                       capture_output=True, timeout=10)
    assert p.returncode == 1
    assert b"cannot connect to /nonexistent/ila.sock" in p.stderr
    assert b"ila-mapper running" in p.stderr, p.stderr


@case
def usage_errors_exit_2():
    for args in ([], ["-t", "0", "show"], ["--bogus"]):
        p = subprocess.run([ILACTL] + args, capture_output=True, timeout=10)
        assert p.returncode == 2, (args, p.returncode)
    p = subprocess.run([ILACTL, "--version"], capture_output=True, timeout=10)
    assert p.returncode == 0 and p.stdout.startswith(b"ilactl ")


def main():
    print("1..%d" % len(cases))
    failed = 0
    for i, fn in enumerate(cases, 1):
        try:
            fn()
            print("ok %d - %s" % (i, fn.__name__))
        except Exception as e:  # report and go on
            failed += 1
            print("not ok %d - %s: %r" % (i, fn.__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
