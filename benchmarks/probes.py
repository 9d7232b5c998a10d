"""What the probes cost at scale: linear, kNN and clustering on 10,000 and 50,000 x 512 features.

    .venv/bin/python benchmarks/probes.py                      # 2 threads, sizes 10,000 and 50,000
    .venv/bin/python benchmarks/probes.py --threads 1 --sizes 10000

**Features.** Realistic, not blobs: ``shapes`` images (32 px, 10 classes; 50,000 train and 10,000
test, seed 0) through a small CNN, briefly trained and then frozen: torchvision's ResNet with the
small-image stem, one BasicBlock per stage at width 64 (512-d features), trained with labels for
2 epochs on 4,000 other ``shapes`` images (seed 1), SGD 0.1, momentum 0.9, batch 128. Every draw is
seeded. The features are computed once (about 12 minutes on one core) and cached under
``$ADIOS_CACHE`` (default ``~/.cache/adios``). A size n uses the first n training features, and
always the 10,000 test features.

**Measurements.** Each probe runs in its own subprocess with the asked thread count, so that its peak
resident memory (``VmHWM``) is its own: the table gives the peak after loading the features and the
peak during the probe. Times are one run each, of the fit and the scoring: wall clock, and the CPU
time of the probe's process (all its threads), which other jobs on a shared machine inflate less.

* linear, today: ``make_pipeline(StandardScaler(), LogisticRegression(C=1, max_iter=1000))`` on
  float64 features; and the same on float32 features, as ``eval.probes.fit_linear_probe`` fits it;
* linear, torch L-BFGS: ``eval.probes.fit_torch_logistic`` on the CPU (the GPU path's code);
* kNN: ``eval.probes.knn_probe``, k = 20 and 200 (train n against the 10,000 test features);
* clustering: ``eval.clustering.clustering_probe`` on the n training features against their labels.

The accuracy check compares the linear probes on the same features at the largest size: test
accuracy, the change in points against today's probe on float64 features, the share of test
predictions equal to its predictions, and the objective (mean log-loss + ||W||²/(2Cn)) reached.
Writes markdown to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from adios.data.shapes import default_cache_dir, make_shapes
from adios.engine.seeding import generator, global_seed
from eval.features import extract_features

LINEAR = ("linear-today-f64", "linear-f32", "linear-torch")
PROBES = (*LINEAR, "knn20", "knn200", "cluster")
LABELS = {
    "linear-today-f64": "linear, today (lbfgs, float64 features)",
    "linear-f32": "linear, `fit_linear_probe` (lbfgs, float32)",
    "linear-torch": "linear, torch L-BFGS on the CPU (float32)",
    "knn20": "kNN, k = 20",
    "knn200": "kNN, k = 200",
    "cluster": "clustering (KMeans, n_init 10)",
}


def small_cnn() -> nn.Module:
    """ResNet, one BasicBlock per stage, width 64, 3x3 stride-1 stem, no max-pool: 512-d pooled features."""
    net = ResNet(BasicBlock, [1, 1, 1, 1])
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


def realistic_features(
    n_train: int, n_test: int, cache_dir: Path, seed: int = 0, train_images: int = 4000, epochs: int = 2
) -> Path:
    """An ``.npz`` of train and test features (float32) and labels of ``shapes`` images through a briefly
    trained CNN; computed on the first call, then read from the cache."""
    params = {"n_train": n_train, "n_test": n_test, "seed": seed, "train_images": train_images, "epochs": epochs, "v": 1}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir / f"probe-features-{key}.npz"
    if not path.exists():
        fit = make_shapes(n_train=train_images, n_test=1, renders=1, seed=seed + 1, cache_dir=cache_dir)
        with global_seed(seed, "probe-bench-encoder"):
            encoder, head = small_cnn(), nn.Linear(512, 10)
        x, y = fit.normalise(fit.train_images[:, 0]), fit.train_labels
        optimizer = torch.optim.SGD([*encoder.parameters(), *head.parameters()], lr=0.1, momentum=0.9, weight_decay=5e-4)
        order = generator(seed, "probe-bench-order")
        for _ in range(epochs):
            for idx in torch.randperm(len(x), generator=order).split(128):
                loss = F.cross_entropy(head(encoder(x[idx])), y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        data = make_shapes(n_train=n_train, n_test=n_test, renders=1, seed=seed, cache_dir=cache_dir)
        features = {
            "train_x": extract_features(encoder, data.normalise(data.train_images[:, 0]), batch_size=256).numpy(),
            "train_y": data.train_labels.numpy(),
            "test_x": extract_features(encoder, data.normalise(data.test_images), batch_size=256).numpy(),
            "test_y": data.test_labels.numpy(),
        }
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.npz")
        np.savez(partial, **features)
        partial.replace(path)
    return path


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_one(probe: str, n: int, path: Path, predictions: Path) -> dict:
    """One probe on the first ``n`` training features, in this (fresh) process."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from eval.clustering import clustering_probe
    from eval.probes import fit_linear_probe, fit_torch_logistic, knn_probe, logistic_objective

    with np.load(path) as z:
        train_x, train_y, test_x, test_y = z["train_x"][:n].copy(), z["train_y"][:n].copy(), z["test_x"], z["test_y"]
    loaded = peak_rss_mib()
    start, cpu_start = time.perf_counter(), time.process_time()
    out: dict = {}
    if probe in LINEAR:
        if probe == "linear-today-f64":
            model = make_pipeline(StandardScaler(), LogisticRegression(C=1, max_iter=1000)).fit(
                train_x.astype(np.float64), train_y
            )
        elif probe == "linear-f32":
            model = fit_linear_probe(train_x, train_y)
        else:
            model = fit_torch_logistic(train_x, train_y)
        predicted = model.predict(test_x)
        out["accuracy"] = float(np.mean(predicted == test_y))
    elif probe.startswith("knn"):
        out["accuracy"] = knn_probe(train_x, train_y, test_x, test_y, k=int(probe[3:]))
    else:
        out.update(clustering_probe(train_x, train_y))
    out["seconds"], out["cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu_start
    out["loaded_mib"], out["peak_mib"] = loaded, peak_rss_mib()
    if probe in LINEAR:  # after the peak: the objective reached, in float64 on the standardised features
        np.save(predictions, predicted)
        z64 = torch.from_numpy(StandardScaler().fit_transform(train_x.astype(np.float64)))
        if probe == "linear-torch":
            weight, bias = model.weight.double(), model.bias.double()
        else:
            weight, bias = torch.from_numpy(model[-1].coef_).double(), torch.from_numpy(model[-1].intercept_).double()
        out["objective"] = float(logistic_objective(z64, torch.from_numpy(train_y).long(), weight, bias, 1.0))
    return out


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="threads for torch, BLAS and OpenMP in each probe (default 2)")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 50_000], help="training-feature counts (default 10000 50000)"
    )
    parser.add_argument("--n-test", type=int, default=10_000, help="test features (default 10000)")
    parser.add_argument("--cache", type=Path, default=None, help="feature cache folder (default $ADIOS_CACHE or ~/.cache/adios)")
    parser.add_argument("--one", choices=PROBES, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--features", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--predictions", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps(run_one(args.one, args.n, args.features, args.predictions)))
        return

    cache = args.cache or default_cache_dir()
    largest = max(args.sizes)
    start = time.perf_counter()
    path = realistic_features(largest, args.n_test, cache)  # built and cached once, outside the timings
    print(f"Features ready in {time.perf_counter() - start:.0f} s; load average before: {load_average()}", file=sys.stderr)
    env = {**os.environ, **{v: str(args.threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    script = Path(__file__).resolve()
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            for probe in PROBES:
                predictions = Path(tmp) / f"{probe}-{n}.npy"
                command = [sys.executable, str(script), "--one", probe, "--n", str(n), "--features", str(path)]
                command += ["--predictions", str(predictions), "--threads", str(args.threads)]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                results[probe, n] = json.loads(done.stdout.strip().splitlines()[-1])
                if probe in LINEAR:
                    results[probe, n]["predicted"] = np.load(predictions)
                print(f"{probe} n={n}: {results[probe, n]['seconds']:.1f} s", file=sys.stderr)
    after = load_average()

    print(
        f"Features: {largest:,} train and {args.n_test:,} test x 512 (briefly trained CNN on `shapes`), {args.threads} thread(s).\n"
    )
    print("| probe | train features | seconds | CPU seconds | peak RSS MiB (features loaded → after probe) | result |")
    print("|---|---|---|---|---|---|")
    for n in sorted(args.sizes):
        for probe in PROBES:
            r = results[probe, n]
            if probe == "cluster":
                result = f"NMI {r['cluster_nmi']:.3f}, ARI {r['cluster_ari']:.3f}, FMI {r['cluster_fmi']:.3f}"
            else:
                result = f"accuracy {100 * r['accuracy']:.2f}%"
            memory = f"{r['loaded_mib']:.0f} → {r['peak_mib']:.0f}"
            print(f"| {LABELS[probe]} | {n:,} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {memory} | {result} |")
    reference = results["linear-today-f64", largest]
    print(f"\nAccuracy check at {largest:,} train features (same features, test set of {args.n_test:,}):\n")
    print("| linear probe | test accuracy | Δ points vs today | predictions equal to today's | objective reached |")
    print("|---|---|---|---|---|")
    for probe in LINEAR:
        r = results[probe, largest]
        delta = 100 * (r["accuracy"] - reference["accuracy"])
        agree = float(np.mean(r["predicted"] == reference["predicted"]))
        print(f"| {LABELS[probe]} | {100 * r['accuracy']:.2f}% | {delta:+.2f} | {100 * agree:.2f}% | {r['objective']:.6f} |")
    print(f"\nLoad average (1, 5, 15 min) after the run: {after}.")


if __name__ == "__main__":
    main()
