// Lint: typescript-eslint's type-checked rules, plus the module boundaries of docs/ARCHITECTURE.md:
// runtime knows nothing of AdME; actors/model is pure; the gateway reaches actors only through
// actors/model and Kafka; viz imports actors/model types only.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const restrict = (patterns) => ['error', { patterns }];
const group = (names, message) => ({ group: names, message });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.adme/**', 'viz/dist/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // Interface methods (ports, server definitions) are async by contract even when one implementation is not.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['runtime/**/*.ts'],
    rules: { 'no-restricted-imports': restrict([group(['**/actors/**', '**/gateway/**', '**/viz/**', '**/bench/**', '**/cli/**', '**/stack/**'], 'runtime/ is the generic actor system: it imports none of AdME.')]) },
  },
  {
    files: ['actors/**/*.ts'],
    rules: { 'no-restricted-imports': restrict([group(['**/gateway/**', '**/viz/**', '**/bench/**', '**/cli/**', '**/stack/**'], 'actors/ may import the runtime public API only.'), group(['**/runtime/*/**'], 'import the runtime through runtime/index.js')]) },
  },
  {
    files: ['actors/model/**/*.ts'],
    rules: { 'no-restricted-imports': restrict([group(['node:*', '**/runtime/**', '../*', '!./*'], 'actors/model/ is pure and shared with the browser: no Node modules, nothing outside actors/model.')]) },
  },
  {
    files: ['gateway/**/*.ts'],
    rules: { 'no-restricted-imports': restrict([group(['**/actors/**', '!**/actors/model', '!**/actors/model/**'], 'the gateway talks to actors through Kafka; import actors/model only.'), group(['**/runtime/*/**'], 'import the runtime through runtime/index.js')]) },
  },
  {
    files: ['viz/**/*.ts', 'viz/**/*.tsx'],
    rules: { 'no-restricted-imports': restrict([group(['node:*', '**/runtime/**', '**/gateway/**', '**/bench/**', '**/actors/**', '!**/actors/model', '!**/actors/model/**'], 'viz/ imports actors/model types only.')]) },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-member-access': 'off' },
  },
);
