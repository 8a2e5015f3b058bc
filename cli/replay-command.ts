import type { Command } from './args.js';
import { stackUp } from './stack-commands.js';

/** A one-line progress bar with an ETA. */
export function progressLine(done: number, total: number, elapsedMs: number, what: string): string {
  const f = total === 0 ? 1 : done / total;
  const bar = '#'.repeat(Math.round(f * 20)).padEnd(20, '.');
  const eta = done === 0 || f >= 1 ? '' : `, ETA ${Math.ceil(((elapsedMs / done) * (total - done)) / 1000)} s`;
  return `[${bar}] ${Math.floor(f * 100)}% ${done}/${total}, ${what}${eta}`;
}

export const REPLAY_COMMAND: Command = {
  path: ['replay'],
  summary: 'Re-aggregate the archived raw events of a time range into a fresh database, with the shard\'s own fold: its rollups equal the live ones.',
  options: { from: { type: 'string' }, to: { type: 'string' }, keyspace: { type: 'string' }, db: { type: 'string' }, replace: { type: 'boolean' }, 'no-stack': { type: 'boolean' } },
  optionHelp: [
    ['--from <time>', 'start of the range, epoch ms or ISO 8601 (widened to a whole window)'],
    ['--to <time>', 'end of the range, exclusive (widened to a whole window)'],
    ['--keyspace <name>', 'Cassandra keyspace holding the archive (ADME_KEYSPACE, default adme)'],
    ['--db <name>', 'MongoDB database the replay writes its rollups to (default adme_replay_<from>); must hold no rollups'],
    ['--replace', 'drop the rollups already in --db first'],
    ['--no-stack', 'do not start the local stack first (servers already up or external)'],
  ],
  run: async (ctx) => {
    const { timeFlag, UsageError } = await import('./args.js');
    const { loadRuntimeConfig } = await import('../actors/runtime-config.js');
    const { replayArchive } = await import('../actors/replay.js');
    const { CassandraArchiveStore, MongoDocStore } = await import('../runtime/index.js');
    const { ROLLUPS_COLLECTION } = await import('../actors/model/index.js');
    const from = timeFlag('from', ctx.values.from);
    const to = timeFlag('to', ctx.values.to);
    if (from >= to) throw new UsageError(`--from must be before --to (${new Date(from).toISOString()} ≥ ${new Date(to).toISOString()})`, '');
    const env = { ...process.env, ...(typeof ctx.values.keyspace === 'string' ? { ADME_KEYSPACE: ctx.values.keyspace } : {}) };
    const db = typeof ctx.values.db === 'string' ? ctx.values.db : `adme_replay_${new Date(from).toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(db)) throw new UsageError(`--db "${db}" must match [A-Za-z0-9_-]{1,63}`, '');
    const { loadStackConfig } = await import('../stack/index.js');
    const stack = ctx.values['no-stack'] === true ? loadStackConfig(ctx.projectDir) : await stackUp(ctx);
    const c = loadRuntimeConfig({ brokers: stack.kafka.brokers, contactPoints: stack.cassandra.contactPoints, localDc: stack.cassandra.localDc, mongoUrl: stack.mongo.url }, env);
    if (db === c.mongo.database) throw new UsageError(`--db ${db} is the live database: the replay writes to a fresh one`, '');
    const archive = await CassandraArchiveStore.open({
      contactPoints: c.cassandra.contactPoints, localDataCenter: c.cassandra.localDc, keyspace: c.cassandra.keyspace, consistency: c.replication.consistency, ttlSeconds: 0, create: false,
    });
    const docs = await MongoDocStore.open(c.mongo.url, db);
    try {
      const rollups = docs.database.collection(ROLLUPS_COLLECTION);
      if (ctx.values.replace === true) await rollups.drop().catch(() => undefined);
      else if (await rollups.findOne({})) throw new UsageError(`database ${db} already holds rollups: pass another --db, or --replace`, '');
      ctx.progress(`replay: ${new Date(from).toISOString()} → ${new Date(to).toISOString()} from keyspace ${c.cassandra.keyspace} into database ${db}`);
      const t0 = Date.now();
      let last = 0;
      const r = await replayArchive({
        archive, docs, from, to,
        aggregation: { precision: c.precision, windowMs: c.windowMs, allowedLatenessMs: c.allowedLatenessMs, maxSegmentsPerCell: c.maxSegmentsPerCell },
        progress: (p) => {
          if (Date.now() - last < 1000 && p.done < p.total) return;
          last = Date.now();
          ctx.progress(`replay: ${progressLine(p.done, p.total, Date.now() - t0, `${p.events} events from ${p.blocks} blocks`)}`);
        },
      });
      const rate = r.ms > 0 ? Math.round((r.events / r.ms) * 1000) : 0;
      ctx.progress(`replay: done in ${(r.ms / 1000).toFixed(1)} s: ${r.events} events (${rate}/s), ${r.late} late ones left out as live did, ${r.finals} final blocks in ${db}.${ROLLUPS_COLLECTION}`);
      return 0;
    } finally {
      await Promise.allSettled([archive.close(), docs.close()]);
    }
  },
};
