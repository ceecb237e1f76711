#!/usr/bin/env python3
"""test_summarize.py: checks scripts/summarize_device_check.py on crafted inputs
(no GPU needed): CTest log counting, sanitizer logs (clean, with errors, cut
short), Google Benchmark JSON (whole and cut short), ratios to cuBLAS / cuDNN
and percentages of the copy computed by hand, the training-step table (loom
CUDA against PyTorch CUDA: medians of repetitions, aggregates and CPU rows
ignored, a file cut short, an error row, a parameter mismatch, a skipped peer),
and the no-GPU case.

    python3 bench/test_summarize.py      (any python3 >= 3.8; standard library only)
"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import summarize_device_check as sdc  # noqa: E402

CTEST_LOG = """\
Test project /x/build-gpu
      Start  1: Tensor.Add
  1/6 Test  #1: Tensor.Add ...................................   Passed    0.01 sec
  2/6 Test  #2: cuda.Gemm.AllVersions ........................***Failed    1.20 sec
  3/6 Test  #3: cuda.Runtime.NoDevice ........................***Skipped   0.00 sec
  4/6 Test  #4: golden_ops ...................................***Exception: SegFault  0.30 sec
  5/6 Test  #5: Conv.Shapes ..................................   Passed    0.02 sec
  6/6 Test  #6: Slow.Thing ...................................***Timeout 120.01 sec

50% tests passed, 3 tests failed out of 6
"""


def bench_row(name, **counters):
    row = {"name": name, "run_name": name, "run_type": "iteration", "iterations": 1,
           "real_time": 1.0, "cpu_time": 1.0, "time_unit": "us"}
    row.update(counters)
    return row


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class SummarizeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = self.tmp.name
        logs = os.path.join(self.out, "logs")
        write(os.path.join(logs, "env.txt"),
              "date_utc: 2026-11-22 06:00 UTC\ncommit: abc1234\nnvidia_smi_L:\n  GPU 0: NVIDIA H100 80GB HBM3\n"
              "gpu_query: NVIDIA H100 80GB HBM3, 580.1, 81559 MiB\ndriver_cuda: CUDA Version: 13.0\n")
        write(os.path.join(logs, "steps.tsv"),
              "step\tstatus\tseconds\tnote\nenv\tok\t2\t\nbuild_all\ttimeout\t240\tstopped after 240s\n")
        write(os.path.join(logs, "ctest.log"), CTEST_LOG)
        write(os.path.join(logs, "sanitizer_loom_test_cuda_a.log"), "========= COMPUTE-SANITIZER\n"
              "========= ERROR SUMMARY: 0 errors\n")
        write(os.path.join(logs, "sanitizer_loom_test_cuda_b.log"), "========= COMPUTE-SANITIZER\n"
              "========= Invalid __global__ read of size 4 bytes\n=========     at k()\n"
              "========= Invalid __global__ write of size 4 bytes\n========= ERROR SUMMARY: 2 errors\n")
        write(os.path.join(logs, "sanitizer_loom_test_cuda_c.log"), "========= COMPUTE-SANITIZER\n"
              "========= Invalid __global__ read of size 4 bytes\n")  # cut short: no summary line
        # bandwidth: copy reference 3000 GB/s; add at 256MB 2700 GB/s = 90%
        bw = {"context": {"copy_reference_GBps": "3000.0"},
              "benchmarks": [bench_row("bw/copy/256MB", **{"GB/s": 2950.0, "pct_copy": 98.3}),
                             bench_row("bw/add/256MB", **{"GB/s": 2700.0, "pct_copy": 90.0}),
                             bench_row("bw/relu/256MB", **{"GB/s": 2100.0, "pct_copy": 70.0}),
                             {"name": "bw/add/1GB", "run_name": "bw/add/1GB", "run_type": "iteration",
                              "error_occurred": True, "error_message": "does not fit: needs 4 GB"}]}
        write(os.path.join(self.out, "bench_cuda_bandwidth.json"), json.dumps(bw))
        # GEMM: v6 fp32 at 4096 = 40000 vs cuBLAS 50000 -> 0.80; tf32 7_mma 200000 vs 400000 -> 0.50
        gemm = {"context": {"peak_fp32_tflops": "66.9", "peak_tf32_tflops": "494.7", "peak_bf16_tflops": "989.4",
                            "peak_source": "test"},
                "benchmarks": [bench_row("gemm/1_naive/fp32/square_1024", **{"GFLOP/s": 1000.0}),
                               bench_row("gemm/6_warptile/fp32/square_4096", **{"GFLOP/s": 40000.0}),
                               bench_row("gemm/6_warptile/fp32/dcgan_b64_D2", **{"GFLOP/s": 20000.0}),
                               bench_row("gemm/6_warptile/fp32/dcgan_b64_D3", **{"GFLOP/s": 10000.0}),
                               bench_row("gemm/7_mma/tf32/square_4096", **{"GFLOP/s": 200000.0}),
                               bench_row("gemm/cublas/fp32/square_4096", **{"GFLOP/s": 50000.0}),
                               bench_row("gemm/cublas/fp32/dcgan_b64_D2", **{"GFLOP/s": 40000.0}),
                               bench_row("gemm/cublas/fp32/dcgan_b64_D3", **{"GFLOP/s": 40000.0}),
                               bench_row("gemm/cublas_tf32/tf32/square_4096", **{"GFLOP/s": 400000.0}),
                               bench_row("gemm/cublaslt/tf32/square_4096", **{"GFLOP/s": 100.0})]}
        write(os.path.join(self.out, "bench_cuda_gemm.json"), json.dumps(gemm, indent=2))
        # conv, cut short after two whole rows (as when the time box stops the program)
        conv = {"context": {"gpu": "H100"},
                "benchmarks": [bench_row("conv/implicit/fp32/dcgan_b64_D2_x/fwd", **{"GFLOP/s": 3000.0}),
                               bench_row("conv/cudnn/fp32/dcgan_b64_D2_x/fwd", **{"GFLOP/s": 4000.0}),
                               bench_row("conv/implicit/fp32/dcgan_b64_D3_x/fwd", **{"GFLOP/s": 1.0})]}
        text = json.dumps(conv, indent=2)
        cut = text.index('"conv/implicit/fp32/dcgan_b64_D3_x/fwd"') + 10
        write(os.path.join(self.out, "bench_cuda_conv.json"), text[:cut])
        peer = {"torch": "2.11.0", "results": [
            {"name": "gemm/torch/fp32/square_4096", "GFLOP/s": 48000.0},
            {"name": "bw/add/256MB", "GB/s": 2800.0},
            {"name": "conv/torch/tf32/dcgan_b64_D2_x/fwd", "GFLOP/s": 9000.0}]}
        write(os.path.join(self.out, "peer_cuda.json"), json.dumps(peer))

        self.write_train_steps(logs)

    def write_train_steps(self, logs):
        """loom: dcgan steps 30, 10, 20 ms (median 20; the aggregate rows and a CPU row carry decoys);
        wae 8000 and 12000 us then a cut (median 10 ms); fusion an error. PyTorch: dcgan fp32 50, tf32 25;
        wae fp32 5 with 101 parameters against loom's 100; fusion fp32 40; unet fp32 7.5."""
        name = "train_step/{}/{}/iterations:1/repeats:3/manual_time"

        def step_row(model, ms, unit="ms", device="cuda", params=100.0):
            return bench_row(name.format(model, device), real_time=ms, time_unit=unit, batch=64.0, params=params)

        dcgan = [step_row("dcgan", 30.0), step_row("dcgan", 10.0), step_row("dcgan", 20.0),
                 step_row("dcgan", 1.0, device="cpu"),
                 dict(step_row("dcgan", 999.0), name=name.format("dcgan", "cuda") + "_median",
                      run_type="aggregate", aggregate_name="median")]
        write(os.path.join(logs, "train_steps_loom_dcgan.json"), json.dumps({"context": {}, "benchmarks": dcgan}))
        wae = json.dumps({"context": {}, "benchmarks": [step_row("wae", 8000.0, "us"), step_row("wae", 12000.0, "us"),
                                                         step_row("wae", 1.0, "us")]}, indent=2)
        cut = wae.rindex('"real_time"')  # the third row is cut before its time
        write(os.path.join(logs, "train_steps_loom_wae.json"), wae[:cut])
        fusion = {"name": name.format("fusion", "cuda"), "run_name": name.format("fusion", "cuda"),
                  "run_type": "iteration", "error_occurred": True,
                  "error_message": "step of fusion on cuda: out of memory"}
        write(os.path.join(logs, "train_steps_loom_fusion.json"), json.dumps({"benchmarks": [fusion]}))
        write(os.path.join(logs, "train_steps_loom_unet.json"), "")  # the process printed nothing

        def t(model, ms, precision="fp32", params=100, batch=64):
            return {"model": model, "ms": ms, "precision": precision, "params": params, "batch": batch}

        write(os.path.join(logs, "train_steps_torch.json"), json.dumps({
            "torch": "2.11.0", "device": "cuda", "reps": 3,
            "results": [t("dcgan", 50.0), t("wae", 5.0, params=101), t("fusion", 40.0, batch=8), t("unet", 7.5, batch=4),
                        t("dcgan", 25.0, "tf32")]}))

    def tearDown(self):
        self.tmp.cleanup()

    def test_ctest_counts(self):
        r = sdc.parse_ctest(CTEST_LOG)
        self.assertEqual((r["passed"], r["failed"], r["skipped"], r["total"]), (2, 3, 1, 6))
        self.assertIn("cuda.Gemm.AllVersions (Failed)", r["failed_names"])
        self.assertTrue(any(n.startswith("golden_ops (Exception") for n in r["failed_names"]))
        self.assertTrue(any(n.startswith("Slow.Thing (Timeout") for n in r["failed_names"]))

    def test_sanitizer(self):
        s = sdc.parse_sanitizer(self.out)
        self.assertEqual(s["loom_test_cuda_a"], {"errors": 0, "complete": True, "note": ""})
        self.assertEqual(s["loom_test_cuda_b"]["errors"], 2)
        self.assertFalse(s["loom_test_cuda_c"]["complete"])
        self.assertEqual(s["loom_test_cuda_c"]["errors"], 1)

    def test_truncated_json_keeps_whole_rows(self):
        _ctx, rows = sdc.load_bench_json(os.path.join(self.out, "bench_cuda_conv.json"))
        self.assertEqual([r["name"] for r in rows],
                         ["conv/implicit/fp32/dcgan_b64_D2_x/fwd", "conv/cudnn/fp32/dcgan_b64_D2_x/fwd"])

    def test_summary_numbers(self):
        text = sdc.summarize(self.out)
        self.assertTrue(os.path.exists(os.path.join(self.out, "summary.md")))
        self.assertTrue(os.path.exists(os.path.join(self.out, "tables.md")))
        self.assertIn("NVIDIA H100 80GB HBM3", text)
        self.assertIn("abc1234", text)
        self.assertIn("CTest: 2 passed, 3 failed, 1 skipped (of 6)", text)
        self.assertIn("memcheck: 3 errors over 3 programs; incomplete: loom_test_cuda_c", text)
        self.assertIn("| add | - | - | 2,700 (90%) | - | 2,800 |", text)
        # 6_warptile fp32: 40000 / 50000 = 0.80 at 4096; model shapes geomean of 0.5 and 0.25 = 0.354
        self.assertIn("| 6_warptile | fp32 | - | - | 40,000 | 60% | 0.80 | 0.35 |", text)
        self.assertIn("| 7_mma | tf32 | - | - | 200,000 | 40% | 0.50 | - |", text)
        self.assertIn("| torch.mm | fp32 | - | - | 48,000 | - | 0.96 | - |", text)
        # conv implicit fwd 3000 / cuDNN 4000 = 0.75
        self.assertIn("| implicit | fp32 | 3,000 | 0.75 |", text)
        self.assertIn("| torch | tf32 | 9,000 | - |", text)
        self.assertIn("| fp32 SIMT GEMM 4096 >= 0.75 x cuBLAS SGEMM (best: 6_warptile) | 0.80 | yes |", text)
        self.assertIn("| TF32 GEMM 4096 >= 0.60 x cuBLAS TF32 (best: 7_mma) | 0.50 | no |", text)
        self.assertIn("| implicit-GEMM conv fwd, DCGAN layers, fp32: >= 0.50 x cuDNN (geomean) | 0.75 | yes |", text)
        self.assertIn("| relu at 256 MB >= 0.80 of the copy bandwidth | 0.70 | no |", text)
        self.assertNotIn("does not fit", text)  # a size that does not fit is no error in the summary
        with open(os.path.join(self.out, "tables.md")) as f:
            tables = f.read()
        self.assertIn("| bw/add/1GB | error: does not fit: needs 4 GB | | | |", tables)
        self.assertIn("GPU: NVIDIA H100 80GB HBM3, 580.1, 81559 MiB; date: 2026-11-22 06:00 UTC; commit: abc1234", tables)
        self.assertIn("| dcgan_b64_D2 | - | 20,000 | 40,000 | - |", tables)

    def test_train_steps_table(self):
        text = sdc.summarize(self.out)
        self.assertIn("## Training step, loom CUDA vs PyTorch CUDA", text)
        # dcgan: median(30, 10, 20) = 20 ms; 50 / 20 = 2.50
        self.assertIn("| dcgan | 64 | 20.0 | 50.0 | 2.50 | 25.0 |", text)
        # wae: median(8, 12) ms = 10.0 (the cut third row is dropped); 5 / 10 = 0.50
        self.assertIn("| wae | 64 | 10.0 | 5.0 | 0.50 | - |", text)
        self.assertIn("| fusion | 8 | error: step of fusion on cuda: out of memory | 40.0 | - | - |", text)
        self.assertIn("| unet | 4 | - | 7.5 | - | - |", text)
        self.assertNotIn("cgan_gram |", text)  # measured by neither side
        self.assertIn("Median of 2/3 timed steps (loom) and 3 (PyTorch 2.11.0)", text)
        self.assertIn("Parameter count MISMATCH: wae (loom 100 parameters, batch 64; PyTorch 101, batch 64).", text)
        self.assertNotIn("dcgan (loom", text)

    def test_train_steps_peer_skipped(self):
        logs = os.path.join(self.out, "logs")
        for f in os.listdir(logs):
            if f.startswith("train_steps_loom"):
                os.remove(os.path.join(logs, f))
        write(os.path.join(logs, "train_steps_torch.json"),
              json.dumps({"torch": "2.11.0", "skipped": "no CUDA device", "results": []}))
        text = sdc.summarize(self.out)
        self.assertIn("No training-step results (logs/train_steps_loom_*.json, logs/train_steps_torch.json) "
                      "(PyTorch peer skipped: no CUDA device).", text)

    def test_no_gpu_and_nothing_measured(self):
        with tempfile.TemporaryDirectory() as d:
            write(os.path.join(d, "logs", "env.txt"), "date_utc: x\ncommit: y\nno_gpu: yes\n")
            write(os.path.join(d, "logs", "steps.tsv"), "step\tstatus\tseconds\tnote\ngpu\tfailed\t0\tno GPU\n")
            text = sdc.summarize(d)
            self.assertIn("**No GPU on this machine**", text)
            self.assertIn("CTest: no log", text)
            self.assertNotIn("## GEMM", text)  # nothing measured, no empty sections
            self.assertNotIn("## Targets", text)
            self.assertNotIn("## Training step", text)


if __name__ == "__main__":
    unittest.main()
