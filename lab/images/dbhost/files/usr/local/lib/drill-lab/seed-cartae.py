#!/usr/bin/python3
"""Deterministic, realistic data for the lab's database host (part of the estate, not the suite).

PostgreSQL database ``cartae``: accounts, orders and invoices in schema ``app`` (with NULLs,
non-ASCII text, numerics, JSON and timestamps) and ``ops.drill_canary``, the table the drill's
canary rows go to. Redis: sessions, counters, a queue and a hash per account. Tables or keys that
exist already are left alone, so seeding is idempotent.

    seed-cartae.py                       # cartae's database and Redis: "seeded N new rows and keys"
    seed-cartae.py 254carbon --no-redis  # the same tables in another database, no Redis
"""

from __future__ import annotations

import random
import sys
import time

import psycopg2
import redis

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS app;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS app.accounts (
    id integer PRIMARY KEY, email text NOT NULL UNIQUE, display_name text, plan text NOT NULL,
    created_at timestamptz NOT NULL, settings jsonb);
CREATE TABLE IF NOT EXISTS app.orders (
    id bigint PRIMARY KEY, account_id integer NOT NULL REFERENCES app.accounts(id),
    amount numeric(12, 2) NOT NULL, currency char(3) NOT NULL, note text,
    placed_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS app.invoices (
    id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES app.orders(id),
    paid boolean NOT NULL, pdf bytea);
CREATE TABLE IF NOT EXISTS ops.drill_canary (
    token text PRIMARY KEY, planted_at timestamptz NOT NULL DEFAULT now());
"""
NAMES = ["Zoë Ångström", "José Núñez", "Małgorzata Wiśniewska", "李小龍", "O'Brien, Pat", None]


def connect_when_up(seconds: float = 90) -> psycopg2.extensions.connection:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return psycopg2.connect(dbname="postgres", user="postgres")
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def seed_postgres(rng: random.Random, database: str) -> int:
    admin = connect_when_up()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{database}"')
    admin.close()
    made = 0
    with psycopg2.connect(dbname=database, user="postgres") as conn, conn.cursor() as cur:
        cur.execute(SCHEMA)
        cur.execute("SELECT count(*) FROM app.accounts")
        if cur.fetchone()[0]:
            return 0
        for i in range(1, 1201):
            name = NAMES[i % len(NAMES)]
            cur.execute("INSERT INTO app.accounts VALUES (%s, %s, %s, %s, "
                        "'2024-01-01'::timestamptz + %s * interval '7 hours', %s)",
                        (i, f"user{i}@cartae.example", name and f"{name} #{i}",
                         rng.choice(["free", "team", "enterprise"]), i,
                         None if i % 5 == 0 else f'{{"theme": "dark", "seats": {i % 40}}}'))
        for i in range(1, 6001):
            cur.execute("INSERT INTO app.orders VALUES (%s, %s, %s, %s, %s, "
                        "'2024-02-01'::timestamptz + %s * interval '41 minutes')",
                        (i, rng.randrange(1, 1201), round(rng.uniform(1, 5000), 2),
                         rng.choice(["EUR", "USD", "GBP"]),
                         None if i % 3 else f"note {i}: «express» – {rng.random():.6f}", i))
        for i in range(1, 4001):
            cur.execute("INSERT INTO app.invoices VALUES (%s, %s, %s, %s)",
                        (i, i, i % 7 != 0, psycopg2.Binary(rng.randbytes(rng.randrange(0, 600)))))
        made = 1200 + 6000 + 4000
    return made


def seed_redis(rng: random.Random) -> int:
    client = redis.Redis()
    if client.dbsize():
        return 0
    pipe = client.pipeline(transaction=False)
    for i in range(1, 801):
        pipe.set(f"session:{i:05d}", rng.randbytes(24).hex())
        pipe.hset(f"account:{i}", mapping={"plan": rng.choice(["free", "team"]),
                                           "name": f"Zoë #{i}", "seats": i % 40})
    for i in range(200):
        pipe.incrby(f"counter:page:{i}", rng.randrange(1, 10_000))
    pipe.rpush("queue:emails", *[f"mail-{i}" for i in range(300)])
    pipe.sadd("set:features", "search", "export", "sso", "audit-log")
    pipe.execute()
    client.save()  # the estate's data exists on disk before its first backup
    return int(client.dbsize())


if __name__ == "__main__":
    args = sys.argv[1:]
    database = next((a for a in args if not a.startswith("--")), "cartae")
    generator = random.Random(4)
    made = seed_postgres(generator, database)
    if "--no-redis" not in args:
        made += seed_redis(generator)
    print(f"seeded {made} new rows and keys")
