// NestJS: an app module (a class with @Module() metadata) or an application instance (NestFactory.create()'s).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve as resolveImport } from 'import-meta-resolve';
import type { App } from '../backend.js';
import { isNestApplication, type NestApplication, nestApplicationApp } from '../detect-app.js';
import { ChaussetteError, errorMessage } from '../errors.js';
import { importModule, parseExportSpecifier, resolveModule } from '../load-module.js';

// The reflect-metadata keys @Module() and @Global() set on a class (@nestjs/common's constants.js).
const MODULE_KEYS = new Set(['imports', 'controllers', 'providers', 'exports', '__module:global__']);

/**
 * A NestJS app module, made an application with NestFactory.create() from the @nestjs/core installed
 * beside the app, on the platform Nest picks (express, or fastify when only it is installed); or an
 * application instance. Undefined for anything else.
 */
export async function nestModuleApp(value: unknown, label: string, cwd: string): Promise<App | undefined> {
  // Before the backends look: a NestFastifyApplication has a Fastify instance's register(), inject() and listen().
  if (isNestApplication(value)) return nestApplicationApp(value, label);
  if (!isNestModule(value)) return undefined;
  const name = value.name || 'the module';
  const from = appDirectories(label, cwd);
  const core = resolveFrom(from, '@nestjs/core');
  if (!core) throw new ChaussetteError(`${label} is the NestJS module ${name}; serving it needs @nestjs/core: install it beside the app`);
  const { NestFactory } = (await importModule(core, '@nestjs/core')) as { NestFactory: NestFactoryLike };
  // Nest's info lines would say the app started before chaussette listens; errors and warnings stay.
  const options = { logger: ['error', 'warn'], abortOnError: false };
  let instance: NestApplication;
  try {
    instance = await NestFactory.create(value, ...(await platformArguments(from, label, name)), options);
  } catch (error) {
    // Nest has logged the whole error (its hints, the stack): the first line says which.
    throw new ChaussetteError(`NestFactory.create(${name}) from ${label} failed: ${errorMessage(error).split('\n', 1)[0]}`, { cause: error });
  }
  return nestApplicationApp(instance, label, `the NestJS module ${name}, made an application with NestFactory.create()`);
}

interface NestFactoryLike {
  create(module: unknown, ...rest: unknown[]): Promise<NestApplication>;
}

function isNestModule(value: unknown): value is Function {
  const reflect = Reflect as typeof Reflect & { getOwnMetadataKeys?: (target: object) => unknown[] };
  // reflect-metadata is loaded once any Nest decorator ran; without it there is no module.
  if (typeof value !== 'function' || typeof reflect.getOwnMetadataKeys !== 'function') return false;
  return reflect.getOwnMetadataKeys(value).some((key) => MODULE_KEYS.has(key as string));
}

/** Express unless only @nestjs/platform-fastify is installed: Nest itself would exit, asking for express. */
async function platformArguments(from: string[], label: string, name: string): Promise<unknown[]> {
  if (resolveFrom(from, '@nestjs/platform-express')) return [];
  const fastify = resolveFrom(from, '@nestjs/platform-fastify');
  if (!fastify) {
    throw new ChaussetteError(`${label} is the NestJS module ${name}; serving it needs a platform: install @nestjs/platform-express (or @nestjs/platform-fastify) beside the app`);
  }
  const { FastifyAdapter } = (await importModule(fastify, '@nestjs/platform-fastify')) as { FastifyAdapter: new () => unknown };
  return [new FastifyAdapter()];
}

/** The module's own directory first (a package's dependencies are beside it), then the working directory. */
function appDirectories(label: string, cwd: string): string[] {
  try {
    return [dirname(resolveModule(parseExportSpecifier(label).module, cwd)), cwd];
  } catch {
    return [cwd];
  }
}

function resolveFrom(directories: string[], name: string): string | undefined {
  for (const directory of directories) {
    try {
      return fileURLToPath(resolveImport(name, pathToFileURL(join(directory, 'noop.js')).href));
    } catch {
      // not installed there
    }
  }
  return undefined;
}
