/**
 * Migrations carry a store made by an older powerscreen forward with its rows: the tables 009 and
 * 010 rebuild without their primary keys keep every row and lose the index.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { listMigrations, openDb } from '../../src/store/db.js';

describe('migrations', () => {
  it('a store made before 009 and 010 keeps its rollups, day profiles and peer rows, without their indexes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ps-migrate-')), 'old.duckdb');
    const inst = await DuckDBInstance.create(file);
    const con = await inst.connect();
    await con.run(`create table schema_migrations (version integer primary key, name varchar not null, applied_at timestamp not null default current_timestamp)`);
    for (const m of listMigrations().filter((x) => x.version < 9)) {
      await con.run(m.sql);
      await con.run(`insert into schema_migrations (version, name) values ($v, $n)`, { v: m.version, n: m.name });
    }
    await con.run(`insert into meter_hourly values ('m1', timestamp '2026-09-01 10:00', 1.5, 60)`);
    await con.run(`insert into meter_daily values ('m1', date '2026-09-01', 20, 1440, 96)`);
    await con.run(`insert into peer_daily values ('m1', date '2026-09-01', 20, true, 1.2), ('m2', date '2026-09-01', null, false, null)`);
    await con.run(`insert into meter_day_profiles values ('k', 'm1', date '2026-09-01', 9740, 2, 1.2, 0.1, 0.2, 0.8, 2.0, 24)`);
    con.closeSync();
    inst.closeSync();

    const db = await openDb(file);
    try {
      const count = async (t: string) => Number((await db.con.runAndReadAll(`select count(*) from ${t}`)).getRows()[0]![0]);
      expect(await count('meter_hourly')).toBe(1);
      expect(await count('meter_daily')).toBe(1);
      expect(await count('peer_daily')).toBe(2);
      expect(await count('meter_day_profiles')).toBe(1);
      const keyed = (await db.con.runAndReadAll(`select distinct table_name from duckdb_constraints() where constraint_type = 'PRIMARY KEY' and table_name in ('meter_hourly', 'meter_daily', 'peer_daily', 'meter_day_profiles')`)).getRows();
      expect(keyed).toEqual([]);
      const applied = (await db.con.runAndReadAll(`select max(version) from schema_migrations`)).getRows()[0]![0];
      expect(Number(applied)).toBe(listMigrations().at(-1)!.version);
    } finally {
      db.close();
    }
  });
});
