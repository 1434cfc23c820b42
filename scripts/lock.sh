#!/usr/bin/env bash
# Re-resolve the environment after changing pyproject.toml dependencies, then update environment.yml by hand
# (tests/test_environment.py checks that the two agree).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
python3.11 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q ".[dev]" "setuptools>=68"
{ echo "# Pinned, resolved set for Python 3.11 (pip freeze of the project venv). Regenerate with scripts/lock.sh."
  "$tmp/venv/bin/pip" freeze --all | grep -v -i -E "^(cs-metrics|cs_metrics|pip|wheel)[=@ ]" | sort -f; } > requirements.lock
rm -rf "$tmp"
