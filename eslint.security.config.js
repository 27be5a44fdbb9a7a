// Static security scan of src/: eslint-plugin-security's recommended rules, errors fail the gate.
import tseslint from 'typescript-eslint';
import security from 'eslint-plugin-security';

export default [
  { ignores: ['dist/', 'coverage/', 'node_modules/'] },
  {
    files: ['src/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { security },
    rules: {
      ...Object.fromEntries(
        Object.keys(security.configs.recommended.rules).map((rule) => [rule, 'error']),
      ),
      // Reports every typed index (array[i], record[key]); TypeScript's noUncheckedIndexedAccess and
      // Object.hasOwn at the few untyped lookups cover the prototype-pollution risk it looks for.
      'security/detect-object-injection': 'off',
    },
  },
];
