// NestJS: an app module (a class with @Module() metadata) or an application instance (NestFactory.create()'s).
import type { App } from '../backend.js';

/** TODO(helper): a NestJS application module, made into an app with the @nestjs/core installed beside the app. */
export async function nestModuleApp(_value: unknown, _label: string, _cwd: string): Promise<App | undefined> {
  return undefined;
}
