/**
 * API keys: `adme_<id>_<secret>`. The file (ADME_KEYS_FILE, JSON, mode 0600) stores only the SHA-256 of
 * each key; the id in the key's prefix finds its record in O(1). Keys carry 256 random bits, so a fast
 * hash is enough (a slow KDF protects guessable passwords, not random keys).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const SCOPES = ['ingest', 'view', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface KeyRecord {
  readonly id: string;
  /** SHA-256 (hex) of the whole key. */
  readonly hash: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly revokedAt?: string;
  readonly label?: string;
  /** Events per second (token bucket refill) and bucket size; the gateway defaults when absent. */
  readonly rate?: number;
  readonly burst?: number;
}

interface KeyFile {
  readonly version: 1;
  readonly keys: KeyRecord[];
}

/** A key file that cannot be read or a key command that cannot be done. */
export class KeyStoreError extends Error {
  constructor(readonly code: 'KEY_FILE_BAD' | 'KEY_NOT_FOUND' | 'KEY_BAD_SCOPE', message: string) {
    super(message);
    this.name = 'KeyStoreError';
  }
}

const KEY_RE = /^adme_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function parseScopes(raw: string): Scope[] {
  const scopes = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (scopes.length === 0) throw new KeyStoreError('KEY_BAD_SCOPE', `--scope needs one or more of ${SCOPES.join(', ')}`);
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new KeyStoreError('KEY_BAD_SCOPE', `unknown scope "${s}"; scopes are ${SCOPES.join(', ')}`);
  return [...new Set(scopes)] as Scope[];
}

export function readKeyFile(file: string): KeyFile {
  if (!existsSync(file)) return { version: 1, keys: [] };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
    if (parsed.version !== 1 || !Array.isArray(parsed.keys)) throw new Error('expected {"version": 1, "keys": [...]}');
    return parsed;
  } catch (err) {
    throw new KeyStoreError('KEY_FILE_BAD', `${file}: ${(err as Error).message}`);
  }
}

function writeKeyFile(file: string, data: KeyFile): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file); // atomic: a reloading gateway never reads half a file
}

export interface NewKey {
  readonly record: KeyRecord;
  /** The key itself: shown once, never stored. */
  readonly secret: string;
}

export function createKey(file: string, scopes: readonly Scope[], opts: { label?: string; rate?: number; burst?: number } = {}): NewKey {
  const data = readKeyFile(file);
  const id = randomBytes(6).toString('hex');
  const secret = `adme_${id}_${randomBytes(32).toString('base64url')}`;
  const record: KeyRecord = {
    id, hash: sha256(secret), scopes: [...scopes], createdAt: new Date().toISOString(),
    ...(opts.label !== undefined ? { label: opts.label } : {}),
    ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
    ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
  };
  writeKeyFile(file, { version: 1, keys: [...data.keys, record] });
  return { record, secret };
}

export function revokeKey(file: string, id: string): KeyRecord {
  const data = readKeyFile(file);
  const found = data.keys.find((k) => k.id === id);
  if (!found) throw new KeyStoreError('KEY_NOT_FOUND', `no key with id "${id}" in ${file}`);
  const revoked: KeyRecord = { ...found, revokedAt: found.revokedAt ?? new Date().toISOString() };
  writeKeyFile(file, { version: 1, keys: data.keys.map((k) => (k.id === id ? revoked : k)) });
  return revoked;
}

export type AuthResult = { readonly ok: true; readonly key: KeyRecord } | { readonly ok: false; readonly reason: 'missing' | 'unknown' };

/** The live set of keys of one file; reloads when the file changes (polled) or on {@link reload}. */
export class KeyStore {
  private byId = new Map<string, KeyRecord>();
  private watching = false;

  constructor(readonly file: string, private readonly onError: (err: Error) => void = () => undefined) {
    this.reload();
  }

  /** Re-reads the file. A bad file keeps the previous keys (and reports the error). */
  reload(): void {
    try {
      const data = readKeyFile(this.file);
      this.byId = new Map(data.keys.filter((k) => k.revokedAt === undefined).map((k) => [k.id, k]));
    } catch (err) {
      this.onError(err as Error);
    }
  }

  watch(intervalMs = 500): void {
    if (this.watching) return;
    this.watching = true;
    watchFile(this.file, { interval: intervalMs, persistent: false }, () => this.reload());
  }

  close(): void {
    if (this.watching) unwatchFile(this.file);
    this.watching = false;
  }

  get size(): number {
    return this.byId.size;
  }

  authenticate(key: string | undefined): AuthResult {
    if (key === undefined || key === '') return { ok: false, reason: 'missing' };
    const m = KEY_RE.exec(key);
    const rec = m ? this.byId.get(m[1]!) : undefined;
    if (!rec) return { ok: false, reason: 'unknown' };
    const ok = timingSafeEqual(Buffer.from(sha256(key), 'hex'), Buffer.from(rec.hash, 'hex'));
    return ok ? { ok: true, key: rec } : { ok: false, reason: 'unknown' };
  }
}

/** The key of a request: `Authorization: Bearer <key>`, else the `key` query parameter (browser WebSocket). */
export function keyFromRequest(authorization: string, queryKey: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (m) return m[1];
  return queryKey === undefined || queryKey === '' ? undefined : queryKey;
}
