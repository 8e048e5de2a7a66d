-- The same hierarchy, hand-written: GROUPING SETS for the subtotals, windows for shares.
WITH labelled AS (
  SELECT
    CASE WHEN customer_type IN ('office', 'restaurant', 'cafe', 'hotel') THEN 'b2b' ELSE 'b2c' END AS buyer,
    CASE WHEN product IN ('ground', 'beans') THEN 'roast & ground'
         WHEN product = 'capsules' THEN 'capsules'
         WHEN product = 'cold_brew' THEN 'cold brew' ELSE 'other' END AS product_line,
    CASE WHEN age IS NULL THEN NULL
         WHEN age < 18 THEN '< 18' WHEN age < 25 THEN '18-25' WHEN age < 35 THEN '25-35'
         WHEN age < 50 THEN '35-50' WHEN age < 65 THEN '50-65' ELSE '65+' END AS age_band,
    kg, revenue
  FROM coffee
), agg AS (
  SELECT buyer, product_line, age_band,
         3 - GROUPING(product_line) - GROUPING(age_band) AS level,
         COUNT(*) AS rows, SUM(kg) AS volume, SUM(revenue) AS value
  FROM labelled
  GROUP BY GROUPING SETS ((buyer), (buyer, product_line), (buyer, product_line, age_band))
)
SELECT buyer, product_line, age_band, level, rows, volume, value,
       CAST(rows AS DOUBLE) / SUM(rows) OVER (PARTITION BY level) AS share,
       CASE level
         WHEN 1 THEN CAST(rows AS DOUBLE) / SUM(rows) OVER (PARTITION BY level)
         WHEN 2 THEN CAST(rows AS DOUBLE) / SUM(rows) OVER (PARTITION BY level, buyer)
         ELSE CAST(rows AS DOUBLE) / SUM(rows) OVER (PARTITION BY level, buyer, product_line)
       END AS share_of_parent
FROM agg
ORDER BY buyer, product_line, age_band, level
