"""Decoding a real dataset into the cache once, then streaming it: speed and peak memory.

    .venv/bin/python benchmarks/decode.py                       # 20,000 + 2,000 JPEGs at 96 px, 1 and 2 workers
    .venv/bin/python benchmarks/decode.py --images 2000 --test-images 200   # a quick look
    .venv/bin/python benchmarks/decode.py --dir /tmp/jpegs --keep          # reuse (and keep) the generated images

1. Generates an ImageFolder of ``--images`` training and ``--test-images`` test JPEGs at ``--size`` px
   in 10 classes (PIL, procedural content from a fixed seed: a class-specific shape over a random
   gradient with noise), in a temporary folder.
2. Decodes it into an empty cache (``ADIOS_CACHE`` in the temporary folder, never ``~/.cache``)
   with ``load_dataset("imagefolder", ..., workers=W)`` for each ``--workers`` count, each in a fresh
   process, and checks that the caches are byte-identical.
3. Streams the cached training images once through ``eval.features.extract_features`` (uint8 in,
   normalised batch by batch) with a small encoder, in a fresh process.

Memory: the process tree (the run and its decoding workers) is sampled every 20 ms from
``/proc/<pid>/status``: the sum of ``VmRSS`` and, apart, of ``RssAnon`` (private memory; cached
images reached through the memory map are file-backed pages, counted in ``RssFile``, which the
kernel can drop). ``VmHWM`` is the kernel's exact peak RSS of the main process. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

CLASSES = 10


def generate(folder: Path, n_train: int, n_test: int, size: int, seed: int = 0) -> int:
    """Write the JPEGs (class k: a polygon with k + 3 corners, or a disk for k = 9); returns the bytes written."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    axis = np.linspace(0, 1, size, dtype=np.float32)
    total = 0
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(CLASSES):
            (folder / split / f"class{k}").mkdir(parents=True, exist_ok=True)
        for i in range(n):
            k = i % CLASSES
            c1, c2 = rng.uniform(0, 255, (2, 3)).astype(np.float32)
            ramp = axis[None, :, None] if rng.random() < 0.5 else axis[:, None, None]
            pixels = c1 + (c2 - c1) * ramp + rng.normal(0, 12, (size, size, 3)).astype(np.float32)
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
            draw = ImageDraw.Draw(image)
            cx, cy = rng.uniform(0.35, 0.65, 2) * size
            radius = rng.uniform(0.2, 0.4) * size
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            if k == CLASSES - 1:
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
            else:
                start = rng.uniform(0, 2 * np.pi)
                angles = start + 2 * np.pi * np.arange(k + 3) / (k + 3)
                draw.polygon([(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in angles], fill=colour)
            path = folder / split / f"class{k}" / f"{i:06d}.jpg"
            image.save(path, quality=90)
            total += path.stat().st_size
    return total


def _kb_fields(path: str) -> dict[str, int]:
    """The kB fields of a ``/proc`` file such as ``status`` or ``smaps_rollup`` (empty when the process is gone)."""
    try:
        text = Path(path).read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


def _status(pid: int) -> dict[str, int]:
    return _kb_fields(f"/proc/{pid}/status")


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in children.read_text().split())
    return pids


FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Anonymous")  # of /proc/<pid>/smaps_rollup


class TreeMemory:
    """Samples the summed ``smaps_rollup`` fields (kB) of a process and its descendants, keeping the peaks.

    Summed ``Rss`` counts a page shared by several processes (a forked worker's copy of the parent's
    libraries) once per process; ``Pss`` splits it between them, so summed ``Pss`` is the tree's footprint.
    """

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid, self.every = pid, every
        self.peak = dict.fromkeys(FIELDS, 0)
        self.most_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.pid)
            statuses = [_kb_fields(f"/proc/{p}/smaps_rollup") for p in pids]
            self.most_processes = max(self.most_processes, sum(bool(s) for s in statuses))
            for key in self.peak:
                self.peak[key] = max(self.peak[key], sum(s.get(key, 0) for s in statuses))
            self._stop.wait(self.every)

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return self.peak


def _child(mode: str, args: argparse.Namespace) -> dict:
    """Run one measured step in this (fresh) process; returns what it measured."""
    import resource

    import torch

    torch.set_num_threads(args.threads)
    from adios.data import load_dataset

    anon_after_imports = _status(os.getpid())["RssAnon"]
    start = time.perf_counter()
    data = load_dataset("imagefolder", args.dir, image_size=args.size, workers=args.workers_child)
    seconds = time.perf_counter() - start
    out = {
        "load_seconds": seconds,
        "images": data.train_images.shape[0] + data.test_images.shape[0],
        "anon_imports_kb": anon_after_imports,
    }
    if mode == "stream":
        from torch import nn

        from adios.engine.encoders import build_encoder
        from eval.features import extract_features

        if args.encoder == "small":
            encoder = nn.Sequential(
                nn.Conv2d(3, 16, 5, stride=4, padding=2),
                nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )
        else:
            encoder = build_encoder(args.encoder, args.size)
        out["anon_before_kb"] = _status(os.getpid())["RssAnon"]
        start = time.perf_counter()
        features = extract_features(encoder, data.train_images[:, 0], batch_size=args.batch_size, normalise=data.normalise)
        out["stream_seconds"] = time.perf_counter() - start
        out["features"] = list(features.shape)
        out["anon_after_kb"] = _status(os.getpid())["RssAnon"]
    status = _status(os.getpid())
    out["hwm_kb"] = status["VmHWM"]
    out["children_maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out


def _measure(mode: str, args: argparse.Namespace, cache: Path, workers: int) -> tuple[dict, dict[str, int], int]:
    command = [sys.executable, __file__, "--child", mode, "--dir", str(args.dir), "--size", str(args.size)]
    command += ["--threads", str(args.threads), "--workers-child", str(workers), "--batch-size", str(args.batch_size)]
    command += ["--encoder", args.encoder]
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "ADIOS_CACHE": str(cache), "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    memory = TreeMemory(process.pid)
    stdout, _ = process.communicate()
    peak = memory.stop()
    if process.returncode:
        raise SystemExit(f"the {mode} step failed (exit {process.returncode})")
    return json.loads(stdout.strip().splitlines()[-1]), peak, memory.most_processes


def _digest(folder: Path) -> str:
    (cache,) = [p for p in folder.iterdir() if not p.name.startswith(".")]
    digest = hashlib.sha256()
    with open(cache / "images.u8", "rb") as handle:
        while block := handle.read(1 << 24):
            digest.update(block)
    return digest.hexdigest()


def _mb(kb: int) -> str:
    return f"{kb / 1024:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20_000, help="training JPEGs to generate (default 20000)")
    parser.add_argument("--test-images", type=int, default=2_000, help="test JPEGs to generate (default 2000)")
    parser.add_argument("--size", type=int, default=96, help="image side in px, of the JPEGs and of the cache (default 96)")
    parser.add_argument("--workers", default="1,2", help="decoding worker counts to compare (default 1,2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--batch-size", type=int, default=256, help="extract_features batch (default 256)")
    parser.add_argument("--encoder", default="small", help="'small' (two strided convs) or an adios encoder name")
    parser.add_argument("--dir", type=Path, help="folder for the JPEGs (default: a temporary one); reused when it holds them")
    parser.add_argument("--keep", action="store_true", help="keep the JPEGs and the caches")
    parser.add_argument("--child", choices=["decode", "stream"], help=argparse.SUPPRESS)
    parser.add_argument("--workers-child", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args)))
        return

    work = Path(tempfile.mkdtemp(prefix="adios-decode-"))
    args.dir = args.dir or work / "images"
    try:
        count = sum(1 for _ in args.dir.glob("*/*/*.jpg")) if args.dir.exists() else 0
        start = time.perf_counter()
        if count != args.images + args.test_images:
            jpeg_bytes = generate(args.dir, args.images, args.test_images, args.size)
        else:
            jpeg_bytes = sum(p.stat().st_size for p in args.dir.glob("*/*/*.jpg"))
        generated = time.perf_counter() - start
        total = args.images + args.test_images
        cache_mb = total * 3 * args.size * args.size / 2**20
        print(
            f"{total:,} JPEGs ({jpeg_bytes / 2**20:,.0f} MiB, {args.images:,} train + {args.test_images:,} test, {args.size} px, "
            f"{CLASSES} classes) in {generated:.0f} s; cache {cache_mb:,.0f} MiB. {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at the start; Python {platform.python_version()}, torch threads {args.threads}.\n"
        )
        rows, digests = [], []

        def row(step: str, seconds: str, rate: float, result: dict, peak: dict[str, int], processes: int) -> str:
            cells = [step, seconds, f"{rate:,.0f}", *(_mb(peak[k]) for k in FIELDS), _mb(result["hwm_kb"])]
            return "| " + " | ".join([*cells, _mb(result["anon_imports_kb"]), str(processes)]) + " |"

        for workers in [int(w) for w in args.workers.split(",")]:
            cache = work / f"cache-{workers}"
            result, peak, processes = _measure("decode", args, cache, workers)
            digests.append(_digest(cache))
            name = f"decode into the cache, {workers} worker{'s' if workers > 1 else ''}"
            rows.append(row(name, f"{result['load_seconds']:.1f}", total / result["load_seconds"], result, peak, processes))
        result, peak, processes = _measure("stream", args, work / f"cache-{args.workers.split(',')[0]}", 1)
        name = f"open the cache, stream the train split once through `extract_features` ({args.encoder} encoder, batch {args.batch_size})"
        seconds = f"{result['load_seconds']:.2f} + {result['stream_seconds']:.1f}"
        rows.append(row(name, seconds, args.images / result["stream_seconds"], result, peak, processes))
        print(
            "| step | s | images / s | peak RSS, tree sum | peak PSS, tree | peak anon PSS, tree | peak file PSS, tree "
            "| peak anon RSS, tree sum | VmHWM, main | anon RSS after imports, main | processes |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        float_copy = args.images * 3 * args.size * args.size * 4 / 2**20
        print(
            f"\nMemory in MiB. Caches byte-identical across worker counts: {'yes' if len(set(digests)) == 1 else 'NO'}. "
            f"Streaming: anon RSS {_mb(result['anon_before_kb'])} MiB before `extract_features` (imports, encoder, labels), "
            f"{_mb(result['anon_after_kb'])} MiB after; features {result['features']}. "
            f"A float32 copy of the training images would be {float_copy:,.0f} MiB."
        )
    finally:
        if args.keep:
            print(f"\nkept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
