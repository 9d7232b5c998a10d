"""Data-parallel training under torchrun, checked on the CPU with gloo and 2 processes (docs/cluster.md).

The numerical cases are functions of the slice of a global batch they compute on: with the whole
batch and no process group they are the single-process reference (today's code), and under
``torchrun --nproc-per-node 2 this_file.py OUT`` each rank runs them on its half and saves what it
got. The tests compare the two. The command-line tests run ``torchrun -m adios compare``.

``ADIOS_TEST_DDP_DEVICE=cuda`` runs it all on two GPUs with NCCL instead (benchmarks/gpu_check.sh).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import masks
from adios.engine import distributed
from adios.engine.encoders import ChunkBatchNorm1d, ChunkBatchNorm2d, build_encoder, chunked
from adios.engine.objectives import build_objective
from adios.engine.objectives.simclr import nt_xent
from adios.engine.seeding import generator
from adios.engine.trainer import train_step
from adios.engine.views import Views
from adios.errors import UserError

# The torchrun ranks run one thread each; the single-process references must round as they do.
pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[3]
WORLD = 2
B, K = 8, 2  # the global batch and the masked views per image
OBJECTIVES = ("simclr", "byol", "simsiam")
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(WORLD)]
DEVICE = os.environ.get("ADIOS_TEST_DDP_DEVICE", "cpu")  # cpu (gloo) or cuda (NCCL, 2 GPUs)


def _device() -> torch.device:
    """This process's device: the CPU, or under ADIOS_TEST_DDP_DEVICE=cuda its GPU (cuda:0 for the references)."""
    if DEVICE != "cuda":
        return torch.device("cpu")
    torch.backends.cudnn.allow_tf32 = False  # full float32 convolutions, as on the CPU
    return torch.device("cuda", distributed.local_rank())


def _cpu(tree):
    """Every tensor of a nested dict on the CPU, detached."""
    if isinstance(tree, dict):
        return {k: _cpu(v) for k, v in tree.items()}
    return tree.detach().cpu() if isinstance(tree, torch.Tensor) else tree


def _part() -> slice:
    """This process's rows of the global batch: all of them in one process, its half under torchrun."""
    b = B // distributed.world_size()
    return slice(distributed.rank() * b, (distributed.rank() + 1) * b)


# ---- the cases: run in one process on the whole batch, and on each rank on its half ----------------------


def nt_xent_case() -> dict[str, torch.Tensor]:
    """NT-Xent of random embeddings, and its gradients with respect to them."""
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(B, 16, generator=g), torch.randn(K, B, 16, generator=g)
    z_a = z_a[_part()].to(_device()).clone().requires_grad_()
    z_b = z_b[:, _part()].to(_device()).clone().requires_grad_()
    loss = nt_xent(z_a, z_b, 0.2)
    loss.backward()
    return _cpu({"loss": loss, "grad_a": z_a.grad, "grad_b": z_b.grad})


def batch_norm_case(kind: str, synchronised: bool | None = None) -> dict[str, torch.Tensor]:
    """A per-chunk batch norm (K chunks) on inputs far from 0 mean and unit variance: outputs, gradients, running statistics."""
    g = torch.Generator().manual_seed(1)
    shape = (K, B, 6, 5, 5) if kind == "2d" else (K, B, 6)
    x, weights = torch.randn(shape, generator=g) * 3 + 5, torch.randn(shape, generator=g)
    bn = ChunkBatchNorm2d(6) if kind == "2d" else ChunkBatchNorm1d(6)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(6, generator=g))
        bn.bias.copy_(torch.randn(6, generator=g))
    bn.synchronised = distributed.world_size() > 1 if synchronised is None else synchronised
    bn.to(_device())
    mine = x[:, _part()].flatten(0, 1).to(_device()).clone().requires_grad_()
    with chunked(bn, K):
        out = bn(mine)
    (out * weights[:, _part()].flatten(0, 1).to(_device())).sum().backward()
    return _cpu(
        {
            "out": out.unflatten(0, (K, -1)),
            "grad_x": mine.grad.unflatten(0, (K, -1)),
            "grad_weight": bn.weight.grad,
            "grad_bias": bn.bias.grad,
            "running_mean": bn.running_mean,
            "running_var": bn.running_var,
            "num_batches_tracked": bn.num_batches_tracked,
        }
    )


def train_step_case(name: str) -> dict[str, object]:
    """One ``train_step`` of an objective against ADIOS (encoder step and mask step), SGD: losses and parameter updates."""
    torch.manual_seed(0)
    heads = {"proj_hidden": 32, "proj_out": 16} | ({} if name == "simclr" else {"pred_hidden": 16})
    objective = build_objective(name, build_encoder("resnet-tiny", 32), **heads)
    strategy = masks.build("adios", image_size=32, n_masks=K, mask_channels=8)
    device = _device()
    objective.to(device)
    strategy.to(device)
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(B, 3, 32, 32, generator=g), torch.randn(B, 3, 32, 32, generator=g)
    views = Views(a[_part()], b[_part()], None, None, torch.zeros(B, dtype=torch.long)[_part()]).to(device)
    before = {**_named(objective, "objective"), **_named(strategy, "strategy")}
    model, propose = distributed.replicate(objective, strategy, device)
    opt = torch.optim.SGD(objective.parameters(), lr=0.1)
    mask_opt = torch.optim.SGD(strategy.parameters(), lr=0.1)
    g = generator(0, "masks", device=device)
    result = train_step(objective, strategy, views, g, opt, mask_opt, contextlib.nullcontext, model, propose)
    after = {**_named(objective, "objective"), **_named(strategy, "strategy")}
    return {
        "loss": result.loss,
        "mask_loss": result.mask_loss,
        "updates": {k: (after[k] - before[k]) / 0.1 for k in after if k in before and after[k].is_floating_point()},
        "state": after,
    }


def _named(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _batch_error() -> str:
    """The message for a global batch that two ranks cannot split (3 images)."""
    try:
        distributed.check_batch_size(3)
    except UserError as error:
        return str(error)
    return ""


def _worker(out: Path) -> None:
    """Under torchrun: every case on this rank's half of the batch, saved to ``out/rank<R>.pt``."""
    torch.set_num_threads(1)
    with distributed.process_group(_device()):
        results = {
            "nt_xent": nt_xent_case(),
            "bn2d": batch_norm_case("2d"),
            "bn1d": batch_norm_case("1d"),
            **{name: train_step_case(name) for name in OBJECTIVES},
            "batch_error": _batch_error(),
        }
        torch.save(results, out / f"rank{distributed.rank()}.pt")


# ---- the tests --------------------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "COLUMNS": "200", **extra}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    """What each of 2 gloo ranks computed on its half of the batch."""
    out = tmp_path_factory.mktemp("ranks")
    done = subprocess.run([*TORCHRUN, __file__, str(out)], env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [torch.load(out / f"rank{r}.pt", weights_only=False, map_location="cpu") for r in range(WORLD)]


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)


def test_gathered_nt_xent_is_the_global_loss_with_its_gradients(ranks):
    """Each rank's rows against all ranks' rows: the mean of the ranks' losses is NT-Xent over the global batch,
    and each rank's gradient, averaged as DDP averages, is the global gradient of its rows."""
    reference = nt_xent_case()
    parts = [r["nt_xent"] for r in ranks]
    close(torch.stack([p["loss"] for p in parts]).mean(), reference["loss"])
    close(torch.cat([p["grad_a"] for p in parts]) / WORLD, reference["grad_a"])
    close(torch.cat([p["grad_b"] for p in parts], dim=1) / WORLD, reference["grad_b"])
    assert not torch.allclose(parts[0]["loss"], parts[1]["loss"])  # the ranks did compute different halves


@pytest.mark.parametrize("kind", ["2d", "1d"])
def test_synchronised_batch_norm_is_the_per_chunk_batch_norm_of_the_global_batch(ranks, kind):
    reference = batch_norm_case(kind)  # one process: today's per-chunk BatchNorm
    parts = [r[f"bn{kind}"] for r in ranks]
    close(torch.cat([p["out"] for p in parts], dim=1), reference["out"])
    close(torch.cat([p["grad_x"] for p in parts], dim=1), reference["grad_x"])
    close(sum(p["grad_weight"] for p in parts), reference["grad_weight"])  # the loss is the sum of the ranks' losses
    close(sum(p["grad_bias"] for p in parts), reference["grad_bias"])
    for p in parts:
        close(p["running_mean"], reference["running_mean"])
        close(p["running_var"], reference["running_var"])
        assert int(p["num_batches_tracked"]) == int(reference["num_batches_tracked"]) == K


def test_synchronised_batch_norm_in_one_process_is_batch_norm():
    """The synchronised formulas (Chan et al.'s combination) with one process give BatchNorm's numbers."""
    for kind in ("2d", "1d"):
        reference, synchronised = batch_norm_case(kind, synchronised=False), batch_norm_case(kind, synchronised=True)
        for key, value in reference.items():
            close(synchronised[key].float(), value.float())


def test_a_batch_the_ranks_cannot_split_is_a_user_error(ranks):
    assert ranks[0]["batch_error"] == ranks[1]["batch_error"]
    assert "--batch-size 3 does not split evenly over the 2 processes" in ranks[0]["batch_error"]
    assert "\n" not in ranks[0]["batch_error"]
    distributed.check_batch_size(3)  # one process takes any batch


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).norm() / expected.norm())


@pytest.mark.parametrize("name", OBJECTIVES)
def test_a_ddp_train_step_updates_as_one_process_on_the_global_batch(ranks, name):
    """Encoder step through DDP (gathered negatives, synchronised batch norms) and ADIOS's mask step through
    DDP: the losses, every parameter's update and the running statistics equal one process's on the whole batch,
    and the ranks hold the same weights afterwards.

    Updates are compared by their relative error in norm. The encoder step's are within 1e-3 (measured: at
    most 4e-5). The mask step amplifies rounding (it runs through the just-updated encoder: moving the
    images by 1e-6 moved BYOL's occlusion gradients by 7e-3), so its bound is 1e-2 (measured: at most 2e-3);
    gradients summed instead of averaged, or negatives not gathered, are off by order 1.
    """
    reference = train_step_case(name)
    parts = [r[name] for r in ranks]
    assert parts[0]["loss"] == parts[1]["loss"] == pytest.approx(reference["loss"], rel=1e-5)
    assert parts[0]["mask_loss"] == parts[1]["mask_loss"] == pytest.approx(reference["mask_loss"], rel=1e-5)
    updates = parts[0]["updates"]
    assert updates.keys() == reference["updates"].keys()
    moved = {k: v for k, v in reference["updates"].items() if v.norm() > 1e-5}  # a bias before a batch norm gets no gradient
    assert any(k.startswith("objective.encoder") for k in moved) and any(k.startswith("strategy.") for k in moved)
    for key, update in moved.items():
        assert relative_error(updates[key], update) < (1e-3 if key.startswith("objective.") else 1e-2), key
    for key, value in reference["state"].items():
        if "running" in key:
            torch.testing.assert_close(parts[0]["state"][key], value, rtol=1e-4, atol=1e-5, msg=key)
    for key, value in parts[0]["state"].items():
        assert torch.equal(value, parts[1]["state"][key]), key  # DDP keeps the ranks identical


# ---- the command line under torchrun ----------------------------------------------------------------------

COMPARE = ["-m", "adios", "compare", "--strategies", "adios-s,none", "--reference", "none", "--n-train", "64", "--n-test", "32"]
COMPARE += ["--epochs", "1", "--batch-size", "16", "--checkpoint-every", "1", "--device", DEVICE]
TIMINGS = {"wall_seconds", "train_seconds", "fit_seconds", "mask_seconds", "eval_seconds", "probe_seconds"}


def compare(out: Path, cache: Path, **env: str) -> subprocess.CompletedProcess:
    """``torchrun --nproc-per-node 2 -m adios compare`` (adios-s and none, 4 steps of a global batch of 16)."""
    command = [*TORCHRUN, *COMPARE, "--out", str(out)]
    return subprocess.run(command, env=_env(ADIOS_CACHE=str(cache), **env), capture_output=True, text=True, timeout=600)


def metrics(out: Path) -> dict[str, dict]:
    """Every run's record, timings aside."""
    records = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*/metrics.json"))]
    return {r["run"]: {k: v for k, v in r.items() if k not in TIMINGS} for r in records}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, cache) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("uninterrupted")
    done = compare(out, cache)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_a_torchrun_comparison_writes_one_record_per_run(uninterrupted):
    out, done = uninterrupted
    records = json.loads((out / "results.json").read_text())["records"]
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert sorted(r["strategy"] for r in records) == ["adios-s", "none"] and sorted(r["run"] for r in records) == runs
    for run in runs:
        log = (out / "runs" / run / "log.txt").read_text()
        assert log.count("starting run") == 1 and log.count("trained 4 steps") == 1, log  # rank 0 alone logs
        assert not (out / "runs" / run / "checkpoint.pt").exists()
    by_strategy = {r["strategy"]: r for r in records}
    described = "2 x cuda (nccl)" if DEVICE == "cuda" else "2 x cpu (gloo)"
    assert all(r["device"] == described and r["steps"] == 4 and r["status"] == "ok" for r in records)
    # both ranks' encoder passes are counted: per image of the global batch, 2 for none, 4 for ADIOS-s
    assert by_strategy["none"]["passes_per_image"] == 2.0 and by_strategy["adios-s"]["passes_per_image"] == 4.0
    assert done.stdout.count("results, report and figures") == 1  # rank 1 prints nothing


@pytest.mark.skipif(DEVICE == "cuda", reason="GPU kernels are not bitwise reproducible; the same numbers are a CPU claim")
def test_a_killed_ddp_run_resumes_where_it_stopped(uninterrupted, cache, tmp_path):
    """Rank 0 is killed writing the checkpoint of step 2 (its 4th write: comparison.json, settings.json, the
    checkpoint of step 1, ...); torchrun ends rank 1. The same command resumes both ranks from step 1, and every
    number of every run equals the uninterrupted run's: losses, mask losses, probes, mask statistics."""
    out = tmp_path / "killed"
    killed = compare(out, cache, ADIOS_CRASH_AT_WRITE="4")
    assert killed.returncode != 0 and "SIGKILL" in killed.stdout + killed.stderr
    (run,) = (out / "runs").glob("adios-s-*")
    assert torch.load(run / "checkpoint.pt", weights_only=True)["state"]["step"] == 1
    assert not (run / "metrics.json").exists()
    resumed = compare(out, cache)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (run / "log.txt").read_text().count("resuming run") == 1
    reference = metrics(uninterrupted[0])
    assert len(reference) == 2 and metrics(out) == reference


def test_the_commands_of_docs_cluster_use_flags_that_exist():
    """Every flag that docs/cluster.md gives `adios compare` or `adios train` is one of theirs."""
    import typer.main

    from adios.cli import app

    commands = typer.main.get_command(app).commands
    text = (ROOT / "docs" / "cluster.md").read_text().replace("\\\n", " ")
    checked = 0
    for command, rest in re.findall(r"adios (compare|train)\b([^\n`]*)", text):
        known = {opt for param in commands[command].params for opt in param.opts + param.secondary_opts}
        for flag in re.findall(r"(?<!\S)--[a-z-]+", rest):
            assert flag in known, f"adios {command} {flag}"
            checked += 1
    assert checked >= 15  # the commands were found


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
