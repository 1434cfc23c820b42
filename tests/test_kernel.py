"""The report kernel starts quietly: no "running over TCP without encryption" warning."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow


def test_kernel_over_ipc_prints_no_tcp_warning(tmp_path):
    import nbformat

    from cs_metrics.reporting.run import _kernel_name

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    nb.metadata["kernelspec"] = {"name": _kernel_name(), "display_name": "k", "language": "python"}
    src = tmp_path / "t.ipynb"
    nbformat.write(nb, str(src))
    script = textwrap.dedent(
        f"""
        import papermill as pm
        from cs_metrics.reporting.kernel import quiet_kernel
        with quiet_kernel({_kernel_name()!r}) as kw:
            out = pm.execute_notebook({str(src)!r}, {str(tmp_path / "o.ipynb")!r},
                                      kernel_name={_kernel_name()!r}, progress_bar=False, **kw)
        print(out.cells[0].outputs[0]["text"].strip())
        """
    )
    env = dict(os.environ)
    for var in ("JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR"):
        env.setdefault(var, str(tmp_path / var.lower()))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
    assert "without encryption" not in done.stderr and "WARNING" not in done.stderr, done.stderr
