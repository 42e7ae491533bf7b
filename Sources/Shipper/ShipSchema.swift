/// The tables the shipper keeps in PostgreSQL: the log itself (`crmd_events`), how far it has
/// been shipped (`crmd_ship`), and the read models for BI, as views over the log (docs/bi.md).
///
/// Views rather than tables kept by the shipper: they can never disagree with the log, add
/// nothing to the shipping transaction (whose rate `make bench` measures against a bare COPY),
/// and BI tools read them like tables.
public enum ShipSchema {
    /// The statements that create everything, each safe to run again.
    public static let statements: [String] = [
        """
        CREATE TABLE IF NOT EXISTS crmd_events (
            position bigint PRIMARY KEY,
            stream text NOT NULL,
            version bigint NOT NULL,
            type text NOT NULL,
            schema int NOT NULL,
            recorded_at timestamptz NOT NULL,
            actor text NOT NULL,
            actor_uid bigint,
            request_id text,
            correlation_id text,
            causation_id text,
            data jsonb NOT NULL,
            payload bytea NOT NULL,
            prev_hash bytea NOT NULL,
            hash bytea NOT NULL,
            UNIQUE (stream, version)
        )
        """,
        "CREATE INDEX IF NOT EXISTS crmd_events_type ON crmd_events (type)",
        // The views look documents up by their id inside the payload.
        "CREATE INDEX IF NOT EXISTS crmd_events_invoice ON crmd_events ((data->>'invoiceId')) WHERE data ? 'invoiceId'",
        "CREATE INDEX IF NOT EXISTS crmd_events_customer ON crmd_events ((data->>'customerId'), type)",
        """
        CREATE TABLE IF NOT EXISTS crmd_ship (
            id int PRIMARY KEY CHECK (id = 1),
            position bigint NOT NULL,
            hash bytea NOT NULL,
            recorded_at timestamptz,
            shipped_at timestamptz NOT NULL
        )
        """,
        // The Jalali (Solar Hijri) year and month of a date: the arithmetic 33-year cycle, the
        // same as the front desk's and ICU's Persian calendar.
        """
        CREATE OR REPLACE FUNCTION crmd_jalali(d date) RETURNS int[] LANGUAGE sql IMMUTABLE AS $$
            WITH g AS (
                SELECT extract(year FROM d)::int AS gy, extract(month FROM d)::int AS gm, extract(day FROM d)::int AS gd
            ), days AS (
                SELECT 355666 + 365 * gy + ((CASE WHEN gm > 2 THEN gy + 1 ELSE gy END) + 3) / 4
                    - ((CASE WHEN gm > 2 THEN gy + 1 ELSE gy END) + 99) / 100
                    + ((CASE WHEN gm > 2 THEN gy + 1 ELSE gy END) + 399) / 400 + gd
                    + (ARRAY[0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334])[gm] AS n
                FROM g
            ), cycle AS (
                SELECT -1595 + 33 * (n / 12053) + 4 * ((n % 12053) / 1461) AS jy, (n % 12053) % 1461 AS r FROM days
            ), year AS (
                SELECT CASE WHEN r > 365 THEN jy + (r - 1) / 365 ELSE jy END AS jy,
                       CASE WHEN r > 365 THEN (r - 1) % 365 ELSE r END AS r
                FROM cycle
            )
            SELECT ARRAY[jy, CASE WHEN r < 186 THEN 1 + r / 31 ELSE 7 + (r - 186) / 30 END] FROM year
        $$
        """,
        // When a fact happened: its `at` (business time) where it has one, else when it was recorded.
        """
        CREATE OR REPLACE FUNCTION crmd_at(data jsonb, recorded_at timestamptz) RETURNS timestamptz
        LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce((data->>'at')::timestamptz, recorded_at) $$
        """,
        """
        CREATE OR REPLACE VIEW crmd_sales_lines AS
        SELECT e.data->>'documentId' AS invoice_id, e.data->>'customerId' AS customer_id, e.data->>'agentId' AS agent_id,
               (SELECT r.data->>'branchId' FROM crmd_events r
                 WHERE r.type = 'CustomerRegistered' AND r.data->>'customerId' = e.data->>'customerId' LIMIT 1) AS branch_id,
               line.ordinality AS line, line.value->>'productId' AS product_id,
               (line.value->>'quantity')::bigint AS quantity, (line.value->'unitPrice'->>'amount')::bigint AS unit_price,
               (line.value->>'quantity')::bigint * (line.value->'unitPrice'->>'amount')::bigint AS amount,
               coalesce(line.value->'unitPrice'->>'currency', e.data->>'currency') AS currency,
               (crmd_at(e.data, e.recorded_at) AT TIME ZONE 'Asia/Tehran')::date AS business_date,
               extract(year FROM crmd_at(e.data, e.recorded_at) AT TIME ZONE 'Asia/Tehran')::int AS year,
               extract(month FROM crmd_at(e.data, e.recorded_at) AT TIME ZONE 'Asia/Tehran')::int AS month,
               (crmd_jalali((crmd_at(e.data, e.recorded_at) AT TIME ZONE 'Asia/Tehran')::date))[1] AS persian_year,
               (crmd_jalali((crmd_at(e.data, e.recorded_at) AT TIME ZONE 'Asia/Tehran')::date))[2] AS persian_month,
               e.position
        FROM crmd_events e
        CROSS JOIN LATERAL jsonb_array_elements(e.data->'lines') WITH ORDINALITY AS line(value, ordinality)
        WHERE e.type = 'InvoiceIssued'
          AND NOT EXISTS (
              SELECT 1 FROM crmd_events v WHERE v.type = 'InvoiceVoided' AND v.data->>'invoiceId' = e.data->>'documentId')
        """,
        """
        CREATE OR REPLACE VIEW crmd_quotes AS
        SELECT q.data->>'quoteId' AS quote_id, q.data->>'customerId' AS customer_id, q.data->>'agentId' AS agent_id,
               q.data->>'channel' AS channel, (q.data->>'total')::bigint AS total,
               q.data->>'currency' AS currency, crmd_at(q.data, q.recorded_at) AS given_at,
               (SELECT min(crmd_at(i.data, i.recorded_at)) FROM crmd_events i
                 WHERE i.type = 'InvoiceIssued' AND i.data->>'customerId' = q.data->>'customerId'
                   AND crmd_at(i.data, i.recorded_at) >= crmd_at(q.data, q.recorded_at)) AS first_invoice_after,
               q.position
        FROM crmd_events q WHERE q.type = 'QuoteGiven'
        """,
        """
        CREATE OR REPLACE VIEW crmd_deal_stages AS
        SELECT s.deal_id, s.stage, s.entered_at,
               lead(s.entered_at) OVER (PARTITION BY s.deal_id ORDER BY s.position) AS left_at,
               extract(epoch FROM lead(s.entered_at) OVER (PARTITION BY s.deal_id ORDER BY s.position) - s.entered_at)
                   / 86400.0 AS days_in_stage,
               s.position
        FROM (
            SELECT e.data->>'dealId' AS deal_id,
                   CASE e.type WHEN 'DealOpened' THEN coalesce(e.data->>'stage', 'lead') WHEN 'DealMoved' THEN e.data->>'to'
                               WHEN 'DealWon' THEN 'won' ELSE 'lost' END AS stage,
                   crmd_at(e.data, e.recorded_at) AS entered_at, e.position
            FROM crmd_events e WHERE e.type IN ('DealOpened', 'DealMoved', 'DealWon', 'DealLost')
        ) s
        """,
        """
        CREATE OR REPLACE VIEW crmd_interactions_daily AS
        SELECT e.data->>'agentId' AS agent_id, (crmd_at(e.data, e.recorded_at) AT TIME ZONE 'Asia/Tehran')::date AS day,
               e.type AS kind, count(*) AS interactions
        FROM crmd_events e
        WHERE e.type IN ('CallLogged', 'MeetingLogged', 'EmailLogged', 'SmsLogged', 'NoteAdded', 'NegotiationLogged')
        GROUP BY 1, 2, 3
        """,
        """
        CREATE OR REPLACE VIEW crmd_receivables AS
        SELECT i.data->>'documentId' AS invoice_id, i.data->>'customerId' AS customer_id, i.data->>'agentId' AS agent_id,
               i.data->>'currency' AS currency, (i.data->>'dueAt')::timestamptz AS due_at, (i.data->>'total')::bigint AS total,
               coalesce((SELECT sum((p.data->'amount'->>'amount')::bigint) FROM crmd_events p
                          WHERE p.type = 'PaymentRecorded' AND p.data->>'invoiceId' = i.data->>'documentId'), 0) AS paid
        FROM crmd_events i
        WHERE i.type = 'InvoiceIssued'
          AND NOT EXISTS (
              SELECT 1 FROM crmd_events v WHERE v.type = 'InvoiceVoided' AND v.data->>'invoiceId' = i.data->>'documentId')
        """,
    ]
}
