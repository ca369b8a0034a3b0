-- Survey operations (issue: survey operations): the 1998 Data Processing Status and History
-- page as two views, always current because they read the survey tables themselves. A night
-- is named as the language names it: 'yyyy-mm-dd' || hemis, e.g. '1998-04-16n'.

-- One row per night: its current processing (a reprocessed night shows the new date, 2MAPPS
-- version and kind; processing_history keeps every event), its scans by pipeline status
-- (P processed, F failed, R running, - not processed), the scans loaded after Quality Review,
-- the mean QA score of its scored scans and the worst status of its 24-h health summary.
CREATE VIEW night_status AS
WITH counts AS (
    SELECT date, hemis, count(*) AS scans,
           count(*) FILTER (WHERE status = 'P') AS scans_p,
           count(*) FILTER (WHERE status = 'F') AS scans_f,
           count(*) FILTER (WHERE status = 'R') AS scans_r,
           count(*) FILTER (WHERE status = '-') AS scans_dash,
           count(*) FILTER (WHERE loaded) AS loaded,
           count(qa_score) AS scored,
           avg(qa_score) AS mean_qa
    FROM scans GROUP BY date, hemis
), history AS (
    SELECT date, hemis, count(*) AS events, arg_max(outcome, event_id) AS outcome,
           min(processed) AS first_processed
    FROM processing_history GROUP BY date, hemis
), health AS (
    SELECT date, hemis,
           count(*) FILTER (WHERE status = 'pass') AS qa_pass,
           count(*) FILTER (WHERE status = 'warn') AS qa_warn,
           count(*) FILTER (WHERE status = 'fail') AS qa_fail
    FROM night_qa GROUP BY date, hemis
)
SELECT strftime(n.date, '%Y-%m-%d') || n.hemis AS night,
       n.facility, n.tape_received, n.validated, n.processed, n.version, n.kind,
       coalesce(c.scans, 0) AS scans, coalesce(c.scans_p, 0) AS scans_p,
       coalesce(c.scans_f, 0) AS scans_f, coalesce(c.scans_r, 0) AS scans_r,
       coalesce(c.scans_dash, 0) AS scans_dash, coalesce(c.loaded, 0) AS loaded,
       coalesce(c.scored, 0) AS scored, c.mean_qa,
       CASE WHEN q.qa_fail > 0 THEN 'fail' WHEN q.qa_warn > 0 THEN 'warn'
            WHEN q.qa_pass > 0 THEN 'pass' END AS health,
       coalesce(q.qa_pass, 0) AS qa_pass, coalesce(q.qa_warn, 0) AS qa_warn,
       coalesce(q.qa_fail, 0) AS qa_fail,
       coalesce(h.events, 0) AS events, h.outcome, h.first_processed,
       n.date, n.hemis, n.computer, n.load_id,
       'catscan qa ' || strftime(n.date, '%Y-%m-%d') || n.hemis AS health_command
FROM nights n
LEFT JOIN counts c ON c.date = n.date AND c.hemis = n.hemis
LEFT JOIN history h ON h.date = n.date AND h.hemis = n.hemis
LEFT JOIN health q ON q.date = n.date AND q.hemis = n.hemis;

-- One row per scan: pipeline status, tile and the tile's survey state, scan type, the QA
-- score and its factors (base x photometric x sensitivity), whether Quality Review loaded it
-- and why (not), the seeing, backgrounds and zero points the health plot draws through the
-- night (ut: the Julian date at scan start, to the second), and the command for its night's summary.
CREATE VIEW scan_status AS
SELECT strftime(s.date, '%Y-%m-%d') || s.hemis AS night,
       s.scan, s.status,
       CASE s.status WHEN 'P' THEN 'processed' WHEN 'F' THEN 'failed'
                     WHEN 'R' THEN 'running' ELSE 'not processed' END AS status_text,
       s.tile, t.status AS tile_state, s.scan_type, s.direction,
       s.qa_score, s.qa_base, s.qa_phot, s.qa_sens, s.loaded, s.load_reason, s.version,
       make_timestamp(CAST(round((s.jdate - 2440587.5) * 86400) AS BIGINT) * 1000000) AS ut,
       s.seeing, s.j_back, s.h_back, s.k_back, s.j_zp_ap, s.h_zp_ap, s.k_zp_ap,
       s.ra, s.dec, s.jdate, s.date, s.hemis, s.scan_key, s.hpx29, s.load_id,
       'catscan qa ' || strftime(s.date, '%Y-%m-%d') || s.hemis AS health_command
FROM scans s
LEFT JOIN tiles t ON t.tile = s.tile;
