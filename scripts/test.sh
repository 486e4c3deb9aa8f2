#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need, builds, lints (type check,
# ESLint, Prettier: `npm run lint`), runs every test, and ends with the plain summary line
# "N passed, N failed, N skipped". A lint failure fails the run after the tests have run.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d node_modules/.bin ]] || npm install --no-audit --no-fund
bash scripts/install-system-deps.sh
npm run build --silent
lint_rc=0
if [[ $# -eq 0 ]]; then
  npm run lint --silent || lint_rc=$?
fi
# The test corpus (RFC 4475/5118, PROTOS c07-sip) lives in ../shared/testcorpus beside the
# checkout; a clone elsewhere uses the copy in test/fixtures (test/helpers/paths.ts picks it up).
if [[ ! -d ../shared/testcorpus && -z "${SIPSERVER_SHARED:-}" && ! -f test/.corpus/testcorpus/INDEX.md ]]; then
  mkdir -p test/.corpus/testcorpus
  tar xzf test/fixtures/testcorpus.tgz -C test/.corpus/testcorpus
fi
# vitest.config.ts runs three projects one after the other: unit (files in parallel), then
# integration and e2e (one file at a time); `bash scripts/test.sh --project unit` runs one of them.
report=$(mktemp)
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
rc=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
rm -f "$report"
if [[ $lint_rc -ne 0 ]]; then
  echo "npm run lint failed (exit $lint_rc): see its output above" >&2
  [[ $rc -ne 0 ]] || rc=$lint_rc
fi
exit $rc
