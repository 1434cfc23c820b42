#!/usr/bin/env bash
# System packages: headless Chromium and Noto CJK fonts (browser test, Japanese text) and a Java 17
# runtime for the optional Spark engine (`--engine spark`, docs/scale.md).
# Runs only where it can (root with apt); elsewhere the tests that need them skip with a message.
set -uo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -eq 0 ]; then echo "system packages present: chromium, fonts-noto-cjk, java"; exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "cannot install ${need[*]} (not root or no apt-get): browser/font/Spark tests will skip"; exit 0
fi
echo "installing ${need[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig >/dev/null 2>&1 \
  || echo "apt-get install ${need[*]} failed: browser/font/Spark tests will skip"
exit 0
