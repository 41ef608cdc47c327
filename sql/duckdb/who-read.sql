-- who-read (contract §4): readers of one page ($page_id), one titled page ($space and $title)
-- or one space ($space alone), ranked by reads descending, ties by user.
SELECT "user",
       count(*) AS events,
       count(DISTINCT page_key) AS distinct_pages,
       sum(bytes) AS bytes,
       min(ts) AS first_seen,
       max(ts) AS last_seen
FROM pagetrail_events
WHERE is_read
  AND ts >= $from AND ts < $to
  AND day BETWEEN CAST($from AS DATE) AND CAST($to AS DATE)
  AND ($page_id IS NULL OR page_id = $page_id)
  AND ($space IS NULL OR space = $space)
  AND ($title IS NULL OR title = $title)
GROUP BY "user"
ORDER BY events DESC, "user";
