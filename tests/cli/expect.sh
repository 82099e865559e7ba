# The checks the CLI test scripts share; they count into $passed and $failures.
failures=0
passed=0

# expect_ok NAME REGEX CMD...: exit 0 and stdout+stderr matching REGEX.
expect_ok() {
  local name=$1 regex=$2
  shift 2
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne 0 ]] || ! grep -Eq -- "$regex" <<<"$out"; then
    echo "FAIL $name: rc=$rc, wanted /$regex/, got:"
    echo "$out" | head -20
    failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
}

# expect_error NAME RC REGEX CMD...: exit code RC and a one-line error matching REGEX.
expect_error() {
  local name=$1 want_rc=$2 regex=$3
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $want_rc ]] || ! grep -Eq -- "$regex" <<<"$out" || [[ $(grep -c '' <<<"$out") -ne 1 ]]; then
    echo "FAIL $name: rc=$rc (wanted $want_rc), wanted one line matching /$regex/, got:"
    echo "$out" | head -20
    failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
}
