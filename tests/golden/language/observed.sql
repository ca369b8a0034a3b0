SELECT "nights"."date", "nights"."hemis" FROM "nights" AS "nights" WHERE "nights"."date" BETWEEN CAST('1997-01-01' AS DATE) AND CAST('1998-06-30' AS DATE)
