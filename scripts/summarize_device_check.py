#!/usr/bin/env python3
"""summarize_device_check.py: the Markdown summary of a scripts/device-check.sh run.

    python3 scripts/summarize_device_check.py OUTDIR

Reads what device-check.sh left in OUTDIR:
    logs/env.txt            GPU, driver, CUDA, date, commit ("key: value" lines)
    logs/steps.tsv          step, status, seconds, note
    logs/ctest.log          CTest's console output
    logs/sanitizer_*.log    compute-sanitizer memcheck logs, one per CUDA test program
    bench_cuda_*.json       Google Benchmark JSON (a run cut short is read up to its last whole row)
    peer_cuda.json          bench/peer_cuda.py's PyTorch figures
    logs/train_steps_loom_<model>.json   bench_train_steps --device=cuda (Google Benchmark JSON)
    logs/train_steps_torch.json          bench/peer_train_steps.py --device cuda --tf32
and writes OUTDIR/summary.md (short: tests, sanitizer, bandwidth as % of the
copy, GEMM per version against cuBLAS, conv per algorithm against cuDNN, the
issues' targets, one training step per model against PyTorch) and
OUTDIR/tables.md (every measured row), and prints the
summary. Missing inputs become a line saying what is missing. Standard library only.
"""
import json
import math
import os
import re
import sys
from collections import defaultdict

# ---------------------------------------------------------------- inputs


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def read_env(outdir):
    """'key: value' lines of logs/env.txt (indented continuation lines are skipped)."""
    env = {}
    text = read_text(os.path.join(outdir, "logs", "env.txt")) or ""
    for line in text.splitlines():
        if line[:1].isspace() or ":" not in line:
            continue
        key, value = line.split(":", 1)
        env[key.strip()] = value.strip()
    return env


def read_steps(outdir):
    rows = []
    text = read_text(os.path.join(outdir, "logs", "steps.tsv")) or ""
    for line in text.splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3:
            rows.append({"step": parts[0], "status": parts[1], "seconds": parts[2],
                         "note": parts[3] if len(parts) > 3 else ""})
    return rows


CTEST_LINE = re.compile(r"Test\s+#\d+:\s+(\S+)\s+\.*\s*(?:\*\*\*)?\s*([A-Za-z][A-Za-z ]*?)(?:[:(][^\n]*?)?\s+[\d.]+\s+sec")


def parse_ctest(text):
    """Counts of passed / failed / skipped tests and the names of the failed ones."""
    result = {"passed": 0, "failed": 0, "skipped": 0, "failed_names": [], "found": text is not None}
    if not text:
        return result
    for m in CTEST_LINE.finditer(text):
        name, status = m.group(1), m.group(2).strip()
        if status == "Passed":
            result["passed"] += 1
        elif status.startswith("Skipped") or "Disabled" in m.group(0):
            result["skipped"] += 1
        else:
            result["failed"] += 1
            result["failed_names"].append(f"{name} ({status})")
    total = re.search(r"tests passed, (\d+) tests? failed out of (\d+)", text)
    result["total"] = int(total.group(2)) if total else result["passed"] + result["failed"] + result["skipped"]
    return result


SANITIZER_SUMMARY = re.compile(r"ERROR SUMMARY:\s*(\d+) error")
SANITIZER_ERROR = re.compile(r"^=+ (Invalid|Program hit|Malloc|Cuda API|Uninitialized|Race|Barrier|Leaked|Error)",
                             re.M)


def parse_sanitizer(outdir):
    """program -> {"errors": n, "complete": bool, "note": str} from logs/sanitizer_<program>.log."""
    out = {}
    logs = os.path.join(outdir, "logs")
    if not os.path.isdir(logs):
        return out
    for fname in sorted(os.listdir(logs)):
        if not (fname.startswith("sanitizer_") and fname.endswith(".log")):
            continue
        program = fname[len("sanitizer_"):-len(".log")]
        text = read_text(os.path.join(logs, fname)) or ""
        m = SANITIZER_SUMMARY.search(text)
        if "not built" in text and not m:
            out[program] = {"errors": None, "complete": False, "note": "not built"}
        elif m:
            out[program] = {"errors": int(m.group(1)), "complete": True, "note": ""}
        else:
            out[program] = {"errors": len(SANITIZER_ERROR.findall(text)), "complete": False,
                            "note": "no ERROR SUMMARY (stopped by the time box?)"}
    return out


def load_bench_json(path):
    """(context, rows) of a Google Benchmark JSON file; a file cut short (a run
    stopped by its time box) gives the rows written before the cut."""
    text = read_text(path)
    if not text or not text.strip():
        return None, []
    try:
        data = json.loads(text)
        return data.get("context", {}), data.get("benchmarks", [])
    except json.JSONDecodeError:
        pass
    dec = json.JSONDecoder()
    context = {}
    m = re.search(r'"context"\s*:\s*', text)
    if m:
        try:
            context, _ = dec.raw_decode(text, m.end())
        except json.JSONDecodeError:
            context = {}
    rows = []
    m = re.search(r'"benchmarks"\s*:\s*\[', text)
    if m:
        pos = m.end()
        while True:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            try:
                row, pos = dec.raw_decode(text, pos)
            except json.JSONDecodeError:
                break
            rows.append(row)
    return context, rows


def load_peer(path):
    text = read_text(path)
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


# ---------------------------------------------------------------- indexing


def ok_rows(rows):
    """Rows that measured something (not errors, not aggregates)."""
    return [r for r in rows if not r.get("error_occurred") and r.get("run_type", "iteration") == "iteration"]


def error_rows(rows):
    return [r for r in rows if r.get("error_occurred")]


def geomean(values):
    vals = [v for v in values if v and v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    return a / b if a and b else None


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def index_gemm(rows):
    """(version, precision, shape) -> GFLOP/s."""
    out = {}
    for r in ok_rows(rows):
        parts = r["name"].split("/")
        if len(parts) == 4 and parts[0] == "gemm" and "GFLOP/s" in r:
            out[(parts[1], parts[2], parts[3])] = r["GFLOP/s"]
    return out


def index_conv(rows):
    """(algo, precision, layer, pass) -> GFLOP/s."""
    out = {}
    for r in ok_rows(rows):
        parts = r["name"].split("/")
        if len(parts) == 5 and parts[0] == "conv" and "GFLOP/s" in r:
            out[(parts[1], parts[2], parts[3], parts[4])] = r["GFLOP/s"]
    return out


def index_bw(rows):
    """(op, size) -> (GB/s, pct_copy)."""
    out = {}
    for r in ok_rows(rows):
        parts = r["name"].split("/")
        if len(parts) == 3 and parts[0] == "bw" and "GB/s" in r:
            out[(parts[1], parts[2])] = (r["GB/s"], r.get("pct_copy"))
    return out


def peer_rows(peer):
    return peer.get("results", []) if peer else []


# ---------------------------------------------------------------- sections

SIZES = ["1MB", "16MB", "256MB", "1GB"]
PRECISIONS = ["fp32", "tf32", "bf16"]
ALGOS = ["im2col", "implicit", "direct", "auto", "cudnn"]


VENDOR_GEMMS = ["cublas", "cublas_tf32", "cublas_bf16", "cublaslt"]  # the preferred reference first


def is_vendor(version):
    return version.startswith("cublas")


def version_key(vp):
    """(version, precision) in reading order: by precision, loom's numbered versions, then cuBLAS."""
    v, p = vp
    return (PRECISIONS.index(p) if p in PRECISIONS else 9, is_vendor(v), v)


def cublas_ref(g, prec, shape):
    """The cuBLAS GFLOP/s for a precision and shape: cublas (SGEMM), cublas_tf32, cublas_bf16, else cublasLt."""
    for v in VENDOR_GEMMS:
        if (v, prec, shape) in g:
            return g[(v, prec, shape)]
    return None


def algo_key(ap):
    a, p = ap
    return (ALGOS.index(a) if a in ALGOS else 9, PRECISIONS.index(p) if p in PRECISIONS else 9)
SQUARES = ["square_1024", "square_2048", "square_4096"]


def header_section(env, steps):
    gpu = env.get("gpu_query") or env.get("nvidia_smi_L") or "?"
    lines = ["# loom device check", ""]
    lines.append("- GPU: " + "; ".join(x for x in (gpu, env.get("driver_cuda"), f"nvcc {env.get('nvcc', '?')}") if x))
    lines.append(f"- date: {env.get('date_utc', '?')}; commit: {env.get('commit', '?')}")
    total = sum(int(s["seconds"]) for s in steps if s["seconds"].isdigit())
    lines.append(f"- torch: {env.get('torch', '?')}; steps took {total} s in all")
    if env.get("no_gpu") == "yes":
        lines += ["", "**No GPU on this machine**: nothing was measured; GPU tests (if run) were skipped."]
    if steps:
        lines += ["", "| step | status | s | note |", "|---|---|---|---|"]
        for s in steps:
            lines.append(f"| {s['step']} | {s['status']} | {s['seconds']} | {s['note']} |")
    return lines


def tests_section(ctest, sanitizer):
    lines = ["", "## Tests", ""]
    if not ctest["found"]:
        lines.append("CTest: no log (the step did not run).")
    else:
        lines.append(f"CTest: {ctest['passed']} passed, {ctest['failed']} failed, {ctest['skipped']} skipped "
                     f"(of {ctest.get('total', '?')}).")
        if ctest["failed_names"]:
            shown = ctest["failed_names"][:15]
            more = len(ctest["failed_names"]) - len(shown)
            lines.append("Failed: " + ", ".join(shown) + (f", and {more} more" if more > 0 else "") + ".")
    if sanitizer:
        total = sum(v["errors"] or 0 for v in sanitizer.values())
        incomplete = [k for k, v in sanitizer.items() if not v["complete"]]
        lines.append(f"compute-sanitizer memcheck: {total} errors over {len(sanitizer)} programs"
                     + (f"; incomplete: {', '.join(incomplete)}" if incomplete else "") + ".")
        for k, v in sanitizer.items():
            if v["errors"] is None:
                lines.append(f"- {k}: {v['note']}")
            elif v["errors"] > 0 or not v["complete"]:
                lines.append(f"- {k}: {v['errors']} errors" + (f" ({v['note']})" if v["note"] else ""))
    else:
        lines.append("compute-sanitizer: no logs (the step did not run).")
    return lines


def bandwidth_section(ctx, rows, peer):
    lines = ["", "## Bandwidth (float32; % of the device-to-device copy)", ""]
    if not rows:
        return lines + ["No bandwidth results."]
    bw = index_bw(rows)
    ref = ctx.get("copy_reference_GBps") if ctx else None
    peer_bw = {}
    for p in peer_rows(peer):
        parts = p.get("name", "").split("/")
        if len(parts) == 3 and parts[0] == "bw" and p.get("GB/s"):
            peer_bw[(parts[1], parts[2])] = p["GB/s"]
    if ref:
        lines.append(f"Copy reference (same run): {float(ref):,.0f} GB/s, bytes read + written.")
        lines.append("")
    lines.append("| op | " + " | ".join(SIZES) + " | torch 256MB |")
    lines.append("|---|" + "---|" * (len(SIZES) + 1))
    ops = []
    for (op, _size) in bw:
        if op not in ops:
            ops.append(op)
    for op in ops:
        cells = []
        for s in SIZES:
            v = bw.get((op, s))
            cells.append("-" if v is None else f"{v[0]:,.0f} ({v[1]:.0f}%)" if v[1] is not None else f"{v[0]:,.0f}")
        cells.append(fmt(peer_bw.get((op, "256MB"))))
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    errs = [r["name"] for r in error_rows(rows) if "does not fit" not in r.get("error_message", "")]
    if errs:
        lines.append(f"Errors: {len(errs)} rows (first: {errs[0]}: {error_message(rows, errs[0])}).")
    return lines


def error_message(rows, name):
    for r in rows:
        if r.get("name") == name:
            return r.get("error_message", "")[:200]
    return ""


def gemm_section(ctx, rows, peer):
    lines = ["", "## GEMM (GFLOP/s, NN, alpha 1 beta 0)", ""]
    if not rows:
        return lines + ["No GEMM results."]
    g = index_gemm(rows)
    if ctx:
        lines.append(f"Peaks used (TFLOP/s): fp32 {ctx.get('peak_fp32_tflops', '?')}, tf32 "
                     f"{ctx.get('peak_tf32_tflops', '?')}, bf16 {ctx.get('peak_bf16_tflops', '?')} "
                     f"({ctx.get('peak_source', '?')}).")
        lines.append("")
    peaks = {p: float(ctx.get(f"peak_{p}_tflops", 0) or 0) for p in ("fp32", "tf32", "bf16")} if ctx else {}
    torch_g = {}
    for p in peer_rows(peer):
        parts = p.get("name", "").split("/")
        if len(parts) == 4 and parts[0] == "gemm" and p.get("GFLOP/s"):
            torch_g[(parts[2], parts[3])] = p["GFLOP/s"]
    versions = []
    for (v, prec, _s) in g:
        if (v, prec) not in versions:
            versions.append((v, prec))
    versions.sort(key=version_key)
    model_shapes = sorted({s for (_v, _p, s) in g if not s.startswith("square_")})
    lines.append("| version | prec | 1024 | 2048 | 4096 | % peak 4096 | / cuBLAS 4096 | / cuBLAS, model shapes (geomean) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for (v, prec) in versions:
        sq = [g.get((v, prec, s)) for s in SQUARES]
        cub = cublas_ref(g, prec, "square_4096")
        pk = peaks.get(prec, 0)
        pct = f"{100 * sq[2] / (1e3 * pk):.0f}%" if sq[2] and pk else "-"
        ratios = [ratio(g.get((v, prec, s)), cublas_ref(g, prec, s)) for s in model_shapes]
        lines.append(f"| {v} | {prec} | {fmt(sq[0])} | {fmt(sq[1])} | {fmt(sq[2])} | {pct} | "
                     f"{fmt_ratio(ratio(sq[2], cub))} | {fmt_ratio(geomean(ratios))} |")
    for prec in ("fp32", "tf32", "bf16"):
        sq = [torch_g.get((prec, s)) for s in SQUARES]
        if any(sq):
            lines.append(f"| torch.mm | {prec} | {fmt(sq[0])} | {fmt(sq[1])} | {fmt(sq[2])} | - | "
                         f"{fmt_ratio(ratio(sq[2], cublas_ref(g, prec, 'square_4096')))} | - |")
    errs = error_rows(rows)
    if errs:
        lines.append(f"Errors: {len(errs)} rows (first: {errs[0]['name']}: {errs[0].get('error_message', '')[:200]}).")
    return lines


def conv_section(rows, peer):
    lines = ["", "## Convolution (GFLOP/s geomean over the DCGAN layers, batch 64 and 128; ratio to cuDNN, same precision)", ""]
    if not rows:
        return lines + ["No conv results."]
    c = index_conv(rows)
    torch_c = {}
    for p in peer_rows(peer):
        parts = p.get("name", "").split("/")
        if len(parts) == 5 and parts[0] == "conv" and p.get("GFLOP/s"):
            torch_c[(parts[2], parts[3], parts[4])] = p["GFLOP/s"]
    runs = []
    for (a, prec, _l, _p) in c:
        if (a, prec) not in runs:
            runs.append((a, prec))
    runs.sort(key=algo_key)
    passes = ["fwd", "dx", "dW"]
    lines.append("| algo | prec | " + " | ".join(f"{p} GFLOP/s | {p} / cuDNN" for p in passes) + " |")
    lines.append("|---|---|" + "---|---|" * len(passes))
    for (a, prec) in runs:
        cells = []
        for ps in passes:
            layers = [k[2] for k in c if k[0] == a and k[1] == prec and k[3] == ps and k[2].startswith("dcgan")]
            gm = geomean([c[(a, prec, l, ps)] for l in layers])
            rs = geomean([ratio(c[(a, prec, l, ps)], c.get(("cudnn", prec, l, ps))) for l in layers])
            cells += [fmt(gm), fmt_ratio(rs)]
        lines.append(f"| {a} | {prec} | " + " | ".join(cells) + " |")
    for prec in ("fp32", "tf32", "bf16"):
        cells = []
        any_val = False
        for ps in passes:
            layers = [k[1] for k in torch_c if k[0] == prec and k[2] == ps and k[1].startswith("dcgan")]
            gm = geomean([torch_c[(prec, l, ps)] for l in layers])
            rs = geomean([ratio(torch_c[(prec, l, ps)], c.get(("cudnn", prec, l, ps))) for l in layers])
            any_val |= gm is not None
            cells += [fmt(gm), fmt_ratio(rs)]
        if any_val:
            lines.append(f"| torch | {prec} | " + " | ".join(cells) + " |")
    errs = error_rows(rows)
    if errs:
        lines.append(f"Errors: {len(errs)} rows (first: {errs[0]['name']}: {errs[0].get('error_message', '')[:200]}).")
    return lines


def targets_section(gemm_rows, conv_rows, bw_rows):
    """The issues' targets, each with its measured value (or '-')."""
    lines = ["", "## Targets (issues 5 and 6)", "", "| target | measured | met |", "|---|---|---|"]
    g = index_gemm(gemm_rows)
    c = index_conv(conv_rows)
    bw = index_bw(bw_rows)

    def best(prec, shape):
        vals = [(v, val) for (v, p, s), val in g.items() if p == prec and s == shape and not is_vendor(v)]
        return max(vals, key=lambda x: x[1]) if vals else (None, None)

    def row(text, value, goal):
        met = "-" if value is None else ("yes" if value >= goal else "no")
        lines.append(f"| {text} | {fmt_ratio(value) if value is not None else '-'} | {met} |")

    v, val = best("fp32", "square_4096")
    row(f"fp32 SIMT GEMM 4096 >= 0.75 x cuBLAS SGEMM (best: {v or '-'})", ratio(val, cublas_ref(g, "fp32", "square_4096")), 0.75)
    v, val = best("tf32", "square_4096")
    row(f"TF32 GEMM 4096 >= 0.60 x cuBLAS TF32 (best: {v or '-'})", ratio(val, cublas_ref(g, "tf32", "square_4096")), 0.60)
    for prec in ("fp32", "tf32"):
        layers = [k[2] for k in c if k[0] == "implicit" and k[1] == prec and k[3] == "fwd" and k[2].startswith("dcgan")]
        r = geomean([ratio(c[("implicit", prec, l, "fwd")], c.get(("cudnn", prec, l, "fwd"))) for l in layers])
        row(f"implicit-GEMM conv fwd, DCGAN layers, {prec}: >= 0.50 x cuDNN (geomean)", r, 0.50)
    for op in ("add", "relu", "mul_scalar", "sum_all", "sum_rows"):
        v = bw.get((op, "256MB"))
        pct = v[1] / 100 if v and v[1] is not None else None
        row(f"{op} at 256 MB >= 0.80 of the copy bandwidth", pct, 0.80)
    return lines


TRAIN_MODELS = ["dcgan", "cgan_gram", "fusion", "wae", "unet"]
TIME_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def load_train_steps(outdir):
    """loom's rows from every logs/train_steps_loom_*.json (each possibly cut short)."""
    logs = os.path.join(outdir, "logs")
    rows = []
    if os.path.isdir(logs):
        for fname in sorted(os.listdir(logs)):
            if fname.startswith("train_steps_loom") and fname.endswith(".json"):
                rows += load_bench_json(os.path.join(logs, fname))[1]
    return rows


def median(values):
    v = sorted(values)
    n = len(v)
    return None if n == 0 else v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def index_train_steps(rows, device="cuda"):
    """model -> {"ms": median of the timed steps, "steps": n, "batch", "params"} or {"error": message},
    from train_step/<model>/<device>/... rows (repetitions; aggregates are ignored)."""
    times, out = defaultdict(list), {}
    for r in rows:
        parts = r.get("name", "").split("/")
        if len(parts) < 3 or parts[0] != "train_step" or parts[2] != device:
            continue
        model = parts[1]
        if r.get("error_occurred"):
            out.setdefault(model, {"error": r.get("error_message", "error")})
            continue
        if r.get("run_type", "iteration") != "iteration" or "real_time" not in r:
            continue
        times[model].append(r["real_time"] * TIME_UNIT_MS.get(r.get("time_unit", "ms"), 1.0))
        out[model] = {"batch": r.get("batch"), "params": r.get("params")}
    for model, ts in times.items():
        out[model].update(ms=median(ts), steps=len(ts))
    return out


def train_steps_section(loom_rows, torch_json):
    """The small table: one training step per model, loom CUDA against PyTorch CUDA."""
    lines = ["", "## Training step, loom CUDA vs PyTorch CUDA (ms/step, full batch, float32)", ""]
    loom = index_train_steps(loom_rows)
    skipped = torch_json.get("skipped") if torch_json else None
    torch = {}
    for r in (torch_json or {}).get("results", []):
        torch[(r.get("model"), r.get("precision", "fp32"))] = r
    if not loom and not torch:
        why = f" (PyTorch peer skipped: {skipped})" if skipped else ""
        return lines + ["No training-step results (logs/train_steps_loom_*.json, logs/train_steps_torch.json)" + why + "."]
    models = [m for m in TRAIN_MODELS if m in loom or (m, "fp32") in torch]
    models += sorted({m for m in loom if m not in models})
    lines.append("| model | batch | loom ms | PyTorch fp32 ms | PyTorch / loom | PyTorch TF32 ms |")
    lines.append("|---|---|---|---|---|---|")
    mismatch = []
    for m in models:
        l, t32, ttf = loom.get(m, {}), torch.get((m, "fp32"), {}), torch.get((m, "tf32"), {})
        loom_cell = f"error: {l['error'][:80]}" if "error" in l else fmt(l.get("ms"), 1)
        batch = l.get("batch") or t32.get("batch")
        lines.append(f"| {m} | {fmt(batch)} | {loom_cell} | {fmt(t32.get('ms'), 1)} | "
                     f"{fmt_ratio(ratio(t32.get('ms'), l.get('ms')))} | {fmt(ttf.get('ms'), 1)} |")
        if l.get("params") is not None and t32.get("params") is not None and (
                int(l["params"]) != int(t32["params"]) or int(l["batch"]) != int(t32["batch"])):
            mismatch.append(f"{m} (loom {int(l['params'])} parameters, batch {int(l['batch'])}; "
                            f"PyTorch {int(t32['params'])}, batch {int(t32['batch'])})")
    steps = sorted({v["steps"] for v in loom.values() if "steps" in v})
    lines.append("")
    lines.append(f"Median of {'/'.join(map(str, steps)) or '?'} timed steps (loom) and "
                 f"{(torch_json or {}).get('reps', '?')} (PyTorch {(torch_json or {}).get('torch', '?')}) after 2 warm-up "
                 "steps, each from a synchronized GPU to a synchronized GPU; PyTorch / loom > 1 means loom is faster. "
                 "fp32 = TF32 off on both sides (loom's default precision); TF32 = PyTorch with TF32 on (its cuDNN default).")
    if skipped:
        lines.append(f"PyTorch peer skipped: {skipped}.")
    if mismatch:
        lines.append("Parameter count MISMATCH: " + "; ".join(mismatch) + ".")
    return lines


# ---------------------------------------------------------------- full tables


def full_tables(bw_rows, gemm_rows, conv_rows, peer, env):
    lines = ["# loom device check: every measured row", ""]
    lines += [f"GPU: {env.get('gpu_query') or env.get('nvidia_smi_L') or '?'}; date: {env.get('date_utc', '?')}; "
              f"commit: {env.get('commit', '?')}; torch: {env.get('torch', '?')}", ""]
    torch = {p.get("name"): p for p in peer_rows(peer)}
    if bw_rows:
        lines += ["## Bandwidth", "", "| name | GB/s | % copy | median us | torch GB/s |", "|---|---|---|---|---|"]
        for r in bw_rows:
            if r.get("error_occurred"):
                lines.append(f"| {r['name']} | error: {r.get('error_message', '')[:120]} | | | |")
                continue
            t = torch.get(r["name"], {}).get("GB/s")
            lines.append(f"| {r['name']} | {fmt(r.get('GB/s'))} | {fmt(r.get('pct_copy'), 1)} | "
                         f"{fmt(r.get('median_us'), 1)} | {fmt(t)} |")
        lines.append("")
    if gemm_rows:
        g = index_gemm(gemm_rows)
        shapes = []
        for (_v, _p, s) in g:
            if s not in shapes:
                shapes.append(s)
        for prec in ("fp32", "tf32", "bf16"):
            versions = []
            for (v, p, _s) in g:
                if p == prec and v not in versions:
                    versions.append(v)
            if not versions:
                continue
            versions.sort(key=lambda v, prec=prec: version_key((v, prec)))
            lines += [f"## GEMM {prec} (GFLOP/s)", "", "| shape | " + " | ".join(versions) + " | torch |",
                      "|---|" + "---|" * (len(versions) + 1)]
            for s in shapes:
                t = torch.get(f"gemm/torch/{prec}/{s}", {}).get("GFLOP/s")
                lines.append(f"| {s} | " + " | ".join(fmt(g.get((v, prec, s))) for v in versions) + f" | {fmt(t)} |")
            lines.append("")
    if conv_rows:
        c = index_conv(conv_rows)
        runs = []
        for (a, p, _l, _ps) in c:
            if f"{a}/{p}" not in runs:
                runs.append(f"{a}/{p}")
        runs.sort(key=lambda r: algo_key(tuple(r.split("/"))))
        keys = []
        for (_a, _p, l, ps) in c:
            if (l, ps) not in keys:
                keys.append((l, ps))
        lines += ["## Convolution (GFLOP/s)", "", "| layer | pass | " + " | ".join(runs) + " | torch fp32 | torch tf32 |",
                  "|---|---|" + "---|" * (len(runs) + 2)]
        for (l, ps) in keys:
            cells = [fmt(c.get((*run.split("/"), l, ps))) for run in runs]
            t32 = torch.get(f"conv/torch/fp32/{l}/{ps}", {}).get("GFLOP/s")
            ttf = torch.get(f"conv/torch/tf32/{l}/{ps}", {}).get("GFLOP/s")
            lines.append(f"| {l} | {ps} | " + " | ".join(cells) + f" | {fmt(t32)} | {fmt(ttf)} |")
        lines.append("")
    return lines


def summarize(outdir):
    env = read_env(outdir)
    steps = read_steps(outdir)
    ctest = parse_ctest(read_text(os.path.join(outdir, "logs", "ctest.log")))
    sanitizer = parse_sanitizer(outdir)
    bw_ctx, bw_rows = load_bench_json(os.path.join(outdir, "bench_cuda_bandwidth.json"))
    gemm_ctx, gemm_rows = load_bench_json(os.path.join(outdir, "bench_cuda_gemm.json"))
    _conv_ctx, conv_rows = load_bench_json(os.path.join(outdir, "bench_cuda_conv.json"))
    peer = load_peer(os.path.join(outdir, "peer_cuda.json"))
    lines = header_section(env, steps)
    lines += tests_section(ctest, sanitizer)
    if env.get("no_gpu") == "yes" and not (bw_rows or gemm_rows or conv_rows):
        return write_outputs(outdir, lines, [], [], [], peer, env)
    lines += bandwidth_section(bw_ctx, bw_rows, peer)
    lines += gemm_section(gemm_ctx, gemm_rows, peer)
    lines += conv_section(conv_rows, peer)
    lines += targets_section(gemm_rows, conv_rows, bw_rows)
    lines += train_steps_section(load_train_steps(outdir),
                                 load_peer(os.path.join(outdir, "logs", "train_steps_torch.json")))
    if peer is None:
        lines += ["", "PyTorch peer: no results (peer_cuda.json missing or unreadable)."]
    elif peer.get("skipped"):
        lines += ["", f"PyTorch peer: skipped ({peer['skipped']})."]
    else:
        lines += ["", f"PyTorch peer: torch {peer.get('torch', '?')}, {len(peer_rows(peer))} rows "
                  "(fp32 = TF32 off, tf32 = TF32 on; see tables.md)."]
    return write_outputs(outdir, lines, bw_rows, gemm_rows, conv_rows, peer, env)


def write_outputs(outdir, lines, bw_rows, gemm_rows, conv_rows, peer, env):
    """Writes summary.md (the lines) and tables.md; returns the summary text."""
    summary = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(summary)
    with open(os.path.join(outdir, "tables.md"), "w") as f:
        f.write("\n".join(full_tables(bw_rows, gemm_rows, conv_rows, peer, env)) + "\n")
    return summary


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) == 2 else 2
    print(summarize(argv[1]), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
