SELECT COUNT(*) FROM "psc" AS "psc" WHERE ("psc"."date" = CAST('1998-04-16' AS DATE) AND "psc"."hemis" = 'n') AND "psc"."scan" = 64
