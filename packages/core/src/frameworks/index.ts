// Frameworks' production builds, recognised by the files each framework documents as its output, never
// by its generated code: `chaussette build` (SvelteKit), `chaussette .output` (Nitro, Nuxt), `chaussette
// dist` (Astro), `chaussette .next` (Next.js). Each framework is one module here; none lets the framework
// bind a port of its own, and a build one recognises but does not understand is refused by its load().
import type { App } from '../backend.js';
import { astro } from './astro.js';
import { next } from './next.js';
import { nitro } from './nitro.js';
import { sveltekit } from './sveltekit.js';

/** A framework's build, recognised: what the start-up line says, and how to load it as an app. */
export interface FrameworkBuild {
  /** The app's description, for the "Application is …" line: `a SvelteKit build (build/handler.js)`. */
  description: string;
  /** Imports the build without letting it listen, and makes the app (its description is the one above). */
  load(): Promise<App>;
}

export interface Framework {
  name: string;
  /**
   * The build at `path`, the absolute path the user named (a directory, or a file of the build), or
   * undefined when it is not this framework's. `cwd` resolves the framework's own packages.
   */
  recognize(path: string, cwd: string): FrameworkBuild | undefined;
}

const FRAMEWORKS: readonly Framework[] = [sveltekit, nitro, astro, next];

/** The framework build at `path`, if any framework recognises it. */
export function recognizeBuild(path: string, cwd: string): FrameworkBuild | undefined {
  for (const framework of FRAMEWORKS) {
    const build = framework.recognize(path, cwd);
    if (build) return build;
  }
  return undefined;
}
