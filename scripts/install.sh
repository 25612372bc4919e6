#!/bin/sh
# Installs ids-sensor from this checkout as a command, a service and a capture timer; uninstalls it.
#
#   sudo scripts/install.sh [install] [--prefix DIR] [--root DIR]
#   sudo scripts/install.sh uninstall [--prefix DIR] [--root DIR]
#
# --prefix  where the command and its files go: PREFIX/bin/ids-sensor (a launcher), and
#           PREFIX/lib/ids-sensor (the sensor's code, the bundled model and demo capture, the
#           runtime npm packages, the pinned Deno). Default /usr/local.
# --root    a staging root (DESTDIR) every path is written below, for packaging and tests;
#           nothing on the running system is touched (no user, no systemctl). Default: none.
# Besides the prefix: /etc/ids-sensor (config.yaml), /var/lib/ids-sensor (captures, the alert
# store, the notification spool), /etc/systemd/system (ids-sensor.service,
# ids-sensor-capture@.service and .timer) and, on the running system, the `ids-sensor` system user.
#
# Every file and folder it creates is listed in PREFIX/lib/ids-sensor/manifest; `uninstall`
# removes exactly those: a config file you changed and folders holding data (captures, alerts)
# stay and are named. Installing over an installation upgrades it: the old files go, your
# config stays, the service is restarted if it was running.
set -eu
umask 022

repo=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "ids-sensor install: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

action=install
prefix=/usr/local
root=""
while [ $# -gt 0 ]; do
  case $1 in
    install | uninstall) action=$1 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a folder" && prefix=$2 && shift ;;
    --prefix=*) prefix=${1#*=} ;;
    --root) [ $# -ge 2 ] || die "--root needs a folder" && root=$2 && shift ;;
    --root=*) root=${1#*=} ;;
    -h | --help)
      sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
case $prefix in /*) ;; *) die "--prefix must be an absolute path, not '$prefix'" ;; esac
if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
fi
prefix=${prefix%/}

lib_dir=$prefix/lib/ids-sensor
bin_path=$prefix/bin/ids-sensor
config_dir=/etc/ids-sensor
state_dir=/var/lib/ids-sensor
unit_dir=/etc/systemd/system
manifest=$lib_dir/manifest
user=ids-sensor
units="ids-sensor.service ids-sensor-capture@.service ids-sensor-capture@.timer"

# systemctl only on the running system, and only where systemd runs.
systemd_running() { [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

# --- uninstall -------------------------------------------------------------------------------

# Removes what $root$manifest lists. $1 = "upgrade" keeps the units enabled and the user.
remove_installed() {
  mode=$1
  list=$root$manifest
  if systemd_running && [ "$mode" != upgrade ]; then
    systemctl stop ids-sensor.service 'ids-sensor-capture@*.timer' 'ids-sensor-capture@*.service' \
      2>/dev/null || true
    # Disabling a template disables every instance (ids-sensor-capture@eth0.timer, ...).
    # shellcheck disable=SC2086 # one word per unit
    systemctl disable $units 2>/dev/null || true
  fi
  # Files: ours, removed; config files: removed only when unchanged since installed.
  sed -n 's/^file //p' "$list" | while IFS= read -r path; do printf '%s\0' "$root$path"; done |
    xargs -0 -r rm -f --
  sed -n 's/^conf //p' "$list" | while IFS=' ' read -r sum path; do
    [ -e "$root$path" ] || continue
    if [ "$(sha256sum <"$root$path" | cut -d' ' -f1)" = "$sum" ]; then
      rm -f "$root$path"
    else
      say "kept $path: changed since it was installed"
    fi
  done
  if [ "$mode" != upgrade ] && [ -z "$root" ] && grep -qx "user $user" "$list"; then
    userdel "$user" 2>/dev/null || say "could not remove the user $user"
  fi
  # Folders, deepest first; one still holding something (data, a kept config) stays.
  dirs=$(sed -n 's/^dir //p' "$list" | sort -r)
  rm -f "$list"
  # The code's folders in one go (hundreds), then the few others one by one, to name what stays.
  echo "$dirs" | grep "^$lib_dir/" | while IFS= read -r path; do printf '%s\0' "$root$path"; done |
    xargs -0 -r rmdir --ignore-fail-on-non-empty -- 2>/dev/null || true
  echo "$dirs" | grep -v "^$lib_dir/" | while IFS= read -r path; do
    [ -n "$path" ] && [ -d "$root$path" ] || continue
    rmdir "$root$path" 2>/dev/null ||
      say "kept $path: it holds files the sensor or you made (remove it by hand if unwanted)"
  done
}

[ -z "$root" ] && [ "$(id -u)" != 0 ] &&
  die "run as root (sudo), or stage into a folder with --root DIR"

if [ "$action" = uninstall ]; then
  [ -f "$root$manifest" ] || die "no installation at $root$prefix (no $root$manifest)"
  remove_installed uninstall
  systemd_running && systemctl daemon-reload
  say "removed ids-sensor from $root$prefix"
  exit 0
fi

# --- install ---------------------------------------------------------------------------------

[ "$(uname -s)" = Linux ] || die "the sensor runs on Linux (libpcap, systemd)"

# The pinned Deno and the locked npm packages of this checkout (installed if missing), or the
# Deno 2.9 named by IDS_SENSOR_DENO over the node_modules already here (the tests pass theirs).
if [ -n "${IDS_SENSOR_DENO:-}" ]; then
  deno=$IDS_SENSOR_DENO
  [ -e "$repo/node_modules/.package-lock.json" ] || die "no node_modules in $repo: run npm ci"
else
  deno=$(sh "$repo/tools/dev.sh" setup)
fi

upgrade=no
created_user=no
previous=$(mktemp)
entries=$(mktemp)
app_files=$(mktemp)
trap 'rm -f "$previous" "$entries" "$app_files"' EXIT
if [ -f "$root$manifest" ]; then
  say "upgrading the installation at $root$prefix"
  upgrade=yes
  grep -qx "user $user" "$root$manifest" && created_user=yes
  cp "$root$manifest" "$previous"
  remove_installed upgrade
elif [ -e "$root$lib_dir" ]; then
  die "$root$lib_dir exists but was not installed by this script (no manifest); remove it first"
fi

record() { echo "$1" >>"$entries"; }

# Creates folder $1 (and missing parents), recording only the ones it creates.
make_dir() {
  [ -d "$root$1" ] && return
  make_dir "$(dirname "$1")"
  mkdir -m "${2:-0755}" "$root$1"
  record "dir $1"
}

# Installs file $1 at $2 with mode $3.
put_file() {
  make_dir "$(dirname "$2")"
  cp "$1" "$root$2"
  chmod "$3" "$root$2"
  record "file $2"
}

# Writes stdin to $1 after substituting the install paths, mode $2.
put_template() {
  make_dir "$(dirname "$1")"
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@BIN@|$bin_path|g" -e "s|@CONFIG_DIR@|$config_dir|g" \
    -e "s|@STATE_DIR@|$state_dir|g" -e "s|@USER@|$user|g" >"$root$1"
  chmod "$2" "$root$1"
  record "file $1"
}

# Package files the sensor never loads: source maps, type declarations, and onnxruntime-web's
# builds for browsers (WebGPU, WebGL, JSPI, asyncify) and their sources; it runs the Node build
# with the SIMD-threaded WASM, the files `deno task compile` includes. (120 of 190 MB.)
unused_package_files='\.map$|\.d\.[cm]?ts$|^node_modules/onnxruntime-web/(lib|docs)/'
unused_package_files="$unused_package_files|^node_modules/onnxruntime-web/dist/(ort\.(all|webgl|webgpu|jspi|wasm|bundle)|ort\.(min\.)?m?js$|ort-wasm-simd-threaded\.(jsep|asyncify|jspi)\.)"

# The sensor's code (tracked files, no tests), the bundled model and demo capture.
make_dir "$lib_dir"
make_dir "$lib_dir/app"
(
  cd "$repo"
  # The working tree's files as git sees them (tracked or new, never ignored outputs).
  if [ -e .git ] && command -v git >/dev/null; then
    git ls-files --cached --others --exclude-standard -- main.ts deno.json package.json \
      README.md src models | while IFS= read -r file; do [ -f "$file" ] && echo "$file"; done
  else
    find main.ts deno.json package.json README.md src models -type f
  fi | grep -v -e '_test\.ts$' -e '/testdata/' | sort -u
  # The npm packages the sensor runs (package-lock.json's non-dev packages), whole.
  "$deno" eval '
    const lock = JSON.parse(Deno.readTextFileSync("package-lock.json"));
    for (const [path, entry] of Object.entries(lock.packages)) {
      const name = path.slice("node_modules/".length);
      if (!path.startsWith("node_modules/") || name.includes("/node_modules/") || entry.dev) continue;
      console.log(path);
    }' | while IFS= read -r package; do
    [ -d "$package" ] || die "$package is missing: run npm ci"
    find "$package" -type f
  done | grep -v -E "$unused_package_files"
) >"$app_files"
tar -C "$repo" -cf - --owner=0 --group=0 --no-recursion -T "$app_files" |
  tar -C "$root$lib_dir/app" -xf - --no-same-owner
# Every folder and file just unpacked belongs to the installation.
sed -n 's|/[^/]*$||p' "$app_files" | sort -u | while IFS= read -r dir; do
  while [ "$dir" != . ] && [ -n "$dir" ]; do
    echo "dir $lib_dir/app/$dir"
    case $dir in */*) dir=${dir%/*} ;; *) dir=. ;; esac
  done
done | sort -u >>"$entries"
sed "s|^|file $lib_dir/app/|" "$app_files" >>"$entries"

put_file "$(readlink -f "$deno")" "$lib_dir/deno" 0755
put_template "$bin_path" 0755 <"$repo/deploy/launcher.sh"

# The system user the service runs as (on the running system only).
if [ -z "$root" ] && ! getent passwd "$user" >/dev/null; then
  useradd --system --no-create-home --home-dir "$state_dir" --shell /usr/sbin/nologin \
    --comment "ids-sensor network intrusion detection" "$user"
  created_user=yes
fi
[ "$created_user" = yes ] && record "user $user"

# /etc/ids-sensor/config.yaml: the sensor's own defaults; a config already there is kept.
make_dir "$config_dir"
config_file=$config_dir/config.yaml
if [ -e "$root$config_file" ]; then
  say "kept $config_file (yours); the defaults of this version: ids-sensor config --print-default"
else
  sensor() {
    "$deno" run --quiet --no-prompt --config "$repo/deno.json" --allow-read --allow-env \
      --allow-sys "$repo/main.ts" "$@"
  }
  # The sensor's defaults, with the service's alert file and store switched on, and on the
  # running system the interface of the default route named (edit it there).
  interface=""
  if [ -z "$root" ] && command -v ip >/dev/null; then
    interface=$(ip route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1)
  fi
  sensor config --print-default |
    sed -e "s|^# alerts: |alerts: |" -e "s|^# db: |db: |" |
    if [ -n "$interface" ]; then
      sed -e 's|^# iface:$|iface:|' -e "s|^#   - eth0$|  - $interface|"
    else cat; fi >"$root$config_file"
  sensor config --check "$root$config_file" >/dev/null ||
    die "the default config written to $root$config_file does not pass config --check"
  chmod 0640 "$root$config_file"
  [ -z "$root" ] && chgrp "$user" "$root$config_file"
  record "conf $(sha256sum <"$root$config_file" | cut -d' ' -f1) $config_file"
fi

# /var/lib/ids-sensor: captures, the alert store and the notification spool.
make_dir "$state_dir" 0750
make_dir "$state_dir/captures" 0750
[ -z "$root" ] && chown "$user:$user" "$root$state_dir" "$root$state_dir/captures"

for unit in $units; do
  put_template "$unit_dir/$unit" 0644 <"$repo/deploy/$unit"
done

# What an earlier install made and an upgrade kept (a changed config, folders holding it or
# data) stays listed, so that uninstall still names it.
listed() {
  sed -n -e 's/^dir //p' -e 's/^file //p' -e 's/^conf [^ ]* //p' "$entries" | grep -qxF "$1"
}
grep -e '^dir ' -e '^conf ' "$previous" | while IFS= read -r line; do
  case $line in
    dir*) path=${line#dir } ;;
    *) path=${line#conf * } ;;
  esac
  if [ -e "$root$path" ] && ! listed "$path"; then echo "$line" >>"$entries"; fi
done

make_dir "$(dirname "$manifest")"
{
  echo "# ids-sensor installation: what scripts/install.sh created (uninstall removes these)"
  sort -u "$entries"
} >"$root$manifest"

if systemd_running; then
  systemctl daemon-reload
  [ "$upgrade" = yes ] && systemctl try-restart ids-sensor.service
fi
say "installed $("$root$lib_dir/deno" --version | head -n 1) and the sensor in $root$lib_dir"
say "command: $root$bin_path  config: $root$config_file  state: $root$state_dir"
if [ "$upgrade" = no ]; then
  say "next: systemctl enable --now ids-sensor.service   (live detection, see $config_file)"
  say "      systemctl enable --now ids-sensor-capture@eth0.timer   (nightly training capture)"
fi
