import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/__fixtures__/**', '**/fixtures/**', 'bench/**', 'scripts/**', '**/vitest.config.ts', 'eslint.config.js', 'vitest.config.ts', '**/bin/**'] },
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
            { group: ['@chaussette/backend-*', 'chaussette-backend-*', 'fastify', 'uWebSockets.js'], message: 'Core knows no server: backends depend on core, never the reverse.' },
          ],
        },
      ],
    },
  },
);
