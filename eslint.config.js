import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['examples/frameworks/**', '**/dist/**', '**/node_modules/**', '**/__fixtures__/**', '**/fixtures/**', 'bench/**', 'scripts/**', '**/vitest.config.ts', 'eslint.config.js', 'vitest.config.ts', '**/bin/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['packages/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@chaussette/backend-*', 'chaussette-backend-*', '@chaussette/node-http', 'fastify', 'uWebSockets.js', 'ws'], message: 'Core knows no server: backends depend on core, never the reverse.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/backend-*/src/**/*.ts', 'packages/node-http/**/*.ts', 'packages/testkit/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@chaussette/backend-*'], message: 'A backend knows one engine: what backends share lives in @chaussette/core or @chaussette/node-http.' }] },
      ],
    },
  },
);
