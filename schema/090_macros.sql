-- Persistent SQL macros: plain SQL, so the duckdb command-line tool can use them too.
-- Macros that call catscan's Python UDFs are TEMP and created on every connection instead.

-- Great-circle separation in degrees (Vincenty's formula, as astropy's angular_separation):
-- stable for tiny and antipodal separations alike.
CREATE MACRO ang_sep(ra1, dec1, ra2, dec2) AS degrees(atan2(
    sqrt(pow(cos(radians(dec2)) * sin(radians(ra2 - ra1)), 2)
         + pow(cos(radians(dec1)) * sin(radians(dec2))
               - sin(radians(dec1)) * cos(radians(dec2)) * cos(radians(ra2 - ra1)), 2)),
    sin(radians(dec1)) * sin(radians(dec2))
        + cos(radians(dec1)) * cos(radians(dec2)) * cos(radians(ra2 - ra1))));
