-- top-readers (contract §4): who read the most, over reads only, in [from, to), optionally in
-- one space; ranked by $by (pages | events | bytes) descending, ties by user ascending.
-- The day predicate only prunes partitions; ts decides.
SELECT "user",
       count(DISTINCT page_key) AS distinct_pages,
       count(*) AS events,
       sum(bytes) AS bytes,
       count(DISTINCT space) AS distinct_spaces
FROM events
WHERE is_read
  AND ts >= $from AND ts < $to
  AND day BETWEEN CAST($from AS DATE) AND CAST($to AS DATE)
  AND ($space IS NULL OR space = $space)
GROUP BY "user"
ORDER BY CASE $by WHEN 'pages' THEN count(DISTINCT page_key) WHEN 'events' THEN count(*) ELSE sum(bytes) END DESC,
         "user"
LIMIT $limit;
