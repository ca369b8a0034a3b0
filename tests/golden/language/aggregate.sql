SELECT "psc"."hemis", COUNT(*) AS "n", AVG(("psc"."j_m" - "psc"."k_m")) AS "mean_jk" FROM "psc" AS "psc" GROUP BY "psc"."hemis" ORDER BY "psc"."hemis" ASC
