-- The lake as one view (Spark SQL). {lake} is the export folder. A page is its id where anything
-- links it to one, else its space and title (contract §3); `is_read` is contract §3's read.
CREATE OR REPLACE TEMPORARY VIEW pagetrail_events AS
SELECT *, coalesce(CAST(page_id AS STRING), space || '/' || title) AS page_key
FROM parquet.`{lake}`;
