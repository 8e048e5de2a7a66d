-- The same tiers, hand-written: spend per customer, ranked, joined back to the orders.
WITH customers AS (
  SELECT customer_id, SUM(revenue) AS spend
  FROM coffee WHERE customer_id IS NOT NULL GROUP BY customer_id
), ranked AS (
  SELECT customer_id, spend,
         RANK() OVER (ORDER BY spend) AS rk, COUNT(spend) OVER () AS n
  FROM customers
), tiered AS (
  SELECT customer_id,
         CASE WHEN spend IS NULL THEN NULL
              ELSE 'Q' || CAST(CAST(FLOOR((rk - 1) * 5.0 / n) AS BIGINT) + 1 AS VARCHAR) END AS spend_tier
  FROM ranked
)
SELECT spend_tier, rows, volume, value, CAST(rows AS DOUBLE) / SUM(rows) OVER () AS share
FROM (
  SELECT t.spend_tier, COUNT(*) AS rows, SUM(c.kg) AS volume, SUM(c.revenue) AS value
  FROM coffee c LEFT JOIN tiered t ON c.customer_id = t.customer_id
  GROUP BY t.spend_tier
) s
ORDER BY spend_tier
