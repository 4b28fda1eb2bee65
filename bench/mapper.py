#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run mapper: ila-mapper against redis-server, measured in the same run.

Durable registrations per second and lookups per second over loopback with
BENCH_MAPPINGS mappings (default 1,000,000), beside redis-server doing SET
(appendonly, appendfsync everysec) and GET with keys and values of the same
size and the same pipelining depth, both in plaintext on loopback. The
mapper's TLS registration rate is printed beside them, and the resident
memory per mapping of both. Figures go to bench/results.json.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from record import record  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = os.environ.get("ILA_BUILD", os.path.join(TOP, "build", "main"))
N = int(os.environ.get("BENCH_MAPPINGS", "1000000"))
BATCH, WINDOW = 256, 4            # records per message, messages in flight
DEPTH = BATCH * WINDOW            # records in flight: redis-benchmark -P
VALUE = 32                        # redis value bytes: a record's locator, seq, lifetime, state


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss(pid):
    """Resident memory of pid: (anonymous, file-backed) bytes."""
    anon = filed = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                anon = int(line.split()[1]) * 1024
            elif line.startswith("RssFile:") or line.startswith("RssShmem:"):
                filed += int(line.split()[1]) * 1024
    return anon, filed


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def start_mapper(tmp, name, tls):
    port = free_port()
    d = os.path.join(tmp, name)
    os.makedirs(d)
    conf = os.path.join(d, "m.conf")
    lines = ["listen 127.0.0.1 port %d" % port, "store %s/store" % d,
             "store-map-size 8192", "control %s/ctl.sock" % d, "pidfile %s/pid" % d,
             "lifetime default 3600 max 3600", "node n1", "commit batch 4096 delay 0",
             # a benchmark measures the directory, not its quotas
             "quota node-mappings 0 vn-mappings 0 rate 0",
             "vn blue id 100 sir-prefix 2001:db8:100::/64", "vn blue serve n1"]
    if tls:
        pki = os.path.join(tmp, "pki")
        if not os.path.exists(pki):
            subprocess.run([os.path.join(TOP, "scripts", "mkcerts.sh"), pki, "mapper", "n1"],
                           check=True)
        lines.append("tls certificate %s/mapper.crt key %s/mapper.key ca %s/ca.crt" % (pki, pki, pki))
    else:
        lines.append("plaintext")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    log = open(os.path.join(d, "log"), "w")
    p = subprocess.Popen([os.path.join(BUILD, "ila-mapper", "ila-mapper"), "-d", "-f", conf],
                         stdout=log, stderr=log)
    wait_port(port)
    return p, port


def probe(port, cmd, count, tls_dir=None, out=subprocess.DEVNULL):
    args = [os.path.join(BUILD, "tests", "integration", "ila-probe"), cmd,
            "--connect", "127.0.0.1:%d" % port, "--node", "n1", "--vn", "100",
            "--prefix", "2001:db8:100::/64", "--start", "1", "--count", str(count),
            "--batch", str(BATCH), "--window", str(WINDOW), "--timeout", "600"]
    if cmd == "register":
        args += ["--locator", "2001:db8:0:a", "--seq", "1", "--lifetime", "3600"]
    else:
        args += ["--quiet"]
    args += ["--tls", tls_dir, "--name", "n1"] if tls_dir else ["--plaintext"]
    t0 = time.perf_counter()
    r = subprocess.run(args, stdout=out, stderr=subprocess.PIPE, timeout=900)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("ila-probe %s failed (%d): %s" % (cmd, r.returncode, r.stderr.decode()[-500:]))
    return dt


def redis_bench(tmp):
    port = free_port()
    d = os.path.join(tmp, "redis")
    os.makedirs(d)
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
                            "--dir", d, "--daemonize", "no", "--protected-mode", "yes"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        base_anon, base_file = rss(srv.pid)
        res = {}
        for test in ("set", "get"):
            # keys "key:" + 12 digits = 16 bytes, as an IPv6 address; one client,
            # DEPTH commands in flight, every key of the keyspace touched
            r = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "1",
                                "-n", str(N), "-r", str(N), "-P", str(DEPTH), "-d", str(VALUE),
                                "-t", test, "--csv"], capture_output=True, text=True, timeout=900)
            m = re.search(r'"%s","([0-9.]+)"' % test.upper(), r.stdout)
            if not m:
                raise RuntimeError("redis-benchmark %s: %s %s" % (test, r.stdout, r.stderr))
            res[test] = float(m.group(1))
        info = subprocess.run(["redis-cli", "-p", str(port), "info"], capture_output=True,
                              text=True).stdout
        keys = int(re.search(r"keys=(\d+)", info).group(1))
        anon, filed = rss(srv.pid)
        res["keys"] = keys
        res["rss_per_key"] = (anon + filed - base_anon - base_file) / keys
        return res
    finally:
        srv.terminate()
        srv.wait(10)


def main():
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if not shutil.which(tool):
            sys.exit("bench mapper: %s not found: run scripts/deps.sh" % tool)
    tmp = tempfile.mkdtemp(prefix="ila-bench-mapper-")
    procs = []
    try:
        mp, port = start_mapper(tmp, "plain", tls=False)
        procs.append(mp)
        time.sleep(0.2)
        a0, f0 = rss(mp.pid)
        t_reg = probe(port, "register", N)
        a1, f1 = rss(mp.pid)
        t_get = probe(port, "query", N)
        a2, f2 = rss(mp.pid)
        mp.send_signal(signal.SIGTERM)
        mp.wait(30)
        n_tls = max(N // 5, 1000)
        tp, tport = start_mapper(tmp, "tls", tls=True)
        procs.append(tp)
        t_tls = probe(tport, "register", n_tls, tls_dir=os.path.join(tmp, "pki"))
        tp.send_signal(signal.SIGTERM)
        tp.wait(30)
        rd = redis_bench(tmp)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    reg_rate, get_rate, tls_rate = N / t_reg, N / t_get, n_tls / t_tls
    # after both phases: every page of the store the mapper touched is counted
    per_anon = (a2 - a0) / N
    per_total = (a2 + f2 - a0 - f0) / N
    results = [
        {"name": "mapper_durable_registrations", "unit": "per s", "ila": round(reg_rate),
         "baseline": round(rd["set"]), "ratio": round(reg_rate / rd["set"], 3), "better": "higher"},
        {"name": "mapper_lookups", "unit": "per s", "ila": round(get_rate),
         "baseline": round(rd["get"]), "ratio": round(get_rate / rd["get"], 3), "better": "higher"},
        {"name": "mapper_tls_registrations", "unit": "per s", "ila": round(tls_rate),
         "baseline": round(rd["set"]), "ratio": round(tls_rate / rd["set"], 3), "better": "higher"},
        {"name": "mapper_resident_bytes_per_mapping", "unit": "bytes", "ila": round(per_total, 1),
         "baseline": round(rd["rss_per_key"], 1), "ratio": round(per_total / rd["rss_per_key"], 3),
         "better": "lower"},
        {"name": "mapper_anon_bytes_per_mapping", "unit": "bytes", "ila": round(per_anon, 1),
         "baseline": round(rd["rss_per_key"], 1), "ratio": round(per_anon / rd["rss_per_key"], 3),
         "better": "lower"},
    ]
    print("mapper benchmark: %d mappings, %d records in flight (%d per message x %d), loopback"
          % (N, DEPTH, BATCH, WINDOW))
    print("%-36s %14s %14s %8s  %s" % ("figure", "ila", "redis", "ratio", "better"))
    for r in results:
        print("%-36s %14s %14s %8.3f  %s" % (r["name"] + " (" + r["unit"] + ")", r["ila"],
                                             r["baseline"], r["ratio"], r["better"]))
    print("mapper RSS growth after registrations and lookups: anonymous %.1f B, file-backed"
          " (LMDB pages) %.1f B per mapping" % (per_anon, (f2 - f0) / N))
    record(results)


if __name__ == "__main__":
    main()
