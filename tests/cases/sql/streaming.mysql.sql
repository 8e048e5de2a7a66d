-- segment audiences
WITH `generation_labels` AS (
  SELECT
    CAST('teens' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('gen z' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('millennials' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('gen x' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('boomers' AS CHAR) AS `column1`
), `generation_labels_2` AS (
  SELECT
    `column1` AS `__g0`
  FROM
    `generation_labels`
), `tier_labels` AS (
  SELECT
    CAST('ad-supported' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('paid' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('premium' AS CHAR) AS `column1`
), `tier_labels_2` AS (
  SELECT
    `column1` AS `__g1`
  FROM
    `tier_labels`
), `profiles_rows` AS (
  SELECT
    `profiles`.`viewer_id` AS `viewer_id`,
    `profiles`.`country` AS `country`,
    `profiles`.`signed_up` AS `signed_up`,
    `profiles`.`marketing_opt_in` AS `marketing_opt_in`
  FROM
    `profiles`
), `profiles_rows_2` AS (
  SELECT
    `viewer_id` AS `profiles.viewer_id`,
    `country` AS `profiles.country`,
    `signed_up` AS `profiles.signed_up`,
    `marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows`
), `viewing_rows` AS (
  SELECT
    `viewing`.`session_id` AS `session_id`,
    `viewing`.`viewer_id` AS `viewer_id`,
    `viewing`.`viewer_age` AS `viewer_age`,
    `viewing`.`plan` AS `plan`,
    `viewing`.`device` AS `device`,
    `viewing`.`genre` AS `genre`,
    `viewing`.`hours` AS `hours`,
    `viewing`.`region` AS `region`
  FROM
    `viewing`
), `joined` AS (
  SELECT
    `session_id` AS `session_id`,
    `session_id` AS `viewing.session_id`,
    `viewer_id` AS `viewer_id`,
    `viewer_id` AS `viewing.viewer_id`,
    `viewer_age` AS `viewer_age`,
    `viewer_age` AS `viewing.viewer_age`,
    `plan` AS `plan`,
    `plan` AS `viewing.plan`,
    `device` AS `device`,
    `device` AS `viewing.device`,
    `genre` AS `genre`,
    `genre` AS `viewing.genre`,
    `hours` AS `hours`,
    `hours` AS `viewing.hours`,
    `region` AS `region`,
    `region` AS `viewing.region`,
    `profiles.viewer_id` AS `profiles.viewer_id`,
    `profiles.country` AS `country`,
    `profiles.country` AS `profiles.country`,
    `profiles.signed_up` AS `signed_up`,
    `profiles.signed_up` AS `profiles.signed_up`,
    `profiles.marketing_opt_in` AS `marketing_opt_in`,
    `profiles.marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_2`
    RIGHT OUTER JOIN `viewing_rows` ON `profiles.viewer_id` = `viewer_id`
), `by_generation_tier` AS (
  SELECT
    `hours`,
    `viewer_id`,
    CASE
      WHEN `viewer_age` IS NULL THEN
        NULL
      WHEN (`viewer_age` < 18) THEN
        'teens'
      WHEN (`viewer_age` < 28) THEN
        'gen z'
      WHEN (`viewer_age` < 44) THEN
        'millennials'
      WHEN (`viewer_age` < 60) THEN
        'gen x'
      ELSE
        'boomers'
    END AS `generation`,
    CASE
      WHEN (`plan` = 'free') THEN
        'ad-supported'
      WHEN `plan` IN ('basic', 'standard') THEN
        'paid'
      WHEN (`plan` = 'premium') THEN
        'premium'
      ELSE
        NULL
    END AS `tier`
  FROM
    `joined`
), `cells` AS (
  SELECT
    `generation`,
    `tier`,
    count(1) AS `rows`,
    sum(CAST(`hours` AS DOUBLE)) AS `__a0`,
    count(DISTINCT `viewer_id`) AS `__a1`
  FROM
    `by_generation_tier`
  GROUP BY
    `generation`, `tier`
), `all_cells` AS (
  SELECT
    coalesce(`__g0`, `generation`) AS `generation`,
    coalesce(`__g1`, `tier`) AS `tier`,
    `rows` AS `rows`,
    `__a0` AS `__a0`,
    `__a1` AS `__a1`
  FROM
    `generation_labels_2`
    CROSS JOIN `tier_labels_2`
    FULL JOIN `cells` ON `__g0` = `generation` AND `__g1` = `tier`
), `measures` AS (
  SELECT
    `generation`,
    `tier`,
    coalesce(`rows`, 0) AS `rows`,
    CAST(coalesce(`__a0`, 0.0) AS DOUBLE) AS `watch_hours`,
    CAST(coalesce(`__a1`, 0) AS SIGNED) AS `viewers`,
    CAST(CASE WHEN (CAST(coalesce(`__a1`, 0) AS DOUBLE) = 0.0) THEN NULL ELSE (CAST(coalesce(`__a0`, 0.0) AS DOUBLE) / CAST(coalesce(`__a1`, 0) AS DOUBLE)) END AS DOUBLE) AS `per_viewer`
  FROM
    `all_cells`
)
SELECT
  `__out0` AS `generation`,
  `__out1` AS `tier`,
  `__out2` AS `rows`,
  `__out3` AS `watch_hours`,
  `__out4` AS `viewers`,
  `__out5` AS `per_viewer`,
  `__out6` AS `share`
FROM
  (
    SELECT
      `generation`,
      `tier`,
      `rows`,
      `watch_hours`,
      `viewers`,
      `per_viewer`,
      sum(`rows`) OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS `__tot`,
      CAST(`generation` AS CHAR) AS `__out0`,
      CAST(`tier` AS CHAR) AS `__out1`,
      `rows` AS `__out2`,
      `watch_hours` AS `__out3`,
      `viewers` AS `__out4`,
      `per_viewer` AS `__out5`,
      CASE
        WHEN (CAST(sum(`rows`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST(`rows` AS DOUBLE) / CAST(sum(`rows`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS `__out6`,
      CASE
        WHEN (`generation` = 'teens') THEN
          0
        WHEN (`generation` = 'gen z') THEN
          1
        WHEN (`generation` = 'millennials') THEN
          2
        WHEN (`generation` = 'gen x') THEN
          3
        WHEN (`generation` = 'boomers') THEN
          4
        ELSE
          NULL
      END AS `__sk0`,
      CASE
        WHEN (`tier` = 'ad-supported') THEN
          0
        WHEN (`tier` = 'paid') THEN
          1
        WHEN (`tier` = 'premium') THEN
          2
        ELSE
          NULL
      END AS `__sk2`
    FROM
      `measures` ORDER BY `__sk0` ASC, `generation` ASC, `__sk2` ASC, `tier` ASC
  ) AS __q13;

-- segment screens: E0801 segmentation `screens` uses `then` subtotals (GROUPING SETS), which seg cannot write in mysql SQL

-- segment loyalty: E0801 segmentation `loyalty` uses `then` subtotals (GROUPING SETS), which seg cannot write in mysql SQL

-- segment tastes
WITH `profiles_rows` AS (
  SELECT
    `profiles`.`viewer_id` AS `viewer_id`,
    `profiles`.`country` AS `country`,
    `profiles`.`signed_up` AS `signed_up`,
    `profiles`.`marketing_opt_in` AS `marketing_opt_in`
  FROM
    `profiles`
), `profiles_rows_2` AS (
  SELECT
    `viewer_id` AS `profiles.viewer_id`,
    `country` AS `profiles.country`,
    `signed_up` AS `profiles.signed_up`,
    `marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows`
), `viewing_rows` AS (
  SELECT
    `viewing`.`session_id` AS `session_id`,
    `viewing`.`viewer_id` AS `viewer_id`,
    `viewing`.`viewer_age` AS `viewer_age`,
    `viewing`.`plan` AS `plan`,
    `viewing`.`device` AS `device`,
    `viewing`.`genre` AS `genre`,
    `viewing`.`hours` AS `hours`,
    `viewing`.`region` AS `region`
  FROM
    `viewing`
), `joined` AS (
  SELECT
    `session_id` AS `session_id`,
    `session_id` AS `viewing.session_id`,
    `viewer_id` AS `viewer_id`,
    `viewer_id` AS `viewing.viewer_id`,
    `viewer_age` AS `viewer_age`,
    `viewer_age` AS `viewing.viewer_age`,
    `plan` AS `plan`,
    `plan` AS `viewing.plan`,
    `device` AS `device`,
    `device` AS `viewing.device`,
    `genre` AS `genre`,
    `genre` AS `viewing.genre`,
    `hours` AS `hours`,
    `hours` AS `viewing.hours`,
    `region` AS `region`,
    `region` AS `viewing.region`,
    `profiles.viewer_id` AS `profiles.viewer_id`,
    `profiles.country` AS `country`,
    `profiles.country` AS `profiles.country`,
    `profiles.signed_up` AS `signed_up`,
    `profiles.signed_up` AS `profiles.signed_up`,
    `profiles.marketing_opt_in` AS `marketing_opt_in`,
    `profiles.marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_2`
    RIGHT OUTER JOIN `viewing_rows` ON `profiles.viewer_id` = `viewer_id`
), `viewer` AS (
  SELECT
    `viewer_id` AS `__mg0`,
    count(1) AS `__mr0`,
    sum(CAST(`hours` AS DOUBLE)) AS `__mr1`,
    count(CASE WHEN (`genre` = 'action') THEN 1 END) AS `__mr3`
  FROM
    `joined`
  WHERE
    `viewer_id` IS NOT NULL
  GROUP BY
    `viewer_id`
), `profiles_rows_3` AS (
  SELECT
    `profiles`.`viewer_id` AS `viewer_id`,
    `profiles`.`country` AS `country`,
    `profiles`.`signed_up` AS `signed_up`,
    `profiles`.`marketing_opt_in` AS `marketing_opt_in`
  FROM
    `profiles`
), `profiles_rows_3_2` AS (
  SELECT
    `viewer_id` AS `profiles.viewer_id`,
    `country` AS `profiles.country`,
    `signed_up` AS `profiles.signed_up`,
    `marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_3`
), `viewing_rows_2` AS (
  SELECT
    `viewing`.`session_id` AS `session_id`,
    `viewing`.`viewer_id` AS `viewer_id`,
    `viewing`.`viewer_age` AS `viewer_age`,
    `viewing`.`plan` AS `plan`,
    `viewing`.`device` AS `device`,
    `viewing`.`genre` AS `genre`,
    `viewing`.`hours` AS `hours`,
    `viewing`.`region` AS `region`
  FROM
    `viewing`
), `joined_2` AS (
  SELECT
    `session_id` AS `session_id`,
    `session_id` AS `viewing.session_id`,
    `viewer_id` AS `viewer_id`,
    `viewer_id` AS `viewing.viewer_id`,
    `viewer_age` AS `viewer_age`,
    `viewer_age` AS `viewing.viewer_age`,
    `plan` AS `plan`,
    `plan` AS `viewing.plan`,
    `device` AS `device`,
    `device` AS `viewing.device`,
    `genre` AS `genre`,
    `genre` AS `viewing.genre`,
    `hours` AS `hours`,
    `hours` AS `viewing.hours`,
    `region` AS `region`,
    `region` AS `viewing.region`,
    `profiles.viewer_id` AS `profiles.viewer_id`,
    `profiles.country` AS `country`,
    `profiles.country` AS `profiles.country`,
    `profiles.signed_up` AS `signed_up`,
    `profiles.signed_up` AS `profiles.signed_up`,
    `profiles.marketing_opt_in` AS `marketing_opt_in`,
    `profiles.marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_3_2`
    RIGHT OUTER JOIN `viewing_rows_2` ON `profiles.viewer_id` = `viewer_id`
), `cells` AS (
  SELECT
    `viewer_id` AS `__mk2_0`,
    `genre` AS `__mv2`,
    count(1) AS `__mn2`,
    row_number() OVER (
      PARTITION BY `viewer_id`
      ORDER BY count(1) DESC, `genre` ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS `__mf2`
  FROM
    `joined_2`
  WHERE
    `genre` IS NOT NULL AND `viewer_id` IS NOT NULL
  GROUP BY
    `viewer_id`, `genre`
), `step` AS (
  SELECT
    `__mk2_0`,
    `__mv2`
  FROM
    `cells`
  WHERE
    (`__mf2` = 1)
), `joined_3` AS (
  SELECT
    `__mg0` AS `viewer_id`,
    `__mr0` AS `__f0`,
    `__mr1` AS `__f1`,
    `__mv2` AS `__f2`,
    `__mr3` AS `__f3`
  FROM
    `viewer`
    LEFT OUTER JOIN `step` ON (((`__mg0` = `__mk2_0`) OR (`__mg0` IS NULL AND `__mk2_0` IS NULL)) AND true)
), `step_2` AS (
  SELECT
    `viewer_id`,
    coalesce(`__f0`, 0) AS `sessions`,
    coalesce(`__f1`, 0.0) AS `total`,
    `__f2` AS `favourite`,
    coalesce(`__f3`, 0) AS `action`
  FROM
    `joined_3`
), `step_2_2` AS (
  SELECT
    `total`,
    `favourite` AS `taste`
  FROM
    `step_2`
), `profiles_rows_4` AS (
  SELECT
    `profiles`.`viewer_id` AS `viewer_id`,
    `profiles`.`country` AS `country`,
    `profiles`.`signed_up` AS `signed_up`,
    `profiles`.`marketing_opt_in` AS `marketing_opt_in`
  FROM
    `profiles`
), `profiles_rows_4_2` AS (
  SELECT
    `viewer_id` AS `profiles.viewer_id`,
    `country` AS `profiles.country`,
    `signed_up` AS `profiles.signed_up`,
    `marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_4`
), `viewing_rows_3` AS (
  SELECT
    `viewing`.`session_id` AS `session_id`,
    `viewing`.`viewer_id` AS `viewer_id`,
    `viewing`.`viewer_age` AS `viewer_age`,
    `viewing`.`plan` AS `plan`,
    `viewing`.`device` AS `device`,
    `viewing`.`genre` AS `genre`,
    `viewing`.`hours` AS `hours`,
    `viewing`.`region` AS `region`
  FROM
    `viewing`
), `joined_4` AS (
  SELECT
    `session_id` AS `session_id`,
    `session_id` AS `viewing.session_id`,
    `viewer_id` AS `viewer_id`,
    `viewer_id` AS `viewing.viewer_id`,
    `viewer_age` AS `viewer_age`,
    `viewer_age` AS `viewing.viewer_age`,
    `plan` AS `plan`,
    `plan` AS `viewing.plan`,
    `device` AS `device`,
    `device` AS `viewing.device`,
    `genre` AS `genre`,
    `genre` AS `viewing.genre`,
    `hours` AS `hours`,
    `hours` AS `viewing.hours`,
    `region` AS `region`,
    `region` AS `viewing.region`,
    `profiles.viewer_id` AS `profiles.viewer_id`,
    `profiles.country` AS `country`,
    `profiles.country` AS `profiles.country`,
    `profiles.signed_up` AS `signed_up`,
    `profiles.signed_up` AS `profiles.signed_up`,
    `profiles.marketing_opt_in` AS `marketing_opt_in`,
    `profiles.marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_4_2`
    RIGHT OUTER JOIN `viewing_rows_3` ON `profiles.viewer_id` = `viewer_id`
), `viewer_2` AS (
  SELECT
    `viewer_id` AS `__mg0`,
    count(1) AS `__mr0`,
    sum(CAST(`hours` AS DOUBLE)) AS `__mr1`,
    count(CASE WHEN (`genre` = 'action') THEN 1 END) AS `__mr3`
  FROM
    `joined_4`
  WHERE
    `viewer_id` IS NOT NULL
  GROUP BY
    `viewer_id`
), `profiles_rows_5` AS (
  SELECT
    `profiles`.`viewer_id` AS `viewer_id`,
    `profiles`.`country` AS `country`,
    `profiles`.`signed_up` AS `signed_up`,
    `profiles`.`marketing_opt_in` AS `marketing_opt_in`
  FROM
    `profiles`
), `profiles_rows_5_2` AS (
  SELECT
    `viewer_id` AS `profiles.viewer_id`,
    `country` AS `profiles.country`,
    `signed_up` AS `profiles.signed_up`,
    `marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_5`
), `viewing_rows_4` AS (
  SELECT
    `viewing`.`session_id` AS `session_id`,
    `viewing`.`viewer_id` AS `viewer_id`,
    `viewing`.`viewer_age` AS `viewer_age`,
    `viewing`.`plan` AS `plan`,
    `viewing`.`device` AS `device`,
    `viewing`.`genre` AS `genre`,
    `viewing`.`hours` AS `hours`,
    `viewing`.`region` AS `region`
  FROM
    `viewing`
), `joined_5` AS (
  SELECT
    `session_id` AS `session_id`,
    `session_id` AS `viewing.session_id`,
    `viewer_id` AS `viewer_id`,
    `viewer_id` AS `viewing.viewer_id`,
    `viewer_age` AS `viewer_age`,
    `viewer_age` AS `viewing.viewer_age`,
    `plan` AS `plan`,
    `plan` AS `viewing.plan`,
    `device` AS `device`,
    `device` AS `viewing.device`,
    `genre` AS `genre`,
    `genre` AS `viewing.genre`,
    `hours` AS `hours`,
    `hours` AS `viewing.hours`,
    `region` AS `region`,
    `region` AS `viewing.region`,
    `profiles.viewer_id` AS `profiles.viewer_id`,
    `profiles.country` AS `country`,
    `profiles.country` AS `profiles.country`,
    `profiles.signed_up` AS `signed_up`,
    `profiles.signed_up` AS `profiles.signed_up`,
    `profiles.marketing_opt_in` AS `marketing_opt_in`,
    `profiles.marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_5_2`
    RIGHT OUTER JOIN `viewing_rows_4` ON `profiles.viewer_id` = `viewer_id`
), `cells_2` AS (
  SELECT
    `viewer_id` AS `__mk2_0`,
    `genre` AS `__mv2`,
    count(1) AS `__mn2`,
    row_number() OVER (
      PARTITION BY `viewer_id`
      ORDER BY count(1) DESC, `genre` ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS `__mf2`
  FROM
    `joined_5`
  WHERE
    `genre` IS NOT NULL AND `viewer_id` IS NOT NULL
  GROUP BY
    `viewer_id`, `genre`
), `step_3` AS (
  SELECT
    `__mk2_0`,
    `__mv2`
  FROM
    `cells_2`
  WHERE
    (`__mf2` = 1)
), `joined_6` AS (
  SELECT
    `__mg0` AS `viewer_id`,
    `__mr0` AS `__f0`,
    `__mr1` AS `__f1`,
    `__mv2` AS `__f2`,
    `__mr3` AS `__f3`
  FROM
    `viewer_2`
    LEFT OUTER JOIN `step_3` ON (((`__mg0` = `__mk2_0`) OR (`__mg0` IS NULL AND `__mk2_0` IS NULL)) AND true)
), `step_4` AS (
  SELECT
    `viewer_id`,
    coalesce(`__f0`, 0) AS `sessions`,
    coalesce(`__f1`, 0.0) AS `total`,
    `__f2` AS `favourite`,
    coalesce(`__f3`, 0) AS `action`
  FROM
    `joined_6`
), `labels` AS (
  SELECT
    `taste`,
    1 AS `__level`,
    coalesce(count(1), 0) AS `rows`,
    CAST(avg(CAST(`total` AS DOUBLE)) AS DOUBLE) AS `avg_hours`
  FROM
    `step_2_2` AS `derived_projection`
  GROUP BY
    `taste`
  UNION ALL
  SELECT
    CAST(NULL AS CHAR) AS `taste`,
    0 AS `__level`,
    coalesce(count(1), 0) AS `rows`,
    CAST(avg(CAST(`total` AS DOUBLE)) AS DOUBLE) AS `avg_hours`
  FROM
    `step_4` AS `derived_projection`
)
SELECT
  `__out0` AS `taste`,
  `__out1` AS `level`,
  `__out2` AS `rows`,
  `__out3` AS `avg_hours`,
  `__out4` AS `share`
FROM
  (
    SELECT
      `taste`,
      `__level`,
      `rows`,
      `avg_hours`,
      sum(`rows`) OVER (
        PARTITION BY `__level`
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS `__tot`,
      CAST(`taste` AS CHAR) AS `__out0`,
      `__level` AS `__out1`,
      `rows` AS `__out2`,
      `avg_hours` AS `__out3`,
      CASE
        WHEN (CAST(sum(`rows`) OVER (PARTITION BY `__level` ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST(`rows` AS DOUBLE) / CAST(sum(`rows`) OVER (PARTITION BY `__level` ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS `__out4`,
      CASE
        WHEN (`__level` = 0) THEN
          0
        ELSE
          1
      END AS `__sk0`
    FROM
      `labels` ORDER BY `__sk0` ASC, `taste` ASC
  ) AS __q25;

-- segment cohorts
WITH `cohort_labels` AS (
  SELECT
    CAST('early (2019-2020)' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('middle (2021-2022)' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('recent (2023-)' AS CHAR) AS `column1`
), `cohort_labels_2` AS (
  SELECT
    `column1` AS `__g6`
  FROM
    `cohort_labels`
), `tier_labels` AS (
  SELECT
    CAST('ad-supported' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('paid' AS CHAR) AS `column1`
  UNION ALL
  SELECT
    CAST('premium' AS CHAR) AS `column1`
), `tier_labels_2` AS (
  SELECT
    `column1` AS `__g1`
  FROM
    `tier_labels`
), `profiles_rows` AS (
  SELECT
    `profiles`.`viewer_id` AS `viewer_id`,
    `profiles`.`country` AS `country`,
    `profiles`.`signed_up` AS `signed_up`,
    `profiles`.`marketing_opt_in` AS `marketing_opt_in`
  FROM
    `profiles`
), `profiles_rows_2` AS (
  SELECT
    `viewer_id` AS `profiles.viewer_id`,
    `country` AS `profiles.country`,
    `signed_up` AS `profiles.signed_up`,
    `marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows`
), `viewing_rows` AS (
  SELECT
    `viewing`.`session_id` AS `session_id`,
    `viewing`.`viewer_id` AS `viewer_id`,
    `viewing`.`viewer_age` AS `viewer_age`,
    `viewing`.`plan` AS `plan`,
    `viewing`.`device` AS `device`,
    `viewing`.`genre` AS `genre`,
    `viewing`.`hours` AS `hours`,
    `viewing`.`region` AS `region`
  FROM
    `viewing`
), `joined` AS (
  SELECT
    `session_id` AS `session_id`,
    `session_id` AS `viewing.session_id`,
    `viewer_id` AS `viewer_id`,
    `viewer_id` AS `viewing.viewer_id`,
    `viewer_age` AS `viewer_age`,
    `viewer_age` AS `viewing.viewer_age`,
    `plan` AS `plan`,
    `plan` AS `viewing.plan`,
    `device` AS `device`,
    `device` AS `viewing.device`,
    `genre` AS `genre`,
    `genre` AS `viewing.genre`,
    `hours` AS `hours`,
    `hours` AS `viewing.hours`,
    `region` AS `region`,
    `region` AS `viewing.region`,
    `profiles.viewer_id` AS `profiles.viewer_id`,
    `profiles.country` AS `country`,
    `profiles.country` AS `profiles.country`,
    `profiles.signed_up` AS `signed_up`,
    `profiles.signed_up` AS `profiles.signed_up`,
    `profiles.marketing_opt_in` AS `marketing_opt_in`,
    `profiles.marketing_opt_in` AS `profiles.marketing_opt_in`
  FROM
    `profiles_rows_2`
    RIGHT OUTER JOIN `viewing_rows` ON `profiles.viewer_id` = `viewer_id`
), `by_cohort_tier` AS (
  SELECT
    `hours`,
    `viewer_id`,
    CASE
      WHEN (CAST(EXTRACT(YEAR FROM `signed_up`) AS SIGNED) <= 2020) THEN
        'early (2019-2020)'
      WHEN (CAST(EXTRACT(YEAR FROM `signed_up`) AS SIGNED) <= 2022) THEN
        'middle (2021-2022)'
      WHEN `signed_up` IS NOT NULL THEN
        'recent (2023-)'
      ELSE
        NULL
    END AS `cohort`,
    CASE
      WHEN (`plan` = 'free') THEN
        'ad-supported'
      WHEN `plan` IN ('basic', 'standard') THEN
        'paid'
      WHEN (`plan` = 'premium') THEN
        'premium'
      ELSE
        NULL
    END AS `tier`
  FROM
    `joined`
), `cells` AS (
  SELECT
    `cohort`,
    `tier`,
    count(1) AS `rows`,
    sum(CAST(`hours` AS DOUBLE)) AS `__a0`,
    count(DISTINCT `viewer_id`) AS `__a1`
  FROM
    `by_cohort_tier`
  GROUP BY
    `cohort`, `tier`
), `all_cells` AS (
  SELECT
    coalesce(`__g6`, `cohort`) AS `cohort`,
    coalesce(`__g1`, `tier`) AS `tier`,
    `rows` AS `rows`,
    `__a0` AS `__a0`,
    `__a1` AS `__a1`
  FROM
    `cohort_labels_2`
    CROSS JOIN `tier_labels_2`
    FULL JOIN `cells` ON `__g6` = `cohort` AND `__g1` = `tier`
), `measures` AS (
  SELECT
    `cohort`,
    `tier`,
    coalesce(`rows`, 0) AS `rows`,
    CAST(coalesce(`__a0`, 0.0) AS DOUBLE) AS `watch_hours`,
    CAST(coalesce(`__a1`, 0) AS SIGNED) AS `viewers`,
    CAST(CASE WHEN (CAST(coalesce(`__a1`, 0) AS DOUBLE) = 0.0) THEN NULL ELSE (CAST(coalesce(`__a0`, 0.0) AS DOUBLE) / CAST(coalesce(`__a1`, 0) AS DOUBLE)) END AS DOUBLE) AS `per_viewer`
  FROM
    `all_cells`
)
SELECT
  `__out0` AS `cohort`,
  `__out1` AS `tier`,
  `__out2` AS `rows`,
  `__out3` AS `watch_hours`,
  `__out4` AS `viewers`,
  `__out5` AS `per_viewer`,
  `__out6` AS `share`
FROM
  (
    SELECT
      `cohort`,
      `tier`,
      `rows`,
      `watch_hours`,
      `viewers`,
      `per_viewer`,
      sum(`rows`) OVER (
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS `__tot`,
      CAST(`cohort` AS CHAR) AS `__out0`,
      CAST(`tier` AS CHAR) AS `__out1`,
      `rows` AS `__out2`,
      `watch_hours` AS `__out3`,
      `viewers` AS `__out4`,
      `per_viewer` AS `__out5`,
      CASE
        WHEN (CAST(sum(`rows`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE) = 0.0) THEN
          NULL
        ELSE
          (CAST(`rows` AS DOUBLE) / CAST(sum(`rows`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS DOUBLE))
      END AS `__out6`,
      CASE
        WHEN (`cohort` = 'early (2019-2020)') THEN
          0
        WHEN (`cohort` = 'middle (2021-2022)') THEN
          1
        WHEN (`cohort` = 'recent (2023-)') THEN
          2
        ELSE
          NULL
      END AS `__sk0`,
      CASE
        WHEN (`tier` = 'ad-supported') THEN
          0
        WHEN (`tier` = 'paid') THEN
          1
        WHEN (`tier` = 'premium') THEN
          2
        ELSE
          NULL
      END AS `__sk2`
    FROM
      `measures` ORDER BY `__sk0` ASC, `cohort` ASC, `__sk2` ASC, `tier` ASC
  ) AS __q13;

