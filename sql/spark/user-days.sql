-- user, per UTC day, in day order.
SELECT CAST(ts AS DATE) AS day, count(*) AS events, count(DISTINCT page_key) AS distinct_pages, sum(bytes) AS bytes
FROM pagetrail_events
WHERE is_read AND `user` = :user
  AND ts >= :from AND ts < :to
  AND day BETWEEN CAST(:from AS DATE) AND CAST(:to AS DATE)
GROUP BY 1
ORDER BY 1;
