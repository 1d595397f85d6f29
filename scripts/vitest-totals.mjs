// Prints the closing line CI reads, `N passed, N failed, N skipped`, summed over vitest's JSON reports
// (one per Node release, .reports/vitest-node-<version>.json), after a line for each of them. Above them, each
// failed test by file and name with the first line of its error: CI logs are often read from the end.
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';

const files = process.argv.length > 2 ? process.argv.slice(2) : ['.reports/vitest.json'];
const sum = { passed: 0, failed: 0, skipped: 0 };
for (const file of files) {
  const counts = countsOf(file);
  const release = /^vitest-node-(.+)\.json$/.exec(basename(file))?.[1];
  for (const failure of counts.failures ?? []) console.log(`FAILED${release ? ` on Node ${release}` : ''}: ${failure}`);
  if (files.length > 1 || !counts.report) console.log(`${release ? `Node ${release}` : file}: ${format(counts)}`);
  for (const key of Object.keys(sum)) sum[key] += counts[key];
}
console.log(format(sum));
process.exit(sum.failed > 0 ? 1 : 0);

/** The counts of one report; a missing or unreadable report is one failure (its tests did not run). */
function countsOf(file) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { passed: 0, failed: 1, skipped: 0, report: false, note: `no vitest report at ${file}: the tests did not run` };
  }
  // A test file that failed to load, or an unhandled error, fails the run without failing a test: count it.
  const brokenFiles = report.testResults.filter(
    (result) => result.status === 'failed' && !result.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  let failed = report.numFailedTests + brokenFiles;
  if (!report.success && failed === 0) failed = 1;
  return {
    passed: report.numPassedTests,
    failed,
    skipped: report.numPendingTests + report.numTodoTests,
    report: true,
    failures: failuresOf(report),
  };
}

/** `file > test name: first line of the error` for each failed test, and each test file that failed to load. */
function failuresOf(report) {
  const firstLine = (text) => String(text ?? '').replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n')[0].slice(0, 300);
  const failures = [];
  for (const result of report.testResults) {
    const file = relative(process.cwd(), result.name);
    const failedTests = result.assertionResults.filter((test) => test.status === 'failed');
    for (const test of failedTests) failures.push(`${file} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
    if (result.status === 'failed' && failedTests.length === 0) failures.push(`${file}: ${firstLine(result.message)}`);
  }
  return failures;
}

function format({ passed, failed, skipped, note }) {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${note ? ` (${note})` : ''}`;
}
