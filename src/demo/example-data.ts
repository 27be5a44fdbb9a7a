/** The demo's tables: a source schema `snapshot` and two targets whose tables differ a little. */

export const TRAFFIC_ROWS = 1_000_000;

export const SOURCE_SQL = `
CREATE SCHEMA snapshot;
CREATE TYPE snapshot.sky AS ENUM ('clear', 'cloudy', 'rain', 'snow');
CREATE TABLE snapshot.example_table (
  id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2), tags text[], created_at timestamptz DEFAULT now()
);
INSERT INTO snapshot.example_table
  SELECT g, 'example ' || g, g * 3.25, ARRAY['a' || g % 7, 'b'], '2026-01-01'::timestamptz + g * interval '1 hour'
  FROM generate_series(1, 5000) g;
CREATE TABLE snapshot.traffic (
  id bigint PRIMARY KEY, sensor_id int NOT NULL, observed_at timestamptz NOT NULL, vehicles int, avg_speed float8, lane text
);
INSERT INTO snapshot.traffic
  SELECT g, g % 500, '2026-01-01'::timestamptz + g * interval '1 second', (g * 7) % 120, ((g * 13) % 1000) / 10.0, 'lane ' || g % 4
  FROM generate_series(1, ${TRAFFIC_ROWS}) g;
CREATE TABLE snapshot.customer (
  id int PRIMARY KEY, email text NOT NULL, full_name text, country char(2), credit_limit int4, internal_note text
);
INSERT INTO snapshot.customer
  SELECT g, 'customer' || g || '@example.com', 'Customer ' || g, (ARRAY['AU','NZ','SG','JP'])[1 + g % 4], g * 10, 'secret note'
  FROM generate_series(1, 20000) g;
CREATE TABLE snapshot.orders (
  id int PRIMARY KEY, customer_id int NOT NULL, ordered_at timestamptz NOT NULL, total numeric(12,2), status text
);
INSERT INTO snapshot.orders
  SELECT g, 1 + g % 20000, '2026-02-01'::timestamptz + g * interval '1 minute', (g % 997) * 1.1, (ARRAY['new','paid','shipped'])[1 + g % 3]
  FROM generate_series(1, 100000) g;
CREATE TABLE snapshot.weather (
  station text, observed_on date, temp_c numeric(4,1), sky snapshot.sky, PRIMARY KEY (station, observed_on)
);
INSERT INTO snapshot.weather
  SELECT 'station ' || s, '2026-01-01'::date + d, (s * 3 + d) % 40 - 5, (ARRAY['clear','cloudy','rain','snow']::snapshot.sky[])[1 + (s + d) % 4]
  FROM generate_series(1, 20) s, generate_series(0, 364) d;
ANALYZE;
`;

/** Target 1: example_table without the tags column; traffic with an extra column left to its default. */
export const TARGET1_SQL = `
CREATE TABLE public.example_table (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2), created_at timestamptz);
CREATE TABLE public.traffic (
  id bigint PRIMARY KEY, sensor_id int NOT NULL, observed_at timestamptz NOT NULL, vehicles int, avg_speed float8, lane text,
  loaded_at timestamptz DEFAULT now()
);
`;

/** Target 2: customer with a wider credit_limit (int4 -> int8, text format) and no internal_note. */
export const TARGET2_SQL = `
CREATE TYPE public.sky AS ENUM ('clear', 'cloudy', 'rain', 'snow');
CREATE TABLE public.example_table (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2), tags text[], created_at timestamptz);
CREATE TABLE public.customer (id int PRIMARY KEY, email text NOT NULL, full_name text, country char(2), credit_limit int8);
CREATE TABLE public.orders (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id int NOT NULL, ordered_at timestamptz NOT NULL, total numeric(12,2), status text
);
CREATE TABLE public.weather (
  station text, observed_on date, temp_c numeric(4,1), sky public.sky, temp_f numeric GENERATED ALWAYS AS (temp_c * 9 / 5 + 32) STORED,
  PRIMARY KEY (station, observed_on)
);
`;

export function demoConfigYaml(ports: {
  source: number;
  target1: number;
  target2: number;
}): string {
  return `# pgcopy demo configuration (written by npm run demo)
source:
  url: postgres://postgres:\${DEMO_SOURCE_PASSWORD}@127.0.0.1:${ports.source}/postgres?sslmode=disable
  schema: snapshot
targets:
  - name: db_1
    url: postgres://postgres:\${DEMO_TARGET1_PASSWORD}@127.0.0.1:${ports.target1}/postgres?sslmode=disable
    tables: [example_table, traffic]
  - name: db_2
    url: postgres://postgres:\${DEMO_TARGET2_PASSWORD}@127.0.0.1:${ports.target2}/postgres?sslmode=disable
    tables:
      - example_table
      - customer
      - orders
      - name: weather
        mode: upsert
options:
  mode: append
  concurrency: 4
  logDir: log
`;
}
