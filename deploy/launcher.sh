#!/bin/sh
# ids-sensor launcher, installed by scripts/install.sh: runs the sensor on the Deno installed beside
# it with only the permissions the sensor uses, never -A (README: "What the launcher grants").
#   ffi    libpcap (live capture, interfaces)
#   net    the console and notifications (webhook, SMTP, syslog)
#   read   its own files, the config, state and temporary folders, and the folder of every path
#          named on the command line or in IDS_SENSOR_PATHS (colon-separated)
#   write  the state folder, the temporary folder (console uploads, learn) and those same named
#          folders (never its own files or config)
#   env    the variables it and its npm packages read (IDS_*, colours, the state and temporary
#          folders, yaml's LOG_TOKENS and LOG_STREAM)
#   sys    uid (root check), hostname (alert host field), os details for the console
#   run    only for `lab` (root), which drives ip, nmap, hping3 and services in namespaces
set -eu
self=$(readlink -f "$0")
lib=$(cd "$(dirname "$self")/../lib/ids-sensor" && pwd)
config_dir=@CONFIG_DIR@
state_dir=@STATE_DIR@

temporary=${TMPDIR:-/tmp}
read_paths="$lib,$config_dir,$state_dir,$temporary"
write_paths="$state_dir,$temporary"
# Read and write of $1; read only inside the sensor's own files and its config folder.
grant() {
  read_paths="$read_paths,$1"
  case $(readlink -m "$1") in
    "$lib" | "$lib"/* | "$config_dir" | "$config_dir"/*) ;;
    *) write_paths="$write_paths,$1" ;;
  esac
}

# The folder of every argument that names a file: it contains a slash, exists, or has a file
# extension (option values like 0.9 only add the current folder).
subcommand=""
for arg in "$@"; do
  case $arg in
    --*=*) value=${arg#*=} ;;
    -*) continue ;;
    *) value=$arg ;;
  esac
  [ -z "$subcommand" ] && subcommand=$value
  case $value in
    */*) [ -d "$value" ] && grant "$value" || grant "$(dirname "$value")" ;;
    *.*) grant . ;;
    *) [ -e "$value" ] && grant . ;;
  esac
done
old_ifs=$IFS
IFS=:
for path in ${IDS_SENSOR_PATHS:-}; do [ -n "$path" ] && grant "$path"; done
IFS=$old_ifs

# The range (`lab`, root only) runs system tools and writes captures and namespaces' files
# anywhere it is told: it gets run, and read and write everywhere.
extra=""
[ "$subcommand" = lab ] && extra="--allow-run --allow-read --allow-write"

# A 1 MB young generation (V8's default grows to 16 MB in each of the main thread and the inference
# worker): a spoofed 5M-SYN flood's peak RSS was 323 MiB with the default, 301 with this (one run each).
exec "$lib/deno" run --no-prompt --no-lock --config "$lib/app/deno.json" \
  --v8-flags=--max-semi-space-size=1 \
  --allow-ffi --allow-net \
  --allow-read="$read_paths" --allow-write="$write_paths" \
  --allow-env="IDS_*,NO_COLOR,FORCE_COLOR,CLICOLOR_FORCE,TERM,STATE_DIRECTORY,XDG_STATE_HOME,HOME,TMPDIR,TMP,TEMP,LOG_TOKENS,LOG_STREAM" \
  --allow-sys="uid,hostname,osRelease,networkInterfaces" \
  $extra "$lib/app/main.ts" "$@"
