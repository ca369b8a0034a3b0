-- Point Source Catalog: the 60 release columns in file order (2mass_reference.md §1.3),
-- then catscan's own columns. Only ra, dec and designation are NOT NULL here so that Gator
-- subsets can be imported; release lines are held to the stricter rule by the loader.
CREATE TABLE psc (
    "ra" DOUBLE NOT NULL CHECK (ra >= 0 AND ra < 360),
    "dec" DOUBLE NOT NULL CHECK (dec BETWEEN -90 AND 90),
    "err_maj" DOUBLE,
    "err_min" DOUBLE,
    "err_ang" SMALLINT,
    "designation" VARCHAR NOT NULL,
    "j_m" DOUBLE,
    "j_cmsig" DOUBLE,
    "j_msigcom" DOUBLE,
    "j_snr" DOUBLE,
    "h_m" DOUBLE,
    "h_cmsig" DOUBLE,
    "h_msigcom" DOUBLE,
    "h_snr" DOUBLE,
    "k_m" DOUBLE,
    "k_cmsig" DOUBLE,
    "k_msigcom" DOUBLE,
    "k_snr" DOUBLE,
    "ph_qual" VARCHAR,
    "rd_flg" VARCHAR,
    "bl_flg" VARCHAR,
    "cc_flg" VARCHAR,
    "ndet" VARCHAR,
    "prox" DOUBLE,
    "pxpa" SMALLINT,
    "pxcntr" BIGINT,
    "gal_contam" SMALLINT,
    "mp_flg" SMALLINT,
    "pts_key" BIGINT,
    "hemis" VARCHAR CHECK (hemis IN ('n', 's')),
    "date" DATE,
    "scan" SMALLINT,
    "glon" DOUBLE,
    "glat" DOUBLE,
    "x_scan" DOUBLE,
    "jdate" DOUBLE,
    "j_psfchi" DOUBLE,
    "h_psfchi" DOUBLE,
    "k_psfchi" DOUBLE,
    "j_m_stdap" DOUBLE,
    "j_msig_stdap" DOUBLE,
    "h_m_stdap" DOUBLE,
    "h_msig_stdap" DOUBLE,
    "k_m_stdap" DOUBLE,
    "k_msig_stdap" DOUBLE,
    "dist_edge_ns" INTEGER,
    "dist_edge_ew" SMALLINT,
    "dist_edge_flg" VARCHAR,
    "dup_src" SMALLINT,
    "use_src" SMALLINT,
    "a" VARCHAR,
    "dist_opt" DOUBLE,
    "phi_opt" SMALLINT,
    "b_m_opt" DOUBLE,
    "vr_m_opt" DOUBLE,
    "nopt_mchs" SMALLINT,
    "ext_key" INTEGER,
    "scan_key" INTEGER,
    "coadd_key" INTEGER,
    "coadd" SMALLINT,
    hpx29 BIGINT NOT NULL,   -- HEALPix NESTED order-29 index of (ra, dec), cdshealpix
    load_id INTEGER NOT NULL -- loads.load_id of the file this row came from
);

COMMENT ON COLUMN psc."ra" IS '[deg] J2000 right ascension (ICRS)';
COMMENT ON COLUMN psc."dec" IS '[deg] J2000 declination (ICRS)';
COMMENT ON COLUMN psc."err_maj" IS '[arcsec] semi-major axis of the 1-sigma position error ellipse';
COMMENT ON COLUMN psc."err_min" IS '[arcsec] semi-minor axis of the 1-sigma position error ellipse';
COMMENT ON COLUMN psc."err_ang" IS '[deg] position angle of the error ellipse major axis, E of N';
COMMENT ON COLUMN psc."designation" IS '[] hhmmssss+ddmmsss[ABC...], 17 characters, blank padded';
COMMENT ON COLUMN psc."j_m" IS '[mag] default J magnitude or 95% upper limit (origin: rd_flg)';
COMMENT ON COLUMN psc."j_cmsig" IS '[mag] corrected J photometric uncertainty';
COMMENT ON COLUMN psc."j_msigcom" IS '[mag] total J photometric uncertainty';
COMMENT ON COLUMN psc."j_snr" IS '[] J scan signal-to-noise ratio';
COMMENT ON COLUMN psc."h_m" IS '[mag] default H magnitude or 95% upper limit (origin: rd_flg)';
COMMENT ON COLUMN psc."h_cmsig" IS '[mag] corrected H photometric uncertainty';
COMMENT ON COLUMN psc."h_msigcom" IS '[mag] total H photometric uncertainty';
COMMENT ON COLUMN psc."h_snr" IS '[] H scan signal-to-noise ratio';
COMMENT ON COLUMN psc."k_m" IS '[mag] default Ks magnitude or 95% upper limit (origin: rd_flg)';
COMMENT ON COLUMN psc."k_cmsig" IS '[mag] corrected Ks photometric uncertainty';
COMMENT ON COLUMN psc."k_msigcom" IS '[mag] total Ks photometric uncertainty';
COMMENT ON COLUMN psc."k_snr" IS '[] Ks scan signal-to-noise ratio';
COMMENT ON COLUMN psc."ph_qual" IS '[] photometric quality per band J,H,Ks (A..F,U,X)';
COMMENT ON COLUMN psc."rd_flg" IS '[] read flag: origin of the default magnitude per band';
COMMENT ON COLUMN psc."bl_flg" IS '[] blend flag: components fit per band';
COMMENT ON COLUMN psc."cc_flg" IS '[] contamination and confusion flag per band';
COMMENT ON COLUMN psc."ndet" IS '[] frame detection statistics NMNMNM';
COMMENT ON COLUMN psc."prox" IS '[arcsec] distance to the nearest other PSC source';
COMMENT ON COLUMN psc."pxpa" IS '[deg] position angle to that neighbour, E of N';
COMMENT ON COLUMN psc."pxcntr" IS '[] pts_key of that neighbour';
COMMENT ON COLUMN psc."gal_contam" IS '[] extended source contamination flag 0/1/2';
COMMENT ON COLUMN psc."mp_flg" IS '[] 1 = associated with a known minor planet';
COMMENT ON COLUMN psc."pts_key" IS '[] unique PSC record key (cntr in Gator)';
COMMENT ON COLUMN psc."hemis" IS '[] n = Mt Hopkins (north), s = CTIO (south)';
COMMENT ON COLUMN psc."date" IS '[] observation reference date (UT at sunrise)';
COMMENT ON COLUMN psc."scan" IS '[] nightly scan number';
COMMENT ON COLUMN psc."glon" IS '[deg] Galactic longitude';
COMMENT ON COLUMN psc."glat" IS '[deg] Galactic latitude';
COMMENT ON COLUMN psc."x_scan" IS '[arcsec] mean cross-scan focal-plane position';
COMMENT ON COLUMN psc."jdate" IS '[day] Julian date of the measurement';
COMMENT ON COLUMN psc."j_psfchi" IS '[] reduced chi2 of the J profile fit';
COMMENT ON COLUMN psc."h_psfchi" IS '[] reduced chi2 of the H profile fit';
COMMENT ON COLUMN psc."k_psfchi" IS '[] reduced chi2 of the Ks profile fit';
COMMENT ON COLUMN psc."j_m_stdap" IS '[mag] J standard 4 arcsec aperture magnitude';
COMMENT ON COLUMN psc."j_msig_stdap" IS '[mag] its uncertainty';
COMMENT ON COLUMN psc."h_m_stdap" IS '[mag] H standard 4 arcsec aperture magnitude';
COMMENT ON COLUMN psc."h_msig_stdap" IS '[mag] its uncertainty';
COMMENT ON COLUMN psc."k_m_stdap" IS '[mag] Ks standard 4 arcsec aperture magnitude';
COMMENT ON COLUMN psc."k_msig_stdap" IS '[mag] its uncertainty';
COMMENT ON COLUMN psc."dist_edge_ns" IS '[arcsec] distance to the nearest N or S scan edge';
COMMENT ON COLUMN psc."dist_edge_ew" IS '[arcsec] distance to the nearest E or W scan edge';
COMMENT ON COLUMN psc."dist_edge_flg" IS '[] which edges: n/s then e/w';
COMMENT ON COLUMN psc."dup_src" IS '[] duplicate source flag 0..5';
COMMENT ON COLUMN psc."use_src" IS '[] 1 = apparition selected by duplicate resolution';
COMMENT ON COLUMN psc."a" IS '[] optical association: 0 none, T Tycho 2, U USNO-A2.0';
COMMENT ON COLUMN psc."dist_opt" IS '[arcsec] 2MASS to optical separation';
COMMENT ON COLUMN psc."phi_opt" IS '[deg] position angle optical to 2MASS, E of N';
COMMENT ON COLUMN psc."b_m_opt" IS '[mag] optical blue magnitude';
COMMENT ON COLUMN psc."vr_m_opt" IS '[mag] optical visual or red magnitude';
COMMENT ON COLUMN psc."nopt_mchs" IS '[] number of optical sources within 5 arcsec';
COMMENT ON COLUMN psc."ext_key" IS '[] key of the associated XSC record';
COMMENT ON COLUMN psc."scan_key" IS '[] key of the scan that detected the source';
COMMENT ON COLUMN psc."coadd_key" IS '[] key of the Atlas Image containing the position';
COMMENT ON COLUMN psc."coadd" IS '[] Atlas Image number within the scan';
COMMENT ON COLUMN psc.hpx29 IS '[] HEALPix NESTED order-29 index of (ra, dec)';
COMMENT ON COLUMN psc.load_id IS '[] loads.load_id of the load that wrote this row';
