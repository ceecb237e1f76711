"""gen_metrics_reference.py: numpy references for tests/trainers/test_gen_metrics.cpp.

Usage: /usr/bin/python3 gen_metrics_reference.py SPEC.json
SPEC: {"mode": ..., matrices as {"path": raw float64 file, "shape": [rows, cols]}}; prints one JSON object.

  trace_sqrt  s1, s2        -> {"trace": Tr((S1 S2)^{1/2})}, from the eigenvalues of the
                               non-symmetric product S1 S2 (numpy.linalg.eigvals: LAPACK dgeev),
                               a route independent of loom's (Jacobi on S1^{1/2} S2 S1^{1/2});
              b, s2            or for S1 = B^T B of low rank, from the eigenvalues of B S2 B^T
  fid         x, y          -> {"fid": ...} with numpy.mean, numpy.cov (ddof 1) and the trace above
                               (the low-rank route when x has no more rows than columns)
  kid         x, y, subsets -> {"mmd2": [...], "mean": ..., "std": ...}: torch-fidelity's
                               polynomial kernel and unbiased mmd2 (vectorised), on the subset
                               row indices given (int64 raw file, shape [subsets, 2, m])
"""
import json
import sys

import numpy as np


def load(entry, dtype=np.float64):
    return np.fromfile(entry["path"], dtype=dtype).reshape(entry["shape"])


def trace_sqrt(s1, s2):
    eig = np.linalg.eigvals(s1 @ s2)
    return float(np.sqrt(np.clip(eig.real, 0, None)).sum())


def helmert(n):
    """(n - 1, n): orthonormal rows orthogonal to (1, ..., 1); H^T H = I - 1 1^T / n."""
    h = np.zeros((n - 1, n))
    for k in range(1, n):
        h[k - 1, :k] = 1
        h[k - 1, k] = -k
        h[k - 1] /= np.sqrt(k * (k + 1))
    return h


def trace_sqrt_low_rank(b, s2):
    """Tr((S1 S2)^{1/2}) for S1 = B^T B (B of full row rank r < d): the nonzero eigenvalues
    of B^T B S2 are those of the r x r symmetric PSD B S2 B^T, so no zero eigenvalue enters."""
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(b @ s2 @ b.T), 0, None)).sum())


def fid(x, y):
    n = x.shape[0]
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    if n - 1 < x.shape[1]:  # S1 = B^T B with B = H x / sqrt(n - 1), rank n - 1
        trace = trace_sqrt_low_rank(helmert(n) @ x / np.sqrt(n - 1), s2)
    else:
        trace = trace_sqrt(s1, s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace)


# torch-fidelity (metric_kid.py): kernel_poly, mmd2(unbiased)
def kernel_poly(a, b):
    return (a @ b.T / a.shape[1] + 1) ** 3


def mmd2(x, y):
    k_xx, k_yy, k_xy = kernel_poly(x, x), kernel_poly(y, y), kernel_poly(x, y)
    m = k_xx.shape[0]
    kt_xx_sum = k_xx.sum() - np.diagonal(k_xx).sum()
    kt_yy_sum = k_yy.sum() - np.diagonal(k_yy).sum()
    return float((kt_xx_sum + kt_yy_sum) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def main():
    spec = json.load(open(sys.argv[1]))
    mode = spec["mode"]
    if mode == "trace_sqrt" and "b" in spec:  # S1 = B^T B of low rank
        out = {"trace": trace_sqrt_low_rank(load(spec["b"]), load(spec["s2"]))}
    elif mode == "trace_sqrt":
        out = {"trace": trace_sqrt(load(spec["s1"]), load(spec["s2"]))}
    elif mode == "fid":
        out = {"fid": fid(load(spec["x"]), load(spec["y"]))}
    elif mode == "kid":
        x, y, subsets = load(spec["x"]), load(spec["y"]), load(spec["subsets"], np.int64)
        values = [mmd2(x[s[0]], y[s[1]]) for s in subsets]
        out = {"mmd2": values, "mean": float(np.mean(values)), "std": float(np.std(values))}
    else:
        raise SystemExit("unknown mode " + mode)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
