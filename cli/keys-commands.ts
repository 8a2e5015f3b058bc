import { join } from 'node:path';
import { createKey, parseScopes, readKeyFile, revokeKey } from '../gateway/index.js';
import { loadStackConfig } from '../stack/index.js';
import { UsageError, positiveInt, type CliContext, type Command } from './args.js';

const keysFileOption = { 'keys-file': { type: 'string' } } as const;
const keysFileHelp = ['--keys-file <path>', 'the key file (default ADME_KEYS_FILE, or keys.json in the state dir)'] as const;

export function keysFile(ctx: CliContext): string {
  const flag = ctx.values['keys-file'];
  if (typeof flag === 'string') return flag;
  return process.env.ADME_KEYS_FILE || join(loadStackConfig(ctx.projectDir).stateDir, 'keys.json');
}

export const KEYS_COMMANDS: readonly Command[] = [
  {
    path: ['keys', 'create'],
    summary: 'Create an API key; prints the new secret alone on the last line of stdout (it is stored hashed, shown once).',
    options: { scope: { type: 'string' }, label: { type: 'string' }, rate: { type: 'string' }, burst: { type: 'string' }, ...keysFileOption },
    optionHelp: [
      ['--scope <scopes>', 'comma-separated: ingest, view, admin (required)'],
      ['--label <text>', 'a note shown by keys list'],
      ['--rate <n>', 'events/s for this key (default ADME_KEY_RATE, 100000)'],
      ['--burst <n>', 'token bucket size (default 2 x rate, or ADME_KEY_BURST)'],
      keysFileHelp,
    ],
    run: async (ctx) => {
      if (typeof ctx.values.scope !== 'string') throw new UsageError('--scope is required (ingest, view, admin)', '');
      const scopes = parseScopes(ctx.values.scope);
      const file = keysFile(ctx);
      const rate = ctx.values.rate === undefined ? undefined : positiveInt('rate', ctx.values.rate, 1);
      const burst = ctx.values.burst === undefined ? undefined : positiveInt('burst', ctx.values.burst, 1);
      const label = typeof ctx.values.label === 'string' ? ctx.values.label : undefined;
      const { record, secret } = createKey(file, scopes, { ...(label !== undefined ? { label } : {}), ...(rate !== undefined ? { rate } : {}), ...(burst !== undefined ? { burst } : {}) });
      console.log(`created key ${record.id} with scopes ${record.scopes.join(',')} in ${file}; the secret is shown once:`);
      console.log(secret);
      return 0;
    },
  },
  {
    path: ['keys', 'list'],
    summary: 'List API keys (id, scopes, rate, created, revoked); secrets are never shown.',
    options: { json: { type: 'boolean' }, ...keysFileOption },
    optionHelp: [['--json', 'print machine-readable JSON'], keysFileHelp],
    run: async (ctx) => {
      const { keys } = readKeyFile(keysFile(ctx));
      const rows = keys.map(({ hash: _hash, ...rest }) => rest);
      if (ctx.values.json === true) {
        console.log(JSON.stringify(rows, null, 2));
        return 0;
      }
      const table = [['ID', 'SCOPES', 'RATE', 'CREATED', 'REVOKED', 'LABEL'], ...rows.map((k) => [k.id, k.scopes.join(','), k.rate === undefined ? 'default' : String(k.rate), k.createdAt, k.revokedAt ?? '-', k.label ?? ''])];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
      return 0;
    },
  },
  {
    path: ['keys', 'revoke'],
    summary: 'Revoke an API key by id; running gateways stop accepting it within a second (they watch the file).',
    args: [{ name: 'id' }],
    options: { ...keysFileOption },
    optionHelp: [keysFileHelp],
    run: async (ctx) => {
      const rec = revokeKey(keysFile(ctx), ctx.positionals[0]!);
      console.log(`revoked key ${rec.id} at ${rec.revokedAt ?? ''}`);
      return 0;
    },
  },
];
