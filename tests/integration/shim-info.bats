#!/usr/bin/env bats
# containerd-shim-wedge-v2 -info as containerd 2.x runs it (2.1 core/runtime/v2/task_manager.go
# `PluginInfo`; docs/protocol.md): no other flag, the
# runtime options Any on stdin (possibly empty), a containerd.types.RuntimeInfo on stdout.
# No containerd is needed. The default cache dir is /run/containerd/runc, so the test without
# options runs in a private mount namespace with its own /run, never the host's.

load ../helpers/common
load ../helpers/shim

FEATURES_URL=types.containerd.io/opencontainers/runtime-spec/1/features/Features

setup_file() {
  shim_setup_file protoc python3 jq unshare timeout
}

setup() {
  TMP=$(mktemp -d "${WEDGE_TEST_TMPDIR:-/tmp}/wedge-shim-info.XXXXXX")
}

teardown() {
  rm -rf "$TMP"
}

# One length-delimited protobuf field (strings here are short: a one-byte length).
pb_field() { # field string
  local n=${#2}
  [ "$n" -lt 128 ] || { echo "pb_field: $2 too long" >&2; return 1; }
  printf "\\x$(printf %02x $(($1 << 3 | 2)))\\x$(printf %02x "$n")%s" "$2"
}

# The stdin containerd 2.x writes: Any{containerd.runc.v1.Options, Options{6 binary_name, 7 root}}.
runc_options_any() { # binary_name root
  local opts
  opts=$(pb_field 6 "$1")$(pb_field 7 "$2")
  pb_field 1 containerd.runc.v1.Options
  pb_field 2 "$opts"
}

# Runs -info with stdin from $1; stdout to $TMP/out, stderr to $TMP/err.
shim_info() { # stdin-file
  timeout 30 "$SHIM" -info <"$1" >"$TMP/out" 2>"$TMP/err"
}

# A top-level string field of the RuntimeInfo in $TMP/out, through protoc --decode_raw.
info_field() { # field-path as decode_raw prints it, e.g. "1" or "4 2"
  protoc --decode_raw <"$TMP/out" | python3 -c '
import codecs, sys
want, stack = sys.argv[1].split(), []
for line in sys.stdin:
    s = line.strip()
    if s == "}":
        stack.pop()
    elif s.endswith(" {"):
        stack.append(s[:-2])
    else:
        num, _, value = s.partition(": ")
        if stack + [num] == want and value.startswith("\""):
            sys.stdout.write(codecs.escape_decode(value[1:-1].encode())[0].decode())
            sys.exit(0)
sys.exit(1)
' "$1"
}

# A fake runtime whose `features` prints $2 and counts its calls in $TMP/calls.
write_runtime() { # path features-json
  local tmp="$1.tmp"
  cat >"$tmp" <<SCRIPT
#!/bin/sh
echo "\$*" >> "$TMP/calls"
[ "\$1" = features ] || exit 1
cat <<'JSON'
$2
JSON
SCRIPT
  chmod 0755 "$tmp"
  mv -f "$tmp" "$1"
}

@test "-info with empty stdin: runc's features document, cached in /run/containerd/runc" {
  run_timeout 30 unshare -m --propagation private -- /bin/sh -c '
    mount -t tmpfs tmpfs /run && mkdir -p /run/containerd &&
    "$1" -info </dev/null >"$2/out" && ls /run/containerd/runc' sh "$SHIM" "$TMP"
  [ "$status" -eq 0 ]
  [[ "$output" == wedge-features-*.json ]]

  [ "$(info_field 1)" = io.containerd.wedge.v2 ]
  [ -n "$(info_field '2 1')" ]
  [ "$(info_field '4 1')" = "$FEATURES_URL" ]
  info_field '4 2' | jq -e '.ociVersionMax and (.hooks | index("prestart"))'
  # No options on stdin: none echoed.
  ! protoc --decode_raw <"$TMP/out" | grep -q '^3 {'
}

@test "-info with Options naming crun 1.8.1: features left out, options echoed, exit 0" {
  runc_options_any crun "$TMP/root" >"$TMP/in"
  run shim_info "$TMP/in"
  [ "$status" -eq 0 ]
  [ ! -s "$TMP/err" ]
  [ "$(info_field 1)" = io.containerd.wedge.v2 ]
  [ "$(info_field '3 1')" = containerd.runc.v1.Options ]
  ! protoc --decode_raw <"$TMP/out" | grep -q '^4 {'
  # The "too old" answer is a property of the binary too: cached in Options.root.
  jq -e '.tooOld and (.binary | endswith("/crun"))' "$TMP"/root/wedge-features-*.json
}

@test "-info asks the runtime once, and again after the binary is replaced" {
  mkdir "$TMP/bin"
  write_runtime "$TMP/bin/rt" '{"ociVersionMin":"1.0.0","ociVersionMax":"1.1.0","hooks":["prestart"]}'
  runc_options_any "$TMP/bin/rt" "$TMP/root" >"$TMP/in"

  shim_info "$TMP/in"
  [ "$(info_field '4 2' | jq -r .ociVersionMax)" = 1.1.0 ]
  shim_info "$TMP/in"
  [ "$(info_field '4 2' | jq -r .ociVersionMax)" = 1.1.0 ]
  [ "$(grep -c features "$TMP/calls")" -eq 1 ]

  write_runtime "$TMP/bin/rt" '{"ociVersionMin":"1.0.0","ociVersionMax":"1.2.0","hooks":["prestart"]}'
  shim_info "$TMP/in"
  [ "$(info_field '4 2' | jq -r .ociVersionMax)" = 1.2.0 ]
  [ "$(grep -c features "$TMP/calls")" -eq 2 ]
}

@test "-info refuses stdin that is not an options Any, and a runtime it cannot run" {
  printf '\xff\xff\xff' >"$TMP/in"
  run shim_info "$TMP/in"
  [ "$status" -eq 1 ]
  [ ! -s "$TMP/out" ]
  grep -q '^io.containerd.wedge.v2: runtime options on stdin are not a protobuf Any' "$TMP/err"

  runc_options_any "$TMP/no-such-runtime" "$TMP/root" >"$TMP/in"
  run shim_info "$TMP/in"
  [ "$status" -eq 1 ]
  [ ! -s "$TMP/out" ]
  grep -q "no-such-runtime" "$TMP/err"
}
