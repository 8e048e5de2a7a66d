-- The venue grid, hand-written: the label domains crossed, then a full join with the counts.
WITH labelled AS (
  SELECT customer_type AS region_dim,
    CASE WHEN age IS NULL THEN NULL
         WHEN age < 18 THEN '< 18' WHEN age < 25 THEN '18-25' WHEN age < 35 THEN '25-35'
         WHEN age < 50 THEN '35-50' WHEN age < 65 THEN '50-65' ELSE '65+' END AS age_band,
    revenue
  FROM coffee
), agg AS (
  SELECT region_dim, age_band, COUNT(*) AS rows, SUM(revenue) AS value
  FROM labelled GROUP BY region_dim, age_band
), cells AS (
  SELECT r.region_dim, b.age_band
  FROM (SELECT DISTINCT customer_type AS region_dim FROM coffee WHERE customer_type IS NOT NULL) r
  CROSS JOIN (VALUES ('< 18'), ('18-25'), ('25-35'), ('35-50'), ('50-65'), ('65+')) AS b(age_band)
), full_grid AS (
  SELECT COALESCE(c.region_dim, a.region_dim) AS region_dim,
         COALESCE(c.age_band, a.age_band) AS age_band,
         COALESCE(a.rows, 0) AS rows, COALESCE(a.value, 0) AS value
  FROM cells c FULL JOIN agg a ON c.region_dim = a.region_dim AND c.age_band = a.age_band
)
SELECT region_dim AS venue, age_band, rows, value, value / SUM(value) OVER () AS share
FROM full_grid
ORDER BY region_dim, age_band
