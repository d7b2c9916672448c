#!/bin/bash
# tests/layers.sh: lib/'s layering, as a TAP test (meson test `layers`, so tests/run-all.sh runs it
# with the unit tests). lib/ has one folder per layer, bottom to top as in LAYERS (the order
# lib/meson.build links them and docs/architecture.md draws them). A file of lib/ may include:
#   - a header of its own layer or of a layer below, always by its folder: "base/loop.h";
#   - the generated messages ("*.pb-c.h", from proto/) and config.h.
# Anything else (a layer above, a bare "loop.h", a folder that is not a layer) is reported with
# its file and line.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAYERS=(base ttrpc runtime features io cgroup process service)

rank() {
  local i
  for i in "${!LAYERS[@]}"; do
    [ "${LAYERS[i]}" = "$1" ] && { echo "$i"; return; }
  done
  echo -1
}

n=0 bad=0
report() {
  local ok=$1 what=$2
  shift 2
  n=$((n + 1))
  if [ "$ok" = 1 ]; then
    echo "ok $n - $what"
  else
    bad=$((bad + 1))
    echo "not ok $n - $what"
    printf '# %s\n' "$@"
  fi
}

echo "1..$((${#LAYERS[@]} + 1))"
# Every folder of lib/ is a layer.
strays=()
for d in "$root"/lib/*/; do
  d=${d%/}
  [ "$(rank "${d##*/}")" -ge 0 ] || strays+=("lib/${d##*/} is not one of: ${LAYERS[*]}")
done
for f in "$root"/lib/*.[ch]; do
  [ -e "$f" ] && strays+=("${f#"$root"/} is outside every layer's folder")
done
report $(( ${#strays[@]} == 0 )) "lib/ holds only the layers' folders" "${strays[@]}"

for layer in "${LAYERS[@]}"; do
  own=$(rank "$layer")
  errs=()
  for f in "$root/lib/$layer"/*.[ch]; do
    [ -e "$f" ] || continue
    while IFS=: read -r line inc; do
      inc=${inc#*\"}
      inc=${inc%\"*}
      case $inc in
        *.pb-c.h | config.h) continue ;;
        */*)
          r=$(rank "${inc%%/*}")
          if [ "$r" -lt 0 ]; then
            errs+=("${f#"$root"/}:$line: \"$inc\" is not in a layer's folder")
          elif [ "$r" -gt "$own" ]; then
            errs+=("${f#"$root"/}:$line: \"$inc\" is in ${inc%%/*}, above $layer")
          fi
          ;;
        *) errs+=("${f#"$root"/}:$line: \"$inc\" names no layer (write \"<layer>/$inc\")") ;;
      esac
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
  done
  report $(( ${#errs[@]} == 0 )) "lib/$layer includes only from $layer and below" "${errs[@]}"
done
[ $bad = 0 ]
