import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A build tool or runtime the stack needs is missing or unusable. */
export class MissingToolError extends Error {
  readonly code = 'STACK_MISSING_TOOL';
  constructor(readonly tool: string, hint: string) {
    super(`${tool} is required but was not found: ${hint}`);
    this.name = 'MissingToolError';
  }
}

/** Parses the major version out of `java -version` output (`"17.0.15"` -> 17, `"1.8.0_392"` -> 8). */
export function parseJavaVersion(text: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

/** What `<java> -version` prints (it writes to stderr); '' when it does not run. */
function javaVersionText(javaBin: string): string {
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return r.error ? '' : `${r.stdout}${r.stderr}`;
}

const JVM_DIRS = ['/usr/lib/jvm', '/usr/lib64/jvm', '/usr/java', '/opt/java'];

/**
 * Finds a JDK 17 `java` binary: ADME_JAVA_HOME, then JAVA_HOME, then `java` on PATH, then the usual
 * system JVM folders. Cassandra 5.0 refuses newer JDKs (it installs a security manager), so 17 it is.
 */
export function findJava17(explicitHome: string | undefined): string {
  const candidates: string[] = [];
  if (explicitHome) candidates.push(join(explicitHome, 'bin', 'java'));
  if (process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  candidates.push('java');
  for (const base of JVM_DIRS) {
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base).sort()) {
      if (entry.includes('17')) candidates.push(join(base, entry, 'bin', 'java'));
    }
  }
  for (const bin of candidates) {
    if (bin !== 'java' && !existsSync(bin)) continue;
    if (parseJavaVersion(javaVersionText(bin)) === 17) return bin;
  }
  throw new MissingToolError('Java 17', 'install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless) or set ADME_JAVA_HOME to its home');
}

/** Throws MissingToolError unless `tool --version`-like probe runs. */
export function requireTool(tool: 'mvn' | 'go', hint: string): void {
  const args = tool === 'go' ? ['version'] : ['-v'];
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
  } catch {
    throw new MissingToolError(tool === 'mvn' ? 'Maven (mvn)' : 'Go (go)', hint);
  }
}
