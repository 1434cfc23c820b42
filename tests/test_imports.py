"""Heavy dependencies are imported only where they are used (startup time of every command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ["polars", "great_expectations", "altair", "papermill", "pandas", "scipy"]


def _loaded(code: str) -> dict[str, bool]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_imports_no_heavy_dependency():
    loaded = _loaded(
        "import contextlib, io\nfrom cs_metrics.cli.main import build_parser\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    build_parser().format_help()"
    )
    assert not any(loaded.values()), loaded


def test_validate_with_the_polars_engine_imports_no_gx_pandas_or_charts(tmp_path):
    loaded = _loaded(
        "import os\n"
        f"os.environ['CS_METRICS_CACHE_DIR'] = {str(tmp_path)!r}\n"
        "from cs_metrics.data.validate import validate_dataset\n"
        f"assert validate_dataset({str(ROOT / 'tests' / 'fixtures' / 'tiny')!r}).ok"
    )
    assert loaded["polars"]
    assert not any(loaded[m] for m in ("great_expectations", "altair", "papermill", "pandas"))


def test_every_help_text_formats():
    """argparse %-formats help strings: a stray "%" breaks `cs-metrics --help` for everyone."""
    import argparse

    from cs_metrics.cli.main import build_parser

    parser = build_parser()
    assert "COMMAND" in parser.format_help()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        assert sub.format_help(), name
