# Shared by scripts/run, scripts/test and bench/: finds the toolchain and installs what is missing.
# shellcheck shell=bash

# The Swift toolchain: on PATH, or where the Debian images put it.
if ! command -v swift >/dev/null 2>&1; then
    for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
        [ -x "$d/swift" ] && PATH="$PATH:$d" && break
    done
fi
command -v swift >/dev/null 2>&1 || { echo "enumd: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }

# ensure_packages PKG...: installs the Debian packages that are not installed yet
# (apt-get update first, as root or through sudo). Never upgrades anything else.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    echo "enumd: installing ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building enumd needs (C libraries through pkg-config).
BUILD_PACKAGES=(pkg-config libldns-dev libcurl4-openssl-dev)
# What the test suite runs against: dig, NSD for the differential tests, python3 for the fake
# emercoind, curl for the HTTP examples; for deploy/: systemd (systemd-analyze verify of the
# unit and its syscall groups, systemctl --root), strace (enumd's system calls against the
# unit's filter), nftables (nft -c of the firewall table), passwd (useradd --root),
# unbound, bind9 and kamailio (the deployment guide's snippets, run by DeployGuideTests).
TEST_PACKAGES=(dnsutils nsd python3 curl systemd strace nftables passwd unbound bind9 kamailio)
