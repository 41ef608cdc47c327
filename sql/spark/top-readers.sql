-- top-readers (contract §4): who read the most, over reads only, in [from, to), optionally in
-- one space; ranked by :by (pages | events | bytes) descending, ties by user ascending.
-- The day predicate only prunes partitions; ts decides.
SELECT `user`, distinct_pages, events, bytes, distinct_spaces
FROM (
  SELECT `user`,
         count(DISTINCT page_key) AS distinct_pages,
         count(*) AS events,
         sum(bytes) AS bytes,
         count(DISTINCT space) AS distinct_spaces
  FROM pagetrail_events
  WHERE is_read
    AND ts >= :from AND ts < :to
    AND day BETWEEN CAST(:from AS DATE) AND CAST(:to AS DATE)
    AND (:space IS NULL OR space = :space)
  GROUP BY `user`
) AS per_user
ORDER BY CASE :by WHEN 'pages' THEN distinct_pages WHEN 'events' THEN events ELSE bytes END DESC,
         `user`
LIMIT :limit;
