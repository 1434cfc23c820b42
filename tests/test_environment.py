"""environment.yml (conda) and requirements.lock (pip) must name the same versions."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"python-duckdb": "duckdb"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def _conda() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)=([^=\s]+)\s*$", line)
        if m and m.group(1) != "python":
            pins[_norm(CONDA_TO_PIP.get(m.group(1), m.group(1)))] = m.group(2)
    return pins


def test_environment_yml_matches_lock():
    lock, conda = _lock(), _conda()
    assert conda, "environment.yml lists no pinned packages"
    drift = {n: (v, lock.get(n)) for n, v in conda.items() if lock.get(n) != v}
    assert not drift, f"environment.yml vs requirements.lock drift (conda, pip): {drift}"


def test_every_direct_dependency_is_pinned_for_conda():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[<>=\[; ]", d)[0] for d in deps["dependencies"]]
    names += [re.split(r"[<>=\[; ]", d)[0] for d in deps["optional-dependencies"]["dev"]]
    missing = [n for n in names if _norm(n) not in _conda()]
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"
