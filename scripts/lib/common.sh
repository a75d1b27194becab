# Shared by scripts/test, scripts/fuzz and .ci/run (sourced, POSIX sh): phases that print how
# long they took, and the slowest tests of a ctest log, so a regression in build or test time
# shows in every run's log.

# phase NAME COMMAND...: runs COMMAND and prints "== NAME: N s"; returns COMMAND's status
# (the duration is printed either way).
phase() {
  phase_name=$1
  shift
  phase_start=$(date +%s)
  echo "== $phase_name"
  if "$@"; then phase_status=0; else phase_status=$?; fi
  echo "== $phase_name: $(($(date +%s) - phase_start)) s$([ "$phase_status" -eq 0 ] || echo ", FAILED ($phase_status)")"
  return "$phase_status"
}

# slowest_tests LOG [N]: the N (default 15) slowest tests of a ctest log, with their times.
slowest_tests() {
  echo "== the ${2:-15} slowest tests ($1)"
  sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \(.*[^ ]\) \.\.* *[*]*[A-Z][A-Za-z ]*  *\([0-9.]*\) sec$/\2 \1/p' "$1" |
    sort -rn | head -n "${2:-15}" | awk '{ t = $1; $1 = ""; printf "%9.2f s %s\n", t, $0 }'
}

# configure DIR: configures the build tree DIR. With QUECSIM_SANITIZE=ON it is clang's
# AddressSanitizer + UBSan build at -O1 with line tables (a quarter of GCC's compile time under
# the sanitizers, and what libFuzzer needs): scripts/test tests it and scripts/fuzz fuzzes in
# it, so the two must configure it alike.
configure() {
  if [ "${QUECSIM_SANITIZE:-OFF}" = ON ]; then
    CC=clang CXX=clang++ cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
      -DQUECSIM_SANITIZE=ON >/dev/null
  else
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUECSIM_SANITIZE=OFF >/dev/null
  fi
}
