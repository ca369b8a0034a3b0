SELECT COUNT(*) FROM "scans" AS "scans" WHERE "scans"."hemis" = 's'
