"""docs/adding-a-mask-strategy.md: every file it shows is written and every command it shows runs, in order.

``pip install`` really installs the example package (into a folder on PYTHONPATH, not the project's
environment), so adios discovers the plugin through real package metadata, not a mocked one.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "adding-a-mask-strategy.md"


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, in order."""
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)


def test_every_command_of_the_guide_runs(tmp_path):
    site = tmp_path / "site"
    env = {
        **os.environ,
        "ADIOS_CACHE": str(tmp_path / "cache"),
        "OMP_NUM_THREADS": "1",
        "COLUMNS": "200",
        "PYTHONPATH": str(site),
    }
    outputs = {}
    ran = 0
    for language, body in blocks(GUIDE.read_text()):
        first = body.partition("\n")[0]
        if first.startswith("# file: "):
            path = tmp_path / first.removeprefix("# file: ").strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            continue
        if language != "bash":
            continue
        for line in body.splitlines():
            words = line.split()
            if not words:
                continue
            if words[0] == "cp":
                shutil.copy(tmp_path / words[1], tmp_path / words[2])
                continue
            if words[:2] == ["pip", "install"]:
                command = [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--no-build-isolation",
                    "--target",
                    str(site),
                    *words[2:],
                ]
            else:
                assert words[0] == "adios", line
                command = [sys.executable, "-m", "adios", *words[1:]]
            result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
            outputs[line] = result.stdout
            ran += 1
    assert ran >= 7
    assert "stripes" in outputs["adios list"] and "BROKEN" not in outputs["adios list"]  # found through the installed metadata
    assert "FAIL" not in outputs["adios check-strategy stripes"] and "pass" in outputs["adios check-strategy stripes"]
    assert list((site).glob("my_masks-0.1.0.dist-info/entry_points.txt"))
    assert (tmp_path / "runs" / "stripes" / "report.md").exists() and (tmp_path / "runs" / "stripes" / "masks.png").exists()
