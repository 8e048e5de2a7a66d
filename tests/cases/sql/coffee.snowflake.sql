-- segment coffee_by_product_line
WITH "product_line_labels" AS (
  SELECT
    CAST('roast & ground' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('capsules' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('cold brew' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('other' AS VARCHAR) AS "column1"
), "product_line_labels_2" AS (
  SELECT
    "column1" AS "__g0"
  FROM
    "product_line_labels"
), "coffee_rows" AS (
  SELECT
    "coffee"."order_id" AS "order_id",
    "coffee"."customer_id" AS "customer_id",
    "coffee"."customer_type" AS "customer_type",
    "coffee"."age" AS "age",
    "coffee"."region" AS "region",
    "coffee"."product" AS "product",
    "coffee"."channel" AS "channel",
    "coffee"."kg" AS "kg",
    "coffee"."revenue" AS "revenue",
    "coffee"."order_date" AS "order_date"
  FROM
    "coffee"
), "by_product_line" AS (
  SELECT
    "kg",
    "revenue",
    "customer_id",
    CASE
      WHEN "product" IN ('ground', 'beans') THEN
        'roast & ground'
      WHEN ("product" = 'capsules') THEN
        'capsules'
      WHEN ("product" = 'cold_brew') THEN
        'cold brew'
      ELSE
        'other'
    END AS "product_line"
  FROM
    "coffee_rows"
  WHERE
    ("revenue" > CAST(0 AS DOUBLE))
), "cells" AS (
  SELECT
    "product_line",
    count(1) AS "rows",
    sum(CAST("kg" AS DOUBLE)) AS "__a0",
    sum(CAST("revenue" AS DOUBLE)) AS "__a1",
    count(DISTINCT "customer_id") AS "__a2"
  FROM
    "by_product_line"
  GROUP BY
    "product_line"
), "all_cells" AS (
  SELECT
    coalesce("__g0", "product_line") AS "product_line",
    "rows" AS "rows",
    "__a0" AS "__a0",
    "__a1" AS "__a1",
    "__a2" AS "__a2"
  FROM
    "product_line_labels_2"
    FULL JOIN "cells" ON "__g0" = "product_line"
), "measures" AS (
  SELECT
    "product_line",
    coalesce("rows", 0) AS "rows",
    CAST(coalesce("__a0", 0.0) AS DOUBLE) AS "volume",
    CAST(coalesce("__a1", 0.0) AS DOUBLE) AS "value",
    CAST(coalesce("__a2", 0) AS BIGINT) AS "buyers",
    CAST(CASE WHEN (CAST(coalesce("__a0", 0.0) AS DOUBLE) = 0.0) THEN NULL ELSE (CAST(coalesce("__a1", 0.0) AS DOUBLE) / CAST(coalesce("__a0", 0.0) AS DOUBLE)) END AS DOUBLE) AS "price"
  FROM
    "all_cells"
)
SELECT
  "__out0" AS "product_line",
  "__out1" AS "rows",
  "__out2" AS "volume",
  "__out3" AS "value",
  "__out4" AS "buyers",
  "__out5" AS "price",
  "__out6" AS "share"
FROM
  (
    SELECT
      "product_line",
      "rows",
      "volume",
      "value",
      "buyers",
      "price",
      sum("rows") OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      CAST("product_line" AS VARCHAR) AS "__out0",
      "rows" AS "__out1",
      "volume" AS "__out2",
      "value" AS "__out3",
      "buyers" AS "__out4",
      "price" AS "__out5",
      CASE
        WHEN (CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE) / CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS "__out6",
      CASE
        WHEN ("product_line" = 'roast & ground') THEN
          0
        WHEN ("product_line" = 'capsules') THEN
          1
        WHEN ("product_line" = 'cold brew') THEN
          2
        WHEN ("product_line" = 'other') THEN
          3
        ELSE
          NULL
      END AS "__sk0"
    FROM
      "measures" ORDER BY "__sk0" ASC NULLS LAST, "product_line" ASC NULLS LAST
  ) AS __q8;

-- segment customers
WITH "coffee_rows" AS (
  SELECT
    "coffee"."order_id" AS "order_id",
    "coffee"."customer_id" AS "customer_id",
    "coffee"."customer_type" AS "customer_type",
    "coffee"."age" AS "age",
    "coffee"."region" AS "region",
    "coffee"."product" AS "product",
    "coffee"."channel" AS "channel",
    "coffee"."kg" AS "kg",
    "coffee"."revenue" AS "revenue",
    "coffee"."order_date" AS "order_date"
  FROM
    "coffee"
), "by_buyer" AS (
  SELECT
    "kg",
    "revenue",
    "customer_id",
    CASE
      WHEN "customer_type" IN ('office', 'restaurant', 'cafe', 'hotel') THEN
        'b2b'
      ELSE
        'b2c'
    END AS "buyer",
    "customer_type" AS "venue"
  FROM
    "coffee_rows"
  WHERE
    ("revenue" > CAST(0 AS DOUBLE))
), "by_buyer_2" AS (
  SELECT
    "kg",
    "revenue",
    "customer_id",
    "buyer" AS "buyer",
    "venue" AS "venue"
  FROM
    "by_buyer"
), "cells" AS (
  SELECT
    "buyer",
    "venue",
    (2 - (0 + CAST(grouping("venue") AS BIGINT))) AS "__level",
    coalesce(count(1), 0) AS "rows",
    CAST(coalesce(sum(CAST("kg" AS DOUBLE)), 0.0) AS DOUBLE) AS "volume",
    CAST(coalesce(sum(CAST("revenue" AS DOUBLE)), 0.0) AS DOUBLE) AS "value",
    CAST(coalesce(count(DISTINCT "customer_id"), 0) AS BIGINT) AS "buyers",
    CAST(CASE WHEN (CAST(coalesce(sum(CAST("kg" AS DOUBLE)), 0.0) AS DOUBLE) = 0.0) THEN NULL ELSE (CAST(coalesce(sum(CAST("revenue" AS DOUBLE)), 0.0) AS DOUBLE) / CAST(coalesce(sum(CAST("kg" AS DOUBLE)), 0.0) AS DOUBLE)) END AS DOUBLE) AS "price"
  FROM
    "by_buyer_2"
  GROUP BY
    GROUPING SETS (("buyer"), ("buyer", "venue"))
)
SELECT
  "__out0" AS "buyer",
  "__out1" AS "venue",
  "__out2" AS "level",
  "__out3" AS "rows",
  "__out4" AS "volume",
  "__out5" AS "value",
  "__out6" AS "buyers",
  "__out7" AS "price",
  "__out8" AS "share",
  "__out9" AS "share_of_parent"
FROM
  (
    SELECT
      "buyer",
      "venue",
      "__level",
      "rows",
      "volume",
      "value",
      "buyers",
      "price",
      sum("rows") OVER (
        PARTITION BY "__level"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      sum("rows") OVER (
        PARTITION BY "__level", "buyer"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__par2",
      CAST("buyer" AS VARCHAR) AS "__out0",
      CAST("venue" AS VARCHAR) AS "__out1",
      "__level" AS "__out2",
      "rows" AS "__out3",
      "volume" AS "__out4",
      "value" AS "__out5",
      "buyers" AS "__out6",
      "price" AS "__out7",
      CASE
        WHEN (CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE) / CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS "__out8",
      CASE
        WHEN ("__level" = 1) THEN
          CASE
            WHEN (CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
              NULL
            ELSE
              (CAST("rows" AS DOUBLE) / CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
          END
        WHEN ("__level" = 2) THEN
          CASE
            WHEN (CAST(sum("rows") OVER (PARTITION BY "__level", "buyer" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
              NULL
            ELSE
              (CAST("rows" AS DOUBLE) / CAST(sum("rows") OVER (PARTITION BY "__level", "buyer" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
          END
        ELSE
          NULL
      END AS "__out9",
      CASE
        WHEN ("buyer" = 'b2b') THEN
          0
        WHEN ("buyer" = 'b2c') THEN
          1
        ELSE
          NULL
      END AS "__sk0",
      CASE
        WHEN ("__level" <= 1) THEN
          0
        ELSE
          1
      END AS "__sk2"
    FROM
      "cells" ORDER BY "__sk0" ASC NULLS LAST, "buyer" ASC NULLS LAST, "__sk2" ASC NULLS FIRST, "venue" ASC NULLS LAST
  ) AS __q5;

-- segment age_grid
WITH "product_line_labels" AS (
  SELECT
    CAST('roast & ground' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('capsules' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('cold brew' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('other' AS VARCHAR) AS "column1"
), "product_line_labels_2" AS (
  SELECT
    "column1" AS "__g0"
  FROM
    "product_line_labels"
), "age_band_labels" AS (
  SELECT
    CAST('< 18' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('18-25' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('25-35' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('35-50' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('50-65' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('65+' AS VARCHAR) AS "column1"
), "age_band_labels_2" AS (
  SELECT
    "column1" AS "__g4"
  FROM
    "age_band_labels"
), "coffee_rows" AS (
  SELECT
    "coffee"."order_id" AS "order_id",
    "coffee"."customer_id" AS "customer_id",
    "coffee"."customer_type" AS "customer_type",
    "coffee"."age" AS "age",
    "coffee"."region" AS "region",
    "coffee"."product" AS "product",
    "coffee"."channel" AS "channel",
    "coffee"."kg" AS "kg",
    "coffee"."revenue" AS "revenue",
    "coffee"."order_date" AS "order_date"
  FROM
    "coffee"
), "by_product_line_age_band" AS (
  SELECT
    "kg",
    "revenue",
    "customer_id",
    CASE
      WHEN "product" IN ('ground', 'beans') THEN
        'roast & ground'
      WHEN ("product" = 'capsules') THEN
        'capsules'
      WHEN ("product" = 'cold_brew') THEN
        'cold brew'
      ELSE
        'other'
    END AS "product_line",
    CASE
      WHEN "age" IS NULL THEN
        NULL
      WHEN ("age" < 18) THEN
        '< 18'
      WHEN ("age" < 25) THEN
        '18-25'
      WHEN ("age" < 35) THEN
        '25-35'
      WHEN ("age" < 50) THEN
        '35-50'
      WHEN ("age" < 65) THEN
        '50-65'
      ELSE
        '65+'
    END AS "age_band"
  FROM
    "coffee_rows"
  WHERE
    ("revenue" > CAST(0 AS DOUBLE))
), "cells" AS (
  SELECT
    "product_line",
    "age_band",
    count(1) AS "rows",
    sum(CAST("kg" AS DOUBLE)) AS "__a0",
    sum(CAST("revenue" AS DOUBLE)) AS "__a1",
    count(DISTINCT "customer_id") AS "__a2"
  FROM
    "by_product_line_age_band"
  GROUP BY
    "product_line", "age_band"
), "all_cells" AS (
  SELECT
    coalesce("__g0", "product_line") AS "product_line",
    coalesce("__g4", "age_band") AS "age_band",
    "rows" AS "rows",
    "__a0" AS "__a0",
    "__a1" AS "__a1",
    "__a2" AS "__a2"
  FROM
    "product_line_labels_2"
    CROSS JOIN "age_band_labels_2"
    FULL JOIN "cells" ON "__g0" = "product_line" AND "__g4" = "age_band"
), "measures" AS (
  SELECT
    "product_line",
    "age_band",
    coalesce("rows", 0) AS "rows",
    CAST(coalesce("__a0", 0.0) AS DOUBLE) AS "volume",
    CAST(coalesce("__a1", 0.0) AS DOUBLE) AS "value",
    CAST(coalesce("__a2", 0) AS BIGINT) AS "buyers",
    CAST(CASE WHEN (CAST(coalesce("__a0", 0.0) AS DOUBLE) = 0.0) THEN NULL ELSE (CAST(coalesce("__a1", 0.0) AS DOUBLE) / CAST(coalesce("__a0", 0.0) AS DOUBLE)) END AS DOUBLE) AS "price"
  FROM
    "all_cells"
)
SELECT
  "__out0" AS "product_line",
  "__out1" AS "age_band",
  "__out2" AS "rows",
  "__out3" AS "volume",
  "__out4" AS "value",
  "__out5" AS "buyers",
  "__out6" AS "price",
  "__out7" AS "share"
FROM
  (
    SELECT
      "product_line",
      "age_band",
      "rows",
      "volume",
      "value",
      "buyers",
      "price",
      sum("rows") OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      CAST("product_line" AS VARCHAR) AS "__out0",
      CAST("age_band" AS VARCHAR) AS "__out1",
      "rows" AS "__out2",
      "volume" AS "__out3",
      "value" AS "__out4",
      "buyers" AS "__out5",
      "price" AS "__out6",
      CASE
        WHEN (CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE) / CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS "__out7",
      CASE
        WHEN ("product_line" = 'roast & ground') THEN
          0
        WHEN ("product_line" = 'capsules') THEN
          1
        WHEN ("product_line" = 'cold brew') THEN
          2
        WHEN ("product_line" = 'other') THEN
          3
        ELSE
          NULL
      END AS "__sk0",
      CASE
        WHEN ("age_band" = '< 18') THEN
          0
        WHEN ("age_band" = '18-25') THEN
          1
        WHEN ("age_band" = '25-35') THEN
          2
        WHEN ("age_band" = '35-50') THEN
          3
        WHEN ("age_band" = '50-65') THEN
          4
        WHEN ("age_band" = '65+') THEN
          5
        ELSE
          NULL
      END AS "__sk2"
    FROM
      "measures" ORDER BY "__sk0" ASC NULLS LAST, "product_line" ASC NULLS LAST, "__sk2" ASC NULLS LAST, "age_band" ASC NULLS LAST
  ) AS __q10;

-- segment mix
WITH "buyer_labels" AS (
  SELECT
    CAST('b2b' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('b2c' AS VARCHAR) AS "column1"
), "buyer_labels_2" AS (
  SELECT
    "column1" AS "__g1"
  FROM
    "buyer_labels"
), "coffee_rows" AS (
  SELECT
    "coffee"."order_id" AS "order_id",
    "coffee"."customer_id" AS "customer_id",
    "coffee"."customer_type" AS "customer_type",
    "coffee"."age" AS "age",
    "coffee"."region" AS "region",
    "coffee"."product" AS "product",
    "coffee"."channel" AS "channel",
    "coffee"."kg" AS "kg",
    "coffee"."revenue" AS "revenue",
    "coffee"."order_date" AS "order_date"
  FROM
    "coffee"
), "by_buyer" AS (
  SELECT
    "revenue",
    "kg",
    CASE
      WHEN "customer_type" IN ('office', 'restaurant', 'cafe', 'hotel') THEN
        'b2b'
      ELSE
        'b2c'
    END AS "buyer"
  FROM
    "coffee_rows"
  WHERE
    ("revenue" > CAST(0 AS DOUBLE))
), "cells" AS (
  SELECT
    "buyer",
    count(1) AS "rows",
    sum(CAST("revenue" AS DOUBLE)) AS "__a0",
    sum(CAST("kg" AS DOUBLE)) AS "__a1"
  FROM
    "by_buyer"
  GROUP BY
    "buyer"
), "all_cells" AS (
  SELECT
    coalesce("__g1", "buyer") AS "buyer",
    "rows" AS "rows",
    "__a0" AS "__a0",
    "__a1" AS "__a1"
  FROM
    "buyer_labels_2"
    FULL JOIN "cells" ON "__g1" = "buyer"
), "measures" AS (
  SELECT
    "buyer",
    coalesce("rows", 0) AS "rows",
    CAST(coalesce("__a0", 0.0) AS DOUBLE) AS "value",
    CAST(coalesce("__a1", 0.0) AS DOUBLE) AS "volume"
  FROM
    "all_cells"
)
SELECT
  "__out0" AS "buyer",
  "__out1" AS "rows",
  "__out2" AS "value",
  "__out3" AS "volume",
  "__out4" AS "share"
FROM
  (
    SELECT
      "buyer",
      "rows",
      "value",
      "volume",
      sum("value") OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      CAST("buyer" AS VARCHAR) AS "__out0",
      "rows" AS "__out1",
      "value" AS "__out2",
      "volume" AS "__out3",
      CASE
        WHEN (CAST(sum("value") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST("value" AS DOUBLE) / CAST(sum("value") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS "__out4",
      CASE
        WHEN ("buyer" = 'b2b') THEN
          0
        WHEN ("buyer" = 'b2c') THEN
          1
        ELSE
          NULL
      END AS "__sk0"
    FROM
      "measures" ORDER BY "__sk0" ASC NULLS LAST, "buyer" ASC NULLS LAST
  ) AS __q8;

-- segment venues
WITH "venue_group_labels" AS (
  SELECT
    CAST('business' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('consumer' AS VARCHAR) AS "column1"
), "venue_group_labels_2" AS (
  SELECT
    "column1" AS "__g3"
  FROM
    "venue_group_labels"
), "coffee_rows" AS (
  SELECT
    "coffee"."order_id" AS "order_id",
    "coffee"."customer_id" AS "customer_id",
    "coffee"."customer_type" AS "customer_type",
    "coffee"."age" AS "age",
    "coffee"."region" AS "region",
    "coffee"."product" AS "product",
    "coffee"."channel" AS "channel",
    "coffee"."kg" AS "kg",
    "coffee"."revenue" AS "revenue",
    "coffee"."order_date" AS "order_date"
  FROM
    "coffee"
), "by_venue_group" AS (
  SELECT
    "kg",
    "revenue",
    "customer_id",
    CASE
      WHEN "customer_type" IN ('office', 'restaurant', 'cafe', 'hotel') THEN
        'business'
      WHEN "customer_type" IN ('household', 'student') THEN
        'consumer'
      ELSE
        NULL
    END AS "venue_group"
  FROM
    "coffee_rows"
  WHERE
    ("revenue" > CAST(0 AS DOUBLE))
), "cells" AS (
  SELECT
    "venue_group",
    count(1) AS "rows",
    sum(CAST("kg" AS DOUBLE)) AS "__a0",
    sum(CAST("revenue" AS DOUBLE)) AS "__a1",
    count(DISTINCT "customer_id") AS "__a2"
  FROM
    "by_venue_group"
  GROUP BY
    "venue_group"
), "all_cells" AS (
  SELECT
    coalesce("__g3", "venue_group") AS "venue_group",
    "rows" AS "rows",
    "__a0" AS "__a0",
    "__a1" AS "__a1",
    "__a2" AS "__a2"
  FROM
    "venue_group_labels_2"
    FULL JOIN "cells" ON "__g3" = "venue_group"
), "measures" AS (
  SELECT
    "venue_group",
    coalesce("rows", 0) AS "rows",
    CAST(coalesce("__a0", 0.0) AS DOUBLE) AS "volume",
    CAST(coalesce("__a1", 0.0) AS DOUBLE) AS "value",
    CAST(coalesce("__a2", 0) AS BIGINT) AS "buyers",
    CAST(CASE WHEN (CAST(coalesce("__a0", 0.0) AS DOUBLE) = 0.0) THEN NULL ELSE (CAST(coalesce("__a1", 0.0) AS DOUBLE) / CAST(coalesce("__a0", 0.0) AS DOUBLE)) END AS DOUBLE) AS "price"
  FROM
    "all_cells"
)
SELECT
  "__out0" AS "venue_group",
  "__out1" AS "rows",
  "__out2" AS "volume",
  "__out3" AS "value",
  "__out4" AS "buyers",
  "__out5" AS "price",
  "__out6" AS "share"
FROM
  (
    SELECT
      "venue_group",
      "rows",
      "volume",
      "value",
      "buyers",
      "price",
      sum("rows") OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      CAST("venue_group" AS VARCHAR) AS "__out0",
      "rows" AS "__out1",
      "volume" AS "__out2",
      "value" AS "__out3",
      "buyers" AS "__out4",
      "price" AS "__out5",
      CASE
        WHEN (CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE) / CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS "__out6",
      CASE
        WHEN ("venue_group" = 'business') THEN
          0
        WHEN ("venue_group" = 'consumer') THEN
          1
        ELSE
          NULL
      END AS "__sk0"
    FROM
      "measures" ORDER BY "__sk0" ASC NULLS LAST, "venue_group" ASC NULLS LAST
  ) AS __q8;

