-- user (contract §4), totals: one person's reads in [from, to).
SELECT count(*) AS events,
       count(DISTINCT page_key) AS distinct_pages,
       count(DISTINCT space) AS distinct_spaces,
       coalesce(sum(bytes), 0) AS bytes,
       min(ts) AS first_seen,
       max(ts) AS last_seen
FROM pagetrail_events
WHERE is_read AND "user" = $user
  AND ts >= $from AND ts < $to
  AND day BETWEEN CAST($from AS DATE) AND CAST($to AS DATE);
