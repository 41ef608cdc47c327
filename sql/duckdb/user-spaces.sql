-- user, per known space, by reads descending, ties by space.
SELECT space, count(*) AS events, count(DISTINCT page_key) AS distinct_pages, sum(bytes) AS bytes
FROM pagetrail_events
WHERE is_read AND "user" = $user AND space IS NOT NULL
  AND ts >= $from AND ts < $to
  AND day BETWEEN CAST($from AS DATE) AND CAST($to AS DATE)
GROUP BY space
ORDER BY events DESC, space;
