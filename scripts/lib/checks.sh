# Check helpers of the end-to-end scripts (tests/e2e/*.sh): every check is printed, failures
# are counted, and `checks_done NAME` ends the script with the "NAME e2e: N passed, M failed"
# line scripts/test.sh adds up, exiting non-zero if any check failed.

passed=0
failed=0
# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" == "$3" ]; then
    passed=$((passed + 1)); printf '  ok   %s = %s\n' "$1" "$3"
  else
    failed=$((failed + 1)); printf '  FAIL %s: expected %s, got %s\n' "$1" "$2" "$3"
  fi
}
# pass TEXT / fail TEXT: a check decided by the caller.
pass() { passed=$((passed + 1)); printf '  ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf '  FAIL %s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
checks_done() {
  printf '\n%s e2e: %d passed, %d failed\n' "$1" "$passed" "$failed"
  [ "$failed" -eq 0 ]
}
