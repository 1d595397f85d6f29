// The names of the kit's cases: each case has a full name of its own (the describes down to it, as
// `vitest list` prints it), and each name a backend lists in knownFailures is the name of a case.
import type { RunnerTask } from 'vitest';

/** Every case under `task`, each as the names from `task`'s own down to the case's. */
export function caseNames(task: Readonly<RunnerTask>, parents: readonly string[] = []): string[][] {
  const path = [...parents, task.name];
  if (task.type !== 'suite') return [path];
  return task.tasks.flatMap((child) => caseNames(child, path));
}

/** What is wrong with these names: a full name two cases share, a knownFailures name that names no case. */
export function nameProblems(cases: readonly (readonly string[])[], knownFailures: readonly string[] = []): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const path of cases) {
    const fullName = path.join(' > ');
    if (seen.has(fullName)) problems.push(`two cases are named ${JSON.stringify(fullName)}`);
    seen.add(fullName);
  }
  const names = new Set(cases.map((path) => path.at(-1)));
  for (const name of knownFailures) {
    if (!names.has(name)) problems.push(`knownFailures lists ${JSON.stringify(name)}, which is not the name of a case of the kit`);
  }
  return problems;
}

/** Throws, saying what is wrong, unless the names of the cases under `task` pass nameProblems(). */
export function checkCaseNames(task: Readonly<RunnerTask> | undefined, knownFailures: readonly string[] | undefined): void {
  if (!task) return;
  const problems = nameProblems(caseNames(task), knownFailures);
  if (problems.length > 0) throw new Error(`The conformance kit's case names: ${problems.join('; ')}`);
}
