#!/usr/bin/env python3
# peer_matmul.py: the PyTorch peer for bench_matmul: torch.mm of two float32
# (n, n) randn matrices at n = 256, 512, 1024 on the CPU, with a fixed number
# of threads (default 2), timing the median of repeats after a warm-up.
# Prints one line per size and, with --json, a JSON list on the last line:
#   [{"n": 256, "threads": 2, "median_s": ..., "gflops": ...}, ...]
# GFLOP/s = 2 n^3 / median time.
#
# Needs Debian's python3-torch (1.13, BLAS from libopenblas0-pthread); run it
# with /usr/bin/python3 where another python3 comes first on PATH.
import argparse
import json
import statistics
import sys
import time


def blas_library():
    """The BLAS shared library mapped into this process (Debian's torch uses
    whatever libblas.so.3 the alternatives system points at)."""
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(libs)) or "none found"
    except OSError:
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds of timed repeats per size")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        print("peer_matmul: PyTorch is not installed (apt-get install python3-torch)", file=sys.stderr)
        sys.exit(2)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = []
    for n in args.sizes:
        a = torch.randn(n, n, dtype=torch.float32)
        b = torch.randn(n, n, dtype=torch.float32)
        out = torch.empty(n, n, dtype=torch.float32)
        for _ in range(5):  # warm-up: thread pool, caches, page faults
            torch.mm(a, b, out=out)
        times = []
        start = time.perf_counter()
        while len(times) < 10 or time.perf_counter() - start < args.min_time:
            t0 = time.perf_counter()
            torch.mm(a, b, out=out)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        gflops = 2.0 * n * n * n / median / 1e9
        results.append({"n": n, "threads": args.threads, "median_s": median, "gflops": gflops, "repeats": len(times)})
        print(f"torch.mm n={n} threads={args.threads}: median {median * 1e3:.3f} ms over {len(times)} repeats, "
              f"{gflops:.1f} GFLOP/s")
    print(f"torch {torch.__version__}, BLAS library loaded: {blas_library()}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
