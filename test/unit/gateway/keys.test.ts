import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyStore, KeyStoreError, createKey, keyFromRequest, parseScopes, readKeyFile, revokeKey } from '../../../gateway/keys.js';

const file = () => join(mkdtempSync(join(tmpdir(), 'adme-keys-')), 'keys.json');

describe('API keys', () => {
  it('stores only a hash, with mode 0600, and authenticates the secret by its id prefix', () => {
    const f = file();
    const { record, secret } = createKey(f, ['ingest'], { rate: 5 });
    expect(secret).toMatch(new RegExp(`^adme_${record.id}_[A-Za-z0-9_-]{43}$`));
    expect(readFileSync(f, 'utf8')).not.toContain(secret.slice(18));
    expect(statSync(f).mode & 0o777).toBe(0o600);
    const store = new KeyStore(f);
    expect(store.authenticate(secret)).toEqual({ ok: true, key: record });
    expect(store.authenticate(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(store.authenticate(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toEqual({ ok: false, reason: 'unknown' });
    expect(store.authenticate('adme_000000000000_' + 'x'.repeat(43))).toEqual({ ok: false, reason: 'unknown' });
    expect(store.authenticate('garbage')).toEqual({ ok: false, reason: 'unknown' });
  });

  it('revoked keys stop authenticating after reload; the record stays, marked', () => {
    const f = file();
    const a = createKey(f, ['ingest']);
    const b = createKey(f, ['view', 'admin']);
    const store = new KeyStore(f);
    revokeKey(f, a.record.id);
    store.reload();
    expect(store.authenticate(a.secret)).toEqual({ ok: false, reason: 'unknown' });
    expect(store.authenticate(b.secret).ok).toBe(true);
    expect(readKeyFile(f).keys.map((k) => [k.id, k.revokedAt !== undefined])).toEqual([[a.record.id, true], [b.record.id, false]]);
    expect(() => revokeKey(f, 'nope')).toThrow(KeyStoreError);
  });

  it('a broken key file keeps the previous keys and reports', () => {
    const f = file();
    const a = createKey(f, ['ingest']);
    const errors: string[] = [];
    const store = new KeyStore(f, (e) => errors.push(e.message));
    writeFileSync(f, '{not json');
    store.reload();
    expect(errors).toHaveLength(1);
    expect(store.authenticate(a.secret).ok).toBe(true);
  });

  it('parses scopes and refuses unknown ones', () => {
    expect(parseScopes('ingest, view,ingest')).toEqual(['ingest', 'view']);
    expect(() => parseScopes('ingest,write')).toThrow('unknown scope "write"');
    expect(() => parseScopes('')).toThrow('--scope needs');
  });

  it('reads the key from Authorization: Bearer, else from the query', () => {
    expect(keyFromRequest('Bearer abc', 'q')).toBe('abc');
    expect(keyFromRequest('bearer  abc ', undefined)).toBe('abc');
    expect(keyFromRequest('', 'q')).toBe('q');
    expect(keyFromRequest('Basic xyz', '')).toBeUndefined();
  });
});
