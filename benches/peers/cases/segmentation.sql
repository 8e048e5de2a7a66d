-- The same segmentation, hand-written: label with CASE, group, share by window.
SELECT buyer, age_band, product_line, rows, volume, value,
       CAST(rows AS DOUBLE) / SUM(rows) OVER () AS share
FROM (
  SELECT
    CASE WHEN customer_type IN ('office', 'restaurant', 'cafe', 'hotel') THEN 'b2b' ELSE 'b2c' END AS buyer,
    CASE WHEN age IS NULL THEN NULL
         WHEN age < 18 THEN '< 18' WHEN age < 25 THEN '18-25' WHEN age < 35 THEN '25-35'
         WHEN age < 50 THEN '35-50' WHEN age < 65 THEN '50-65' ELSE '65+' END AS age_band,
    CASE WHEN product IN ('ground', 'beans') THEN 'roast & ground'
         WHEN product = 'capsules' THEN 'capsules'
         WHEN product = 'cold_brew' THEN 'cold brew' ELSE 'other' END AS product_line,
    COUNT(*) AS rows, SUM(kg) AS volume, SUM(revenue) AS value
  FROM coffee
  GROUP BY 1, 2, 3
) t
ORDER BY buyer, age_band, product_line
