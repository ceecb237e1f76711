#!/usr/bin/env python3
"""peer_cuda.py: the PyTorch peer of the GPU benchmarks (bench_cuda_bandwidth,
bench_cuda_gemm, bench_cuda_conv): the same shapes and ops in this machine's
own PyTorch on its GPU, timed the same way (CUDA events around each sample of
calls after a warm-up, the median over samples, inputs rotated among several
sets when one set fits in L2), written as JSON with result names in the loom
benchmarks' form, version "torch":
    gemm/torch/<prec>/<shape>               GFLOP/s = 2 M N K / median
    conv/torch/<prec>/<layer>/<pass>        GFLOP/s = layer flops / median
    bw/<op>/<size>                          GB/s = the loom benchmark's minimal bytes / median
Precisions, each named: fp32 = TF32 disabled (torch.backends.cuda.matmul.allow_tf32
and torch.backends.cudnn.allow_tf32 False), tf32 = both enabled (PyTorch's
default for cuDNN convolutions), bf16 = bf16 tensors in and out (loom's BF16
rounds fp32 inputs inside the kernel and writes fp32: close, not identical).

The shapes come from the loom programs themselves (`bench_cuda_* --list_shapes`,
no GPU needed), so the two sides cannot drift apart:
    python3 bench/peer_cuda.py --bench-dir build-gpu/bench --out peer_cuda.json
Without PyTorch or without a GPU it says why, writes {"skipped": why} and exits 0.
--dry-run runs a few small rows once each on the CPU with a wall clock (no GPU
needed): a check of this script's code paths, not a measurement.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time


def list_shapes(bench_dir, program):
    path = os.path.join(bench_dir, program)
    if not os.access(path, os.X_OK):
        return None, f"{path} not found (build it first)"
    try:
        out = subprocess.run([path, "--list_shapes"], capture_output=True, text=True, timeout=60, check=True).stdout
        return json.loads(out), None
    except (subprocess.SubprocessError, json.JSONDecodeError, OSError) as e:
        return None, f"{program} --list_shapes failed: {e}"


class DryRunTimer:
    """--dry-run: one call, wall clock (checks the code paths on the CPU)."""

    def median_s(self, call):
        t0 = time.perf_counter()
        call(0)
        return max(time.perf_counter() - t0, 1e-9)


class Timer:
    """CUDA-event timing as bench/cuda_bench_util.h does it."""

    def __init__(self, torch, samples, min_sample_ms, max_bench_s):
        self.torch = torch
        self.samples = samples
        self.min_sample_ms = min_sample_ms
        self.max_bench_s = max_bench_s

    def median_s(self, call):
        torch = self.torch
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        i = 0
        call(i); i += 1
        call(i); i += 1
        start.record(); call(i); i += 1; stop.record()
        stop.synchronize()
        one = max(start.elapsed_time(stop) * 1e-3, 1e-7)
        per = int(min(max(math.ceil(self.min_sample_ms * 1e-3 / one), 1), 100000))
        samples = int(min(max(math.floor(self.max_bench_s / (one * per)), 3), self.samples))
        times = []
        for _ in range(samples):
            start.record()
            for _ in range(per):
                call(i); i += 1
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop) * 1e-3 / per)
        return statistics.median(times)


def rotation_sets(set_bytes, l2_bytes, cap=64, budget_bytes=1e9):
    """As cuda_bench_util.h: sets covering twice the L2 when one set fits in it."""
    if set_bytes <= 0 or set_bytes >= l2_bytes:
        return 1
    sets = min(math.ceil(2 * l2_bytes / set_bytes), cap, max(1, int(budget_bytes // set_bytes)))
    return max(sets, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench-dir", default="build-gpu/bench", help="where bench_cuda_* were built")
    parser.add_argument("--out", default="peer_cuda.json")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--min-sample-ms", type=float, default=0.1)
    parser.add_argument("--max-bench-s", type=float, default=0.3)
    parser.add_argument("--budget-s", type=float, default=50.0, help="stop starting new rows after this long")
    parser.add_argument("--only", choices=["gemm", "conv", "bw"], action="append", help="sections to run")
    parser.add_argument("--dry-run", action="store_true", help="a few small rows on the CPU, no timing meaning")
    args = parser.parse_args()
    t_start = time.time()

    def write(doc):
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)

    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"peer_cuda: PyTorch is not importable here ({e}): no peer figures")
        write({"skipped": f"torch not importable: {e}"})
        return 0
    if not torch.cuda.is_available() and not args.dry_run:
        print(f"peer_cuda: torch {torch.__version__} sees no CUDA device: no peer figures")
        write({"skipped": f"torch {torch.__version__}: torch.cuda.is_available() is False"})
        return 0

    if args.dry_run:
        dev, l2, timer, gpu_name = torch.device("cpu"), 50 * 2**20, DryRunTimer(), "none (dry run on the CPU)"
    else:
        dev = torch.device("cuda")
        props = torch.cuda.get_device_properties(0)
        l2 = getattr(props, "L2_cache_size", 50 * 2**20)
        timer = Timer(torch, args.samples, args.min_sample_ms, args.max_bench_s)
        gpu_name = props.name
    gen = torch.Generator(device=dev)
    gen.manual_seed(2024)
    doc = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
           "gpu": gpu_name, "results": [], "notes": [], "dry_run": args.dry_run}

    def dry_run_keeps(name):
        """--dry-run: only small rows (1 MB ops, 1024 squares, the DCGAN batch-64 G2 and D2 layers)."""
        return not args.dry_run or name.endswith(("/1MB", "square_1024")) or "dcgan_b64_G2" in name or \
            "dcgan_b64_D2" in name
    sections = args.only or ["bw", "gemm", "conv"]

    def out_of_time():
        return time.time() - t_start > args.budget_s

    def add(name, seconds, **extra):
        row = {"name": name, "median_s": seconds}
        row.update(extra)
        doc["results"].append(row)

    def set_tf32(on):
        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on

    def randn(shape, dtype=torch.float32):
        return torch.randn(shape, device=dev, generator=gen, dtype=torch.float32).to(dtype)

    # ---- bandwidth ----
    if "bw" in sections:
        shapes, err = list_shapes(args.bench_dir, "bench_cuda_bandwidth")
        if err:
            doc["notes"].append(err)
        for item in (shapes or {}).get("bandwidth", []):
            if out_of_time():
                doc["notes"].append("budget reached: bandwidth rows left out")
                break
            if not dry_run_keeps(item["name"]):
                continue
            op, shape, nbytes = item["op"], item["shape"], item["bytes"]
            inputs = {"add": 2, "adam": 4}.get(op, 1)
            set_bytes = 4 * math.prod(shape) * (inputs + (0 if op.startswith("sum") or op == "adam" else 1))
            free = torch.cuda.mem_get_info()[0] if dev.type == "cuda" else 8e9
            sets_n = rotation_sets(set_bytes, l2)
            if set_bytes * (sets_n + 1) > 0.9 * free:
                doc["notes"].append(f"{item['name']}: does not fit")
                continue
            try:
                sets = [[torch.rand(shape, device=dev, generator=gen) for _ in range(inputs)] for _ in range(sets_n)]
                results = [None] * sets_n
                bn_w, bn_b = torch.rand(64, device=dev), torch.rand(64, device=dev)
                optims = None
                if op == "adam":
                    optims = []
                    for s in sets:
                        p = torch.nn.Parameter(s[0])
                        p.grad = s[1]
                        o = torch.optim.Adam([p], lr=1e-3, fused=True)
                        optims.append(o)

                def call(i, op=op, sets=sets, results=results, optims=optims, bn_w=bn_w, bn_b=bn_b):
                    k = i % len(sets)
                    x = sets[k]
                    if op == "copy":
                        results[k] = x[0].clone()
                    elif op == "add":
                        results[k] = torch.add(x[0], x[1])
                    elif op == "relu":
                        results[k] = torch.relu(x[0])
                    elif op == "mul_scalar":
                        results[k] = x[0] * 2.5
                    elif op == "sum_all":
                        results[k] = x[0].sum()
                    elif op == "sum_rows":
                        results[k] = x[0].sum(1)
                    elif op == "sum_cols":
                        results[k] = x[0].sum(0)
                    elif op.startswith("softmax"):
                        results[k] = torch.softmax(x[0], 1)
                    elif op == "batch_norm":
                        results[k] = F.batch_norm(x[0], None, None, bn_w, bn_b, training=True, eps=1e-5)
                    elif op == "adam":
                        optims[k].step()
                    else:
                        raise ValueError(op)

                with torch.no_grad():
                    t = timer.median_s(call)
                add(item["name"], t, **{"GB/s": nbytes / t * 1e-9})
            except Exception as e:  # noqa: BLE001 - one failed row must not end the peer
                doc["notes"].append(f"{item['name']}: {type(e).__name__}: {e}")
            finally:
                sets = results = optims = None
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
        write(doc)

    # ---- GEMM ----
    if "gemm" in sections:
        shapes, err = list_shapes(args.bench_dir, "bench_cuda_gemm")
        if err:
            doc["notes"].append(err)
        for prec in ("fp32", "tf32", "bf16"):
            set_tf32(prec == "tf32")
            dtype = torch.bfloat16 if prec == "bf16" else torch.float32
            for s in (shapes or {}).get("gemm", []):
                if out_of_time():
                    doc["notes"].append(f"budget reached: gemm {prec} rows left out")
                    break
                if not dry_run_keeps(s["name"]):
                    continue
                m, n, k = s["m"], s["n"], s["k"]
                esize = 2 if prec == "bf16" else 4
                sets_n = rotation_sets(esize * (m * k + k * n + m * n), l2)
                try:
                    sets = [(randn((m, k), dtype), randn((k, n), dtype), torch.empty((m, n), device=dev, dtype=dtype))
                            for _ in range(sets_n)]
                    t = timer.median_s(lambda i, sets=sets: torch.mm(sets[i % len(sets)][0], sets[i % len(sets)][1],
                                                                     out=sets[i % len(sets)][2]))
                    add(f"gemm/torch/{prec}/{s['name']}", t, **{"GFLOP/s": 2.0 * m * n * k / t * 1e-9})
                except Exception as e:  # noqa: BLE001
                    doc["notes"].append(f"gemm/torch/{prec}/{s['name']}: {type(e).__name__}: {e}")
                finally:
                    sets = None
        set_tf32(False)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        write(doc)

    # ---- convolution ----
    if "conv" in sections:
        shapes, err = list_shapes(args.bench_dir, "bench_cuda_conv")
        if err:
            doc["notes"].append(err)
        torch.backends.cudnn.benchmark = False
        for prec in ("fp32", "tf32", "bf16"):
            set_tf32(prec == "tf32")
            dtype = torch.bfloat16 if prec == "bf16" else torch.float32
            for L in (shapes or {}).get("conv", []):
                if out_of_time():
                    doc["notes"].append(f"budget reached: conv {prec} rows left out")
                    break
                if not dry_run_keeps(L["name"]):
                    continue
                b, ic, oc, h, o, kk = L["batch"], L["in_ch"], L["out_ch"], L["in_size"], L["out_size"], L["kernel"]
                stride, pad, tr = L["stride"], L["pad"], L["transposed"]
                x_shape, g_shape = (b, ic, h, h), (b, oc, o, o)
                w_shape = (ic, oc, kk, kk) if tr else (oc, ic, kk, kk)
                esize = 2 if prec == "bf16" else 4
                set_bytes = esize * (math.prod(x_shape) + 2 * math.prod(w_shape) + 2 * math.prod(g_shape))
                sets_n = rotation_sets(set_bytes, l2)
                try:
                    sets = [(randn(x_shape, dtype), randn(w_shape, dtype) * 0.02, randn(g_shape, dtype))
                            for _ in range(sets_n)]
                    results = [None] * sets_n
                    cg = torch.nn.grad
                    passes = {
                        # conv2d layer: x -> y; conv_transpose2d layer: x -> y is conv2d's backward-input
                        "fwd": (lambda x, w, g: F.conv_transpose2d(x, w, stride=stride, padding=pad)) if tr else
                               (lambda x, w, g: F.conv2d(x, w, stride=stride, padding=pad)),
                        "dx": (lambda x, w, g: F.conv2d(g, w, stride=stride, padding=pad)) if tr else
                              (lambda x, w, g: cg.conv2d_input(x.shape, w, g, stride=stride, padding=pad)),
                        "dW": (lambda x, w, g: cg.conv2d_weight(g, w.shape, x, stride=stride, padding=pad)) if tr else
                              (lambda x, w, g: cg.conv2d_weight(x, w.shape, g, stride=stride, padding=pad)),
                    }
                    for pname, fn in passes.items():
                        def call(i, fn=fn, sets=sets, results=results):
                            k = i % len(sets)
                            results[k] = fn(*sets[k])

                        with torch.no_grad():
                            t = timer.median_s(call)
                        add(f"conv/torch/{prec}/{L['name']}/{pname}", t, **{"GFLOP/s": L["flops"] / t * 1e-9})
                except Exception as e:  # noqa: BLE001
                    doc["notes"].append(f"conv/torch/{prec}/{L['name']}: {type(e).__name__}: {e}")
                finally:
                    sets = results = None
        set_tf32(False)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        write(doc)

    write(doc)
    print(f"peer_cuda: torch {doc['torch']} (CUDA {doc['cuda']}, cuDNN {doc['cudnn']}) on {doc['gpu']}: "
          f"{len(doc['results'])} rows in {time.time() - t_start:.0f} s -> {args.out}")
    for note in doc["notes"][:20]:
        print(f"  note: {note}")
    for r in doc["results"]:
        if r["name"].endswith(("square_4096", "/256MB")) or "dcgan_b128_D2" in r["name"] and r["name"].endswith("fwd"):
            val = f"{r['GFLOP/s']:,.0f} GFLOP/s" if "GFLOP/s" in r else f"{r['GB/s']:,.0f} GB/s"
            print(f"  {r['name']}: {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
