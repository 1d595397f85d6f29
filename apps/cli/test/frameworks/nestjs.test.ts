import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, test } from 'vitest';
import { expectOneLineError, runCli } from '../helpers.js';
import { describeBuild, EXAMPLES } from './build-check.js';

const NEST = `${EXAMPLES}nestjs`;

// NestJS 12 and 11.
for (const example of ['nestjs', 'nestjs-11']) {
  describeBuild({
    example,
    args: ['dist/app.module.js:AppModule'],
    recognised: /Application is the NestJS module AppModule, made an application with NestFactory\.create\(\) \(express platform\)/,
  });

  describeBuild({
    example,
    args: ['dist/express-instance.js'],
    recognised: /Application is a NestJS application \(express platform\)/,
  });

  describeBuild({
    example,
    args: ['dist/fastify-instance.js'],
    recognised: /Application is a NestJS application \(fastify platform\)/,
  });
}

describe('a NestJS application that already listens', () => {
  test('is refused in one line, saying to export it without listen()', async () => {
    // Plain JavaScript beside the example's packages, so that it needs no build.
    mkdirSync(`${NEST}/dist`, { recursive: true });
    writeFileSync(
      `${NEST}/dist/listening-instance.mjs`,
      [
        "import 'reflect-metadata';",
        "import { Module } from '@nestjs/common';",
        "import { NestFactory } from '@nestjs/core';",
        'class AppModule {}',
        'Module({ controllers: [] })(AppModule);',
        'const app = await NestFactory.create(AppModule, { logger: false });',
        "await app.listen(0, '127.0.0.1');",
        'export default app;',
      ].join('\n'),
    );
    const result = await runCli(['--port', '0', 'dist/listening-instance.mjs'], { cwd: NEST });
    expectOneLineError(result, /dist\/listening-instance\.mjs:default is a NestJS application that already listens: export it without calling listen\(\)/);
  });
});
