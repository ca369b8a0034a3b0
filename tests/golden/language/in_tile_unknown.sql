SELECT COUNT(*) FROM "psc" AS "psc" LEFT JOIN "scans" AS s ON s.scan_key = "psc"."scan_key" WHERE FALSE AND s.tile = 123
