// @ts-check
// Lint with type information (typescript-eslint's project service: each file
// is checked in the program of the tsconfig.json nearest to it) and an import
// cycle check that also follows imports through workspace packages
// (@walrus/* resolve to their sources). Part of `pnpm test`: CI fails on a
// floating promise or an import circle. See DEVELOPERS.md, "Lint".
import { defineConfig, globalIgnores } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

export default defineConfig([
  globalIgnores(['**/node_modules/', '**/dist/', '**/coverage/']),
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: {
          // Launchers and this file: in no tsconfig.json, linted in a default project.
          allowDefaultProject: ['eslint.config.js', 'packages/cli/bin/*.mjs', 'bench/bin/*.mjs', 'bench/tools/*.mjs'],
        },
        tsconfigRootDir: root,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      // What import-x parses to follow imports: our TypeScript and JavaScript, workspace packages included.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Our workspace packages are ours: the cycle check follows them (and nothing in node_modules).
      'import-x/internal-regex': '^@walrus/',
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: [`${root}/tsconfig.json`] })],
    },
    rules: {
      // A promise nobody awaits loses its failure (STYLE.md, habit 8).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      // No module imports another in a circle, within a package or across them.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // The live page's script runs in the browser, checked by its own tsconfig (DOM lib).
    files: ['services/control/src/web/app.js'],
    languageOptions: {
      parserOptions: { projectService: false, project: `${root}/services/control/src/web/tsconfig.app.json` },
    },
    rules: {
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require', 'module', '__dirname', '__filename', 'global'],
    },
  },
  {
    // core is pure (STYLE.md, habit 1): no I/O, no server clients, no Node.js modules; tests may use them.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'packages/core is pure: no Node.js modules (pass what is needed in).' },
            { group: ['pg', 'pino', 'prom-client', '@nats-io/*'], message: 'packages/core is pure: no I/O clients or loggers.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require', 'setTimeout', 'setInterval', 'fetch'],
    },
  },
]);
