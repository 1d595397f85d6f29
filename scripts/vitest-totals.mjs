// Prints the closing line CI reads, `N passed, N failed`, from vitest's JSON report.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.reports/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.error(`No vitest report at ${file}: the tests did not run.`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// A test file that failed to load, or an unhandled error, fails the run without failing a test: count it.
const brokenFiles = report.testResults.filter(
  (result) => result.status === 'failed' && !result.assertionResults.some((test) => test.status === 'failed'),
).length;
let failed = report.numFailedTests + brokenFiles;
if (!report.success && failed === 0) failed = 1;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
