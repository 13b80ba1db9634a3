#!/usr/bin/env bash
# Create benchmarks/.venv-peers: an isolated environment holding labkit (editable) plus
# the peers BioSPPy and NeuroKit2, so that the EMG evaluation and benchmarks can compare
# against them without making either a labkit dependency.  Not committed (.gitignore).
#
#   benchmarks/setup_peers_venv.sh            # create or update
#   benchmarks/.venv-peers/bin/python benchmarks/emg_eval.py
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="$here/.venv-peers"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"          # no --system-site-packages: nothing leaks either way
fi
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -e "$repo" biosppy neurokit2 peakutils 2>&1 | grep -v -e "^WARNING: Location" -e BuildBackendWarning || true
"$venv/bin/python" -c "import biosppy, neurokit2, labkit; print('biosppy', biosppy.__version__, 'neurokit2', neurokit2.__version__)"
