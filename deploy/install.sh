#!/usr/bin/env bash
# Installs enumd on a Debian or Raspberry Pi OS host, or removes it (--uninstall).
#
#   deploy/install.sh [--binary PATH] [--root DIR] [--firewall auto|nft|ufw|none] [--start] [--dry-run]
#   deploy/install.sh --uninstall [--purge] [--root DIR] [--dry-run]
#
# What it does, each step only when something is missing or different, so a second run changes
# nothing and says so:
#   - the runtime libraries enumd links (libldns3, libcurl4) with apt-get install, only those
#     that are missing; never apt-get upgrade or full-upgrade;
#   - the system user and group `enumd` (no login, no home);
#   - the binary (built with `swift build -c release`, or --binary PATH) at /usr/local/bin/enumd;
#   - the hardened unit deploy/enumd.service at /etc/systemd/system/enumd.service, checked with
#     `systemd-analyze verify` where available, and enabled;
#   - /etc/enumd/enumd.conf from deploy/enumd.conf, never overwriting an existing (edited) one:
#     the shipped file then goes beside it as enumd.conf.dist; a zone template when the
#     configured zone file does not exist yet;
#   - the firewall: DNS (udp and tcp) and the HTTP port, for the addresses enumd.conf listens on
#     that are not loopback, with ufw when ufw is active, else with nftables in a table of its own
#     (`inet enumd`, in /etc/enumd/enumd.nft, included from /etc/nftables.conf so it survives a
#     reboot); removable with --uninstall.
#
# --root DIR installs into an image or a test tree instead of this system: every path is under
# DIR, the user is added with `useradd --root DIR`, the unit is enabled with `systemctl --root DIR`
# (offline, no running systemd needed), the nftables file is written but not loaded, ufw and
# apt-get are not run (the packages are checked in DIR's dpkg database when it has one).
# --dry-run prints what would change and changes nothing.
#
# --uninstall stops and disables the service, removes the binary, the unit and the firewall
# rules; it keeps /etc/enumd (your config and zones), /var/lib/enumd (the warm-start snapshot)
# and the enumd user unless --purge is given.
set -euo pipefail

PROG="enumd-install"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"

ROOT=""
BINARY=""
UNINSTALL=0
PURGE=0
DRY=0
START=0
FIREWALL=auto
RUNTIME_PACKAGES=(libldns3 libcurl4)

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "$PROG: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) [ $# -ge 2 ] || die "--binary needs a path"; BINARY="$2"; shift 2 ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT="$2"; shift 2 ;;
        --firewall) [ $# -ge 2 ] || die "--firewall needs auto, nft, ufw or none"; FIREWALL="$2"; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        --purge) PURGE=1; shift ;;
        --dry-run) DRY=1; shift ;;
        --start) START=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$FIREWALL" in auto|nft|ufw|none) ;; *) die "--firewall must be auto, nft, ufw or none, not '$FIREWALL'" ;; esac
[ "$PURGE" -eq 1 ] && [ "$UNINSTALL" -eq 0 ] && die "--purge goes with --uninstall"

if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT: no such directory"
    ROOT="$(cd "$ROOT" && pwd)"
    [ "$ROOT" = "/" ] && ROOT=""
fi
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ] && [ "$DRY" -eq 0 ]; then
    die "run as root (sudo), or with --root DIR or --dry-run"
fi

# Paths on the target (what the unit and the config name) and where they are written.
BIN_PATH=/usr/local/bin/enumd
UNIT_PATH=/etc/systemd/system/enumd.service
CONF_DIR=/etc/enumd
CONF_PATH=$CONF_DIR/enumd.conf
NFT_PATH=$CONF_DIR/enumd.nft
NFT_CONF=/etc/nftables.conf
NFT_INCLUDE="include \"$NFT_PATH\"  # enumd: deploy/install.sh"
STATE_DIR=/var/lib/enumd
DOC_DIR=/usr/share/doc/enumd
r() { printf '%s%s' "$ROOT" "$1"; }

CHANGES=0
# act DESCRIPTION COMMAND...: one change, printed, and run unless --dry-run.
act() {
    local what="$1"; shift
    CHANGES=$((CHANGES + 1))
    if [ "$DRY" -eq 1 ]; then echo "$PROG: would $what"; return 0; fi
    echo "$PROG: $what"
    "$@"
}
note() { echo "$PROG: note: $*"; }
warn() { echo "$PROG: warning: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
systemd_running() { [ -z "$ROOT" ] && [ -d /run/systemd/system ] && have systemctl; }

# The enumd group's number on the target (empty when there is none yet).
enumd_gid() {
    if [ -n "$ROOT" ]; then
        [ -f "$(r /etc/group)" ] && awk -F: '$1 == "enumd" { print $3 }' "$(r /etc/group)"
    else
        getent group enumd | cut -d: -f3
    fi
    return 0
}

# install_file SRC DEST MODE [GROUP]: copies when the content, mode or group differ.
install_file() {
    local src="$1" dest; dest="$(r "$2")"; local mode="$3" group="${4:-0}"
    if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ] \
        && { [ "$(id -u)" -ne 0 ] || [ "$(stat -c %g "$dest")" = "$group" ]; }; then
        return 0
    fi
    local ownership=()
    [ "$(id -u)" -eq 0 ] && ownership=(-o 0 -g "$group")
    act "install $2 (mode $mode)" install -D -m "$mode" "${ownership[@]}" "$src" "$dest"
}

# remove_path PATH: deletes a file or directory tree on the target if it is there.
remove_path() {
    local p; p="$(r "$1")"
    if [ -e "$p" ] || [ -L "$p" ]; then act "remove $1" rm -rf -- "$p"; fi
}

# The ports enumd.conf listens on at addresses other than loopback: "udp PORT" / "tcp PORT" lines.
# (No `dns` line means the built-in default 127.0.0.1:5353, loopback: nothing to open.)
public_ports() {
    local conf; conf="$(r "$CONF_PATH")"
    [ -f "$conf" ] || conf="$HERE/enumd.conf"  # a dry run before the first install
    sed -e 's/#.*//' "$conf" | awk -F= '
        function emit(proto, v,   host, port) {
            gsub(/[ \t\r]/, "", v)
            if (v == "off" || v == "") return
            port = v; sub(/.*:/, "", port)
            host = v; sub(/:[0-9]+$/, "", host); gsub(/[\[\]]/, "", host)
            if (host ~ /^127\./ || host == "::1" || host == "localhost") return
            if (proto == "dns") { print "udp " port; print "tcp " port } else print "tcp " port
        }
        { key = $1; gsub(/[ \t]/, "", key); val = substr($0, index($0, "=") + 1) }
        key == "dns" { emit("dns", val) }
        key == "http" { http = val; sawhttp = 1 }
        END { if (!sawhttp) http = "127.0.0.1:8080"; emit("http", http) }' | sort -u -k1,1 -k2n
}

# The nftables table, written so that loading it replaces any older copy in one transaction.
# A separate table keeps it idempotent and removable (`nft delete table inet enumd`). Note that in
# nftables an accept ends a packet's walk only through its own base chain: another table's input
# chain with policy drop still drops it (nftables wiki, "Configuring chains", base chain
# priority), so that case is reported below.
nft_rules() {
    local udp tcp
    udp="$(public_ports | awk '$1 == "udp" { printf "%s%s", sep, $2; sep = ", " }')"
    tcp="$(public_ports | awk '$1 == "tcp" { printf "%s%s", sep, $2; sep = ", " }')"
    echo "# enumd: DNS and the HTTP API, from the addresses in $CONF_PATH."
    echo "# Written by enumd's deploy/install.sh; removed by deploy/install.sh --uninstall."
    echo "table inet enumd {}"
    echo "delete table inet enumd"
    echo "table inet enumd {"
    echo "	chain input {"
    echo "		type filter hook input priority filter - 10; policy accept;"
    [ -n "$udp" ] && echo "		udp dport { $udp } accept"
    [ -n "$tcp" ] && echo "		tcp dport { $tcp } accept"
    echo "	}"
    echo "}"
}

pick_firewall() {
    if [ "$FIREWALL" != auto ]; then echo "$FIREWALL"; return; fi
    if [ -n "$ROOT" ]; then
        if [ -x "$(r /usr/sbin/ufw)" ]; then echo ufw
        elif [ -x "$(r /usr/sbin/nft)" ] || [ -f "$(r "$NFT_CONF")" ]; then echo nft
        else echo none; fi
        return
    fi
    if have ufw && ufw status 2>/dev/null | grep -q '^Status: active'; then echo ufw
    elif have nft; then echo nft
    else echo none; fi
}

# ---------------------------------------------------------------------------------------------
install_packages() {
    local missing=() p admin=()
    if [ -n "$ROOT" ]; then
        [ -f "$(r /var/lib/dpkg/status)" ] || { note "no dpkg database under $ROOT: the target needs ${RUNTIME_PACKAGES[*]}"; return 0; }
        admin=(--admindir="$(r /var/lib/dpkg)")
    fi
    have dpkg-query || { note "no dpkg-query: make sure ${RUNTIME_PACKAGES[*]} are installed"; return 0; }
    for p in "${RUNTIME_PACKAGES[@]}"; do
        # Debian 13 renamed them for the 64-bit time_t transition (libldns3t64, libcurl4t64).
        if ! { dpkg-query "${admin[@]}" -W -f='${Status}\n' "$p" "${p}t64" 2>/dev/null || true; } | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ -n "$ROOT" ]; then warn "$ROOT lacks ${missing[*]}: install them in the image"; return 0; fi
    # Only the missing packages (and what they depend on); never an upgrade of the system.
    act "apt-get install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive sh -c \
        'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' apt "${missing[@]}"
}

ensure_user() {
    if [ -n "$ROOT" ]; then
        [ -f "$(r /etc/passwd)" ] || { note "no etc/passwd under $ROOT: the enumd user is not created"; return 0; }
        grep -q '^enumd:' "$(r /etc/passwd)" && return 0
        act "add the system user enumd" useradd --root "$ROOT" --system --user-group --no-create-home \
            --home-dir "$STATE_DIR" --shell /usr/sbin/nologin --comment "enumd ENUM DNS server" enumd
    else
        getent passwd enumd >/dev/null && return 0
        act "add the system user enumd" useradd --system --user-group --no-create-home \
            --home-dir "$STATE_DIR" --shell /usr/sbin/nologin --comment "enumd ENUM DNS server" enumd
    fi
}

build_binary() {
    if [ -n "$BINARY" ]; then
        [ -f "$BINARY" ] && [ -x "$BINARY" ] || die "--binary $BINARY: not an executable file"
        return 0
    fi
    have swift || die "no Swift toolchain here: build elsewhere (swift build -c release --static-swift-stdlib) and pass --binary PATH"
    echo "$PROG: building enumd (swift build -c release); the first build takes several minutes"
    # The Swift runtime is linked in statically, so the host needs no toolchain, only libldns and libcurl.
    (cd "$REPO" && swift build -c release --product enumd --static-swift-stdlib >&2)
    BINARY="$REPO/.build/release/enumd"
}

verify_unit() {
    have systemd-analyze || return 0
    # An image or test tree lacks the units (sysinit.target) and binaries a verify looks for;
    # there the unit is checked on the build host instead (Tests/EndToEndTests/InstallScriptTests).
    [ "$DRY" -eq 1 ] || [ -n "$ROOT" ] && return 0
    local out
    if ! out="$(systemd-analyze verify "$UNIT_PATH" 2>&1)"; then warn "systemd-analyze verify: $out"; fi
    return 0
}

enable_unit() {
    have systemctl || { note "no systemctl: enable enumd.service yourself"; return 0; }
    local sc=(systemctl); [ -n "$ROOT" ] && sc=(systemctl --root "$ROOT")
    [ "$("${sc[@]}" is-enabled enumd.service 2>/dev/null)" = enabled ] && return 0
    act "enable enumd.service" "${sc[@]}" enable --quiet enumd.service
}

firewall_open() {
    local fw; fw="$(pick_firewall)"
    local ports; ports="$(public_ports)"
    case "$fw" in
        none)
            if [ -n "$ports" ]; then
                if [ "$FIREWALL" = none ]; then note "firewall left alone (--firewall none); enumd needs $(echo "$ports" | tr '\n' ' ')"
                else note "no firewall tool (ufw or nft) found: nothing opened; enumd needs $(echo "$ports" | tr '\n' ' ')"; fi
            fi
            return 0 ;;
        ufw)
            if [ -n "$ROOT" ]; then note "ufw is not run under --root: on the host run ufw allow for $(echo "$ports" | tr '\n' ' ')"; return 0; fi
            local proto port added; added="$(ufw show added 2>/dev/null || true)"
            while read -r proto port; do
                [ -n "$port" ] || continue
                echo "$added" | grep -qF "ufw allow $port/$proto comment 'enumd'" && continue
                act "ufw allow $port/$proto" ufw allow "$port/$proto" comment enumd >/dev/null
            done <<< "$ports"
            return 0 ;;
        nft)
            local tmp before=$CHANGES; tmp="$(mktemp)"; nft_rules > "$tmp"
            install_file "$tmp" "$NFT_PATH" 0644
            rm -f "$tmp"
            if [ -f "$(r "$NFT_CONF")" ]; then
                grep -qF "include \"$NFT_PATH\"" "$(r "$NFT_CONF")" ||
                    act "include $NFT_PATH from $NFT_CONF (kept over reboots)" sh -c 'printf "%s\n" "$1" >> "$2"' sh "$NFT_INCLUDE" "$(r "$NFT_CONF")"
            else
                note "no $NFT_CONF: the enumd table is not loaded at boot; include $NFT_PATH from your nftables config"
            fi
            [ -n "$ROOT" ] && return 0
            # Loaded when the file changed or the table is not in the kernel (after a flush, say).
            if [ "$before" != "$CHANGES" ] || ! nft list table inet enumd >/dev/null 2>&1; then
                act "load the nftables table inet enumd" nft -f "$NFT_PATH"
            fi
            if [ "$DRY" -eq 0 ] && nft list ruleset 2>/dev/null | grep -q 'hook input.*policy drop'; then
                warn "another nftables input chain has policy drop: an accept in table inet enumd does not override it; allow $(echo "$ports" | tr '\n' ' ')there too"
            fi
            return 0 ;;
    esac
}

# The shared libraries the binary needs and this host lacks (only where it can run here).
missing_libraries() {
    [ -z "$ROOT" ] && have ldd || return 0
    ldd "$BINARY" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' '
}

do_install() {
    build_binary
    install_packages
    if [ "$DRY" -eq 0 ]; then
        local libs; libs="$(missing_libraries)"
        [ -z "$libs" ] || die "$BINARY needs libraries this host lacks: $libs(built for another system? build here or with --static-swift-stdlib)"
    fi
    ensure_user
    local gid; gid="$(enumd_gid)"; gid="${gid:-0}"

    local before=$CHANGES
    install_file "$BINARY" "$BIN_PATH" 0755
    local binary_changed=$((CHANGES - before))

    before=$CHANGES
    install_file "$HERE/enumd.service" "$UNIT_PATH" 0644
    local unit_changed=$((CHANGES - before))
    verify_unit

    # The config: the shipped one when there is none; an edited one is never overwritten.
    local conf; conf="$(r "$CONF_PATH")"
    if [ ! -e "$conf" ]; then
        install_file "$HERE/enumd.conf" "$CONF_PATH" 0640 "$gid"
    elif ! cmp -s "$HERE/enumd.conf" "$conf"; then
        install_file "$HERE/enumd.conf" "$CONF_PATH.dist" 0640 "$gid"
        note "kept your edited $CONF_PATH; the shipped one is $CONF_PATH.dist"
    fi
    # The binary checks the config it will run with (where it can run on this machine).
    if [ -f "$conf" ] && "$BINARY" --help >/dev/null 2>&1 && ! "$BINARY" check-config "$conf" >/dev/null; then
        warn "$CONF_PATH does not pass enumd check-config (the error is above)"
    fi
    # A zone template for each configured zone file that does not exist yet.
    local zone zconf="$conf"
    [ -f "$zconf" ] || zconf="$HERE/enumd.conf"  # a dry run before the first install
    for zone in $(sed -e 's/#.*//' "$zconf" | awk -F= '{ k = $1; gsub(/[ \t]/, "", k); v = $2; gsub(/[ \t\r]/, "", v) } k == "zone" { print v }'); do
        case "$zone" in /*) ;; *) continue ;; esac
        if [ ! -e "$(r "$zone")" ]; then
            install_file "$HERE/e164.arpa.zone" "$zone" 0644
            note "$zone is a template: put your name servers in its SOA and NS records"
        fi
    done
    install_file "$HERE/README.md" "$DOC_DIR/deploy.md" 0644
    install_file "$REPO/README.md" "$DOC_DIR/README.md" 0644

    if systemd_running && [ $((unit_changed)) -gt 0 ]; then act "reload systemd" systemctl daemon-reload; fi
    enable_unit
    firewall_open

    if systemd_running; then
        if systemctl is-active --quiet enumd.service; then
            if [ $((binary_changed + unit_changed)) -gt 0 ]; then act "restart enumd" systemctl restart enumd.service; fi
        elif [ "$START" -eq 1 ]; then
            act "start enumd" systemctl start enumd.service
        else
            note "start it with: systemctl start enumd   (after editing $CONF_PATH and the zone file)"
        fi
    fi
}

do_uninstall() {
    if systemd_running; then
        systemctl is-active --quiet enumd.service && act "stop enumd" systemctl stop enumd.service
    fi
    if have systemctl && [ -e "$(r "$UNIT_PATH")" ]; then
        local sc=(systemctl); [ -n "$ROOT" ] && sc=(systemctl --root "$ROOT")
        [ "$("${sc[@]}" is-enabled enumd.service 2>/dev/null)" = enabled ] &&
            act "disable enumd.service" "${sc[@]}" disable --quiet enumd.service
    fi
    remove_path "$UNIT_PATH"
    if systemd_running && [ "$CHANGES" -gt 0 ]; then act "reload systemd" systemctl daemon-reload; fi
    remove_path "$BIN_PATH"
    remove_path "$DOC_DIR"

    # Firewall: our nftables table and include line, our ufw rules (those with comment 'enumd').
    if [ -z "$ROOT" ] && have nft && nft list table inet enumd >/dev/null 2>&1; then
        act "delete the nftables table inet enumd" nft delete table inet enumd
    fi
    if [ -f "$(r "$NFT_CONF")" ] && grep -qF "include \"$NFT_PATH\"" "$(r "$NFT_CONF")"; then
        act "remove the include of $NFT_PATH from $NFT_CONF" sed -i "\\|^include \"$NFT_PATH\"|d" "$(r "$NFT_CONF")"
    fi
    remove_path "$NFT_PATH"
    if [ -z "$ROOT" ] && have ufw; then
        local rule
        while read -r rule; do
            [ -n "$rule" ] || continue
            act "ufw delete allow $rule" ufw delete allow "$rule" >/dev/null
        done < <(ufw show added 2>/dev/null | sed -n "s/^ufw allow \([0-9]*\/[a-z]*\) comment 'enumd'$/\1/p")
    fi

    if [ "$PURGE" -eq 1 ]; then
        remove_path "$CONF_DIR"
        remove_path "$STATE_DIR"
        if [ -n "$ROOT" ]; then
            if [ -f "$(r /etc/passwd)" ] && grep -q '^enumd:' "$(r /etc/passwd)"; then act "remove the user enumd" userdel --root "$ROOT" enumd; fi
            # userdel leaves the group without USERGROUPS_ENAB (a tree without login.defs).
            if [ -f "$(r /etc/group)" ] && grep -q '^enumd:' "$(r /etc/group)"; then act "remove the group enumd" groupdel --root "$ROOT" enumd; fi
        else
            if getent passwd enumd >/dev/null; then act "remove the user enumd" userdel enumd; fi
            if getent group enumd >/dev/null; then act "remove the group enumd" groupdel enumd; fi
        fi
    else
        [ -e "$(r "$CONF_DIR")" ] && note "kept $CONF_DIR, $STATE_DIR and the enumd user (--purge removes them)"
    fi
    return 0
}

if [ "$UNINSTALL" -eq 1 ]; then do_uninstall; else do_install; fi

if [ "$CHANGES" -eq 0 ]; then
    echo "$PROG: nothing to change: enumd is already $([ "$UNINSTALL" -eq 1 ] && echo removed || echo installed) as this script would leave it"
elif [ "$DRY" -eq 1 ]; then
    echo "$PROG: dry run: $CHANGES change(s) would be made"
else
    echo "$PROG: done: $CHANGES change(s)"
fi
