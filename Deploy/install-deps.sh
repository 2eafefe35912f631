#!/usr/bin/env bash
# Installs the Debian packages Muster needs to build, run and test, if any are missing:
# libpq (the PostgreSQL C client) and its headers, pkg-config, the PostgreSQL server programs for the embedded
# default, netcat for the quick start's first exchange, and for the tests openssl (certificates) and Debian's
# python3-prometheus-client (a real Prometheus text-format parser). Swift itself must already be installed.
set -euo pipefail

packages=(libpq-dev pkgconf postgresql postgresql-contrib netcat-openbsd openssl python3-prometheus-client)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "Installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
