SELECT "psc"."designation", s.tile AS "tile" FROM "psc" AS "psc" LEFT JOIN "scans" AS s ON s.scan_key = "psc"."scan_key" WHERE s.tile = 308165
