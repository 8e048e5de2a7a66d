-- Segments per month, hand-written: a month label, group, share within the month,
-- and the change from the month before by LAG.
WITH cells AS (
  SELECT
    CAST(EXTRACT(year FROM order_date) AS VARCHAR) || '-' ||
      LPAD(CAST(EXTRACT(month FROM order_date) AS VARCHAR), 2, '0') AS period,
    CASE WHEN customer_type IN ('office', 'restaurant', 'cafe', 'hotel') THEN 'b2b' ELSE 'b2c' END AS buyer_m,
    COUNT(*) AS rows, SUM(kg) AS volume, SUM(revenue) AS value
  FROM coffee
  GROUP BY 1, 2
), shared AS (
  SELECT period, buyer_m, rows, volume, value,
         CAST(rows AS DOUBLE) / SUM(rows) OVER (PARTITION BY period) AS share
  FROM cells
)
SELECT period, buyer_m, rows, volume, value, share,
       CAST(rows AS DOUBLE) / LAG(rows) OVER (PARTITION BY buyer_m ORDER BY period) - 1 AS growth,
       share - LAG(share) OVER (PARTITION BY buyer_m ORDER BY period) AS share_change
FROM shared
ORDER BY period, buyer_m
