import { readFileSync } from 'node:fs';

const PARENT_CHECK_INTERVAL_MS = 1000;
const PACKAGE_MANAGER_VARIABLE = 'npm_config_user_agent';
/** What parentOf() says when /proc could not be read for another reason than the process being gone. */
const UNKNOWN = Symbol('unknown');

interface Ancestor {
  pid: number;
  /** Its parent's pid when chaussette started; undefined: only whether it lives is watched. */
  parent: number | undefined;
}

// Read as the CLI starts: npm may be gone before the app has loaded and the check begins.
const parentAtStart = process.ppid;
const ancestorsAtStart = process.env[PACKAGE_MANAGER_VARIABLE] === undefined ? undefined : packageManagerAncestors();

/**
 * npx and `npm run` start chaussette through a shell and do not pass SIGTERM on: npm exits and chaussette
 * would serve on, an orphan nobody stops. Started by a package manager (which sets
 * npm_config_user_agent), chaussette stops as on SIGTERM once the process that started it is gone.
 */
export function stopWhenPackageManagerExits(stop: () => void): void {
  if (ancestorsAtStart === undefined) return;
  const check = setInterval(() => {
    if (process.ppid === parentAtStart && ancestorsAtStart.every(stillInPlace)) return;
    clearInterval(check);
    stop();
  }, PARENT_CHECK_INTERVAL_MS);
  check.unref();
}

function stillInPlace({ pid, parent }: Ancestor): boolean {
  const parentNow = parentOf(pid);
  if (parentNow === UNKNOWN) return true;
  return parentNow !== undefined && (parent === undefined || parentNow === parent);
}

/**
 * The processes between chaussette and the package manager the user ran, with that one last. Between
 * them there can be more than a shell: `pnpm start` under a Node installed from npm runs pnpm and
 * chaussette through a shell script in node_modules/.bin/node, and when npx is stopped, that script and
 * the pnpm under it serve on, so chaussette's own parent never changes. Each of them carries
 * npm_config_user_agent, which the package manager set for its children: once one's parent changes, a
 * process above it is gone. The package manager itself is watched only for being alive: `nohup npm start &`
 * outlives its shell. Without /proc (not Linux): chaussette's own parent alone.
 */
function packageManagerAncestors(): Ancestor[] {
  const ancestors: Ancestor[] = [];
  for (let pid = process.ppid; pid > 1 && ancestors.length < 32; ) {
    const parent = parentOf(pid);
    if (parent === undefined || parent === UNKNOWN) break;
    const startedByPackageManager = hasPackageManagerVariable(pid);
    ancestors.push({ pid, parent: startedByPackageManager ? parent : undefined });
    if (!startedByPackageManager) break;
    pid = parent;
  }
  return ancestors;
}

/**
 * The parent pid of a live process, from /proc; undefined once it is gone or a zombie (or without /proc);
 * UNKNOWN when /proc could not tell (out of file descriptors: a server under load must not stop for that).
 */
function parentOf(pid: number): number | undefined | typeof UNKNOWN {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // pid (command) state ppid …: the command may hold spaces and parentheses.
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? undefined : Number(parent);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : UNKNOWN;
  }
}

function hasPackageManagerVariable(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some((entry) => entry.startsWith(`${PACKAGE_MANAGER_VARIABLE}=`));
  } catch {
    return false;
  }
}
