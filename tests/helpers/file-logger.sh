#!/bin/sh
# A containerd logging binary for binary:// log URIs (parity-logs-ckpt.bats), started by the
# shim with the container's stdout on fd 3, its stderr on fd 4 and a ready pipe on fd 5.
# Arguments come from the URI query: `?dir=DIR` gives `dir DIR`. It records its environment
# and arguments, says ready by closing fd 5 before anything inherits it, then copies both
# streams to DIR/$CONTAINER_ID.out and .err until EOF.
[ "$1" = dir ] && [ -d "$2" ] || exit 2
dir=$2
env > "$dir/$CONTAINER_ID.env"
echo "$@" > "$dir/$CONTAINER_ID.args"
exec 5>&-
cat <&3 >> "$dir/$CONTAINER_ID.out" &
cat <&4 >> "$dir/$CONTAINER_ID.err" &
exec 3<&- 4<&-
wait
