SELECT "scans"."scan", "scans"."status", "scans"."qa_score" FROM "scans" AS "scans" WHERE "scans"."date" = CAST('1998-04-16' AS DATE) AND "scans"."hemis" = 'n' ORDER BY "scans"."scan" ASC
