#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter: python3.10 on PATH, else pyenv's 3.10.
# Rasa 3.6 needs Python >=3.8,<3.11; on 3.11 pip silently installs Rasa 1.10 instead.
set -euo pipefail
for candidate in python3.10 "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/"3.10*/bin/python3.10 | tr ' ' '\n' | sort -V | tail -n 1)"; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null || true)
  if [ -n "$path" ] && "$path" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
cat >&2 <<'MSG'
No Python 3.10 interpreter found.
Rasa 3.6.21 requires Python 3.10 (or 3.8/3.9); on 3.11 pip would silently install Rasa 1.10.
Install one of:
  - Debian/Ubuntu:  apt-get install python3.10 python3.10-venv
  - pyenv:          pyenv install 3.10.13
then run the make command again.
MSG
exit 1
