#!/usr/bin/env python3
"""pagetrail beside DuckDB and chDB (embedded ClickHouse), all three starting from the same raw logs.

    python3 benches/peers.py --pagetrail target/release/pagetrail --users 1500 --days 60 --seed 42 \
        [--runs 7] [--work /tmp/peers-1500x60-s42]

A site is generated with `pagetrail gen` into WORK/logs and WORK/catalog.csv. If the work
folder already holds logs made with the same options, they are used again. Then, on those
same files:

* pagetrail runs `catalog` and `ingest` (two whole processes, timed together) into a fresh
  store, WORK/pagetrail-store.
* DuckDB (WORK/duck.db) and chDB (a session in WORK/chdb, one MergeTree table) each load the
  raw access logs the way an analyst would write it in SQL: read the lines as text, pull the
  fields out with one regular expression, turn the Tomcat `%t` time and its offset into UTC,
  strip the context path, classify the path as contract section 2 does, decide which events
  are reads as section 3 does, and join the catalog so that a page named by space and title
  and the same page named by id count as one page, with its one space. Noise lines are not
  stored. The load is timed inside the peer's own process.
* Seven questions are asked of all three. The window ends where the logs end, at midnight
  UTC after their last day. DuckDB's and chDB's answers are checked against pagetrail's JSON:
  the same rows with the same numbers, ties in name order. Each check prints OK or MISMATCH
  with the first row that differs, and the exit status is 1 if any check failed.

Timing: a peer's query is timed warm, inside its process (one warm-up, then the median of
--runs). A pagetrail query is timed as a whole process, start-up included, the same way, and
`/bin/true` is timed that way too as the floor any process pays. One tool is timed at a time:
DuckDB is closed before chDB loads. Bytes per event is each tool's size on disk (du: allocated
blocks; for chDB its table's live parts) divided by the events it stored.

What the SQL does not mirror: only variant A lines are parsed (the generator's default);
`/x/` tiny links are `other` without a page id; equal-time ties between two spaces or two ids
for one page are broken by name or id, where pagetrail uses its dictionary order.

Needs Python 3.9+, `pip install duckdb chdb` and a release build of pagetrail. Progress goes
to stderr and the results table to stdout.
"""
import argparse
import datetime as dt
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import chdb
import duckdb
from chdb import session as chs

DEFAULT_BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "pagetrail")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def du(path):
    """Bytes allocated on disk for a file or a folder tree, as `du` counts them."""
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def sql_list(paths):
    return "[" + ", ".join(sql_str(p) for p in paths) + "]"


# ---------------------------------------------------------------------------------------------
# The access-log line (Tomcat variant A, the shipped server.xml and the generator's default):
#   [dd/MMM/yyyy:HH:mm:ss +hhmm] user thread host METHOD URI HTTP/1.1 status NNNms bytes referer UA
# A lone `-` stands for a request line the server could not read. Lines this does not match
# (torn, empty, another variant) are rejects: pagetrail keeps them aside, the peers drop them.
LINE_RE = (
    r"^\[(\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d) ([+-])(\d\d)(\d\d)\] "
    r"([^ ]+) ([^ ]+) ([^ ]+) "
    r"(?:-|([A-Za-z]+) ([^ ]+)(?: HTTP/[^ ]*)?) "
    r"(\d{3}) (\d{1,9})ms (-|\d{1,19}) ([^ ]+) (.+)$"
)
LINE_FIELDS = ["t", "sign", "oh", "om", "usr", "thread", "host", "method", "uri", "status", "dur", "bytes",
               "referer", "ua"]

# Contract section 2: static resources and polling. Matched on the path after the context path.
NOISE_RE = (r"^(?:/s|/download/(?:resources|batch|contextbatch|thumbnails)|/images|/synchrony"
            r"|/rest/(?:wrm|analytics|mywork|quickreload|troubleshooting))(?:/|$)|^/favicon\.ico")
CTX_RE = r"^/(?:wiki|confluence)(?:/|$)"
# A first, cheap cut before the full parse: lines whose 7th token (the URI in variant A) is a
# noise path, with or without a context path. Lines it keeps still go through both checks.
NOISE_LINE_RE = (r"^[^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ (?:/wiki|/confluence)?"
                 r"(?:(?:/s|/download/(?:resources|batch|contextbatch|thumbnails)|/images|/synchrony"
                 r"|/rest/(?:wrm|analytics|mywork|quickreload|troubleshooting))(?:[/? ]|$)|/favicon\.ico)")
PAGE_ID_ACTIONS = ("/pages/viewinfo.action", "/pages/viewpreviousversions.action", "/pages/diffpages.action",
                   "/pages/diffpagesbyversion.action", "/plugins/viewsource/viewpagesrc.action")
SEARCHES = ("/dosearchsite.action", "/rest/api/search", "/rest/api/content/search", "/rest/quicknav/1/search")
SPACE_EXPORTS = ("/spaces/exportspacewelcome.action", "/spaces/doexportspace.action",
                 "/spaces/flyingpdf/flyingpdf.action")
AUTH = ("/login.action", "/dologin.action", "/logout.action")
IN = lambda names: "(" + ", ".join(sql_str(n) for n in names) + ")"  # noqa: E731

# Which rule of pagetrail's classify() a path meets; the action, page and space follow from it.
RULE_CASE = f"""CASE
    WHEN p = '/pages/viewpage.action' THEN 'viewpage'
    WHEN {{starts}}(p, '/display/') THEN 'display'
    WHEN p = '/spaces/flyingpdf/pdfpageexport.action' THEN 'pdf'
    WHEN p IN {IN(SPACE_EXPORTS)} THEN 'space_export'
    WHEN sp_id IS NOT NULL THEN 'spaces_page'
    WHEN p IN {IN(PAGE_ID_ACTIONS)} THEN 'page_id_action'
    WHEN p IN {IN(SEARCHES)} THEN 'search'
    WHEN p IN ('/rest/api/content', '/rest/api/content/') THEN 'content_list'
    WHEN rc_id IS NOT NULL AND rc_tail IN ('', '/') THEN 'content_id'
    WHEN rc_id IS NOT NULL AND (rc_tail = '/child' OR {{starts}}(rc_tail, '/child/')) THEN 'content_list'
    WHEN p = '/rest/api/space' OR {{starts}}(p, '/rest/api/space/') THEN 'space_api'
    WHEN {{starts}}(p, '/download/attachments/') THEN 'attachment'
    WHEN p = '/pages/downloadallattachments.action' THEN 'download_all'
    WHEN p = '/exportword' THEN 'word'
    WHEN p IN {IN(AUTH)} THEN 'auth'
    WHEN p = '/admin' OR {{starts}}(p, '/admin/') THEN 'admin'
    ELSE 'other' END"""

ACTION_CASE = """CASE rule
    WHEN 'viewpage' THEN 'view' WHEN 'spaces_page' THEN 'view' WHEN 'page_id_action' THEN 'view'
    WHEN 'display' THEN (CASE WHEN d_space IS NULL THEN 'other' ELSE 'view' END)
    WHEN 'pdf' THEN 'export' WHEN 'word' THEN 'export'
    WHEN 'space_export' THEN 'space_export'
    WHEN 'search' THEN 'search'
    WHEN 'content_list' THEN 'api_list' WHEN 'space_api' THEN 'api_list'
    WHEN 'content_id' THEN (CASE WHEN upper(method) = 'GET' THEN 'api_read' ELSE 'other' END)
    WHEN 'attachment' THEN 'download' WHEN 'download_all' THEN 'download'
    WHEN 'auth' THEN 'auth' WHEN 'admin' THEN 'admin'
    ELSE 'other' END"""

PID_CASE = """CASE
    WHEN rule IN ('viewpage', 'pdf', 'page_id_action', 'download_all', 'word') THEN q_pid
    WHEN rule = 'spaces_page' THEN sp_id
    WHEN rule = 'content_id' AND upper(method) = 'GET' THEN rc_id
    WHEN rule = 'attachment' THEN att_id
    END"""

SPACE_CASE = """CASE
    WHEN rule = 'viewpage' AND q_pid IS NULL THEN q_space
    WHEN rule = 'display' THEN d_space
    WHEN rule = 'spaces_page' THEN sp_key
    WHEN rule = 'space_export' THEN q_key
    WHEN rule = 'content_list' THEN q_space
    WHEN rule = 'space_api' THEN coalesce(rs_key, q_space)
    END"""

TITLE_CASE = """CASE
    WHEN rule = 'viewpage' AND q_pid IS NULL THEN q_title
    WHEN rule = 'display' AND d_space IS NOT NULL THEN d_title
    WHEN rule = 'spaces_page' THEN sp_title
    END"""

CONTENT = "('view', 'api_read', 'download', 'export')"


# ---------------------------------------------------------------------------------------------
# DuckDB

def duck_decode(x, plus=True):
    """pagetrail's url::decode: %XX as UTF-8 (bad escapes kept), `+` as a space in titles and keys."""
    inner = f"replace({x}, '+', ' ')" if plus else x
    return f"(CASE WHEN {x} = '' THEN NULL ELSE coalesce(try(url_decode({inner})), {x}) END)"


def duck_param(name):
    """The raw value of the first `name=` in the query string."""
    return f"regexp_extract(query, '(?:^|&){name}=([^&]*)', 1)"


def duck_id(x):
    """A decimal id that fits in u64, as pagetrail's parse_id; else NULL."""
    return f"(CASE WHEN regexp_full_match({x}, '[0-9]{{1,20}}') THEN TRY_CAST({x} AS UBIGINT) END)"


def duck_ingest(con, files, catalog):
    plain = [f for f in files if not f.endswith(".gz")]
    gz = [f for f in files if f.endswith(".gz")]
    sources = []
    if plain:
        # Whole files as text, split at newlines: the line number is the list position.
        sources.append(f"""SELECT file, generate_subscripts(ls, 1) AS line, unnest(ls) AS text
            FROM (SELECT filename AS file, string_split(content, chr(10)) AS ls FROM read_text({sql_list(plain)}))""")
    for f in gz:
        # read_text cannot inflate; read_csv can, with one column and ordinality for line numbers.
        sources.append(f"""SELECT {sql_str(f)} AS file, ordinality::BIGINT AS line, coalesce(text, '') AS text
            FROM read_csv({sql_str(f)}, columns={{'text': 'VARCHAR'}}, header=false, delim=chr(1), quote='',
                          escape='', compression='gzip', strict_mode=false) WITH ORDINALITY""")
    # Lines first, in a table of their own (splitting files runs one file per thread; the rest
    # then runs on every core). Most lines are noise: they are dropped here already.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE lines AS SELECT * FROM ({" UNION ALL ".join(sources)})
                    WHERE NOT regexp_matches(text, '{NOISE_LINE_RE}')""")
    names = "[" + ", ".join(sql_str(n) for n in LINE_FIELDS) + "]"
    rule = RULE_CASE.replace("{starts}", "starts_with")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE ev0 AS
WITH m AS MATERIALIZED (SELECT file, line, regexp_extract(rtrim(text, chr(13)), '{LINE_RE}', {names}) AS g FROM lines),
r AS (
  SELECT file, line::UINTEGER AS line,
    try_strptime(g.t, '%d/%b/%Y:%H:%M:%S')
      - to_seconds((CASE g.sign WHEN '-' THEN -1 ELSE 1 END) * (g.oh::INT * 3600 + g.om::INT * 60)) AS ts,
    lower(g.usr) AS "user", g.host AS ip, g.method AS method,
    split_part(g.uri, '?', 1) AS path,
    CASE WHEN contains(g.uri, '?') THEN substr(g.uri, strpos(g.uri, '?') + 1) ELSE '' END AS query,
    g.status::USMALLINT AS status, g.dur::UINTEGER AS duration_ms,
    CASE g.bytes WHEN '-' THEN 0 ELSE g.bytes::UBIGINT END AS bytes,
    CASE g.referer WHEN '-' THEN '' ELSE g.referer END AS referer,
    CASE WHEN g.ua = '-' THEN ''
         -- Tomcat escapes \\" \\\\ and \\uXXXX the way JSON does: let the JSON reader undo them.
         WHEN contains(g.ua, '\\') THEN coalesce(try(json_extract_string('"' || g.ua || '"', '$')), g.ua)
         ELSE g.ua END AS user_agent
  FROM m
  WHERE g.t <> '' AND (contains(g.thread, '-exec-') OR starts_with(g.thread, 'http-')
                       OR starts_with(g.thread, 'ajp-') OR starts_with(g.thread, 'https-'))),
c AS (SELECT *, regexp_replace(path, '{CTX_RE}', '/') AS p FROM r WHERE ts IS NOT NULL),
k AS (SELECT * FROM c WHERE NOT regexp_matches(p, '{NOISE_RE}')),
f AS (
  SELECT *,
    {duck_id(duck_param('pageId'))} AS q_pid,
    {duck_decode(duck_param('spaceKey'))} AS q_space,
    {duck_decode(duck_param('key'))} AS q_key,
    {duck_decode(duck_param('title'))} AS q_title,
    -- /display/K, /display/K/T, /display/K/yyyy/mm/dd/T (trailing slashes dropped)
    {duck_decode("split_part(d_rest, '/', 1)")} AS d_space,
    {duck_decode('''CASE WHEN regexp_full_match(d_rest, '[^/]*/[0-9]+/[0-9]+/[0-9]+/[^/]*')
                         THEN regexp_extract(d_rest, '/([^/]*)$', 1)
                         WHEN contains(d_rest, '/') THEN substr(d_rest, strpos(d_rest, '/') + 1)
                         ELSE '' END''')} AS d_title,
    -- /spaces/K/pages/N[/T]
    {duck_id("regexp_extract(p, '^/spaces/[^/]+/pages/([^/]*)(?:/|$)', 1)")} AS sp_id,
    {duck_decode("regexp_extract(p, '^/spaces/([^/]+)/pages/', 1)")} AS sp_key,
    {duck_decode("rtrim(regexp_extract(p, '^/spaces/[^/]+/pages/[^/]*/(.*)$', 1), '/')")} AS sp_title,
    -- /rest/api/content/N[/tail]
    {duck_id("regexp_extract(p, '^/rest/api/content/([^/]*)', 1)")} AS rc_id,
    regexp_extract(p, '^/rest/api/content/[^/]*(.*)$', 1) AS rc_tail,
    {duck_decode("regexp_extract(p, '^/rest/api/space/([^/]*)', 1)", plus=False)} AS rs_key,
    {duck_id("regexp_extract(p, '^/download/attachments/([^/]*)', 1)")} AS att_id
  FROM (SELECT *, CASE WHEN starts_with(p, '/display/') THEN rtrim(substr(p, 10), '/') END AS d_rest FROM k)),
g2 AS (SELECT *, {rule} AS rule FROM f)
SELECT file, line, ts, "user", ip, method, path, query, status, duration_ms, bytes, referer, user_agent,
       {ACTION_CASE} AS action, {PID_CASE} AS url_pid, {SPACE_CASE} AS url_space, {TITLE_CASE} AS url_title
FROM g2""")
    # The catalog: the latest row for an id gives its space and title; every (space, title) row
    # names the id a titled URL stands for.
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE cat AS
SELECT TRY_CAST(trim(page_id) AS UBIGINT) AS id, trim(space_key) AS space, title, ordinality AS rn
FROM read_csv({sql_str(catalog)}, header=true, all_varchar=true, quote='"', escape='"') WITH ORDINALITY""")
    con.execute("""
CREATE OR REPLACE TEMP TABLE cat_id AS
SELECT id, arg_max(space, rn) AS space, arg_max(title, rn) AS title FROM cat WHERE id IS NOT NULL GROUP BY id""")
    # Titled name -> id: the catalog's, else the latest /spaces/K/pages/N/T line's.
    con.execute("""
CREATE OR REPLACE TEMP TABLE tlink AS
SELECT space, title, arg_max(id, (src, k1, k2)) AS id FROM (
  SELECT space, title, id, 1 AS src, rn::BIGINT AS k1, 0::UBIGINT AS k2 FROM cat WHERE id IS NOT NULL
  UNION ALL
  SELECT url_space, url_title, url_pid, 0, epoch(ts)::BIGINT, url_pid FROM ev0
  WHERE url_pid IS NOT NULL AND url_space IS NOT NULL AND url_title IS NOT NULL)
GROUP BY space, title""")
    con.execute("""
CREATE OR REPLACE TEMP TABLE ev1 AS
SELECT e.*, t.id AS tcanon, coalesce(e.url_pid, t.id) AS canon,
       e.url_pid IS NOT NULL OR (e.url_space IS NOT NULL AND e.url_title IS NOT NULL) AS has_page
FROM ev0 e LEFT JOIN tlink t ON t.space = e.url_space AND t.title = e.url_title""")
    # A page's space where the catalog does not list it: the latest any URL of it names.
    con.execute("""
CREATE OR REPLACE TEMP TABLE pspace AS
SELECT c, arg_max(s, (ts, s)) AS space, min_by(t, ts) FILTER (WHERE t IS NOT NULL) AS alias_title FROM (
  SELECT url_pid AS c, url_space AS s, ts, NULL AS t FROM ev1 WHERE url_pid IS NOT NULL AND url_space IS NOT NULL
  UNION ALL
  SELECT tcanon, url_space, ts, url_title FROM ev1 WHERE tcanon IS NOT NULL AND url_title IS NOT NULL)
GROUP BY c""")
    con.execute(f"""
CREATE OR REPLACE TABLE events AS
SELECT e.ts, e."user", e.action,
  e.canon AS page_id,
  -- every read needs one page key: the id, or (space, title) for a page nothing links to an id
  CASE WHEN e.canon IS NOT NULL THEN e.canon
       WHEN e.has_page THEN hash(e.url_space, e.url_title) | 9223372036854775808::UBIGINT
       ELSE 0::UBIGINT END AS page_key,
  CASE WHEN e.canon IS NOT NULL THEN coalesce(ci.space, ps.space, e.url_space) ELSE e.url_space END AS space,
  CASE WHEN e.canon IS NOT NULL THEN coalesce(ci.title, e.url_title, ps.alias_title) ELSE e.url_title END AS title,
  e.action IN {CONTENT} AND ((e.status BETWEEN 200 AND 299) OR e.status = 304) AND e.has_page AS is_read,
  e.status, e.bytes, e.duration_ms, e.ip, e.user_agent, e.method, e.path, e.query, e.referer, e.file, e.line
FROM ev1 e LEFT JOIN cat_id ci ON ci.id = e.canon LEFT JOIN pspace ps ON ps.c = e.canon
ORDER BY e.ts, e.file, e.line""")
    for t in ("ev1", "ev0", "lines", "pspace", "tlink", "cat_id", "cat"):
        con.execute(f"DROP TABLE {t}")
    con.execute("CHECKPOINT")


# ---------------------------------------------------------------------------------------------
# chDB (ClickHouse SQL)

def chq(s):
    """A regular expression as a ClickHouse string literal body (ClickHouse unescapes backslashes)."""
    return s.replace("\\", "\\\\").replace("'", "\\'")


def ch_rows(sess, sql):
    res = sess.query(sql + " SETTINGS output_format_json_quote_64bit_integers = 0", "JSONCompact")
    return [tuple(r) for r in json.loads(res.bytes())["data"]]


def ch_decode(x, plus=True):
    fn = "decodeURLFormComponent" if plus else "decodeURLComponent"
    return f"if({x} = '', NULL, {fn}({x}))"


def ch_param(name):
    return f"extract(query, '(?:^|&){name}=([^&]*)')"


def ch_id(x):
    return f"if(match({x}, '^[0-9]{{1,20}}$'), toUInt64OrNull({x}), NULL)"


def ch_ingest(sess, files, catalog):
    q = sess.query
    rule = RULE_CASE.replace("{starts}", "startsWith")
    # file() reads plain and .gz alike; _row_number counts lines within each file.
    lines = " UNION ALL ".join(
        f"SELECT _path AS file, toUInt32(_row_number + 1) AS n, line AS text FROM file({sql_str(f)}, 'LineAsString')"
        for f in files)
    # The steps in between go through MergeTree tables on disk (a Memory table would hold every
    # parsed event in RAM at once); they are dropped at the end.
    q("DROP TABLE IF EXISTS ev0")
    q(f"""
CREATE TABLE ev0 ENGINE = MergeTree ORDER BY tuple() AS
WITH f AS (
  SELECT *,
    {ch_id(ch_param('pageId'))} AS q_pid,
    {ch_decode(ch_param('spaceKey'))} AS q_space,
    {ch_decode(ch_param('key'))} AS q_key,
    {ch_decode(ch_param('title'))} AS q_title,
    {ch_decode("splitByChar('/', d_rest)[1]")} AS d_space,
    {ch_decode('''multiIf(match(d_rest, '^[^/]*/[0-9]+/[0-9]+/[0-9]+/[^/]*$'), extract(d_rest, '/([^/]*)$'),
                          position(d_rest, '/') > 0, substring(d_rest, position(d_rest, '/') + 1), '')''')} AS d_title,
    {ch_id("extract(p, '^/spaces/[^/]+/pages/([^/]*)(?:/|$)')")} AS sp_id,
    {ch_decode("extract(p, '^/spaces/([^/]+)/pages/')")} AS sp_key,
    {ch_decode("trimRight(extract(p, '^/spaces/[^/]+/pages/[^/]*/(.*)$'), '/')")} AS sp_title,
    {ch_id("extract(p, '^/rest/api/content/([^/]*)')")} AS rc_id,
    extract(p, '^/rest/api/content/[^/]*(.*)$') AS rc_tail,
    {ch_decode("extract(p, '^/rest/api/space/([^/]*)')", plus=False)} AS rs_key,
    {ch_id("extract(p, '^/download/attachments/([^/]*)')")} AS att_id
  FROM (
    SELECT *, if(startsWith(p, '/display/'), trimRight(substring(p, 10), '/'), '') AS d_rest
    FROM (
      SELECT file, line,
        parseDateTimeOrNull(g[1], '%d/%b/%Y:%H:%i:%s', 'UTC')
          - if(g[2] = '-', -1, 1) * (toInt32OrZero(g[3]) * 3600 + toInt32OrZero(g[4]) * 60) AS ts,
        lowerUTF8(g[5]) AS user, g[7] AS ip, g[8] AS method,
        splitByChar('?', g[9])[1] AS path,
        if(position(g[9], '?') > 0, substring(g[9], position(g[9], '?') + 1), '') AS query,
        toUInt16OrZero(g[10]) AS status, toUInt32OrZero(g[11]) AS duration_ms,
        if(g[12] = '-', 0, toUInt64OrZero(g[12])) AS bytes,
        if(g[13] = '-', '', g[13]) AS referer,
        multiIf(g[14] = '-', '',
                -- Tomcat's escapes are JSON's: let the JSON reader undo them.
                position(g[14], '\\\\') > 0, if(JSONExtractString(concat('"', g[14], '"')) AS j = '', g[14], j),
                g[14]) AS user_agent,
        replaceRegexpOne(path, '{chq(CTX_RE)}', '/') AS p
      FROM (SELECT file, n AS line, extractGroups(trimRight(text, '\\r'), '{chq(LINE_RE)}') AS g FROM ({lines})
            WHERE NOT match(text, '{chq(NOISE_LINE_RE)}'))
      WHERE length(g) > 0 AND (position(g[6], '-exec-') > 0 OR startsWith(g[6], 'http-')
                               OR startsWith(g[6], 'ajp-') OR startsWith(g[6], 'https-'))
    )
    WHERE ts IS NOT NULL AND NOT match(p, '{chq(NOISE_RE)}')
  )
),
g2 AS (SELECT *, {rule} AS rule FROM f)
SELECT file, line, assumeNotNull(ts) AS ts, user, ip, method, path, query, status, duration_ms, bytes, referer,
       user_agent, {ACTION_CASE} AS action, {PID_CASE} AS url_pid, {SPACE_CASE} AS url_space,
       {TITLE_CASE} AS url_title
FROM g2""")
    q("DROP TABLE IF EXISTS cat")
    q(f"""
CREATE TABLE cat ENGINE = MergeTree ORDER BY tuple() AS
SELECT toUInt64OrNull(trimBoth(page_id)) AS id, trimBoth(space_key) AS space, title, rowNumberInAllBlocks() AS rn
FROM file({sql_str(catalog)}, 'CSVWithNames', 'page_id String, space_key String, title String')
SETTINGS max_threads = 1, input_format_parallel_parsing = 0""")
    q("DROP TABLE IF EXISTS tlink")
    q("""
CREATE TABLE tlink ENGINE = MergeTree ORDER BY tuple() AS
SELECT space, title, argMax(id, (src, k1, k2)) AS id FROM (
  SELECT space, title, assumeNotNull(id) AS id, 1 AS src, toInt64(rn) AS k1, toUInt64(0) AS k2
  FROM cat WHERE id IS NOT NULL
  UNION ALL
  SELECT assumeNotNull(url_space), assumeNotNull(url_title), assumeNotNull(url_pid), 0, toInt64(toUnixTimestamp(ts)),
         assumeNotNull(url_pid)
  FROM ev0 WHERE url_pid IS NOT NULL AND url_space IS NOT NULL AND url_title IS NOT NULL)
GROUP BY space, title""")
    q("DROP TABLE IF EXISTS ev1")
    q("""
CREATE TABLE ev1 ENGINE = MergeTree ORDER BY tuple() AS
SELECT e.*, t.id AS tcanon, if(e.url_pid IS NOT NULL, e.url_pid, t.id) AS canon,
       e.url_pid IS NOT NULL OR (e.url_space IS NOT NULL AND e.url_title IS NOT NULL) AS has_page
FROM ev0 AS e LEFT JOIN tlink AS t ON t.space = e.url_space AND t.title = e.url_title
SETTINGS join_use_nulls = 1""")
    q("DROP TABLE IF EXISTS pspace")
    q("""
CREATE TABLE pspace ENGINE = MergeTree ORDER BY tuple() AS
SELECT c, argMax(s, (ts, s)) AS space, nullIf(argMinIf(t, ts, t IS NOT NULL), '') AS alias_title FROM (
  SELECT assumeNotNull(url_pid) AS c, assumeNotNull(url_space) AS s, ts, CAST(NULL AS Nullable(String)) AS t
  FROM ev1 WHERE url_pid IS NOT NULL AND url_space IS NOT NULL
  UNION ALL
  SELECT assumeNotNull(tcanon), assumeNotNull(url_space), ts, url_title
  FROM ev1 WHERE tcanon IS NOT NULL AND url_title IS NOT NULL)
GROUP BY c""")
    q("DROP TABLE IF EXISTS cat_id")
    q("""
CREATE TABLE cat_id ENGINE = MergeTree ORDER BY tuple() AS
SELECT assumeNotNull(id) AS id, argMax(space, rn) AS space, argMax(title, rn) AS title
FROM cat WHERE id IS NOT NULL GROUP BY id""")
    q("DROP TABLE IF EXISTS events")
    # Ordered by day, then user: windows skip whole days, one person's events sit together.
    q("""
CREATE TABLE events (
  ts DateTime('UTC'), user LowCardinality(String), action LowCardinality(String),
  page_id Nullable(UInt64), page_key UInt64, space LowCardinality(Nullable(String)),
  title Nullable(String) CODEC(ZSTD(3)), is_read Bool, status UInt16, bytes UInt64, duration_ms UInt32,
  ip LowCardinality(String), user_agent LowCardinality(String), method LowCardinality(String),
  path String CODEC(ZSTD(3)), query String CODEC(ZSTD(3)), referer String CODEC(ZSTD(3)),
  file LowCardinality(String), line UInt32
) ENGINE = MergeTree ORDER BY (toDate(ts), user, ts)
""")
    q(f"""
INSERT INTO events
SELECT e.ts, e.user, e.action, e.canon AS page_id,
  multiIf(e.canon IS NOT NULL, assumeNotNull(e.canon),
          e.has_page, bitOr(cityHash64(assumeNotNull(e.url_space), assumeNotNull(e.url_title)),
                            toUInt64('9223372036854775808')),
          toUInt64(0)) AS page_key,
  if(e.canon IS NOT NULL, coalesce(ci.space, ps.space, e.url_space), e.url_space) AS space,
  if(e.canon IS NOT NULL, coalesce(ci.title, e.url_title, ps.alias_title), e.url_title) AS title,
  e.action IN {CONTENT} AND ((e.status BETWEEN 200 AND 299) OR e.status = 304) AND e.has_page AS is_read,
  e.status, e.bytes, e.duration_ms, e.ip, e.user_agent, e.method, e.path, e.query, e.referer, e.file, e.line
FROM ev1 AS e LEFT JOIN cat_id AS ci ON ci.id = e.canon LEFT JOIN pspace AS ps ON ps.c = e.canon
SETTINGS join_use_nulls = 1""")
    for t in ("ev1", "ev0", "pspace", "tlink", "cat_id", "cat"):
        q(f"DROP TABLE {t} SYNC")
    # One part, as a bulk load would be left for querying.
    q("OPTIMIZE TABLE events FINAL")


# ---------------------------------------------------------------------------------------------
# The questions: one SQL text per dialect (filled in per window), and how rows become the JSON
# pagetrail prints.

def ts_fmt(d, col):
    return f"strftime({col}, '%Y-%m-%dT%H:%M:%SZ')" if d == "duck" else f"formatDateTime({col}, '%Y-%m-%dT%H:%i:%SZ', 'UTC')"


def day_fmt(d, col):
    return f"strftime({col}, '%Y-%m-%d')" if d == "duck" else f"formatDateTime({col}, '%Y-%m-%d', 'UTC')"


def rfc3339(t):
    """A window bound as pagetrail takes it: a day, or a UTC time."""
    return t.replace(" ", "T") + "Z" if " " in t else t


def window(d, a, b):
    if d == "duck":
        return f"ts >= TIMESTAMP '{a}' AND ts < TIMESTAMP '{b}'"
    a, b = (t if " " in t else f"{t} 00:00:00" for t in (a, b))
    return f"ts >= toDateTime('{a}', 'UTC') AND ts < toDateTime('{b}', 'UTC')"


def q_top(d, a, b, by, space=None):
    where = f"is_read AND {window(d, a, b)}" + (f" AND space = {sql_str(space)}" if space else "")
    order = {"pages": "dp", "bytes": "b"}[by]
    return [f"""SELECT "user", count(DISTINCT page_key) AS dp, count(*) AS ev, coalesce(sum(bytes), 0) AS b,
                count(DISTINCT space) AS ds
              FROM events WHERE {where} GROUP BY "user" ORDER BY {order} DESC, "user" LIMIT 20"""]


def q_who(d, a, b, page=None, space=None):
    target = f"page_id = {page}" if page is not None else f"space = {sql_str(space)}"
    return [f"""SELECT "user", count(*) AS ev, count(DISTINCT page_key) AS dp, coalesce(sum(bytes), 0) AS b,
                {ts_fmt(d, 'min(ts)')}, {ts_fmt(d, 'max(ts)')}
              FROM events WHERE is_read AND {target} AND {window(d, a, b)} GROUP BY "user"
              ORDER BY ev DESC, "user" """]


def q_user(d, a, b, user):
    w = f"is_read AND \"user\" = {sql_str(user)} AND {window(d, a, b)}"
    return [
        f"""SELECT count(*), count(DISTINCT page_key), count(DISTINCT space), coalesce(sum(bytes), 0),
                {ts_fmt(d, 'min(ts)')}, {ts_fmt(d, 'max(ts)')} FROM events WHERE {w}""",
        f"""SELECT {day_fmt(d, 'ts')} AS day, count(*), count(DISTINCT page_key), coalesce(sum(bytes), 0)
              FROM events WHERE {w} GROUP BY day ORDER BY day""",
        f"""SELECT space, count(*) AS ev, count(DISTINCT page_key), coalesce(sum(bytes), 0)
              FROM events WHERE {w} AND space IS NOT NULL GROUP BY space ORDER BY ev DESC, space""",
        f"""SELECT ip, user_agent, count(*) AS ev, {ts_fmt(d, 'min(ts)')}, {ts_fmt(d, 'max(ts)')}
              FROM events WHERE {w} GROUP BY ip, user_agent ORDER BY ev DESC, ip, user_agent""",
    ]


def q_events(d, a, b, user):
    return [f"""SELECT {ts_fmt(d, 'ts')}, "user", action, page_id, space, title, status, bytes, duration_ms, ip,
                user_agent, method, path, query, referer, file, line
              FROM events WHERE "user" = {sql_str(user)} AND {window(d, a, b)} ORDER BY ts, file, line"""]


def shape_top(res):
    return {"rows": [dict(zip(("user", "distinct_pages", "events", "bytes", "distinct_spaces"), r)) for r in res[0]]}


def shape_who(res):
    keys = ("user", "events", "distinct_pages", "bytes", "first_seen", "last_seen")
    return {"rows": [dict(zip(keys, r)) for r in res[0]]}


def shape_user(user):
    def shape(res):
        t = res[0][0]
        out = {"user": user, "events": t[0], "distinct_pages": t[1], "distinct_spaces": t[2], "bytes": t[3],
               "first_seen": t[4] if t[0] else None, "last_seen": t[5] if t[0] else None}
        out["days"] = [dict(zip(("day", "events", "distinct_pages", "bytes"), r)) for r in res[1]]
        out["spaces"] = [dict(zip(("space", "events", "distinct_pages", "bytes"), r)) for r in res[2]]
        out["sources"] = [dict(zip(("ip", "user_agent", "events", "first_seen", "last_seen"), r)) for r in res[3]]
        return out
    return shape


EVENT_KEYS = ("ts", "user", "action", "page_id", "space", "title", "status", "bytes", "duration_ms", "ip",
              "user_agent", "method", "path", "query", "referer", "file", "line")


def shape_events(res):
    out = []
    for r in res[0]:
        e = dict(zip(EVENT_KEYS, r))
        # pagetrail names the file as it was given to ingest; compare the file name itself.
        e["source"] = {"file": os.path.basename(e.pop("file")), "line": e.pop("line")}
        out.append(e)
    return {"events": out}


def pt_events(stdout):
    out = []
    for ln in stdout.splitlines():
        if ln.strip():
            e = json.loads(ln)
            e.pop("extra", None)
            e["source"] = {"file": os.path.basename(e["source"]["file"]), "line": e["source"]["line"]}
            out.append(e)
    return {"events": out}


def size(answer):
    if "sources" in answer:
        return f"{len(answer['days'])} days, {len(answer['spaces'])} spaces, {len(answer['sources'])} sources"
    return f"{len(answer.get('rows', answer.get('events', [])))} rows"


def first_difference(want, got, path="answer"):
    """A description of the first place two JSON values differ, or None when they are equal."""
    if isinstance(want, dict) and isinstance(got, dict):
        for k in list(want) + [k for k in got if k not in want]:
            if k not in got or k not in want:
                return f"{path}.{k}: pagetrail {json.dumps(want.get(k))} vs peer {json.dumps(got.get(k))}"
            if isinstance(want[k], list) and isinstance(got[k], list):
                for i, (w, g) in enumerate(zip(want[k], got[k])):
                    if w != g:
                        return (f"{path}.{k}[{i}]:\n      pagetrail {json.dumps(w, ensure_ascii=False)}"
                                f"\n      peer      {json.dumps(g, ensure_ascii=False)}")
                if len(want[k]) != len(got[k]):
                    n = min(len(want[k]), len(got[k]))
                    extra = (want[k] if len(want[k]) > n else got[k])[n]
                    return (f"{path}.{k}: {len(want[k])} rows in pagetrail vs {len(got[k])} in the peer; "
                            f"first unmatched row {json.dumps(extra, ensure_ascii=False)}")
            elif want[k] != got[k]:
                d = first_difference(want[k], got[k], f"{path}.{k}")
                if d:
                    return d
        return None
    return None if want == got else f"{path}: pagetrail {json.dumps(want)} vs peer {json.dumps(got)}"


# ---------------------------------------------------------------------------------------------
# Timing

def median_ms(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run(argv, check=True):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pagetrail", default=DEFAULT_BIN, help="the pagetrail binary")
    ap.add_argument("--users", type=int, default=1500)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", type=int, default=7, help="timed runs per question, after one warm-up")
    ap.add_argument("--work", help="work folder (default /tmp/peers-USERSxDAYS-sSEED)")
    ap.add_argument("--user", help="the person of `user` and `events` (default: the week's busiest reader)")
    ap.add_argument("--page", type=int, help="the page of `who-read --page` (default: the most-read page)")
    ap.add_argument("--space", help="the space of the space questions (default: the month's most-read space)")
    args = ap.parse_args()
    pt = os.path.abspath(args.pagetrail)
    if not os.access(pt, os.X_OK):
        sys.exit(f"no pagetrail binary at {pt} (build it with cargo build --release, or pass --pagetrail)")
    work = os.path.abspath(args.work or f"/tmp/peers-{args.users}x{args.days}-s{args.seed}")
    os.makedirs(work, exist_ok=True)
    logs, catalog = os.path.join(work, "logs"), os.path.join(work, "catalog.csv")

    # 1. The site (kept for the next run when the options are the same).
    site = {"users": args.users, "days": args.days, "seed": args.seed}
    site_file = os.path.join(work, "site.json")
    same = False
    if os.path.exists(site_file):
        with open(site_file) as f:
            same = json.load(f) == site
    if same and os.path.isdir(logs) and os.listdir(logs) and os.path.exists(catalog):
        log(f"reusing the logs in {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)
        log(f"generating {args.users} users x {args.days} days (seed {args.seed}) into {logs}")
        run([pt, "gen", "--users", str(args.users), "--days", str(args.days), "--seed", str(args.seed),
             "--catalog", catalog, "--out", logs])
        with open(site_file, "w") as f:
            json.dump(site, f)
    files = sorted(f for f in glob.glob(os.path.join(logs, "*")) if os.path.isfile(f))
    raw = sum(os.path.getsize(f) for f in files)
    log(f"{len(files)} log files, {raw / 1e6:.0f} MB")
    # Every tool starts from the page cache: whoever loaded first would otherwise pay for the
    # disk alone (at 4000 x 120, 9 GB of logs: pagetrail's ingest took 271 s cold, 69 s warm).
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(16 << 20):
                pass

    # 2. pagetrail, as whole processes.
    store = os.path.join(work, "pagetrail-store")
    shutil.rmtree(store, ignore_errors=True)
    ptx = [pt, "--store", store, "--format", "json"]
    log("pagetrail: catalog + ingest ...")
    t = time.perf_counter()
    run(ptx + ["catalog", catalog])
    t_cat = time.perf_counter() - t
    summary = json.loads(run(ptx + ["ingest", logs]).stdout)
    pt_ingest = time.perf_counter() - t
    stats = json.loads(run(ptx + ["stats"]).stdout)
    pt_bpe = du(store) / stats["events"]
    log(f"  {pt_ingest:.1f} s (catalog {t_cat:.2f} s); {summary['lines']} lines, {stats['events']} events, "
        f"{stats['reads']} reads, {summary['noise']} noise, {summary['rejected']} rejected; "
        f"du {du(store) / 1e6:.1f} MB ({stats['bytes_on_disk'] / 1e6:.1f} MB by stats)")

    # 3. DuckDB loads the raw files with its own SQL; the questions are chosen from its table.
    duck_path = os.path.join(work, "duck.db")
    for p in (duck_path, duck_path + ".wal"):
        if os.path.exists(p):
            os.remove(p)
    con = duckdb.connect(duck_path)
    log(f"DuckDB {duckdb.__version__}: loading the raw logs ...")
    t = time.perf_counter()
    duck_ingest(con, files, catalog)
    duck_time = time.perf_counter() - t
    duck_n, duck_reads = con.execute("SELECT count(*), count(*) FILTER (WHERE is_read) FROM events").fetchone()
    duck_bpe = du(duck_path) / duck_n
    log(f"  {duck_time:.1f} s; {duck_n} events, {duck_reads} reads; {du(duck_path) / 1e6:.1f} MB")

    # Windows end at midnight after the logs' last (UTC) day.
    first, last = con.execute("SELECT min(ts)::DATE, max(ts)::DATE FROM events").fetchone()
    end = last + dt.timedelta(days=1)
    ago = lambda n: str(end - dt.timedelta(days=n))  # noqa: E731
    whole, week, month, days3 = (str(first), str(end)), (ago(7), str(end)), (ago(30), str(end)), (ago(3), str(end))
    # As `--last 30d` asks at noon: both ends inside a day.
    noon = (f"{ago(31)} 12:00:00", f"{last} 12:00:00")
    page = args.page or con.execute("""SELECT page_id FROM events WHERE is_read AND page_id IS NOT NULL
        GROUP BY page_id ORDER BY count(*) DESC, page_id LIMIT 1""").fetchone()[0]
    space = args.space or con.execute(f"""SELECT space FROM events WHERE is_read AND space IS NOT NULL
        AND {window('duck', *month)} GROUP BY space ORDER BY count(*) DESC, space LIMIT 1""").fetchone()[0]
    user = (args.user or con.execute(f"""SELECT "user" FROM events WHERE is_read AND "user" <> '-'
        AND "user" NOT LIKE 'svc-%' AND {window('duck', *week)} GROUP BY "user" ORDER BY count(*) DESC, "user"
        LIMIT 1""").fetchone()[0]).lower()
    log(f"windows end {end}; page {page}, space {space}, user {user}")

    def win(w):
        return ["--from", rfc3339(w[0]), "--to", rfc3339(w[1])]

    questions = [
        (f"top-readers --by pages, {args.days} days", ["top-readers", "--by", "pages"] + win(whole),
         lambda d: q_top(d, *whole, "pages"), shape_top),
        ("top-readers --by pages, 30 days noon to noon", ["top-readers", "--by", "pages"] + win(noon),
         lambda d: q_top(d, *noon, "pages"), shape_top),
        ("top-readers --by bytes, 7 days", ["top-readers", "--by", "bytes"] + win(week),
         lambda d: q_top(d, *week, "bytes"), shape_top),
        (f"top-readers --space {space}, 30 days", ["top-readers", "--space", space] + win(month),
         lambda d: q_top(d, *month, "pages", space=space), shape_top),
        (f"who-read --page {page}, {args.days} days", ["who-read", "--page", str(page)] + win(whole),
         lambda d: q_who(d, *whole, page=page), shape_who),
        (f"who-read --space {space}, 30 days", ["who-read", "--space", space] + win(month),
         lambda d: q_who(d, *month, space=space), shape_who),
        (f"user {user}, 7 days", ["user", user] + win(week), lambda d: q_user(d, *week, user), shape_user(user)),
        (f"events --user {user}, 3 days", ["events", "--user", user] + win(days3),
         lambda d: q_events(d, *days3, user), shape_events),
    ]
    # pagetrail's answers, the reference for both peers.
    wants = []
    for _, pt_args, _, _ in questions:
        out = run(ptx + pt_args).stdout
        wants.append(pt_events(out) if pt_args[0] == "events" else json.loads(out))

    failures = []
    times = {}

    def check_and_time(peer, dialect, n, reads, ask):
        """Compares a peer's answers with pagetrail's, then times them warm."""
        if (n, reads) != (stats["events"], stats["reads"]):
            failures.append(f"{peer}: stored events/reads")
            print(f"MISMATCH {peer} stored {n} events / {reads} reads; pagetrail {stats['events']} / {stats['reads']}")
        for (title, _, sqls, shape), want in zip(questions, wants):
            texts = sqls(dialect)
            diff = first_difference(want, shape(ask(texts)))
            if diff:
                failures.append(f"{peer}: {title}")
                print(f"MISMATCH {peer} on `{title}`: {diff}")
            else:
                log(f"  {peer} `{title}`: OK ({size(want)})")
            times[peer, title] = median_ms(lambda: ask(texts), args.runs)

    check_and_time("DuckDB", "duck", duck_n, duck_reads, lambda sqls: [con.execute(q).fetchall() for q in sqls])
    con.close()  # one engine at a time holds memory and threads

    # 4. chDB, the same way.
    ch_path = os.path.join(work, "chdb")
    shutil.rmtree(ch_path, ignore_errors=True)
    sess = chs.Session(ch_path)
    ch_version = ch_rows(sess, "SELECT version()")[0][0]
    log(f"chDB {chdb.__version__} (ClickHouse {ch_version}): loading the raw logs ...")
    t = time.perf_counter()
    ch_ingest(sess, files, catalog)
    ch_time = time.perf_counter() - t
    ch_n, ch_reads = ch_rows(sess, "SELECT count(), countIf(is_read) FROM events")[0]
    # The table's live parts. Parts that OPTIMIZE merged away stay in the folder until the
    # cleanup thread deletes them, which an embedded session leaves for its next start.
    parts = [r[0] for r in ch_rows(sess, "SELECT path FROM system.parts WHERE active AND table = 'events' "
                                         "AND database = currentDatabase()")]
    ch_size = sum(du(p) for p in parts)
    ch_bpe = ch_size / ch_n
    log(f"  {ch_time:.1f} s; {ch_n} events, {ch_reads} reads; {len(parts)} live part(s) {ch_size / 1e6:.1f} MB "
        f"(whole session folder now {du(ch_path) / 1e6:.1f} MB)")
    check_and_time("chDB", "ch", ch_n, ch_reads, lambda sqls: [ch_rows(sess, q) for q in sqls])
    sess.close()

    # pagetrail and the floor, as whole processes.
    for title, pt_args, _, _ in questions:
        log(f"pagetrail `{title}` ...")
        times["pagetrail", title] = median_ms(lambda: run(ptx + pt_args), args.runs)
    floor = median_ms(lambda: run(["/bin/true"]), args.runs)

    # 5. The table.
    def ratio(peer_a, peer_b, ours):
        return f"{min(peer_a, peer_b) / ours:.2f}" if ours else "-"

    print()
    print(f"pagetrail vs DuckDB {duckdb.__version__} and chDB {chdb.__version__} (ClickHouse {ch_version}): "
          f"{args.users} users x {args.days} days, seed {args.seed}; {summary['lines']:,} log lines "
          f"({raw / 1e6:.0f} MB), {stats['events']:,} stored events, {stats['reads']:,} reads. "
          f"Query times: median of {args.runs} after a warm-up; peers warm in-process, pagetrail as a whole process.")
    print()
    print("| measure | DuckDB | chDB | pagetrail | pagetrail ratio (better peer / pagetrail) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| ingest (s) | {duck_time:.1f} | {ch_time:.1f} | {pt_ingest:.1f} | {ratio(duck_time, ch_time, pt_ingest)} |")
    print(f"| bytes per event | {duck_bpe:.1f} | {ch_bpe:.1f} | {pt_bpe:.1f} | {ratio(duck_bpe, ch_bpe, pt_bpe)} |")
    for title, _, _, _ in questions:
        d, c, p = (times[tool, title] for tool in ("DuckDB", "chDB", "pagetrail"))
        print(f"| {title} (ms) | {d:.1f} | {c:.1f} | {p:.1f} | {ratio(d, c, p)} |")
    print()
    print(f"/bin/true as a whole process: {floor:.1f} ms (the floor under every pagetrail time)")
    if failures:
        print(f"\n{len(failures)} check(s) failed: " + "; ".join(failures))
        sys.exit(1)
    print("\nAll answers of DuckDB and chDB equal pagetrail's.")


if __name__ == "__main__":
    main()
