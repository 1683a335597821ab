#!/usr/bin/env bash
# Install Schemathesis (PyPI) into a venv at .engines/schemathesis for apps/api/schemathesis.e2e.spec.ts.
# Idempotent; needs python3 (3.9+) with venv, which it installs from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=4.32.5
VENV=$PWD/.engines/schemathesis
if [[ -x $VENV/bin/st ]] && "$VENV/bin/st" --version 2>/dev/null | grep -q " $VERSION\$"; then
  echo "schemathesis: $VERSION already in $VENV"
  exit 0
fi
start=$SECONDS
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
if ! python3 -m venv "$VENV" 2>/dev/null; then
  # Debian ships venv's ensurepip separately
  rm -rf "$VENV"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
echo "schemathesis: $("$VENV/bin/st" --version) installed in $VENV in $((SECONDS - start)) s"
