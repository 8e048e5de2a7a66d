-- A column as it is, 10,000 values: group by it, share by window.
SELECT shop, rows, value, value / SUM(value) OVER () AS share
FROM (
  SELECT customer_id AS shop, COUNT(*) AS rows, SUM(revenue) AS value
  FROM coffee WHERE customer_id <= 10000
  GROUP BY 1
) t
ORDER BY shop
