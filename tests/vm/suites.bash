# vm_suites: the lines of tests/vm/suites as "FILE FILTER" (FILTER may be empty), comments and
# blank lines left out. Sourced by tests/vm/guest-run.sh (in the VM) and tests/run-all.sh (which
# counts the TAP each left).
vm_suites() {
  local file filter
  while read -r file filter; do
    case $file in '' | \#*) continue ;; esac
    printf '%s %s\n' "$file" "$filter"
  done < "$(dirname "${BASH_SOURCE[0]}")/suites"
}
