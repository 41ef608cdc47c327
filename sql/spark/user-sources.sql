-- user, per (address, user agent), by reads descending, ties by address then agent.
SELECT ip, user_agent, count(*) AS events, min(ts) AS first_seen, max(ts) AS last_seen
FROM pagetrail_events
WHERE is_read AND `user` = :user
  AND ts >= :from AND ts < :to
  AND day BETWEEN CAST(:from AS DATE) AND CAST(:to AS DATE)
GROUP BY ip, user_agent
ORDER BY events DESC, ip, user_agent;
