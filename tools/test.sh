#!/usr/bin/env bash
# Run every test: the README's test command, and what .ci/run calls.
#
# Why a script: the sync tests need PostgreSQL + pgvector, which come from PyPI's `pgserver`. This
# installs it on first use into target/test-venv (or, where Python lacks venv, target/test-pydeps),
# tells the test harness which Python to use (RAIOX_TEST_PYTHON), then runs
# `cargo test --all-targets --locked` (arguments, e.g. `--test import`, replace `--all-targets`).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
venv="$target/test-venv"
pydeps="$target/test-pydeps"
python="${PYTHON:-python3}"

has_pgserver() { "$1" -c 'import pgserver' >/dev/null 2>&1; }

if [ -z "${RAIOX_PG_BIN:-}" ]; then
    if [ -x "$venv/bin/python" ] && has_pgserver "$venv/bin/python"; then
        export RAIOX_TEST_PYTHON="$PWD/$venv/bin/python"
    elif [ -d "$pydeps/pgserver" ] && PYTHONPATH="$PWD/$pydeps" has_pgserver "$python"; then
        export RAIOX_TEST_PYTHON="$python"
        export PYTHONPATH="$PWD/$pydeps${PYTHONPATH:+:$PYTHONPATH}"
    else
        command -v "$python" >/dev/null || {
            echo "tools/test.sh: $python not found; the sync tests need Python 3 to install pgserver" >&2
            exit 1
        }
        mkdir -p "$target"
        echo "== installing pgserver (PostgreSQL + pgvector for the sync tests) into $venv" >&2
        if rm -rf "$venv" && "$python" -m venv "$venv" >/dev/null 2>&1 && [ -x "$venv/bin/pip" ]; then
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore pgserver
            export RAIOX_TEST_PYTHON="$PWD/$venv/bin/python"
        else
            # Debian without python3-venv: a plain target folder put on PYTHONPATH instead.
            rm -rf "$venv"
            echo "== no venv module; installing pgserver into $pydeps instead" >&2
            "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$pydeps" pgserver
            export RAIOX_TEST_PYTHON="$python"
            export PYTHONPATH="$PWD/$pydeps${PYTHONPATH:+:$PYTHONPATH}"
        fi
        has_pgserver "$RAIOX_TEST_PYTHON" || {
            echo "tools/test.sh: pgserver did not install; see the pip output above" >&2
            exit 1
        }
    fi
fi

# No arguments: every target. Arguments choose what to run instead (e.g. `--test import`, `--lib`).
if [ "$#" -eq 0 ]; then
    exec cargo test --workspace --all-targets --locked
fi
exec cargo test --locked "$@"
