#!/usr/bin/env python3
"""CPU per command, by process and by kind of work, from `perf record -a` profiles of bo-perf's
measured loads (docs/performance.md, "Session 12").

Both loads keep the two cores busy, so comparing shares is misleading when the command rates
differ; this counts samples per 1,000 acknowledged commands instead. Give each profile with the
commands/s its load reported (the LOADGEN line's commands_per_s) and the seconds recorded:

  tests/perf/cpu_per_command.py small.data:1074.4 big.data:584.4 --seconds 45

Processes are named by their main thread (bo-invoicing, java for the broker, bo-perf...); the
kinds of work are guessed from the symbol and library names (RocksDB's background threads are
"rocksdb:*"). Needs `perf` and the binaries that were profiled (unchanged since the recording).
"""
import argparse
import collections
import re
import subprocess


def samples(path):
    """(process name, thread name, symbol, library) for every sample of the profile."""
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,pid,tid,ip,sym,dso", "-G"],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    executable = {}  # pid -> its own binary (a library-less dso seen in its samples)
    threads = collections.defaultdict(collections.Counter)
    for line in out.splitlines():
        m = re.match(r"\s*(.*?)\s+(\d+)/(\d+)\s+[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$", line)
        if not m:
            continue
        comm, pid, _, sym, dso = m.groups()
        dso = dso.split("/")[-1]
        if ".so" not in dso and not dso.startswith("[") and not dso.startswith("perf-"):
            executable.setdefault(pid, dso)
        if dso.startswith("perf-") or dso == "libjvm.so":
            executable.setdefault(pid, "broker (java)")
        threads[pid][comm] += 1
        rows.append((pid, comm, sym, dso))

    def name(pid):
        return executable.get(pid) or threads[pid].most_common(1)[0][0]

    return [(name(pid), comm, sym, dso) for pid, comm, sym, dso in rows]


def kind(thread, sym, dso):
    if thread.startswith("rocksdb:"):
        return "RocksDB flush/compaction"
    if "kernel" in dso:
        return "kernel"
    if dso.startswith("libc") or "malloc" in sym:
        return "libc (malloc, memcpy)"
    if any(k in dso for k in ("grpc", "libssl", "libcrypto", "absl")):
        return "gRPC, TLS, Abseil"
    if "rdkafka" in dso:
        return "librdkafka"
    if "protobuf" in dso or "backorder::v1" in sym or "google::protobuf" in sym:
        return "protobuf"
    if sym.startswith("rocksdb::"):
        if any(k in sym for k in ("MemTableIterator", "DBIter", "MergingIterator", "IteratorWrapper")):
            return "RocksDB iteration"
        if any(k in sym for k in ("FindSplice", "WriteThread", "Insert", "WriteBatch", "WritableFile",
                                  "PipelinedWrite", "crc32")):
            return "RocksDB writes"
        return "RocksDB point reads"
    if "bo::" in sym:
        return "our code"
    return "other"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profiles", nargs="+", help="PATH:COMMANDS_PER_S, in the order to compare")
    ap.add_argument("--seconds", type=float, default=45, help="seconds each profile recorded")
    ap.add_argument("--min", type=float, default=2, help="hide rows below this in every profile")
    args = ap.parse_args()

    tables = []
    for spec in args.profiles:
        path, rate = spec.rsplit(":", 1)
        commands = float(rate) * args.seconds
        table = collections.Counter()
        for proc, thread, sym, dso in samples(path):
            table[(proc, kind(thread, sym, dso))] += 1000 / commands
        tables.append(table)

    names = [p.rsplit(":", 1)[0] for p in args.profiles]
    print("samples per 1,000 commands")
    print(f"{'process':16s} {'kind of work':28s} " + " ".join(f"{n[-12:]:>12s}" for n in names))
    totals = [collections.Counter() for _ in tables]
    for key in sorted(set().union(*tables), key=lambda k: (k[0], -tables[-1][k])):
        for t, total in zip(tables, totals):
            total[key[0]] += t[key]
        if max(t[key] for t in tables) >= args.min:
            print(f"{key[0][:16]:16s} {key[1]:28s} " + " ".join(f"{t[key]:12.1f}" for t in tables))
    print()
    for proc in sorted(totals[-1], key=lambda p: -totals[-1][p]):
        if max(t[proc] for t in totals) < args.min:
            continue
        print(f"{proc[:16]:16s} {'all':28s} " + " ".join(f"{t[proc]:12.1f}" for t in totals))


if __name__ == "__main__":
    main()
