#!/usr/bin/env bash
# The report tests' CI step: installs Debian's chromium (the browser test opens report.html in
# it) and libxml2-utils (xmllint checks junit.xml) when missing, and sets
# FIREDRILL_REQUIRE_BROWSER=1 so those tests fail instead of skipping when either is absent.
#
# Source it from .ci/run before the tests run:      source .ci/browser.sh
# or run it alone to install and run the report tests:  bash .ci/browser.sh
set -euo pipefail

firedrill_browser_install() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core)
    command -v xmllint >/dev/null || missing+=(libxml2-utils)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" </dev/null
    fi
    chromium --version
    export FIREDRILL_REQUIRE_BROWSER=1
}

firedrill_browser_install

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    cd "$(dirname "$0")/.."
    cargo test --test report_html --test report_rebuild --test compare
fi
