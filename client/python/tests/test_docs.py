"""docs/python.md runs: every ```python block, in order, in one namespace,
against the test stack; every ```sh block too (on a copy of the package)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, SRC

DOC = os.path.join(SRC, "docs", "python.md")


def _blocks(language):
    with open(DOC, encoding="utf-8") as doc:
        return re.findall(rf"```{language}\n(.*?)```", doc.read(), re.S)


def test_python_examples_run(stack, monkeypatch, capsys):
    blocks = _blocks("python")
    assert len(blocks) >= 8
    monkeypatch.chdir(SRC)
    monkeypatch.setenv("MAAS_STATE_DIR", stack.dir)
    monkeypatch.delenv("MAAS_BROKER_FRONTEND", raising=False)
    monkeypatch.delenv("MAAS_REDIS_URL", raising=False)
    namespace = {"__name__": "docs_python"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"docs/python.md block {number}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"docs/python.md python block {number} failed: {exc!r}\n{block}")
    out = capsys.readouterr().out
    assert "expected 30 features, got 29" in out and "accuracy" in out


def test_shell_examples_run(tmp_path):
    blocks = _blocks("sh")
    assert blocks
    shutil.copytree(os.path.join(SRC, "client", "python"), tmp_path / "client" / "python",
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
    #  `python3` in the docs is Debian's /usr/bin/python3 (the one with the packages).
    env = {**os.environ, "HOME": str(tmp_path), "PATH": "/usr/bin:" + os.environ["PATH"]}
    for block in blocks:
        done = subprocess.run(["sh", "-ec", block], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{block}\n{done.stdout}{done.stderr}"
    assert "class Client" in done.stdout and "submit(self, kind" in done.stdout
    assert os.path.isfile(tmp_path / "lib" / "maas" / "maas" / "client.py")


def test_make_install_puts_it_under_the_system_python(tmp_path):
    done = subprocess.run(["make", "-C", BUILD, "install-python", f"DESTDIR={tmp_path}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    found = [root for root, _, files in os.walk(tmp_path)
             if root.endswith(os.path.join("dist-packages", "maas")) and "client.py" in files]
    assert found, "no dist-packages/maas under DESTDIR"
    check = subprocess.run([sys.executable, "-c", "import maas, sys; print(maas.__file__)"],
                           env={**os.environ, "PYTHONPATH": os.path.dirname(found[0])},
                           capture_output=True, text=True, cwd=tmp_path)
    assert found[0] in check.stdout
