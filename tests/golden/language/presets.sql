SELECT "psc"."designation", "psc"."ra", "psc"."dec", "psc"."j_m", "psc"."h_m", "psc"."k_m", "psc"."ph_qual" FROM "psc" AS "psc" LIMIT 2
