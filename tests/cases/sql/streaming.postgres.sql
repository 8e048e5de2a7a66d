-- segment audiences
WITH "generation_labels" AS (
  SELECT
    CAST('teens' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('gen z' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('millennials' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('gen x' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('boomers' AS VARCHAR) AS "column1"
), "generation_labels_2" AS (
  SELECT
    "column1" AS "__g0"
  FROM
    "generation_labels"
), "tier_labels" AS (
  SELECT
    CAST('ad-supported' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('paid' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('premium' AS VARCHAR) AS "column1"
), "tier_labels_2" AS (
  SELECT
    "column1" AS "__g1"
  FROM
    "tier_labels"
), "profiles_rows" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows"
), "viewing_rows" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_2"
    RIGHT OUTER JOIN "viewing_rows" ON "profiles.viewer_id" = "viewer_id"
), "by_generation_tier" AS (
  SELECT
    "hours",
    "viewer_id",
    CASE
      WHEN "viewer_age" IS NULL THEN
        NULL
      WHEN ("viewer_age" < 18) THEN
        'teens'
      WHEN ("viewer_age" < 28) THEN
        'gen z'
      WHEN ("viewer_age" < 44) THEN
        'millennials'
      WHEN ("viewer_age" < 60) THEN
        'gen x'
      ELSE
        'boomers'
    END AS "generation",
    CASE
      WHEN ("plan" = 'free') THEN
        'ad-supported'
      WHEN "plan" IN ('basic', 'standard') THEN
        'paid'
      WHEN ("plan" = 'premium') THEN
        'premium'
      ELSE
        NULL
    END AS "tier"
  FROM
    "joined"
), "cells" AS (
  SELECT
    "generation",
    "tier",
    count(1) AS "rows",
    sum(CAST("hours" AS DOUBLE PRECISION)) AS "__a0",
    count(DISTINCT "viewer_id") AS "__a1"
  FROM
    "by_generation_tier"
  GROUP BY
    "generation", "tier"
), "all_cells" AS (
  SELECT
    coalesce("__g0", "generation") AS "generation",
    coalesce("__g1", "tier") AS "tier",
    "rows" AS "rows",
    "__a0" AS "__a0",
    "__a1" AS "__a1"
  FROM
    "generation_labels_2"
    CROSS JOIN "tier_labels_2"
    FULL JOIN "cells" ON "__g0" = "generation" AND "__g1" = "tier"
), "measures" AS (
  SELECT
    "generation",
    "tier",
    coalesce("rows", 0) AS "rows",
    CAST(coalesce("__a0", 0.0) AS DOUBLE PRECISION) AS "watch_hours",
    CAST(coalesce("__a1", 0) AS BIGINT) AS "viewers",
    CAST(CASE WHEN (CAST(coalesce("__a1", 0) AS DOUBLE PRECISION) = 0.0) THEN NULL ELSE (CAST(coalesce("__a0", 0.0) AS DOUBLE PRECISION) / CAST(coalesce("__a1", 0) AS DOUBLE PRECISION)) END AS DOUBLE PRECISION) AS "per_viewer"
  FROM
    "all_cells"
)
SELECT
  "__out0" AS "generation",
  "__out1" AS "tier",
  "__out2" AS "rows",
  "__out3" AS "watch_hours",
  "__out4" AS "viewers",
  "__out5" AS "per_viewer",
  "__out6" AS "share"
FROM
  (
    SELECT
      "generation",
      "tier",
      "rows",
      "watch_hours",
      "viewers",
      "per_viewer",
      sum("rows") OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      CAST("generation" AS VARCHAR) AS "__out0",
      CAST("tier" AS VARCHAR) AS "__out1",
      "rows" AS "__out2",
      "watch_hours" AS "__out3",
      "viewers" AS "__out4",
      "per_viewer" AS "__out5",
      CASE
        WHEN (CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
      END AS "__out6",
      CASE
        WHEN ("generation" = 'teens') THEN
          0
        WHEN ("generation" = 'gen z') THEN
          1
        WHEN ("generation" = 'millennials') THEN
          2
        WHEN ("generation" = 'gen x') THEN
          3
        WHEN ("generation" = 'boomers') THEN
          4
        ELSE
          NULL
      END AS "__sk0",
      CASE
        WHEN ("tier" = 'ad-supported') THEN
          0
        WHEN ("tier" = 'paid') THEN
          1
        WHEN ("tier" = 'premium') THEN
          2
        ELSE
          NULL
      END AS "__sk2"
    FROM
      "measures" ORDER BY "__sk0" ASC NULLS LAST, "generation" ASC NULLS LAST, "__sk2" ASC NULLS LAST, "tier" ASC NULLS LAST
  ) AS __q13;

-- segment screens
WITH "profiles_rows" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows"
), "viewing_rows" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_2"
    RIGHT OUTER JOIN "viewing_rows" ON "profiles.viewer_id" = "viewer_id"
), "by_screen_tier" AS (
  SELECT
    "hours",
    "viewer_id",
    CASE
      WHEN (("device" = 'tv') OR ("device" = 'console')) THEN
        'living room'
      WHEN ("device" = 'mobile') THEN
        'on the go'
      ELSE
        'desktop'
    END AS "screen",
    CASE
      WHEN ("plan" = 'free') THEN
        'ad-supported'
      WHEN "plan" IN ('basic', 'standard') THEN
        'paid'
      WHEN ("plan" = 'premium') THEN
        'premium'
      ELSE
        NULL
    END AS "tier"
  FROM
    "joined"
), "by_screen_tier_2" AS (
  SELECT
    "hours",
    "viewer_id",
    "screen" AS "screen",
    "tier" AS "tier"
  FROM
    "by_screen_tier"
), "cells" AS (
  SELECT
    "screen",
    "tier",
    (2 - (0 + CAST(grouping("tier") AS BIGINT))) AS "__level",
    coalesce(count(1), 0) AS "rows",
    CAST(coalesce(sum(CAST("hours" AS DOUBLE PRECISION)), 0.0) AS DOUBLE PRECISION) AS "watch_hours",
    CAST(coalesce(count(DISTINCT "viewer_id"), 0) AS BIGINT) AS "viewers",
    CAST(CASE WHEN (CAST(coalesce(count(DISTINCT "viewer_id"), 0) AS DOUBLE PRECISION) = 0.0) THEN NULL ELSE (CAST(coalesce(sum(CAST("hours" AS DOUBLE PRECISION)), 0.0) AS DOUBLE PRECISION) / CAST(coalesce(count(DISTINCT "viewer_id"), 0) AS DOUBLE PRECISION)) END AS DOUBLE PRECISION) AS "per_viewer"
  FROM
    "by_screen_tier_2"
  GROUP BY
    GROUPING SETS (("screen"), ("screen", "tier"))
)
SELECT
  "__out0" AS "screen",
  "__out1" AS "tier",
  "__out2" AS "level",
  "__out3" AS "rows",
  "__out4" AS "watch_hours",
  "__out5" AS "viewers",
  "__out6" AS "per_viewer",
  "__out7" AS "share",
  "__out8" AS "share_of_parent"
FROM
  (
    SELECT
      "screen",
      "tier",
      "__level",
      "rows",
      "watch_hours",
      "viewers",
      "per_viewer",
      sum("rows") OVER (
        PARTITION BY "__level"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      sum("rows") OVER (
        PARTITION BY "__level", "screen"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__par2",
      CAST("screen" AS VARCHAR) AS "__out0",
      CAST("tier" AS VARCHAR) AS "__out1",
      "__level" AS "__out2",
      "rows" AS "__out3",
      "watch_hours" AS "__out4",
      "viewers" AS "__out5",
      "per_viewer" AS "__out6",
      CASE
        WHEN (CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
      END AS "__out7",
      CASE
        WHEN ("__level" = 1) THEN
          CASE
            WHEN (CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
              NULL
            ELSE
              (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
          END
        WHEN ("__level" = 2) THEN
          CASE
            WHEN (CAST(sum("rows") OVER (PARTITION BY "__level", "screen" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
              NULL
            ELSE
              (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (PARTITION BY "__level", "screen" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
          END
        ELSE
          NULL
      END AS "__out8",
      CASE
        WHEN ("screen" = 'living room') THEN
          0
        WHEN ("screen" = 'on the go') THEN
          1
        WHEN ("screen" = 'desktop') THEN
          2
        ELSE
          NULL
      END AS "__sk0",
      CASE
        WHEN ("__level" <= 1) THEN
          0
        ELSE
          1
      END AS "__sk2",
      CASE
        WHEN ("tier" = 'ad-supported') THEN
          0
        WHEN ("tier" = 'paid') THEN
          1
        WHEN ("tier" = 'premium') THEN
          2
        ELSE
          NULL
      END AS "__sk3"
    FROM
      "cells" ORDER BY "__sk0" ASC NULLS LAST, "screen" ASC NULLS LAST, "__sk2" ASC NULLS FIRST, "__sk3" ASC NULLS LAST, "tier" ASC NULLS LAST
  ) AS __q8;

-- segment loyalty
WITH "profiles_rows" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows"
), "viewing_rows" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_2"
    RIGHT OUTER JOIN "viewing_rows" ON "profiles.viewer_id" = "viewer_id"
), "viewer" AS (
  SELECT
    "viewer_id" AS "__mg0",
    count(1) AS "__mr0",
    sum(CAST("hours" AS DOUBLE PRECISION)) AS "__mr1",
    count(CASE WHEN ("genre" = 'action') THEN 1 END) AS "__mr3"
  FROM
    "joined"
  WHERE
    "viewer_id" IS NOT NULL
  GROUP BY
    "viewer_id"
), "profiles_rows_3" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_3_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_3"
), "viewing_rows_2" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined_2" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_3_2"
    RIGHT OUTER JOIN "viewing_rows_2" ON "profiles.viewer_id" = "viewer_id"
), "cells" AS (
  SELECT
    "viewer_id" AS "__mk2_0",
    "genre" AS "__mv2",
    count(1) AS "__mn2",
    row_number() OVER (
      PARTITION BY "viewer_id"
      ORDER BY count(1) DESC NULLS FIRST, "genre" ASC NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS "__mf2"
  FROM
    "joined_2"
  WHERE
    "genre" IS NOT NULL AND "viewer_id" IS NOT NULL
  GROUP BY
    "viewer_id", "genre"
), "step" AS (
  SELECT
    "__mk2_0",
    "__mv2"
  FROM
    "cells"
  WHERE
    ("__mf2" = 1)
), "joined_3" AS (
  SELECT
    "__mg0" AS "viewer_id",
    "__mr0" AS "__f0",
    "__mr1" AS "__f1",
    "__mv2" AS "__f2",
    "__mr3" AS "__f3"
  FROM
    "viewer"
    LEFT OUTER JOIN "step" ON ((("__mg0" = "__mk2_0") OR ("__mg0" IS NULL AND "__mk2_0" IS NULL)) AND true)
), "step_2" AS (
  SELECT
    "viewer_id",
    coalesce("__f0", 0) AS "sessions",
    coalesce("__f1", 0.0) AS "total",
    "__f2" AS "favourite",
    coalesce("__f3", 0) AS "action"
  FROM
    "joined_3"
), "by_engagement_habit" AS (
  SELECT
    "viewer_id" AS "__k0",
    CASE
      WHEN "total" IS NULL THEN
        NULL
      ELSE
        concat('Q', CAST((CAST(((((CAST(rank() OVER (ORDER BY "total" ASC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) - 1) * 4) - (((CAST(rank() OVER (ORDER BY "total" ASC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) - 1) * 4) % count("total") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))) / count("total") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS BIGINT) + 1) AS VARCHAR))
    END AS "engagement",
    CASE
      WHEN ("sessions" >= 8) THEN
        'regular'
      WHEN ("sessions" >= 3) THEN
        'casual'
      ELSE
        'drop-in'
    END AS "habit"
  FROM
    "step_2"
), "profiles_rows_4" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_4_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_4"
), "viewing_rows_3" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined_4" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_4_2"
    RIGHT OUTER JOIN "viewing_rows_3" ON "profiles.viewer_id" = "viewer_id"
), "by_engagement_habit_2" AS (
  SELECT
    "hours",
    "viewer_id",
    CASE
      WHEN "__k0" IS NULL THEN
        NULL
      ELSE
        "engagement"
    END AS "engagement",
    CASE
      WHEN "__k0" IS NULL THEN
        NULL
      ELSE
        "habit"
    END AS "habit"
  FROM
    "by_engagement_habit"
    RIGHT OUTER JOIN "joined_4" ON "__k0" = "viewer_id"
), "by_engagement_habit_2_2" AS (
  SELECT
    "hours",
    "viewer_id",
    "engagement" AS "engagement",
    "habit" AS "habit"
  FROM
    "by_engagement_habit_2"
), "cells_2" AS (
  SELECT
    "engagement",
    "habit",
    (2 - (0 + CAST(grouping("habit") AS BIGINT))) AS "__level",
    coalesce(count(1), 0) AS "rows",
    CAST(coalesce(sum(CAST("hours" AS DOUBLE PRECISION)), 0.0) AS DOUBLE PRECISION) AS "watch_hours",
    CAST(coalesce(count(DISTINCT "viewer_id"), 0) AS BIGINT) AS "viewers",
    CAST(CASE WHEN (CAST(coalesce(count(DISTINCT "viewer_id"), 0) AS DOUBLE PRECISION) = 0.0) THEN NULL ELSE (CAST(coalesce(sum(CAST("hours" AS DOUBLE PRECISION)), 0.0) AS DOUBLE PRECISION) / CAST(coalesce(count(DISTINCT "viewer_id"), 0) AS DOUBLE PRECISION)) END AS DOUBLE PRECISION) AS "per_viewer"
  FROM
    "by_engagement_habit_2_2"
  GROUP BY
    GROUPING SETS (("engagement"), ("engagement", "habit"))
)
SELECT
  "__out0" AS "engagement",
  "__out1" AS "habit",
  "__out2" AS "level",
  "__out3" AS "rows",
  "__out4" AS "watch_hours",
  "__out5" AS "viewers",
  "__out6" AS "per_viewer",
  "__out7" AS "share",
  "__out8" AS "share_of_parent"
FROM
  (
    SELECT
      "engagement",
      "habit",
      "__level",
      "rows",
      "watch_hours",
      "viewers",
      "per_viewer",
      sum("rows") OVER (
        PARTITION BY "__level"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      sum("rows") OVER (
        PARTITION BY "__level", "engagement"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__par2",
      CAST("engagement" AS VARCHAR) AS "__out0",
      CAST("habit" AS VARCHAR) AS "__out1",
      "__level" AS "__out2",
      "rows" AS "__out3",
      "watch_hours" AS "__out4",
      "viewers" AS "__out5",
      "per_viewer" AS "__out6",
      CASE
        WHEN (CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
      END AS "__out7",
      CASE
        WHEN ("__level" = 1) THEN
          CASE
            WHEN (CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
              NULL
            ELSE
              (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
          END
        WHEN ("__level" = 2) THEN
          CASE
            WHEN (CAST(sum("rows") OVER (PARTITION BY "__level", "engagement" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
              NULL
            ELSE
              (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (PARTITION BY "__level", "engagement" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
          END
        ELSE
          NULL
      END AS "__out8",
      CASE
        WHEN ("engagement" = 'Q1') THEN
          0
        WHEN ("engagement" = 'Q2') THEN
          1
        WHEN ("engagement" = 'Q3') THEN
          2
        WHEN ("engagement" = 'Q4') THEN
          3
        ELSE
          NULL
      END AS "__sk0",
      CASE
        WHEN ("__level" <= 1) THEN
          0
        ELSE
          1
      END AS "__sk2",
      CASE
        WHEN ("habit" = 'regular') THEN
          0
        WHEN ("habit" = 'casual') THEN
          1
        WHEN ("habit" = 'drop-in') THEN
          2
        ELSE
          NULL
      END AS "__sk3"
    FROM
      "cells_2" ORDER BY "__sk0" ASC NULLS LAST, "engagement" ASC NULLS LAST, "__sk2" ASC NULLS FIRST, "__sk3" ASC NULLS LAST, "habit" ASC NULLS LAST
  ) AS __q21;

-- segment tastes
WITH "profiles_rows" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows"
), "viewing_rows" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_2"
    RIGHT OUTER JOIN "viewing_rows" ON "profiles.viewer_id" = "viewer_id"
), "viewer" AS (
  SELECT
    "viewer_id" AS "__mg0",
    count(1) AS "__mr0",
    sum(CAST("hours" AS DOUBLE PRECISION)) AS "__mr1",
    count(CASE WHEN ("genre" = 'action') THEN 1 END) AS "__mr3"
  FROM
    "joined"
  WHERE
    "viewer_id" IS NOT NULL
  GROUP BY
    "viewer_id"
), "profiles_rows_3" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_3_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_3"
), "viewing_rows_2" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined_2" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_3_2"
    RIGHT OUTER JOIN "viewing_rows_2" ON "profiles.viewer_id" = "viewer_id"
), "cells" AS (
  SELECT
    "viewer_id" AS "__mk2_0",
    "genre" AS "__mv2",
    count(1) AS "__mn2",
    row_number() OVER (
      PARTITION BY "viewer_id"
      ORDER BY count(1) DESC NULLS FIRST, "genre" ASC NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS "__mf2"
  FROM
    "joined_2"
  WHERE
    "genre" IS NOT NULL AND "viewer_id" IS NOT NULL
  GROUP BY
    "viewer_id", "genre"
), "step" AS (
  SELECT
    "__mk2_0",
    "__mv2"
  FROM
    "cells"
  WHERE
    ("__mf2" = 1)
), "joined_3" AS (
  SELECT
    "__mg0" AS "viewer_id",
    "__mr0" AS "__f0",
    "__mr1" AS "__f1",
    "__mv2" AS "__f2",
    "__mr3" AS "__f3"
  FROM
    "viewer"
    LEFT OUTER JOIN "step" ON ((("__mg0" = "__mk2_0") OR ("__mg0" IS NULL AND "__mk2_0" IS NULL)) AND true)
), "step_2" AS (
  SELECT
    "viewer_id",
    coalesce("__f0", 0) AS "sessions",
    coalesce("__f1", 0.0) AS "total",
    "__f2" AS "favourite",
    coalesce("__f3", 0) AS "action"
  FROM
    "joined_3"
), "step_2_2" AS (
  SELECT
    "total",
    "favourite" AS "taste"
  FROM
    "step_2"
), "profiles_rows_4" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_4_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_4"
), "viewing_rows_3" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined_4" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_4_2"
    RIGHT OUTER JOIN "viewing_rows_3" ON "profiles.viewer_id" = "viewer_id"
), "viewer_2" AS (
  SELECT
    "viewer_id" AS "__mg0",
    count(1) AS "__mr0",
    sum(CAST("hours" AS DOUBLE PRECISION)) AS "__mr1",
    count(CASE WHEN ("genre" = 'action') THEN 1 END) AS "__mr3"
  FROM
    "joined_4"
  WHERE
    "viewer_id" IS NOT NULL
  GROUP BY
    "viewer_id"
), "profiles_rows_5" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_5_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_5"
), "viewing_rows_4" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined_5" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_5_2"
    RIGHT OUTER JOIN "viewing_rows_4" ON "profiles.viewer_id" = "viewer_id"
), "cells_2" AS (
  SELECT
    "viewer_id" AS "__mk2_0",
    "genre" AS "__mv2",
    count(1) AS "__mn2",
    row_number() OVER (
      PARTITION BY "viewer_id"
      ORDER BY count(1) DESC NULLS FIRST, "genre" ASC NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS "__mf2"
  FROM
    "joined_5"
  WHERE
    "genre" IS NOT NULL AND "viewer_id" IS NOT NULL
  GROUP BY
    "viewer_id", "genre"
), "step_3" AS (
  SELECT
    "__mk2_0",
    "__mv2"
  FROM
    "cells_2"
  WHERE
    ("__mf2" = 1)
), "joined_6" AS (
  SELECT
    "__mg0" AS "viewer_id",
    "__mr0" AS "__f0",
    "__mr1" AS "__f1",
    "__mv2" AS "__f2",
    "__mr3" AS "__f3"
  FROM
    "viewer_2"
    LEFT OUTER JOIN "step_3" ON ((("__mg0" = "__mk2_0") OR ("__mg0" IS NULL AND "__mk2_0" IS NULL)) AND true)
), "step_4" AS (
  SELECT
    "viewer_id",
    coalesce("__f0", 0) AS "sessions",
    coalesce("__f1", 0.0) AS "total",
    "__f2" AS "favourite",
    coalesce("__f3", 0) AS "action"
  FROM
    "joined_6"
), "labels" AS (
  SELECT
    "taste",
    1 AS "__level",
    coalesce(count(1), 0) AS "rows",
    CAST(avg(CAST("total" AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS "avg_hours"
  FROM
    "step_2_2" AS "derived_projection"
  GROUP BY
    "taste"
  UNION ALL
  SELECT
    CAST(NULL AS VARCHAR) AS "taste",
    0 AS "__level",
    coalesce(count(1), 0) AS "rows",
    CAST(avg(CAST("total" AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS "avg_hours"
  FROM
    "step_4" AS "derived_projection"
)
SELECT
  "__out0" AS "taste",
  "__out1" AS "level",
  "__out2" AS "rows",
  "__out3" AS "avg_hours",
  "__out4" AS "share"
FROM
  (
    SELECT
      "taste",
      "__level",
      "rows",
      "avg_hours",
      sum("rows") OVER (
        PARTITION BY "__level"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      CAST("taste" AS VARCHAR) AS "__out0",
      "__level" AS "__out1",
      "rows" AS "__out2",
      "avg_hours" AS "__out3",
      CASE
        WHEN (CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (PARTITION BY "__level" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
      END AS "__out4",
      CASE
        WHEN ("__level" = 0) THEN
          0
        ELSE
          1
      END AS "__sk0"
    FROM
      "labels" ORDER BY "__sk0" ASC NULLS FIRST, "taste" ASC NULLS LAST
  ) AS __q25;

-- segment cohorts
WITH "cohort_labels" AS (
  SELECT
    CAST('early (2019-2020)' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('middle (2021-2022)' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('recent (2023-)' AS VARCHAR) AS "column1"
), "cohort_labels_2" AS (
  SELECT
    "column1" AS "__g6"
  FROM
    "cohort_labels"
), "tier_labels" AS (
  SELECT
    CAST('ad-supported' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('paid' AS VARCHAR) AS "column1"
  UNION ALL
  SELECT
    CAST('premium' AS VARCHAR) AS "column1"
), "tier_labels_2" AS (
  SELECT
    "column1" AS "__g1"
  FROM
    "tier_labels"
), "profiles_rows" AS (
  SELECT
    "profiles"."viewer_id" AS "viewer_id",
    "profiles"."country" AS "country",
    "profiles"."signed_up" AS "signed_up",
    "profiles"."marketing_opt_in" AS "marketing_opt_in"
  FROM
    "profiles"
), "profiles_rows_2" AS (
  SELECT
    "viewer_id" AS "profiles.viewer_id",
    "country" AS "profiles.country",
    "signed_up" AS "profiles.signed_up",
    "marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows"
), "viewing_rows" AS (
  SELECT
    "viewing"."session_id" AS "session_id",
    "viewing"."viewer_id" AS "viewer_id",
    "viewing"."viewer_age" AS "viewer_age",
    "viewing"."plan" AS "plan",
    "viewing"."device" AS "device",
    "viewing"."genre" AS "genre",
    "viewing"."hours" AS "hours",
    "viewing"."region" AS "region"
  FROM
    "viewing"
), "joined" AS (
  SELECT
    "session_id" AS "session_id",
    "session_id" AS "viewing.session_id",
    "viewer_id" AS "viewer_id",
    "viewer_id" AS "viewing.viewer_id",
    "viewer_age" AS "viewer_age",
    "viewer_age" AS "viewing.viewer_age",
    "plan" AS "plan",
    "plan" AS "viewing.plan",
    "device" AS "device",
    "device" AS "viewing.device",
    "genre" AS "genre",
    "genre" AS "viewing.genre",
    "hours" AS "hours",
    "hours" AS "viewing.hours",
    "region" AS "region",
    "region" AS "viewing.region",
    "profiles.viewer_id" AS "profiles.viewer_id",
    "profiles.country" AS "country",
    "profiles.country" AS "profiles.country",
    "profiles.signed_up" AS "signed_up",
    "profiles.signed_up" AS "profiles.signed_up",
    "profiles.marketing_opt_in" AS "marketing_opt_in",
    "profiles.marketing_opt_in" AS "profiles.marketing_opt_in"
  FROM
    "profiles_rows_2"
    RIGHT OUTER JOIN "viewing_rows" ON "profiles.viewer_id" = "viewer_id"
), "by_cohort_tier" AS (
  SELECT
    "hours",
    "viewer_id",
    CASE
      WHEN (CAST(date_part('year', "signed_up") AS BIGINT) <= 2020) THEN
        'early (2019-2020)'
      WHEN (CAST(date_part('year', "signed_up") AS BIGINT) <= 2022) THEN
        'middle (2021-2022)'
      WHEN "signed_up" IS NOT NULL THEN
        'recent (2023-)'
      ELSE
        NULL
    END AS "cohort",
    CASE
      WHEN ("plan" = 'free') THEN
        'ad-supported'
      WHEN "plan" IN ('basic', 'standard') THEN
        'paid'
      WHEN ("plan" = 'premium') THEN
        'premium'
      ELSE
        NULL
    END AS "tier"
  FROM
    "joined"
), "cells" AS (
  SELECT
    "cohort",
    "tier",
    count(1) AS "rows",
    sum(CAST("hours" AS DOUBLE PRECISION)) AS "__a0",
    count(DISTINCT "viewer_id") AS "__a1"
  FROM
    "by_cohort_tier"
  GROUP BY
    "cohort", "tier"
), "all_cells" AS (
  SELECT
    coalesce("__g6", "cohort") AS "cohort",
    coalesce("__g1", "tier") AS "tier",
    "rows" AS "rows",
    "__a0" AS "__a0",
    "__a1" AS "__a1"
  FROM
    "cohort_labels_2"
    CROSS JOIN "tier_labels_2"
    FULL JOIN "cells" ON "__g6" = "cohort" AND "__g1" = "tier"
), "measures" AS (
  SELECT
    "cohort",
    "tier",
    coalesce("rows", 0) AS "rows",
    CAST(coalesce("__a0", 0.0) AS DOUBLE PRECISION) AS "watch_hours",
    CAST(coalesce("__a1", 0) AS BIGINT) AS "viewers",
    CAST(CASE WHEN (CAST(coalesce("__a1", 0) AS DOUBLE PRECISION) = 0.0) THEN NULL ELSE (CAST(coalesce("__a0", 0.0) AS DOUBLE PRECISION) / CAST(coalesce("__a1", 0) AS DOUBLE PRECISION)) END AS DOUBLE PRECISION) AS "per_viewer"
  FROM
    "all_cells"
)
SELECT
  "__out0" AS "cohort",
  "__out1" AS "tier",
  "__out2" AS "rows",
  "__out3" AS "watch_hours",
  "__out4" AS "viewers",
  "__out5" AS "per_viewer",
  "__out6" AS "share"
FROM
  (
    SELECT
      "cohort",
      "tier",
      "rows",
      "watch_hours",
      "viewers",
      "per_viewer",
      sum("rows") OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "__tot",
      CAST("cohort" AS VARCHAR) AS "__out0",
      CAST("tier" AS VARCHAR) AS "__out1",
      "rows" AS "__out2",
      "watch_hours" AS "__out3",
      "viewers" AS "__out4",
      "per_viewer" AS "__out5",
      CASE
        WHEN (CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION) = 0.0) THEN
          NULL
        ELSE
          (CAST("rows" AS DOUBLE PRECISION) / CAST(sum("rows") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE PRECISION))
      END AS "__out6",
      CASE
        WHEN ("cohort" = 'early (2019-2020)') THEN
          0
        WHEN ("cohort" = 'middle (2021-2022)') THEN
          1
        WHEN ("cohort" = 'recent (2023-)') THEN
          2
        ELSE
          NULL
      END AS "__sk0",
      CASE
        WHEN ("tier" = 'ad-supported') THEN
          0
        WHEN ("tier" = 'paid') THEN
          1
        WHEN ("tier" = 'premium') THEN
          2
        ELSE
          NULL
      END AS "__sk2"
    FROM
      "measures" ORDER BY "__sk0" ASC NULLS LAST, "cohort" ASC NULLS LAST, "__sk2" ASC NULLS LAST, "tier" ASC NULLS LAST
  ) AS __q13;

