import asyncio

import asyncpg

from shared.db import apply_migrations, create_pool


def write(dir_, name, sql):
    (dir_ / name).write_text(sql)


async def test_migrations_apply_once_and_are_idempotent(database_url, tmp_path):
    write(tmp_path, "001_fills.sql", "CREATE TABLE fills (id text PRIMARY KEY, qty numeric NOT NULL);")
    write(tmp_path, "002_index.sql", "CREATE INDEX fills_qty ON fills (qty);")
    pool = await create_pool(database_url, schema="mig_a")
    try:
        assert await apply_migrations(pool, "mig_a", tmp_path) == [1, 2]
        assert await apply_migrations(pool, "mig_a", tmp_path) == []
        await pool.execute("INSERT INTO fills VALUES ('x', 1.10)")
        assert str(await pool.fetchval("SELECT qty FROM fills")) == "1.10"
    finally:
        await pool.close()


async def test_concurrent_starts_do_not_race(database_url, tmp_path):
    write(tmp_path, "001_t.sql", "CREATE TABLE t (id int PRIMARY KEY); SELECT pg_sleep(0.2);")
    pools = [await create_pool(database_url, schema="mig_b") for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(p, "mig_b", tmp_path) for p in pools))
        assert sorted(results) == [[], [], [], [1]]
        conn = await asyncpg.connect(database_url)
        assert await conn.fetchval("SELECT count(*) FROM mig_b.schema_migrations") == 1
        await conn.close()
    finally:
        for p in pools:
            await p.close()


async def test_a_failing_migration_changes_nothing(database_url, tmp_path):
    write(tmp_path, "001_ok.sql", "CREATE TABLE ok (id int);")
    write(tmp_path, "002_bad.sql", "CREATE TABLE broken (id nosuchtype);")
    pool = await create_pool(database_url, schema="mig_c")
    try:
        try:
            await apply_migrations(pool, "mig_c", tmp_path)
        except Exception as exc:
            assert "002_bad" in str(exc)
        else:
            raise AssertionError("bad migration applied")
        exists = await pool.fetchval("SELECT to_regclass('mig_c.ok')")
        assert exists is None
    finally:
        await pool.close()
